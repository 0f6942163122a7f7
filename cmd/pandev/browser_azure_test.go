package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserConnectAzureDevOps follows the manual's Steps 2–5 in Chromium
// against the simulator: open the screen, Check connection, Activate, pick
// projects, update the token.
func TestBrowserConnectAzureDevOps(t *testing.T) {
	sim := startSim(t, "services")
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "admin@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{})
	b := newPage(t)
	text, do, shot, ctx := b.text, b.do, b.shot, b.ctx
	b.signIn(r.URL(), "admin@example.com", pw)
	do(chromedp.Click(chromedp.CSS(`a.button`)), // the empty state's "Connect Azure DevOps"
		chromedp.WaitVisible(chromedp.CSS(`form#connect`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="org_url"]`), sim.OrgURL()),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), sim.ManualPAT()),
		chromedp.Click(chromedp.CSS(`button[value="check"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#check-result`)),
	)
	shot("azure-check")
	if got := text("#check-result h2"); got != "Connection works" {
		t.Fatalf("check: %q", got)
	}
	if text("#check-user") == "" || text("#check-projects") == "0" {
		t.Fatal("the check reports the user and the project count")
	}
	do(chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), sim.ManualPAT()),
		chromedp.Click(chromedp.CSS(`button[value="activate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#badge`)))
	if got := text("#badge"); got != "Connected" {
		t.Fatalf("badge: %q", got)
	}
	do(chromedp.Click(chromedp.CSS(`#projects input[name="selected"]`)),
		chromedp.Click(chromedp.CSS(`#projects button[type="submit"]`)))
	waitFor(t, "the projects-saved notice", func() bool { // the previous page had a notice too
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		return err == nil && strings.Contains(s, "Projects saved")
	})
	if got := text("#selected-count"); got != "1" {
		t.Fatalf("selected projects: %q", got)
	}
	waitJobs(t, r, "register_hooks", 1)
	do(chromedp.Navigate(r.URL()+"/settings/integrations/azure-devops"), chromedp.WaitVisible(chromedp.CSS(`#projects`)))
	if body := text("#projects"); !strings.Contains(body, "enabled") {
		t.Fatalf("hook health after registration: %q", body)
	}
	shot("azure-connected")
	// Advanced → Post PR comments, with the selected project overridden off.
	do(chromedp.Click(chromedp.CSS(`#comment-settings input[name="post_pr_comments"]`)),
		chromedp.SetValue(chromedp.CSS(`#comment-settings select`), "off"),
		chromedp.Click(chromedp.CSS(`#comment-settings button`)))
	waitFor(t, "the settings-saved notice", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		return err == nil && strings.Contains(s, "Settings saved")
	})
	ins, _ := r.db.ListAllIntegrations(context.Background())
	if !strings.Contains(ins[0].Settings, `"post_pr_comments":true`) || !strings.Contains(ins[0].Settings, `":false}`) {
		t.Fatalf("settings saved from the form: %s", ins[0].Settings)
	}
	do(chromedp.SendKeys(chromedp.CSS(`#advanced input[name="token"]`), "not-a-valid-token"),
		chromedp.Click(chromedp.CSS(`#advanced form button`)),
		chromedp.WaitVisible(chromedp.CSS(`.problem`)))
	if got := text(".problem strong"); !strings.Contains(got, "The PAT is invalid, expired, or scoped to the wrong organization") {
		t.Fatalf("bad new token: %q", got)
	}
}
