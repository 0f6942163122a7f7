package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

type echoArgs struct {
	N int `json:"n"`
}

func (echoArgs) Kind() string { return "echo" }

// flakyWorker fails its first attempt, then succeeds.
type flakyWorker struct {
	river.WorkerDefaults[echoArgs]
	attempts atomic.Int32
}

func (w *flakyWorker) Work(ctx context.Context, job *river.Job[echoArgs]) error {
	if w.attempts.Add(1) == 1 {
		return errors.New("transient")
	}
	return nil
}

// NextRetry retries at once so the test need not wait River's backoff.
func (w *flakyWorker) NextRetry(*river.Job[echoArgs]) time.Time { return time.Now() }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startQueue(t *testing.T, db *store.DB, cfg jobs.Config) *jobs.Queue {
	t.Helper()
	cfg.Logger = quiet()
	cfg.PollInterval = 50 * time.Millisecond
	q, err := jobs.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	return q
}

func waitEvent(t *testing.T, events <-chan *river.Event, kind river.EventKind) *river.Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event within 30s", kind)
		}
	}
}

func TestTransactionalInsertRetryAndUnique(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &flakyWorker{}
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		q := startQueue(t, db, jobs.Config{ID: "t", Workers: workers})
		events, cancel := q.Client().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
		defer cancel()

		rolledBack := errors.New("roll back")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := q.InsertTx(ctx, tx, echoArgs{N: 1}, nil); err != nil {
				return err
			}
			return rolledBack
		})
		if !errors.Is(err, rolledBack) {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(tx *store.Tx) error { return q.InsertTx(ctx, tx, echoArgs{N: 2}, nil) }); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, events, river.EventKindJobFailed) // first attempt errors and is retried
		done := waitEvent(t, events, river.EventKindJobCompleted)
		var args echoArgs
		if err := json.Unmarshal(done.Job.EncodedArgs, &args); err != nil || args.N != 2 {
			t.Fatalf("the committed job ran (n=2), got %+v %v", args, err)
		}
		if done.Job.Attempt != 2 {
			t.Fatalf("completed on attempt %d, want 2", done.Job.Attempt)
		}
		var count int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'echo'`).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if count != 1 {
			t.Fatalf("the rolled-back job must not exist: %d echo jobs", count)
		}

		unique := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}, ScheduledAt: time.Now().Add(time.Hour)}
		first, err := q.Client().Insert(ctx, echoArgs{N: 3}, unique)
		if err != nil || first.UniqueSkippedAsDuplicate {
			t.Fatalf("first unique insert: %+v %v", first, err)
		}
		second, err := q.Client().Insert(ctx, echoArgs{N: 3}, unique)
		if err != nil || !second.UniqueSkippedAsDuplicate {
			t.Fatalf("second unique insert must be skipped: %+v %v", second, err)
		}
	})
}

type gateArgs struct {
	Key   string `json:"key"`
	After int64  `json:"after,omitempty"`
}

func (gateArgs) Kind() string { return "gate" }

func (gateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
		rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// gateWorker holds its first job until released.
type gateWorker struct {
	river.WorkerDefaults[gateArgs]
	release chan struct{}
	runs    atomic.Int32
}

func (w *gateWorker) Work(ctx context.Context, job *river.Job[gateArgs]) error {
	if w.runs.Add(1) == 1 {
		<-w.release
	}
	return nil
}

// TestRerunAfterTheRunningJob, on both engines: asking for a job that is
// running already (Sync now while a reconciliation runs) enqueues one
// follow-up that runs after it — the running one may have read before the
// ask — and asking again while it runs adds no second follow-up.
func TestRerunAfterTheRunningJob(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := &gateWorker{release: make(chan struct{})}
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		q := startQueue(t, db, jobs.Config{ID: "t", Workers: workers})
		events, cancel := q.Client().Subscribe(river.EventKindJobCompleted)
		defer cancel()
		args := gateArgs{Key: "i1"}
		again := func(id int64) river.JobArgs { return gateArgs{Key: args.Key, After: id} }
		ask := func() {
			t.Helper()
			if err := db.InTx(ctx, func(tx *store.Tx) error { return q.InsertRerunTx(ctx, tx, args, again) }); err != nil {
				t.Fatal(err)
			}
		}
		count := func(state string) int {
			t.Helper()
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'gate' AND state = $1`, state).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		ask()
		for deadline := time.Now().Add(30 * time.Second); count("running") == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the first job never ran")
			}
			time.Sleep(20 * time.Millisecond)
		}
		ask()
		ask()
		var total int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'gate'`).Scan(&total); err != nil || total != 2 {
			t.Fatalf("asking twice while one runs must add one follow-up: %d jobs, %v", total, err)
		}
		close(w.release)
		waitEvent(t, events, river.EventKindJobCompleted)
		waitEvent(t, events, river.EventKindJobCompleted)
		if n := w.runs.Load(); n != 2 {
			t.Fatalf("%d runs, want the running one and its follow-up", n)
		}
	})
}
