package metrics

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestGolden computes every figure over a realistic five-week scenario and
// compares a readable report with testdata/realistic.golden. Run
// `go test ./internal/metrics -run TestGolden -update` after an intended
// change and review the diff like code.
func TestGolden(t *testing.T) {
	a := Analyze(realisticScenario())
	all := delivery.Window{From: t0, To: t0.AddDate(0, 0, 35)}
	shop := all
	shop.Project = "shop"
	web := shop
	web.Repository = "web"

	var b bytes.Buffer
	for _, w := range []delivery.Window{all, shop, web} {
		writeDORA(&b, a.DORA(w))
		writeFlow(&b, a.PullRequests(w))
	}
	writeWorkItems(&b, a.WorkItems(all, WorkItemFilter{}))
	writeWorkItems(&b, a.WorkItems(all, WorkItemFilter{AreaPath: `Shop\Web`, Types: []string{"User Story"}}))
	writeIncidents(&b, a.Incidents(all))
	writeSeries(&b, a.Series(shop, Week))

	path := filepath.Join("testdata", "realistic.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("report differs from %s (run with -update and review the diff):\n%s", path, lineDiff(string(want), got))
	}
}

// realisticScenario is five weeks of two projects: shop (repositories web
// and api, YAML environments and a classic release) and data (repository
// etl, deployed by a build rule). Weekdays bring two PRs per repository,
// every fifth merged without review, and one PR-less hotfix on Fridays.
func realisticScenario() Input {
	in := Input{CollectedSince: t0.AddDate(0, 0, -30)}
	repos := []struct{ project, repo, area string }{{"shop", "web", `Shop\Web`}, {"shop", "api", `Shop\Api`}, {"data", "etl", `Data`}}
	head := map[string]string{}
	nextItem, nextPR := 1000, 1
	for _, r := range repos {
		base := r.repo + "-root"
		in.Commits = append(in.Commits, commit(r.repo, base, t0.AddDate(0, 0, -60))) // before onboarding
		head[r.repo] = base
	}
	for day := range 35 {
		date := t0.AddDate(0, 0, day)
		if date.Weekday() == time.Saturday || date.Weekday() == time.Sunday {
			continue
		}
		for ri, r := range repos {
			for k := range 2 {
				at := func(hour float64) time.Time { return date.Add(hours(hour + float64(2*k+ri))) }
				c1 := fmt.Sprintf("%s-%d-%d-a", r.repo, day, k)
				c2 := fmt.Sprintf("%s-%d-%d-b", r.repo, day, k)
				m := fmt.Sprintf("%s-%d-%d-m", r.repo, day, k)
				in.Commits = append(in.Commits,
					delivery.Commit{RepositoryID: r.repo, SHA: c1, Parents: []string{head[r.repo]}, AuthoredAt: at(-20), Message: "wip", Changes: delivery.ChangeCounts{Edited: 2 + k}},
					delivery.Commit{RepositoryID: r.repo, SHA: c2, Parents: []string{c1}, AuthoredAt: at(1), Changes: delivery.ChangeCounts{Added: 1}},
					delivery.Commit{RepositoryID: r.repo, SHA: m, Parents: []string{head[r.repo], c2}, AuthoredAt: at(4)},
				)
				head[r.repo] = m
				pr := delivery.PullRequest{
					ID: nextPR, ProjectID: r.project, RepositoryID: r.repo, Status: delivery.PRCompleted, Author: "dev" + r.repo,
					CreatedAt: at(1.5), ClosedAt: at(4), MergeCommitSHA: m, CommitSHAs: []string{c1, c2},
					Title: fmt.Sprintf("Change %d", nextPR),
				}
				if nextPR%5 != 0 {
					pr.Comments = []delivery.Comment{{Author: "rev", At: at(2.5)}, {Author: pr.Author, At: at(3)}, {Author: "bot", At: at(2), System: true}}
					pr.Reviewers = []delivery.Reviewer{{ID: "rev", Vote: delivery.VoteApproved, VotedAt: at(3.5)}}
				}
				if nextPR%3 == 0 {
					pr.IsDraft, pr.CreatedAt, pr.PublishedAt = false, at(0), at(1.5)
				}
				if nextPR%2 == 0 {
					pr.WorkItemIDs = []int{nextItem}
				} else if nextPR%4 == 1 {
					pr.Description = fmt.Sprintf("Implements #%d", nextItem)
				}
				in.WorkItems = append(in.WorkItems, delivery.WorkItem{
					ID: nextItem, ProjectID: r.project, Type: []string{"User Story", "Bug"}[nextItem%2], AreaPath: r.area,
					CreatedAt: date.AddDate(0, 0, -2),
				})
				in.PullRequests = append(in.PullRequests, pr)
				nextPR++
				nextItem++
			}
			if date.Weekday() == time.Friday {
				fix := fmt.Sprintf("%s-%d-hotfix", r.repo, day)
				in.Commits = append(in.Commits, delivery.Commit{RepositoryID: r.repo, SHA: fix, Parents: []string{head[r.repo]}, AuthoredAt: date.Add(hours(12)), Message: "hotfix"})
				head[r.repo] = fix
			}
		}
		in.Deployments = append(in.Deployments, realisticDeployments(day, date, head)...)
	}
	in.WorkItems = append(in.WorkItems,
		delivery.WorkItem{ID: 1, ProjectID: "shop", Type: "Incident", Title: "checkout down", CreatedAt: t0.AddDate(0, 0, 2).Add(hours(19)), ResolvedAt: t0.AddDate(0, 0, 2).Add(hours(20.5))},
		delivery.WorkItem{ID: 2, ProjectID: "shop", Type: "Bug", Tags: []string{"incident"}, Title: "slow search", CreatedAt: t0.AddDate(0, 0, 16).Add(hours(21)), ClosedAt: t0.AddDate(0, 0, 18)},
		delivery.WorkItem{ID: 3, ProjectID: "shop", Type: "Incident", Title: "payments flaky", CreatedAt: t0.AddDate(0, 0, 30).Add(hours(20))},
		delivery.WorkItem{ID: 4, ProjectID: "data", Type: "Incident", Title: "etl stuck", CreatedAt: t0.AddDate(0, 0, 20)},
	)
	return in
}

