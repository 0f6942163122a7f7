package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// benchInput is a year of 10 repositories: 100k commits (a merge every
// fifth commit), 20k merged PRs and 10k production deployments, one every
// ten commits, about one in twenty failing, plus 200 incidents.
func benchInput() Input {
	const repos, perRepo = 10, 10_000
	var in Input
	start := t0.AddDate(-1, 0, 0)
	step := 365 * 24 * time.Hour / perRepo
	for r := range repos {
		repo := fmt.Sprintf("r%d", r)
		sha := func(i int) string { return fmt.Sprintf("%s-%d", repo, i) }
		for i := range perRepo {
			at := start.Add(time.Duration(i) * step)
			var parents []string
			if i > 0 {
				parents = []string{sha(i - 1)}
			}
			if i%5 == 4 && i >= 3 {
				parents = append(parents, sha(i-3)) // merge of a short branch
			}
			in.Commits = append(in.Commits, delivery.Commit{RepositoryID: repo, SHA: sha(i), Parents: parents, AuthoredAt: at,
				Message: fmt.Sprintf("change #%d", i%300), Changes: delivery.ChangeCounts{Edited: 2}})
			if i%5 == 4 {
				in.PullRequests = append(in.PullRequests, delivery.PullRequest{
					ID: i, ProjectID: "p1", RepositoryID: repo, Status: delivery.PRCompleted, Author: "a",
					CreatedAt: at.Add(-time.Hour), ClosedAt: at, MergeCommitSHA: sha(i), CommitSHAs: []string{sha(i - 1), sha(i - 2)},
					Comments: []delivery.Comment{{Author: "b", At: at.Add(-30 * time.Minute)}},
				})
			}
			if i%10 == 9 {
				d := success(fmt.Sprintf("%s/%d", repo, i), repo, sha(i), at.Add(2*time.Hour))
				if i%200 == 199 {
					d.Result = delivery.ResultFailed
				}
				in.Deployments = append(in.Deployments, d)
			}
		}
	}
	for i := range 200 {
		in.WorkItems = append(in.WorkItems, incident(i+1, start.Add(time.Duration(i)*40*time.Hour), start.Add(time.Duration(i)*40*time.Hour+3*time.Hour)))
	}
	for i := 201; i < 300; i++ {
		in.WorkItems = append(in.WorkItems, delivery.WorkItem{ID: i, ProjectID: "p1", Type: "User Story", CreatedAt: start})
	}
	return in
}

func BenchmarkAnalyze(b *testing.B) {
	in := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		Analyze(in)
	}
}

func BenchmarkDORAYear(b *testing.B) {
	a := Analyze(benchInput())
	w := delivery.Window{From: t0.AddDate(-1, 0, 0), To: t0.AddDate(0, 0, 1)}
	if d := a.DORA(w); d.DeploymentFrequency.N < 9000 || d.LeadTime.N < 50_000 {
		b.Fatalf("scenario too small: %d deployments, %d lead time items", d.DeploymentFrequency.N, d.LeadTime.N)
	}
	b.ReportAllocs()
	for b.Loop() {
		a.DORA(w)
	}
}

func BenchmarkPullRequestsYear(b *testing.B) {
	a := Analyze(benchInput())
	w := delivery.Window{From: t0.AddDate(-1, 0, 0), To: t0.AddDate(0, 0, 1)}
	b.ReportAllocs()
	for b.Loop() {
		a.PullRequests(w)
	}
}

func BenchmarkSeriesWeekly(b *testing.B) {
	a := Analyze(benchInput())
	w := delivery.Window{From: t0.AddDate(-1, 0, 0), To: t0.AddDate(0, 0, 1)}
	b.ReportAllocs()
	for b.Loop() {
		a.Series(w, Week)
	}
}
