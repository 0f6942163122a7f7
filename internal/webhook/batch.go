package webhook

import (
	"context"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// EventRef names a stored event.
type EventRef struct {
	IntegrationID string
	EventID       string
}

// BatchEnqueuer schedules the processing of several stored events in the
// transaction that stored them.
type BatchEnqueuer interface {
	EnqueueEvents(ctx context.Context, tx *store.Tx, events []EventRef) error
}

// maxBatch bounds how many deliveries share one transaction.
const maxBatch = 128

// pending is a delivery waiting for the writer.
type pending struct {
	ev   store.InboxEvent
	done chan outcome
}

type outcome struct {
	isNew bool
	err   error
}

// writer commits deliveries in groups ("group commit"): while one
// transaction runs, the next deliveries queue up and then share one
// transaction, one job insert and one commit. A delivery is answered only
// after its group committed, so a 200 still means "stored". Under no load a
// group is one delivery and nothing waits.
type writer struct {
	db      *store.DB
	enqueue BatchEnqueuer
	in      chan *pending
}

func newWriter(db *store.DB, enqueue BatchEnqueuer, workers int) *writer {
	w := &writer{db: db, enqueue: enqueue, in: make(chan *pending, maxBatch*workers)}
	for range workers {
		go w.loop()
	}
	return w
}

// store queues ev and waits for its group to commit.
func (w *writer) store(ctx context.Context, ev store.InboxEvent) (bool, error) {
	p := &pending{ev: ev, done: make(chan outcome, 1)}
	select {
	case w.in <- p:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case o := <-p.done:
		return o.isNew, o.err
	case <-ctx.Done():
		// The group may still commit; the sender's retry is then a duplicate (200).
		return false, ctx.Err()
	}
}

func (w *writer) loop() {
	batch := make([]*pending, 0, maxBatch)
	for first := range w.in {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case p := <-w.in:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// commit stores a group in one transaction; if the group fails, each
// delivery is retried alone so one bad row cannot fail its neighbours.
func (w *writer) commit(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	news, err := w.commitGroup(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			isNew, err := w.commitGroup(ctx, []*pending{p})
			p.done <- outcome{isNew: len(isNew) == 1 && isNew[0], err: err}
		}
		return
	}
	for i, p := range batch {
		p.done <- outcome{isNew: err == nil && news[i], err: err}
	}
}

func (w *writer) commitGroup(ctx context.Context, batch []*pending) ([]bool, error) {
	news := make([]bool, len(batch))
	err := w.db.InTx(ctx, func(tx *store.Tx) error {
		var refs []EventRef
		for i, p := range batch {
			isNew, err := tx.InsertInboxEvent(ctx, p.ev)
			if err != nil {
				return err
			}
			news[i] = isNew
			if isNew {
				refs = append(refs, EventRef{IntegrationID: p.ev.IntegrationID, EventID: p.ev.EventID})
			}
		}
		if len(refs) == 0 {
			return nil
		}
		return w.enqueue.EnqueueEvents(ctx, tx, refs)
	})
	return news, err
}
