package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/githubapi"
)

// TestBrowserGitHubSettingsWidths follows Settings → Integrations → GitHub
// in Chromium at 1280 and 390 px with the token the product asks for: the
// API base and the token typed, Check connection naming the account, the
// organization and every permission granted, Activate, the
// whole organization picked, each repository's backfill shown done and its
// webhook active. axe-core finds no serious or critical violation on the
// check and the connected page, and neither page scrolls sideways.
func TestBrowserGitHubSettingsWidths(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	axe := axeSource(t)
	shots := screenshotDir(t)
	for _, size := range []struct {
		name string
		w, h int64
	}{{"1280", 1280, 900}, {"390", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			sim := startGitHubSim(t)
			cfg := testConfig(t, nil)
			mustCreateUser(t, cfg.DB, "admin@example.com", pw, "acme", false)
			r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond, GitHubHTTPClient: sim.HTTPClient(), LocalGitHub: true})
			p := newPage(t)
			p.do(chromedp.EmulateViewport(size.w, size.h))
			p.signInAt(r.URL(), "admin@example.com", pw, "/settings/integrations")
			p.do(chromedp.WaitVisible(chromedp.CSS(`li[data-provider="github"] a.button`)),
				chromedp.Click(chromedp.CSS(`li[data-provider="github"] a.button`)),
				chromedp.WaitVisible(chromedp.CSS(`form#connect`)),
				chromedp.SendKeys(chromedp.CSS(`input[name="api_url"]`), sim.URL()),
				chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), sim.Token()),
				chromedp.Click(chromedp.CSS(`button[value="check"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#check-result`)))
			if got := p.text("#check-title"); got != "Connection works" {
				t.Fatalf("check: %q", got)
			}
			if !strings.Contains(p.text("#check-result"), "octo-admin") || !strings.Contains(p.text("#check-orgs"), sim.Org()) {
				t.Fatalf("the check names the account and the organization: %q", p.text("#check-result"))
			}
			scopes := eval[[]string](t, p, `Array.from(document.querySelectorAll("#check-result li[data-scope]")).map(function (li) { return li.dataset.scope; })`)
			if len(scopes) != len(githubapi.Permissions()) {
				t.Fatalf("the check lists the permissions %v, the product needs %d", scopes, len(githubapi.Permissions()))
			}
			for _, pm := range githubapi.Permissions() {
				if s := p.text(`#check-result li[data-scope="` + pm.Key + `"]`); !strings.Contains(s, "✓") || !strings.Contains(s, pm.Label) {
					t.Errorf("permission %s shown as %q, want it granted by name", pm.Key, s)
				}
			}
			axeCheck(t, p, axe, "", "the GitHub check at "+size.name+" px")
			noSideways(t, p, "the GitHub check at "+size.name+" px")

			p.do(chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), sim.Token()),
				chromedp.Click(chromedp.CSS(`button[value="activate"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#badge`)))
			if got := p.text("#badge"); got != "Connected" {
				t.Fatalf("badge: %q", got)
			}
			p.do(chromedp.Click(chromedp.CSS(`input[data-whole="`+sim.Org()+`"]`)),
				chromedp.Click(chromedp.CSS(`#projects button[type="submit"]`)))
			waitFor(t, "the saved notice", func() bool {
				s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(`main`)))
				return err == nil && strings.Contains(s, "Repositories saved")
			})
			waitJobs(t, r, "backfill", len(sim.Repos()))
			waitJobs(t, r, "github_register_hook", len(sim.Repos()))
			p.do(chromedp.Navigate(r.URL()+"/settings/integrations/github"), chromedp.WaitVisible(chromedp.CSS(`#projects`)))
			for _, name := range sim.Repos() {
				row := `#projects tr[data-name="` + name + `"]`
				if s := p.text(row + ` td.backfill`); !strings.Contains(s, "done") {
					t.Errorf("%s's backfill: %q", name, s)
				}
				if s := p.text(row + ` td.hook`); !strings.Contains(s, "active") {
					t.Errorf("%s's webhook: %q", name, s)
				}
			}
			axeCheck(t, p, axe, "", "the GitHub integration page at "+size.name+" px")
			noSideways(t, p, "the GitHub integration page at "+size.name+" px")
			if png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(shots, "github-settings-"+size.name+".png"), png, 0o644)
			}
		})
	}
}

// noSideways fails when the page is wider than the window (outside the
// tables' own scroll boxes), naming the widest elements.
func noSideways(t *testing.T, p *page, what string) {
	t.Helper()
	if sw, iw := eval[int](t, p, `document.scrollingElement.scrollWidth`), eval[int](t, p, `innerWidth`); sw > iw {
		wide := eval[[]string](t, p, `Array.from(document.querySelectorAll("body *")).filter(function (e) {
			var r = e.getBoundingClientRect(); return r.width > 0 && r.right > innerWidth + 1 && !e.closest(".scroll");
		}).slice(0, 5).map(function (e) { return e.tagName + "." + e.className + "#" + e.id; })`)
		t.Errorf("%s: the page is %d px wide (horizontal scroll): %v", what, sw, wide)
	}
}
