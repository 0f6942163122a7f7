package store

import (
	"context"
	"database/sql"
	"time"
)

// PRCommentState is where PanDev's quality comment on a PR stands.
type PRCommentState struct {
	Key
	RepoID      string
	PRID        int64
	ThreadID    int64
	CommentID   int64
	ContentHash string
	PostedAt    *time.Time
	Updates     int
	Status      string // posted, skipped, failed
	Error       string
	UpdatedAt   time.Time
}

// GetPRCommentState returns a PR's comment state; a PR never commented on
// has a zero state (no error).
func (q queries) GetPRCommentState(ctx context.Context, pr PRRef) (PRCommentState, error) {
	s := PRCommentState{Key: Key{IntegrationID: pr.IntegrationID}, RepoID: pr.RepoID, PRID: pr.PRID}
	var posted sql.NullTime
	err := q.q.QueryRowContext(ctx, `
		SELECT workspace_id, thread_id, comment_id, content_hash, posted_at, updates, status, error, updated_at
		FROM pr_comment_state WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3`, pr.IntegrationID, pr.RepoID, pr.PRID).
		Scan(&s.WorkspaceID, &s.ThreadID, &s.CommentID, &s.ContentHash, &posted, &s.Updates, &s.Status, &s.Error, &s.UpdatedAt)
	if err == sql.ErrNoRows {
		return s, nil
	}
	s.PostedAt = timePtr(posted)
	return s, mapErr(err)
}

// SavePRCommentState stores a PR's comment state.
func (q queries) SavePRCommentState(ctx context.Context, s PRCommentState) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO pr_comment_state (integration_id, repo_id, pr_id, workspace_id, thread_id, comment_id, content_hash, posted_at,
			updates, status, error, updated_at)
		VALUES ($1, $12, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (integration_id, repo_id, pr_id) DO UPDATE SET
			thread_id = excluded.thread_id, comment_id = excluded.comment_id, content_hash = excluded.content_hash,
			posted_at = excluded.posted_at, updates = excluded.updates, status = excluded.status,
			error = excluded.error, updated_at = excluded.updated_at`,
		s.IntegrationID, s.PRID, s.WorkspaceID, s.ThreadID, s.CommentID, s.ContentHash, nullTime(s.PostedAt),
		s.Updates, s.Status, s.Error, utc(s.UpdatedAt), s.RepoID)
	return mapErr(err)
}

// CountPRCommentStates counts an integration's comment states by status,
// with the latest error, for the status page.
func (q queries) CountPRCommentStates(ctx context.Context, k Key) (map[string]int, string, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT status, COUNT(*) FROM pr_comment_state
		WHERE integration_id = $1 AND workspace_id = $2 GROUP BY status ORDER BY status`, k.IntegrationID, k.WorkspaceID)
	type pair struct {
		status string
		n      int
	}
	pairs, err := collect(rows, err, func(r rowScanner) (pair, error) {
		var p pair
		return p, mapErr(r.Scan(&p.status, &p.n))
	})
	if err != nil {
		return nil, "", err
	}
	out := map[string]int{}
	for _, p := range pairs {
		out[p.status] = p.n
	}
	var lastErr string
	err = q.q.QueryRowContext(ctx, `SELECT error FROM pr_comment_state
		WHERE integration_id = $1 AND workspace_id = $2 AND status = 'failed' ORDER BY updated_at DESC LIMIT 1`,
		k.IntegrationID, k.WorkspaceID).Scan(&lastErr)
	if err != nil && err != sql.ErrNoRows {
		return out, "", mapErr(err)
	}
	return out, lastErr, nil
}

