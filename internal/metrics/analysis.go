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
	// Project is the provider project the items belong to: coverage is
	// per project (METRICS.md "Coverage").
	Project string
	// CollectedSince is the project's collected-since instant, the start
	// of its first backfill. Figures count only the part of a window from
	// then on, and the first production deployment of an environment gets
	// only commits authored from then on, never history from before
	// onboarding. Zero means collected forever (no limit).
	CollectedSince time.Time
	Commits        []delivery.Commit
	PullRequests   []delivery.PullRequest
	// Deployments are candidates; Analyze classifies them with Rules.
	Deployments []delivery.Deployment
	WorkItems   []delivery.WorkItem
}

// Analysis is the window-independent part of the computation: classified
// deployments, the changes each deployed, the deployment that first deployed
// each commit, per-PR facts, incident attribution and work item links. Build
// it with Analyze; it is read-only afterwards and safe for concurrent use.
//
// What windows read is kept in compact form (packed SHAs, Unix times,
// indexes instead of strings), because a year of a large organization is a
// million commits and this is what a server keeps in memory. The detail of
// the build (the commit graph's keys and each deployment's change set) is
// dropped by Compact; Changes and DeployedBy answer only before it.
type Analysis struct {
	rules delivery.Rules
	// deps are the counted production deployments, by finish time then id.
	deps []depFact
	// changeCount[i] is the size of deployment i's change set.
	changeCount []int32
	// nextSuccess[i] is, for a failed deployment, the next successful one of
	// the same repository and environment, or -1.
	nextSuccess []int32
	// The lead time items of deployment i are lead[leadOff[i]:leadOff[i+1]].
	leadOff []int32
	lead    []leadFact
	// odd holds the SHAs that are not 40 hex digits (see packSHA).
	odd []string
	// prs are the facts of merged PRs, by merge time; names interns their
	// project and repository ids.
	prs   []prFact
	names []string
	// incidents are all incidents by opening time; incDep[n] is the index of
	// the deployment incident n is attributed to, or -1; attributed[i]
	// lists the incidents attributed to deployment i.
	incidents  []Attribution
	incDep     []int32
	attributed map[int][]int
	items      []WorkItemFact
	// project and since (collected-since, Unix ns, 0 = always) are the
	// coverage of the analysis's project.
	project string
	since   int64

	detail *buildDetail
}

// buildDetail is what the build needs and windows do not.
type buildDetail struct {
	// deps are a.deps in full.
	deps []delivery.Deployment
	// graphs are the commit graphs by repository; each node knows the
	// deployment that first deployed it and the merged PR it belongs to.
	graphs map[string]*graph
	// changes[i] are the nodes deployment i deployed in its repository's
	// graph (successes only).
	changes [][]int32
	// prMerge[p] is merged PR p's merge commit node, or -1 when not stored.
	prMerge   []int32
	nameIndex map[string]int32
}

// node finds a commit of the build.
func (d *buildDetail) node(repo, sha string) (*graph, int32, bool) {
	g := d.graphs[repo]
	if g == nil {
		return nil, 0, false
	}
	n, ok := g.lookup(sha)
	return g, n, ok
}

type envKey struct{ repo, env string }

// Analyze runs the window-independent part of every metric over in.
func Analyze(in Input) *Analysis {
	known := knownItems(in.WorkItems)
	a := analyzeChanges(in, packCommits(in.Commits, known))
	first := map[int]depRef{}
	a.firstDeployments(known, in.PullRequests, first)
	attribute(a.rules, in.WorkItems, []*Analysis{a}, a)
	a.addWorkItemFacts(in.WorkItems, first)
	return a
}

// ProjectBuilder analyzes one project a repository at a time, so that only
// one repository's commits are in memory at once: change sets, lead time
// items and PR facts are local to a repository; incident attribution and
// work item lead time, which span the project, are done by Finish from
// what each repository left. The Set it returns gives the figures Analyze
// gives over the whole project.
type ProjectBuilder struct {
	in    Input // rules, backfill start and the project's work items
	known map[int]bool
	parts []RepositoryPart
}

// RepositoryPart is one repository's analysis within its project, before
// the project's incidents are attributed. A server keeps it so that a
// change elsewhere in the project does not read this repository again; it
// stays valid while the project's rules and work items do not change.
type RepositoryPart struct {
	a *Analysis
	// first is the repository's first deployment of each work item.
	first map[int]depRef
}

// NewProjectBuilder starts a project from in's rules, backfill start and
// work items; in's commits, PRs and deployments are ignored.
func NewProjectBuilder(in Input) *ProjectBuilder {
	in.Rules = in.Rules.OrDefaults()
	return &ProjectBuilder{in: Input{Rules: in.Rules, Project: in.Project, CollectedSince: in.CollectedSince, WorkItems: in.WorkItems},
		known: knownItems(in.WorkItems)}
}

