package azdo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
)

// Options configures a Client. Only OrgURL and PAT are required.
type Options struct {
	// OrgURL is the Organization URL as the admin typed it; it is parsed
	// with ParseOrgURL.
	OrgURL string
	// PAT is the personal access token.
	PAT secret.Value
	// Deployment is the stored result of an earlier Detect. Zero means the
	// client detects it on first use.
	Deployment Deployment
	// HTTPClient sends the requests; nil means a client with sane timeouts.
	// Redirects are never followed (a redirect to the sign-in page is a bad
	// token; any other is an error naming where it pointed), and its
	// transport is wrapped so Hosts holds (see netguard.Policy.Transport).
	HTTPClient *http.Client
	// Hosts is the operator's allow list (PANDEV_ALLOW_HOSTS). The zero
	// value is strict: https only, never a loopback, link-local,
	// unspecified or cloud metadata address, API areas only on the
	// organization's host (or Microsoft's, for Services). A listed host may
	// be reached over http, at any address, and may serve API areas.
	Hosts netguard.Policy
	// MaxConcurrent caps requests in flight for this client (default 4).
	MaxConcurrent int
	// Retry tunes retries and pacing; zero fields take defaults.
	Retry RetryPolicy
	// Clock is the time source and sleeper; nil means SystemClock.
	Clock Clock
	// Logger receives one debug line per request and a warning per retry;
	// nil discards them.
	Logger *slog.Logger
	// Registerer receives the request metrics; nil registers nothing.
	// Several clients may share one registry.
	Registerer prometheus.Registerer
	// UserAgent is sent with every request (default "pandev-metrics").
	UserAgent string
}

// Client talks to one Azure DevOps organization or collection with one PAT.
// It is safe for concurrent use.
type Client struct {
	org     OrgURL
	auth    string // the Authorization header value; never logged
	hc      *http.Client
	clock   Clock
	log     *slog.Logger
	met     *metrics
	sem     chan struct{}
	retry   RetryPolicy
	pace    *pacer
	ua      string
	session string
	hosts   netguard.Policy

	mu  sync.Mutex
	dep Deployment

	areasMu sync.Mutex
	areas   map[string]string // resource area id (lower case) → base URL; nil until fetched
}

// New builds a client. It makes no network call.
func New(opts Options) (*Client, error) {
	org, err := ParseOrgURL(opts.OrgURL)
	if err != nil {
		return nil, err
	}
	if opts.Deployment.Dir != "" {
		org = org.InDirectory(opts.Deployment.Dir) // a Server under a virtual directory
	}
	if strings.TrimSpace(opts.PAT.Reveal()) == "" {
		return nil, &delivery.Error{Kind: delivery.KindInvalid, Message: "Personal access token is required",
			Hint: "Paste the token created in Step 1."}
	}
	if err := checkOrgURL(org, opts.Hosts); err != nil {
		return nil, err
	}
	c := &Client{
		hosts:   opts.Hosts,
		org:     org,
		auth:    "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+strings.TrimSpace(opts.PAT.Reveal()))),
		clock:   opts.Clock,
		log:     opts.Logger,
		dep:     opts.Deployment,
		retry:   opts.Retry.withDefaults(),
		ua:      opts.UserAgent,
		session: newSessionID(),
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "pandev-metrics"
	}
	n := opts.MaxConcurrent
	if n <= 0 {
		n = 4
	}
	c.sem = make(chan struct{}, n)
	c.pace = &pacer{policy: c.retry}
	c.hc = httpClient(opts.HTTPClient, opts.Hosts)
	if c.met, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	return c, nil
}

// OrgURL returns the normalized organization or collection URL.
func (c *Client) OrgURL() OrgURL {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.org
}

