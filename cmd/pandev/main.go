// Command pandev is PanDev Metrics in one binary: the server, its
// maintenance commands, the Azure DevOps simulator and the demo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pandev-metrics/pandev/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "1.0.250-dev"

const usage = `PanDev Metrics — engineering metrics from Azure DevOps.

Usage:
  pandev demo                      everything in one process on SQLite: try it first
  pandev serve [flags]             run the server (pandev serve -h lists every setting)
  pandev migrate                   apply database migrations and exit
  pandev admin create --email E --password-stdin [--workspace W] [--member] [--operator]
  pandev admin operator --email E [--revoke]   grant (or take) the instance operator flag
  pandev token create --email E --name N [--expires-in-days D] [--scope read|admin]
                                   print a new API token (shown once)
  pandev azdo-sim [flags]          run the Azure DevOps simulator
  pandev github-sim [flags]        run the GitHub simulator (github.com and Enterprise Server paths)
  pandev bench [--quick]           measure ingest, freshness and backfill; writes bench-report/
  pandev version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = serveCommand(ctx, rest, getenv, stdout, stderr)
	case "demo":
		err = demoCommand(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = migrateCommand(ctx, rest, getenv, stderr)
	case "admin":
		err = adminCommand(ctx, rest, getenv, stdin, stdout, stderr)
	case "token":
		err = tokenCommand(ctx, rest, getenv, stdout, stderr)
	case "azdo-sim":
		err = simCommand(ctx, rest, stdout, stderr)
	case "github-sim":
		err = githubSimCommand(ctx, rest, stdout, stderr)
	case "bench":
		err = benchCommand(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "pandev %s\n", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "pandev: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	return exitCode(err, stderr)
}

// usageError is a wrong invocation: exit code 2, like a config error.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error, stderr io.Writer) int {
	var ce *config.Error
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ce), errors.As(err, &ue):
		fmt.Fprintf(stderr, "pandev: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "pandev: %v\n", err)
		return 1
	}
}
