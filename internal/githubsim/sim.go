// Package githubsim is a stateful, seeded GitHub simulator.
//
// It serves the REST endpoints PanDev's GitHub integration calls, in both URL forms: github.com
// style (the API at the host root) and Enterprise Server (`/api/v3/...`). Every rule it applies is
// GitHub's, with its source cited beside the code: Link-header paging with `per_page` ≤ 100,
// the 250-commit cap of a pull request's commits, ETags and 304s that do not count against the
// rate limit, primary and secondary rate limits, classic PAT scopes and fine-grained PAT
// permissions checked per endpoint (permissions.go), 404 for a repository a token cannot see,
// repository webhooks signed with their secret, the deliveries API with manual redelivery (GitHub
// never retries on its own). A control API under /_sim/ drives activity, drops deliveries,
// injects faults and exposes ground truth. Its answers are validated against GitHub's published
// OpenAPI and webhook descriptions (@octokit/openapi, @octokit/openapi-webhooks) and driven by
// independent clients (gh, @octokit/rest, go-github) in its tests.
package githubsim

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pandev-metrics/pandev/internal/simtls"
)

// Options configures a simulator. The zero value is the small profile on a random loopback port.
type Options struct {
	// Seed makes the generated organization deterministic.
	Seed int64
	// Profile is small (tests), medium (demo) or large (benchmarks). Empty means small.
	Profile string
	// Addr is the listen address, e.g. 127.0.0.1:0.
	Addr string
	// TLS serves https with a self-signed certificate for localhost and 127.0.0.1 (see CertPEM).
	TLS bool
	// Logger receives request and delivery logs; nil discards them.
	Logger *slog.Logger
	// Now is the base clock; nil means time.Now. POST /_sim/clock moves the simulated time on.
	Now func() time.Time
	// RunsSearchCap lowers GitHub's cap of 1,000 results on a filtered workflow runs list
	// (see workflowRunsCap) so a test reaches it with a few dozen runs; 0 means GitHub's
	// 1,000. PUT /_sim/caps {"workflow_runs": N} changes it while running.
	RunsSearchCap int
}

// Sim is one simulated GitHub (github.com and an Enterprise Server at /api/v3 on the same host).
type Sim struct {
	opts   Options
	log    *slog.Logger
	clock  *clock
	hooks  *hookEngine
	limits *limiter
	faults *faults

	mu     sync.Mutex // guards the world, the tokens and the counters below
	w      *world
	tokens map[string]*token

	classic     string
	fineGrained string
	runsCap     int // the filtered workflow runs list's cap (workflowRunsCap unless Options lowers it)

	ln        net.Listener
	srv       *http.Server
	baseURL   string
	tlsConfig *tls.Config
	certPEM   []byte
	started   bool
	closed    bool
	cancel    context.CancelFunc
}

// New validates opts and generates the organization. It does not listen yet; call Start.
func New(opts Options) (*Sim, error) {
	if opts.Profile == "" {
		opts.Profile = "small"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	p, ok := profiles[opts.Profile]
	if !ok {
		return nil, fmt.Errorf("githubsim: unknown profile %q: use small, medium or large", opts.Profile)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.RunsSearchCap < 0 {
		return nil, fmt.Errorf("githubsim: RunsSearchCap %d is negative: use 0 for GitHub's %d or a positive cap", opts.RunsSearchCap, workflowRunsCap)
	}
	s := &Sim{opts: opts, log: log, tokens: map[string]*token{}, runsCap: cmp.Or(opts.RunsSearchCap, workflowRunsCap)}
	s.clock = newClock(opts.Now)
	s.w = generate(opts.Seed, p, s.clock.Now())
	s.limits = newLimiter(s.clock)
	s.faults = &faults{}
	s.hooks = newHookEngine(s)
	s.classic = s.NewClassicToken(ProductScopes...)
	s.fineGrained = s.NewFineGrainedToken(ProductPermissions)
	return s, nil
}

// Start listens and serves until Close (or until ctx ends).
func (s *Sim) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("githubsim: already started")
	}
	scheme := "http"
	if s.opts.TLS {
		cfg, pemBytes, err := simtls.SelfSigned("github-sim")
		if err != nil {
			return err
		}
		s.tlsConfig, s.certPEM, scheme = cfg, pemBytes, "https"
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("githubsim: listen %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	s.baseURL = scheme + "://" + hostPort(ln.Addr())
	hctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.hooks.start(hctx)
	s.srv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	go func() {
		l := s.ln
		if s.tlsConfig != nil {
			l = tls.NewListener(l, s.tlsConfig)
		}
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("github-sim listener stopped", "err", err)
		}
	}()
	s.started = true
	s.log.Info("github-sim started", "url", s.baseURL, "profile", s.opts.Profile)
	if ctx != nil {
		go func() {
			<-ctx.Done()
			s.Close()
		}()
	}
	return nil
}

func hostPort(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// URL is the github.com-style API root (https://host, the API at the root, as api.github.com).
func (s *Sim) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// EnterpriseURL is the Enterprise Server API root (https://host/api/v3), what go-github's
// WithEnterpriseURLs and gh's GH_HOST talk to.
func (s *Sim) EnterpriseURL() string { return s.URL() + "/api/v3" }

// ControlURL is the root of the /_sim/ control API.
func (s *Sim) ControlURL() string { return s.URL() + "/_sim" }

// Host is host:port of the listener (gh's GH_HOST).
func (s *Sim) Host() string { return hostOf(s.URL()) }

// Org is the login of the generated organization.
func (s *Sim) Org() string { return s.w.org.login }

// Repos lists the generated repositories' full names (owner/name).
func (s *Sim) Repos() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.w.org.repos {
		out = append(out, r.fullName())
	}
	return out
}

// Token is a classic PAT with ProductScopes, owned by the organization's admin, created by New.
func (s *Sim) Token() string { return s.classic }

// FineGrainedToken is a fine-grained PAT with ProductPermissions on every repository of the
// organization, created by New.
func (s *Sim) FineGrainedToken() string { return s.fineGrained }

// CertPEM is the self-signed certificate in TLS mode (nil otherwise).
func (s *Sim) CertPEM() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certPEM
}

// HTTPClient returns a client that trusts the simulator's certificate in TLS mode.
func (s *Sim) HTTPClient() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsConfig == nil {
		return &http.Client{Timeout: 30 * time.Second}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: simtls.ClientConfig(s.certPEM)}}
}

// Now is the simulated time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

// Close stops the listener and the delivery worker. It is safe to call more than once.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed || !s.started {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.hooks.wait()
	return err
}

// clock is the simulated clock: the base clock plus an offset moved by POST /_sim/clock.
type clock struct {
	base   func() time.Time
	mu     sync.Mutex
	offset time.Duration
}

func newClock(base func() time.Time) *clock {
	if base == nil {
		base = time.Now
	}
	return &clock{base: base}
}

// Now returns the simulated time in UTC, to the second as GitHub's timestamps are.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	off := c.offset
	c.mu.Unlock()
	return c.base().Add(off).UTC().Truncate(time.Second)
}

// Advance moves simulated time forward.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return c.Now()
}
