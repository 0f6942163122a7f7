package delivery

import "time"

// PRStatus is the status of a pull request as the provider reports it.
type PRStatus string

// Pull request statuses. Only PRCompleted means merged; an abandoned PR is
// closed without merging.
const (
	PRActive    PRStatus = "active"
	PRCompleted PRStatus = "completed"
	PRAbandoned PRStatus = "abandoned"
)

// Vote is a reviewer's vote on a pull request, with Azure DevOps' values.
type Vote int

// Reviewer votes.
const (
	VoteRejected                Vote = -10
	VoteWaitingForAuthor        Vote = -5
	VoteNone                    Vote = 0
	VoteApprovedWithSuggestions Vote = 5
	VoteApproved                Vote = 10
)

// Approves reports whether the vote is an approval (10 or 5).
func (v Vote) Approves() bool {
	return v == VoteApproved || v == VoteApprovedWithSuggestions
}

// PullRequest is a pull request with the activity the metrics need.
type PullRequest struct {
	ID           int
	ProjectID    string
	RepositoryID string
	Status       PRStatus
	// IsDraft is the current draft flag; a PR created as draft and later
	// published has IsDraft false and PublishedAt set.
	IsDraft     bool
	CreatedAt   time.Time
	PublishedAt time.Time // when a PR created as draft was published; zero otherwise
	ClosedAt    time.Time // merge time for a completed PR
	Author      string    // author identity, compared with reviewer and comment authors
	// MergeCommitSHA is lastMergeCommit: the commit the merge produced.
	MergeCommitSHA string
	CommitSHAs     []string
	// FirstCommitAt is the earliest author date of the PR's commits as the
	// PR commits API reports them (also commits authored before the stored
	// history); zero when unknown, then the stored commits decide.
	FirstCommitAt time.Time
	Reviewers     []Reviewer
	Comments      []Comment
	WorkItemIDs   []int // the PR's work item refs
	Title         string
	Description   string
}

// Merged reports whether the PR was merged: its status is completed.
// A git.pullrequest.merged event alone means only "merge attempted".
func (p PullRequest) Merged() bool {
	return p.Status == PRCompleted
}

// OpenedAt is when the PR was opened for review: its creation, or its
// publication for a PR created as draft.
func (p PullRequest) OpenedAt() time.Time {
	if !p.PublishedAt.IsZero() {
		return p.PublishedAt
	}
	return p.CreatedAt
}

// Reviewer is a reviewer of a pull request and the vote they cast.
type Reviewer struct {
	ID   string // identity, comparable with PullRequest.Author
	Vote Vote
	// VotedAt comes from the vote-update system thread; zero when unknown.
	VotedAt time.Time
}

// Comment is one comment of a pull request thread.
type Comment struct {
	Author string
	At     time.Time
	// System marks comments of system threads (vote updates, pushes, ...),
	// which are not review activity.
	System bool
}
