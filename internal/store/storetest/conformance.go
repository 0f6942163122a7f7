package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// RunConformance runs every storage case against each backend. A behaviour
// change to the store adds a case here, so both engines keep one behaviour.
func RunConformance(t *testing.T) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, b.Open(t)) })
			}
		})
	}
}

// Case is one storage behaviour, checked on a fresh database.
type Case struct {
	name string
	fn   func(t *testing.T, db *store.DB)
}

// cases is every storage behaviour. Files of this package that cover one
// area add theirs with AddCases in an init function.
var cases = []Case{
	{"migrations are idempotent and current", testMigrations},
	{"workspaces", testWorkspaces},
	{"users", testUsers},
	{"sessions", testSessions},
	{"api tokens", testAPITokens},
	{"integrations", testIntegrations},
	{"projects keep their selection", testProjects},
	{"repositories", testRepositories},
	{"commits with parents are idempotent", testCommits},
	{"pull requests: newer wins, children converge", testPullRequests},
	{"pipeline runs and stages", testPipelineRuns},
	{"deployments and their commits", testDeployments},
	{"work items by revision, links deduplicated", testWorkItems},
	{"webhook inbox deduplicates", testInbox},
	{"watermarks", testWatermarks},
	{"keyset paging visits every row once", testKeysetPaging},
	{"transactions roll back", testTransactions},
	{"workspaces are isolated", testTenantIsolation},
}

// AddCases registers more conformance cases (from an init function).
func AddCases(more ...Case) { cases = append(cases, more...) }

// NewCase names a case.
func NewCase(name string, fn func(t *testing.T, db *store.DB)) Case { return Case{name: name, fn: fn} }

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, k delivery.Kind) {
	t.Helper()
	if got := delivery.KindOf(err); err == nil || got != k {
		t.Fatalf("want a %s error, got %v", k, err)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// fixture is a workspace with an admin and an integration.
type fixture struct {
	ws   store.Workspace
	user store.User
	in   store.Integration
	key  store.Key
}

// pr names the fixture integration's PR number id of repository repo.
func (f fixture) pr(repo string, id int64) store.PRRef {
	return store.PRRef{IntegrationID: f.in.ID, RepoID: repo, PRID: id}
}

func newFixture(t *testing.T, db *store.DB, name string) fixture {
	t.Helper()
	ws, err := db.EnsureWorkspace(ctx, name, t0)
	must(t, err)
	u, err := db.CreateUser(ctx, store.User{WorkspaceID: ws.ID, Email: name + "@example.com", PasswordHash: "h", Role: store.RoleAdmin, CreatedAt: t0})
	must(t, err)
	in, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: ws.ID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/" + name, Deployment: "services", TokenSealed: "sealed-token",
		TokenHint: "…abcd", WebhookSecretSealed: "sealed-secret", CreatedAt: t0, UpdatedAt: t0})
	must(t, err)
	return fixture{ws: ws, user: u, in: in, key: store.Key{IntegrationID: in.ID, WorkspaceID: ws.ID}}
}

func testMigrations(t *testing.T, db *store.DB) {
	must(t, db.Migrate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))))
	ok, err := db.MigrationsCurrent(ctx)
	must(t, err)
	eq(t, "migrations current", ok, true)
	must(t, db.Ping(ctx))
}

func testWorkspaces(t *testing.T, db *store.DB) {
	a, err := db.EnsureWorkspace(ctx, "acme", t0)
	must(t, err)
	again, err := db.EnsureWorkspace(ctx, "acme", t0.Add(time.Hour))
	must(t, err)
	eq(t, "same workspace", again.ID, a.ID)
	eq(t, "created_at kept", again.CreatedAt.Equal(t0), true)
	got, err := db.GetWorkspace(ctx, a.ID)
	must(t, err)
	eq(t, "name", got.Name, "acme")
	_, err = db.GetWorkspace(ctx, "missing")
	wantKind(t, err, delivery.KindNotFound)
}

func testUsers(t *testing.T, db *store.DB) {
	ws, err := db.EnsureWorkspace(ctx, "acme", t0)
	must(t, err)
	n, err := db.CountUsers(ctx)
	must(t, err)
	eq(t, "no users", n, 0)
	u, err := db.CreateUser(ctx, store.User{WorkspaceID: ws.ID, Email: " Ann@Example.com ", PasswordHash: "h1", Role: store.RoleAdmin, CreatedAt: t0})
	must(t, err)
	eq(t, "email normalized", u.Email, "ann@example.com")
	_, err = db.CreateUser(ctx, store.User{WorkspaceID: ws.ID, Email: "ANN@example.com", PasswordHash: "h", Role: store.RoleMember, CreatedAt: t0})
	wantKind(t, err, delivery.KindConflict)
	_, err = db.CreateUser(ctx, store.User{WorkspaceID: ws.ID, Email: "bob@example.com", PasswordHash: "h", Role: store.RoleMember, CreatedAt: t0})
	must(t, err)
	got, err := db.GetUserByEmail(ctx, "ANN@EXAMPLE.COM")
	must(t, err)
	eq(t, "by email", got.ID, u.ID)
	eq(t, "role", got.Role, store.RoleAdmin)
	must(t, db.SetUserPassword(ctx, u.ID, "h2"))
	got, err = db.GetUser(ctx, u.ID)
	must(t, err)
	eq(t, "password replaced", got.PasswordHash, "h2")
	wantKind(t, db.SetUserPassword(ctx, "missing", "h"), delivery.KindNotFound)
	_, err = db.GetUser(ctx, "missing")
	wantKind(t, err, delivery.KindNotFound)
	list, err := db.ListUsers(ctx, ws.ID)
	must(t, err)
	eq(t, "listed", len(list), 2)
	eq(t, "ordered by email", list[0].Email, "ann@example.com")
	n, err = db.CountUsers(ctx)
	must(t, err)
	eq(t, "count", n, 2)
}

