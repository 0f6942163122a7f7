-- Processing drains each integration's pending deliveries oldest first; a
-- partial index keeps that lookup small however large the inbox grows.
-- +goose Up
CREATE INDEX webhook_inbox_pending ON webhook_inbox (integration_id, received_at, event_id) WHERE status = 'pending';

-- +goose Down
DROP INDEX webhook_inbox_pending;
