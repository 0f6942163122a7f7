package metrics

import (
	"cmp"
	"slices"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Incidents lists the incidents opened in a window, attributed or not.
type Incidents struct {
	Meta
	Window       delivery.Window
	Attributed   []Attribution
	Unattributed []Attribution
}

// Incidents returns the incidents opened in w (by opening time) in its
// project. The repository filter keeps attributed incidents whose deployment
// is of that repository; unattributed incidents belong to no repository, so
// they are all kept: they are the ones someone filtering is looking for.
func (a *Analysis) Incidents(w delivery.Window) Incidents { return Set{a}.Incidents(w) }

// Incidents returns the incidents opened in w across the set.
func (s Set) Incidents(w delivery.Window) Incidents {
	out := Incidents{Meta: s.meta(w), Window: w}
	for _, a := range s {
		part := a.clip(w)
		for n, at := range a.incidents {
			if !part.Contains(at.Incident.OpenedAt) || !w.MatchesProject(at.Incident.ProjectID) {
				continue
			}
			switch j := a.incDep[n]; {
			case j < 0:
				out.Unattributed = append(out.Unattributed, at)
			case w.MatchesRepository(a.names[a.deps[j].repo]):
				out.Attributed = append(out.Attributed, at)
			}
		}
	}
	if len(s) > 1 {
		byOpening := func(x, y Attribution) int {
			return cmp.Or(x.Incident.OpenedAt.Compare(y.Incident.OpenedAt), cmp.Compare(x.Incident.WorkItemID, y.Incident.WorkItemID))
		}
		slices.SortStableFunc(out.Unattributed, byOpening)
		slices.SortStableFunc(out.Attributed, byOpening)
	}
	return out
}
