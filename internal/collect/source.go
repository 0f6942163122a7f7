package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Source is what a provider implements to be collected (ADR 0016): how its
// stored deliveries read and apply, which resources a project has, and a
// client per integration that collects them. Everything else — claiming
// inbox rows and recording their outcome, the jobs and their lanes,
// checkpoints and watermarks, progress, blocked resources, sync runs, the
// PR observer, token problems — is the Collector's, the same for every
// provider. The Azure DevOps source is internal/collect/azure.
//
// Errors: a client returns delivery errors in the user's words. A
// delivery.KindUnauthorized or KindForbidden that Client.Blocked does not
// claim is the token's: the Collector shows it on the integration and the
// job waits for Update token; anything else is retried with the queue's
// backoff, resuming from the checkpoints (waiting out a rate limit is the
// client's, before it answers).
//
// An integration whose provider has no Source attached is not collected:
// its deliveries stay pending in the inbox, and its backfill and
// reconciliation jobs end recording NoSourceError; once a version with the
// source runs, the sweep drains the deliveries and the next reconciliation
// queues the backfills.
type Source interface {
	// Provider is the integration provider collected (store.Integration.Provider).
	Provider() string
	// Read reads a stored delivery (the id, event type and payload that
	// webhook ingest stored): the event's project, when it happened, the
	// part its handler reads. An error records the delivery as failed with
	// that error; it is not retried.
	Read(stored store.InboxEvent) (Event, error)
	// Handlers routes by event type; a delivery of any other type is
	// recorded as ignored ("event type not collected").
	Handlers() map[string]Handler
	// Resources are what a project's backfill and reconciliation collect,
	// in order: a later resource may read what an earlier one stored.
	Resources() []Resource
	// Client returns the source's client of an integration, and the
	// integration: one per integration, so its limits and pacing hold across
	// all jobs. A delivery.KindNotFound error means the integration is gone.
	Client(ctx context.Context, integrationID string) (Client, store.Integration, error)
}

// Handler applies one event type.
type Handler struct {
	// Apply stores the event in tx, the transaction that records the
	// delivery's outcome: both are stored or neither is. A payload it
	// cannot read is Unreadable(err) (recorded as failed, not retried); any
	// other error retries the drain.
	Apply func(ctx context.Context, tx *store.Tx, ev Event) (Applied, error)
	// Rules: Apply reads ev.Rules, the project's rules, read before the
	// transaction (SQLite's writer is the only connection inside it).
	Rules bool
}

// Applied is what applying an event did.
type Applied struct {
	// Ignored, when set, records the delivery as ignored with this reason
	// (e.g. a newer version is stored); nothing else below happens.
	Ignored string
	// PR is the pull request the event changed, if any: the PR observer
	// hears it in the same transaction.
	PR *store.PRRef
	// Details, when set, is queued in the same transaction: what the event
	// does not carry, read by Client.Project(…).Details.
	Details *DetailsArgs
}

// Event is a stored delivery as a handler sees it.
type Event struct {
	store.Key
	ID        string    // the delivery id (the inbox key)
	EventType string    // what Handlers routes by
	At        time.Time // when it happened: orders versions of an item; the receive time when the delivery says none
	ProjectID string    // the project it belongs to; "" ignores it ("event names no project")
	// Resource is the part of the payload the handler reads.
	Resource json.RawMessage
	// Rules are the project's rules when the handler asked for them.
	Rules delivery.Rules
}

// Resource is one kind of item a project's collection reads.
type Resource struct {
	// Name keys its checkpoint and progress ("pull_requests").
	Name string
	// Label names it for people ("pull requests").
	Label string
	// Scope is the permission it is read with ("" when it reads only the
	// database: never blocked). A refusal with this scope blocks the
	// resource rather than failing the run (Client.Blocked).
	Scope string
	// DependsOn is a resource whose items this one is listed by (commits per
	// repository): when that one is blocked, so is this.
	DependsOn string
}

// Client collects an integration with its credentials.
type Client interface {
	// Project starts collecting one project in run.
	Project(run *Run) ProjectClient
	// Blocked says whether err, returned by collecting res, means the
	// provider refused that resource while the token itself still works
	// (a missing scope or permission): it returns what to record, with the
	// fix, or nil when err stands (the token stopped working, or anything
	// else).
	Blocked(ctx context.Context, res Resource, err error) *Blocked
	// Granted asks, with one harmless call, whether the token now has scope
	// in the project (a scope added to the same token unblocks resources).
	Granted(ctx context.Context, scope, projectID string) bool
}

// ProjectClient collects one project.
type ProjectClient interface {
	// Collect reads resource res of the project from run.From on and
	// stores it with run.Write, which checkpoints (backfill) or counts
	// missed items (reconciliation). A backfill resumes from cp.Pos; the
	// Collector marks the resource finished when Collect returns nil.
	Collect(ctx context.Context, res string, cp *Checkpoint) error
	// Details reads and stores what a DetailsArgs that Applied queued asks
	// for.
	Details(ctx context.Context, args DetailsArgs) error
}

// NoSourceError is why an integration of a provider without a Source is
// not collected: recorded on its backfill and its sync runs.
type NoSourceError struct{ Provider string }

func (e *NoSourceError) Error() string {
	return fmt.Sprintf("no collection for provider %s in this version", e.Provider)
}

// Hint says what to do.
func (e *NoSourceError) Hint() string {
	return "its deliveries are kept; they are collected, and the backfill runs, after an upgrade to a version that collects " + e.Provider
}

// Unreadable marks an error of a payload that cannot be read: the delivery
// is recorded as failed and not retried.
func Unreadable(err error) error { return &badPayload{err: err} }

// Run is one backfill or reconciliation of one project, as a source's
// ProjectClient sees it.
type Run struct {
	DB      *store.DB
	Key     store.Key
	Project store.Project
	// From: collect what was created or changed from here on.
	From time.Time
	// Started is when this backfill or reconciliation began.
	Started time.Time
	// Reconcile: a reconciliation, which counts what was missing, rather
	// than a backfill, which checkpoints.
	Reconcile bool
	// Rules are the project's rules.
	Rules delivery.Rules
	Log   *slog.Logger
	// Fanout is how many per-item calls may be in flight.
	Fanout int

	c                  *Collector
	cps                map[string]*Checkpoint
	fetched, recovered atomic.Int64
}

// Now is the Collector's clock.
func (r *Run) Now() time.Time { return r.c.now() }

// Logger is the Collector's logger.
func (r *Run) Logger() *slog.Logger { return r.c.logger }
