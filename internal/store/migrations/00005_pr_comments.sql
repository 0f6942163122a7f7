-- The one quality comment PanDev keeps on each pull request: where it is
-- (thread and comment ids, found again after a crash by a thread property),
-- what was posted last (a hash, so an unchanged comment is not re-posted),
-- when (at most one update a minute), why not when it could not be, and a
-- lease so two jobs never post for the same PR at once.

-- +goose Up
-- The integration's own account: its comments are the bot's, not review.
ALTER TABLE integrations ADD COLUMN account_id TEXT NOT NULL DEFAULT '';

CREATE TABLE pr_comment_state (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    pr_id          BIGINT NOT NULL,
    workspace_id   TEXT NOT NULL,
    thread_id      BIGINT NOT NULL DEFAULT 0,
    comment_id     BIGINT NOT NULL DEFAULT 0,
    content_hash   TEXT NOT NULL DEFAULT '',
    posted_at      TIMESTAMP,
    updates        INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT '',
    error          TEXT NOT NULL DEFAULT '',
    lease_until    TIMESTAMP,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, pr_id)
);
CREATE INDEX pr_comment_state_status ON pr_comment_state (integration_id, status);

-- +goose Down
DROP TABLE pr_comment_state;
ALTER TABLE integrations DROP COLUMN account_id;
