package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The dashboard reads a whole workspace at once to compute its figures, so
// these queries fetch each table (and its children) in one statement rather
// than one per row, and the data version tells it cheaply when to read again.

// DataVersion is a cheap fingerprint of a workspace's collected data: it
// changes when a webhook event is processed, a sync or backfill checkpoint
// is written, integration settings change, or a deployment row is added or
// finishes. Compare versions with ==; the fields are opaque.
type DataVersion struct {
	Deployments string // latest store of a deployment row
	Inbox       string // events processed since the horizon, latest processing
	Syncs       string // latest sync of an integration
	// Integrations moves when an integration is added or removed or its
	// settings or the workspace's rules change: what every figure depends
	// on (rules, backfill start).
	Integrations string // count, latest settings change
	Watermarks   string // latest checkpoint, items done
	// Teams moves when a team is created, changed or deleted: the team
	// filter's members and repositories are part of the figures it gives.
	Teams string // count, latest change
}

// String is the version as one opaque token (for ETags and events).
func (v DataVersion) String() string {
	return strings.Join([]string{v.Deployments, v.Inbox, v.Syncs, v.Integrations, v.Watermarks, v.Teams}, "|")
}

// DataVersion returns the workspace's data version. Inbox events count from
// inboxSince on (the webhook_inbox status index keeps that a range scan);
// an event received earlier but processed now still moves the latest
// processing time only if it is the newest, which retries of old events are
// not guaranteed to be — the sync checkpoint that follows them is.
func (q queries) DataVersion(ctx context.Context, workspaceID string, inboxSince time.Time) (DataVersion, error) {
	var inboxN, intN, rulesN, teamsN int64
	var depLast, inboxLast, intSync, intUpd, wmLast, rulesUpd, teamsUpd sql.NullString
	var wmItems sql.NullInt64
	err := q.q.QueryRowContext(ctx, `
		SELECT
			(SELECT CAST(MAX(changed_at) AS TEXT) FROM deployments WHERE workspace_id = $1),
			(SELECT COUNT(*) FROM webhook_inbox WHERE workspace_id = $1
				AND status IN ('processed', 'ignored', 'failed') AND received_at >= $2),
			(SELECT CAST(MAX(processed_at) AS TEXT) FROM webhook_inbox WHERE workspace_id = $1
				AND status IN ('processed', 'ignored', 'failed') AND received_at >= $2),
			(SELECT COUNT(*) FROM integrations WHERE workspace_id = $1),
			(SELECT CAST(MAX(last_sync_at) AS TEXT) FROM integrations WHERE workspace_id = $1),
			(SELECT CAST(MAX(updated_at) AS TEXT) FROM integrations WHERE workspace_id = $1),
			(SELECT CAST(MAX(updated_at) AS TEXT) FROM sync_watermarks WHERE workspace_id = $1),
			(SELECT SUM(items_done) FROM sync_watermarks WHERE workspace_id = $1),
			(SELECT COUNT(*) FROM workspace_rules WHERE workspace_id = $1),
			(SELECT CAST(MAX(updated_at) AS TEXT) FROM workspace_rules WHERE workspace_id = $1),
			(SELECT COUNT(*) FROM teams WHERE workspace_id = $1),
			(SELECT CAST(MAX(updated_at) AS TEXT) FROM teams WHERE workspace_id = $1)`,
		workspaceID, utc(inboxSince)).Scan(&depLast, &inboxN, &inboxLast, &intN, &intSync, &intUpd,
		&wmLast, &wmItems, &rulesN, &rulesUpd, &teamsN, &teamsUpd)
	if err != nil {
		return DataVersion{}, mapErr(err)
	}
	return DataVersion{
		Deployments:  depLast.String,
		Inbox:        fmt.Sprintf("%d/%s", inboxN, inboxLast.String),
		Syncs:        intSync.String,
		Integrations: fmt.Sprintf("%d/%s/%d/%s", intN, intUpd.String, rulesN, rulesUpd.String),
		Watermarks:   fmt.Sprintf("%s/%d", wmLast.String, wmItems.Int64),
		Teams:        fmt.Sprintf("%d/%s", teamsN, teamsUpd.String),
	}, nil
}

