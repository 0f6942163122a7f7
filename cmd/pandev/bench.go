package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/config"
	"github.com/pandev-metrics/pandev/internal/store"
)

// benchCommand runs the benchmark scenarios against in-process servers and
// simulators on loopback, prints each figure beside a baseline measured in
// the same run, and writes a Markdown and a JSON report.
func benchCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "small sizes: finishes in under 2 minutes (CI smoke)")
	out := fs.String("out", "bench-report", "folder for report.md and report.json")
	only := fs.String("only", "", "comma-separated scenarios to run (default all but large): ingest, freshness, github-freshness, backfill, replicas, dashboard, abuse, large (the simulator's large profile backfilled for real, then the dashboard: tens of minutes)")
	dashCommits := fs.Int("dashboard-commits", 200_000, "commits in the dashboard scenario's generated year (1000000 matches the simulator's large profile; --quick uses 10000)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	sqliteOn := fs.Bool("sqlite", true, "run the SQLite runs (--sqlite=false runs PostgreSQL only)")
	pg := fs.String("postgres", getenv("PANDEV_TEST_POSTGRES_URL"), "PostgreSQL server for the PostgreSQL runs (default the local one; \"off\" or unreachable skips them)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	b := &bench{quick: *quick, pgURL: *pg, out: stdout, started: time.Now(), dashCommits: *dashCommits, noSQLite: !*sqliteOn}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	defer b.dropPostgres()
	var failed []string
	for _, sc := range []struct {
		name  string
		run   func(context.Context) error
		optIn bool // only when named in --only
	}{
		{"ingest", b.ingest, false},
		{"freshness", b.freshness, false},
		{"github-freshness", b.githubFreshness, false},
		{"backfill", b.backfill, false},
		{"replicas", b.replicas, false},
		{"dashboard", b.dashboard, false},
		{"abuse", b.abuse, false},
		{"large", b.large, true},
	} {
		named := slices.Contains(strings.Split(*only, ","), sc.name)
		if (*only != "" || sc.optIn) && !named {
			continue
		}
		fmt.Fprintf(stdout, "\n== %s\n", sc.name)
		if err := sc.run(ctx); err != nil {
			b.add(Result{Scenario: sc.name, Name: "error", Note: err.Error()})
			fmt.Fprintf(stdout, "   failed: %v\n", err)
			failed = append(failed, sc.name)
		}
	}
	if err := b.write(*out); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenarios failed: %s (see the report)", strings.Join(failed, ", "))
	}
	return nil
}

// Result is one measured figure, with its baseline from the same run.
type Result struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline float64 `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"` // value / baseline
	Target   string  `json:"target,omitempty"`
	Note     string  `json:"note,omitempty"`
}

type bench struct {
	quick       bool
	dashCommits int
	noSQLite    bool
	pgURL       string
	out         io.Writer
	started     time.Time
	mu          sync.Mutex
	results     []Result
	pgDatabases []string // created by postgres, dropped at the end
	missed      []string // github-freshness: merges stored but not counted
}

func (b *bench) add(r Result) {
	if r.Baseline != 0 {
		r.Ratio = r.Value / r.Baseline
	}
	b.mu.Lock()
	b.results = append(b.results, r)
	b.mu.Unlock()
	line := fmt.Sprintf("   %-38s %10.1f %-12s", r.Name, r.Value, r.Unit)
	if r.Baseline != 0 {
		line += fmt.Sprintf(" baseline %10.1f  ratio %.2f", r.Baseline, r.Ratio)
	}
	if r.Target != "" {
		line += "  target " + r.Target
	}
	fmt.Fprintln(b.out, line)
}

// engines lists the databases to run on: a temporary SQLite file, and a
// fresh PostgreSQL database when a server answers.
func (b *bench) engines(dir string) []struct{ name, dsn string } {
	var out []struct{ name, dsn string }
	if !b.noSQLite {
		out = append(out, struct{ name, dsn string }{"sqlite", filepath.Join(dir, "bench.db")})
	}
	if dsn, err := b.postgres(); err == nil {
		out = append(out, struct{ name, dsn string }{"postgres", dsn})
	} else {
		fmt.Fprintf(b.out, "   (PostgreSQL skipped: %v)\n", err)
	}
	return out
}

