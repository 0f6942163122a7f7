// Package collect turns a provider's data into stored rows: it drains
// webhook deliveries from the inbox, backfills and reconciles, with what
// the integration's provider's Source provides (internal/collect/azure is
// Azure DevOps'). Every write is an idempotent upsert keyed by provider
// ids, so the same item arriving by webhook, backfill or reconciliation,
// in any order and any number of times, converges to one row.
package collect

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// EventArgs is the job that drains an integration's inbox: it applies the
// pending deliveries oldest first until none is left. Ingest queues one in
// the transaction that stores deliveries, unique per integration (and
// minute), so a burst of thousands of deliveries makes a handful of jobs,
// not one per group: River completes jobs in batches, and on SQLite a
// batch of a hundred small jobs held the only writer for tens of
// milliseconds, which a delivery waiting for that writer felt as p99.
//
// No delivery waits for a job that will not come: the job ends in a
// transaction that finds the inbox empty and completes the job together
// (jobs.CompleteTx). Ingest locks the integration shared and the ending
// transaction exclusive (SQLite serializes all writers anyway), so either
// that transaction sees the new delivery and the job goes on, or ingest
// runs after it and, finding no running job, queues a new one. Every
// delivery is claimed (pending → outcome) in the transaction that applies
// it, so two jobs on the same inbox — a stuck one and the next minute's,
// or two replicas' — never apply one delivery twice.
type EventArgs struct {
	IntegrationID string `json:"integration_id"`
	// EventIDs named a group's deliveries in jobs queued before drain
	// jobs; such a job applies those first.
	EventIDs []string `json:"event_ids,omitempty"`
}

// Kind names the job in the queue.
func (EventArgs) Kind() string { return "webhook_events" }

// InsertOpts puts drains on the events queue: they never wait behind
// backfills or calls to a slow Azure DevOps (they make none).
func (EventArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueEvents} }

// eventJobOpts makes a drain job unique per integration while one waits or
// runs, per minute: a job left running by a killed process stops new
// deliveries from starting another for at most a minute, not until River
// rescues it.
func eventJobOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: time.Minute,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// drainPage is how many pending deliveries a drain job reads at a time.
const drainPage = 256

// txInserter inserts a job in a transaction (jobs.Queue does).
type txInserter interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// Collector processes events into rows.
type Collector struct {
	db         *store.DB
	logger     *slog.Logger
	now        func() time.Time
	queue      txInserter
	mu         sync.RWMutex
	sources    map[string]Source // by provider
	prObserver PRObserver
	slice      time.Duration // how long a backfill job runs before continuing in a new one
}

// New returns a Collector. Attach the queue once it exists: the queue needs
// the Collector's workers first.
func New(db *store.DB, logger *slog.Logger, now func() time.Time) *Collector {
	return &Collector{db: db, logger: logger, now: now, slice: jobs.DefaultJobTimeout / 2, sources: map[string]Source{}}
}

// SetJobTimeout tells the Collector the queue's job timeout: a backfill
// runs in slices of half of it.
func (c *Collector) SetJobTimeout(d time.Duration) { c.slice = d / 2 }

// AttachQueue sets the queue that processing jobs are inserted into.
func (c *Collector) AttachQueue(q txInserter) { c.queue = q }

// AttachSource adds the source of its provider's integrations (replacing
// one of the same provider). Jobs of that provider use it from then on.
func (c *Collector) AttachSource(src Source) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources[src.Provider()] = src
}

// source is the provider's source, nil when it has none.
func (c *Collector) source(provider string) Source {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sources[provider]
}

// sourceOf returns an integration and its provider's source (nil when
// that provider has none).
func (c *Collector) sourceOf(ctx context.Context, integrationID string) (Source, store.Integration, error) {
	in, err := c.db.GetIntegrationByID(ctx, integrationID)
	if err != nil {
		return nil, in, err
	}
	return c.source(in.Provider), in, nil
}

// noSource ends a backfill of an integration whose provider has no source:
// each project's backfill records why (the status shows it, with the fix)
// and waits, unstarted, for a reconciliation in a version with the source,
// which queues it again; the sync run records it too. Nothing is retried.
func (c *Collector) noSource(ctx context.Context, in store.Integration, kind, projectID string, projects []store.Project, days int) error {
	key := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
	reason := &NoSourceError{Provider: in.Provider}
	for _, p := range projects {
		cps, err := c.checkpoints(ctx, key, p.ProjectID)
		if err != nil {
			return err
		}
		if bf := cps[resBackfill]; bf != nil && bf.Finished != nil {
			continue // collected by an earlier version: kept as it is
		}
		r := c.newRun(key, p, time.Time{}, time.Time{}, false)
		if err := r.Save(ctx, c.db, resBackfill, &Checkpoint{Days: days, Error: reason.Error(), Hint: reason.Hint()}, nil); err != nil {
			return err
		}
	}
	_, err := c.noSourceRun(ctx, in, kind, projectID)
	return err
}

