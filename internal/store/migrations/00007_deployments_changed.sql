-- The dashboard's data version asks, on every request, whether any
-- deployment was stored or changed since it last read: the latest
-- changed_at through this index answers in one index lookup, where
-- counting a year's deployments scanned a hundred thousand entries.
-- +goose Up
ALTER TABLE deployments ADD COLUMN changed_at TIMESTAMP;
CREATE INDEX deployments_changed ON deployments (workspace_id, changed_at);

-- +goose Down
DROP INDEX deployments_changed;
ALTER TABLE deployments DROP COLUMN changed_at;
