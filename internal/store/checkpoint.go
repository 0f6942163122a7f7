package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointInterval is how often the write-ahead log is copied back into
// a SQLite database file. Between two runs the log grows by what was
// written meanwhile (a few megabytes at full ingest speed).
const checkpointInterval = 250 * time.Millisecond

// restartFrames is the log size (in pages) above which a checkpoint also
// starts the log over (RESTART), waiting briefly for the writer: under
// writes without pause, passive checkpoints copy but the log never gets
// back to its start, so it would grow without bound.
var restartFrames = 4096

// checkpointer runs SQLite's WAL checkpoints on a connection of its own.
// A PASSIVE checkpoint copies what no reader still needs without taking
// any lock the writer waits for, so the writer never pauses for it; once a
// checkpoint has copied the whole log, the next write starts the log over,
// which keeps the file small. On stop a TRUNCATE checkpoint empties the log.
type checkpointer struct {
	db     *sql.DB
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func startCheckpointer(ctx context.Context, dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, cancel: cancel, done: make(chan struct{})}
	go c.run(runCtx)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.checkpoint(ctx)
		}
	}
}

// checkpoint copies the log; errors (a busy reader, a closed file in a
// test) only delay the copy to the next tick, and the log keeps every
// write meanwhile.
func (c *checkpointer) checkpoint(ctx context.Context) {
	var busy, logFrames, copied int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil {
		return
	}
	if logFrames > restartFrames {
		_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(RESTART)")
	}
}

func (c *checkpointer) stop() {
	c.once.Do(func() {
		c.cancel()
		<-c.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		c.db.Close()
	})
}
