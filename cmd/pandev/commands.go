package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/config"
	"github.com/pandev-metrics/pandev/internal/membudget"
	"github.com/pandev-metrics/pandev/internal/store"
)

func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	tuneGC(getenv)
	budget := membudget.Apply(getenv, logger)
	a, err := newApp(ctx, cfg, logger, appOptions{})
	if err != nil {
		return err
	}
	go budget.Watch(ctx, 10*time.Second)
	fmt.Fprintf(stdout, "PanDev Metrics is listening on %s\n", cfg.DefaultPublicURL(a.Addr()))
	return a.run(ctx)
}

// serveGCPercent is the server's garbage collection target unless GOGC is
// set. Most of a large server's heap is the dashboard's long-lived facts
// (~56 MB at a million commits); Go's default of 100 lets the heap grow to
// twice that before collecting. 50 collects at one and a half times, for
// a few percent of CPU (docs/performance.md has both). The memory budget
// (package membudget) caps the heap below that when it nears the limit.
const serveGCPercent = 50

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := config.Parse("migrate", args, getenv, stderr)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stderr, "migrations applied")
	return nil
}

// toolFlags parses a maintenance command's own flags plus --db.
func toolFlags(name string, args []string, getenv func(string) string, stderr io.Writer, define func(fs *flag.FlagSet)) (config.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbFlag := fs.String("db", getenv("PANDEV_DB"), "SQLite file path or postgres:// URL [$PANDEV_DB]")
	define(fs)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return config.Config{}, err
		}
		return config.Config{}, &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return config.Config{}, &usageError{msg: fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0))}
	}
	cfg, err := config.Parse(name, nil, getenv, stderr)
	cfg.DB = *dbFlag
	cfg.LogLevel = "warn"
	return cfg, err
}

func adminCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "operator" {
		return operatorCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		return &usageError{msg: "usage: pandev admin create --email E --password-stdin [--workspace W] [--member] [--operator]\n       pandev admin operator --email E [--revoke]"}
	}
	var email, password, workspace string
	var member, fromStdin, operator bool
	cfg, err := toolFlags("admin create", args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "email address to sign in with (required)")
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input (it then shows in no process list)")
		fs.StringVar(&password, "password", "", "password, at least 10 characters; prefer --password-stdin, an argument shows in process lists")
		fs.StringVar(&workspace, "workspace", auth.DefaultWorkspace, "workspace to create the user in (created if missing)")
		fs.BoolVar(&member, "member", false, "create a member (reads dashboards) instead of an admin")
		fs.BoolVar(&operator, "operator", false, "make the user the instance operator: sees the job queue every workspace shares (/admin/jobs/); the first admin of a fresh install is one anyway")
	})
	if err != nil {
		return err
	}
	if fromStdin {
		if password != "" {
			return &usageError{msg: "give the password either with --password-stdin or with --password, not both"}
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return &usageError{msg: "--password-stdin read no password: pipe it in, e.g. printf '%s\n' \"$PASSWORD\" | pandev admin create --email E --password-stdin"}
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if email == "" || password == "" {
		return &usageError{msg: "admin create needs --email and --password-stdin (or --password)"}
	}
	db, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	role := store.RoleAdmin
	if member {
		role = store.RoleMember
	}
	svc := auth.NewService(db, newLogger(cfg, stderr), nowUTC)
	u, err := svc.CreateAdmin(ctx, email, password, workspace, role, operator)
	if err != nil {
		return userError(err)
	}
	fmt.Fprintf(stdout, "created %s %s in workspace %q; sign in at /login\n", u.Role, u.Email, workspace)
	switch {
	case u.Operator && !operator:
		fmt.Fprintf(stdout, "%s is the instance operator (the first admin of this server): it sees the job queue of every workspace at /admin/jobs/\n", u.Email)
	case u.Operator:
		fmt.Fprintf(stdout, "%s is an instance operator: it sees the job queue of every workspace at /admin/jobs/\n", u.Email)
	}
	return nil
}

// operatorCommand grants or revokes the instance operator flag.
func operatorCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var email string
	var revoke bool
	cfg, err := toolFlags("admin operator", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the user (required)")
		fs.BoolVar(&revoke, "revoke", false, "take the operator flag away instead of granting it")
	})
	if err != nil {
		return err
	}
	if email == "" {
		return &usageError{msg: "admin operator needs --email"}
	}
	db, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := auth.NewService(db, newLogger(cfg, stderr), nowUTC).SetOperator(ctx, email, !revoke)
	if err != nil {
		return userError(err)
	}
	if u.Operator {
		fmt.Fprintf(stdout, "%s is now an instance operator: it sees the job queue of every workspace at /admin/jobs/\n", u.Email)
	} else {
		fmt.Fprintf(stdout, "%s is no longer an instance operator\n", u.Email)
	}
	return nil
}

func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return &usageError{msg: "usage: pandev token create --email E --name N [--expires-in-days D] [--scope read|admin]"}
	}
	var email, name, scope string
	var days int
	cfg, err := toolFlags("token create", args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the user the token acts as (required)")
		fs.StringVar(&name, "name", "", "a name for the token, e.g. ci (required)")
		fs.IntVar(&days, "expires-in-days", auth.DefaultTokenDays, fmt.Sprintf("days until the token stops working, 1 to %d", auth.MaxTokenDays))
		fs.StringVar(&scope, "scope", string(store.ScopeAdmin), "read (GET only) or admin (whatever the user's role allows)")
	})
	if err != nil {
		return err
	}
	if email == "" || name == "" {
		return &usageError{msg: "token create needs --email and --name"}
	}
	db, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.GetUserByEmail(ctx, email)
	if err != nil {
		return userError(fmt.Errorf("no user with email %s: create one with `pandev admin create`", store.NormalizeEmail(email)))
	}
	svc := auth.NewService(db, newLogger(cfg, stderr), nowUTC)
	if days <= 0 {
		return &usageError{msg: fmt.Sprintf("--expires-in-days must be 1 to %d: tokens cannot be made to never expire", auth.MaxTokenDays)}
	}
	tok, t, err := svc.CreateTokenWith(ctx, u.ID, auth.TokenRequest{Name: name, ExpiresInDays: days, Scope: store.TokenScope(scope)})
	if err != nil {
		return userError(err)
	}
	fmt.Fprintln(stdout, tok.Reveal())
	fmt.Fprintf(stderr, "This token (scope %s) expires on %s and is shown once; store it now. Send it as: Authorization: Bearer <token>\n",
		t.Scope, t.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
	return nil
}
