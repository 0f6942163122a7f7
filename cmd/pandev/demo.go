package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

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
)

// demoCommand runs the server on a SQLite file in ./demo with an admin
// account, listening on 127.0.0.1:8080 unless PANDEV_ADDR says otherwise.
func demoCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	demoEnv := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		switch k {
		case "PANDEV_ADDR":
			return "127.0.0.1:8080"
		case "PANDEV_DB":
			return filepath.Join(demoFolder, "pandev.db")
		}
		return ""
	}
	cfg, err := config.Parse("demo", args, demoEnv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	a, err := newApp(ctx, cfg, logger, appOptions{})
	if err != nil {
		return err
	}
	if _, err := a.auth.CreateUser(ctx, demoEmail, demoPassword, "demo", store.RoleAdmin); err != nil && delivery.KindOf(err) != delivery.KindConflict {
		a.closeAll()
		return err
	}
	fmt.Fprintf(stdout, "\nPanDev Metrics demo\n  open      %s\n  sign in   %s / %s\n  data in   %s (delete the folder to start over)\n  stop      Ctrl+C\n\n",
		cfg.DefaultPublicURL(a.Addr()), demoEmail, demoPassword, filepath.Dir(a.db.Path()))
	return a.run(ctx)
}
