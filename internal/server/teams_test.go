package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// teamData gives the acme workspace of f an integration with two
// repositories and two PR authors.
func teamData(t *testing.T, f peopleFixture) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	in, err := f.db.CreateIntegration(ctx, store.Integration{WorkspaceID: f.admin.WorkspaceID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/acme", TokenSealed: "x", WebhookSecretSealed: "y", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	key := store.Key{IntegrationID: in.ID, WorkspaceID: f.admin.WorkspaceID}
	for _, r := range []store.Repository{{Key: key, RepoID: "r1", ProjectID: "p1", Name: "api"}, {Key: key, RepoID: "r2", ProjectID: "p1", Name: "web"}} {
		if err := f.db.UpsertRepository(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range []struct{ id, name string }{{"u-ann", "Ann Lee"}, {"u-bob", "Bob"}} {
		if _, err := f.db.UpsertPullRequest(ctx, store.PullRequest{Key: key, PRID: int64(i + 1), ProjectID: "p1", RepoID: "r1",
			Status: "active", AuthorID: a.id, AuthorName: a.name, CreatedAt: t0, ProviderUpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
}

type teamJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Members []struct {
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
	} `json:"members"`
	Repositories []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"repositories"`
}

func TestTeamsAPI(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		f := newPeopleOn(t, db)
		teamData(t, f)
		want := func(what string, code int, body string, status int, contains string) {
			t.Helper()
			if code != status || !strings.Contains(body, contains) {
				t.Fatalf("%s: %d %s, want %d with %q", what, code, body, status, contains)
			}
		}
		count := func() int {
			t.Helper()
			code, body := f.call(t, "GET", "/api/v1/teams", f.memberTok, "")
			var v struct{ Teams []teamJSON }
			if code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil {
				t.Fatalf("list: %d %s", code, body)
			}
			return len(v.Teams)
		}

		code, body := f.call(t, "GET", "/api/v1/teams/people", f.memberTok, "")
		want("people", code, body, http.StatusOK, `"display_name":"Ann Lee"`)

		code, body = f.call(t, "POST", "/api/v1/teams", f.adminTok,
			`{"name":" Payments ","members":[{"id":"u-ann"}],"repositories":[{"id":"r2"}]}`)
		want("create", code, body, http.StatusCreated, `"name":"Payments"`)
		var team teamJSON
		if err := json.Unmarshal([]byte(body), &team); err != nil {
			t.Fatal(err)
		}
		if len(team.Members) != 1 || team.Members[0].DisplayName != "Ann Lee" || len(team.Repositories) != 1 || team.Repositories[0].Name != "web" {
			t.Fatalf("created team: %+v", team)
		}

		// Validation: each refused, nothing created.
		for _, c := range []struct{ body, want string }{
			{`{"name":"PAYMENTS"}`, `a team named \"PAYMENTS\" already exists`},
			{`{"name":""}`, "the team name is empty"},
			{`{}`, "the team has no name"},
			{`{"name":"` + strings.Repeat("x", 81) + `"}`, "81 characters long"},
			{`{"name":"a\u0007b"}`, "control character"},
			{`{"name":"Ops","members":[{"id":"nobody"}]}`, "is not a person seen in this workspace's data"},
			{`{"name":"Ops","repositories":[{"id":"r9"}]}`, "is not a repository of this workspace"},
			{`{"name":"Ops","colour":"red"}`, "the body could not be read"},
		} {
			code, body := f.call(t, "POST", "/api/v1/teams", f.adminTok, c.body)
			status := http.StatusBadRequest
			if strings.Contains(c.want, "already exists") {
				status = http.StatusConflict
			}
			want(c.body, code, body, status, c.want)
		}
		if n := count(); n != 1 {
			t.Fatalf("refused creates created %d teams", n-1)
		}

		// Rename and replace members; the repositories are kept.
		code, body = f.call(t, "PUT", "/api/v1/teams/"+team.ID, f.adminTok, `{"name":"Checkout","members":[{"id":"u-bob"}]}`)
		want("rename", code, body, http.StatusOK, `"name":"Checkout"`)
		code, body = f.call(t, "GET", "/api/v1/teams/"+team.ID, f.memberTok, "")
		want("read back", code, body, http.StatusOK, `"display_name":"Bob"`)
		want("repositories kept", code, body, http.StatusOK, `"name":"web"`)
		code, body = f.call(t, "PUT", "/api/v1/teams/"+team.ID, f.adminTok, `{"name":"\t"}`)
		want("bad rename", code, body, http.StatusBadRequest, "the team name is empty")

		// Readers read but cannot write; a read-scoped token neither.
		for _, tok := range []string{f.memberTok, f.readTok} {
			for _, c := range []struct{ method, path, body string }{
				{"POST", "/api/v1/teams", `{"name":"Mine"}`},
				{"PUT", "/api/v1/teams/" + team.ID, `{"name":"Mine"}`},
				{"DELETE", "/api/v1/teams/" + team.ID, ""},
			} {
				if code, body := f.call(t, c.method, c.path, tok, c.body); code != http.StatusForbidden {
					t.Errorf("%s %s by a reader: %d %s", c.method, c.path, code, body)
				}
			}
		}

		// Another workspace's admin: 404 exactly like a missing team.
		for _, c := range []struct{ method, body string }{{"GET", ""}, {"PUT", `{"name":"Mine"}`}, {"DELETE", ""}} {
			code, theirs := f.call(t, c.method, "/api/v1/teams/"+team.ID, f.otherTok, c.body)
			mcode, missing := f.call(t, c.method, "/api/v1/teams/nope", f.otherTok, c.body)
			if code != http.StatusNotFound || mcode != http.StatusNotFound ||
				strings.ReplaceAll(theirs, team.ID, "nope") != missing {
				t.Errorf("%s another workspace's team: %d %s; a missing one: %d %s", c.method, code, theirs, mcode, missing)
			}
		}
		code, body = f.call(t, "GET", "/api/v1/teams", f.otherTok, "")
		want("another workspace lists none", code, body, http.StatusOK, `"teams":[]`)

		code, _ = f.call(t, "DELETE", "/api/v1/teams/"+team.ID, f.adminTok, "")
		if code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
		code, body = f.call(t, "GET", "/api/v1/teams/"+team.ID, f.adminTok, "")
		want("deleted", code, body, http.StatusNotFound, "not found")
		if n := count(); n != 0 {
			t.Fatalf("%d teams after delete", n)
		}
	})
}
