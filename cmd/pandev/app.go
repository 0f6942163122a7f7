package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/config"
	"github.com/pandev-metrics/pandev/internal/dashboard"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/prcomment"
	prazure "github.com/pandev-metrics/pandev/internal/prcomment/azure"
	prgithub "github.com/pandev-metrics/pandev/internal/prcomment/github"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/server"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// app is one running `pandev serve`: wired with plain constructors, so a
// test can start several on port 0 against one database.
type app struct {
	cfg          config.Config
	logger       *slog.Logger
	db           *store.DB
	keys         *secret.Keyring
	auth         *auth.Service
	queue        *jobs.Queue
	collector    *collect.Collector
	integrations *integration.Service
	github       *integration.GitHub
	comments     *prcomment.Service
	dashboard    *dashboard.Handlers
	jobsUI       *riverui.Handler
	server       *server.Server
	http         *http.Server
	listener     net.Listener
	id           string
}

// appOptions are knobs tests turn; production uses the zero value.
type appOptions struct {
	ID                   string        // replica id; default host-pid
	HousekeepingInterval time.Duration // default 1h
	PollInterval         time.Duration // job fetch poll; default 1s
	Workers              *river.Workers
	ConnState            func(net.Conn, http.ConnState) // observes connections (tests of draining)
	// LocalAzureDevOps: the organization runs on this machine (the demo's
	// simulator), so webhooks to a loopback public URL do arrive.
	LocalAzureDevOps bool
	// CommentInterval is the least time between updates of one PR comment
	// (default a minute; tests shorten it).
	CommentInterval time.Duration
	// AzureHTTPClient sends the Azure DevOps calls (benchmarks count them).
	AzureHTTPClient *http.Client
	// GitHubHTTPClient sends the GitHub calls (tests trust the simulator's
	// certificate with it); LocalGitHub says loopback webhooks arrive.
	GitHubHTTPClient *http.Client
	LocalGitHub      bool
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.LogLevel]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens and migrates the database named by the configuration.
func openStore(ctx context.Context, cfg config.Config, logger *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := db.Migrate(ctx, logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}

// loadKeys finds the sealing key: PANDEV_SECRET_KEY, else a key file (by
// default next to the SQLite file, created on first start). PostgreSQL
// needs the variable, so that every replica seals with the same key.
func loadKeys(cfg config.Config, db *store.DB, logger *slog.Logger) (*secret.Keyring, error) {
	if cfg.SecretKey != "" {
		kr, err := secret.ParseKeys(cfg.SecretKey)
		if err != nil {
			return nil, config.Errorf("PANDEV_SECRET_KEY: %v", err)
		}
		return kr, nil
	}
	path := cfg.SecretKeyFile
	if path == "" {
		if db.Dialect() == store.Postgres {
			return nil, config.Errorf("PANDEV_SECRET_KEY is required with PostgreSQL, so every replica seals with the same key (generate one with: head -c 32 /dev/urandom | base64)")
		}
		path = filepath.Join(filepath.Dir(db.Path()), "pandev.key")
	}
	kr, created, err := secret.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Warn("created a new sealing key; back it up with the database, or sealed tokens cannot be opened", "file", path)
	}
	return kr, nil
}

// resealSecrets re-seals every stored secret sealed with an older key, so a
// rotated-out key can be removed after one start.
func resealSecrets(ctx context.Context, db *store.DB, kr *secret.Keyring, logger *slog.Logger) error {
	ins, err := db.ListAllIntegrations(ctx)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if !kr.NeedsReseal(in.TokenSealed) && !kr.NeedsReseal(in.WebhookSecretSealed) {
			continue
		}
		tok, err := kr.Open(in.TokenSealed, store.TokenSealContext(in.ID))
		if err != nil {
			return fmt.Errorf("integration %s: %w", in.ID, err)
		}
		sec, err := kr.Open(in.WebhookSecretSealed, store.WebhookSecretSealContext(in.ID))
		if err != nil {
			return fmt.Errorf("integration %s: %w", in.ID, err)
		}
		tokSealed, err := kr.Seal(tok, store.TokenSealContext(in.ID))
		if err != nil {
			return err
		}
		secSealed, err := kr.Seal(sec, store.WebhookSecretSealContext(in.ID))
		if err != nil {
			return err
		}
		if err := db.ResealIntegration(ctx, in.ID, tokSealed, secSealed); err != nil {
			return err
		}
		logger.Info("secrets re-sealed with the current key", "integration", in.ID, "key", kr.CurrentKeyID())
	}
	return nil
}