// AddRepository analyzes one repository: its commits, its PRs and its
// deployment candidates (a deployment of no repository may come as a
// repository of its own). The analysis is compacted at once.
func (b *ProjectBuilder) AddRepository(commits []delivery.Commit, prs []delivery.PullRequest, deployments []delivery.Deployment) RepositoryPart {
	return b.add(packCommits(commits, b.known), prs, deployments)
}

// AddCommits is AddRepository with the repository's commits packed as
// they were read (nil for a repository without stored commits).
func (b *ProjectBuilder) AddCommits(commits *Commits, prs []delivery.PullRequest, deployments []delivery.Deployment) RepositoryPart {
	repos := map[string]*Commits{}
	if commits != nil {
		repos[commits.repo] = commits
	}
	return b.add(repos, prs, deployments)
}

// AddPart adds a repository analyzed by an earlier builder of the project.
func (b *ProjectBuilder) AddPart(p RepositoryPart) { b.parts = append(b.parts, p) }

func (b *ProjectBuilder) add(repos map[string]*Commits, prs []delivery.PullRequest, deployments []delivery.Deployment) RepositoryPart {
	in := b.in
	in.PullRequests, in.Deployments = prs, deployments
	a := analyzeChanges(in, repos)
	p := RepositoryPart{first: map[int]depRef{}}
	a.firstDeployments(b.known, prs, p.first)
	p.a = a.Compact()
	b.parts = append(b.parts, p)
	return p
}

// Finish attributes the project's incidents and records its work item lead
// times, and returns the repositories' analyses with a last one holding
// what belongs to no repository (unattributed incidents, work item facts).
// The parts are not changed: each analysis in the Set is a copy sharing
// their facts, with the project's incidents.
func (b *ProjectBuilder) Finish() Set {
	host := &Analysis{rules: b.in.Rules, attributed: map[int][]int{}}
	host.setCoverage(b.in)
	set := make(Set, 0, len(b.parts)+1)
	first := map[int]depRef{}
	for _, p := range b.parts {
		c := *p.a
		c.incidents, c.incDep, c.attributed = nil, nil, map[int][]int{}
		c.setCoverage(b.in) // a part kept from an earlier build takes today's
		set = append(set, &c)
		for id, r := range p.first {
			if cur, seen := first[id]; !seen || r.before(cur) {
				first[id] = r
			}
		}
	}
	attribute(b.in.Rules, b.in.WorkItems, set, host)
	host.addWorkItemFacts(b.in.WorkItems, first)
	return append(set, host)
}

// analyzeChanges is Analyze's repository-local part: classification, change
// sets, recoveries, PR facts and lead time items, over in's PRs and
// deployments and the commits of repos (in.Commits is not read).
func analyzeChanges(in Input, repos map[string]*Commits) *Analysis {
	a := &Analysis{
		rules:      in.Rules.OrDefaults(),
		attributed: make(map[int][]int),
		detail:     &buildDetail{graphs: make(map[string]*graph, len(repos)), nameIndex: make(map[string]int32)},
	}
	for repo, c := range repos {
		a.detail.graphs[repo] = newGraph(c)
	}
	a.setCoverage(in)
	a.classify(in.Deployments)
	a.walkChanges(in.CollectedSince)
	a.linkRecoveries()
	a.collectPRs(in.PullRequests, in.WorkItems)
	a.leadOff = make([]int32, len(a.deps)+1)
	for i := range a.deps {
		a.leadTimeItems(i)
		a.leadOff[i+1] = int32(len(a.lead))
	}
	return a
}

// Compact drops the build's detail (the commit index, change sets and the
// deployment of each commit), keeping what windows need. A server calls it
// so that the commits can be garbage collected; afterwards Changes and
// DeployedBy return nothing.
func (a *Analysis) Compact() *Analysis {
	a.detail = nil
	a.lead = fit(a.lead)
	a.prs = fit(a.prs)
	return a
}

// fit returns s in an array of its length: appends leave up to a quarter
// (and for small slices double) of the length unused, which a long-lived
// fact slice should not keep.
func fit[S ~[]E, E any](s S) S {
	if cap(s) == len(s) {
		return s
	}
	return append(S(nil), s...)
}

// classify keeps the production deployments, ordered so that "previous" and
// "next" follow finish time; the id breaks ties for repeatable results. The
// names a build-rule candidate was matched by are dropped: the matched one
// is its environment now.
func (a *Analysis) classify(candidates []delivery.Deployment) {
	deps := a.detail.deps
	for _, d := range Classify(a.rules, candidates) {
		if d.Production {
			d.Pipeline, d.Tags, d.Stages = "", nil, nil
			deps = append(deps, d)
		}
	}
	slices.SortStableFunc(deps, func(x, y delivery.Deployment) int {
		return cmp.Or(x.FinishedAt.Compare(y.FinishedAt), cmp.Compare(x.ID, y.ID))
	})
	a.detail.deps = deps
	a.deps = make([]depFact, len(deps))
	for i, d := range deps {
		a.deps[i] = a.depFact(d)
	}
	a.changeCount = make([]int32, len(a.deps))
}

