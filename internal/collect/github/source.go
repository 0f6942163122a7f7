// Package github is the GitHub source of collection (collect.Source): how
// its webhook deliveries read and apply, the resources of a repository
// (a repository is a project, adr/0017: pull requests with their reviews,
// review comments and commits; the default branch's commits) and how they
// are read with githubapi. The neutral machinery — the inbox drain, jobs,
// checkpoints, progress, blocked resources, sync runs — is package collect's.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubapi"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Provider is the integrations' provider this source collects.
const Provider = "github"

// ClientSource gives the GitHub client of an integration: one per
// integration, so its conditional-request cache and call account hold
// across all jobs. The integration package implements it.
type ClientSource interface {
	Client(ctx context.Context, integrationID string) (*githubapi.Client, store.Integration, error)
}

// Source is the GitHub source.
type Source struct {
	clients ClientSource
	pulls   PullsPath
	runsCap int
}

// repositoryRefresher reads an integration's repository list again,
// selecting the new repositories of its whole organizations (the
// integration package implements it).
type repositoryRefresher interface {
	RefreshRepositories(ctx context.Context, integrationID string) error
}

var _ collect.Refresher = (*Source)(nil)

// Refresh reads the repository list again before each reconciliation, so
// with "whole organization" chosen a repository created since is selected
// (webhook registered, backfill queued) without anyone asking. The list is
// read with conditional requests: unchanged, it costs no rate limit.
func (s *Source) Refresh(ctx context.Context, integrationID string) error {
	if r, ok := s.clients.(repositoryRefresher); ok {
		return r.RefreshRepositories(ctx, integrationID)
	}
	return nil
}

// New returns the GitHub source, reading with the clients given. Without
// clients (nil) it applies deliveries only: backfills and reconciliations
// fail saying so, and details jobs are skipped.
func New(clients ClientSource) *Source { return &Source{clients: clients} }

// WithPulls sets how pull-request backfills read (default PullsGraphQL,
// adr/0020) and returns the source.
func (s *Source) WithPulls(p PullsPath) *Source { s.pulls = p; return s }

// WithRunsCap sets the cap of a filtered workflow runs list past which a
// created= range is halved: GitHub's 1,000 (0) unless a test lowers it to
// a simulator's lowered cap (githubsim.Options.RunsSearchCap). Returns the
// source.
func (s *Source) WithRunsCap(n int) *Source { s.runsCap = n; return s }

var _ collect.Source = (*Source)(nil)

// Provider is "github".
func (*Source) Provider() string { return Provider }

// Resources of a repository, in collection order.
const (
	resPullRequests = "pull_requests"
	resCommits      = "commits"
	resWorkflowRuns = "workflow_runs"
	resDeployments  = "deployments"
	resIssues       = "issues" // issues.go: work items
)

// Resources are a repository's resources, each with the fine-grained
// permission it is read with (githubapi.Permissions' keys).
var Resources = []collect.Resource{
	{Name: resPullRequests, Label: "pull requests", Scope: "pull_requests"},
	{Name: resCommits, Label: "commits", Scope: "contents"},
	{Name: resWorkflowRuns, Label: "workflow runs", Scope: "actions"},
	{Name: resDeployments, Label: "deployments", Scope: "deployments"},
	{Name: resIssues, Label: "issues", Scope: "issues"},
}

// Resources are a repository's, in collection order.
func (*Source) Resources() []collect.Resource { return Resources }

