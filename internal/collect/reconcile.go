package collect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/store"
)

// ReconcileOverlap is how far before the last watermark a reconciliation
// starts reading: enough for clocks that disagree a little and for items
// the service lists with a delay.
const ReconcileOverlap = 30 * time.Minute

// ReconcileArgs is the job that asks the provider what changed since the
// last sync in every selected project of an integration and stores what
// webhooks did not deliver.
type ReconcileArgs struct {
	IntegrationID string `json:"integration_id"`
	// After is the reconciliation that was running when Sync now asked for
	// one (jobs.Queue.InsertRerunTx): this one starts after the ask.
	After int64 `json:"after,omitempty"`
}

// Again is the reconciliation to run after the running job running.
func (a ReconcileArgs) Again(running int64) river.JobArgs {
	return ReconcileArgs{IntegrationID: a.IntegrationID, After: running}
}

// Kind names the job in the queue.
func (ReconcileArgs) Kind() string { return "reconcile" }

// InsertOpts makes the job unique per integration while one is pending or
// running: a slow reconciliation is not stacked up by the schedule.
func (ReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	c *Collector
}

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	_, err := w.c.Reconcile(ctx, job.Args.IntegrationID)
	return w.c.jobError(ctx, job.Args.IntegrationID, err)
}

// reconcileAllArgs is the periodic job: it enqueues one ReconcileArgs per
// integration.
type reconcileAllArgs struct{}

func (reconcileAllArgs) Kind() string { return "reconcile_all" }

func (reconcileAllArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

type reconcileAllWorker struct {
	river.WorkerDefaults[reconcileAllArgs]
	c *Collector
}

func (w *reconcileAllWorker) Work(ctx context.Context, _ *river.Job[reconcileAllArgs]) error {
	return w.c.EnqueueReconciles(ctx)
}

// ReconcileSchedule is the periodic job (PANDEV_RECONCILE_INTERVAL) that
// starts a reconciliation of every integration. River enqueues periodic
// jobs on the elected leader only, so replicas do not multiply it.
func ReconcileSchedule(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return reconcileAllArgs{}, nil },
		&river.PeriodicJobOpts{ID: "reconcile"})
}

