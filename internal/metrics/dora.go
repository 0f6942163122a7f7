package metrics

import (
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
	// Deployments are the ids behind the count, by finish time.
	Deployments []string
}

// LeadTime is lead time for changes over the PRs and PR-less commits
// deployed in the window.
type LeadTime struct {
	Stats
	Band  Band
	Items []LeadTimeItem
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
func (a *Analysis) DORA(w delivery.Window) DORA {
	out := DORA{Meta: meta(), Window: w}
	lo, hi := a.inWindow(w)
	var succeeded, failures []int
	var recovered []time.Duration
	// Size the lead time slices up front: a year holds ~10⁵ items, and
	// growing slices of structs by doubling dominated the run time.
	changes := 0
	for i := lo; i < hi; i++ {
		changes += len(a.lead[i])
	}
	lead := make([]time.Duration, 0, changes)
	out.LeadTime.Items = make([]LeadTimeItem, 0, changes)
	for i := lo; i < hi; i++ {
		d := a.deps[i]
		if !w.Matches(d.ProjectID, d.RepositoryID) {
			continue
		}
		if OutcomeOf(d.Result) == OutcomeSuccess {
			succeeded = append(succeeded, i)
			for _, item := range a.lead[i] {
				lead = append(lead, item.To.Sub(item.From)) // unclamped, so Summarize counts the clamps
			}
			out.LeadTime.Items = append(out.LeadTime.Items, a.lead[i]...)
		}
		if OutcomeOf(d.Result) == OutcomeFailure || len(a.attributed[i]) > 0 {
			failures = append(failures, i)
			recovered = a.recovery(i, &out.Recovery, recovered)
		}
	}
	out.DeploymentFrequency = a.frequency(w, succeeded)
	out.LeadTime.Stats = Summarize(lead)
	out.LeadTime.Band = LeadTimeBand(out.LeadTime.Stats)
	out.ChangeFailureRate = a.failureRate(failures, len(succeeded)+countFailed(a.deps, failures))
	out.Recovery.Stats = Summarize(recovered)
	out.Recovery.Band = RecoveryBand(out.Recovery.Stats)
	return out
}

func countFailed(deps []delivery.Deployment, failures []int) int {
	n := 0
	for _, i := range failures {
		if OutcomeOf(deps[i].Result) == OutcomeFailure {
			n++
		}
	}
	return n
}

// leadTimeItems lists the changes first deployed by deployment i: each
// merged PR whose merge commit it deployed, and each deployed commit that
// belongs to no merged PR. Commits of a PR are the PR's, never items of
// their own. Analyze calls it once per deployment; windows only concatenate.
func (a *Analysis) leadTimeItems(i int) []LeadTimeItem {
	d := a.deps[i]
	var items []LeadTimeItem
	for _, k := range a.changes[i] {
		if a.deployedBy[k] != i {
			continue // deployed before, e.g. redeployed after a rollback
		}
		item := LeadTimeItem{RepositoryID: d.RepositoryID, DeploymentID: d.ID, To: d.FinishedAt}
		if p, ok := a.prOfCommit[k]; ok {
			pr := a.prs[p]
			if k.sha != pr.MergeCommitSHA || pr.FirstCommitAt.IsZero() {
				continue // a PR commit, or a PR whose commits are unknown
			}
			item.PullRequestID, item.From = pr.ID, pr.FirstCommitAt
		} else {
			item.CommitSHA, item.From = k.sha, a.commits[k].AuthoredAt
		}
		item.Span = clamp(item.To.Sub(item.From))
		items = append(items, item)
	}
	return items
}

// recovery adds failure i to the recovered or open list. A failed deployment
// recovers at the next success of its repository and environment; a
// deployment with attributed incidents when the last of them is resolved.
func (a *Analysis) recovery(i int, rec *Recovery, spans []time.Duration) []time.Duration {
	d := a.deps[i]
	item := RecoveryItem{DeploymentID: d.ID, FailedAt: d.FinishedAt}
	if OutcomeOf(d.Result) == OutcomeFailure {
		item.Kind = FailedDeployment
		if j := a.nextSuccess[i]; j >= 0 {
			item.RecoveredAt, item.RecoveredBy = a.deps[j].FinishedAt, a.deps[j].ID
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

func (a *Analysis) failureRate(failures []int, n int) FailureRate {
	fr := FailureRate{}
	for _, i := range failures {
		fr.Failures = append(fr.Failures, a.deps[i].ID)
		if OutcomeOf(a.deps[i].Result) == OutcomeFailure {
			fr.Failed++
		} else {
			fr.WithIncident++
		}
	}
	fr.Rate = newRate(len(failures), n)
	fr.Band = ChangeFailureBand(fr.Rate)
	return fr
}
