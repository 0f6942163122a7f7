package storetest

import (
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(
		NewCase("a commit's provider author: kept when a write lacks it, kept through 00019", testCommitAuthorAccount),
	)
}

// testCommitAuthorAccount: GitHub's commit list gives the author's
// account id and login, a push only the login; a later write without them
// keeps what is stored. Migration 00019 keeps existing commits (down to
// 17 and up again: the rows stay, the account reads ”).
func testCommitAuthorAccount(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	listed := store.Commit{Key: f.key, RepoID: "42", SHA: "aaa", ProjectID: "42", AuthorName: "Ann", AuthorEmail: "ann@x",
		AuthorID: "583231", AuthorLogin: "ann", AuthorDate: t0, CommitterDate: t0, Message: "Fix #1"}
	must(t, db.UpsertCommit(ctx, listed))
	pushed := listed
	pushed.AuthorID, pushed.AuthorLogin = "", ""
	must(t, db.UpsertCommit(ctx, pushed))
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "42", SHA: "bbb", ProjectID: "42", AuthorName: "Bob",
		AuthorLogin: "bob", AuthorDate: t0.Add(time.Minute), CommitterDate: t0.Add(time.Minute)}))
	got, err := db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, RepoID: "42"})
	must(t, err)
	eq(t, "commits", len(got), 2)
	eq(t, "push's login", got[0].AuthorID+"|"+got[0].AuthorLogin, "|bob")
	eq(t, "listed account kept after a write without it", got[1].AuthorID+"|"+got[1].AuthorLogin, "583231|ann")

	must(t, db.MigrateSchemaTo(ctx, 17))
	must(t, db.MigrateSchemaTo(ctx, 19))
	got, err = db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, RepoID: "42"})
	must(t, err)
	eq(t, "commits after down and up", len(got), 2)
	eq(t, "message kept", got[1].Message, "Fix #1")
	eq(t, "account after down and up", got[1].AuthorID+"|"+got[1].AuthorLogin, "|")
	must(t, db.UpsertCommit(ctx, listed))
	got, err = db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, RepoID: "42"})
	must(t, err)
	eq(t, "account written again", got[1].AuthorID, "583231")
}
