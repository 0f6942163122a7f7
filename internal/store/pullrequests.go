package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"
)

// PRRef names one pull request. A provider that numbers pull requests per
// repository (GitHub) has a #1 in every repository, so the repository is
// part of the key; Azure DevOps numbers them per collection, and its
// repository is simply the PR's.
type PRRef struct {
	IntegrationID string
	RepoID        string
	PRID          int64
}

// Target is the PR as a work item link target: "<repo id>:<pr id>".
func (r PRRef) Target() string { return PRTarget(r.RepoID, r.PRID) }

// PRTarget is a PR's work item link target: "<repo id>:<pr id>".
func PRTarget(repoID string, prID int64) string {
	return repoID + ":" + strconv.FormatInt(prID, 10)
}

// PullRequest is a pull request with what the PR-flow metrics need.
type PullRequest struct {
	Key
	PRID        int64
	ProjectID   string
	RepoID      string
	Title       string
	Description string
	Status      string // active, completed, abandoned
	IsDraft     bool
	AuthorID    string
	AuthorName  string
	SourceRef   string
	TargetRef   string
	CreatedAt   time.Time
	PublishedAt *time.Time // set when a draft was published
	ClosedAt    *time.Time
	MergeCommit string
	// ProviderUpdatedAt orders versions of the same PR: an upsert carrying an
	// older value than the stored one changes nothing.
	ProviderUpdatedAt time.Time
}

// Ref is the PR's key.
func (p PullRequest) Ref() PRRef {
	return PRRef{IntegrationID: p.IntegrationID, RepoID: p.RepoID, PRID: p.PRID}
}

// Reviewer is a reviewer of a PR with the vote and when it was cast.
type Reviewer struct {
	ReviewerID  string
	DisplayName string
	Vote        int
	VotedAt     *time.Time
	IsRequired  bool
}

// Comment is one comment of a PR thread (content is not stored).
type Comment struct {
	ThreadID    int64
	CommentID   int64
	AuthorID    string
	AuthorName  string
	CommentType string
	IsSystem    bool
	IsDeleted   bool
	PublishedAt time.Time
	UpdatedAt   time.Time
}

// UpsertPullRequest stores a PR unless the stored version is newer; it
// reports whether the row was written.
func (q queries) UpsertPullRequest(ctx context.Context, p PullRequest) (bool, error) {
	res, err := q.q.ExecContext(ctx, `
		INSERT INTO pull_requests (integration_id, pr_id, workspace_id, project_id, repo_id, title, description, status,
			is_draft, author_id, author_name, source_ref, target_ref, created_at, published_at, closed_at, merge_commit,
			provider_updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (integration_id, repo_id, pr_id) DO UPDATE SET
			project_id = excluded.project_id, title = excluded.title,
			description = excluded.description, status = excluded.status, is_draft = excluded.is_draft,
			author_id = excluded.author_id, author_name = excluded.author_name, source_ref = excluded.source_ref,
			target_ref = excluded.target_ref, created_at = excluded.created_at,
			published_at = COALESCE(excluded.published_at, pull_requests.published_at),
			closed_at = excluded.closed_at, merge_commit = excluded.merge_commit,
			provider_updated_at = excluded.provider_updated_at
		WHERE pull_requests.provider_updated_at <= excluded.provider_updated_at`,
		p.IntegrationID, p.PRID, p.WorkspaceID, p.ProjectID, p.RepoID, p.Title, p.Description, p.Status,
		p.IsDraft, p.AuthorID, p.AuthorName, p.SourceRef, p.TargetRef, utc(p.CreatedAt), nullTime(p.PublishedAt),
		nullTime(p.ClosedAt), p.MergeCommit, utc(p.ProviderUpdatedAt))
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// UpsertReviewer stores a reviewer's current vote.
func (q queries) UpsertReviewer(ctx context.Context, pr PRRef, r Reviewer) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO pr_reviewers (integration_id, repo_id, pr_id, reviewer_id, display_name, vote, voted_at, is_required)
		VALUES ($1, $8, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (integration_id, repo_id, pr_id, reviewer_id) DO UPDATE SET
			display_name = excluded.display_name, vote = excluded.vote, is_required = excluded.is_required,
			-- a vote's time changes when the vote does (or was unknown), or
			-- moves earlier: an event only bounds it (no later than the
			-- event), the vote's thread says when it was cast
			voted_at = CASE
				WHEN excluded.voted_at IS NULL THEN pr_reviewers.voted_at
				WHEN pr_reviewers.voted_at IS NULL OR pr_reviewers.vote <> excluded.vote
					OR excluded.voted_at < pr_reviewers.voted_at THEN excluded.voted_at
				ELSE pr_reviewers.voted_at END`,
		pr.IntegrationID, pr.PRID, r.ReviewerID, r.DisplayName, r.Vote, nullTime(r.VotedAt), r.IsRequired, pr.RepoID)
	return mapErr(err)
}

// UpsertComment stores a PR comment's metadata.
func (q queries) UpsertComment(ctx context.Context, pr PRRef, c Comment) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO pr_comments (integration_id, repo_id, pr_id, thread_id, comment_id, author_id, author_name, comment_type,
			is_system, is_deleted, published_at, updated_at)
		VALUES ($1, $12, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (integration_id, repo_id, pr_id, thread_id, comment_id) DO UPDATE SET
			author_id = excluded.author_id, author_name = excluded.author_name, comment_type = excluded.comment_type,
			is_system = excluded.is_system, is_deleted = excluded.is_deleted, updated_at = excluded.updated_at
		WHERE pr_comments.updated_at <= excluded.updated_at`,
		pr.IntegrationID, pr.PRID, c.ThreadID, c.CommentID, c.AuthorID, c.AuthorName, c.CommentType,
		c.IsSystem, c.IsDeleted, utc(c.PublishedAt), utc(c.UpdatedAt), pr.RepoID)
	return mapErr(err)
}

