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
	// Operator runs the instance: it sees what all workspaces share (the
	// job queue). It is independent of Role.
	Operator bool
	// DisabledAt is set while the user is disabled: no sign-in, and its
	// sessions and API tokens do not authenticate.
	DisabledAt  *time.Time
	LastLoginAt *time.Time
}

// Disabled reports whether the user is disabled.
func (u User) Disabled() bool { return u.DisabledAt != nil }

// Member is a user as the Members screen lists it.
type Member struct {
	User
	Sessions int // unexpired sessions
	Tokens   int // API tokens, expired ones included
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

// TokenScope is what an API token may do.
type TokenScope string

// Token scopes: read answers GET (and HEAD) only; admin may do what the
// user's role allows.
const (
	ScopeRead  TokenScope = "read"
	ScopeAdmin TokenScope = "admin"
)

// APIToken is a bearer token for the JSON API; only its hash is stored.
type APIToken struct {
	ID         string
	UserID     string
	Name       string
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	// ExpiresAt is nil only for tokens created before tokens expired.
	ExpiresAt *time.Time
	Scope     TokenScope
}

// Expired reports whether the token has expired at now.
func (t APIToken) Expired(now time.Time) bool { return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) }

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
		INSERT INTO users (id, workspace_id, email, password_hash, role, created_at, operator, disabled_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.WorkspaceID, u.Email, u.PasswordHash, string(u.Role), u.CreatedAt, u.Operator, nullTime(u.DisabledAt))
	return u, mapErr(err)
}

// SetUserPassword replaces a user's password hash.
func (q queries) SetUserPassword(ctx context.Context, userID, hash string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
	return affectedOne(res, err, "user")
}

const userColumns = `id, workspace_id, email, password_hash, role, created_at, operator, disabled_at, last_login_at`

// userColumnsOf is userColumns of the users table aliased u.
const userColumnsOf = `u.id, u.workspace_id, u.email, u.password_hash, u.role, u.created_at, u.operator, u.disabled_at, u.last_login_at`

// userDest is where a row's user columns are scanned to; done fills u.
type userDest struct {
	role             string
	disabled, lastIn sql.NullTime
}

func (d *userDest) targets(u *User) []any {
	return []any{&u.ID, &u.WorkspaceID, &u.Email, &u.PasswordHash, &d.role, &u.CreatedAt, &u.Operator, &d.disabled, &d.lastIn}
}

func (d *userDest) done(u *User) {
	u.Role = Role(d.role)
	u.DisabledAt, u.LastLoginAt = timePtr(d.disabled), timePtr(d.lastIn)
}

