-- A commit's author as the provider knows the account, beside git's name and
-- e-mail: GitHub's REST commit list gives author.id and author.login when the
-- e-mail belongs to a GitHub user, a push delivery gives author.username. A PR
-- is authored by an account (pull_requests.author_id is GitHub's user id), so
-- matching people across commits and PRs can use the id rather than guessing
-- from names. Empty when the provider does not know the account (Azure DevOps
-- commits; GitHub commits by an e-mail no account claims). Existing rows keep
-- every value and get ''.
-- +goose Up
ALTER TABLE commits ADD COLUMN author_id TEXT NOT NULL DEFAULT '';
ALTER TABLE commits ADD COLUMN author_login TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE commits DROP COLUMN author_login;
ALTER TABLE commits DROP COLUMN author_id;
