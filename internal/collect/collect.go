// Package collect turns Azure DevOps data into stored rows: it processes
// webhook events from the inbox (and, in later slices, backfills and
// reconciles). Every write is an idempotent upsert keyed by provider ids,
// so the same item arriving by webhook, backfill or reconciliation, in any
// order and any number of times, converges to one row.
package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// EventArgs is the job that processes stored webhook events of one
// integration, in the order they were committed: ingest stores deliveries
// in groups and queues one job per group and integration.
type EventArgs struct {
	IntegrationID string   `json:"integration_id"`
	EventIDs      []string `json:"event_ids"`
}

// Kind names the job in the queue.
func (EventArgs) Kind() string { return "webhook_events" }

// EventArgs jobs need no uniqueness: only new inbox rows get a job (the
// inbox's primary key deduplicates), and processing a row that is no
// longer pending is a no-op, so a retried job skips what it already did.

// txInserter inserts a job in a transaction (jobs.Queue does).
type txInserter interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// ClientSource gives the Azure DevOps client of an integration: one per
// integration, so its concurrency limit and pacing hold across all jobs.
// The integration package implements it.
type ClientSource interface {
	Client(ctx context.Context, integrationID string) (*azdo.Client, store.Integration, error)
}

// Collector processes events into rows.
type Collector struct {
	db         *store.DB
	logger     *slog.Logger
	now        func() time.Time
	queue      txInserter
	clients    ClientSource
	prObserver PRObserver
	slice      time.Duration // how long a backfill job runs before continuing in a new one
}

// New returns a Collector. Attach the queue once it exists: the queue needs
// the Collector's workers first.
func New(db *store.DB, logger *slog.Logger, now func() time.Time) *Collector {
	return &Collector{db: db, logger: logger, now: now, slice: jobs.DefaultJobTimeout / 2}
}

// SetJobTimeout tells the Collector the queue's job timeout: a backfill
// runs in slices of half of it.
func (c *Collector) SetJobTimeout(d time.Duration) { c.slice = d / 2 }

// AttachQueue sets the queue that processing jobs are inserted into.
func (c *Collector) AttachQueue(q txInserter) { c.queue = q }

// AttachClients sets where jobs get their Azure DevOps clients.
func (c *Collector) AttachClients(cs ClientSource) { c.clients = cs }

// Register adds the Collector's workers.
func (c *Collector) Register(workers *river.Workers) {
	river.AddWorker(workers, &eventWorker{c: c})
	river.AddWorker(workers, &backfillWorker{c: c})
	river.AddWorker(workers, &reconcileWorker{c: c})
	river.AddWorker(workers, &reconcileAllWorker{c: c})
}

var _ webhook.BatchEnqueuer = (*Collector)(nil)

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	c *Collector
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	for _, id := range job.Args.EventIDs {
		err := w.c.ProcessEvent(ctx, job.Args.IntegrationID, id)
		var bad *badPayload
		if errors.As(err, &bad) {
			continue // recorded as failed on its inbox row; retrying cannot help
		}
		if err != nil {
			return err // retried: the events done so far are no longer pending
		}
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

// event is a stored delivery being processed.
type event struct {
	store.Key
	webhook.Envelope
	ProjectID string
}

// handler applies one event type within tx; it returns a reason when the
// event is deliberately ignored.
type handler func(ctx context.Context, tx *store.Tx, ev event) (ignored string, err error)

// handlers routes by eventType; anything else is stored and ignored.
var handlers = map[string]handler{
	"git.push":                                   applyPush,
	"git.pullrequest.created":                    applyPullRequest,
	"git.pullrequest.updated":                    applyPullRequest,
	"git.pullrequest.merged":                     applyPullRequest,
	"ms.vss-code.git-pullrequest-comment-event":  applyPRComment,
	"git.repo.created":                           applyRepository,
	"git.repo.renamed":                           applyRepository,
	"git.repo.deleted":                           applyRepository,
	"workitem.created":                           applyWorkItem,
	"workitem.updated":                           applyWorkItem,
	"workitem.restored":                          applyWorkItem,
	"workitem.deleted":                           applyWorkItem,
	"build.complete":                             applyBuild,
	"ms.vss-pipelines.run-state-changed-event":   applyPipelineRun,
	"ms.vss-pipelines.stage-state-changed-event": applyPipelineRun,
	"ms.vss-release.deployment-completed-event":  applyReleaseDeployment,
}

// ProcessEvent applies a stored event and records the outcome on its inbox
// row, all in one transaction: either the rows and "processed" are stored
// together, or nothing is and the job is retried.
func (c *Collector) ProcessEvent(ctx context.Context, integrationID, eventID string) error {
	stored, err := c.db.GetInboxEvent(ctx, integrationID, eventID)
	if delivery.IsNotFound(err) {
		return nil // the integration was deleted with its inbox
	}
	if err != nil {
		return err
	}
	if stored.Status != "pending" {
		return nil // already done: a retried job after a crash between commit and completion
	}
	env, err := webhook.ParseEnvelope([]byte(stored.Payload))
	if err != nil {
		return c.mark(ctx, stored, statusFailed, err.Error())
	}
	ev := event{Key: stored.Key, Envelope: env, ProjectID: projectOf([]byte(stored.Payload))}
	if ev.CreatedDate.IsZero() {
		ev.CreatedDate = stored.ReceivedAt
	}
	h, known := handlers[env.EventType]
	if !known {
		return c.mark(ctx, stored, statusIgnored, "event type not collected")
	}
	if ev.ProjectID == "" {
		return c.mark(ctx, stored, statusIgnored, "event names no project")
	}
	p, err := c.db.GetProject(ctx, ev.Key, ev.ProjectID)
	if delivery.IsNotFound(err) || (err == nil && !p.Selected) {
		return c.mark(ctx, stored, statusIgnored, "project not selected")
	}
	if err != nil {
		return err
	}
	var ignored string
	err = c.db.InTx(ctx, func(tx *store.Tx) error {
		ignored, err = h(ctx, tx, ev)
		if err != nil {
			return err
		}
		if ignored == "" {
			if err := c.notifyPR(ctx, tx, ev); err != nil {
				return err
			}
		}
		status := statusProcessed
		if ignored != "" {
			status = statusIgnored
		}
		return tx.MarkInboxEvent(ctx, integrationID, eventID, status, ignored, c.now())
	})
	var bad *badPayload
	if errors.As(err, &bad) {
		if merr := c.mark(ctx, stored, statusFailed, bad.Error()); merr != nil {
			return merr
		}
		return err
	}
	return err
}

func (c *Collector) mark(ctx context.Context, e store.InboxEvent, status, reason string) error {
	return c.db.MarkInboxEvent(ctx, e.IntegrationID, e.EventID, status, reason, c.now())
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
		return &badPayload{err: errors.New("the event has no resource")}
	}
	if err := json.Unmarshal(ev.Resource, v); err != nil {
		return &badPayload{err: fmt.Errorf("resource of %s: %w", ev.EventType, err)}
	}
	return nil
}
