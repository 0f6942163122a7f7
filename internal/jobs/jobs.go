// Package jobs runs durable background work on River, in the same database
// as everything else: a job is inserted in the same transaction as the row
// that caused it, retried with backoff, optionally unique, and periodic jobs
// are enqueued only by the elected leader when several replicas share
// PostgreSQL.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Config says how the queue runs.
type Config struct {
	// ID names this process among replicas (River's client id).
	ID string
	// Workers are the job kinds this process works; Register adds to it.
	Workers *river.Workers
	// Periodic jobs are enqueued on schedule by the leader only.
	Periodic []*river.PeriodicJob
	// MaxWorkers bounds concurrent jobs in this process (default 10).
	MaxWorkers int
	// PollInterval is how often to look for new jobs when no notification
	// arrives (SQLite has none). Default 1 s; tests shorten it.
	PollInterval time.Duration
	// Logger receives River's own logs.
	Logger *slog.Logger
	// JobTimeout is the longest a job may run (default 10 min). Long work
	// (backfill) runs in slices shorter than this and continues in a new
	// slice. A job left running by a killed process is picked up again a
	// quarter of JobTimeout after its timeout would have ended it.
	JobTimeout time.Duration
	// EventWorkers bounds concurrent webhook processing jobs, which run on
	// a queue of their own (QueueEvents; default 4).
	EventWorkers int
	// PerIntegration caps the long jobs (backfill, reconcile) of one
	// integration running at once in this process (default
	// DefaultPerIntegration; its short jobs have a lane of two besides), so
	// an integration with a slow or dead Azure DevOps cannot take every
	// worker.
	PerIntegration int
}

// DefaultJobTimeout is JobTimeout's default.
const DefaultJobTimeout = 10 * time.Minute

// Queue is the job queue of one process.
type Queue struct {
	client *river.Client[*sql.Tx]
	db     *store.DB
	lanes  *lanes
}

// New builds the queue; it does not start working until Start.
func New(db *store.DB, cfg Config) (*Queue, error) {
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = 10
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Workers == nil {
		cfg.Workers = river.NewWorkers()
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.EventWorkers <= 0 {
		cfg.EventWorkers = 4
	}
	if cfg.PerIntegration <= 0 {
		cfg.PerIntegration = DefaultPerIntegration
	}
	ln := newLanes(cfg.PerIntegration)
	rc := &river.Config{
		ID:     cfg.ID,
		Logger: cfg.Logger,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.MaxWorkers},
			QueueEvents: {MaxWorkers: cfg.EventWorkers}},
		Middleware: []rivertype.Middleware{ln},
		// Fetch again soon after a busy fetch, and poll when idle: River's
		// defaults favour PostgreSQL's LISTEN/NOTIFY, which SQLite lacks.
		FetchCooldown:     min(50*time.Millisecond, cfg.PollInterval),
		FetchPollInterval: cfg.PollInterval,
		Workers:           cfg.Workers,
		PeriodicJobs:      cfg.Periodic,
		JobTimeout:        cfg.JobTimeout,
		// A running job whose process died is "stuck": rescue it once no live
		// process could still be running it (every job ends by its timeout).
		RescueStuckJobsAfter: cfg.JobTimeout + cfg.JobTimeout/4 + time.Second,
		MaxAttempts:          12,
		RetryPolicy:          retryPolicy{},
		// A failed job is retried quickly at first, then on River's
		// schedule (see retryPolicy); keep completed jobs a day for the admin page.
		CompletedJobRetentionPeriod: 24 * time.Hour,
	}
	client, err := river.NewClient(db.RiverDriver(), rc)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{client: client, db: db, lanes: ln}, nil
}

// LaneWaits is how many jobs this process sent back because their
// integration already had PerIntegration jobs running.
func (q *Queue) LaneWaits() int64 { return q.lanes.Snoozed() }

// Running is how many jobs of the integration this process runs now (at
// most PerIntegration).
func (q *Queue) Running(integrationID string) int { return q.lanes.Running(integrationID) }

// Job reads one job (args, state, attempts and their errors).
func (q *Queue) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	row, err := q.client.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, delivery.Errorf(delivery.KindNotFound, "there is no job %d", id).WithHint("pick a job from the list")
	}
	return row, err
}

// Retry makes a failed, cancelled or waiting job available to run now.
func (q *Queue) Retry(ctx context.Context, id int64) error {
	_, err := q.client.JobRetry(ctx, id)
	return err
}

