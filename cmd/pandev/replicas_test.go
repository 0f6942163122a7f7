package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

func newPostgresURL(t *testing.T) string { return storetest.NewPostgresDatabase(t) }

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	done *atomic.Int64
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	time.Sleep(20 * time.Millisecond) // long enough that one replica cannot take every job
	w.done.Add(1)
	return nil
}

// TestTwoReplicasOnPostgres runs two `pandev serve` on one PostgreSQL
// database: both serve, both work the shared queue, and only the elected
// leader schedules the periodic job; when it stops, the other takes over.
func TestTwoReplicasOnPostgres(t *testing.T) {
	dsn := newPostgresURL(t)
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	var done atomic.Int64
	start := func(id string) *running {
		workers := river.NewWorkers()
		river.AddWorker(workers, &pingWorker{done: &done})
		cfg := testConfig(t, map[string]string{"PANDEV_DB": dsn, "PANDEV_SECRET_KEY": key})
		return startApp(t, cfg, appOptions{ID: id, HousekeepingInterval: 200 * time.Millisecond,
			PollInterval: 50 * time.Millisecond, Workers: workers})
	}
	a, b := start("replica-a"), start("replica-b")
	ctx := context.Background()

	// Both serve, on one database: an account made through one signs in on the other.
	mustCreateUser(t, dsn, "ann@example.com", pw, "acme", false)
	for _, r := range []*running{a, b} {
		if res := newBrowser(t, r.URL()).login("ann@example.com", pw); res.StatusCode != 303 {
			t.Fatalf("%s: sign-in %d", r.id, res.StatusCode)
		}
	}

	// Both work the shared queue.
	const n = 60
	for i := range n {
		if err := a.queue.Insert(ctx, pingArgs{N: i}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every ping job done", func() bool { return done.Load() >= n })
	workedBy := map[string]int{}
	for _, j := range listJobs(t, a, "ping") {
		workedBy[j.AttemptedBy[len(j.AttemptedBy)-1]]++
	}
	if len(workedBy) != 2 || workedBy["replica-a"]+workedBy["replica-b"] != n {
		t.Fatalf("jobs by replica: %v; want both replicas to work, %d in all, none twice", workedBy, n)
	}

	// Only the leader schedules housekeeping.
	waitFor(t, "five housekeeping jobs", func() bool { return len(listJobs(t, a, "housekeeping")) >= 5 })
	schedulers := housekeepingSchedulers(t, a)
	if len(schedulers) != 1 {
		t.Fatalf("housekeeping scheduled by %v; want exactly one replica (the leader)", schedulers)
	}
	var leader, follower *running
	for id := range schedulers {
		leader, follower = a, b
		if id == "replica-b" {
			leader, follower = b, a
		}
	}
	if err := leader.stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the follower takes over scheduling", func() bool {
		_, ok := housekeepingSchedulers(t, follower)[follower.id]
		return ok
	})
}

func listJobs(t *testing.T, r *running, kind string) []*rivertype.JobRow {
	t.Helper()
	res, err := r.queue.Client().JobList(context.Background(), river.NewJobListParams().Kinds(kind).First(10000))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

func housekeepingSchedulers(t *testing.T, r *running) map[string]int {
	out := map[string]int{}
	for _, j := range listJobs(t, r, "housekeeping") {
		var args jobs.HousekeepingArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			t.Fatal(err)
		}
		out[args.Instance]++
	}
	return out
}

// waitFor polls cond (cheap database reads) until it holds, for at most 60 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLimit bounds waitFor (generous: a bound, not a timing assertion, on
// a machine that runs other packages' tests at the same time);
// PANDEV_TEST_WAIT changes it.
var waitLimit = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PANDEV_TEST_WAIT")); err == nil {
		return d
	}
	return 2 * time.Minute
}()
