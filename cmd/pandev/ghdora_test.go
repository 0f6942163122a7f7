package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TestGitHubDORA, on both engines with the real job queue: the backfill
// stores every workflow run and deployment the simulator's truth has in the
// window (a run's status and result, a deployment's environment, commit,
// outcome from its latest terminal status and finish time); a deployment
// made live counts in Deployment frequency as soon as its deployment_status
// delivery is applied (no reconciliation), with the lead time of the pull
// request it shipped measured from the PR's first commit; a workflow run
// named like a deployment in a repository that uses the Deployments API is
// no deployment of its own; the same deliveries posted again change nothing.
func TestGitHubDORA(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			// A backfill of 90 days reads all of the simulator's 60.
			sim, r, b := startGitHubAppEnv(t, eng, map[string]string{"PANDEV_BACKFILL_DAYS": "90"})
			repo, id := backfillFirstRepository(t, sim, r, b, sim.Token())
			ins, _ := r.db.ListIntegrations(ctx, wsOf(t, r, "acme"), integration.GitHubProvider)
			in := ins[0]
			k := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
			p, err := r.db.GetProject(ctx, k, id)
			if err != nil || p.CollectedSince == nil {
				t.Fatalf("project after backfill: %+v %v", p, err)
			}
			from := *p.CollectedSince

			// Workflow runs: each created in the window, as the truth says
			// (GitHub's times are whole seconds).
			sec := func(t time.Time) time.Time { return t.Truncate(time.Second) }
			wantRuns := 0
			for _, tr := range repo.RunList {
				if sec(tr.CreatedAt).Before(from) {
					continue
				}
				wantRuns++
				run, err := r.db.PipelineRun(ctx, in.ID, tr.ID)
				if err != nil {
					t.Fatalf("run %d: %v", tr.ID, err)
				}
				result := map[string]string{"success": "succeeded", "failure": "failed", "cancelled": "canceled"}[tr.Conclusion]
				if run.DefinitionName != tr.Name || run.SourceVersion != tr.HeadSHA || run.Status != "completed" || run.Result != result ||
					run.RepoID != id || run.FinishedAt == nil || !run.FinishedAt.Equal(sec(tr.UpdatedAt)) {
					t.Fatalf("run %d stored %+v, truth %+v", tr.ID, run, tr)
				}
			}
			if n := count(t, r, `SELECT COUNT(*) FROM pipeline_runs WHERE integration_id = $1 AND repo_id = $2`, in.ID, id); n != wantRuns || n == 0 {
				t.Fatalf("%d workflow runs stored, the truth has %d in the window", n, wantRuns)
			}
			// Deployments: each created in the window, decided by its latest terminal status.
			wantDeps, prodOK := 0, 0
			for _, td := range repo.DeploymentList {
				if sec(td.CreatedAt).Before(from) {
					continue
				}
				wantDeps++
				d, err := r.db.GetDeployment(ctx, in.ID, "deployment:"+strconv.FormatInt(td.ID, 10))
				if err != nil {
					t.Fatalf("deployment %d: %v", td.ID, err)
				}
				result := map[string]string{"success": "succeeded", "failure": "failed", "error": "failed", "": "inProgress"}[td.State]
				if d.Environment != td.Environment || d.SHA != td.SHA || d.Result != result || d.RepoID != id ||
					d.IsProduction != (td.Environment == "production") || (td.FinishedAt == nil) != (d.FinishedAt == nil) ||
					(td.FinishedAt != nil && !d.FinishedAt.Equal(sec(*td.FinishedAt))) {
					t.Fatalf("deployment %d stored %+v, truth %+v", td.ID, d, td)
				}
				if td.Environment == "production" && td.State == "success" && td.FinishedAt.Before(time.Now()) {
					prodOK++
				}
			}
			if n := count(t, r, `SELECT COUNT(*) FROM deployments WHERE integration_id = $1 AND repo_id = $2`, in.ID, id); n != wantDeps || n == 0 {
				t.Fatalf("%d deployments stored, the truth has %d in the window", n, wantDeps)
			}

			// Calls: the runs' pages of the window's days (one range: under
			// GitHub's cap of 1,000), the deployments' pages until one older
			// than the window, and one statuses call per deployment.
			listedRuns, olderDep := 0, false
			for _, tr := range repo.RunList {
				if !sec(tr.CreatedAt).Before(from.UTC().Truncate(24 * time.Hour)) {
					listedRuns++
				}
			}
			for _, td := range repo.DeploymentList {
				olderDep = olderDep || sec(td.CreatedAt).Before(from)
			}
			listedDeps := wantDeps
			if olderDep {
				listedDeps++
			}
			pages := func(n int) int64 {
				p := int64(max(1, (n+99)/100))
				if n > 0 && n%100 == 0 {
					p++ // a full last page: GitHub links a next, empty one
				}
				return p
			}
			prog, err := collect.Progress(ctx, r.db, k, ghcollect.Resources)
			if err != nil || len(prog) != 1 {
				t.Fatalf("progress: %+v %v", prog, err)
			}
			for _, rp := range prog[0].Resources {
				want := map[string]int64{"workflow_runs": pages(listedRuns), "deployments": pages(listedDeps) + int64(wantDeps)}
				if w, ok := want[rp.Resource]; ok && rp.Pages != w {
					t.Fatalf("%s: %d calls, the pages needed are %d", rp.Resource, rp.Pages, w)
				}
			}

			// The dashboard counts the successful production deployments.
			to := time.Now().Add(time.Hour).Truncate(time.Second)
			q := "?from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
			frequency := func() int {
				var dora struct {
					DeploymentFrequency apiFigure `json:"deployment_frequency"`
				}
				if code := b.api("GET", "/api/v1/metrics/dora"+q, nil, &dora); code != 200 {
					t.Fatalf("dora: %d", code)
				}
				return dora.DeploymentFrequency.N
			}
			before := frequency()
			t.Logf("backfill of %s from %s: %d workflow runs, %d deployments (%d successful in production)", repo.FullName, from.Format(time.RFC3339), wantRuns, wantDeps, prodOK)
			if before != prodOK {
				t.Fatalf("deployment frequency counts %d deployments, the truth has %d successful production ones finished", before, prodOK)
			}

			// A pull request merged and deployed, live.
			deliver := func(req githubsim.ActivityRequest, events int) (githubsim.ActivityResult, []githubsim.Delivery) {
				t.Helper()
				n := len(sim.Deliveries())
				res, err := sim.Activity(req)
				if err != nil {
					t.Fatal(err)
				}
				ds, err := sim.WaitDeliveries(ctxTimeout(t), n+events)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range ds[n:] {
					if ev := waitDelivery(t, r, in.ID, d.GUID); ev.Status != "processed" && ev.Status != "ignored" {
						t.Fatalf("%s delivery %s: %+v", d.Event, ev.Status, ev)
					}
				}
				return res, ds[n:]
			}
			opened, _ := deliver(githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: repo.FullName, Commits: 3}, 1)
			ref := store.PRRef{IntegrationID: in.ID, RepoID: id, PRID: int64(opened.Number)}
			waitFor(t, "the opened PR's commits", func() bool {
				d, err := r.db.GetPRDetails(ctx, ref)
				return err == nil && len(d.Commits) == 3
			})
			merged, _ := deliver(githubsim.ActivityRequest{Kind: "pull_request_merged", Repo: repo.FullName, Number: opened.Number}, 2)
			waitFor(t, "the merged PR", func() bool {
				pr, err := r.db.GetPullRequest(ctx, in.WorkspaceID, ref)
				return err == nil && pr.Status == "completed" && pr.MergeCommit == merged.SHA
			})
			// A workflow named like a deployment: the repository's deployments stand for its runs.
			run, _ := deliver(githubsim.ActivityRequest{Kind: "workflow_run", Repo: repo.FullName, Workflow: "Deploy production"}, 2)
			if got, err := r.db.PipelineRun(ctx, in.ID, run.ID); err != nil || got.Result != "succeeded" || got.DefinitionName != "Deploy production" {
				t.Fatalf("the live run stored %+v %v", got, err)
			}
			if n := count(t, r, `SELECT COUNT(*) FROM deployments WHERE integration_id = $1 AND source = 'build'`, in.ID); n != 0 {
				t.Fatalf("%d runs stored as deployments in a repository that uses the Deployments API", n)
			}
			if n := frequency(); n != before {
				t.Fatalf("a workflow run moved deployment frequency from %d to %d", before, n)
			}
			dep, ds := deliver(githubsim.ActivityRequest{Kind: "deployment", Repo: repo.FullName, Environment: "production", State: "success"}, 3)
			if dep.SHA != merged.SHA {
				t.Fatalf("the deployment shipped %s, not the merge commit %s", dep.SHA, merged.SHA)
			}
			if n := frequency(); n != before+1 {
				t.Fatalf("deployment frequency %d after a live production deployment, %d before", n, before)
			}
			stored, err := r.db.GetDeployment(ctx, in.ID, "deployment:"+strconv.FormatInt(dep.ID, 10))
			if err != nil || stored.Result != "succeeded" || stored.FinishedAt == nil {
				t.Fatalf("the live deployment stored %+v %v", stored, err)
			}
			// Lead time of the PR it shipped: from the PR's first commit.
			var first time.Time
			for _, tr := range sim.Truth() {
				for _, tp := range tr.Pulls {
					if tr.ID == repo.ID && tp.Number == opened.Number {
						first = tp.FirstCommitAt
					}
				}
			}
			var lead struct {
				Items []struct {
					PullRequest int       `json:"pull_request"`
					Deployment  string    `json:"deployment"`
					FirstCommit time.Time `json:"first_commit_at"`
					Seconds     float64   `json:"lead_time_seconds"`
				} `json:"items"`
			}
			if code := b.api("GET", "/api/v1/metrics/dora"+q+"&view=lead-time", nil, &lead); code != 200 {
				t.Fatalf("lead time: %d", code)
			}
			found := false
			for _, it := range lead.Items {
				if it.PullRequest == opened.Number && it.Deployment == stored.DeploymentKey {
					found = true
					want := stored.FinishedAt.Sub(first).Seconds()
					if !it.FirstCommit.Equal(first) || it.Seconds != want {
						t.Fatalf("lead time of PR #%d: %+v, want %.0f s from %s", opened.Number, it, want, first)
					}
				}
			}
			if !found {
				t.Fatalf("PR #%d is not among the lead time items of its deployment: %+v", opened.Number, lead.Items)
			}

			// The same deliveries again change nothing.
			snapshot := func() string {
				return fmt.Sprint(frequency(), count(t, r, `SELECT COUNT(*) FROM deployments WHERE integration_id = $1`, in.ID),
					names(t, r, `SELECT result || '|' || COALESCE(CAST(finished_at AS TEXT), '') FROM deployments WHERE integration_id = $1 AND deployment_key = $2`,
						in.ID, stored.DeploymentKey))
			}
			was := snapshot()
			for _, d := range ds {
				req, _ := http.NewRequest("POST", r.URL()+"/v1/github/webhook?integration="+in.ID, strings.NewReader(string(d.Payload)))
				for h, v := range d.Headers {
					req.Header.Set(h, v)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode/100 != 2 {
					t.Fatalf("duplicate delivery: %d", res.StatusCode)
				}
			}
			if now := snapshot(); now != was {
				t.Fatalf("duplicate deliveries changed the data: %s → %s", was, now)
			}
			// A reconciliation reads the same and recovers nothing.
			rec, err := r.collector.Reconcile(ctx, in.ID)
			if err != nil || rec.Error != "" || rec.ItemsRecovered != 0 {
				t.Fatalf("reconcile: %+v %v", rec, err)
			}
			if now := snapshot(); now != was {
				t.Fatalf("the reconciliation changed the data: %s → %s", was, now)
			}

			// A deployment whose deliveries were lost: the reconciliation
			// reads it with its statuses and counts it recovered.
			sim.DropDeliveries(3)
			n := len(sim.Deliveries())
			lost, err := sim.Activity(githubsim.ActivityRequest{Kind: "deployment", Repo: repo.FullName, Environment: "production", State: "failure"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.WaitDeliveries(ctxTimeout(t), n+3); err != nil {
				t.Fatal(err)
			}
			lostKey := "deployment:" + strconv.FormatInt(lost.ID, 10)
			if _, err := r.db.GetDeployment(ctx, in.ID, lostKey); err == nil {
				t.Fatal("the lost deployment is stored before the reconciliation")
			}
			rec, err = r.collector.Reconcile(ctx, in.ID)
			if err != nil || rec.Error != "" || rec.ItemsRecovered != 1 {
				t.Fatalf("reconcile after lost deliveries: %+v %v", rec, err)
			}
			if d, err := r.db.GetDeployment(ctx, in.ID, lostKey); err != nil || d.Result != "failed" || d.FinishedAt == nil || !d.IsProduction {
				t.Fatalf("the lost deployment after the reconciliation: %+v %v", d, err)
			}
		})
	}
}

