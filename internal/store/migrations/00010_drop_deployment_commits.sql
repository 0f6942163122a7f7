-- deployment_commits held each deployment's change set, written by the
-- collector's derive step and read by no figure: the metrics compute what a
-- deployment changed from the commit graph (METRICS.md, "Changes of a
-- deployment"), one implementation instead of two (#15).
-- +goose Up
DROP TABLE deployment_commits;

-- +goose Down
CREATE TABLE deployment_commits (
    integration_id TEXT NOT NULL,
    deployment_key TEXT NOT NULL,
    repo_id        TEXT NOT NULL,
    sha            TEXT NOT NULL,
    PRIMARY KEY (integration_id, deployment_key, repo_id, sha),
    FOREIGN KEY (integration_id, deployment_key) REFERENCES deployments (integration_id, deployment_key) ON DELETE CASCADE
);
CREATE INDEX deployment_commits_sha ON deployment_commits (integration_id, repo_id, sha);
