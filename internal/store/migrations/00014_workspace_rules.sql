-- Rules (METRICS.md: which runs are deployments, which environments are
-- production, which work items are incidents, the attribution window) belong
-- to the workspace, with optional overrides per project, not to an
-- integration: a workspace with Azure DevOps and GitHub has one set of
-- figures, and the dashboard used to apply the last integration's rules to
-- all of them. project_id '' is the workspace's default. The rules are a
-- JSON document (store.RuleSettings). Existing rules move from each
-- workspace's first integration's settings (the PR comment settings stay
-- there; the rule fields in them are ignored from now on).

-- +goose Up
CREATE TABLE workspace_rules (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL DEFAULT '',
    rules        TEXT NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_id, project_id)
);
INSERT INTO workspace_rules (workspace_id, project_id, rules, updated_at)
    SELECT workspace_id, '', settings, updated_at FROM integrations
    WHERE settings <> '' AND settings <> '{}'
    ORDER BY created_at, id
    ON CONFLICT (workspace_id, project_id) DO NOTHING;

-- +goose Down
DROP TABLE workspace_rules;
