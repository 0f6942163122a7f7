// Package azdosim is a stateful, deterministic Azure DevOps simulator.
//
// It speaks the real REST protocol (see ../shared/azure-devops/PROTOCOL.md): a generated
// organization (projects, repositories with a commit graph, pull requests with threads and votes,
// builds and YAML runs with stages and environments, classic release deployments, Boards work
// items), PAT authentication with scopes, Services and Server URL forms, api-version negotiation,
// paging, rate limiting, fault injection and service hooks that really deliver. The official Go SDK
// works against it unchanged. A control API under /_sim/ drives activity and exposes ground truth.
package azdosim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pandev-metrics/pandev/internal/simtls"
)

// Options configures a simulator. The zero value is a small Services organization on a random
// loopback port.
type Options struct {
	// Seed makes the generated organization deterministic; the same seed and profile give the
	// same projects, ids, commits and pull requests.
	Seed int64
	// Profile is small (tests), medium (demo), large (benchmarks) or boards (small, with
	// hundreds of work items changed a month: WIQL cap tests). Empty means small.
	Profile string
	// Mode is services (https://host/{org}, release on its own listener) or server
	// (https://host[/tfs]/{collection}, everything under one base). Empty means services.
	Mode string
	// ServerVersion caps api-versions in server mode: 2019 (5.0), 2020 (6.0) or 2022 (7.0).
	// Empty means 2022.
	ServerVersion string
	// VirtualDir, in server mode, is the IIS virtual directory the deployment lives under
	// (https://host/<VirtualDir>/<collection>); connectionData reports it as
	// webApplicationRelativeDirectory. Empty: the host root, also reachable under /tfs/ as
	// Server 2019+ installs accept both.
	VirtualDir string
	// TLS serves https with a self-signed certificate (see Sim.HTTPClient).
	TLS bool
	// Addr is the main listener address, e.g. 127.0.0.1:0.
	Addr string
	// Logger receives request and delivery logs; nil discards them.
	Logger *slog.Logger
	// Now is the base clock; nil means time.Now. The simulator adds the offset set through
	// POST /_sim/clock.
	Now func() time.Time
	// WiqlLimit is the most work items a WIQL query may match before the service refuses it
	// with 400 VS402337 (PROTOCOL §4: 20,000). 0 means 20,000; tests lower it to exercise
	// callers that split their queries. PUT /_sim/limits changes it on a running simulator.
	WiqlLimit int
}

// DefaultWiqlLimit is the WIQL result cap of Azure DevOps (VS402337).
const DefaultWiqlLimit = 20000

// The pull request lists' silent $top rules. The specs document neither (the 7.1 git.json
// `Pull Requests_Get Pull Requests` only says "The number of pull requests to retrieve"); users
// report them: without $top the lists answer 101 pull requests (MicrosoftDocs/vsts-rest-api-specs
// #405 and #539), and a larger $top returns at most 1000 (rfennell/AzurePipelines#843: $top=5000
// returns 1000, "the max size"). Neither answer says it was cut short.
const (
	DefaultPullRequestTop    = 101
	DefaultPullRequestTopMax = 1000
)

// Sim is one simulated Azure DevOps organization (Services) or collection (Server).
type Sim struct {
	opts    Options
	log     *slog.Logger
	clock   *clock
	org     *org
	auth    *authStore
	faults  *faultInjector
	limiter *rateLimiter
	hooks   *hookEngine
	routes  *router
	cache   renderCache

	wiqlLimit atomic.Int64 // see Options.WiqlLimit; never 0 once New returns
	prTopMax  atomic.Int64 // see SetPullRequestTopMax; never 0 once New returns

	mu          sync.Mutex
	mainLn      net.Listener
	relLn       net.Listener
	mainSrv     *http.Server
	relSrv      *http.Server
	baseURL     string // scheme://host:port of the main listener
	releaseURL  string // scheme://host:port of the release listener (Services) or baseURL
	tlsConfig   *tls.Config
	certPEM     []byte
	fullPAT     string
	manualPAT   string
	started     bool
	closed      bool
	cancelHooks context.CancelFunc
	stopGen     context.CancelFunc // background activity generator, see ActivityRequest.Every
}

// Names of the organization (Services) and collection (Server) the simulator serves.
const (
	DefaultOrg        = "pandev-sim"
	DefaultCollection = "DefaultCollection"
)

