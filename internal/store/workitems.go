package store

import (
	"context"
	"database/sql"
	"time"
)

// WorkItem is a Boards work item.
type WorkItem struct {
	Key
	WorkItemID    int64
	ProjectID     string
	Rev           int
	Type          string
	Title         string
	State         string
	StateCategory string
	Tags          string // "; "-separated, as System.Tags holds them
	AreaPath      string
	CreatedAt     time.Time
	ChangedAt     time.Time
	ResolvedAt    *time.Time
	ClosedAt      *time.Time
	IsDeleted     bool // deleted in Azure DevOps (the recycle bin)
}

// UpsertWorkItem stores a work item unless the stored revision is newer;
// it reports whether the row was written.
//
// A resolution or close time the new revision lacks is kept while the item
// stays resolved or closed: a webhook update that resolved it (a state
// change without ResolvedDate) set it, and later revisions do not carry it.
func (q queries) UpsertWorkItem(ctx context.Context, w WorkItem) (bool, error) {
	res, err := q.q.ExecContext(ctx, `
		INSERT INTO work_items (integration_id, work_item_id, workspace_id, project_id, rev, item_type, title, state,
			state_category, tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (integration_id, work_item_id) DO UPDATE SET
			project_id = excluded.project_id, rev = excluded.rev, item_type = excluded.item_type,
			title = excluded.title, state = excluded.state, state_category = excluded.state_category,
			tags = excluded.tags, area_path = excluded.area_path, changed_at = excluded.changed_at,
			resolved_at = CASE WHEN excluded.resolved_at IS NOT NULL THEN excluded.resolved_at
				WHEN excluded.state_category IN ('Resolved', 'Completed') THEN work_items.resolved_at END,
			closed_at = CASE WHEN excluded.closed_at IS NOT NULL THEN excluded.closed_at
				WHEN excluded.state_category = 'Completed' THEN work_items.closed_at END,
			is_deleted = excluded.is_deleted
		WHERE work_items.rev <= excluded.rev`,
		w.IntegrationID, w.WorkItemID, w.WorkspaceID, w.ProjectID, w.Rev, w.Type, w.Title, w.State, w.StateCategory,
		w.Tags, w.AreaPath, utc(w.CreatedAt), utc(w.ChangedAt), nullTime(w.ResolvedAt), nullTime(w.ClosedAt), w.IsDeleted)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Cursor is this work item's position in ListWorkItems.
func (w WorkItem) Cursor() Cursor { return Cursor{Time: w.ChangedAt, Num: w.WorkItemID} }

// ListWorkItems lists work items changed in the window, most recent first.
func (q queries) ListWorkItems(ctx context.Context, f Filter) ([]WorkItem, error) {
	from, to := f.bounds()
	at, _, num := f.after()
	rows, err := q.q.QueryContext(ctx, `
		SELECT integration_id, workspace_id, work_item_id, project_id, rev, item_type, title, state, state_category,
			tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted
		FROM work_items
		WHERE workspace_id = $1 AND ($2 = '' OR project_id = $2) AND changed_at >= $3 AND changed_at < $4
			AND (changed_at < $6 OR (changed_at = $6 AND work_item_id > $7))
		ORDER BY changed_at DESC, work_item_id LIMIT $5`,
		f.WorkspaceID, f.ProjectID, from, to, f.limit(), at, num)
	return collect(rows, err, func(r rowScanner) (WorkItem, error) {
		var w WorkItem
		var res, closed sql.NullTime
		err := r.Scan(&w.IntegrationID, &w.WorkspaceID, &w.WorkItemID, &w.ProjectID, &w.Rev, &w.Type, &w.Title,
			&w.State, &w.StateCategory, &w.Tags, &w.AreaPath, &w.CreatedAt, &w.ChangedAt, &res, &closed, &w.IsDeleted)
		w.ResolvedAt, w.ClosedAt = timePtr(res), timePtr(closed)
		return w, mapErr(err)
	})
}

// WorkItemLink links a work item to a commit or a pull request.
type WorkItemLink struct {
	Key
	WorkItemID int64
	TargetKind string // commit or pull_request
	TargetID   string // "<repo id>:<sha>" or the PR id
	Origin     string // mention, commit_ref, pr_ref, artifact
}

// AddWorkItemLink stores a link; the same link found twice is one row.
func (q queries) AddWorkItemLink(ctx context.Context, l WorkItemLink) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO work_item_links (integration_id, work_item_id, target_kind, target_id, origin, workspace_id)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		l.IntegrationID, l.WorkItemID, l.TargetKind, l.TargetID, l.Origin, l.WorkspaceID)
	return mapErr(err)
}

// ListWorkItemLinks lists the links of one work item.
func (q queries) ListWorkItemLinks(ctx context.Context, workspaceID, integrationID string, workItemID int64) ([]WorkItemLink, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT integration_id, workspace_id, work_item_id, target_kind, target_id, origin FROM work_item_links
		WHERE workspace_id = $1 AND integration_id = $2 AND work_item_id = $3 ORDER BY target_kind, target_id`,
		workspaceID, integrationID, workItemID)
	return collect(rows, err, func(r rowScanner) (WorkItemLink, error) {
		var l WorkItemLink
		err := r.Scan(&l.IntegrationID, &l.WorkspaceID, &l.WorkItemID, &l.TargetKind, &l.TargetID, &l.Origin)
		return l, mapErr(err)
	})
}
