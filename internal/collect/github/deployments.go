package github

import (
	"context"
	"errors"
	"strconv"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// GitHub's Deployments API (adr/0018): a deployment and its statuses are
// one deployment of METRICS.md (an attempt to put a version into an
// environment), keyed "deployment:<GitHub's id>", source "environment".
// Its outcome is its newest terminal status: success → succeeded, failure
// or error → failed, finished at that status' time; inactive (a newer
// deployment replaced it) changes nothing; queued, pending and in_progress
// are not finished and count nowhere. Production is the production rule on
// its environment's name, as for every source.

// deployLookback: deployments are listed newest first by creation; a
// reconciliation reads those created this long before its watermark, so
// one that finishes long after it began is read again.
const deployLookback = 24 * time.Hour

// deployments lists the repository's deployments created since the
// window's start, newest first, with their statuses, a page per write;
// then this repository's runs no longer stand for deployments. Cursor:
// the next page.
func (s *syncer) deployments(ctx context.Context, cp *collect.Checkpoint) error {
	owner, name, err := s.ownerName()
	if err != nil {
		return err
	}
	since := s.From
	if s.Reconcile {
		since = since.Add(-deployLookback)
	}
	page := 1
	if p, ok := pageOf(cp.Pos); ok {
		page = p
	}
	for page != 0 {
		list, resp, err := call(ctx, cp, func(ctx context.Context) ([]*gh.Deployment, *gh.Response, error) {
			return s.c.GitHub().Repositories.ListDeployments(ctx, owner, name, &gh.DeploymentsListOptions{
				ListOptions: gh.ListOptions{PerPage: pageSize, Page: page}})
		})
		if err != nil {
			return err
		}
		page = resp.NextPage
		var rows []store.Deployment
		var items []collect.Fingerprinted
		for _, d := range list {
			if d.GetCreatedAt().Before(since) {
				page = 0
				break
			}
			statuses, err := allPages(ctx, cp, 0, func(ctx context.Context, p int) ([]*gh.DeploymentStatus, *gh.Response, error) {
				return s.c.GitHub().Repositories.ListDeploymentStatuses(ctx, owner, name, d.GetID(), &gh.ListOptions{PerPage: pageSize, Page: p})
			})
			if delivery.IsNotFound(err) {
				continue // deleted since it was listed
			}
			if err != nil {
				return err
			}
			row := deploymentRow(s.Key, s.Project.ProjectID, d, latestStatus(statuses), s.Rules)
			rows = append(rows, row)
			items = append(items, collect.Fingerprinted{Kind: store.SyncDeployment, Key: row.DeploymentKey, FP: row.Result})
		}
		cp.Pos = pagePos(page)
		if err := s.Write(ctx, resDeployments, cp, items, func(tx *store.Tx) error {
			for _, row := range rows {
				if err := tx.UpsertDeployment(ctx, row); err != nil {
					return err
				}
			}
			if len(rows) == 0 {
				return nil
			}
			return dropRunDeployments(ctx, tx, s.Key.IntegrationID, s.Project.ProjectID)
		}); err != nil {
			return err
		}
	}
	return nil
}

// latestStatus is the status that decides the outcome among a
// deployment's statuses: the newest terminal one (success, failure,
// error), else the newest (nil when there is none).
func latestStatus(statuses []*gh.DeploymentStatus) *gh.DeploymentStatus {
	var newest, terminal *gh.DeploymentStatus
	for _, st := range statuses {
		if newest == nil || st.GetCreatedAt().After(newest.GetCreatedAt().Time) ||
			(st.GetCreatedAt().Equal(newest.GetCreatedAt()) && st.GetID() > newest.GetID()) {
			newest = st
		}
		if isTerminal(st.GetState()) && (terminal == nil || st.GetCreatedAt().After(terminal.GetCreatedAt().Time) ||
			(st.GetCreatedAt().Equal(terminal.GetCreatedAt()) && st.GetID() > terminal.GetID())) {
			terminal = st
		}
	}
	if terminal != nil {
		return terminal
	}
	return newest
}

// isTerminal: a status that finishes the deployment.
func isTerminal(state string) bool {
	return state == "success" || state == "failure" || state == "error"
}

// deploymentResult maps a status' state to a result: success →
// succeeded, failure and error → failed, in_progress → inProgress, queued
// and pending (and no status) → notStarted, inactive → inactive (never
// finished as far as this deployment's statuses say).
func deploymentResult(state string) string {
	switch state {
	case "success":
		return string(delivery.ResultSucceeded)
	case "failure", "error":
		return string(delivery.ResultFailed)
	case "in_progress":
		return string(delivery.ResultInProgress)
	case "inactive":
		return "inactive"
	}
	return string(delivery.ResultNotStarted)
}

// deploymentRow is a deployment with the status that decides it.
func deploymentRow(k store.Key, repo string, d *gh.Deployment, st *gh.DeploymentStatus, rules delivery.Rules) store.Deployment {
	env := d.GetEnvironment()
	if st != nil && st.GetEnvironment() != "" {
		env = st.GetEnvironment() // a status may move the deployment to another environment
	}
	cls, _ := rules.Classify(delivery.Deployment{Source: delivery.SourceEnvironment, Environment: env})
	row := store.Deployment{Key: k, DeploymentKey: deploymentKeyPrefix + strconv.FormatInt(d.GetID(), 10), ProjectID: repo,
		Source: string(delivery.SourceEnvironment), RepoID: repo, Environment: env, IsProduction: cls.Production,
		Result: deploymentResult(st.GetState()), SHA: d.GetSHA()}
	if t := d.GetCreatedAt().Time; !t.IsZero() {
		row.StartedAt = &t
	}
	if st != nil && isTerminal(st.GetState()) {
		t := st.GetCreatedAt().Time
		row.FinishedAt = &t
	}
	return row
}

// dropRunDeployments removes the deployments a repository's runs were by
// the deployment rule once it has a deployment of the Deployments API:
// Actions jobs that deploy to an environment create those deployments
// themselves, and counting both would count one deployment twice.
func dropRunDeployments(ctx context.Context, tx *store.Tx, integrationID, repo string) error {
	keys, err := tx.DeploymentKeys(ctx, integrationID, repo, buildKeyPrefix, 0)
	if err != nil || len(keys) == 0 {
		return err
	}
	return tx.DeleteDeployments(ctx, integrationID, keys)
}

// deploymentPayload is a deployment or deployment_status delivery.
type deploymentPayload struct {
	Deployment       *gh.Deployment       `json:"deployment"`
	DeploymentStatus *gh.DeploymentStatus `json:"deployment_status"`
	Repository       struct {
		ID int64 `json:"id"`
	} `json:"repository"`
}

func readDeploymentPayload(ev collect.Event) (deploymentPayload, error) {
	var p deploymentPayload
	if err := decode(ev, &p); err != nil {
		return p, err
	}
	if p.Deployment == nil || p.Deployment.GetID() == 0 || p.Repository.ID == 0 {
		return p, collect.Unreadable(errors.New(ev.EventType + " event without deployment.id or repository.id"))
	}
	return p, nil
}

// applyDeployment stores a deployment just created (no status yet:
// not started); one stored already keeps what its statuses said.
func applyDeployment(ctx context.Context, tx *store.Tx, ev collect.Event) (collect.Applied, error) {
	p, err := readDeploymentPayload(ev)
	if err != nil {
		return collect.Applied{}, err
	}
	row := deploymentRow(ev.Key, repoID(p.Repository.ID), p.Deployment, nil, ev.Rules)
	if _, err := tx.GetDeployment(ctx, ev.IntegrationID, row.DeploymentKey); err == nil {
		return collect.Applied{Ignored: "the deployment is stored: its statuses decide it"}, nil
	} else if !delivery.IsNotFound(err) {
		return collect.Applied{}, err
	}
	if err := tx.UpsertDeployment(ctx, row); err != nil {
		return collect.Applied{}, err
	}
	return collect.Applied{}, dropRunDeployments(ctx, tx, ev.IntegrationID, row.ProjectID)
}

// applyDeploymentStatus stores the deployment as its new status decides
// it, in the same transaction as the delivery's outcome: a finished
// production deployment counts on the dashboard at once. A status older
// than the terminal one stored, or an unfinished one after it, changes
// nothing.
func applyDeploymentStatus(ctx context.Context, tx *store.Tx, ev collect.Event) (collect.Applied, error) {
	p, err := readDeploymentPayload(ev)
	if err != nil {
		return collect.Applied{}, err
	}
	if p.DeploymentStatus == nil || p.DeploymentStatus.GetState() == "" {
		return collect.Applied{}, collect.Unreadable(errors.New("deployment_status event without deployment_status.state"))
	}
	row := deploymentRow(ev.Key, repoID(p.Repository.ID), p.Deployment, p.DeploymentStatus, ev.Rules)
	stored, err := tx.GetDeployment(ctx, ev.IntegrationID, row.DeploymentKey)
	switch {
	case err == nil && stored.FinishedAt != nil && (row.FinishedAt == nil || row.FinishedAt.Before(*stored.FinishedAt)):
		return collect.Applied{Ignored: "the stored deployment is finished: only a newer success, failure or error changes it"}, nil
	case err != nil && !delivery.IsNotFound(err):
		return collect.Applied{}, err
	}
	if err := tx.UpsertDeployment(ctx, row); err != nil {
		return collect.Applied{}, err
	}
	return collect.Applied{}, dropRunDeployments(ctx, tx, ev.IntegrationID, row.ProjectID)
}
