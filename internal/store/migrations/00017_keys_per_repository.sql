-- Keys per repository (issue #18, docs/adr/0016-providers-seam.md step 1).
-- GitHub numbers pull requests and issues per repository: two repositories
-- of one integration each have a PR #1 and an issue #1. So
--   * a pull request and its children (reviewers, commits, comments, work
--     item refs, PanDev's comment state) are keyed (integration_id,
--     repo_id, pr_id);
--   * a work item and its links are keyed (integration_id, container,
--     work_item_id): container is '' for Azure DevOps (ids are unique per
--     collection) and the repository for a GitHub issue; a PR's work item
--     ref names the container too;
--   * a work item's link to a pull request targets "<repo_id>:<pr_id>"
--     (it was "<pr_id>"), like a commit link's "<repo_id>:<sha>".
-- Azure DevOps data keeps its values: repo_id comes from the PR's row (Azure
-- PR ids are unique per collection), container is ''. A PR link whose PR is
-- not stored keeps its old target: its repository is unknown here; the
-- artifact link is stored again in the new form when the work item is
-- collected again.
--
-- Neither engine alters a primary key in place, so each table is rebuilt:
-- new table, copy, drop the old ones (children before their parent, so that
-- SQLite's implicit DELETE of a dropped parent cascades into nothing),
-- rename. SQLite rewrites the children's REFERENCES on the rename; on
-- PostgreSQL the constraints keep the names they got under the _new table
-- name (nothing refers to them by name).

-- +goose Up
CREATE TABLE pull_requests_new (
    integration_id  TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    repo_id         TEXT NOT NULL,
    pr_id           BIGINT NOT NULL,
    workspace_id    TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    is_draft        BOOLEAN NOT NULL DEFAULT FALSE,
    author_id       TEXT NOT NULL DEFAULT '',
    author_name     TEXT NOT NULL DEFAULT '',
    source_ref      TEXT NOT NULL DEFAULT '',
    target_ref      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    published_at    TIMESTAMP,
    closed_at       TIMESTAMP,
    merge_commit    TEXT NOT NULL DEFAULT '',
    provider_updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, repo_id, pr_id)
);
INSERT INTO pull_requests_new (integration_id, repo_id, pr_id, workspace_id, project_id, title, description, status,
        is_draft, author_id, author_name, source_ref, target_ref, created_at, published_at, closed_at, merge_commit,
        provider_updated_at)
    SELECT integration_id, repo_id, pr_id, workspace_id, project_id, title, description, status,
        is_draft, author_id, author_name, source_ref, target_ref, created_at, published_at, closed_at, merge_commit,
        provider_updated_at
    FROM pull_requests;

CREATE TABLE pr_reviewers_new (
    integration_id TEXT NOT NULL,
    repo_id        TEXT NOT NULL,
    pr_id          BIGINT NOT NULL,
    reviewer_id    TEXT NOT NULL,
    display_name   TEXT NOT NULL DEFAULT '',
    vote           INTEGER NOT NULL DEFAULT 0,
    voted_at       TIMESTAMP,
    is_required    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (integration_id, repo_id, pr_id, reviewer_id),
    FOREIGN KEY (integration_id, repo_id, pr_id) REFERENCES pull_requests_new (integration_id, repo_id, pr_id) ON DELETE CASCADE
);
INSERT INTO pr_reviewers_new (integration_id, repo_id, pr_id, reviewer_id, display_name, vote, voted_at, is_required)
    SELECT c.integration_id, p.repo_id, c.pr_id, c.reviewer_id, c.display_name, c.vote, c.voted_at, c.is_required
    FROM pr_reviewers c JOIN pull_requests p ON p.integration_id = c.integration_id AND p.pr_id = c.pr_id;

