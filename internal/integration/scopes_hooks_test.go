package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestHooksPerScopeSet registers a project's service hooks with each scope
// set of the matrix: every event whose publisher the token may read is
// subscribed (the classic release event on the release host), the others are
// listed as skipped with the scope they need, nothing is refused, and after
// Update token to a full-scope PAT the next registration adds exactly the
// skipped ones.
func TestHooksPerScopeSet(t *testing.T) {
	all := append(slices.Clone(azdosim.ManualScopes), "vso.release", "vso.environment_manage")
	cases := []struct {
		name    string
		scopes  []string
		skipped []string // publishers' scopes the token lacks, as the skipped reasons name them
	}{
		{"the manual's four", azdosim.ManualScopes, []string{"Release: Read"}},
		{"Code only", []string{"vso.code"}, []string{"Build: Read", "Release: Read", "Work Items: Read"}},
		{"Code + Threads", []string{"vso.code", "vso.threads_full"}, []string{"Build: Read", "Release: Read", "Work Items: Read"}},
		{"four + Release", append(slices.Clone(azdosim.ManualScopes), "vso.release"), nil},
		{"four + Environment", append(slices.Clone(azdosim.ManualScopes), "vso.environment_manage"), []string{"Release: Read"}},
		{"all", all, nil},
	}
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sim, err := azdosim.New(azdosim.Options{Seed: 3, Profile: "small", Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sim.Close() })
		keys, _ := secret.ParseKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				q := &noQueue{}
				svc := integration.New(integration.Options{DB: db, Keys: keys, Queue: q, AllowHosts: simHosts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
					PublicURL: "https://pandev.example.com/" + string(rune('a'+i))})
				ws, err := db.EnsureWorkspace(ctx, "hooks-"+string(rune('a'+i)), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Activate(ctx, ws.ID, sim.OrgURL(), sim.NewPAT(tc.scopes, "", time.Time{}), true); err != nil {
					t.Fatal(err)
				}
				id, project := selectFirstProject(t, svc, db, ws.ID)
				if err := svc.RegisterHooks(ctx, id, project); err != nil {
					t.Fatalf("registration stopped: %v", err)
				}
				st, err := svc.Status(ctx, ws.ID)
				if err != nil {
					t.Fatal(err)
				}
				var ps integration.ProjectStatus
				for _, p := range st.Projects {
					if p.ID == project {
						ps = p
					}
				}
				if len(ps.Hooks.Unavailable) != 0 {
					t.Errorf("refused: %v", ps.Hooks.Unavailable)
				}
				if got := skippedScopes(ps.Hooks.Skipped); !slices.Equal(got, tc.skipped) {
					t.Errorf("skipped for lack of %v, want %v (%v)", got, tc.skipped, ps.Hooks.Skipped)
				}
				subs := ourSubscriptions(t, svc, id, project)
				if want := 16 - len(ps.Hooks.Skipped); len(subs) != want || ps.Hooks.Enabled != want {
					t.Errorf("%d subscriptions (%d enabled), want %d", len(subs), ps.Hooks.Enabled, want)
				}
				if len(tc.skipped) == 0 {
					return
				}
				if _, err := svc.UpdateToken(ctx, ws.ID, sim.FullPAT()); err != nil {
					t.Fatal(err)
				}
				if err := svc.CheckHooks(ctx, id); err != nil { // the health check registers what the new scopes allow
					t.Fatal(err)
				}
				if got := ourSubscriptions(t, svc, id, project); len(got) != 16 {
					t.Errorf("after Update token: %d subscriptions, want all 16", len(got))
				}
			})
		}
	})
}

// skippedScopes are the scope labels the skipped reasons name, sorted and unique.
func skippedScopes(reasons []string) []string {
	var out []string
	for _, r := range reasons {
		if _, label, ok := strings.Cut(r, "the PAT lacks "); ok && !slices.Contains(out, label) {
			out = append(out, label)
		}
	}
	sort.Strings(out)
	return out
}

// ourSubscriptions lists the integration's subscriptions of a project, on both hosts.
func ourSubscriptions(t *testing.T, svc *integration.Service, id, project string) []azdo.Subscription {
	t.Helper()
	c, _, err := svc.Client(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := c.Subscriptions(context.Background(), azdo.SubscriptionFilter{ConsumerID: "webHooks"})
	if err != nil {
		t.Fatal(err)
	}
	var out []azdo.Subscription
	for _, s := range subs {
		if s.ProjectID() == project && strings.Contains(s.ConsumerInputs["url"], "pandev.example.com") && s.ConsumerInputs["basicAuthUsername"] == id {
			out = append(out, s)
		}
	}
	return out
}
