package github_test

import (
	"context"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/githubapi"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// BenchmarkPullsRESTvsGraphQL backfills the same seeded simulator
// repositories with pull requests read by REST and by GraphQL, with 20 ms
// of latency on every call, and prints per path: the calls, the rate-limit
// points spent (a REST request that is not a 304 costs one of the core
// bucket; a GraphQL query costs what GitHub's formula says, of the graphql
// bucket), the items stored (PRs and default-branch commits), calls and
// points per item, the pull-request resource's own calls per PR, and the
// wall time. Then two reconciliations of each: with nothing changed (REST's
// conditional requests answer 304, free) and after a few changes. The
// default seed's small profile (30-day window) and the medium profile with
// its whole 120 days (about 600 PRs with reviews). Run:
//
//	go test -run XXX -bench PullsRESTvsGraphQL -benchtime 1x ./internal/collect/github
func BenchmarkPullsRESTvsGraphQL(b *testing.B) {
	for _, tc := range []struct {
		profile string
		days    int
	}{{"small", 0}, {"medium", 120}} {
		b.Run(tc.profile, func(b *testing.B) {
			for range b.N {
				var wall [2]time.Duration
				for i, path := range []ghcollect.PullsPath{ghcollect.PullsREST, ghcollect.PullsGraphQLAlways} {
					sim := startSim(b, tc.profile)
					if err := sim.SetFaults([]githubsim.Fault{{Path: "/", Latency: "20ms"}}); err != nil {
						b.Fatal(err)
					}
					// The REST backfill's pace trips GitHub's secondary limit (900
					// points a minute) on the medium profile, and go-github then
					// waits out its retry-after in real time: lifted here so the
					// wall time measures the calls; the pace is printed instead.
					sim.SetRateLimits(githubsim.RateLimits{SecondaryPoints: 1 << 30})
					e := newGHEnv(b, storetest.OpenSQLite(b), sim, "bench", path)
					start := time.Now()
					waits := e.backfill(b, tc.days)
					wall[i] = time.Since(start)
					s := e.client.Calls().Snapshot()
					items := len(e.rows(b, "pull_requests")) + len(e.rows(b, "commits"))
					prs := len(e.rows(b, "pull_requests"))
					prCalls := resourcePages(b, e, "pull_requests")
					points := spent(s)
					b.Logf("%-7s %-8s backfill: %4d calls, %4d points, %4d items (%d PRs): %.3f calls/item, %.3f points/item, PR resource %d calls (%.3f per PR), wall %v",
						tc.profile, name(path), s.Sent, points, items, prs, float64(s.Sent)/float64(items), float64(points)/float64(items),
						prCalls, float64(prCalls)/float64(prs), wall[i].Round(time.Millisecond))
					b.Logf("%-7s %-8s pace: %.0f calls a minute (GitHub's secondary limit: 900 points a minute for REST)",
						tc.profile, name(path), float64(s.Sent)/wall[i].Minutes())
					if waits > 0 {
						b.Logf("%-7s %-8s backfill waited out %d rate limits (on the simulator's clock: not in the wall time)", tc.profile, name(path), waits)
					}
					// Reconcile, nothing changed.
					before := e.client.Calls().Snapshot()
					if _, err := e.c.Reconcile(context.Background(), e.in.ID); err != nil {
						b.Fatal(err)
					}
					after := e.client.Calls().Snapshot()
					b.Logf("%-7s %-8s reconcile, nothing changed: %d calls (%d answered 304), %d points",
						tc.profile, name(path), after.Sent-before.Sent, after.NotModified-before.NotModified, spent(after)-spent(before))
					// Reconcile after a few changes in the first repository.
					for _, kind := range []string{"pull_request_opened", "review", "review_comment", "pull_request_merged"} {
						if _, err := sim.Activity(githubsim.ActivityRequest{Kind: kind, Commits: 2}); err != nil {
							b.Fatal(err)
						}
					}
					before = after
					if _, err := e.c.Reconcile(context.Background(), e.in.ID); err != nil {
						b.Fatal(err)
					}
					after = e.client.Calls().Snapshot()
					b.Logf("%-7s %-8s reconcile, 4 changes: %d calls (%d answered 304), %d points",
						tc.profile, name(path), after.Sent-before.Sent, after.NotModified-before.NotModified, spent(after)-spent(before))
					b.ReportMetric(float64(s.Sent), name(path)+"_calls")
					b.ReportMetric(float64(points), name(path)+"_points")
				}
				b.Logf("%-7s wall time GraphQL/REST: %.2f", tc.profile, wall[1].Seconds()/wall[0].Seconds())
				b.ReportMetric(wall[1].Seconds()/wall[0].Seconds(), "wall_graphql/rest")
			}
		})
	}
}

func name(p ghcollect.PullsPath) string {
	if p == ghcollect.PullsREST {
		return "rest"
	}
	return "graphql"
}

// spent is the rate-limit points a client spent: its REST requests not
// answered 304, and its GraphQL queries' cost.
func spent(s githubapi.Snapshot) int {
	return s.Counted - s.GraphQLCalls + s.Points
}

// resourcePages is the calls one resource's backfill made, over every repository.
func resourcePages(t testing.TB, e *ghEnv, res string) int {
	t.Helper()
	ps, err := collect.Progress(context.Background(), e.db, store.Key{IntegrationID: e.in.ID, WorkspaceID: e.in.WorkspaceID}, ghcollect.Resources)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range ps {
		for _, r := range p.Resources {
			if r.Resource == res {
				n += int(r.Pages)
			}
		}
	}
	return n
}
