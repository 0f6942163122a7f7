package metrics

import (
	"encoding/hex"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// The compact forms of the facts a window reads. A year of a large
// organization holds about a million lead time items and a few hundred
// thousand PRs; as structs of strings and time.Time they cost hundreds of
// megabytes, packed about thirty bytes each.

// leadFact is one lead time item of a deployment (implied by its position):
// a merged PR (pr > 0), or a commit without PR whose SHA is packed in sha
// (pr == 0) or, when it is not 40 hex digits, is odd[-pr-1] (pr < 0).
type leadFact struct {
	from int64 // the first commit's authored time, Unix ns
	pr   int32
	sha  [20]byte
}

// depFact is a counted production deployment packed: names index
// Analysis.names, times are Unix ns.
type depFact struct {
	id                                 string
	finished, started                  int64
	project, repo, env, source, result int32
	shaOdd                             int32
	sha                                [20]byte
	outcome                            Outcome
}

func (a *Analysis) depFact(d delivery.Deployment) depFact {
	f := depFact{id: d.ID, finished: nanos(d.FinishedAt), started: nanos(d.StartedAt),
		project: a.name(d.ProjectID), repo: a.name(d.RepositoryID), env: a.name(d.Environment),
		source: a.name(string(d.Source)), result: a.name(string(d.Result)), outcome: OutcomeOf(d.Result)}
	f.sha, f.shaOdd = a.packSHA(d.SHA)
	return f
}

// deployment expands deployment i.
func (a *Analysis) deployment(i int) delivery.Deployment {
	d := &a.deps[i]
	return delivery.Deployment{ID: d.id, Source: delivery.DeploymentSource(a.names[d.source]), ProjectID: a.names[d.project],
		RepositoryID: a.names[d.repo], Environment: a.names[d.env], Production: true, Result: delivery.Result(a.names[d.result]),
		StartedAt: fromNanos(d.started), FinishedAt: fromNanos(d.finished), SHA: a.unpackSHA(d.sha, d.shaOdd)}
}

// prFact is PRFacts packed: times are Unix ns (0 = none), names index
// Analysis.names, dep the deploying deployment or -1.
type prFact struct {
	id, project, repo, author                          int32
	firstCommit, opened, firstReview, merged, deployed int64
	dep                                                int32
	files, comments, reviewers, approvals              int32
	reviewed, linked                                   bool
}

// packSHA packs a SHA of 40 lowercase hex digits, as Git writes them, into
// 20 bytes (odd 0); "" is all zeros. Any other string is kept in a.odd and
// odd is its index + 1.
func (a *Analysis) packSHA(s string) (b [20]byte, odd int32) {
	if s == "" {
		return b, 0
	}
	if b, ok := packHex(s); ok && b != ([20]byte{}) {
		return b, 0
	}
	a.odd = append(a.odd, s)
	return [20]byte{}, int32(len(a.odd))
}

func isLowerHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (a *Analysis) unpackSHA(b [20]byte, odd int32) string {
	switch {
	case odd > 0:
		return a.odd[odd-1]
	case b == [20]byte{}:
		return ""
	}
	return hex.EncodeToString(b[:])
}

// nanos is t in Unix ns, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is nanos' inverse, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// commitSHA is the commit SHA of a PR-less lead item.
func (a *Analysis) commitSHA(l leadFact) string {
	if l.pr > 0 {
		return ""
	}
	return a.unpackSHA(l.sha, -l.pr)
}

// item expands lead item j of deployment i.
func (a *Analysis) item(i int, j int) LeadTimeItem {
	d, l := a.deps[i], a.lead[j]
	it := LeadTimeItem{RepositoryID: a.names[d.repo], DeploymentID: d.id, From: fromNanos(l.from), To: fromNanos(d.finished),
		CommitSHA: a.commitSHA(l)}
	if l.pr > 0 {
		it.PullRequestID = int(l.pr)
	}
	it.Span = clamp(it.To.Sub(it.From))
	return it
}

// span is lead item j of deployment i's span, unclamped.
func (a *Analysis) span(i, j int) time.Duration {
	return time.Duration(a.deps[i].finished - a.lead[j].from)
}

// facts expands PR fact p.
func (a *Analysis) facts(p *prFact) PRFacts {
	f := PRFacts{
		ID: int(p.id), ProjectID: a.names[p.project], RepositoryID: a.names[p.repo],
		FirstCommitAt: fromNanos(p.firstCommit), OpenedAt: fromNanos(p.opened), FirstReviewAt: fromNanos(p.firstReview),
		MergedAt: fromNanos(p.merged), DeployedAt: fromNanos(p.deployed),
		Reviewed: p.reviewed, FilesChanged: int(p.files), Comments: int(p.comments), Reviewers: int(p.reviewers),
		Approvals: int(p.approvals), WorkItemLinked: p.linked,
	}
	if p.dep >= 0 {
		f.DeploymentID = a.deps[p.dep].id
	}
	spans, ok := p.rawPhases()
	for ph, dst := range []**time.Duration{&f.Coding, &f.Pickup, &f.Review, &f.Deploy, &f.Cycle} {
		if ok[ph] {
			*dst = new(clamp(spans[ph]))
		}
	}
	return f
}

// rawPhases returns the unclamped phase spans and which of them apply.
func (p *prFact) rawPhases() (spans [phases]time.Duration, ok [phases]bool) {
	for ph := range phases {
		spans[ph], ok[ph] = p.phaseSpan(ph)
	}
	return spans, ok
}

// phaseSpan is one phase's unclamped span, if it applies: both its ends
// are known.
func (p *prFact) phaseSpan(ph phase) (time.Duration, bool) {
	var from, to int64
	switch ph {
	case phaseCoding:
		from, to = p.firstCommit, p.opened
	case phasePickup:
		from, to = p.opened, p.firstReview
	case phaseReview:
		from, to = p.firstReview, p.merged
	case phaseDeploy:
		from, to = p.merged, p.deployed
	case phaseCycle:
		from, to = p.firstCommit, p.merged
	}
	return time.Duration(to - from), from != 0 && to != 0
}
