package store

import (
	"context"
	"database/sql"
	"time"
)

// Integration is one connected provider organization of a workspace. The
// token and webhook secret are held only sealed (see package secret).
type Integration struct {
	ID                  string
	WorkspaceID         string
	Provider            string // "azure-devops"
	OrgURL              string
	Deployment          string // "services" or "server"
	ServerVersion       string
	TokenSealed         string
	TokenHint           string // e.g. "…x7Qa": enough to recognise, useless to an attacker
	WebhookSecretSealed string
	Settings            string // JSON document
	CreatedAt           time.Time
	UpdatedAt           time.Time
	Account             string     // display name of the account the token belongs to
	AccountID           string     // its id: comments by it are the integration's own
	Scopes              string     // JSON: scope → state, from the last token check
	ErrorMessage        string     // why the integration is not working, "" when it is
	ErrorHint           string     // how to fix it
	LastSyncAt          *time.Time // last successful backfill or reconcile
	// DisconnectedAt is when an admin disconnected it keeping its data:
	// its token is cleared and nothing calls the provider until it is
	// connected again.
	DisconnectedAt *time.Time
}

const integrationColumns = `id, workspace_id, provider, org_url, deployment, server_version,
	token_sealed, token_hint, webhook_secret_sealed, settings, created_at, updated_at,
	account, scopes, error_message, error_hint, last_sync_at, account_id, disconnected_at`

func scanIntegration(row rowScanner) (Integration, error) {
	var i Integration
	var lastSync, disconnected sql.NullTime
	err := row.Scan(&i.ID, &i.WorkspaceID, &i.Provider, &i.OrgURL, &i.Deployment, &i.ServerVersion,
		&i.TokenSealed, &i.TokenHint, &i.WebhookSecretSealed, &i.Settings, &i.CreatedAt, &i.UpdatedAt,
		&i.Account, &i.Scopes, &i.ErrorMessage, &i.ErrorHint, &lastSync, &i.AccountID, &disconnected)
	i.LastSyncAt, i.DisconnectedAt = timePtr(lastSync), timePtr(disconnected)
	if err == sql.ErrNoRows {
		return i, notFound("integration")
	}
	return i, mapErr(err)
}

// CreateIntegration inserts an integration; one per (workspace, provider, org).
func (q queries) CreateIntegration(ctx context.Context, i Integration) (Integration, error) {
	if i.ID == "" {
		i.ID = NewID()
	}
	if i.Settings == "" {
		i.Settings = "{}"
	}
	if i.Scopes == "" {
		i.Scopes = "{}"
	}
	i.CreatedAt, i.UpdatedAt = utc(i.CreatedAt), utc(i.UpdatedAt)
	_, err := q.q.ExecContext(ctx, `INSERT INTO integrations (`+integrationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		i.ID, i.WorkspaceID, i.Provider, i.OrgURL, i.Deployment, i.ServerVersion,
		i.TokenSealed, i.TokenHint, i.WebhookSecretSealed, i.Settings, i.CreatedAt, i.UpdatedAt,
		i.Account, i.Scopes, i.ErrorMessage, i.ErrorHint, nullTime(i.LastSyncAt), i.AccountID, nullTime(i.DisconnectedAt))
	return i, mapErr(err)
}

// GetIntegration returns an integration of the workspace; another
// workspace's integration is "not found".
func (q queries) GetIntegration(ctx context.Context, workspaceID, id string) (Integration, error) {
	return scanIntegration(q.q.QueryRowContext(ctx, `SELECT `+integrationColumns+`
		FROM integrations WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
}

// GetIntegrationByID returns an integration by id alone, for webhook ingest
// and jobs, which authenticate by the integration's own secret.
func (q queries) GetIntegrationByID(ctx context.Context, id string) (Integration, error) {
	return scanIntegration(q.q.QueryRowContext(ctx, `SELECT `+integrationColumns+`
		FROM integrations WHERE id = $1`, id))
}

// ListIntegrations lists a workspace's integrations, optionally of one provider.
func (q queries) ListIntegrations(ctx context.Context, workspaceID, provider string) ([]Integration, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+integrationColumns+` FROM integrations
		WHERE workspace_id = $1 AND ($2 = '' OR provider = $2) ORDER BY created_at, id`, workspaceID, provider)
	return collect(rows, err, scanIntegration)
}

// TokenUpdate is a checked replacement token and what its check found.
type TokenUpdate struct {
	Sealed    string
	Hint      string
	Account   string
	AccountID string
	Scopes    string // JSON
}

// UpdateIntegrationToken replaces the sealed token (rotation keeps hooks)
// and clears a connection error: the new token was just checked.
func (q queries) UpdateIntegrationToken(ctx context.Context, workspaceID, id string, t TokenUpdate, now time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET token_sealed = $3, token_hint = $4, account = $5,
		scopes = $6, account_id = $8, error_message = '', error_hint = '', updated_at = $7
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id, t.Sealed, t.Hint, t.Account, t.Scopes, utc(now), t.AccountID)
	return affectedOne(res, err, "integration")
}

// UpdateIntegrationDeployment replaces what is known of the server and the
// token's kind (a new token may be of another kind, a server upgraded).
func (q queries) UpdateIntegrationDeployment(ctx context.Context, id, deployment, serverVersion string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET deployment = $2, server_version = $3 WHERE id = $1`,
		id, deployment, serverVersion)
	return affectedOne(res, err, "integration")
}

// SetIntegrationScopes replaces the stored scope states (JSON: scope →
// state), e.g. when a reconciliation finds a scope granted since.
func (q queries) SetIntegrationScopes(ctx context.Context, id, scopes string, now time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET scopes = $2, updated_at = $3 WHERE id = $1`, id, scopes, utc(now))
	return affectedOne(res, err, "integration")
}

// SetIntegrationError records why the integration stopped working ("" clears).
func (q queries) SetIntegrationError(ctx context.Context, id, message, hint string, now time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET error_message = $2, error_hint = $3, updated_at = $4
		WHERE id = $1`, id, message, hint, utc(now))
	return affectedOne(res, err, "integration")
}

