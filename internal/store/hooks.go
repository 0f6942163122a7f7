package store

import (
	"context"
	"time"
)

// HookSubscription is a service-hook subscription PanDev registered.
type HookSubscription struct {
	Key
	SubscriptionID string
	ProjectID      string
	EventType      string
	Status         string // as Azure DevOps reports it: enabled, onProbation, disabledBySystem, …; or HookUnavailable
	Reason         string // why an unavailable subscription was refused
	CheckedAt      time.Time
}

// HookUnavailable is the status of a subscription Azure DevOps refused;
// its SubscriptionID is RefusedHookID(event type, project).
const HookUnavailable = "unavailable"

// RefusedHookID is the id a refused subscription is recorded under.
func RefusedHookID(eventType, projectID string) string {
	return "refused:" + eventType + ":" + projectID
}

// UpsertHookSubscription records a subscription and its latest state.
func (q queries) UpsertHookSubscription(ctx context.Context, h HookSubscription) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO hook_subscriptions (integration_id, subscription_id, workspace_id, project_id, event_type, status, reason, checked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (integration_id, subscription_id) DO UPDATE SET
			project_id = excluded.project_id, event_type = excluded.event_type, status = excluded.status,
			reason = excluded.reason, checked_at = excluded.checked_at`,
		h.IntegrationID, h.SubscriptionID, h.WorkspaceID, h.ProjectID, h.EventType, h.Status, h.Reason, utc(h.CheckedAt))
	return mapErr(err)
}

// ListHookSubscriptions lists an integration's subscriptions, optionally of one project.
func (q queries) ListHookSubscriptions(ctx context.Context, k Key, projectID string) ([]HookSubscription, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT integration_id, workspace_id, subscription_id, project_id, event_type, status, reason, checked_at
		FROM hook_subscriptions WHERE integration_id = $1 AND workspace_id = $2 AND ($3 = '' OR project_id = $3)
		ORDER BY project_id, event_type, subscription_id`, k.IntegrationID, k.WorkspaceID, projectID)
	return collect(rows, err, func(r rowScanner) (HookSubscription, error) {
		var h HookSubscription
		err := r.Scan(&h.IntegrationID, &h.WorkspaceID, &h.SubscriptionID, &h.ProjectID, &h.EventType, &h.Status, &h.Reason, &h.CheckedAt)
		return h, mapErr(err)
	})
}

// DeleteHookSubscription forgets a subscription (after deleting it in Azure DevOps).
func (q queries) DeleteHookSubscription(ctx context.Context, integrationID, subscriptionID string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM hook_subscriptions WHERE integration_id = $1 AND subscription_id = $2`,
		integrationID, subscriptionID)
	return mapErr(err)
}

// DeleteRefusedHooks forgets every refused subscription of an integration
// (its token or scopes changed: each is tried again).
func (q queries) DeleteRefusedHooks(ctx context.Context, integrationID string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM hook_subscriptions WHERE integration_id = $1 AND status = $2`,
		integrationID, HookUnavailable)
	return mapErr(err)
}
