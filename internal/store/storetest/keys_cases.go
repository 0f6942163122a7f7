package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Keys per repository (docs/adr/0016-providers-seam.md, step 1): GitHub
// numbers pull requests and issues per repository, so two repositories of
// one integration each have a #1.

func init() {
	AddCases(
		NewCase("keys: one PR number in two repositories", testPRNumberPerRepository),
		NewCase("keys: one work item id in two containers", testWorkItemPerContainer),
		NewCase("keys: migration 00017 keeps Azure DevOps data under the new keys", testKeysMigration),
	)
}

func testPRNumberPerRepository(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	a, b := f.pr("rA", 1), f.pr("rB", 1)
	for range 2 { // an upsert of an existing key is idempotent
		for _, ref := range []store.PRRef{a, b} {
			_, err := db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: 1, ProjectID: "p", RepoID: ref.RepoID,
				Title: "PR of " + ref.RepoID, Status: "active", AuthorID: "ann", CreatedAt: t0, ProviderUpdatedAt: t0})
			must(t, err)
			must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: ref.RepoID, SHA: "c-" + ref.RepoID, ProjectID: "p",
				AuthorDate: t0, CommitterDate: t0, Edits: 2}))
			must(t, db.UpsertReviewer(ctx, ref, store.Reviewer{ReviewerID: "rev-" + ref.RepoID, Vote: 10, VotedAt: ptr(t0)}))
			must(t, db.UpsertComment(ctx, ref, store.Comment{ThreadID: 1, CommentID: 1, AuthorID: "bob", PublishedAt: t0, UpdatedAt: t0}))
			must(t, db.AddPRCommit(ctx, ref, "c-"+ref.RepoID, nil))
			must(t, db.AddPRWorkItem(ctx, ref, store.WorkItemRef{Container: ref.RepoID, ID: 5}))
		}
	}
	for _, ref := range []store.PRRef{a, b} {
		got, err := db.GetPullRequest(ctx, f.ws.ID, ref)
		must(t, err)
		eq(t, "its own row", got.Title, "PR of "+ref.RepoID)
		d, err := db.GetPRDetails(ctx, ref)
		must(t, err)
		eq(t, "its own reviewer", len(d.Reviewers) == 1 && d.Reviewers[0].ReviewerID == "rev-"+ref.RepoID, true)
		eq(t, "its own comment", len(d.Comments), 1)
		eq(t, "its own commit", slices.Equal(d.Commits, []string{"c-" + ref.RepoID}), true)
		eq(t, "its own work item", slices.Equal(d.WorkItems, []store.WorkItemRef{{Container: ref.RepoID, ID: 5}}), true)
		size, err := db.GetPRSize(ctx, ref)
		must(t, err)
		eq(t, "its own size", size.Commits*100+size.FilesChanged, 102)
		hist, err := db.ListRepoPRs(ctx, f.in.ID, ref.RepoID, t0.Add(-time.Hour))
		must(t, err)
		eq(t, "its repository's history", len(hist) == 1 && hist[0].FilesChanged == 2, true)
	}
	_, err := db.GetPullRequest(ctx, f.ws.ID, f.pr("rC", 1))
	wantKind(t, err, delivery.KindNotFound)
	numbered, err := db.PullRequestsNumbered(ctx, f.ws.ID, f.in.ID, 1)
	must(t, err)
	eq(t, "both by number", len(numbered) == 2 && numbered[0].RepoID == "rA" && numbered[1].RepoID == "rB", true)

	// The dashboard's read gives each PR its own children.
	all, err := db.AllPullRequests(ctx, f.ws.ID, "", "", nil)
	must(t, err)
	eq(t, "two PRs", len(all), 2)
	for _, p := range all {
		eq(t, p.RepoID+" children", len(p.Reviewers) == 1 && p.Reviewers[0].ReviewerID == "rev-"+p.RepoID &&
			len(p.Comments) == 1 && slices.Equal(p.Commits, []string{"c-" + p.RepoID}) && len(p.WorkItems) == 1, true)
	}
	// Paging visits both once.
	seen := pageOneByOne(t, db.ListPullRequests, f.ws.ID, store.PullRequest.Cursor,
		func(p store.PullRequest) string { return p.RepoID })
	eq(t, "paged", strings.Join(seen, ","), "rA,rB")
	// Reconciliation tells them apart.
	fps, err := db.StoredFingerprints(ctx, store.SyncPullRequest, f.in.ID, []string{a.Target(), b.Target(), "1"})
	must(t, err)
	eq(t, "fingerprints by repository and number", len(fps) == 2 && fps["rA:1"] == "active||1|10" && fps["rB:1"] == "active||1|10", true)
	// PanDev's comment on each is its own.
	ok, err := db.LeasePRComment(ctx, f.ws.ID, a, t0, t0.Add(time.Minute))
	must(t, err)
	eq(t, "lease on A", ok, true)
	ok, err = db.LeasePRComment(ctx, f.ws.ID, b, t0, t0.Add(time.Minute))
	must(t, err)
	eq(t, "B's lease is not A's", ok, true)
	must(t, db.SavePRCommentState(ctx, store.PRCommentState{Key: f.key, RepoID: "rA", PRID: 1, ThreadID: 4, Status: "posted", UpdatedAt: t0}))
	sa, err := db.GetPRCommentState(ctx, a)
	must(t, err)
	sb, err := db.GetPRCommentState(ctx, b)
	must(t, err)
	eq(t, "comment states apart", sa.ThreadID == 4 && sb.ThreadID == 0, true)
	// A work item links to each by "<repo>:<number>".
	for _, ref := range []store.PRRef{a, b} {
		must(t, db.AddWorkItemLink(ctx, store.WorkItemLink{Key: f.key, Container: "", WorkItemID: 9, TargetKind: "pull_request",
			TargetID: ref.Target(), Origin: "mention"}))
	}
	links, err := db.ListWorkItemLinks(ctx, f.ws.ID, f.in.ID, store.WorkItemRef{ID: 9})
	must(t, err)
	eq(t, "two PR links", len(links) == 2 && links[0].TargetID == "rA:1" && links[1].TargetID == "rB:1", true)
}

