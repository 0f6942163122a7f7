package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// noQueue records jobs instead of running them; these tests call the job
// bodies directly.
type noQueue struct{ jobs []river.JobArgs }

// simHosts lists the loopback address the simulator listens on (plain
// http, release host on another port): the client refuses it otherwise.
var simHosts = netguard.MustParse("127.0.0.1:*")

func (q *noQueue) InsertTx(_ context.Context, _ *store.Tx, args river.JobArgs, _ *river.InsertOpts) error {
	q.jobs = append(q.jobs, args)
	return nil
}

func setup(t *testing.T, db *store.DB) (*integration.Service, *azdosim.Sim, string, *noQueue) {
	t.Helper()
	sim, err := azdosim.New(azdosim.Options{Seed: 3, Profile: "small", Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	keys, _ := secret.ParseKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	q := &noQueue{}
	svc := integration.New(integration.Options{DB: db, Keys: keys, Queue: q, AllowHosts: simHosts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PublicURL: "https://pandev.example.com"})
	ws, err := db.EnsureWorkspace(context.Background(), "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Activate(context.Background(), ws.ID, sim.OrgURL(), sim.ManualPAT(), false); err != nil {
		t.Fatal(err)
	}
	return svc, sim, ws.ID, q
}

// selectFirstProject selects the workspace's first project and returns the
// integration and project ids.
func selectFirstProject(t *testing.T, svc *integration.Service, db *store.DB, ws string) (integrationID, project string) {
	t.Helper()
	ctx := context.Background()
	st, err := svc.Status(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	project = st.Projects[0].ID
	if _, err := svc.SelectProjects(ctx, ws, []string{project}); err != nil {
		t.Fatal(err)
	}
	in, err := db.ListIntegrations(ctx, ws, integration.Provider)
	if err != nil {
		t.Fatal(err)
	}
	return in[0].ID, project
}

// TestHookHealthRecreatesLostSubscriptions: a subscription removed or
// disabled in Azure DevOps is back after the periodic check, once.
func TestHookHealthRecreatesLostSubscriptions(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _, ws, q := setup(t, db)
		id, project := selectFirstProject(t, svc, db, ws)
		if len(q.jobs) != 1 || q.jobs[0].Kind() != "register_hooks" {
			t.Fatalf("selection queues the hook registration: %v", q.jobs)
		}
		if err := svc.RegisterHooks(ctx, id, project); err != nil {
			t.Fatal(err)
		}
		c, _, err := svc.Client(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		subs, err := c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
		if err != nil || len(subs) == 0 {
			t.Fatalf("subscriptions: %d %v", len(subs), err)
		}
		want := len(subs)
		if err := c.DeleteSubscription(ctx, subs[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.CheckHooks(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := svc.CheckHooks(ctx, id); err != nil { // a second check changes nothing
			t.Fatal(err)
		}
		subs, _ = c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
		if len(subs) != want {
			t.Fatalf("after the health check: %d subscriptions, want %d", len(subs), want)
		}
	})
}

// TestSettingsNeedThreadsWrite: PR comments cannot be switched on when the
// token lacks Pull Request Threads: Read & write, and bad rules are refused.
func TestSettingsNeedThreadsWrite(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	svc, sim, ws, _ := setup(t, db)
	if _, err := svc.UpdateSettings(ctx, ws, integration.Settings{PostPRComments: true}); err != nil {
		t.Fatalf("full token: %v", err)
	}
	if _, err := svc.UpdateSettings(ctx, ws, integration.Settings{RuleSettings: store.RuleSettings{ProductionRule: "(unclosed"}}); err == nil {
		t.Fatal("an invalid production rule must be refused")
	}
	readOnly := sim.NewPAT([]string{"vso.code", "vso.build", "vso.work", "vso.project"}, "", time.Time{})
	if _, err := svc.UpdateToken(ctx, ws, readOnly); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateSettings(ctx, ws, integration.Settings{PostPRComments: true}); err == nil {
		t.Fatal("PR comments need the threads write scope")
	}
}

// TestRegisterHooksKeepsGoingPastPassingFailures: the first subscription
// answers 503; the others are created in the same run, the run reports
// the failure (so the job retries), and the retry creates the one missing.
func TestRegisterHooksKeepsGoingPastPassingFailures(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, sim, ws, _ := setup(t, db)
		id, project := selectFirstProject(t, svc, db, ws)
		c, _, err := svc.Client(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		count := func() int {
			t.Helper()
			subs, err := c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
			if err != nil {
				t.Fatal(err)
			}
			return len(subs)
		}
		if err := sim.SetFaults(azdosim.FaultConfig{Rules: []azdosim.FaultRule{
			{Match: "hooks/subscriptions", Method: "POST", Count: 1, Status: 503}}}); err != nil {
			t.Fatal(err)
		}
		if err := svc.RegisterHooks(ctx, id, project); err == nil {
			t.Fatal("a subscription that failed must fail the run, so that the job retries")
		}
		partial := count()
		if partial == 0 {
			t.Fatal("one failed subscription stopped the others")
		}
		if err := svc.RegisterHooks(ctx, id, project); err != nil {
			t.Fatal(err)
		}
		if all := count(); all != partial+1 {
			t.Fatalf("after the retry: %d subscriptions, want %d (the one missing)", all, partial+1)
		}
	})
}
