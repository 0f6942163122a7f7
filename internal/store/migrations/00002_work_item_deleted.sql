-- A work item deleted in Azure DevOps keeps its row (links and history stay
-- explainable) but is flagged, so metrics and lists can leave it out.

-- +goose Up
ALTER TABLE work_items ADD COLUMN is_deleted BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE work_items DROP COLUMN is_deleted;
