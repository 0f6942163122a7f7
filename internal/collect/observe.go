package collect

import (
	"context"
	"encoding/json"

	"github.com/pandev-metrics/pandev/internal/store"
)

// PRObserver hears, in the transaction that stored it, that a pull request
// changed (the PR comment feature queues its job there).
type PRObserver interface {
	PRChanged(ctx context.Context, tx *store.Tx, workspaceID string, pr store.PRRef) error
}

// AttachPRObserver sets who hears about PR changes.
func (c *Collector) AttachPRObserver(o PRObserver) { c.prObserver = o }

// notifyPR tells the observer about the PR an event changed, if any: the
// resource is the PR (git.pullrequest.*) or holds it (ms.vss-code.git-pullrequest-comment-event).
func (c *Collector) notifyPR(ctx context.Context, tx *store.Tx, ev event) error {
	if c.prObserver == nil {
		return nil
	}
	type prPart struct {
		PullRequestID int64         `json:"pullRequestId"`
		Repository    gitRepository `json:"repository"`
	}
	var r struct {
		prPart
		PullRequest prPart `json:"pullRequest"`
	}
	if json.Unmarshal(ev.Resource, &r) != nil {
		return nil
	}
	pr := r.prPart
	if pr.PullRequestID == 0 {
		pr = r.PullRequest
	}
	if pr.PullRequestID == 0 || pr.Repository.ID == "" {
		return nil
	}
	return c.prObserver.PRChanged(ctx, tx, ev.WorkspaceID,
		store.PRRef{IntegrationID: ev.IntegrationID, RepoID: pr.Repository.ID, PRID: pr.PullRequestID})
}
