package metrics

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// PRFacts is what the flow figures know about one merged pull request.
// Times are zero and phases nil where they do not apply.
type PRFacts struct {
	ID           int
	ProjectID    string
	RepositoryID string
	// FirstCommitAt is the earliest authored time of the PR's stored commits.
	FirstCommitAt time.Time
	// OpenedAt is the creation, or the publication of a PR created as draft.
	OpenedAt time.Time
	// FirstReviewAt is the first review activity with a known time.
	FirstReviewAt time.Time
	MergedAt      time.Time
	// DeploymentID and DeployedAt name the first successful production
	// deployment containing the merge commit.
	DeploymentID string
	DeployedAt   time.Time
	// Reviewed is false for a PR merged with no review activity: it has no
	// pickup and no review phase, but its cycle time counts.
	Reviewed bool

	// Phases, clamped at 0; see METRICS.md "Pull-request flow".
	Coding, Pickup, Review, Deploy, Cycle *time.Duration

	FilesChanged int // sum of the change counts of its stored commits
	Comments     int // comments outside system threads, the author's included
	Reviewers    int // reviewers other than the author
	Approvals    int // votes of 10 or 5 by reviewers other than the author
	// WorkItemLinked: the PR has work item refs, or its title or description
	// mentions an existing work item.
	WorkItemLinked bool
}

// PRFlow is the pull-request flow of PRs merged in a window.
type PRFlow struct {
	Meta
	Window delivery.Window
	// Merged is n: the PRs merged in the window; PullRequestList lists them.
	Merged                               int
	Coding, Pickup, Review, Deploy       Stats
	Cycle                                Stats
	MergedWithoutReview                  int
	Size, Comments, Reviewers, Approvals CountStats
	// WorkItemLinked is the share of merged PRs linked to a work item.
	WorkItemLinked Rate
}

type phase int

const (
	phaseCoding phase = iota
	phasePickup
	phaseReview
	phaseDeploy
	phaseCycle
	phases
)

// collectPRs computes the facts of every merged PR once, so that windows
// only filter and summarize, and maps each merged PR's merge commit and
// commits to it (the first merge wins for a commit in two PRs).
func (a *Analysis) collectPRs(prs []delivery.PullRequest, items []delivery.WorkItem) {
	known := knownItems(items)
	var merged []*delivery.PullRequest
	for i := range prs {
		if prs[i].Merged() && !prs[i].ClosedAt.IsZero() {
			merged = append(merged, &prs[i])
		}
	}
	slices.SortStableFunc(merged, func(x, y *delivery.PullRequest) int {
		return cmp.Or(x.ClosedAt.Compare(y.ClosedAt), cmp.Compare(x.RepositoryID, y.RepositoryID), cmp.Compare(x.ID, y.ID))
	})
	a.prs = make([]prFact, 0, len(merged))
	a.detail.prMerge = make([]int32, 0, len(merged))
	for i, pr := range merged {
		a.prs = append(a.prs, a.prFact(pr, known))
		g, merge, ok := a.detail.node(pr.RepositoryID, pr.MergeCommitSHA)
		if !ok {
			merge = -1
		}
		a.detail.prMerge = append(a.detail.prMerge, merge)
		if g == nil {
			continue
		}
		claim := func(n int32) {
			if g.prOf[n] < 0 {
				g.prOf[n] = int32(i)
			}
		}
		if merge >= 0 {
			claim(merge)
		}
		for _, sha := range pr.CommitSHAs {
			if n, ok := g.lookup(sha); ok {
				claim(n)
			}
		}
	}
}

func (a *Analysis) prFact(pr *delivery.PullRequest, known map[int]bool) prFact {
	f := prFact{
		id: int32(pr.ID), project: a.name(pr.ProjectID), repo: a.name(pr.RepositoryID), author: a.name(pr.Author),
		opened: nanos(pr.OpenedAt()), merged: nanos(pr.ClosedAt), dep: -1,
		linked: len(pr.WorkItemIDs) > 0 || len(mentionedItems(pr.Title+"\n"+pr.Description, known)) > 0,
	}
	g := a.detail.graphs[pr.RepositoryID]
	for _, sha := range pr.CommitSHAs {
		if g == nil {
			break
		}
		n, ok := g.lookup(sha)
		if !ok {
			continue
		}
		f.files += g.files[n]
		if at := g.authored[n]; f.firstCommit == 0 || at < f.firstCommit {
			f.firstCommit = at
		}
	}
	if at := nanos(pr.FirstCommitAt); at != 0 && (f.firstCommit == 0 || at < f.firstCommit) {
		f.firstCommit = at // a commit authored before the stored history
	}
	reviewed, firstReview := firstReview(*pr)
	f.reviewed, f.firstReview = reviewed, nanos(firstReview)
	for _, c := range pr.Comments {
		if !c.System {
			f.comments++
		}
	}
	for _, r := range pr.Reviewers {
		if r.ID == pr.Author {
			continue
		}
		f.reviewers++
		if r.Vote.Approves() {
			f.approvals++
		}
	}
	if g, n, ok := a.detail.node(pr.RepositoryID, pr.MergeCommitSHA); ok && g.deployedBy[n] >= 0 {
		f.dep, f.deployed = g.deployedBy[n], a.deps[g.deployedBy[n]].finished
	}
	return f
}

