package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/browsertest"
)

// TestBrowserDashboardOnDemoData runs `pandev demo`, signs in through
// Chromium and checks the dashboard as a team lead sees it: every tile has
// a number and a band, a project filter changes the numbers, a drill-down
// lists the deployments behind a figure. The screenshot is kept when
// PANDEV_SCREENSHOTS names a folder.
func TestBrowserDashboardOnDemoData(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
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
	i := strings.Index(out.String(), "open      ")
	base := strings.TrimSpace(strings.SplitN(out.String()[i+len("open      "):], "\n", 2)[0])

	b := browsertest.New(t)
	// The demo's live activity swaps the figures in place as it arrives
	// (the point of the page): a read that lands on a node just replaced
	// is read again from the new one.
	text := func(sel string) string {
		t.Helper()
		for attempt := 0; ; attempt++ {
			s, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(sel)))
			if err == nil {
				return s
			}
			if attempt == 5 || !strings.Contains(err.Error(), "No node") {
				t.Fatalf("%s: %v", sel, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := chromedp.Do(b, chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), demoEmail),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), demoPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.tiles`))); err != nil {
		t.Fatal(err)
	}
	// Focus inside the figures holds the live update while they are read
	// (dashboard.js skips a swap then): a read of a node being replaced
	// gave "" under load.
	pg := &page{t: t, ctx: b}
	hold(t, pg, `#tile-lead_time .more`)
	tiles, err := chromedp.Run(b, chromedp.Nodes(chromedp.CSSAll(`section.tiles .tile`)))
	if err != nil || len(tiles) != 4 {
		t.Fatalf("four DORA tiles: %d %v", len(tiles), err)
	}
	all := text("section.tiles")
	for _, id := range []string{"#tile-deployment_frequency", "#tile-lead_time", "#tile-change_failure_rate", "#tile-recovery"} {
		value, band := text(id+" .value"), text(id+" .band")
		if value == "no data" || band == "no band" || value == "" {
			t.Errorf("tile %s on demo data: value %q, band %q", id, value, band)
		}
	}
	if dir := os.Getenv("PANDEV_SCREENSHOTS"); dir != "" {
		if png, err := chromedp.Run(b, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "dashboard-demo.png"), png, 0o644)
		}
	}
	if rows, err := chromedp.Run(b, chromedp.Nodes(chromedp.CSSAll(`#deployments tbody tr`))); err != nil || len(rows) == 0 {
		t.Fatalf("the deployments drill-down lists the deployments behind the figure: %d %v", len(rows), err)
	}

	// Filter by one project: the numbers change, and the filter is kept in the URL.
	project, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector('select[name=project] option:nth-child(2)').value`))
	if err != nil || project == "" {
		t.Fatalf("a project to filter by: %q %v", project, err)
	}
	// The filter applies on change (SetValue fires it; no Apply button with script).
	if err := chromedp.Do(b, chromedp.SetValue(chromedp.CSS(`select[name="project"]`), project)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the filtered dashboard", func() bool {
		loc, err := chromedp.Run(b, chromedp.Location())
		return err == nil && strings.Contains(loc, "project="+project)
	})
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(`section.tiles`))); err != nil {
		t.Fatal(err)
	}
	hold(t, pg, `#tile-lead_time .more`)
	if filtered := text("section.tiles"); filtered == all {
		t.Fatalf("filtering by project %s did not change the tiles:\n%s", project, filtered)
	}
}
