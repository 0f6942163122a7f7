package dashboard

import (
	"context"
	"slices"
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
	ProjectRepositories(ctx context.Context, workspaceID, project string) ([]string, error)
	EachCommit(ctx context.Context, workspaceID, project, repo string, fn func(store.GraphCommit) error) error
	AllPullRequests(ctx context.Context, workspaceID, project, repo string, reduce func(*store.PullRequestDetail)) ([]store.PullRequestDetail, error)
	AllDeployments(ctx context.Context, workspaceID, project string) ([]store.DeploymentDetail, error)
	AllWorkItems(ctx context.Context, workspaceID, project string) ([]store.WorkItemDetail, error)
	ListScopes(ctx context.Context, workspaceID string) ([]store.Scope, error)
	ListIntegrations(ctx context.Context, workspaceID, provider string) ([]store.Integration, error)
	GetWorkspaceRules(ctx context.Context, workspaceID string) (store.WorkspaceRules, error)
	ListTeams(ctx context.Context, workspaceID string) ([]store.Team, error)
}

// analyzeProject reads and analyzes one project a repository at a time,
// so that only one repository's rows are in memory at once: its commits,
// packed as they stream from the store (about a hundred bytes each), and
// its PRs. The project's work items and deployments are read whole first:
// they are a fraction of the commits, and deployments name their
// repositories. A repository in keep is not read: its earlier analysis is
// reused. Every rule of METRICS.md is local to a project; a work item
// links to commits and PRs of its own project. The counts and the analysis
// time go to stats. keepNames are the kept repositories' PR titles and
// authors; the others' are read with their PRs.
func analyzeProject(ctx context.Context, db Reader, ws, project string, base metrics.Input, keep map[string]metrics.RepositoryPart,
	keepNames map[string]map[int]prName, stats *BuildStats) (projectFacts, error) {
	facts := projectFacts{repos: map[string]metrics.RepositoryPart{}, prs: map[string]map[int]prName{}}
	items, links, err := loadWorkItems(ctx, db, ws, project)
	if err != nil {
		return projectFacts{}, err
	}
	known := make(map[int]bool, len(items))
	for _, w := range items {
		known[w.ID] = true
	}
	deps, depNames, err := loadDeployments(ctx, db, ws, project)
	if err != nil {
		return projectFacts{}, err
	}
	facts.deps = depNames
	repos, err := db.ProjectRepositories(ctx, ws, project)
	if err != nil {
		return projectFacts{}, err
	}
	// A repository's deployments are a run of deps sorted by repository;
	// deployments of no repository come as a repository "" of their own.
	slices.SortStableFunc(deps, func(x, y delivery.Deployment) int { return strings.Compare(x.RepositoryID, y.RepositoryID) })
	depsOf := map[string][]delivery.Deployment{}
	for i := 0; i < len(deps); {
		j := i + 1
		for j < len(deps) && deps[j].RepositoryID == deps[i].RepositoryID {
			j++
		}
		depsOf[deps[i].RepositoryID] = deps[i:j:j]
		i = j
	}
	for r := range depsOf {
		repos = append(repos, r)
	}
	slices.Sort(repos)
	repos = slices.Compact(repos)
	stats.WorkItems += len(items)
	stats.Deployments += len(deps)

	b := metrics.NewProjectBuilder(metrics.Input{Rules: base.Rules, Project: project, CollectedSince: base.CollectedSince,
		WorkItems: items})
	for _, repo := range repos {
		if part, ok := keep[repo]; ok {
			b.AddPart(part)
			facts.repos[repo] = part
			facts.prs[repo] = keepNames[repo]
			continue
		}
		stats.Repositories++
		var commits *metrics.Commits
		var prs []delivery.PullRequest
		if repo != "" {
			commits = metrics.NewCommits(repo)
			err := db.EachCommit(ctx, ws, project, repo, func(c store.GraphCommit) error {
				commits.Add(c.SHA, c.Parents, c.AuthorDate, c.Adds+c.Edits+c.Deletes, commitWorkItems(c, links, known))
				return nil
			})
			if err != nil {
				return projectFacts{}, err
			}
			if prs, facts.prs[repo], err = loadPullRequests(ctx, db, ws, project, repo, links, known); err != nil {
				return projectFacts{}, err
			}
			stats.Commits += commits.Len()
			stats.PullRequests += len(prs)
		}
		t0 := time.Now()
		facts.repos[repo] = b.AddCommits(commits, prs, depsOf[repo]) // keeps nothing of commits and prs
		stats.Analyze += time.Since(t0)
	}
	t0 := time.Now()
	facts.set = b.Finish()
	stats.Analyze += time.Since(t0)
	return facts, nil
}

