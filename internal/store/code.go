package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Key scopes a provider row: the integration it came through and the
// workspace that owns it.
type Key struct {
	IntegrationID string
	WorkspaceID   string
}

// Project is an Azure DevOps project visible to the integration's token.
type Project struct {
	Key
	ProjectID      string
	Name           string
	Description    string
	State          string
	Visibility     string
	LastUpdateTime *time.Time
	Selected       bool
	SelectedAt     *time.Time
	// CollectedSince is the start of the project's first backfill: before
	// it nothing was collected (METRICS.md "Coverage"); nil until then.
	CollectedSince *time.Time
}

// UpsertProject stores a project as listed by the provider, keeping the
// selection (which is ours, not the provider's).
func (q queries) UpsertProject(ctx context.Context, p Project) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO provider_projects (integration_id, project_id, workspace_id, name, description, state, visibility, last_update_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (integration_id, project_id) DO UPDATE SET
			name = excluded.name, description = excluded.description, state = excluded.state,
			visibility = excluded.visibility, last_update_time = excluded.last_update_time`,
		p.IntegrationID, p.ProjectID, p.WorkspaceID, p.Name, p.Description, p.State, p.Visibility, nullTime(p.LastUpdateTime))
	return mapErr(err)
}

// SetProjectSelected selects or deselects a project for collection.
func (q queries) SetProjectSelected(ctx context.Context, k Key, projectID string, selected bool, now time.Time) error {
	var at sql.NullTime
	if selected {
		at = sql.NullTime{Time: utc(now), Valid: true}
	}
	res, err := q.q.ExecContext(ctx, `UPDATE provider_projects SET selected = $4, selected_at = $5
		WHERE integration_id = $1 AND workspace_id = $2 AND project_id = $3`,
		k.IntegrationID, k.WorkspaceID, projectID, selected, at)
	return affectedOne(res, err, "project")
}

// NoteCollectedSince records that the project is collected from since on,
// unless it already was from earlier: the instant only moves back.
func (q queries) NoteCollectedSince(ctx context.Context, k Key, projectID string, since time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE provider_projects SET collected_since = $4
		WHERE integration_id = $1 AND workspace_id = $2 AND project_id = $3
			AND (collected_since IS NULL OR collected_since > $4)`,
		k.IntegrationID, k.WorkspaceID, projectID, utc(since))
	return mapErr(err)
}

const projectColumns = `integration_id, workspace_id, project_id, name, description, state, visibility,
	last_update_time, selected, selected_at, collected_since`

func scanProject(r rowScanner) (Project, error) {
	var p Project
	var upd, sel, since sql.NullTime
	err := r.Scan(&p.IntegrationID, &p.WorkspaceID, &p.ProjectID, &p.Name, &p.Description, &p.State,
		&p.Visibility, &upd, &p.Selected, &sel, &since)
	p.LastUpdateTime, p.SelectedAt, p.CollectedSince = timePtr(upd), timePtr(sel), timePtr(since)
	if err == sql.ErrNoRows {
		return p, notFound("project")
	}
	return p, mapErr(err)
}

// ListProjects lists an integration's projects by name.
func (q queries) ListProjects(ctx context.Context, k Key, onlySelected bool) ([]Project, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+projectColumns+` FROM provider_projects
		WHERE integration_id = $1 AND workspace_id = $2 AND (selected OR NOT $3)
		ORDER BY name, project_id`, k.IntegrationID, k.WorkspaceID, onlySelected)
	return collect(rows, err, scanProject)
}

// GetProject returns one project of an integration.
func (q queries) GetProject(ctx context.Context, k Key, projectID string) (Project, error) {
	return scanProject(q.q.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM provider_projects
		WHERE integration_id = $1 AND workspace_id = $2 AND project_id = $3`, k.IntegrationID, k.WorkspaceID, projectID))
}

// Repository is a Git repository of a project.
type Repository struct {
	Key
	RepoID        string
	ProjectID     string
	Name          string
	DefaultBranch string
	WebURL        string
	IsDisabled    bool
}

// UpsertRepository stores a repository (create, rename, disable converge).
func (q queries) UpsertRepository(ctx context.Context, r Repository) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO repositories (integration_id, repo_id, workspace_id, project_id, name, default_branch, web_url, is_disabled)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (integration_id, repo_id) DO UPDATE SET
			project_id = excluded.project_id, name = excluded.name, default_branch = excluded.default_branch,
			web_url = excluded.web_url, is_disabled = excluded.is_disabled`,
		r.IntegrationID, r.RepoID, r.WorkspaceID, r.ProjectID, r.Name, r.DefaultBranch, r.WebURL, r.IsDisabled)
	return mapErr(err)
}

