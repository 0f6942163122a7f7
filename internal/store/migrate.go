package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the PostgreSQL advisory lock key held while migrating,
// so replicas starting together migrate one at a time ("pandev" in ASCII).
const migrationLockID = 0x70616e646576

// Migrate applies our schema (goose) and the job queue's schema (River) and
// returns once both are current. On PostgreSQL one advisory lock covers both,
// so concurrent replicas wait for each other instead of racing.
func (db *DB) Migrate(ctx context.Context, logger *slog.Logger) error {
	if db.dialect == Postgres {
		conn, err := db.sqlDB.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
			return fmt.Errorf("migrate: take lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockID) //nolint:errcheck // released with the session anyway
	}
	p, err := db.gooseProvider()
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	for _, r := range results {
		logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	m, err := rivermigrate.New(db.RiverDriver(), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	return nil
}

// MigrateSchemaTo moves our schema (not River's) up or down to version;
// tests use it to check that an upgrade keeps existing data.
func (db *DB) MigrateSchemaTo(ctx context.Context, version int64) error {
	p, err := db.gooseProvider()
	if err != nil {
		return err
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	if version < cur {
		_, err = p.DownTo(ctx, version)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	return err
}

// MigrationsCurrent reports whether every migration, ours and River's, is
// applied; /readyz answers 503 until it does.
func (db *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	p, err := db.gooseProvider()
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil || pending {
		return false, err
	}
	m, err := rivermigrate.New(db.RiverDriver(), nil)
	if err != nil {
		return false, err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return false, err
	}
	return res.OK, nil
}

func (db *DB) gooseProvider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	return goose.NewProvider(dialect, db.sqlDB, sub, goose.WithDisableGlobalRegistry(true))
}

// RiverDriver is the job queue's driver for this database. Both engines go
// through database/sql, so a job is inserted with the same *sql.Tx as the
// row that caused it; on PostgreSQL a pgx listener adds LISTEN/NOTIFY so
// replicas hear about new jobs and leadership changes without polling.
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if db.dialect == Postgres {
		return riverdatabasesql.NewWithPgxListener(db.sqlDB, db.pgPool)
	}
	return riversqlite.New(db.sqlDB)
}
