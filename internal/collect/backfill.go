package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// DefaultBackfillDays is the backfill window when BackfillArgs.Days is 0
// (PANDEV_BACKFILL_DAYS).
const DefaultBackfillDays = 30

// BackfillArgs is the job that collects one selected project's history (or
// every selected project's, when ProjectID is empty) for the window.
type BackfillArgs struct {
	IntegrationID string `json:"integration_id"`
	ProjectID     string `json:"project_id"`
	// Days is the window; 0 means DefaultBackfillDays.
	Days int `json:"days,omitempty"`
}

// Kind names the job in the queue.
func (BackfillArgs) Kind() string { return "backfill" }

// notCompleted are the job states in which a second enqueue of the same
// args is a no-op: once a backfill completed, a new one may run again.
var notCompleted = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

// InsertOpts makes the job unique by its args while it has not completed.
func (BackfillArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

type backfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	c *Collector
}

// Work runs the backfill for one slice of time, then, if it is not done,
// hands over to a fresh run of the same job (a snooze does not count as an
// attempt). It checkpoints as it goes, so the next slice — or a rescue after
// the process was killed — resumes where this one stopped.
func (w *backfillWorker) Work(ctx context.Context, job *river.Job[BackfillArgs]) error {
	slice, cancel := context.WithTimeout(ctx, w.c.slice)
	defer cancel()
	err := w.c.Backfill(slice, job.Args)
	if err != nil && errors.Is(slice.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return river.JobSnooze(time.Millisecond)
	}
	return w.c.jobError(ctx, job.Args.IntegrationID, err)
}

// jobError turns a collection error into the job's outcome. A token that
// stopped working is shown on the integration and the job waits for it to
// be replaced (snoozing, so it resumes after "Update token", at once or within
// tokenRetry); anything else
// is retried with River's backoff.
func (c *Collector) jobError(ctx context.Context, integrationID string, err error) error {
	if err == nil {
		return nil
	}
	switch delivery.KindOf(err) {
	case delivery.KindUnauthorized, delivery.KindForbidden:
		var used *withToken
		if errors.As(err, &used) {
			if in, gerr := c.db.GetIntegrationByID(context.WithoutCancel(ctx), integrationID); gerr == nil && in.TokenSealed != used.sealed {
				// Update token ran while this job used the old one: run again
				// at once with the new token, and record nothing stale.
				return river.JobSnooze(time.Second)
			}
		}
		var de *delivery.Error
		msg, hint := err.Error(), ""
		if errors.As(err, &de) {
			msg, hint = de.Message, de.Hint
		}
		if serr := c.db.SetIntegrationError(context.WithoutCancel(ctx), integrationID, msg, hint, c.now()); serr != nil {
			return errors.Join(err, serr)
		}
		// Update token makes a waiting job run at once; a minute bounds the
		// wait when the update lands while this job is still finishing, and
		// a wake with the same bad token costs one call.
		return river.JobSnooze(tokenRetry)
	case delivery.KindNotFound:
		if _, gerr := c.db.GetIntegrationByID(ctx, integrationID); delivery.IsNotFound(gerr) {
			return river.JobCancel(err) // the integration was deleted
		}
	case delivery.KindRateLimited:
		// The provider's rate limit is spent (GitHub's primary limit until
		// its reset, a secondary limit's retry-after, Azure DevOps' 429
		// after its own pacing): wait until then and resume from the
		// checkpoint. A snooze is not an attempt, so waiting out a limit
		// never uses up the job's retries.
		wait := rateLimitWait(delivery.RetryAfterSeconds(err))
		c.logger.Info("rate limited: the job resumes after the wait", "integration", integrationID, "wait", wait.String(), "error", err.Error())
		return river.JobSnooze(wait)
	}
	return err
}

// rateLimitWait is how long a rate-limited job waits: the provider's
// retry-after and a second, a minute when it named none, at most
// maxRateLimitWait (GitHub's primary limit resets within the hour).
func rateLimitWait(retryAfterSeconds int) time.Duration {
	if retryAfterSeconds <= 0 {
		return time.Minute
	}
	return min(time.Duration(retryAfterSeconds)*time.Second+time.Second, maxRateLimitWait)
}

// maxRateLimitWait bounds a rate-limited job's wait.
const maxRateLimitWait = 65 * time.Minute

// tokenRetry is how long a job whose token was refused waits before trying again.
const tokenRetry = time.Minute

// withToken marks a collection error with the sealed token the job used,
// so jobError can tell a refusal of the current token from one of a token
// replaced meanwhile.
type withToken struct {
	err    error
	sealed string
}

func (e *withToken) Error() string { return e.err.Error() }
func (e *withToken) Unwrap() error { return e.err }

// markToken wraps err (when there is one) with the token the job used.
func markToken(err error, in store.Integration) error {
	if err == nil {
		return nil
	}
	return &withToken{err: err, sealed: in.TokenSealed}
}

// resBackfill is the project's own checkpoint row: the window and start
// of the running backfill.
const resBackfill = "backfill"

