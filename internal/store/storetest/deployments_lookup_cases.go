package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(NewCase("deployments: read by key, keys by prefix per project", testDeploymentLookup))
}

func testDeploymentLookup(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	for _, d := range []store.Deployment{
		{DeploymentKey: "deployment:7", ProjectID: "p1", Source: "environment", Environment: "production", Result: "inProgress"},
		{DeploymentKey: "deployment:9", ProjectID: "p1", Source: "environment", Environment: "staging", Result: "succeeded",
			SHA: "abc", StartedAt: ptr(t0), FinishedAt: ptr(t0.Add(time.Minute))},
		{DeploymentKey: "build:3", ProjectID: "p1", Source: "build", Result: "succeeded", RunID: 3, FinishedAt: ptr(t0)},
		{DeploymentKey: "build:4", ProjectID: "p2", Source: "build", Result: "succeeded", RunID: 4, FinishedAt: ptr(t0)},
		{DeploymentKey: "deployment_x", ProjectID: "p1", Source: "environment"}, // "_" is no wildcard
	} {
		d.Key = f.key
		must(t, db.UpsertDeployment(ctx, d))
	}
	got, err := db.GetDeployment(ctx, f.in.ID, "deployment:9")
	must(t, err)
	eq(t, "result", got.Result, "succeeded")
	eq(t, "finished", got.FinishedAt != nil && got.FinishedAt.Equal(t0.Add(time.Minute)), true)
	eq(t, "sha", got.SHA, "abc")
	got, err = db.GetDeployment(ctx, f.in.ID, "deployment:7")
	must(t, err)
	eq(t, "unfinished", got.FinishedAt == nil && got.Result == "inProgress", true)
	_, err = db.GetDeployment(ctx, f.in.ID, "deployment:8")
	wantKind(t, err, delivery.KindNotFound)

	keys, err := db.DeploymentKeys(ctx, f.in.ID, "p1", "deployment:", 0)
	must(t, err)
	eq(t, "p1's deployment: keys", slices.Equal(keys, []string{"deployment:7", "deployment:9"}), true)
	keys, err = db.DeploymentKeys(ctx, f.in.ID, "p1", "deployment:", 1)
	must(t, err)
	eq(t, "limited", slices.Equal(keys, []string{"deployment:7"}), true)
	keys, err = db.DeploymentKeys(ctx, f.in.ID, "p1", "build:", 0)
	must(t, err)
	eq(t, "p1's builds", slices.Equal(keys, []string{"build:3"}), true)
	keys, err = db.DeploymentKeys(ctx, "other", "p1", "build:", 0)
	must(t, err)
	eq(t, "another integration's", len(keys), 0)
}