// EnqueueReconciles inserts one reconciliation per connected integration
// whose provider has a source.
func (c *Collector) EnqueueReconciles(ctx context.Context) error {
	if c.queue == nil {
		return errors.New("collect: no queue attached")
	}
	ins, err := c.db.ListAllIntegrations(ctx)
	if err != nil {
		return err
	}
	return c.db.InTx(ctx, func(tx *store.Tx) error {
		for _, in := range ins {
			if c.source(in.Provider) == nil || in.DisconnectedAt != nil {
				continue
			}
			if err := c.queue.InsertTx(ctx, tx, ReconcileArgs{IntegrationID: in.ID}, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// Refresher is a Source whose project list the reconciliation reads
// again first (new projects selected by the integration's settings are
// backfilled from then on).
type Refresher interface {
	Refresh(ctx context.Context, integrationID string) error
}

// Reconcile reads, for every selected project whose backfill finished, what
// changed since the project's oldest watermark minus ReconcileOverlap: PRs
// created or closed since (and active PRs whose votes changed), commits,
// runs, deployments and work items changed since. It upserts them, derives
// deployments, records the run (items fetched, items that were missing or
// stale: missed deliveries) and marks the integration synced.
func (c *Collector) Reconcile(ctx context.Context, integrationID string) (store.SyncRun, error) {
	src, in, err := c.sourceOf(ctx, integrationID)
	if err != nil {
		return store.SyncRun{}, err
	}
	if src == nil {
		return c.noSourceRun(ctx, in, "reconcile", "")
	}
	client, in, err := src.Client(ctx, integrationID)
	if err != nil {
		return store.SyncRun{}, err
	}
	key := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
	run := store.SyncRun{Key: key, Kind: "reconcile", StartedAt: c.now()}
	if rf, ok := src.(Refresher); ok {
		// The project list first: a project new since (GitHub: a repository
		// of a whole organization chosen) is selected, its backfill queued.
		if err := rf.Refresh(ctx, in.ID); err != nil {
			return store.SyncRun{}, err
		}
	}
	projects, err := c.db.ListProjects(ctx, key, true)
	if err == nil {
		_, err = c.recheckBlocked(ctx, src, client, in, projects)
	}
	for _, p := range projects {
		if err != nil {
			break
		}
		var fetched, recovered int64
		fetched, recovered, err = c.reconcileProject(ctx, src, client, key, p)
		run.ItemsFetched += fetched
		run.ItemsRecovered += recovered
		if err != nil {
			err = fmt.Errorf("reconciliation of project %s: %w", p.Name, err)
		}
	}
	run.FinishedAt = c.now()
	if err != nil {
		run.Error = err.Error()
	}
	run, rerr := c.db.RecordSyncRun(context.WithoutCancel(ctx), run)
	if err == nil {
		err = rerr
	}
	if err == nil {
		err = c.db.MarkIntegrationSynced(ctx, in.ID, run.FinishedAt)
	}
	return run, markToken(err, in)
}

func (c *Collector) reconcileProject(ctx context.Context, src Source, client Client, key store.Key, p store.Project) (int64, int64, error) {
	cps, err := c.checkpoints(ctx, key, p.ProjectID)
	if err != nil {
		return 0, 0, err
	}
	bf := cps[resBackfill]
	if bf != nil && bf.Started.IsZero() && bf.Finished == nil && c.queue != nil {
		// Its backfill waited for a source (noSource): there is one now.
		return 0, 0, c.db.InTx(ctx, func(tx *store.Tx) error {
			return c.queue.InsertTx(ctx, tx, BackfillArgs{IntegrationID: key.IntegrationID, ProjectID: p.ProjectID, Days: bf.Days}, nil)
		})
	}
	if bf == nil || bf.Finished == nil {
		return 0, 0, nil // the backfill has not finished: it collects this project
	}
	if p.CollectedSince == nil {
		// Backfilled before collected-since was recorded: its checkpoint
		// knows where that backfill started.
		if err := c.db.NoteCollectedSince(ctx, key, p.ProjectID, bf.From); err != nil {
			return 0, 0, err
		}
	}
	resources := src.Resources()
	var since *time.Time
	for _, r := range resources {
		cp := cps[r.Name]
		if cp != nil && cp.Blocked != nil {
			continue // refused: not read until a new token unblocks it
		}
		if cp == nil || cp.watermark == nil {
			return 0, 0, nil // a resource never completed: leave it to the backfill
		}
		if since == nil || cp.watermark.Before(*since) {
			since = cp.watermark
		}
	}
	if since == nil {
		since = &bf.From // every resource is refused: only derivation is left
	}
	started := c.now().UTC()
	s := c.newRun(key, p, since.Add(-ReconcileOverlap), started, true)
	s.Rules = c.rulesOf(ctx, key.WorkspaceID, p.ProjectID)
	pc := client.Project(s)
	for _, r := range resources {
		res := r.Name
		if cps[res].Blocked != nil {
			continue
		}
		if dep := cps[r.DependsOn]; r.DependsOn != "" && dep != nil && dep.Blocked != nil {
			continue
		}
		if err := s.step(ctx, pc, res, &Checkpoint{Started: started}); err != nil {
			b, err := s.blockedBy(ctx, client, r, err)
			if err != nil {
				return s.fetched.Load(), s.recovered.Load(), err
			}
			// Refused since the last run (a scope removed, a permission
			// taken away): recorded, and the others go on.
			cps[res].Blocked = b
			if err := s.Save(ctx, c.db, res, cps[res], nil); err != nil {
				return s.fetched.Load(), s.recovered.Load(), err
			}
		}
	}
	for _, r := range resources {
		res := r.Name
		if cps[res].Blocked != nil {
			continue
		}
		if err := s.Save(ctx, c.db, res, cps[res], &started); err != nil {
			return s.fetched.Load(), s.recovered.Load(), err
		}
	}
	return s.fetched.Load(), s.recovered.Load(), nil
}
