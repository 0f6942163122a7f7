package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// dailyDeployments is a production deployment of project p each day at noon
// from day first to day last (days from t0), in repository repo.
func dailyDeployments(project, repo string, first, last int) []delivery.Deployment {
	var out []delivery.Deployment
	for d := first; d <= last; d++ {
		dep := success(repo+"-"+time.Duration(d).String(), repo, "", t0.AddDate(0, 0, d).Add(12*time.Hour))
		dep.ProjectID = project
		out = append(out, dep)
	}
	return out
}

// projectSet analyzes each input as one project with its collected-since.
func projectSet(ins ...Input) Set {
	var s Set
	for _, in := range ins {
		b := NewProjectBuilder(in)
		b.AddRepository(in.Commits, in.PullRequests, in.Deployments)
		s = append(s, b.Finish()...)
	}
	return s
}

// TestCoverage walks METRICS.md "Coverage": figures over the covered part
// of the window, rates and bands over covered days, and the share.
func TestCoverage(t *testing.T) {
	day := 24 * time.Hour
	// Collected since day 20; deployments every day since (the backfill
	// saw nothing before). Window: 60 days.
	since := t0.AddDate(0, 0, 20)
	p1 := Input{Project: "p1", CollectedSince: since, Deployments: dailyDeployments("p1", "r1", 20, 59)}
	w := delivery.Window{From: t0, To: t0.AddDate(0, 0, 60)}

	t.Run("one project collected for part of the window", func(t *testing.T) {
		d := projectSet(p1).DORA(w)
		c := d.Coverage
		if math.Abs(c.Share-40.0/60) > 1e-9 || !c.Since.Equal(since) || !c.Complete.Equal(since) {
			t.Fatalf("coverage = %+v, want share 2/3 since and complete from %s", c, since)
		}
		f := d.DeploymentFrequency
		// 40 deployments over the 40 covered days: one a day, seven a
		// week (a whole-window rate would say 4.67).
		if f.N != 40 || math.Abs(*f.PerDay-1) > 1e-9 || math.Abs(*f.PerWeek-7) > 1e-9 {
			t.Fatalf("frequency n=%d per day %v per week %v, want 40, 1, 7", f.N, *f.PerDay, *f.PerWeek)
		}
		// Blocks of 7 days counted back from the end within the covered 40
		// days: 5 whole weeks, each with 7 deploy-days; 1 block of 30 days.
		if f.Weeks != 5 || *f.WeeklyDeployDays != 7 || f.Months != 1 || *f.MonthlyDeployDays != 30 || f.Band != BandElite {
			t.Fatalf("blocks: %d weeks median %v, %d months median %v, band %s", f.Weeks, *f.WeeklyDeployDays, f.Months,
				*f.MonthlyDeployDays, f.Band)
		}
	})

	t.Run("a two-year window does not turn Elite into Low", func(t *testing.T) {
		long := delivery.Window{From: t0.AddDate(-2, 0, 60), To: t0.AddDate(0, 0, 60)}
		d := projectSet(p1).DORA(long)
		f := d.DeploymentFrequency
		if f.Band != BandElite || f.Weeks != 5 || math.Abs(*f.PerWeek-7) > 1e-9 {
			t.Fatalf("two years: band %s over %d weeks, %v a week; want elite over the 5 covered weeks, 7 a week", f.Band, f.Weeks, *f.PerWeek)
		}
		if want := 40 * day; d.Coverage.covered(long).Round(time.Second) != want {
			t.Fatalf("covered %s, want %s", d.Coverage.covered(long), want)
		}
	})

	t.Run("a window before collection has no coverage and no data", func(t *testing.T) {
		before := delivery.Window{From: t0, To: since}
		d := projectSet(p1).DORA(before)
		if d.Coverage.Share != 0 || d.DeploymentFrequency.N != 0 || d.Coverage.Whole() {
			t.Fatalf("before collection: %+v, n=%d", d.Coverage, d.DeploymentFrequency.N)
		}
	})

	t.Run("items before collected-since are not counted", func(t *testing.T) {
		// A deployment stored by some other path before collected-since
		// (an earlier event) is outside the covered part.
		early := p1
		early.Deployments = append(dailyDeployments("p1", "r1", 5, 5), p1.Deployments...)
		if n := projectSet(early).DORA(w).DeploymentFrequency.N; n != 40 {
			t.Fatalf("n = %d, want 40: the day-5 deployment precedes collection", n)
		}
	})

	t.Run("several projects each count from their own collected-since", func(t *testing.T) {
		// p2 was collected from the window's start and deploys daily too.
		p2 := Input{Project: "p2", CollectedSince: t0.AddDate(0, 0, -30), Deployments: dailyDeployments("p2", "r2", 0, 59)}
		s := projectSet(p1, p2)
		d := s.DORA(w)
		c := d.Coverage
		// Shares 2/3 and 1: mean 5/6; every project covered from day 20.
		if math.Abs(c.Share-5.0/6) > 1e-9 || !c.Since.Equal(p2.CollectedSince) || !c.Complete.Equal(since) {
			t.Fatalf("coverage = %+v", c)
		}
		// 100 deployments over 50 covered project-days on average: two a
		// day, as the two projects deploy.
		f := d.DeploymentFrequency
		if f.N != 100 || math.Abs(*f.PerDay-2) > 1e-9 {
			t.Fatalf("n=%d per day %v, want 100 and 2", f.N, *f.PerDay)
		}
		// The project filter takes that project's coverage alone.
		only := w
		only.Project = "p2"
		if c := s.Coverage(only); c.Share != 1 || !c.Complete.Equal(w.From) {
			t.Fatalf("p2 alone: %+v", c)
		}
	})

	t.Run("PR flow, work items, incidents and series carry coverage", func(t *testing.T) {
		s := projectSet(p1)
		if c := s.PullRequests(w).Coverage; math.Abs(c.Share-2.0/3) > 1e-9 {
			t.Fatalf("PR flow coverage %+v", c)
		}
		if c := s.WorkItems(w, WorkItemFilter{}).Coverage; math.Abs(c.Share-2.0/3) > 1e-9 {
			t.Fatalf("work items coverage %+v", c)
		}
		if c := s.Incidents(w).Coverage; math.Abs(c.Share-2.0/3) > 1e-9 {
			t.Fatalf("incidents coverage %+v", c)
		}
		pts := s.Series(w, Week).Points
		first, last := pts[0], pts[len(pts)-1]
		if first.Coverage.Share != 0 || last.Coverage.Share != 1 {
			t.Fatalf("series coverage: first week %v, last %v; want 0 and 1", first.Coverage.Share, last.Coverage.Share)
		}
	})

	t.Run("an empty set covers nothing", func(t *testing.T) {
		if c := (Set{}).Coverage(w); c.Share != 0 || c.Whole() {
			t.Fatalf("empty set coverage %+v", c)
		}
	})
}
