package metrics

import (
	"sync"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// DORA holds the four keys for one window, each with its n, its band and
// the items behind it.
type DORA struct {
	Meta
	Window              delivery.Window
	DeploymentFrequency Frequency
	LeadTime            LeadTime
	ChangeFailureRate   FailureRate
	Recovery            Recovery
}

// Frequency is deployment frequency: successful production deployments
// finishing in the window.
type Frequency struct {
	// N is the count of deployments; with N == 0 the figure is "no data".
	N int
	// PerDay and PerWeek divide N by the window's length; nil when N == 0.
	PerDay, PerWeek *float64
	// DeployDays are the distinct UTC days with a deployment.
	DeployDays int
	// WeeklyDeployDays is the median of deploy-days over the full 7-day
	// blocks counted back from the window's end (Weeks of them); nil when
	// there is none. MonthlyDeployDays is the same over 30-day blocks.
	WeeklyDeployDays, MonthlyDeployDays *float64
	Weeks, Months                       int
	Band                                Band
}

// LeadTime is lead time for changes over the PRs and PR-less commits
// deployed in the window; LeadTimeItems lists them.
type LeadTime struct {
	Stats
	Band Band
}

// LeadTimeItem is one change behind lead time: a merged PR, or a commit that
// reached production without a PR (PullRequestID 0).
type LeadTimeItem struct {
	PullRequestID int
	CommitSHA     string // the commit of a PR-less item
	RepositoryID  string
	DeploymentID  string
	// From is the first commit's authored time; To the deployment's finish.
	From, To time.Time
	Span     time.Duration // clamped at 0
}

// FailureRate is the change failure rate: failed deployments plus
// successful ones with an attributed incident, over all counted ones.
type FailureRate struct {
	Rate
	Failed       int // failed deployments
	WithIncident int // successful deployments with ≥ 1 attributed incident
	Band         Band
	// Failures are the ids of the deployments counted as failures.
	Failures []string
}

// Recovery is failed deployment recovery time.
type Recovery struct {
	Stats
	Band Band
	// Items are the recovered failures; Open those not recovered yet, which
	// the median leaves out until they recover.
	Items []RecoveryItem
	Open  []RecoveryItem
}

// FailureKind says what made a deployment a failure.
type FailureKind string

// Failure kinds.
const (
	FailedDeployment FailureKind = "failed"
	CausedIncident   FailureKind = "incident"
)

// RecoveryItem is one failure and its recovery.
type RecoveryItem struct {
	DeploymentID string
	Kind         FailureKind
	FailedAt     time.Time // the deployment's finish
	// RecoveredAt is the next success's finish, or the last resolution of
	// the attributed incidents; zero while open.
	RecoveredAt time.Time
	// RecoveredBy is the deployment that recovered a failed deployment.
	RecoveredBy string
	Incidents   []int         // work item ids, for CausedIncident
	Span        time.Duration // clamped at 0; zero while open
}

// DORA computes the four keys over w. Deployments belong to the window by
// finish time, failures by the failed deployment's finish.
func (a *Analysis) DORA(w delivery.Window) DORA { return Set{a}.DORA(w) }

// DORA computes the four keys over w across the set's analyses.
func (s Set) DORA(w delivery.Window) DORA {
	out := DORA{Meta: s.meta(w), Window: w}
	succeeded, failures := s.deployments(w)
	var recovered []time.Duration
	n := 0
	for _, r := range succeeded {
		n += int(r.a.leadOff[r.i+1] - r.a.leadOff[r.i])
	}
	// A year holds about a million spans: the buffer is reused, not garbage.
	buf := spanBuffers.Get().(*[]time.Duration)
	defer spanBuffers.Put(buf)
	if cap(*buf) < n {
		*buf = make([]time.Duration, 0, n)
	}
	lead := (*buf)[:0]
	for _, r := range succeeded {
		for j := r.a.leadOff[r.i]; j < r.a.leadOff[r.i+1]; j++ {
			lead = append(lead, r.a.span(r.i, int(j))) // unclamped, so Summarize counts the clamps
		}
	}
	failed := 0
	for _, r := range failures {
		if r.dep().outcome == OutcomeFailure {
			failed++
		}
		recovered = r.a.recovery(r.i, &out.Recovery, recovered)
	}
	out.DeploymentFrequency = frequency(w, out.Coverage, succeeded)
	out.LeadTime.Stats = summarizeOwned(lead)
	out.LeadTime.Band = LeadTimeBand(out.LeadTime.Stats)
	out.ChangeFailureRate = failureRate(failures, len(succeeded)+failed)
	out.Recovery.Stats = Summarize(recovered)
	out.Recovery.Band = RecoveryBand(out.Recovery.Stats)
	return out
}

var spanBuffers = sync.Pool{New: func() any { return new([]time.Duration) }}

// LeadTimeItems lists the changes behind lead time in w, by deployment.
func (a *Analysis) LeadTimeItems(w delivery.Window) []LeadTimeItem { return Set{a}.LeadTimeItems(w) }

// LeadTimeItems lists the changes behind lead time in w, by deployment.
func (s Set) LeadTimeItems(w delivery.Window) []LeadTimeItem {
	succeeded, _ := s.deployments(w)
	var items []LeadTimeItem
	for _, r := range succeeded {
		for j := r.a.leadOff[r.i]; j < r.a.leadOff[r.i+1]; j++ {
			items = append(items, r.a.item(r.i, int(j)))
		}
	}
	return items
}

// leadTimeItems records the changes first deployed by deployment i: each
// merged PR whose merge commit it deployed, and each deployed commit that
// belongs to no merged PR. Commits of a PR are the PR's, never items of
// their own. Analyze calls it once per deployment; windows only concatenate.
func (a *Analysis) leadTimeItems(i int) {
	d := a.detail
	if len(d.changes[i]) == 0 {
		return
	}
	g := d.graphs[d.deps[i].RepositoryID]
	for _, n := range d.changes[i] {
		if g.deployedBy[n] != int32(i) {
			continue // deployed before, e.g. redeployed after a rollback
		}
		if p := g.prOf[n]; p >= 0 {
			pr := &a.prs[p]
			if n != d.prMerge[p] || pr.firstCommit == 0 {
				continue // a PR commit, or a PR whose commits are unknown
			}
			a.lead = append(a.lead, leadFact{from: pr.firstCommit, pr: pr.id})
			continue
		}
		sha, odd := g.sha[n], int32(0)
		if _, isOdd := g.oddSHA[n]; isOdd || sha == ([20]byte{}) {
			sha, odd = a.packSHA(g.shaString(n)) // kept as a string
		}
		a.lead = append(a.lead, leadFact{from: g.authored[n], pr: -odd, sha: sha})
	}
}

// recovery adds failure i to the recovered or open list. A failed deployment
// recovers at the next success of its repository and environment; a
// deployment with attributed incidents when the last of them is resolved.
func (a *Analysis) recovery(i int, rec *Recovery, spans []time.Duration) []time.Duration {
	d := &a.deps[i]
	item := RecoveryItem{DeploymentID: d.id, FailedAt: fromNanos(d.finished)}
	if d.outcome == OutcomeFailure {
		item.Kind = FailedDeployment
		if j := a.nextSuccess[i]; j >= 0 {
			item.RecoveredAt, item.RecoveredBy = fromNanos(a.deps[j].finished), a.deps[j].id
		}
	} else {
		item.Kind = CausedIncident
		item.RecoveredAt = a.lastResolution(i, &item)
	}
	if item.RecoveredAt.IsZero() {
		rec.Open = append(rec.Open, item)
		return spans
	}
	raw := item.RecoveredAt.Sub(item.FailedAt)
	item.Span = clamp(raw)
	rec.Items = append(rec.Items, item)
	return append(spans, raw)
}

// lastResolution returns when the last incident attributed to deployment i
// was resolved, or zero if any is still open.
func (a *Analysis) lastResolution(i int, item *RecoveryItem) time.Time {
	var last time.Time
	open := false
	for _, n := range a.attributed[i] {
		inc := a.incidents[n].Incident
		item.Incidents = append(item.Incidents, inc.WorkItemID)
		if !inc.Resolved() {
			open = true
		} else if inc.ResolvedAt.After(last) {
			last = inc.ResolvedAt
		}
	}
	if open {
		return time.Time{}
	}
	return last
}

func failureRate(failures []depRef, n int) FailureRate {
	fr := FailureRate{}
	for _, r := range failures {
		fr.Failures = append(fr.Failures, r.dep().id)
		if r.dep().outcome == OutcomeFailure {
			fr.Failed++
		} else {
			fr.WithIncident++
		}
	}
	fr.Rate = newRate(len(failures), n)
	fr.Band = ChangeFailureBand(fr.Rate)
	return fr
}
