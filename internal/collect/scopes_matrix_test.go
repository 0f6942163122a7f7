package collect_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// allSimScopes is what the full-scope PAT reads.
var allSimScopes = append(slices.Clone(azdosim.ManualScopes), "vso.release", "vso.environment_manage")

// TestScopeMatrix backfills and reconciles the small organization with the
// PAT scope sets an admin may create: every resource the PAT can read
// equals the simulator's truth, every other one is marked blocked with the
// scope that fixes it, and nothing stops. Then the token is replaced by a
// full-scope one (as Update token does): exactly the blocked resources are
// read, nothing else, and everything equals the truth.
func TestScopeMatrix(t *testing.T) {
	cases := []struct {
		name    string
		scopes  []string
		blocked map[string]azdo.Scope // resource → the scope it is blocked on
	}{
		{"the manual's four", azdosim.ManualScopes, map[string]azdo.Scope{
			"environment_deployments": azdo.ScopeEnvironmentManage, "release_deployments": azdo.ScopeReleaseRead}},
		{"Code only", []string{"vso.code"}, map[string]azdo.Scope{
			"pipeline_runs": azdo.ScopeBuildRead, "environment_deployments": azdo.ScopeEnvironmentManage,
			"release_deployments": azdo.ScopeReleaseRead, "work_items": azdo.ScopeWorkItemsRead}},
		{"Code + Threads", []string{"vso.code", "vso.threads_full"}, map[string]azdo.Scope{
			"pipeline_runs": azdo.ScopeBuildRead, "environment_deployments": azdo.ScopeEnvironmentManage,
			"release_deployments": azdo.ScopeReleaseRead, "work_items": azdo.ScopeWorkItemsRead}},
		{"four + Release", append(slices.Clone(azdosim.ManualScopes), "vso.release"), map[string]azdo.Scope{
			"environment_deployments": azdo.ScopeEnvironmentManage}},
		{"four + Environment", append(slices.Clone(azdosim.ManualScopes), "vso.environment_manage"), map[string]azdo.Scope{
			"release_deployments": azdo.ScopeReleaseRead}},
		{"all", allSimScopes, map[string]azdo.Scope{}},
	}
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		frozen := time.Now()
		now := func() time.Time { return frozen }
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				pat := sim.NewPAT(tc.scopes, "", time.Time{})
				e := newSimEnvPAT(t, db, sim, "matrix"+string(rune('a'+i)), now, pat, tc.scopes)
				if err := e.backfill(ctx); err != nil {
					t.Fatalf("backfill stopped: %v", err)
				}
				from := e.window() // every project finished
				e.compareWithTruth(from)
				if got := e.blocked(); !maps.Equal(got, tc.blocked) {
					t.Errorf("blocked after the backfill: %v, want %v", got, tc.blocked)
				}
				run, err := e.c.Reconcile(ctx, e.key.IntegrationID)
				if err != nil || run.Error != "" {
					t.Fatalf("reconciliation stopped: %v %q", err, run.Error)
				}
				if got := e.blocked(); !maps.Equal(got, tc.blocked) {
					t.Errorf("blocked after a reconciliation: %v, want %v", got, tc.blocked)
				}
				if len(tc.blocked) == 0 {
					return
				}

				// Update token to a full-scope PAT: what it unlocks, nothing else.
				e.useToken(sim.FullPAT(), allSimScopes)
				var reopened []string
				if err := db.InTx(ctx, func(tx *store.Tx) error {
					reopened, err = collect.Unblock(ctx, tx, e.key, azure.Resources, func(string) bool { return true })
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if len(reopened) != len(e.projects) {
					t.Errorf("reopened %d projects, want all %d", len(reopened), len(e.projects))
				}
				e.calls.byArea()
				if err := e.backfill(ctx); err != nil {
					t.Fatalf("backfill after the new token: %v", err)
				}
				areas := e.calls.byArea()
				allowed := map[string]bool{"other": true}
				for res := range tc.blocked {
					switch res {
					case "pipeline_runs":
						allowed["build"], allowed["pipelines"] = true, true
					case "work_items":
						allowed["wit"] = true
					case "release_deployments":
						allowed["release"] = true
					case "environment_deployments":
						allowed["distributedtask"], allowed["build"] = true, true // records lead to their runs
					}
				}
				for a, n := range areas {
					if !allowed[a] && n > 0 {
						t.Errorf("%d %s calls after the new token, though that was collected already: %v", n, a, areas)
					}
				}
				e.compareWithTruth(e.window())
				if got := e.blocked(); len(got) != 0 {
					t.Errorf("still blocked with every scope: %v", got)
				}
				t.Logf("after Update token: %v", areas)
			})
		}
	})
}