// New validates opts and generates the organization. It does not listen yet; call Start.
func New(opts Options) (*Sim, error) {
	if opts.Profile == "" {
		opts.Profile = "small"
	}
	if opts.Mode == "" {
		opts.Mode = "services"
	}
	if opts.Mode == "server" && opts.ServerVersion == "" {
		opts.ServerVersion = "2022"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.WiqlLimit < 0 {
		return nil, fmt.Errorf("azdosim: WiqlLimit %d is negative: use 0 for the service's 20,000 or a positive cap", opts.WiqlLimit)
	}
	if _, ok := profiles[opts.Profile]; !ok {
		return nil, fmt.Errorf("azdosim: unknown profile %q: use small, medium, large or boards", opts.Profile)
	}
	switch opts.Mode {
	case "services":
	case "server":
		if _, ok := serverCaps[opts.ServerVersion]; !ok {
			return nil, fmt.Errorf("azdosim: unknown server version %q: use 2019, 2020 or 2022", opts.ServerVersion)
		}
	default:
		return nil, fmt.Errorf("azdosim: unknown mode %q: use services or server", opts.Mode)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Sim{opts: opts, log: log}
	s.clock = newClock(opts.Now)
	s.org = generate(opts.Seed, profiles[opts.Profile], s.clock.Now(), opts.Mode)
	s.auth = newAuthStore(s.org)
	s.faults = newFaultInjector(opts.Seed)
	s.limiter = newRateLimiter(s.clock)
	s.hooks = newHookEngine(s)
	s.routes = newRouter(s)
	s.fullPAT = s.auth.add(nil, "", time.Time{})
	s.manualPAT = s.auth.add(ManualScopes, "", time.Time{})
	s.SetWiqlLimit(opts.WiqlLimit)
	s.SetPullRequestTopMax(0)
	return s, nil
}

// Start opens the listeners (main and, in Services mode, the release host) and serves until Close.
func (s *Sim) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("azdosim: already started")
	}
	scheme := "http"
	if s.opts.TLS {
		cfg, pemBytes, err := simtls.SelfSigned("azdo-sim")
		if err != nil {
			return err
		}
		s.tlsConfig, s.certPEM, scheme = cfg, pemBytes, "https"
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("azdosim: listen %s: %w", s.opts.Addr, err)
	}
	s.mainLn = ln
	s.baseURL = scheme + "://" + hostPort(ln.Addr())
	s.releaseURL = s.baseURL
	if s.opts.Mode == "services" {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		rl, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			ln.Close()
			return fmt.Errorf("azdosim: listen release host: %w", err)
		}
		s.relLn = rl
		s.releaseURL = scheme + "://" + hostPort(rl.Addr())
	}
	hctx, cancel := context.WithCancel(context.Background())
	s.cancelHooks = cancel
	s.hooks.start(hctx)
	s.mainSrv = &http.Server{Handler: s.handler(false), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	go s.serve(s.mainSrv, s.mainLn)
	if s.relLn != nil {
		s.relSrv = &http.Server{Handler: s.handler(true), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
		go s.serve(s.relSrv, s.relLn)
	}
	s.started = true
	s.log.Info("azdo-sim started", "url", s.orgURLLocked(), "release", s.releaseURL, "profile", s.opts.Profile, "mode", s.opts.Mode)
	if ctx != nil {
		go func() {
			<-ctx.Done()
			s.Close()
		}()
	}
	return nil
}

func (s *Sim) serve(srv *http.Server, ln net.Listener) {
	if s.tlsConfig != nil {
		ln = tls.NewListener(ln, s.tlsConfig)
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("azdo-sim listener stopped", "err", err)
	}
}

func hostPort(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// OrgURL is the URL an administrator pastes: https://host/{org} in Services mode,
// https://host/{collection} in Server mode.
func (s *Sim) OrgURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orgURLLocked()
}

func (s *Sim) orgURLLocked() string { return s.baseURL + s.dirPath() + s.org.name }

// dirPath is the deployment's directory on the host: "/" or "/<VirtualDir>/".
func (s *Sim) dirPath() string {
	if s.isServer() && s.opts.VirtualDir != "" {
		return "/" + s.opts.VirtualDir + "/"
	}
	return "/"
}

// ReleaseURL is the base of the release area: the separate release host in Services mode
// (advertised through _apis/resourceAreas), the organization URL in Server mode.
func (s *Sim) ReleaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.releaseURL + s.dirPath() + s.org.name
}

