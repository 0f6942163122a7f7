package collect

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// Checkpoint is what sync_watermarks.cursor holds for one resource of a
// project: where a running backfill is (Pos, meaning per resource: the
// source's to set and read), how much it has done, and when it started and
// finished. The "backfill" row also holds the window, so a resumed
// backfill collects exactly the same window.
type Checkpoint struct {
	// Pos is where the resource's backfill resumes.
	Pos string `json:"pos,omitempty"`
	// Done counts the items stored (Run.Write adds them).
	Done int64 `json:"done"`
	// Total is how many there are, 0 while unknown.
	Total int64 `json:"total,omitempty"`
	// Share estimates the part done of a resource whose total is unknown
	// (commits, runs), from where its walk is in the window.
	Share float64 `json:"share,omitempty"`
	// Pages counts the calls made.
	Pages int64 `json:"pages"`
	// Started and Finished: when the resource's collection did.
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	// Blocked: the provider refused this resource (a missing scope or
	// permission); it counts as finished for the backfill and is skipped by
	// reconciliations until a new token unblocks it.
	Blocked *Blocked `json:"blocked,omitempty"`
	// Error and Hint: why the last run of a backfill stopped (on the
	// "backfill" row), until it runs again.
	Error string `json:"error,omitempty"`
	Hint  string `json:"hint,omitempty"`
	// Until: the stop is the provider's rate limit, and the job resumes
	// by itself then (on the "backfill" row).
	Until *time.Time `json:"until,omitempty"`
	// From and Days: the window (on the "backfill" row).
	From time.Time `json:"from,omitzero"`
	Days int       `json:"days,omitempty"`
	// watermark is the column beside the cursor: everything up to it is stored.
	watermark *time.Time
}

// WatermarkSaver is a *store.DB or a *store.Tx: checkpoints are written in
// the same transaction as the rows they account for.
type WatermarkSaver interface {
	SaveWatermark(ctx context.Context, w store.Watermark) error
}

// checkpoints reads the checkpoints of a project's resources.
func (c *Collector) checkpoints(ctx context.Context, key store.Key, projectID string) (map[string]*Checkpoint, error) {
	wms, err := c.db.ListWatermarks(ctx, key)
	if err != nil {
		return nil, err
	}
	out := map[string]*Checkpoint{}
	for _, w := range wms {
		if w.ProjectID != projectID {
			continue
		}
		out[w.Resource] = parseCheckpoint(w)
	}
	return out, nil
}

func parseCheckpoint(w store.Watermark) *Checkpoint {
	cp := &Checkpoint{}
	if json.Unmarshal([]byte(w.Cursor), cp) != nil {
		cp = &Checkpoint{Started: w.UpdatedAt}
	}
	cp.Done = max(cp.Done, w.ItemsDone)
	cp.watermark = w.Watermark
	return cp
}

// Save writes a checkpoint, in q (the run's database, or the transaction
// of the rows it accounts for); watermark, when set, says everything up to
// it is stored (the start of the run that finished the resource).
func (r *Run) Save(ctx context.Context, q WatermarkSaver, resource string, cp *Checkpoint, watermark *time.Time) error {
	b, _ := json.Marshal(cp)
	w := store.Watermark{Key: r.Key, ProjectID: r.Project.ProjectID, Resource: resource, Cursor: string(b),
		ItemsDone: cp.Done, UpdatedAt: r.c.now(), Watermark: watermark}
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
	// Blocked: the provider refused this resource; not collected until the
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
	// Blocked lists the resources the provider refused, with the fix.
	Blocked []BlockedResource `json:"blocked,omitempty"`
}

// Failure is why a backfill stopped, with what to do.
type Failure struct {
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// Until, when set, says the backfill is not failing but waiting for the
	// provider's rate limit, and resumes by itself at that time.
	Until *time.Time `json:"until,omitempty"`
}

// BlockedResource is a resource of a project that is not collected.
type BlockedResource struct {
	Resource string `json:"resource"`
	What     string `json:"what"` // the resource for people: "pipeline runs"
	Blocked
}

// Progress reports the backfill progress of every project of the
// integration that has one; resources are its source's (Source.Resources).
// The estimate of the remaining time is taken at the project's last
// checkpoint, from the pace until then.
func Progress(ctx context.Context, db *store.DB, key store.Key, resources []Resource) ([]ProjectProgress, error) {
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
				p.Failed = &Failure{Message: cp.Error, Hint: cp.Hint, Until: cp.Until}
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
		label := map[string]string{}
		for i, r := range resources {
			rank[r.Name], label[r.Name] = i, r.Label
		}
		sort.Slice(p.Resources, func(i, j int) bool { return rank[p.Resources[i].Resource] < rank[p.Resources[j].Resource] })
		var done float64
		for _, r := range p.Resources {
			if r.Blocked != nil {
				p.Blocked = append(p.Blocked, BlockedResource{Resource: r.Resource, What: label[r.Resource], Blocked: *r.Blocked})
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
