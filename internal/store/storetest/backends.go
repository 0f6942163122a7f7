// Package storetest opens real databases for tests and holds the storage
// conformance suite that SQLite and PostgreSQL must both pass.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for creating test databases

	"github.com/pandev-metrics/pandev/internal/store"
)

// PostgresURLEnv names the server tests create throwaway databases on.
const PostgresURLEnv = "PANDEV_TEST_POSTGRES_URL"

// RequirePostgresEnv, when "1", turns an unreachable PostgreSQL into a test
// failure instead of a skip (CI sets it).
const RequirePostgresEnv = "PANDEV_TEST_POSTGRES"

// DefaultPostgresURL is the local server of the development machines.
const DefaultPostgresURL = store.LocalPostgresURL

// Backend opens a fresh, migrated database of one engine for a test.
type Backend struct {
	Name string
	Open func(t testing.TB) *store.DB
}

// Backends returns SQLite and PostgreSQL. PostgreSQL is skipped with a clear
// message when no server answers, unless PANDEV_TEST_POSTGRES=1.
func Backends() []Backend {
	return []Backend{{Name: "sqlite", Open: OpenSQLite}, {Name: "postgres", Open: OpenPostgres}}
}

// ForEach runs fn as a subtest on each backend with a fresh database.
func ForEach(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t)) })
	}
}

// OpenSQLite returns a migrated SQLite database in a temporary folder.
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	return openMigrated(t, filepath.Join(t.TempDir(), "pandev.db"))
}

// OpenPostgres returns a migrated, empty PostgreSQL database created for
// this test and dropped after it.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	dsn := NewPostgresDatabase(t)
	return openMigrated(t, dsn)
}

func openMigrated(t testing.TB, dsn string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

var (
	pgOnce   sync.Once
	pgAdmin  *sql.DB
	pgErr    error
	pgBase   *url.URL
	pgDBSeq  int
	pgSeqMux sync.Mutex
)

// NewPostgresDatabase creates an empty database for the test and returns
// its URL; it is dropped when the test ends.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	pgOnce.Do(connectAdmin)
	if pgErr != nil {
		if os.Getenv(RequirePostgresEnv) == "1" {
			t.Fatalf("PostgreSQL required (%s=1) but not reachable: %v", RequirePostgresEnv, pgErr)
		}
		t.Skipf("PostgreSQL not reachable (%v): start it or set %s; skipping the PostgreSQL case", pgErr, PostgresURLEnv)
	}
	pgSeqMux.Lock()
	pgDBSeq++
	name := fmt.Sprintf("pandev_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, pgDBSeq)
	pgSeqMux.Unlock()
	ctx := context.Background()
	if _, err := pgAdmin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// WITH (FORCE) ends connections a test left open (PostgreSQL 13+).
		if _, err := pgAdmin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u := *pgBase
	u.Path = "/" + name
	return u.String()
}

func connectAdmin() {
	raw := os.Getenv(PostgresURLEnv)
	if raw == "" {
		raw = DefaultPostgresURL
	}
	pgBase, pgErr = url.Parse(raw)
	if pgErr != nil {
		return
	}
	if !strings.Contains(pgBase.RawQuery, "sslmode") {
		q := pgBase.Query()
		q.Set("sslmode", "disable")
		pgBase.RawQuery = q.Encode()
	}
	pgAdmin, pgErr = sql.Open("pgx", pgBase.String())
	if pgErr != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pgErr = pgAdmin.PingContext(ctx)
}
