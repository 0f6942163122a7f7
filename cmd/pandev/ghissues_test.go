package main

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/store"
)

// issuePages is the pages GitHub's issue list takes for a repository's
// issues and pull requests (the list holds both) updated since the
// window's start (GitHub's since has whole seconds), with the empty page
// GitHub links after a full last one.
func issuePages(repo githubsim.TruthRepo, from time.Time) int64 {
	since := from.Truncate(time.Second)
	listed := 0
	for _, i := range repo.IssueList {
		if !i.UpdatedAt.Before(since) {
			listed++
		}
	}
	for _, p := range repo.Pulls {
		if !p.UpdatedAt.Before(since) {
			listed++
		}
	}
	pages := int64(max(1, (listed+99)/100))
	if listed > 0 && listed%100 == 0 {
		pages++
	}
	return pages
}

// TestGitHubIssues, on both engines with the real job queue: the backfill
// stores every issue updated in the window as the simulator's truth has it
// (pull requests in GitHub's issue list are skipped; labels are tags;
// closed issues Completed with their close time) in the pages needed; an
// issue opened with the label incident arrives by webhook and is an
// incident under the default rule; a pull request whose title says
// "Fixes #N" links to it (its work item, origin closing) and one that
// mentions "#N" links as a mention; closing the issue resolves the
// incident, which the dashboard's incidents list shows with its project;
// an issue whose delivery was lost is recovered by the reconciliation.
func TestGitHubIssues(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			sim, r, b := startGitHubApp(t, eng)
			in := ghConnected(t, sim, r, b, sim.Token())
			truth := sim.Truth()
			repo := truth[0]
			for _, tr := range truth {
				if len(tr.IssueList) > len(repo.IssueList) {
					repo = tr
				}
			}
			id := strconv.FormatInt(repo.ID, 10)
			var list repositoryList
			if code := b.api("PUT", "/api/v1/integrations/github/repositories", map[string]any{"selected": []string{id}}, &list); code != 200 {
				t.Fatalf("select: %d %+v", code, list)
			}
			waitJobs(t, r, collect.BackfillArgs{}.Kind(), 1)
			k := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
			p, err := r.db.GetProject(ctx, k, id)
			if err != nil || p.CollectedSince == nil {
				t.Fatalf("project after backfill: %+v %v", p, err)
			}
			from := *p.CollectedSince

			// Backfill: every plain issue updated in the window, as the truth says.
			stored := map[int]store.WorkItem{}
			items, err := r.db.AllWorkItems(ctx, in.WorkspaceID, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range items {
				if w.Container != id || w.ProjectID != id {
					t.Fatalf("work item %+v: container and project should be the repository %s", w.WorkItem, id)
				}
				stored[int(w.WorkItemID)] = w.WorkItem
			}
			want := 0
			for _, ti := range repo.IssueList {
				if ti.UpdatedAt.Before(from.Truncate(time.Second)) {
					continue
				}
				want++
				w, ok := stored[ti.Number]
				if !ok {
					t.Fatalf("issue #%d (updated %s, window from %s) not stored", ti.Number, ti.UpdatedAt, from)
				}
				category := "Proposed"
				if ti.State == "closed" {
					category = "Completed"
				}
				if w.Title != ti.Title || w.State != ti.State || w.StateCategory != category || w.Type != "Issue" ||
					w.Tags != strings.Join(ti.Labels, "; ") || !w.CreatedAt.Equal(ti.CreatedAt) || !w.ChangedAt.Equal(ti.UpdatedAt) ||
					(ti.ClosedAt == nil) != (w.ClosedAt == nil) || (ti.ClosedAt != nil && !w.ClosedAt.Equal(*ti.ClosedAt)) {
					t.Fatalf("issue #%d stored %+v, truth %+v", ti.Number, w, ti)
				}
			}
			if want == 0 || len(stored) != want {
				t.Fatalf("%d issues stored, the truth has %d in the window", len(stored), want)
			}
			// Links: commit messages such as "Merge pull request #5" name
			// pull requests (they share the repository's numbers), not issues.
			if n := count(t, r, `SELECT COUNT(*) FROM work_item_links l JOIN pull_requests p ON p.integration_id = l.integration_id
				AND p.repo_id = l.container AND p.pr_id = l.work_item_id WHERE l.integration_id = $1`, in.ID); n != 0 {
				t.Fatalf("%d links to work items that are pull requests", n)
			}
			prog, err := collect.Progress(ctx, r.db, k, ghcollect.Resources)
			if err != nil || len(prog) != 1 {
				t.Fatalf("progress: %+v %v", prog, err)
			}
			for _, rp := range prog[0].Resources {
				if rp.Resource == "issues" {
					if min := issuePages(repo, from); rp.Pages != min || rp.Finished == nil {
						t.Fatalf("issues: %d pages (finished %v), the pages needed are %d", rp.Pages, rp.Finished, min)
					}
					t.Logf("issues of %s: %d stored in %d calls", repo.FullName, want, rp.Pages)
				}
			}

			// An incident opened on GitHub: the issues delivery stores it.
			opened := activity(t, sim, r, in.ID, githubsim.ActivityRequest{Kind: "issue_opened", Repo: repo.FullName,
				Title: "Checkout is down", Labels: []string{"incident"}}, "issues")
			ref := store.WorkItemRef{Container: id, ID: int64(opened.Number)}
			w := workItem(t, r, in, ref)
			if w.Title != "Checkout is down" || w.Tags != "incident" || w.Type != "Issue" || w.State != "open" {
				t.Fatalf("opened issue stored as %+v", w)
			}

			// A PR that fixes it, and one that only mentions it.
			fix := activity(t, sim, r, in.ID, githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: repo.FullName,
				Title: "Restore checkout (Fixes #" + strconv.Itoa(opened.Number) + ")"}, "pull_request")
			see := activity(t, sim, r, in.ID, githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: repo.FullName,
				Title: "Alerting for checkout, see #" + strconv.Itoa(opened.Number)}, "pull_request")
			links, err := r.db.ListWorkItemLinks(ctx, in.WorkspaceID, in.ID, ref)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, l := range links {
				got[l.TargetKind+" "+l.TargetID] = l.Origin
			}
			fixTarget := store.PRTarget(id, int64(fix.Number))
			if got["pull_request "+fixTarget] != "closing" || got["pull_request "+store.PRTarget(id, int64(see.Number))] != "mention" {
				t.Fatalf("links of issue #%d: %v", opened.Number, got)
			}
			d, err := r.db.GetPRDetails(ctx, store.PRRef{IntegrationID: in.ID, RepoID: id, PRID: int64(fix.Number)})
			if err != nil || len(d.WorkItems) != 1 || d.WorkItems[0] != ref {
				t.Fatalf("the fixing PR's work items: %+v %v", d.WorkItems, err)
			}

			// Closed: the incident is resolved at its close time.
			activity(t, sim, r, in.ID, githubsim.ActivityRequest{Kind: "issue_closed", Repo: repo.FullName, Number: opened.Number}, "issues")
			if w := workItem(t, r, in, ref); w.State != "closed" || w.StateCategory != "Completed" || w.ClosedAt == nil {
				t.Fatalf("closed issue stored as %+v", w)
			}

			// The dashboard lists it among the incidents (default rule: type
			// Issue labelled incident), resolved, in its repository's project.
			q := "?view=incidents&from=" + url.QueryEscape(time.Now().Add(-24*time.Hour).Format(time.RFC3339)) +
				"&to=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
			waitFor(t, "the GitHub incident in the incidents list", func() bool {
				var res struct {
					Items []struct {
						WorkItem   int        `json:"work_item"`
						Project    string     `json:"project"`
						Title      string     `json:"title"`
						ResolvedAt *time.Time `json:"resolved_at"`
					} `json:"items"`
				}
				if code := b.api("GET", "/api/v1/metrics/dora"+q, nil, &res); code != 200 {
					t.Fatalf("incidents: %d", code)
				}
				for _, it := range res.Items {
					if it.WorkItem == opened.Number && it.Project == id {
						return it.Title == "Checkout is down" && it.ResolvedAt != nil
					}
				}
				return false
			})

			// A lost issues delivery: the reconciliation reads the issue and
			// counts it recovered; the issues already stored are not.
			sim.DropDeliveries(1)
			before := len(sim.Deliveries())
			lost, err := sim.Activity(githubsim.ActivityRequest{Kind: "issue_opened", Repo: repo.FullName, Title: "Lost delivery"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.WaitDeliveries(ctxTimeout(t), before+1); err != nil {
				t.Fatal(err)
			}
			run, err := r.collector.Reconcile(ctx, in.ID)
			if err != nil || run.Error != "" || run.ItemsRecovered != 1 {
				t.Fatalf("reconcile: %+v %v", run, err)
			}
			if w := workItem(t, r, in, store.WorkItemRef{Container: id, ID: int64(lost.Number)}); w.Title != "Lost delivery" {
				t.Fatalf("the lost issue after the reconciliation: %+v", w)
			}
		})
	}
}

// activity makes the simulator do something and waits until the drain
// has applied its delivery of event.
func activity(t *testing.T, sim *githubsim.Sim, r *running, integrationID string, req githubsim.ActivityRequest, event string) githubsim.ActivityResult {
	t.Helper()
	before := len(sim.Deliveries())
	res, err := sim.Activity(req)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := sim.WaitDeliveries(ctxTimeout(t), before+1)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds[before:] {
		if d.Event == event {
			if ev := waitDelivery(t, r, integrationID, d.GUID); ev.Status != "processed" {
				t.Fatalf("%s delivery %s: %+v", event, ev.Status, ev)
			}
			return res
		}
	}
	t.Fatalf("no %s delivery among %+v", event, ds[before:])
	return res
}

// workItem reads one work item of the integration.
func workItem(t *testing.T, r *running, in store.Integration, ref store.WorkItemRef) store.WorkItem {
	t.Helper()
	items, err := r.db.AllWorkItems(context.Background(), in.WorkspaceID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range items {
		if w.IntegrationID == in.ID && w.Ref() == ref {
			return w.WorkItem
		}
	}
	t.Fatalf("work item %+v not stored", ref)
	return store.WorkItem{}
}