// noSourceRun records a sync run that ended because the integration's
// provider has no source; the job ends without an error.
func (c *Collector) noSourceRun(ctx context.Context, in store.Integration, kind, projectID string) (store.SyncRun, error) {
	now := c.now()
	reason := &NoSourceError{Provider: in.Provider}
	if c.logger != nil {
		c.logger.Info("not collected: "+reason.Error(), "integration", in.ID, "job", kind)
	}
	return c.db.RecordSyncRun(ctx, store.SyncRun{Key: store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID},
		Kind: kind, ProjectID: projectID, StartedAt: now, FinishedAt: now, Error: reason.Error()})
}

// Register adds the Collector's workers.
func (c *Collector) Register(workers *river.Workers) {
	river.AddWorker(workers, &eventWorker{c: c})
	river.AddWorker(workers, &sweepWorker{c: c})
	river.AddWorker(workers, &backfillWorker{c: c})
	river.AddWorker(workers, &reconcileWorker{c: c})
	river.AddWorker(workers, &reconcileAllWorker{c: c})
	river.AddWorker(workers, &detailsWorker{c: c})
}

var _ webhook.BatchEnqueuer = (*Collector)(nil)

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	c *Collector
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	c, id := w.c, job.Args.IntegrationID
	src, _, err := c.sourceOf(ctx, id)
	if delivery.IsNotFound(err) {
		return nil // deleted with its deliveries
	}
	if err != nil {
		return err
	}
	if src == nil {
		// No collection for this provider in this version: its deliveries
		// stay pending, for a version that collects them (the sweep leaves
		// them alone meanwhile).
		return nil
	}
	if len(job.Args.EventIDs) > 0 {
		stored, err := c.db.ListInboxEvents(ctx, id, job.Args.EventIDs)
		if err != nil {
			return err
		}
		if err := c.processStored(ctx, src, stored); err != nil {
			return err
		}
	}
	// A drain runs at most a slice, like a backfill, so it ends well within
	// the job timeout; what is left then goes to a new job.
	deadline := c.now().Add(c.slice)
	for {
		pending, err := c.db.PendingInboxEvents(ctx, id, drainPage)
		if err != nil {
			return err
		}
		if len(pending) > 0 && c.now().Before(deadline) {
			if err := c.processStored(ctx, src, pending); err != nil {
				return err
			}
			continue
		}
		done := false
		err = c.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.LockIntegrations(ctx, []string{id}, true); err != nil {
				return err
			}
			more, err := tx.HasPendingInbox(ctx, id)
			if err != nil || (more && c.now().Before(deadline)) {
				return err // new deliveries came in: drain them first
			}
			if err := jobs.CompleteTx(ctx, tx, job); err != nil {
				return err
			}
			done = true
			if more { // out of time: the rest goes to a fresh job
				return c.queue.InsertTx(ctx, tx, EventArgs{IntegrationID: id}, eventJobOpts())
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// SweepArgs is the periodic job that queues a drain for any integration
// whose deliveries have waited longer than they should: after a crash, or
// when a drain job gave up after its last attempt.
type SweepArgs struct{}

// Kind names the job in the queue.
func (SweepArgs) Kind() string { return "webhook_sweep" }

// InsertOpts runs the sweep beside the drains it queues.
func (SweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueEvents} }

// SweepSchedule runs the sweep every minute on the leader.
func SweepSchedule() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
		&river.PeriodicJobOpts{ID: "webhook_sweep"})
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	c *Collector
}

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	stale, err := w.c.db.IntegrationsWithStalePending(ctx, w.c.now().Add(-30*time.Second))
	if err != nil {
		return err
	}
	var ids []string
	for _, id := range stale {
		src, _, err := w.c.sourceOf(ctx, id)
		if err != nil && !delivery.IsNotFound(err) {
			return err
		}
		if src != nil { // the deliveries of a provider without a source wait
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if err := w.c.db.InTx(ctx, func(tx *store.Tx) error {
			return w.c.queue.InsertTx(ctx, tx, EventArgs{IntegrationID: id}, eventJobOpts())
		}); err != nil {
			return err
		}
	}
	if len(ids) > 0 {
		w.c.logger.Info("queued processing of deliveries left pending", "integrations", len(ids))
	}
	return nil
}

// badPayload is an event whose resource cannot be read; it is recorded as
// failed and not retried.
type badPayload struct{ err error }

func (b *badPayload) Error() string { return "unreadable event: " + b.err.Error() }

// Outcome statuses recorded on the inbox row.
const (
	statusProcessed = "processed"
	statusIgnored   = "ignored"
	statusFailed    = "failed"
)

// applyChunk bounds how many events share one transaction: far fewer
// commits on SQLite's single writer than one per event, and short enough
// that a webhook delivery waiting for the writer is not held up.
const applyChunk = 16

// pendingEvent is a stored event ready to apply, or with its outcome
// already known (ignored, or unreadable).
type pendingEvent struct {
	Event
	h              *Handler
	status, reason string // set when there is nothing to apply
}

