// Package webhook receives webhook deliveries (Azure DevOps service hooks;
// each provider is a Source): it
// authenticates each one against its integration's secret, stores the raw
// event in the inbox keyed by the event id (a duplicate is a no-op),
// enqueues its processing in the same transaction and answers 200 — fast,
// because Azure DevOps puts a subscription on probation after one failure
// and then drops new events. It never calls Azure DevOps itself.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

// MaxBodyBytes is the largest delivery accepted (Azure DevOps sends at most 2 MB).
const MaxBodyBytes = 4 << 20

// Paths are the ingest endpoints registered with Azure DevOps, by intent.
// Any of them accepts any event type: processing routes by eventType.
var Paths = []string{
	"/v1/azure/webhook/project",
	"/v1/azure/webhook/merge-request",
	"/v1/azure/webhook/boards",
	"/v1/azure/webhook/pipeline",
}

// Handler is the ingest endpoint.
type Handler struct {
	db     *store.DB
	keys   *secret.Keyring
	writer *writer
	logger *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]credential // integration id → its secret
}

// credential is what a delivery is checked against; cached briefly so a
// burst of deliveries does not open the sealed secret each time.
type credential struct {
	workspaceID string
	provider    string
	secret      []byte
	until       time.Time
}

// credentialTTL bounds how long a deleted integration keeps accepting.
const credentialTTL = 30 * time.Second

// New returns the ingest handler. enqueue schedules processing of stored
// events (the collect package implements it; the interface lives here,
// where it is used).
func New(db *store.DB, keys *secret.Keyring, enqueue BatchEnqueuer, logger *slog.Logger, now func() time.Time) *Handler {
	workers := 1 // SQLite has one writer: more would only queue
	if db.Dialect() == store.Postgres {
		workers = 4
	}
	return &Handler{db: db, keys: keys, writer: newWriter(db, enqueue, workers), logger: logger, now: now,
		cache: map[string]credential{}}
}

// Envelope is the part of a delivery every event type shares.
type Envelope struct {
	ID          string          `json:"id"`
	EventType   string          `json:"eventType"`
	PublisherID string          `json:"publisherId"`
	CreatedDate time.Time       `json:"createdDate"`
	Resource    json.RawMessage `json:"resource"`
}

// ParseEnvelope checks a delivery body: JSON object, UTF-8, with a string
// id and eventType. It is the one parser of outside input here (fuzzed).
func ParseEnvelope(body []byte) (Envelope, error) {
	var env Envelope
	if !utf8.Valid(body) {
		return env, delivery.Errorf(delivery.KindInvalid, "the body is not valid UTF-8").WithHint("send the event as Azure DevOps does: UTF-8 JSON")
	}
	var raw struct {
		ID, EventType, PublisherID, CreatedDate, Resource json.RawMessage
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return env, delivery.Errorf(delivery.KindInvalid, "the body is not a JSON object").WithHint("send the event as Azure DevOps does: a JSON object with id and eventType")
	}
	if err := json.Unmarshal(raw.ID, &env.ID); err != nil || strings.TrimSpace(env.ID) == "" || len(env.ID) > 200 {
		return env, delivery.Errorf(delivery.KindInvalid, "the event has no id (a string of at most 200 characters)").WithHint("every Azure DevOps event carries its id; check the sender")
	}
	if err := json.Unmarshal(raw.EventType, &env.EventType); err != nil || strings.TrimSpace(env.EventType) == "" || len(env.EventType) > 200 {
		return env, delivery.Errorf(delivery.KindInvalid, "the event has no eventType (a string)").WithHint("every Azure DevOps event carries its eventType; check the sender")
	}
	// The rest is best effort: an odd publisherId or createdDate must not refuse an event.
	_ = json.Unmarshal(raw.PublisherID, &env.PublisherID)
	var created string
	if json.Unmarshal(raw.CreatedDate, &created) == nil {
		if t, err := time.Parse(time.RFC3339Nano, created); err == nil {
			env.CreatedDate = t.UTC()
		}
	}
	env.Resource = raw.Resource
	return env, nil
}

// Answer is the body of a 200.
type Answer struct {
	Status string `json:"status"` // accepted or duplicate
	ID     string `json:"id"`
}

