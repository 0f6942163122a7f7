package metrics

import (
	"cmp"
	"slices"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Input is everything the figures are computed from: the raw values of one
// organization, before any window is applied. Windows select items later;
// the commit graph and the previous deployment of each environment need the
// history around the window too.
type Input struct {
	// Rules classify deployments and incidents; zero fields take defaults.
	Rules delivery.Rules
	// BackfillFrom is where the backfill window starts: the first production
	// deployment of an environment gets only commits authored from then on,
	// never history from before onboarding. Zero means no limit.
	BackfillFrom time.Time
	Commits      []delivery.Commit
	PullRequests []delivery.PullRequest
	// Deployments are candidates; Analyze classifies them with Rules.
	Deployments []delivery.Deployment
	WorkItems   []delivery.WorkItem
}

// Analysis is the window-independent part of the computation: classified
// deployments, the changes each deployed, the deployment that first deployed
// each commit, per-PR facts, incident attribution and work item links. Build
// it with Analyze; it is read-only afterwards and safe for concurrent use.
type Analysis struct {
	rules delivery.Rules
	// deps are the counted production deployments, by finish time then id.
	deps []delivery.Deployment
	// changes[i] are the commits deployment i deployed (successes only).
	changes    [][]commitKey
	deployedBy map[commitKey]int
	// nextSuccess[i] is, for a failed deployment, the next successful one of
	// the same repository and environment, or -1.
	nextSuccess []int
	commits     map[commitKey]*delivery.Commit
	// prs are the facts of merged PRs, by merge time; prOfCommit maps the
	// merge commit and the commits of each merged PR to it.
	prs        []PRFacts
	prOfCommit map[commitKey]int
	// incidents are all incidents by opening time; attributed[i] lists the
	// incidents attributed to deployment i.
	incidents  []Attribution
	attributed map[int][]int
	items      []WorkItemFact
	// lead[i] are the lead time items of deployment i.
	lead [][]LeadTimeItem
}

type commitKey struct{ repo, sha string }

type envKey struct{ repo, env string }

// Analyze runs the window-independent part of every metric over in.
func Analyze(in Input) *Analysis {
	a := &Analysis{
		rules:      withDefaults(in.Rules),
		commits:    make(map[commitKey]*delivery.Commit, len(in.Commits)),
		deployedBy: make(map[commitKey]int),
		prOfCommit: make(map[commitKey]int),
		attributed: make(map[int][]int),
	}
	for i := range in.Commits {
		c := &in.Commits[i]
		a.commits[commitKey{c.RepositoryID, c.SHA}] = c
	}
	a.classify(in.Deployments)
	a.walkChanges(in.Commits, in.BackfillFrom)
	a.linkRecoveries()
	a.collectPRs(in.PullRequests, in.WorkItems)
	a.lead = make([][]LeadTimeItem, len(a.deps))
	for i := range a.deps {
		a.lead[i] = a.leadTimeItems(i)
	}
	a.attribute(in.WorkItems)
	a.linkWorkItems(in.WorkItems, in.PullRequests)
	return a
}

// classify keeps the production deployments, ordered so that "previous" and
// "next" follow finish time; the id breaks ties for repeatable results.
func (a *Analysis) classify(candidates []delivery.Deployment) {
	for _, d := range Classify(a.rules, candidates) {
		if d.Production {
			a.deps = append(a.deps, d)
		}
	}
	slices.SortStableFunc(a.deps, func(x, y delivery.Deployment) int {
		return cmp.Or(x.FinishedAt.Compare(y.FinishedAt), cmp.Compare(x.ID, y.ID))
	})
}

// walkChanges computes the changes of each successful production deployment:
// commits reachable from its SHA and not from the SHA of the previous
// successful production deployment of the same repository and environment.
// A commit is deployed by the first deployment whose changes contain it.
func (a *Analysis) walkChanges(commits []delivery.Commit, backfillFrom time.Time) {
	byRepo := make(map[string][]*delivery.Commit)
	for i := range commits {
		byRepo[commits[i].RepositoryID] = append(byRepo[commits[i].RepositoryID], &commits[i])
	}
	graphs := make(map[string]*graph)
	previous := make(map[envKey]string)
	a.changes = make([][]commitKey, len(a.deps))
	for i, d := range a.deps {
		if OutcomeOf(d.Result) != OutcomeSuccess {
			continue
		}
		g := graphs[d.RepositoryID]
		if g == nil {
			g = newGraph(byRepo[d.RepositoryID])
			graphs[d.RepositoryID] = g
		}
		key := envKey{d.RepositoryID, d.Environment}
		prevSHA, hasPrev := previous[key]
		previous[key] = d.SHA
		head, ok := g.index[d.SHA]
		if !ok {
			continue // deployed version not (yet) stored: no known changes
		}
		// A predecessor whose SHA is not stored is as good as none: without
		// the backfill limit its "changes" would be all of history.
		base := int32(-1)
		if hasPrev {
			if b, ok := g.index[prevSHA]; ok {
				base = b
			}
		}
		for _, n := range g.between(head, base) {
			if base < 0 && g.authored[n].Before(backfillFrom) {
				continue
			}
			k := commitKey{d.RepositoryID, g.sha[n]}
			a.changes[i] = append(a.changes[i], k)
			if _, seen := a.deployedBy[k]; !seen {
				a.deployedBy[k] = i
			}
		}
	}
}

// linkRecoveries finds, for each failed deployment, the next successful one
// of the same repository and environment, walking backwards in time.
func (a *Analysis) linkRecoveries() {
	a.nextSuccess = make([]int, len(a.deps))
	later := make(map[envKey]int)
	for i := len(a.deps) - 1; i >= 0; i-- {
		d := a.deps[i]
		key := envKey{d.RepositoryID, d.Environment}
		a.nextSuccess[i] = -1
		if OutcomeOf(d.Result) == OutcomeSuccess {
			later[key] = i
		} else if j, ok := later[key]; ok {
			a.nextSuccess[i] = j
		}
	}
}

// Deployments returns the counted production deployments, ordered by finish
// time, with Production set.
func (a *Analysis) Deployments() []delivery.Deployment {
	return slices.Clone(a.deps)
}

// Changes returns the SHAs of the commits the deployment deployed (its
// changes, which may include commits an earlier deployment already deployed
// after a rollback); nil for failures and unknown ids.
func (a *Analysis) Changes(deploymentID string) []string {
	i := a.deploymentIndex(deploymentID)
	if i < 0 {
		return nil
	}
	shas := make([]string, len(a.changes[i]))
	for j, k := range a.changes[i] {
		shas[j] = k.sha
	}
	return shas
}

// DeployedBy returns the first successful production deployment whose
// changes contain the commit.
func (a *Analysis) DeployedBy(repositoryID, sha string) (delivery.Deployment, bool) {
	i, ok := a.deployedBy[commitKey{repositoryID, sha}]
	if !ok {
		return delivery.Deployment{}, false
	}
	return a.deps[i], true
}

func (a *Analysis) deploymentIndex(id string) int {
	return slices.IndexFunc(a.deps, func(d delivery.Deployment) bool { return d.ID == id })
}

// inWindow returns the index range of deployments finishing in [from, to);
// deps are sorted by finish time, so the range is contiguous.
func (a *Analysis) inWindow(w delivery.Window) (lo, hi int) {
	lo, _ = slices.BinarySearchFunc(a.deps, w.From, func(d delivery.Deployment, t time.Time) int {
		return d.FinishedAt.Compare(t)
	})
	hi, _ = slices.BinarySearchFunc(a.deps, w.To, func(d delivery.Deployment, t time.Time) int {
		return d.FinishedAt.Compare(t)
	})
	return lo, hi
}
