package dashboard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// benchWorld writes a year of 5 repositories: 100k commits with parents,
// 20k merged PRs (a commit and a comment each) and 10k production
// deployments — about 300k rows.
func benchWorld(b *testing.B, db *store.DB) world {
	w := newWorld(b, db, "bench")
	start := now.AddDate(-1, 0, 0)
	const repos, perRepo = 5, 20_000
	step := 365 * 24 * time.Hour / perRepo
	must(b, db.InTx(bg, func(tx *store.Tx) error {
		for r := range repos {
			repo, project := "r1", "p1"
			if r > 0 {
				repo = fmt.Sprintf("r1-%d", r)
				must(b, tx.UpsertRepository(bg, store.Repository{Key: w.key, RepoID: repo, ProjectID: project, Name: repo}))
			}
			sha := func(i int) string { return fmt.Sprintf("%s-%06d", repo, i) }
			for i := range perRepo {
				t := start.Add(time.Duration(i) * step)
				var parents []string
				if i > 0 {
					parents = []string{sha(i - 1)}
				}
				if err := tx.UpsertCommit(bg, store.Commit{Key: w.key, RepoID: repo, SHA: sha(i), ProjectID: project,
					AuthorEmail: "dev@x", AuthorDate: t, CommitterDate: t, Message: "change", Edits: 1, Parents: parents}); err != nil {
					return err
				}
				if i%5 == 4 {
					id := int64(r*perRepo + i)
					if _, err := tx.UpsertPullRequest(bg, store.PullRequest{Key: w.key, PRID: id, ProjectID: project, RepoID: repo,
						Status: "completed", AuthorID: "dev", CreatedAt: t.Add(-time.Hour), ClosedAt: ptr(t), MergeCommit: sha(i),
						ProviderUpdatedAt: t}); err != nil {
						return err
					}
					if err := tx.AddPRCommit(bg, w.key.IntegrationID, id, sha(i-1)); err != nil {
						return err
					}
					if err := tx.UpsertComment(bg, w.key.IntegrationID, id, store.Comment{ThreadID: 1, CommentID: 1, AuthorID: "rev",
						PublishedAt: t.Add(-30 * time.Minute), UpdatedAt: t}); err != nil {
						return err
					}
				}
				if i%10 == 9 {
					result := "succeeded"
					if i%200 == 199 {
						result = "failed"
					}
					fin := t.Add(2 * time.Hour)
					if err := tx.UpsertDeployment(bg, store.Deployment{Key: w.key, DeploymentKey: fmt.Sprintf("env:%s:%d", repo, i),
						ProjectID: project, Source: "environment", RepoID: repo, Environment: "prod", IsProduction: true,
						Result: result, SHA: sha(i), FinishedAt: &fin}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}))
	return w
}

// groupByBaseline computes deployment counts by result and the PR cycle
// time median straight from the raw tables with GROUP BY — a lower bound
// of what the figures cost without facts (it skips the commit graph walk
// that lead time needs).
func groupByBaseline(b *testing.B, db *store.DB, ws string, from, to time.Time) (int, time.Duration) {
	rows, err := db.SQL().QueryContext(bg, `SELECT result, COUNT(*) FROM deployments
		WHERE workspace_id = $1 AND is_production AND finished_at >= $2 AND finished_at < $3 GROUP BY result`, ws, from, to)
	must(b, err)
	n := 0
	for rows.Next() {
		var result string
		var c int
		must(b, rows.Scan(&result, &c))
		n += c
	}
	rows.Close()
	rows, err = db.SQL().QueryContext(bg, `SELECT p.pr_id, MIN(c.author_date), MAX(p.closed_at) FROM pull_requests p
		JOIN pr_commits pc ON pc.integration_id = p.integration_id AND pc.pr_id = p.pr_id
		JOIN commits c ON c.integration_id = pc.integration_id AND c.repo_id = p.repo_id AND c.sha = pc.sha
		WHERE p.workspace_id = $1 AND p.status = 'completed' AND p.closed_at >= $2 AND p.closed_at < $3
		GROUP BY p.pr_id`, ws, from, to)
	must(b, err)
	var spans []time.Duration
	for rows.Next() {
		var id int64
		var first, merged any // SQLite returns aggregates of times as text
		must(b, rows.Scan(&id, &first, &merged))
		spans = append(spans, anyTime(b, merged).Sub(anyTime(b, first)))
	}
	rows.Close()
	slices.Sort(spans)
	if len(spans) == 0 {
		return n, 0
	}
	return n, spans[len(spans)/2]
}

// BenchmarkDORAEndpoint measures GET /api/v1/metrics/dora over a year of
// ~300k rows, warm, against the GROUP BY baseline on the same database,
// and prints the ratio; it also reports the cold build and the rebuild
// after one new deployment. PostgreSQL runs with PANDEV_BENCH_POSTGRES=1
// (loading 300k rows one upsert at a time takes a while there).
func BenchmarkDORAEndpoint(b *testing.B) {
	backends := []storetest.Backend{{Name: "sqlite", Open: storetest.OpenSQLite}}
	if os.Getenv("PANDEV_BENCH_POSTGRES") == "1" {
		backends = append(backends, storetest.Backend{Name: "postgres", Open: storetest.OpenPostgres})
	}
	for _, be := range backends {
		b.Run(be.Name, func(b *testing.B) {
			db := be.Open(b)
			w := benchWorld(b, db)
			h := New(db, clock, Config{})
			defer h.Close()
			target := "/api/v1/metrics/dora?from=" + now.AddDate(-1, 0, 0).Format("2006-01-02") + "&to=" + now.Format("2006-01-02")
			call := func() *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, target, nil).WithContext(auth.WithPrincipal(bg, auth.Principal{User: w.user}))
				rec := httptest.NewRecorder()
				must(b, h.DORA(rec, r))
				return rec
			}
			started := time.Now()
			call()
			cold := time.Since(started)
			snap, _ := h.Snapshot(httptest.NewRequest(http.MethodGet, "/", nil).WithContext(auth.WithPrincipal(bg, auth.Principal{User: w.user})))
			w.deploy(b, "env:new", "p1", "r1", "prod", "succeeded", "r1-019999", now.Add(-time.Hour))
			started = time.Now()
			call()
			incremental := time.Since(started)

			// testing.Benchmark cannot run inside a benchmark (it takes the
			// same lock), so both sides are timed the same way by hand.
			endpoint := timePerOp(func() { call() })
			from, to := now.AddDate(-1, 0, 0), now
			baseline := timePerOp(func() { groupByBaseline(b, db, w.ws.ID, from, to) })
			ratio := float64(baseline) / float64(endpoint)
			b.Logf("%s: %d commits, %d PRs, %d deployments; cold build %v (read %v, analyze %v); rebuild after one deployment %v; "+
				"DORA endpoint warm %v/op; GROUP BY baseline %v/op; baseline/endpoint = %.1f×",
				be.Name, snap.Stats.Commits, snap.Stats.PullRequests, snap.Stats.Deployments, cold.Round(time.Millisecond),
				snap.Stats.Read.Round(time.Millisecond), snap.Stats.Analyze.Round(time.Millisecond), incremental.Round(time.Millisecond),
				endpoint, baseline, ratio)
			b.ReportMetric(float64(endpoint)/1e6, "endpoint-ms/op")
			b.ReportMetric(float64(baseline)/1e6, "groupby-ms/op")
			b.ReportMetric(ratio, "groupby/endpoint")
			b.ReportMetric(float64(cold.Milliseconds()), "cold-ms")
			b.ReportMetric(float64(incremental.Milliseconds()), "rebuild-ms")
			for b.Loop() {
				call()
			}
		})
	}
}

// timePerOp runs f for about two seconds (at least five times) and returns
// the mean time per call.
func timePerOp(f func()) time.Duration {
	start, n := time.Now(), 0
	for n < 5 || time.Since(start) < 2*time.Second {
		f()
		n++
	}
	return time.Since(start) / time.Duration(n)
}

// anyTime reads a scanned time that SQLite may give as text.
func anyTime(b *testing.B, v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
			if p, err := time.Parse(layout, t); err == nil {
				return p
			}
		}
	}
	b.Fatalf("not a time: %#v", v)
	return time.Time{}
}
