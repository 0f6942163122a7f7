-- A commit stored from a push event has no parents (the git.push payload
-- lists commits without them, samples/events/git.push.json); they come later
-- from the commits API. The dashboard re-reads a repository only when its
-- fingerprint moves, and a count of commits does not move when parents are
-- added: parent_count does, so the commit graph is rebuilt with them.
-- +goose Up
ALTER TABLE commits ADD COLUMN parent_count INTEGER NOT NULL DEFAULT 0;
UPDATE commits SET parent_count = (SELECT COUNT(*) FROM commit_parents p
    WHERE p.integration_id = commits.integration_id AND p.repo_id = commits.repo_id AND p.sha = commits.sha);

-- +goose Down
ALTER TABLE commits DROP COLUMN parent_count;
