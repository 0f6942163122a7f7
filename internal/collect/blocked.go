package collect

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Blocked says why one resource of a project is not collected: Azure DevOps
// refused it (401 naming the user, or 403) while the token itself still
// works. The scope is the one that would fix it. A blocked resource does not
// stop the others: the backfill and every reconciliation complete the rest,
// and Update token re-reads exactly the blocked resources whose scope the
// new token has.
type Blocked struct {
	Scope   azdo.Scope `json:"scope"`
	Label   string     `json:"label"`   // the scope as the PAT page names it: "Release: Read"
	Message string     `json:"message"` // what is missing from the figures
	Hint    string     `json:"hint"`    // how to fix it
	At      time.Time  `json:"at"`
}

// resourceScope is the PAT scope each resource is read with ("" for the
// steps that read only the database).
var resourceScope = map[string]azdo.Scope{
	resRepositories: azdo.ScopeCodeRead,
	resCommits:      azdo.ScopeCodeRead,
	resPullRequests: azdo.ScopeCodeRead,
	resRuns:         azdo.ScopeBuildRead,
	resEnvDeploys:   azdo.ScopeEnvironmentManage,
	resReleases:     azdo.ScopeReleaseRead,
	resWorkItems:    azdo.ScopeWorkItemsRead,
}

// resourceLabels name the resources as the status screen does.
var resourceLabels = map[string]string{resRepositories: "repositories", resCommits: "commits", resPullRequests: "pull requests",
	resRuns: "pipeline runs", resEnvDeploys: "environment deployments", resReleases: "classic release deployments",
	resWorkItems: "work items", resDerive: "deployments"}

// ResourceLabel is a resource's name for people ("pipeline runs").
func ResourceLabel(resource string) string { return resourceLabels[resource] }

// ResourceScope is the PAT scope a resource is read with.
func ResourceScope(resource string) azdo.Scope { return resourceScope[resource] }

// dependsOn: a resource that reads what another stored can be read only
// when that one can (commits and pull requests are listed per repository).
var dependsOn = map[string]string{resCommits: resRepositories, resPullRequests: resRepositories}

// blockedBy decides whether err means that res cannot be read with this
// token: a 403, or a 401 while connectionData still answers for the user.
// It returns the Blocked to record, or the error to fail with (the token
// stopped working, or anything else).
func (s *syncer) blockedBy(ctx context.Context, res string, err error) (*Blocked, error) {
	sc := resourceScope[res]
	kind := delivery.KindOf(err)
	if sc == "" || kind != delivery.KindForbidden && kind != delivery.KindUnauthorized || ctx.Err() != nil {
		return nil, err
	}
	if kind == delivery.KindUnauthorized {
		if terr := s.client.TokenWorks(ctx); terr != nil {
			return nil, err // the token itself: the integration shows it
		}
	}
	breaks, fix := azdo.ScopeAdvice(sc)
	b := &Blocked{Scope: sc, Label: azdo.ScopeLabel(sc), Message: breaks, Hint: fix, At: s.c.now().UTC()}
	var se *azdo.ScopeError
	var de *delivery.Error
	if kind == delivery.KindForbidden && !errors.As(err, &se) && errors.As(err, &de) {
		// 403: the scope is there, the account lacks a permission.
		b.Message, b.Hint = de.Message, de.Hint
	}
	s.log.Warn("resource not collected: Azure DevOps refused it", "resource", res, "scope", b.Label, "err", err)
	return b, nil
}

// Unblock clears, in every project of the integration, the blocked
// resources whose scope granted now reports granted (and those blocked with
// them), and reopens those projects' backfills so the next run reads
// exactly those resources in the original window, then derives deployments
// again. Resources that were collected are not read again. It returns the
// projects to backfill.
func Unblock(ctx context.Context, tx *store.Tx, key store.Key, granted func(azdo.Scope) bool) ([]string, error) {
	return unblock(ctx, tx, key, granted)
}

func unblock(ctx context.Context, tx *store.Tx, key store.Key, granted func(azdo.Scope) bool) ([]string, error) {
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
		for _, res := range resources {
			w, ok := rows[res]
			if !ok {
				continue
			}
			cp := parseCheckpoint(w)
			if cp.Blocked == nil || !granted(cp.Blocked.Scope) {
				continue
			}
			fresh := checkpoint{Started: cp.Started}
			if err := saveCheckpoint(ctx, tx, w, &fresh); err != nil {
				return nil, err
			}
			changed = true
		}
		if !changed {
			continue
		}
		// Derive again once the new rows are in, and reopen the backfill
		// (same window: it resumes rather than starting over).
		for _, res := range []string{resDerive, resBackfill} {
			w, ok := rows[res]
			if !ok {
				continue
			}
			cp := parseCheckpoint(w)
			cp.Finished, cp.Error, cp.Hint = nil, "", ""
			if res == resDerive {
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
func saveCheckpoint(ctx context.Context, q watermarkSaver, w store.Watermark, cp *checkpoint) error {
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
func (c *Collector) recheckBlocked(ctx context.Context, client *azdo.Client, in store.Integration, projects []store.Project) ([]string, error) {
	key := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
	probeIn := map[azdo.Scope]string{} // scope → a project it is blocked in
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
	granted := map[azdo.Scope]bool{}
	for sc, project := range probeIn {
		if client.ProbeScope(ctx, sc, project).OK() {
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
		scopes[string(sc)] = string(azdo.ScopeGranted)
	}
	states, _ := json.Marshal(scopes)
	var reopened []string
	err := c.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if reopened, err = unblock(ctx, tx, key, func(sc azdo.Scope) bool { return granted[sc] }); err != nil {
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
