package github_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// runsCall is one request of a repository's workflow runs list and what
// the simulator answered.
type runsCall struct {
	repo, created string
	page, status  int
	total         int
	ids           []int64
}

// runsRecorder passes every request on and records those of the workflow
// runs list.
type runsRecorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls []runsCall
	// cut, when set, fails the first runs request it matches (a
	// connection cut) and is cleared.
	cut func(created string) bool
}

func (r *runsRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	cut := r.cut != nil && strings.HasSuffix(req.URL.Path, "/actions/runs") && r.cut(req.URL.Query().Get("created"))
	if cut {
		r.cut = nil
	}
	r.mu.Unlock()
	if cut {
		return nil, fmt.Errorf("connection cut before created=%s", req.URL.Query().Get("created"))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/actions/runs") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	q := req.URL.Query()
	c := runsCall{repo: strings.TrimSuffix(req.URL.Path, "/actions/runs"), created: q.Get("created"), page: 1, status: resp.StatusCode}
	fmt.Sscan(q.Get("page"), &c.page)
	var l struct {
		Total int `json:"total_count"`
		Runs  []struct {
			ID int64 `json:"id"`
		} `json:"workflow_runs"`
	}
	if json.Unmarshal(body, &l) == nil {
		c.total = l.Total
		for _, x := range l.Runs {
			c.ids = append(c.ids, x.ID)
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return resp, nil
}

// take returns the calls recorded since the last take.
func (r *runsRecorder) take() []runsCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// TestWorkflowRunsPastTheCap, on both engines: with GitHub's 1,000-result
// cap of a filtered runs list lowered to 10 (the simulator then serves 10
// of a range's runs and refuses pages past them, as GitHub does past
// 1,000), a backfill of a 45-day window (13 and 33 runs in the two
// repositories of the seeded small profile) halves its created= ranges
// until each is under the cap (a range at the cap is halved too: GitHub
// does not say its total_count goes past the cap): it stores exactly the simulator's runs of
// the window, each served once; every call is either the one page of a
// range under the cap (ranges contiguous from the window's first day to
// today, none read twice) or a probe of a range over it, followed by its
// first half. A reconciliation after more runs in one day than the cap
// halves that day by time (created= date-times) and stays exact.
func TestWorkflowRunsPastTheCap(t *testing.T) {
	const runsCap, days = 10, 45
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := startSimWith(t, githubsim.Options{Seed: 1, Profile: "small", RunsSearchCap: runsCap})
		hc := sim.HTTPClient()
		rec := &runsRecorder{next: cmp.Or[http.RoundTripper](hc.Transport, http.DefaultTransport)}
		e := newGHEnvHTTP(t, db, sim, "runs", ghcollect.PullsREST, &http.Client{Transport: rec, Timeout: hc.Timeout})
		e.c = collect.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), sim.Now)
		e.c.AttachSource(ghcollect.New(clients{c: e.client, in: e.in}).WithPulls(ghcollect.PullsREST).WithRunsCap(runsCap))

		e.backfill(t, days)
		from := window(t, e)
		probes := checkRunsCalls(t, rec.take(), runsCap, from, sim.Now())
		if probes == 0 {
			t.Fatal("no range was over the cap: the test does not reach the halving")
		}
		checkRunsStored(t, e, from, runsCap+1)

		// More runs in one day than the cap, a minute apart (from the
		// simulator's midnight, so they share its day): the day's range
		// is halved by time.
		sim.Advance(time.Until(time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)))
		for range runsCap + 3 {
			sim.Advance(time.Minute)
			if _, err := sim.Activity(githubsim.ActivityRequest{Kind: "workflow_run"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.c.Reconcile(context.Background(), e.in.ID); err != nil {
			t.Fatal(err)
		}
		if checkRunsCalls(t, rec.take(), runsCap, time.Time{}, sim.Now()) == 0 {
			t.Fatal("the reconciliation found no range over the cap")
		}
		checkRunsStored(t, e, from, runsCap+1)
	})
}

// runsRange is a created= range as instants, both ends included: a date
// is its whole day, a date-time its second.
func runsRange(t *testing.T, v string) (time.Time, time.Time) {
	t.Helper()
	a, b, ok := strings.Cut(v, "..")
	parse := func(s string, end bool) time.Time {
		if d, err := time.Parse("2006-01-02", s); err == nil {
			if end {
				return d.AddDate(0, 0, 1).Add(-time.Second)
			}
			return d
		}
		d, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("created=%s: %v", v, err)
		}
		return d
	}
	if !ok {
		t.Fatalf("created=%s is not a range", v)
	}
	return parse(a, false), parse(b, true)
}

