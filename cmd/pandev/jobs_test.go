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

// TestWorkspaceJobsAndRetry walks a failure a workspace admin meets on
// their own screen: Azure DevOps refuses to register service hooks (500),
// Background work on the Azure DevOps settings page shows the job failing
// with its error, the admin retries it once the cause is gone, and the
// hooks get registered. Another workspace's admin neither sees nor retries
// the job (before, the only job screen was /admin/jobs, the whole shared
// queue, open to every workspace admin).
func TestWorkspaceJobsAndRetry(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig(t, map[string]string{"PANDEV_DB": eng.dsn(t),
				"PANDEV_SECRET_KEY": "Y2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtMTI="})
			r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond, LocalAzureDevOps: true})
			sim, other := startSim(t, ""), startSim(t, "")
			if err := sim.SetFaults(azdosim.FaultConfig{Rules: []azdosim.FaultRule{
				{Match: "hooks/subscriptions", Method: "POST", Status: 500}}}); err != nil {
				t.Fatal(err)
			}
			ws := connectWorkspace(t, r, sim, "admin@acme.example", "acme")
			connectWorkspace(t, r, other, "admin@other.example", "other")
			in := integrationOf(t, r, ws)

			b := newBrowser(t, r.URL())
			if res := b.login("admin@acme.example", "a long enough password"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign in: %d", res.StatusCode)
			}
			var failed integration.Job
			waitFor(t, "the hook registration failing in Background work", func() bool {
				var got struct{ Jobs []integration.Job }
				if code := b.api("GET", "/api/v1/integrations/azure-devops/jobs", nil, &got); code != 200 {
					t.Fatalf("jobs: %d", code)
				}
				for _, j := range got.Jobs {
					if j.Kind == "register_hooks" && j.Error != "" {
						failed = j
						return true
					}
				}
				return false
			})
			if !strings.Contains(failed.Error, "500") && !strings.Contains(strings.ToLower(failed.Error), "server") {
				t.Errorf("the error does not say what failed: %q", failed.Error)
			}
			_, page := b.do("GET", "/settings/integrations/azure-devops", "", nil, nil)
			for _, want := range []string{"Background work", "Service hook registration", "Last error"} {
				if !strings.Contains(page, want) {
					t.Fatalf("the settings page lacks %q", want)
				}
			}

			// Another workspace: the job does not exist for it.
			o := newBrowser(t, r.URL())
			if res := o.login("admin@other.example", "a long enough password"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign in: %d", res.StatusCode)
			}
			var theirs struct{ Jobs []integration.Job }
			o.api("GET", "/api/v1/integrations/azure-devops/jobs", nil, &theirs)
			for _, j := range theirs.Jobs {
				if j.ID == failed.ID {
					t.Fatalf("another workspace lists job %d", j.ID)
				}
			}
			if code := o.api("POST", fmt.Sprintf("/api/v1/integrations/azure-devops/jobs/%d/retry", failed.ID), nil, nil); code != http.StatusNotFound {
				t.Fatalf("another workspace retried job %d: %d", failed.ID, code)
			}

			// The cause is gone; Retry (the page's button) runs it now. The
			// job may be running its own retry at that moment: the button
			// then says so, and the admin presses it again.
			if err := sim.SetFaults(azdosim.FaultConfig{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the hooks registered after Retry", func() bool {
				hs, err := r.db.ListHookSubscriptions(ctx, store.Key{IntegrationID: in.ID, WorkspaceID: ws}, "")
				if err == nil && len(hs) > 0 {
					return true
				}
				res, _ := b.do("POST", fmt.Sprintf("/settings/integrations/azure-devops/jobs/%d/retry", failed.ID), "application/x-www-form-urlencoded",
					nil, map[string]string{"Origin": b.base, "Sec-Fetch-Site": "same-origin"})
				if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusPreconditionFailed && res.StatusCode != http.StatusConflict {
					t.Fatalf("retry: %d", res.StatusCode)
				}
				time.Sleep(500 * time.Millisecond)
				return false
			})
			waitFor(t, "the job done", func() bool {
				var after struct{ Jobs []integration.Job }
				b.api("GET", "/api/v1/integrations/azure-devops/jobs", nil, &after)
				for _, j := range after.Jobs {
					if j.ID == failed.ID {
						return j.State == "done"
					}
				}
				return false
			})
			// A done job needs no retry, and the answer says why.
			var refused struct{ Error struct{ Message string } }
			if code := b.api("POST", fmt.Sprintf("/api/v1/integrations/azure-devops/jobs/%d/retry", failed.ID), nil, &refused); code != http.StatusConflict ||
				!strings.Contains(refused.Error.Message, "only a failed") {
				t.Fatalf("retrying a done job: %d %+v", code, refused)
			}
		})
	}
}
