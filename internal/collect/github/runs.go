package github

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// GitHub Actions workflow runs (adr/0018): stored as pipeline runs, and a
// run whose workflow name matches the deployment rule is a deployment
// (METRICS.md "Deployment", case 3) — unless the repository uses the
// Deployments API, whose deployments then stand for its runs.

const (
	// runsCap: GitHub answers at most 1,000 runs for a search filter such
	// as created ("returns up to 1,000 results for each search when using
	// the following parameters: actor, branch, check_suite_id, created,
	// event, head_sha, status", actions/list-workflow-runs-for-repo); a
	// range with as many is split in two.
	runsCap = 1000
	// runLookback: a reconciliation re-reads runs created this long
	// before its watermark, so a long run finishing now is read again.
	runLookback = 24 * time.Hour
	// dayLayout is the date of GitHub's created qualifier.
	dayLayout = "2006-01-02"
)

// workflowRuns lists the repository's workflow runs created since the
// window's start, a created= range at a time (oldest range first, halved
// while GitHub's cap would cut it: by days, then within a day by time —
// created is "the given date-time range" in GitHub's search syntax, whose
// "Query for dates" takes date-times (OpenAPI, parameter created), a page
// per write. Cursor: the
// first day (or, within a day that was split, second) not yet read in
// full.
func (s *syncer) workflowRuns(ctx context.Context, cp *collect.Checkpoint) error {
	owner, name, err := s.ownerName()
	if err != nil {
		return err
	}
	since := s.From
	if s.Reconcile {
		since = since.Add(-runLookback)
	}
	start := day(since)
	if p, ok := parseRunsPos(cp.Pos); ok && p.After(start) {
		start = p
	}
	end := day(s.Now()).AddDate(0, 0, 1).Add(-time.Second) // today's last second
	limit := cmp.Or(s.runsCap, runsCap)
	list := func(from, to time.Time, page int) (*gh.WorkflowRuns, *gh.Response, error) {
		return call(ctx, cp, func(ctx context.Context) (*gh.WorkflowRuns, *gh.Response, error) {
			return s.c.GitHub().Actions.ListRepositoryWorkflowRuns(ctx, owner, name, &gh.ListWorkflowRunsOptions{
				Created: runsRange(from, to), ListOptions: gh.ListOptions{PerPage: pageSize, Page: page}})
		})
	}
	for !start.After(end) {
		to := end
		var runs *gh.WorkflowRuns
		var resp *gh.Response
		for {
			if runs, resp, err = list(start, to, 1); err != nil {
				return err
			}
			// At the cap, not only past it: the docs promise "up to 1,000
			// results" and do not say that total_count goes past them.
			if runs.GetTotalCount() < limit || !to.After(start) {
				break // a second at the cap is read as far as GitHub serves it
			}
			to = halve(start, to)
		}
		next := to.Add(time.Second)
		for {
			cp.Pos = runsPos(start)
			if resp.NextPage == 0 {
				cp.Pos = runsPos(next)
			}
			if err := s.writeRuns(ctx, cp, since, runs.WorkflowRuns); err != nil {
				return err
			}
			if resp.NextPage == 0 {
				break
			}
			if runs, resp, err = list(start, to, resp.NextPage); err != nil {
				return err
			}
		}
		start = next
	}
	return nil
}

// halve is the end of the first half of the range from..to (both
// included, to after from): the day before the middle one when the range
// spans days, else the second before the middle.
func halve(from, to time.Time) time.Time {
	mid := from.Add(to.Sub(from) / 2)
	if d := day(mid); d.After(from) {
		return d.Add(-time.Second)
	}
	return mid.Truncate(time.Second)
}

// runsRange is the created= qualifier of from..to (both included): dates
// when it is whole days, else date-times.
func runsRange(from, to time.Time) string {
	if from.Equal(day(from)) && to.Add(time.Second).Equal(day(to.Add(time.Second))) {
		return from.Format(dayLayout) + ".." + to.Format(dayLayout)
	}
	return from.UTC().Format(time.RFC3339) + ".." + to.UTC().Format(time.RFC3339)
}

// runsPos is a cursor at t: its date at midnight, else its date-time.
func runsPos(t time.Time) string {
	if t.Equal(day(t)) {
		return t.Format(dayLayout)
	}
	return t.UTC().Format(time.RFC3339)
}