// AddPRCommit records that a commit belongs to a PR, with its author date
// when the caller knows it (nil keeps a date stored before: webhook
// payloads list a PR's commits without dates).
func (q queries) AddPRCommit(ctx context.Context, pr PRRef, sha string, authoredAt *time.Time) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO pr_commits (integration_id, repo_id, pr_id, sha, authored_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (integration_id, repo_id, pr_id, sha) DO UPDATE SET authored_at = COALESCE(excluded.authored_at, pr_commits.authored_at)`,
		pr.IntegrationID, pr.RepoID, pr.PRID, sha, nullTime(authoredAt))
	return mapErr(err)
}

// AddPRWorkItem records a PR's work item ref.
func (q queries) AddPRWorkItem(ctx context.Context, pr PRRef, w WorkItemRef) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO pr_work_items (integration_id, repo_id, pr_id, container, work_item_id)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, pr.IntegrationID, pr.RepoID, pr.PRID, w.Container, w.ID)
	return mapErr(err)
}

const prColumns = `integration_id, workspace_id, pr_id, project_id, repo_id, title, description, status, is_draft,
	author_id, author_name, source_ref, target_ref, created_at, published_at, closed_at, merge_commit, provider_updated_at`

func scanPR(r rowScanner) (PullRequest, error) {
	var p PullRequest
	var pub, closed sql.NullTime
	err := r.Scan(&p.IntegrationID, &p.WorkspaceID, &p.PRID, &p.ProjectID, &p.RepoID, &p.Title, &p.Description,
		&p.Status, &p.IsDraft, &p.AuthorID, &p.AuthorName, &p.SourceRef, &p.TargetRef, &p.CreatedAt, &pub, &closed,
		&p.MergeCommit, &p.ProviderUpdatedAt)
	p.PublishedAt, p.ClosedAt = timePtr(pub), timePtr(closed)
	if err == sql.ErrNoRows {
		return p, notFound("pull request")
	}
	return p, mapErr(err)
}

// GetPullRequest returns one PR of the workspace.
func (q queries) GetPullRequest(ctx context.Context, workspaceID string, pr PRRef) (PullRequest, error) {
	return scanPR(q.q.QueryRowContext(ctx, `SELECT `+prColumns+` FROM pull_requests
		WHERE workspace_id = $1 AND integration_id = $2 AND repo_id = $3 AND pr_id = $4`,
		workspaceID, pr.IntegrationID, pr.RepoID, pr.PRID))
}

// PullRequestsNumbered returns the workspace's PRs of an integration with
// a number, one per repository that has it, by repository: Azure DevOps
// numbers PRs per collection (at most one), GitHub per repository.
func (q queries) PullRequestsNumbered(ctx context.Context, workspaceID, integrationID string, prID int64) ([]PullRequest, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+prColumns+` FROM pull_requests
		WHERE workspace_id = $1 AND integration_id = $2 AND pr_id = $3 ORDER BY repo_id`, workspaceID, integrationID, prID)
	return collect(rows, err, scanPR)
}

// Cursor is this PR's position in ListPullRequests.
func (p PullRequest) Cursor() Cursor { return Cursor{Time: p.CreatedAt, Key: p.RepoID, Num: p.PRID} }

// ListPullRequests lists PRs created in the window, newest first.
func (q queries) ListPullRequests(ctx context.Context, f Filter) ([]PullRequest, error) {
	from, to := f.bounds()
	at, repo, num := f.after()
	rows, err := q.q.QueryContext(ctx, `SELECT `+prColumns+` FROM pull_requests
		WHERE workspace_id = $1 AND ($2 = '' OR project_id = $2) AND ($3 = '' OR repo_id = $3)
			AND created_at >= $4 AND created_at < $5
			AND (created_at < $7 OR (created_at = $7 AND (repo_id > $9 OR (repo_id = $9 AND pr_id > $8))))
		ORDER BY created_at DESC, repo_id, pr_id LIMIT $6`,
		f.WorkspaceID, f.ProjectID, f.RepoID, from, to, f.limit(), at, num, repo)
	return collect(rows, err, scanPR)
}

// PRDetails is everything stored about one PR besides its row.
type PRDetails struct {
	Reviewers []Reviewer
	Comments  []Comment
	Commits   []string
	WorkItems []WorkItemRef
	// FirstCommitAt is the earliest author date of the PR's commits as the
	// PR commits API reported them; nil when none was reported.
	FirstCommitAt *time.Time
}

// GetPRDetails returns a PR's reviewers, comments, commits and work item refs.
func (q queries) GetPRDetails(ctx context.Context, pr PRRef) (PRDetails, error) {
	var d PRDetails
	var err error
	rows, qerr := q.q.QueryContext(ctx, `SELECT reviewer_id, display_name, vote, voted_at, is_required
		FROM pr_reviewers WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3 ORDER BY reviewer_id`,
		pr.IntegrationID, pr.RepoID, pr.PRID)
	if d.Reviewers, err = collect(rows, qerr, func(r rowScanner) (Reviewer, error) {
		var v Reviewer
		var at sql.NullTime
		err := r.Scan(&v.ReviewerID, &v.DisplayName, &v.Vote, &at, &v.IsRequired)
		v.VotedAt = timePtr(at)
		return v, mapErr(err)
	}); err != nil {
		return d, err
	}
	rows, qerr = q.q.QueryContext(ctx, `SELECT thread_id, comment_id, author_id, author_name, comment_type, is_system,
		is_deleted, published_at, updated_at FROM pr_comments WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3
		ORDER BY published_at, thread_id, comment_id`, pr.IntegrationID, pr.RepoID, pr.PRID)
	if d.Comments, err = collect(rows, qerr, func(r rowScanner) (Comment, error) {
		var c Comment
		err := r.Scan(&c.ThreadID, &c.CommentID, &c.AuthorID, &c.AuthorName, &c.CommentType, &c.IsSystem,
			&c.IsDeleted, &c.PublishedAt, &c.UpdatedAt)
		return c, mapErr(err)
	}); err != nil {
		return d, err
	}
	rows, qerr = q.q.QueryContext(ctx, `SELECT sha, authored_at FROM pr_commits
		WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3 ORDER BY sha`, pr.IntegrationID, pr.RepoID, pr.PRID)
	if d.Commits, err = collect(rows, qerr, func(r rowScanner) (string, error) {
		var sha string
		var at sql.NullTime
		err := r.Scan(&sha, &at)
		if t := timePtr(at); t != nil && (d.FirstCommitAt == nil || t.Before(*d.FirstCommitAt)) {
			d.FirstCommitAt = t
		}
		return sha, mapErr(err)
	}); err != nil {
		return d, err
	}
	rows, qerr = q.q.QueryContext(ctx, `SELECT container, work_item_id FROM pr_work_items
		WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3 ORDER BY container, work_item_id`,
		pr.IntegrationID, pr.RepoID, pr.PRID)
	d.WorkItems, err = collect(rows, qerr, scanWorkItemRef)
	return d, err
}

// scanOne scans a single-column row.
func scanOne[T any](r rowScanner) (T, error) {
	var v T
	return v, mapErr(r.Scan(&v))
}
