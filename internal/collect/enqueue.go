package collect

import (
	"context"
	"errors"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// manyInserter inserts several jobs in a transaction (jobs.Queue does).
type manyInserter interface {
	InsertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
}

// EnqueueEvents schedules the processing of several stored events within
// tx with one insert: webhook ingest commits deliveries in groups.
func (c *Collector) EnqueueEvents(ctx context.Context, tx *store.Tx, events []webhook.EventRef) error {
	q, ok := c.queue.(manyInserter)
	if !ok {
		return errors.New("collect: the queue cannot insert many jobs")
	}
	params := make([]river.InsertManyParams, len(events))
	for i, e := range events {
		params[i] = river.InsertManyParams{Args: EventArgs{IntegrationID: e.IntegrationID, EventID: e.EventID}}
	}
	return q.InsertManyTx(ctx, tx, params)
}
