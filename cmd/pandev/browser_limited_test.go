package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/store"
)

// TestBrowserLimitedPAT walks the way out of a PAT without Build: Read in
// Chromium: Check connection is amber and names the scope, Activate asks
// for confirmation, the backfill completes everything else and the badge
// says "Connected — limited" with what is not collected, then Update token
// with a full PAT backfills the pipeline runs and the badge turns green.
func TestBrowserLimitedPAT(t *testing.T) {
	sim := startSim(t, "services")
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "admin@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond})
	b := newPage(t)
	limited := sim.NewPAT([]string{"vso.code", "vso.threads_full", "vso.work"}, "", time.Time{}) // no Build: Read
	text, do, shot, ctx := b.text, b.do, b.shot, b.ctx
	page := r.URL() + "/settings/integrations/azure-devops"
	pageText := func() string {
		if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
			return ""
		}
		s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		return s
	}

	b.signIn(r.URL(), "admin@example.com", pw)
	do(chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`form#connect`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="org_url"]`), sim.OrgURL()),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), limited),
		chromedp.Click(chromedp.CSS(`button[value="check"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#check-result`)))
	// 1. Amber, naming the scope and what it leaves out.
	shot("limited-check")
	if got := text("#check-title"); got != "Connection works — limited" {
		t.Fatalf("check title %q", got)
	}
	if got := text(`#scopes-required li[data-scope="build_read"]`); !strings.Contains(got, "✗ Build: Read") || !strings.Contains(got, "Pipeline runs are missing") {
		t.Fatalf("the missing scope and what it breaks: %q", got)
	}
	// 2. Activate asks for confirmation; nothing is created meanwhile.
	do(chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), limited),
		chromedp.Click(chromedp.CSS(`button[value="activate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-limited`)))
	if got := text(".problem strong"); !strings.Contains(got, "The token lacks Build: Read") {
		t.Fatalf("confirmation asked with %q", got)
	}
	if ins, _ := r.db.ListAllIntegrations(context.Background()); len(ins) != 0 {
		t.Fatalf("activated without confirmation: %d integrations", len(ins))
	}
	do(chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), limited),
		chromedp.Click(chromedp.CSS(`#confirm-limited input`)),
		chromedp.Click(chromedp.CSS(`button[value="activate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#badge`)))
	if got := text("#badge"); got != "Connected — limited" {
		t.Fatalf("badge %q", got)
	}
	// 3. A project's backfill completes everything else and says what is not collected.
	do(chromedp.Click(chromedp.CSS(`#projects input[name="selected"]`)),
		chromedp.Click(chromedp.CSS(`#projects button[type="submit"]`)))
	// The selection is saved before the page is loaded again: a navigation
	// right after the click could cancel the form's POST on a busy machine.
	waitFor(t, "the projects-saved notice", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		return err == nil && strings.Contains(s, "Projects saved")
	})
	waitFor(t, "the backfill to finish without the runs", func() bool {
		s := pageText()
		return strings.Contains(s, "done ·") && strings.Contains(s, "not collected: pipeline runs (needs Build: Read)")
	})
	shot("limited-connected")
	if got := text("#limited"); !strings.Contains(got, "Build: Read") || !strings.Contains(got, "Update token") {
		t.Fatalf("the limited box names the scope and the way out: %q", got)
	}
	if strings.Contains(text("#projects"), "left") {
		t.Fatal("a finished backfill shows no estimate")
	}
	key := integrationKey(t, r)
	if n := countRows(t, r.db, key, "runs"); n != 0 {
		t.Fatalf("%d runs stored without Build: Read", n)
	}
	if n := countRows(t, r.db, key, "commits"); n == 0 {
		t.Fatal("commits were not collected")
	}
	// 4. Update token: exactly the runs arrive, the badge turns green.
	do(chromedp.SendKeys(chromedp.CSS(`#advanced input[name="token"]`), sim.FullPAT()),
		chromedp.Click(chromedp.CSS(`#advanced form button`)))
	waitFor(t, "the token-updated notice", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		return err == nil && strings.Contains(s, "Token updated")
	})
	if got := text(".notice"); !strings.Contains(got, "unlock") {
		t.Fatalf("notice after a token with more scopes: %q", got)
	}
	waitFor(t, "the runs to be backfilled", func() bool {
		s := pageText()
		return strings.Contains(s, "done ·") && !strings.Contains(s, "not collected:")
	})
	if got := text("#badge"); got != "Connected" {
		t.Fatalf("badge after Update token: %q", got)
	}
	if n := countRows(t, r.db, key, "runs"); n == 0 {
		t.Fatal("no runs after Update token")
	}
}

// integrationKey is the only integration's key.
func integrationKey(t *testing.T, r *running) store.Key {
	t.Helper()
	ins, err := r.db.ListAllIntegrations(context.Background())
	if err != nil || len(ins) != 1 {
		t.Fatalf("integrations: %d %v", len(ins), err)
	}
	return store.Key{IntegrationID: ins[0].ID, WorkspaceID: ins[0].WorkspaceID}
}

// countRows counts stored commits or runs of the workspace.
func countRows(t *testing.T, db *store.DB, key store.Key, kind string) int {
	t.Helper()
	f := store.Filter{WorkspaceID: key.WorkspaceID, Limit: 1 << 20}
	var n int
	var err error
	switch kind {
	case "commits":
		var cs []store.Commit
		cs, err = db.ListCommits(context.Background(), f)
		n = len(cs)
	case "runs":
		var rs []store.PipelineRun
		rs, err = db.ListPipelineRuns(context.Background(), f)
		n = len(rs)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}