// walkChanges computes the changes of each successful production deployment:
// commits reachable from its SHA and not from the SHA of the previous
// successful production deployment of the same repository and environment.
// A commit is deployed by the first deployment whose changes contain it.
func (a *Analysis) walkChanges(collectedSince time.Time) {
	previous := make(map[envKey]string)
	a.detail.changes = make([][]int32, len(a.deps))
	for i, d := range a.detail.deps {
		if OutcomeOf(d.Result) != OutcomeSuccess {
			continue
		}
		key := envKey{d.RepositoryID, d.Environment}
		prevSHA, hasPrev := previous[key]
		previous[key] = d.SHA
		g, head, ok := a.detail.node(d.RepositoryID, d.SHA)
		if !ok {
			continue // deployed version not (yet) stored: no known changes
		}
		// A predecessor whose SHA is not stored is as good as none: without
		// the backfill limit its "changes" would be all of history.
		base := int32(-1)
		if hasPrev {
			if b, ok := g.lookup(prevSHA); ok {
				base = b
			}
		}
		for _, n := range g.between(head, base) {
			if base < 0 && !collectedSince.IsZero() && g.authored[n] < collectedSince.UnixNano() {
				continue
			}
			a.detail.changes[i] = append(a.detail.changes[i], n)
			if g.deployedBy[n] < 0 {
				g.deployedBy[n] = int32(i)
			}
		}
		a.changeCount[i] = int32(len(a.detail.changes[i]))
	}
}

// linkRecoveries finds, for each failed deployment, the next successful one
// of the same repository and environment, walking backwards in time.
func (a *Analysis) linkRecoveries() {
	a.nextSuccess = make([]int32, len(a.deps))
	later := make(map[envKey]int32)
	for i := len(a.deps) - 1; i >= 0; i-- {
		d := a.detail.deps[i]
		key := envKey{d.RepositoryID, d.Environment}
		a.nextSuccess[i] = -1
		if OutcomeOf(d.Result) == OutcomeSuccess {
			later[key] = int32(i)
		} else if j, ok := later[key]; ok {
			a.nextSuccess[i] = j
		}
	}
}

// Deployments returns the counted production deployments, ordered by finish
// time, with Production set.
func (a *Analysis) Deployments() []delivery.Deployment {
	out := make([]delivery.Deployment, len(a.deps))
	for i := range a.deps {
		out[i] = a.deployment(i)
	}
	return out
}

// Changes returns the SHAs of the commits the deployment deployed (its
// changes, which may include commits an earlier deployment already deployed
// after a rollback); nil for failures, unknown ids and after Compact.
func (a *Analysis) Changes(deploymentID string) []string {
	i := a.deploymentIndex(deploymentID)
	if i < 0 || a.detail == nil {
		return nil
	}
	g := a.detail.graphs[a.detail.deps[i].RepositoryID]
	shas := make([]string, len(a.detail.changes[i]))
	for j, n := range a.detail.changes[i] {
		shas[j] = g.shaString(n)
	}
	return shas
}

// DeployedBy returns the first successful production deployment whose
// changes contain the commit (before Compact).
func (a *Analysis) DeployedBy(repositoryID, sha string) (delivery.Deployment, bool) {
	if a.detail == nil {
		return delivery.Deployment{}, false
	}
	g, n, ok := a.detail.node(repositoryID, sha)
	if !ok || g.deployedBy[n] < 0 {
		return delivery.Deployment{}, false
	}
	return a.deployment(int(g.deployedBy[n])), true
}

func (a *Analysis) deploymentIndex(id string) int {
	return slices.IndexFunc(a.deps, func(d depFact) bool { return d.id == id })
}

// setCoverage records in's project and collected-since.
func (a *Analysis) setCoverage(in Input) {
	a.project, a.since = in.Project, 0
	if !in.CollectedSince.IsZero() {
		a.since = in.CollectedSince.UnixNano()
	}
}

// clip is the part of w the analysis's project covers: from its
// collected-since on. Empty (From == To) when the project was not yet
// collected in w.
func (a *Analysis) clip(w delivery.Window) delivery.Window {
	if a.since == 0 || a.since <= nanos(w.From) {
		return w
	}
	w.From = fromNanos(a.since)
	if !w.From.Before(w.To) {
		w.From = w.To
	}
	return w
}

// inWindow returns the index range of deployments finishing in [from, to);
// deps are sorted by finish time, so the range is contiguous.
func (a *Analysis) inWindow(w delivery.Window) (lo, hi int) {
	byFinish := func(d depFact, t int64) int { return cmp.Compare(d.finished, t) }
	lo, _ = slices.BinarySearchFunc(a.deps, nanos(w.From), byFinish)
	hi, _ = slices.BinarySearchFunc(a.deps, nanos(w.To), byFinish)
	return lo, hi
}

// name interns a project or repository id.
func (a *Analysis) name(s string) int32 {
	if i, ok := a.detail.nameIndex[s]; ok {
		return i
	}
	i := int32(len(a.names))
	a.names = append(a.names, s)
	a.detail.nameIndex[s] = i
	return i
}
