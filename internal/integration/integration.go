// Package integration manages a workspace's Azure DevOps connection: Check
// connection, Activate, the project picker, token rotation, service-hook
// registration and removal, and the status the integration screen shows.
// It makes the manual's Steps 1–5 and its Troubleshooting true.
package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Provider is the integrations.provider value of Azure DevOps.
const Provider = "azure-devops"

// CheckTimeout bounds Check connection: an address that does not answer is
// reported within it, naming the host.
const CheckTimeout = 10 * time.Second

// jobInserter is what the service needs of the job queue.
type jobInserter interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// Options configures the Service.
type Options struct {
	DB        *store.DB
	Keys      *secret.Keyring
	Queue     jobInserter
	Logger    *slog.Logger
	Now       func() time.Time
	PublicURL string // where Azure DevOps delivers webhooks (PANDEV_PUBLIC_URL)
	// BackfillDays is the history a newly selected project collects.
	BackfillDays int
	// HTTPClient is used for Azure DevOps calls; nil means the client's default.
	HTTPClient *http.Client
	// AllowHosts is the operator's allow list (PANDEV_ALLOW_HOSTS) every
	// Azure DevOps client gets; the zero value is strict (azdo.Options.Hosts).
	AllowHosts netguard.Policy
	// Registerer receives the Azure DevOps client metrics; nil registers none.
	Registerer prometheus.Registerer
	// ClientRetry tunes retries of Azure DevOps calls (tests shorten them).
	ClientRetry azdo.RetryPolicy
	// StartBackfill enqueues a project's backfill in tx (the collect
	// package's job); nil while no backfill is wired.
	StartBackfill func(ctx context.Context, tx *store.Tx, integrationID, projectID string, days int) error
	// LocalAzureDevOps says the organization runs on this machine (the
	// demo's simulator): loopback webhook URLs are fine then.
	LocalAzureDevOps bool
	// StartReconcile enqueues a reconciliation of the integration in tx.
	StartReconcile func(ctx context.Context, tx *store.Tx, integrationID string) error
	// TokenUpdated runs in the transaction that stores a new GitHub token
	// (the PR comments the old one was refused are queued again).
	TokenUpdated func(ctx context.Context, tx *store.Tx, integrationID string) error
	// GitHubHTTPClient is used for GitHub calls; nil means the client's
	// default.
	GitHubHTTPClient *http.Client
	// LocalGitHub says the GitHub (an Enterprise Server, or the demo's
	// simulator) runs where loopback webhook URLs reach this server.
	LocalGitHub bool
}

// Service is the integration's use cases.
type Service struct {
	opts Options

	mu      sync.Mutex
	clients map[string]cachedClient // integration id → client for its current token
}

type cachedClient struct {
	sealed string // the sealed token it was made for: rotation makes a new client
	client *azdo.Client
}

// New returns the Service.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BackfillDays == 0 {
		opts.BackfillDays = 30
	}
	return &Service{opts: opts, clients: map[string]cachedClient{}}
}

// Settings are the integration's editable settings (the stored document).
type Settings = store.Settings

// newClient makes a client for a URL and token.
func (s *Service) newClient(orgURL string, pat secret.Value, dep azdo.Deployment) (*azdo.Client, error) {
	return azdo.New(azdo.Options{OrgURL: orgURL, PAT: pat, Deployment: dep, HTTPClient: s.opts.HTTPClient,
		Hosts: s.opts.AllowHosts, Logger: s.opts.Logger, Registerer: s.opts.Registerer, Retry: s.opts.ClientRetry})
}

// Client returns the client of an integration, one per integration and
// token so its concurrency limit and pacing hold across jobs.
func (s *Service) Client(ctx context.Context, integrationID string) (*azdo.Client, store.Integration, error) {
	in, err := s.opts.DB.GetIntegrationByID(ctx, integrationID)
	if err != nil {
		return nil, in, err
	}
	if in.DisconnectedAt != nil {
		return nil, in, errDisconnected
	}
	s.mu.Lock()
	cached, ok := s.clients[integrationID]
	s.mu.Unlock()
	if ok && cached.sealed == in.TokenSealed {
		return cached.client, in, nil
	}
	pat, err := s.opts.Keys.Open(in.TokenSealed, store.TokenSealContext(in.ID))
	if err != nil {
		return nil, in, delivery.Errorf(delivery.KindInternal, "the stored token cannot be opened").
			WithHint("check PANDEV_SECRET_KEY (or the key file) is the one the token was saved with").Wrap(err)
	}
	var dep azdo.Deployment
	_ = json.Unmarshal([]byte(in.Deployment), &dep)
	c, err := s.newClient(in.OrgURL, pat, dep)
	if err != nil {
		return nil, in, err
	}
	s.mu.Lock()
	s.clients[integrationID] = cachedClient{sealed: in.TokenSealed, client: c}
	s.mu.Unlock()
	return c, in, nil
}