func testWorkItemPerContainer(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	for range 2 { // an upsert of an existing key is idempotent
		for _, c := range []string{"", "rA", "rB"} {
			wrote, err := db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, Container: c, WorkItemID: 5, ProjectID: "p", Rev: 1,
				Title: "item of " + c, CreatedAt: t0, ChangedAt: t0})
			must(t, err)
			_ = wrote // the second pass writes the same revision again: allowed, same values
			must(t, db.AddWorkItemLink(ctx, store.WorkItemLink{Key: f.key, Container: c, WorkItemID: 5, TargetKind: "commit",
				TargetID: "r:" + c, Origin: "mention"}))
		}
	}
	items, err := db.ListWorkItems(ctx, store.Filter{WorkspaceID: f.ws.ID})
	must(t, err)
	eq(t, "three items side by side", len(items), 3)
	titles := pageOneByOne(t, db.ListWorkItems, f.ws.ID, store.WorkItem.Cursor, func(w store.WorkItem) string { return w.Title })
	eq(t, "paged", strings.Join(titles, ","), "item of ,item of rA,item of rB")
	all, err := db.AllWorkItems(ctx, f.ws.ID, "")
	must(t, err)
	eq(t, "dashboard read", len(all), 3)
	for _, w := range all {
		eq(t, "its own link", len(w.Links) == 1 && w.Links[0].TargetID == "r:"+w.Container && w.Links[0].Container == w.Container, true)
	}
	for _, c := range []string{"", "rA"} {
		links, err := db.ListWorkItemLinks(ctx, f.ws.ID, f.in.ID, store.WorkItemRef{Container: c, ID: 5})
		must(t, err)
		eq(t, "links of "+c, len(links) == 1 && links[0].TargetID == "r:"+c, true)
	}
	// A newer revision in one container leaves the others alone.
	wrote, err := db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, Container: "rA", WorkItemID: 5, ProjectID: "p", Rev: 2,
		Title: "renamed", CreatedAt: t0, ChangedAt: t0.Add(time.Hour)})
	must(t, err)
	eq(t, "newer written", wrote, true)
	wrote, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, Container: "rB", WorkItemID: 5, ProjectID: "p", Rev: 0,
		Title: "stale", CreatedAt: t0, ChangedAt: t0})
	must(t, err)
	eq(t, "older revision ignored in its own container", wrote, false)
	fps, err := db.StoredFingerprints(ctx, store.SyncWorkItem, f.in.ID, []string{"5", "rA:5", "rB:5", "rC:5"})
	must(t, err)
	eq(t, "fingerprints by container", len(fps) == 3 && fps["5"] == "1" && fps["rA:5"] == "2" && fps["rB:5"] == "1", true)
	// Links to items not stored are found per container.
	must(t, db.AddWorkItemLink(ctx, store.WorkItemLink{Key: f.key, Container: "rA", WorkItemID: 6, TargetKind: "commit",
		TargetID: "r:x", Origin: "mention"}))
	must(t, db.AddWorkItemLink(ctx, store.WorkItemLink{Key: f.key, Container: "", WorkItemID: 7, TargetKind: "commit",
		TargetID: "r:x", Origin: "mention"}))
	unstored, err := db.UnstoredLinkedWorkItems(ctx, f.in.ID, "")
	must(t, err)
	eq(t, "Azure's container", slices.Equal(unstored, []int64{7}), true)
	unstored, err = db.UnstoredLinkedWorkItems(ctx, f.in.ID, "rA")
	must(t, err)
	eq(t, "another container", slices.Equal(unstored, []int64{6}), true)
}

