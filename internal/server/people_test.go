package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

type peopleFixture struct {
	s                       *Server
	svc                     *auth.Service
	db                      *store.DB
	admin, member, operator store.User
	other                   store.User
	adminTok, readTok       string
	memberTok, otherTok     string
	operatorTok             string
}

func newPeople(t *testing.T) peopleFixture {
	t.Helper()
	return newPeopleOn(t, storetest.OpenSQLite(t))
}

// newPeopleOn is newPeople on a database of the caller's (either engine).
func newPeopleOn(t *testing.T, db *store.DB) peopleFixture {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := auth.NewService(db, logger, time.Now)
	jobs := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "river ui") })
	s := New(Deps{DB: db, Auth: svc, Logger: logger, Registry: prometheus.NewRegistry(), JobsUI: jobs})
	ctx := context.Background()
	f := peopleFixture{s: s, svc: svc, db: db}
	mk := func(email, ws string, role store.Role, operator bool) store.User {
		u, err := svc.CreateAdmin(ctx, email, "correct horse battery", ws, role, operator)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.operator = mk("op@example.com", "ops", store.RoleAdmin, true)
	f.admin = mk("ann@example.com", "acme", store.RoleAdmin, false)
	f.member = mk("bob@example.com", "acme", store.RoleMember, false)
	f.other = mk("eve@example.com", "other", store.RoleAdmin, false)
	tok := func(u store.User, name string, scope store.TokenScope) string {
		v, _, e := svc.CreateTokenWith(ctx, u.ID, auth.TokenRequest{Name: name, Scope: scope})
		if e != nil {
			t.Fatal(e)
		}
		return v.Reveal()
	}
	f.adminTok, f.readTok = tok(f.admin, "admin", store.ScopeAdmin), tok(f.admin, "read", store.ScopeRead)
	f.memberTok, f.otherTok = tok(f.member, "m", ""), tok(f.other, "o", "")
	f.operatorTok = tok(f.operator, "op", "")
	return f
}

func (f peopleFixture) call(t *testing.T, method, path, tok, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// TestJobsNeedTheOperator: River UI serves every workspace's jobs, so a
// workspace admin is refused with who can see it; the operator is served.
func TestJobsNeedTheOperator(t *testing.T) {
	f := newPeople(t)
	code, body := f.call(t, "GET", "/admin/jobs/", f.adminTok, "")
	if code != 403 || !strings.Contains(body, "instance operator") {
		t.Fatalf("workspace admin: %d %s", code, body)
	}
	if code, body := f.call(t, "GET", "/admin/jobs/api/jobs", f.memberTok, ""); code != 403 {
		t.Fatalf("member: %d %s", code, body)
	}
	if code, body := f.call(t, "GET", "/admin/jobs/", f.operatorTok, ""); code != 200 || body != "river ui" {
		t.Fatalf("operator: %d %s", code, body)
	}
	names := map[string]string{}
	for _, r := range f.s.Routes() {
		names[r.Pattern] = r.Access
	}
	if names["/admin/jobs/"] != "operator" {
		t.Fatalf("Routes() names /admin/jobs/ %q", names["/admin/jobs/"])
	}
}

func TestMembersAPI(t *testing.T) {
	f := newPeople(t)
	code, body := f.call(t, "GET", "/api/v1/members", f.adminTok, "")
	var list struct {
		Members []struct {
			ID, Email, Role string
			Disabled        bool
		} `json:"members"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Members) != 2 {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _ := f.call(t, "GET", "/api/v1/members", f.memberTok, ""); code != 403 {
		t.Fatalf("member lists members: %d", code)
	}
	code, body = f.call(t, "POST", "/api/v1/members", f.adminTok, `{"email":"cy@example.com","password":"long enough password"}`)
	if code != 201 || !strings.Contains(body, `"role":"member"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := f.call(t, "POST", "/api/v1/members", f.adminTok, `{"email":"eve@example.com","password":"long enough password"}`); code != 409 {
		t.Fatalf("taken email: %d %s", code, body)
	}
	// A read-scoped token of an admin cannot change anything.
	if code, body := f.call(t, "POST", "/api/v1/members", f.readTok, `{"email":"dee@example.com","password":"long enough password"}`); code != 403 || !strings.Contains(body, "read scope") {
		t.Fatalf("read token creates: %d %s", code, body)
	}
	if code, _ := f.call(t, "GET", "/api/v1/members", f.readTok, ""); code != 200 {
		t.Fatalf("read token lists: %d", code)
	}
	// Another workspace's user does not exist here.
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/members/" + f.other.ID, `{"disabled":true}`},
		{"DELETE", "/api/v1/members/" + f.other.ID + "/sessions", ``},
	} {
		if code, body := f.call(t, c.method, c.path, f.adminTok, c.body); code != 404 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, code, body)
		}
	}
	// Self and last-admin rules.
	if code, body := f.call(t, "PATCH", "/api/v1/members/"+f.admin.ID, f.adminTok, `{"role":"member"}`); code != 400 || !strings.Contains(body, "your own admin role") {
		t.Fatalf("self-demotion: %d %s", code, body)
	}
	// Disable the member: its token stops, with the reason.
	code, body = f.call(t, "PATCH", "/api/v1/members/"+f.member.ID, f.adminTok, `{"disabled":true}`)
	if code != 200 || !strings.Contains(body, `"disabled":true`) {
		t.Fatalf("disable: %d %s", code, body)
	}
	if code, body := f.call(t, "GET", "/api/v1/me", f.memberTok, ""); code != 401 || !strings.Contains(body, "disabled") {
		t.Fatalf("disabled user's token: %d %s", code, body)
	}
	// Promote and demote work; the member's rights follow its role live.
	if code, body := f.call(t, "PATCH", "/api/v1/members/"+f.member.ID, f.adminTok, `{"disabled":false,"role":"admin"}`); code != 200 || !strings.Contains(body, `"role":"admin"`) {
		t.Fatalf("enable and promote: %d %s", code, body)
	}
	if code, _ := f.call(t, "GET", "/api/v1/members", f.memberTok, ""); code != 200 {
		t.Fatalf("promoted member's token: %d", code)
	}
	if code, body := f.call(t, "PATCH", "/api/v1/members/"+f.member.ID, f.adminTok, `{"role":"member"}`); code != 200 {
		t.Fatalf("demote: %d %s", code, body)
	}
	if code, _ := f.call(t, "GET", "/api/v1/members", f.memberTok, ""); code != 403 {
		t.Fatalf("a member's admin-scoped token exceeds member rights: %d", code)
	}
	// The other workspace's only admin cannot be made a member by anyone there.
	eveToo, err := f.svc.Invite(context.Background(), auth.Principal{User: f.other}, "fay@example.com", "long enough password", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := f.svc.CreateToken(context.Background(), eveToo.ID, "fay")
	if code, _ := f.call(t, "PATCH", "/api/v1/members/"+f.other.ID, v.Reveal(), `{"disabled":true}`); code != 200 {
		t.Fatalf("fay disables eve: %d", code)
	}
	if code, body := f.call(t, "PATCH", "/api/v1/members/"+eveToo.ID, f.otherTok, `{"role":"member"}`); code != 401 {
		t.Fatalf("eve is disabled: %d %s", code, body)
	}
	// End sessions.
	cookie, _, err := f.svc.Login(context.Background(), "bob@example.com", "correct horse battery", "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	code, body = f.call(t, "DELETE", "/api/v1/members/"+f.member.ID+"/sessions", f.adminTok, "")
	if code != 200 || !strings.Contains(body, `"ended":1`) {
		t.Fatalf("end sessions: %d %s", code, body)
	}
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.AddCookie(auth.SessionCookieFor(cookie, false))
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("ended session still works: %d", rec.Code)
	}
}

