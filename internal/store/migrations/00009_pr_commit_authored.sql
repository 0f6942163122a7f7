-- A pull request starts at its earliest commit (METRICS.md): the PR commits
-- API reports every commit with its author date, also those authored before
-- the backfill window, whose rows the commit walk never stores. The date
-- is kept beside the PR's commit so the figure does not depend on it.
-- +goose Up
ALTER TABLE pr_commits ADD COLUMN authored_at TIMESTAMP;

-- +goose Down
ALTER TABLE pr_commits DROP COLUMN authored_at;
