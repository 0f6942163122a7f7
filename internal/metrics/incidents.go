package metrics

import "github.com/pandev-metrics/pandev/internal/delivery"

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
func (a *Analysis) Incidents(w delivery.Window) Incidents {
	out := Incidents{Meta: meta(), Window: w}
	repoOf := make(map[string]string)
	for _, d := range a.deps {
		repoOf[d.ID] = d.RepositoryID
	}
	for _, at := range a.incidents {
		if !w.Contains(at.Incident.OpenedAt) || !w.MatchesProject(at.Incident.ProjectID) {
			continue
		}
		switch {
		case at.DeploymentID == "":
			out.Unattributed = append(out.Unattributed, at)
		case w.Repository == "" || repoOf[at.DeploymentID] == w.Repository:
			out.Attributed = append(out.Attributed, at)
		}
	}
	return out
}
