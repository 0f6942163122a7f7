-- Disconnect (Settings → Integrations → Azure DevOps → Disconnect): the
-- admin removes the service hooks and either deletes everything collected
-- (the integration row and, by cascade, its data) or keeps the data shown on
-- the dashboard. A kept integration is marked disconnected: its token is
-- cleared, nothing calls the provider, deliveries are refused, and Connect
-- again with the same organization resumes it.

-- +goose Up
ALTER TABLE integrations ADD COLUMN disconnected_at TIMESTAMP;

-- +goose Down
ALTER TABLE integrations DROP COLUMN disconnected_at;
