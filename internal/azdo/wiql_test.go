package azdo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/secret"
)

// TestWiqlLimitError runs WIQL against the simulator with its result cap
// lowered: a query over the cap fails with a *WiqlLimitError naming the cap
// (and the APIError under it), not retried; narrower queries answer; other
// 400s are not mistaken for the cap.
func TestWiqlLimitError(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	sim, err := azdosim.New(azdosim.Options{Seed: 7, WiqlLimit: 25, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if err := sim.SetFaults(azdosim.FaultConfig{RateLimit: &azdosim.RateLimitConfig{Limit: 0}}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	c, err := New(Options{OrgURL: sim.OrgURL(), PAT: secret.New(sim.ManualPAT()), Hosts: testHosts, Deployment: ServicesDeployment,
		HTTPClient: &http.Client{Transport: countingTransport{&calls, http.DefaultTransport}}, Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ps, err := c.ListProjects(ctx)
	if err != nil || len(ps) == 0 {
		t.Fatalf("projects: %v %v", ps, err)
	}
	project := ps[0].ID
	calls.Store(0)
	_, err = c.Wiql(ctx, project, "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project", 0)
	var le *WiqlLimitError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a *WiqlLimitError", err)
	}
	if le.Limit != 25 {
		t.Errorf("Limit = %d, want 25", le.Limit)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.TypeKey != "VssServiceException" || !strings.HasPrefix(ae.Message, "VS402337:") {
		t.Errorf("APIError = %+v", ae)
	}
	var de *delivery.Error
	if !errors.As(err, &de) || de.Kind != delivery.KindUpstream || !strings.Contains(de.Message, "limit of 25") || de.Hint == "" {
		t.Errorf("delivery.Error = %+v", de)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests: the refusal must not be retried", n)
	}

	res, err := c.Wiql(ctx, project, "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.ChangedDate] >= '"+
		now.Add(-48*time.Hour).Format(time.RFC3339)+"'", 0)
	if err != nil || len(res.IDs()) == 0 || len(res.IDs()) > 25 {
		t.Fatalf("narrow query: %d ids, %v", len(res.IDs()), err)
	}
	_, err = c.Wiql(ctx, project, "SELECT [System.Id] FROM WorkItems WHERE [System.Title] ~ 'x'", 0)
	if err == nil || errors.As(err, &le) {
		t.Errorf("an unsupported query: err = %v, want a plain 400, not a *WiqlLimitError", err)
	}
}

type countingTransport struct {
	n    *atomic.Int64
	base http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// TestWiqlLimitRecognition: the cap is recognized by the VS402337 code of a
// 400, whatever the cap's spelling; other messages and statuses are not.
func TestWiqlLimitRecognition(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		ok     bool
		limit  int
	}{
		{400, "VS402337: The number of work items returned exceeds the size limit of 20000. Change the query to return fewer items.", true, 20000},
		{400, "VS402337: The number of work items returned exceeds the size limit of 20,000.", true, 20000},
		{400, " VS402337: too many", true, 0},
		{400, "VS403474: The number of work items requested exceeds the maximum of 200.", false, 0},
		{400, "The query condition mentions VS402337 but is something else", false, 0},
		{500, "VS402337: The number of work items returned exceeds the size limit of 20000.", false, 0},
	} {
		le, ok := wiqlLimit(&APIError{Status: tc.status, Message: tc.msg})
		if ok != tc.ok || (ok && le.Limit != tc.limit) {
			t.Errorf("%d %q: ok=%v limit=%v, want %v %d", tc.status, tc.msg, ok, le, tc.ok, tc.limit)
		}
	}
}
