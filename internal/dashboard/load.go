package dashboard

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Reader is the part of the store the dashboard reads: one project's rows
// at a time for the analysis, and the cheap fingerprints that say when and
// which projects to read again. *store.DB implements it; tests may wrap it
// to count reads.
type Reader interface {
	DataVersion(ctx context.Context, workspaceID string, inboxSince time.Time) (store.DataVersion, error)
	ProjectParts(ctx context.Context, workspaceID string) (map[string]store.DataParts, error)
	EachCommit(ctx context.Context, workspaceID, project string, fn func(store.GraphCommit) error) error
	AllPullRequests(ctx context.Context, workspaceID, project string) ([]store.PullRequestDetail, error)
	AllDeployments(ctx context.Context, workspaceID, project string) ([]store.DeploymentDetail, error)
	AllWorkItems(ctx context.Context, workspaceID, project string) ([]store.WorkItemDetail, error)
	ListScopes(ctx context.Context, workspaceID string) ([]store.Scope, error)
	ListIntegrations(ctx context.Context, workspaceID, provider string) ([]store.Integration, error)
}

// analyzeProject reads and analyzes one project, a repository at a time:
// only one repository's commits are in memory at once (they stream from
// the store ordered by repository). Its PRs, deployments and work items are
// read whole first: they are a fraction of the commits. Every rule of
// METRICS.md is local to a project; a work item links to commits and PRs
// of its own project. The counts and the analysis time go to stats.
func analyzeProject(ctx context.Context, db Reader, ws, project string, base metrics.Input, stats *BuildStats) (metrics.Set, error) {
	items, links, err := loadWorkItems(ctx, db, ws, project)
	if err != nil {
		return nil, err
	}
	prs, err := loadPullRequests(ctx, db, ws, project, links)
	if err != nil {
		return nil, err
	}
	deps, err := loadDeployments(ctx, db, ws, project)
	if err != nil {
		return nil, err
	}
	stats.WorkItems += len(items)
	stats.PullRequests += len(prs)
	stats.Deployments += len(deps)
	prsOf, depsOf := map[string][]delivery.PullRequest{}, map[string][]delivery.Deployment{}
	for _, p := range prs {
		prsOf[p.RepositoryID] = append(prsOf[p.RepositoryID], p)
	}
	for _, d := range deps {
		depsOf[d.RepositoryID] = append(depsOf[d.RepositoryID], d)
	}
	b := metrics.NewProjectBuilder(metrics.Input{Rules: base.Rules, BackfillFrom: base.BackfillFrom, WorkItems: items})
	analyze := func(repo string, commits []delivery.Commit) {
		t0 := time.Now()
		b.AddRepository(commits, prsOf[repo], depsOf[repo])
		stats.Analyze += time.Since(t0)
		delete(prsOf, repo)
		delete(depsOf, repo)
	}
	known := make(map[int]bool, len(items))
	for _, w := range items {
		known[w.ID] = true
	}
	var commits []delivery.Commit
	repo := ""
	err = db.EachCommit(ctx, ws, project, func(c store.GraphCommit) error {
		if len(commits) > 0 && c.RepoID != repo {
			analyze(repo, commits)
			commits = commits[:0] // the analysis keeps nothing of them
		}
		if len(commits) == 0 {
			repo = c.RepoID
		}
		commits = append(commits, toCommit(c, repo, links, known))
		stats.Commits++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(commits) > 0 {
		analyze(repo, commits)
	}
	// Repositories with PRs or deployments and no stored commit, and
	// deployments of no repository.
	rest := slices.Collect(maps.Keys(depsOf))
	for r := range prsOf {
		if _, ok := depsOf[r]; !ok {
			rest = append(rest, r)
		}
	}
	slices.Sort(rest)
	for _, r := range rest {
		analyze(r, nil)
	}
	t0 := time.Now()
	set := b.Finish()
	stats.Analyze += time.Since(t0)
	return set, nil
}

// The load functions map store rows to delivery values.

// toCommit maps a stored commit to the analysis' value. Work item links of
// kind commit ("<repo>:<sha>") and #1234 mentions of the project's known
// work items become the commit's work items, so the message need not be
// kept; repo is the repository id shared by the repository's commits.
func toCommit(c store.GraphCommit, repo string, links map[string][]int, known map[int]bool) delivery.Commit {
	ids := slices.Clip(links[c.RepoID+":"+c.SHA]) // appends below must not write into the map's slice
	for _, id := range delivery.Mentions(c.Message) {
		if known[id] {
			ids = append(ids, id)
		}
	}
	return delivery.Commit{
		RepositoryID: repo, SHA: c.SHA, Parents: c.Parents,
		AuthoredAt: c.AuthorDate, CommittedAt: c.CommitterDate,
		Changes:     delivery.ChangeCounts{Added: c.Adds, Edited: c.Edits, Deleted: c.Deletes},
		WorkItemIDs: ids,
	}
}

func loadPullRequests(ctx context.Context, db Reader, ws, project string, links map[string][]int) ([]delivery.PullRequest, error) {
	rows, err := db.AllPullRequests(ctx, ws, project)
	if err != nil {
		return nil, err
	}
	out := make([]delivery.PullRequest, len(rows))
	for i, p := range rows {
		pr := delivery.PullRequest{
			ID: int(p.PRID), ProjectID: p.ProjectID, RepositoryID: p.RepoID, Status: delivery.PRStatus(p.Status),
			IsDraft: p.IsDraft, CreatedAt: p.CreatedAt.UTC(), Author: p.AuthorID, MergeCommitSHA: p.MergeCommit,
			CommitSHAs: p.Commits, Title: p.Title, Description: p.Description,
		}
		if p.PublishedAt != nil {
			pr.PublishedAt = *p.PublishedAt
		}
		if p.ClosedAt != nil {
			pr.ClosedAt = *p.ClosedAt
		}
		for _, r := range p.Reviewers {
			rv := delivery.Reviewer{ID: r.ReviewerID, Vote: delivery.Vote(r.Vote)}
			if r.VotedAt != nil {
				rv.VotedAt = *r.VotedAt
			}
			pr.Reviewers = append(pr.Reviewers, rv)
		}
		for _, c := range p.Comments {
			pr.Comments = append(pr.Comments, delivery.Comment{Author: c.AuthorID, At: c.PublishedAt.UTC(), System: c.IsSystem})
		}
		for _, id := range p.WorkItemIDs {
			pr.WorkItemIDs = append(pr.WorkItemIDs, int(id))
		}
		pr.WorkItemIDs = append(pr.WorkItemIDs, links[strconv.FormatInt(p.PRID, 10)]...)
		out[i] = pr
	}
	return out, nil
}

// loadDeployments reads deployment candidates. A build-rule deployment
// carries its run's definition, tags and stage names so that the metrics'
// classification applies the deployment rule; one whose run is not stored
// keeps the environment the collector matched, as an environment deployment.
func loadDeployments(ctx context.Context, db Reader, ws, project string) ([]delivery.Deployment, error) {
	rows, err := db.AllDeployments(ctx, ws, project)
	if err != nil {
		return nil, err
	}
	out := make([]delivery.Deployment, len(rows))
	for i, d := range rows {
		dep := delivery.Deployment{
			ID: d.DeploymentKey, Source: delivery.DeploymentSource(d.Source), ProjectID: d.ProjectID,
			RepositoryID: d.RepoID, Environment: d.Environment, Result: delivery.Result(d.Result), SHA: d.SHA,
		}
		if d.StartedAt != nil {
			dep.StartedAt = *d.StartedAt
		}
		if d.FinishedAt != nil {
			dep.FinishedAt = *d.FinishedAt
		}
		if dep.Source == delivery.SourceBuildRule {
			if d.DefinitionName == "" && len(d.Stages) == 0 {
				dep.Source = delivery.SourceEnvironment
			} else {
				dep.Pipeline, dep.Stages = d.DefinitionName, d.Stages
				if d.Tags != "" {
					dep.Tags = strings.Split(d.Tags, ",")
				}
				// The collector's matched name is a candidate too.
				dep.Stages = append(dep.Stages, d.Environment)
			}
		}
		out[i] = dep
	}
	return out, nil
}

// loadWorkItems reads work items and returns their links by target: commit
// links keyed "<repo>:<sha>", PR links keyed by the PR id.
func loadWorkItems(ctx context.Context, db Reader, ws, project string) ([]delivery.WorkItem, map[string][]int, error) {
	rows, err := db.AllWorkItems(ctx, ws, project)
	if err != nil {
		return nil, nil, err
	}
	out := make([]delivery.WorkItem, len(rows))
	links := make(map[string][]int)
	for i, w := range rows {
		item := delivery.WorkItem{
			ID: int(w.WorkItemID), ProjectID: w.ProjectID, Type: w.Type, Title: w.Title, State: w.State,
			StateCategory: delivery.StateCategory(w.StateCategory), AreaPath: w.AreaPath, CreatedAt: w.CreatedAt.UTC(),
		}
		for _, tag := range strings.Split(w.Tags, ";") {
			if tag = strings.TrimSpace(tag); tag != "" {
				item.Tags = append(item.Tags, tag)
			}
		}
		if w.ResolvedAt != nil {
			item.ResolvedAt = *w.ResolvedAt
		}
		if w.ClosedAt != nil {
			item.ClosedAt = *w.ClosedAt
		}
		for _, l := range w.Links {
			kind := delivery.LinkCommit
			if l.TargetKind == "pull_request" {
				kind = delivery.LinkPullRequest
			}
			item.Links = append(item.Links, delivery.Link{Kind: kind, Target: l.TargetID})
			links[l.TargetID] = append(links[l.TargetID], item.ID)
		}
		out[i] = item
	}
	return out, links, nil
}