// DataParts fingerprints each kind of row of one project separately, and
// each repository's rows. Every string is opaque; compare with == (Equal
// compares all).
type DataParts struct {
	Commits      string
	PullRequests string
	Deployments  string // pipeline runs included: they classify deployments
	WorkItems    string
	// Runs fingerprints the project's pipeline runs alone.
	Runs string
	// Repositories fingerprints each repository's commits, PRs and
	// deployments; "" holds the deployments of no repository.
	Repositories map[string]string
	// CollectedSince is the project's collected-since instant (zero when
	// not recorded): coverage and the first change sets depend on it.
	CollectedSince time.Time
}

// Equal reports whether two projects' fingerprints are the same.
func (p DataParts) Equal(o DataParts) bool {
	return p.CollectedSince.Equal(o.CollectedSince) && p.Commits == o.Commits && p.PullRequests == o.PullRequests && p.Deployments == o.Deployments &&
		p.WorkItems == o.WorkItems && p.Runs == o.Runs && maps.Equal(p.Repositories, o.Repositories)
}

// ProjectParts returns the fingerprints of each project of the workspace
// that holds rows, and of its repositories, so that a reader holding
// figures in memory re-reads only the projects and repositories that
// changed. Each query is one pass over an index or a table grouped by
// project and repository.
func (q queries) ProjectParts(ctx context.Context, workspaceID string) (map[string]DataParts, error) {
	out := map[string]DataParts{}
	for _, part := range []struct {
		kind  string // of a repository's part; "" for project-wide kinds
		field func(*DataParts) *string
		query string
	}{
		// Parents and change counts arrive after a push event's commits.
		{"c", func(p *DataParts) *string { return &p.Commits }, `SELECT project_id, repo_id, COUNT(*),
			CAST(SUM(parent_count) AS TEXT) || '/' || CAST(SUM(adds + edits + deletes) AS TEXT) FROM commits
			WHERE workspace_id = $1 GROUP BY project_id, repo_id ORDER BY 1, 2`},
		// Children carry no project: they count through their PR.
		{"p", func(p *DataParts) *string { return &p.PullRequests }, `SELECT p.project_id, p.repo_id,
			COUNT(*) + SUM((SELECT COUNT(*) FROM pr_comments c WHERE ` + ofPR("c") + `))
				+ SUM((SELECT COUNT(*) FROM pr_commits c WHERE ` + ofPR("c") + `))
				+ SUM((SELECT COUNT(*) FROM pr_work_items c WHERE ` + ofPR("c") + `)),
			COALESCE(CAST(MAX(p.provider_updated_at) AS TEXT), '') || '/' || COALESCE(CAST(SUM((SELECT SUM(vote)
				FROM pr_reviewers r WHERE ` + ofPR("r") + `)) AS TEXT), '')
				|| '/' || COALESCE(CAST(MAX((SELECT MAX(voted_at) FROM pr_reviewers r
				WHERE ` + ofPR("r") + `)) AS TEXT), '')
			FROM pull_requests p WHERE p.workspace_id = $1 GROUP BY p.project_id, p.repo_id ORDER BY 1, 2`},
		{"d", func(p *DataParts) *string { return &p.Deployments }, `SELECT project_id, repo_id, COUNT(*),
			COALESCE(CAST(MAX(finished_at) AS TEXT), '') || '/' || CAST(COUNT(finished_at) AS TEXT) || '/'
			|| CAST(SUM(CASE WHEN result IN ('succeeded', 'partiallySucceeded') THEN 1 ELSE 0 END) AS TEXT)
			|| '/' || CAST(SUM(CASE WHEN is_production THEN 1 ELSE 0 END) AS TEXT)
			FROM deployments WHERE workspace_id = $1 GROUP BY project_id, repo_id ORDER BY 1, 2`},
		// Build-rule deployments are classified by their run's names.
		{"", func(p *DataParts) *string { return &p.Runs }, `SELECT project_id, '', COUNT(*), 'runs'
			FROM pipeline_runs WHERE workspace_id = $1 GROUP BY project_id`},
		{"", func(p *DataParts) *string { return &p.WorkItems }, `SELECT w.project_id, '', COUNT(*) + SUM((SELECT COUNT(*)
				FROM work_item_links l WHERE ` + ofWorkItem("l") + `)),
			COALESCE(CAST(MAX(w.changed_at) AS TEXT), '') || '/' || COALESCE(CAST(SUM(w.rev) AS TEXT), '')
			FROM work_items w WHERE w.workspace_id = $1 GROUP BY w.project_id`},
	} {
		rows, err := q.q.QueryContext(ctx, part.query, workspaceID)
		_, err = collect(rows, err, func(r rowScanner) (struct{}, error) {
			var project, repo string
			var n int64
			var v sql.NullString
			if err := r.Scan(&project, &repo, &n, &v); err != nil {
				return struct{}{}, mapErr(err)
			}
			p := out[project]
			fp := fmt.Sprintf("%d/%s;", n, v.String)
			if part.kind != "" {
				if p.Repositories == nil {
					p.Repositories = map[string]string{}
				}
				p.Repositories[repo] += part.kind + ":" + fp
				fp = repo + ":" + fp
			}
			*part.field(&p) += fp
			out[project] = p
			return struct{}{}, nil
		})
		if err != nil {
			return nil, err
		}
	}
	for id, p := range out {
		p.Deployments += p.Runs
		out[id] = p
	}
	// Collected-since: a selected project without rows yet is a part too
	// (its figures are "no data" over a covered window, not unknown).
	rows, err := q.q.QueryContext(ctx, `SELECT project_id, collected_since FROM provider_projects
		WHERE workspace_id = $1 AND collected_since IS NOT NULL`, workspaceID)
	_, err = collect(rows, err, func(r rowScanner) (struct{}, error) {
		var project string
		var since sql.NullTime
		if err := r.Scan(&project, &since); err != nil {
			return struct{}{}, mapErr(err)
		}
		p := out[project]
		if t := since.Time.UTC(); p.CollectedSince.IsZero() || t.Before(p.CollectedSince) {
			p.CollectedSince = t
		}
		out[project] = p
		return struct{}{}, nil
	})
	return out, err
}

