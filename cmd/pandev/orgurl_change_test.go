package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/integration"
)

// TestChangeOrganizationURL: the manual's "Update the URL in Settings →
// Integrations → Azure DevOps": another address of the same organization
// is checked and taken (the stored token is used; hooks stay; a
// reconciliation runs through the new address); another organization is
// refused with the way to connect it; a bad URL changes nothing.
func TestChangeOrganizationURL(t *testing.T) {
	cfg := testConfig(t, map[string]string{"PANDEV_ALLOW_HOSTS": "127.0.0.1:*,localhost:*"})
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond})
	sim := startSim(t, "")
	other, err := azdosim.New(azdosim.Options{Seed: 99, Profile: "small", Addr: "127.0.0.1:0"}) // other project ids
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	ws := connectWorkspace(t, r, sim, "admin@acme.example", "acme")
	b := newBrowser(t, r.URL())
	b.login("admin@acme.example", "a long enough password")
	before := integrationOf(t, r, ws)
	waitJobs(t, r, "register_hooks", 3) // every project's hooks, before the URL changes
	hooks := len(ours(simSubscriptions(t, sim), before.ID))

	var e errorBody
	if code := b.api("PUT", "/api/v1/integrations/azure-devops/org-url", map[string]string{"org_url": other.OrgURL(), "token": other.ManualPAT()}, &e); code != 409 ||
		!strings.Contains(e.Error.Message, "another organization") || !strings.Contains(e.Error.Hint, "Disconnect") {
		t.Fatalf("another organization: %d %+v", code, e)
	}
	if code := b.api("PUT", "/api/v1/integrations/azure-devops/org-url", map[string]string{"org_url": "not a url"}, &e); code != 400 {
		t.Fatalf("a bad URL: %d %+v", code, e)
	}
	if got := integrationOf(t, r, ws); got.OrgURL != before.OrgURL || got.TokenSealed != before.TokenSealed {
		t.Fatalf("refused changes changed the integration: %s", got.OrgURL)
	}

	renamed := strings.Replace(sim.OrgURL(), "127.0.0.1", "localhost", 1)
	var st integration.Status
	if code := b.api("PUT", "/api/v1/integrations/azure-devops/org-url", map[string]string{"org_url": renamed}, &st); code != 200 || st.OrgURL != renamed {
		t.Fatalf("the same organization at another address: %d %+v", code, st)
	}
	if after := len(ours(simSubscriptions(t, sim), before.ID)); hooks == 0 || after != hooks {
		t.Fatalf("service hooks: %d before the change, %d after", hooks, after)
	}
	// The reconciliation queued by the change reads through the new address.
	waitFor(t, "a sync through the new address", func() bool {
		in := integrationOf(t, r, ws)
		return in.LastSyncAt != nil && in.LastSyncAt.After(time.Now().Add(-time.Minute)) && in.ErrorMessage == ""
	})
	if code := b.api("POST", "/api/v1/integrations/azure-devops/sync", nil, nil); code != 202 && code != 200 {
		t.Fatalf("sync after the change: %d", code)
	}
}
