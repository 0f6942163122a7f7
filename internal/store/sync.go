package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SyncRun is one backfill or reconciliation run of an integration.
type SyncRun struct {
	Key
	ID         string
	Kind       string // backfill or reconcile
	ProjectID  string // "" when the run covered every selected project
	StartedAt  time.Time
	FinishedAt time.Time
	// ItemsFetched counts items read from the provider.
	ItemsFetched int64
	// ItemsRecovered counts fetched items that were missing or older in the
	// store: webhook deliveries that never arrived.
	ItemsRecovered int64
	Error          string // "" when the run succeeded
}

// Duration is how long the run took.
func (r SyncRun) Duration() time.Duration { return r.FinishedAt.Sub(r.StartedAt) }

// RecordSyncRun stores a finished run.
func (q queries) RecordSyncRun(ctx context.Context, r SyncRun) (SyncRun, error) {
	if r.ID == "" {
		r.ID = NewID()
	}
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO sync_runs (id, integration_id, workspace_id, kind, project_id, started_at, finished_at, duration_ms,
			items_fetched, items_recovered, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.IntegrationID, r.WorkspaceID, r.Kind, r.ProjectID, utc(r.StartedAt), utc(r.FinishedAt),
		r.Duration().Milliseconds(), r.ItemsFetched, r.ItemsRecovered, r.Error)
	return r, mapErr(err)
}

// ListSyncRuns lists an integration's runs, newest first; limit 0 means 50.
func (q queries) ListSyncRuns(ctx context.Context, k Key, limit int) ([]SyncRun, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := q.q.QueryContext(ctx, `
		SELECT id, integration_id, workspace_id, kind, project_id, started_at, finished_at, items_fetched,
			items_recovered, error
		FROM sync_runs WHERE integration_id = $1 AND workspace_id = $2
		ORDER BY started_at DESC, id LIMIT $3`, k.IntegrationID, k.WorkspaceID, limit)
	return collect(rows, err, func(r rowScanner) (SyncRun, error) {
		var s SyncRun
		err := r.Scan(&s.ID, &s.IntegrationID, &s.WorkspaceID, &s.Kind, &s.ProjectID, &s.StartedAt, &s.FinishedAt,
			&s.ItemsFetched, &s.ItemsRecovered, &s.Error)
		return s, mapErr(err)
	})
}

// SetCommitParents writes a commit's parents when the commit is stored (a
// parent list for an unknown commit is dropped). With replace false it
// writes only when no parents are stored yet, so an inferred parent never
// overwrites a known one; with replace true the list replaces what is there.
func (q queries) SetCommitParents(ctx context.Context, integrationID, repoID, sha string, parents []string, replace bool) error {
	if replace {
		if _, err := q.q.ExecContext(ctx, `DELETE FROM commit_parents WHERE integration_id = $1 AND repo_id = $2 AND sha = $3`,
			integrationID, repoID, sha); err != nil {
			return mapErr(err)
		}
	} else {
		var n int
		if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM commit_parents
			WHERE integration_id = $1 AND repo_id = $2 AND sha = $3`, integrationID, repoID, sha).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n > 0 {
			return nil
		}
	}
	for i, p := range parents {
		_, err := q.q.ExecContext(ctx, `
			INSERT INTO commit_parents (integration_id, repo_id, sha, ord, parent_sha)
			SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS INTEGER), CAST($5 AS TEXT) WHERE EXISTS (
				SELECT 1 FROM commits WHERE integration_id = $1 AND repo_id = $2 AND sha = $3)
			ON CONFLICT (integration_id, repo_id, sha, ord) DO UPDATE SET parent_sha = excluded.parent_sha`,
			integrationID, repoID, sha, i, p)
		if err != nil {
			return mapErr(err)
		}
	}
	// The repository's fingerprint counts parents (see migration 00012).
	_, err := q.q.ExecContext(ctx, `UPDATE commits SET parent_count = $4
		WHERE integration_id = $1 AND repo_id = $2 AND sha = $3`, integrationID, repoID, sha, len(parents))
	return mapErr(err)
}

// UnstoredLinkedWorkItems lists the ids of work items of a container
// ("" for Azure DevOps) that commits or pull requests of the integration
// link to but that are not stored (yet).
func (q queries) UnstoredLinkedWorkItems(ctx context.Context, integrationID, container string) ([]int64, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT DISTINCT l.work_item_id FROM work_item_links l
		WHERE l.integration_id = $1 AND l.container = $2 AND NOT EXISTS (
			SELECT 1 FROM work_items w WHERE `+ofWorkItem("l")+`)
		ORDER BY l.work_item_id`, integrationID, container)
	return collect(rows, err, scanOne[int64])
}

