package github

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubapi"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Page sizes: GitHub's maximum per_page is 100.
const (
	pageSize = 100
	// prChunk is how many PRs are read (reviews, comments, commits) before
	// their rows are written and checkpointed.
	prChunk = 8
	// prCommitsCap is GitHub's cap on a PR's commits list ("Lists a
	// maximum of 250 commits for a pull request").
	prCommitsCap = 250
	// reconcileSlack: a reconciliation re-reads what changed since the
	// watermark less this, so an item updated while the last one ran is
	// not missed.
	reconcileSlack = 30 * time.Minute
)

// Votes as the store keeps them (the Azure DevOps scale the metrics read):
// an approval, and changes requested (waiting for the author).
const (
	voteApproved       = 10
	voteWaitsForAuthor = -5
)

// syncer collects one repository of an integration from a time on.
type syncer struct {
	*collect.Run
	c       *githubapi.Client
	pulls   PullsPath
	runsCap int // the runs list's cap; 0 means GitHub's (runsCap)
}

// Collect runs one resource.
func (s *syncer) Collect(ctx context.Context, res string, cp *collect.Checkpoint) error {
	switch res {
	case resPullRequests:
		if s.pulls.byGraphQL(s.Reconcile) {
			return s.pullRequestsGraphQL(ctx, cp)
		}
		return s.pullRequests(ctx, cp)
	case resCommits:
		return s.commits(ctx, cp)
	case resWorkflowRuns:
		return s.workflowRuns(ctx, cp)
	case resDeployments:
		return s.deployments(ctx, cp)
	case resIssues:
		return s.issues(ctx, cp)
	}
	return fmt.Errorf("collect: unknown resource %q", res)
}

// ownerName is the repository's owner and name, from its project row.
func (s *syncer) ownerName() (string, string, error) {
	owner, name, ok := strings.Cut(s.Project.Name, "/")
	if !ok {
		return "", "", fmt.Errorf("collect: repository %s has no owner/name (%q)", s.Project.ProjectID, s.Project.Name)
	}
	return owner, name, nil
}

// since is where the run reads from: the window's start, or for a
// reconciliation a little before it.
func (s *syncer) since() time.Time {
	if s.Reconcile {
		return s.From.Add(-reconcileSlack)
	}
	return s.From
}

// call runs one go-github call, counts it as a page and maps its error.
func call[T any](ctx context.Context, cp *collect.Checkpoint, f func(context.Context) (T, *gh.Response, error)) (T, *gh.Response, error) {
	v, resp, err := f(ctx)
	cp.Pages++
	return v, resp, classify(err)
}

// allPages reads every page of a list (at most limit items, 0: all).
func allPages[T any](ctx context.Context, cp *collect.Checkpoint, limit int, list func(ctx context.Context, page int) ([]T, *gh.Response, error)) ([]T, error) {
	var out []T
	for page := 1; page != 0; {
		items, resp, err := call(ctx, cp, func(ctx context.Context) ([]T, *gh.Response, error) { return list(ctx, page) })
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if limit > 0 && len(out) >= limit {
			return out[:limit], nil
		}
		page = resp.NextPage
	}
	return out, nil
}

