package collect

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// checkpoint is what sync_watermarks.cursor holds for one resource of a
// project: where a running backfill is (Pos, meaning per resource), how much
// it has done, and when it started and finished. The "backfill" row also
// holds the window, so a resumed backfill collects exactly the same window.
type checkpoint struct {
	Pos   string `json:"pos,omitempty"`
	Done  int64  `json:"done"`
	Total int64  `json:"total,omitempty"` // 0 while unknown
	// Share estimates the part done of a resource whose total is unknown
	// (commits, runs), from where its walk is in the window.
	Share    float64    `json:"share,omitempty"`
	Pages    int64      `json:"pages"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	// Blocked: Azure DevOps refused this resource (a missing scope or
	// permission); it counts as finished for the backfill and is skipped by
	// reconciliations until a new token unblocks it.
	Blocked *Blocked `json:"blocked,omitempty"`
	// Error and Hint: why the last run of a backfill stopped (on the
	// "backfill" row), until it runs again.
	Error string    `json:"error,omitempty"`
	Hint  string    `json:"hint,omitempty"`
	From  time.Time `json:"from,omitzero"`
	Days  int       `json:"days,omitempty"`
	// watermark is the column beside the cursor: everything up to it is stored.
	watermark *time.Time
}

// watermarkSaver is a *store.DB or a *store.Tx: checkpoints are written in
// the same transaction as the rows they account for.
type watermarkSaver interface {
	SaveWatermark(ctx context.Context, w store.Watermark) error
}

// checkpoints reads the checkpoints of a project's resources.
func (c *Collector) checkpoints(ctx context.Context, key store.Key, projectID string) (map[string]*checkpoint, error) {
	wms, err := c.db.ListWatermarks(ctx, key)
	if err != nil {
		return nil, err
	}
	out := map[string]*checkpoint{}
	for _, w := range wms {
		if w.ProjectID != projectID {
			continue
		}
		out[w.Resource] = parseCheckpoint(w)
	}
	return out, nil
}

func parseCheckpoint(w store.Watermark) *checkpoint {
	cp := &checkpoint{}
	if json.Unmarshal([]byte(w.Cursor), cp) != nil {
		cp = &checkpoint{Started: w.UpdatedAt}
	}
	cp.Done = max(cp.Done, w.ItemsDone)
	cp.watermark = w.Watermark
	return cp
}

// save writes a checkpoint; watermark, when set, says everything up to it
// is stored (the start of the run that finished the resource).
func (s *syncer) save(ctx context.Context, q watermarkSaver, resource string, cp *checkpoint, watermark *time.Time) error {
	b, _ := json.Marshal(cp)
	w := store.Watermark{Key: s.key, ProjectID: s.project.ProjectID, Resource: resource, Cursor: string(b),
		ItemsDone: cp.Done, UpdatedAt: s.c.now(), Watermark: watermark}
	if watermark == nil {
		w.Watermark = cp.watermark // keep the last complete sync while a new one runs
	} else {
		cp.watermark = watermark
	}
	return q.SaveWatermark(ctx, w)
}

// ResourceProgress is how far collection of one resource of a project is.
type ResourceProgress struct {
	Resource   string `json:"resource"`
	ItemsDone  int64  `json:"items_done"`
	ItemsTotal int64  `json:"items_total,omitempty"` // 0 while unknown
	// Share is the estimated part done (0 to 1) while the total is unknown.
	Share    float64    `json:"share,omitempty"`
	Pages    int64      `json:"pages"`
	Started  *time.Time `json:"started,omitempty"`
	Finished *time.Time `json:"finished,omitempty"`
	// Watermark: everything up to this time is stored.
	Watermark *time.Time `json:"watermark,omitempty"`
	// Blocked: Azure DevOps refused this resource; not collected until the
	// token has the scope (or the account the permission).
	Blocked *Blocked `json:"blocked,omitempty"`
}

// ProjectProgress is the backfill of one project as the status page and
// the API show it.
type ProjectProgress struct {
	ProjectID string             `json:"project_id"`
	From      *time.Time         `json:"from,omitempty"` // start of the backfill window
	Started   *time.Time         `json:"started,omitempty"`
	Finished  *time.Time         `json:"finished,omitempty"`
	ItemsDone int64              `json:"items_done"`
	Pages     int64              `json:"pages"`
	Resources []ResourceProgress `json:"resources"`
	// Remaining estimates the time left from the pace so far; 0 when
	// finished or not yet estimable.
	Remaining time.Duration `json:"remaining_ns"`
	// Fraction is the share done, 0 to 1.
	Fraction float64 `json:"fraction"`
	// Failed: the backfill stopped with this error and waits (for a new
	// token, or its retry); no estimate is given meanwhile.
	Failed *Failure `json:"failed,omitempty"`
	// Blocked lists the resources Azure DevOps refused, with the fix.
	Blocked []BlockedResource `json:"blocked,omitempty"`
}

// Failure is why a backfill stopped, with what to do.
type Failure struct {
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// BlockedResource is a resource of a project that is not collected.
type BlockedResource struct {
	Resource string `json:"resource"`
	What     string `json:"what"` // the resource for people: "pipeline runs"
	Blocked
}

// Progress reports the backfill progress of every project of the
// integration that has one. The estimate of the remaining time is taken at
// the project's last checkpoint, from the pace until then.
func Progress(ctx context.Context, db *store.DB, key store.Key) ([]ProjectProgress, error) {
	wms, err := db.ListWatermarks(ctx, key)
	if err != nil {
		return nil, err
	}
	byProject := map[string]*ProjectProgress{}
	last := map[string]time.Time{}
	var order []string
	for _, w := range wms {
		p, ok := byProject[w.ProjectID]
		if !ok {
			p = &ProjectProgress{ProjectID: w.ProjectID}
			byProject[w.ProjectID] = p
			order = append(order, w.ProjectID)
		}
		cp := parseCheckpoint(w)
		if w.UpdatedAt.After(last[w.ProjectID]) {
			last[w.ProjectID] = w.UpdatedAt
		}
		if w.Resource == resBackfill {
			p.From, p.Started, p.Finished = timeOrNil(cp.From), timeOrNil(cp.Started), cp.Finished
			if cp.Error != "" && cp.Finished == nil {
				p.Failed = &Failure{Message: cp.Error, Hint: cp.Hint}
			}
			continue
		}
		p.Resources = append(p.Resources, ResourceProgress{Resource: w.Resource, ItemsDone: cp.Done, ItemsTotal: cp.Total,
			Share: cp.Share, Pages: cp.Pages, Started: timeOrNil(cp.Started), Finished: cp.Finished, Watermark: w.Watermark,
			Blocked: cp.Blocked})
	}
	out := make([]ProjectProgress, 0, len(order))
	for _, id := range order {
		p := byProject[id]
		rank := map[string]int{}
		for i, r := range resources {
			rank[r] = i
		}
		sort.Slice(p.Resources, func(i, j int) bool { return rank[p.Resources[i].Resource] < rank[p.Resources[j].Resource] })
		var done float64
		for _, r := range p.Resources {
			if r.Blocked != nil {
				p.Blocked = append(p.Blocked, BlockedResource{Resource: r.Resource, What: ResourceLabel(r.Resource), Blocked: *r.Blocked})
			}
			p.ItemsDone += r.ItemsDone
			p.Pages += r.Pages
			switch {
			case p.Started != nil && r.Started != nil && r.Started.Before(*p.Started):
				// A resource of an earlier backfill: the new one has not reached it.
			case r.Finished != nil:
				done++
			case r.ItemsTotal > 0:
				done += min(1, float64(r.ItemsDone)/float64(r.ItemsTotal))
			default:
				done += min(1, r.Share)
			}
		}
		p.Fraction = done / float64(len(resources))
		if p.Finished != nil {
			p.Fraction = 1
		}
		if p.Finished == nil && p.Started != nil && p.Fraction > 0 && p.Failed == nil {
			elapsed := last[id].Sub(*p.Started)
			p.Remaining = time.Duration(float64(elapsed) * (1 - p.Fraction) / p.Fraction).Round(time.Second)
		}
		out = append(out, *p)
	}
	return out, nil
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
