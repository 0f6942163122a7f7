package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

const pw = "correct horse battery staple"

func TestSignInSessionsCSRFAndAPIErrors(t *testing.T) {
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "ann@example.com", pw, "acme", true)
	r := startApp(t, cfg, appOptions{})
	b := newBrowser(t, r.URL())

	res, _ := b.do("GET", "/", "", nil, map[string]string{"Accept": "text/html"})
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("signed-out dashboard must redirect to /login: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := b.do("GET", "/login", "", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page: %d", res.StatusCode)
	}

	// Wrong password and unknown user: same status, same words.
	res = b.login("ann@example.com", "wrong password")
	res2 := b.login("nobody@example.com", "wrong password")
	if res.StatusCode != 401 || res2.StatusCode != 401 {
		t.Fatalf("wrong credentials: %d / %d", res.StatusCode, res2.StatusCode)
	}

	// A cross-origin form post (CSRF) is refused before it is looked at.
	res, _ = b.do("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader("email=ann%40example.com&password=x"),
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %d, want 403", res.StatusCode)
	}

	res, _ = b.do("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader("email="+strings.Repeat("a", 2<<20)), nil)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized sign-in form: %d, want 413", res.StatusCode)
	}

	res = b.login("ann@example.com", pw)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "pandev_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie flags: %+v", cookie)
	}
	res, body = b.do("GET", "/", "", nil, map[string]string{"Accept": "text/html"})
	if res.StatusCode != 200 || !strings.Contains(body, "No data yet") || strings.Contains(body, "Connect Azure DevOps</a>") ||
		strings.Contains(body, "Connect GitHub</a>") {
		t.Fatalf("member dashboard shows the empty state without the admin's connect button: %d\n%s", res.StatusCode, body)
	}
	_, body = b.do("GET", "/api/v1/me", "", nil, nil)
	var me struct{ Email, Role, Workspace string }
	decodeJSON(t, body, &me)
	if me.Email != "ann@example.com" || me.Role != "member" || me.Workspace != "acme" {
		t.Fatalf("me: %+v", me)
	}

	// Errors: one shape, a fitting status, a hint.
	same := map[string]string{"Origin": r.URL(), "Sec-Fetch-Site": "same-origin"}
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"not JSON", "POST", "/api/v1/tokens", "{nope", 400, "invalid"},
		{"wrong type", "POST", "/api/v1/tokens", `{"name": 5}`, 400, "invalid"},
		{"unknown field", "POST", "/api/v1/tokens", `{"nom": "x"}`, 400, "invalid"},
		{"empty name", "POST", "/api/v1/tokens", `{"name": ""}`, 400, "invalid"},
		{"too large", "POST", "/api/v1/tokens", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "too_large"},
		{"unknown endpoint", "GET", "/api/v1/nothing", "", 404, "not_found"},
		{"member on admin page", "GET", "/admin/jobs/", "", 403, "forbidden"},
		{"other user's token", "DELETE", "/api/v1/tokens/does-not-exist", "", 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, body := b.do(c.method, c.path, "application/json", strings.NewReader(c.body), same)
			var e errorBody
			decodeJSON(t, body, &e)
			if res.StatusCode != c.status || e.Error.Code != c.code || e.Error.Message == "" || e.Error.Hint == "" {
				t.Fatalf("%d %+v, want %d %s with message and hint", res.StatusCode, e, c.status, c.code)
			}
		})
	}

	res, body = b.do("POST", "/api/v1/tokens", "application/json", strings.NewReader(`{"name":"grafana"}`), same)
	var created struct{ ID, Name, Token string }
	decodeJSON(t, body, &created)
	if res.StatusCode != 201 || !strings.HasPrefix(created.Token, "pdm_") {
		t.Fatalf("create token: %d %s", res.StatusCode, body)
	}
	_, body = b.do("GET", "/api/v1/tokens", "", nil, nil)
	if strings.Contains(body, created.Token) || !strings.Contains(body, "grafana") {
		t.Fatalf("token list must name tokens, never show them: %s", body)
	}
	api := newBrowser(t, r.URL())
	res, body = api.do("GET", "/api/v1/me", "", nil, map[string]string{"Authorization": "Bearer " + created.Token})
	if res.StatusCode != 200 || !strings.Contains(body, "ann@example.com") {
		t.Fatalf("bearer: %d %s", res.StatusCode, body)
	}
	// A token cannot mint tokens: a leaked one would outlive its revocation.
	res, body = api.do("POST", "/api/v1/tokens", "application/json", strings.NewReader(`{"name":"more"}`),
		map[string]string{"Authorization": "Bearer " + created.Token})
	var e errorBody
	decodeJSON(t, body, &e)
	if res.StatusCode != 403 || !strings.Contains(e.Error.Message, "cannot create API tokens") || e.Error.Hint == "" {
		t.Fatalf("a token minting a token: %d %s", res.StatusCode, body)
	}

	res, _ = b.do("POST", "/logout", "", nil, same)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	res, _ = b.do("GET", "/api/v1/me", "", nil, nil)
	if res.StatusCode != 401 {
		t.Fatalf("after logout: %d", res.StatusCode)
	}
}