// postgres creates a throwaway database on the server; dropPostgres drops
// them all when the run ends (a large run's is gigabytes).
func (b *bench) postgres() (string, error) {
	base, err := b.pgBase()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	admin, err := store.Open(ctx, base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	name := fmt.Sprintf("pandev_bench_%d", time.Now().UnixNano())
	if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	b.mu.Lock()
	b.pgDatabases = append(b.pgDatabases, name)
	b.mu.Unlock()
	i := strings.LastIndex(base, "/")
	rest := ""
	if q := strings.IndexByte(base[i:], '?'); q >= 0 {
		rest = base[i+q:]
	}
	return base[:i+1] + name + rest, nil
}

// pgBase is the PostgreSQL server the runs use: --postgres, or the local
// one by default.
func (b *bench) pgBase() (string, error) {
	switch b.pgURL {
	case "off":
		return "", errors.New("turned off with --postgres off")
	case "":
		return store.LocalPostgresURL, nil
	}
	return b.pgURL, nil
}

// dropPostgres drops the run's throwaway databases.
func (b *bench) dropPostgres() {
	if len(b.pgDatabases) == 0 {
		return
	}
	base, _ := b.pgBase() // databases were created, so it is not "off"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := store.Open(ctx, base)
	if err != nil {
		fmt.Fprintf(b.out, "   (throwaway databases %v left: %v)\n", b.pgDatabases, err)
		return
	}
	defer admin.Close()
	for _, name := range b.pgDatabases {
		if _, err := admin.SQL().ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(b.out, "   (throwaway database %s left: %v)\n", name, err)
		}
	}
}

// startBenchApp runs a server on loopback for a scenario.
// benchSecretKey seals the bench's integrations; a served process of the
// same data needs the same key.
const benchSecretKey = "YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtMTI="

func startBenchApp(ctx context.Context, dsn string, opts appOptions, extraEnv ...string) (*app, func(), error) {
	env := map[string]string{"PANDEV_DB": dsn, "PANDEV_ADDR": "127.0.0.1:0", "PANDEV_LOG_LEVEL": "error",
		"PANDEV_SECRET_KEY": benchSecretKey}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		env[extraEnv[i]] = extraEnv[i+1]
	}
	cfg, err := config.Parse("bench", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		return nil, nil, err
	}
	opts.PollInterval = 20 * time.Millisecond
	a, err := newApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.run(runCtx); close(done) }()
	if err := waitHealthy(ctx, a.URL()); err != nil {
		cancel()
		return nil, nil, err
	}
	return a, func() { cancel(); <-done }, nil
}

// ingest: sustained webhook deliveries per second and answer latency on
// each engine, against a baseline HTTP server on the same engine that only
// stores the raw body (one INSERT per request, no auth, no job).
func (b *bench) ingest(ctx context.Context) error {
	n, clients := 6000, 16
	if b.quick {
		n = 1500
	}
	dir, err := os.MkdirTemp("", "pandev-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	body := []byte(`{"id":"%s","eventType":"git.push","publisherId":"tfs","createdDate":"2026-11-01T00:00:00Z",` +
		`"resourceContainers":{"project":{"id":"p"}},"resource":{"repository":{"id":"r","name":"r","project":{"id":"p"}},"commits":[]}}`)
	for i, eng := range b.engines(dir) {
		if eng.name == "sqlite" {
			eng.dsn = filepath.Join(dir, fmt.Sprintf("ingest-%d.db", i))
		}
		a, stop, err := startBenchApp(ctx, eng.dsn, appOptions{})
		if err != nil {
			return err
		}
		id, secret, err := benchIntegration(ctx, a)
		if err != nil {
			stop()
			return err
		}
		t0 := time.Now()
		rate, p50, p99, err := hammer(ctx, a.URL()+"/v1/azure/webhook/project", n, clients, func(i int) []byte {
			return []byte(fmt.Sprintf(string(body), fmt.Sprintf("bench-%d", i)))
		}, id, secret)
		if err == nil {
			// Answering is half the work: the deliveries must also be
			// processed, so measure until none is pending.
			err = waitProcessed(ctx, a, id, n)
		}
		processed := time.Since(t0)
		stop()
		if err != nil {
			return err
		}
		baseRate, baseP50, baseP99, err := rawBaseline(ctx, eng.name, eng.dsn, dir, n, clients)
		if err != nil {
			return err
		}
		rateTarget, p99Target := "", ""
		if eng.name == "sqlite" {
			rateTarget, p99Target = "≥ 3000/s", "< 25 ms"
		}
		b.add(Result{Scenario: "ingest", Name: eng.name + " deliveries/s", Value: rate, Unit: "/s", Baseline: baseRate, Target: rateTarget,
			Note: "baseline: the same HTTP stack storing the raw body only"})
		b.add(Result{Scenario: "ingest", Name: eng.name + " processed/s", Value: float64(n) / processed.Seconds(), Unit: "/s",
			Note: "from the first delivery until every one was processed"})
		b.add(Result{Scenario: "ingest", Name: eng.name + " p50", Value: p50, Unit: "ms", Baseline: baseP50})
		b.add(Result{Scenario: "ingest", Name: eng.name + " p99", Value: p99, Unit: "ms", Baseline: baseP99, Target: p99Target})
	}
	return nil
}

