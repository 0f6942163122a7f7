package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// dashboard: the DORA and PR-flow API on a year of generated history,
// warm, against computing the same kind of figures with a plain GROUP BY
// over the raw tables in the same run, and the memory of the server. The
// server is a `pandev serve` process of its own, so that its resident
// memory is the server's, not the loader's.
func (b *bench) dashboard(ctx context.Context) error {
	// Ten repositories; per commit a fifth of a PR and a tenth of a
	// deployment (200k commits: 40k PRs, 20k deployments).
	repos, perRepo := 10, max(b.dashCommits/10, 100)
	if b.quick {
		repos, perRepo = 2, 5_000
	}
	return b.eachEngine("dashboard.db", func(engine, dsn string) error {
		return b.dashboardOn(ctx, dsn, engine, repos, perRepo)
	})
}

// eachEngine runs fn on each engine: a SQLite file of the given name in a
// temporary folder, removed afterwards, and a fresh PostgreSQL database.
func (b *bench) eachEngine(sqliteFile string, fn func(engine, dsn string) error) error {
	dir, err := os.MkdirTemp("", "pandev-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, eng := range b.engines(dir) {
		if eng.name == "sqlite" {
			eng.dsn = filepath.Join(dir, sqliteFile)
		}
		if err := fn(eng.name, eng.dsn); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) dashboardOn(ctx context.Context, dsn, engine string, repos, perRepo int) error {
	now := time.Now().UTC().Truncate(time.Hour)
	loadStart := time.Now()
	a, stop, err := startBenchApp(ctx, dsn, appOptions{})
	if err != nil {
		return err
	}
	ws, token, err := dashboardWorld(ctx, a, now, repos, perRepo)
	if err == nil {
		// Planner statistics, as autovacuum (PostgreSQL) or a periodic
		// ANALYZE would have them: without, the baseline's joins run for
		// minutes on nested loops.
		_, err = a.db.SQL().ExecContext(ctx, "ANALYZE")
	}
	stop()
	if err != nil {
		return err
	}
	rows := repos * perRepo * 8 / 5 // commits and parents, PRs with a commit and a comment, deployments
	b.add(Result{Scenario: "dashboard", Name: engine + " load", Value: time.Since(loadStart).Seconds(), Unit: "s",
		Note: fmt.Sprintf("%d commits, %d merged PRs, %d production deployments over a year (about %d rows)",
			repos*perRepo, repos*perRepo/5, repos*perRepo/10, rows)})
	return b.measureDashboard(ctx, "dashboard", dsn, engine, ws, token, now)
}

// measureDashboard serves a loaded database from a `pandev serve` process
// of its own and measures its first call, the DORA and PR-flow APIs warm
// against a GROUP BY over the raw tables, how long a new deployment takes
// to show, and the process's memory. The figures go under scenario.
func (b *bench) measureDashboard(ctx context.Context, scenario, dsn, engine, ws, token string, now time.Time) error {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	srv, err := startServeProcess(ctx, dsn)
	if err != nil {
		return err
	}
	defer srv.stop()

	from, to := now.AddDate(-1, 0, 0), now
	q := "?from=" + from.Format("2006-01-02") + "&to=" + to.Format("2006-01-02")
	call := func(path string) (time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.url+path+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return 0, fmt.Errorf("%s: %d", path, res.StatusCode)
		}
		return time.Since(t0), nil
	}
	cold, err := call("/api/v1/metrics/dora")
	if err != nil {
		return err
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.add(Result{Scenario: scenario, Name: engine + " DORA cold (first call)", Value: ms(cold), Unit: "ms",
		Note: "reads every project and analyzes it: once per server start, then per changed project"})
	base, err := timed(20, func() error { return groupByFigures(ctx, db, ws, from, to) })
	if err != nil {
		return err
	}
	for _, path := range []string{"/api/v1/metrics/dora", "/api/v1/metrics/pull-requests"} {
		lat, err := timed(20, func() error { _, err := call(path); return err })
		if err != nil {
			return err
		}
		name := engine + " " + strings.TrimPrefix(path, "/api/v1/metrics/")
		p95, base95 := lat[len(lat)*95/100], base[len(base)*95/100]
		b.add(Result{Scenario: scenario, Name: name + " warm p95", Value: ms(p95), Unit: "ms", Baseline: ms(base95), Target: "< 150 ms",
			Note: "a year's window; baseline: deployments by result and PR cycle medians with GROUP BY over the raw tables (no commit graph walk)"})
		b.add(Result{Scenario: scenario, Name: name + " speed-up vs GROUP BY", Value: float64(base95) / float64(p95), Unit: "×", Target: "≥ 10×"})
	}
	rss, startPeak := procMemory(srv.cmd.Process.Pid)
	// A new deployment in one project: the server re-reads that project
	// while it keeps answering from the figures of all of them.
	before, err := deploymentCount(ctx, srv.url+"/api/v1/metrics/dora"+q, token)
	if err != nil {
		return err
	}
	if err := dashboardDeploy(ctx, db, ws, now); err != nil {
		return err
	}
	deployed := before + 1
	t0 := time.Now()
	for {
		n, err := deploymentCount(ctx, srv.url+"/api/v1/metrics/dora"+q, token)
		if err != nil {
			return err
		}
		if n == deployed {
			break
		}
		if time.Since(t0) > 2*time.Minute {
			return fmt.Errorf("a new deployment did not show in 2 minutes: %d deployments, want %d", n, deployed)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.add(Result{Scenario: scenario, Name: engine + " new deployment shown", Value: time.Since(t0).Seconds(), Unit: "s",
		Note: "a deployment stored in one project until the DORA API counts it: that project is read again"})
	if _, peak := procMemory(srv.cmd.Process.Pid); rss > 0 {
		b.add(Result{Scenario: scenario, Name: engine + " server RSS, warm", Value: rss, Unit: "MB", Target: "< 150 MB",
			Note: "the pandev serve process after the warm calls"})
		b.add(Result{Scenario: scenario, Name: engine + " server RSS, peak", Value: peak, Unit: "MB", Target: "< 150 MB",
			Note: fmt.Sprintf("its high-water mark: %.0f MB after the start's build, then a project read again", startPeak)})
	}
	return nil
}

// dashboardDeploy stores a successful production deployment, three days
// ago, of the workspace's newest commit.
func dashboardDeploy(ctx context.Context, db *store.DB, ws string, now time.Time) error {
	var in, project, repo, sha string
	err := db.SQL().QueryRowContext(ctx, `SELECT integration_id, project_id, repo_id, sha FROM commits WHERE workspace_id = $1
		ORDER BY author_date DESC LIMIT 1`, ws).Scan(&in, &project, &repo, &sha)
	if err != nil {
		return err
	}
	fin := now.AddDate(0, 0, -3)
	return db.UpsertDeployment(ctx, store.Deployment{Key: store.Key{IntegrationID: in, WorkspaceID: ws},
		DeploymentKey: "env:bench-new:" + repo, ProjectID: project, Source: "environment", RepoID: repo, Environment: "prod",
		IsProduction: true, Result: "succeeded", SHA: sha, FinishedAt: &fin})
}

// deploymentCount is the deployment frequency's n the DORA API answers.
func deploymentCount(ctx context.Context, url, token string) (int, error) {
	return apiCount(ctx, url, token, "deployment_frequency.n")
}

// serveProcess is a `pandev serve` of this binary on a free loopback port.
type serveProcess struct {
	cmd *exec.Cmd
	url string
}

func startServeProcess(ctx context.Context, dsn string) (*serveProcess, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	bin, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "PANDEV_DB="+dsn, "PANDEV_ADDR="+addr, "PANDEV_LOG_LEVEL=error",
		"PANDEV_SECRET_KEY="+benchSecretKey)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serveProcess{cmd: cmd, url: "http://" + addr}
	if err := waitHealthy(ctx, p.url); err != nil {
		p.stop()
		return nil, fmt.Errorf("pandev serve did not start: %w: %s", err, logs.String())
	}
	return p, nil
}

func (p *serveProcess) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// timed runs f n times and returns the sorted durations.
func timed(n int, f func() error) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t0))
	}
	slices.Sort(out)
	return out, nil
}

