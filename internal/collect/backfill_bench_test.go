package collect_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/secret"
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
	e.c.AttachSource(azure.New(clients{client: client, in: in}))
}

// minimumPages is collect.MinimumPages with the simulator's truth of the
// commits per branch.
func minimumPages(b *testing.B, e *simEnv) int64 {
	n, err := azure.MinimumPages(context.Background(), e.db, e.key, truthCommitsByBranch(e.sim))
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func truthCommitsByBranch(sim *azdosim.Sim) azure.CommitsByBranch {
	return func(projectID string, from time.Time) (map[string]map[string]int, error) {
		return sim.TruthCommitsByBranch(projectID, from.UTC().Format(time.RFC3339))
	}
}

func azdoClient(sim *azdosim.Sim, calls *callCounter, maxConcurrent int) (*azdo.Client, error) {
	return azdo.New(azdo.Options{OrgURL: sim.OrgURL(), PAT: secret.New(sim.ManualPAT()), Deployment: azdo.ServicesDeployment, Hosts: simHosts,
		HTTPClient: &http.Client{Transport: calls}, MaxConcurrent: maxConcurrent})
}
