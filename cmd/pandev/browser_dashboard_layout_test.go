package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/browsertest"
)

// startDemo runs `pandev demo` and returns the dashboard's address and the
// simulator's organization URL.
func startDemo(t *testing.T) (base, orgURL string) {
	t.Helper()
	env := map[string]string{"PANDEV_ADDR": "127.0.0.1:0", "PANDEV_DEMO_SIM_ADDR": "127.0.0.1:0", "PANDEV_DEMO_GITHUB_SIM_ADDR": "127.0.0.1:0",
		"PANDEV_DB": filepath.Join(t.TempDir(), "demo", "pandev.db")}
	out, errs := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo"}, func(k string) string { return env[k] }, nil, out, errs) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "sign in") {
		if time.Now().After(deadline) {
			t.Fatalf("demo not ready:\n%s\n%s", out.String(), errs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s := out.String()
	field := func(prefix string) string {
		i := strings.Index(s, prefix)
		if i < 0 {
			t.Fatalf("the demo's output lacks %q:\n%s", prefix, s)
		}
		return strings.TrimSpace(strings.SplitN(s[i+len(prefix):], "\n", 2)[0])
	}
	return field("open      "), field("Azure DevOps simulator at ")
}

// screenshotDir is PANDEV_SCREENSHOTS, or a temporary folder of the test.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("PANDEV_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("PANDEV_SCREENSHOTS=%s: %v", dir, err)
		}
		return dir
	}
	return t.TempDir()
}

