package jobs

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestRetryPolicyIsQuickFirstThenLong(t *testing.T) {
	wait := func(errs int) time.Duration {
		job := &rivertype.JobRow{Errors: make([]rivertype.AttemptError, errs)}
		return time.Until(retryPolicy{}.NextRetry(job))
	}
	var quick time.Duration
	for errs := range fastRetries {
		quick += wait(errs)
	}
	if quick > 5*time.Minute {
		t.Fatalf("the first %d retries take %v, want them within minutes", fastRetries, quick)
	}
	if w := wait(fastRetries + 1); w < time.Hour {
		t.Fatalf("retry %d waits %v: a lasting failure must still get hours", fastRetries+2, w)
	}
}