// ControlURL is the root of the /_sim/ control API.
func (s *Sim) ControlURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL + "/_sim"
}

// NewPAT registers a personal access token. Nil scopes means every scope; an empty org means the
// simulator's organization; a zero expires means one year from the simulated now.
func (s *Sim) NewPAT(scopes []string, org string, expires time.Time) string {
	if expires.IsZero() {
		expires = s.clock.Now().AddDate(1, 0, 0)
	}
	return s.auth.add(scopes, org, expires)
}

// SetPATScopes replaces a token's scopes, as editing a PAT in Azure DevOps does (the token
// stays the same). Nil means every scope.
func (s *Sim) SetPATScopes(token string, scopes []string) error {
	return s.auth.setScopes(token, scopes)
}

// RevokePAT revokes a token, as its owner can on the PAT page: from then on the service does not
// know it (401 TF400813 with an empty user).
func (s *Sim) RevokePAT(token string) {
	s.auth.mu.Lock()
	delete(s.auth.pats, token)
	s.auth.mu.Unlock()
}

// FullPAT is a token with every scope for the simulator's organization, created by New. Use it
// only in a test about an optional scope; ManualPAT is the token an admin creates.
func (s *Sim) FullPAT() string { return s.fullPAT }

// ManualPAT is the token the user manual's Step 1 creates (ManualScopes: Code: Read, Pull Request
// Threads: Read & write, Build: Read, Work Items: Read), created by New.
func (s *Sim) ManualPAT() string { return s.manualPAT }

// HTTPClient returns a client that trusts the simulator's self-signed certificate in TLS mode.
func (s *Sim) HTTPClient() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsConfig == nil {
		return &http.Client{Timeout: 30 * time.Second}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: simtls.ClientConfig(s.certPEM)}}
}

// CertPEM is the self-signed certificate in TLS mode (nil otherwise).
func (s *Sim) CertPEM() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certPEM
}

// SetWiqlLimit sets the WIQL result cap (see Options.WiqlLimit); 0 or less restores 20,000.
func (s *Sim) SetWiqlLimit(n int) {
	if n <= 0 {
		n = DefaultWiqlLimit
	}
	s.wiqlLimit.Store(int64(n))
}

// WiqlLimit is the WIQL result cap in force.
func (s *Sim) WiqlLimit() int { return int(s.wiqlLimit.Load()) }

// SetPullRequestTopMax sets the most pull requests one page of the pull request lists returns,
// whatever $top asks (DefaultPullRequestTopMax); 0 or less restores it. Tests lower it below
// the page size a client asks to check that its walk does not end at the first capped page.
func (s *Sim) SetPullRequestTopMax(n int) {
	if n <= 0 {
		n = DefaultPullRequestTopMax
	}
	s.prTopMax.Store(int64(n))
}

// PullRequestTopMax is the pull request lists' page cap in force.
func (s *Sim) PullRequestTopMax() int { return int(s.prTopMax.Load()) }

// Now is the simulated time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

// Close stops the listeners and the delivery worker. It is safe to call more than once.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed || !s.started {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.stopGen != nil {
		s.stopGen()
	}
	s.mu.Unlock()
	s.cancelHooks()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var errs []error
	errs = append(errs, s.mainSrv.Shutdown(ctx))
	if s.relSrv != nil {
		errs = append(errs, s.relSrv.Shutdown(ctx))
	}
	s.hooks.wait()
	return errors.Join(errs...)
}

// clock is the simulated clock: the base clock plus an offset moved by POST /_sim/clock.
type clock struct {
	base    func() time.Time
	mu      sync.Mutex
	offset  time.Duration
	waiters []chan struct{}
}

func newClock(base func() time.Time) *clock {
	if base == nil {
		base = time.Now
	}
	return &clock{base: base}
}

// Now returns the simulated time in UTC.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	off := c.offset
	c.mu.Unlock()
	return c.base().Add(off).UTC()
}

// Advance moves simulated time forward and wakes anything waiting on the clock.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.offset += d
	ws := c.waiters
	c.waiters = nil
	c.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
	return c.Now()
}

// changed returns a channel closed at the next Advance.
func (c *clock) changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.waiters = append(c.waiters, ch)
	return ch
}

func (s *Sim) isServer() bool { return s.opts.Mode == "server" }
