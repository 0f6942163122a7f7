package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// callArgs stands for a job that talks to one integration's Azure DevOps.
type callArgs struct {
	IntegrationID string `json:"integration_id"`
	N             int    `json:"n"`
}

func (callArgs) Kind() string { return "backfill" }

// hookArgs stands for a short job of the same integration (a hook
// registration).
type hookArgs struct {
	IntegrationID string `json:"integration_id"`
}

func (hookArgs) Kind() string { return "register_hooks" }

type hookWorker struct {
	river.WorkerDefaults[hookArgs]
	done chan string
}

func (w *hookWorker) Work(ctx context.Context, job *river.Job[hookArgs]) error {
	w.done <- job.Args.IntegrationID
	return nil
}

// eventArgs stands for webhook processing, on the events queue.
type eventArgs struct {
	IntegrationID string `json:"integration_id"`
}

func (eventArgs) Kind() string { return "event" }

func (eventArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueEvents} }

// stuckWorker blocks every job until released, as calls to a host that
// never answers would, and records how many of each integration run.
type stuckWorker struct {
	river.WorkerDefaults[callArgs]
	mu      sync.Mutex
	running map[string]int
	peak    map[string]int
	started chan string
	release chan struct{}
}

func (w *stuckWorker) Work(ctx context.Context, job *river.Job[callArgs]) error {
	id := job.Args.IntegrationID
	w.mu.Lock()
	w.running[id]++
	w.peak[id] = max(w.peak[id], w.running[id])
	w.mu.Unlock()
	w.started <- id
	select {
	case <-w.release:
	case <-ctx.Done():
	}
	w.mu.Lock()
	w.running[id]--
	w.mu.Unlock()
	return nil
}

type eventWorker struct {
	river.WorkerDefaults[eventArgs]
	done chan string
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[eventArgs]) error {
	w.done <- job.Args.IntegrationID
	return nil
}

// TestOneIntegrationCannotTakeEveryWorker: an integration whose Azure
// DevOps never answers fills only its lanes; its own hook registration,
// another integration's jobs and every webhook drain still run. Before lanes and the events queue, the
// stuck integration's jobs took all workers and nothing else ran.
func TestOneIntegrationCannotTakeEveryWorker(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &stuckWorker{running: map[string]int{}, peak: map[string]int{}, started: make(chan string, 64),
			release: make(chan struct{})}
		ev := &eventWorker{done: make(chan string, 8)}
		hw := &hookWorker{done: make(chan string, 8)}
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		river.AddWorker(workers, ev)
		river.AddWorker(workers, hw)
		q := startQueue(t, db, jobs.Config{ID: "t", Workers: workers, MaxWorkers: 4, PerIntegration: 2})
		defer close(w.release)

		for i := range 8 { // more than all workers
			if err := q.Insert(ctx, callArgs{IntegrationID: "slow", N: i}, nil); err != nil {
				t.Fatal(err)
			}
		}
		waitStarted(t, w.started, "slow", 2)
		// The stuck integration's long lane is full; its hook
		// registration still runs, in the short lane.
		if err := q.Insert(ctx, hookArgs{IntegrationID: "slow"}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-hw.done:
		case <-time.After(30 * time.Second):
			t.Fatal("a hook registration waited behind its integration's backfills")
		}
		if err := q.Insert(ctx, callArgs{IntegrationID: "other", N: 1}, nil); err != nil {
			t.Fatal(err)
		}
		waitStarted(t, w.started, "other", 1)
		if err := q.Insert(ctx, eventArgs{IntegrationID: "other"}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ev.done:
		case <-time.After(30 * time.Second):
			t.Fatal("a webhook drain waited behind the default queue's jobs")
		}
		w.mu.Lock()
		peak := w.peak["slow"]
		w.mu.Unlock()
		if peak > 2 {
			t.Fatalf("the stuck integration ran %d jobs at once, cap 2", peak)
		}
		if q.LaneWaits() == 0 {
			t.Fatal("jobs over the cap must have been sent back to wait")
		}
	})
}

// waitStarted waits until n jobs of integration id have started, ignoring
// others.
func waitStarted(t *testing.T, started <-chan string, id string, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for n > 0 {
		select {
		case got := <-started:
			if got == id {
				n--
			}
		case <-timeout:
			t.Fatalf("%d more jobs of %s did not start", n, id)
		}
	}
}