// SyncKind names a kind of stored provider item for StoredFingerprints.
type SyncKind string

// The kinds reconciliation compares.
const (
	SyncCommit      SyncKind = "commit"       // key "<repo id>:<sha>"
	SyncPullRequest SyncKind = "pull_request" // key "<repo id>:<pr id>" (PRTarget)
	SyncPipelineRun SyncKind = "pipeline_run" // key: the run id
	SyncDeployment  SyncKind = "deployment"   // key: the deployment key
	SyncWorkItem    SyncKind = "work_item"    // key: the id in container '', "<container>:<id>" in another
)

// fingerprintSQL is, per kind, the key and fingerprint expressions and the
// table. A fingerprint changes whenever a webhook delivery would have
// changed the stored item; see the Fingerprint functions in package collect
// for the same values computed from fetched items.
var fingerprintSQL = map[SyncKind]struct{ key, fp, from string }{
	SyncCommit: {"repo_id || ':' || sha", "'1'", "commits t"},
	SyncPullRequest: {"repo_id || ':' || CAST(pr_id AS TEXT)", `status || '|' || merge_commit
		|| '|' || CAST((SELECT COUNT(*) FROM pr_comments c WHERE c.integration_id = t.integration_id
			AND c.repo_id = t.repo_id AND c.pr_id = t.pr_id) AS TEXT)
		|| '|' || CAST((SELECT COALESCE(SUM(vote), 0) FROM pr_reviewers r WHERE r.integration_id = t.integration_id
			AND r.repo_id = t.repo_id AND r.pr_id = t.pr_id) AS TEXT)`,
		"pull_requests t"},
	SyncPipelineRun: {"CAST(run_id AS TEXT)", `status || '|' || result
		|| '|' || CAST((SELECT COUNT(*) FROM pipeline_stages s WHERE s.integration_id = t.integration_id AND s.run_id = t.run_id) AS TEXT)`,
		"pipeline_runs t"},
	SyncDeployment: {"deployment_key", "result", "deployments t"},
	SyncWorkItem: {"CASE WHEN container = '' THEN CAST(work_item_id AS TEXT) ELSE container || ':' || CAST(work_item_id AS TEXT) END",
		"CAST(rev AS TEXT)", "work_items t"},
}

// StoredFingerprints returns, for each key of kind that is stored, a short
// text that changes whenever the item's collected state does (a PR's status,
// merge commit, comment count and votes; a run's status, result and stage
// count; a work item's revision …). Reconciliation compares it with the
// fetched item to count missed deliveries.
func (q queries) StoredFingerprints(ctx context.Context, kind SyncKind, integrationID string, keys []string) (map[string]string, error) {
	s, ok := fingerprintSQL[kind]
	if !ok {
		return nil, fmt.Errorf("store: unknown sync kind %q", kind)
	}
	out := make(map[string]string, len(keys))
	const chunk = 500
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		args := make([]any, 0, len(part)+1)
		args = append(args, integrationID)
		ph := make([]string, len(part))
		for i, k := range part {
			args = append(args, k)
			ph[i] = "$" + strconv.Itoa(i+2)
		}
		rows, err := q.q.QueryContext(ctx, `SELECT `+s.key+`, `+s.fp+` FROM `+s.from+`
			WHERE t.integration_id = $1 AND `+s.key+` IN (`+strings.Join(ph, ", ")+`)`, args...)
		type pair struct{ k, fp string }
		pairs, err := collect(rows, err, func(r rowScanner) (pair, error) {
			var p pair
			return p, mapErr(r.Scan(&p.k, &p.fp))
		})
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			out[p.k] = p.fp
		}
	}
	return out, nil
}