func scanUser(row rowScanner) (User, error) {
	var u User
	var d userDest
	err := row.Scan(d.targets(&u)...)
	d.done(&u)
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

// GetWorkspaceUser finds a user by id within a workspace: another
// workspace's user is not found.
func (q queries) GetWorkspaceUser(ctx context.Context, workspaceID, id string) (User, error) {
	return scanUser(q.q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 AND workspace_id = $2`, id, workspaceID))
}

// ListMembers lists the users of a workspace by email, with how many
// unexpired sessions and API tokens each has.
func (q queries) ListMembers(ctx context.Context, workspaceID string, now time.Time) ([]Member, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+userColumnsOf+`,
		(SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $2),
		(SELECT COUNT(*) FROM api_tokens t WHERE t.user_id = u.id)
		FROM users u WHERE u.workspace_id = $1 ORDER BY u.email`, workspaceID, utc(now))
	return collect(rows, err, func(row rowScanner) (Member, error) {
		var m Member
		var d userDest
		err := row.Scan(append(d.targets(&m.User), &m.Sessions, &m.Tokens)...)
		d.done(&m.User)
		return m, mapErr(err)
	})
}

// CountActiveAdmins counts the admins of a workspace who are not disabled,
// leaving out the user with id except.
func (q queries) CountActiveAdmins(ctx context.Context, workspaceID, except string) (int, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users
		WHERE workspace_id = $1 AND id <> $2 AND role = 'admin' AND disabled_at IS NULL`, workspaceID, except).Scan(&n)
	return n, mapErr(err)
}

// LockWorkspace serializes changes to a workspace's people inside a
// transaction: PostgreSQL holds the workspace row until commit (SQLite
// transactions are serial already), so two admins demoting each other at
// once cannot both see the other still an admin.
func (q queries) LockWorkspace(ctx context.Context, workspaceID string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE workspaces SET name = name WHERE id = $1`, workspaceID)
	return affectedOne(res, err, "workspace")
}

// SetUserRole changes the role of a user of the workspace.
func (q queries) SetUserRole(ctx context.Context, workspaceID, userID string, role Role) error {
	res, err := q.q.ExecContext(ctx, `UPDATE users SET role = $3 WHERE id = $1 AND workspace_id = $2`, userID, workspaceID, string(role))
	return affectedOne(res, err, "user")
}

// SetUserDisabled disables a user of the workspace (at set) or enables it
// again (at nil). Disabling keeps an earlier disabled_at.
func (q queries) SetUserDisabled(ctx context.Context, workspaceID, userID string, at *time.Time) error {
	if at == nil {
		res, err := q.q.ExecContext(ctx, `UPDATE users SET disabled_at = NULL WHERE id = $1 AND workspace_id = $2`, userID, workspaceID)
		return affectedOne(res, err, "user")
	}
	res, err := q.q.ExecContext(ctx, `UPDATE users SET disabled_at = COALESCE(disabled_at, $3) WHERE id = $1 AND workspace_id = $2`,
		userID, workspaceID, utc(*at))
	return affectedOne(res, err, "user")
}

// SetUserOperator grants or revokes the instance operator flag.
func (q queries) SetUserOperator(ctx context.Context, userID string, on bool) error {
	res, err := q.q.ExecContext(ctx, `UPDATE users SET operator = $2 WHERE id = $1`, userID, on)
	return affectedOne(res, err, "user")
}

// RecordLogin notes a successful sign-in.
func (q queries) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, userID, utc(at))
	return mapErr(err)
}

// CountUsers counts all users of all workspaces (zero on a fresh install).
func (q queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, mapErr(err)
}

// CountOperators counts the instance operators (zero on a fresh install).
func (q queries) CountOperators(ctx context.Context) (int, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE operator`).Scan(&n)
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

// GetSession returns an unexpired session of a user who is not disabled,
// with the user.
func (q queries) GetSession(ctx context.Context, tokenHash string, now time.Time) (Session, User, error) {
	var s Session
	var u User
	var d userDest
	err := q.q.QueryRowContext(ctx, `
		SELECT s.token_hash, s.user_id, s.created_at, s.expires_at, s.last_seen_at, `+userColumnsOf+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL`, tokenHash, utc(now)).
		Scan(append([]any{&s.TokenHash, &s.UserID, &s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt}, d.targets(&u)...)...)
	d.done(&u)
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

// EndMemberSessions ends every session of a user of the workspace and says
// how many ended; another workspace's user is not found.
func (q queries) EndMemberSessions(ctx context.Context, workspaceID, userID string) (int64, error) {
	if _, err := q.GetWorkspaceUser(ctx, workspaceID, userID); err != nil {
		return 0, err
	}
	res, err := q.q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
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
	if t.Scope == "" {
		t.Scope = ScopeAdmin
	}
	if t.ExpiresAt != nil {
		e := utc(*t.ExpiresAt)
		t.ExpiresAt = &e
	}
	_, err := q.q.ExecContext(ctx, `
		INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at, scope) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.UserID, t.Name, t.TokenHash, t.CreatedAt, nullTime(t.ExpiresAt), string(t.Scope))
	return t, mapErr(err)
}

const tokenColumns = `t.id, t.user_id, t.name, t.token_hash, t.created_at, t.last_used_at, t.expires_at, t.scope`

type tokenDest struct {
	last, expires sql.NullTime
	scope         string
}

func (d *tokenDest) targets(t *APIToken) []any {
	return []any{&t.ID, &t.UserID, &t.Name, &t.TokenHash, &t.CreatedAt, &d.last, &d.expires, &d.scope}
}

func (d *tokenDest) done(t *APIToken) {
	t.LastUsedAt, t.ExpiresAt, t.Scope = timePtr(d.last), timePtr(d.expires), TokenScope(d.scope)
}

// GetAPITokenUser resolves a token hash to its token and user. It returns
// expired tokens and disabled users too, so the caller can say which it
// is; checking both is the caller's (auth.Service.Authenticate).
func (q queries) GetAPITokenUser(ctx context.Context, tokenHash string) (APIToken, User, error) {
	var t APIToken
	var u User
	var td tokenDest
	var ud userDest
	err := q.q.QueryRowContext(ctx, `
		SELECT `+tokenColumns+`, `+userColumnsOf+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, tokenHash).
		Scan(append(td.targets(&t), ud.targets(&u)...)...)
	td.done(&t)
	ud.done(&u)
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
		SELECT `+tokenColumns+` FROM api_tokens t
		WHERE t.user_id = $1 ORDER BY t.created_at, t.name`, userID)
	return collect(rows, err, func(row rowScanner) (APIToken, error) {
		var t APIToken
		var d tokenDest
		err := row.Scan(d.targets(&t)...)
		d.done(&t)
		return t, mapErr(err)
	})
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
