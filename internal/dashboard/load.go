package dashboard

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Reader is the part of the store the dashboard reads: whole-workspace
// reads for the analysis and the cheap fingerprints that say when to read
// again. *store.DB implements it; tests may wrap it to count reads.
type Reader interface {
	DataVersion(ctx context.Context, workspaceID string, inboxSince time.Time) (store.DataVersion, error)
	DataParts(ctx context.Context, workspaceID string) (store.DataParts, error)
	AllCommits(ctx context.Context, workspaceID string) ([]store.Commit, error)
	AllPullRequests(ctx context.Context, workspaceID string) ([]store.PullRequestDetail, error)
	AllDeployments(ctx context.Context, workspaceID string) ([]store.DeploymentDetail, error)
	AllWorkItems(ctx context.Context, workspaceID string) ([]store.WorkItemDetail, error)
	ListScopes(ctx context.Context, workspaceID string) ([]store.Scope, error)
	ListIntegrations(ctx context.Context, workspaceID, provider string) ([]store.Integration, error)
}

// The load functions map store rows to delivery values. They are separate
// so that the cache can re-read one kind of row when only that kind changed.

// loadCommits reads the commit graph. Work item links of kind commit
// ("<repo>:<sha>") become the commit's work items.
func loadCommits(ctx context.Context, db Reader, ws string, links map[string][]int) ([]delivery.Commit, error) {
	rows, err := db.AllCommits(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := make([]delivery.Commit, len(rows))
	for i, c := range rows {
		author := c.AuthorEmail
		if author == "" {
			author = c.AuthorName
		}
		out[i] = delivery.Commit{
			RepositoryID: c.RepoID, SHA: c.SHA, Parents: c.Parents, Author: author,
			AuthoredAt: c.AuthorDate.UTC(), CommittedAt: c.CommitterDate.UTC(), Message: c.Message,
			Changes:     delivery.ChangeCounts{Added: c.Adds, Edited: c.Edits, Deleted: c.Deletes},
			WorkItemIDs: links[c.RepoID+":"+c.SHA],
		}
	}
	return out, nil
}

func loadPullRequests(ctx context.Context, db Reader, ws string, links map[string][]int) ([]delivery.PullRequest, error) {
	rows, err := db.AllPullRequests(ctx, ws)
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
func loadDeployments(ctx context.Context, db Reader, ws string) ([]delivery.Deployment, error) {
	rows, err := db.AllDeployments(ctx, ws)
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
func loadWorkItems(ctx context.Context, db Reader, ws string) ([]delivery.WorkItem, map[string][]int, error) {
	rows, err := db.AllWorkItems(ctx, ws)
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
