package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(NewCase("a transaction that loses a deadlock runs again", testDeadlockRetry))
}

// testDeadlockRetry makes two transactions lock two rows in opposite orders.
// On PostgreSQL one of them loses the deadlock and is run again; both must
// succeed. (SQLite has one writer and cannot deadlock: both run in turn.)
func testDeadlockRetry(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	for _, id := range []string{"a", "b"} {
		must(t, db.UpsertProject(ctx, store.Project{Key: f.key, ProjectID: id, Name: id}))
	}
	var attempts atomic.Int32
	var both sync.WaitGroup
	both.Add(2)
	run := func(first, second string) error {
		waited := false
		return db.InTx(ctx, func(tx *store.Tx) error {
			attempts.Add(1)
			if err := tx.SetProjectSelected(ctx, f.key, first, true, t0); err != nil {
				return err
			}
			if !waited && db.Dialect() == store.Postgres { // only the first attempt meets the other
				waited = true
				both.Done()
				both.Wait()
			}
			return tx.SetProjectSelected(ctx, f.key, second, true, t0)
		})
	}
	if db.Dialect() == store.SQLite {
		both.Add(-2)
	}
	errs := make(chan error, 2)
	go func() { errs <- run("a", "b") }()
	go func() { errs <- run("b", "a") }()
	for range 2 {
		select {
		case err := <-errs:
			must(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("transactions did not finish")
		}
	}
	if db.Dialect() == store.Postgres && attempts.Load() < 3 {
		t.Fatalf("%d attempts: the deadlock loser must have run again", attempts.Load())
	}
}