// waitProcessed waits until n deliveries of the integration are processed.
func waitProcessed(ctx context.Context, a *app, integrationID string, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		counts, err := a.db.CountInboxByStatus(ctx, integrationID)
		if err != nil {
			return err
		}
		if counts["processed"] >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after 2 minutes %d of %d deliveries were processed (%v)", counts["processed"], n, counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// abuse runs the hostile-request corpus (see abuse.go) and reports, per
// group, how many requests got the answer they must and changed nothing.
func (b *bench) abuse(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "pandev-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	a, stop, err := startBenchApp(ctx, filepath.Join(dir, "abuse.db"), appOptions{}, "PANDEV_METRICS_TOKEN", "scrape-token-for-the-abuse-corpus")
	if err != nil {
		return err
	}
	defer stop()
	results, err := abuse(ctx, a)
	if err != nil {
		return err
	}
	stop()
	var order []string
	passed, total, failures := map[string]int{}, map[string]int{}, map[string][]string{}
	for _, r := range results {
		if total[r.Group] == 0 {
			order = append(order, r.Group)
		}
		total[r.Group]++
		if r.OK() {
			passed[r.Group]++
		} else {
			failures[r.Group] = append(failures[r.Group], fmt.Sprintf("%s: got %d (want %v, changed %v) %s", r.Case, r.Got, r.Want, r.Changed, r.Problem))
		}
	}
	var bad []string
	for _, g := range order {
		note := fmt.Sprintf("%d of %d answered as they must and changed nothing they must not", passed[g], total[g])
		if len(failures[g]) > 0 {
			note += "; FAILED: " + strings.Join(failures[g], "; ")
			bad = append(bad, g)
		}
		b.add(Result{Scenario: "abuse", Name: g, Value: float64(passed[g]), Unit: "of " + fmt.Sprint(total[g]), Note: note})
	}
	// The flood and the noisy neighbour are measured, not pass/fail cases.
	var errs []error
	if len(bad) > 0 {
		errs = append(errs, fmt.Errorf("hostile requests not refused as they must be in: %s", strings.Join(bad, ", ")))
	}
	if err := b.loginFlood(ctx); err != nil {
		errs = append(errs, fmt.Errorf("login flood: %w", err))
	}
	if err := b.neighbour(ctx); err != nil {
		errs = append(errs, fmt.Errorf("noisy neighbour: %w", err))
	}
	return errors.Join(errs...)
}

// benchIntegration stores an integration with a known webhook secret.
func benchIntegration(ctx context.Context, a *app) (string, string, error) {
	ws, err := a.db.EnsureWorkspace(ctx, "bench", time.Now())
	if err != nil {
		return "", "", err
	}
	id := store.NewID()
	secret := "bench-secret-value"
	sealed, err := a.keys.Seal(secretValue(secret), store.WebhookSecretSealContext(id))
	if err != nil {
		return "", "", err
	}
	tok, err := a.keys.Seal(secretValue("pat"), store.TokenSealContext(id))
	if err != nil {
		return "", "", err
	}
	_, err = a.db.CreateIntegration(ctx, store.Integration{ID: id, WorkspaceID: ws.ID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/bench", TokenSealed: tok, WebhookSecretSealed: sealed, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		return "", "", err
	}
	if err := a.db.UpsertProject(ctx, store.Project{Key: store.Key{IntegrationID: id, WorkspaceID: ws.ID}, ProjectID: "p", Name: "p"}); err != nil {
		return "", "", err
	}
	return id, secret, a.db.SetProjectSelected(ctx, store.Key{IntegrationID: id, WorkspaceID: ws.ID}, "p", true, time.Now())
}

// hammer sends n POSTs from clients goroutines and measures them.
func hammer(ctx context.Context, url string, n, clients int, body func(int) []byte, user, pass string) (rate, p50, p99 float64, err error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body(i)))
				if user != "" {
					req.SetBasicAuth(user, pass)
				}
				t0 := time.Now()
				res, err := hc.Do(req)
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Store(fmt.Sprintf("delivery %d: %v %v", i, res, err))
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		return 0, 0, 0, errors.New(f.(string))
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return float64(n) / elapsed.Seconds(), ms(lat[n/2]), ms(lat[n*99/100]), nil
}

