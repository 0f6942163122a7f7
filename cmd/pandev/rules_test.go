package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TestWorkspaceRulesAPI: rules are the workspace's, with per-project
// overrides, set through /api/v1/rules; the older settings call still sets
// the default; bad input changes nothing; another workspace sees none.
func TestWorkspaceRulesAndProvidersAPI(t *testing.T) {
	cfg := testConfig(t, nil)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond})
	sim := startSim(t, "")
	ws := connectWorkspace(t, r, sim, "admin@acme.example", "acme")
	projects, err := r.db.ListProjects(t.Context(), store.Key{IntegrationID: integrationOf(t, r, ws).ID, WorkspaceID: ws}, false)
	if err != nil || len(projects) < 2 {
		t.Fatalf("projects: %v %v", projects, err)
	}
	p := projects[0]
	b := newBrowser(t, r.URL())
	if res := b.login("admin@acme.example", "a long enough password"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	var rs integration.RuleSet
	if code := b.api("PUT", "/api/v1/rules", store.RuleSettings{ProductionRule: "^prod$"}, &rs); code != 200 || rs.Default.ProductionRule != "^prod$" {
		t.Fatalf("default: %d %+v", code, rs)
	}
	if code := b.api("PUT", "/api/v1/rules/projects/"+p.ProjectID, store.RuleSettings{ProductionRule: "^live$"}, &rs); code != 200 ||
		len(rs.Projects) != 1 || rs.Projects[0].Project != p.Name || rs.Projects[0].Rules.ProductionRule != "^live$" {
		t.Fatalf("project's own: %d %+v", code, rs)
	}
	for _, c := range []struct {
		what, path string
		body       store.RuleSettings
		want       int
	}{
		{"a pattern that does not compile", "/api/v1/rules/projects/" + p.ProjectID, store.RuleSettings{ProductionRule: "(unclosed"}, 400},
		{"an unknown project", "/api/v1/rules/projects/nope", store.RuleSettings{ProductionRule: "^x$"}, 404},
		{"an incident tag with a line break", "/api/v1/rules", store.RuleSettings{IncidentTag: "a\nb"}, 400},
	} {
		if code := b.api("PUT", c.path, c.body, nil); code != c.want {
			t.Errorf("%s: %d, want %d", c.what, code, c.want)
		}
	}
	b.api("GET", "/api/v1/rules", nil, &rs)
	if rs.Default.ProductionRule != "^prod$" || len(rs.Projects) != 1 || rs.Projects[0].Rules.ProductionRule != "^live$" {
		t.Fatalf("refused input changed the rules: %+v", rs)
	}
	// The settings call of the Azure DevOps page sets the workspace's default.
	var st integration.Settings
	if code := b.api("PATCH", "/api/v1/integrations/azure-devops/settings", map[string]any{"production_rule": "^production$"}, &st); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	b.api("GET", "/api/v1/rules", nil, &rs)
	if rs.Default.ProductionRule != "^production$" {
		t.Fatalf("the settings call did not set the default: %+v", rs)
	}
	if code := b.api("DELETE", "/api/v1/rules/projects/"+p.ProjectID, nil, &rs); code != 200 || len(rs.Projects) != 0 {
		t.Fatalf("back on the default: %d %+v", code, rs)
	}

	// Integrations are addressed by provider; a planned one says so.
	var e struct {
		Error struct{ Message, Hint string }
	}
	if code := b.api("GET", "/api/v1/integrations/gitlab", nil, &e); code != 404 || !strings.Contains(e.Error.Message, "GitLab integrations are not available") {
		t.Fatalf("planned provider: %d %+v", code, e)
	}
	var gh integration.Status
	if code := b.api("GET", "/api/v1/integrations/github", nil, &gh); code != 200 || gh.Connected {
		t.Fatalf("github before it is connected: %d %+v", code, gh)
	}
	if code := b.api("GET", "/api/v1/integrations/nope/jobs", nil, &e); code != 404 || !strings.Contains(e.Error.Hint, "azure-devops") {
		t.Fatalf("unknown provider: %d %+v", code, e)
	}
	if code := b.api("GET", "/api/v1/integrations/azure-devops", nil, nil); code != 200 {
		t.Fatalf("azure-devops status: %d", code)
	}

	mustCreateUser(t, cfg.DB, "admin@other.example", pw, "other", false)
	o := newBrowser(t, r.URL())
	o.login("admin@other.example", pw)
	var theirs integration.RuleSet
	if code := o.api("GET", "/api/v1/rules", nil, &theirs); code != 200 || theirs.Default.ProductionRule != "" {
		t.Fatalf("another workspace: %d %+v", code, theirs)
	}
	if code := o.api("PUT", "/api/v1/rules/projects/"+p.ProjectID, store.RuleSettings{}, nil); code != 404 {
		t.Fatalf("another workspace set this one's project rules: %d", code)
	}
}