// pageOneByOne lists a workspace's rows a page of one at a time to the
// end and names each row it was given.
func pageOneByOne[T any](t *testing.T, list func(context.Context, store.Filter) ([]T, error), workspaceID string,
	cursor func(T) store.Cursor, name func(T) string) []string {
	t.Helper()
	var out []string
	var after *store.Cursor
	for range 10 {
		rows, err := list(ctx, store.Filter{WorkspaceID: workspaceID, Limit: 1, After: after})
		must(t, err)
		if len(rows) == 0 {
			return out
		}
		out = append(out, name(rows[0]))
		after = ptr(cursor(rows[0]))
	}
	t.Fatal("paging does not end")
	return nil
}

// oldShape are the columns each rebuilt table had before 00017, with the
// order that lists every row once; the migration must keep them all.
var oldShape = []struct{ table, columns, order string }{
	{"pull_requests", `integration_id, pr_id, workspace_id, project_id, repo_id, title, description, status, is_draft, author_id,
		author_name, source_ref, target_ref, created_at, published_at, closed_at, merge_commit, provider_updated_at`, "integration_id, pr_id"},
	{"pr_reviewers", "integration_id, pr_id, reviewer_id, display_name, vote, voted_at, is_required", "integration_id, pr_id, reviewer_id"},
	{"pr_commits", "integration_id, pr_id, sha, authored_at", "integration_id, pr_id, sha"},
	{"pr_comments", `integration_id, pr_id, thread_id, comment_id, author_id, author_name, comment_type, is_system, is_deleted,
		published_at, updated_at`, "integration_id, pr_id, thread_id, comment_id"},
	{"pr_work_items", "integration_id, pr_id, work_item_id", "integration_id, pr_id, work_item_id"},
	{"pr_comment_state", `integration_id, pr_id, workspace_id, thread_id, comment_id, content_hash, posted_at, updates, status,
		error, lease_until, updated_at`, "integration_id, pr_id"},
	{"work_items", `integration_id, work_item_id, workspace_id, project_id, rev, item_type, title, state, state_category, tags,
		area_path, created_at, changed_at, resolved_at, closed_at, is_deleted`, "integration_id, work_item_id"},
	{"work_item_links", "integration_id, work_item_id, target_kind, origin, workspace_id", "integration_id, work_item_id, target_kind, origin"},
}