// dashboardWorld writes a year of history: per repository perRepo commits
// in a line, every fifth merged by a PR with a review comment, every tenth
// deployed to production (one in twenty of those failed). It returns the
// workspace and an API token of its admin.
func dashboardWorld(ctx context.Context, a *app, now time.Time, repos, perRepo int) (string, string, error) {
	u, err := a.auth.CreateUser(ctx, "dash@bench.example", "bench-password-long", "dashboard", store.RoleAdmin)
	if err != nil {
		return "", "", err
	}
	tok, _, err := a.auth.CreateToken(ctx, u.ID, "bench")
	if err != nil {
		return "", "", err
	}
	// Sealed as a real integration's are: a served process opens them.
	id := store.NewID()
	tokSealed, err := a.keys.Seal(secretValue("pat"), store.TokenSealContext(id))
	if err != nil {
		return "", "", err
	}
	hookSealed, err := a.keys.Seal(secretValue("hook-secret"), store.WebhookSecretSealContext(id))
	if err != nil {
		return "", "", err
	}
	in, err := a.db.CreateIntegration(ctx, store.Integration{ID: id, WorkspaceID: u.WorkspaceID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/dashboard", TokenSealed: tokSealed, WebhookSecretSealed: hookSealed, CreatedAt: now.AddDate(-1, 0, 0), UpdatedAt: now})
	if err != nil {
		return "", "", err
	}
	key := store.Key{IntegrationID: in.ID, WorkspaceID: u.WorkspaceID}
	start := now.AddDate(-1, 0, 0)
	step := 365 * 24 * time.Hour / time.Duration(perRepo)
	for r := range repos {
		project, repo := "p"+strconv.Itoa(r%5), "r"+strconv.Itoa(r)
		// Git's SHAs: 40 hex digits (what the analysis packs).
		sha := func(i int) string { return fmt.Sprintf("%x", sha1.Sum([]byte(fmt.Sprintf("%s-%d", repo, i)))) }
		err := a.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.UpsertProject(ctx, store.Project{Key: key, ProjectID: project, Name: project}); err != nil {
				return err
			}
			if err := tx.SetProjectSelected(ctx, key, project, true, start); err != nil {
				return err
			}
			if err := tx.UpsertRepository(ctx, store.Repository{Key: key, RepoID: repo, ProjectID: project, Name: repo}); err != nil {
				return err
			}
			for i := range perRepo {
				t := start.Add(time.Duration(i) * step)
				var parents []string
				if i > 0 {
					parents = []string{sha(i - 1)}
				}
				if err := tx.UpsertCommit(ctx, store.Commit{Key: key, RepoID: repo, SHA: sha(i), ProjectID: project,
					AuthorEmail: "dev@x", AuthorDate: t, CommitterDate: t, Message: "change", Edits: 1, Parents: parents}); err != nil {
					return err
				}
				if i%5 == 4 {
					id := int64(r*perRepo + i)
					closed := t
					if _, err := tx.UpsertPullRequest(ctx, store.PullRequest{Key: key, PRID: id, ProjectID: project, RepoID: repo,
						Status: "completed", AuthorID: "dev", CreatedAt: t.Add(-time.Hour), ClosedAt: &closed, MergeCommit: sha(i),
						ProviderUpdatedAt: t}); err != nil {
						return err
					}
					ref := store.PRRef{IntegrationID: key.IntegrationID, RepoID: repo, PRID: id}
					if err := tx.AddPRCommit(ctx, ref, sha(i-1), nil); err != nil {
						return err
					}
					if err := tx.UpsertComment(ctx, ref, store.Comment{ThreadID: 1, CommentID: 1, AuthorID: "rev",
						PublishedAt: t.Add(-30 * time.Minute), UpdatedAt: t}); err != nil {
						return err
					}
				}
				if i%10 == 9 {
					result := "succeeded"
					if i%200 == 199 {
						result = "failed"
					}
					fin := t.Add(2 * time.Hour)
					if err := tx.UpsertDeployment(ctx, store.Deployment{Key: key, DeploymentKey: fmt.Sprintf("env:%s:%d", repo, i),
						ProjectID: project, Source: "environment", RepoID: repo, Environment: "prod", IsProduction: true,
						Result: result, SHA: sha(i), FinishedAt: &fin}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return "", "", err
		}
	}
	return u.WorkspaceID, tok.Reveal(), nil
}

// groupByFigures computes what a plain SQL tool would: deployments by
// result and the PR cycle time median, with GROUP BY over the raw tables.
func groupByFigures(ctx context.Context, db *store.DB, ws string, from, to time.Time) error {
	rows, err := db.SQL().QueryContext(ctx, `SELECT result, COUNT(*) FROM deployments
		WHERE workspace_id = $1 AND is_production AND finished_at >= $2 AND finished_at < $3 GROUP BY result`, ws, from, to)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	rows, err = db.SQL().QueryContext(ctx, `SELECT p.repo_id, p.pr_id, MIN(c.author_date), MAX(p.closed_at) FROM pull_requests p
		JOIN pr_commits pc ON pc.integration_id = p.integration_id AND pc.repo_id = p.repo_id AND pc.pr_id = p.pr_id
		JOIN commits c ON c.integration_id = pc.integration_id AND c.repo_id = pc.repo_id AND c.sha = pc.sha
		WHERE p.workspace_id = $1 AND p.status = 'completed' AND p.closed_at >= $2 AND p.closed_at < $3
		GROUP BY p.repo_id, p.pr_id`, ws, from, to)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	return rows.Err()
}

// procMemory is a process's resident set and its high-water mark in MB
// (Linux), zeros elsewhere.
func procMemory(pid int) (rss, peak float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		for key, dst := range map[string]*float64{"VmRSS:": &rss, "VmHWM:": &peak} {
			if rest, ok := strings.CutPrefix(line, key); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				*dst = kb / 1024
			}
		}
	}
	return rss, peak
}
