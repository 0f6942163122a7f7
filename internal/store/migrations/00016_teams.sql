-- Teams (issue #17): a named set of people and repositories of a workspace
-- that every figure can be narrowed to (docs/guide/metrics.md "Teams").
--   * teams.name_key is the name folded to lower case by the application
--     (Go's Unicode folding, the same on both engines): names are unique
--     per workspace whatever their case.
--   * team_members are identities seen in the data, keyed by the
--     integration and the provider's identity id, so a rename in Azure
--     DevOps keeps the member and another provider's identities (GitHub)
--     can join without clashing; display_name and unique_name are as last
--     seen, for showing.
--   * team_repositories are repositories by (integration, repository id).
-- Deleting a team, or the integration its members and repositories came
-- from, deletes them.
-- +goose Up
CREATE TABLE teams (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    name_key     TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name_key)
);

CREATE TABLE team_members (
    team_id        TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    identity_id    TEXT NOT NULL,
    display_name   TEXT NOT NULL DEFAULT '',
    unique_name    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (team_id, integration_id, identity_id)
);

CREATE TABLE team_repositories (
    team_id        TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    repo_id        TEXT NOT NULL,
    PRIMARY KEY (team_id, integration_id, repo_id)
);

-- +goose Down
DROP TABLE team_repositories;
DROP TABLE team_members;
DROP TABLE teams;
