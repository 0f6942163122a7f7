package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// CommitJSON is a commit as the API shows it.
type CommitJSON struct {
	Repository  string    `json:"repository"`
	SHA         string    `json:"sha"`
	Project     string    `json:"project"`
	AuthorName  string    `json:"author_name"`
	AuthorEmail string    `json:"author_email"`
	AuthoredAt  time.Time `json:"authored_at"`
	CommittedAt time.Time `json:"committed_at"`
	Message     string    `json:"message"`
	Adds        int       `json:"adds"`
	Edits       int       `json:"edits"`
	Deletes     int       `json:"deletes"`
	Parents     []string  `json:"parents"`
}

// ListCommits answers GET /api/v1/commits.
func (h *Handlers) ListCommits(w http.ResponseWriter, r *http.Request) error {
	return serveDataset(dataset[store.Commit]{
		list:   h.DB.ListCommits,
		cursor: store.Commit.Cursor,
		json: func(c store.Commit) any {
			return CommitJSON{Repository: c.RepoID, SHA: c.SHA, Project: c.ProjectID, AuthorName: c.AuthorName,
				AuthorEmail: c.AuthorEmail, AuthoredAt: c.AuthorDate, CommittedAt: c.CommitterDate, Message: c.Message,
				Adds: c.Adds, Edits: c.Edits, Deletes: c.Deletes, Parents: nonNil(c.Parents)}
		},
		columns: []string{"repository", "sha", "project", "author_name", "author_email", "authored_at", "committed_at", "adds", "edits", "deletes", "parents", "message"},
		csv: func(c store.Commit) []string {
			return []string{c.RepoID, c.SHA, c.ProjectID, c.AuthorName, c.AuthorEmail, formatTime(&c.AuthorDate),
				formatTime(&c.CommitterDate), strconv.Itoa(c.Adds), strconv.Itoa(c.Edits), strconv.Itoa(c.Deletes),
				joinSpace(c.Parents), c.Message}
		},
	}, w, r)
}

// PullRequestJSON is a pull request as the API shows it.
type PullRequestJSON struct {
	ID          int64      `json:"id"`
	Project     string     `json:"project"`
	Repository  string     `json:"repository"`
	Title       string     `json:"title"`
	Status      string     `json:"status"`
	IsDraft     bool       `json:"is_draft"`
	Author      string     `json:"author"`
	SourceRef   string     `json:"source_ref"`
	TargetRef   string     `json:"target_ref"`
	CreatedAt   time.Time  `json:"created_at"`
	PublishedAt *time.Time `json:"published_at"`
	ClosedAt    *time.Time `json:"closed_at"`
	MergeCommit string     `json:"merge_commit"`
}

// ListPullRequests answers GET /api/v1/pull-requests.
func (h *Handlers) ListPullRequests(w http.ResponseWriter, r *http.Request) error {
	return serveDataset(dataset[store.PullRequest]{
		list:   h.DB.ListPullRequests,
		cursor: store.PullRequest.Cursor,
		json: func(p store.PullRequest) any {
			return PullRequestJSON{ID: p.PRID, Project: p.ProjectID, Repository: p.RepoID, Title: p.Title, Status: p.Status,
				IsDraft: p.IsDraft, Author: p.AuthorName, SourceRef: p.SourceRef, TargetRef: p.TargetRef,
				CreatedAt: p.CreatedAt, PublishedAt: p.PublishedAt, ClosedAt: p.ClosedAt, MergeCommit: p.MergeCommit}
		},
		columns: []string{"id", "project", "repository", "status", "is_draft", "author", "source_ref", "target_ref", "created_at", "published_at", "closed_at", "merge_commit", "title"},
		csv: func(p store.PullRequest) []string {
			return []string{itoa(p.PRID), p.ProjectID, p.RepoID, p.Status, strconv.FormatBool(p.IsDraft), p.AuthorName,
				p.SourceRef, p.TargetRef, formatTime(&p.CreatedAt), formatTime(p.PublishedAt), formatTime(p.ClosedAt),
				p.MergeCommit, p.Title}
		},
	}, w, r)
}

// PipelineRunJSON is a pipeline run as the API shows it.
type PipelineRunJSON struct {
	ID            int64       `json:"id"`
	Project       string      `json:"project"`
	Definition    string      `json:"definition"`
	Repository    string      `json:"repository"`
	SourceBranch  string      `json:"source_branch"`
	SourceVersion string      `json:"source_version"`
	Status        string      `json:"status"`
	Result        string      `json:"result"`
	QueuedAt      *time.Time  `json:"queued_at"`
	StartedAt     *time.Time  `json:"started_at"`
	FinishedAt    *time.Time  `json:"finished_at"`
	Stages        []StageJSON `json:"stages"`
}

// StageJSON is a stage of a run.
type StageJSON struct {
	Name       string     `json:"name"`
	State      string     `json:"state"`
	Result     string     `json:"result"`
	FinishedAt *time.Time `json:"finished_at"`
}

