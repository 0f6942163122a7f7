// Package githubapi is the product's GitHub REST client: the well-kept
// google/go-github library behind the host guard rails (netguard), with
// conditional requests (a 304 costs no rate limit), an account of the calls
// spent and of the rate limit left, and GitHub's refusals turned into
// errors a user can act on.
package githubapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
)

// API is where one GitHub answers: github.com, or an Enterprise Server.
type API struct {
	// REST is the REST API root with its trailing slash:
	// https://api.github.com/ or https://HOST/api/v3/.
	REST string
	// Web is the site people browse: https://github.com or https://HOST.
	Web string
	// Enterprise is true for a GitHub Enterprise Server.
	Enterprise bool
}

// DotCom is github.com's API.
var DotCom = API{REST: "https://api.github.com/", Web: "https://github.com"}

const hintAPI = "Leave it empty (or https://github.com) for github.com; for GitHub Enterprise Server give its address, e.g. https://github.example.com"

// ParseAPI reads the API base an admin typed: empty, github.com or
// api.github.com mean github.com; any other host is an Enterprise Server,
// given as its site (https://HOST) or its REST root (https://HOST/api/v3).
func ParseAPI(s string) (API, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DotCom, nil
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return API{}, delivery.Errorf(delivery.KindInvalid, "API base %q is not a web address", s).WithHint(hintAPI)
	}
	host := strings.ToLower(u.Host)
	path := strings.TrimSuffix(u.Path, "/")
	switch host {
	case "github.com", "www.github.com", "api.github.com":
		if path != "" {
			return API{}, delivery.Errorf(delivery.KindInvalid, "API base %q has a path: github.com's API is at its root", s).
				WithHint("Use https://github.com; organizations and repositories are picked after Check connection")
		}
		if u.Scheme != "https" {
			return API{}, delivery.Errorf(delivery.KindInvalid, "github.com is reached over https only").WithHint(hintAPI)
		}
		return DotCom, nil
	}
	if path != "" && !strings.EqualFold(path, "/api/v3") {
		return API{}, delivery.Errorf(delivery.KindInvalid, "API base %q has a path other than /api/v3", s).
			WithHint("Give the Enterprise Server's address without a path (https://HOST) or its REST root (https://HOST/api/v3)")
	}
	web := u.Scheme + "://" + host
	return API{REST: web + "/api/v3/", Web: web, Enterprise: true}, nil
}

// Options configures a Client. API and Token are required.
type Options struct {
	// API is the parsed API base (ParseAPI).
	API API
	// Token is a fine-grained or classic personal access token.
	Token secret.Value
	// HTTPClient sends the requests; nil means a client with sane timeouts.
	// Redirects are never followed and its transport is wrapped so Hosts
	// holds (netguard.Policy.Transport).
	HTTPClient *http.Client
	// Hosts is the operator's allow list (PANDEV_ALLOW_HOSTS): without a
	// listing the API must be https and never on a loopback, link-local or
	// metadata address.
	Hosts netguard.Policy
	// Cache keeps ETags and bodies for conditional requests; nil means a
	// private in-memory cache of DefaultCacheBytes.
	Cache Cache
	// UserAgent is sent with every request (default "pandev-metrics").
	UserAgent string
	// Logger receives one debug line per request; nil discards them.
	Logger *slog.Logger
}

// Client is one token's view of one GitHub. It is safe for concurrent use.
type Client struct {
	api   API
	gh    *github.Client
	calls *Calls
}

// New builds a client. It makes no network call.
func New(opts Options) (*Client, error) {
	if opts.API.REST == "" {
		opts.API = DotCom
	}
	token := strings.TrimSpace(opts.Token.Reveal())
	if token == "" {
		return nil, delivery.Errorf(delivery.KindInvalid, "Personal access token is required").
			WithHint("Paste a fine-grained or classic personal access token created on GitHub (Settings → Developer settings)")
	}
	u, err := url.Parse(opts.API.REST)
	if err != nil {
		return nil, delivery.Errorf(delivery.KindInvalid, "API base %q is not a web address", opts.API.REST).WithHint(hintAPI)
	}
	if err := opts.Hosts.CheckURL(u); err != nil {
		return nil, hostError(err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cache := opts.Cache
	if cache == nil {
		cache = NewMemoryCache(DefaultCacheBytes)
	}
	calls := &Calls{}
	hc := guarded(opts.HTTPClient, opts.Hosts)
	hc.Transport = &conditional{next: &counting{next: hc.Transport, calls: calls, log: log}, cache: cache}
	gh := github.NewClient(hc).WithAuthToken(token)
	if opts.API.Enterprise {
		if gh, err = gh.WithEnterpriseURLs(opts.API.REST, opts.API.REST); err != nil {
			return nil, delivery.Errorf(delivery.KindInvalid, "API base %q is not a web address", opts.API.REST).WithHint(hintAPI)
		}
	}
	gh.UserAgent = opts.UserAgent
	if gh.UserAgent == "" {
		gh.UserAgent = "pandev-metrics"
	}
	return &Client{api: opts.API, gh: gh, calls: calls}, nil
}

// GitHub is the go-github client, for the calls this package does not wrap.
func (c *Client) GitHub() *github.Client { return c.gh }

// API is where this client answers.
func (c *Client) API() API { return c.api }

// Calls is the account of this client's requests.
func (c *Client) Calls() *Calls { return c.calls }

// guarded returns a copy of hc (or a default client) that follows no
// redirect — the token goes to no other URL than the one asked — and whose
// transport enforces the host policy at connect time.
func guarded(hc *http.Client, p netguard.Policy) *http.Client {
	var out http.Client
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	var next http.RoundTripper
	if hc != nil {
		out = *hc
		next = hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
	} else {
		out.Timeout = 60 * time.Second
	}
	out.Transport = p.Transport(next, dialer)
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// hostError turns a refusal of the host policy into the user's words.
func hostError(err error) error {
	const allow = "PANDEV_ALLOW_HOSTS"
	var plain *netguard.PlainHTTPError
	var blocked *netguard.BlockedError
	if errors.As(err, &plain) {
		return (&delivery.Error{Kind: delivery.KindInvalid, Err: err,
			Message: fmt.Sprintf("API base must use https — http://%s would send the token unencrypted", net.JoinHostPort(plain.Host, plain.Port)),
			Hint:    "Use the https:// address of the Enterprise Server, or ask the operator to add " + plain.Pattern() + " to " + allow + "."})
	}
	if errors.As(err, &blocked) {
		return (&delivery.Error{Kind: delivery.KindInvalid, Err: err,
			Message: fmt.Sprintf("API base points at %s, %s: PanDev Metrics does not send the token there", blocked.Host, blocked.Reason),
			Hint:    "Use the address of the GitHub Enterprise Server. If it really runs there, ask the operator to add " + blocked.Pattern() + " to " + allow + "."})
	}
	return err
}

// do runs one go-github call and maps its error.
func do[T any](ctx context.Context, f func(context.Context) (T, *github.Response, error)) (T, *github.Response, error) {
	v, resp, err := f(ctx)
	return v, resp, Classify(err)
}
