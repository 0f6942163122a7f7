package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// startGitHubSim runs a GitHub simulator over TLS on loopback (an
// Enterprise Server for the product: any host but github.com is one).
func startGitHubSim(t *testing.T) *githubsim.Sim {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{Seed: 11, TLS: true, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// startGitHubApp runs the simulator and a server that trusts it, with
// an admin of workspace acme signed in.
func startGitHubApp(t *testing.T, eng chaosEngine) (*githubsim.Sim, *running, *browser) {
	t.Helper()
	return startGitHubAppEnv(t, eng, nil)
}

// startGitHubAppEnv is startGitHubApp with more settings (env).
func startGitHubAppEnv(t *testing.T, eng chaosEngine, env map[string]string) (*githubsim.Sim, *running, *browser) {
	t.Helper()
	sim := startGitHubSim(t)
	settings := map[string]string{"PANDEV_DB": eng.dsn(t), "PANDEV_SECRET_KEY": "Z2l0aHViLWdpdGh1Yi1naXRodWItZ2l0aHViLTEyMzQ="}
	for k, v := range env {
		settings[k] = v
	}
	cfg := testConfig(t, settings)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond, GitHubHTTPClient: sim.HTTPClient(), LocalGitHub: true})
	if _, err := r.auth.CreateUser(context.Background(), "admin@acme.example", pw, "acme", store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, r.URL())
	if res := b.login("admin@acme.example", pw); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	return sim, r, b
}

type repositoryList struct {
	Repositories []struct {
		ID, FullName, Owner string
		Selected            bool
		Hook                integration.HookHealth
	} `json:"repositories"`
	Owners     []string `json:"owners"`
	AutoOwners []string `json:"auto_owners"`
}

