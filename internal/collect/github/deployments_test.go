package github_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// newGitHubIntegration makes a workspace with a GitHub integration.
func newGitHubIntegration(t *testing.T, db *store.DB) store.Key {
	t.Helper()
	ctx := context.Background()
	ws, err := db.EnsureWorkspace(ctx, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k := store.Key{IntegrationID: store.NewID(), WorkspaceID: ws.ID}
	if _, err := db.CreateIntegration(ctx, store.Integration{ID: k.IntegrationID, WorkspaceID: ws.ID, Provider: ghcollect.Provider,
		OrgURL: "https://github.com", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestDeploymentHandlersReadGitHubsExamples applies every published
// example of workflow_run, deployment and deployment_status, on both
// engines: each stores its run or deployment keyed by GitHub's id, a
// success status finishes its deployment as succeeded at the status' time.
func TestDeploymentHandlersReadGitHubsExamples(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k := newGitHubIntegration(t, db)
		for n, p := range examples(t, "workflow_run") {
			if _, _, err := apply(t, db, k, "workflow_run", n, p); err != nil {
				t.Fatalf("workflow_run example %d: %v", n, err)
			}
			var x struct {
				WorkflowRun struct {
					ID   int64  `json:"id"`
					Name string `json:"name"`
				} `json:"workflow_run"`
			}
			_ = json.Unmarshal(p, &x)
			run, err := db.PipelineRun(ctx, k.IntegrationID, x.WorkflowRun.ID)
			if err != nil || run.DefinitionName != x.WorkflowRun.Name || run.Status == "" {
				t.Fatalf("workflow_run example %d stored %+v %v", n, run, err)
			}
		}
		for _, event := range []string{"deployment", "deployment_status"} {
			for n, p := range examples(t, event) {
				if _, _, err := apply(t, db, k, event, n, p); err != nil {
					t.Fatalf("%s example %d: %v", event, n, err)
				}
				var x struct {
					Deployment struct {
						ID          int64  `json:"id"`
						Environment string `json:"environment"`
						SHA         string `json:"sha"`
					} `json:"deployment"`
					Status *struct {
						State     string    `json:"state"`
						CreatedAt time.Time `json:"created_at"`
					} `json:"deployment_status"`
				}
				_ = json.Unmarshal(p, &x)
				d, err := db.GetDeployment(ctx, k.IntegrationID, "deployment:"+strconv.FormatInt(x.Deployment.ID, 10))
				if err != nil || d.SHA != x.Deployment.SHA || d.Source != "environment" {
					t.Fatalf("%s example %d stored %+v %v", event, n, d, err)
				}
				if x.Status != nil && x.Status.State == "success" && (d.Result != "succeeded" || d.FinishedAt == nil || !d.FinishedAt.Equal(x.Status.CreatedAt)) {
					t.Fatalf("%s example %d (success) stored %+v", event, n, d)
				}
			}
		}
	})
}

// payloads of one repository's deliveries, as GitHub sends them.
func runPayload(id int64, name, status, conclusion string, updated time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"action":"completed","workflow_run":{"id":%d,"name":%q,"status":%q,"conclusion":%q,
		"head_branch":"main","head_sha":"aaaa","workflow_id":5,"created_at":%q,"updated_at":%q,"run_started_at":%q},
		"repository":{"id":77,"full_name":"acme/web"}}`, id, name, status, conclusion,
		updated.Add(-time.Minute).Format(time.RFC3339), updated.Format(time.RFC3339), updated.Add(-time.Minute).Format(time.RFC3339)))
}

func statusPayload(dep, status int64, state string, at time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"action":"created","deployment":{"id":%d,"sha":"bbbb","ref":"main","environment":"production",
		"created_at":%q,"updated_at":%q},"deployment_status":{"id":%d,"state":%q,"environment":"production","created_at":%q},
		"repository":{"id":77,"full_name":"acme/web"}}`, dep, at.Add(-time.Hour).Format(time.RFC3339), at.Format(time.RFC3339),
		status, state, at.Format(time.RFC3339)))
}