// CancelIntegrationJobs cancels every unfinished job of an integration (a
// running one is told to stop) but its webhook drains, which call nothing
// and end on their own: it was disconnected. It returns how many.
func (q *Queue) CancelIntegrationJobs(ctx context.Context, integrationID string) (int, error) {
	ids, err := q.db.UnfinishedIntegrationJobIDs(ctx, integrationID, QueueEvents)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if _, err := q.client.JobCancel(ctx, id); err != nil && !errors.Is(err, river.ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

// Jobs reads the jobs with these ids in one query, in the order given;
// ids no longer stored are left out.
func (q *Queue) Jobs(ctx context.Context, ids []int64) ([]*rivertype.JobRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	res, err := q.client.JobList(ctx, river.NewJobListParams().IDs(ids...).First(len(ids)))
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*rivertype.JobRow, len(res.Jobs))
	for _, j := range res.Jobs {
		byID[j.ID] = j
	}
	out := make([]*rivertype.JobRow, 0, len(res.Jobs))
	for _, id := range ids {
		if j, ok := byID[id]; ok {
			out = append(out, j)
		}
	}
	return out, nil
}

// Client is the River client, for the admin UI.
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }

// Start begins working jobs and, on the leader, scheduling periodic ones.
func (q *Queue) Start(ctx context.Context) error { return q.client.Start(ctx) }

// Stop stops fetching and waits for running jobs until ctx ends, then
// cancels what is still running (it will be retried after a restart).
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return q.client.StopAndCancel(hard)
	}
	return err
}

// InsertTx enqueues a job in tx: it exists exactly when tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := q.client.InsertTx(ctx, tx.SQLTx(), args, opts)
	return err
}

// InsertNowTx enqueues a job in tx to run as soon as a worker is free: if a
// job with the same unique args already waits (snoozed, or retrying after a
// failure), that one is made available now instead (Update token, re-run).
func (q *Queue) InsertNowTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	return q.insertNowTx(ctx, tx, args, opts, nil)
}

// InsertRerunTx is InsertNowTx for work a person asked for that must start
// after the ask (Sync now): when the same job is already running, it may
// have read before what the person expects, so the job again makes of the
// running one's id is enqueued too (unique by that id: asking twice while
// one runs adds one follow-up, not two).
func (q *Queue) InsertRerunTx(ctx context.Context, tx *store.Tx, args river.JobArgs, again func(runningID int64) river.JobArgs) error {
	return q.insertNowTx(ctx, tx, args, nil, again)
}

func (q *Queue) insertNowTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts, again func(int64) river.JobArgs) error {
	res, err := q.client.InsertTx(ctx, tx.SQLTx(), args, opts)
	if err != nil || !res.UniqueSkippedAsDuplicate || res.Job == nil {
		return err
	}
	switch res.Job.State {
	case rivertype.JobStateScheduled, rivertype.JobStateRetryable:
		_, err = q.client.JobRetryTx(ctx, tx.SQLTx(), res.Job.ID)
	case rivertype.JobStateRunning:
		if again != nil {
			_, err = q.client.InsertTx(ctx, tx.SQLTx(), again(res.Job.ID), nil)
		}
	}
	return err
}

// Insert enqueues a job on its own.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := q.client.Insert(ctx, args, opts)
	return err
}

// CompleteTx marks the running job complete within tx, so that its end
// commits together with what tx saw and wrote (River's worker then finds
// it already completed). Call it only from the job's Work.
func CompleteTx[T river.JobArgs](ctx context.Context, tx *store.Tx, job *river.Job[T]) error {
	// The driver type only satisfies the signature: River uses the driver
	// of the client that runs the job, found in ctx.
	_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx.SQLTx(), job)
	return err
}

// InsertManyTx enqueues several jobs in tx with one call.
func (q *Queue) InsertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	_, err := q.client.InsertManyTx(ctx, tx.SQLTx(), params)
	return err
}

// fastRetries is how many attempts of a failed job follow each other
// quickly (attempt² seconds: 1 s, 4 s, … 64 s, about three and a half
// minutes in all) before River's attempt⁴ schedule takes over (1.8 h, 2.8 h,
// 4 h, …).
const fastRetries = 8

// retryPolicy retries quickly first: our jobs resume from checkpoints and
// fail mostly on transient upstream or database errors, so River's
// attempt⁴ from the start only delays the data (under 20 % injected API
// faults a backfill on River's schedule did not finish in ten minutes).
// A failure that persists still gets River's hours-long tail before the
// job is discarded, time for an outage to end. Up to 10 % jitter spreads
// jobs that failed together. (A token that stopped working does not retry
// at all: the job snoozes until it is replaced, see collect.jobError.)
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	attempt := len(job.Errors) + 1
	wait := time.Duration(attempt*attempt) * time.Second
	if attempt > fastRetries {
		wait *= time.Duration(attempt * attempt)
	}
	wait += time.Duration(rand.Int64N(int64(wait/10) + 1))
	return time.Now().UTC().Add(wait)
}
