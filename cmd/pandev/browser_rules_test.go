package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRulesAndIntegrations: Settings opens on the Integrations list
// (Azure DevOps connected, GitHub planned); Rules are the workspace's: a
// pattern that does not compile is refused on the page with what was typed
// kept, a valid one is saved, a project gets its own rules and goes back to
// the workspace's. Disconnect keeps the data, then deletes it.
func TestBrowserRulesAndIntegrations(t *testing.T) {
	cfg := testConfig(t, nil)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond})
	sim := startSim(t, "")
	ws := connectWorkspace(t, r, sim, "admin@acme.example", "acme")
	p := newPage(t)
	p.signInAt(r.URL(), "admin@acme.example", "a long enough password", "/settings/integrations")
	p.do(chromedp.WaitVisible(chromedp.CSS(`#integrations`)))
	if row := p.text(`li[data-provider="azure-devops"]`); !strings.Contains(row, "Connected") || !strings.Contains(row, "Manage") {
		t.Fatalf("Azure DevOps on the list: %q", row)
	}
	if row := p.text(`li[data-provider="github"]`); !strings.Contains(row, "Connect GitHub") {
		t.Fatalf("GitHub on the list: %q", row)
	}
	if row := p.text(`li[data-provider="gitlab"]`); !strings.Contains(row, "Planned") {
		t.Fatalf("GitLab on the list: %q", row)
	}

	p.do(chromedp.Click(chromedp.CSS(`nav.tabs a[href="/settings/rules"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#rules`)),
		chromedp.SendKeys(chromedp.CSS(`#rules input[name="production_rule"]`), "(unclosed"),
		chromedp.Click(chromedp.CSS(`#rules button[value="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`div.problem`)))
	typed, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS(`#rules input[name="production_rule"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if msg := p.text(`div.problem`); typed != "(unclosed" || !strings.Contains(strings.ToLower(msg), "production") {
		t.Fatalf("refused rule: %q, field %q", msg, typed)
	}
	p.do(chromedp.SetValue(chromedp.CSS(`#rules input[name="production_rule"]`), "^prod$"),
		chromedp.Click(chromedp.CSS(`#rules button[value="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	p.do(chromedp.SendKeys(chromedp.CSS(`#add-project-rules input[name="production_rule"]`), "^live$"),
		chromedp.Click(chromedp.CSS(`#add-project-rules button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#project-rules tr[data-project]`)))
	if row := p.text(`#project-rules tr[data-project]`); !strings.Contains(row, "^live$") {
		t.Fatalf("project's own rules: %q", row)
	}
	p.shot("rules")
	rules, err := r.db.GetWorkspaceRules(context.Background(), ws)
	if err != nil || rules.Default.ProductionRule != "^prod$" || len(rules.Projects) != 1 {
		t.Fatalf("stored: %+v %v", rules, err)
	}
	p.do(chromedp.Click(chromedp.CSS(`#project-rules tr[data-project] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#project-rules tr[data-project]`)))
	if n := p.text(`p.notice`); !strings.Contains(n, "follows the workspace rules") {
		t.Fatalf("notice: %q", n)
	}
	if rules, err = r.db.GetWorkspaceRules(context.Background(), ws); err != nil || len(rules.Projects) != 0 {
		t.Fatalf("the project still has its own rules: %+v %v", rules, err)
	}

	// Disconnect, keeping the data: the page says so and offers to connect
	// again (the URL filled in) or to delete the kept data.
	p.do(chromedp.Click(chromedp.CSS(`nav.tabs a[href="/settings/integrations"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#integrations`)),
		chromedp.Click(chromedp.CSS(`li[data-provider="azure-devops"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#disconnect`)),
		chromedp.Click(chromedp.CSS(`#disconnect input[name="confirm"]`)),
		chromedp.Click(chromedp.CSS(`#disconnect button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#disconnected`)))
	if n := p.text(`p.notice`); !strings.Contains(n, "stays on the dashboard") {
		t.Fatalf("notice after disconnecting: %q", n)
	}
	url, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS(`#connect input[name="org_url"]`)))
	if err != nil || url != sim.OrgURL() {
		t.Fatalf("the connect form's URL: %q %v", url, err)
	}
	p.shot("disconnected")
	p.do(chromedp.Click(chromedp.CSS(`#delete-kept input[name="confirm"]`)),
		chromedp.Click(chromedp.CSS(`#delete-kept button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#disconnected`)))
	if n := p.text(`p.notice`); !strings.Contains(n, "deleted") {
		t.Fatalf("notice after deleting: %q", n)
	}
	if ins, err := r.db.ListIntegrations(context.Background(), ws, ""); err != nil || len(ins) != 0 {
		t.Fatalf("integrations left: %v %v", ins, err)
	}
}
