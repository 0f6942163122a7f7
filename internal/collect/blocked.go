package collect

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Blocked says why one resource of a project is not collected: the
// provider refused it (for Azure DevOps a 401 naming the user, or a 403)
// while the token itself still works. The scope is the one that would fix
// it. A blocked resource does not stop the others: the backfill and every
// reconciliation complete the rest, and Update token re-reads exactly the
// blocked resources whose scope the new token has.
type Blocked struct {
	Scope   string    `json:"scope"`   // the provider's name of the scope
	Label   string    `json:"label"`   // the scope as the token page names it: "Release: Read"
	Message string    `json:"message"` // what is missing from the figures
	Hint    string    `json:"hint"`    // how to fix it
	At      time.Time `json:"at"`      // when it was refused (the Collector sets it)
}

// blockedBy decides whether err means that res cannot be read with this
// token. It returns the Blocked to record, or the error to fail with.
func (r *Run) blockedBy(ctx context.Context, client Client, res Resource, err error) (*Blocked, error) {
	kind := delivery.KindOf(err)
	if res.Scope == "" || kind != delivery.KindForbidden && kind != delivery.KindUnauthorized || ctx.Err() != nil {
		return nil, err
	}
	b := client.Blocked(ctx, res, err)
	if b == nil {
		return nil, err
	}
	b.At = r.c.now().UTC()
	r.Log.Warn("resource not collected: the provider refused it", "resource", res.Name, "scope", b.Label, "err", err)
	return b, nil
}

// Unblock clears, in every project of the integration, the blocked
// resources whose scope granted now reports granted (and those blocked with
// them), and reopens those projects' backfills so the next run reads
// exactly those resources in the original window, then derives deployments
// again. Resources that were collected are not read again. It returns the
// projects to backfill.
// resources are the integration's source's.
func Unblock(ctx context.Context, tx *store.Tx, key store.Key, resources []Resource, granted func(scope string) bool) ([]string, error) {
	wms, err := tx.ListWatermarks(ctx, key)
	if err != nil {
		return nil, err
	}
	byProject := map[string]map[string]store.Watermark{}
	for _, w := range wms {
		if byProject[w.ProjectID] == nil {
			byProject[w.ProjectID] = map[string]store.Watermark{}
		}
		byProject[w.ProjectID][w.Resource] = w
	}
	var reopen []string
	for projectID, rows := range byProject {
		changed := false
		for _, r := range resources {
			w, ok := rows[r.Name]
			if !ok {
				continue
			}
			cp := parseCheckpoint(w)
			if cp.Blocked == nil || !granted(cp.Blocked.Scope) {
				continue
			}
			fresh := Checkpoint{Started: cp.Started}
			if err := saveCheckpoint(ctx, tx, w, &fresh); err != nil {
				return nil, err
			}
			changed = true
		}
		if !changed {
			continue
		}
		// Derive again once the new rows are in (the resources that read only
		// the database: Azure DevOps' deployments), and reopen the backfill
		// (same window: it resumes rather than starting over).
		for _, res := range append(derived(resources), resBackfill) {
			w, ok := rows[res]
			if !ok {
				continue
			}
			cp := parseCheckpoint(w)
			cp.Finished, cp.Error, cp.Hint = nil, "", ""
			if res != resBackfill {
				cp.Done, cp.Total = 0, 0
			}
			if err := saveCheckpoint(ctx, tx, w, cp); err != nil {
				return nil, err
			}
		}
		reopen = append(reopen, projectID)
	}
	sort.Strings(reopen)
	return reopen, nil
}

// saveCheckpoint writes cp into the row w came from, keeping its watermark.
func saveCheckpoint(ctx context.Context, q WatermarkSaver, w store.Watermark, cp *Checkpoint) error {
	b, _ := json.Marshal(cp)
	w.Cursor, w.ItemsDone = string(b), cp.Done
	return q.SaveWatermark(ctx, w)
}

// recheckBlocked asks again, with one cheap probe per scope, whether the
// token now has the scope of any blocked resource (Azure DevOps lets a PAT's
// scopes be edited without a new token). Those resources are unblocked and
// their projects' backfills queued, and the stored scope states updated, so
// Sync now and the next reconciliation pick up a scope added to the same
// token. It returns the projects whose backfill was queued.
func (c *Collector) recheckBlocked(ctx context.Context, src Source, client Client, in store.Integration, projects []store.Project) ([]string, error) {
	key := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
	probeIn := map[string]string{} // scope → a project it is blocked in
	days := map[string]int{}
	for _, p := range projects {
		cps, err := c.checkpoints(ctx, key, p.ProjectID)
		if err != nil {
			return nil, err
		}
		if bf := cps[resBackfill]; bf != nil {
			days[p.ProjectID] = bf.Days
		}
		for _, cp := range cps {
			if cp.Blocked != nil && probeIn[cp.Blocked.Scope] == "" {
				probeIn[cp.Blocked.Scope] = p.ProjectID
			}
		}
	}
	granted := map[string]bool{}
	for sc, project := range probeIn {
		if client.Granted(ctx, sc, project) {
			granted[sc] = true
		}
	}
	if len(granted) == 0 {
		return nil, ctx.Err()
	}
	var scopes map[string]string
	if json.Unmarshal([]byte(in.Scopes), &scopes) != nil || scopes == nil {
		scopes = map[string]string{}
	}
	for sc := range granted {
		scopes[sc] = scopeGranted
	}
	states, _ := json.Marshal(scopes)
	var reopened []string
	err := c.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if reopened, err = Unblock(ctx, tx, key, src.Resources(), func(sc string) bool { return granted[sc] }); err != nil {
			return err
		}
		if err := tx.SetIntegrationScopes(ctx, in.ID, string(states), c.now()); err != nil {
			return err
		}
		if c.queue == nil {
			return nil
		}
		for _, id := range reopened {
			if err := c.queue.InsertTx(ctx, tx, BackfillArgs{IntegrationID: in.ID, ProjectID: id, Days: days[id]}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && len(reopened) > 0 && c.logger != nil {
		c.logger.Info("scopes granted since: backfilling what they unlock", "integration", in.ID, "projects", len(reopened))
	}
	return reopened, err
}

// scopeGranted is the stored state of a scope the token has
// (store.Integration.Scopes, as Check connection records it).
const scopeGranted = "granted"

// derived are the resources that read only what the others stored.
func derived(resources []Resource) []string {
	var out []string
	for _, r := range resources {
		if r.Scope == "" {
			out = append(out, r.Name)
		}
	}
	return out
}