CREATE TABLE pr_commits_new (
    integration_id TEXT NOT NULL,
    repo_id        TEXT NOT NULL,
    pr_id          BIGINT NOT NULL,
    sha            TEXT NOT NULL,
    authored_at    TIMESTAMP,
    PRIMARY KEY (integration_id, repo_id, pr_id, sha),
    FOREIGN KEY (integration_id, repo_id, pr_id) REFERENCES pull_requests_new (integration_id, repo_id, pr_id) ON DELETE CASCADE
);
INSERT INTO pr_commits_new (integration_id, repo_id, pr_id, sha, authored_at)
    SELECT c.integration_id, p.repo_id, c.pr_id, c.sha, c.authored_at
    FROM pr_commits c JOIN pull_requests p ON p.integration_id = c.integration_id AND p.pr_id = c.pr_id;

CREATE TABLE pr_comments_new (
    integration_id TEXT NOT NULL,
    repo_id        TEXT NOT NULL,
    pr_id          BIGINT NOT NULL,
    thread_id      BIGINT NOT NULL,
    comment_id     BIGINT NOT NULL,
    author_id      TEXT NOT NULL DEFAULT '',
    author_name    TEXT NOT NULL DEFAULT '',
    comment_type   TEXT NOT NULL DEFAULT '',
    is_system      BOOLEAN NOT NULL DEFAULT FALSE,
    is_deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    published_at   TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, repo_id, pr_id, thread_id, comment_id),
    FOREIGN KEY (integration_id, repo_id, pr_id) REFERENCES pull_requests_new (integration_id, repo_id, pr_id) ON DELETE CASCADE
);
INSERT INTO pr_comments_new (integration_id, repo_id, pr_id, thread_id, comment_id, author_id, author_name, comment_type,
        is_system, is_deleted, published_at, updated_at)
    SELECT c.integration_id, p.repo_id, c.pr_id, c.thread_id, c.comment_id, c.author_id, c.author_name, c.comment_type,
        c.is_system, c.is_deleted, c.published_at, c.updated_at
    FROM pr_comments c JOIN pull_requests p ON p.integration_id = c.integration_id AND p.pr_id = c.pr_id;

-- container is the referenced work item's container (not the PR's).
CREATE TABLE pr_work_items_new (
    integration_id TEXT NOT NULL,
    repo_id        TEXT NOT NULL,
    pr_id          BIGINT NOT NULL,
    container TEXT NOT NULL DEFAULT '',
    work_item_id   BIGINT NOT NULL,
    PRIMARY KEY (integration_id, repo_id, pr_id, container, work_item_id),
    FOREIGN KEY (integration_id, repo_id, pr_id) REFERENCES pull_requests_new (integration_id, repo_id, pr_id) ON DELETE CASCADE
);
INSERT INTO pr_work_items_new (integration_id, repo_id, pr_id, container, work_item_id)
    SELECT c.integration_id, p.repo_id, c.pr_id, '', c.work_item_id
    FROM pr_work_items c JOIN pull_requests p ON p.integration_id = c.integration_id AND p.pr_id = c.pr_id;

-- A comment state is written for a stored PR; one whose PR is gone keeps
-- repo_id '' (nothing reads it: the job reads the PR first).
CREATE TABLE pr_comment_state_new (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    repo_id        TEXT NOT NULL,
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
    PRIMARY KEY (integration_id, repo_id, pr_id)
);
INSERT INTO pr_comment_state_new (integration_id, repo_id, pr_id, workspace_id, thread_id, comment_id, content_hash,
        posted_at, updates, status, error, lease_until, updated_at)
    SELECT s.integration_id, COALESCE(p.repo_id, ''), s.pr_id, s.workspace_id, s.thread_id, s.comment_id, s.content_hash,
        s.posted_at, s.updates, s.status, s.error, s.lease_until, s.updated_at
    FROM pr_comment_state s LEFT JOIN pull_requests p ON p.integration_id = s.integration_id AND p.pr_id = s.pr_id;