// ListRepositories lists repositories of a workspace, optionally of one project.
func (q queries) ListRepositories(ctx context.Context, workspaceID, projectID string) ([]Repository, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT integration_id, workspace_id, repo_id, project_id, name, default_branch, web_url, is_disabled
		FROM repositories WHERE workspace_id = $1 AND ($2 = '' OR project_id = $2) ORDER BY name, repo_id`,
		workspaceID, projectID)
	return collect(rows, err, func(r rowScanner) (Repository, error) {
		var v Repository
		err := r.Scan(&v.IntegrationID, &v.WorkspaceID, &v.RepoID, &v.ProjectID, &v.Name, &v.DefaultBranch, &v.WebURL, &v.IsDisabled)
		return v, mapErr(err)
	})
}

// Commit is a Git commit: metadata and change counts, never file contents.
type Commit struct {
	Key
	RepoID      string
	SHA         string
	ProjectID   string
	AuthorName  string
	AuthorEmail string
	// AuthorID and AuthorLogin are the provider's account of the author
	// when it knows one (GitHub's user id and login; '' otherwise).
	AuthorID      string
	AuthorLogin   string
	AuthorDate    time.Time
	CommitterDate time.Time
	Message       string
	Adds          int
	Edits         int
	Deletes       int
	Parents       []string
}

// UpsertCommit stores a commit and its parents. A commit never changes, so
// a second write converges to the same row: change counts and parents may
// arrive later (a push event carries neither), and a write without them
// keeps those stored.
func (q queries) UpsertCommit(ctx context.Context, c Commit) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO commits (integration_id, repo_id, sha, workspace_id, project_id, author_name, author_email,
			author_date, committer_date, message, adds, edits, deletes, parent_count, author_id, author_login)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (integration_id, repo_id, sha) DO UPDATE SET
			message = excluded.message,
			author_id = CASE WHEN excluded.author_id <> '' THEN excluded.author_id ELSE commits.author_id END,
			author_login = CASE WHEN excluded.author_login <> '' THEN excluded.author_login ELSE commits.author_login END,
			adds = CASE WHEN excluded.adds + excluded.edits + excluded.deletes > 0 THEN excluded.adds ELSE commits.adds END,
			edits = CASE WHEN excluded.adds + excluded.edits + excluded.deletes > 0 THEN excluded.edits ELSE commits.edits END,
			deletes = CASE WHEN excluded.adds + excluded.edits + excluded.deletes > 0 THEN excluded.deletes ELSE commits.deletes END,
			parent_count = CASE WHEN excluded.parent_count > 0 THEN excluded.parent_count ELSE commits.parent_count END`,
		c.IntegrationID, c.RepoID, c.SHA, c.WorkspaceID, c.ProjectID, c.AuthorName, c.AuthorEmail,
		utc(c.AuthorDate), utc(c.CommitterDate), c.Message, c.Adds, c.Edits, c.Deletes, len(c.Parents), c.AuthorID, c.AuthorLogin)
	if err != nil {
		return mapErr(err)
	}
	for i, p := range c.Parents {
		_, err := q.q.ExecContext(ctx, `
			INSERT INTO commit_parents (integration_id, repo_id, sha, ord, parent_sha) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (integration_id, repo_id, sha, ord) DO UPDATE SET parent_sha = excluded.parent_sha`,
			c.IntegrationID, c.RepoID, c.SHA, i, p)
		if err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// Filter selects rows of one workspace in a time window, optionally of one
// project and repository, a page at a time.
type Filter struct {
	WorkspaceID string
	ProjectID   string
	RepoID      string
	From, To    time.Time // [From, To); zero means unbounded
	Limit       int       // 0 means 100
	After       *Cursor   // the last row of the previous page; nil for the first page
}

// Cursor is a position in a list ordered newest first: the sort time and
// the row's unique key (text for commits and deployments, a number for the
// rest). Keyset paging stays correct while rows are being added.
type Cursor struct {
	Time time.Time
	Key  string
	Num  int64
}

// after returns the cursor as query arguments; the first page starts after
// a time later than any row.
func (f Filter) after() (time.Time, string, int64) {
	if f.After == nil {
		return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "", 0
	}
	return utc(f.After.Time), f.After.Key, f.After.Num
}

func (f Filter) limit() int {
	if f.Limit <= 0 {
		return 100
	}
	return f.Limit
}

// bounds returns the window as values both engines compare correctly.
func (f Filter) bounds() (time.Time, time.Time) {
	from, to := f.From, f.To
	if from.IsZero() {
		from = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return utc(from), utc(to)
}

// Cursor is this commit's position in ListCommits.
func (c Commit) Cursor() Cursor { return Cursor{Time: c.AuthorDate, Key: c.RepoID + " " + c.SHA} }

// ListCommits lists commits authored in the window, newest first, with parents.
func (q queries) ListCommits(ctx context.Context, f Filter) ([]Commit, error) {
	from, to := f.bounds()
	at, key, _ := f.after()
	rows, err := q.q.QueryContext(ctx, `
		SELECT integration_id, workspace_id, repo_id, sha, project_id, author_name, author_email, author_date,
			committer_date, message, adds, edits, deletes, author_id, author_login
		FROM commits
		WHERE workspace_id = $1 AND ($2 = '' OR project_id = $2) AND ($3 = '' OR repo_id = $3)
			AND author_date >= $4 AND author_date < $5
			AND (author_date < $7 OR (author_date = $7 AND repo_id || ' ' || sha > $8))
		ORDER BY author_date DESC, repo_id || ' ' || sha LIMIT $6`,
		f.WorkspaceID, f.ProjectID, f.RepoID, from, to, f.limit(), at, key)
	commits, err := collect(rows, err, func(r rowScanner) (Commit, error) {
		var c Commit
		err := r.Scan(&c.IntegrationID, &c.WorkspaceID, &c.RepoID, &c.SHA, &c.ProjectID, &c.AuthorName, &c.AuthorEmail,
			&c.AuthorDate, &c.CommitterDate, &c.Message, &c.Adds, &c.Edits, &c.Deletes, &c.AuthorID, &c.AuthorLogin)
		return c, mapErr(err)
	})
	if err != nil {
		return nil, err
	}
	// The page's parents in one query per integration, not one per commit.
	index := map[string]*Commit{}
	byIntegration := map[string][]any{}
	for i := range commits {
		c := &commits[i]
		index[c.IntegrationID+" "+c.RepoID+" "+c.SHA] = c
		byIntegration[c.IntegrationID] = append(byIntegration[c.IntegrationID], c.SHA)
	}
	for integrationID, shas := range byIntegration {
		rows, err := q.q.QueryContext(ctx, `SELECT repo_id, sha, parent_sha FROM commit_parents
			WHERE integration_id = $1 AND sha IN (`+placeholders(2, len(shas))+`) ORDER BY repo_id, sha, ord`,
			append([]any{integrationID}, shas...)...)
		type edge struct{ repo, sha, parent string }
		edges, err := collect(rows, err, func(r rowScanner) (edge, error) {
			var e edge
			return e, mapErr(r.Scan(&e.repo, &e.sha, &e.parent))
		})
		if err != nil {
			return nil, err
		}
		for _, e := range edges {
			if c := index[integrationID+" "+e.repo+" "+e.sha]; c != nil {
				c.Parents = append(c.Parents, e.parent)
			}
		}
	}
	return commits, nil
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// CommitParents returns a commit's parents in order (the commit graph).
func (q queries) CommitParents(ctx context.Context, integrationID, repoID, sha string) ([]string, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT parent_sha FROM commit_parents
		WHERE integration_id = $1 AND repo_id = $2 AND sha = $3 ORDER BY ord`, integrationID, repoID, sha)
	return collect(rows, err, scanOne[string])
}