// TestDeploymentsFromRunsAndStatuses, on both engines: a finished run
// whose workflow matches the deployment rule is a deployment of a
// repository without the Deployments API (METRICS.md case 3); the
// repository's first deployment of the Deployments API stands for its runs
// from then on (the run's deployment is dropped and later runs add none);
// a deployment is decided by its newest terminal status — an older status
// delivered late, an in_progress or an inactive one after it, or the same
// delivery again change nothing.
func TestDeploymentsFromRunsAndStatuses(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k := newGitHubIntegration(t, db)
		t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		keys := func(prefix string) []string {
			t.Helper()
			ks, err := db.DeploymentKeys(ctx, k.IntegrationID, "77", prefix, 0)
			if err != nil {
				t.Fatal(err)
			}
			return ks
		}
		n := 0
		step := func(event string, p json.RawMessage) string {
			t.Helper()
			n++
			_, done, err := apply(t, db, k, event, n, p)
			if err != nil {
				t.Fatalf("%s: %v", event, err)
			}
			return done.Ignored
		}
		step("workflow_run", runPayload(1, "CI", "completed", "success", t0))
		step("workflow_run", runPayload(2, "Deploy production", "in_progress", "", t0))
		if got := keys("build:"); len(got) != 0 {
			t.Fatalf("deployments of unfinished or unmatched runs: %v", got)
		}
		step("workflow_run", runPayload(2, "Deploy production", "completed", "failure", t0.Add(time.Minute)))
		d, err := db.GetDeployment(ctx, k.IntegrationID, "build:2")
		if err != nil || d.Result != "failed" || !d.IsProduction || d.SHA != "aaaa" {
			t.Fatalf("the deploy workflow's run as a deployment: %+v %v", d, err)
		}
		if ig := step("workflow_run", runPayload(2, "Deploy production", "in_progress", "", t0)); ig == "" {
			t.Fatal("an older delivery of a finished run was applied")
		}

		// The Deployments API from now on.
		step("deployment_status", statusPayload(9, 90, "in_progress", t0.Add(time.Hour)))
		if got := keys("build:"); len(got) != 0 {
			t.Fatalf("run deployments kept beside the Deployments API's: %v", got)
		}
		step("workflow_run", runPayload(3, "Deploy production", "completed", "success", t0.Add(2*time.Hour)))
		if got := keys("build:"); len(got) != 0 {
			t.Fatalf("a run counted as a deployment beside the Deployments API: %v", got)
		}
		done := t0.Add(time.Hour + 5*time.Minute)
		step("deployment_status", statusPayload(9, 92, "success", done))
		check := func(what string) {
			t.Helper()
			d, err := db.GetDeployment(ctx, k.IntegrationID, "deployment:9")
			if err != nil || d.Result != "succeeded" || d.FinishedAt == nil || !d.FinishedAt.Equal(done) || !d.IsProduction {
				t.Fatalf("%s: %+v %v", what, d, err)
			}
		}
		check("after success")
		for _, late := range []struct {
			what  string
			event string
			p     json.RawMessage
		}{
			{"the in_progress status again", "deployment_status", statusPayload(9, 90, "in_progress", t0.Add(time.Hour))},
			{"a failure older than the success", "deployment_status", statusPayload(9, 91, "failure", t0.Add(time.Hour+time.Minute))},
			{"inactive after success", "deployment_status", statusPayload(9, 93, "inactive", t0.Add(3*time.Hour))},
			{"the deployment's own delivery, late", "deployment", statusPayload(9, 0, "", t0)},
			{"the success again", "deployment_status", statusPayload(9, 92, "success", done)},
		} {
			ig := step(late.event, late.p)
			if late.what != "the success again" && !strings.Contains(ig, "stored") {
				t.Fatalf("%s: not ignored (%q)", late.what, ig)
			}
			check(late.what)
		}
		// A newer terminal status decides: a failure after the success.
		step("deployment_status", statusPayload(9, 94, "error", t0.Add(4*time.Hour)))
		if d, err := db.GetDeployment(ctx, k.IntegrationID, "deployment:9"); err != nil || d.Result != "failed" || !d.FinishedAt.Equal(t0.Add(4*time.Hour)) {
			t.Fatalf("a later error status: %+v %v", d, err)
		}
	})
}
