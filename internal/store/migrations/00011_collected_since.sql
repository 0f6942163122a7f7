-- Coverage (METRICS.md metrics-v2): each selected project has a
-- collected-since instant, the start of its first backfill (selection time
-- minus the backfill days). Figures count from it on and report which share
-- of a window it covers. It only ever moves earlier: a later backfill of the
-- same project (re-run, reselection) does not make older data unknown.
-- Existing projects get it from their backfill checkpoint at their next
-- reconcile; until then the dashboard takes the integration's creation
-- minus the backfill days, as before.
-- +goose Up
ALTER TABLE provider_projects ADD COLUMN collected_since TIMESTAMP;

-- +goose Down
ALTER TABLE provider_projects DROP COLUMN collected_since;
