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
// tx: one job per integration for the whole group ingest committed.
func (c *Collector) EnqueueEvents(ctx context.Context, tx *store.Tx, events []webhook.EventRef) error {
	q, ok := c.queue.(manyInserter)
	if !ok {
		return errors.New("collect: the queue cannot insert many jobs")
	}
	var order []string
	byIntegration := map[string][]string{}
	for _, e := range events {
		if _, seen := byIntegration[e.IntegrationID]; !seen {
			order = append(order, e.IntegrationID)
		}
		byIntegration[e.IntegrationID] = append(byIntegration[e.IntegrationID], e.EventID)
	}
	params := make([]river.InsertManyParams, 0, len(order))
	for _, id := range order {
		params = append(params, river.InsertManyParams{Args: EventArgs{IntegrationID: id, EventIDs: byIntegration[id]}})
	}
	return q.InsertManyTx(ctx, tx, params)
}
