package collect

import (
	"context"

	"github.com/pandev-metrics/pandev/internal/store"
)

// PRObserver hears, in the transaction that stored it, that a pull request
// changed (the PR comment feature queues its job there).
type PRObserver interface {
	PRChanged(ctx context.Context, tx *store.Tx, workspaceID string, pr store.PRRef) error
}

// AttachPRObserver sets who hears about PR changes: the pull request an
// applied event names (Applied.PR).
func (c *Collector) AttachPRObserver(o PRObserver) { c.prObserver = o }