// blocked lists the resources any project has blocked, with the scope.
func (e *simEnv) blocked() map[string]azdo.Scope {
	e.t.Helper()
	ps, err := collect.Progress(context.Background(), e.db, e.key, azure.Resources)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]azdo.Scope{}
	for _, p := range ps {
		for _, b := range p.Blocked {
			if prev, ok := out[b.Resource]; ok && prev != azdo.Scope(b.Scope) {
				e.t.Errorf("%s blocked on %s and %s", b.Resource, prev, b.Scope)
			}
			out[b.Resource] = azdo.Scope(b.Scope)
			if b.Label == "" || b.Message == "" || !strings.Contains(b.Hint, "Update token") {
				e.t.Errorf("blocked %s says too little: %+v", b.Resource, b.Blocked)
			}
		}
	}
	return out
}

// useToken gives the environment's collector a client with another PAT.
func (e *simEnv) useToken(pat string, scopes []string) {
	e.t.Helper()
	e.client, e.calls = testClient(e.t, e.sim, pat)
	in, err := e.db.GetIntegrationByID(context.Background(), e.key.IntegrationID)
	if err != nil {
		e.t.Fatal(err)
	}
	e.c.AttachSource(azure.New(clients{client: e.client, in: in}))
	e.scopes = map[string]bool{}
	for _, sc := range scopes {
		e.scopes[sc] = true
	}
}

// TestReconcilePicksUpScopesAddedToTheToken: Azure DevOps lets an admin
// edit a PAT's scopes without a new token. A reconciliation (Sync now)
// probes each blocked resource's scope once, unblocks what is granted now
// and reopens the backfill, which reads exactly those resources.
func TestReconcilePicksUpScopesAddedToTheToken(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		pat := sim.NewPAT(azdosim.ManualScopes, "", time.Time{})
		e := newSimEnvPAT(t, db, sim, "edited", time.Now, pat, azdosim.ManualScopes)
		if err := e.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		e.window()
		if got := e.blocked(); len(got) != 2 {
			t.Fatalf("blocked with the manual's PAT: %v", got)
		}
		// A reconciliation with nothing granted since: the blocks stand.
		if _, err := e.c.Reconcile(ctx, e.key.IntegrationID); err != nil {
			t.Fatal(err)
		}
		if got := e.blocked(); len(got) != 2 {
			t.Fatalf("blocked after a reconciliation: %v", got)
		}
		// The admin adds Release: Read to the same token.
		scopes := append(slices.Clone(azdosim.ManualScopes), "vso.release")
		if err := sim.SetPATScopes(pat, scopes); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.Reconcile(ctx, e.key.IntegrationID); err != nil {
			t.Fatal(err)
		}
		if got := e.blocked(); !maps.Equal(got, map[string]azdo.Scope{"environment_deployments": azdo.ScopeEnvironmentManage}) {
			t.Fatalf("blocked after the scope was added: %v", got)
		}
		in, err := db.GetIntegrationByID(ctx, e.key.IntegrationID)
		if err != nil || !strings.Contains(in.Scopes, `"release_read":"granted"`) {
			t.Fatalf("stored scopes %s, %v", in.Scopes, err)
		}
		e.calls.byArea()
		if err := e.backfill(ctx); err != nil { // the job the reconciliation queued
			t.Fatal(err)
		}
		if areas := e.calls.byArea(); areas["git"]+areas["build"]+areas["wit"] > 0 || areas["release"] == 0 {
			t.Errorf("the reopened backfill read %v, want only the release deployments", areas)
		}
		e.scopes = map[string]bool{}
		for _, sc := range scopes {
			e.scopes[sc] = true
		}
		e.compareWithTruth(e.window())
	})
}