// processStored applies stored events in order. Each event's rows and its
// inbox outcome ("processed", "ignored" with the reason, "failed") are
// stored in one transaction, so either both are or neither is and the job
// is retried. Events share transactions in chunks; when a chunk fails, its
// events are applied one at a time, so an unreadable event is recorded as
// failed without holding up its neighbours.
func (c *Collector) processStored(ctx context.Context, src Source, stored []store.InboxEvent) error {
	selected := map[string]bool{} // project id → selected, read once per page
	handlers := src.Handlers()
	var todo []pendingEvent
	for _, s := range stored {
		if s.Status != "pending" {
			continue // already done: a retried job after a crash between commit and completion
		}
		pe, err := c.prepare(ctx, src, handlers, s, selected)
		if err != nil {
			return err
		}
		todo = append(todo, pe)
	}
	for start := 0; start < len(todo); start += applyChunk {
		chunk := todo[start:min(start+applyChunk, len(todo))]
		err := c.apply(ctx, chunk)
		if err == nil {
			continue
		}
		var bad *badPayload
		if !errors.As(err, &bad) {
			return err // retried: the chunks done so far are no longer pending
		}
		for _, pe := range chunk {
			if err := c.apply(ctx, []pendingEvent{pe}); errors.As(err, &bad) {
				if err := c.mark(ctx, pe.Key, pe.ID, statusFailed, bad.Error()); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
		}
	}
	return nil
}

// prepare reads a stored event through its source and finds its handler
// and project; the outcome is set when the event is not to be applied.
func (c *Collector) prepare(ctx context.Context, src Source, handlers map[string]Handler, stored store.InboxEvent, selected map[string]bool) (pendingEvent, error) {
	ev, err := src.Read(stored)
	if err != nil {
		return pendingEvent{Event: Event{Key: stored.Key, ID: stored.EventID},
			status: statusFailed, reason: err.Error()}, nil
	}
	ev.Key, ev.ID = stored.Key, stored.EventID
	if ev.At.IsZero() {
		ev.At = stored.ReceivedAt
	}
	pe := pendingEvent{Event: ev}
	h, known := handlers[ev.EventType]
	switch {
	case !known:
		pe.status, pe.reason = statusIgnored, "event type not collected"
		return pe, nil
	case pe.ProjectID == "":
		pe.status, pe.reason = statusIgnored, "event names no project"
		return pe, nil
	}
	sel, seen := selected[pe.ProjectID]
	if !seen {
		p, err := c.db.GetProject(ctx, pe.Key, pe.ProjectID)
		if err != nil && !delivery.IsNotFound(err) {
			return pe, err
		}
		sel = err == nil && p.Selected
		selected[pe.ProjectID] = sel
	}
	if !sel {
		pe.status, pe.reason = statusIgnored, "project not selected"
		return pe, nil
	}
	pe.h = &h
	return pe, nil
}

// apply stores a chunk of events in one transaction. Each event is claimed
// first: one another job already took is skipped.
func (c *Collector) apply(ctx context.Context, chunk []pendingEvent) error {
	rules := map[store.Key]map[string]delivery.Rules{} // read before the transaction (SQLite has one writer connection)
	for _, pe := range chunk {
		if _, ok := rules[pe.Key][pe.ProjectID]; !ok && pe.h != nil && pe.h.Rules {
			if rules[pe.Key] == nil {
				rules[pe.Key] = map[string]delivery.Rules{}
			}
			rules[pe.Key][pe.ProjectID] = c.rulesOf(ctx, pe.WorkspaceID, pe.ProjectID)
		}
	}
	return c.db.InTx(ctx, func(tx *store.Tx) error {
		for _, pe := range chunk {
			status, reason := pe.status, pe.reason
			if status == "" {
				status = statusProcessed
			}
			mine, err := tx.ClaimInboxEvent(ctx, pe.IntegrationID, pe.ID, status, reason, c.now())
			if err != nil {
				return err
			}
			if !mine || pe.h == nil {
				continue
			}
			ev := pe.Event
			if pe.h.Rules {
				ev.Rules = rules[pe.Key][pe.ProjectID]
			}
			done, err := pe.h.Apply(ctx, tx, ev)
			if err != nil {
				return err
			}
			if done.Ignored != "" {
				if err := tx.MarkInboxEvent(ctx, pe.IntegrationID, pe.ID, statusIgnored, done.Ignored, c.now()); err != nil {
					return err
				}
				continue
			}
			if done.PR != nil && c.prObserver != nil {
				if err := c.prObserver.PRChanged(ctx, tx, pe.WorkspaceID, *done.PR); err != nil {
					return err
				}
			}
			if done.Details != nil && c.queue != nil {
				if err := c.queue.InsertTx(ctx, tx, *done.Details, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (c *Collector) mark(ctx context.Context, k store.Key, eventID, status, reason string) error {
	return c.db.MarkInboxEvent(ctx, k.IntegrationID, eventID, status, reason, c.now())
}
