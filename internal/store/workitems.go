package store

import (
	"context"
	"database/sql"
	"time"
)

// WorkItemRef names a work item within its integration. Ids are unique per
// container: "" for Azure DevOps (ids are per collection), the repository
// for a GitHub issue (numbered per repository).
type WorkItemRef struct {
	Container string
	ID        int64
}

func scanWorkItemRef(r rowScanner) (WorkItemRef, error) {
	var w WorkItemRef
	return w, mapErr(r.Scan(&w.Container, &w.ID))
}

// WorkItem is a Boards work item (or an issue).
type WorkItem struct {
	Key
	// Container scopes WorkItemID: '' for Azure DevOps.
	Container     string
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

// Ref is the work item's key within its integration.
func (w WorkItem) Ref() WorkItemRef { return WorkItemRef{Container: w.Container, ID: w.WorkItemID} }

// UpsertWorkItem stores a work item unless the stored revision is newer;
// it reports whether the row was written.
//
// A resolution or close time the new revision lacks is kept while the item
// stays resolved or closed: a webhook update that resolved it (a state
// change without ResolvedDate) set it, and later revisions do not carry it.
func (q queries) UpsertWorkItem(ctx context.Context, w WorkItem) (bool, error) {
	res, err := q.q.ExecContext(ctx, `
		INSERT INTO work_items (integration_id, container, work_item_id, workspace_id, project_id, rev, item_type, title, state,
			state_category, tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted)
		VALUES ($1, $17, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (integration_id, container, work_item_id) DO UPDATE SET
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
		w.Tags, w.AreaPath, utc(w.CreatedAt), utc(w.ChangedAt), nullTime(w.ResolvedAt), nullTime(w.ClosedAt), w.IsDeleted,
		w.Container)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Cursor is this work item's position in ListWorkItems.
func (w WorkItem) Cursor() Cursor {
	return Cursor{Time: w.ChangedAt, Key: w.Container, Num: w.WorkItemID}
}

// ListWorkItems lists work items changed in the window, most recent first.
func (q queries) ListWorkItems(ctx context.Context, f Filter) ([]WorkItem, error) {
	from, to := f.bounds()
	at, container, num := f.after()
	rows, err := q.q.QueryContext(ctx, `
		SELECT `+workItemColumns+` FROM work_items
		WHERE workspace_id = $1 AND ($2 = '' OR project_id = $2) AND changed_at >= $3 AND changed_at < $4
			AND (changed_at < $6 OR (changed_at = $6 AND (container > $8 OR (container = $8 AND work_item_id > $7))))
		ORDER BY changed_at DESC, container, work_item_id LIMIT $5`,
		f.WorkspaceID, f.ProjectID, from, to, f.limit(), at, num, container)
	return collect(rows, err, scanWorkItem)
}

const workItemColumns = `integration_id, workspace_id, container, work_item_id, project_id, rev, item_type, title, state,
	state_category, tags, area_path, created_at, changed_at, resolved_at, closed_at, is_deleted`

func scanWorkItem(r rowScanner) (WorkItem, error) {
	var w WorkItem
	var res, closed sql.NullTime
	err := r.Scan(&w.IntegrationID, &w.WorkspaceID, &w.Container, &w.WorkItemID, &w.ProjectID, &w.Rev, &w.Type, &w.Title,
		&w.State, &w.StateCategory, &w.Tags, &w.AreaPath, &w.CreatedAt, &w.ChangedAt, &res, &closed, &w.IsDeleted)
	w.ResolvedAt, w.ClosedAt = timePtr(res), timePtr(closed)
	return w, mapErr(err)
}

// WorkItemLink links a work item to a commit or a pull request.
type WorkItemLink struct {
	Key
	Container  string // the work item's
	WorkItemID int64
	TargetKind string // commit or pull_request
	TargetID   string // "<repo id>:<sha>" or "<repo id>:<pr id>" (PRTarget)
	Origin     string // mention, commit_ref, pr_ref, artifact
}

// AddWorkItemLink stores a link; the same link found twice is one row.
func (q queries) AddWorkItemLink(ctx context.Context, l WorkItemLink) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO work_item_links (integration_id, container, work_item_id, target_kind, target_id, origin, workspace_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		l.IntegrationID, l.Container, l.WorkItemID, l.TargetKind, l.TargetID, l.Origin, l.WorkspaceID)
	return mapErr(err)
}

// ListWorkItemLinks lists the links of one work item.
func (q queries) ListWorkItemLinks(ctx context.Context, workspaceID, integrationID string, w WorkItemRef) ([]WorkItemLink, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT `+linkColumns+` FROM work_item_links l
		WHERE l.workspace_id = $1 AND l.integration_id = $2 AND l.container = $3 AND l.work_item_id = $4
		ORDER BY l.target_kind, l.target_id`,
		workspaceID, integrationID, w.Container, w.ID)
	return collect(rows, err, scanLink)
}

const linkColumns = `l.integration_id, l.workspace_id, l.container, l.work_item_id, l.target_kind, l.target_id, l.origin`

func scanLink(r rowScanner) (WorkItemLink, error) {
	var l WorkItemLink
	err := r.Scan(&l.IntegrationID, &l.WorkspaceID, &l.Container, &l.WorkItemID, &l.TargetKind, &l.TargetID, &l.Origin)
	return l, mapErr(err)
}