// ListPipelineRuns answers GET /api/v1/pipeline-runs.
func (h *Handlers) ListPipelineRuns(w http.ResponseWriter, r *http.Request) error {
	return serveDataset(dataset[store.PipelineRun]{
		list:   h.DB.ListPipelineRuns,
		cursor: store.PipelineRun.Cursor,
		json: func(p store.PipelineRun) any {
			out := PipelineRunJSON{ID: p.RunID, Project: p.ProjectID, Definition: p.DefinitionName, Repository: p.RepoID,
				SourceBranch: p.SourceBranch, SourceVersion: p.SourceVersion, Status: p.Status, Result: p.Result,
				QueuedAt: p.QueuedAt, StartedAt: p.StartedAt, FinishedAt: p.FinishedAt, Stages: []StageJSON{}}
			for _, s := range p.Stages {
				out.Stages = append(out.Stages, StageJSON{Name: s.Name, State: s.State, Result: s.Result, FinishedAt: s.FinishedAt})
			}
			return out
		},
		columns: []string{"id", "project", "definition", "repository", "source_branch", "source_version", "status", "result", "queued_at", "started_at", "finished_at"},
		csv: func(p store.PipelineRun) []string {
			return []string{itoa(p.RunID), p.ProjectID, p.DefinitionName, p.RepoID, p.SourceBranch, p.SourceVersion,
				p.Status, p.Result, formatTime(p.QueuedAt), formatTime(p.StartedAt), formatTime(p.FinishedAt)}
		},
	}, w, r)
}

// DeploymentJSON is a deployment as the API shows it.
type DeploymentJSON struct {
	ID          string     `json:"id"`
	Project     string     `json:"project"`
	Source      string     `json:"source"`
	Repository  string     `json:"repository"`
	Environment string     `json:"environment"`
	Production  bool       `json:"production"`
	Result      string     `json:"result"`
	SHA         string     `json:"sha"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
}

// ListDeployments answers GET /api/v1/deployments (?production=true for
// production only).
func (h *Handlers) ListDeployments(w http.ResponseWriter, r *http.Request) error {
	onlyProduction := r.URL.Query().Get("production") == "true"
	return serveDataset(dataset[store.Deployment]{
		list: func(ctx context.Context, f store.Filter) ([]store.Deployment, error) {
			return h.DB.ListDeployments(ctx, f, onlyProduction)
		},
		cursor: store.Deployment.Cursor,
		json: func(d store.Deployment) any {
			return DeploymentJSON{ID: d.DeploymentKey, Project: d.ProjectID, Source: d.Source, Repository: d.RepoID,
				Environment: d.Environment, Production: d.IsProduction, Result: d.Result, SHA: d.SHA,
				StartedAt: d.StartedAt, FinishedAt: d.FinishedAt}
		},
		columns: []string{"id", "project", "source", "repository", "environment", "production", "result", "sha", "started_at", "finished_at"},
		csv: func(d store.Deployment) []string {
			return []string{d.DeploymentKey, d.ProjectID, d.Source, d.RepoID, d.Environment, strconv.FormatBool(d.IsProduction),
				d.Result, d.SHA, formatTime(d.StartedAt), formatTime(d.FinishedAt)}
		},
	}, w, r)
}

// WorkItemJSON is a work item as the API shows it.
type WorkItemJSON struct {
	ID int64 `json:"id"`
	// Container scopes the id: "" for Azure DevOps (ids are per
	// organization), the repository for a GitHub issue.
	Container     string     `json:"container"`
	Project       string     `json:"project"`
	Type          string     `json:"type"`
	Title         string     `json:"title"`
	State         string     `json:"state"`
	StateCategory string     `json:"state_category"`
	Tags          string     `json:"tags"`
	AreaPath      string     `json:"area_path"`
	CreatedAt     time.Time  `json:"created_at"`
	ChangedAt     time.Time  `json:"changed_at"`
	ResolvedAt    *time.Time `json:"resolved_at"`
	ClosedAt      *time.Time `json:"closed_at"`
	Deleted       bool       `json:"deleted"`
}

// ListWorkItems answers GET /api/v1/work-items.
func (h *Handlers) ListWorkItems(w http.ResponseWriter, r *http.Request) error {
	return serveDataset(dataset[store.WorkItem]{
		list:   h.DB.ListWorkItems,
		cursor: store.WorkItem.Cursor,
		json: func(i store.WorkItem) any {
			return WorkItemJSON{ID: i.WorkItemID, Container: i.Container, Project: i.ProjectID, Type: i.Type, Title: i.Title, State: i.State,
				StateCategory: i.StateCategory, Tags: i.Tags, AreaPath: i.AreaPath, CreatedAt: i.CreatedAt,
				ChangedAt: i.ChangedAt, ResolvedAt: i.ResolvedAt, ClosedAt: i.ClosedAt, Deleted: i.IsDeleted}
		},
		columns: []string{"id", "container", "project", "type", "state", "state_category", "tags", "area_path", "created_at", "changed_at", "resolved_at", "closed_at", "deleted", "title"},
		csv: func(i store.WorkItem) []string {
			return []string{itoa(i.WorkItemID), i.Container, i.ProjectID, i.Type, i.State, i.StateCategory, i.Tags, i.AreaPath,
				formatTime(&i.CreatedAt), formatTime(&i.ChangedAt), formatTime(i.ResolvedAt), formatTime(i.ClosedAt),
				strconv.FormatBool(i.IsDeleted), i.Title}
		},
	}, w, r)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func joinSpace(s []string) string { return strings.Join(s, " ") }
