package store

import (
	"context"
	"database/sql"
	"time"
)

// InboxEvent is a raw webhook delivery, deduplicated by the provider's event id.
type InboxEvent struct {
	Key
	EventID     string
	EventType   string
	Payload     string
	ReceivedAt  time.Time
	Status      string // pending, processed, ignored, failed
	ProcessedAt *time.Time
	Error       string
}

// InsertInboxEvent stores a delivery and reports whether it was new; a
// duplicate event id is a no-op.
func (q queries) InsertInboxEvent(ctx context.Context, e InboxEvent) (bool, error) {
	res, err := q.q.ExecContext(ctx, `
		INSERT INTO webhook_inbox (integration_id, event_id, workspace_id, event_type, payload, received_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (integration_id, event_id) DO NOTHING`,
		e.IntegrationID, e.EventID, e.WorkspaceID, e.EventType, e.Payload, utc(e.ReceivedAt))
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetInboxEvent returns one stored delivery.
func (q queries) GetInboxEvent(ctx context.Context, integrationID, eventID string) (InboxEvent, error) {
	var e InboxEvent
	var at sql.NullTime
	err := q.q.QueryRowContext(ctx, `
		SELECT integration_id, workspace_id, event_id, event_type, payload, received_at, status, processed_at, error
		FROM webhook_inbox WHERE integration_id = $1 AND event_id = $2`, integrationID, eventID).
		Scan(&e.IntegrationID, &e.WorkspaceID, &e.EventID, &e.EventType, &e.Payload, &e.ReceivedAt, &e.Status, &at, &e.Error)
	e.ProcessedAt = timePtr(at)
	if err == sql.ErrNoRows {
		return e, notFound("webhook event")
	}
	return e, mapErr(err)
}

// MarkInboxEvent records the outcome of processing a delivery.
func (q queries) MarkInboxEvent(ctx context.Context, integrationID, eventID, status, errText string, at time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE webhook_inbox SET status = $3, error = $4, processed_at = $5
		WHERE integration_id = $1 AND event_id = $2`, integrationID, eventID, status, errText, utc(at))
	return affectedOne(res, err, "webhook event")
}

// CountInboxByStatus counts deliveries of an integration per status.
func (q queries) CountInboxByStatus(ctx context.Context, integrationID string) (map[string]int, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT status, COUNT(*) FROM webhook_inbox WHERE integration_id = $1
		GROUP BY status ORDER BY status`, integrationID)
	type pair struct {
		status string
		n      int
	}
	pairs, err := collect(rows, err, func(r rowScanner) (pair, error) {
		var p pair
		return p, mapErr(r.Scan(&p.status, &p.n))
	})
	out := make(map[string]int, len(pairs))
	for _, p := range pairs {
		out[p.status] = p.n
	}
	return out, err
}

// Watermark is how far collection of one resource of one project has come.
type Watermark struct {
	Key
	ProjectID string
	Resource  string // commits, pull_requests, builds, work_items, …
	Watermark *time.Time
	Cursor    string
	ItemsDone int64
	UpdatedAt time.Time
}

// SaveWatermark stores a watermark (checkpoint) for a project resource.
func (q queries) SaveWatermark(ctx context.Context, w Watermark) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO sync_watermarks (integration_id, project_id, resource, workspace_id, watermark, cursor, items_done, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (integration_id, project_id, resource) DO UPDATE SET
			watermark = excluded.watermark, cursor = excluded.cursor, items_done = excluded.items_done,
			updated_at = excluded.updated_at`,
		w.IntegrationID, w.ProjectID, w.Resource, w.WorkspaceID, nullTime(w.Watermark), w.Cursor, w.ItemsDone, utc(w.UpdatedAt))
	return mapErr(err)
}

// ListWatermarks lists an integration's watermarks by project and resource.
func (q queries) ListWatermarks(ctx context.Context, k Key) ([]Watermark, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT integration_id, workspace_id, project_id, resource, watermark, cursor, items_done, updated_at
		FROM sync_watermarks WHERE integration_id = $1 AND workspace_id = $2 ORDER BY project_id, resource`,
		k.IntegrationID, k.WorkspaceID)
	return collect(rows, err, func(r rowScanner) (Watermark, error) {
		var w Watermark
		var at sql.NullTime
		err := r.Scan(&w.IntegrationID, &w.WorkspaceID, &w.ProjectID, &w.Resource, &at, &w.Cursor, &w.ItemsDone, &w.UpdatedAt)
		w.Watermark = timePtr(at)
		return w, mapErr(err)
	})
}