// TestGitHubConnectionThroughTheAPI walks the GitHub connection through the
// JSON API of a running server on both engines, with the real job queue and
// the simulator delivering to /v1/github/webhook: a token without pull
// requests is refused naming the fix; the fix activates; selecting a
// repository registers its webhook (the registration job) and the
// simulator's signed deliveries land in the inbox; a forged signature is
// refused; deselecting removes the webhook; another workspace sees
// nothing; Disconnect removes every webhook.
func TestGitHubConnectionThroughTheAPI(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			sim, r, b := startGitHubApp(t, eng)
			var e errorBody
			noPRs := sim.NewFineGrainedToken(map[string]string{"contents": "read"})
			var check integration.CheckResult
			if code := b.api("POST", "/api/v1/integrations/github/check", map[string]string{"api_url": sim.URL(), "token": noPRs}, &check); code != 200 ||
				check.OK || !strings.Contains(check.Problems[0].Message, "Pull requests: Read") {
				t.Fatalf("check without pull requests: %d %+v", code, check)
			}
			if code := b.api("POST", "/api/v1/integrations/github", map[string]string{"api_url": sim.URL(), "token": noPRs}, &e); code != 400 ||
				!strings.Contains(e.Error.Hint, "Pull requests: Read") {
				t.Fatalf("activate without pull requests: %d %+v", code, e)
			}
			var st integration.Status
			if code := b.api("POST", "/api/v1/integrations/github", map[string]string{"api_url": sim.URL(), "token": sim.Token()}, &st); code != 201 ||
				st.State != "connected" || len(st.Projects) != len(sim.Repos()) {
				t.Fatalf("activate: %d %+v", code, st)
			}
			if code := b.api("GET", "/api/v1/integrations/github/projects", nil, &e); code != 404 || !strings.Contains(e.Error.Hint, "/repositories") {
				t.Fatalf("projects of GitHub: %d %+v", code, e)
			}
			var list repositoryList
			if code := b.api("GET", "/api/v1/integrations/github/repositories", nil, &list); code != 200 || len(list.Repositories) != len(sim.Repos()) {
				t.Fatalf("repositories: %d %+v", code, list)
			}
			repo := list.Repositories[0]
			if code := b.api("PUT", "/api/v1/integrations/github/repositories", map[string]any{"selected": []string{repo.ID}}, &list); code != 200 ||
				!list.Repositories[0].Selected {
				t.Fatalf("select: %d %+v", code, list)
			}
			waitJobs(t, r, "github_register_hook", 1)
			ds, err := sim.WaitDeliveries(ctxTimeout(t), 1) // the ping
			if err != nil {
				t.Fatal(err)
			}
			ins, _ := r.db.ListIntegrations(ctx, wsOf(t, r, "acme"), integration.GitHubProvider)
			in := ins[0]
			hook := ds[0].Headers
			if ds[0].StatusCode != 200 || !strings.HasPrefix(hook["X-Hub-Signature-256"], "sha256=") {
				t.Fatalf("the ping: %+v", ds[0])
			}
			if _, err := sim.Activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: repo.FullName}); err != nil {
				t.Fatal(err)
			}
			ds, err = sim.WaitDeliveries(ctxTimeout(t), 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.StatusCode != 200 {
					t.Fatalf("delivery %s: %d %s", d.Event, d.StatusCode, d.Status)
				}
				if ev, err := r.db.GetInboxEvent(ctx, in.ID, d.GUID); err != nil || ev.EventType != d.Event {
					t.Fatalf("delivery %s in the inbox: %+v %v", d.Event, ev, err)
				}
			}
			// A forged signature changes nothing.
			req, _ := http.NewRequest("POST", r.URL()+"/v1/github/webhook?integration="+in.ID, strings.NewReader(`{"zen":"x"}`))
			req.Header.Set("X-GitHub-Event", "ping")
			req.Header.Set("X-GitHub-Delivery", "forged-1")
			req.Header.Set("X-Hub-Signature-256", "sha256=00")
			req.Header.Set("Content-Type", "application/json")
			if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
				t.Fatalf("forged delivery: %v %v", res, err)
			}
			if _, err := r.db.GetInboxEvent(ctx, in.ID, "forged-1"); err == nil {
				t.Fatal("a forged delivery reached the inbox")
			}
			b.api("GET", "/api/v1/integrations/github/repositories", nil, &list)
			if !list.Repositories[0].Hook.Registered {
				t.Fatalf("hook health: %+v", list.Repositories[0])
			}

			// Another workspace sees nothing of it.
			if _, err := r.auth.CreateUser(ctx, "admin@other.example", pw, "other", store.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			ob := newBrowser(t, r.URL())
			ob.login("admin@other.example", pw)
			var ost integration.Status
			if code := ob.api("GET", "/api/v1/integrations/github", nil, &ost); code != 200 || ost.Connected {
				t.Fatalf("another workspace: %d %+v", code, ost)
			}
			if code := ob.api("GET", "/api/v1/integrations/github/repositories", nil, &e); code != 404 {
				t.Fatalf("another workspace's repositories: %d", code)
			}

			// Deselect: the hook is gone from the simulator.
			b.api("PUT", "/api/v1/integrations/github/repositories", map[string]any{"selected": []string{}}, &list)
			waitJobs(t, r, "github_remove_hook", 1)
			if n := hooksIn(sim); n != 0 {
				t.Fatalf("%d hooks after deselect", n)
			}
			// Whole organization: every repository selected, one hook each.
			var settings integration.Settings
			if code := b.api("PATCH", "/api/v1/integrations/github/settings", map[string]any{"auto_owners": []string{sim.Org()}}, &settings); code != 200 {
				t.Fatalf("settings: %d %+v", code, settings)
			}
			waitFor(t, "a hook on every repository", func() bool { return hooksIn(sim) == len(sim.Repos()) })
			var res integration.DisconnectResult
			if code := b.api("DELETE", "/api/v1/integrations/github?data=delete", nil, &res); code != 200 || res.HooksRemoved != len(sim.Repos()) {
				t.Fatalf("disconnect: %d %+v", code, res)
			}
			if n := hooksIn(sim); n != 0 {
				t.Fatalf("%d hooks after disconnect", n)
			}
		})
	}
}

func hooksIn(sim *githubsim.Sim) int {
	n := 0
	for _, r := range sim.Truth() {
		n += r.Hooks
	}
	return n
}