func testSessions(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	must(t, db.CreateSession(ctx, store.Session{TokenHash: "s1", UserID: f.user.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}))
	must(t, db.CreateSession(ctx, store.Session{TokenHash: "s2", UserID: f.user.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute), LastSeenAt: t0}))
	s, u, err := db.GetSession(ctx, "s1", t0.Add(time.Minute))
	must(t, err)
	eq(t, "session user", u.ID, f.user.ID)
	eq(t, "expiry", s.ExpiresAt.Equal(t0.Add(time.Hour)), true)
	_, _, err = db.GetSession(ctx, "s1", t0.Add(2*time.Hour))
	wantKind(t, err, delivery.KindNotFound)
	must(t, db.TouchSession(ctx, "s1", t0.Add(30*time.Minute), t0.Add(3*time.Hour)))
	_, _, err = db.GetSession(ctx, "s1", t0.Add(2*time.Hour))
	must(t, err)
	n, err := db.DeleteExpiredSessions(ctx, t0.Add(time.Hour))
	must(t, err)
	eq(t, "expired removed", n, int64(1))
	must(t, db.DeleteSession(ctx, "s1"))
	_, _, err = db.GetSession(ctx, "s1", t0)
	wantKind(t, err, delivery.KindNotFound)
	must(t, db.CreateSession(ctx, store.Session{TokenHash: "s3", UserID: f.user.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}))
	must(t, db.DeleteUserSessions(ctx, f.user.ID))
	_, _, err = db.GetSession(ctx, "s3", t0)
	wantKind(t, err, delivery.KindNotFound)
}

func testAPITokens(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	tok, err := db.CreateAPIToken(ctx, store.APIToken{UserID: f.user.ID, Name: "ci", TokenHash: "th1", CreatedAt: t0})
	must(t, err)
	_, err = db.CreateAPIToken(ctx, store.APIToken{UserID: f.user.ID, Name: "ci", TokenHash: "th2", CreatedAt: t0})
	wantKind(t, err, delivery.KindConflict)
	got, u, err := db.GetAPITokenUser(ctx, "th1")
	must(t, err)
	eq(t, "token id", got.ID, tok.ID)
	eq(t, "token user", u.Email, f.user.Email)
	eq(t, "never used", got.LastUsedAt == nil, true)
	must(t, db.TouchAPIToken(ctx, tok.ID, t0.Add(time.Minute)))
	list, err := db.ListAPITokens(ctx, f.user.ID)
	must(t, err)
	eq(t, "one token", len(list), 1)
	eq(t, "last used", list[0].LastUsedAt != nil && list[0].LastUsedAt.Equal(t0.Add(time.Minute)), true)
	wantKind(t, db.DeleteAPIToken(ctx, other.user.ID, tok.ID), delivery.KindNotFound)
	must(t, db.DeleteAPIToken(ctx, f.user.ID, tok.ID))
	_, _, err = db.GetAPITokenUser(ctx, "th1")
	wantKind(t, err, delivery.KindNotFound)
}