// newApp opens everything `pandev serve` needs and listens, without serving yet.
func newApp(ctx context.Context, cfg config.Config, logger *slog.Logger, opts appOptions) (_ *app, err error) {
	a := &app{cfg: cfg, logger: logger, id: opts.ID}
	if a.id == "" {
		host, _ := os.Hostname()
		a.id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	defer func() {
		if err != nil {
			a.closeAll()
		}
	}()
	if a.db, err = openStore(ctx, cfg, logger); err != nil {
		return nil, err
	}
	if a.keys, err = loadKeys(cfg, a.db, logger); err != nil {
		return nil, err
	}
	if err = resealSecrets(ctx, a.db, a.keys, logger); err != nil {
		return nil, err
	}
	a.auth = auth.NewService(a.db, logger, time.Now)

	interval := opts.HousekeepingInterval
	if interval <= 0 {
		interval = time.Hour
	}
	workers := opts.Workers
	if workers == nil {
		workers = river.NewWorkers()
	}
	river.AddWorker(workers, &jobs.HousekeepingWorker{DB: a.db, Now: time.Now, Logger: logger})
	a.collector = collect.New(a.db, logger.With("component", "collect"), time.Now)
	a.collector.SetJobTimeout(cfg.JobTimeout)
	a.collector.Register(workers)
	reg := prometheus.NewRegistry()
	a.integrations = integration.New(integration.Options{DB: a.db, Keys: a.keys, Logger: logger.With("component", "integration"),
		Now: time.Now, BackfillDays: cfg.BackfillDays, Registerer: reg, LocalAzureDevOps: opts.LocalAzureDevOps,
		HTTPClient: opts.AzureHTTPClient, AllowHosts: cfg.AllowHosts,
		StartBackfill: func(ctx context.Context, tx *store.Tx, integrationID, projectID string, days int) error {
			return a.queue.InsertNowTx(ctx, tx, collect.BackfillArgs{IntegrationID: integrationID, ProjectID: projectID, Days: days}, nil)
		},
		StartReconcile: func(ctx context.Context, tx *store.Tx, integrationID string) error {
			args := collect.ReconcileArgs{IntegrationID: integrationID}
			return a.queue.InsertRerunTx(ctx, tx, args, args.Again)
		},
	})
	a.integrations.Register(workers)
	a.github = integration.NewGitHub(integration.Options{DB: a.db, Keys: a.keys, Logger: logger.With("component", "github"),
		Now: time.Now, AllowHosts: cfg.AllowHosts, GitHubHTTPClient: opts.GitHubHTTPClient, LocalGitHub: opts.LocalGitHub,
		BackfillDays: cfg.BackfillDays,
		StartBackfill: func(ctx context.Context, tx *store.Tx, integrationID, projectID string, days int) error {
			return a.queue.InsertNowTx(ctx, tx, collect.BackfillArgs{IntegrationID: integrationID, ProjectID: projectID, Days: days}, nil)
		},
		StartReconcile: func(ctx context.Context, tx *store.Tx, integrationID string) error {
			args := collect.ReconcileArgs{IntegrationID: integrationID}
			return a.queue.InsertRerunTx(ctx, tx, args, args.Again)
		},
		TokenUpdated: func(ctx context.Context, tx *store.Tx, integrationID string) error {
			return a.comments.RetryFailed(ctx, tx, integrationID)
		}})
	a.github.Register(workers)
	a.collector.AttachSource(azure.New(a.integrations))
	a.collector.AttachSource(ghcollect.New(a.github))
	a.comments = prcomment.New(a.db, logger.With("component", "pr-comments"), time.Now, opts.CommentInterval)
	a.comments.AttachProvider(prazure.New(a.integrations))
	a.comments.AttachProvider(prgithub.New(a.db, a.github))
	a.comments.Register(workers)
	a.collector.AttachPRObserver(a.comments)
	a.queue, err = jobs.New(a.db, jobs.Config{
		ID: a.id, Workers: workers, Logger: logger.With("component", "jobs"), PollInterval: opts.PollInterval,
		JobTimeout: cfg.JobTimeout,
		Periodic: []*river.PeriodicJob{jobs.HousekeepingSchedule(interval, a.id),
			collect.ReconcileSchedule(cfg.ReconcileInterval), collect.SweepSchedule(), integration.HookHealthSchedule(cfg.ReconcileInterval),
			integration.GitHubHookHealthSchedule(cfg.ReconcileInterval)},
	})
	if err != nil {
		return nil, err
	}
	a.collector.AttachQueue(a.queue)
	a.integrations.AttachQueue(a.queue)
	a.github.AttachQueue(a.queue)
	a.comments.AttachQueue(a.queue)
	a.jobsUI, err = riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(a.queue.Client(), nil),
		Logger:    logger.With("component", "jobs-ui"),
		Prefix:    "/admin/jobs",
	})
	if err != nil {
		return nil, fmt.Errorf("jobs page: %w", err)
	}

	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), jobs.NewCollector(a.db))
	if a.listener, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w (set PANDEV_ADDR to a free address)", cfg.Addr, err)
	}
	a.dashboard = dashboard.New(a.db, time.Now, dashboard.Config{Logger: logger.With("component", "dashboard"), BackfillDays: cfg.BackfillDays})
	publicURL := cfg.DefaultPublicURL(a.listener.Addr().String())
	a.integrations.SetPublicURL(publicURL)
	a.github.SetPublicURL(publicURL)
	ingest := webhook.New(a.db, a.keys, a.collector, logger.With("component", "webhook"), time.Now)
	srv := server.New(server.Deps{
		DB: a.db, Auth: a.auth, Logger: logger, Registry: reg, JobsUI: a.jobsUI,
		Integrations:   a.integrations,
		GitHub:         a.github,
		GitHubWebhook:  ingest.Serve(webhook.GitHub),
		Comments:       a.comments,
		Dashboard:      a.dashboard,
		BackfillDays:   cfg.BackfillDays,
		Webhook:        ingest,
		SecureCookies:  strings.HasPrefix(publicURL, "https://"),
		MetricsToken:   cfg.MetricsToken,
		TrustedProxies: cfg.TrustedProxies,
	})
	a.server = srv
	a.http = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ConnState:         opts.ConnState,
	}
	return a, nil
}

