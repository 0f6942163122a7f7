package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSources: on the demo's data (Azure DevOps and GitHub side by
// side), at a laptop's and a phone's width, the dashboard shows the Source
// selector and a per-source split under the figures; picking GitHub puts
// source=github in the address, narrows the Project filter to GitHub's
// repositories and the merged PRs to GitHub's (fewer than the combined
// count); a reload keeps the source; Back returns to every source. The
// page with a source picked has no serious or critical axe-core violations
// and no horizontal scroll; screenshots go to PANDEV_SCREENSHOTS.
func TestBrowserSources(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	axe := axeSource(t)
	base, _ := startDemo(t)
	shots := screenshotDir(t)
	merged := func(p *page) int {
		t.Helper()
		s := liveText(t, p, `#flow-figures`)
		m := regexp.MustCompile(`^(\d+) merged`).FindStringSubmatch(strings.TrimSpace(s))
		if m == nil {
			t.Fatalf("merged PRs in %q", s)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	location := func(p *page) string {
		t.Helper()
		loc, err := chromedp.Run(p.ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	for _, size := range []struct {
		name string
		w, h int64
	}{{"1280", 1280, 900}, {"390", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			p := newPage(t)
			p.do(chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+"/login"),
				chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), demoEmail),
				chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), demoPassword),
				chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
			waitFor(t, "the dashboard's script", func() bool {
				return eval[bool](t, p, `document.documentElement.classList.contains("js")`)
			})
			sources := eval[[]string](t, p, `Array.from(document.querySelectorAll("select[name=source] option")).map(function (o) { return o.textContent; })`)
			if strings.Join(sources, ",") != "All sources,Azure DevOps,GitHub" {
				t.Fatalf("the Source selector offers %v", sources)
			}
			if s := liveText(t, p, `#tile-deployment_frequency .split`); !strings.Contains(s, "Azure DevOps") || !strings.Contains(s, "GitHub") {
				t.Errorf("the per-source split under deployment frequency: %q", s)
			}
			if s := liveText(t, p, `#flow .split`); !strings.Contains(s, "GitHub:") {
				t.Errorf("the per-source split of the pull-request flow: %q", s)
			}
			allProjects := eval[int](t, p, `document.querySelectorAll("select[name=project] option[value]:not([value=''])").length`)

			p.do(chromedp.SetValue(chromedp.CSS(`select[name="source"]`), "github"))
			waitFor(t, "GitHub's dashboard", func() bool { return strings.Contains(location(p), "source=github") })
			p.do(chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
			hold(t, p, `#tile-lead_time .more`)
			check := func(when string) {
				t.Helper()
				if sel := eval[string](t, p, `document.querySelector("select[name=source]").value`); sel != "github" {
					t.Errorf("%s: the Source filter shows %q", when, sel)
				}
				projects := eval[[]string](t, p, `Array.from(document.querySelectorAll("select[name=project] option")).filter(function (o) { return o.value; }).map(function (o) { return o.textContent; })`)
				if len(projects) == 0 || len(projects) >= allProjects {
					t.Errorf("%s: the Project filter lists %d of %d projects", when, len(projects), allProjects)
				}
				for _, name := range projects {
					if !strings.Contains(name, "/") { // GitHub's projects are owner/repository
						t.Errorf("%s: the Project filter lists %q, not a GitHub repository", when, name)
					}
				}
				if href := eval[string](t, p, `document.querySelector(".presets a").getAttribute("href")`); !strings.Contains(href, "source=github") {
					t.Errorf("%s: a preset drops the source: %s", when, href)
				}
				if n := eval[int](t, p, `document.querySelectorAll(".split").length`); n != 0 {
					t.Errorf("%s: %d per-source splits shown with one source picked", when, n)
				}
			}
			check("after picking GitHub")
			gitHubN := merged(p)
			axeCheck(t, p, axe, "", "the dashboard of source GitHub at "+size.name+" px")
			if sw, iw := eval[int](t, p, `document.scrollingElement.scrollWidth`), eval[int](t, p, `innerWidth`); sw > iw {
				t.Errorf("the GitHub dashboard at %s px is %d px wide (horizontal scroll)", size.name, sw)
			}
			if png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(shots, "sources-github-"+size.name+".png"), png, 0o644)
			}

			p.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
			if !strings.Contains(location(p), "source=github") {
				t.Errorf("a reload dropped the source: %s", location(p))
			}
			check("after a reload")

			// Back: every source again (read after: the demo's data only grows).
			p.do(chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
			waitFor(t, "every source's dashboard", func() bool { return !strings.Contains(location(p), "source=") })
			hold(t, p, `#tile-lead_time .more`)
			if sel := eval[string](t, p, `document.querySelector("select[name=source]").value`); sel != "" {
				t.Errorf("after Back the Source filter shows %q", sel)
			}
			if allN := merged(p); gitHubN == 0 || gitHubN >= allN {
				t.Errorf("GitHub's merged PRs (%d) should be some, and fewer than every source's (%d)", gitHubN, allN)
			}
			if png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(filepath.Join(shots, "sources-all-"+size.name+".png"), png, 0o644)
			}
		})
	}
}
