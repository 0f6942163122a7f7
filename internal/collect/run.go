package collect

import (
	"context"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// step runs one resource and marks it finished.
func (r *Run) step(ctx context.Context, pc ProjectClient, res string, cp *Checkpoint) error {
	err := pc.Collect(ctx, res, cp)
	if err != nil || r.Reconcile {
		return err // a reconciliation moves the watermarks once every resource is done
	}
	fin := r.c.now().UTC()
	cp.Finished = &fin
	started := r.Started
	return r.Save(ctx, r.c.db, res, cp, &started)
}

// Write stores one batch in a transaction together with the resource's
// checkpoint (backfill), so a crash never leaves rows without the
// checkpoint that accounts for them or the other way round. In a
// reconciliation it first counts the batch's items whose stored state
// differs from the fetched one: missed deliveries. items are the batch's
// fetched items (counted as fetched; cp.Done grows by their number).
func (r *Run) Write(ctx context.Context, res string, cp *Checkpoint, items []Fingerprinted, fn func(tx *store.Tx) error) error {
	r.fetched.Add(int64(len(items)))
	return r.c.db.InTx(ctx, func(tx *store.Tx) error {
		if r.Reconcile && len(items) > 0 {
			n, err := countChanged(ctx, tx, r.Key.IntegrationID, items)
			if err != nil {
				return err
			}
			r.recovered.Add(int64(n))
		}
		if err := fn(tx); err != nil {
			return err
		}
		if r.Reconcile {
			return nil
		}
		cp.Done += int64(len(items))
		return r.Save(ctx, tx, res, cp, nil)
	})
}

// Fingerprinted is a fetched item with the text store.StoredFingerprints
// gives for the same state: a reconciliation counts the items whose
// stored state differs as recovered. Kind "" is not compared.
type Fingerprinted struct {
	Kind store.SyncKind
	Key  string
	FP   string
}

func countChanged(ctx context.Context, tx *store.Tx, integrationID string, items []Fingerprinted) (int, error) {
	byKind := map[store.SyncKind][]Fingerprinted{}
	for _, it := range items {
		if it.Kind != "" { // repositories are not compared
			byKind[it.Kind] = append(byKind[it.Kind], it)
		}
	}
	n := 0
	for kind, its := range byKind {
		keys := make([]string, len(its))
		for i, it := range its {
			keys[i] = it.Key
		}
		stored, err := tx.StoredFingerprints(ctx, kind, integrationID, keys)
		if err != nil {
			return 0, err
		}
		for _, it := range its {
			if fp, ok := stored[it.Key]; !ok || fp != it.FP {
				n++
			}
		}
	}
	return n, nil
}

// rulesOf returns the deployment, production and incident rules of a
// workspace's project (its own, else the workspace's; METRICS.md's
// defaults where unset).
func (c *Collector) rulesOf(ctx context.Context, workspaceID, projectID string) delivery.Rules {
	r, err := c.db.GetWorkspaceRules(ctx, workspaceID)
	if err != nil {
		return delivery.DefaultRules()
	}
	return r.For(projectID).RulesOrDefault()
}
