package azure

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

func repositoryRow(k store.Key, projectID string, r gitRepository) store.Repository {
	return store.Repository{Key: k, RepoID: r.ID, ProjectID: projectID, Name: r.Name,
		DefaultBranch: r.DefaultBranch, WebURL: firstNonEmpty(r.WebURL, r.RemoteURL), IsDisabled: r.IsDisabled}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// applyPush stores the pushed commits. A push payload lists at most a page
// of commits and no parents or change counts: those arrive with the
// repository's next reconciliation, which upserts the same rows.
func applyPush(ctx context.Context, tx *store.Tx, ev event) (string, error) {
	var push struct {
		Repository gitRepository `json:"repository"`
		Commits    []gitCommit   `json:"commits"`
	}
	if err := decodeResource(ev, &push); err != nil {
		return "", err
	}
	if push.Repository.ID == "" {
		return "", collect.Unreadable(errors.New("push without repository id"))
	}
	if err := tx.UpsertRepository(ctx, repositoryRow(ev.Key, ev.ProjectID, push.Repository)); err != nil {
		return "", err
	}
	for _, c := range push.Commits {
		if err := storeCommit(ctx, tx, ev.Key, ev.ProjectID, push.Repository.ID, c); err != nil {
			return "", err
		}
	}
	return "", nil
}

// storeCommit upserts a commit and links the work items it mentions or lists.
func storeCommit(ctx context.Context, tx *store.Tx, k store.Key, projectID, repoID string, c gitCommit) error {
	if c.CommitID == "" {
		return collect.Unreadable(errors.New("commit without id"))
	}
	row := store.Commit{Key: k, RepoID: repoID, SHA: c.CommitID, ProjectID: projectID,
		AuthorName: c.Author.Name, AuthorEmail: c.Author.Email,
		AuthorDate: c.Author.Date.t, CommitterDate: c.Committer.Date.or(c.Author.Date.t),
		Message: c.Comment, Parents: c.Parents}
	if c.ChangeCounts != nil {
		row.Adds, row.Edits, row.Deletes = c.ChangeCounts.Add, c.ChangeCounts.Edit, c.ChangeCounts.Delete
	}
	if err := tx.UpsertCommit(ctx, row); err != nil {
		return err
	}
	target := repoID + ":" + c.CommitID
	for _, id := range delivery.Mentions(c.Comment) {
		if err := tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: k, Container: azureContainer, WorkItemID: int64(id), TargetKind: "commit", TargetID: target, Origin: "mention"}); err != nil {
			return err
		}
	}
	for _, wi := range c.WorkItems {
		if id, err := strconv.ParseInt(wi.ID, 10, 64); err == nil {
			if err := tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: k, Container: azureContainer, WorkItemID: id, TargetKind: "commit", TargetID: target, Origin: "commit_ref"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyPullRequest stores a PR as the event shows it. The event's creation
// time orders versions: an older event arriving late changes nothing.
// git.pullrequest.merged means "merge attempted"; completion is an update
// with status completed — both are simply the PR's state at that time.
func applyPullRequest(ctx context.Context, tx *store.Tx, ev event) (string, error) {
	var pr pullRequest
	if err := decodeResource(ev, &pr); err != nil {
		return "", err
	}
	return storePullRequest(ctx, tx, ev, pr)
}

func storePullRequest(ctx context.Context, tx *store.Tx, ev event, pr pullRequest) (string, error) {
	if pr.PullRequestID == 0 || pr.Repository.ID == "" {
		return "", collect.Unreadable(errors.New("pull request without id or repository"))
	}
	if err := tx.UpsertRepository(ctx, repositoryRow(ev.Key, ev.ProjectID, pr.Repository)); err != nil {
		return "", err
	}
	row := store.PullRequest{Key: ev.Key, PRID: pr.PullRequestID, ProjectID: ev.ProjectID, RepoID: pr.Repository.ID,
		Title: pr.Title, Description: pr.Description, Status: pr.Status, IsDraft: pr.IsDraft,
		AuthorID: pr.CreatedBy.ID, AuthorName: pr.CreatedBy.DisplayName, SourceRef: pr.SourceRefName,
		TargetRef: pr.TargetRefName, CreatedAt: pr.CreationDate.or(ev.At), ClosedAt: pr.ClosedDate.ptr(),
		ProviderUpdatedAt: ev.At}
	if pr.LastMergeCommit != nil && pr.Status == "completed" {
		row.MergeCommit = pr.LastMergeCommit.CommitID
	}
	wrote, err := tx.UpsertPullRequest(ctx, row)
	if err != nil || !wrote {
		if !wrote && err == nil {
			return "older than the stored pull request", nil
		}
		return "", err
	}
	ref := pr.ref(ev.IntegrationID)
	for _, r := range pr.Reviewers {
		if r.IsContainer && r.Vote == 0 {
			continue // a group asked to review; it never votes itself
		}
		rv := store.Reviewer{ReviewerID: r.ID, DisplayName: r.DisplayName, Vote: r.Vote, IsRequired: r.IsRequired}
		if r.Vote != 0 {
			at := ev.At // the vote is no later than the event that shows it
			rv.VotedAt = &at
		}
		if err := tx.UpsertReviewer(ctx, ref, rv); err != nil {
			return "", err
		}
	}
	for _, c := range pr.Commits {
		if err := tx.AddPRCommit(ctx, ref, c.CommitID, c.Author.Date.ptr()); err != nil {
			return "", err
		}
	}
	target := ref.Target()
	link := func(id int64, origin string) error {
		if err := tx.AddPRWorkItem(ctx, ref, azureWorkItem(id)); err != nil {
			return err
		}
		return tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: ev.Key, Container: azureContainer, WorkItemID: id, TargetKind: "pull_request", TargetID: target, Origin: origin})
	}
	for _, ref := range pr.WorkItemRefs {
		if id, err := strconv.ParseInt(ref.ID, 10, 64); err == nil {
			if err := link(id, "pr_ref"); err != nil {
				return "", err
			}
		}
	}
	for _, id := range delivery.Mentions(pr.Title + "\n" + pr.Description) {
		if err := tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: ev.Key, Container: azureContainer, WorkItemID: int64(id), TargetKind: "pull_request", TargetID: target, Origin: "mention"}); err != nil {
			return "", err
		}
	}
	return "", nil
}

