package prcomment

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// facts is what the comment says, gathered from stored data.
type facts struct {
	pr           store.PullRequest
	details      store.PRDetails
	size         store.PRSize
	history      []store.RepoPR // the repository's recent PRs, for comparison
	threshold    int            // files changed above which the PR is called large
	now          time.Time
	settingsPath string // where comments are turned off
}

// render writes the comment: short, useful to the reviewer, and saying
// where its numbers come from.
func render(f facts) string {
	var b strings.Builder
	b.WriteString("### PanDev Metrics — pull request summary\n\n")

	sizes := make([]float64, 0, len(f.history))
	var pickups []time.Duration
	for _, h := range f.history {
		if h.PRID == f.pr.PRID {
			continue
		}
		sizes = append(sizes, float64(h.FilesChanged))
		if h.FirstReview != nil {
			pickups = append(pickups, max(0, h.FirstReview.Sub(h.CreatedAt)))
		}
	}
	// Size.
	switch {
	case f.size.FilesChanged == 0 && f.size.Listed > 0: // GitHub lists a PR's commits without their changes
		fmt.Fprintf(&b, "- **Size:** %d commit%s (files changed not known yet).\n", f.size.Listed, plural(f.size.Listed))
	case f.size.Commits == 0:
		b.WriteString("- **Size:** not known yet (the PR's commits are still being collected).\n")
	default:
		line := fmt.Sprintf("- **Size:** %d files changed in %d commit%s", f.size.FilesChanged, f.size.Commits, plural(f.size.Commits))
		if len(sizes) > 0 {
			line += fmt.Sprintf(" (this repository's median: %s)", trimFloat(median(sizes)))
		}
		b.WriteString(line + ".\n")
		if f.threshold > 0 && f.size.FilesChanged > f.threshold {
			fmt.Fprintf(&b, "  ⚠️ Larger than %d files changed, the 90th percentile here: consider splitting it so reviews stay quick.\n", f.threshold)
		}
	}
	// Work items.
	if len(f.details.WorkItems) > 0 {
		ids := make([]string, len(f.details.WorkItems))
		for i, w := range f.details.WorkItems {
			ids[i] = fmt.Sprintf("#%d", w.ID) // Azure DevOps' container is '', a GitHub issue's its repository
			if w.Container != "" && w.Container != f.pr.RepoID {
				ids[i] = fmt.Sprintf("%s#%d", w.Container, w.ID)
			}
		}
		fmt.Fprintf(&b, "- **Work items:** %s.\n", strings.Join(ids, ", "))
	} else {
		b.WriteString("- **Work items:** ⚠️ none linked. Mention one as `#1234` in the title or description, or link it, so lead time can be measured.\n")
	}
	// Review.
	opened := f.pr.CreatedAt
	if f.pr.PublishedAt != nil {
		opened = *f.pr.PublishedAt
	}
	first := firstReview(f.pr, f.details)
	switch {
	case f.pr.Status == "completed" && f.pr.ClosedAt != nil:
		b.WriteString(cycleLine(f, opened, first))
	case first == nil:
		line := fmt.Sprintf("- **Waiting for review:** %s so far", human(f.now.Sub(opened)))
		if len(pickups) > 0 {
			line += fmt.Sprintf(" (this repository's median pickup: %s)", human(medianDuration(pickups)))
		}
		b.WriteString(line + ".\n")
	default:
		fmt.Fprintf(&b, "- **Picked up** after %s.\n", human(max(0, first.Sub(opened))))
	}
	fmt.Fprintf(&b, "\n<sub>Computed by PanDev Metrics from this repository's last 90 days of pull requests, "+
		"updated as the PR changes. Admins can turn these comments off under %s.</sub>\n", f.settingsPath)
	return b.String()
}

// cycleLine is the breakdown of a completed PR.
func cycleLine(f facts, opened time.Time, first *time.Time) string {
	merged := *f.pr.ClosedAt
	firstCommit := firstCommitTime(f)
	var parts []string
	if firstCommit != nil {
		parts = append(parts, "coding "+human(max(0, opened.Sub(*firstCommit))))
	}
	if first != nil {
		parts = append(parts, "pickup "+human(max(0, first.Sub(opened))), "review "+human(max(0, merged.Sub(*first))))
	} else {
		parts = append(parts, "merged without review")
	}
	start := opened
	if firstCommit != nil {
		start = *firstCommit
	}
	return fmt.Sprintf("- **Cycle time:** %s (%s).\n", human(max(0, merged.Sub(start))), strings.Join(parts, ", "))
}

func firstCommitTime(f facts) *time.Time { return f.size.FirstCommitAt }

// firstReview is the first comment or vote by someone other than the author.
func firstReview(pr store.PullRequest, d store.PRDetails) *time.Time {
	var first *time.Time
	take := func(t time.Time) {
		if first == nil || t.Before(*first) {
			first = &t
		}
	}
	for _, c := range d.Comments {
		if !c.IsSystem && c.AuthorID != pr.AuthorID && !c.IsDeleted {
			take(c.PublishedAt)
		}
	}
	for _, r := range d.Reviewers {
		if r.Vote != 0 && r.VotedAt != nil && r.ReviewerID != pr.AuthorID {
			take(*r.VotedAt)
		}
	}
	return first
}

// p90 is the 90th percentile of files changed (nearest rank), or 0.
func p90(history []store.RepoPR) int {
	if len(history) < 5 { // too few to call anything large
		return 0
	}
	sizes := make([]int, len(history))
	for i, h := range history {
		sizes[i] = h.FilesChanged
	}
	sort.Ints(sizes)
	idx := (len(sizes)*9+9)/10 - 1
	return sizes[idx]
}

func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func medianDuration(d []time.Duration) time.Duration {
	v := make([]float64, len(d))
	for i, x := range d {
		v[i] = float64(x)
	}
	return time.Duration(median(v))
}

// human writes a duration the way a reviewer reads it.
func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

func trimFloat(f float64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
