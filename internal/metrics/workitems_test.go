package metrics

import (
	"slices"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestWorkItemLeadTime(t *testing.T) {
	// Items are created at 0h. Commits: a (mentions #1), b (lists item 2),
	// m = merge commit of PR 9 (refs item 3, mentions #4 in its title);
	// deployments: d1 at 10h deploys a, d2 at 20h deploys b and m.
	// c mentions #5 only inside a URL and #6 only as "&#6"; z mentions #1
	// again but is deployed later.
	commits := []delivery.Commit{
		{RepositoryID: "r1", SHA: "a", AuthoredAt: h(1), Message: "Fix login #1"},
		{RepositoryID: "r1", SHA: "b", AuthoredAt: h(2), Parents: []string{"a"}, WorkItemIDs: []int{2}},
		{RepositoryID: "r1", SHA: "c", AuthoredAt: h(3), Parents: []string{"b"}, Message: "see http://x/#5 &#6"},
		{RepositoryID: "r1", SHA: "m", AuthoredAt: h(4), Parents: []string{"c"}},
		{RepositoryID: "r1", SHA: "z", AuthoredAt: h(5), Parents: []string{"m"}, Message: "more on #1, #77 (unknown)"},
	}
	pr := merged(9, "r1", h(3), h(4), "m", "c")
	pr.WorkItemIDs, pr.Title = []int{3}, "Checkout #4"
	item := func(id int, typ, area string) delivery.WorkItem {
		return delivery.WorkItem{ID: id, ProjectID: "p1", Type: typ, AreaPath: area, CreatedAt: h(0)}
	}
	items := []delivery.WorkItem{
		item(1, "Bug", `Shop\Login`), item(2, "User Story", `Shop\Payments`), item(3, "User Story", `Shop`),
		item(4, "Task", `Shopping`), item(5, "Bug", `Shop`), item(6, "Bug", `Shop`), item(8, "Bug", `Shop`),
	}
	a := Analyze(Input{
		Commits: commits, PullRequests: []delivery.PullRequest{pr}, WorkItems: items,
		Deployments: []delivery.Deployment{success("d1", "r1", "a", h(10)), success("d2", "r1", "m", h(20)), success("d3", "r1", "z", h(30))},
	})
	tests := []struct {
		name   string
		w      delivery.Window
		filter WorkItemFilter
		ids    []int
		median *time.Duration
	}{
		// 1 via message (d1, 10h); 2 via commit list, 3 via PR ref, 4 via PR
		// title (d2, 20h). 5 and 6 are not mentions, 8 is linked to nothing.
		{"linked through commits and PRs, first deployment wins", window(0, 48), WorkItemFilter{}, []int{1, 2, 3, 4}, dur(hours(20))},
		{"in window by deployment finish", window(15, 48), WorkItemFilter{}, []int{2, 3, 4}, dur(hours(20))},
		{"area path keeps the path and below, not siblings by prefix", window(0, 48), WorkItemFilter{AreaPath: `shop`}, []int{1, 2, 3}, dur(hours(20))},
		{"type filter", window(0, 48), WorkItemFilter{Types: []string{"bug", "Task"}}, []int{1, 4}, dur(hours(15))},
		{"project filter", delivery.Window{From: h(0), To: h(48), Project: "p2"}, WorkItemFilter{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.WorkItems(tt.w, tt.filter)
			var ids []int
			for _, it := range got.Items {
				ids = append(ids, it.ID)
			}
			if !slices.Equal(ids, tt.ids) {
				t.Errorf("items = %v, want %v", ids, tt.ids)
			}
			if got.LeadTime.N != len(tt.ids) || durOrNil(got.LeadTime.Median) != durOrNil(tt.median) {
				t.Errorf("n=%d median=%v; want n=%d median=%v", got.LeadTime.N, durOrNil(got.LeadTime.Median), len(tt.ids), durOrNil(tt.median))
			}
		})
	}
}
