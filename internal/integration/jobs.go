package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// jobAdmin is what the workspace's job list needs of the queue (jobs.Queue).
type jobAdmin interface {
	Job(ctx context.Context, id int64) (*rivertype.JobRow, error)
	Jobs(ctx context.Context, ids []int64) ([]*rivertype.JobRow, error)
	Retry(ctx context.Context, id int64) error
}

// Job is one background job of the workspace's integration, in a workspace
// admin's words: what it does, for which project, how it stands, and the
// last error when it failed. The shared queue's own page (/admin/jobs) is
// the instance operator's.
type Job struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	What        string     `json:"what"`
	ProjectID   string     `json:"project_id,omitempty"`
	Project     string     `json:"project,omitempty"`
	State       string     `json:"state"` // waiting, running, done, retrying, failed, cancelled
	Attempt     int        `json:"attempt"`
	MaxAttempts int        `json:"max_attempts"`
	CreatedAt   time.Time  `json:"created_at"`
	NextRunAt   *time.Time `json:"next_run_at,omitempty"` // when a waiting or retrying job runs
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	Error       string     `json:"error,omitempty"` // the last attempt's error
	CanRetry    bool       `json:"can_retry"`
}

// jobLabels says what each kind of job does.
var jobLabels = map[string]string{
	"backfill":       "Backfill",
	"reconcile":      "Reconciliation",
	"register_hooks": "Service hook registration",
	"remove_hooks":   "Service hook removal",
	"hook_health":    "Service hook health check",
	// GitHub's repository webhooks.
	"github_register_hook": "Webhook registration",
	"github_remove_hook":   "Webhook removal",
	"github_hook_health":   "Webhook health check",
	"event_details":        "Reading what an event lacks",
	"pr_comment":           "Pull request comment",
	"webhook_events":       "Webhook processing",
}

// jobsShown bounds the list: the newest jobs of the integration.
const jobsShown = 50

// Jobs lists the workspace integration's newest background jobs.
func (s *Service) Jobs(ctx context.Context, workspaceID string) ([]Job, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return integrationJobs(ctx, s.opts.DB, s.opts.Queue, in)
}

// integrationJobs lists an integration's newest background jobs.
func integrationJobs(ctx context.Context, db *store.DB, queue jobInserter, in store.Integration) ([]Job, error) {
	q, err := jobAdminOf(queue)
	if err != nil {
		return nil, err
	}
	ids, err := db.IntegrationJobIDs(ctx, in.ID, jobsShown)
	if err != nil {
		return nil, err
	}
	projects, err := db.ListProjects(ctx, key(in), false)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, p := range projects {
		names[p.ProjectID] = p.Name
	}
	rows, err := q.Jobs(ctx, ids) // one read; a job cleaned up meanwhile is left out
	if err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(rows))
	for _, row := range rows {
		j := jobView(row)
		j.Project = names[j.ProjectID]
		out = append(out, j)
	}
	return out, nil
}

// RetryJob runs one of the workspace integration's failed, cancelled or
// waiting jobs now. Another workspace's job does not exist for the caller.
func (s *Service) RetryJob(ctx context.Context, workspaceID string, id int64) (Job, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Job{}, err
	}
	return retryIntegrationJob(ctx, s.opts.Queue, s.opts.Logger, in, id)
}

// retryIntegrationJob runs one of an integration's jobs again now.
func retryIntegrationJob(ctx context.Context, queue jobInserter, logger *slog.Logger, in store.Integration, id int64) (Job, error) {
	q, err := jobAdminOf(queue)
	if err != nil {
		return Job{}, err
	}
	row, err := q.Job(ctx, id)
	if delivery.IsNotFound(err) || err == nil && argsIntegration(row) != in.ID {
		return Job{}, delivery.Errorf(delivery.KindNotFound, "there is no job %d in this workspace", id).
			WithHint("pick a job from the list (GET /api/v1/integrations/" + in.Provider + "/jobs)")
	}
	if err != nil {
		return Job{}, err
	}
	if j := jobView(row); !j.CanRetry {
		return j, delivery.Errorf(delivery.KindPrecondition, "job %d is %s; only a failed, cancelled or waiting job can be retried", id, j.State).
			WithHint("reload the list: a running job ends on its own, a done one needs no retry")
	}
	if err := q.Retry(ctx, id); err != nil {
		return Job{}, err
	}
	logger.Info("job retried by a workspace admin", "integration", in.ID, "job", id, "kind", row.Kind)
	if row, err = q.Job(ctx, id); err != nil {
		return Job{}, err
	}
	return jobView(row), nil
}

// ParseJobID reads a job id from a path.
func ParseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, delivery.Errorf(delivery.KindInvalid, "%q is not a job id", s).
			WithHint("use the id of a job from the list (GET /api/v1/integrations/azure-devops/jobs)")
	}
	return id, nil
}

func jobAdminOf(queue jobInserter) (jobAdmin, error) {
	if q, ok := queue.(jobAdmin); ok {
		return q, nil
	}
	return nil, delivery.Errorf(delivery.KindUnavailable, "the job queue is not running").
		WithHint("restart pandev serve; background work resumes on start")
}

func argsIntegration(row *rivertype.JobRow) string {
	var a struct {
		IntegrationID string `json:"integration_id"`
	}
	_ = json.Unmarshal(row.EncodedArgs, &a)
	return a.IntegrationID
}

func jobView(row *rivertype.JobRow) Job {
	var args struct {
		ProjectID string `json:"project_id"`
		PRID      int64  `json:"pr_id"`
	}
	_ = json.Unmarshal(row.EncodedArgs, &args)
	what := jobLabels[row.Kind]
	if what == "" {
		what = row.Kind
	}
	if args.PRID != 0 {
		what = fmt.Sprintf("%s on #%d", what, args.PRID)
	}
	j := Job{ID: row.ID, Kind: row.Kind, What: what, ProjectID: args.ProjectID, Attempt: row.Attempt,
		MaxAttempts: row.MaxAttempts, CreatedAt: row.CreatedAt.UTC(), FinishedAt: row.FinalizedAt}
	if n := len(row.Errors); n > 0 {
		j.Error = row.Errors[n-1].Error
	}
	next := row.ScheduledAt.UTC()
	switch row.State {
	case rivertype.JobStateAvailable, rivertype.JobStatePending:
		j.State = "waiting"
	case rivertype.JobStateScheduled:
		j.State, j.NextRunAt, j.CanRetry = "waiting", &next, true
	case rivertype.JobStateRunning:
		j.State = "running"
	case rivertype.JobStateCompleted:
		j.State, j.Error = "done", ""
	case rivertype.JobStateRetryable:
		j.State, j.NextRunAt, j.CanRetry = "retrying", &next, true
	case rivertype.JobStateDiscarded:
		j.State, j.CanRetry = "failed", true
	case rivertype.JobStateCancelled:
		j.State, j.CanRetry = "cancelled", true
	default:
		j.State = string(row.State)
	}
	return j
}
