-- What the integration screen shows: the outcome of the last token check
-- (per scope), the account the token belongs to, a connection error with
-- its hint, the last successful sync; and the service-hook subscriptions
-- PanDev registered, per project, with their last known state.

-- +goose Up
ALTER TABLE integrations ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN scopes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE integrations ADD COLUMN error_message TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN error_hint TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN last_sync_at TIMESTAMP;

CREATE TABLE hook_subscriptions (
    integration_id  TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    workspace_id    TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'enabled',
    checked_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, subscription_id)
);
CREATE INDEX hook_subscriptions_project ON hook_subscriptions (integration_id, project_id);

-- +goose Down
DROP TABLE hook_subscriptions;
ALTER TABLE integrations DROP COLUMN last_sync_at;
ALTER TABLE integrations DROP COLUMN error_hint;
ALTER TABLE integrations DROP COLUMN error_message;
ALTER TABLE integrations DROP COLUMN scopes;
ALTER TABLE integrations DROP COLUMN account;