// Scope is a project of a workspace with its repositories, for filters.
type Scope struct {
	ProjectID string
	Name      string
	// Provider is the provider of the project's integration ("azure",
	// "github"): the dashboard's source filter keeps a source's projects.
	Provider     string
	Repositories []Repository
	// SiteURL is the project's integration's organization URL (Azure
	// DevOps) or GitHub site, for links to the items.
	SiteURL string
}

// ListScopes lists the workspace's projects (selected or holding
// repositories) with their repositories, by name.
func (q queries) ListScopes(ctx context.Context, workspaceID string) ([]Scope, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT DISTINCT p.project_id, p.name, i.provider, i.org_url FROM provider_projects p
			JOIN integrations i ON i.id = p.integration_id
		WHERE p.workspace_id = $1
			AND (p.selected OR p.project_id IN (SELECT project_id FROM repositories WHERE workspace_id = $1))
		ORDER BY p.name, p.project_id`, workspaceID)
	scopes, err := collect(rows, err, func(r rowScanner) (Scope, error) {
		var s Scope
		return s, mapErr(r.Scan(&s.ProjectID, &s.Name, &s.Provider, &s.SiteURL))
	})
	if err != nil {
		return nil, err
	}
	repos, err := q.ListRepositories(ctx, workspaceID, "")
	if err != nil {
		return nil, err
	}
	index := make(map[string]int, len(scopes))
	for i, s := range scopes {
		index[s.ProjectID] = i
	}
	var providers map[string]string // integration id → provider, read when needed
	for _, r := range repos {
		i, ok := index[r.ProjectID]
		if !ok { // a repository of a project not listed (yet): show it anyway
			i = len(scopes)
			index[r.ProjectID] = i
			if providers == nil {
				if providers, err = q.integrationProviders(ctx, workspaceID); err != nil {
					return nil, err
				}
			}
			scopes = append(scopes, Scope{ProjectID: r.ProjectID, Name: r.ProjectID, Provider: providers[r.IntegrationID]})
		}
		scopes[i].Repositories = append(scopes[i].Repositories, r)
	}
	return scopes, nil
}

// integrationProviders maps the workspace's integrations to their provider.
func (q queries) integrationProviders(ctx context.Context, workspaceID string) (map[string]string, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, provider FROM integrations WHERE workspace_id = $1`, workspaceID)
	type pair struct{ id, provider string }
	list, err := collect(rows, err, func(r rowScanner) (pair, error) {
		var p pair
		return p, mapErr(r.Scan(&p.id, &p.provider))
	})
	out := make(map[string]string, len(list))
	for _, p := range list {
		out[p.id] = p.provider
	}
	return out, err
}