// rawBaseline is the same kind of HTTP server storing only the raw body.
func rawBaseline(ctx context.Context, engine, dsn, dir string, n, clients int) (rate, p50, p99 float64, err error) {
	if engine == "sqlite" {
		dsn = filepath.Join(dir, "baseline.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS raw_bodies (id TEXT PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		return 0, 0, 0, err
	}
	var seq atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		if _, err := db.SQL().ExecContext(r.Context(), `INSERT INTO raw_bodies (id, body) VALUES ($1, $2)`,
			fmt.Sprint(seq.Add(1)), string(data)); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write([]byte(`{"status":"accepted"}`))
	})}
	ln, err := netListen()
	if err != nil {
		return 0, 0, 0, err
	}
	go srv.Serve(ln)
	defer srv.Close()
	return hammer(ctx, "http://"+ln.Addr().String()+"/", n, clients, func(i int) []byte {
		return []byte(fmt.Sprintf(`{"id":"raw-%d","eventType":"git.push"}`, i))
	}, "", "")
}

// freshness: from an event in Azure DevOps (the simulator), through the
// real service hook, to the product: a PR stored, and a production
// deployment stored and counted by the DORA API (the tile's number), on
// each engine.
func (b *bench) freshness(ctx context.Context) error {
	events := 30
	if b.quick {
		events = 10
	}
	dir, err := os.MkdirTemp("", "pandev-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, eng := range b.engines(dir) {
		if err := b.freshnessOn(ctx, eng.name, eng.dsn, events); err != nil {
			return fmt.Errorf("%s: %w", eng.name, err)
		}
	}
	return nil
}

func (b *bench) freshnessOn(ctx context.Context, engine, dsn string, events int) error {
	sim, a, stop, ws, err := b.connected(ctx, dsn, "small", azdosim.FaultConfig{})
	if err != nil {
		return err
	}
	defer stop()
	defer sim.Close()
	project := ""
	if ps, err := a.integrations.RefreshProjects(ctx, ws); err == nil && len(ps) > 0 {
		project = ps[0].ProjectID
	}
	ins, err := a.db.ListIntegrations(ctx, ws, "azure-devops")
	if err != nil || len(ins) == 0 {
		return fmt.Errorf("no integration: %v", err)
	}
	in := ins[0].ID
	prStored, err := prEventsStored(ctx, a, sim, ws, in, project, events)
	if err != nil {
		return err
	}

	// Production deployments: stored (the run's deploy stage derived in the
	// drain) and counted (the DORA API's deployment frequency moves).
	tok, err := benchToken(ctx, a, ws)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	window := "?from=" + now.AddDate(0, 0, -28).Format("2006-01-02") + "&to=" + now.AddDate(0, 0, 2).Format("2006-01-02")
	dora := a.URL() + "/api/v1/metrics/dora" + window
	depStored, depCounted, err := deploymentEventsCounted(ctx, a, sim, in, project, dora, tok, events)
	if err != nil {
		return err
	}
	// PR merges reaching PR flow (its merged count).
	prFlow := a.URL() + "/api/v1/metrics/pull-requests" + window
	var mergeCounted []time.Duration
	for range events {
		before, err := apiCount(ctx, prFlow, tok, "merged")
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := sim.Activity(azdosim.ActivityRequest{Kind: "pull_request_completed", Project: project}); err != nil {
			return err
		}
		lat, err := waitUntil("a merged PR counted by PR flow", t0, func() (bool, error) {
			n, err := apiCount(ctx, prFlow, tok, "merged")
			return n > before, err
		})
		if err != nil {
			return err
		}
		mergeCounted = append(mergeCounted, lat)
	}
	// Incidents after a production deployment, resolved through the work
	// item updated event: the recovery figure counts one more recovery.
	var resolvedCounted []time.Duration
	for range events {
		// A production deployment, then (simulated time moved past its last
		// stage) an incident it is blamed for.
		if _, err := sim.Activity(azdosim.ActivityRequest{Kind: "deployment", Project: project, Result: "succeeded"}); err != nil {
			return err
		}
		if err := advanceSim(ctx, sim, 10*time.Minute); err != nil {
			return err
		}
		open, err := apiCount(ctx, dora, tok, "recovery.open")
		if err != nil {
			return err
		}
		act, err := sim.Activity(azdosim.ActivityRequest{Kind: "incident", Project: project})
		if err != nil {
			return err
		}
		id := 0
		for _, it := range act.Items {
			if it.Kind == "work_item" {
				fmt.Sscan(it.ID, &id)
			}
		}
		if _, err := waitUntil(fmt.Sprintf("incident %d counted open", id), time.Now(), func() (bool, error) {
			n, err := apiCount(ctx, dora, tok, "recovery.open")
			return n > open, err
		}); err != nil {
			return err
		}
		before, err := apiCount(ctx, dora, tok, "recovery.n")
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := sim.Activity(azdosim.ActivityRequest{Kind: "work_item_updated", Project: project, WorkItemID: id, State: "Resolved"}); err != nil {
			return err
		}
		lat, err := waitUntil(fmt.Sprintf("incident %d's resolution counted", id), t0, func() (bool, error) {
			n, err := apiCount(ctx, dora, tok, "recovery.n")
			return n > before, err
		})
		if err != nil {
			return err
		}
		resolvedCounted = append(resolvedCounted, lat)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	add := func(name string, lat []time.Duration, note string) {
		slices.Sort(lat)
		b.add(Result{Scenario: "freshness", Name: engine + " " + name + ", p50", Value: ms(lat[len(lat)/2]), Unit: "ms", Target: "< 2000 ms"})
		b.add(Result{Scenario: "freshness", Name: engine + " " + name + ", p99", Value: ms(lat[len(lat)*99/100]), Unit: "ms", Target: "< 2000 ms", Note: note})
	}
	add("PR event → stored", prStored, "a reconcile-only tool would take up to the 15-minute interval")
	add("deployment event → stored", depStored, "the run's events (state changes of the run and its stages) → the production deployment derived in the drain")
	add("deployment event → counted", depCounted, "→ the DORA API's deployment frequency counts it")
	add("PR merge event → counted", mergeCounted, "git.pullrequest.updated (completed) → PR flow's merged count")
	add("incident resolution event → counted", resolvedCounted, "workitem.updated (→ Resolved) → the recovery figure counts the recovery")
	return nil
}

// advanceSim moves the simulator's clock forward (POST /_sim/clock).
func advanceSim(ctx context.Context, sim *azdosim.Sim, d time.Duration) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", sim.ControlURL()+"/clock", strings.NewReader(`{"advance":"`+d.String()+`"}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("advancing the simulator's clock: %d", res.StatusCode)
	}
	return nil
}