// Backfill collects the window of every kind we store for the project(s)
// of args, resuming a backfill of the same project that stopped midway,
// and marks the integration synced when every project is done.
func (c *Collector) Backfill(ctx context.Context, args BackfillArgs) error {
	src, in, err := c.sourceOf(ctx, args.IntegrationID)
	if err != nil {
		return err
	}
	key := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
	projects, err := c.projectsFor(ctx, key, args.ProjectID)
	if err != nil {
		return err
	}
	if len(projects) == 0 {
		return nil
	}
	days := args.Days
	if days <= 0 {
		days = DefaultBackfillDays
	}
	if src == nil {
		return c.noSource(ctx, in, "backfill", args.ProjectID, projects, days)
	}
	client, in, err := src.Client(ctx, args.IntegrationID)
	if err != nil {
		return err
	}
	run := store.SyncRun{Key: key, Kind: "backfill", ProjectID: args.ProjectID, StartedAt: c.now()}
	var fetched int64
	for _, p := range projects {
		n, perr := c.backfillProject(ctx, src, client, key, p, days)
		fetched += n
		if perr != nil && ctx.Err() != nil {
			// Stopped (shutdown, job timeout): the error of whatever call the
			// stop cut short (PostgreSQL's "bad connection") says less.
			perr = ctx.Err()
		}
		if perr != nil {
			err = fmt.Errorf("backfill of project %s: %w", p.Name, perr)
			break
		}
	}
	run.FinishedAt, run.ItemsFetched = c.now(), fetched
	if err != nil {
		run.Error = err.Error()
	}
	if _, rerr := c.db.RecordSyncRun(context.WithoutCancel(ctx), run); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return markToken(err, in)
	}
	return c.db.MarkIntegrationSynced(ctx, in.ID, c.now())
}

// projectsFor returns the selected project named, or every selected one.
func (c *Collector) projectsFor(ctx context.Context, key store.Key, projectID string) ([]store.Project, error) {
	if projectID == "" {
		return c.db.ListProjects(ctx, key, true)
	}
	p, err := c.db.GetProject(ctx, key, projectID)
	if delivery.IsNotFound(err) || err == nil && !p.Selected {
		return nil, nil // deselected or gone since the job was queued: nothing to do
	}
	if err != nil {
		return nil, err
	}
	return []store.Project{p}, nil
}

// backfillProject runs (or resumes) the backfill of one project.
func (c *Collector) backfillProject(ctx context.Context, src Source, client Client, key store.Key, p store.Project, days int) (int64, error) {
	cps, err := c.checkpoints(ctx, key, p.ProjectID)
	if err != nil {
		return 0, err
	}
	now := c.now().UTC().Truncate(time.Second)
	bf, ok := cps[resBackfill]
	if !ok || bf.Finished != nil || bf.Days != days || bf.Started.IsZero() {
		// A new backfill: every resource starts over. (One that waited for
		// a source has no start: it starts now.)
		bf = &Checkpoint{Started: now, From: now.AddDate(0, 0, -days), Days: days}
		cps = map[string]*Checkpoint{resBackfill: bf}
	}
	bf.Error, bf.Hint, bf.Until = "", "", nil // running again
	// Coverage starts where the first backfill does (METRICS.md): recorded
	// before anything is collected, so no stored row precedes it.
	if err := c.db.NoteCollectedSince(ctx, key, p.ProjectID, bf.From); err != nil {
		return 0, err
	}
	s := c.newRun(key, p, bf.From, bf.Started, false)
	s.Rules = c.rulesOf(ctx, key.WorkspaceID, p.ProjectID)
	s.cps = cps
	if err := s.Save(ctx, c.db, resBackfill, bf, nil); err != nil {
		return 0, err
	}
	pc := client.Project(s)
	for _, res := range src.Resources() {
		cp := cps[res.Name]
		if cp != nil && cp.Finished != nil {
			continue
		}
		if cp == nil {
			cp = &Checkpoint{Started: c.now().UTC()}
			cps[res.Name] = cp
		}
		var b *Blocked
		if dep := cps[res.DependsOn]; res.DependsOn != "" && dep != nil && dep.Blocked != nil {
			b = dep.Blocked // listed per repository: blocked with them
		} else if err := s.step(ctx, pc, res.Name, cp); err != nil {
			if b, err = s.blockedBy(ctx, client, res, err); err != nil {
				s.failed(ctx, bf, err)
				return s.fetched.Load(), err
			}
		}
		if b != nil {
			// Not collected, and said so; the other resources go on.
			fin := c.now().UTC()
			cp.Blocked, cp.Finished = b, &fin
			if err := s.Save(ctx, c.db, res.Name, cp, nil); err != nil {
				return s.fetched.Load(), err
			}
		}
	}
	fin := c.now().UTC()
	bf.Finished = &fin
	return s.fetched.Load(), s.Save(ctx, c.db, resBackfill, bf, &bf.Started)
}

// failed records on the backfill's row why it stopped, so the progress
// says so (with the fix) instead of estimating a time left. A stop by the
// job's slice or a shutdown is not a failure: the next slice resumes.
func (s *Run) failed(ctx context.Context, bf *Checkpoint, err error) {
	if ctx.Err() != nil {
		return
	}
	var de *delivery.Error
	bf.Error, bf.Hint, bf.Until = err.Error(), "", nil
	if errors.As(err, &de) {
		bf.Error, bf.Hint = de.Message, de.Hint
	}
	if delivery.KindOf(err) == delivery.KindRateLimited {
		// Waiting, not failing: the job snoozes until then (jobError).
		until := s.c.now().Add(rateLimitWait(delivery.RetryAfterSeconds(err))).UTC().Truncate(time.Second)
		bf.Until = &until
	}
	if serr := s.Save(context.WithoutCancel(ctx), s.c.db, resBackfill, bf, nil); serr != nil {
		s.Log.Warn("backfill failure not recorded", "err", serr)
	}
}

// newRun prepares the collection of one project from a time on.
func (c *Collector) newRun(key store.Key, p store.Project, from, started time.Time, reconcile bool) *Run {
	logger := c.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Run{c: c, DB: c.db, Key: key, Project: p, From: from, Started: started, Reconcile: reconcile,
		Rules: delivery.DefaultRules(), Log: logger.With("integration", key.IntegrationID, "project", p.Name),
		Fanout: 8, cps: map[string]*Checkpoint{}}
}