// realisticDeployments: web goes to prod every weekday at 18h (failing on
// day 9, fixed the next day) and to staging before; api deploys on Tuesdays
// and Thursdays through a classic release, with a canceled run and a skipped
// production stage on day 15; etl ships on Wednesdays by a build rule.
func realisticDeployments(day int, date time.Time, head map[string]string) []delivery.Deployment {
	at := func(hour float64) time.Time { return date.Add(hours(hour)) }
	id := func(repo, env string) string { return fmt.Sprintf("%s/%d/%s", repo, day, env) }
	mk := func(repo, project, env string, src delivery.DeploymentSource, r delivery.Result, finish time.Time) delivery.Deployment {
		return delivery.Deployment{ID: id(repo, env), Source: src, ProjectID: project, RepositoryID: repo, Environment: env,
			Result: r, StartedAt: finish.Add(-15 * time.Minute), FinishedAt: finish, SHA: head[repo]}
	}
	webResult := delivery.ResultSucceeded
	if day == 9 {
		webResult = delivery.ResultFailed
	}
	out := []delivery.Deployment{
		mk("web", "shop", "staging", delivery.SourceEnvironment, delivery.ResultSucceeded, at(17)),
		mk("web", "shop", "production", delivery.SourceEnvironment, webResult, at(18)),
	}
	switch date.Weekday() {
	case time.Tuesday, time.Thursday:
		r := delivery.ResultSucceeded
		if day == 15 {
			r = delivery.ResultSkipped
			out = append(out, mk("api", "shop", "canceled", delivery.SourceEnvironment, delivery.ResultCanceled, at(18)))
		}
		if day == 22 {
			r = delivery.ResultPartiallySucceeded
		}
		out = append(out, mk("api", "shop", "Prod", delivery.SourceRelease, r, at(19)))
	case time.Wednesday:
		d := mk("etl", "data", "", delivery.SourceBuildRule, delivery.ResultSucceeded, at(20))
		d.Pipeline, d.Stages = "etl-ci", []string{"Build", "Deploy production"}
		out = append(out, d)
	}
	return out
}

