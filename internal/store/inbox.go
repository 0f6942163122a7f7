package store

import (
	"context"
	"database/sql"
	"slices"
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

// ListInboxEvents returns the stored deliveries of an integration with the
// given event ids, in the order of ids; ids not stored are left out.
func (q queries) ListInboxEvents(ctx context.Context, integrationID string, ids []string) ([]InboxEvent, error) {
	byID := make(map[string]InboxEvent, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := []any{integrationID}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := q.q.QueryContext(ctx, `
			SELECT integration_id, workspace_id, event_id, event_type, payload, received_at, status, processed_at, error
			FROM webhook_inbox WHERE integration_id = $1 AND event_id IN (`+placeholders(2, len(chunk))+`)`, args...)
		found, err := collect(rows, err, scanInboxEvent)
		if err != nil {
			return nil, err
		}
		for _, e := range found {
			byID[e.EventID] = e
		}
	}
	out := make([]InboxEvent, 0, len(byID))
	for _, id := range ids {
		if e, ok := byID[id]; ok {
			out = append(out, e)
			delete(byID, id) // an id listed twice is processed once
		}
	}
	return out, nil
}

// PendingInboxEvents returns up to limit deliveries of an integration that
// wait for processing, oldest first.
func (q queries) PendingInboxEvents(ctx context.Context, integrationID string, limit int) ([]InboxEvent, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT integration_id, workspace_id, event_id, event_type, payload, received_at, status, processed_at, error
		FROM webhook_inbox WHERE integration_id = $1 AND status = 'pending'
		ORDER BY received_at, event_id LIMIT $2`, integrationID, limit)
	return collect(rows, err, scanInboxEvent)
}

// HasPendingInbox reports whether any delivery of the integration waits.
func (q queries) HasPendingInbox(ctx context.Context, integrationID string) (bool, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM webhook_inbox
		WHERE integration_id = $1 AND status = 'pending' LIMIT 1) AS p`, integrationID).Scan(&n)
	return n > 0, mapErr(err)
}

// IntegrationsWithStalePending lists integrations with a delivery still
// pending since before, for the sweep that queues their processing again.
func (q queries) IntegrationsWithStalePending(ctx context.Context, before time.Time) ([]string, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT DISTINCT integration_id FROM webhook_inbox
		WHERE status = 'pending' AND received_at < $1 ORDER BY integration_id`, utc(before))
	return collect(rows, err, func(row rowScanner) (string, error) {
		var id string
		return id, mapErr(row.Scan(&id))
	})
}

// ClaimInboxEvent records the outcome of a pending delivery and reports
// whether it was still pending: false means another worker took it, and
// the caller must not apply it again.
func (q queries) ClaimInboxEvent(ctx context.Context, integrationID, eventID, status, errText string, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE webhook_inbox SET status = $3, error = $4, processed_at = $5
		WHERE integration_id = $1 AND event_id = $2 AND status = 'pending'`, integrationID, eventID, status, errText, utc(at))
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LockIntegrations orders a transaction against the processing of the
// integrations' deliveries on PostgreSQL: ingest takes a shared lock, the
// job that finishes draining an inbox an exclusive one (see
// collect.EventArgs). They are transaction-scoped advisory locks, which
// live in the lock manager: a row lock (FOR SHARE) would write every
// ingest transaction's lock onto the same integration row, and concurrent
// replicas contended on it. On SQLite every write transaction is already
// exclusive, so it does nothing.
func (q queries) LockIntegrations(ctx context.Context, ids []string, exclusive bool) error {
	if q.dialect != Postgres {
		return nil
	}
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	for _, id := range slices.Sorted(slices.Values(ids)) {
		// Class 7301 keeps these apart from other advisory locks (migrations);
		// two integrations hashing alike only wait for each other.
		if _, err := q.q.ExecContext(ctx, `SELECT `+fn+`(7301, hashtext($1))`, id); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// DrainJobsWaiting returns which of the integrations have a job of the
// given kind (collect.EventArgs) that has not finished: waiting to run or
// running. Ingest asks under its shared lock and queues a job only for the
// others: inserting a unique job that already exists makes River lock that
// job's row until the ingest transaction commits, which serialized
// concurrent replicas. The finishing job's exclusive lock keeps the answer
// true until the caller commits: a running job has not yet reached the
// transaction that would end it, so it will see the caller's deliveries.
func (q queries) DrainJobsWaiting(ctx context.Context, kind string, ids []string) (map[string]bool, error) {
	arg := `json_extract(args, '$.integration_id')`
	if q.dialect == Postgres {
		arg = `args->>'integration_id'`
	}
	rows, err := q.q.QueryContext(ctx, `SELECT DISTINCT `+arg+` FROM river_job
		WHERE state IN ('available', 'pending', 'scheduled', 'running') AND kind = $1`, kind)
	found, err := collect(rows, err, func(r rowScanner) (string, error) {
		var id sql.NullString
		return id.String, mapErr(r.Scan(&id))
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range found {
		if slices.Contains(ids, id) {
			out[id] = true
		}
	}
	return out, nil
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

func scanInboxEvent(row rowScanner) (InboxEvent, error) {
	var e InboxEvent
	var at sql.NullTime
	err := row.Scan(&e.IntegrationID, &e.WorkspaceID, &e.EventID, &e.EventType, &e.Payload, &e.ReceivedAt,
		&e.Status, &at, &e.Error)
	e.ProcessedAt = timePtr(at)
	return e, mapErr(err)
}

// IntegrationJobIDs returns the ids of the integration's background jobs
// (River's, by the integration_id of their args), newest first: what a
// workspace admin sees of the shared queue.
func (q queries) IntegrationJobIDs(ctx context.Context, integrationID string, limit int) ([]int64, error) {
	arg := `json_extract(args, '$.integration_id')`
	if q.dialect == Postgres {
		arg = `args->>'integration_id'`
	}
	rows, err := q.q.QueryContext(ctx, `SELECT id FROM river_job WHERE `+arg+` = $1 ORDER BY id DESC LIMIT $2`,
		integrationID, limit)
	return collect(rows, err, scanJobID)
}

// UnfinishedIntegrationJobIDs returns the ids of the integration's jobs
// that have not finished (waiting, scheduled, retrying or running), but
// those of skipQueue.
func (q queries) UnfinishedIntegrationJobIDs(ctx context.Context, integrationID, skipQueue string) ([]int64, error) {
	arg := `json_extract(args, '$.integration_id')`
	if q.dialect == Postgres {
		arg = `args->>'integration_id'`
	}
	rows, err := q.q.QueryContext(ctx, `SELECT id FROM river_job WHERE `+arg+` = $1 AND finalized_at IS NULL
		AND queue <> $2 ORDER BY id`, integrationID, skipQueue)
	return collect(rows, err, scanJobID)
}

func scanJobID(r rowScanner) (int64, error) {
	var id int64
	return id, mapErr(r.Scan(&id))
}
