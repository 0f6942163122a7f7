package azdo

import (
	"context"
	"net/http"
	"net/url"
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
	_, err := c.send(ctx, &call{ep: epHooks, method: http.MethodPost, path: "_apis/hooks/subscriptions", body: in}, &out)
	return out, err
}

// Subscriptions lists the organization's subscriptions (not paged).
func (c *Client) Subscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error) {
	v := url.Values{}
	for k, s := range map[string]string{"publisherId": f.PublisherID, "eventType": f.EventType,
		"consumerId": f.ConsumerID, "consumerActionId": f.ConsumerActionID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return getList[Subscription](ctx, c, call{ep: epHooks, method: http.MethodGet, path: "_apis/hooks/subscriptions", query: v})
}

// Subscription reads one subscription.
func (c *Client) Subscription(ctx context.Context, id string) (Subscription, error) {
	var out Subscription
	_, err := c.send(ctx, &call{ep: epHooks, method: http.MethodGet, path: "_apis/hooks/subscriptions/" + seg(id)}, &out)
	return out, err
}

// ReplaceSubscription overwrites a subscription. Updating a
// disabledBySystem subscription does not re-enable it; delete and create
// instead.
func (c *Client) ReplaceSubscription(ctx context.Context, id string, in SubscriptionInput) (Subscription, error) {
	var out Subscription
	_, err := c.send(ctx, &call{ep: epHooks, method: http.MethodPut, path: "_apis/hooks/subscriptions/" + seg(id), body: in}, &out)
	return out, err
}

// DeleteSubscription deletes a subscription (the service answers 204).
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	_, err := c.send(ctx, &call{ep: epHooks, method: http.MethodDelete, path: "_apis/hooks/subscriptions/" + seg(id)}, nil)
	return err
}
