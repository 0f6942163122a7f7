// Package azure is the Azure DevOps source of collection (collect.Source):
// how its service hook deliveries read and apply, the resources of a
// project (repositories, commits, pull requests, pipeline runs,
// environment and classic release deployments, work items, and the
// deployments derived from them) and how they are read with the REST API.
// The neutral machinery — the inbox drain, jobs, checkpoints, progress,
// blocked resources, sync runs — is package collect's.
package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// Provider is the integrations' provider this source collects.
const Provider = "azure-devops"

// ClientSource gives the Azure DevOps client of an integration: one per
// integration, so its concurrency limit and pacing hold across all jobs.
// The integration package implements it.
type ClientSource interface {
	Client(ctx context.Context, integrationID string) (*azdo.Client, store.Integration, error)
}

// Source is the Azure DevOps source.
type Source struct{ clients ClientSource }

// New returns the Azure DevOps source, reading with the clients given.
// Without clients (nil) it applies deliveries only: backfills and
// reconciliations fail saying so, and details jobs are skipped.
func New(clients ClientSource) *Source { return &Source{clients: clients} }

var _ collect.Source = (*Source)(nil)

// Provider is "azure-devops".
func (*Source) Provider() string { return Provider }

// Read reads a service hook delivery: its envelope (id, eventType,
// createdDate, resource) and the project it belongs to.
func (*Source) Read(stored store.InboxEvent) (collect.Event, error) {
	env, err := webhook.ParseEnvelope([]byte(stored.Payload))
	if err != nil {
		return collect.Event{}, err
	}
	return collect.Event{EventType: env.EventType, At: env.CreatedDate, ProjectID: projectOf([]byte(stored.Payload)),
		Resource: env.Resource}, nil
}

// Handlers routes the event types collected.
func (*Source) Handlers() map[string]collect.Handler { return handlers }

// Resources are a project's, in collection order.
func (*Source) Resources() []collect.Resource { return Resources }

// Client returns the integration's Azure DevOps client.
func (s *Source) Client(ctx context.Context, integrationID string) (collect.Client, store.Integration, error) {
	if s.clients == nil {
		return nil, store.Integration{}, fmt.Errorf("collect: no Azure DevOps clients attached: %w", delivery.ErrNotFound)
	}
	c, in, err := s.clients.Client(ctx, integrationID)
	if err != nil {
		return nil, in, err
	}
	return client{c: c}, in, nil
}

// event is a delivery being applied.
type event = collect.Event

// handler applies one event type within tx; it returns a reason when the
// event is deliberately ignored.
type handler func(ctx context.Context, tx *store.Tx, ev event) (ignored string, err error)

// handlers routes by eventType; anything else is stored and ignored.
var handlers = map[string]collect.Handler{
	"git.push":                                   apply(applyPush),
	"git.pullrequest.created":                    apply(applyPullRequest),
	"git.pullrequest.updated":                    apply(applyPullRequest),
	"git.pullrequest.merged":                     apply(applyPullRequest),
	"ms.vss-code.git-pullrequest-comment-event":  apply(applyPRComment),
	"git.repo.created":                           apply(applyRepository),
	"git.repo.renamed":                           apply(applyRepository),
	"git.repo.deleted":                           apply(applyRepository),
	"workitem.created":                           apply(applyWorkItem),
	"workitem.updated":                           apply(applyWorkItem),
	"workitem.restored":                          apply(applyWorkItem),
	"workitem.deleted":                           apply(applyWorkItem),
	"build.complete":                             applyRun(applyBuild),
	"ms.vss-pipelines.run-state-changed-event":   applyRun(applyPipelineRun),
	"ms.vss-pipelines.stage-state-changed-event": applyRun(applyPipelineRun),
	"ms.vss-release.deployment-completed-event":  apply(applyReleaseDeployment),
}

// apply makes a handler of h: what it stored, the PR it changed (for the
// PR observer) and the details it needs.
func apply(h handler) collect.Handler {
	return collect.Handler{Apply: func(ctx context.Context, tx *store.Tx, ev event) (collect.Applied, error) {
		ignored, err := h(ctx, tx, ev)
		if err != nil || ignored != "" {
			return collect.Applied{Ignored: ignored}, err
		}
		done := collect.Applied{PR: prOf(ev)}
		if d, ok := detailsFor(ev); ok {
			done.Details = &d
		}
		return done, nil
	}}
}

// applyRun is apply for events that store a pipeline run: the deployments
// it makes are derived in the transaction that stores it, so a figure
// counts a deployment as soon as the webhook arrives rather than at the
// next reconciliation.
func applyRun(h handler) collect.Handler {
	inner := apply(h).Apply
	return collect.Handler{Rules: true, Apply: func(ctx context.Context, tx *store.Tx, ev event) (collect.Applied, error) {
		done, err := inner(ctx, tx, ev)
		if err != nil || done.Ignored != "" {
			return done, err
		}
		return done, deriveRun(ctx, tx, ev, ev.Rules)
	}}
}

// prOf is the PR an event changed, if any: the resource is the PR
// (git.pullrequest.*) or holds it (ms.vss-code.git-pullrequest-comment-event).
func prOf(ev event) *store.PRRef {
	type prPart struct {
		PullRequestID int64         `json:"pullRequestId"`
		Repository    gitRepository `json:"repository"`
	}
	var r struct {
		prPart
		PullRequest prPart `json:"pullRequest"`
	}
	if json.Unmarshal(ev.Resource, &r) != nil {
		return nil
	}
	pr := r.prPart
	if pr.PullRequestID == 0 {
		pr = r.PullRequest
	}
	if pr.PullRequestID == 0 || pr.Repository.ID == "" {
		return nil
	}
	return &store.PRRef{IntegrationID: ev.IntegrationID, RepoID: pr.Repository.ID, PRID: pr.PullRequestID}
}

