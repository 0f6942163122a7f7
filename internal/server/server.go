// Package server is the HTTP front: one route table, the middleware
// (recovery, logging, metrics, body limits, authentication, CSRF), the
// error-to-status mapping, and readiness.
package server

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pandev-metrics/pandev/internal/api"
	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/dashboard"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/prcomment"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/web"
)

// Deps are the parts the server routes to.
type Deps struct {
	DB       *store.DB
	Auth     *auth.Service
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// JobsUI is River UI, served to the instance operator at /admin/jobs/.
	JobsUI http.Handler
	// Webhook ingests Azure DevOps service-hook deliveries.
	Webhook ErrorHandler
	// Integrations manages the Azure DevOps connection.
	Integrations *integration.Service
	// GitHub manages the GitHub connection.
	GitHub *integration.GitHub
	// GitHubWebhook ingests GitHub's repository webhook deliveries
	// (webhook.Handler.Serve(webhook.GitHub)).
	GitHubWebhook func(w http.ResponseWriter, r *http.Request) error
	// Dashboard serves the metrics API, the dashboard page and its live events.
	Dashboard *dashboard.Handlers
	// Comments previews PR comments.
	Comments *prcomment.Service
	// BackfillDays is shown on the integration screen.
	BackfillDays int
	// SecureCookies sets the Secure flag (the public URL is https).
	SecureCookies bool
	// MetricsToken, when set, guards GET /metrics (PANDEV_METRICS_TOKEN).
	MetricsToken string
	// TrustedProxies name the client in X-Forwarded-For (PANDEV_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
}

// ErrorHandler is a handler that returns its error for the server to map.
type ErrorHandler interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request) error
}

// Server routes requests.
type Server struct {
	deps     Deps
	api      *api.Handlers
	pages    *web.Pages
	handler  http.Handler
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	ready    atomic.Bool // migrations seen current once; they do not go back

	apiRefOnce sync.Once // the readable API reference, built on first use
	apiRef     *web.APIReference
	apiRefErr  error
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says who may call a route.
type access int

const (
	public   access = iota // anyone; a signed-in user is recognised
	machine                // another system, authenticating itself (webhooks); no session lookup
	member                 // any signed-in user of a workspace
	admin                  // an admin of the workspace
	operator               // the instance operator: sees what every workspace shares (the job queue)
)

// New builds the server and its route table.
func New(d Deps) *Server {
	s := &Server{
		deps: d,
		api: &api.Handlers{DB: d.DB, Auth: d.Auth, Integrations: integrationsOrNil(d.Integrations), GitHub: githubOrNil(d.GitHub),
			Comments: d.Comments},
		pages: &web.Pages{DB: d.DB, Auth: d.Auth, Integrations: d.Integrations, GitHub: d.GitHub, Comments: d.Comments, BackfillDays: d.BackfillDays, Secure: d.SecureCookies,
			TrustedProxies: d.TrustedProxies},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pandev_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pandev_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	d.Registry.MustRegister(s.requests, s.duration)
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.instrument(rt.pattern, s.wrap(rt)))
	}
	// Cross-origin state-changing browser requests are refused (CSRF);
	// clients that send no Origin/Sec-Fetch-Site (API tokens, Azure DevOps
	// webhooks) are unaffected.
	csrf := http.NewCrossOriginProtection()
	s.handler = securityHeaders(s.recoverer(csrf.Handler(mux)), d.SecureCookies)
	return s
}

// contentSecurityPolicy allows the product's own scripts, styles and
// images only: no inline script (the pages have none), no framing
// (clickjacking), no plugins, forms posting only here. Inline style
// attributes stay allowed: the flow bar sizes its segments with them.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the browser protections on every answer; HSTS only
// when the server is reached over https (the operator set secure cookies,
// or the connection is TLS).
func securityHeaders(h http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		if https || r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// Handler is the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// wrap adapts a route: bounds the body (machine endpoints bound their own:
// webhooks take up to 4 MiB), authenticates per access level, writes errors.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && rt.access != machine {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		if err := s.serve(rt.access, rt.h, w, r); err != nil {
			writeError(w, r, s.deps.Logger, err)
		}
	})
}

// MaxBodyBytes bounds every request body unless a route says otherwise.
const MaxBodyBytes = 1 << 20

func (s *Server) serve(a access, h handlerFunc, w http.ResponseWriter, r *http.Request) error {
	if a == machine {
		return h(w, r)
	}
	if a == public {
		if p, err := s.deps.Auth.Authenticate(r); err == nil { // optional: pages show who is signed in
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		return h(w, r)
	}
	p, err := s.deps.Auth.Authenticate(r)
	if err != nil {
		return err
	}
	if err := p.Permit(r.Method); err != nil {
		return err
	}
	if a == admin && !p.IsAdmin() {
		return delivery.Errorf(delivery.KindForbidden, "this needs the admin role").
			WithHint("ask an admin of your workspace")
	}
	if a == operator && !p.IsOperator() {
		return delivery.Errorf(delivery.KindForbidden, "only the instance operator can see this: the job queue is shared by every workspace").
			WithHint("ask whoever runs this server; they grant it with pandev admin operator --email E")
	}
	return h(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flushing).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts and times requests by route pattern and logs them.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		s.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		if route != "GET /healthz" && route != "GET /readyz" && route != "GET /metrics" {
			s.deps.Logger.Debug("request", "method", r.Method, "route", route, "status", rec.status, "duration", elapsed)
		}
	})
}

// recoverer turns a panic into a 500 without echoing anything of the request.
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, s.deps.Logger, fmt.Errorf("panic: %v", v))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ok\n"))
	return err
}

// readyz answers 200 once the database answers and every migration is
// applied, 503 otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.deps.DB.Ping(ctx); err != nil {
		return delivery.Errorf(delivery.KindUnavailable, "the database does not answer").
			WithHint("check PANDEV_DB and that the database server is running").Wrap(err)
	}
	if !s.ready.Load() {
		ok, err := s.deps.DB.MigrationsCurrent(ctx)
		if err != nil || !ok {
			return delivery.Errorf(delivery.KindUnavailable, "database migrations are not applied yet").
				WithHint("wait for start-up to finish, or run `pandev migrate`").Wrap(err)
		}
		s.ready.Store(true)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ready\n"))
	return err
}

// metrics serves Prometheus' scrape. It shows route names, job counts and
// process figures, nothing of any workspace; with PANDEV_METRICS_TOKEN set
// a scrape must bring it as a bearer token.
func (s *Server) metrics() handlerFunc {
	h := promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{})
	want := []byte("Bearer " + s.deps.MetricsToken)
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.deps.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			return delivery.Errorf(delivery.KindUnauthorized, "GET /metrics needs the metrics token").
				WithHint("scrape with Authorization: Bearer <PANDEV_METRICS_TOKEN>")
		}
		h.ServeHTTP(w, r)
		return nil
	}
}

// serveHTTP adapts a plain http.Handler to the route table.
func serveHTTP(h http.Handler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// githubOrNil keeps a nil service a nil interface (tests without it).
func githubOrNil(g *integration.GitHub) api.Connection {
	if g == nil {
		return nil
	}
	return g
}

// integrationsOrNil keeps a nil service a nil interface (tests without it).
func integrationsOrNil(s *integration.Service) api.Integrations {
	if s == nil {
		return nil
	}
	return s
}
