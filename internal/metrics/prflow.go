package metrics

import (
	"cmp"
	"slices"
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
	// MergeCommitSHA is the commit the merge produced (lastMergeCommit).
	MergeCommitSHA string
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
	// Merged is n: the PRs merged in the window.
	Merged                               int
	Coding, Pickup, Review, Deploy       Stats
	Cycle                                Stats
	MergedWithoutReview                  int
	Size, Comments, Reviewers, Approvals CountStats
	// WorkItemLinked is the share of merged PRs linked to a work item.
	WorkItemLinked Rate
	// PullRequests are the PRs behind the figures, by merge time.
	PullRequests []PRFacts
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

// rawPhases returns the unclamped phase spans and which of them apply.
func (f PRFacts) rawPhases() (spans [phases]time.Duration, ok [phases]bool) {
	set := func(p phase, from, to time.Time) {
		if !from.IsZero() && !to.IsZero() {
			spans[p], ok[p] = to.Sub(from), true
		}
	}
	set(phaseCoding, f.FirstCommitAt, f.OpenedAt)
	set(phasePickup, f.OpenedAt, f.FirstReviewAt)
	set(phaseReview, f.FirstReviewAt, f.MergedAt)
	set(phaseDeploy, f.MergedAt, f.DeployedAt)
	set(phaseCycle, f.FirstCommitAt, f.MergedAt)
	return spans, ok
}

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
	for i, pr := range merged {
		a.prs = append(a.prs, a.prFacts(*pr, known))
		for _, sha := range append([]string{pr.MergeCommitSHA}, pr.CommitSHAs...) {
			k := commitKey{pr.RepositoryID, sha}
			if _, taken := a.prOfCommit[k]; !taken && sha != "" {
				a.prOfCommit[k] = i
			}
		}
	}
}

func (a *Analysis) prFacts(pr delivery.PullRequest, known map[int]bool) PRFacts {
	f := PRFacts{
		ID:             pr.ID,
		ProjectID:      pr.ProjectID,
		RepositoryID:   pr.RepositoryID,
		OpenedAt:       pr.OpenedAt(),
		MergedAt:       pr.ClosedAt,
		MergeCommitSHA: pr.MergeCommitSHA,
		WorkItemLinked: len(pr.WorkItemIDs) > 0 || len(mentionedItems(pr.Title+"\n"+pr.Description, known)) > 0,
	}
	for _, sha := range pr.CommitSHAs {
		c, ok := a.commits[commitKey{pr.RepositoryID, sha}]
		if !ok {
			continue
		}
		f.FilesChanged += c.Changes.Files()
		if f.FirstCommitAt.IsZero() || c.AuthoredAt.Before(f.FirstCommitAt) {
			f.FirstCommitAt = c.AuthoredAt
		}
	}
	f.Reviewed, f.FirstReviewAt = firstReview(pr)
	for _, c := range pr.Comments {
		if !c.System {
			f.Comments++
		}
	}
	for _, r := range pr.Reviewers {
		if r.ID == pr.Author {
			continue
		}
		f.Reviewers++
		if r.Vote.Approves() {
			f.Approvals++
		}
	}
	if i, ok := a.deployedBy[commitKey{pr.RepositoryID, pr.MergeCommitSHA}]; ok {
		f.DeploymentID, f.DeployedAt = a.deps[i].ID, a.deps[i].FinishedAt
	}
	spans, ok := f.rawPhases()
	for p, dst := range []**time.Duration{&f.Coding, &f.Pickup, &f.Review, &f.Deploy, &f.Cycle} {
		if ok[p] {
			*dst = new(clamp(spans[p]))
		}
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
func (a *Analysis) PullRequests(w delivery.Window) PRFlow {
	flow := PRFlow{Meta: meta(), Window: w}
	var spans [phases][]time.Duration
	var size, comments, reviewers, approvals []int
	linked := 0
	// prs are sorted by merge time: the window is a contiguous range, and
	// sizing the slices up front avoids copying large structs as they grow.
	lo, _ := slices.BinarySearchFunc(a.prs, w.From, func(f PRFacts, t time.Time) int { return f.MergedAt.Compare(t) })
	hi, _ := slices.BinarySearchFunc(a.prs, w.To, func(f PRFacts, t time.Time) int { return f.MergedAt.Compare(t) })
	flow.PullRequests = make([]PRFacts, 0, hi-lo)
	for i := lo; i < hi; i++ {
		f := &a.prs[i]
		if !w.Matches(f.ProjectID, f.RepositoryID) {
			continue
		}
		flow.PullRequests = append(flow.PullRequests, *f)
		raw, ok := f.rawPhases()
		for p := range phases {
			if ok[p] {
				spans[p] = append(spans[p], raw[p])
			}
		}
		if !f.Reviewed {
			flow.MergedWithoutReview++
		}
		if f.WorkItemLinked {
			linked++
		}
		size = append(size, f.FilesChanged)
		comments = append(comments, f.Comments)
		reviewers = append(reviewers, f.Reviewers)
		approvals = append(approvals, f.Approvals)
	}
	flow.Merged = len(flow.PullRequests)
	flow.Coding, flow.Pickup, flow.Review = Summarize(spans[phaseCoding]), Summarize(spans[phasePickup]), Summarize(spans[phaseReview])
	flow.Deploy, flow.Cycle = Summarize(spans[phaseDeploy]), Summarize(spans[phaseCycle])
	flow.Size, flow.Comments = SummarizeCounts(size), SummarizeCounts(comments)
	flow.Reviewers, flow.Approvals = SummarizeCounts(reviewers), SummarizeCounts(approvals)
	flow.WorkItemLinked = newRate(linked, flow.Merged)
	return flow
}
