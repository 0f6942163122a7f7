package store_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// BenchmarkMigrateKeys times migration 00017 (keys per repository) on a
// store of 50,000 pull requests with their children (2 reviewers, 3
// commits, 4 comments, a work item ref each, a comment state for every
// fifth) and 50,000 work items with 2 links each, on each engine:
//
//	go test -run '^$' -bench MigrateKeys -benchtime 1x ./internal/store/
func BenchmarkMigrateKeys(b *testing.B) {
	for _, e := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "m.db") }},
		{"postgres", func(b *testing.B) string { return storetest.NewPostgresDatabase(b) }},
	} {
		b.Run(e.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				db := loadOldKeys(b, e.dsn(b), 50_000)
				b.StartTimer()
				if err := db.MigrateSchemaTo(context.Background(), 17); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				var n, comments, links int
				if err := db.SQL().QueryRowContext(context.Background(), `SELECT (SELECT COUNT(*) FROM pull_requests),
					(SELECT COUNT(*) FROM pr_comments), (SELECT COUNT(*) FROM work_item_links WHERE target_id LIKE 'r%:%')`).
					Scan(&n, &comments, &links); err != nil || n != 50_000 || comments != 200_000 || links != 100_000 {
					b.Fatalf("after the migration: %d PRs, %d comments, %d rewritten links (%v)", n, comments, links, err)
				}
				db.Close()
			}
		})
	}
}

// loadOldKeys opens a database at schema 15 (before 00017) and fills it.
func loadOldKeys(b *testing.B, dsn string, prs int) *store.DB {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	ws, err := db.EnsureWorkspace(ctx, "bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	in, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: ws.ID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/bench", TokenSealed: "t", WebhookSecretSealed: "s", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.MigrateSchemaTo(ctx, 15); err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	n := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $3) `
	for _, q := range []string{
		n + `INSERT INTO pull_requests (integration_id, pr_id, workspace_id, project_id, repo_id, title, description, status,
			author_id, author_name, created_at, closed_at, merge_commit, provider_updated_at)
			SELECT $1, i, $2, 'p' || CAST(i % 5 AS TEXT), 'r' || CAST(i % 40 AS TEXT), 'PR title ' || CAST(i AS TEXT),
				'A description of some length, mentioning #12', 'completed', 'u' || CAST(i % 30 AS TEXT), 'Someone', $4, $4, 'm', $4 FROM n`,
		n + `INSERT INTO pr_reviewers (integration_id, pr_id, reviewer_id, display_name, vote, voted_at)
			SELECT $1, i, 'rev' || CAST(k AS TEXT), 'Reviewer', 10, $4 FROM n, (SELECT 1 AS k UNION ALL SELECT 2) r WHERE $2 <> ''`,
		n + `INSERT INTO pr_commits (integration_id, pr_id, sha, authored_at)
			SELECT $1, i, 'sha' || CAST(i AS TEXT) || '-' || CAST(k AS TEXT), $4 FROM n,
				(SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) r WHERE $2 <> ''`,
		n + `INSERT INTO pr_comments (integration_id, pr_id, thread_id, comment_id, author_id, published_at, updated_at)
			SELECT $1, i, k, 1, 'u1', $4, $4 FROM n,
				(SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) r WHERE $2 <> ''`,
		n + `INSERT INTO pr_work_items (integration_id, pr_id, work_item_id) SELECT $1, i, i FROM n WHERE $2 <> '' AND CAST($4 AS TIMESTAMP) IS NOT NULL`,
		n + `INSERT INTO pr_comment_state (integration_id, pr_id, workspace_id, status, updated_at)
			SELECT $1, i, $2, 'posted', $4 FROM n WHERE i % 5 = 0`,
		n + `INSERT INTO work_items (integration_id, work_item_id, workspace_id, project_id, rev, item_type, title, state,
			created_at, changed_at) SELECT $1, i, $2, 'p' || CAST(i % 5 AS TEXT), 3, 'Bug', 'Item', 'Active', $4, $4 FROM n`,
		n + `INSERT INTO work_item_links (integration_id, work_item_id, target_kind, target_id, origin, workspace_id)
			SELECT $1, i, 'pull_request', CAST(i AS TEXT), 'pr_ref', $2 FROM n WHERE CAST($4 AS TIMESTAMP) IS NOT NULL`,
		n + `INSERT INTO work_item_links (integration_id, work_item_id, target_kind, target_id, origin, workspace_id)
			SELECT $1, i, 'commit', 'r1:sha' || CAST(i AS TEXT), 'mention', $2 FROM n WHERE CAST($4 AS TIMESTAMP) IS NOT NULL`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q, in.ID, ws.ID, prs, at); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	return db
}