// apiCount reads one count of a metrics API answer: "merged" or
// "recovery.n"-style paths into the JSON object.
func apiCount(ctx context.Context, url, token, path string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var v any
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return 0, err
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return 0, fmt.Errorf("%s: no %s in the answer", url, path)
		}
		v = m[k]
	}
	n, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("%s: %s is not a number", url, path)
	}
	return int(n), nil
}

// connected starts a simulator and a server, and connects them the way an
// admin does (check, activate, select every project).
func (b *bench) connected(ctx context.Context, dsn, profile string, faults azdosim.FaultConfig, env ...string) (*azdosim.Sim, *app, func(), string, error) {
	sim, err := azdosim.New(azdosim.Options{Seed: 1, Profile: profile, Addr: "127.0.0.1:0"})
	if err != nil {
		return nil, nil, nil, "", err
	}
	if err := sim.Start(ctx); err != nil {
		return nil, nil, nil, "", err
	}
	if err := sim.SetFaults(faults); err != nil {
		sim.Close()
		return nil, nil, nil, "", err
	}
	// The simulator's exact listeners, as an operator lists an on-prem server.
	env = append(append([]string(nil), env...), "PANDEV_ALLOW_HOSTS", simAllowHosts(sim))
	a, stop, err := startBenchApp(ctx, dsn, appOptions{LocalAzureDevOps: true, AzureHTTPClient: countingClient()}, env...)
	if err != nil {
		sim.Close()
		return nil, nil, nil, "", err
	}
	u, err := a.auth.CreateUser(ctx, "bench@example.com", "bench-password-long", "bench", store.RoleAdmin)
	if err != nil {
		stop()
		sim.Close()
		return nil, nil, nil, "", err
	}
	if err := connectDemo(ctx, a, sim, u.WorkspaceID, io.Discard); err != nil {
		stop()
		sim.Close()
		return nil, nil, nil, "", err
	}
	if err := waitHooks(ctx, a, u.WorkspaceID); err != nil {
		stop()
		sim.Close()
		return nil, nil, nil, "", err
	}
	return sim, a, stop, u.WorkspaceID, nil
}

