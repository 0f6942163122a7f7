package collect

import (
	"context"
	"encoding/json"

	"github.com/pandev-metrics/pandev/internal/store"
)

// PRObserver hears, in the transaction that stored it, that a pull request
// changed (the PR comment feature queues its job there).
type PRObserver interface {
	PRChanged(ctx context.Context, tx *store.Tx, k store.Key, prID int64) error
}

// AttachPRObserver sets who hears about PR changes.
func (c *Collector) AttachPRObserver(o PRObserver) { c.prObserver = o }

// notifyPR tells the observer about the PR an event changed, if any.
func (c *Collector) notifyPR(ctx context.Context, tx *store.Tx, ev event) error {
	if c.prObserver == nil {
		return nil
	}
	var r struct {
		PullRequestID int64 `json:"pullRequestId"`
		PullRequest   struct {
			PullRequestID int64 `json:"pullRequestId"`
		} `json:"pullRequest"`
	}
	if json.Unmarshal(ev.Resource, &r) != nil {
		return nil
	}
	id := r.PullRequestID
	if id == 0 {
		id = r.PullRequest.PullRequestID
	}
	if id == 0 {
		return nil
	}
	return c.prObserver.PRChanged(ctx, tx, ev.Key, id)
}