func testIntegrations(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	_, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: f.ws.ID, Provider: "azure-devops", OrgURL: f.in.OrgURL,
		TokenSealed: "x", WebhookSecretSealed: "y", CreatedAt: t0, UpdatedAt: t0})
	wantKind(t, err, delivery.KindConflict)
	got, err := db.GetIntegration(ctx, f.ws.ID, f.in.ID)
	must(t, err)
	eq(t, "settings default", got.Settings, "{}")
	eq(t, "token hint", got.TokenHint, "…abcd")
	_, err = db.GetIntegration(ctx, other.ws.ID, f.in.ID)
	wantKind(t, err, delivery.KindNotFound)
	byID, err := db.GetIntegrationByID(ctx, f.in.ID)
	must(t, err)
	eq(t, "by id", byID.WorkspaceID, f.ws.ID)
	list, err := db.ListIntegrations(ctx, f.ws.ID, "azure-devops")
	must(t, err)
	eq(t, "listed", len(list), 1)
	list, err = db.ListIntegrations(ctx, f.ws.ID, "gitlab")
	must(t, err)
	eq(t, "other provider", len(list), 0)
	must(t, db.SetIntegrationError(ctx, f.in.ID, "The PAT is invalid", "Re-generate it", t0))
	got, err = db.GetIntegration(ctx, f.ws.ID, f.in.ID)
	must(t, err)
	eq(t, "error recorded", got.ErrorMessage+"|"+got.ErrorHint, "The PAT is invalid|Re-generate it")
	must(t, db.UpdateIntegrationToken(ctx, f.ws.ID, f.in.ID, store.TokenUpdate{Sealed: "sealed-2", Hint: "…wxyz",
		Account: "Bot", AccountID: "bot-id", Scopes: `{"code_read":"granted"}`}, t0.Add(time.Hour)))
	wantKind(t, db.UpdateIntegrationToken(ctx, other.ws.ID, f.in.ID, store.TokenUpdate{Sealed: "x"}, t0), delivery.KindNotFound)
	must(t, db.UpdateIntegrationDeployment(ctx, f.in.ID, `{"web":"https://github.example.com"}`, "3.19"))
	wantKind(t, db.UpdateIntegrationDeployment(ctx, "missing", "{}", ""), delivery.KindNotFound)
	must(t, db.MarkIntegrationSynced(ctx, f.in.ID, t0.Add(2*time.Hour)))
	wantKind(t, db.MarkIntegrationSynced(ctx, "missing", t0), delivery.KindNotFound)
	must(t, db.UpdateIntegrationSettings(ctx, f.ws.ID, f.in.ID, `{"post_comments":true}`, t0.Add(time.Hour)))
	must(t, db.ResealIntegration(ctx, f.in.ID, "sealed-3", "secret-3"))
	got, err = db.GetIntegration(ctx, f.ws.ID, f.in.ID)
	must(t, err)
	eq(t, "token resealed", got.TokenSealed, "sealed-3")
	eq(t, "secret resealed", got.WebhookSecretSealed, "secret-3")
	eq(t, "hint", got.TokenHint, "…wxyz")
	eq(t, "settings", got.Settings, `{"post_comments":true}`)
	eq(t, "updated", got.UpdatedAt.Equal(t0.Add(time.Hour)), true)
	eq(t, "new token clears the error", got.ErrorMessage, "")
	eq(t, "account", got.Account+"/"+got.AccountID, "Bot/bot-id")
	eq(t, "scopes", got.Scopes, `{"code_read":"granted"}`)
	eq(t, "deployment", got.Deployment+" "+got.ServerVersion, `{"web":"https://github.example.com"} 3.19`)
	eq(t, "last sync", got.LastSyncAt != nil && got.LastSyncAt.Equal(t0.Add(2*time.Hour)), true)

	hook := store.HookSubscription{Key: f.key, SubscriptionID: "s1", ProjectID: "p1", EventType: "git.push", Status: "enabled", CheckedAt: t0}
	must(t, db.UpsertHookSubscription(ctx, hook))
	hook.Status = "onProbation"
	must(t, db.UpsertHookSubscription(ctx, hook))
	must(t, db.UpsertHookSubscription(ctx, store.HookSubscription{Key: f.key, SubscriptionID: "s2", ProjectID: "p2", EventType: "workitem.updated", Status: "enabled", CheckedAt: t0}))
	hooks, err := db.ListHookSubscriptions(ctx, f.key, "p1")
	must(t, err)
	eq(t, "one hook in p1", len(hooks) == 1 && hooks[0].Status == "onProbation", true)
	hooks, err = db.ListHookSubscriptions(ctx, store.Key{IntegrationID: f.in.ID, WorkspaceID: other.ws.ID}, "")
	must(t, err)
	eq(t, "no hooks across workspaces", len(hooks), 0)
	must(t, db.DeleteHookSubscription(ctx, f.in.ID, "s1"))
	hooks, err = db.ListHookSubscriptions(ctx, f.key, "")
	must(t, err)
	eq(t, "deleted", len(hooks) == 1 && hooks[0].SubscriptionID == "s2", true)
	all, err := db.ListAllIntegrations(ctx)
	must(t, err)
	eq(t, "all", len(all), 2)
	must(t, db.UpsertProject(ctx, store.Project{Key: f.key, ProjectID: "p1", Name: "P"}))
	wantKind(t, db.DeleteIntegration(ctx, other.ws.ID, f.in.ID), delivery.KindNotFound)
	must(t, db.DeleteIntegration(ctx, f.ws.ID, f.in.ID))
	_, err = db.GetIntegrationByID(ctx, f.in.ID)
	wantKind(t, err, delivery.KindNotFound)
	projects, err := db.ListProjects(ctx, f.key, false)
	must(t, err)
	eq(t, "projects cascade", len(projects), 0)
}

func testProjects(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	for _, name := range []string{"Zeta", "Alpha"} {
		must(t, db.UpsertProject(ctx, store.Project{Key: f.key, ProjectID: "id-" + name, Name: name, State: "wellFormed",
			Visibility: "private", LastUpdateTime: ptr(t0)}))
	}
	must(t, db.SetProjectSelected(ctx, f.key, "id-Zeta", true, t0))
	must(t, db.UpsertProject(ctx, store.Project{Key: f.key, ProjectID: "id-Zeta", Name: "Zeta renamed"}))
	wantKind(t, db.SetProjectSelected(ctx, f.key, "missing", true, t0), delivery.KindNotFound)
	all, err := db.ListProjects(ctx, f.key, false)
	must(t, err)
	eq(t, "two projects", len(all), 2)
	eq(t, "by name", all[0].Name, "Alpha")
	sel, err := db.ListProjects(ctx, f.key, true)
	must(t, err)
	eq(t, "one selected", len(sel), 1)
	eq(t, "rename kept selection", sel[0].Name, "Zeta renamed")
	eq(t, "selected at", sel[0].SelectedAt != nil && sel[0].SelectedAt.Equal(t0), true)
	one, err := db.GetProject(ctx, f.key, "id-Zeta")
	must(t, err)
	eq(t, "get selected", one.Selected, true)
	_, err = db.GetProject(ctx, f.key, "missing")
	wantKind(t, err, delivery.KindNotFound)
	eq(t, "not collected yet", one.CollectedSince == nil, true)
	// Collected-since only moves back: a later backfill keeps the first.
	must(t, db.NoteCollectedSince(ctx, f.key, "id-Zeta", t0.AddDate(0, 0, -30)))
	must(t, db.NoteCollectedSince(ctx, f.key, "id-Zeta", t0.AddDate(0, 0, -1)))
	one, err = db.GetProject(ctx, f.key, "id-Zeta")
	must(t, err)
	eq(t, "collected since the first backfill", one.CollectedSince != nil && one.CollectedSince.Equal(t0.AddDate(0, 0, -30)), true)
	must(t, db.NoteCollectedSince(ctx, f.key, "id-Zeta", t0.AddDate(0, 0, -90)))
	one, err = db.GetProject(ctx, f.key, "id-Zeta")
	must(t, err)
	eq(t, "an earlier backfill moves it back", one.CollectedSince.Equal(t0.AddDate(0, 0, -90)), true)
	must(t, db.SetProjectSelected(ctx, f.key, "id-Zeta", false, t0))
	sel, err = db.ListProjects(ctx, f.key, true)
	must(t, err)
	eq(t, "deselected", len(sel), 0)
}