// waitHooks waits until every selected project of the workspace has its
// service hooks registered: an event before that is never delivered, and a
// freshness figure would measure the next reconciliation instead.
func waitHooks(ctx context.Context, a *app, ws string) error {
	ins, err := a.db.ListIntegrations(ctx, ws, "azure-devops")
	if err != nil || len(ins) == 0 {
		return fmt.Errorf("no integration: %v", err)
	}
	k := store.Key{IntegrationID: ins[0].ID, WorkspaceID: ws}
	for t0 := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		projects, err := a.db.ListProjects(ctx, k, true)
		if err != nil {
			return err
		}
		done := 0
		for _, p := range projects {
			if hs, err := a.db.ListHookSubscriptions(ctx, k, p.ProjectID); err == nil && len(hs) > 0 {
				done++
			}
		}
		// A project's subscriptions are recorded one by one: its
		// registration is over only when its job is.
		var registering int
		if err := a.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'register_hooks'
			AND finalized_at IS NULL AND CAST(args AS TEXT) LIKE $1`, "%"+k.IntegrationID+"%").Scan(&registering); err != nil {
			return err
		}
		if done == len(projects) && registering == 0 {
			return nil
		}
		if time.Since(t0) > 2*time.Minute {
			return fmt.Errorf("service hooks of %d of %d projects registered after 2 minutes", done, len(projects))
		}
	}
}

// backfill: the 30-day backfill of every project of a generated
// organization with injected latency per call; wall time, API calls, items.
func (b *bench) backfill(ctx context.Context) error {
	profile, latency := "medium", 50*time.Millisecond
	if b.quick {
		profile, latency = "small", 20*time.Millisecond
	}
	dir, err := os.MkdirTemp("", "pandev-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	apiCalls.Store(0)
	apiDataCalls.Store(0)
	apiRateLimited.Store(0)
	start := time.Now()
	sim, a, stop, ws, err := b.connected(ctx, filepath.Join(dir, "backfill.db"), profile, azdosim.FaultConfig{Latency: latency.String()})
	if err != nil {
		return err
	}
	defer stop()
	defer sim.Close()
	ins, _ := a.db.ListIntegrations(ctx, ws, "azure-devops")
	key := store.Key{IntegrationID: ins[0].ID, WorkspaceID: ws}
	items, err := b.waitBackfilled(ctx, a, key, 10*time.Minute)
	if err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	calls := float64(apiCalls.Load())
	// Baseline: the least time the calls could take at this latency with
	// the client's 4 requests in flight.
	floor := calls * latency.Seconds() / 4
	b.add(Result{Scenario: "backfill", Name: profile + " wall time", Value: wall, Unit: "s", Baseline: floor,
		Note: fmt.Sprintf("%s latency per call; baseline = calls × latency ÷ 4 in flight", latency)})
	b.add(Result{Scenario: "backfill", Name: "API calls", Value: calls, Unit: "calls"})
	// The calls that read data against the fewest pages that can carry what
	// was stored (branch lists and commit pages per branch from the truth).
	minimum, err := azure.MinimumPages(ctx, a.db, key, func(projectID string, from time.Time) (map[string]map[string]int, error) {
		return sim.TruthCommitsByBranch(projectID, from.UTC().Format(time.RFC3339))
	})
	if err != nil {
		return err
	}
	data := float64(apiDataCalls.Load())
	b.add(Result{Scenario: "backfill", Name: "data calls vs minimum pages", Value: data, Unit: "calls", Baseline: float64(minimum),
		Ratio: data / float64(minimum), Target: "ratio ≤ 1.25",
		Note: "calls without the connection check and hook registration; minimum = one page per list and branch with new commits, plus per-item reads"})
	b.add(Result{Scenario: "backfill", Name: "items collected", Value: float64(items), Unit: "items"})
	b.add(Result{Scenario: "backfill", Name: "items per call", Value: float64(items) / calls, Unit: "items/call"})
	b.add(Result{Scenario: "backfill", Name: "429 answers", Value: float64(apiRateLimited.Load()), Unit: "", Target: "all handled"})
	return nil
}

// waitBackfilled waits until the backfill of every selected project has
// finished, at most within, and returns the items collected.
func (b *bench) waitBackfilled(ctx context.Context, a *app, key store.Key, within time.Duration) (int64, error) {
	start := time.Now()
	for {
		progress, err := collectProgress(ctx, a, key)
		if err != nil {
			return 0, err
		}
		var items int64
		done := 0
		for _, p := range progress {
			items += p.ItemsDone
			if p.Finished != nil {
				done++
			}
		}
		selected, err := a.db.ListProjects(ctx, key, true)
		if err != nil {
			return 0, err
		}
		if len(progress) == len(selected) && done == len(progress) {
			return items, nil
		}
		if time.Since(start) > within {
			return 0, fmt.Errorf("backfill did not finish within %s", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var apiCalls, apiDataCalls, apiRateLimited atomic.Int64

// countingClient counts Azure DevOps calls and 429 answers.
func countingClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: countingTransport{http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type countingTransport struct{ next http.RoundTripper }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	apiCalls.Add(1)
	if p := strings.ToLower(r.URL.Path); !strings.Contains(p, "/_apis/hooks/") && !strings.Contains(p, "/_apis/connectiondata") &&
		!strings.HasSuffix(p, "/_apis/projects") && r.Method != http.MethodOptions {
		apiDataCalls.Add(1) // what the backfill reads, not the connection check or hook registration
	}
	res, err := c.next.RoundTrip(r)
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		apiRateLimited.Add(1)
	}
	return res, err
}

// write saves report.md and report.json.
func (b *bench) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	host, _ := os.Hostname()
	mode := "full"
	if b.quick {
		mode = "quick"
	}
	doc := map[string]any{"mode": mode, "host": host, "started": b.started.UTC(), "took_s": time.Since(b.started).Seconds(), "results": b.results}
	js, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "report.json"), js, 0o644); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# PanDev Metrics benchmark (%s)\n\n%s, %s, took %s.\n\n| Scenario | Figure | Value | Baseline | Ratio | Target |\n|---|---|---|---|---|---|\n",
		mode, host, b.started.UTC().Format(time.RFC3339), time.Since(b.started).Round(time.Second))
	for _, r := range b.results {
		base, ratio := "", ""
		if r.Baseline != 0 {
			base, ratio = fmt.Sprintf("%.1f", r.Baseline), fmt.Sprintf("%.2f", r.Ratio)
		}
		val := fmt.Sprintf("%.1f %s", r.Value, r.Unit)
		if r.Name == "error" {
			val = r.Note
		}
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s |\n", r.Scenario, r.Name, val, base, ratio, r.Target)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "\nreport: %s\n\n%s", filepath.Join(dir, "report.md"), md.String())
	return nil
}

// replicas: two `pandev serve` on one PostgreSQL database behind a
// round-robin, against one alone in the same run; afterwards every event is
// stored and processed exactly once.
func (b *bench) replicas(ctx context.Context) error {
	n := 4000
	if b.quick {
		n = 1200
	}
	dsn, err := b.postgres()
	if err != nil {
		fmt.Fprintf(b.out, "   (skipped: no PostgreSQL: %v)\n", err)
		return nil
	}
	a1, stop1, err := startBenchApp(ctx, dsn, appOptions{ID: "replica-1"})
	if err != nil {
		return err
	}
	defer stop1()
	a2, stop2, err := startBenchApp(ctx, dsn, appOptions{ID: "replica-2"})
	if err != nil {
		return err
	}
	defer stop2()
	id, secret, err := benchIntegration(ctx, a1)
	if err != nil {
		return err
	}
	body := func(prefix string) func(int) []byte {
		return func(i int) []byte {
			return []byte(fmt.Sprintf(`{"id":"%s-%d","eventType":"git.push","publisherId":"tfs","createdDate":"2026-11-01T00:00:00Z",`+
				`"resourceContainers":{"project":{"id":"p"}},"resource":{"repository":{"id":"r","name":"r","project":{"id":"p"}},`+
				`"commits":[{"commitId":"%s%035d","author":{"date":"2026-11-01T00:00:00Z"},"committer":{"date":"2026-11-01T00:00:00Z"}}]}}`,
				prefix, i, prefix, i))
		}
	}
	one, _, _, err := hammerRoundRobin(ctx, []string{a1.URL()}, n, 16, body("aaaaa"), id, secret)
	if err != nil {
		return err
	}
	two, _, _, err := hammerRoundRobin(ctx, []string{a1.URL(), a2.URL()}, n, 16, body("bbbbb"), id, secret)
	if err != nil {
		return err
	}
	b.add(Result{Scenario: "replicas", Name: "2 replicas deliveries/s", Value: two, Unit: "/s", Baseline: one,
		Note: "baseline: one replica behind the same round-robin proxy, same database; here both replicas, the proxy and PostgreSQL share 2 cores"})
	// Every event processed exactly once: one commit row each, every inbox row processed.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var processed, commits int
		if err := a1.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_inbox WHERE status = 'processed'`).Scan(&processed); err != nil {
			return err
		}
		if err := a1.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM commits WHERE repo_id = 'r'`).Scan(&commits); err != nil {
			return err
		}
		if processed == 2*n {
			if commits != 2*n {
				return fmt.Errorf("%d commits for %d events", commits, 2*n)
			}
			b.add(Result{Scenario: "replicas", Name: "events processed exactly once", Value: float64(processed), Unit: "events", Target: fmt.Sprint(2 * n)})
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d events processed after 3 minutes", processed, 2*n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hammerRoundRobin spreads the deliveries over several servers in turn.
func hammerRoundRobin(ctx context.Context, bases []string, n, clients int, body func(int) []byte, user, pass string) (float64, float64, float64, error) {
	var turn atomic.Int64
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * clients}
	defer transport.CloseIdleConnections()
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := bases[int(turn.Add(1))%len(bases)] + r.URL.Path
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, target, r.Body)
		req.Header = r.Header.Clone()
		res, err := transport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
	})}
	ln, err := netListen()
	if err != nil {
		return 0, 0, 0, err
	}
	go proxy.Serve(ln)
	defer proxy.Close()
	return hammer(ctx, "http://"+ln.Addr().String()+"/v1/azure/webhook/project", n, clients, body, user, pass)
}

// waitUntil polls done until it holds (at most 30 s) and returns the time
// since t0.
func waitUntil(what string, t0 time.Time, done func() (bool, error)) (time.Duration, error) {
	for {
		ok, err := done()
		if err != nil || ok {
			return time.Since(t0), err
		}
		if time.Since(t0) > 30*time.Second {
			return 0, fmt.Errorf("%s did not happen within 30 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// benchToken is an API token of the workspace's first user.
func benchToken(ctx context.Context, a *app, ws string) (string, error) {
	users, err := a.db.ListUsers(ctx, ws)
	if err != nil || len(users) == 0 {
		return "", fmt.Errorf("no user: %v", err)
	}
	tok, _, err := a.auth.CreateToken(ctx, users[0].ID, "bench "+store.NewID())
	return tok.Reveal(), err
}

// prEventsStored creates pull requests in the simulator one at a time and
// measures each one's webhook → stored row.
func prEventsStored(ctx context.Context, a *app, sim *azdosim.Sim, ws, in, project string, events int) ([]time.Duration, error) {
	var out []time.Duration
	for range events {
		t0 := time.Now()
		act, err := sim.Activity(azdosim.ActivityRequest{Kind: "pull_request_created", Project: project})
		if err != nil {
			return nil, err
		}
		var prID int64
		for _, it := range act.Items {
			if it.Kind == "pull_request" {
				fmt.Sscan(it.ID, &prID)
			}
		}
		lat, err := waitUntil(fmt.Sprintf("PR %d stored", prID), t0, func() (bool, error) {
			prs, err := a.db.PullRequestsNumbered(ctx, ws, in, prID) // Azure numbers PRs per collection
			return err == nil && len(prs) > 0, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, lat)
	}
	return out, nil
}

// deploymentEventsCounted runs production deployments in the simulator one
// at a time and measures each one's events → the deployment stored, and →
// counted by the DORA API at dora.
func deploymentEventsCounted(ctx context.Context, a *app, sim *azdosim.Sim, in, project, dora, tok string, events int) (stored, counted []time.Duration, err error) {
	for range events {
		before, err := deploymentCount(ctx, dora, tok)
		if err != nil {
			return nil, nil, err
		}
		t0 := time.Now()
		act, err := sim.Activity(azdosim.ActivityRequest{Kind: "deployment", Project: project, Result: "succeeded"})
		if err != nil {
			return nil, nil, err
		}
		var runID int64
		for _, it := range act.Items {
			if it.Kind == "pipeline_run" || it.Kind == "run" {
				fmt.Sscan(it.ID, &runID)
			}
		}
		st, err := waitUntil(fmt.Sprintf("run %d's production deployment stored", runID), t0, func() (bool, error) {
			ds, err := a.db.RunDeployments(ctx, in, runID)
			return slices.ContainsFunc(ds, func(d store.Deployment) bool { return d.IsProduction && d.Result == "succeeded" }), err
		})
		if err != nil {
			return nil, nil, err
		}
		ct, err := waitUntil(fmt.Sprintf("run %d's deployment counted", runID), t0, func() (bool, error) {
			n, err := deploymentCount(ctx, dora, tok)
			return n > before, err
		})
		if err != nil {
			return nil, nil, err
		}
		stored, counted = append(stored, st), append(counted, ct)
	}
	return stored, counted, nil
}
