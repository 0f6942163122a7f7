package collect_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestAzureEventsFillTheKeys: Azure DevOps events store a PR under its
// repository, its work item refs and links in Azure DevOps' container (empty) with the target
// "<repo>:<number>", and a work item's PR artifact link
// (vstfs:///Git/PullRequestId/<project>%2F<repo>%2F<number>) resolves to
// the same "<repo>:<number>".
func TestAzureEventsFillTheKeys(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		pr := readSample(t, "git.pullrequest.created.json")
		_, project := sampleProject(t, pr)
		h.selectProject(project)
		var ev map[string]any
		must(t, json.Unmarshal(pr, &ev))
		res := ev["resource"].(map[string]any)
		repo := res["repository"].(map[string]any)["id"].(string)
		res["workItemRefs"] = []any{map[string]any{"id": "5"}}
		pr, _ = json.Marshal(ev)

		wi := readSample(t, "workitem.created.json")
		must(t, json.Unmarshal(wi, &ev))
		res = ev["resource"].(map[string]any)
		res["relations"] = []any{map[string]any{"rel": "ArtifactLink",
			"url": "vstfs:///Git/PullRequestId/" + project + "%2F" + "other-repo" + "%2F" + "1"}}
		wi, _ = json.Marshal(ev)
		for _, body := range [][]byte{pr, wi} {
			id, _ := sampleProject(t, body)
			if code, msg := h.deliver(body); code != 200 {
				t.Fatalf("%d %s", code, msg)
			}
			if e := h.waitProcessed(id); e.Status != "processed" {
				t.Fatalf("%s: %s %s", id, e.Status, e.Error)
			}
		}
		ref := store.PRRef{IntegrationID: h.key.IntegrationID, RepoID: repo, PRID: 1}
		stored, err := db.GetPullRequest(ctx, h.key.WorkspaceID, ref)
		must(t, err)
		if stored.RepoID != repo {
			t.Fatalf("PR stored under %q, want %q", stored.RepoID, repo)
		}
		d, err := db.GetPRDetails(ctx, ref)
		must(t, err)
		if !slices.Equal(d.WorkItems, []store.WorkItemRef{{Container: "", ID: 5}}) {
			t.Fatalf("work item refs %+v", d.WorkItems)
		}
		links, err := db.ListWorkItemLinks(ctx, h.key.WorkspaceID, h.key.IntegrationID, store.WorkItemRef{ID: 5})
		must(t, err)
		var targets []string
		for _, l := range links {
			if l.TargetKind == "pull_request" {
				targets = append(targets, l.TargetID+" "+l.Origin)
			}
		}
		slices.Sort(targets)
		want := []string{"other-repo:1 artifact", repo + ":1 pr_ref"}
		slices.Sort(want)
		if !slices.Equal(targets, want) {
			t.Fatalf("PR link targets %q, want %q", targets, want)
		}
		items, err := db.ListWorkItems(ctx, store.Filter{WorkspaceID: h.key.WorkspaceID})
		must(t, err)
		if len(items) != 1 || items[0].Container != "" || items[0].WorkItemID != 5 {
			t.Fatalf("work items %+v", items)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