CREATE TABLE work_items_new (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    container      TEXT NOT NULL DEFAULT '',
    work_item_id   BIGINT NOT NULL,
    workspace_id   TEXT NOT NULL,
    project_id     TEXT NOT NULL,
    rev            INTEGER NOT NULL DEFAULT 0,
    item_type      TEXT NOT NULL DEFAULT '',
    title          TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL DEFAULT '',
    state_category TEXT NOT NULL DEFAULT '',
    tags           TEXT NOT NULL DEFAULT '',
    area_path      TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    changed_at     TIMESTAMP NOT NULL,
    resolved_at    TIMESTAMP,
    closed_at      TIMESTAMP,
    is_deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (integration_id, container, work_item_id)
);
INSERT INTO work_items_new (integration_id, container, work_item_id, workspace_id, project_id, rev, item_type, title,
        state, state_category, tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted)
    SELECT integration_id, '', work_item_id, workspace_id, project_id, rev, item_type, title,
        state, state_category, tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted
    FROM work_items;

-- The PR targets by their old text, keyed, so that rewriting the links is
-- one index lookup per link on both engines.
CREATE TABLE pr_link_targets (
    integration_id TEXT NOT NULL,
    old_target     TEXT NOT NULL,
    new_target     TEXT NOT NULL,
    PRIMARY KEY (integration_id, old_target)
);
INSERT INTO pr_link_targets (integration_id, old_target, new_target)
    SELECT integration_id, CAST(pr_id AS TEXT), repo_id || ':' || CAST(pr_id AS TEXT) FROM pull_requests;

CREATE TABLE work_item_links_new (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    container      TEXT NOT NULL DEFAULT '',
    work_item_id   BIGINT NOT NULL,
    target_kind    TEXT NOT NULL CHECK (target_kind IN ('commit', 'pull_request')),
    target_id      TEXT NOT NULL,
    origin         TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    PRIMARY KEY (integration_id, container, work_item_id, target_kind, target_id)
);
INSERT INTO work_item_links_new (integration_id, container, work_item_id, target_kind, target_id, origin, workspace_id)
    SELECT l.integration_id, '', l.work_item_id, l.target_kind, COALESCE(t.new_target, l.target_id), l.origin, l.workspace_id
    FROM work_item_links l
    LEFT JOIN pr_link_targets t ON l.target_kind = 'pull_request' AND t.integration_id = l.integration_id
        AND t.old_target = l.target_id;

DROP TABLE pr_link_targets;
DROP TABLE pr_reviewers;
DROP TABLE pr_commits;
DROP TABLE pr_comments;
DROP TABLE pr_work_items;
DROP TABLE pull_requests;
DROP TABLE pr_comment_state;
DROP TABLE work_item_links;
DROP TABLE work_items;

ALTER TABLE pull_requests_new RENAME TO pull_requests;
ALTER TABLE pr_reviewers_new RENAME TO pr_reviewers;
ALTER TABLE pr_commits_new RENAME TO pr_commits;
ALTER TABLE pr_comments_new RENAME TO pr_comments;
ALTER TABLE pr_work_items_new RENAME TO pr_work_items;
ALTER TABLE pr_comment_state_new RENAME TO pr_comment_state;
ALTER TABLE work_items_new RENAME TO work_items;
ALTER TABLE work_item_links_new RENAME TO work_item_links;

CREATE INDEX pull_requests_created ON pull_requests (workspace_id, project_id, repo_id, created_at);
CREATE INDEX pull_requests_closed ON pull_requests (workspace_id, status, closed_at);
CREATE INDEX pr_comment_state_status ON pr_comment_state (integration_id, status);
CREATE INDEX work_items_changed ON work_items (workspace_id, project_id, changed_at);
CREATE INDEX work_item_links_target ON work_item_links (integration_id, target_kind, target_id);

