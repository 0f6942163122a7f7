package integration

import (
	"context"
	"fmt"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// DisconnectResult says what Disconnect did.
type DisconnectResult struct {
	// HooksRemoved counts the service hook subscriptions deleted in Azure
	// DevOps; HooksLeft names the ones it could not delete, with why (they
	// fail against PanDev Metrics from now on, and Azure DevOps disables
	// them; an Azure DevOps admin can delete them under Project settings →
	// Service hooks).
	HooksRemoved int      `json:"hooks_removed"`
	HooksLeft    []string `json:"hooks_left,omitempty"`
	// JobsCancelled counts the integration's waiting jobs that will not run.
	JobsCancelled int `json:"jobs_cancelled"`
	// Data is "kept" (shown on the dashboard, the integration marked
	// disconnected) or "deleted" (every row collected through it).
	Data string `json:"data"`
}

// disconnectTimeout bounds the calls that delete service hooks: a dead
// Azure DevOps must not keep the admin waiting.
const disconnectTimeout = 30 * time.Second

// jobCanceller is what Disconnect needs of the queue (jobs.Queue).
type jobCanceller interface {
	CancelIntegrationJobs(ctx context.Context, integrationID string) (int, error)
	Running(integrationID string) int
}

// Disconnect removes the integration's service hooks from Azure DevOps,
// cancels its waiting jobs and either deletes everything collected through
// it or keeps the data (the integration is marked disconnected, its token
// cleared; Activate with the same Organization URL connects it again).
//
// Order matters: the integration is marked disconnected first (no new call
// starts: Client refuses it), its jobs are cancelled and the running ones
// given a moment to stop, and only then are the hooks deleted, so a hook
// registration that was running cannot put one back.
func (s *Service) Disconnect(ctx context.Context, workspaceID string, keepData bool) (DisconnectResult, error) {
	in, err := s.anyForWorkspace(ctx, workspaceID)
	if err != nil {
		return DisconnectResult{}, err
	}
	res := DisconnectResult{Data: "deleted"}
	if keepData {
		res.Data = "kept"
	}
	var client *azdo.Client
	if in.DisconnectedAt == nil {
		client, _, err = s.Client(ctx, in.ID)
		if err != nil {
			res.HooksLeft = []string{"none could be deleted: " + problemOf(err).Message}
		}
		if err := s.opts.DB.DisconnectIntegration(ctx, workspaceID, in.ID, s.opts.Now()); err != nil {
			return res, err
		}
		s.mu.Lock()
		delete(s.clients, in.ID)
		s.mu.Unlock()
	}
	if res.JobsCancelled, err = cancelJobs(ctx, s.opts.Queue, in.ID); err != nil {
		return res, err
	}
	if client != nil {
		res.HooksRemoved, res.HooksLeft = s.deleteAllHooks(ctx, client, in.ID)
	}
	if keepData {
		err = dropHookRecords(ctx, s.opts.DB, in)
	} else {
		err = s.opts.DB.DeleteIntegration(ctx, workspaceID, in.ID)
	}
	if err != nil {
		return res, err
	}
	s.opts.Logger.Info("Azure DevOps disconnected", "workspace", workspaceID, "integration", in.ID, "data", res.Data,
		"hooks_removed", res.HooksRemoved, "hooks_left", len(res.HooksLeft), "jobs_cancelled", res.JobsCancelled)
	return res, nil
}

// deleteAllHooks deletes every subscription of the integration in Azure
// DevOps, within disconnectTimeout; what it could not delete is named.
func (s *Service) deleteAllHooks(ctx context.Context, c *azdo.Client, integrationID string) (int, []string) {
	ctx, cancel := context.WithTimeout(ctx, disconnectTimeout)
	defer cancel()
	subs, err := c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
	if err != nil {
		return 0, []string{"none could be listed: " + problemOf(err).Message}
	}
	removed, left := 0, []string(nil)
	for _, sub := range subs {
		if !s.ourSubscription(sub, integrationID) {
			continue
		}
		if err := c.DeleteSubscription(ctx, sub.ID); err != nil && !delivery.IsNotFound(err) {
			left = append(left, fmt.Sprintf("%s (%s): %s", sub.EventType, sub.ID, problemOf(err).Message))
			continue
		}
		removed++
	}
	return removed, left
}

// cancelJobs cancels an integration's waiting jobs and gives the running
// ones a moment to stop (a hook registration that was running must not
// put a hook back after Disconnect deleted them).
func cancelJobs(ctx context.Context, queue jobInserter, integrationID string) (int, error) {
	q, ok := queue.(jobCanceller)
	if !ok {
		return 0, nil
	}
	n, err := q.CancelIntegrationJobs(ctx, integrationID)
	if err != nil {
		return n, err
	}
	for deadline := time.Now().Add(10 * time.Second); q.Running(integrationID) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	return n, nil
}

// dropHookRecords forgets every recorded hook of an integration (its hooks
// were deleted at the provider).
func dropHookRecords(ctx context.Context, db *store.DB, in store.Integration) error {
	return db.InTx(ctx, func(tx *store.Tx) error {
		hooks, err := tx.ListHookSubscriptions(ctx, key(in), "")
		if err != nil {
			return err
		}
		for _, h := range hooks {
			if err := tx.DeleteHookSubscription(ctx, in.ID, h.SubscriptionID); err != nil {
				return err
			}
		}
		return nil
	})
}