// applyPRComment stores a comment's metadata (never its text) and the PR it
// belongs to, as the event shows it.
func applyPRComment(ctx context.Context, tx *store.Tx, ev event) (string, error) {
	var r struct {
		Comment     prComment   `json:"comment"`
		PullRequest pullRequest `json:"pullRequest"`
	}
	if err := decodeResource(ev, &r); err != nil {
		return "", err
	}
	if r.Comment.ID == 0 {
		return "", collect.Unreadable(errors.New("comment without id"))
	}
	if _, err := storePullRequest(ctx, tx, ev, r.PullRequest); err != nil {
		return "", err
	}
	thread, ok := r.Comment.threadID()
	if !ok {
		// The PR is stored; the comment waits for reconciliation, which
		// reads the PR's threads with their ids.
		return "comment event without its thread link: the comment is collected by reconciliation", nil
	}
	in, err := tx.GetIntegrationByID(ctx, ev.IntegrationID)
	if err != nil {
		return "", err
	}
	// The integration's own comments (PanDev's quality comment) are not review.
	own := in.AccountID != "" && r.Comment.Author.ID == in.AccountID
	published := r.Comment.PublishedDate.or(ev.At)
	return "", tx.UpsertComment(ctx, r.PullRequest.ref(ev.IntegrationID), store.Comment{
		ThreadID: thread, CommentID: r.Comment.ID, AuthorID: r.Comment.Author.ID, AuthorName: r.Comment.Author.DisplayName,
		CommentType: r.Comment.CommentType, IsSystem: r.Comment.CommentType == "system" || own, IsDeleted: r.Comment.IsDeleted,
		PublishedAt: published, UpdatedAt: r.Comment.LastUpdatedDate.or(published)})
}

// applyRepository stores repository lifecycle events; a deleted repository
// is kept, disabled, so its history stays explainable.
func applyRepository(ctx context.Context, tx *store.Tx, ev event) (string, error) {
	var r struct {
		Repository     gitRepository `json:"repository"`
		RepositoryID   string        `json:"repositoryId"`
		RepositoryName string        `json:"repositoryName"`
	}
	if err := decodeResource(ev, &r); err != nil {
		return "", err
	}
	repo := r.Repository
	if repo.ID == "" {
		repo.ID, repo.Name = r.RepositoryID, r.RepositoryName
	}
	if repo.ID == "" {
		return "", collect.Unreadable(errors.New("repository event without repository id"))
	}
	if strings.HasSuffix(ev.EventType, ".deleted") {
		repo.IsDisabled = true
	}
	return "", tx.UpsertRepository(ctx, repositoryRow(ev.Key, ev.ProjectID, repo))
}
