package collect_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// testSource is a provider's source as the interface's comments describe
// it, with GitHub's provider id: a delivery's payload names its project
// ("repository"), "push" is the one event type collected, and a project has
// one resource, read with scope "contents".
type testSource struct {
	db      *store.DB
	applied chan string // delivery ids, as they are applied
}

func (*testSource) Provider() string { return "github" }

func (*testSource) Read(stored store.InboxEvent) (collect.Event, error) {
	var p struct {
		Repository string `json:"repository"`
	}
	if err := json.Unmarshal([]byte(stored.Payload), &p); err != nil {
		return collect.Event{}, err
	}
	return collect.Event{EventType: stored.EventType, ProjectID: p.Repository, Resource: json.RawMessage(stored.Payload)}, nil
}

func (s *testSource) Handlers() map[string]collect.Handler {
	return map[string]collect.Handler{"push": {Apply: func(_ context.Context, _ *store.Tx, ev collect.Event) (collect.Applied, error) {
		s.applied <- ev.ID
		return collect.Applied{}, nil
	}}}
}

func (*testSource) Resources() []collect.Resource {
	return []collect.Resource{{Name: "repository", Label: "repository", Scope: "contents"}}
}

func (s *testSource) Client(ctx context.Context, integrationID string) (collect.Client, store.Integration, error) {
	in, err := s.db.GetIntegrationByID(ctx, integrationID)
	return ghClient{}, in, err
}

type ghClient struct{}

func (ghClient) Project(run *collect.Run) collect.ProjectClient { return ghProject{run} }
func (ghClient) Blocked(context.Context, collect.Resource, error) *collect.Blocked {
	return nil
}
func (ghClient) Granted(context.Context, string, string) bool { return false }

type ghProject struct{ run *collect.Run }

func (p ghProject) Collect(ctx context.Context, res string, cp *collect.Checkpoint) error {
	cp.Pages++
	return p.run.Write(ctx, res, cp, []collect.Fingerprinted{{Key: "r1"}}, func(*store.Tx) error { return nil })
}

func (ghProject) Details(context.Context, collect.DetailsArgs) error {
	return errors.New("no details asked")
}

