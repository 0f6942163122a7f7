package main

import (
	"context"
	"strconv"
	"testing"

	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/store"
)

// ghChaosSim is a GitHub simulator the `pandev serve` child reaches over
// plain http on loopback (an Enterprise Server for the product), each API
// call slowed a little so a kill lands in the middle of the backfill.
func ghChaosSim(t *testing.T, seed int64, profile string) *githubsim.Sim {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{Seed: seed, Profile: profile, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if err := sim.SetFaults([]githubsim.Fault{{Path: "/api/v3/repos/", Latency: "10ms"}}); err != nil {
		t.Fatal(err)
	}
	return sim
}

// TestGitHubKillDuringBackfill: `kill -9` of a `pandev serve` in the middle
// of a GitHub backfill of every repository, restart → every repository's
// backfill completes and what is stored equals the simulator's truth
// exactly (each pull request once, with its state; the default branch's
// commits), on both engines.
func TestGitHubKillDuringBackfill(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	bin := pandevBinary(t)
	sim := ghChaosSim(t, 13, "medium")
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			dsn := eng.dsn(t)
			env := []string{"PANDEV_DB=" + dsn, "PANDEV_ALLOW_HOSTS=127.0.0.1:*",
				"PANDEV_SECRET_KEY=Z2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2c=", "PANDEV_JOB_TIMEOUT=" + chaosJobTimeout}
			runBin(t, bin, env, "admin", "create", "--email", "admin@example.com", "--password", pw)
			token := runBin(t, bin, env, "token", "create", "--email", "admin@example.com", "--name", "chaos")
			addr := freeAddr(t)
			env = append(env, "PANDEV_PUBLIC_URL=http://"+addr)
			p := startServe(t, bin, env, addr)
			if code := bearer(t, "POST", p.url+"/api/v1/integrations/github", token,
				map[string]string{"api_url": sim.URL(), "token": sim.Token()}, nil); code != 201 {
				t.Fatalf("activate: %d\n%s", code, p.logs.String())
			}
			var ids []string
			for _, tr := range sim.Truth() {
				ids = append(ids, strconv.FormatInt(tr.ID, 10))
			}
			if code := bearer(t, "PUT", p.url+"/api/v1/integrations/github/repositories", token, map[string]any{"selected": ids}, nil); code != 200 {
				t.Fatalf("select: %d", code)
			}
			waitFor(t, "the backfill to get under way", func() bool {
				_, _, f := backfillStateOf(t, p, token, "github")
				return f >= 0.3
			})
			done, total, f := backfillStateOf(t, p, token, "github")
			if done == total {
				t.Fatalf("the backfill finished before the kill (%.0f%%): slow the simulator down", f*100)
			}
			p.cmd.Process.Kill() // SIGKILL: no shutdown, no checkpoint flush
			p.cmd.Wait()
			t.Logf("killed at %.0f%% (%d/%d repositories done)", f*100, done, total)
			p = startServe(t, bin, env, addr)
			waitFor(t, "every repository's backfill to finish", func() bool {
				done, total, _ := backfillStateOf(t, p, token, "github")
				return total == len(ids) && done == total
			})

			db, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ins, err := db.ListAllIntegrations(context.Background())
			if err != nil || len(ins) != 1 {
				t.Fatalf("integrations: %+v %v", ins, err)
			}
			for _, tr := range sim.Truth() {
				assertRepoEqualsTruthIn(t, db, sim, ins[0], tr.ID)
			}
		})
	}
}