func testRepositories(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	must(t, db.UpsertRepository(ctx, store.Repository{Key: f.key, RepoID: "r1", ProjectID: "p1", Name: "api", DefaultBranch: "refs/heads/main"}))
	must(t, db.UpsertRepository(ctx, store.Repository{Key: f.key, RepoID: "r2", ProjectID: "p2", Name: "web"}))
	must(t, db.UpsertRepository(ctx, store.Repository{Key: f.key, RepoID: "r1", ProjectID: "p1", Name: "api-renamed", IsDisabled: true}))
	repos, err := db.ListRepositories(ctx, f.ws.ID, "p1")
	must(t, err)
	eq(t, "one in p1", len(repos), 1)
	eq(t, "renamed", repos[0].Name, "api-renamed")
	eq(t, "disabled", repos[0].IsDisabled, true)
	all, err := db.ListRepositories(ctx, f.ws.ID, "")
	must(t, err)
	eq(t, "all", len(all), 2)
}

func testCommits(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	c := store.Commit{Key: f.key, RepoID: "r1", SHA: "bbb", ProjectID: "p1", AuthorName: "Ann", AuthorEmail: "ann@x",
		AuthorDate: t0, CommitterDate: t0.Add(time.Minute), Message: "Fix #12", Adds: 1, Edits: 2, Deletes: 3,
		Parents: []string{"aaa", "ccc"}}
	must(t, db.UpsertCommit(ctx, c))
	must(t, db.UpsertCommit(ctx, c))
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r1", SHA: "aaa", ProjectID: "p1", AuthorDate: t0.Add(-48 * time.Hour), CommitterDate: t0.Add(-48 * time.Hour)}))
	got, err := db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, ProjectID: "p1", From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
	must(t, err)
	eq(t, "one commit in window", len(got), 1)
	eq(t, "message", got[0].Message, "Fix #12")
	eq(t, "counts", got[0].Adds+got[0].Edits+got[0].Deletes, 6)
	eq(t, "author date", got[0].AuthorDate.Equal(t0), true)
	eq(t, "parents in order", len(got[0].Parents) == 2 && got[0].Parents[0] == "aaa" && got[0].Parents[1] == "ccc", true)
	all, err := db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, RepoID: "r1"})
	must(t, err)
	eq(t, "two commits", len(all), 2)
	eq(t, "newest first", all[0].SHA, "bbb")
	page, err := db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, Limit: 1})
	must(t, err)
	eq(t, "first page", len(page) == 1 && page[0].SHA == "bbb", true)
	page, err = db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, Limit: 1, After: ptr(page[0].Cursor())})
	must(t, err)
	eq(t, "second page", len(page) == 1 && page[0].SHA == "aaa", true)
	page, err = db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, Limit: 1, After: ptr(page[0].Cursor())})
	must(t, err)
	eq(t, "past the end", len(page), 0)
	parents, err := db.CommitParents(ctx, f.in.ID, "r1", "aaa")
	must(t, err)
	eq(t, "root has no parents", len(parents), 0)
}

