package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// PipelineRun is a build or YAML pipeline run.
type PipelineRun struct {
	Key
	RunID          int64
	ProjectID      string
	DefinitionID   int64
	DefinitionName string
	RepoID         string
	SourceBranch   string
	SourceVersion  string
	Tags           string // comma-separated, as Azure DevOps lists them
	Status         string
	Result         string
	QueuedAt       *time.Time
	StartedAt      *time.Time
	FinishedAt     *time.Time
	Stages         []Stage
}

// Stage is a stage record of a run's timeline.
type Stage struct {
	RecordID   string
	Name       string
	State      string
	Result     string
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// UpsertPipelineRun stores a run and its stages (status only moves forward
// in Azure DevOps, so the latest write wins).
func (q queries) UpsertPipelineRun(ctx context.Context, r PipelineRun) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO pipeline_runs (integration_id, run_id, workspace_id, project_id, definition_id, definition_name,
			repo_id, source_branch, source_version, tags, status, result, queued_at, started_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (integration_id, run_id) DO UPDATE SET
			definition_name = excluded.definition_name, repo_id = excluded.repo_id,
			source_branch = excluded.source_branch, source_version = excluded.source_version, tags = excluded.tags,
			status = excluded.status, result = excluded.result, queued_at = excluded.queued_at,
			started_at = excluded.started_at, finished_at = excluded.finished_at`,
		r.IntegrationID, r.RunID, r.WorkspaceID, r.ProjectID, r.DefinitionID, r.DefinitionName, r.RepoID,
		r.SourceBranch, r.SourceVersion, r.Tags, r.Status, r.Result, nullTime(r.QueuedAt), nullTime(r.StartedAt),
		nullTime(r.FinishedAt))
	if err != nil {
		return mapErr(err)
	}
	for _, s := range r.Stages {
		_, err := q.q.ExecContext(ctx, `
			INSERT INTO pipeline_stages (integration_id, run_id, record_id, name, state, result, started_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (integration_id, run_id, record_id) DO UPDATE SET
				name = excluded.name, state = excluded.state, result = excluded.result,
				started_at = excluded.started_at, finished_at = excluded.finished_at`,
			r.IntegrationID, r.RunID, s.RecordID, s.Name, s.State, s.Result, nullTime(s.StartedAt), nullTime(s.FinishedAt))
		if err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// Cursor is this run's position in ListPipelineRuns.
func (r PipelineRun) Cursor() Cursor {
	t := r.FinishedAt
	if t == nil {
		t = r.QueuedAt
	}
	if t == nil {
		return Cursor{Num: r.RunID}
	}
	return Cursor{Time: *t, Num: r.RunID}
}

// ListPipelineRuns lists runs by finish time (queue time while running) in
// the window, newest first, with their stages.
func (q queries) ListPipelineRuns(ctx context.Context, f Filter) ([]PipelineRun, error) {
	from, to := f.bounds()
	at, _, num := f.after()
	rows, err := q.q.QueryContext(ctx, `
		SELECT `+runColumns+`
		FROM pipeline_runs
		WHERE workspace_id = $1 AND ($2 = '' OR project_id = $2) AND ($3 = '' OR repo_id = $3)
			AND COALESCE(finished_at, queued_at) >= $4 AND COALESCE(finished_at, queued_at) < $5
			AND (COALESCE(finished_at, queued_at) < $7 OR (COALESCE(finished_at, queued_at) = $7 AND run_id > $8))
		ORDER BY COALESCE(finished_at, queued_at) DESC, run_id LIMIT $6`,
		f.WorkspaceID, f.ProjectID, f.RepoID, from, to, f.limit(), at, num)
	runs, err := collect(rows, err, scanRun)
	if err != nil {
		return nil, err
	}
	return runs, q.attachStages(ctx, runs)
}

// runColumns are the pipeline_runs columns scanRun reads.
const runColumns = `integration_id, workspace_id, run_id, project_id, definition_id, definition_name, repo_id, source_branch,
	source_version, tags, status, result, queued_at, started_at, finished_at`

func scanRun(r rowScanner) (PipelineRun, error) {
	var v PipelineRun
	var qd, st, fin sql.NullTime
	err := r.Scan(&v.IntegrationID, &v.WorkspaceID, &v.RunID, &v.ProjectID, &v.DefinitionID, &v.DefinitionName,
		&v.RepoID, &v.SourceBranch, &v.SourceVersion, &v.Tags, &v.Status, &v.Result, &qd, &st, &fin)
	v.QueuedAt, v.StartedAt, v.FinishedAt = timePtr(qd), timePtr(st), timePtr(fin)
	return v, mapErr(err)
}

// PipelineRun reads one run with its stages (KindNotFound when absent).
func (q queries) PipelineRun(ctx context.Context, integrationID string, runID int64) (PipelineRun, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+runColumns+` FROM pipeline_runs WHERE integration_id = $1 AND run_id = $2`,
		integrationID, runID)
	runs, err := collect(rows, err, scanRun)
	if err != nil {
		return PipelineRun{}, err
	}
	if len(runs) == 0 {
		return PipelineRun{}, delivery.Errorf(delivery.KindNotFound, "pipeline run %d not found", runID)
	}
	return runs[0], q.attachStages(ctx, runs)
}

// attachStages reads the runs' stages in one query per integration, not
// one per run.
func (q queries) attachStages(ctx context.Context, runs []PipelineRun) error {
	index := map[string]*PipelineRun{}
	byIntegration := map[string][]any{}
	for i := range runs {
		r := &runs[i]
		index[fmt.Sprint(r.IntegrationID, " ", r.RunID)] = r
		byIntegration[r.IntegrationID] = append(byIntegration[r.IntegrationID], r.RunID)
	}
	for integrationID, ids := range byIntegration {
		rows, qerr := q.q.QueryContext(ctx, `SELECT run_id, record_id, name, state, result, started_at, finished_at
			FROM pipeline_stages WHERE integration_id = $1 AND run_id IN (`+placeholders(2, len(ids))+`)
			ORDER BY run_id, started_at, record_id`, append([]any{integrationID}, ids...)...)
		type runStage struct {
			run int64
			Stage
		}
		stages, err := collect(rows, qerr, func(r rowScanner) (runStage, error) {
			var s runStage
			var st, fin sql.NullTime
			err := r.Scan(&s.run, &s.RecordID, &s.Name, &s.State, &s.Result, &st, &fin)
			s.StartedAt, s.FinishedAt = timePtr(st), timePtr(fin)
			return s, mapErr(err)
		})
		if err != nil {
			return err
		}
		for _, s := range stages {
			if r := index[fmt.Sprint(integrationID, " ", s.run)]; r != nil {
				r.Stages = append(r.Stages, s.Stage)
			}
		}
	}
	return nil
}

// Deployment is one attempt to put a version into an environment.
type Deployment struct {
	Key
	DeploymentKey string // provider identity, see the schema comment
	ProjectID     string
	Source        string // environment, release or build
	RepoID        string
	Environment   string
	IsProduction  bool
	Result        string
	RunID         int64
	SHA           string
	StartedAt     *time.Time
	FinishedAt    *time.Time
}

// UpsertDeployment stores a deployment, stamping when it was stored (the
// dashboard's data version reads the latest stamp).
func (q queries) UpsertDeployment(ctx context.Context, d Deployment) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO deployments (integration_id, deployment_key, workspace_id, project_id, source, repo_id, environment,
			is_production, result, run_id, sha, started_at, finished_at, changed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (integration_id, deployment_key) DO UPDATE SET
			-- a release deployment's version is resolved apart from its event
			repo_id = CASE WHEN excluded.sha <> '' THEN excluded.repo_id ELSE deployments.repo_id END,
			environment = excluded.environment, is_production = excluded.is_production,
			result = excluded.result, run_id = excluded.run_id,
			sha = CASE WHEN excluded.sha <> '' THEN excluded.sha ELSE deployments.sha END,
			started_at = excluded.started_at, finished_at = excluded.finished_at, changed_at = excluded.changed_at`,
		d.IntegrationID, d.DeploymentKey, d.WorkspaceID, d.ProjectID, d.Source, d.RepoID, d.Environment,
		d.IsProduction, d.Result, d.RunID, d.SHA, nullTime(d.StartedAt), nullTime(d.FinishedAt), utc(time.Now()))
	return mapErr(err)
}

// Cursor is this deployment's position in ListDeployments.
func (d Deployment) Cursor() Cursor {
	c := Cursor{Key: d.DeploymentKey}
	if d.FinishedAt != nil {
		c.Time = *d.FinishedAt
	}
	return c
}

// ListDeployments lists deployments finished in the window, newest first.
func (q queries) ListDeployments(ctx context.Context, f Filter, onlyProduction bool) ([]Deployment, error) {
	from, to := f.bounds()
	at, key, _ := f.after()
	rows, err := q.q.QueryContext(ctx, `
		SELECT `+deploymentColumns+`
		FROM deployments
		WHERE workspace_id = $1 AND ($2 = '' OR project_id = $2) AND ($3 = '' OR repo_id = $3)
			AND (is_production OR NOT $7) AND finished_at >= $4 AND finished_at < $5
			AND (finished_at < $8 OR (finished_at = $8 AND deployment_key > $9))
		ORDER BY finished_at DESC, deployment_key LIMIT $6`,
		f.WorkspaceID, f.ProjectID, f.RepoID, from, to, f.limit(), onlyProduction, at, key)
	return collect(rows, err, scanDeployment)
}

// deploymentColumns are the deployments columns scanDeployment reads.
const deploymentColumns = `integration_id, workspace_id, deployment_key, project_id, source, repo_id, environment, is_production,
	result, run_id, sha, started_at, finished_at`

func scanDeployment(r rowScanner) (Deployment, error) {
	var d Deployment
	var st, fin sql.NullTime
	err := r.Scan(&d.IntegrationID, &d.WorkspaceID, &d.DeploymentKey, &d.ProjectID, &d.Source, &d.RepoID,
		&d.Environment, &d.IsProduction, &d.Result, &d.RunID, &d.SHA, &st, &fin)
	d.StartedAt, d.FinishedAt = timePtr(st), timePtr(fin)
	return d, mapErr(err)
}

// RunDeployments lists the deployments of one pipeline run (its
// environment records, stages or the run itself).
func (q queries) RunDeployments(ctx context.Context, integrationID string, runID int64) ([]Deployment, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+deploymentColumns+` FROM deployments
		WHERE integration_id = $1 AND run_id = $2 ORDER BY deployment_key`, integrationID, runID)
	return collect(rows, err, scanDeployment)
}