// httpClient returns a copy of hc (or a default client) that follows no
// redirect — the Authorization header goes to no other URL than the one
// asked; a redirect to the sign-in page then surfaces as a bad token — and
// whose transport enforces the host policy, at connect time where it can
// (netguard.Policy.Transport).
func httpClient(hc *http.Client, p netguard.Policy) *http.Client {
	var out http.Client
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if hc != nil {
		out = *hc
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		out.Transport = p.Transport(next, dialer)
	} else {
		out.Transport = p.Transport(nil, dialer)
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// response is what one successful call returns besides the decoded body.
type response struct {
	status int
	header http.Header
}

// send performs r with retries, pacing and the concurrency limit, and decodes
// a 2xx JSON body into out (when out is non-nil and the body is not empty).
func (c *Client) send(ctx context.Context, r *call, out any) (response, error) {
	if r.version == "" {
		v, err := c.version(ctx, r.ep.area)
		if err != nil {
			return response{}, err
		}
		r.version = v
	}
	base := c.org.Base
	if r.release {
		b, err := c.releaseBase(ctx)
		if err != nil {
			return response{}, err
		}
		base = b
	}
	q := cloneValues(r.query)
	if r.version != "" && r.method != http.MethodOptions {
		q.Set("api-version", r.version)
	}
	u := base + "/" + r.path
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return response{}, &delivery.Error{Kind: delivery.KindInternal, Message: "encoding the request failed", Err: err}
		}
		body = b
	}
	idempotent := r.idempotent || r.method == http.MethodGet || r.method == http.MethodPut ||
		r.method == http.MethodDelete || r.method == http.MethodOptions || r.method == http.MethodHead

	for attempt := 0; ; attempt++ {
		res, err := c.attempt(ctx, r, u, body)
		if err == nil && res.status >= 200 && res.status < 300 && res.status != http.StatusNonAuthoritativeInfo {
			if out != nil && len(bytes.TrimSpace(res.body)) > 0 {
				if derr := json.Unmarshal(bytes.TrimPrefix(res.body, utf8BOM), out); derr != nil {
					if b := bytes.TrimSpace(bytes.TrimPrefix(res.body, utf8BOM)); len(b) > 0 && b[0] != '{' && b[0] != '[' {
						ae := &APIError{Method: r.method, Endpoint: r.ep.name, URL: u, Status: res.status, NotVSS: true}
						return response{}, &delivery.Error{Kind: delivery.KindUpstream, Err: ae,
							Message: c.notAzureDevOps(ae) + " while " + r.ep.what,
							Hint:    "Check the Organization URL: it must be the address of your Azure DevOps organization or collection."}
					}
					return response{}, &delivery.Error{Kind: delivery.KindUpstream,
						Message: fmt.Sprintf("Azure DevOps sent a response PanDev Metrics cannot read while %s", r.ep.what),
						Err:     fmt.Errorf("%s %s: decode: %w", r.method, u, derr)}
				}
			}
			return response{status: res.status, header: res.header}, nil
		}
		ae := &APIError{Method: r.method, Endpoint: r.ep.name, URL: u}
		var final error
		var wait time.Duration
		retry := false
		reason := ""
		if err != nil {
			if ctx.Err() != nil {
				return response{}, c.contextError(ctx, r, ae)
			}
			final = c.transportError(r, ae, err)
			reason = "transport"
			retry = (idempotent || notSent(err)) && !HostRefused(err)
		} else {
			ae.Status = res.status
			parseVSS(ae, res.header, res.body)
			ra, hasRA := retryAfter(res.header, c.clock.Now())
			if hasRA {
				ae.RetryAt = c.clock.Now().Add(ra)
			}
			switch {
			case res.status == http.StatusTooManyRequests:
				// A blocked request was not executed: safe to repeat for any method.
				retry, reason = true, "429"
				if hasRA && ra > c.retry.MaxRetryAfter {
					retry = false
				}
				wait = ra
			case res.status >= 500 || res.status == http.StatusRequestTimeout:
				retry, reason = idempotent, fmt.Sprint(res.status)
				wait = ra
			}
			final = c.mapHTTPError(r, ae, res.header)
		}
		if !retry || attempt >= c.retry.MaxRetries {
			return response{}, final
		}
		if wait <= 0 {
			wait = c.retry.backoff(attempt)
		}
		c.met.retries.WithLabelValues(r.ep.name, reason).Inc()
		c.log.Warn("azure devops request failed, retrying", "endpoint", r.ep.name, "method", r.method,
			"status", ae.Status, "attempt", attempt+1, "wait", wait, "err", final)
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return response{}, c.contextError(ctx, r, ae)
		}
	}
}

// attemptResult is one HTTP exchange with its body read.
type attemptResult struct {
	status int
	header http.Header
	body   []byte
}

// maxBody caps what is read from one response (the largest real pages are a
// few MB).
const maxBody = 64 << 20

func (c *Client) attempt(ctx context.Context, r *call, u string, body []byte) (attemptResult, error) {
	if err := c.pace.wait(ctx, c.clock, c.met); err != nil {
		return attemptResult{}, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return attemptResult{}, ctx.Err()
	}
	defer func() { <-c.sem }()

	actx, cancel := context.WithTimeout(ctx, c.retry.AttemptTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, rd)
	if err != nil {
		return attemptResult{}, err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	req.Header.Set("X-TFS-Session", c.session)
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.observe(r, "error", start)
		return attemptResult{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		// A cut-off body is a transport failure, whatever the status said.
		c.observe(r, "error", start)
		return attemptResult{}, fmt.Errorf("reading the response (HTTP %d): %w", resp.StatusCode, err)
	}
	c.observe(r, fmt.Sprint(resp.StatusCode), start)
	c.pace.update(resp.StatusCode, resp.Header, c.clock.Now())
	return attemptResult{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func (c *Client) observe(r *call, status string, start time.Time) {
	d := time.Since(start)
	c.met.requests.WithLabelValues(r.ep.name, r.method, status).Inc()
	c.met.latency.WithLabelValues(r.ep.name, r.method).Observe(d.Seconds())
	c.log.Debug("azure devops request", "endpoint", r.ep.name, "method", r.method, "status", status, "duration", d)
}

// notSent reports a failure before the request reached the server (dial,
// DNS): repeating it cannot create anything twice.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
