package azdosim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// RunCLI implements `pandev azdo-sim`: it starts a simulator, prints the organization (or
// collection) URL, the manual's four-scope PAT and a full-scope one, and serves until ctx is cancelled.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("azdo-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address host:port (the release host of Services mode takes a free port next to it)")
	seed := fs.Int64("seed", 1, "seed of the generated organization")
	prof := fs.String("profile", "small", "organization size: small, medium, large or boards (small with many work items)")
	mode := fs.String("mode", "services", "URL form: services (https://host/{org}) or server (https://host/{collection})")
	ver := fs.String("server-version", "2022", "Azure DevOps Server release in server mode: 2019, 2020 or 2022")
	vdir := fs.String("virtual-dir", "", "server mode: the IIS virtual directory the deployment lives under (https://host/<dir>/<collection>); empty: the host root (and /tfs/)")
	useTLS := fs.Bool("tls", false, "serve https with a self-signed certificate")
	wiqlLimit := fs.Int("wiql-limit", DefaultWiqlLimit, "most work items a WIQL query may match before it is refused with VS402337")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("azdo-sim: %w (run `pandev azdo-sim -h` for the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("azdo-sim: unexpected argument %q: flags only, e.g. --profile medium", fs.Arg(0))
	}
	if _, ok := profiles[*prof]; !ok {
		return fmt.Errorf("azdo-sim: --profile %q is not a profile: use --profile small, medium, large or boards", *prof)
	}
	switch *mode {
	case "services", "server":
	default:
		return fmt.Errorf("azdo-sim: --mode %q is not a mode: use --mode services or --mode server", *mode)
	}
	if _, ok := serverCaps[*ver]; !ok {
		return fmt.Errorf("azdo-sim: --server-version %q is not supported: use --server-version 2019, 2020 or 2022", *ver)
	}
	if *wiqlLimit <= 0 {
		return fmt.Errorf("azdo-sim: --wiql-limit %d must be positive, e.g. --wiql-limit 25 (the service's is %d)", *wiqlLimit, DefaultWiqlLimit)
	}
	if !strings.Contains(*addr, ":") {
		return fmt.Errorf("azdo-sim: --addr %q has no port: use --addr host:port, e.g. --addr 127.0.0.1:8090", *addr)
	}
	if *mode != "server" {
		set := ""
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "server-version" || f.Name == "virtual-dir" {
				set = f.Name
			}
		})
		if set != "" {
			return fmt.Errorf("azdo-sim: --%s only applies with --mode server: add --mode server or drop --%s", set, set)
		}
	}
	if strings.ContainsAny(*vdir, "/\\?#% ") || strings.HasPrefix(*vdir, "_") {
		return fmt.Errorf("azdo-sim: --virtual-dir %q must be one path segment, e.g. --virtual-dir devops", *vdir)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := Options{Seed: *seed, Profile: *prof, Mode: *mode, TLS: *useTLS, Addr: *addr, Logger: log, WiqlLimit: *wiqlLimit}
	if *mode == "server" {
		opts.ServerVersion, opts.VirtualDir = *ver, *vdir
	}
	sim, err := New(opts)
	if err != nil {
		return err
	}
	if err := sim.Start(context.Background()); err != nil {
		return fmt.Errorf("azdo-sim: %w (is --addr %s free?)", err, *addr)
	}
	defer sim.Close()
	fmt.Fprintf(stdout, "Azure DevOps simulator (%s, profile %s, seed %d)\n", *mode, *prof, *seed)
	fmt.Fprintf(stdout, "URL:     %s\n", sim.OrgURL())
	fmt.Fprintf(stdout, "PAT:     %s (the manual's Step 1 scopes: Code: Read, Pull Request Threads: Read & write, Build: Read, Work Items: Read)\n", sim.ManualPAT())
	fmt.Fprintf(stdout, "Full:    %s (every scope, adds Release: Read and Environment: Read & manage)\n", sim.FullPAT())
	if *mode == "services" {
		fmt.Fprintf(stdout, "Release: %s\n", sim.ReleaseURL())
	}
	fmt.Fprintf(stdout, "Control: %s/ (pats, activity, faults, deliveries, truth, clock, limits, subscriptions)\n", sim.ControlURL())
	<-ctx.Done()
	return nil
}