// projectOf finds the project an event belongs to: the envelope's
// resourceContainers, else where each resource type keeps it.
func projectOf(payload []byte) string {
	var p struct {
		ResourceContainers struct {
			Project struct {
				ID string `json:"id"`
			} `json:"project"`
		} `json:"resourceContainers"`
		Resource struct {
			ProjectID  string     `json:"projectId"`
			Project    projectRef `json:"project"`
			Repository struct {
				Project projectRef `json:"project"`
			} `json:"repository"`
			PullRequest struct {
				Repository struct {
					Project projectRef `json:"project"`
				} `json:"repository"`
			} `json:"pullRequest"`
		} `json:"resource"`
	}
	_ = json.Unmarshal(payload, &p)
	for _, id := range []string{p.ResourceContainers.Project.ID, p.Resource.ProjectID, p.Resource.Repository.Project.ID,
		p.Resource.PullRequest.Repository.Project.ID, p.Resource.Project.ID} {
		if id != "" && id != "00000000-0000-0000-0000-000000000000" {
			return id
		}
	}
	return ""
}

// decodeResource reads the event's resource into v.
func decodeResource(ev event, v any) error {
	if len(ev.Resource) == 0 || string(ev.Resource) == "null" {
		return collect.Unreadable(errors.New("the event has no resource"))
	}
	if err := json.Unmarshal(ev.Resource, v); err != nil {
		return collect.Unreadable(fmt.Errorf("resource of %s: %w", ev.EventType, err))
	}
	return nil
}

// Page sizes: the largest each list is known to accept. The spec documents
// no maxima (PROTOCOL §5 gap); these are the values the service is commonly
// reported to honour, and larger ones only make it cut pages short.
const (
	commitPageSize  = 1000
	prPageSize      = 1000
	buildPageSize   = 1000
	envPageSize     = 1000
	releasePageSize = 100
	// chunk is how many per-item calls (PR details, timelines, work item
	// batches of 200) run before their rows are written and checkpointed.
	prChunk    = 8
	buildChunk = 16
	wiChunk    = 4
	// envSlack is how long before the window a deployment record may have
	// been queued and still finish inside it (approvals can wait days).
	envSlack = 7 * 24 * time.Hour
)

// Resources of a project, in collection order. Later steps use what
// earlier ones stored (repositories → commits, runs → deployments).
const (
	resRepositories = "repositories"
	resCommits      = "commits"
	resPullRequests = "pull_requests"
	resRuns         = "pipeline_runs"
	resEnvDeploys   = "environment_deployments"
	resReleases     = "release_deployments"
	resWorkItems    = "work_items"
	resDerive       = "deployments"
)

// Resources are a project's resources, in collection order, each with the
// PAT scope it is read with ("" for deployments, derived from the
// database) and its name on the status screen. Commits and pull requests
// are listed per repository: blocked with them.
var Resources = []collect.Resource{
	{Name: resRepositories, Label: "repositories", Scope: string(azdo.ScopeCodeRead)},
	{Name: resCommits, Label: "commits", Scope: string(azdo.ScopeCodeRead), DependsOn: resRepositories},
	{Name: resPullRequests, Label: "pull requests", Scope: string(azdo.ScopeCodeRead), DependsOn: resRepositories},
	{Name: resRuns, Label: "pipeline runs", Scope: string(azdo.ScopeBuildRead)},
	{Name: resEnvDeploys, Label: "environment deployments", Scope: string(azdo.ScopeEnvironmentManage)},
	{Name: resReleases, Label: "classic release deployments", Scope: string(azdo.ScopeReleaseRead)},
	{Name: resWorkItems, Label: "work items", Scope: string(azdo.ScopeWorkItemsRead)},
	{Name: resDerive, Label: "deployments"},
}

// client is an integration's Azure DevOps client.
type client struct{ c *azdo.Client }

// Project collects one project.
func (c client) Project(run *collect.Run) collect.ProjectClient {
	return &syncer{Run: run, client: c.c}
}

// Blocked: a 403, or a 401 while connectionData still answers for the
// user, blocks the resource; the scope's advice says what it breaks and
// how to fix it (a 403 without a scope error: the account's permission).
func (c client) Blocked(ctx context.Context, res collect.Resource, err error) *collect.Blocked {
	kind := delivery.KindOf(err)
	if kind == delivery.KindUnauthorized {
		if terr := c.c.TokenWorks(ctx); terr != nil {
			return nil // the token itself: the integration shows it
		}
	}
	sc := azdo.Scope(res.Scope)
	breaks, fix := azdo.ScopeAdvice(sc)
	b := &collect.Blocked{Scope: res.Scope, Label: azdo.ScopeLabel(sc), Message: breaks, Hint: fix}
	var se *azdo.ScopeError
	var de *delivery.Error
	if kind == delivery.KindForbidden && !errors.As(err, &se) && errors.As(err, &de) {
		// 403: the scope is there, the account lacks a permission.
		b.Message, b.Hint = de.Message, de.Hint
	}
	return b
}

// Granted probes the scope with its cheap call.
func (c client) Granted(ctx context.Context, scope, projectID string) bool {
	return c.c.ProbeScope(ctx, azdo.Scope(scope), projectID).OK()
}
