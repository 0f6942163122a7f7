package collect_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// TestEnqueueEventsSkipsWaitingDrainJob: ingest queues a drain job only for
// an integration without one waiting or running, so concurrent ingest
// transactions do not all lock the same unique job row; once that job is
// gone, the next delivery queues a new one.
func TestEnqueueEventsSkipsWaitingDrainJob(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		client := h.queue.Client()
		waiting, err := client.Insert(ctx, collect.EventArgs{IntegrationID: h.key.IntegrationID},
			&river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		enqueue := func() {
			t.Helper()
			err := db.InTx(ctx, func(tx *store.Tx) error {
				return h.collector.EnqueueEvents(ctx, tx, []webhook.EventRef{{IntegrationID: h.key.IntegrationID, EventID: "e1"}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		drainJobs := func() int {
			t.Helper()
			res, err := client.JobList(ctx, river.NewJobListParams().Kinds(collect.EventArgs{}.Kind()).First(100))
			if err != nil {
				t.Fatal(err)
			}
			return len(res.Jobs)
		}
		for range 3 {
			enqueue()
		}
		if n := drainJobs(); n != 1 {
			t.Fatalf("%d drain jobs with one waiting, want 1", n)
		}
		if _, err := client.JobCancel(ctx, waiting.Job.ID); err != nil {
			t.Fatal(err)
		}
		enqueue()
		if n := drainJobs(); n != 2 {
			t.Fatalf("%d drain jobs after the waiting one was cancelled, want 2", n)
		}
	})
}
