package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/config"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Demo account: the demo listens on loopback only, so a fixed, printed
// password is a convenience, not an exposure.
const (
	demoEmail    = "demo@pandev.local"
	demoPassword = "pandev-demo-password"
	demoFolder   = "demo"
	demoSimAddr  = "127.0.0.1:8091"
)

// demoCommand runs everything in one process: the server on ./demo/pandev.db,
// an Azure DevOps simulator with a generated organization, an admin, the
// integration connected through the same code path an admin takes (check,
// activate, select every project), the backfill with a progress bar, and
// live activity arriving through real service hooks.
func demoCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	demoEnv := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return map[string]string{"PANDEV_ADDR": "127.0.0.1:8080", "PANDEV_DB": filepath.Join(demoFolder, "pandev.db"),
			"PANDEV_LOG_LEVEL": "warn"}[k]
	}
	cfg, err := config.Parse("demo", args, demoEnv, stderr)
	if err != nil {
		return err
	}
	simAddr := getenv("PANDEV_DEMO_SIM_ADDR")
	if simAddr == "" {
		simAddr = demoSimAddr
	}
	logger := newLogger(cfg, stderr)
	sim, err := azdosim.New(azdosim.Options{Seed: 1, Profile: "medium", Mode: "services", Addr: simAddr, Logger: logger.With("component", "simulator")})
	if err != nil {
		return err
	}
	if err := sim.Start(ctx); err != nil {
		return fmt.Errorf("start the Azure DevOps simulator on %s: %w (set PANDEV_DEMO_SIM_ADDR to a free address)", simAddr, err)
	}
	defer sim.Close()
	// The simulator answers plain http on loopback: list exactly its two
	// listeners, as an operator lists an on-prem server.
	if cfg.AllowHosts, err = cfg.AllowHosts.With(simAllowHosts(sim)); err != nil {
		return err
	}

	a, err := newApp(ctx, cfg, logger, appOptions{LocalAzureDevOps: true})
	if err != nil {
		return err
	}
	ws, err := a.auth.CreateUser(ctx, demoEmail, demoPassword, "demo", store.RoleAdmin)
	if err != nil && delivery.KindOf(err) != delivery.KindConflict {
		a.closeAll()
		return err
	}
	if err != nil {
		if ws, err = a.db.GetUserByEmail(ctx, demoEmail); err != nil {
			a.closeAll()
			return err
		}
	}
	runErr := make(chan error, 1)
	go func() { runErr <- a.run(ctx) }()
	if err := waitHealthy(ctx, a.URL()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "PanDev Metrics demo — Azure DevOps simulator at %s\n", sim.OrgURL())
	if err := connectDemo(ctx, a, sim, ws.WorkspaceID, stdout); err != nil {
		return err
	}
	if _, err := sim.Activity(azdosim.ActivityRequest{Every: "5s", Count: 2}); err != nil {
		return err
	}
	showBackfill(ctx, a, ws.WorkspaceID, stdout)
	if err := seedDemoTeams(ctx, a.db, ws.WorkspaceID, stdout); err != nil && ctx.Err() == nil {
		return err
	}
	fmt.Fprintf(stdout, "\n  open      %s\n  sign in   %s / %s\n  live      new simulated activity arrives every 5 s through service hooks\n"+
		"  data in   %s (delete the folder to start over)\n  stop      Ctrl+C\n\n",
		cfg.DefaultPublicURL(a.Addr()), demoEmail, demoPassword, filepath.Dir(a.db.Path()))
	return <-runErr
}

// connectDemo connects the simulator the way an admin does in the UI.
func connectDemo(ctx context.Context, a *app, sim *azdosim.Sim, workspaceID string, out io.Writer) error {
	svc := a.integrations
	st, err := svc.Status(ctx, workspaceID)
	if err != nil {
		return err
	}
	if st.Connected {
		// The simulator mints a new token each start: rotate, as the FAQ describes.
		if _, err := svc.UpdateToken(ctx, workspaceID, sim.ManualPAT()); err != nil {
			return fmt.Errorf("update token: %w", err)
		}
		fmt.Fprintln(out, "✓ Already connected; token updated (hooks kept, no backfill)")
		return nil
	}
	res, err := svc.Check(ctx, sim.OrgURL(), sim.ManualPAT())
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("check connection: %s", res.Problems[0].Message)
	}
	fmt.Fprintf(out, "✓ Check connection: %s, %d projects, %s\n", res.User, res.ProjectCount, res.Deployment)
	if _, err := svc.Activate(ctx, workspaceID, sim.OrgURL(), sim.ManualPAT(), false); err != nil {
		return err
	}
	projects, err := svc.RefreshProjects(ctx, workspaceID)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(projects))
	for _, p := range projects {
		ids = append(ids, p.ProjectID)
	}
	if _, err := svc.SelectProjects(ctx, workspaceID, ids); err != nil {
		return err
	}
	fmt.Fprintf(out, "✓ Activated; %d projects selected: service hooks and backfill started\n", len(ids))
	return nil
}

// seedDemoTeams creates two teams on the collected data, so that the
// dashboard's Team filter has something to pick: Platform holds the first
// repository of every project; Web squad the three people with the most
// pull requests and the last repository of the first project. A second
// start finds them and keeps them.
func seedDemoTeams(ctx context.Context, db *store.DB, workspaceID string, out io.Writer) error {
	existing, err := db.ListTeams(ctx, workspaceID)
	if err != nil || len(existing) > 0 {
		return err
	}
	scopes, err := db.ListScopes(ctx, workspaceID)
	if err != nil {
		return err
	}
	people, err := db.ListIdentities(ctx, workspaceID)
	if err != nil {
		return err
	}
	var platform, squadRepos, squad []store.TeamRef
	for i, s := range scopes {
		if len(s.Repositories) == 0 {
			continue
		}
		first := s.Repositories[0]
		platform = append(platform, store.TeamRef{IntegrationID: first.IntegrationID, ID: first.RepoID})
		if last := s.Repositories[len(s.Repositories)-1]; i == 0 && len(s.Repositories) > 1 {
			squadRepos = append(squadRepos, store.TeamRef{IntegrationID: last.IntegrationID, ID: last.RepoID})
		}
	}
	slices.SortStableFunc(people, func(x, y store.Identity) int { return y.PullRequests - x.PullRequests })
	for _, p := range people[:min(3, len(people))] {
		squad = append(squad, store.TeamRef{IntegrationID: p.IntegrationID, ID: p.IdentityID})
	}
	if len(platform) == 0 && len(squad) == 0 {
		return nil // nothing collected (the demo was stopped early)
	}
	now := time.Now()
	for _, t := range []struct {
		name           string
		members, repos []store.TeamRef
	}{{"Platform", nil, platform}, {"Web squad", squad, squadRepos}} {
		if _, err := db.CreateTeam(ctx, workspaceID, store.TeamChange{Name: &t.name, Members: &t.members, Repositories: &t.repos}, now); err != nil {
			return fmt.Errorf("demo team %s: %w", t.name, err)
		}
	}
	fmt.Fprintln(out, "✓ Teams Platform and Web squad created (Settings → Teams; the dashboard's Team filter)")
	return nil
}

// waitHealthy waits for the server to answer.
func waitHealthy(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("the server did not become ready within 30 s")
}
