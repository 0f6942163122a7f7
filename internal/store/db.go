// Package store is the storage contract of PanDev Metrics: one set of SQL
// statements that runs unchanged on SQLite (embedded, the default) and on
// PostgreSQL (scale-out). Every provider row is keyed by (integration,
// provider id) and written by idempotent upsert; every read is scoped to one
// workspace. The conformance suite in storetest runs against both backends.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Dialect names the database engine behind a DB.
type Dialect string

// The two supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultSQLitePath is where the database lives when PANDEV_DB is unset.
const DefaultSQLitePath = "pandev.db"

// LocalPostgresURL is the PostgreSQL server of development machines and CI
// (trust auth on loopback), where tests and the bench make their databases.
const LocalPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DB is an open database: the queries plus the connection pool.
type DB struct {
	queries
	sqlDB   *sql.DB
	pgPool  *pgxpool.Pool // PostgreSQL only: used for LISTEN/NOTIFY by the job queue
	dialect Dialect
	path    string // SQLite only: the database file
	ckpt    *checkpointer
}

// Tx is a transaction with the same queries as DB. Jobs inserted through
// SQLTx commit or roll back together with the rows written here.
type Tx struct {
	queries
	tx *sql.Tx
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries holds every statement; DB and Tx embed it.
type queries struct {
	q       querier
	dialect Dialect
}

// ParseDSN tells which engine a PANDEV_DB value names and normalizes it:
// empty → ./pandev.db; postgres:// or postgresql:// → PostgreSQL; anything
// else is a SQLite file path (an optional "sqlite:" or "file:" prefix is
// accepted).
func ParseDSN(dsn string) (Dialect, string, error) {
	dsn = strings.TrimSpace(dsn)
	switch {
	case dsn == "":
		return SQLite, DefaultSQLitePath, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return "", "", fmt.Errorf("not a valid postgres:// URL: %v", err)
		}
		return Postgres, dsn, nil
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return "", "", fmt.Errorf("unsupported scheme %q: use a file path for SQLite or a postgres:// URL", scheme)
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return "", "", errors.New("empty SQLite file path")
	}
	return SQLite, path, nil
}

// Open connects to the database named by dsn (see ParseDSN). A SQLite file
// and its folder are created when missing. Open does not migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	dialect, target, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if dialect == Postgres {
		return openPostgres(ctx, target)
	}
	return openSQLite(ctx, target)
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	// The database holds sealed tokens and everyone's activity: only its
	// owner reads it. SQLite gives the -wal and -shm files the database
	// file's mode, so creating it 0600 covers them; an existing file made
	// before is tightened too.
	if !strings.HasPrefix(path, ":memory:") {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open database file: %w", err)
		}
		f.Close()
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("restrict database file: %w", err)
		}
	}
	// _txlock=immediate takes the write lock at BEGIN, so two transactions
	// never deadlock upgrading read locks; one connection, as River's SQLite
	// driver recommends, turns SQLITE_BUSY into orderly waiting.
	//
	// Checkpoints (copying the write-ahead log into the database file) run
	// on a connection of their own (see checkpointer), not inside whichever
	// commit crossed SQLite's default 1000 pages: on the one writer
	// connection that commit, and every request queued behind it, waited
	// for the copy. The writer still checkpoints itself past 8192 pages
	// (32 MB), so the log stays bounded if the checkpointer falls behind.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_time_format=sqlite&_txlock=immediate"
	sqlDB := sql.OpenDB(stmtCacheConnector{dsn: dsn + "&_pragma=wal_autocheckpoint(8192)&_pragma=journal_size_limit(67108864)", drv: &sqlite.Driver{}})
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetConnMaxIdleTime(0)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	ck, err := startCheckpointer(ctx, dsn)
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	return &DB{queries: queries{q: sqlDB, dialect: SQLite}, sqlDB: sqlDB, dialect: SQLite, path: path, ckpt: ck}, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse PostgreSQL URL: %w", redactErr(err, dsn))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", redactErr(err, dsn))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, redactErr(err, dsn))
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	return &DB{queries: queries{q: sqlDB, dialect: Postgres}, sqlDB: sqlDB, pgPool: pool, dialect: Postgres}, nil
}

