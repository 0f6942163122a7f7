package azdo

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Subscription is a service hook subscription as the service stores it.
type Subscription struct {
	ID                     string            `json:"id"`
	URL                    string            `json:"url"`
	Status                 string            `json:"status"` // enabled, onProbation, disabledByUser, disabledBySystem, disabledByInactiveIdentity
	PublisherID            string            `json:"publisherId"`
	EventType              string            `json:"eventType"`
	ResourceVersion        string            `json:"resourceVersion"`
	EventDescription       string            `json:"eventDescription"`
	ConsumerID             string            `json:"consumerId"`
	ConsumerActionID       string            `json:"consumerActionId"`
	ActionDescription      string            `json:"actionDescription"`
	ProbationRetries       int               `json:"probationRetries"`
	CreatedBy              IdentityRef       `json:"createdBy"`
	CreatedDate            Time              `json:"createdDate"`
	ModifiedBy             IdentityRef       `json:"modifiedBy"`
	ModifiedDate           Time              `json:"modifiedDate"`
	LastProbationRetryDate Time              `json:"lastProbationRetryDate"`
	PublisherInputs        map[string]string `json:"publisherInputs"`
	// ConsumerInputs shows confidential inputs (basicAuthPassword) as "********".
	ConsumerInputs map[string]string `json:"consumerInputs"`
}

// ProjectID returns publisherInputs.projectId, the only way to tell which
// project a subscription belongs to.
func (s Subscription) ProjectID() string { return s.PublisherInputs["projectId"] }

// SubscriptionInput is the body of create and replace (PROTOCOL §8).
type SubscriptionInput struct {
	PublisherID      string            `json:"publisherId"`
	EventType        string            `json:"eventType"`
	ResourceVersion  string            `json:"resourceVersion,omitempty"`
	ConsumerID       string            `json:"consumerId"`
	ConsumerActionID string            `json:"consumerActionId"`
	PublisherInputs  map[string]string `json:"publisherInputs"`
	ConsumerInputs   map[string]string `json:"consumerInputs"`
}

// SubscriptionFilter narrows the list; the service has no project filter.
type SubscriptionFilter struct {
	PublisherID, EventType, ConsumerID, ConsumerActionID string
}

// CreateSubscription creates a service hook subscription (organization
// level). Not repeated after an ambiguous failure: list and match by URL and
// event type before trying again.
func (c *Client) CreateSubscription(ctx context.Context, in SubscriptionInput) (Subscription, error) {
	var out Subscription
	_, err := c.send(ctx, &call{ep: epHooks, method: http.MethodPost, release: releasePublisher(in.PublisherID),
		path: "_apis/hooks/subscriptions", body: in}, &out)
	return out, err
}

// releasePublisher reports a publisher whose subscriptions live on the
// release host: on Services the main host answers 400 "There is no
// registered handler for the service hooks event type …" for rm events
// (MicrosoftDocs/feedback#916). On Server both are the collection URL.
func releasePublisher(publisherID string) bool { return strings.EqualFold(publisherID, "rm") }

// separateReleaseHost reports whether release calls go to another host.
func (c *Client) separateReleaseHost(ctx context.Context) bool {
	b, err := c.releaseBase(ctx)
	return err == nil && !strings.EqualFold(strings.TrimRight(b, "/"), strings.TrimRight(c.org.Base, "/"))
}

// Subscriptions lists the organization's subscriptions (not paged), from
// the main host and, where it is another one, the release host. A release
// host that refuses the listing (a PAT without Release: Read) adds nothing.
func (c *Client) Subscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error) {
	v := url.Values{}
	for k, s := range map[string]string{"publisherId": f.PublisherID, "eventType": f.EventType,
		"consumerId": f.ConsumerID, "consumerActionId": f.ConsumerActionID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	r := call{ep: epHooks, method: http.MethodGet, path: "_apis/hooks/subscriptions", query: v}
	var out []Subscription
	if !releasePublisher(f.PublisherID) || !c.separateReleaseHost(ctx) {
		main, err := getList[Subscription](ctx, c, r)
		if err != nil {
			return nil, err
		}
		out = main
	}
	if (f.PublisherID == "" || releasePublisher(f.PublisherID)) && c.separateReleaseHost(ctx) {
		r.release = true
		rel, err := getList[Subscription](ctx, c, r)
		switch k := delivery.KindOf(err); {
		case err == nil:
			out = append(out, rel...)
		case k != delivery.KindUnauthorized && k != delivery.KindForbidden:
			return nil, err
		}
	}
	return out, nil
}

// Subscription reads one subscription, from the release host when the main
// host does not know it.
func (c *Client) Subscription(ctx context.Context, id string) (Subscription, error) {
	var out Subscription
	r := call{ep: epHooks, method: http.MethodGet, path: "_apis/hooks/subscriptions/" + seg(id)}
	_, err := c.send(ctx, &r, &out)
	if delivery.IsNotFound(err) && c.separateReleaseHost(ctx) {
		r.release = true
		_, err = c.send(ctx, &r, &out)
	}
	return out, err
}

// ReplaceSubscription overwrites a subscription. Updating a
// disabledBySystem subscription does not re-enable it; delete and create
// instead.
func (c *Client) ReplaceSubscription(ctx context.Context, id string, in SubscriptionInput) (Subscription, error) {
	var out Subscription
	_, err := c.send(ctx, &call{ep: epHooks, method: http.MethodPut, release: releasePublisher(in.PublisherID),
		path: "_apis/hooks/subscriptions/" + seg(id), body: in}, &out)
	return out, err
}

// DeleteSubscription deletes a subscription (the service answers 204), on
// the release host when the main host does not know it.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	r := call{ep: epHooks, method: http.MethodDelete, path: "_apis/hooks/subscriptions/" + seg(id)}
	_, err := c.send(ctx, &r, nil)
	if delivery.IsNotFound(err) && c.separateReleaseHost(ctx) {
		r.release = true
		_, err = c.send(ctx, &r, nil)
	}
	return err
}