// errDisconnected is the answer to anything that would call Azure DevOps
// for an integration an admin disconnected keeping its data.
var errDisconnected = disconnectedError(azureName)

// azureName is how screens and messages name Azure DevOps.
const azureName = "Azure DevOps"

// disconnectedError is the answer to anything that would call a provider
// for an integration an admin disconnected keeping its data.
func disconnectedError(name string) *delivery.Error {
	return delivery.Errorf(delivery.KindPrecondition, "%s is disconnected; the data collected until then is kept", name).
		WithHint("connect it again: Settings → Integrations → " + name + " → Check connection, then Activate with the same address")
}

// forWorkspace returns the workspace's connected Azure DevOps integration.
func (s *Service) forWorkspace(ctx context.Context, workspaceID string) (store.Integration, error) {
	in, err := s.anyForWorkspace(ctx, workspaceID)
	if err == nil && in.DisconnectedAt != nil {
		return in, errDisconnected
	}
	return in, err
}

// anyForWorkspace returns the workspace's Azure DevOps integration,
// connected or disconnected with its data kept.
func (s *Service) anyForWorkspace(ctx context.Context, workspaceID string) (store.Integration, error) {
	return integrationFor(ctx, s.opts.DB, workspaceID, Provider, azureName)
}

// integrationFor returns the workspace's integration of a provider,
// connected or disconnected with its data kept.
func integrationFor(ctx context.Context, db *store.DB, workspaceID, provider, name string) (store.Integration, error) {
	ins, err := db.ListIntegrations(ctx, workspaceID, provider)
	if err != nil {
		return store.Integration{}, err
	}
	if len(ins) == 0 {
		return store.Integration{}, delivery.Errorf(delivery.KindNotFound, "%s is not connected", name).
			WithHint("connect it first: Settings → Integrations → " + name + " → Check connection, then Activate")
	}
	return ins[0], nil
}

// key is the store key of an integration.
func key(in store.Integration) store.Key {
	return store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
}

// webhookURL is where Azure DevOps posts one kind of event.
func (s *Service) webhookURL(path string) string {
	return strings.TrimRight(s.opts.PublicURL, "/") + path
}

// publicURLWarning says why Azure DevOps may not reach us, or "".
func (s *Service) publicURLWarning(dep azdo.Deployment) string {
	if s.opts.PublicURL == "" {
		return "PANDEV_PUBLIC_URL is not set, so service hooks would point nowhere"
	}
	u, err := url.Parse(s.opts.PublicURL)
	if err != nil {
		return "PANDEV_PUBLIC_URL is not a URL"
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if loopback && dep.Kind == azdo.Services && !s.opts.LocalAzureDevOps {
		return fmt.Sprintf("PANDEV_PUBLIC_URL is %s, which Azure DevOps Services cannot reach: webhooks will not arrive "+
			"(the 15-minute reconciliation still collects everything)", s.opts.PublicURL)
	}
	return ""
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// startBackfill starts a newly selected project's backfill in tx.
func (s *Service) startBackfill(ctx context.Context, tx *store.Tx, in store.Integration, projectID string) error {
	if s.opts.StartBackfill == nil {
		return nil
	}
	return s.opts.StartBackfill(ctx, tx, in.ID, projectID, s.opts.BackfillDays)
}

// AttachQueue sets the job queue (it is built after the workers).
func (s *Service) AttachQueue(q jobInserter) { s.opts.Queue = q }

// SetPublicURL sets where Azure DevOps delivers webhooks (known once the
// server listens).
func (s *Service) SetPublicURL(u string) { s.opts.PublicURL = u }
