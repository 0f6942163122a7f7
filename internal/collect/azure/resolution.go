package azure

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// The date fields a state change sets where the work item type has the
// rules for them; not every process and type does.
const (
	fieldResolvedDate = "Microsoft.VSTS.Common.ResolvedDate"
	fieldClosedDate   = "Microsoft.VSTS.Common.ClosedDate"
)

// lacksResolution reports whether a work item is resolved or closed without
// the date field that says since when.
func lacksResolution(w *azdo.WorkItem) bool {
	switch stateCategory(w.Field("System.State")) {
	case "Resolved":
		return w.Fields[fieldResolvedDate] == nil
	case "Completed":
		return w.Fields[fieldClosedDate] == nil
	}
	return false
}

// resolveFromUpdates gives the incidents read in a backfill or reconcile
// that are resolved or closed without ResolvedDate or ClosedDate those dates
// from their updates (Work Items: Read is enough): the time of the state
// change into a Resolved or Completed state category (METRICS.md,
// Incident), as a webhook's update tells it. Only incidents: no other
// figure reads a work item's resolution, and one call per item is not
// spent on a thousand stories. An item stored at the same revision is not
// asked again: the store kept the times it had. Calls are fanned out like
// the batch reads.
func (s *syncer) resolveFromUpdates(ctx context.Context, items []*azdo.WorkItem) error {
	var need []*azdo.WorkItem
	var keys []string
	for _, w := range items {
		if lacksResolution(w) && isIncident(s.Rules, w) {
			need = append(need, w)
			keys = append(keys, strconv.Itoa(w.ID))
		}
	}
	if len(need) == 0 {
		return nil
	}
	stored, err := s.DB.StoredFingerprints(ctx, store.SyncWorkItem, s.Key.IntegrationID, keys)
	if err != nil {
		return err
	}
	todo := need[:0]
	for _, w := range need {
		if stored[strconv.Itoa(w.ID)] != strconv.Itoa(w.Rev) {
			todo = append(todo, w)
		}
	}
	return parallel(ctx, len(todo), s.Fanout, func(ctx context.Context, i int) error {
		w := todo[i]
		ups, err := s.client.WorkItemUpdates(ctx, "", w.ID)
		if err != nil {
			return err
		}
		resolved, closed := transitionsOf(ups)
		if resolved != nil && w.Fields[fieldResolvedDate] == nil {
			w.Fields[fieldResolvedDate] = resolved.Format(time.RFC3339Nano)
		}
		if closed != nil && w.Fields[fieldClosedDate] == nil {
			w.Fields[fieldClosedDate] = closed.Format(time.RFC3339Nano)
		}
		return nil
	})
}

// isIncident applies the incident rule to a read work item.
func isIncident(rules delivery.Rules, w *azdo.WorkItem) bool {
	return rules.OrDefaults().Incident.Matches(delivery.WorkItem{Type: w.Field("System.WorkItemType"),
		Tags: strings.Split(w.Field("System.Tags"), ";")})
}

// transitionsOf replays a work item's updates, oldest first, as the store
// replays webhook updates: the first change into a Resolved (or Completed)
// state category resolves (closes) the item at that update's ChangedDate,
// or at the date field the update set; a change back to a Proposed or In
// Progress state reopens it. It returns the times in force after the last
// update.
func transitionsOf(ups []azdo.WorkItemUpdate) (resolved, closed *time.Time) {
	for _, u := range ups {
		st, ok := u.Fields["System.State"]
		if !ok {
			continue
		}
		before, after := stateCategory(text(st.OldValue)), stateCategory(text(st.NewValue))
		at := changeTime(u, "System.ChangedDate")
		switch after {
		case "Proposed", "InProgress":
			resolved, closed = nil, nil
		case "Resolved":
			if before != "Resolved" && before != "Completed" && resolved == nil {
				resolved = firstTime(changeTime(u, fieldResolvedDate), at)
			}
		case "Completed":
			if before != "Completed" && closed == nil {
				closed = firstTime(changeTime(u, fieldClosedDate), at)
			}
		}
	}
	return resolved, closed
}

// changeTime is a date field's new value in an update; nil when absent.
func changeTime(u azdo.WorkItemUpdate, field string) *time.Time {
	c, ok := u.Fields[field]
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, text(c.NewValue))
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}

func text(v any) string {
	s, _ := v.(string)
	return s
}
