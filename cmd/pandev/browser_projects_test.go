package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/azdosim"
)

// TestBrowserProjectPickerAndLiveProgress: the project picker filters by
// name and selects every shown project at once; backfill progress moves on
// the page from the event stream, without a reload.
func TestBrowserProjectPickerAndLiveProgress(t *testing.T) {
	cfg := testConfig(t, nil)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond})
	sim := startSim(t, "")
	if err := sim.SetFaults(azdosim.FaultConfig{Latency: "60ms"}); err != nil { // a backfill of some seconds
		t.Fatal(err)
	}
	connectWorkspace(t, r, sim, "admin@acme.example", "acme")
	p := newPage(t)
	p.signInAt(r.URL(), "admin@acme.example", "a long enough password", "/settings/integrations/azure-devops")
	p.do(chromedp.WaitVisible(chromedp.CSS(`#projects`)))
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`window.__samePage = true`)); err != nil {
		t.Fatal(err)
	}
	// Live: the page refreshes its progress from the stream.
	deadline := time.Now().Add(waitLimit)
	for {
		n, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('projects').dataset.refreshed || ''`))
		if err != nil {
			t.Fatal(err)
		}
		if n != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the progress never refreshed from the event stream")
		}
		time.Sleep(100 * time.Millisecond)
	}
	same, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`window.__samePage === true`))
	if err != nil || !same {
		t.Fatalf("the page reloaded to show progress: %v", err)
	}

	// Search narrows the list; select-all acts on the shown rows only.
	names, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#projects tbody tr')).map(r => r.dataset.name)`))
	if err != nil || len(names) < 2 {
		t.Fatalf("projects: %v %v", names, err)
	}
	q := strings.ToLower(names[0][:3])
	p.do(chromedp.SendKeys(chromedp.CSS(`#project-search`), q))
	shown, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#projects tbody tr')).filter(r => !r.hidden).map(r => r.dataset.name)`))
	if err != nil || len(shown) == 0 || len(shown) == len(names) {
		t.Fatalf("search %q showed %v of %v", q, shown, names)
	}
	for _, n := range shown {
		if !strings.Contains(strings.ToLower(n), q) {
			t.Fatalf("search %q shows %q", q, n)
		}
	}
	if c := p.text(`#project-count`); !strings.Contains(c, "of") {
		t.Fatalf("count: %q", c)
	}
	p.do(chromedp.Click(chromedp.CSS(`#select-all`))) // all were selected: this clears the shown ones
	state, err := chromedp.Run(p.ctx, chromedp.Evaluate[map[string]bool](`Object.fromEntries(Array.from(document.querySelectorAll('#projects tbody tr')).map(r => [r.dataset.name, r.querySelector('input[name=selected]').checked]))`))
	if err != nil {
		t.Fatal(err)
	}
	for name, on := range state {
		hidden := !strings.Contains(strings.ToLower(name), q)
		if hidden != on {
			t.Fatalf("after select-all on the shown rows: %v (search %q)", state, q)
		}
	}
	p.shot("projects")
}