// MarkIntegrationSynced records a successful backfill or reconcile.
func (q queries) MarkIntegrationSynced(ctx context.Context, id string, at time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET last_sync_at = $2, error_message = '', error_hint = ''
		WHERE id = $1`, id, utc(at))
	return affectedOne(res, err, "integration")
}

// UpdateIntegrationSettings replaces the settings document.
func (q queries) UpdateIntegrationSettings(ctx context.Context, workspaceID, id, settings string, now time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET settings = $3, updated_at = $4
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id, settings, utc(now))
	return affectedOne(res, err, "integration")
}

// ListAllIntegrations returns every integration of every workspace, for
// key rotation (re-seal each secret with the newest key) and for jobs.
func (q queries) ListAllIntegrations(ctx context.Context) ([]Integration, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+integrationColumns+` FROM integrations ORDER BY id`)
	return collect(rows, err, scanIntegration)
}

// ResealIntegration writes re-sealed secrets without touching anything else.
func (q queries) ResealIntegration(ctx context.Context, id, tokenSealed, secretSealed string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET token_sealed = $2, webhook_secret_sealed = $3 WHERE id = $1`,
		id, tokenSealed, secretSealed)
	return affectedOne(res, err, "integration")
}

// DeleteIntegration removes an integration and, by cascade, all its data.
func (q queries) DeleteIntegration(ctx context.Context, workspaceID, id string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM integrations WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	return affectedOne(res, err, "integration")
}

// TokenSealContext binds a sealed personal access token to its integration.
func TokenSealContext(integrationID string) string { return "integration/" + integrationID + "/token" }

// WebhookSecretSealContext binds a sealed webhook secret to its integration.
func WebhookSecretSealContext(integrationID string) string {
	return "integration/" + integrationID + "/webhook-secret"
}

// DisconnectIntegration marks the workspace's integration disconnected,
// keeping its data: the token is cleared (nothing can call the provider
// with it) and the error state too.
func (q queries) DisconnectIntegration(ctx context.Context, workspaceID, id string, now time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET disconnected_at = $3, token_sealed = '', token_hint = '',
		error_message = '', error_hint = '', updated_at = $3 WHERE workspace_id = $1 AND id = $2`, workspaceID, id, utc(now))
	return affectedOne(res, err, "integration")
}

// ReconnectIntegration resumes a disconnected integration with a checked
// token (the same organization).
func (q queries) ReconnectIntegration(ctx context.Context, workspaceID, id string, u TokenUpdate, now time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET disconnected_at = NULL, token_sealed = $3, token_hint = $4,
		account = $5, account_id = $6, scopes = $7, error_message = '', error_hint = '', updated_at = $8
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id, u.Sealed, u.Hint, u.Account, u.AccountID, u.Scopes, utc(now))
	return affectedOne(res, err, "integration")
}

// UpdateIntegrationOrgURL points the integration at a new URL of the same
// organization (a Server collection added, a host renamed), with what the
// check of that URL found.
func (q queries) UpdateIntegrationOrgURL(ctx context.Context, workspaceID, id, orgURL, deployment, serverVersion string, now time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE integrations SET org_url = $3, deployment = $4, server_version = $5,
		error_message = '', error_hint = '', updated_at = $6 WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id, orgURL, deployment, serverVersion, utc(now))
	return affectedOne(res, err, "integration")
}