// TestProviderWithoutSourceWaits: an integration whose provider has no
// source (GitHub deliveries stored before GitHub is collected) keeps its
// deliveries pending — the drain and the sweep leave them alone — and its
// backfill and reconciliation end without an error, recording why. Once
// the source is attached, the sweep drains the deliveries and a
// reconciliation queues the backfill that waited, which then runs.
func TestProviderWithoutSourceWaits(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		now := time.Now()
		gh := store.Key{IntegrationID: store.NewID(), WorkspaceID: h.key.WorkspaceID}
		if _, err := db.CreateIntegration(ctx, store.Integration{ID: gh.IntegrationID, WorkspaceID: gh.WorkspaceID,
			Provider: "github", OrgURL: "https://api.github.com", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		must(t, db.UpsertProject(ctx, store.Project{Key: gh, ProjectID: "R_1", Name: "acme/app"}))
		must(t, db.SetProjectSelected(ctx, gh, "R_1", true, now))
		delivery := store.InboxEvent{Key: gh, EventID: "d-1", EventType: "push", Payload: `{"repository":"R_1"}`,
			ReceivedAt: now.Add(-time.Hour)}
		if _, err := db.InsertInboxEvent(ctx, delivery); err != nil {
			t.Fatal(err)
		}
		client := h.queue.Client()
		// The drain ingest queues, and the sweep, complete and leave it pending.
		must(t, db.InTx(ctx, func(tx *store.Tx) error {
			return h.collector.EnqueueEvents(ctx, tx, []webhook.EventRef{{IntegrationID: gh.IntegrationID, EventID: "d-1"}})
		}))
		waitJobs(t, client, collect.EventArgs{}.Kind(), 1)
		sweep, err := client.Insert(ctx, collect.SweepArgs{}, nil)
		must(t, err)
		waitJob(t, client, sweep.Job.ID)
		if n := jobCount(t, client, collect.EventArgs{}.Kind()); n != 1 {
			t.Fatalf("the sweep queued a drain for a provider without a source: %d drain jobs", n)
		}
		if e, err := db.GetInboxEvent(ctx, gh.IntegrationID, "d-1"); err != nil || e.Status != "pending" {
			t.Fatalf("delivery %+v, %v: want it kept pending", e, err)
		}

		// Backfill and reconciliation end, saying why, and are not retried.
		want := "no collection for provider github in this version"
		must(t, h.collector.Backfill(ctx, collect.BackfillArgs{IntegrationID: gh.IntegrationID}))
		run, err := h.collector.Reconcile(ctx, gh.IntegrationID)
		if err != nil || run.Error != want {
			t.Fatalf("reconcile: %+v, %v; want the run recorded with %q", run, err, want)
		}
		runs, err := db.ListSyncRuns(ctx, gh, 10)
		must(t, err)
		if len(runs) != 2 || runs[0].Error != want || runs[1].Error != want {
			t.Fatalf("sync runs %+v: want a backfill and a reconcile, each with %q", runs, want)
		}
		src := &testSource{db: db, applied: make(chan string, 1)}
		ps, err := collect.Progress(ctx, db, gh, src.Resources())
		must(t, err)
		if len(ps) != 1 || ps[0].Failed == nil || ps[0].Failed.Message != want || !strings.Contains(ps[0].Failed.Hint, "upgrade") {
			t.Fatalf("progress %+v: want the backfill shown failed with %q and the fix", ps, want)
		}
		must(t, h.collector.EnqueueReconciles(ctx))
		if n := jobCount(t, client, collect.ReconcileArgs{}.Kind()); n != 1 { // the Azure DevOps integration's only
			t.Fatalf("%d reconcile jobs: want none for the provider without a source", n)
		}

		// With the source: the sweep drains the kept delivery, and a
		// reconciliation queues the backfill that waited.
		h.collector.AttachSource(src)
		sweep, err = client.Insert(ctx, collect.SweepArgs{}, nil)
		must(t, err)
		waitJob(t, client, sweep.Job.ID)
		select {
		case id := <-src.applied:
			if id != "d-1" {
				t.Fatalf("applied %q, want d-1", id)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the kept delivery was not applied once the source was attached")
		}
		h.waitProcessedIn(gh.IntegrationID, "d-1")
		if _, err := h.collector.Reconcile(ctx, gh.IntegrationID); err != nil {
			t.Fatal(err)
		}
		res, err := client.JobList(ctx, river.NewJobListParams().Kinds(collect.BackfillArgs{}.Kind()))
		must(t, err)
		var queued *collect.BackfillArgs
		for _, j := range res.Jobs {
			var a collect.BackfillArgs
			must(t, json.Unmarshal(j.EncodedArgs, &a))
			if a.IntegrationID == gh.IntegrationID && a.ProjectID == "R_1" {
				queued = &a
			}
		}
		if queued == nil {
			t.Fatal("the reconciliation did not queue the backfill that waited for the source")
		}
		waitProgress(t, db, gh, src.Resources())
	})
}

// waitProcessedIn waits until an integration's delivery has left "pending".
func (h *harness) waitProcessedIn(integrationID, eventID string) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, err := h.db.GetInboxEvent(context.Background(), integrationID, eventID)
		must(h.t, err)
		if e.Status == "processed" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("delivery %s is %s after 30s, want processed", eventID, e.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitProgress waits until the project's backfill finished with its
// resource collected.
func waitProgress(t *testing.T, db *store.DB, key store.Key, resources []collect.Resource) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ps, err := collect.Progress(context.Background(), db, key, resources)
		must(t, err)
		if len(ps) == 1 && ps[0].Finished != nil {
			if ps[0].Failed != nil || ps[0].ItemsDone != 1 || ps[0].Pages != 1 {
				t.Fatalf("finished backfill %+v: want one item on one page, no failure", ps[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill not finished after 30s: %+v", ps)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func jobCount(t *testing.T, client *river.Client[*sql.Tx], kind string) int {
	t.Helper()
	res, err := client.JobList(context.Background(), river.NewJobListParams().Kinds(kind).First(100))
	must(t, err)
	return len(res.Jobs)
}

// waitJobs waits until n jobs of kind exist and all have completed.
func waitJobs(t *testing.T, client *river.Client[*sql.Tx], kind string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := client.JobList(context.Background(), river.NewJobListParams().Kinds(kind).First(100))
		must(t, err)
		done := 0
		for _, j := range res.Jobs {
			if j.State == rivertype.JobStateCompleted {
				done++
			}
		}
		if len(res.Jobs) == n && done == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s jobs after 30s: %d, %d completed; want %d completed", kind, len(res.Jobs), done, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitJob waits until a job completed.
func waitJob(t *testing.T, client *river.Client[*sql.Tx], id int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := client.JobGet(context.Background(), id)
		must(t, err)
		if j.State == rivertype.JobStateCompleted {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s after 30s, want completed", id, j.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
