package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TestDisconnectKeepThenDelete walks Disconnect both ways on both engines:
// keeping the data removes every service hook in Azure DevOps, cancels the
// waiting jobs, refuses deliveries and keeps the rows on the dashboard;
// Activate with another URL is refused (the kept data is of the first) and
// with the same URL connects again (hooks back, new activity arrives);
// deleting then removes every row collected.
func TestDisconnectKeepThenDelete(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig(t, map[string]string{"PANDEV_DB": eng.dsn(t),
				"PANDEV_SECRET_KEY": "Y2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtMTI="})
			r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond, LocalAzureDevOps: true})
			sim := startSim(t, "")
			ws := connectWorkspace(t, r, sim, "admin@acme.example", "acme")
			in := integrationOf(t, r, ws)
			k := store.Key{IntegrationID: in.ID, WorkspaceID: ws}
			waitFor(t, "the hooks and some commits", func() bool {
				hs, _ := r.db.ListHookSubscriptions(ctx, k, "")
				return len(hs) > 0 && len(ours(simSubscriptions(t, sim), in.ID)) > 0 && commitCount(t, r, ws) > 0
			})
			b := newBrowser(t, r.URL())
			b.login("admin@acme.example", "a long enough password")

			// Every selected project's hooks (three projects): registration is
			// done when the count stops growing.
			registered := func() int { return len(ours(simSubscriptions(t, sim), in.ID)) }
			waitFor(t, "every hook registered", func() bool {
				n := registered()
				time.Sleep(300 * time.Millisecond)
				return n > 0 && registered() == n
			})
			hooksBefore := registered()
			var e errorBody
			if code := b.api("DELETE", "/api/v1/integrations/azure-devops", nil, &e); code != 400 || !strings.Contains(e.Error.Message, "data=keep") {
				t.Fatalf("disconnect without a choice: %d %+v", code, e)
			}
			var res integration.DisconnectResult
			if code := b.api("DELETE", "/api/v1/integrations/azure-devops?data=keep", nil, &res); code != 200 || res.Data != "kept" || res.HooksRemoved == 0 || len(res.HooksLeft) > 0 {
				t.Fatalf("disconnect keeping the data: %d %+v", code, res)
			}
			if left := ours(simSubscriptions(t, sim), in.ID); len(left) > 0 {
				t.Fatalf("%d service hooks are left in Azure DevOps", len(left))
			}
			kept := commitCount(t, r, ws)
			if kept == 0 {
				t.Fatal("the kept data is gone")
			}
			var st integration.Status
			b.api("GET", "/api/v1/integrations/azure-devops", nil, &st)
			if st.State != "disconnected" || st.Connected || st.Disconnected == nil {
				t.Fatalf("status after disconnect: %+v", st)
			}
			// A delivery for it is refused like a stranger's.
			req, _ := http.NewRequest("POST", r.URL()+"/v1/azure/webhook/project", strings.NewReader(`{"id":"late","eventType":"git.push","resource":{}}`))
			req.SetBasicAuth(in.ID, "whatever")
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
				t.Fatalf("delivery after disconnect: %v %v", resp, err)
			}
			if code := b.api("POST", "/api/v1/integrations/azure-devops/sync", nil, &e); code != 409 || !strings.Contains(e.Error.Message, "disconnected") {
				t.Fatalf("sync while disconnected: %d %+v", code, e)
			}

			// Another organization is refused while the data is kept.
			other := startSim(t, "")
			if code := b.api("POST", "/api/v1/integrations/azure-devops", map[string]any{"org_url": other.OrgURL(), "token": other.ManualPAT()}, &e); code != 409 ||
				!strings.Contains(e.Error.Message, "kept") {
				t.Fatalf("activate another org: %d %+v", code, e)
			}
			// The same one connects again: hooks back, new activity arrives.
			if code := b.api("POST", "/api/v1/integrations/azure-devops", map[string]any{"org_url": sim.OrgURL(), "token": sim.ManualPAT()}, &st); code != 201 || !st.Connected {
				t.Fatalf("connect again: %d %+v", code, st)
			}
			waitFor(t, "the hooks registered again", func() bool { return registered() >= hooksBefore })
			projects, _ := r.db.ListProjects(ctx, k, true)
			if len(projects) == 0 {
				t.Fatal("the selection was lost")
			}
			act, err := sim.Activity(azdosim.ActivityRequest{Kind: "pull_request_created", Project: projects[0].ProjectID})
			if err != nil {
				t.Fatal(err)
			}
			var prID int64
			for _, it := range act.Items {
				if it.Kind == "pull_request" {
					fmt.Sscan(it.ID, &prID)
				}
			}
			// By its webhook; on a loaded machine a delivery can be retried
			// later than the wait, and Sync now (a reconciliation with the
			// new token) is the way out the screen offers.
			stored := func() bool {
				prs, err := r.db.PullRequestsNumbered(ctx, ws, in.ID, prID)
				return err == nil && len(prs) == 1
			}
			for deadline := time.Now().Add(20 * time.Second); !stored() && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
			}
			if !stored() {
				if code := b.api("POST", "/api/v1/integrations/azure-devops/sync", nil, nil); code != 202 && code != 200 {
					t.Fatalf("sync after connecting again: %d", code)
				}
			}
			waitFor(t, "a new PR after connecting again", stored)

			// Delete: every row collected through it goes.
			if code := b.api("DELETE", "/api/v1/integrations/azure-devops?data=delete", nil, &res); code != 200 || res.Data != "deleted" {
				t.Fatalf("disconnect deleting the data: %d %+v", code, res)
			}
			if n := commitCount(t, r, ws); n != 0 {
				t.Fatalf("%d commits left after deleting", n)
			}
			var gone integration.Status
			b.api("GET", "/api/v1/integrations/azure-devops", nil, &gone)
			if gone.Connected || gone.State != "" {
				t.Fatalf("status after deleting: %+v", gone)
			}
			if left := ours(simSubscriptions(t, sim), in.ID); len(left) > 0 {
				t.Fatalf("%d service hooks are left in Azure DevOps", len(left))
			}
		})
	}
}

// ours are the simulator's subscriptions that deliver to this integration.
func ours(subs []simSubscription, integrationID string) []simSubscription {
	var out []simSubscription
	for _, s := range subs {
		if s.ConsumerInputs["basicAuthUsername"] == integrationID {
			out = append(out, s)
		}
	}
	return out
}

func commitCount(t *testing.T, r *running, ws string) int {
	t.Helper()
	var n int
	if err := r.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM commits WHERE workspace_id = $1`, ws).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
