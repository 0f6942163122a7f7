package store

import (
	"context"
	"database/sql"
	"time"
)

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
		ON CONFLICT (integration_id, pr_id) DO UPDATE SET
			project_id = excluded.project_id, repo_id = excluded.repo_id, title = excluded.title,
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
func (q queries) UpsertReviewer(ctx context.Context, integrationID string, prID int64, r Reviewer) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO pr_reviewers (integration_id, pr_id, reviewer_id, display_name, vote, voted_at, is_required)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (integration_id, pr_id, reviewer_id) DO UPDATE SET
			display_name = excluded.display_name, vote = excluded.vote, is_required = excluded.is_required,
			-- a vote's time changes when the vote does (or was unknown), or
			-- moves earlier: an event only bounds it (no later than the
			-- event), the vote's thread says when it was cast
			voted_at = CASE
				WHEN excluded.voted_at IS NULL THEN pr_reviewers.voted_at
				WHEN pr_reviewers.voted_at IS NULL OR pr_reviewers.vote <> excluded.vote
					OR excluded.voted_at < pr_reviewers.voted_at THEN excluded.voted_at
				ELSE pr_reviewers.voted_at END`,
		integrationID, prID, r.ReviewerID, r.DisplayName, r.Vote, nullTime(r.VotedAt), r.IsRequired)
	return mapErr(err)
}

// UpsertComment stores a PR comment's metadata.
func (q queries) UpsertComment(ctx context.Context, integrationID string, prID int64, c Comment) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO pr_comments (integration_id, pr_id, thread_id, comment_id, author_id, author_name, comment_type,
			is_system, is_deleted, published_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (integration_id, pr_id, thread_id, comment_id) DO UPDATE SET
			author_id = excluded.author_id, author_name = excluded.author_name, comment_type = excluded.comment_type,
			is_system = excluded.is_system, is_deleted = excluded.is_deleted, updated_at = excluded.updated_at
		WHERE pr_comments.updated_at <= excluded.updated_at`,
		integrationID, prID, c.ThreadID, c.CommentID, c.AuthorID, c.AuthorName, c.CommentType,
		c.IsSystem, c.IsDeleted, utc(c.PublishedAt), utc(c.UpdatedAt))
	return mapErr(err)
}

// AddPRCommit records that a commit belongs to a PR, with its author date
// when the caller knows it (nil keeps a date stored before: webhook
// payloads list a PR's commits without dates).
func (q queries) AddPRCommit(ctx context.Context, integrationID string, prID int64, sha string, authoredAt *time.Time) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO pr_commits (integration_id, pr_id, sha, authored_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (integration_id, pr_id, sha) DO UPDATE SET authored_at = COALESCE(excluded.authored_at, pr_commits.authored_at)`,
		integrationID, prID, sha, nullTime(authoredAt))
	return mapErr(err)
}

// AddPRWorkItem records a PR's work item ref.
func (q queries) AddPRWorkItem(ctx context.Context, integrationID string, prID, workItemID int64) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO pr_work_items (integration_id, pr_id, work_item_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, integrationID, prID, workItemID)
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
func (q queries) GetPullRequest(ctx context.Context, workspaceID, integrationID string, prID int64) (PullRequest, error) {
	return scanPR(q.q.QueryRowContext(ctx, `SELECT `+prColumns+` FROM pull_requests
		WHERE workspace_id = $1 AND integration_id = $2 AND pr_id = $3`, workspaceID, integrationID, prID))
}

// Cursor is this PR's position in ListPullRequests.
func (p PullRequest) Cursor() Cursor { return Cursor{Time: p.CreatedAt, Num: p.PRID} }

// ListPullRequests lists PRs created in the window, newest first.
func (q queries) ListPullRequests(ctx context.Context, f Filter) ([]PullRequest, error) {
	from, to := f.bounds()
	at, _, num := f.after()
	rows, err := q.q.QueryContext(ctx, `SELECT `+prColumns+` FROM pull_requests
		WHERE workspace_id = $1 AND ($2 = '' OR project_id = $2) AND ($3 = '' OR repo_id = $3)
			AND created_at >= $4 AND created_at < $5 AND (created_at < $7 OR (created_at = $7 AND pr_id > $8))
		ORDER BY created_at DESC, pr_id LIMIT $6`,
		f.WorkspaceID, f.ProjectID, f.RepoID, from, to, f.limit(), at, num)
	return collect(rows, err, scanPR)
}

// PRDetails is everything stored about one PR besides its row.
type PRDetails struct {
	Reviewers   []Reviewer
	Comments    []Comment
	Commits     []string
	WorkItemIDs []int64
	// FirstCommitAt is the earliest author date of the PR's commits as the
	// PR commits API reported them; nil when none was reported.
	FirstCommitAt *time.Time
}

// GetPRDetails returns a PR's reviewers, comments, commits and work item refs.
func (q queries) GetPRDetails(ctx context.Context, integrationID string, prID int64) (PRDetails, error) {
	var d PRDetails
	var err error
	rows, qerr := q.q.QueryContext(ctx, `SELECT reviewer_id, display_name, vote, voted_at, is_required
		FROM pr_reviewers WHERE integration_id = $1 AND pr_id = $2 ORDER BY reviewer_id`, integrationID, prID)
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
		is_deleted, published_at, updated_at FROM pr_comments WHERE integration_id = $1 AND pr_id = $2
		ORDER BY published_at, thread_id, comment_id`, integrationID, prID)
	if d.Comments, err = collect(rows, qerr, func(r rowScanner) (Comment, error) {
		var c Comment
		err := r.Scan(&c.ThreadID, &c.CommentID, &c.AuthorID, &c.AuthorName, &c.CommentType, &c.IsSystem,
			&c.IsDeleted, &c.PublishedAt, &c.UpdatedAt)
		return c, mapErr(err)
	}); err != nil {
		return d, err
	}
	rows, qerr = q.q.QueryContext(ctx, `SELECT sha, authored_at FROM pr_commits WHERE integration_id = $1 AND pr_id = $2 ORDER BY sha`,
		integrationID, prID)
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
	rows, qerr = q.q.QueryContext(ctx, `SELECT work_item_id FROM pr_work_items WHERE integration_id = $1 AND pr_id = $2
		ORDER BY work_item_id`, integrationID, prID)
	d.WorkItemIDs, err = collect(rows, qerr, scanOne[int64])
	return d, err
}

// scanOne scans a single-column row.
func scanOne[T any](r rowScanner) (T, error) {
	var v T
	return v, mapErr(r.Scan(&v))
}