func writeDORA(b *bytes.Buffer, d DORA) {
	fmt.Fprintf(b, "== DORA %s (%s, bands %d)\n", windowName(d.Window), d.Version, d.BandYear)
	fmt.Fprintf(b, "coverage: %.3f since %s complete from %s\n", d.Coverage.Share, d.Coverage.Since.Format(time.RFC3339),
		d.Coverage.Complete.Format(time.RFC3339))
	f := d.DeploymentFrequency
	fmt.Fprintf(b, "deployment frequency: n=%d per-week=%s deploy-days=%d weekly-median=%s over %d weeks, monthly-median=%s over %d months, band=%s\n",
		f.N, fnum(f.PerWeek), f.DeployDays, fnum(f.WeeklyDeployDays), f.Weeks, fnum(f.MonthlyDeployDays), f.Months, band(f.Band))
	fmt.Fprintf(b, "lead time: %s band=%s\n", fstats(d.LeadTime.Stats), band(d.LeadTime.Band))
	c := d.ChangeFailureRate
	fmt.Fprintf(b, "change failure rate: %d/%d = %s (failed %d, with incident %d) band=%s failures=%v\n",
		c.Count, c.N, fnum(c.Value), c.Failed, c.WithIncident, band(c.Band), c.Failures)
	fmt.Fprintf(b, "recovery: %s band=%s\n", fstats(d.Recovery.Stats), band(d.Recovery.Band))
	for _, r := range d.Recovery.Items {
		fmt.Fprintf(b, "  recovered %s %s after %v (by %s%v)\n", r.Kind, r.DeploymentID, r.Span, r.RecoveredBy, r.Incidents)
	}
	for _, r := range d.Recovery.Open {
		fmt.Fprintf(b, "  open %s %s since %s %v\n", r.Kind, r.DeploymentID, r.FailedAt.Format(time.RFC3339), r.Incidents)
	}
}

func writeFlow(b *bytes.Buffer, f PRFlow) {
	fmt.Fprintf(b, "== PR flow %s: merged=%d without-review=%d linked=%d/%d\n", windowName(f.Window), f.Merged, f.MergedWithoutReview, f.WorkItemLinked.Count, f.WorkItemLinked.N)
	for _, p := range []struct {
		name string
		s    Stats
	}{{"coding", f.Coding}, {"pickup", f.Pickup}, {"review", f.Review}, {"deploy", f.Deploy}, {"cycle", f.Cycle}} {
		fmt.Fprintf(b, "%s: %s\n", p.name, fstats(p.s))
	}
	for _, c := range []struct {
		name string
		s    CountStats
	}{{"size", f.Size}, {"comments", f.Comments}, {"reviewers", f.Reviewers}, {"approvals", f.Approvals}} {
		fmt.Fprintf(b, "%s: n=%d total=%d median=%s p90=%s\n", c.name, c.s.N, c.s.Total, fnum(c.s.Median), fnum(c.s.P90))
	}
}

func writeWorkItems(b *bytes.Buffer, w WorkItemLeadTime) {
	fmt.Fprintf(b, "== work items %s %+v: %s\n", windowName(w.Window), w.Filter, fstats(w.LeadTime))
}

func writeIncidents(b *bytes.Buffer, in Incidents) {
	fmt.Fprintf(b, "== incidents %s\n", windowName(in.Window))
	for _, at := range append(in.Attributed, in.Unattributed...) {
		fmt.Fprintf(b, "#%d %q → %q %s\n", at.Incident.WorkItemID, at.Incident.Title, at.DeploymentID, at.Reason)
	}
}

func writeSeries(b *bytes.Buffer, s Series) {
	fmt.Fprintf(b, "== series %s by %s\n", windowName(s.Window), s.Interval)
	for _, p := range s.Points {
		fmt.Fprintf(b, "%s deployments=%d deploy-days=%d lead=%s cfr=%d/%d recovery=%s\n", p.Start.Format("2006-01-02"),
			p.Deployments, p.DeployDays, fdur(p.LeadTime.Median), p.ChangeFailureRate.Count, p.ChangeFailureRate.N, fdur(p.Recovery.Median))
	}
}

func windowName(w delivery.Window) string {
	return fmt.Sprintf("[%s, %s) project=%q repository=%q", w.From.Format("2006-01-02"), w.To.Format("2006-01-02"), w.Project, w.Repository)
}

func fstats(s Stats) string {
	if s.NoData() {
		return "no data"
	}
	return fmt.Sprintf("n=%d median=%v p75=%v p90=%v clamped=%d", s.N, *s.Median, *s.P75, *s.P90, s.Clamped)
}

func fdur(d *time.Duration) string {
	if d == nil {
		return "-"
	}
	return d.String()
}

func fnum(f *float64) string {
	if f == nil {
		return "no data"
	}
	return fmt.Sprintf("%.4g", *f)
}

func band(b Band) string {
	if b == BandNone {
		return "none"
	}
	return string(b)
}

// lineDiff shows the first differing lines, enough to find the change.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&out, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return out.String()
}
