package collect_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// BenchmarkBackfill backfills the simulator's medium profile (10 projects)
// with 50 ms of latency on every call and the simulator's rate limiter on,
// one job per project at once as the queue runs them, and reports the wall
// time, the API calls made against the fewest pages the collected data
// needs (target ratio ≤ 1.25) and the 429s seen. Run:
//
//	go test -run XXX -bench Backfill -benchtime 1x ./internal/collect
func BenchmarkBackfill(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				db := backend.Open(b)
				sim, err := azdosim.New(azdosim.Options{Seed: 1, Profile: "medium", Mode: "services", Addr: "127.0.0.1:0"})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				if err := sim.Start(ctx); err != nil {
					b.Fatal(err)
				}
				e := newSimEnv(b, db, sim, fmt.Sprint("bench", b.N), time.Now)
				if err := sim.SetFaults(azdosim.FaultConfig{Latency: "50ms"}); err != nil {
					b.Fatal(err)
				}
				realClient(b, e, sim)
				b.StartTimer()
				start := time.Now()
				if err := e.backfill(context.Background()); err != nil {
					b.Fatal(err)
				}
				wall := time.Since(start)
				b.StopTimer()
				calls, minimum := e.calls.n.Load(), minimumPages(b, e)
				b.ReportMetric(wall.Seconds(), "wall_s")
				b.ReportMetric(float64(calls), "api_calls")
				b.ReportMetric(float64(minimum), "min_pages")
				b.ReportMetric(float64(calls)/float64(minimum), "calls/min_pages")
				b.ReportMetric(float64(e.calls.n429.Load()), "429s")
				cancel()
				sim.Close()
			}
		})
	}
}

// realClient gives e a client with the production defaults (4 requests in
// flight, real clock), counting its calls.
func realClient(b *testing.B, e *simEnv, sim *azdosim.Sim) {
	in, err := e.db.GetIntegrationByID(context.Background(), e.key.IntegrationID)
	if err != nil {
		b.Fatal(err)
	}
	client, err := azdoClient(sim, e.calls, 0)
	if err != nil {
		b.Fatal(err)
	}
	e.client = client
	e.c.AttachClients(clients{client: client, in: in})
}

// minimumPages is the fewest calls that can carry what the backfill
// stored: one page per list (at the page sizes used) per repository,
// environment and project, plus what no list carries: a PR's details and
// threads, a run's timeline, work items 200 at a time.
func minimumPages(b *testing.B, e *simEnv) int64 {
	ctx := context.Background()
	pages := func(n, size int) int64 { return int64(max(1, (n+size-1)/size)) }
	progress, err := collect.Progress(ctx, e.db, e.key)
	if err != nil {
		b.Fatal(err)
	}
	window := map[string]time.Time{}
	for _, p := range progress {
		window[p.ProjectID] = *p.From
	}
	var total int64
	linked := 0
	for _, p := range e.projects {
		from := window[p.ProjectID]
		f := store.Filter{WorkspaceID: e.key.WorkspaceID, ProjectID: p.ProjectID, From: from, Limit: 1 << 30}
		repos, _ := e.db.ListRepositories(ctx, e.key.WorkspaceID, p.ProjectID)
		total++ // repositories
		for _, r := range repos {
			rf := f
			rf.RepoID = r.RepoID
			cs, _ := e.db.ListCommits(ctx, rf)
			total += pages(len(cs), 1000)
		}
		all := f
		all.From = time.Time{}
		prs, _ := e.db.ListPullRequests(ctx, all)
		n := 0
		for _, pr := range prs {
			if !pr.CreatedAt.Before(from) || pr.ClosedAt != nil && !pr.ClosedAt.Before(from) {
				n++
			}
		}
		total += pages(n, 1000) + 2*int64(n)
		runs, _ := e.db.ListPipelineRuns(ctx, f)
		total += pages(len(runs), 1000) + int64(len(runs))
		total += 1 + 3 // environments and one page of records each
		deps, _ := e.db.ListDeployments(ctx, f, false)
		rel := 0
		for _, d := range deps {
			if d.Source == "release" {
				rel++
			}
		}
		total += pages(rel, 100)
		wis, _ := e.db.ListWorkItems(ctx, f)
		total += 1 + int64((len(wis)+199)/200)
		everything, _ := e.db.ListWorkItems(ctx, all)
		linked += len(everything) - len(wis) // linked from commits and PRs, changed earlier
	}
	if linked > 0 {
		total += int64((linked + 199) / 200)
	}
	return total
}

func azdoClient(sim *azdosim.Sim, calls *callCounter, maxConcurrent int) (*azdo.Client, error) {
	return azdo.New(azdo.Options{OrgURL: sim.OrgURL(), PAT: secret.New(sim.FullPAT()), Deployment: azdo.ServicesDeployment,
		HTTPClient: &http.Client{Transport: calls}, MaxConcurrent: maxConcurrent})
}
