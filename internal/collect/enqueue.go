package collect

import (
	"context"
	"errors"
	"slices"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// manyInserter inserts several jobs in a transaction (jobs.Queue does).
type manyInserter interface {
	InsertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
}

// EnqueueEvents schedules the processing of several stored events within
// tx: a drain job for each integration the group touched, unless one is
// already waiting or running (see EventArgs and store.DrainJobsWaiting); a
// job left "running" by a killed process is replaced by the next sweep.
func (c *Collector) EnqueueEvents(ctx context.Context, tx *store.Tx, events []webhook.EventRef) error {
	q, ok := c.queue.(manyInserter)
	if !ok {
		return errors.New("collect: the queue cannot insert many jobs")
	}
	var ids []string
	for _, e := range events {
		if !slices.Contains(ids, e.IntegrationID) {
			ids = append(ids, e.IntegrationID)
		}
	}
	slices.Sort(ids)
	if err := tx.LockIntegrations(ctx, ids, false); err != nil {
		return err
	}
	waiting, err := tx.DrainJobsWaiting(ctx, EventArgs{}.Kind(), ids)
	if err != nil {
		return err
	}
	params := make([]river.InsertManyParams, 0, len(ids))
	for _, id := range ids {
		if !waiting[id] {
			params = append(params, river.InsertManyParams{Args: EventArgs{IntegrationID: id}, InsertOpts: eventJobOpts()})
		}
	}
	if len(params) == 0 {
		return nil
	}
	return q.InsertManyTx(ctx, tx, params)
}
