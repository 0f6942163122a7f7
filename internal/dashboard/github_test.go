package dashboard

import (
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestGitHubIssuesAsIncidents, on both engines: two GitHub repositories
// (projects) each with an issue #1 labelled incident are two incidents,
// each linked to its own issue page; under the default rule (type Issue —
// an issue without a GitHub issue type — tagged incident) the one opened
// after a production deployment of its repository is attributed to it:
// the change failure rate counts that deployment and the recovery time is
// from its finish to the issue's close. The same issue without the label
// is no incident, and the figures go back.
func TestGitHubIssuesAsIncidents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ws, err := db.EnsureWorkspace(bg, "acme", t0)
		must(t, err)
		u, err := db.CreateUser(bg, store.User{WorkspaceID: ws.ID, Email: "a@example.com", PasswordHash: "h", Role: store.RoleAdmin, CreatedAt: t0})
		must(t, err)
		in, err := db.CreateIntegration(bg, store.Integration{WorkspaceID: ws.ID, Provider: "github", OrgURL: "https://github.com",
			TokenSealed: "x", WebhookSecretSealed: "y", CreatedAt: t0, UpdatedAt: t0})
		must(t, err)
		w := world{db: db, ws: ws, user: u, key: store.Key{IntegrationID: in.ID, WorkspaceID: ws.ID}}
		for _, r := range []struct{ id, name string }{{"101", "octo/shop"}, {"102", "octo/ops"}} {
			must(t, db.UpsertProject(bg, store.Project{Key: w.key, ProjectID: r.id, Name: r.name}))
			must(t, db.SetProjectSelected(bg, w.key, r.id, true, t0))
			must(t, db.UpsertRepository(bg, store.Repository{Key: w.key, RepoID: r.id, ProjectID: r.id, Name: r.name}))
		}
		w.commit(t, "101", "101", "c1", at(4, 9))
		w.deploy(t, "gh:1", "101", "101", "prod", "succeeded", "c1", at(5, 8))
		issue := func(repo string, opened time.Time, closed *time.Time, rev int, tags string) {
			t.Helper()
			item := store.WorkItem{Key: w.key, Container: repo, WorkItemID: 1, ProjectID: repo, Rev: rev, Type: "Issue",
				Title: "Down in " + repo, State: "open", StateCategory: "Proposed", Tags: tags, CreatedAt: opened, ChangedAt: opened}
			if closed != nil {
				item.State, item.StateCategory, item.ClosedAt, item.ChangedAt = "closed", "Completed", closed, *closed
			}
			_, err := db.UpsertWorkItem(bg, item)
			must(t, err)
			w.processed(t, "issue-"+repo+"-"+tags+"-"+opened.String())
		}
		issue("101", at(5, 10), ptr(at(5, 14)), 1, "incident")
		issue("102", at(8, 10), nil, 1, "bug; Incident")
		h := New(db, clock, Config{})
		defer h.Close()

		rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?view=incidents&"+window)
		must(t, err)
		inc := decodeJSON[struct {
			Items []IncidentRow `json:"items"`
		}](t, rec.Body.String())
		urls := map[string]string{}
		for _, it := range inc.Items {
			if it.WorkItem == 1 {
				urls[it.Project] = it.WebURL
			}
		}
		if len(inc.Items) != 2 || urls["101"] != "https://github.com/octo/shop/issues/1" || urls["102"] != "https://github.com/octo/ops/issues/1" {
			t.Fatalf("incidents: %s", rec.Body.String())
		}
		dora := func() DORAReport {
			t.Helper()
			rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window)
			must(t, err)
			return decodeJSON[DORAReport](t, rec.Body.String())
		}
		d := dora()
		if d.ChangeFailureRate.WithIncident != 1 || d.ChangeFailureRate.Value == nil || *d.ChangeFailureRate.Value != 1 ||
			d.Recovery.N != 1 || d.Recovery.Median == nil || *d.Recovery.Median != (6*time.Hour).Seconds() {
			t.Fatalf("with the GitHub incident attributed: CFR %+v, recovery %+v", d.ChangeFailureRate, d.Recovery)
		}
		// Unlabelled: no incident, no failure.
		issue("101", at(5, 10), ptr(at(5, 14)), 2, "")
		if d := dora(); d.ChangeFailureRate.WithIncident != 0 || d.Recovery.N != 0 {
			t.Fatalf("without the label: CFR %+v, recovery %+v", d.ChangeFailureRate, d.Recovery)
		}
	})
}
