package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openTestSQLite(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// cacheLen reads how many statements the one connection holds.
func cacheLen(t *testing.T, db *DB) int {
	t.Helper()
	conn, err := db.sqlDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := -1
	if err := conn.Raw(func(dc any) error {
		n = dc.(*cachingConn).lru.Len()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestSQLite(t)
	sq := db.sqlDB
	// A script of several statements runs as before (not cached).
	if _, err := sq.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	base := cacheLen(t, db)
	for i := range 50 {
		if _, err := sq.ExecContext(ctx, `INSERT INTO t (id, v) VALUES ($1, $2)`, i, "v"); err != nil {
			t.Fatal(err)
		}
	}
	if got := cacheLen(t, db) - base; got != 1 {
		t.Fatalf("50 runs of one INSERT cached %d statements, want 1", got)
	}

	// The same query while its rows are open (possible within one
	// transaction, which holds the connection): the inner one must not
	// reset the outer one's rows.
	const q = `SELECT id FROM t WHERE id < $1 ORDER BY id`
	tx, err := sq.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := tx.QueryContext(ctx, q, 5)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, id)
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+q+`)`, 3).Scan(&n); err != nil || n != 3 {
			t.Fatalf("nested count %d, %v", n, err)
		}
		inner, err := tx.QueryContext(ctx, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		cnt := 0
		for inner.Next() {
			cnt++
		}
		inner.Close()
		if cnt != 2 {
			t.Fatalf("inner query saw %d rows, want 2", cnt)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5 || seen[4] != 4 {
		t.Fatalf("outer rows %v, want 0..4", seen)
	}

	// Errors are the driver's own.
	if _, err := sq.ExecContext(ctx, `INSERT INTO missing (id) VALUES (1)`); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Fatalf("error %v, want the driver's no such table", err)
	}

	// The cache is bounded.
	old := stmtCacheSize
	stmtCacheSize = 8
	defer func() { stmtCacheSize = old }()
	for i := range 40 {
		var n int
		if err := sq.QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE id >= `+strings.Repeat("0+", i)+`0`).Scan(&n); err != nil || n != 50 {
			t.Fatalf("count %d, %v", n, err)
		}
	}
	if got := cacheLen(t, db); got > 8 {
		t.Fatalf("cache holds %d statements, bound 8", got)
	}
}

func TestCheckpointerKeepsTheLogSmall(t *testing.T) {
	ctx := context.Background()
	db, path := openTestSQLite(t)
	db.ckpt.cancel() // no ticks: the test runs the checkpoints itself
	<-db.ckpt.done
	if _, err := db.sqlDB.ExecContext(ctx, `CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 16<<10)
	write := func(n int) {
		for i := range n {
			if _, err := db.sqlDB.ExecContext(ctx, `INSERT OR REPLACE INTO b (id, v) VALUES ($1, $2)`, i%64, blob); err != nil {
				t.Fatal(err)
			}
		}
	}
	logFrames := func() int {
		var busy, frames, copied int
		if err := db.ckpt.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
			t.Fatal(err)
		}
		return frames
	}
	// The writer does not checkpoint below 8192 pages: the log only grows.
	write(1000) // about 5,000 pages
	if f := logFrames(); f < 4096 {
		t.Fatalf("log holds %d pages after 16 MB of writes: the writer checkpointed by itself", f)
	}
	// One checkpoint past the threshold starts the log over: the next
	// write lands at its beginning.
	db.ckpt.checkpoint(ctx)
	write(1)
	if f := logFrames(); f > 64 {
		t.Fatalf("after a checkpoint the log holds %d pages, want it started over", f)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Fatalf("after Close the log holds %d bytes, want it emptied", fi.Size())
	}
}

// TestSQLiteFilesOwnerOnly: the database holds sealed tokens and every
// workspace's activity; its file and its write-ahead log are the owner's
// alone (0600), also when the file existed with a wider mode before.
func TestSQLiteFilesOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	wide := filepath.Join(dir, "wide.db")
	if err := os.WriteFile(wide, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "new.db"), wide} {
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.sqlDB.ExecContext(context.Background(), "CREATE TABLE t (x INTEGER)"); err != nil { // a write: the log exists
			t.Fatal(err)
		}
		for _, f := range []string{path, path + "-wal"} {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if m := st.Mode().Perm(); m != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(f), m)
			}
		}
		db.Close()
	}
}
