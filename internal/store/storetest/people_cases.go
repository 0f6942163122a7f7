package storetest

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(
		NewCase("members: roles, disabling, operator, sign-ins, workspace-scoped", testMembers),
		NewCase("sessions of a disabled user do not authenticate; ending them is workspace-scoped", testMemberSessions),
		NewCase("api tokens keep expiry and scope", testTokenExpiryScope),
		NewCase("migration 00013 keeps users and tokens working", testPeopleMigration),
	)
}

func testMembers(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	bob, err := db.CreateUser(ctx, store.User{WorkspaceID: f.ws.ID, Email: "bob@acme.example", PasswordHash: "h", Role: store.RoleMember, CreatedAt: t0})
	must(t, err)
	eq(t, "new user not an operator", bob.Operator, false)
	got, err := db.GetWorkspaceUser(ctx, f.ws.ID, bob.ID)
	must(t, err)
	eq(t, "not disabled", got.Disabled(), false)
	eq(t, "never signed in", got.LastLoginAt == nil, true)
	_, err = db.GetWorkspaceUser(ctx, other.ws.ID, bob.ID)
	wantKind(t, err, delivery.KindNotFound)

	n, err := db.CountActiveAdmins(ctx, f.ws.ID, "")
	must(t, err)
	eq(t, "one admin", n, 1)
	n, err = db.CountActiveAdmins(ctx, f.ws.ID, f.user.ID)
	must(t, err)
	eq(t, "none but the admin", n, 0)

	must(t, db.SetUserRole(ctx, f.ws.ID, bob.ID, store.RoleAdmin))
	wantKind(t, db.SetUserRole(ctx, other.ws.ID, bob.ID, store.RoleMember), delivery.KindNotFound)
	n, err = db.CountActiveAdmins(ctx, f.ws.ID, f.user.ID)
	must(t, err)
	eq(t, "bob counts as admin", n, 1)

	must(t, db.SetUserDisabled(ctx, f.ws.ID, bob.ID, ptr(t0.Add(time.Hour))))
	must(t, db.SetUserDisabled(ctx, f.ws.ID, bob.ID, ptr(t0.Add(2*time.Hour)))) // keeps the first instant
	wantKind(t, db.SetUserDisabled(ctx, other.ws.ID, bob.ID, nil), delivery.KindNotFound)
	got, err = db.GetUser(ctx, bob.ID)
	must(t, err)
	eq(t, "disabled at", got.DisabledAt != nil && got.DisabledAt.Equal(t0.Add(time.Hour)), true)
	n, err = db.CountActiveAdmins(ctx, f.ws.ID, f.user.ID)
	must(t, err)
	eq(t, "a disabled admin does not count", n, 0)
	must(t, db.SetUserDisabled(ctx, f.ws.ID, bob.ID, nil))
	got, err = db.GetUserByEmail(ctx, bob.Email)
	must(t, err)
	eq(t, "enabled again", got.Disabled(), false)

	ops, err := db.CountOperators(ctx)
	must(t, err)
	must(t, db.SetUserOperator(ctx, f.user.ID, true))
	after, err := db.CountOperators(ctx)
	must(t, err)
	eq(t, "operators counted", after, ops+1)
	must(t, db.RecordLogin(ctx, f.user.ID, t0.Add(3*time.Hour)))
	got, err = db.GetUser(ctx, f.user.ID)
	must(t, err)
	eq(t, "operator", got.Operator, true)
	eq(t, "last sign-in", got.LastLoginAt != nil && got.LastLoginAt.Equal(t0.Add(3*time.Hour)), true)
	wantKind(t, db.SetUserOperator(ctx, "missing", true), delivery.KindNotFound)

	must(t, db.CreateSession(ctx, store.Session{TokenHash: "m1", UserID: bob.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}))
	must(t, db.CreateSession(ctx, store.Session{TokenHash: "m2", UserID: bob.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute), LastSeenAt: t0}))
	_, err = db.CreateAPIToken(ctx, store.APIToken{UserID: bob.ID, Name: "ci", TokenHash: "mt", CreatedAt: t0})
	must(t, err)
	list, err := db.ListMembers(ctx, f.ws.ID, t0.Add(30*time.Minute))
	must(t, err)
	eq(t, "members", len(list), 2)
	eq(t, "ordered by email", list[0].Email, "acme@example.com")
	eq(t, "operator listed", list[0].Operator, true)
	eq(t, "bob", list[1].ID, bob.ID)
	eq(t, "unexpired sessions", list[1].Sessions, 1)
	eq(t, "tokens", list[1].Tokens, 1)
	list, err = db.ListMembers(ctx, other.ws.ID, t0)
	must(t, err)
	eq(t, "other workspace lists its own", len(list), 1)
	eq(t, "other's member", list[0].ID, other.user.ID)

	must(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.LockWorkspace(ctx, f.ws.ID) }))
	wantKind(t, db.LockWorkspace(ctx, "missing"), delivery.KindNotFound)
}