// Addr is the address the server listens on.
func (a *app) Addr() string { return a.listener.Addr().String() }

// URL is the base URL of the running server.
func (a *app) URL() string { return "http://" + a.Addr() }

// run serves until ctx ends, then shuts down gracefully: stop accepting,
// drain requests, let running jobs finish, close the database.
func (a *app) run(ctx context.Context) error {
	if err := a.queue.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	uiCtx, stopUI := context.WithCancel(context.WithoutCancel(ctx))
	defer stopUI()
	if err := a.jobsUI.Start(uiCtx); err != nil {
		return fmt.Errorf("start jobs page: %w", err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.http.Serve(a.listener) }()
	a.logger.Info("serving", "addr", a.Addr(), "db", string(a.db.Dialect()), "instance", a.id)
	if ins, err := a.db.ListAllIntegrations(ctx); err == nil {
		var workspaces []string
		for _, in := range ins {
			if !slices.Contains(workspaces, in.WorkspaceID) {
				workspaces = append(workspaces, in.WorkspaceID)
			}
		}
		a.dashboard.Warm(workspaces)
	}
	if n, err := a.db.CountUsers(ctx); err == nil && n == 0 {
		a.logger.Warn("no users yet; create the first admin with: pandev admin create --email you@example.com --password '…'")
	}

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	a.logger.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	if herr := a.http.Shutdown(shutdownCtx); herr != nil {
		err = errors.Join(err, herr)
	}
	if qerr := a.queue.Stop(shutdownCtx); qerr != nil {
		err = errors.Join(err, qerr)
	}
	stopUI()
	a.closeAll()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	a.logger.Info("stopped")
	return err
}

func (a *app) closeAll() {
	if a.dashboard != nil {
		a.dashboard.Close()
	}
	if a.listener != nil {
		a.listener.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}
