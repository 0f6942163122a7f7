package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPeople: an admin adds a member on the Members screen, disables
// them, and their sign-in (with the right password) is refused as disabled;
// then the admin creates a read-only token on the Tokens screen, sees it
// once, and the token reads but cannot change anything.
func TestBrowserPeople(t *testing.T) {
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "ann@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{})
	p := newPage(t)
	p.signIn(r.URL(), "ann@example.com", pw)

	// Members: reached from the navigation, add a member.
	p.do(chromedp.Click(chromedp.CSS(`nav a[href="/settings/members"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#invite`)),
		chromedp.SendKeys(chromedp.CSS(`#invite input[name="email"]`), "bob@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#invite input[name="password"]`), pw),
		chromedp.Click(chromedp.CSS(`#invite button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-email="bob@example.com"]`)))
	if n := p.text(`p.notice`); !strings.Contains(n, "Account created") {
		t.Fatalf("notice after adding: %q", n)
	}
	if row := p.text(`tr[data-email="bob@example.com"]`); !strings.Contains(row, "active") {
		t.Fatalf("new member row: %q", row)
	}
	if row := p.text(`tr[data-email="ann@example.com"]`); !strings.Contains(row, "(you)") || !strings.Contains(row, "operator") {
		t.Fatalf("own row: %q", row)
	}
	// Disable them.
	p.do(chromedp.Click(chromedp.CSS(`tr[data-email="bob@example.com"] button[value="disable"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-email="bob@example.com"] button[value="enable"]`)))
	if row := p.text(`tr[data-email="bob@example.com"] td.status`); !strings.Contains(row, "disabled") {
		t.Fatalf("disabled member row: %q", row)
	}
	p.shot("members")

	// Their sign-in with the right password is refused, saying why.
	// (The members page has a password field too: wait for the login form's.)
	p.do(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] input[name="password"]`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name="email"]`), "bob@example.com"),
		chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name="password"]`), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	if msg := p.text(`p.error`); !strings.Contains(msg, "this account is disabled") {
		t.Fatalf("disabled sign-in: %q", msg)
	}

	// Tokens: the admin creates a read-only token and sees it once.
	p.signIn(r.URL(), "ann@example.com", pw)
	p.do(chromedp.Click(chromedp.CSS(`nav a[href="/settings/tokens"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-token`)),
		chromedp.SendKeys(chromedp.CSS(`#new-token input[name="name"]`), "grafana"),
		chromedp.SetValue(chromedp.CSS(`#new-token select[name="scope"]`), "read"),
		chromedp.SetValue(chromedp.CSS(`#new-token input[name="expires_in_days"]`), "30"),
		chromedp.Click(chromedp.CSS(`#new-token button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-value`)))
	tok := p.text(`#token-value`)
	if !strings.HasPrefix(tok, "pdm_") {
		t.Fatalf("token shown: %q", tok)
	}
	if row := p.text(`tr[data-name="grafana"]`); !strings.Contains(row, "read") {
		t.Fatalf("token row: %q", row)
	}
	p.shot("tokens")
	call := func(method, path string) int {
		req, _ := http.NewRequest(method, r.URL()+path, strings.NewReader(`{"email":"c@example.com","password":"long enough password"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := call("GET", "/api/v1/members"); code != 200 {
		t.Fatalf("read token GET: %d", code)
	}
	if code := call("POST", "/api/v1/members"); code != 403 {
		t.Fatalf("read token POST: %d", code)
	}
	// Revoke it on the screen: it stops working.
	p.do(chromedp.Click(chromedp.CSS(`tr[data-name="grafana"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if code := call("GET", "/api/v1/members"); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
}
