package jobs

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// QueueEvents is the queue of webhook processing: it has workers of its
// own, so a delivery is applied within moments however many backfills,
// reconciliations or slow Azure DevOps calls fill the default queue.
const QueueEvents = "events"

// DefaultPerIntegration is how many long jobs (backfills, reconciliations)
// of one integration run at once in one process unless Config says
// otherwise; its short jobs (hook registration, details, comments) have a
// lane of two beside them. Five of ten workers at most: the others stay
// free for everyone else.
const DefaultPerIntegration = 3

// longKinds are the jobs that read a whole window (minutes against a slow
// Azure DevOps); the others (hook registration, event details, PR
// comments) are a few calls each. Each class has its own lane, so a
// project's service hooks are never registered only after the backfills
// of the others finish: live data would wait for history.
var longKinds = map[string]bool{"backfill": true, "reconcile": true}

// shortLane is how many short jobs of one integration run at once.
const shortLane = 2

// lanes caps the jobs of one integration running at once in this process.
// A job over the cap is snoozed (River does not count a snooze as an
// attempt) and fetched again a few seconds later, behind the jobs of other
// integrations that became available meanwhile. Jobs without an
// integration (housekeeping, the periodic fan-outs) and the events queue
// pass untouched.
type lanes struct {
	river.MiddlewareDefaults
	max int

	mu      sync.Mutex
	running map[string]int
	// snoozed counts jobs sent back because their integration was at its
	// cap, for tests and metrics.
	snoozed int64
}

func newLanes(max int) *lanes {
	return &lanes{max: max, running: map[string]int{}}
}

// laneWait is how long a job over its integration's cap waits before it is
// fetched again; jitter spreads a crowd of them.
func laneWait() time.Duration {
	return 2*time.Second + rand.N(2*time.Second)
}

// Work implements rivertype.WorkerMiddleware.
func (l *lanes) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if job.Queue == QueueEvents {
		return doInner(ctx)
	}
	var key struct {
		IntegrationID string `json:"integration_id"`
	}
	if json.Unmarshal(job.EncodedArgs, &key) != nil || key.IntegrationID == "" {
		return doInner(ctx)
	}
	lane, max := key.IntegrationID, l.max
	if !longKinds[job.Kind] {
		lane, max = key.IntegrationID+"\x00short", shortLane
	}
	if !l.enter(lane, max) {
		return river.JobSnooze(laneWait())
	}
	defer l.leave(lane)
	return doInner(ctx)
}

func (l *lanes) enter(lane string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[lane] >= max {
		l.snoozed++
		return false
	}
	l.running[lane]++
	return true
}

func (l *lanes) leave(lane string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[lane]--; l.running[lane] <= 0 {
		delete(l.running, lane)
	}
}

// Snoozed is how many jobs waited for their integration's lane.
func (l *lanes) Snoozed() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snoozed
}

// Running is how many jobs of the integration run in this process now
// (both lanes).
func (l *lanes) Running(integrationID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running[integrationID] + l.running[integrationID+"\x00short"]
}
