package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Handlers routes the event types collected; any other is recorded as
// ignored by the Collector ("event type not collected").
func (*Source) Handlers() map[string]collect.Handler { return handlers }

var handlers = map[string]collect.Handler{
	"pull_request":        {Apply: applyPullRequest},
	"pull_request_review": {Apply: applyReview},
	"push":                {Apply: applyPush},
	"workflow_run":        {Apply: applyWorkflowRun, Rules: true},
	"deployment":          {Apply: applyDeployment, Rules: true},
	"deployment_status":   {Apply: applyDeploymentStatus, Rules: true},
	// Issues as work items, review comments as review activity (issues.go).
	"issues":                      {Apply: applyIssue},
	"pull_request_review_comment": {Apply: applyReviewComment},
	"ping": {Apply: func(context.Context, *store.Tx, collect.Event) (collect.Applied, error) {
		return collect.Applied{Ignored: "ping: GitHub's test delivery of a new webhook carries no activity"}, nil
	}},
}

// prPayload is a pull_request or pull_request_review delivery.
type prPayload struct {
	Action      string                `json:"action"`
	PullRequest *gh.PullRequest       `json:"pull_request"`
	Review      *gh.PullRequestReview `json:"review"`
	Repository  struct {
		ID            int64  `json:"id"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

// decode reads the delivery's payload into v.
func decode(ev collect.Event, v any) error {
	if err := json.Unmarshal(ev.Resource, v); err != nil {
		return collect.Unreadable(fmt.Errorf("payload of %s: %w", ev.EventType, err))
	}
	return nil
}

func readPRPayload(ev collect.Event) (prPayload, error) {
	var p prPayload
	if err := decode(ev, &p); err != nil {
		return p, err
	}
	if p.PullRequest == nil || p.PullRequest.GetNumber() == 0 || p.Repository.ID == 0 {
		return p, collect.Unreadable(errors.New("pull request event without pull_request.number or repository.id"))
	}
	return p, nil
}

// applyPullRequest stores the PR as the delivery shows it (its update
// time orders versions: an older delivery arriving late changes nothing)
// and queues the read of what the payload lacks: reviews, review
// comments and commits.
func applyPullRequest(ctx context.Context, tx *store.Tx, ev collect.Event) (collect.Applied, error) {
	p, err := readPRPayload(ev)
	if err != nil {
		return collect.Applied{}, err
	}
	wrote, err := writePR(ctx, tx, ev.Key, ev.ProjectID, fetchedPR{pr: p.PullRequest})
	if err != nil {
		return collect.Applied{}, err
	}
	if !wrote {
		return collect.Applied{Ignored: "older than the stored pull request"}, nil
	}
	ref := store.PRRef{IntegrationID: ev.IntegrationID, RepoID: ev.ProjectID, PRID: int64(p.PullRequest.GetNumber())}
	return collect.Applied{PR: &ref, Details: &collect.DetailsArgs{IntegrationID: ev.IntegrationID, ProjectID: ev.ProjectID,
		RepoID: ev.ProjectID, EventID: ev.ID, PRID: p.PullRequest.GetNumber()}}, nil
}

// applyReview stores the PR (when the delivery's version is newer) and
// the reviewer's vote with its time: an approval, changes requested, or
// none when dismissed; a comment-only review casts no vote.
func applyReview(ctx context.Context, tx *store.Tx, ev collect.Event) (collect.Applied, error) {
	p, err := readPRPayload(ev)
	if err != nil {
		return collect.Applied{}, err
	}
	if p.Review == nil || p.Review.GetUser().GetID() == 0 {
		return collect.Applied{}, collect.Unreadable(errors.New("pull_request_review event without review.user"))
	}
	if _, err := writePR(ctx, tx, ev.Key, ev.ProjectID, fetchedPR{pr: p.PullRequest}); err != nil {
		return collect.Applied{}, err
	}
	ref := store.PRRef{IntegrationID: ev.IntegrationID, RepoID: ev.ProjectID, PRID: int64(p.PullRequest.GetNumber())}
	review := *p.Review
	if p.Action == "dismissed" {
		review.State = gh.Ptr("DISMISSED")
	}
	state := strings.ToUpper(review.GetState())
	if state != "APPROVED" && state != "CHANGES_REQUESTED" && state != "DISMISSED" {
		return collect.Applied{PR: &ref}, nil // a comment: no vote
	}
	for _, rv := range votes([]*gh.PullRequestReview{&review}) {
		if err := tx.UpsertReviewer(ctx, ref, rv); err != nil {
			return collect.Applied{}, err
		}
	}
	return collect.Applied{PR: &ref}, nil
}

// applyPush stores the commits pushed to the default branch; a push to
// another branch is ignored (its commits arrive with their pull request).
// A push lists at most 20 commits and no parents: the next
// reconciliation's list completes them.
func applyPush(ctx context.Context, tx *store.Tx, ev collect.Event) (collect.Applied, error) {
	var p struct {
		Ref        string       `json:"ref"`
		Deleted    bool         `json:"deleted"`
		Commits    []pushCommit `json:"commits"`
		Repository struct {
			ID            int64  `json:"id"`
			FullName      string `json:"full_name"`
			DefaultBranch string `json:"default_branch"`
		} `json:"repository"`
	}
	if err := decode(ev, &p); err != nil {
		return collect.Applied{}, err
	}
	if p.Repository.ID == 0 {
		return collect.Applied{}, collect.Unreadable(errors.New("push event without repository.id"))
	}
	if p.Ref != "refs/heads/"+p.Repository.DefaultBranch || p.Deleted {
		return collect.Applied{Ignored: "push to " + p.Ref + ", not the default branch: its commits are collected with their pull request"}, nil
	}
	repo := strconv.FormatInt(p.Repository.ID, 10)
	resolve := containers(tx, ev.Key, repo, p.Repository.FullName)
	for _, c := range p.Commits {
		if c.ID == "" {
			return collect.Applied{}, collect.Unreadable(errors.New("push commit without id"))
		}
		if err := tx.UpsertCommit(ctx, store.Commit{Key: ev.Key, RepoID: repo, SHA: c.ID, ProjectID: repo,
			AuthorName: c.Author.Name, AuthorEmail: c.Author.Email, AuthorLogin: c.Author.Username, AuthorDate: c.Timestamp,
			CommitterDate: c.Timestamp, Message: c.Message}); err != nil {
			return collect.Applied{}, err
		}
		if err := linkCommit(ctx, tx, ev.Key, resolve, repo, c.ID, c.Message); err != nil {
			return collect.Applied{}, err
		}
	}
	return collect.Applied{}, nil
}