func testPullRequests(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	pr := store.PullRequest{Key: f.key, PRID: 7, ProjectID: "p1", RepoID: "r1", Title: "Add login #12", Status: "active",
		IsDraft: true, AuthorID: "u1", AuthorName: "Ann", CreatedAt: t0, ProviderUpdatedAt: t0}
	wrote, err := db.UpsertPullRequest(ctx, pr)
	must(t, err)
	eq(t, "first write", wrote, true)
	newer := pr
	newer.IsDraft, newer.Status, newer.PublishedAt = false, "completed", ptr(t0.Add(time.Hour))
	newer.ClosedAt, newer.MergeCommit, newer.ProviderUpdatedAt = ptr(t0.Add(5*time.Hour)), "m1", t0.Add(5*time.Hour)
	wrote, err = db.UpsertPullRequest(ctx, newer)
	must(t, err)
	eq(t, "newer written", wrote, true)
	older := pr
	older.Title, older.ProviderUpdatedAt = "stale", t0.Add(time.Minute)
	wrote, err = db.UpsertPullRequest(ctx, older)
	must(t, err)
	eq(t, "older ignored", wrote, false)
	got, err := db.GetPullRequest(ctx, f.ws.ID, pr.Ref())
	must(t, err)
	eq(t, "status", got.Status, "completed")
	eq(t, "title kept", got.Title, "Add login #12")
	eq(t, "merge commit", got.MergeCommit, "m1")
	eq(t, "published", got.PublishedAt != nil && got.PublishedAt.Equal(t0.Add(time.Hour)), true)
	eq(t, "closed", got.ClosedAt != nil && got.ClosedAt.Equal(t0.Add(5*time.Hour)), true)
	_, err = db.GetPullRequest(ctx, f.ws.ID, store.PRRef{IntegrationID: f.in.ID, RepoID: "r1", PRID: 8})
	wantKind(t, err, delivery.KindNotFound)

	for range 2 { // every child write converges
		must(t, db.UpsertReviewer(ctx, pr.Ref(), store.Reviewer{ReviewerID: "u2", DisplayName: "Bob", Vote: 10, VotedAt: ptr(t0.Add(2 * time.Hour))}))
		must(t, db.UpsertComment(ctx, pr.Ref(), store.Comment{ThreadID: 1, CommentID: 1, AuthorID: "u2", CommentType: "text", PublishedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}))
		must(t, db.AddPRCommit(ctx, pr.Ref(), "bbb", nil))
		must(t, db.AddPRWorkItem(ctx, pr.Ref(), store.WorkItemRef{ID: 12}))
	}
	must(t, db.UpsertReviewer(ctx, pr.Ref(), store.Reviewer{ReviewerID: "u2", DisplayName: "Bob", Vote: 10, VotedAt: ptr(t0.Add(9 * time.Hour))}))
	must(t, db.UpsertReviewer(ctx, pr.Ref(), store.Reviewer{ReviewerID: "u2", DisplayName: "Bob", Vote: 5}))
	must(t, db.UpsertComment(ctx, pr.Ref(), store.Comment{ThreadID: 1, CommentID: 1, AuthorID: "u2", IsDeleted: true, PublishedAt: t0.Add(time.Hour), UpdatedAt: t0}))
	d, err := db.GetPRDetails(ctx, pr.Ref())
	must(t, err)
	eq(t, "one reviewer", len(d.Reviewers), 1)
	eq(t, "vote updated", d.Reviewers[0].Vote, 5)
	eq(t, "vote time kept while the vote is unchanged", d.Reviewers[0].VotedAt != nil && d.Reviewers[0].VotedAt.Equal(t0.Add(2*time.Hour)), true)
	must(t, db.UpsertReviewer(ctx, pr.Ref(), store.Reviewer{ReviewerID: "u2", DisplayName: "Bob", Vote: -5, VotedAt: ptr(t0.Add(10 * time.Hour))}))
	d, err = db.GetPRDetails(ctx, pr.Ref())
	must(t, err)
	eq(t, "a changed vote takes its new time", d.Reviewers[0].VotedAt.Equal(t0.Add(10*time.Hour)), true)
	eq(t, "one comment", len(d.Comments), 1)
	eq(t, "older comment edit ignored", d.Comments[0].IsDeleted, false)
	eq(t, "one commit", len(d.Commits) == 1 && d.Commits[0] == "bbb", true)
	eq(t, "no author date reported yet", d.FirstCommitAt == nil, true)
	must(t, db.AddPRCommit(ctx, pr.Ref(), "bbb", ptr(t0.Add(-48*time.Hour)))) // read with includeCommits
	must(t, db.AddPRCommit(ctx, pr.Ref(), "bbb", nil))                        // a webhook lists ids only
	must(t, db.AddPRCommit(ctx, pr.Ref(), "ccc", ptr(t0.Add(-time.Hour))))
	d, err = db.GetPRDetails(ctx, pr.Ref())
	must(t, err)
	eq(t, "the earliest reported author date, kept through a webhook", d.FirstCommitAt != nil && d.FirstCommitAt.Equal(t0.Add(-48*time.Hour)), true)
	eq(t, "one work item", len(d.WorkItems) == 1 && d.WorkItems[0] == store.WorkItemRef{ID: 12}, true)
	list, err := db.ListPullRequests(ctx, store.Filter{WorkspaceID: f.ws.ID, RepoID: "r1", From: t0, To: t0.Add(time.Second)})
	must(t, err)
	eq(t, "listed", len(list), 1)
}

func testPipelineRuns(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	run := store.PipelineRun{Key: f.key, RunID: 100, ProjectID: "p1", DefinitionID: 3, DefinitionName: "deploy-api",
		RepoID: "r1", SourceBranch: "refs/heads/main", SourceVersion: "bbb", Status: "inProgress", QueuedAt: ptr(t0),
		StartedAt: ptr(t0.Add(time.Minute)), Stages: []store.Stage{{RecordID: "s1", Name: "Build", State: "completed", Result: "succeeded"}}}
	must(t, db.UpsertPipelineRun(ctx, run))
	run.Status, run.Result, run.FinishedAt = "completed", "succeeded", ptr(t0.Add(10*time.Minute))
	run.Stages = append(run.Stages, store.Stage{RecordID: "s2", Name: "Deploy production", State: "completed", Result: "skipped"})
	must(t, db.UpsertPipelineRun(ctx, run))
	runs, err := db.ListPipelineRuns(ctx, store.Filter{WorkspaceID: f.ws.ID, From: t0, To: t0.Add(time.Hour)})
	must(t, err)
	eq(t, "one run", len(runs), 1)
	eq(t, "result", runs[0].Result, "succeeded")
	eq(t, "finished", runs[0].FinishedAt != nil && runs[0].FinishedAt.Equal(t0.Add(10*time.Minute)), true)
	eq(t, "two stages", len(runs[0].Stages), 2)
	one, err := db.PipelineRun(ctx, f.in.ID, 100)
	must(t, err)
	eq(t, "one run by id, with its stages", one.Result == "succeeded" && len(one.Stages) == 2, true)
	if _, err := db.PipelineRun(ctx, f.in.ID, 101); !delivery.IsNotFound(err) {
		t.Fatalf("a missing run: %v, want not found", err)
	}
}

