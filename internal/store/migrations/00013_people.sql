-- People and tokens (issue #16, docs/adr/0014-roles-members-tokens.md).
--   * users.operator: the instance operator sees what every workspace shares
--     (the job queue at /admin/jobs/); a workspace admin is not one.
--   * users.disabled_at: a disabled user cannot sign in, and neither its
--     sessions nor its API tokens authenticate.
--   * users.last_login_at: shown on the Members screen.
--   * api_tokens.expires_at: NULL only for tokens made before this
--     migration (they keep working until revoked); new ones always expire.
--   * api_tokens.scope: read (GET only) or admin (what the user's role
--     allows, the behaviour of every token made before this migration).
-- Existing data is kept: nobody is disabled, no token changes meaning. The
-- operator flag goes to the oldest admin, so an upgraded install still has
-- someone who sees the job queue.
-- +goose Up
ALTER TABLE users ADD COLUMN operator BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMP;
UPDATE users SET operator = TRUE WHERE id = (SELECT id FROM users WHERE role = 'admin' ORDER BY created_at, id LIMIT 1);
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin' CHECK (scope IN ('read', 'admin'));

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN scope;
ALTER TABLE api_tokens DROP COLUMN expires_at;
ALTER TABLE users DROP COLUMN last_login_at;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN operator;
