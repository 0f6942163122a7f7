package github

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// revEpoch is where an issue's revision counts seconds from: its update
// time orders versions (a late, older delivery changes nothing), and
// seconds since 2000 fit the rev column (a 32-bit INTEGER on PostgreSQL)
// until 2068.
var revEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// issueRev is the revision of an issue as of its update time.
func issueRev(updated time.Time) int {
	if updated.Before(revEpoch) {
		return 0
	}
	return int(updated.Sub(revEpoch) / time.Second)
}

// issueType is the work item type of an issue: its GitHub issue type
// (an organization's Bug, Task, Feature, ...) when it has one, else
// "Issue" — the type the default incident rule reads with the label
// `incident` (adr/0019).
func issueType(i *gh.Issue) string {
	if name := strings.TrimSpace(i.GetType().GetName()); name != "" {
		return name
	}
	return "Issue"
}

// issueItem is an issue as the store keeps a work item: keyed by the
// repository (container) and number; labels as tags ("; " as System.Tags);
// open → Proposed, closed as completed (or without a reason) → Completed,
// closed as not planned or a duplicate → Removed. A closed issue's
// closed_at is its close (and resolution) time whatever the reason, so an
// incident closed as not planned is not left open for ever.
func issueItem(k store.Key, repo string, i *gh.Issue) store.WorkItem {
	w := store.WorkItem{Key: k, Container: repo, WorkItemID: int64(i.GetNumber()), ProjectID: repo,
		Rev: issueRev(i.GetUpdatedAt().Time), Type: issueType(i), Title: i.GetTitle(), State: i.GetState(),
		StateCategory: string(delivery.CategoryProposed), CreatedAt: i.GetCreatedAt().Time, ChangedAt: i.GetUpdatedAt().Time}
	var labels []string
	for _, l := range i.Labels {
		if n := strings.TrimSpace(l.GetName()); n != "" {
			labels = append(labels, n)
		}
	}
	w.Tags = strings.Join(labels, "; ")
	if i.GetState() == "closed" {
		w.StateCategory = string(delivery.CategoryCompleted)
		switch i.GetStateReason() {
		case "not_planned", "duplicate":
			w.StateCategory = string(delivery.CategoryRemoved)
		}
		if i.ClosedAt != nil {
			t := i.GetClosedAt().Time
			w.ClosedAt = &t
		}
	}
	if w.ChangedAt.IsZero() {
		w.ChangedAt = w.CreatedAt
	}
	return w
}

// issueKey is an issue's reconciliation key ("<container>:<id>").
func issueKey(repo string, number int) string { return repo + ":" + strconv.Itoa(number) }

// issues lists the repository's issues updated since the window's start
// (state=all, newest update first: an issue updated during the walk moves
// to the front and is read again, never skipped), a page per write, and
// skips the pull requests GitHub's issue list includes. Cursor: the next
// page. A repository with issues turned off answers 410: nothing to read.
func (s *syncer) issues(ctx context.Context, cp *collect.Checkpoint) error {
	since, repo := s.since(), s.Project.ProjectID
	return eachPage(ctx, s, resIssues, cp, 410, // "Issues are disabled for this repo"
		func(ctx context.Context, owner, name string, page int) ([]*gh.Issue, *gh.Response, error) {
			return s.c.GitHub().Issues.ListByRepo(ctx, owner, name, &gh.IssueListByRepoOptions{State: "all", Sort: "updated",
				Direction: "desc", Since: since, ListOptions: gh.ListOptions{PerPage: pageSize, Page: page}})
		},
		func(list []*gh.Issue) ([]collect.Fingerprinted, func(*store.Tx) error) {
			var rows []store.WorkItem
			var items []collect.Fingerprinted
			for _, i := range list {
				if i.IsPullRequest() {
					continue // a pull request: collected as one
				}
				w := issueItem(s.Key, repo, i)
				rows = append(rows, w)
				items = append(items, collect.Fingerprinted{Kind: store.SyncWorkItem, Key: issueKey(repo, i.GetNumber()), FP: strconv.Itoa(w.Rev)})
			}
			return items, func(tx *store.Tx) error {
				for _, w := range rows {
					if _, err := tx.UpsertWorkItem(ctx, w); err != nil {
						return err
					}
				}
				return nil
			}
		})
}