-- +goose Down
-- The old shape holds one PR per (integration, number) and one work item per
-- (integration, id): going down fails on a primary key conflict when
-- repositories or containers share numbers (GitHub data), and changes
-- nothing then (the migration is one transaction).
CREATE TABLE pull_requests_old (
    integration_id  TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    pr_id           BIGINT NOT NULL,
    workspace_id    TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    repo_id         TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    is_draft        BOOLEAN NOT NULL DEFAULT FALSE,
    author_id       TEXT NOT NULL DEFAULT '',
    author_name     TEXT NOT NULL DEFAULT '',
    source_ref      TEXT NOT NULL DEFAULT '',
    target_ref      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    published_at    TIMESTAMP,
    closed_at       TIMESTAMP,
    merge_commit    TEXT NOT NULL DEFAULT '',
    provider_updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, pr_id)
);
INSERT INTO pull_requests_old (integration_id, pr_id, workspace_id, project_id, repo_id, title, description, status,
        is_draft, author_id, author_name, source_ref, target_ref, created_at, published_at, closed_at, merge_commit,
        provider_updated_at)
    SELECT integration_id, pr_id, workspace_id, project_id, repo_id, title, description, status,
        is_draft, author_id, author_name, source_ref, target_ref, created_at, published_at, closed_at, merge_commit,
        provider_updated_at
    FROM pull_requests;

CREATE TABLE pr_reviewers_old (
    integration_id TEXT NOT NULL,
    pr_id          BIGINT NOT NULL,
    reviewer_id    TEXT NOT NULL,
    display_name   TEXT NOT NULL DEFAULT '',
    vote           INTEGER NOT NULL DEFAULT 0,
    voted_at       TIMESTAMP,
    is_required    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (integration_id, pr_id, reviewer_id),
    FOREIGN KEY (integration_id, pr_id) REFERENCES pull_requests_old (integration_id, pr_id) ON DELETE CASCADE
);
INSERT INTO pr_reviewers_old (integration_id, pr_id, reviewer_id, display_name, vote, voted_at, is_required)
    SELECT integration_id, pr_id, reviewer_id, display_name, vote, voted_at, is_required FROM pr_reviewers;

CREATE TABLE pr_commits_old (
    integration_id TEXT NOT NULL,
    pr_id          BIGINT NOT NULL,
    sha            TEXT NOT NULL,
    authored_at    TIMESTAMP,
    PRIMARY KEY (integration_id, pr_id, sha),
    FOREIGN KEY (integration_id, pr_id) REFERENCES pull_requests_old (integration_id, pr_id) ON DELETE CASCADE
);
INSERT INTO pr_commits_old (integration_id, pr_id, sha, authored_at)
    SELECT integration_id, pr_id, sha, authored_at FROM pr_commits;

CREATE TABLE pr_comments_old (
    integration_id TEXT NOT NULL,
    pr_id          BIGINT NOT NULL,
    thread_id      BIGINT NOT NULL,
    comment_id     BIGINT NOT NULL,
    author_id      TEXT NOT NULL DEFAULT '',
    author_name    TEXT NOT NULL DEFAULT '',
    comment_type   TEXT NOT NULL DEFAULT '',
    is_system      BOOLEAN NOT NULL DEFAULT FALSE,
    is_deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    published_at   TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, pr_id, thread_id, comment_id),
    FOREIGN KEY (integration_id, pr_id) REFERENCES pull_requests_old (integration_id, pr_id) ON DELETE CASCADE
);
INSERT INTO pr_comments_old (integration_id, pr_id, thread_id, comment_id, author_id, author_name, comment_type,
        is_system, is_deleted, published_at, updated_at)
    SELECT integration_id, pr_id, thread_id, comment_id, author_id, author_name, comment_type,
        is_system, is_deleted, published_at, updated_at FROM pr_comments;

CREATE TABLE pr_work_items_old (
    integration_id TEXT NOT NULL,
    pr_id          BIGINT NOT NULL,
    work_item_id   BIGINT NOT NULL,
    PRIMARY KEY (integration_id, pr_id, work_item_id),
    FOREIGN KEY (integration_id, pr_id) REFERENCES pull_requests_old (integration_id, pr_id) ON DELETE CASCADE
);
INSERT INTO pr_work_items_old (integration_id, pr_id, work_item_id)
    SELECT integration_id, pr_id, work_item_id FROM pr_work_items;

