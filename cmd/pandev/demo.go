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
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Demo account: the demo listens on loopback only, so a fixed, printed
// password is a convenience, not an exposure.
const (
	demoEmail    = "demo@pandev.local"
	demoPassword = "pandev-demo-password"
	demoFolder   = "demo"
	demoSimAddr  = "127.0.0.1:8091"
	// demoGitHubAddr is the GitHub simulator's (PANDEV_DEMO_GITHUB_SIM_ADDR).
	demoGitHubAddr = "127.0.0.1:8092"
	// demoEvery is how often each simulator makes live activity.
	demoEvery = 5 * time.Second
)

// demoCommand runs everything in one process: the server on ./demo/pandev.db,
// an Azure DevOps simulator and a GitHub simulator with generated
// organizations, an admin, both integrations connected through the same
// code path an admin takes (check, activate, select every project or
// repository), the backfill with a progress bar, and live activity arriving
// through real service hooks and webhooks.
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

	ghAddr := getenv("PANDEV_DEMO_GITHUB_SIM_ADDR")
	if ghAddr == "" {
		ghAddr = demoGitHubAddr
	}
	// The GitHub simulator serves https with its own certificate, as
	// GitHub does; the server trusts it through GitHubHTTPClient, as the
	// tests do (an operator would add it to the system's trust store).
	gh, err := githubsim.New(githubsim.Options{Seed: 1, Profile: "medium", TLS: true, Addr: ghAddr, Logger: logger.With("component", "github-simulator")})
	if err != nil {
		return err
	}
	if err := gh.Start(ctx); err != nil {
		return fmt.Errorf("start the GitHub simulator on %s: %w (set PANDEV_DEMO_GITHUB_SIM_ADDR to a free address)", ghAddr, err)
	}
	defer gh.Close()
	if cfg.AllowHosts, err = cfg.AllowHosts.With(gh.Host()); err != nil {
		return err
	}

	a, err := newApp(ctx, cfg, logger, appOptions{LocalAzureDevOps: true, GitHubHTTPClient: gh.HTTPClient(), LocalGitHub: true})
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
	fmt.Fprintf(stdout, "PanDev Metrics demo — Azure DevOps simulator at %s\n                      GitHub simulator at %s\n", sim.OrgURL(), gh.URL())
	if err := connectDemo(ctx, a, sim, ws.WorkspaceID, stdout); err != nil {
		return err
	}
	if err := connectSource(ctx, a.github, "GitHub", gh.URL(), gh.Token(), ws.WorkspaceID, stdout); err != nil {
		return fmt.Errorf("GitHub: %w", err)
	}
	if _, err := sim.Activity(azdosim.ActivityRequest{Every: demoEvery.String(), Count: 2}); err != nil {
		return err
	}
	go gitHubActivity(ctx, gh, demoEvery, logger)
	showBackfill(ctx, a, ws.WorkspaceID, stdout)
	if err := seedDemoTeams(ctx, a.db, ws.WorkspaceID, stdout); err != nil && ctx.Err() == nil {
		return err
	}
	fmt.Fprintf(stdout, "\n  open      %s\n  sign in   %s / %s\n  live      new simulated activity arrives every 5 s through Azure DevOps service hooks and GitHub webhooks\n"+
		"  data in   %s (delete the folder to start over)\n  stop      Ctrl+C\n\n",
		cfg.DefaultPublicURL(a.Addr()), demoEmail, demoPassword, filepath.Dir(a.db.Path()))
	return <-runErr
}

// connector is what an admin's screens call to connect a provider: the
// Azure DevOps service and the GitHub one alike.
type connector interface {
	Status(ctx context.Context, workspaceID string) (integration.Status, error)
	UpdateToken(ctx context.Context, workspaceID, token string) (integration.Status, error)
	Check(ctx context.Context, url, token string) (integration.CheckResult, error)
	Activate(ctx context.Context, workspaceID, url, token string, confirmLimited bool) (integration.Status, error)
	RefreshProjects(ctx context.Context, workspaceID string) ([]store.Project, error)
	SelectProjects(ctx context.Context, workspaceID string, selected []string) (integration.Status, error)
}

// connectDemo connects the Azure DevOps simulator the way an admin does
// in the UI (the demo, the benchmarks).
func connectDemo(ctx context.Context, a *app, sim *azdosim.Sim, workspaceID string, out io.Writer) error {
	return connectSource(ctx, a.integrations, "Azure DevOps", sim.OrgURL(), sim.ManualPAT(), workspaceID, out)
}

// connectSource connects a simulator the way an admin does in the UI:
// check, activate, select every project (a GitHub repository is one).
func connectSource(ctx context.Context, svc connector, name, url, token, workspaceID string, out io.Writer) error {
	st, err := svc.Status(ctx, workspaceID)
	if err != nil {
		return err
	}
	if st.Connected {
		// A simulator mints a new token each start: rotate, as the FAQ describes.
		if _, err := svc.UpdateToken(ctx, workspaceID, token); err != nil {
			return fmt.Errorf("update token: %w", err)
		}
		fmt.Fprintf(out, "✓ %s already connected; token updated (hooks kept, no backfill)\n", name)
		return nil
	}
	res, err := svc.Check(ctx, url, token)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("check connection: %s", res.Problems[0].Message)
	}
	fmt.Fprintf(out, "✓ Check connection (%s): %s, %d projects, %s\n", name, res.User, res.ProjectCount, res.Deployment)
	if _, err := svc.Activate(ctx, workspaceID, url, token, false); err != nil {
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
	fmt.Fprintf(out, "✓ %s activated; %d projects selected: hooks and backfill started\n", name, len(ids))
	return nil
}

// gitHubActivity makes the GitHub simulator's live activity until ctx
// ends: every tick the next step of a pull request's life in the next
// repository (opened with commits, reviewed, merged, deployed to
// production), each delivered to the server as GitHub's webhooks.
func gitHubActivity(ctx context.Context, gh *githubsim.Sim, every time.Duration, logger interface {
	Warn(msg string, args ...any)
}) {
	repos := gh.Repos()
	if len(repos) == 0 {
		return
	}
	steps := []githubsim.ActivityRequest{{Kind: "pull_request_opened", Commits: 3, Title: "Live change"}, {Kind: "review"},
		{Kind: "pull_request_merged"}, {Kind: "deployment", Environment: "production"}, {Kind: "push"}}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req := steps[i%len(steps)]
		req.Repo = repos[(i/len(steps))%len(repos)]
		if _, err := gh.Activity(req); err != nil {
			logger.Warn("demo: GitHub activity failed", "kind", req.Kind, "repo", req.Repo, "err", err)
		}
	}
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
