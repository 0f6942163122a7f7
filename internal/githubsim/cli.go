package githubsim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// RunCLI implements `pandev github-sim`: it starts a simulator, prints its URLs (github.com
// style and Enterprise Server /api/v3), the certificate file in TLS mode and, with
// --print-token, its tokens, then serves until ctx is cancelled.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("github-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address host:port (port 0: a free one, printed)")
	seed := fs.Int64("seed", 1, "seed of the generated organization")
	prof := fs.String("profile", "small", "organization size: small, medium or large")
	useTLS := fs.Bool("tls", false, "serve https with a self-signed certificate for localhost and 127.0.0.1 (written next to the printed Cert: line)")
	printToken := fs.Bool("print-token", false, "print the classic and fine-grained tokens (otherwise GET /_sim/ shows them)")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("github-sim: %w (run `pandev github-sim -h` for the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("github-sim: unexpected argument %q: flags only, e.g. --profile medium", fs.Arg(0))
	}
	if _, ok := profiles[*prof]; !ok {
		return fmt.Errorf("github-sim: --profile %q is not a profile: use --profile small, medium or large", *prof)
	}
	if !strings.Contains(*addr, ":") {
		return fmt.Errorf("github-sim: --addr %q has no port: use --addr host:port, e.g. --addr 127.0.0.1:8091", *addr)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	sim, err := New(Options{Seed: *seed, Profile: *prof, TLS: *useTLS, Addr: *addr, Logger: log})
	if err != nil {
		return err
	}
	if err := sim.Start(context.Background()); err != nil {
		return fmt.Errorf("github-sim: %w (is --addr %s free?)", err, *addr)
	}
	defer sim.Close()
	fmt.Fprintf(stdout, "GitHub simulator (profile %s, seed %d, organization %s)\n", *prof, *seed, sim.Org())
	fmt.Fprintf(stdout, "URL:        %s (github.com style: the API at the root)\n", sim.URL())
	fmt.Fprintf(stdout, "Enterprise: %s (GitHub Enterprise Server style)\n", sim.EnterpriseURL())
	fmt.Fprintf(stdout, "GraphQL:    %s/graphql and %s/api/graphql (validated against @octokit/graphql-schema %s)\n", sim.URL(), sim.URL(), GraphQLSchemaVersion)
	if *useTLS {
		dir, err := os.MkdirTemp("", "github-sim-")
		if err != nil {
			return fmt.Errorf("github-sim: write the certificate: %w", err)
		}
		defer os.RemoveAll(dir)
		cert := filepath.Join(dir, "cert.pem")
		if err := os.WriteFile(cert, sim.CertPEM(), 0o644); err != nil {
			return fmt.Errorf("github-sim: write the certificate: %w", err)
		}
		fmt.Fprintf(stdout, "Cert:       %s (e.g. GH_HOST=localhost:PORT GH_ENTERPRISE_TOKEN=… SSL_CERT_FILE=%s gh api /user)\n", cert, cert)
	}
	if *printToken {
		fmt.Fprintf(stdout, "Token:      %s (classic PAT, scopes %s)\n", sim.Token(), strings.Join(ProductScopes, ", "))
		fmt.Fprintf(stdout, "Fine:       %s (fine-grained PAT, the product's permissions)\n", sim.FineGrainedToken())
	} else {
		fmt.Fprintf(stdout, "Token:      not shown: add --print-token, or GET %s/\n", sim.ControlURL())
	}
	fmt.Fprintf(stdout, "Control:    %s/ (tokens, activity, ratelimit, faults, deliveries, truth, clock)\n", sim.ControlURL())
	<-ctx.Done()
	return nil
}