// GraphCommit is what the dashboard reads of a commit: its place in the
// graph, its times and sizes, and the message that may mention work items.
type GraphCommit struct {
	RepoID, SHA               string
	ProjectID                 string
	AuthorDate, CommitterDate time.Time
	Message                   string
	Adds, Edits, Deletes      int
	Parents                   []string
}

// ProjectRepositories returns the ids of the repositories of the
// workspace's project that have commits or PRs, sorted. It skips through
// the commits_window and pull_requests_created indexes (a lookup per
// repository), so it costs nothing like reading the rows.
func (q queries) ProjectRepositories(ctx context.Context, workspaceID, project string) ([]string, error) {
	var out []string
	for _, table := range []string{"commits", "pull_requests"} {
		after := ""
		for {
			var repo sql.NullString
			err := q.q.QueryRowContext(ctx, `SELECT MIN(repo_id) FROM `+table+`
				WHERE workspace_id = $1 AND project_id = $2 AND repo_id > $3`, workspaceID, project, after).Scan(&repo)
			if err != nil {
				return nil, mapErr(err)
			}
			if !repo.Valid {
				break
			}
			out = append(out, repo.String)
			after = repo.String
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// EachCommit calls fn with every commit of the workspace's project (every
// project with project "") and repository (every repository with repo ""),
// parents in order, a repository's commits one after another (ordered by
// repository id, which the commits_window index gives without sorting):
// the commit graph the changes of deployments are computed on.
// It streams, so a large repository is never held as rows and values at
// once. fn must not use the database.
func (q queries) EachCommit(ctx context.Context, workspaceID, project, repo string, fn func(GraphCommit) error) error {
	parents := `(SELECT group_concat(parent_sha, ' ' ORDER BY ord) FROM commit_parents p
		WHERE p.integration_id = c.integration_id AND p.repo_id = c.repo_id AND p.sha = c.sha)`
	if q.dialect == Postgres {
		parents = `(SELECT string_agg(parent_sha, ' ' ORDER BY ord) FROM commit_parents p
		WHERE p.integration_id = c.integration_id AND p.repo_id = c.repo_id AND p.sha = c.sha)`
	}
	filter, args := ofRepository("c", workspaceID, project, repo)
	rows, err := q.q.QueryContext(ctx, `
		SELECT c.repo_id, c.sha, c.project_id, c.author_date, c.committer_date, c.message,
			c.adds, c.edits, c.deletes, COALESCE(`+parents+`, '')
		FROM commits c WHERE `+filter+` ORDER BY c.repo_id`, args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c GraphCommit
		var ps string
		if err := rows.Scan(&c.RepoID, &c.SHA, &c.ProjectID, &c.AuthorDate, &c.CommitterDate,
			&c.Message, &c.Adds, &c.Edits, &c.Deletes, &ps); err != nil {
			return mapErr(err)
		}
		c.AuthorDate, c.CommitterDate = c.AuthorDate.UTC(), c.CommitterDate.UTC()
		if ps != "" {
			c.Parents = strings.Split(ps, " ")
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}

// ofProject is the WHERE clause of a dashboard read of alias's table: the
// workspace, and the project unless it is "".
func ofProject(alias, workspaceID, project string) (string, []any) {
	if project == "" {
		return alias + ".workspace_id = $1", []any{workspaceID}
	}
	return alias + ".workspace_id = $1 AND " + alias + ".project_id = $2", []any{workspaceID, project}
}

// ofRepository is ofProject narrowed to a repository unless repo is "".
func ofRepository(alias, workspaceID, project, repo string) (string, []any) {
	filter, args := ofProject(alias, workspaceID, project)
	if repo == "" {
		return filter, args
	}
	return filter + " AND " + alias + ".repo_id = $" + strconv.Itoa(len(args)+1), append(args, repo)
}

// ofPR joins alias's PR child rows to their PR p.
func ofPR(alias string) string {
	return alias + ".integration_id = p.integration_id AND " + alias + ".repo_id = p.repo_id AND " + alias + ".pr_id = p.pr_id"
}

// ofWorkItem joins alias's work item link rows to their work item w.
func ofWorkItem(alias string) string {
	return alias + ".integration_id = w.integration_id AND " + alias + ".container = w.container AND " +
		alias + ".work_item_id = w.work_item_id"
}

// PullRequestDetail is a PR row with everything stored about it.
type PullRequestDetail struct {
	PullRequest
	PRDetails
}

// AllPullRequests returns every PR of the workspace's project (every
// project with project "") and repository (every repository with repo "")
// with its reviewers, comments, commits and work item refs, ordered by
// integration and id. reduce, unless nil, is called with each PR as it is
// read, before its children: a reader that needs less than the row (the
// dashboard keeps no text) drops the rest there, so that a repository's
// PRs are never all held whole.
func (q queries) AllPullRequests(ctx context.Context, workspaceID, project, repo string, reduce func(*PullRequestDetail)) ([]PullRequestDetail, error) {
	filter, args := ofRepository("p", workspaceID, project, repo)
	rows, err := q.q.QueryContext(ctx, `SELECT `+prColumns+` FROM pull_requests p WHERE `+filter+`
		ORDER BY integration_id, repo_id, pr_id`, args...)
	prs, err := collect(rows, err, func(r rowScanner) (PullRequestDetail, error) {
		p, err := scanPR(r)
		d := PullRequestDetail{PullRequest: p}
		if err == nil && reduce != nil {
			reduce(&d)
		}
		return d, err
	})
	if err != nil {
		return nil, err
	}
	index := make(map[PRRef]int, len(prs))
	for i, p := range prs {
		index[p.Ref()] = i
	}
	child := func(query string, scan func(r rowScanner, d *PRDetails) error) error {
		rows, err := q.q.QueryContext(ctx, query, args...)
		_, err = collect(rows, err, func(r rowScanner) (struct{}, error) {
			var k PRRef
			var d PRDetails
			if err := scanChild(r, &k, func(r rowScanner) error { return scan(r, &d) }); err != nil {
				return struct{}{}, err
			}
			if i, ok := index[k]; ok {
				p := &prs[i].PRDetails
				p.Reviewers = append(p.Reviewers, d.Reviewers...)
				p.Comments = append(p.Comments, d.Comments...)
				p.Commits = append(p.Commits, d.Commits...)
				p.WorkItems = append(p.WorkItems, d.WorkItems...)
				if t := d.FirstCommitAt; t != nil && (p.FirstCommitAt == nil || t.Before(*p.FirstCommitAt)) {
					p.FirstCommitAt = t
				}
			}
			return struct{}{}, nil
		})
		return err
	}
	// Children carry no workspace or project: they are read through their PR.
	ofWorkspace := ` (integration_id, repo_id, pr_id) IN (SELECT p.integration_id, p.repo_id, p.pr_id FROM pull_requests p
		WHERE ` + filter + `)`
	if err := child(`SELECT integration_id, repo_id, pr_id, reviewer_id, display_name, vote, voted_at, is_required
		FROM pr_reviewers WHERE`+ofWorkspace+` ORDER BY integration_id, repo_id, pr_id, reviewer_id`, func(r rowScanner, d *PRDetails) error {
		var v Reviewer
		var at sql.NullTime
		err := r.Scan(&v.ReviewerID, &v.DisplayName, &v.Vote, &at, &v.IsRequired)
		v.VotedAt = timePtr(at)
		d.Reviewers = append(d.Reviewers, v)
		return err
	}); err != nil {
		return nil, err
	}
	if err := child(`SELECT integration_id, repo_id, pr_id, thread_id, comment_id, author_id, author_name, comment_type,
		is_system, is_deleted, published_at, updated_at FROM pr_comments WHERE`+ofWorkspace+`
		ORDER BY integration_id, repo_id, pr_id, published_at, thread_id, comment_id`, func(r rowScanner, d *PRDetails) error {
		var c Comment
		err := r.Scan(&c.ThreadID, &c.CommentID, &c.AuthorID, &c.AuthorName, &c.CommentType, &c.IsSystem,
			&c.IsDeleted, &c.PublishedAt, &c.UpdatedAt)
		d.Comments = append(d.Comments, c)
		return err
	}); err != nil {
		return nil, err
	}
	if err := child(`SELECT integration_id, repo_id, pr_id, sha, authored_at FROM pr_commits WHERE`+ofWorkspace+`
		ORDER BY integration_id, repo_id, pr_id, sha`, func(r rowScanner, d *PRDetails) error {
		var sha string
		var at sql.NullTime
		err := r.Scan(&sha, &at)
		d.Commits = append(d.Commits, sha)
		if t := timePtr(at); t != nil && (d.FirstCommitAt == nil || t.Before(*d.FirstCommitAt)) {
			d.FirstCommitAt = t
		}
		return err
	}); err != nil {
		return nil, err
	}
	if err := child(`SELECT integration_id, repo_id, pr_id, container, work_item_id FROM pr_work_items WHERE`+ofWorkspace+`
		ORDER BY integration_id, repo_id, pr_id, container, work_item_id`, func(r rowScanner, d *PRDetails) error {
		w, err := scanWorkItemRef(r)
		d.WorkItems = append(d.WorkItems, w)
		return err
	}); err != nil {
		return nil, err
	}
	return prs, nil
}

// scanChild scans a child row whose first three columns are the parent's
// integration, repository and PR id; rest scans the remaining columns.
// database/sql scans a row once, so the columns are split with a scanner
// wrapper.
func scanChild(r rowScanner, pr *PRRef, rest func(rowScanner) error) error {
	s := &splitScanner{r: r, head: []any{&pr.IntegrationID, &pr.RepoID, &pr.PRID}}
	return mapErr(rest(s))
}

// splitScanner prepends destinations to a Scan call.
type splitScanner struct {
	r    rowScanner
	head []any
}

func (s *splitScanner) Scan(dest ...any) error {
	return s.r.Scan(append(s.head, dest...)...)
}

// DeploymentDetail is a deployment with the names of the run behind it: a
// build-rule deployment is matched by definition name, tags and stages.
type DeploymentDetail struct {
	Deployment
	DefinitionName string
	Tags           string   // comma-separated
	Stages         []string // stage names of the run
}

// AllDeployments returns every deployment of the workspace's project (every
// project with project "") with its run's names, ordered by integration and
// key.
func (q queries) AllDeployments(ctx context.Context, workspaceID, project string) ([]DeploymentDetail, error) {
	filter, args := ofProject("d", workspaceID, project)
	rows, err := q.q.QueryContext(ctx, `
		SELECT d.integration_id, d.workspace_id, d.deployment_key, d.project_id, d.source, d.repo_id, d.environment,
			d.is_production, d.result, d.run_id, d.sha, d.started_at, d.finished_at,
			COALESCE(r.definition_name, ''), COALESCE(r.tags, '')
		FROM deployments d
		LEFT JOIN pipeline_runs r ON r.integration_id = d.integration_id AND r.run_id = d.run_id AND d.run_id <> 0
		WHERE `+filter+` ORDER BY d.integration_id, d.deployment_key`, args...)
	deps, err := collect(rows, err, func(r rowScanner) (DeploymentDetail, error) {
		var d DeploymentDetail
		var st, fin sql.NullTime
		err := r.Scan(&d.IntegrationID, &d.WorkspaceID, &d.DeploymentKey, &d.ProjectID, &d.Source, &d.RepoID,
			&d.Environment, &d.IsProduction, &d.Result, &d.RunID, &d.SHA, &st, &fin, &d.DefinitionName, &d.Tags)
		d.StartedAt, d.FinishedAt = timePtr(st), timePtr(fin)
		return d, mapErr(err)
	})
	if err != nil {
		return nil, err
	}
	type key struct {
		in  string
		run int64
	}
	byRun := make(map[key][]int)
	for i, d := range deps {
		if d.Source == "build" && d.RunID != 0 {
			k := key{d.IntegrationID, d.RunID}
			byRun[k] = append(byRun[k], i)
		}
	}
	if len(byRun) == 0 {
		return deps, nil
	}
	rows, err = q.q.QueryContext(ctx, `
		SELECT s.integration_id, s.run_id, s.name FROM pipeline_stages s
		JOIN deployments d ON d.integration_id = s.integration_id AND d.run_id = s.run_id
		WHERE `+filter+` AND d.source = 'build'
		ORDER BY s.integration_id, s.run_id, s.started_at, s.record_id`, args...)
	_, err = collect(rows, err, func(r rowScanner) (struct{}, error) {
		var k key
		var name string
		if err := r.Scan(&k.in, &k.run, &name); err != nil {
			return struct{}{}, mapErr(err)
		}
		for _, i := range byRun[k] {
			deps[i].Stages = append(deps[i].Stages, name)
		}
		return struct{}{}, nil
	})
	return deps, err
}

// WorkItemDetail is a work item with its links to commits and PRs.
type WorkItemDetail struct {
	WorkItem
	Links []WorkItemLink
}

// AllWorkItems returns every work item of the workspace's project (every
// project with project "") that is not deleted, with its links, ordered by
// integration and id.
func (q queries) AllWorkItems(ctx context.Context, workspaceID, project string) ([]WorkItemDetail, error) {
	filter, args := ofProject("w", workspaceID, project)
	rows, err := q.q.QueryContext(ctx, `SELECT `+workItemColumns+` FROM work_items w
		WHERE `+filter+` AND NOT is_deleted ORDER BY integration_id, container, work_item_id`, args...)
	items, err := collect(rows, err, func(r rowScanner) (WorkItemDetail, error) {
		w, err := scanWorkItem(r)
		return WorkItemDetail{WorkItem: w}, err
	})
	if err != nil {
		return nil, err
	}
	type key struct {
		in string
		WorkItemRef
	}
	index := make(map[key]int, len(items))
	for i, w := range items {
		index[key{w.IntegrationID, w.Ref()}] = i
	}
	rows, err = q.q.QueryContext(ctx, `
		SELECT `+linkColumns+` FROM work_item_links l
		JOIN work_items w ON `+ofWorkItem("l")+`
		WHERE `+filter+` ORDER BY l.integration_id, l.container, l.work_item_id, l.target_kind, l.target_id`, args...)
	_, err = collect(rows, err, func(r rowScanner) (struct{}, error) {
		l, err := scanLink(r)
		if err != nil {
			return struct{}{}, err
		}
		if i, ok := index[key{l.IntegrationID, WorkItemRef{Container: l.Container, ID: l.WorkItemID}}]; ok {
			items[i].Links = append(items[i].Links, l)
		}
		return struct{}{}, nil
	})
	return items, err
}