// applyIssue stores an issue as an issues delivery shows it (opened,
// edited, closed, reopened, labeled, unlabeled, ...); its update time
// orders versions. Deleted: the work item is marked deleted. Transferred:
// it left this repository, so it is marked deleted here (the repository it
// went to delivers and lists it as its own when selected). A deletion
// outranks every version of the same update time: a redelivered older
// action does not bring the issue back.
func applyIssue(ctx context.Context, tx *store.Tx, ev collect.Event) (collect.Applied, error) {
	var p struct {
		Action     string    `json:"action"`
		Issue      *gh.Issue `json:"issue"`
		Repository struct {
			ID int64 `json:"id"`
		} `json:"repository"`
	}
	if err := decode(ev, &p); err != nil {
		return collect.Applied{}, err
	}
	if p.Issue == nil || p.Issue.GetNumber() == 0 || p.Repository.ID == 0 {
		return collect.Applied{}, collect.Unreadable(errors.New("issues event without issue.number or repository.id"))
	}
	if p.Issue.IsPullRequest() {
		return collect.Applied{Ignored: "issues event of a pull request: collected as a pull request"}, nil
	}
	w := issueItem(ev.Key, repoID(p.Repository.ID), p.Issue)
	if p.Action == "deleted" || p.Action == "transferred" {
		w.IsDeleted = true
		w.Rev++
	}
	wrote, err := tx.UpsertWorkItem(ctx, w)
	if err != nil {
		return collect.Applied{}, err
	}
	if !wrote {
		return collect.Applied{Ignored: "older than the stored issue"}, nil
	}
	return collect.Applied{}, nil
}

// applyReviewComment stores a review comment of a pull_request_review_comment
// delivery as the backfill stores the PR's review comments (review
// activity), after the PR (stored when the delivery's version is newer,
// so it is there). A deleted comment is kept marked deleted; the same
// delivery twice is one row.
func applyReviewComment(ctx context.Context, tx *store.Tx, ev collect.Event) (collect.Applied, error) {
	var p struct {
		Action      string                 `json:"action"`
		Comment     *gh.PullRequestComment `json:"comment"`
		PullRequest *gh.PullRequest        `json:"pull_request"`
		Repository  struct {
			ID int64 `json:"id"`
		} `json:"repository"`
	}
	if err := decode(ev, &p); err != nil {
		return collect.Applied{}, err
	}
	if p.PullRequest == nil || p.PullRequest.GetNumber() == 0 || p.Repository.ID == 0 || p.Comment == nil || p.Comment.GetID() == 0 {
		return collect.Applied{}, collect.Unreadable(errors.New("pull_request_review_comment event without pull_request.number, comment.id or repository.id"))
	}
	repo := repoID(p.Repository.ID)
	if _, err := writePR(ctx, tx, ev.Key, repo, fetchedPR{pr: p.PullRequest}); err != nil {
		return collect.Applied{}, err
	}
	ref := store.PRRef{IntegrationID: ev.IntegrationID, RepoID: repo, PRID: int64(p.PullRequest.GetNumber())}
	c := reviewComment(p.Comment)
	c.IsDeleted = p.Action == "deleted"
	if err := tx.UpsertComment(ctx, ref, c); err != nil {
		return collect.Applied{}, err
	}
	return collect.Applied{PR: &ref}, nil
}

// reviewComment is a PR review comment as the store keeps it: its thread
// is the review it belongs to (the comment itself when none).
func reviewComment(c *gh.PullRequestComment) store.Comment {
	thread := c.GetPullRequestReviewID()
	if thread == 0 {
		thread = c.GetID()
	}
	return store.Comment{ThreadID: thread, CommentID: c.GetID(), AuthorID: strconv.FormatInt(c.GetUser().GetID(), 10),
		AuthorName: c.GetUser().GetLogin(), CommentType: "text", PublishedAt: c.GetCreatedAt().Time, UpdatedAt: c.GetUpdatedAt().Time}
}