CREATE TABLE pr_comment_state_old (
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
INSERT INTO pr_comment_state_old (integration_id, pr_id, workspace_id, thread_id, comment_id, content_hash, posted_at,
        updates, status, error, lease_until, updated_at)
    SELECT integration_id, pr_id, workspace_id, thread_id, comment_id, content_hash, posted_at,
        updates, status, error, lease_until, updated_at FROM pr_comment_state;

CREATE TABLE work_items_old (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    work_item_id   BIGINT NOT NULL,
    workspace_id   TEXT NOT NULL,
    project_id     TEXT NOT NULL,
    rev            INTEGER NOT NULL DEFAULT 0,
    item_type      TEXT NOT NULL DEFAULT '',
    title          TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL DEFAULT '',
    state_category TEXT NOT NULL DEFAULT '',
    tags           TEXT NOT NULL DEFAULT '',
    area_path      TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    changed_at     TIMESTAMP NOT NULL,
    resolved_at    TIMESTAMP,
    closed_at      TIMESTAMP,
    is_deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (integration_id, work_item_id)
);
INSERT INTO work_items_old (integration_id, work_item_id, workspace_id, project_id, rev, item_type, title,
        state, state_category, tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted)
    SELECT integration_id, work_item_id, workspace_id, project_id, rev, item_type, title,
        state, state_category, tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted
    FROM work_items;

-- A PR target goes back to "<pr_id>"; a link found twice (old and new
-- form of one artifact link) becomes one row.
CREATE TABLE pr_link_targets (
    integration_id TEXT NOT NULL,
    new_target     TEXT NOT NULL,
    old_target     TEXT NOT NULL,
    PRIMARY KEY (integration_id, new_target)
);
INSERT INTO pr_link_targets (integration_id, new_target, old_target)
    SELECT integration_id, repo_id || ':' || CAST(pr_id AS TEXT), CAST(pr_id AS TEXT) FROM pull_requests;

CREATE TABLE work_item_links_old (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    work_item_id   BIGINT NOT NULL,
    target_kind    TEXT NOT NULL CHECK (target_kind IN ('commit', 'pull_request')),
    target_id      TEXT NOT NULL,
    origin         TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    PRIMARY KEY (integration_id, work_item_id, target_kind, target_id)
);
INSERT INTO work_item_links_old (integration_id, work_item_id, target_kind, target_id, origin, workspace_id)
    SELECT l.integration_id, l.work_item_id, l.target_kind, COALESCE(t.old_target, l.target_id), l.origin, l.workspace_id
    FROM work_item_links l
    LEFT JOIN pr_link_targets t ON l.target_kind = 'pull_request' AND t.integration_id = l.integration_id
        AND t.new_target = l.target_id
    WHERE TRUE -- SQLite reads an ON right after a join as the join's
    ON CONFLICT DO NOTHING;
DROP TABLE pr_link_targets;

DROP TABLE pr_reviewers;
DROP TABLE pr_commits;
DROP TABLE pr_comments;
DROP TABLE pr_work_items;
DROP TABLE pull_requests;
DROP TABLE pr_comment_state;
DROP TABLE work_item_links;
DROP TABLE work_items;

ALTER TABLE pull_requests_old RENAME TO pull_requests;
ALTER TABLE pr_reviewers_old RENAME TO pr_reviewers;
ALTER TABLE pr_commits_old RENAME TO pr_commits;
ALTER TABLE pr_comments_old RENAME TO pr_comments;
ALTER TABLE pr_work_items_old RENAME TO pr_work_items;
ALTER TABLE pr_comment_state_old RENAME TO pr_comment_state;
ALTER TABLE work_items_old RENAME TO work_items;
ALTER TABLE work_item_links_old RENAME TO work_item_links;

CREATE INDEX pull_requests_created ON pull_requests (workspace_id, project_id, repo_id, created_at);
CREATE INDEX pull_requests_closed ON pull_requests (workspace_id, status, closed_at);
CREATE INDEX pr_comment_state_status ON pr_comment_state (integration_id, status);
CREATE INDEX work_items_changed ON work_items (workspace_id, project_id, changed_at);
CREATE INDEX work_item_links_target ON work_item_links (integration_id, target_kind, target_id);