// checkRunsCalls checks a backfill's runs calls repository by repository
// (see TestWorkflowRunsPastTheCap): the ranges read start at from (zero:
// where the first call starts) and end with today. It returns the probes
// over the cap.
func checkRunsCalls(t *testing.T, calls []runsCall, runsCap int, from, now time.Time) int {
	t.Helper()
	byRepo := map[string][]runsCall{}
	var repos []string
	for _, c := range calls {
		if c.status != 200 {
			t.Fatalf("%s created=%s page %d: %d", c.repo, c.created, c.page, c.status)
		}
		if _, ok := byRepo[c.repo]; !ok {
			repos = append(repos, c.repo)
		}
		byRepo[c.repo] = append(byRepo[c.repo], c)
	}
	probes := 0
	for _, repo := range repos {
		cs := byRepo[repo]
		next := time.Date(from.UTC().Year(), from.UTC().Month(), from.UTC().Day(), 0, 0, 0, 0, time.UTC)
		if from.IsZero() {
			next, _ = runsRange(t, cs[0].created)
		}
		seen := map[int64]bool{}
		for i, c := range cs {
			lo, hi := runsRange(t, c.created)
			if !lo.Equal(next) || hi.Before(lo) || c.page != 1 {
				t.Fatalf("%s call %d: created=%s page %d, want the range starting %s on its first page", repo, i, c.created, c.page, next)
			}
			if c.total >= runsCap {
				probes++
				if i+1 == len(cs) {
					t.Fatalf("%s: the range %s at or over the cap (%d runs) was not halved", repo, c.created, c.total)
				}
				if lo2, hi2 := runsRange(t, cs[i+1].created); !lo2.Equal(lo) || !hi2.Before(hi) {
					t.Fatalf("%s: the range %s at or over the cap (%d runs) was followed by %s, not its first half", repo, c.created, c.total, cs[i+1].created)
				}
				continue
			}
			if len(c.ids) != c.total {
				t.Fatalf("%s created=%s: %d runs served of %d", repo, c.created, len(c.ids), c.total)
			}
			for _, id := range c.ids {
				if seen[id] {
					t.Fatalf("%s: run %d served twice", repo, id)
				}
				seen[id] = true
			}
			next = hi.Add(time.Second)
		}
		if y, m, d := now.UTC().Date(); !next.Equal(time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("%s: the ranges read end before %s, not with today", repo, next)
		}
	}
	return probes
}

// checkRunsStored: the stored runs are the simulator's runs created since
// from, every repository with at least minRuns of them.
func checkRunsStored(t *testing.T, e *ghEnv, from time.Time, minRuns int) {
	t.Helper()
	got := map[string][]int64{}
	rs, err := e.db.SQL().QueryContext(context.Background(), "SELECT project_id, run_id FROM pipeline_runs WHERE integration_id = $1", e.in.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var p string
		var id int64
		if err := rs.Scan(&p, &id); err != nil {
			t.Fatal(err)
		}
		got[p] = append(got[p], id)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	for _, tr := range e.sim.Truth() {
		var want []int64
		for _, r := range tr.RunList {
			if !r.CreatedAt.Before(from) {
				want = append(want, r.ID)
			}
		}
		p := fmt.Sprint(tr.ID)
		slices.Sort(want)
		slices.Sort(got[p])
		if len(want) < minRuns {
			t.Fatalf("%s has %d runs in the window, want at least %d", tr.FullName, len(want), minRuns)
		}
		if !slices.Equal(got[p], want) {
			t.Fatalf("%s: %d runs stored, the truth has %d in the window:\n stored %v\n truth  %v", tr.FullName, len(got[p]), len(want), got[p], want)
		}
	}
}

// TestWorkflowRunsCapResumes, on both engines: a backfill cut inside a day
// split by time (more runs that day than the lowered cap) resumes from
// the split's cursor — the first range it reads starts where the cut one
// did — and ends with exactly the simulator's runs of the window.
func TestWorkflowRunsCapResumes(t *testing.T) {
	const runsCap, days = 10, 45
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := startSimWith(t, githubsim.Options{Seed: 1, Profile: "small", RunsSearchCap: runsCap})
		sim.Advance(time.Until(time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)))
		for range runsCap + 3 {
			sim.Advance(time.Minute)
			if _, err := sim.Activity(githubsim.ActivityRequest{Kind: "workflow_run"}); err != nil {
				t.Fatal(err)
			}
		}
		hc := sim.HTTPClient()
		var cutAt string
		rec := &runsRecorder{next: cmp.Or[http.RoundTripper](hc.Transport, http.DefaultTransport), cut: func(created string) bool {
			// the first range starting inside a day: the split day's second half
			lo, _, _ := strings.Cut(created, "..")
			if strings.Contains(lo, "T") && !strings.HasSuffix(lo, "T00:00:00Z") {
				cutAt = lo
				return true
			}
			return false
		}}
		e := newGHEnvHTTP(t, db, sim, "runs", ghcollect.PullsREST, &http.Client{Transport: rec, Timeout: hc.Timeout})
		e.c = collect.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), sim.Now)
		e.c.AttachSource(ghcollect.New(clients{c: e.client, in: e.in}).WithPulls(ghcollect.PullsREST).WithRunsCap(runsCap))
		p := e.projects[0] // the repository of the new runs
		err := e.c.Backfill(context.Background(), collect.BackfillArgs{IntegrationID: e.in.ID, ProjectID: p.ProjectID, Days: days})
		if err == nil || !strings.Contains(err.Error(), "connection cut") || cutAt == "" {
			t.Fatalf("the cut backfill: %v (cut at %q)", err, cutAt)
		}
		rec.take()
		e.backfill(t, days)
		calls := rec.take()
		if len(calls) == 0 || !strings.HasPrefix(calls[0].created, cutAt+"..") {
			t.Fatalf("the resumed backfill started at %+v, not at the cut range's start %s", calls, cutAt)
		}
		checkRunsStored(t, e, window(t, e), runsCap+1)
	})
}
