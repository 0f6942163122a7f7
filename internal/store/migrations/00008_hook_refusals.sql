-- A subscription Azure DevOps refused (400, 401 or 403: an event the
-- server lacks, a publisher the token may not read) is recorded with
-- status 'unavailable', the reason, and the id 'refused:<event type>', so
-- the status screen can say why and the health check does not re-create
-- it until the token or its scopes change.
-- +goose Up
ALTER TABLE hook_subscriptions ADD COLUMN reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE hook_subscriptions DROP COLUMN reason;
