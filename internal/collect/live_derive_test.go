package collect_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestDeploymentsDerivedAsEventsArrive: a YAML run that deploys to
// production, and one that fails at its first deploy stage, arrive by webhook
// (run- and stage-state-changed events) with no reconciliation: their
// deployments are stored by the drain that stores the runs, each as soon
// as its stage finished, and a later reconciliation (which derives them
// again from the runs it reads) changes none of them.
func TestDeploymentsDerivedAsEventsArrive(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		e := newEnv(t, db, sim, "live", azdo.ServicesDeployment, nil)
		if err := e.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		e.window()
		h := e.receiveHooks("ms.vss-pipelines.run-state-changed-event", "ms.vss-pipelines.stage-state-changed-event")
		var runs []int64
		for _, result := range []string{"succeeded", "failed"} {
			res, err := sim.Activity(azdosim.ActivityRequest{Kind: "deployment", Project: e.projects[0].ProjectID, Result: result})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range res.Items {
				if it.Kind == "run" || it.Kind == "pipeline_run" || it.Kind == "build" {
					var id int64
					fmt.Sscan(it.ID, &id)
					runs = append(runs, id)
				}
			}
		}
		if len(runs) != 2 {
			t.Fatalf("activity made runs %v", runs)
		}
		h.settle()
		live := e.runDeployments(runs)
		got := map[string]bool{}
		for _, d := range live {
			got[fmt.Sprintf("%d %s %s", d.RunID, d.Environment, d.Result)] = true
		}
		for _, want := range []string{fmt.Sprintf("%d production succeeded", runs[0]), fmt.Sprintf("%d staging succeeded", runs[0]),
			fmt.Sprintf("%d dev failed", runs[1])} {
			if !got[want] {
				t.Errorf("deployment %q not stored by the webhook drain: %v", want, keys(live))
			}
		}
		if _, err := e.c.Reconcile(ctx, e.key.IntegrationID); err != nil {
			t.Fatal(err)
		}
		if again := e.runDeployments(runs); !slices.Equal(keys(again), keys(live)) {
			t.Errorf("a reconciliation changed the live deployments:\n live %v\nafter %v", keys(live), keys(again))
		}
	})
}

// runDeployments lists the stored deployments of the runs, as "key result env prod finish".
func (e *simEnv) runDeployments(runs []int64) []store.Deployment {
	e.t.Helper()
	var out []store.Deployment
	for _, id := range runs {
		ds, err := e.db.RunDeployments(context.Background(), e.key.IntegrationID, id)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ds...)
	}
	return out
}

func keys(ds []store.Deployment) []string {
	var out []string
	for _, d := range ds {
		fin := ""
		if d.FinishedAt != nil {
			fin = d.FinishedAt.UTC().Format(time.RFC3339)
		}
		out = append(out, fmt.Sprintf("%s %s %s %v %s %s", d.DeploymentKey, d.Result, d.Environment, d.IsProduction, d.SHA, fin))
	}
	slices.Sort(out)
	return out
}