func TestLoginBruteForceIsRateLimited(t *testing.T) {
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "ann@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{})
	b := newBrowser(t, r.URL())
	codes := map[int]int{}
	for range 8 {
		codes[b.login("ann@example.com", "guess").StatusCode]++
	}
	// Five free failures, then each guess from this address waits longer
	// than the last (2 s, 4 s, …): at once it is refused.
	if codes[401] != 5 || codes[429] != 3 {
		t.Fatalf("want 5×401 then 429s, got %v", codes)
	}
	if res := b.login("ann@example.com", pw); res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("even the right password waits out the delay, told how long: %d", res.StatusCode)
	}
}

func TestAdminSeesJobsPage(t *testing.T) {
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "boss@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{})
	b := newBrowser(t, r.URL())
	b.login("boss@example.com", pw)
	res, body := b.do("GET", "/admin/jobs/", "", nil, map[string]string{"Accept": "text/html"})
	if res.StatusCode != 200 || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("River UI: %d", res.StatusCode)
	}
	res, body = b.do("GET", "/admin/jobs/api/jobs?state=completed&limit=5", "", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(body, `"data"`) {
		t.Fatalf("River UI API: %d %s", res.StatusCode, body)
	}
}

func TestTenantIsolation(t *testing.T) {
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "a@example.com", pw, "workspace-a", false)
	mustCreateUser(t, cfg.DB, "b@example.com", pw, "workspace-b", false)
	r := startApp(t, cfg, appOptions{})
	a, bb := newBrowser(t, r.URL()), newBrowser(t, r.URL())
	a.login("a@example.com", pw)
	bb.login("b@example.com", pw)
	same := map[string]string{"Origin": r.URL(), "Sec-Fetch-Site": "same-origin"}
	_, body := bb.do("POST", "/api/v1/tokens", "application/json", strings.NewReader(`{"name":"b-token"}`), same)
	var bTok struct{ ID string }
	decodeJSON(t, body, &bTok)

	// Everything of workspace B addressed by id answers 404 to A, exactly as
	// an id that does not exist, and changes nothing.
	for _, c := range []struct{ method, path string }{
		{"DELETE", "/api/v1/tokens/" + bTok.ID},
	} {
		res, _ := a.do(c.method, c.path, "application/json", nil, same)
		if res.StatusCode != 404 {
			t.Errorf("%s %s from workspace A: %d, want 404", c.method, c.path, res.StatusCode)
		}
	}
	_, body = bb.do("GET", "/api/v1/tokens", "", nil, nil)
	if !strings.Contains(body, "b-token") {
		t.Fatal("B's token must survive A's attempt")
	}
	_, body = a.do("GET", "/api/v1/tokens", "", nil, nil)
	if strings.Contains(body, "b-token") {
		t.Fatal("A must not list B's tokens")
	}
	_, body = a.do("GET", "/api/v1/me", "", nil, nil)
	if !strings.Contains(body, "workspace-a") || strings.Contains(body, "workspace-b") {
		t.Fatalf("me: %s", body)
	}
}

// TestAbuseCorpus: hostile webhook bodies, every route with the wrong
// caller, another workspace, CSRF and login brute force — each gets the
// answer it must and changes nothing (the bench's abuse report runs the
// same corpus).
func TestAbuseCorpus(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			// No PANDEV_ALLOW_HOSTS, as in production: the orgurl cases
			// point Check connection at loopback and must be refused.
			cfg := testConfig(t, map[string]string{"PANDEV_DB": eng.dsn(t),
				"PANDEV_SECRET_KEY": "Y2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtMTI=", "PANDEV_ALLOW_HOSTS": "", "PANDEV_METRICS_TOKEN": "scrape-token-for-the-abuse-corpus"})
			r := startApp(t, cfg, appOptions{})
			results, err := abuse(context.Background(), r.app)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) < 50 {
				t.Fatalf("only %d cases ran", len(results))
			}
			for _, res := range results {
				if !res.OK() {
					t.Errorf("%s / %s: got %d, want %v; database changed: %v; %s", res.Group, res.Case, res.Got, res.Want, res.Changed, res.Problem)
				}
			}
		})
	}
}
