-- One row per backfill or reconciliation run of an integration: what it
-- fetched, how many of those items were missing or stale before (webhook
-- deliveries it recovered), how long it took and how it ended. The status
-- page shows the latest runs; "last sync" stays on integrations.

-- +goose Up
CREATE TABLE sync_runs (
    id              TEXT PRIMARY KEY,
    integration_id  TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    workspace_id    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('backfill', 'reconcile')),
    project_id      TEXT NOT NULL DEFAULT '',
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP NOT NULL,
    duration_ms     BIGINT NOT NULL DEFAULT 0,
    items_fetched   BIGINT NOT NULL DEFAULT 0,
    items_recovered BIGINT NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_integration ON sync_runs (integration_id, started_at);

-- +goose Down
DROP TABLE sync_runs;
