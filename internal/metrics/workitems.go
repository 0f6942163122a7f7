package metrics

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// WorkItemFact is one work item's way to production.
type WorkItemFact struct {
	ID        int
	ProjectID string
	Type      string
	AreaPath  string
	CreatedAt time.Time
	// DeploymentID and DeployedAt name the first successful production
	// deployment containing a linked commit or a linked PR's merge commit.
	DeploymentID string
	DeployedAt   time.Time
	RepositoryID string        // of that deployment
	LeadTime     time.Duration // clamped at 0
}

// WorkItemFilter narrows work item lead time beyond the window's filters.
type WorkItemFilter struct {
	// AreaPath keeps items at this area path or below it (`Shop` keeps
	// `Shop\Payments`); case-insensitive, as in Azure Boards.
	AreaPath string
	// Types keeps items of these types; empty keeps all.
	Types []string
}

func (f WorkItemFilter) matches(it WorkItemFact) bool {
	if len(f.Types) > 0 && !slices.ContainsFunc(f.Types, func(t string) bool { return strings.EqualFold(t, it.Type) }) {
		return false
	}
	if f.AreaPath == "" {
		return true
	}
	p, area := strings.ToLower(it.AreaPath), strings.ToLower(f.AreaPath)
	return p == area || strings.HasPrefix(p, area+`\`)
}

// WorkItemLeadTime is the lead time of work items deployed in a window.
type WorkItemLeadTime struct {
	Meta
	Window   delivery.Window
	Filter   WorkItemFilter
	LeadTime Stats
	// Items are the work items behind the figure, by deployment time.
	Items []WorkItemFact
}

func knownItems(items []delivery.WorkItem) map[int]bool {
	known := make(map[int]bool, len(items))
	for _, w := range items {
		known[w.ID] = true
	}
	return known
}

// mentionedItems returns the #1234 mentions in text that name a known item.
func mentionedItems(text string, known map[int]bool) []int {
	ids := delivery.Mentions(text)
	return slices.DeleteFunc(ids, func(id int) bool { return !known[id] })
}

// firstDeployments finds, for each known work item, the first successful
// production deployment of this analysis containing a linked commit
// (listed in the commit's work items or mentioned in its message) or a
// linked PR's merge commit (work item refs or mentioned in title or
// description), and merges it into first, which may hold other
// repositories' answers: the earlier deployment wins.
func (a *Analysis) firstDeployments(known map[int]bool, prs []delivery.PullRequest, first map[int]depRef) {
	link := func(ids []int, g *graph, n int32) {
		if g.deployedBy[n] < 0 {
			return
		}
		r := depRef{a, int(g.deployedBy[n])}
		for _, id := range ids {
			if cur, seen := first[id]; known[id] && (!seen || r.before(cur)) {
				first[id] = r
			}
		}
	}
	for _, g := range a.detail.graphs {
		for n, ids := range g.items {
			link(ids, g, n)
		}
	}
	for _, pr := range prs {
		if g, n, ok := a.detail.node(pr.RepositoryID, pr.MergeCommitSHA); ok && pr.Merged() {
			ids := append(slices.Clone(pr.WorkItemIDs), mentionedItems(pr.Title+"\n"+pr.Description, known)...)
			link(ids, g, n)
		}
	}
}

// addWorkItemFacts records the lead time of each work item with a first
// deployment, by deployment time.
func (a *Analysis) addWorkItemFacts(items []delivery.WorkItem, first map[int]depRef) {
	for _, w := range items {
		r, ok := first[w.ID]
		if !ok {
			continue
		}
		d := r.a.deployment(r.i)
		a.items = append(a.items, WorkItemFact{
			ID: w.ID, ProjectID: w.ProjectID, Type: w.Type, AreaPath: w.AreaPath, CreatedAt: w.CreatedAt,
			DeploymentID: d.ID, DeployedAt: d.FinishedAt, RepositoryID: d.RepositoryID,
			LeadTime: d.FinishedAt.Sub(w.CreatedAt),
		})
	}
	slices.SortStableFunc(a.items, func(x, y WorkItemFact) int {
		if c := x.DeployedAt.Compare(y.DeployedAt); c != 0 {
			return c
		}
		return x.ID - y.ID
	})
}

// WorkItems returns the lead time of work items whose first deployment
// finished in w. The window's project filter applies to the item's project,
// its repository filter to the deployment's repository.
func (a *Analysis) WorkItems(w delivery.Window, f WorkItemFilter) WorkItemLeadTime {
	return Set{a}.WorkItems(w, f)
}

// WorkItems returns the lead time of work items deployed in w across the set.
func (s Set) WorkItems(w delivery.Window, f WorkItemFilter) WorkItemLeadTime {
	out := WorkItemLeadTime{Meta: s.meta(w), Window: w, Filter: f}
	var spans []time.Duration
	for _, a := range s {
		part := a.clip(w)
		for _, it := range a.items {
			if !part.Contains(it.DeployedAt) || !w.MatchesProject(it.ProjectID) ||
				!w.MatchesRepository(it.RepositoryID) || !f.matches(it) {
				continue
			}
			spans = append(spans, it.LeadTime)
			it.LeadTime = clamp(it.LeadTime)
			out.Items = append(out.Items, it)
		}
	}
	if len(s) > 1 {
		slices.SortStableFunc(out.Items, func(x, y WorkItemFact) int {
			return cmp.Or(x.DeployedAt.Compare(y.DeployedAt), cmp.Compare(x.ID, y.ID))
		})
	}
	out.LeadTime = summarizeOwned(spans)
	return out
}