// parseRunsPos reads runsPos.
func parseRunsPos(pos string) (time.Time, bool) {
	for _, layout := range []string{dayLayout, time.RFC3339} {
		if t, err := time.Parse(layout, pos); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// day is t's UTC date.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// writeRuns stores a page of runs created since (the created qualifier
// is by date), and the deployments they are by the deployment rule.
func (s *syncer) writeRuns(ctx context.Context, cp *collect.Checkpoint, since time.Time, list []*gh.WorkflowRun) error {
	var rows []store.PipelineRun
	var items []collect.Fingerprinted
	for _, r := range list {
		if r.GetCreatedAt().Before(since) {
			continue
		}
		row := runRow(s.Key, s.Project.ProjectID, r)
		rows = append(rows, row)
		items = append(items, collect.Fingerprinted{Kind: store.SyncPipelineRun, Key: fmt.Sprint(row.RunID), FP: row.Status + "|" + row.Result + "|0"})
	}
	return s.Write(ctx, resWorkflowRuns, cp, items, func(tx *store.Tx) error {
		for _, row := range rows {
			if err := writeRun(ctx, tx, row, s.Rules); err != nil {
				return err
			}
		}
		return nil
	})
}

// runRow is a workflow run as the store keeps a pipeline run: the workflow
// as the definition, the head branch and commit as the source, GitHub's
// status and conclusion in the vocabulary the metrics read.
func runRow(k store.Key, repo string, r *gh.WorkflowRun) store.PipelineRun {
	status, result := runStatus(r.GetStatus(), r.GetConclusion())
	row := store.PipelineRun{Key: k, RunID: r.GetID(), ProjectID: repo, DefinitionID: r.GetWorkflowID(), DefinitionName: r.GetName(),
		RepoID: repo, SourceVersion: r.GetHeadSHA(), Status: status, Result: result}
	if b := r.GetHeadBranch(); b != "" {
		row.SourceBranch = "refs/heads/" + b
	}
	if t := r.GetCreatedAt().Time; !t.IsZero() {
		row.QueuedAt = &t
	}
	if t := r.GetRunStartedAt().Time; !t.IsZero() {
		row.StartedAt = &t
	}
	if t := r.GetUpdatedAt().Time; status == "completed" && !t.IsZero() {
		row.FinishedAt = &t
	}
	return row
}

// runStatus maps GitHub's status and conclusion to the store's (Azure
// DevOps') status and result: completed / inProgress / notStarted;
// success → succeeded, failure, timed_out and startup_failure → failed,
// cancelled → canceled, skipped → skipped. neutral, action_required and
// stale have no result: they count nowhere.
func runStatus(status, conclusion string) (string, string) {
	switch status {
	case "completed":
	case "in_progress":
		return "inProgress", ""
	default: // queued, requested, waiting, pending
		return "notStarted", ""
	}
	switch conclusion {
	case "success":
		return "completed", string(delivery.ResultSucceeded)
	case "failure", "timed_out", "startup_failure":
		return "completed", string(delivery.ResultFailed)
	case "cancelled":
		return "completed", string(delivery.ResultCanceled)
	case "skipped":
		return "completed", string(delivery.ResultSkipped)
	}
	return "completed", ""
}

// deploymentKeyPrefix starts the keys of the Deployments API's
// deployments; buildKeyPrefix those of runs that are deployments by the
// rule.
const (
	deploymentKeyPrefix = "deployment:"
	buildKeyPrefix      = "build:"
)

// writeRun stores a run and, once it finished, the deployment it is when
// its workflow name matches the deployment rule and the repository has no
// deployment of the Deployments API (those stand for its runs).
func writeRun(ctx context.Context, tx *store.Tx, row store.PipelineRun, rules delivery.Rules) error {
	if err := tx.UpsertPipelineRun(ctx, row); err != nil {
		return err
	}
	if row.FinishedAt == nil {
		return nil
	}
	cand, ok := rules.Classify(delivery.Deployment{Source: delivery.SourceBuildRule, Pipeline: row.DefinitionName})
	if !ok {
		return nil
	}
	api, err := tx.DeploymentKeys(ctx, row.IntegrationID, row.ProjectID, deploymentKeyPrefix, 1)
	if err != nil || len(api) > 0 {
		return err
	}
	return tx.UpsertDeployment(ctx, store.Deployment{Key: row.Key, DeploymentKey: fmt.Sprintf("%s%d", buildKeyPrefix, row.RunID),
		ProjectID: row.ProjectID, Source: string(delivery.SourceBuildRule), RepoID: row.RepoID, Environment: cand.Environment,
		IsProduction: cand.Production, Result: row.Result, RunID: row.RunID, SHA: row.SourceVersion,
		StartedAt: row.StartedAt, FinishedAt: row.FinishedAt})
}

// applyWorkflowRun stores the run a workflow_run delivery shows (a
// delivery of an unfinished run arriving after the finished one changes
// nothing) and the deployment it is by the rule.
func applyWorkflowRun(ctx context.Context, tx *store.Tx, ev collect.Event) (collect.Applied, error) {
	var p struct {
		WorkflowRun *gh.WorkflowRun `json:"workflow_run"`
		Repository  struct {
			ID int64 `json:"id"`
		} `json:"repository"`
	}
	if err := decode(ev, &p); err != nil {
		return collect.Applied{}, err
	}
	if p.WorkflowRun == nil || p.WorkflowRun.GetID() == 0 || p.Repository.ID == 0 {
		return collect.Applied{}, collect.Unreadable(errors.New("workflow_run event without workflow_run.id or repository.id"))
	}
	row := runRow(ev.Key, repoID(p.Repository.ID), p.WorkflowRun)
	stored, err := tx.PipelineRun(ctx, ev.IntegrationID, row.RunID)
	switch {
	case err == nil && stored.Status == "completed" && row.Status != "completed" && stored.FinishedAt != nil &&
		!p.WorkflowRun.GetUpdatedAt().After(*stored.FinishedAt):
		return collect.Applied{Ignored: "older than the stored workflow run"}, nil
	case err != nil && !delivery.IsNotFound(err):
		return collect.Applied{}, err
	}
	return collect.Applied{}, writeRun(ctx, tx, row, ev.Rules)
}