// dumpRows reads a query's rows as text, every column formatted.
func dumpRows(t *testing.T, db *store.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(ctx, query, args...)
	must(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	must(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, rows.Scan(ptrs...))
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case time.Time:
				parts[i] = x.UTC().Format(time.RFC3339Nano)
			case []byte:
				parts[i] = string(x)
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	must(t, rows.Err())
	return out
}

func dumpOldShape(t *testing.T, db *store.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, s := range oldShape {
		out[s.table] = dumpRows(t, db, `SELECT `+s.columns+` FROM `+s.table+` ORDER BY `+s.order)
	}
	return out
}

// testKeysMigration loads Azure DevOps rows in every rebuilt table under
// the old keys, migrates, and finds every row with its values under the new
// keys; down and up again keeps them too.
func testKeysMigration(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	g := newFixture(t, db, "other")
	must(t, db.MigrateSchemaTo(ctx, 15))
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := db.SQL().ExecContext(ctx, q, args...)
		must(t, err)
	}
	a, b := f.in.ID, g.in.ID
	for _, p := range []struct {
		in, ws, repo string
		id           int64
		closed       any
	}{{a, f.ws.ID, "r1", 7, t0.Add(5 * time.Hour)}, {a, f.ws.ID, "r2", 8, nil}, {b, g.ws.ID, "rX", 7, nil}} {
		exec(`INSERT INTO pull_requests (integration_id, pr_id, workspace_id, project_id, repo_id, title, description, status,
			is_draft, author_id, author_name, source_ref, target_ref, created_at, published_at, closed_at, merge_commit,
			provider_updated_at) VALUES ($1, $2, $3, 'p1', $4, $5, 'Fixes #12', 'completed', FALSE, 'u1', 'Ann',
			'refs/heads/f', 'refs/heads/main', $6, $7, $8, 'm1', $9)`,
			p.in, p.id, p.ws, p.repo, "PR "+p.repo, t0, t0.Add(time.Hour), p.closed, t0.Add(6*time.Hour))
	}
	exec(`INSERT INTO pr_reviewers (integration_id, pr_id, reviewer_id, display_name, vote, voted_at, is_required)
		VALUES ($1, 7, 'u2', 'Bob', 10, $2, TRUE), ($1, 8, 'u3', 'Cat', 0, NULL, FALSE), ($3, 7, 'u9', 'Zed', -5, $2, FALSE)`,
		a, t0.Add(2*time.Hour), b)
	exec(`INSERT INTO pr_commits (integration_id, pr_id, sha, authored_at) VALUES ($1, 7, 'aaa', $2), ($1, 7, 'bbb', NULL),
		($1, 8, 'ccc', NULL), ($3, 7, 'xxx', $2)`, a, t0.Add(-48*time.Hour), b)
	exec(`INSERT INTO pr_comments (integration_id, pr_id, thread_id, comment_id, author_id, author_name, comment_type,
		is_system, is_deleted, published_at, updated_at) VALUES ($1, 7, 1, 1, 'u2', 'Bob', 'text', FALSE, FALSE, $2, $3),
		($1, 7, 2, 1, 'sys', '', 'system', TRUE, TRUE, $2, $2), ($4, 7, 1, 1, 'u9', 'Zed', 'text', FALSE, FALSE, $2, $2)`,
		a, t0.Add(time.Hour), t0.Add(90*time.Minute), b)
	exec(`INSERT INTO pr_work_items (integration_id, pr_id, work_item_id) VALUES ($1, 7, 12), ($1, 8, 13), ($2, 7, 12)`, a, b)
	exec(`INSERT INTO pr_comment_state (integration_id, pr_id, workspace_id, thread_id, comment_id, content_hash, posted_at,
		updates, status, error, lease_until, updated_at) VALUES ($1, 7, $2, 3, 1, 'h1', $3, 2, 'posted', '', $4, $3),
		($1, 99, $2, 0, 0, '', NULL, 0, 'failed', 'gone', NULL, $3)`, a, f.ws.ID, t0.Add(3*time.Hour), t0.Add(4*time.Hour))
	exec(`INSERT INTO work_items (integration_id, work_item_id, workspace_id, project_id, rev, item_type, title, state,
		state_category, tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted)
		VALUES ($1, 12, $2, 'p1', 3, 'Bug', 'Crash', 'Active', 'InProgress', 'incident; api', 'P\API', $3, $4, NULL, NULL, FALSE),
		($1, 13, $2, 'p1', 5, 'Task', 'Done', 'Closed', 'Completed', '', 'P', $3, $4, $4, $4, TRUE),
		($5, 12, $6, 'p1', 1, 'Bug', 'Other', 'New', 'Proposed', '', 'P', $3, $3, NULL, NULL, FALSE)`,
		a, f.ws.ID, t0, t0.Add(time.Hour), b, g.ws.ID)
	exec(`INSERT INTO work_item_links (integration_id, work_item_id, target_kind, target_id, origin, workspace_id)
		VALUES ($1, 12, 'commit', 'r1:aaa', 'mention', $2), ($1, 12, 'pull_request', '7', 'pr_ref', $2),
		($1, 13, 'pull_request', '8', 'artifact', $2), ($1, 13, 'pull_request', '55', 'artifact', $2),
		($3, 12, 'pull_request', '7', 'pr_ref', $4)`, a, f.ws.ID, b, g.ws.ID)
	before := dumpOldShape(t, db)
	for table, rows := range before {
		if len(rows) == 0 {
			t.Fatalf("no %s rows loaded", table)
		}
	}

	must(t, db.Migrate(ctx, slog.New(slog.DiscardHandler)))
	after := dumpOldShape(t, db)
	for _, s := range oldShape {
		eq(t, s.table+" rows and values kept", strings.Join(after[s.table], "\n"), strings.Join(before[s.table], "\n"))
	}
	// The new keys: each child has its PR's repository, containers are
	// Azure DevOps' '', PR link targets are "<repo>:<number>".
	for _, child := range []string{"pr_reviewers", "pr_commits", "pr_comments", "pr_work_items"} {
		wrong := dumpRows(t, db, `SELECT c.integration_id, c.pr_id, c.repo_id FROM `+child+` c
			LEFT JOIN pull_requests p ON p.integration_id = c.integration_id AND p.repo_id = c.repo_id AND p.pr_id = c.pr_id
			WHERE p.pr_id IS NULL`)
		eq(t, child+" rows whose repository is not their PR's", len(wrong), 0)
	}
	eq(t, "comment states", strings.Join(dumpRows(t, db, `SELECT pr_id, repo_id FROM pr_comment_state ORDER BY pr_id`), ";"),
		"7 r1;99 ")
	eq(t, "containers", strings.Join(dumpRows(t, db, `SELECT DISTINCT container FROM work_items
		UNION SELECT DISTINCT container FROM work_item_links UNION SELECT DISTINCT container FROM pr_work_items`), ";"), "")
	eq(t, "link targets", strings.Join(dumpRows(t, db, `SELECT CASE WHEN integration_id = $1 THEN 'a' ELSE 'b' END,
		work_item_id, target_id FROM work_item_links WHERE target_kind = 'pull_request' ORDER BY 1, 2, 3`, a), ";"),
		"a 12 r1:7;a 13 55;a 13 r2:8;b 12 rX:7")

	// The store reads them by the new keys.
	d, err := db.GetPRDetails(ctx, f.pr("r1", 7))
	must(t, err)
	eq(t, "details", len(d.Reviewers) == 1 && len(d.Comments) == 2 && len(d.Commits) == 2 &&
		slices.Equal(d.WorkItems, []store.WorkItemRef{{ID: 12}}) && d.FirstCommitAt != nil && d.FirstCommitAt.Equal(t0.Add(-48*time.Hour)), true)
	st, err := db.GetPRCommentState(ctx, f.pr("r1", 7))
	must(t, err)
	eq(t, "comment state", st.ThreadID == 3 && st.ContentHash == "h1" && st.Updates == 2, true)
	other, err := db.GetPullRequest(ctx, g.ws.ID, g.pr("rX", 7))
	must(t, err)
	eq(t, "the other integration's PR 7", other.Title, "PR rX")
	fps, err := db.StoredFingerprints(ctx, store.SyncWorkItem, a, []string{"12", "13"})
	must(t, err)
	eq(t, "work items by id", fps["12"]+"/"+fps["13"], "3/5")
	// New rows of an upgraded store: a second repository's PR 7 sits beside.
	_, err = db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: 7, ProjectID: "p1", RepoID: "r2", Status: "active",
		CreatedAt: t0, ProviderUpdatedAt: t0})
	must(t, err)
	numbered, err := db.PullRequestsNumbered(ctx, f.ws.ID, a, 7)
	must(t, err)
	eq(t, "two PR 7s", len(numbered), 2)

	// Down restores the old shape with the same rows (once the new PR is
	// gone: the old keys cannot hold it), and up again.
	_, err = db.SQL().ExecContext(ctx, `DELETE FROM pull_requests WHERE integration_id = $1 AND repo_id = 'r2' AND pr_id = 7`, a)
	must(t, err)
	must(t, db.MigrateSchemaTo(ctx, 15))
	down := dumpOldShape(t, db)
	for _, s := range oldShape {
		eq(t, s.table+" after down", strings.Join(down[s.table], "\n"), strings.Join(before[s.table], "\n"))
	}
	eq(t, "link targets after down", strings.Join(dumpRows(t, db, `SELECT CASE WHEN integration_id = $1 THEN 'a' ELSE 'b' END,
		work_item_id, target_id FROM work_item_links WHERE target_kind = 'pull_request' ORDER BY 1, 2, 3`, a), ";"),
		"a 12 7;a 13 55;a 13 8;b 12 7")
	must(t, db.Migrate(ctx, slog.New(slog.DiscardHandler)))
	ok, err := db.MigrationsCurrent(ctx)
	must(t, err)
	eq(t, "current again", ok, true)

	// The rebuilt tables cascade as before: deleting an integration takes
	// its PRs, their children and its work items, and only its.
	must(t, db.DeleteIntegration(ctx, g.ws.ID, b))
	for _, s := range oldShape {
		left := dumpRows(t, db, `SELECT COUNT(*) FROM `+s.table+` WHERE integration_id = $1`, b)
		eq(t, s.table+" rows of the deleted integration", left[0], "0")
	}
	kept := dumpOldShape(t, db)
	eq(t, "the other integration's PRs", len(kept["pull_requests"]), 2)
	eq(t, "the other integration's comments", len(kept["pr_comments"]), 2)
}