// ListPRCommentStates lists the PRs of an integration whose comment state
// has a status (failed: the ones to try again after Update token).
func (q queries) ListPRCommentStates(ctx context.Context, integrationID, status string) ([]PRRef, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT repo_id, pr_id FROM pr_comment_state
		WHERE integration_id = $1 AND status = $2 ORDER BY repo_id, pr_id`, integrationID, status)
	return collect(rows, err, func(r rowScanner) (PRRef, error) {
		ref := PRRef{IntegrationID: integrationID}
		return ref, mapErr(r.Scan(&ref.RepoID, &ref.PRID))
	})
}

// PRSize is a pull request's size from its stored commits.
type PRSize struct {
	Commits int // commits of the PR that are stored
	// Listed is how many commits the PR lists, stored or not (GitHub's
	// pull request commits are listed without their change counts).
	Listed        int
	FilesChanged  int        // sum of the stored commits' change counts
	FirstCommitAt *time.Time // earliest author time among them (the commit's, else the PR list's)
}

// GetPRSize sums the change counts of a PR's stored commits.
func (q queries) GetPRSize(ctx context.Context, pr PRRef) (PRSize, error) {
	var s PRSize
	var first flexTime
	err := q.q.QueryRowContext(ctx, `
		SELECT COUNT(c.sha), COUNT(*), COALESCE(SUM(c.adds + c.edits + c.deletes), 0), MIN(COALESCE(c.author_date, pc.authored_at))
		FROM pr_commits pc
		LEFT JOIN commits c ON c.integration_id = pc.integration_id AND c.repo_id = pc.repo_id AND c.sha = pc.sha
		WHERE pc.integration_id = $1 AND pc.repo_id = $2 AND pc.pr_id = $3`, pr.IntegrationID, pr.RepoID, pr.PRID).Scan(&s.Commits, &s.Listed, &s.FilesChanged, &first)
	s.FirstCommitAt = first.ptr()
	return s, mapErr(err)
}

// RepoPR is one PR of a repository's recent history, for comparisons.
type RepoPR struct {
	PRID         int64
	CreatedAt    time.Time
	FilesChanged int
	FirstReview  *time.Time // first comment or vote by someone else than the author
}

// ListRepoPRs lists the PRs of a repository created since a time, with
// their size and first review activity (system threads and the author's
// own comments and votes excluded).
func (q queries) ListRepoPRs(ctx context.Context, integrationID, repoID string, since time.Time) ([]RepoPR, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT p.pr_id, COALESCE(p.published_at, p.created_at),
			(SELECT COALESCE(SUM(c.adds + c.edits + c.deletes), 0) FROM pr_commits pc
			 JOIN commits c ON c.integration_id = pc.integration_id AND c.repo_id = pc.repo_id AND c.sha = pc.sha
			 WHERE pc.integration_id = p.integration_id AND pc.repo_id = p.repo_id AND pc.pr_id = p.pr_id),
			(SELECT MIN(m.published_at) FROM pr_comments m WHERE m.integration_id = p.integration_id
			 AND m.repo_id = p.repo_id AND m.pr_id = p.pr_id AND NOT m.is_system AND m.author_id <> p.author_id),
			(SELECT MIN(r.voted_at) FROM pr_reviewers r WHERE r.integration_id = p.integration_id
			 AND r.repo_id = p.repo_id AND r.pr_id = p.pr_id AND r.vote <> 0 AND r.reviewer_id <> p.author_id)
		FROM pull_requests p
		WHERE p.integration_id = $1 AND p.repo_id = $2 AND p.created_at >= $3
		ORDER BY p.pr_id`, integrationID, repoID, utc(since))
	return collect(rows, err, func(r rowScanner) (RepoPR, error) {
		var p RepoPR
		var opened, firstComment, firstVote flexTime
		err := r.Scan(&p.PRID, &opened, &p.FilesChanged, &firstComment, &firstVote)
		p.CreatedAt = opened.t
		p.FirstReview = earliest(firstComment.ptr(), firstVote.ptr())
		return p, mapErr(err)
	})
}

func earliest(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil || a.Before(*b):
		return a
	}
	return b
}

// LeasePRComment takes the right to post a PR's comment until the lease
// ends; false means another job holds it. Works the same on both engines:
// one conditional UPDATE, after making sure the row exists.
func (q queries) LeasePRComment(ctx context.Context, workspaceID string, pr PRRef, now, until time.Time) (bool, error) {
	if _, err := q.q.ExecContext(ctx, `
		INSERT INTO pr_comment_state (integration_id, repo_id, pr_id, workspace_id, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (integration_id, repo_id, pr_id) DO NOTHING`,
		pr.IntegrationID, pr.RepoID, pr.PRID, workspaceID, utc(now)); err != nil {
		return false, mapErr(err)
	}
	res, err := q.q.ExecContext(ctx, `UPDATE pr_comment_state SET lease_until = $4
		WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3 AND (lease_until IS NULL OR lease_until < $5)`,
		pr.IntegrationID, pr.RepoID, pr.PRID, utc(until), utc(now))
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleasePRComment gives the lease back.
func (q queries) ReleasePRComment(ctx context.Context, pr PRRef) error {
	_, err := q.q.ExecContext(ctx, `UPDATE pr_comment_state SET lease_until = NULL
		WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3`, pr.IntegrationID, pr.RepoID, pr.PRID)
	return mapErr(err)
}