// envelope is what every delivery read here carries.
type envelope struct {
	Repository struct {
		ID       int64  `json:"id"`
		FullName string `json:"full_name"`
	} `json:"repository"`
	PullRequest *struct {
		UpdatedAt time.Time `json:"updated_at"`
	} `json:"pull_request"`
	Review *struct {
		SubmittedAt time.Time `json:"submitted_at"`
	} `json:"review"`
	HeadCommit *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"head_commit"`
	Issue *struct {
		UpdatedAt time.Time `json:"updated_at"`
	} `json:"issue"`
}

// Read reads a webhook delivery: the event type ingest stored from
// X-GitHub-Event, the repository as the project, the time from the
// payload's object (the receive time when it names none). The whole
// payload is what handlers read.
func (*Source) Read(stored store.InboxEvent) (collect.Event, error) {
	var env envelope
	if err := json.Unmarshal([]byte(stored.Payload), &env); err != nil {
		return collect.Event{}, fmt.Errorf("the delivery is not a GitHub webhook payload: %w", err)
	}
	ev := collect.Event{EventType: stored.EventType, At: stored.ReceivedAt, Resource: json.RawMessage(stored.Payload)}
	if env.Repository.ID != 0 {
		ev.ProjectID = repoID(env.Repository.ID)
	}
	switch {
	case env.Review != nil && !env.Review.SubmittedAt.IsZero():
		ev.At = env.Review.SubmittedAt
	case env.PullRequest != nil && !env.PullRequest.UpdatedAt.IsZero():
		ev.At = env.PullRequest.UpdatedAt
	case env.HeadCommit != nil && !env.HeadCommit.Timestamp.IsZero():
		ev.At = env.HeadCommit.Timestamp
	case env.Issue != nil && !env.Issue.UpdatedAt.IsZero():
		ev.At = env.Issue.UpdatedAt
	}
	return ev, nil
}

// repoID is a repository's key: GitHub's numeric id as text (adr/0017).
func repoID(id int64) string { return strconv.FormatInt(id, 10) }

// Client returns the integration's GitHub client.
func (s *Source) Client(ctx context.Context, integrationID string) (collect.Client, store.Integration, error) {
	if s.clients == nil {
		return nil, store.Integration{}, fmt.Errorf("collect: no GitHub clients attached: %w", delivery.ErrNotFound)
	}
	c, in, err := s.clients.Client(ctx, integrationID)
	if err != nil {
		return nil, in, err
	}
	return client{c: c, pulls: s.pulls, runsCap: s.runsCap}, in, nil
}

// client is an integration's GitHub client.
type client struct {
	c       *githubapi.Client
	pulls   PullsPath
	runsCap int
}

// Project collects one repository.
func (c client) Project(run *collect.Run) collect.ProjectClient {
	return &syncer{Run: run, c: c.c, pulls: c.pulls, runsCap: c.runsCap}
}

// permissionOf is the permission of a resource's scope as the token page
// names it, with what its absence breaks.
func permissionOf(scope string) (githubapi.Permission, bool) {
	for _, p := range githubapi.Permissions() {
		if p.Key == scope {
			return p, true
		}
	}
	return githubapi.Permission{}, false
}

// Blocked: a 403 naming a permission (GitHub's accepted permissions or
// scopes) blocks the resource with the fix; a 401 is the token's.
func (c client) Blocked(_ context.Context, res collect.Resource, err error) *collect.Blocked {
	var mp *githubapi.MissingPermission
	if delivery.KindOf(err) != delivery.KindForbidden || !errors.As(err, &mp) {
		return nil
	}
	p, ok := permissionOf(res.Scope)
	if !ok {
		return nil
	}
	return &collect.Blocked{Scope: res.Scope, Label: p.Label, Message: "GitHub refused " + p.Label + ": " + p.Breaks + " are not collected",
		Hint: "give the token " + p.Label + " (a classic token: the " + p.Classic + " scope) and save it with Update token"}
}

// Granted makes Check connection's call for the permission on the
// repository (projectID is its numeric id; the call needs its name).
func (c client) Granted(ctx context.Context, scope, projectID string) bool {
	id, err := strconv.ParseInt(projectID, 10, 64)
	if err != nil {
		return false
	}
	r, _, err := c.c.GitHub().Repositories.GetByID(ctx, id)
	if err != nil {
		return false
	}
	owner, name, _ := strings.Cut(r.GetFullName(), "/")
	return c.c.Probe(ctx, scope, owner, name) == nil
}