// firstReview finds the first review activity: a comment outside system
// threads or a vote, by anyone but the author. A vote whose time is unknown
// (no vote-update thread) still makes the PR reviewed, but cannot date it.
func firstReview(pr delivery.PullRequest) (reviewed bool, first time.Time) {
	note := func(t time.Time) {
		reviewed = true
		if !t.IsZero() && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	for _, c := range pr.Comments {
		if !c.System && c.Author != pr.Author {
			note(c.At)
		}
	}
	for _, r := range pr.Reviewers {
		if r.ID != pr.Author && r.Vote != delivery.VoteNone {
			note(r.VotedAt)
		}
	}
	return reviewed, first
}

// PullRequests returns the flow of PRs merged in w (by merge time) that
// match its project and repository filters.
func (a *Analysis) PullRequests(w delivery.Window) PRFlow { return Set{a}.PullRequests(w) }

// PullRequests returns the flow of PRs merged in w across the set. The
// window's facts are gathered once; each figure is then summarized in
// turn in one reused buffer, so a year's 200k PRs cost a few megabytes
// per request rather than a buffer per figure.
func (s Set) PullRequests(w delivery.Window) PRFlow {
	flow := PRFlow{Meta: s.meta(w), Window: w}
	factBuf := factBuffers.Get().(*[]*prFact)
	defer factBuffers.Put(factBuf)
	facts := (*factBuf)[:0]
	linked := 0
	s.eachPR(w, func(_ *Analysis, f *prFact) {
		facts = append(facts, f)
		if !f.reviewed {
			flow.MergedWithoutReview++
		}
		if f.linked {
			linked++
		}
	})
	// The buffer goes back to the pool without its pointers: they would
	// keep the facts of a replaced analysis alive.
	defer func() { clear(facts[:cap(facts)]); *factBuf = facts[:0] }()
	flow.Merged = len(facts)
	flow.WorkItemLinked = newRate(linked, flow.Merged)

	spanBuf := spanBuffers.Get().(*[]time.Duration)
	defer spanBuffers.Put(spanBuf)
	for p, dst := range []*Stats{&flow.Coding, &flow.Pickup, &flow.Review, &flow.Deploy, &flow.Cycle} {
		spans := (*spanBuf)[:0]
		for _, f := range facts {
			if span, ok := f.phaseSpan(phase(p)); ok {
				spans = append(spans, span)
			}
		}
		*dst, *spanBuf = summarizeOwned(spans), spans[:0]
	}
	countBuf := countBuffers.Get().(*[]int)
	defer countBuffers.Put(countBuf)
	for _, c := range []struct {
		dst *CountStats
		of  func(*prFact) int32
	}{
		{&flow.Size, func(f *prFact) int32 { return f.files }},
		{&flow.Comments, func(f *prFact) int32 { return f.comments }},
		{&flow.Reviewers, func(f *prFact) int32 { return f.reviewers }},
		{&flow.Approvals, func(f *prFact) int32 { return f.approvals }},
	} {
		counts := (*countBuf)[:0]
		for _, f := range facts {
			counts = append(counts, int(c.of(f)))
		}
		*c.dst, *countBuf = summarizeCountsOwned(counts), counts[:0]
	}
	return flow
}

var factBuffers = sync.Pool{New: func() any { return new([]*prFact) }}

var countBuffers = sync.Pool{New: func() any { return new([]int) }}

// PullRequestList returns the facts of the PRs behind PullRequests(w), by
// merge time.
func (a *Analysis) PullRequestList(w delivery.Window) []PRFacts { return Set{a}.PullRequestList(w) }

// PullRequestList returns the facts of the PRs behind PullRequests(w), by
// merge time.
func (s Set) PullRequestList(w delivery.Window) []PRFacts {
	var out []PRFacts
	s.eachPR(w, func(a *Analysis, f *prFact) { out = append(out, a.facts(f)) })
	if len(s) > 1 {
		slices.SortStableFunc(out, func(x, y PRFacts) int {
			return cmp.Or(x.MergedAt.Compare(y.MergedAt), cmp.Compare(x.RepositoryID, y.RepositoryID), cmp.Compare(x.ID, y.ID))
		})
	}
	return out
}

// eachPR calls fn for the PRs merged in w that match its filters; prs are
// sorted by merge time, so the window is a contiguous range.
func (s Set) eachPR(w delivery.Window, fn func(*Analysis, *prFact)) {
	for _, a := range s {
		part := a.clip(w)
		from, to := nanos(part.From), nanos(part.To)
		lo, _ := slices.BinarySearchFunc(a.prs, from, func(f prFact, t int64) int { return cmp.Compare(f.merged, t) })
		hi, _ := slices.BinarySearchFunc(a.prs, to, func(f prFact, t int64) int { return cmp.Compare(f.merged, t) })
		for i := lo; i < hi; i++ {
			f := &a.prs[i]
			if w.MatchesPullRequest(a.names[f.project], a.names[f.repo], a.names[f.author]) {
				fn(a, f)
			}
		}
	}
}