// pullRequests lists the repository's PRs by last update, newest first,
// until one is older than the window, then reads each one's reviews,
// review comments and commits (no list carries them). Cursor: the update
// time and number of the last PR written; a resumed backfill skips those
// listed before it.
func (s *syncer) pullRequests(ctx context.Context, cp *collect.Checkpoint) error {
	owner, name, err := s.ownerName()
	if err != nil {
		return err
	}
	since := s.since()
	var prs []*gh.PullRequest
	for page := 1; page != 0; {
		list, resp, err := call(ctx, cp, func(ctx context.Context) ([]*gh.PullRequest, *gh.Response, error) {
			return s.c.GitHub().PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{State: "all", Sort: "updated",
				Direction: "desc", ListOptions: gh.ListOptions{PerPage: pageSize, Page: page}})
		})
		if err != nil {
			return err
		}
		page = resp.NextPage
		for _, pr := range list {
			if pr.GetUpdatedAt().Before(since) {
				page = 0
				break
			}
			prs = append(prs, pr)
		}
	}
	cp.Total = int64(len(prs))
	prs = afterCursor(prs, cp.Pos)
	for start := 0; start < len(prs); start += prChunk {
		chunk := prs[start:min(start+prChunk, len(prs))]
		got := make([]fetchedPR, len(chunk))
		for i, pr := range chunk {
			if got[i], err = s.readPR(ctx, cp, owner, name, pr); err != nil {
				return err
			}
		}
		items := make([]collect.Fingerprinted, len(got))
		for i, f := range got {
			items[i] = collect.Fingerprinted{Kind: store.SyncPullRequest, Key: f.ref(s.Key.IntegrationID, s.Project.ProjectID).Target(), FP: f.fingerprint()}
		}
		last := chunk[len(chunk)-1]
		cp.Pos = cursor(last)
		if err := s.Write(ctx, resPullRequests, cp, items, func(tx *store.Tx) error {
			for _, f := range got {
				if _, err := writePR(ctx, tx, s.Key, s.Project.ProjectID, f); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// cursor is a PR's place in the list: its update time and number.
func cursor(pr *gh.PullRequest) string {
	return pr.GetUpdatedAt().UTC().Format(time.RFC3339Nano) + "|" + strconv.Itoa(pr.GetNumber())
}

// afterCursor drops the PRs listed up to the cursor (newest first; equal
// times by number, as GitHub breaks ties).
func afterCursor(prs []*gh.PullRequest, pos string) []*gh.PullRequest {
	at, num, ok := strings.Cut(pos, "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	n, nerr := strconv.Atoi(num)
	if !ok || err != nil || nerr != nil {
		return prs
	}
	for i, pr := range prs {
		if pr.GetNumber() == n && pr.GetUpdatedAt().Time.Equal(t) {
			return prs[i+1:]
		}
	}
	// It changed since (listed higher now): resume below its old place.
	for i, pr := range prs {
		if pr.GetUpdatedAt().Before(t) {
			return prs[i:]
		}
	}
	return nil
}

// fetchedPR is a PR with what its own lists bring.
type fetchedPR struct {
	pr       *gh.PullRequest
	reviews  []*gh.PullRequestReview
	comments []*gh.PullRequestComment
	commits  []*gh.RepositoryCommit
	// withCommits: commits were read (a webhook PR has none listed).
	withCommits bool
}

// readPR reads a PR's reviews, review comments and commits (≤ 250).
func (s *syncer) readPR(ctx context.Context, cp *collect.Checkpoint, owner, name string, pr *gh.PullRequest) (fetchedPR, error) {
	return readPR(ctx, s.c, cp, owner, name, pr)
}

func readPR(ctx context.Context, c *githubapi.Client, cp *collect.Checkpoint, owner, name string, pr *gh.PullRequest) (fetchedPR, error) {
	n := pr.GetNumber()
	f := fetchedPR{pr: pr, withCommits: true}
	var err error
	if f.reviews, err = allPages(ctx, cp, 0, func(ctx context.Context, page int) ([]*gh.PullRequestReview, *gh.Response, error) {
		return c.GitHub().PullRequests.ListReviews(ctx, owner, name, n, &gh.ListOptions{PerPage: pageSize, Page: page})
	}); err != nil {
		return f, err
	}
	if f.comments, err = allPages(ctx, cp, 0, func(ctx context.Context, page int) ([]*gh.PullRequestComment, *gh.Response, error) {
		return c.GitHub().PullRequests.ListComments(ctx, owner, name, n, &gh.PullRequestListCommentsOptions{ListOptions: gh.ListOptions{PerPage: pageSize, Page: page}})
	}); err != nil {
		return f, err
	}
	f.commits, err = allPages(ctx, cp, prCommitsCap, func(ctx context.Context, page int) ([]*gh.RepositoryCommit, *gh.Response, error) {
		return c.GitHub().PullRequests.ListCommits(ctx, owner, name, n, &gh.ListOptions{PerPage: pageSize, Page: page})
	})
	return f, err
}

func (f fetchedPR) ref(integrationID, repo string) store.PRRef {
	return store.PRRef{IntegrationID: integrationID, RepoID: repo, PRID: int64(f.pr.GetNumber())}
}

// status is the store's PR status: merged → completed, closed unmerged →
// abandoned, open → active.
func status(pr *gh.PullRequest) string {
	switch {
	case pr.MergedAt != nil:
		return "completed"
	case pr.GetState() == "closed":
		return "abandoned"
	}
	return "active"
}

// votes are each reviewer's current vote and when it was cast: the latest
// approval or request for changes (a comment alone is no vote; a dismissed
// review withdraws it).
func votes(reviews []*gh.PullRequestReview) []store.Reviewer {
	var order []string
	by := map[string]*store.Reviewer{}
	for _, r := range reviews {
		u := r.GetUser()
		id := strconv.FormatInt(u.GetID(), 10)
		rv, ok := by[id]
		if !ok {
			rv = &store.Reviewer{ReviewerID: id, DisplayName: u.GetLogin()}
			by[id] = rv
			order = append(order, id)
		}
		at := r.GetSubmittedAt().Time
		switch strings.ToUpper(r.GetState()) {
		case "APPROVED":
			rv.Vote, rv.VotedAt = voteApproved, &at
		case "CHANGES_REQUESTED":
			rv.Vote, rv.VotedAt = voteWaitsForAuthor, &at
		case "DISMISSED":
			rv.Vote = 0
		}
	}
	out := make([]store.Reviewer, 0, len(order))
	for _, id := range order {
		out = append(out, *by[id])
	}
	return out
}

// fingerprint is StoredFingerprints' value for the PR as fetched.
func (f fetchedPR) fingerprint() string {
	merge, sum := "", 0
	if f.pr.MergedAt != nil {
		merge = f.pr.GetMergeCommitSHA()
	}
	for _, r := range votes(f.reviews) {
		sum += r.Vote
	}
	return fmt.Sprintf("%s|%s|%d|%d", status(f.pr), merge, len(f.comments), sum)
}

// writePR stores a PR with its reviewers, review comments and commits,
// unless a newer version is stored; it says whether it wrote.
func writePR(ctx context.Context, tx *store.Tx, k store.Key, projectID string, f fetchedPR) (bool, error) {
	pr := f.pr
	if pr.GetNumber() == 0 {
		return false, collect.Unreadable(fmt.Errorf("pull request without number"))
	}
	row := store.PullRequest{Key: k, PRID: int64(pr.GetNumber()), ProjectID: projectID, RepoID: projectID,
		Title: pr.GetTitle(), Description: pr.GetBody(), Status: status(pr), IsDraft: pr.GetDraft(),
		AuthorID: strconv.FormatInt(pr.GetUser().GetID(), 10), AuthorName: pr.GetUser().GetLogin(),
		SourceRef: "refs/heads/" + pr.GetHead().GetRef(), TargetRef: "refs/heads/" + pr.GetBase().GetRef(),
		CreatedAt: pr.GetCreatedAt().Time, ProviderUpdatedAt: pr.GetUpdatedAt().Time}
	if pr.ClosedAt != nil {
		t := pr.GetClosedAt().Time
		row.ClosedAt = &t
	}
	if pr.MergedAt != nil {
		row.MergeCommit = pr.GetMergeCommitSHA()
	}
	wrote, err := tx.UpsertPullRequest(ctx, row)
	if err != nil || !wrote {
		return false, err
	}
	ref := f.ref(k.IntegrationID, projectID)
	if err := writeLinks(ctx, tx, k, ref, f); err != nil { // issues referenced: links.go
		return false, err
	}
	for _, rv := range votes(f.reviews) {
		if err := tx.UpsertReviewer(ctx, ref, rv); err != nil {
			return false, err
		}
	}
	for _, c := range f.comments {
		thread := c.GetPullRequestReviewID()
		if thread == 0 {
			thread = c.GetID()
		}
		if err := tx.UpsertComment(ctx, ref, store.Comment{ThreadID: thread, CommentID: c.GetID(),
			AuthorID: strconv.FormatInt(c.GetUser().GetID(), 10), AuthorName: c.GetUser().GetLogin(), CommentType: "text",
			PublishedAt: c.GetCreatedAt().Time, UpdatedAt: c.GetUpdatedAt().Time}); err != nil {
			return false, err
		}
	}
	for _, c := range f.commits {
		var at *time.Time
		if d := c.GetCommit().GetAuthor().Date; d != nil {
			t := d.Time
			at = &t
		}
		if err := tx.AddPRCommit(ctx, ref, c.GetSHA(), at); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Details reads a PR a delivery named: the PR, its reviews, review
// comments and commits, stored as a backfill stores them.
func (s *syncer) Details(ctx context.Context, args collect.DetailsArgs) error {
	if args.PRID == 0 {
		return nil
	}
	owner, name, err := s.ownerName()
	if err != nil {
		return err
	}
	var cp collect.Checkpoint
	pr, _, err := call(ctx, &cp, func(ctx context.Context) (*gh.PullRequest, *gh.Response, error) {
		return s.c.GitHub().PullRequests.Get(ctx, owner, name, args.PRID)
	})
	if delivery.IsNotFound(err) {
		return nil // gone: nothing to add
	}
	if err != nil {
		return err
	}
	f, err := s.readPR(ctx, &cp, owner, name, pr)
	if err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *store.Tx) error {
		_, err := writePR(ctx, tx, s.Key, s.Project.ProjectID, f)
		return err
	})
}