// The load functions map store rows to delivery values.

// commitWorkItems are a stored commit's work items: links of kind commit
// ("<repo>:<sha>") and #1234 mentions of the project's known work items,
// so that the message need not be kept.
func commitWorkItems(c store.GraphCommit, links map[string][]int, known map[int]bool) []int {
	return appendMentions(links[c.RepoID+":"+c.SHA], c.Message, known)
}

// appendMentions returns ids and the known work items text mentions as
// #1234, without writing into ids' array.
func appendMentions(ids []int, text string, known map[int]bool) []int {
	ids = slices.Clip(ids)
	for _, id := range delivery.Mentions(text) {
		if known[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// loadPullRequests reads a repository's PRs. Work item links and #1234
// mentions in the title and description become the PR's work items as
// each row is read, and the texts are dropped: a description can be pages
// long, and a repository has thousands of PRs. Only the title (cut to
// titleMax) and the author's name are kept, for the drill-down.
func loadPullRequests(ctx context.Context, db Reader, ws, project, repo string, links map[string][]int, known map[int]bool) ([]delivery.PullRequest, map[int]prName, error) {
	titles := map[int]prName{}
	authors := map[string]string{} // one copy of each author's name
	rows, err := db.AllPullRequests(ctx, ws, project, repo, func(p *store.PullRequestDetail) {
		for _, id := range appendMentions(nil, p.Title+"\n"+p.Description, known) {
			p.WorkItems = append(p.WorkItems, store.WorkItemRef{ID: int64(id)})
		}
		author, ok := authors[p.AuthorName]
		if !ok {
			author = strings.Clone(p.AuthorName)
			authors[author] = author
		}
		titles[int(p.PRID)] = prName{Title: strings.Clone(shortTitle(p.Title)), Author: author}
		p.Title, p.Description, p.AuthorName, p.SourceRef, p.TargetRef = "", "", "", "", ""
	})
	if err != nil {
		return nil, nil, err
	}
	out := make([]delivery.PullRequest, len(rows))
	for i, p := range rows {
		pr := delivery.PullRequest{
			ID: int(p.PRID), ProjectID: p.ProjectID, RepositoryID: p.RepoID, Status: delivery.PRStatus(p.Status),
			IsDraft: p.IsDraft, CreatedAt: p.CreatedAt.UTC(), Author: p.AuthorID, MergeCommitSHA: p.MergeCommit,
			CommitSHAs: p.Commits,
		}
		if p.PublishedAt != nil {
			pr.PublishedAt = *p.PublishedAt
		}
		if p.FirstCommitAt != nil {
			pr.FirstCommitAt = p.FirstCommitAt.UTC()
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
		for _, w := range p.WorkItems {
			pr.WorkItemIDs = append(pr.WorkItemIDs, int(w.ID))
		}
		pr.WorkItemIDs = append(pr.WorkItemIDs, links[p.Ref().Target()]...)
		out[i] = pr
	}
	return out, titles, nil
}

// loadDeployments reads deployment candidates. A build-rule deployment
// carries its run's definition, tags and stage names so that the metrics'
// classification applies the deployment rule; one whose run is not stored
// keeps the environment the collector matched, as an environment deployment.
func loadDeployments(ctx context.Context, db Reader, ws, project string) ([]delivery.Deployment, map[string]deploymentName, error) {
	rows, err := db.AllDeployments(ctx, ws, project)
	if err != nil {
		return nil, nil, err
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
	return out, deploymentNames(rows), nil
}

// loadWorkItems reads work items and returns their links by target: commit
// links keyed "<repo>:<sha>", PR links keyed "<repo>:<pr id>".
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
