package storetest

import (
	"log/slog"
	"testing"

	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(
		NewCase("workspace rules: a default and per-project overrides, workspace-scoped", testWorkspaceRules),
		NewCase("migration 00014 moves an integration's rules to its workspace", testRulesMigration),
	)
}

func testWorkspaceRules(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	got, err := db.GetWorkspaceRules(ctx, f.ws.ID)
	must(t, err)
	eq(t, "no rules: defaults", got.For("p1").DeploymentRule, "")

	must(t, db.PutRuleSettings(ctx, f.ws.ID, "", store.RuleSettings{ProductionRule: "^prod$", IncidentTypes: []string{"Incident"}}, t0))
	must(t, db.PutRuleSettings(ctx, f.ws.ID, "p1", store.RuleSettings{ProductionRule: "^live$", AttributionHours: 24}, t0))
	must(t, db.PutRuleSettings(ctx, f.ws.ID, "p1", store.RuleSettings{ProductionRule: "^live-eu$", AttributionHours: 24}, t0.Add(1))) // replaced
	got, err = db.GetWorkspaceRules(ctx, f.ws.ID)
	must(t, err)
	eq(t, "default", got.Default.ProductionRule, "^prod$")
	eq(t, "project's own replaces the default", got.For("p1").ProductionRule, "^live-eu$")
	eq(t, "project's own is whole (no default incident types)", len(got.For("p1").IncidentTypes), 0)
	eq(t, "another project takes the default", got.For("p2").ProductionRule, "^prod$")

	theirs, err := db.GetWorkspaceRules(ctx, other.ws.ID)
	must(t, err)
	eq(t, "another workspace sees none", theirs.Default.ProductionRule+theirs.For("p1").ProductionRule, "")

	must(t, db.DeleteProjectRules(ctx, other.ws.ID, "p1")) // another workspace's delete touches nothing
	got, err = db.GetWorkspaceRules(ctx, f.ws.ID)
	must(t, err)
	eq(t, "kept", got.For("p1").ProductionRule, "^live-eu$")
	must(t, db.DeleteProjectRules(ctx, f.ws.ID, "p1"))
	got, err = db.GetWorkspaceRules(ctx, f.ws.ID)
	must(t, err)
	eq(t, "back on the default", got.For("p1").ProductionRule, "^prod$")
	if err := db.DeleteProjectRules(ctx, f.ws.ID, ""); err == nil {
		t.Fatal("the default cannot be deleted")
	}
}

func testRulesMigration(t *testing.T, db *store.DB) {
	must(t, db.MigrateSchemaTo(ctx, 13))
	f := newFixture(t, db, "acme")
	empty := newFixture(t, db, "empty")
	_, err := db.SQL().ExecContext(ctx, `UPDATE integrations SET settings = $1 WHERE id = $2`,
		`{"post_pr_comments":true,"production_rule":"^live$","attribution_hours":48}`, f.in.ID)
	must(t, err)
	must(t, db.Migrate(ctx, slog.New(slog.DiscardHandler)))
	got, err := db.GetWorkspaceRules(ctx, f.ws.ID)
	must(t, err)
	eq(t, "rules moved", got.Default.ProductionRule, "^live$")
	eq(t, "attribution moved", got.Default.AttributionHours, 48)
	none, err := db.GetWorkspaceRules(ctx, empty.ws.ID)
	must(t, err)
	eq(t, "a workspace without rules has none", none.Default.ProductionRule, "")
	ok, err := db.MigrationsCurrent(ctx)
	must(t, err)
	eq(t, "current", ok, true)
}