// redactErr keeps a password in a connection URL out of error messages.
func redactErr(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Path is the SQLite file ("" on PostgreSQL).
func (db *DB) Path() string { return db.path }

// SQL exposes the pool for the job queue driver.
func (db *DB) SQL() *sql.DB { return db.sqlDB }

// PgxPool is the pgx pool on PostgreSQL, nil on SQLite.
func (db *DB) PgxPool() *pgxpool.Pool { return db.pgPool }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sqlDB.PingContext(ctx) }

// Close closes the pool.
func (db *DB) Close() error {
	if db.ckpt != nil {
		db.ckpt.stop()
	}
	err := db.sqlDB.Close()
	if db.pgPool != nil {
		db.pgPool.Close()
	}
	return err
}

// InTx runs fn in a transaction, committing when it returns nil. On SQLite
// the pool has one connection: fn must use tx, never db, or it waits forever.
// On PostgreSQL a transaction that lost a deadlock (or a serialization
// conflict) is run again, up to three times: fn must be safe to repeat,
// which every upsert of this package is.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.inTxOnce(ctx, fn)
		if attempt >= 4 || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{queries: queries{q: sqlTx, dialect: db.dialect}, tx: sqlTx}); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// retryable reports a PostgreSQL deadlock or serialization failure: the
// transaction was rolled back and may simply run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// SQLTx is the underlying transaction, for inserting jobs atomically.
func (tx *Tx) SQLTx() *sql.Tx { return tx.tx }

// NewID returns a random 128-bit identifier in hex, for internal rows.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mapErr turns driver errors into our error kinds at the edge.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return delivery.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return (&delivery.Error{Kind: delivery.KindConflict, Message: "already exists"}).Wrap(err)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return (&delivery.Error{Kind: delivery.KindConflict, Message: "already exists"}).Wrap(err)
		}
	}
	return err
}

// Unavailable reports whether err says the database is not answering
// (restarting, shut down, unreachable) rather than refusing a statement:
// the request may succeed if tried again shortly.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: shut down, crash
		// shut down, cannot connect now (starting up).
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return pgconn.SafeToRetry(err)
}

// notFound names what was not found.
func notFound(what string) error {
	return delivery.Errorf(delivery.KindNotFound, "%s not found", what)
}

// utc normalizes times before writing: PostgreSQL TIMESTAMP keeps the wall
// clock of whatever zone it is given.
func utc(t time.Time) time.Time { return t.UTC() }

// nullTime converts an optional time for writing.
func nullTime(t *time.Time) sql.NullTime {
	if t == nil || t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}

// timePtr converts a scanned optional time.
func timePtr(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time.UTC()
	return &t
}

// collect scans every row with scan, closing rows; err is the query's error.
func collect[T any](rows *sql.Rows, err error, scan func(row rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// flexTime scans a time that SQLite returns as text: a computed column
// (MIN, COALESCE) loses the TIMESTAMP type that makes the driver parse it.
type flexTime struct {
	t     time.Time
	valid bool
}

var sqliteTimeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

// Scan implements sql.Scanner.
func (f *flexTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*f = flexTime{}
		return nil
	case time.Time:
		*f = flexTime{t: x.UTC(), valid: true}
		return nil
	case []byte:
		return f.parse(string(x))
	case string:
		return f.parse(x)
	}
	return fmt.Errorf("cannot read %T as a time", v)
}

func (f *flexTime) parse(s string) error {
	for _, layout := range sqliteTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			*f = flexTime{t: t.UTC(), valid: true}
			return nil
		}
	}
	return fmt.Errorf("cannot read %q as a time", s)
}

func (f flexTime) ptr() *time.Time {
	if !f.valid {
		return nil
	}
	t := f.t
	return &t
}