func testDeployments(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "env:1", ProjectID: "p1", Source: "environment",
		RepoID: "r1", Environment: "production", IsProduction: true, Result: "succeeded", RunID: 100, SHA: "bbb",
		StartedAt: ptr(t0), FinishedAt: ptr(t0.Add(time.Hour))}))
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "env:2", ProjectID: "p1", Source: "environment",
		Environment: "staging", Result: "failed", FinishedAt: ptr(t0.Add(2 * time.Hour))}))
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "env:1", ProjectID: "p1", Source: "environment",
		RepoID: "r1", Environment: "production", IsProduction: true, Result: "failed", RunID: 100, SHA: "bbb",
		StartedAt: ptr(t0), FinishedAt: ptr(t0.Add(time.Hour))}))
	err := db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "bad", ProjectID: "p1", Source: "teleport"})
	if err == nil {
		t.Fatal("an unknown deployment source must be refused by the schema")
	}
	prod, err := db.ListDeployments(ctx, store.Filter{WorkspaceID: f.ws.ID}, true)
	must(t, err)
	eq(t, "one production", len(prod), 1)
	eq(t, "latest result", prod[0].Result, "failed")
	all, err := db.ListDeployments(ctx, store.Filter{WorkspaceID: f.ws.ID}, false)
	must(t, err)
	eq(t, "two deployments", len(all), 2)
	eq(t, "newest first", all[0].DeploymentKey, "env:2")
	ofRun, err := db.RunDeployments(ctx, f.in.ID, 100)
	must(t, err)
	eq(t, "the run's deployments", len(ofRun) == 1 && ofRun[0].DeploymentKey == "env:1", true)
}

func testWorkItems(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	w := store.WorkItem{Key: f.key, WorkItemID: 12, ProjectID: "p1", Rev: 2, Type: "Bug", Title: "Crash", State: "Active",
		StateCategory: "InProgress", Tags: "incident; api", AreaPath: "P\\API", CreatedAt: t0, ChangedAt: t0.Add(time.Hour)}
	wrote, err := db.UpsertWorkItem(ctx, w)
	must(t, err)
	eq(t, "written", wrote, true)
	stale := w
	stale.Rev, stale.State = 1, "New"
	wrote, err = db.UpsertWorkItem(ctx, stale)
	must(t, err)
	eq(t, "older revision ignored", wrote, false)
	w.Rev, w.State, w.StateCategory, w.ResolvedAt = 3, "Resolved", "Resolved", ptr(t0.Add(3*time.Hour))
	_, err = db.UpsertWorkItem(ctx, w)
	must(t, err)
	items, err := db.ListWorkItems(ctx, store.Filter{WorkspaceID: f.ws.ID, ProjectID: "p1"})
	must(t, err)
	eq(t, "one item", len(items), 1)
	eq(t, "state", items[0].State, "Resolved")
	eq(t, "resolved", items[0].ResolvedAt != nil, true)
	eq(t, "not deleted", items[0].IsDeleted, false)
	kept := w // a later revision without the date, still resolved: the first time stays
	kept.Rev, kept.ResolvedAt, kept.Title = 4, nil, "Crash on start"
	_, err = db.UpsertWorkItem(ctx, kept)
	must(t, err)
	items, err = db.ListWorkItems(ctx, store.Filter{WorkspaceID: f.ws.ID, ProjectID: "p1"})
	must(t, err)
	eq(t, "resolution kept", items[0].ResolvedAt != nil && items[0].ResolvedAt.Equal(t0.Add(3*time.Hour)), true)
	reopened := kept // back to Active: no longer resolved
	reopened.Rev, reopened.State, reopened.StateCategory = 5, "Active", "InProgress"
	_, err = db.UpsertWorkItem(ctx, reopened)
	must(t, err)
	items, err = db.ListWorkItems(ctx, store.Filter{WorkspaceID: f.ws.ID, ProjectID: "p1"})
	must(t, err)
	eq(t, "reopened", items[0].ResolvedAt == nil, true)
	w.Rev, w.IsDeleted = 6, true
	_, err = db.UpsertWorkItem(ctx, w)
	must(t, err)
	items, err = db.ListWorkItems(ctx, store.Filter{WorkspaceID: f.ws.ID, ProjectID: "p1"})
	must(t, err)
	eq(t, "deleted flag", items[0].IsDeleted, true)
	for range 2 {
		must(t, db.AddWorkItemLink(ctx, store.WorkItemLink{Key: f.key, WorkItemID: 12, TargetKind: "commit", TargetID: "r1:bbb", Origin: "mention"}))
	}
	must(t, db.AddWorkItemLink(ctx, store.WorkItemLink{Key: f.key, WorkItemID: 12, TargetKind: "pull_request", TargetID: "r1:7", Origin: "pr_ref"}))
	links, err := db.ListWorkItemLinks(ctx, f.ws.ID, f.in.ID, store.WorkItemRef{ID: 12})
	must(t, err)
	eq(t, "two links", len(links), 2)
	eq(t, "commit first", links[0].TargetKind, "commit")
}