// TestGitHubDORAWithoutActions, on both engines: a token without Actions:
// Read activates (the permission is optional), and its backfill blocks
// workflow runs with the fix shown on the status while deployments and the
// rest are collected.
func TestGitHubDORAWithoutActions(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			sim, r, b := startGitHubApp(t, eng)
			token := sim.NewFineGrainedToken(map[string]string{"contents": "read", "pull_requests": "read", "deployments": "read",
				"webhooks": "write"})
			_, id := backfillFirstRepository(t, sim, r, b, token)
			var st integration.Status
			if code := b.api("GET", "/api/v1/integrations/github", nil, &st); code != 200 {
				t.Fatalf("status: %d", code)
			}
			var blocked []collect.BlockedResource
			for _, ps := range st.Projects {
				if ps.ID == id && ps.Backfill != nil {
					blocked = ps.Backfill.Blocked
				}
			}
			if len(blocked) != 1 || blocked[0].Resource != "workflow_runs" || blocked[0].Scope != "actions" ||
				!strings.Contains(blocked[0].Message, "workflow runs") || !strings.Contains(blocked[0].Hint, "Actions: Read") ||
				!strings.Contains(blocked[0].Hint, "Update token") {
				t.Fatalf("blocked resources: %+v", blocked)
			}
			ins, _ := r.db.ListIntegrations(ctx, wsOf(t, r, "acme"), integration.GitHubProvider)
			if n := count(t, r, `SELECT COUNT(*) FROM pipeline_runs WHERE integration_id = $1`, ins[0].ID); n != 0 {
				t.Fatalf("%d runs stored without Actions: Read", n)
			}
			if n := count(t, r, `SELECT COUNT(*) FROM deployments WHERE integration_id = $1 AND deployment_key LIKE 'deployment:%'`, ins[0].ID); n == 0 {
				t.Fatal("no deployment collected: only workflow runs are blocked")
			}
		})
	}
}

// backfillFirstRepository activates GitHub with token, selects the
// simulator's first repository and waits for its backfill.
func backfillFirstRepository(t *testing.T, sim *githubsim.Sim, r *running, b *browser, token string) (githubsim.TruthRepo, string) {
	t.Helper()
	var st integration.Status
	if code := b.api("POST", "/api/v1/integrations/github", map[string]string{"api_url": sim.URL(), "token": token}, &st); code != 201 {
		t.Fatalf("activate: %d %+v", code, st)
	}
	repo := sim.Truth()[0]
	id := strconv.FormatInt(repo.ID, 10)
	var list repositoryList
	if code := b.api("PUT", "/api/v1/integrations/github/repositories", map[string]any{"selected": []string{id}}, &list); code != 200 {
		t.Fatalf("select: %d %+v", code, list)
	}
	waitJobs(t, r, collect.BackfillArgs{}.Kind(), 1)
	return repo, id
}
