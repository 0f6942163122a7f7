package metrics

import (
	"cmp"
	"slices"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Set is several analyses answered as one: a server analyzes each project
// on its own (every rule of METRICS.md is local to a project) and replaces
// one project's analysis when its data changes. Windows gather the items of
// every analysis and summarize them together, so a Set of the parts of an
// input gives the figures of Analyze over the whole input.
type Set []*Analysis

// depRef is deployment i of analysis a.
type depRef struct {
	a *Analysis
	i int
}

func (r depRef) dep() *depFact { return &r.a.deps[r.i] }

// before orders deployments as every analysis does: by finish, then id.
func (r depRef) before(o depRef) bool {
	return cmp.Or(cmp.Compare(r.dep().finished, o.dep().finished), cmp.Compare(r.dep().id, o.dep().id)) < 0
}

// deployments returns the successful deployments and the failures (failed,
// or successful with an attributed incident) finishing in w and matching
// its filters, by finish time then id.
func (s Set) deployments(w delivery.Window) (succeeded, failures []depRef) {
	s.eachDeployment(w, func(a *Analysis, i int) {
		if a.deps[i].outcome == OutcomeSuccess {
			succeeded = append(succeeded, depRef{a, i})
		}
		if a.failure(i) {
			failures = append(failures, depRef{a, i})
		}
	})
	if len(s) > 1 {
		byFinish := func(x, y depRef) int {
			return cmp.Or(cmp.Compare(x.dep().finished, y.dep().finished), cmp.Compare(x.dep().id, y.dep().id))
		}
		slices.SortStableFunc(succeeded, byFinish)
		slices.SortStableFunc(failures, byFinish)
	}
	return succeeded, failures
}

// eachDeployment calls fn for the deployments finishing in w that match its
// filters, analysis by analysis in finish order.
func (s Set) eachDeployment(w delivery.Window, fn func(a *Analysis, i int)) {
	for _, a := range s {
		lo, hi := a.inWindow(a.clip(w))
		for i := lo; i < hi; i++ {
			if d := &a.deps[i]; w.Matches(a.names[d.project], a.names[d.repo]) {
				fn(a, i)
			}
		}
	}
}

// failure reports whether deployment i counts as a failure: it failed, or
// an incident is attributed to it.
func (a *Analysis) failure(i int) bool {
	return a.deps[i].outcome == OutcomeFailure || len(a.attributed[i]) > 0
}

// DeploymentItem is a counted production deployment with the size of its
// change set and whether it counts as a failure.
type DeploymentItem struct {
	delivery.Deployment
	Changes int
	Failure bool
}

// DeploymentItems lists the counted production deployments finishing in w
// (successes and failures), by finish time.
func (s Set) DeploymentItems(w delivery.Window) []DeploymentItem {
	var out []DeploymentItem
	s.eachDeployment(w, func(a *Analysis, i int) {
		out = append(out, DeploymentItem{Deployment: a.deployment(i), Changes: int(a.changeCount[i]), Failure: a.failure(i)})
	})
	if len(s) > 1 {
		slices.SortStableFunc(out, func(x, y DeploymentItem) int {
			return cmp.Or(x.FinishedAt.Compare(y.FinishedAt), cmp.Compare(x.ID, y.ID))
		})
	}
	return out
}

// Bounds are the earliest and latest deployment finish or PR merge of the
// set; zero without any.
func (s Set) Bounds() (first, last time.Time) {
	note := func(t time.Time) {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	for _, a := range s {
		if len(a.deps) > 0 {
			note(fromNanos(a.deps[0].finished))
			note(fromNanos(a.deps[len(a.deps)-1].finished))
		}
		if len(a.prs) > 0 {
			note(fromNanos(a.prs[0].merged))
			note(fromNanos(a.prs[len(a.prs)-1].merged))
		}
	}
	return first, last
}

// Size counts what the set holds, for logs and benchmarks.
func (s Set) Size() (deployments, leadItems, pullRequests, workItems int) {
	for _, a := range s {
		deployments += len(a.deps)
		leadItems += len(a.lead)
		pullRequests += len(a.prs)
		workItems += len(a.items)
	}
	return
}
