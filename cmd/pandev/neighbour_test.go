package main

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TestSlowWorkspaceDoesNotStallAnother: workspace A's Azure DevOps stops
// answering (every call hangs ten minutes) while ten backfills and a
// reconciliation of A run; workspace B then connects and a pull request
// created in B's organization is stored from its webhook. Before lanes and
// the events queue, A's jobs held every worker: B's hook registration and
// its webhook drain waited until A's calls timed out (60 s each, retried).
func TestSlowWorkspaceDoesNotStallAnother(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig(t, map[string]string{"PANDEV_DB": eng.dsn(t), "PANDEV_SECRET_KEY": "Y2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtMTI="})
			r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond, LocalAzureDevOps: true})

			simA, err := azdosim.New(azdosim.Options{Seed: 3, Profile: "medium", Addr: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			if err := simA.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { simA.Close() })
			simB := startSim(t, "")

			wsA := connectWorkspace(t, r, simA, "a@example.com", "slow")
			if err := simA.SetFaults(azdosim.FaultConfig{Latency: "10m"}); err != nil {
				t.Fatal(err)
			}
			if err := r.integrations.SyncNow(ctx, wsA); err != nil {
				t.Fatal(err)
			}
			inA := integrationOf(t, r, wsA)
			waitFor(t, "A's jobs hanging on its Azure DevOps", func() bool {
				return r.queue.Running(inA.ID) >= jobs.DefaultPerIntegration
			})

			wsB := connectWorkspace(t, r, simB, "b@example.com", "fast")
			inB := integrationOf(t, r, wsB)
			projects, err := r.db.ListProjects(ctx, store.Key{IntegrationID: inB.ID, WorkspaceID: wsB}, true)
			if err != nil || len(projects) == 0 {
				t.Fatalf("B's projects: %v %v", projects, err)
			}
			project := projects[0].ProjectID
			// A bound, not a timing assertion: A's calls hang for ten
			// minutes and time out after one, so B waiting behind them
			// would take longer than this.
			within := func(what string, cond func() bool) {
				t.Helper()
				deadline := time.Now().Add(45 * time.Second)
				for !cond() {
					if time.Now().After(deadline) {
						t.Fatalf("%s waited behind the stuck workspace (%d of its jobs running)", what, runningJobs(t, r, inA.ID))
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			within("B's service hooks", func() bool {
				hs, err := r.db.ListHookSubscriptions(ctx, store.Key{IntegrationID: inB.ID, WorkspaceID: wsB}, project)
				return err == nil && len(hs) > 0
			})
			act, err := simB.Activity(azdosim.ActivityRequest{Kind: "pull_request_created", Project: project})
			if err != nil {
				t.Fatal(err)
			}
			var prID int64
			for _, it := range act.Items {
				if it.Kind == "pull_request" {
					fmt.Sscan(it.ID, &prID)
				}
			}
			within(fmt.Sprintf("B's PR %d from its webhook", prID), func() bool {
				prs, err := r.db.PullRequestsNumbered(ctx, wsB, inB.ID, prID)
				return err == nil && len(prs) == 1
			})
			if n := r.queue.Running(inA.ID); n > jobs.DefaultPerIntegration+2 {
				t.Fatalf("A runs %d jobs at once; one integration's lanes hold %d", n, jobs.DefaultPerIntegration+2)
			}
		})
	}
}

// connectWorkspace creates an admin in a new workspace and connects it to
// sim the way an admin does.
func connectWorkspace(t *testing.T, r *running, sim *azdosim.Sim, email, workspace string) string {
	t.Helper()
	u, err := r.auth.CreateUser(context.Background(), email, "a long enough password", workspace, store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if err := connectDemo(context.Background(), r.app, sim, u.WorkspaceID, io.Discard); err != nil {
		t.Fatalf("connect %s: %v", workspace, err)
	}
	return u.WorkspaceID
}

func integrationOf(t *testing.T, r *running, workspaceID string) store.Integration {
	t.Helper()
	ins, err := r.db.ListIntegrations(context.Background(), workspaceID, "azure-devops")
	if err != nil || len(ins) != 1 {
		t.Fatalf("integrations of %s: %v %v", workspaceID, ins, err)
	}
	return ins[0]
}

// runningJobs counts the integration's jobs running now.
func runningJobs(t *testing.T, r *running, integrationID string) int {
	t.Helper()
	var n int
	if err := r.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job
		WHERE state = 'running' AND CAST(args AS TEXT) LIKE $1`, "%"+integrationID+"%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
