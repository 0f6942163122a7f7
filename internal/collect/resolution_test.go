package collect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestIncidentResolvedByWebhook: Microsoft's workitem.updated sample
// carries the state change (System.State old → new, System.ChangedDate) and
// neither ResolvedDate nor ClosedDate. An incident moved to Resolved by such
// an update is resolved at that update's ChangedDate without waiting for a
// reconciliation; a later update that leaves it resolved keeps the time,
// Closed adds the close time, and reopening clears both (METRICS.md,
// Incident: the first transition into a Resolved/Closed state category).
func TestIncidentResolvedByWebhook(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		_, project := sampleProject(t, readSample(t, "workitem.updated.json"))
		h.selectProject(project)
		deliver := func(rev int, from, to string, changed time.Time) {
			t.Helper()
			var ev map[string]any
			if err := json.Unmarshal(readSample(t, "workitem.updated.json"), &ev); err != nil {
				t.Fatal(err)
			}
			ev["id"] = fmt.Sprintf("27646e0e-0000-0000-0000-%012d", rev)
			res := ev["resource"].(map[string]any)
			res["rev"] = rev
			fields := res["fields"].(map[string]any)
			delete(fields, "System.State")
			if from != to {
				fields["System.State"] = map[string]any{"oldValue": from, "newValue": to}
			}
			fields["System.ChangedDate"] = map[string]any{"newValue": changed.Format(time.RFC3339Nano)}
			revision := res["revision"].(map[string]any)
			revision["rev"] = rev
			rf := revision["fields"].(map[string]any)
			rf["System.State"], rf["System.ChangedDate"], rf["System.Tags"] = to, changed.Format(time.RFC3339Nano), "incident"
			body, _ := json.Marshal(ev)
			if code, answer := h.deliver(body); code != 200 {
				t.Fatalf("delivery: %d %s", code, answer)
			}
			if e := h.waitProcessed(ev["id"].(string)); e.Status != "processed" {
				t.Fatalf("event rev %d: %+v", rev, e)
			}
		}
		item := func() store.WorkItem {
			t.Helper()
			ws, err := db.ListWorkItems(context.Background(), store.Filter{WorkspaceID: h.key.WorkspaceID, Limit: 10})
			if err != nil || len(ws) != 1 {
				t.Fatalf("work items: %d %v", len(ws), err)
			}
			return ws[0]
		}
		t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		resolved, closed := t0.Add(2*time.Hour), t0.Add(5*time.Hour)
		deliver(2, "New", "Active", t0)
		if w := item(); w.ResolvedAt != nil || w.ClosedAt != nil {
			t.Fatalf("active item resolved: %+v", w)
		}
		deliver(3, "Active", "Resolved", resolved)
		if w := item(); w.ResolvedAt == nil || !w.ResolvedAt.Equal(resolved) {
			t.Fatalf("resolved at %v, want the update's ChangedDate %v", w.ResolvedAt, resolved)
		}
		deliver(4, "Resolved", "Resolved", resolved.Add(time.Hour)) // an edit that leaves it resolved
		if w := item(); w.ResolvedAt == nil || !w.ResolvedAt.Equal(resolved) {
			t.Fatalf("a later edit moved the resolution to %v", w.ResolvedAt)
		}
		deliver(5, "Resolved", "Closed", closed)
		if w := item(); w.ResolvedAt == nil || !w.ResolvedAt.Equal(resolved) || w.ClosedAt == nil || !w.ClosedAt.Equal(closed) {
			t.Fatalf("closed: resolved %v closed %v", w.ResolvedAt, w.ClosedAt)
		}
		deliver(6, "Closed", "Active", closed.Add(time.Hour)) // reopened
		if w := item(); w.ResolvedAt != nil || w.ClosedAt != nil {
			t.Fatalf("reopened item still resolved: %v %v", w.ResolvedAt, w.ClosedAt)
		}
	})
}

// TestBackfillResolvesFromUpdates: a third of the simulator's work items
// carry no ResolvedDate or ClosedDate (their type's process sets none). The
// backfill reads the updates of exactly the incidents among them that are
// resolved or closed,
// stores the time of the state change as the resolution (compareWithTruth
// replays the truth's revisions), and a reconcile that finds them at the
// same revision does not read their updates again.
func TestBackfillResolvesFromUpdates(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		e := newSimEnv(t, db, sim, "acme", time.Now)
		ctx := context.Background()
		if err := e.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		from := e.window()
		e.compareWithTruth(from)
		// Items resolved or closed whose fields lack the date: ids divisible
		// by 3 (the simulator's rule). Those changed in the window must have
		// been read; nothing else may be (items linked from the window's
		// commits and PRs are read too, whatever their change date).
		dateless := map[string]bool{}
		for _, w := range e.truth("work_items", time.Time{}) {
			id, state := fmt.Sprint(w["id"]), fmt.Sprint(w["state"])
			if n, _ := strconv.Atoi(id); n%3 == 0 && (state == "Resolved" || state == "Closed") &&
				incident(fmt.Sprint(w["type"]), fmt.Sprint(w["tags"])) {
				dateless[id] = true
			}
		}
		read := e.calls.updated
		for _, w := range e.truth("work_items", from) {
			if id := fmt.Sprint(w["id"]); dateless[id] && read[id] == 0 {
				t.Errorf("item %s is %s without a date, its updates were not read", id, w["state"])
			}
		}
		for id, n := range read {
			if !dateless[id] {
				t.Errorf("the updates of item %s were read though it is no incident or its fields carry the dates", id)
			}
			if n > 1 {
				t.Logf("item %s: updates read %d times", id, n)
			}
		}
		if len(read) == 0 {
			t.Fatal("no incident without dates was read: the scenario tests nothing")
		}
		t.Logf("%d update lists read for %d items", e.calls.updates.Load(), len(read))
		e.calls.updates.Store(0)
		if _, err := e.c.Reconcile(ctx, e.key.IntegrationID); err != nil {
			t.Fatal(err)
		}
		if n := e.calls.updates.Load(); n != 0 {
			t.Errorf("a reconcile read %d update lists of items stored at the same revision", n)
		}
		e.compareWithTruth(from)
	})
}