func wsOf(t *testing.T, r *running, name string) string {
	t.Helper()
	var id string
	if err := r.db.SQL().QueryRowContext(context.Background(), `SELECT id FROM workspaces WHERE name = $1`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestBrowserConnectGitHub follows Settings → Integrations → GitHub in
// Chromium at 1280 px: the index shows GitHub available, Check connection
// with a token without webhooks (the permission in amber with what it
// breaks), Activate, select a repository, the refusal shown with the fix,
// Update token, the webhook active; axe-core finds no serious or critical
// violation on the check and the connected page.
func TestBrowserConnectGitHub(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	sim := startGitHubSim(t)
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "admin@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond, GitHubHTTPClient: sim.HTTPClient(), LocalGitHub: true})
	axe := axeSource(t)
	b := newPage(t)
	text, do, ctx := b.text, b.do, b.ctx
	b.signInAt(r.URL(), "admin@example.com", pw, "/settings/integrations")
	do(chromedp.WaitVisible(chromedp.CSS(`li[data-provider="github"] a.button`)))
	if s := text(`li[data-provider="github"]`); strings.Contains(s, "Planned") {
		t.Fatalf("GitHub on the index: %q", s)
	}
	noHooks := sim.NewFineGrainedToken(map[string]string{"contents": "read", "pull_requests": "read", "issues": "read",
		"actions": "read", "deployments": "read"})
	do(chromedp.Click(chromedp.CSS(`li[data-provider="github"] a.button`)),
		chromedp.WaitVisible(chromedp.CSS(`form#connect`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="api_url"]`), sim.URL()),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), noHooks),
		chromedp.Click(chromedp.CSS(`button[value="check"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#check-result`)))
	if got := text("#check-title"); got != "Connection works" {
		t.Fatalf("check: %q", got)
	}
	if text("#check-kind") != "fine-grained" || !strings.Contains(text("#check-orgs"), sim.Org()) || text("#check-projects") == "0" {
		t.Fatal("the check shows the token kind, the organizations and the repositories")
	}
	if s := text(`#check-result li[data-scope="webhooks"]`); !strings.Contains(s, "live updates") || !strings.Contains(s, "admin:repo_hook") {
		t.Fatalf("the webhooks permission: %q", s)
	}
	b.shot("github-check")
	axeCheck(t, b, axe, "", "the GitHub check")
	do(chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), noHooks),
		chromedp.Click(chromedp.CSS(`button[value="activate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#badge`)))
	if got := text("#badge"); got != "Connected — limited" {
		t.Fatalf("badge: %q", got)
	}
	// Search narrows the list; pick the first repository shown and save.
	first := sim.Repos()[0]
	do(chromedp.SendKeys(chromedp.CSS(`#project-search`), first))
	waitFor(t, "the search to narrow the list", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#project-count`)))
		return err == nil && strings.Contains(s, "1 of")
	})
	do(chromedp.Click(chromedp.CSS(`#projects tr[data-name="`+first+`"] input[name="selected"]`)),
		chromedp.Click(chromedp.CSS(`#projects button[type="submit"]`)))
	waitFor(t, "the saved notice", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		return err == nil && strings.Contains(s, "Repositories saved")
	})
	waitJobs(t, r, "github_register_hook", 1)
	do(chromedp.Navigate(r.URL()+"/settings/integrations/github"), chromedp.WaitVisible(chromedp.CSS(`#projects`)))
	if s := text(`#projects tr[data-name="` + first + `"] td.hook`); !strings.Contains(s, "refused") || !strings.Contains(s, "Update token") {
		t.Fatalf("the refused webhook: %q", s)
	}
	// The fix: a token with webhooks.
	do(chromedp.SendKeys(chromedp.CSS(`#advanced input[name="token"]`), sim.Token()),
		chromedp.Click(chromedp.CSS(`#advanced form button`)))
	waitFor(t, "the token notice", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		return err == nil && strings.Contains(s, "Token updated")
	})
	waitJobs(t, r, "github_register_hook", 2)
	do(chromedp.Navigate(r.URL()+"/settings/integrations/github"), chromedp.WaitVisible(chromedp.CSS(`#projects`)))
	if got := text("#badge"); got != "Connected" {
		t.Fatalf("badge after the new token: %q", got)
	}
	if s := text(`#projects tr[data-name="` + first + `"] td.hook`); !strings.Contains(s, "active") {
		t.Fatalf("the webhook after the new token: %q", s)
	}
	b.shot("github-connected")
	axeCheck(t, b, axe, "", "the GitHub integration page")
}
