package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// A Source is one provider's way of delivering events: which integration a
// delivery claims, how it proves it (against the integration's webhook
// secret), and what its id and event type are. Reading, size limits,
// storing in the inbox (a duplicate id is a no-op) and queueing its
// processing are the same for every source (Handler).
type Source interface {
	// Provider is the integration provider the source delivers for
	// (store.Integration.Provider): a delivery that claims an integration of
	// another provider is refused like a wrong secret.
	Provider() string
	// Claim reads which integration the delivery claims to be for, from the
	// request line and headers. An error is ErrBadCredentials.
	Claim(r *http.Request) (integrationID string, err error)
	// VerifiesBeforeBody says Verify needs no body (the credential is in a
	// header): the handler then checks it before reading the body, so a
	// stranger cannot make the server read megabytes.
	VerifiesBeforeBody() bool
	// Verify checks the delivery against the integration's webhook secret,
	// in constant time; body is nil when VerifiesBeforeBody.
	Verify(r *http.Request, body []byte, secret []byte) error
	// Parse returns the delivery's id (its deduplication key) and event
	// type, refusing a body the source never sends.
	Parse(r *http.Request, body []byte) (id, eventType string, err error)
}

// AzureDevOps is the Azure DevOps service hook source: basic auth with the
// integration id as user and its webhook secret as password; the event's
// id and eventType in the JSON body.
var AzureDevOps Source = azureSource{}

type azureSource struct{}

func (azureSource) Provider() string { return "azure-devops" }

func (azureSource) Claim(r *http.Request) (string, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" || pass == "" {
		return "", ErrBadCredentials
	}
	return user, nil
}

func (azureSource) VerifiesBeforeBody() bool { return true }

func (azureSource) Verify(r *http.Request, _ []byte, secret []byte) error {
	_, pass, _ := r.BasicAuth()
	given, want := sha256.Sum256([]byte(pass)), sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(given[:], want[:]) != 1 {
		return ErrBadCredentials
	}
	return nil
}

func (azureSource) Parse(_ *http.Request, body []byte) (string, string, error) {
	env, err := ParseEnvelope(body)
	return env.ID, env.EventType, err
}

// GitHub is the repository webhook source of GitHub and GitHub Enterprise
// Server: the integration in the hook URL's query (?integration=ID, which
// the product writes when it registers the hook), an HMAC-SHA256 of the
// body with the integration's webhook secret in X-Hub-Signature-256, the
// delivery's GUID in X-GitHub-Delivery and its event in X-GitHub-Event
// (GitHub's "Validating webhook deliveries" and "Webhook events and
// payloads"). The hook is registered with content_type json: a
// form-encoded delivery is refused, naming the setting.
var GitHub Source = githubSource{}

type githubSource struct{}

func (githubSource) Provider() string { return "github" }

func (githubSource) Claim(r *http.Request) (string, error) {
	if id := r.URL.Query().Get("integration"); id != "" {
		return id, nil
	}
	return "", ErrBadCredentials
}

func (githubSource) VerifiesBeforeBody() bool { return false }

func (githubSource) Verify(r *http.Request, body, secret []byte) error {
	got, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
	sum, err := hex.DecodeString(got)
	if !ok || err != nil {
		return ErrBadCredentials
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return ErrBadCredentials
	}
	return nil
}

func (githubSource) Parse(r *http.Request, body []byte) (string, string, error) {
	id, kind := r.Header.Get("X-GitHub-Delivery"), r.Header.Get("X-GitHub-Event")
	if id == "" || kind == "" || len(id) > 100 || len(kind) > 100 {
		return "", "", delivery.Errorf(delivery.KindInvalid, "a GitHub delivery needs X-GitHub-Delivery and X-GitHub-Event").
			WithHint("only GitHub's webhooks post to /v1/github/webhook")
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return "", "", delivery.Errorf(delivery.KindInvalid, "the webhook sends form-encoded payloads").
			WithHint("set the hook's Content type to application/json (Settings → Webhooks), or deselect and select the repository so PanDev Metrics registers it again")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return "", "", delivery.Errorf(delivery.KindInvalid, "the delivery's body is not a JSON object").
			WithHint("only GitHub's webhooks post to /v1/github/webhook")
	}
	return id, kind, nil
}
