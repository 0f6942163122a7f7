package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

var (
	bg = context.Background()
	// t0 is when the integration was created; its 30-day backfill reaches
	// back to 2 October.
	t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// now is the test clock: after the scenario's window.
	now = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
)

func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// world is a workspace with an integration and the scenario's rows.
type world struct {
	db   *store.DB
	ws   store.Workspace
	user store.User
	key  store.Key
}

// newWorld creates a workspace called name with an integration, projects
// Shop (repository web) and Ops (repository api).
func newWorld(t testing.TB, db *store.DB, name string) world {
	t.Helper()
	ws, err := db.EnsureWorkspace(bg, name, t0)
	must(t, err)
	u, err := db.CreateUser(bg, store.User{WorkspaceID: ws.ID, Email: name + "@example.com", PasswordHash: "h", Role: store.RoleAdmin, CreatedAt: t0})
	must(t, err)
	in, err := db.CreateIntegration(bg, store.Integration{WorkspaceID: ws.ID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/" + name, TokenSealed: "x", WebhookSecretSealed: "y", CreatedAt: t0, UpdatedAt: t0})
	must(t, err)
	w := world{db: db, ws: ws, user: u, key: store.Key{IntegrationID: in.ID, WorkspaceID: ws.ID}}
	for _, p := range []struct{ id, name, repo, repoName string }{{"p1", "Shop", "r1", "web"}, {"p2", "Ops", "r2", "api"}} {
		must(t, db.UpsertProject(bg, store.Project{Key: w.key, ProjectID: p.id, Name: p.name}))
		must(t, db.SetProjectSelected(bg, w.key, p.id, true, t0))
		must(t, db.UpsertRepository(bg, store.Repository{Key: w.key, RepoID: p.repo, ProjectID: p.id, Name: p.repoName}))
	}
	return w
}

func (w world) commit(t testing.TB, repo, project, sha string, authored time.Time, parents ...string) {
	t.Helper()
	must(t, w.db.UpsertCommit(bg, store.Commit{Key: w.key, RepoID: repo, SHA: sha, ProjectID: project, AuthorEmail: "ann@x",
		AuthorDate: authored, CommitterDate: authored, Message: "change " + sha, Edits: 2, Parents: parents}))
}

func (w world) deploy(t testing.TB, key, project, repo, env, result, sha string, finished time.Time) {
	t.Helper()
	must(t, w.db.UpsertDeployment(bg, store.Deployment{Key: w.key, DeploymentKey: key, ProjectID: project,
		Source: "environment", RepoID: repo, Environment: env, IsProduction: env == "prod", Result: result, SHA: sha,
		StartedAt: ptr(finished.Add(-10 * time.Minute)), FinishedAt: ptr(finished)}))
}

// scenario writes the hand-computed scenario of the API tests. In the
// window [2 Nov, 16 Nov):
//
//   - successful production deployments d1 (3 Nov), d2 (5 Nov), d4 (6 Nov)
//     in Shop/web and d5 (10 Nov) in Ops/api: n = 4, 2 per week, deploy
//     days 3 + 1 → median 2 per week → high;
//   - lead time: c1 deployed by d1 after 30 min, PR 1 (first commit c2 at
//     3 Nov 10:00) deployed by d2 at 5 Nov 12:00 after 50 h → median 25.25 h;
//   - failures: d3 failed (6 Nov 12:00, recovered by d4 at 14:00: 2 h) and
//     d2 with incident 100 (opened 5 Nov 18:00, resolved 20:00: 8 h from d2)
//     → CFR 2/5 = 0.4 (low), recovery median 5 h (high);
//   - incident 101 in Ops (14 Nov) is unattributed: d5 is four days older;
//   - PR 1: coding 1 h, pickup 2 h, review 23 h, deploy 24 h, cycle 26 h.
//
// The previous window [19 Oct, 2 Nov) holds one deployment (d0, 25 Oct).
func scenario(t testing.TB, w world) {
	t.Helper()
	w.commit(t, "r1", "p1", "c1", at(3, 9))
	w.commit(t, "r1", "p1", "c2", at(3, 10), "c1")
	w.commit(t, "r1", "p1", "m1", at(4, 12), "c2")
	_, err := w.db.UpsertPullRequest(bg, store.PullRequest{Key: w.key, PRID: 1, ProjectID: "p1", RepoID: "r1",
		Title: "Checkout", Status: "completed", AuthorID: "ann", CreatedAt: at(3, 11), ClosedAt: ptr(at(4, 12)),
		MergeCommit: "m1", ProviderUpdatedAt: at(4, 12)})
	must(t, err)
	must(t, w.db.AddPRCommit(bg, store.PRRef{IntegrationID: w.key.IntegrationID, RepoID: "r1", PRID: 1}, "c2", nil))
	must(t, w.db.UpsertComment(bg, store.PRRef{IntegrationID: w.key.IntegrationID, RepoID: "r1", PRID: 1}, store.Comment{ThreadID: 1, CommentID: 1, AuthorID: "bob",
		PublishedAt: at(3, 13), UpdatedAt: at(3, 13)}))
	w.deploy(t, "d0", "p1", "r1", "prod", "succeeded", "old", time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC))
	w.deploy(t, "d1", "p1", "r1", "prod", "succeeded", "c1", at(3, 9).Add(30*time.Minute))
	w.deploy(t, "d2", "p1", "r1", "prod", "succeeded", "m1", at(5, 12))
	w.deploy(t, "d3", "p1", "r1", "prod", "failed", "m1", at(6, 12))
	w.deploy(t, "d4", "p1", "r1", "prod", "succeeded", "m1", at(6, 14))
	w.deploy(t, "d5", "p2", "r2", "prod", "succeeded", "x1", at(10, 8))
	w.deploy(t, "s1", "p1", "r1", "staging", "succeeded", "m1", at(7, 8))
	_, err = w.db.UpsertWorkItem(bg, store.WorkItem{Key: w.key, WorkItemID: 100, ProjectID: "p1", Rev: 2, Type: "Bug",
		Title: "Checkout down", Tags: "incident; checkout", CreatedAt: at(5, 18), ChangedAt: at(5, 20), ResolvedAt: ptr(at(5, 20))})
	must(t, err)
	_, err = w.db.UpsertWorkItem(bg, store.WorkItem{Key: w.key, WorkItemID: 101, ProjectID: "p2", Rev: 1, Type: "Incident",
		Title: "API slow", CreatedAt: at(14, 9), ChangedAt: at(14, 9)})
	must(t, err)
}

// request runs a handler as the member of w, mapping a returned error to
// its status the way the server does.
func request(t testing.TB, h func(http.ResponseWriter, *http.Request) error, w world, target string, header ...string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{User: w.user}))
	rec := httptest.NewRecorder()
	err := h(rec, r)
	if err != nil && delivery.KindOf(err) == delivery.KindInternal {
		t.Fatalf("%s: internal error: %v", target, err)
	}
	return rec, err
}

// processed records a processed webhook event, as the collector does in
// the transaction that writes an event's rows: that is what moves the data
// version for rows other than deployments.
func (w world) processed(t testing.TB, eventID string) {
	t.Helper()
	_, err := w.db.InsertInboxEvent(bg, store.InboxEvent{Key: w.key, EventID: eventID, EventType: "git.push", Payload: "{}", ReceivedAt: now})
	must(t, err)
	must(t, w.db.MarkInboxEvent(bg, w.key.IntegrationID, eventID, "processed", "", now))
}
