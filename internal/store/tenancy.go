package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// Workspace is a tenant: every domain row belongs to exactly one.
type Workspace struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Role is what a user may do in its workspace.
type Role string

// Roles: admins manage integrations; members read dashboards.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// User is a person who signs in.
type User struct {
	ID           string
	WorkspaceID  string
	Email        string
	PasswordHash string
	Role         Role
	CreatedAt    time.Time
}

// Session is a server-side browser session; only the hash of its cookie
// value is stored.
type Session struct {
	TokenHash  string
	UserID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// APIToken is a bearer token for the JSON API; only its hash is stored.
type APIToken struct {
	ID         string
	UserID     string
	Name       string
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// EnsureWorkspace returns the workspace called name, creating it if absent.
func (q queries) EnsureWorkspace(ctx context.Context, name string, now time.Time) (Workspace, error) {
	w := Workspace{ID: NewID(), Name: name, CreatedAt: utc(now)}
	// DO UPDATE (a no-op) rather than DO NOTHING so RETURNING yields the existing row.
	err := q.q.QueryRowContext(ctx, `
		INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET name = excluded.name
		RETURNING id, name, created_at`, w.ID, w.Name, w.CreatedAt).Scan(&w.ID, &w.Name, &w.CreatedAt)
	return w, mapErr(err)
}

// GetWorkspace returns a workspace by id.
func (q queries) GetWorkspace(ctx context.Context, id string) (Workspace, error) {
	var w Workspace
	err := q.q.QueryRowContext(ctx, `SELECT id, name, created_at FROM workspaces WHERE id = $1`, id).
		Scan(&w.ID, &w.Name, &w.CreatedAt)
	if err == sql.ErrNoRows {
		return w, notFound("workspace")
	}
	return w, mapErr(err)
}

// CreateUser inserts a user; the email must be unused (KindConflict otherwise).
func (q queries) CreateUser(ctx context.Context, u User) (User, error) {
	if u.ID == "" {
		u.ID = NewID()
	}
	u.Email = NormalizeEmail(u.Email)
	u.CreatedAt = utc(u.CreatedAt)
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO users (id, workspace_id, email, password_hash, role, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, u.WorkspaceID, u.Email, u.PasswordHash, string(u.Role), u.CreatedAt)
	return u, mapErr(err)
}

// SetUserPassword replaces a user's password hash.
func (q queries) SetUserPassword(ctx context.Context, userID, hash string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
	return affectedOne(res, err, "user")
}

const userColumns = `id, workspace_id, email, password_hash, role, created_at`

func scanUser(row rowScanner) (User, error) {
	var u User
	var role string
	err := row.Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &role, &u.CreatedAt)
	u.Role = Role(role)
	if err == sql.ErrNoRows {
		return u, notFound("user")
	}
	return u, mapErr(err)
}

// GetUserByEmail finds a user by email, case-insensitively.
func (q queries) GetUserByEmail(ctx context.Context, email string) (User, error) {
	return scanUser(q.q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, NormalizeEmail(email)))
}

// GetUser finds a user by id.
func (q queries) GetUser(ctx context.Context, id string) (User, error) {
	return scanUser(q.q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// CountUsers counts all users of all workspaces (zero on a fresh install).
func (q queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, mapErr(err)
}

// ListUsers lists the users of a workspace by email.
func (q queries) ListUsers(ctx context.Context, workspaceID string) ([]User, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE workspace_id = $1 ORDER BY email`, workspaceID)
	return collect(rows, err, scanUser)
}

// NormalizeEmail is the form emails are stored and looked up in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateSession stores a new session.
func (q queries) CreateSession(ctx context.Context, s Session) error {
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5)`,
		s.TokenHash, s.UserID, utc(s.CreatedAt), utc(s.ExpiresAt), utc(s.LastSeenAt))
	return mapErr(err)
}

// GetSession returns an unexpired session with its user.
func (q queries) GetSession(ctx context.Context, tokenHash string, now time.Time) (Session, User, error) {
	var s Session
	var u User
	var role string
	err := q.q.QueryRowContext(ctx, `
		SELECT s.token_hash, s.user_id, s.created_at, s.expires_at, s.last_seen_at,
		       u.id, u.workspace_id, u.email, u.password_hash, u.role, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, utc(now)).
		Scan(&s.TokenHash, &s.UserID, &s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt,
			&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &role, &u.CreatedAt)
	u.Role = Role(role)
	if err == sql.ErrNoRows {
		return s, u, notFound("session")
	}
	return s, u, mapErr(err)
}

// TouchSession records activity and slides the expiry forward.
func (q queries) TouchSession(ctx context.Context, tokenHash string, seen, expires time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1`,
		tokenHash, utc(seen), utc(expires))
	return mapErr(err)
}

// DeleteSession ends a session (sign out).
func (q queries) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return mapErr(err)
}

// DeleteUserSessions ends every session of a user (password change).
func (q queries) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return mapErr(err)
}

// DeleteExpiredSessions removes sessions past their expiry and says how many.
func (q queries) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, utc(now))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// CreateAPIToken stores a token hash; names are unique per user.
func (q queries) CreateAPIToken(ctx context.Context, t APIToken) (APIToken, error) {
	if t.ID == "" {
		t.ID = NewID()
	}
	t.CreatedAt = utc(t.CreatedAt)
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		t.ID, t.UserID, t.Name, t.TokenHash, t.CreatedAt)
	return t, mapErr(err)
}

// GetAPITokenUser resolves a token hash to its token and user.
func (q queries) GetAPITokenUser(ctx context.Context, tokenHash string) (APIToken, User, error) {
	var t APIToken
	var last sql.NullTime
	var u User
	var role string
	err := q.q.QueryRowContext(ctx, `
		SELECT t.id, t.user_id, t.name, t.token_hash, t.created_at, t.last_used_at,
		       u.id, u.workspace_id, u.email, u.password_hash, u.role, u.created_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, tokenHash).
		Scan(&t.ID, &t.UserID, &t.Name, &t.TokenHash, &t.CreatedAt, &last,
			&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &role, &u.CreatedAt)
	t.LastUsedAt = timePtr(last)
	u.Role = Role(role)
	if err == sql.ErrNoRows {
		return t, u, notFound("API token")
	}
	return t, u, mapErr(err)
}

// TouchAPIToken records when a token was last used.
func (q queries) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, utc(at))
	return mapErr(err)
}

// ListAPITokens lists a user's tokens (hashes included; callers never show them).
func (q queries) ListAPITokens(ctx context.Context, userID string) ([]APIToken, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT id, user_id, name, token_hash, created_at, last_used_at FROM api_tokens
		WHERE user_id = $1 ORDER BY created_at, name`, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var last sql.NullTime
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.TokenHash, &t.CreatedAt, &last); err != nil {
			return nil, mapErr(err)
		}
		t.LastUsedAt = timePtr(last)
		out = append(out, t)
	}
	return out, mapErr(rows.Err())
}

// DeleteAPIToken revokes a token of the given user.
func (q queries) DeleteAPIToken(ctx context.Context, userID, id string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID)
	return affectedOne(res, err, "API token")
}

// affectedOne turns "no row changed" into a not-found error.
func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}
