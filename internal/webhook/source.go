package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
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