func testMemberSessions(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	must(t, db.CreateSession(ctx, store.Session{TokenHash: "s1", UserID: f.user.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}))
	must(t, db.CreateSession(ctx, store.Session{TokenHash: "s2", UserID: f.user.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}))
	must(t, db.SetUserDisabled(ctx, f.ws.ID, f.user.ID, ptr(t0)))
	_, _, err := db.GetSession(ctx, "s1", t0)
	wantKind(t, err, delivery.KindNotFound)
	must(t, db.SetUserDisabled(ctx, f.ws.ID, f.user.ID, nil))
	_, _, err = db.GetSession(ctx, "s1", t0)
	must(t, err)

	_, err = db.EndMemberSessions(ctx, other.ws.ID, f.user.ID)
	wantKind(t, err, delivery.KindNotFound)
	_, _, err = db.GetSession(ctx, "s1", t0)
	must(t, err)
	n, err := db.EndMemberSessions(ctx, f.ws.ID, f.user.ID)
	must(t, err)
	eq(t, "ended", n, int64(2))
	_, _, err = db.GetSession(ctx, "s2", t0)
	wantKind(t, err, delivery.KindNotFound)
}

func testTokenExpiryScope(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	exp := t0.Add(90 * 24 * time.Hour)
	tok, err := db.CreateAPIToken(ctx, store.APIToken{UserID: f.user.ID, Name: "grafana", TokenHash: "r1", CreatedAt: t0,
		ExpiresAt: &exp, Scope: store.ScopeRead})
	must(t, err)
	legacy, err := db.CreateAPIToken(ctx, store.APIToken{UserID: f.user.ID, Name: "old", TokenHash: "r2", CreatedAt: t0})
	must(t, err)
	eq(t, "default scope", legacy.Scope, store.ScopeAdmin)
	got, _, err := db.GetAPITokenUser(ctx, "r1")
	must(t, err)
	eq(t, "id", got.ID, tok.ID)
	eq(t, "scope", got.Scope, store.ScopeRead)
	eq(t, "expiry", got.ExpiresAt != nil && got.ExpiresAt.Equal(exp), true)
	eq(t, "not expired before", got.Expired(exp.Add(-time.Second)), false)
	eq(t, "expired at", got.Expired(exp), true)
	got, _, err = db.GetAPITokenUser(ctx, "r2")
	must(t, err)
	eq(t, "legacy never expires", got.ExpiresAt == nil && !got.Expired(t0.Add(10*365*24*time.Hour)), true)
	// A disabled user's token is still found, with the user disabled: the
	// caller says why it is refused.
	must(t, db.SetUserDisabled(ctx, f.ws.ID, f.user.ID, ptr(t0)))
	_, u, err := db.GetAPITokenUser(ctx, "r1")
	must(t, err)
	eq(t, "user disabled", u.Disabled(), true)
	list, err := db.ListAPITokens(ctx, f.user.ID)
	must(t, err)
	eq(t, "listed", len(list), 2)
	eq(t, "listed scope", list[0].Scope == store.ScopeRead || list[1].Scope == store.ScopeRead, true)
	_, err = db.CreateAPIToken(ctx, store.APIToken{UserID: f.user.ID, Name: "bad", TokenHash: "r3", CreatedAt: t0, Scope: "root"})
	if err == nil {
		t.Fatal("a token of an unknown scope was stored")
	}
}

// testPeopleMigration: migration 00013 on a database with users and tokens
// keeps them all working: nobody disabled, every token admin-scoped without
// expiry, the oldest admin the operator; and it goes down and up again.
func testPeopleMigration(t *testing.T, db *store.DB) {
	must(t, db.MigrateSchemaTo(ctx, 12))
	ws, err := db.EnsureWorkspace(ctx, "acme", t0)
	must(t, err)
	for i, u := range []struct{ id, email, role string }{{"u-old", "old@example.com", "admin"}, {"u-new", "new@example.com", "admin"}, {"u-mem", "mem@example.com", "member"}} {
		_, err := db.SQL().ExecContext(ctx, `INSERT INTO users (id, workspace_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, 'h', $4, $5)`,
			u.id, ws.ID, u.email, u.role, t0.Add(time.Duration(i)*time.Hour))
		must(t, err)
	}
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ('t1', 'u-mem', 'ci', 'th-old', $1)`, t0)
	must(t, err)
	must(t, db.MigrateSchemaTo(ctx, 13))
	ms, err := db.ListMembers(ctx, ws.ID, t0)
	must(t, err)
	eq(t, "users kept", len(ms), 3)
	for _, m := range ms {
		eq(t, m.Email+" not disabled", m.Disabled(), false)
		eq(t, m.Email+" operator", m.Operator, m.ID == "u-old")
	}
	tok, u, err := db.GetAPITokenUser(ctx, "th-old")
	must(t, err)
	eq(t, "token user", u.ID, "u-mem")
	eq(t, "old token scope", tok.Scope, store.ScopeAdmin)
	eq(t, "old token never expires", tok.ExpiresAt == nil, true)
	must(t, db.MigrateSchemaTo(ctx, 12))
	must(t, db.Migrate(ctx, slog.New(slog.DiscardHandler)))
	ok, err := db.MigrationsCurrent(ctx)
	must(t, err)
	eq(t, "current again", ok, true)
}