func testInbox(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	e := store.InboxEvent{Key: f.key, EventID: "ev-1", EventType: "git.push", Payload: `{"id":"ev-1"}`, ReceivedAt: t0}
	isNew, err := db.InsertInboxEvent(ctx, e)
	must(t, err)
	eq(t, "new", isNew, true)
	isNew, err = db.InsertInboxEvent(ctx, e)
	must(t, err)
	eq(t, "duplicate is a no-op", isNew, false)
	got, err := db.GetInboxEvent(ctx, f.in.ID, "ev-1")
	must(t, err)
	eq(t, "pending", got.Status, "pending")
	eq(t, "payload", got.Payload, e.Payload)
	must(t, db.MarkInboxEvent(ctx, f.in.ID, "ev-1", "processed", "", t0.Add(time.Second)))
	wantKind(t, db.MarkInboxEvent(ctx, f.in.ID, "missing", "processed", "", t0), delivery.KindNotFound)
	_, err = db.InsertInboxEvent(ctx, store.InboxEvent{Key: f.key, EventID: "ev-2", EventType: "x", Payload: "{}", ReceivedAt: t0})
	must(t, err)
	counts, err := db.CountInboxByStatus(ctx, f.in.ID)
	must(t, err)
	eq(t, "processed", counts["processed"], 1)
	eq(t, "pending", counts["pending"], 1)

	// Draining: pending ones oldest first, claimed once.
	_, err = db.InsertInboxEvent(ctx, store.InboxEvent{Key: f.key, EventID: "ev-0", EventType: "x", Payload: "{}", ReceivedAt: t0.Add(-time.Minute)})
	must(t, err)
	pending, err := db.PendingInboxEvents(ctx, f.in.ID, 10)
	must(t, err)
	eq(t, "two pending", len(pending), 2)
	eq(t, "oldest first", pending[0].EventID, "ev-0")
	listed, err := db.ListInboxEvents(ctx, f.in.ID, []string{"ev-2", "missing", "ev-1", "ev-2"})
	must(t, err)
	eq(t, "listed in the order asked, once each, missing left out", len(listed), 2)
	eq(t, "first listed", listed[0].EventID, "ev-2")
	has, err := db.HasPendingInbox(ctx, f.in.ID)
	must(t, err)
	eq(t, "has pending", has, true)
	stale, err := db.IntegrationsWithStalePending(ctx, t0)
	must(t, err)
	eq(t, "only ev-0 is older than t0", len(stale), 1)
	must(t, db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockIntegrations(ctx, []string{f.in.ID}, true); err != nil {
			return err
		}
		mine, err := tx.ClaimInboxEvent(ctx, f.in.ID, "ev-0", "ignored", "why", t0)
		eq(t, "claimed", mine, true)
		return err
	}))
	again, err := db.ClaimInboxEvent(ctx, f.in.ID, "ev-0", "processed", "", t0)
	must(t, err)
	eq(t, "claimed only once", again, false)
	got, err = db.GetInboxEvent(ctx, f.in.ID, "ev-0")
	must(t, err)
	eq(t, "first claim's outcome kept", got.Status+" "+got.Error, "ignored why")
	must(t, db.LockIntegrations(ctx, []string{f.in.ID}, false))
}

func testWatermarks(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	w := store.Watermark{Key: f.key, ProjectID: "p1", Resource: "commits", Cursor: "r1:page=3", ItemsDone: 300, UpdatedAt: t0}
	must(t, db.SaveWatermark(ctx, w))
	w.Watermark, w.Cursor, w.ItemsDone = ptr(t0), "", 420
	must(t, db.SaveWatermark(ctx, w))
	must(t, db.SaveWatermark(ctx, store.Watermark{Key: f.key, ProjectID: "p1", Resource: "builds", UpdatedAt: t0}))
	list, err := db.ListWatermarks(ctx, f.key)
	must(t, err)
	eq(t, "two", len(list), 2)
	eq(t, "ordered", list[0].Resource, "builds")
	eq(t, "updated", list[1].ItemsDone, int64(420))
	eq(t, "watermark", list[1].Watermark != nil && list[1].Watermark.Equal(t0), true)
}

func testTransactions(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	boom := errors.New("boom")
	err := db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.InsertInboxEvent(ctx, store.InboxEvent{Key: f.key, EventID: "ev-1", EventType: "x", Payload: "{}", ReceivedAt: t0})
		must(t, err)
		return boom
	})
	eq(t, "error returned", errors.Is(err, boom), true)
	_, err = db.GetInboxEvent(ctx, f.in.ID, "ev-1")
	wantKind(t, err, delivery.KindNotFound)
	must(t, db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.InsertInboxEvent(ctx, store.InboxEvent{Key: f.key, EventID: "ev-1", EventType: "x", Payload: "{}", ReceivedAt: t0})
		return err
	}))
	_, err = db.GetInboxEvent(ctx, f.in.ID, "ev-1")
	must(t, err)
}