// axeSource is axe-core's axe.min.js: from PANDEV_AXE_JS, else the global
// npm install (`npm install -g axe-core@4.10`, as .ci/run does). Without
// it the test skips, unless PANDEV_TEST_BROWSER=1 makes it a failure.
func axeSource(t *testing.T) string {
	t.Helper()
	var tried []string
	if p := os.Getenv("PANDEV_AXE_JS"); p != "" {
		tried = append(tried, p)
	}
	if root, err := exec.Command("npm", "root", "-g").Output(); err == nil {
		tried = append(tried, filepath.Join(strings.TrimSpace(string(root)), "axe-core", "axe.min.js"))
	}
	for _, p := range tried {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	msg := fmt.Sprintf("axe-core not found (tried %v): npm install -g axe-core@4.10, or set PANDEV_AXE_JS to axe.min.js", tried)
	if os.Getenv(browsertest.RequireEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// axeCheck runs axe-core on the page (or on the element context selects)
// and fails on serious and critical violations.
func axeCheck(t *testing.T, p *page, axe, context, name string) {
	t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`window.axe !== undefined || (function(){`+axe+`; return true})()`)); err != nil {
		t.Fatalf("injecting axe-core: %v", err)
	}
	target := "document"
	if context != "" {
		target = fmt.Sprintf("%q", context)
	}
	report, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`axe.run(`+target+`).then(function (r) {
		return JSON.stringify({Passes: r.passes.length, Violations: r.violations.filter(function (v) { return v.impact === "serious" || v.impact === "critical"; })
			.map(function (v) { return v.impact + " " + v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(function (n) { return n.target.join(" "); }).join(" | "); })});
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run on %s: %v", name, err)
	}
	var found struct {
		Passes     int
		Violations []string
	}
	if err := json.Unmarshal([]byte(report), &found); err != nil {
		t.Fatalf("axe report: %v", err)
	}
	if found.Passes == 0 {
		t.Errorf("axe on %s checked nothing: %s", name, report)
	}
	for _, v := range found.Violations {
		t.Errorf("axe on %s: %s", name, v)
	}
	t.Logf("axe on %s: %d rules passed, %d serious or critical violations", name, found.Passes, len(found.Violations))
}

// liveText is the text of sel, read again when the demo's live update
// replaced the node between finding and reading it.
func liveText(t *testing.T, p *page, sel string) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
		if err == nil {
			return s
		}
		if attempt == 5 || !strings.Contains(err.Error(), "No node") {
			t.Fatalf("%s: %v", sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hold focuses sel inside the figures, which holds the demo's live update
// (dashboard.js skips a swap while focus is inside them); a node replaced
// by a swap between finding and focusing is found again.
func hold(t *testing.T, p *page, sel string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		err := chromedp.Do(p.ctx, chromedp.Focus(chromedp.CSS(sel)))
		if err == nil {
			return
		}
		if attempt == 5 || !strings.Contains(err.Error(), "node") {
			t.Fatalf("focus %s: %v", sel, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eval runs a script returning T, failing the test on an error.
func eval[T any](t *testing.T, p *page, script string) T {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return v
}

// TestBrowserDashboardReadable checks the dashboard on the demo's
// simulator data at a laptop's and a phone's size (and at 360 and 1920 px,
// the ends of the range the layout holds): no horizontal scroll,
// tiles and charts in line (charts 2 × 2 on the laptop, one column on the
// phone), every chart titled with its unit and labels of at least 12 px,
// every tile explained by its (i) panel, a drill-down row linking to the
// simulator's web URL of that item, sorting, paging, a preset changing the
// window, an inverted window said in the page, and no serious or critical
// axe-core violations on the dashboard (1280 and 390 px), a drill-down and
// the definitions page. Screenshots of every width go to PANDEV_SCREENSHOTS.
func TestBrowserDashboardReadable(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	axe := axeSource(t)
	base, orgURL := startDemo(t)
	shots := screenshotDir(t)
	// A browser has two minutes (browsertest): one for each size, one for
	// the drill-downs and filters, one for validation and the definitions.
	signIn := func(p *page) {
		p.t.Helper()
		p.do(chromedp.Navigate(base+"/login"),
			chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), demoEmail),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), demoPassword),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
	}
	for _, size := range []struct {
		name string
		w, h int64
	}{{"laptop", 1280, 900}, {"phone", 390, 844}, {"narrow", 360, 740}, {"wide", 1920, 1080}} {
		t.Run(size.name, func(t *testing.T) {
			p := newPage(t)
			signIn(p)
			p.do(chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+"/"),
				chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
			waitFor(t, "the dashboard's script", func() bool {
				return eval[bool](t, p, `document.documentElement.classList.contains("js") && document.querySelectorAll("table.sortable th button").length > 0`)
			})
			// Hold the live update while the page is read.
			hold(t, p, `#deployments th button`)

			if sw, iw := eval[int](t, p, `document.scrollingElement.scrollWidth`), eval[int](t, p, `innerWidth`); sw > iw {
				t.Errorf("%s: the page is %d px wide in a %d px window (horizontal scroll)", size.name, sw, iw)
			}
			// Everything wider than the window is inside a scrolling card.
			if wide := eval[[]string](t, p, `Array.from(document.querySelectorAll("body *")).filter(function (e) {
				var r = e.getBoundingClientRect(); return r.width > 0 && r.right > innerWidth + 1 && !e.closest(".scroll");
			}).slice(0, 5).map(function (e) { return e.tagName + "." + e.className; })`); len(wide) > 0 {
				t.Errorf("%s: elements past the right edge: %v", size.name, wide)
			}

			// Tiles and charts line up; charts 2 × 2 on a laptop, one column on a phone.
			type box struct{ Left, Top, Width float64 }
			tiles := eval[[]box](t, p, `Array.from(document.querySelectorAll(".tile")).map(function (e) { var r = e.getBoundingClientRect(); return {Left: r.left, Top: r.top, Width: r.width}; })`)
			charts := eval[[]box](t, p, `Array.from(document.querySelectorAll(".chart-card")).map(function (e) { var r = e.getBoundingClientRect(); return {Left: r.left, Top: r.top, Width: r.width}; })`)
			if len(tiles) != 4 || len(charts) != 4 {
				t.Fatalf("%d tiles and %d charts, want 4 and 4", len(tiles), len(charts))
			}
			if d := tiles[0].Left - charts[0].Left; d > 0.5 || d < -0.5 {
				t.Errorf("%s: the first tile starts %.1f px off the first chart", size.name, d)
			}
			if size.w >= 1280 { // laptop and wide
				if charts[0].Top != charts[1].Top || charts[2].Top != charts[3].Top || charts[2].Top <= charts[0].Top {
					t.Errorf("laptop: charts not 2 × 2: %+v", charts)
				}
				if tiles[0].Top != tiles[3].Top {
					t.Errorf("laptop: tiles not in one row: %+v", tiles)
				}
			} else {
				for i := 1; i < 4; i++ {
					if charts[i].Top <= charts[i-1].Top || charts[i].Left != charts[0].Left {
						t.Errorf("phone: charts not in one column: %+v", charts)
						break
					}
				}
			}

			// Every chart has a visible title and unit; axis labels ≥ 12 px as rendered.
			if titles := eval[[]string](t, p, `Array.from(document.querySelectorAll(".chart-card")).map(function (f) {
				var h = f.querySelector(".chart-title"), u = f.querySelector(".unit");
				return (h && h.getBoundingClientRect().height > 0 ? h.textContent : "") + " | " + (u ? u.textContent : ""); })`); true {
				for _, s := range titles {
					if strings.HasPrefix(s, " |") || strings.HasSuffix(s, "| ") {
						t.Errorf("%s: a chart without a visible title or unit: %q", size.name, s)
					}
				}
			}
			if px := eval[float64](t, p, `Math.min.apply(null, Array.from(document.querySelectorAll("svg.chart text")).map(function (e) {
				return e.getBoundingClientRect().height > 0 ? parseFloat(getComputedStyle(e).fontSize) * e.ownerSVGElement.getBoundingClientRect().width / e.ownerSVGElement.viewBox.baseVal.width : 99; }).concat([99]))`); px < 11.9 {
				t.Errorf("%s: chart labels render at %.1f px, want ≥ 12", size.name, px)
			}
			// A chart's values are reachable by keyboard.
			if n := eval[int](t, p, `document.querySelectorAll("svg.chart .pt[tabindex='0'][aria-label]").length`); n == 0 {
				t.Errorf("%s: no focusable chart point", size.name)
			} else {
				p.do(chromedp.Focus(chromedp.CSS(`svg.chart .pt`)))
				if got := p.text(`.chart-card .readout`); !strings.Contains(got, "week of") {
					t.Errorf("%s: focusing a chart point reads %q", size.name, got)
				}
			}

			// Every tile is explained: its (i) opens the definition, formula and bands.
			for _, key := range []string{"deployment_frequency", "lead_time", "change_failure_rate", "recovery"} {
				sel := "#tile-" + key
				p.do(chromedp.Click(chromedp.CSS(sel + ` details.explain summary`)))
				pop := p.text(sel + ` details.explain .pop`)
				for _, want := range []string{"Formula:", "DORA 2023 bands", "Elite", "All definitions"} {
					if !strings.Contains(pop, want) {
						t.Errorf("%s: the (i) of %s lacks %q: %q", size.name, key, want, pop)
					}
				}
				if eval[bool](t, p, `!!document.querySelector("`+sel+` .band") && document.querySelector("`+sel+` .band").textContent !== "no band"`) &&
					!eval[bool](t, p, `!!document.querySelector("`+sel+` details.explain tr.this")`) {
					t.Errorf("%s: the (i) of %s does not mark this value's band", size.name, key)
				}
				if eval[int](t, p, `document.scrollingElement.scrollWidth`) > eval[int](t, p, `innerWidth`) {
					t.Errorf("%s: the (i) of %s makes the page scroll sideways", size.name, key)
				}
				// The toggle event that places the panel fires after the click.
				waitFor(t, "the (i) panel on screen", func() bool {
					return eval[bool](t, p, `(function () { var r = document.querySelector("`+sel+` .pop").getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; })()`)
				})
				if key == "lead_time" {
					p.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#tile-lead_time").scrollIntoView()`))
					if png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot()); err == nil {
						_ = os.WriteFile(filepath.Join(shots, "dashboard-"+size.name+"-explain.png"), png, 0o644)
					}
				}
				p.do(chromedp.Click(chromedp.CSS(sel + ` details.explain summary`)))
			}
			p.do(chromedp.Click(chromedp.CSS(`#flow details.explain summary`)))
			if pop := p.text(`#flow details.explain .pop`); !strings.Contains(pop, "Pickup") || !strings.Contains(pop, "PR cycle time") {
				t.Errorf("%s: the PR flow's (i) says %q", size.name, pop)
			}
			p.do(chromedp.Click(chromedp.CSS(`#flow details.explain summary`)))
			hold(t, p, `#deployments th button`)

			png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(shots, "dashboard-"+size.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
			if size.name == "laptop" || size.name == "phone" {
				axeCheck(t, p, axe, "", size.name+" dashboard")
			}
		})
	}

	// The rest at the laptop's size.
	p := newPage(t)
	signIn(p)
	p.do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/#lead-time"), chromedp.WaitVisible(chromedp.CSS(`#lead-time table`)))
	waitFor(t, "the dashboard's script", func() bool {
		return eval[bool](t, p, `document.querySelectorAll("#lead-time th button").length > 0`)
	})
	hold(t, p, `#lead-time th button`)
	axeCheck(t, p, axe, "#lead-time", "the lead time drill-down")

	// An Azure DevOps deployment row links to the simulator's web URL of
	// its run; a GitHub one (the demo has both) to its repository's
	// deployments, named by GitHub's deployment id.
	firstLink := func(part string) (href, label string) {
		js := `(Array.from(document.querySelectorAll("#deployments tbody tr a.azdo")).find(function (a) { return a.href.indexOf(%q) >= 0; }) || {})`
		return eval[string](t, p, fmt.Sprintf(js+`.href || ""`, part)), eval[string](t, p, fmt.Sprintf(js+`.textContent || ""`, part))
	}
	href, label := firstLink("/_build/results")
	m := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(label)
	if href == "" || m == nil {
		t.Fatalf("no deployment row has an Azure DevOps link with a run: %q %q", label, href)
	}
	if gh, ghLabel := firstLink("/deployments"); !strings.HasSuffix(gh, "/deployments") || !strings.HasPrefix(ghLabel, "Deployment ") {
		t.Errorf("no GitHub deployment row links to its repository's deployments: %q %q", ghLabel, gh)
	}
	if want := simBuildWebURL(t, orgURL, m[1]); href != want {
		t.Errorf("deployment %q links to %s, the simulator's web URL of run %s is %s", label, href, m[1], want)
	}
	if eval[bool](t, p, `/\benv:\d+/.test(document.querySelector("#live").innerText)`) {
		t.Error("the page shows an internal deployment id (env:…)")
	}

	// Sorting: the lead time column, ascending then descending.
	sorted := func(sel string, col int) []float64 {
		return eval[[]float64](t, p, fmt.Sprintf(`Array.from(document.querySelectorAll("%s tbody tr:not([hidden])")).map(function (r) { return parseFloat(r.cells[%d].dataset.sort); })`, sel, col))
	}
	p.do(chromedp.Click(chromedp.CSS(`#lead-time th:nth-child(5) button`)))
	asc := sorted("#lead-time", 4)
	p.do(chromedp.Click(chromedp.CSS(`#lead-time th:nth-child(5) button`)))
	desc := sorted("#lead-time", 4)
	if len(asc) < 2 || len(desc) < 2 {
		t.Fatalf("too few lead time rows to sort: %v", asc)
	}
	for i := 1; i < len(asc); i++ {
		if asc[i] < asc[i-1] {
			t.Fatalf("lead time ascending is not sorted: %v", asc)
		}
	}
	for i := 1; i < len(desc); i++ {
		if desc[i] > desc[i-1] {
			t.Fatalf("lead time descending is not sorted: %v", desc)
		}
	}
	if got := eval[string](t, p, `document.querySelector("#lead-time th:nth-child(5)").getAttribute("aria-sort")`); got != "descending" {
		t.Errorf("aria-sort after two clicks: %q", got)
	}

	// Paging: a list longer than 50 says "Showing 1–50 of N" and pages on.
	list := eval[string](t, p, `(Array.from(document.querySelectorAll("table.sortable")).find(function (t) { return t.tBodies[0].rows.length > 50; }) || {closest: function () { return {id: ""}; }}).closest(".drill").id`)
	if list == "" {
		t.Fatal("no drill-down of the demo has more than 50 rows to page")
	}
	total := eval[string](t, p, `document.querySelector("#`+list+` table").dataset.total`)
	if got := p.text("#" + list + " .paging .count"); got != "Showing 1–50 of "+total {
		t.Errorf("%s paging says %q, want %q", list, got, "Showing 1–50 of "+total)
	}
	p.do(chromedp.Click(chromedp.CSS("#" + list + " .paging button.next")))
	if got := p.text("#" + list + " .paging .count"); !strings.HasPrefix(got, "Showing 51–") {
		t.Errorf("%s after Next: %q", list, got)
	}
	if n := eval[int](t, p, `document.querySelectorAll("#`+list+` tbody tr:not([hidden])").length`); n == 0 || n > 50 {
		t.Errorf("%s shows %d rows on page 2", list, n)
	}

	// A preset changes the window, kept in the URL.
	before := liveText(t, p, "p.window")
	p.do(chromedp.Click(chromedp.CSS(`.presets a.preset:nth-of-type(1)`)))
	waitFor(t, "the 7-day window", func() bool {
		loc, err := chromedp.Run(p.ctx, chromedp.Location())
		return err == nil && strings.Contains(loc, "from=")
	})
	p.do(chromedp.WaitVisible(chromedp.CSS(`.preset.active`)))
	if got := liveText(t, p, `.preset.active`); got != "7 days" {
		t.Errorf("active preset %q", got)
	}
	if after := liveText(t, p, "p.window"); after == before {
		t.Errorf("the 7-day preset did not change the window: %q", after)
	}

	// Choosing a project applies it and narrows the repository list to it.
	project := eval[string](t, p, `document.querySelector("select[name=project] option:nth-child(2)").value`)
	p.do(chromedp.SetValue(chromedp.CSS(`select[name="project"]`), project))
	waitFor(t, "the project's dashboard", func() bool {
		loc, err := chromedp.Run(p.ctx, chromedp.Location())
		return err == nil && strings.Contains(loc, "project="+url.QueryEscape(project))
	})
	p.do(chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
	waitFor(t, "the repository list narrowed to the project", func() bool {
		return eval[bool](t, p, `(function () {
			var groups = Array.from(document.querySelectorAll("select[name=repository] optgroup"));
			return groups.length > 1 && groups.every(function (g) { return g.hidden === (g.dataset.project !== `+fmt.Sprintf("%q", project)+`); });
		})()`)
	})

	// An inverted window is said in the page, with the navigation, and
	// inline before submitting (in a fresh browser: its own two minutes).
	p = newPage(t)
	signIn(p)
	p.do(chromedp.Navigate(base+"/?from=2026-11-20&to=2026-11-10"), chromedp.WaitVisible(chromedp.CSS(`#filter-problem`)))
	if got := p.text("#filter-problem"); !strings.Contains(got, "must be before") {
		t.Errorf("inverted window says %q", got)
	}
	if n := eval[int](t, p, `document.querySelectorAll("header nav a").length`); n == 0 {
		t.Error("the inverted window's page has no navigation")
	}
	p.do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`section.tiles`)))
	waitFor(t, "the dashboard's script", func() bool { return eval[bool](t, p, `document.documentElement.classList.contains("js")`) })
	loc0 := eval[string](t, p, `location.href`)
	p.do(chromedp.SetValue(chromedp.CSS(`input[name=to]`), "2020-01-01"))
	if got := p.text("#filter-problem"); !strings.Contains(got, "must be after its start") {
		t.Errorf("inline validation says %q", got)
	}
	if loc := eval[string](t, p, `location.href`); loc != loc0 {
		t.Errorf("an inverted window was submitted: %s", loc)
	}

	// The definitions page the link leads to.
	p.do(chromedp.Navigate(base+"/metrics/definitions"), chromedp.WaitVisible(chromedp.CSS(`#def-lead_time`)))
	if png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(shots, "definitions-laptop.png"), png, 0o644)
	}
	axeCheck(t, p, axe, "", "the definitions page")
	t.Logf("screenshots in %s", shots)
}

// simBuildWebURL asks the simulator (as Azure DevOps) for run id's
// _links.web.href, with a token minted through its control API.
func simBuildWebURL(t *testing.T, orgURL, id string) string {
	t.Helper()
	u, err := url.Parse(orgURL)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the simulator's own certificate
	get := func(method, target, token string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, target, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.SetBasicAuth("", token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s", method, target, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	var pat struct{ Token string }
	get("POST", u.Scheme+"://"+u.Host+"/_sim/pats", "", &pat)
	var info struct{ Projects []struct{ ID, Name string } }
	get("GET", u.Scheme+"://"+u.Host+"/_sim", "", &info)
	for _, pr := range info.Projects {
		req, _ := http.NewRequest("GET", orgURL+"/"+url.PathEscape(pr.Name)+"/_apis/build/builds/"+id+"?api-version=7.1", nil)
		req.SetBasicAuth("", pat.Token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Links struct {
				Web struct{ Href string } `json:"web"`
			} `json:"_links"`
		}
		err = json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		if resp.StatusCode == 200 && err == nil && b.Links.Web.Href != "" {
			return b.Links.Web.Href
		}
	}
	t.Fatalf("the simulator has no run %s in any project", id)
	return ""
}