// ErrBadCredentials is the one answer to a delivery that does not prove
// it comes from an integration: unknown integration, wrong secret, wrong
// signature, another provider's integration.
var ErrBadCredentials = delivery.Errorf(delivery.KindUnauthorized, "missing or wrong webhook credentials").
	WithHint("the webhook must prove it comes from the integration (Azure DevOps: basic auth with the integration id as user and its webhook secret as password); re-register hooks from Settings → Integrations")

// ErrBadGitHubSignature is ErrBadCredentials as a GitHub delivery gets it:
// no ?integration= of a GitHub integration, or an X-Hub-Signature-256
// missing or made with another secret.
var ErrBadGitHubSignature = delivery.Errorf(delivery.KindUnauthorized, "missing or wrong webhook credentials").
	WithHint("the delivery's X-Hub-Signature-256 must be made with the secret PanDev Metrics registered, at the URL it registered (with ?integration=): delete webhooks made by hand, then deselect and select the repository in Settings → Integrations → GitHub so PanDev Metrics registers its webhook again")

// ServeHTTP ingests one Azure DevOps delivery; errors go to the server's
// one mapping.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	return h.serve(AzureDevOps, w, r)
}

// Serve is the ingest endpoint of one source.
func (h *Handler) Serve(src Source) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error { return h.serve(src, w, r) }
}

func (h *Handler) serve(src Source, w http.ResponseWriter, r *http.Request) error {
	refuse := func(err error) error {
		if src == AzureDevOps {
			w.Header().Set("WWW-Authenticate", `Basic realm="pandev-webhooks", charset="UTF-8"`)
		}
		if src == GitHub {
			// GitHub shows this body on the hook's Recent Deliveries tab:
			// the fix in GitHub's terms (the same message either way, so the
			// answer tells a stranger nothing about which part was wrong).
			return ErrBadGitHubSignature
		}
		return err
	}
	integrationID, err := src.Claim(r)
	if err != nil {
		return refuse(ErrBadCredentials)
	}
	cred, err := h.credential(r.Context(), integrationID)
	if delivery.IsNotFound(err) || err == nil && cred.provider != src.Provider() {
		// The same work as a real check, so timing tells nothing.
		_ = src.Verify(r, nil, []byte("pandev: no such integration"))
		return refuse(ErrBadCredentials)
	}
	if err != nil {
		return err
	}
	if src.VerifiesBeforeBody() {
		if err := src.Verify(r, nil, cred.secret); err != nil {
			return refuse(ErrBadCredentials)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return delivery.Errorf(delivery.KindInvalid, "the body could not be read").Wrap(err)
	}
	if !src.VerifiesBeforeBody() {
		if err := src.Verify(r, body, cred.secret); err != nil {
			return refuse(ErrBadCredentials)
		}
	}
	id, eventType, err := src.Parse(r, body)
	if err != nil {
		return err
	}
	ev := store.InboxEvent{Key: store.Key{IntegrationID: integrationID, WorkspaceID: cred.workspaceID},
		EventID: id, EventType: eventType, Payload: string(body), ReceivedAt: h.now()}
	isNew, err := h.writer.store(r.Context(), ev)
	if err != nil {
		return err
	}
	status := "accepted"
	if !isNew {
		status = "duplicate"
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(Answer{Status: status, ID: id})
}

func (h *Handler) credential(ctx context.Context, integrationID string) (credential, error) {
	now := h.now()
	h.mu.Lock()
	c, ok := h.cache[integrationID]
	h.mu.Unlock()
	if ok && now.Before(c.until) {
		return c, nil
	}
	in, err := h.db.GetIntegrationByID(ctx, integrationID)
	if err != nil {
		return c, err
	}
	if in.DisconnectedAt != nil { // an admin disconnected it: its hooks are gone
		return c, delivery.Errorf(delivery.KindNotFound, "the integration is disconnected")
	}
	sec, err := h.keys.Open(in.WebhookSecretSealed, store.WebhookSecretSealContext(in.ID))
	if err != nil {
		return c, delivery.Errorf(delivery.KindInternal, "webhook secret cannot be opened").Wrap(err)
	}
	c = credential{workspaceID: in.WorkspaceID, provider: in.Provider, secret: []byte(sec.Reveal()), until: now.Add(credentialTTL)}
	h.mu.Lock()
	if len(h.cache) > 10_000 {
		clear(h.cache)
	}
	h.cache[integrationID] = c
	h.mu.Unlock()
	return c, nil
}
