package dashboard

import (
	"testing"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestRulesPerProject: the workspace's rules apply to every project, and a
// project's own rules replace them for that project only (before, rules
// were an integration's and the last integration's applied to all). A
// change moves the figures at once.
func TestRulesPerProject(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, "acme")
		scenario(t, w)
		h := New(db, clock, Config{})
		defer h.Close()
		count := func() int {
			t.Helper()
			rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window)
			must(t, err)
			return decodeJSON[DORAReport](t, rec.Body.String()).DeploymentFrequency.N
		}
		if n := count(); n != 4 {
			t.Fatalf("with the default rules: %d production deployments, want 4", n)
		}
		// Ops (p2) calls no environment production: its d5 no longer counts.
		must(t, db.PutRuleSettings(bg, w.ws.ID, "p2", store.RuleSettings{ProductionRule: "^live$"}, t0))
		if n := count(); n != 3 {
			t.Fatalf("with Ops' own production rule: %d, want 3 (Shop's 3 stay)", n)
		}
		// The workspace's default names "staging" production: Shop's s1
		// counts too, Ops keeps its own rule.
		must(t, db.PutRuleSettings(bg, w.ws.ID, "", store.RuleSettings{ProductionRule: "^(prod|staging)$"}, t0))
		if n := count(); n != 4 {
			t.Fatalf("with the workspace's default widened: %d, want 4 (Shop 3 + s1)", n)
		}
		must(t, db.DeleteProjectRules(bg, w.ws.ID, "p2"))
		if n := count(); n != 5 {
			t.Fatalf("Ops back on the workspace's rules: %d, want 5", n)
		}
	})
}
