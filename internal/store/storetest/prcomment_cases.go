package storetest

import (
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(
		NewCase("PR comment state", testPRCommentState),
		NewCase("PR size and repository history", testRepoPRs),
	)
}

func testPRCommentState(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	s, err := db.GetPRCommentState(ctx, f.pr("r", 7))
	must(t, err)
	eq(t, "never commented", s.ThreadID, int64(0))
	s = store.PRCommentState{Key: f.key, RepoID: "r", PRID: 7, ThreadID: 3, CommentID: 1, ContentHash: "h1", PostedAt: ptr(t0), Updates: 1, Status: "posted", UpdatedAt: t0}
	must(t, db.SavePRCommentState(ctx, s))
	s.ContentHash, s.Updates = "h2", 2
	must(t, db.SavePRCommentState(ctx, s))
	must(t, db.SavePRCommentState(ctx, store.PRCommentState{Key: f.key, RepoID: "r", PRID: 8, Status: "failed", Error: "no write scope", UpdatedAt: t0}))
	got, err := db.GetPRCommentState(ctx, f.pr("r", 7))
	must(t, err)
	eq(t, "updated", got.ContentHash+"/"+got.Status, "h2/posted")
	eq(t, "posted at", got.PostedAt != nil && got.PostedAt.Equal(t0), true)
	ok, err := db.LeasePRComment(ctx, f.ws.ID, f.pr("r", 7), t0, t0.Add(time.Minute))
	must(t, err)
	eq(t, "first lease", ok, true)
	ok, err = db.LeasePRComment(ctx, f.ws.ID, f.pr("r", 7), t0.Add(time.Second), t0.Add(time.Minute))
	must(t, err)
	eq(t, "held", ok, false)
	ok, err = db.LeasePRComment(ctx, f.ws.ID, f.pr("r", 7), t0.Add(2*time.Minute), t0.Add(3*time.Minute))
	must(t, err)
	eq(t, "expired lease taken over", ok, true)
	must(t, db.ReleasePRComment(ctx, f.pr("r", 7)))
	ok, err = db.LeasePRComment(ctx, f.ws.ID, f.pr("r", 9), t0, t0.Add(time.Minute))
	must(t, err)
	eq(t, "lease on a new PR", ok, true)
	got, err = db.GetPRCommentState(ctx, f.pr("r", 7))
	must(t, err)
	eq(t, "lease keeps the state", got.ContentHash, "h2")
	counts, lastErr, err := db.CountPRCommentStates(ctx, f.key)
	must(t, err)
	eq(t, "posted", counts["posted"], 1)
	eq(t, "leased only", counts[""], 1)
	eq(t, "failed", counts["failed"], 1)
	eq(t, "last error", lastErr, "no write scope")
	must(t, db.SavePRCommentState(ctx, store.PRCommentState{Key: f.key, RepoID: "q", PRID: 2, Status: "failed", Error: "no write scope", UpdatedAt: t0}))
	failed, err := db.ListPRCommentStates(ctx, f.in.ID, "failed")
	must(t, err)
	eq(t, "failed ones, by repository and number", len(failed), 2)
	eq(t, "first failed", failed[0], f.pr("q", 2))
	eq(t, "second failed", failed[1], f.pr("r", 8))
	other, err := db.ListPRCommentStates(ctx, "another integration", "failed")
	must(t, err)
	eq(t, "another integration's", len(other), 0)
}

func testRepoPRs(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	pr := func(id int64, created time.Time, author string) {
		_, err := db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: id, ProjectID: "p", RepoID: "r", Status: "active",
			AuthorID: author, CreatedAt: created, ProviderUpdatedAt: created})
		must(t, err)
	}
	pr(1, t0, "ann")
	pr(2, t0.Add(time.Hour), "bob")
	for i, sha := range []string{"a", "b"} {
		must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r", SHA: sha, ProjectID: "p", AuthorDate: t0, CommitterDate: t0, Adds: 1 + i, Edits: 1}))
		must(t, db.AddPRCommit(ctx, f.pr("r", 1), sha, nil))
	}
	must(t, db.AddPRCommit(ctx, f.pr("r", 1), "not-stored", nil))
	must(t, db.UpsertComment(ctx, f.pr("r", 1), store.Comment{ThreadID: 1, CommentID: 1, AuthorID: "ann", PublishedAt: t0.Add(time.Minute), UpdatedAt: t0}))
	must(t, db.UpsertComment(ctx, f.pr("r", 1), store.Comment{ThreadID: 2, CommentID: 1, AuthorID: "sys", IsSystem: true, PublishedAt: t0.Add(2 * time.Minute), UpdatedAt: t0}))
	must(t, db.UpsertComment(ctx, f.pr("r", 1), store.Comment{ThreadID: 3, CommentID: 1, AuthorID: "bob", PublishedAt: t0.Add(3 * time.Hour), UpdatedAt: t0}))
	must(t, db.UpsertReviewer(ctx, f.pr("r", 1), store.Reviewer{ReviewerID: "cat", Vote: 10, VotedAt: ptr(t0.Add(2 * time.Hour))}))
	size, err := db.GetPRSize(ctx, f.pr("r", 1))
	must(t, err)
	eq(t, "size", size.Commits*100+size.FilesChanged, 205)
	eq(t, "listed, stored or not", size.Listed, 3)
	eq(t, "first commit", size.FirstCommitAt != nil && size.FirstCommitAt.Equal(t0), true)
	prs, err := db.ListRepoPRs(ctx, f.in.ID, "r", t0.Add(-time.Hour))
	must(t, err)
	eq(t, "two PRs", len(prs), 2)
	eq(t, "files", prs[0].FilesChanged, 5)
	eq(t, "opened", prs[0].CreatedAt.Equal(t0), true)
	eq(t, "first review: the vote, before the other author's comment", prs[0].FirstReview != nil && prs[0].FirstReview.Equal(t0.Add(2*time.Hour)), true)
	eq(t, "no review yet", prs[1].FirstReview == nil, true)
}
