package main

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserTeams: on the demo's data, at a laptop's and a phone's width,
// an admin creates a team in Settings → Teams (reached from the settings
// navigation), finds a person with the picker's search and picks a
// repository, saves; then picks the team in the dashboard's Team filter:
// the URL keeps it, the page names the team above the figures, and the
// deployment count is the team's (fewer than everyone's). The Teams page
// (with its editor open) has no serious or critical axe-core violations
// and no horizontal scroll; screenshots go to PANDEV_SCREENSHOTS.
func TestBrowserTeams(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	axe := axeSource(t)
	base, _ := startDemo(t)
	shots := screenshotDir(t)
	deployments := func(p *page) int {
		t.Helper()
		s := liveText(t, p, `#tile-deployment_frequency .n`)
		m := regexp.MustCompile(`n = (\d+)`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("deployment count in %q", s)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	for _, size := range []struct {
		name string
		w, h int64
	}{{"1280", 1280, 900}, {"390", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			p := newPage(t)
			name := "Checkout " + size.name
			p.do(chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+"/login"),
				chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), demoEmail),
				chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), demoPassword),
				chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`section.tiles`)),
				chromedp.Click(chromedp.CSS(`header.top nav a[href="/settings/integrations"]`)),
				chromedp.WaitVisible(chromedp.CSS(`nav.tabs`)),
				chromedp.Click(chromedp.CSS(`nav.tabs a[href="/settings/teams"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#new-team`)))
			if list := p.text(`#team-list`); !strings.Contains(list, "Platform") || !strings.Contains(list, "Web squad") {
				t.Errorf("the demo's teams are listed: %q", list)
			}
			p.do(chromedp.SendKeys(chromedp.CSS(`#new-team input[name="name"]`), name),
				chromedp.Click(chromedp.CSS(`#new-team button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#team-form`)))
			if n := p.text(`p.notice`); !strings.Contains(n, "Team created") {
				t.Fatalf("notice after creating: %q", n)
			}
			loc := eval[string](t, p, `location.href`)
			u, err := url.Parse(loc)
			if err != nil || u.Query().Get("team") == "" {
				t.Fatalf("the editor's address names the team: %s", loc)
			}
			team := u.Query().Get("team")

			// The people picker's search narrows the list by name.
			people := eval[[]string](t, p, `Array.from(document.querySelectorAll("#people li[data-name]")).map(function (li) { return li.dataset.name; })`)
			if len(people) < 2 {
				t.Fatalf("the demo has people to pick: %v", people)
			}
			who := people[len(people)-1]
			p.do(chromedp.SendKeys(chromedp.CSS(`input[data-filter="people"]`), who))
			waitFor(t, "the people search", func() bool {
				return eval[int](t, p, `document.querySelectorAll("#people li[data-name]:not([hidden])").length`) < len(people)
			})
			p.do(chromedp.Click(chromedp.CSS(`#people li[data-name]:not([hidden]) input[type="checkbox"]`)),
				chromedp.Click(chromedp.CSS(`#repositories li[data-name] input[type="checkbox"]`)))
			if c := p.text(`[data-count-of="people"]`); c != "1 chosen" {
				t.Errorf("people count: %q", c)
			}
			axeCheck(t, p, axe, "", "Settings → Teams at "+size.name+" px")
			if sw, iw := eval[int](t, p, `document.scrollingElement.scrollWidth`), eval[int](t, p, `innerWidth`); sw > iw {
				wide := eval[[]string](t, p, `Array.from(document.querySelectorAll("body *")).filter(function (e) {
					var r = e.getBoundingClientRect(); return r.width > 0 && r.right > innerWidth + 1 && !e.closest(".scroll");
				}).slice(0, 5).map(function (e) { return e.tagName + "." + e.className + "#" + e.id; })`)
				t.Errorf("Teams at %s px: the page is %d px wide (horizontal scroll): %v", size.name, sw, wide)
			}
			if png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(shots, "teams-settings-"+size.name+".png"), png, 0o644)
			}
			p.do(chromedp.Click(chromedp.CSS(`#team-form button[type="submit"]`)))
			waitFor(t, "the saved team", func() bool {
				s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(`p.notice`)))
				return err == nil && strings.Contains(s, "Team saved")
			})
			row := p.text(`tr[data-team="` + team + `"]`)
			if !strings.Contains(row, name) || !strings.Contains(row, who) {
				t.Fatalf("the team's row after saving: %q", row)
			}

			// The dashboard: everyone's figures, then the team's.
			p.do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
			waitFor(t, "the dashboard's script", func() bool {
				return eval[bool](t, p, `document.documentElement.classList.contains("js")`)
			})
			p.do(chromedp.SetValue(chromedp.CSS(`select[name="team"]`), team))
			waitFor(t, "the team's dashboard", func() bool {
				loc, err := chromedp.Run(p.ctx, chromedp.Location())
				return err == nil && strings.Contains(loc, "team="+team)
			})
			p.do(chromedp.WaitVisible(chromedp.CSS(`#team-scope`)))
			hold(t, p, `#tile-lead_time .more`)
			if s := liveText(t, p, `#team-scope`); !strings.Contains(s, "Team "+name) || !strings.Contains(s, "1 person, 1 repository") {
				t.Errorf("the team named above the figures: %q", s)
			}
			if sel := eval[string](t, p, `document.querySelector('select[name=team]').value`); sel != team {
				t.Errorf("the Team filter shows %q, want %s", sel, team)
			}
			if href := eval[string](t, p, `document.querySelector('.presets a').getAttribute('href')`); !strings.Contains(href, "team="+team) {
				t.Errorf("a preset drops the team: %s", href)
			}
			teamN := deployments(p)
			if png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(shots, "teams-dashboard-"+size.name+".png"), png, 0o644)
			}
			// Back to everyone (read after: the demo's data only grows).
			p.do(chromedp.SetValue(chromedp.CSS(`select[name="team"]`), ""))
			waitFor(t, "everyone's dashboard", func() bool {
				loc, err := chromedp.Run(p.ctx, chromedp.Location())
				return err == nil && !strings.Contains(loc, "team=")
			})
			p.do(chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
			hold(t, p, `#tile-lead_time .more`)
			if allN := deployments(p); teamN >= allN {
				t.Errorf("the team's deployments (%d) should be fewer than everyone's (%d): one repository of several", teamN, allN)
			}
		})
	}
}