// ReleaseAttempts returns the stored attempts of a classic release
// environment (deployment keys release:{release}:{environment}:{attempt})
// with their finish times.
// DeleteDeployments removes deployments by key (a run's stage deployments
// once its environment records stand for them).
func (q queries) DeleteDeployments(ctx context.Context, integrationID string, keys []string) error {
	for _, k := range keys {
		if _, err := q.q.ExecContext(ctx, `DELETE FROM deployments WHERE integration_id = $1 AND deployment_key = $2`,
			integrationID, k); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// SetReleaseVersion records the commit (and its repository) that a classic
// release deployed on every stored deployment of the release: all its
// stages and attempts deploy the same artifacts.
func (q queries) SetReleaseVersion(ctx context.Context, integrationID string, releaseID int64, repoID, sha string) error {
	_, err := q.q.ExecContext(ctx, `UPDATE deployments SET repo_id = $3, sha = $4, changed_at = $5
		WHERE integration_id = $1 AND deployment_key LIKE $2 AND (sha <> $4 OR repo_id <> $3)`,
		integrationID, fmt.Sprintf("release:%d:%%", releaseID), repoID, sha, utc(time.Now()))
	return mapErr(err)
}

func (q queries) ReleaseAttempts(ctx context.Context, integrationID string, releaseID, environmentID int64) (map[int]time.Time, error) {
	prefix := fmt.Sprintf("release:%d:%d:", releaseID, environmentID)
	rows, err := q.q.QueryContext(ctx, `SELECT deployment_key, finished_at FROM deployments
		WHERE integration_id = $1 AND deployment_key LIKE $2`, integrationID, prefix+"%")
	type attempt struct {
		n   int
		fin time.Time
	}
	list, err := collect(rows, err, func(r rowScanner) (attempt, error) {
		var key string
		var fin sql.NullTime
		err := r.Scan(&key, &fin)
		n, _ := strconv.Atoi(strings.TrimPrefix(key, prefix))
		return attempt{n, fin.Time.UTC()}, err
	})
	out := map[int]time.Time{}
	for _, a := range list {
		if a.n > 0 {
			out[a.n] = a.fin
		}
	}
	return out, err
}
