package azure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
)

// minWiqlWindow is the shortest [System.ChangedDate] window the work item
// query is split down to: the literals it sends are whole seconds.
const minWiqlWindow = time.Second

// changedWorkItemIDs lists, sorted and without duplicates, the ids of the
// project's work items changed from s.From on. One WIQL query does it while
// the result is under the service's cap (20,000, PROTOCOL §4). Past it the
// service refuses the query (VS402337, *azdo.WiqlLimitError) and the window
// is split by change time: the open-ended query becomes a bounded part
// [from, mid) that is halved until every part answers, then an open-ended
// rest [mid, …) asked again, mid moving halfway to now (or further when the
// service's clock is ahead). Parts are asked in time order, so an item that
// changes meanwhile moves to a later part and is listed once or twice, never
// lost. A part of one second still over the cap is an error.
func (s *syncer) changedWorkItemIDs(ctx context.Context, cp *collect.Checkpoint) ([]int, error) {
	seen := map[int]struct{}{}
	query := func(from, to time.Time) error {
		q := "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.ChangedDate] >= '" +
			from.UTC().Format(time.RFC3339) + "'"
		if !to.IsZero() {
			q += " AND [System.ChangedDate] < '" + to.UTC().Format(time.RFC3339) + "'"
		}
		res, err := s.client.Wiql(ctx, s.Project.ProjectID, q+" ORDER BY [System.Id]", 0)
		if err != nil {
			return err
		}
		cp.Pages++
		for _, w := range res.WorkItems {
			seen[w.ID] = struct{}{}
		}
		return nil
	}
	var bounded func(from, to time.Time) error
	bounded = func(from, to time.Time) error {
		err := query(from, to)
		var le *azdo.WiqlLimitError
		if !errors.As(err, &le) {
			return err
		}
		if to.Sub(from) <= minWiqlWindow {
			return s.tooManyChanged(from, le, err)
		}
		mid := from.Add(to.Sub(from) / 2).Truncate(time.Second) // from < mid < to: both whole seconds, ≥ 2 s apart
		if err := bounded(from, mid); err != nil {
			return err
		}
		return bounded(mid, to)
	}
	from, step := s.From.Truncate(time.Second), minWiqlWindow
	for {
		err := query(from, time.Time{})
		var le *azdo.WiqlLimitError
		if !errors.As(err, &le) {
			if err != nil {
				return nil, err
			}
			break
		}
		mid := from.Add(max(s.Now().Sub(from)/2, step)).Truncate(time.Second)
		if !mid.After(from) {
			mid = from.Add(step)
		}
		if err := bounded(from, mid); err != nil {
			return nil, err
		}
		from, step = mid, 2*step
	}
	ids := make([]int, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// tooManyChanged is the error for a one-second window the service still
// refuses: splitting by change time cannot go further.
func (s *syncer) tooManyChanged(at time.Time, le *azdo.WiqlLimitError, err error) error {
	limit := "the most"
	if le.Limit > 0 {
		limit = fmt.Sprintf("the %d", le.Limit)
	}
	return &delivery.Error{Kind: delivery.KindUpstream,
		Message: fmt.Sprintf("Cannot list the work items of project %s changed at %s: more of them changed within that second than %s "+
			"Azure DevOps returns for one query (VS402337), and PanDev Metrics narrows its query by change time down to one second only",
			s.Project.Name, at.UTC().Format(time.RFC3339), limit),
		Hint: "A bulk change (an import, or renaming an area or iteration) usually touches that many work items at once. " +
			"Deselect the project in Settings → Integrations → Azure DevOps so that the other projects keep being collected, and report this to PanDev Metrics support.",
		Err: err}
}