func testTenantIsolation(t *testing.T, db *store.DB) {
	a := newFixture(t, db, "a")
	b := newFixture(t, db, "b")
	must(t, db.UpsertCommit(ctx, store.Commit{Key: a.key, RepoID: "r", SHA: "s", ProjectID: "p", AuthorDate: t0, CommitterDate: t0}))
	_, err := db.UpsertPullRequest(ctx, store.PullRequest{Key: a.key, PRID: 1, ProjectID: "p", RepoID: "r", Status: "active", CreatedAt: t0, ProviderUpdatedAt: t0})
	must(t, err)
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: a.key, DeploymentKey: "env:1", ProjectID: "p", Source: "environment", FinishedAt: ptr(t0)}))
	_, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: a.key, WorkItemID: 1, ProjectID: "p", CreatedAt: t0, ChangedAt: t0})
	must(t, err)
	must(t, db.UpsertPipelineRun(ctx, store.PipelineRun{Key: a.key, RunID: 1, ProjectID: "p", FinishedAt: ptr(t0)}))
	must(t, db.UpsertRepository(ctx, store.Repository{Key: a.key, RepoID: "r", ProjectID: "p", Name: "r"}))
	fb := store.Filter{WorkspaceID: b.ws.ID}
	commits, err := db.ListCommits(ctx, fb)
	must(t, err)
	prs, err := db.ListPullRequests(ctx, fb)
	must(t, err)
	deps, err := db.ListDeployments(ctx, fb, false)
	must(t, err)
	items, err := db.ListWorkItems(ctx, fb)
	must(t, err)
	runs, err := db.ListPipelineRuns(ctx, fb)
	must(t, err)
	repos, err := db.ListRepositories(ctx, b.ws.ID, "")
	must(t, err)
	eq(t, "B sees none of A", len(commits)+len(prs)+len(deps)+len(items)+len(runs)+len(repos), 0)
	_, err = db.GetPullRequest(ctx, b.ws.ID, a.pr("r", 1))
	wantKind(t, err, delivery.KindNotFound)
	_, err = db.GetIntegration(ctx, b.ws.ID, a.in.ID)
	wantKind(t, err, delivery.KindNotFound)
	wantKind(t, db.SetProjectSelected(ctx, store.Key{IntegrationID: a.in.ID, WorkspaceID: b.ws.ID}, "p", true, t0), delivery.KindNotFound)
	_, err = db.ListProjects(ctx, store.Key{IntegrationID: a.in.ID, WorkspaceID: b.ws.ID}, false)
	must(t, err)
	links, err := db.ListWorkItemLinks(ctx, b.ws.ID, a.in.ID, store.WorkItemRef{ID: 1})
	must(t, err)
	eq(t, "no links across", len(links), 0)
}

// testKeysetPaging pages through rows that share timestamps, one row a
// page, and checks every list visits each row exactly once.
func testKeysetPaging(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	const n = 7
	for i := range n {
		at := t0.Add(time.Duration(i/3) * time.Hour) // three rows per timestamp
		must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: fmt.Sprintf("r%d", i%2), SHA: fmt.Sprintf("s%d", i), ProjectID: "p", AuthorDate: at, CommitterDate: at}))
		_, err := db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: int64(100 - i), ProjectID: "p", RepoID: "r", Status: "active", CreatedAt: at, ProviderUpdatedAt: at})
		must(t, err)
		must(t, db.UpsertPipelineRun(ctx, store.PipelineRun{Key: f.key, RunID: int64(i + 1), ProjectID: "p", FinishedAt: ptr(at)}))
		must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: fmt.Sprintf("env:%d", i), ProjectID: "p", Source: "environment", FinishedAt: ptr(at)}))
		_, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, WorkItemID: int64(i + 1), ProjectID: "p", CreatedAt: at, ChangedAt: at})
		must(t, err)
	}
	pages := map[string]func(after *store.Cursor) ([]string, *store.Cursor){
		"commits": func(after *store.Cursor) ([]string, *store.Cursor) {
			rows, err := db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, Limit: 1, After: after})
			must(t, err)
			if len(rows) == 0 {
				return nil, nil
			}
			return []string{rows[0].SHA}, ptr(rows[0].Cursor())
		},
		"pull requests": func(after *store.Cursor) ([]string, *store.Cursor) {
			rows, err := db.ListPullRequests(ctx, store.Filter{WorkspaceID: f.ws.ID, Limit: 1, After: after})
			must(t, err)
			if len(rows) == 0 {
				return nil, nil
			}
			return []string{fmt.Sprint(rows[0].PRID)}, ptr(rows[0].Cursor())
		},
		"pipeline runs": func(after *store.Cursor) ([]string, *store.Cursor) {
			rows, err := db.ListPipelineRuns(ctx, store.Filter{WorkspaceID: f.ws.ID, Limit: 1, After: after})
			must(t, err)
			if len(rows) == 0 {
				return nil, nil
			}
			return []string{fmt.Sprint(rows[0].RunID)}, ptr(rows[0].Cursor())
		},
		"deployments": func(after *store.Cursor) ([]string, *store.Cursor) {
			rows, err := db.ListDeployments(ctx, store.Filter{WorkspaceID: f.ws.ID, Limit: 1, After: after}, false)
			must(t, err)
			if len(rows) == 0 {
				return nil, nil
			}
			return []string{rows[0].DeploymentKey}, ptr(rows[0].Cursor())
		},
		"work items": func(after *store.Cursor) ([]string, *store.Cursor) {
			rows, err := db.ListWorkItems(ctx, store.Filter{WorkspaceID: f.ws.ID, Limit: 1, After: after})
			must(t, err)
			if len(rows) == 0 {
				return nil, nil
			}
			return []string{fmt.Sprint(rows[0].WorkItemID)}, ptr(rows[0].Cursor())
		},
	}
	for name, page := range pages {
		seen := map[string]bool{}
		var after *store.Cursor
		for range n + 1 {
			ids, next := page(after)
			if next == nil {
				break
			}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("%s: %s seen twice", name, id)
				}
				seen[id] = true
			}
			after = next
		}
		eq(t, name+": every row once", len(seen), n)
	}
}
