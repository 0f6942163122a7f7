package metrics

import (
	"cmp"
	"slices"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Reason says why an incident is not attributed to a deployment.
type Reason string

// Reasons for an unattributed incident, shown beside it so nobody has to
// guess why the change failure rate did not move.
const (
	ReasonAttributed    Reason = ""
	ReasonNoDeployment  Reason = "no successful production deployment in the project finished before it was opened"
	ReasonOutsideWindow Reason = "the latest successful production deployment finished more than the attribution window before it was opened"
)

// Attribution is an incident and the deployment it is attributed to.
type Attribution struct {
	Incident delivery.Incident
	// DeploymentID is empty when the incident is unattributed.
	DeploymentID string
	// Previous is the latest successful production deployment of the project
	// before the incident when it was too old to be blamed; zero otherwise.
	Previous time.Time
	Reason   Reason
}

// Attribute attributes each incident to the latest successful production
// deployment of the same project that finished before the incident was
// opened, if that is at most window earlier; otherwise to none, with the
// reason. deployments must be classified (Production set); others are
// ignored. The result is in the order of incidents.
func Attribute(incidents []delivery.Incident, deployments []delivery.Deployment, window time.Duration) []Attribution {
	deps := slices.Clone(deployments)
	slices.SortStableFunc(deps, func(x, y delivery.Deployment) int {
		return cmp.Or(x.FinishedAt.Compare(y.FinishedAt), cmp.Compare(x.ID, y.ID))
	})
	out := make([]Attribution, len(incidents))
	for i, inc := range incidents {
		j := attributeOne(inc, deps, window)
		out[i] = Attribution{Incident: inc, Reason: j.reason, Previous: j.previous}
		if j.index >= 0 {
			out[i].DeploymentID = deps[j.index].ID
		}
	}
	return out
}

type attribution struct {
	index    int // into the sorted deployments; -1 for none
	previous time.Time
	reason   Reason
}

// attributeOne searches deps, sorted by finish time, backwards from the
// incident's opening. Finishing exactly at the opening is not "before".
func attributeOne(inc delivery.Incident, deps []delivery.Deployment, window time.Duration) attribution {
	end, _ := slices.BinarySearchFunc(deps, inc.OpenedAt, func(d delivery.Deployment, t time.Time) int {
		return d.FinishedAt.Compare(t)
	})
	for j := end - 1; j >= 0; j-- {
		d := deps[j]
		if !d.Production || OutcomeOf(d.Result) != OutcomeSuccess || d.ProjectID != inc.ProjectID {
			continue
		}
		if inc.OpenedAt.Sub(d.FinishedAt) > window {
			return attribution{index: -1, previous: d.FinishedAt, reason: ReasonOutsideWindow}
		}
		return attribution{index: j}
	}
	return attribution{index: -1, reason: ReasonNoDeployment}
}

// attribute finds the incidents among the work items and attributes them
// to the deployments of parts (the analyses of one project's repositories),
// keeping them in opening order: an attributed incident goes to the part of
// its deployment, an unattributed one to host.
func attribute(rules delivery.Rules, items []delivery.WorkItem, parts []*Analysis, host *Analysis) {
	var incidents []delivery.Incident
	for _, w := range items {
		if inc, ok := rules.Incident.Incident(w); ok {
			incidents = append(incidents, inc)
		}
	}
	slices.SortStableFunc(incidents, func(x, y delivery.Incident) int {
		return cmp.Or(x.OpenedAt.Compare(y.OpenedAt), cmp.Compare(x.WorkItemID, y.WorkItemID))
	})
	// The project's deployments as attributeOne reads them, by finish time.
	var refs []depRef
	var deps []delivery.Deployment
	for _, a := range parts {
		for i := range a.deps {
			refs = append(refs, depRef{a, i})
		}
	}
	slices.SortStableFunc(refs, func(x, y depRef) int {
		return cmp.Or(cmp.Compare(x.dep().finished, y.dep().finished), cmp.Compare(x.dep().id, y.dep().id))
	})
	for _, r := range refs {
		deps = append(deps, r.a.deployment(r.i))
	}
	for _, inc := range incidents {
		j := attributeOne(inc, deps, rules.AttributionWindow)
		at := Attribution{Incident: inc, Reason: j.reason, Previous: j.previous}
		owner, index := host, int32(-1)
		if j.index >= 0 {
			r := refs[j.index]
			owner, index = r.a, int32(r.i)
			at.DeploymentID = r.dep().id
			owner.attributed[r.i] = append(owner.attributed[r.i], len(owner.incidents))
		}
		owner.incidents = append(owner.incidents, at)
		owner.incDep = append(owner.incDep, index)
	}
}