func TestLastAdminKept(t *testing.T) {
	f := newPeople(t)
	// Ann is acme's only admin; Bob promoted, then Ann disabled by Bob, then
	// Bob cannot be demoted by his own (disabled-then-enabled) peer.
	if code, _ := f.call(t, "PATCH", "/api/v1/members/"+f.member.ID, f.adminTok, `{"role":"admin"}`); code != 200 {
		t.Fatal(code)
	}
	if code, _ := f.call(t, "PATCH", "/api/v1/members/"+f.admin.ID, f.memberTok, `{"disabled":true}`); code != 200 {
		t.Fatal(code)
	}
	// Bob is now the last active admin: demoting him (as an enabled Ann would
	// try) is refused with the way out. Ann is disabled, so check in the service.
	yes := store.RoleMember
	_, err := f.svc.UpdateMember(context.Background(), auth.Principal{User: f.admin}, f.member.ID, auth.MemberChange{Role: &yes})
	if err == nil || !strings.Contains(err.Error(), "last active admin") {
		t.Fatalf("last admin: %v", err)
	}
}

func TestTokensAPIExpiryAndScope(t *testing.T) {
	f := newPeople(t)
	ctx := context.Background()
	cookie, _, err := f.svc.Login(ctx, "ann@example.com", "correct horse battery", "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string) (int, string) {
		req := httptest.NewRequest("POST", "/api/v1/tokens", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(auth.SessionCookieFor(cookie, false))
		rec := httptest.NewRecorder()
		f.s.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, body := post(`{"name":"plain"}`)
	if code != 201 || !strings.Contains(body, `"scope":"admin"`) || !strings.Contains(body, `"expires_at":"`) {
		t.Fatalf("defaults: %d %s", code, body)
	}
	code, body = post(`{"name":"g","scope":"read","expires_in_days":30}`)
	if code != 201 || !strings.Contains(body, `"scope":"read"`) {
		t.Fatalf("read: %d %s", code, body)
	}
	if code, body := post(`{"name":"forever","expires_in_days":1000}`); code != 400 || !strings.Contains(body, "at most 365 days") {
		t.Fatalf("too long: %d %s", code, body)
	}
	at := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	if code, body := post(`{"name":"at","expires_at":"` + at + `"}`); code != 201 {
		t.Fatalf("expires_at: %d %s", code, body)
	}
	code, body = f.call(t, "GET", "/api/v1/tokens", f.readTok, "")
	if code != 200 || !strings.Contains(body, `"expired":false`) || !strings.Contains(body, `"scope":"read"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	// An expired token: made by a service whose clock is a year back.
	past := auth.NewService(f.db, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return time.Now().AddDate(-1, 0, 0) })
	old, _, err := past.CreateTokenWith(ctx, f.admin.ID, auth.TokenRequest{Name: "old", ExpiresInDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	code, body = f.call(t, "GET", "/api/v1/me", old.Reveal(), "")
	if code != 401 || !strings.Contains(body, "the API token expired on") || !strings.Contains(body, "/settings/tokens") {
		t.Fatalf("expired: %d %s", code, body)
	}
	// A token cannot mint tokens through the page either.
	req0 := httptest.NewRequest("POST", "/settings/tokens", strings.NewReader("name=minted&scope=admin&expires_in_days=10"))
	req0.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req0.Header.Set("Authorization", "Bearer "+f.adminTok)
	rec0 := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec0, req0)
	if rec0.Code != 403 || strings.Contains(rec0.Body.String(), "pdm_") {
		t.Fatalf("token minting a token on the page: %d %s", rec0.Code, rec0.Body.String())
	}
	// The Tokens page form posts the same.
	form := url.Values{"name": {"from-page"}, "scope": {"read"}, "expires_in_days": {"10"}}
	req := httptest.NewRequest("POST", "/settings/tokens", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(auth.SessionCookieFor(cookie, false))
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), "pdm_") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("tokens page: %d %s", rec.Code, rec.Body.String())
	}
}

// TestMembersPage: the screen lists only the admin's workspace, takes
// forms, shows what to fix on the page, and 404s another workspace's user.
func TestMembersPage(t *testing.T) {
	f := newPeople(t)
	ctx := context.Background()
	session := func(email string) *http.Cookie {
		c, _, err := f.svc.Login(ctx, email, "correct horse battery", "1.2.3.4")
		if err != nil {
			t.Fatal(err)
		}
		return auth.SessionCookieFor(c, false)
	}
	ann, bob := session("ann@example.com"), session("bob@example.com")
	page := func(c *http.Cookie, method, path string, form url.Values) (int, string, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Accept", "text/html")
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		f.s.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String(), rec.Header().Get("Location")
	}
	code, body, _ := page(ann, "GET", "/settings/members", nil)
	if code != 200 || !strings.Contains(body, "bob@example.com") || strings.Contains(body, "eve@example.com") || !strings.Contains(body, `href="/settings/members"`) {
		t.Fatalf("members page: %d\n%s", code, body)
	}
	if strings.Contains(body, `href="/admin/jobs/"`) {
		t.Fatal("a workspace admin is shown the Jobs link")
	}
	if code, _, _ := page(bob, "GET", "/settings/members", nil); code != 403 {
		t.Fatalf("member on the members page: %d", code)
	}
	code, body, _ = page(bob, "GET", "/settings/tokens", nil)
	if code != 200 || !strings.Contains(body, `href="/settings/tokens"`) || strings.Contains(body, `href="/settings/members"`) {
		t.Fatalf("member's tokens page: %d", code)
	}
	code, body, _ = page(ann, "POST", "/settings/members", url.Values{"email": {"cy@example.com"}, "password": {"short"}, "role": {"member"}})
	if code != 400 || !strings.Contains(body, "shorter than 10") || !strings.Contains(body, `value="cy@example.com"`) {
		t.Fatalf("refused invite: %d\n%s", code, body)
	}
	if code, _, loc := page(ann, "POST", "/settings/members", url.Values{"email": {"cy@example.com"}, "password": {"long enough password"}, "role": {"member"}}); code != 303 || loc != "/settings/members?saved=invited" {
		t.Fatalf("invite: %d %s", code, loc)
	}
	if code, _, _ := page(ann, "POST", "/settings/members/"+f.other.ID, url.Values{"action": {"disable"}}); code != 404 {
		t.Fatalf("another workspace's user: %d", code)
	}
	code, body, _ = page(ann, "POST", "/settings/members/"+f.admin.ID, url.Values{"action": {"disable"}})
	if code != 400 || !strings.Contains(body, "cannot disable your own account") {
		t.Fatalf("self-disable: %d", code)
	}
	if code, _, loc := page(ann, "POST", "/settings/members/"+f.member.ID, url.Values{"action": {"disable"}}); code != 303 || loc != "/settings/members?saved=disabled" {
		t.Fatalf("disable: %d %s", code, loc)
	}
	if code, _, loc := page(bob, "GET", "/settings/tokens", nil); code != 303 || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("a disabled member's session: %d %s", code, loc)
	}
	// The operator sees the Jobs link.
	code, body, _ = page(session("op@example.com"), "GET", "/settings/tokens", nil)
	if code != 200 || !strings.Contains(body, `href="/admin/jobs/"`) {
		t.Fatalf("operator's nav: %d", code)
	}
}
