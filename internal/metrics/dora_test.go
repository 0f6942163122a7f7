package metrics

import (
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// doraWant lists the hand-computed figures of a scenario; nil pointers mean
// "no data".
type doraWant struct {
	deployments        int
	leadN, leadClamped int
	leadMedian         *time.Duration
	cfrN, cfrFailures  int
	recoveryN, open    int
	recoveryMedian     *time.Duration
	leadBand, cfrBand  Band
	recoveryBand       Band
}

func TestDORA(t *testing.T) {
	// PR 1 (commits p1a at 2h, p1b at 3h; merge m1 at 5h) and two PR-less
	// commits c1 (0h) and d (6h), all deployed by one deployment at 10h.
	prGraph := []delivery.Commit{
		commit("r1", "c1", h(0)),
		commit("r1", "p1a", h(2), "c1"),
		commit("r1", "p1b", h(3), "p1a"),
		commit("r1", "m1", h(5), "c1", "p1b"),
		commit("r1", "d", h(6), "m1"),
	}
	pr1 := merged(1, "r1", h(4), h(5), "m1", "p1a", "p1b")
	line := chain("r1", h(0), "", "a", "b", "c", "e")
	prodEU := success("eu", "r1", "b", h(11))
	prodEU.Environment = "prod eu"
	partial := deploy("d1", "r1", "a", delivery.ResultPartiallySucceeded, h(10))
	canceled := deploy("x1", "r1", "b", delivery.ResultCanceled, h(11))
	skipped := deploy("x2", "r1", "b", delivery.ResultSkipped, h(12))
	staging := failure("x3", "r1", "b", h(13))
	staging.Environment = "staging"
	otherProject := success("o1", "r2", "z", h(10))
	otherProject.ProjectID = "p2"

	tests := []struct {
		name   string
		in     Input
		window delivery.Window
		want   doraWant
	}{
		{
			name: "lead time over a PR and PR-less commits",
			in:   Input{Commits: prGraph, PullRequests: []delivery.PullRequest{pr1}, Deployments: []delivery.Deployment{success("d1", "r1", "d", h(10))}},
			// PR 1: 10h − 2h = 8h; c1: 10h; d: 4h. Sorted 4, 8, 10.
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 3, leadMedian: dur(hours(8)), leadBand: BandElite,
				cfrN: 1, cfrBand: BandElite},
		},
		{
			name: "even count lead time median is the mean of the middle two",
			in:   Input{Commits: chain("r1", h(0), "", "a", "b"), Deployments: []delivery.Deployment{success("d1", "r1", "b", h(10))}},
			// a: 10h, b: 9h → median 9.5h.
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 2, leadMedian: dur(hours(9.5)), leadBand: BandElite,
				cfrN: 1, cfrBand: BandElite},
		},
		{
			name:   "commit authored after its deployment (clock skew) is clamped",
			in:     Input{Commits: []delivery.Commit{commit("r1", "a", h(12))}, Deployments: []delivery.Deployment{success("d1", "r1", "a", h(10))}},
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 1, leadClamped: 1, leadMedian: dur(0), leadBand: BandElite,
				cfrN: 1, cfrBand: BandElite},
		},
		{
			name:   "partiallySucceeded is a successful deployment",
			in:     Input{Commits: line, Deployments: []delivery.Deployment{partial}},
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 1, leadMedian: dur(hours(10)), leadBand: BandElite,
				cfrN: 1, cfrBand: BandElite},
		},
		{
			name:   "canceled, skipped and non-production runs are counted nowhere",
			in:     Input{Commits: line, Deployments: []delivery.Deployment{partial, canceled, skipped, staging}},
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 1, leadMedian: dur(hours(10)), leadBand: BandElite,
				cfrN: 1, cfrBand: BandElite},
		},
		{
			name: "failed deployment recovers at the next success of its environment",
			in: Input{Commits: line, Deployments: []delivery.Deployment{
				success("d0", "r1", "a", h(1)), failure("f1", "r1", "b", h(10)), prodEU, success("d2", "r1", "c", h(13)),
			}},
			// In window [5h, 24h): f1, eu (other environment), d2. CFR 1/3;
			// f1 recovers at d2, 3h later, not at eu.
			window: window(5, 24),
			want: doraWant{deployments: 2, leadN: 2, leadMedian: dur(hours(10.5)), leadBand: BandElite,
				cfrN: 3, cfrFailures: 1, cfrBand: BandLow,
				recoveryN: 1, recoveryMedian: dur(hours(3)), recoveryBand: BandHigh},
		},
		{
			name:   "failed deployment with no later success is open",
			in:     Input{Commits: line, Deployments: []delivery.Deployment{success("d0", "r1", "a", h(1)), failure("f1", "r1", "b", h(10))}},
			window: window(5, 24),
			want:   doraWant{cfrN: 1, cfrFailures: 1, cfrBand: BandLow, open: 1},
		},
		{
			name: "successful deployment with an attributed incident is a failure until it is resolved",
			in: Input{Commits: line, Deployments: []delivery.Deployment{success("d1", "r1", "a", h(10))},
				WorkItems: []delivery.WorkItem{incident(100, h(12), h(15))}},
			// Recovery runs from the deployment's finish (10h) to resolution (15h).
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 1, leadMedian: dur(hours(10)), leadBand: BandElite,
				cfrN: 1, cfrFailures: 1, cfrBand: BandLow,
				recoveryN: 1, recoveryMedian: dur(hours(5)), recoveryBand: BandHigh},
		},
		{
			name: "recovery waits for the last of several attributed incidents",
			in: Input{Commits: line, Deployments: []delivery.Deployment{success("d1", "r1", "a", h(10))},
				WorkItems: []delivery.WorkItem{incident(100, h(12), h(15)), incident(101, h(11), h(40))}},
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 1, leadMedian: dur(hours(10)), leadBand: BandElite,
				cfrN: 1, cfrFailures: 1, cfrBand: BandLow,
				recoveryN: 1, recoveryMedian: dur(hours(30)), recoveryBand: BandMedium},
		},
		{
			name: "unresolved incident is open and left out of the recovery median",
			in: Input{Commits: line, Deployments: []delivery.Deployment{success("d1", "r1", "a", h(10))},
				WorkItems: []delivery.WorkItem{incident(100, h(12), time.Time{})}},
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 1, leadMedian: dur(hours(10)), leadBand: BandElite,
				cfrN: 1, cfrFailures: 1, cfrBand: BandLow, open: 1},
		},
		{
			name: "incident outside the attribution window does not move CFR",
			in: Input{Commits: line, Deployments: []delivery.Deployment{success("d1", "r1", "a", h(10))},
				WorkItems: []delivery.WorkItem{incident(100, h(10+72).Add(time.Second), h(90))}},
			window: window(0, 24),
			want: doraWant{deployments: 1, leadN: 1, leadMedian: dur(hours(10)), leadBand: BandElite,
				cfrN: 1, cfrBand: BandElite},
		},
		{
			name:   "deployment finishing at the window's end belongs to the next window",
			in:     Input{Commits: line, Deployments: []delivery.Deployment{success("d1", "r1", "a", h(24))}},
			window: window(0, 24),
			want:   doraWant{},
		},
		{
			name:   "empty window is no data, not zero",
			in:     Input{},
			window: window(0, 24),
			want:   doraWant{},
		},
		{
			name:   "project filter",
			in:     Input{Commits: line, Deployments: []delivery.Deployment{success("d1", "r1", "a", h(10)), otherProject}},
			window: delivery.Window{From: h(0), To: h(24), Project: "p2"},
			want:   doraWant{deployments: 1, cfrN: 1, cfrBand: BandElite},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Analyze(tt.in).DORA(tt.window)
			checkDORA(t, d, tt.want)
		})
	}
}

func checkDORA(t *testing.T, d DORA, want doraWant) {
	t.Helper()
	if d.Version != "metrics-v2" || d.BandYear != 2023 {
		t.Errorf("meta = %+v", d.Meta)
	}
	if d.DeploymentFrequency.N != want.deployments {
		t.Errorf("deployments = %d, want %d", d.DeploymentFrequency.N, want.deployments)
	}
	if want.deployments == 0 && (d.DeploymentFrequency.PerDay != nil || d.DeploymentFrequency.Band != BandNone) {
		t.Errorf("no deployments must be no data, got %+v", d.DeploymentFrequency)
	}
	lt := d.LeadTime
	if lt.N != want.leadN || lt.Clamped != want.leadClamped || durOrNil(lt.Median) != durOrNil(want.leadMedian) || lt.Band != want.leadBand {
		t.Errorf("lead time n=%d clamped=%d median=%v band=%q; want n=%d clamped=%d median=%v band=%q",
			lt.N, lt.Clamped, durOrNil(lt.Median), lt.Band, want.leadN, want.leadClamped, durOrNil(want.leadMedian), want.leadBand)
	}
	cfr := d.ChangeFailureRate
	if cfr.N != want.cfrN || cfr.Count != want.cfrFailures || cfr.Band != want.cfrBand || (cfr.N == 0) != (cfr.Value == nil) {
		t.Errorf("CFR %d/%d value=%v band=%q; want %d/%d band=%q", cfr.Count, cfr.N, numOrNil(cfr.Value), cfr.Band, want.cfrFailures, want.cfrN, want.cfrBand)
	}
	rec := d.Recovery
	if rec.N != want.recoveryN || len(rec.Open) != want.open || durOrNil(rec.Median) != durOrNil(want.recoveryMedian) || rec.Band != want.recoveryBand {
		t.Errorf("recovery n=%d open=%d median=%v band=%q; want n=%d open=%d median=%v band=%q",
			rec.N, len(rec.Open), durOrNil(rec.Median), rec.Band, want.recoveryN, want.open, durOrNil(want.recoveryMedian), want.recoveryBand)
	}
}

func TestDeploymentFrequency(t *testing.T) {
	// deploysOn returns one successful deployment at noon of each given day
	// (days from t0), two on the first to check days are distinct.
	deploysOn := func(days ...int) []delivery.Deployment {
		var out []delivery.Deployment
		for i, d := range days {
			out = append(out, success("d"+string(rune('a'+i)), "r1", "", h(float64(24*d+12))))
		}
		if len(days) > 0 {
			out = append(out, success("extra", "r1", "", h(float64(24*days[0]+13))))
		}
		return out
	}
	tests := []struct {
		name            string
		deployments     []delivery.Deployment
		days            int // window [t0, t0+days)
		n, deployDays   int
		weeks, months   int
		weekly, monthly *float64
		band            Band
	}{
		{
			// 15 days: blocks [8,15) and [1,8) counted back from the end;
			// day 0 is the dropped partial block. Newest block: 5 deploy-days,
			// older block: 1 → median 3 → High.
			name:        "trailing partial week is dropped and the median taken over weeks",
			deployments: deploysOn(0, 2, 8, 9, 10, 11, 12),
			days:        15, n: 8, deployDays: 7, weeks: 2, weekly: num(3), band: BandHigh,
		},
		{
			name:        "5 deploy-days in every week is elite",
			deployments: deploysOn(0, 1, 2, 3, 4, 7, 8, 9, 10, 11),
			days:        14, n: 11, deployDays: 10, weeks: 2, weekly: num(5), band: BandElite,
		},
		{
			name:        "4 and 5 deploy-days a week is high",
			deployments: deploysOn(0, 1, 2, 3, 7, 8, 9, 10, 11),
			days:        14, n: 10, deployDays: 9, weeks: 2, weekly: num(4.5), band: BandHigh,
		},
		{
			// 60 days: 8 weeks with at most one deploy-day → weekly median 0;
			// 30-day blocks [30,60) and [0,30) with one each → Medium.
			name:        "monthly rule: a deploy-day in every 30 days is medium",
			deployments: deploysOn(5, 40),
			days:        60, n: 3, deployDays: 2, weeks: 8, months: 2, weekly: num(0), monthly: num(1), band: BandMedium,
		},
		{
			name:        "monthly rule: a deploy-day in one of two 30-day blocks is low",
			deployments: deploysOn(40),
			days:        60, n: 2, deployDays: 1, weeks: 8, months: 2, weekly: num(0), monthly: num(0.5), band: BandLow,
		},
		{
			name:        "window shorter than a week has no band",
			deployments: deploysOn(0, 1, 2),
			days:        6, n: 4, deployDays: 3, band: BandNone,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := delivery.Window{From: t0, To: t0.AddDate(0, 0, tt.days)}
			f := Analyze(Input{Deployments: tt.deployments}).DORA(w).DeploymentFrequency
			if f.N != tt.n || f.DeployDays != tt.deployDays || f.Weeks != tt.weeks || f.Months != tt.months {
				t.Errorf("n=%d deploy-days=%d weeks=%d months=%d; want %d %d %d %d", f.N, f.DeployDays, f.Weeks, f.Months, tt.n, tt.deployDays, tt.weeks, tt.months)
			}
			if numOrNil(f.WeeklyDeployDays) != numOrNil(tt.weekly) || numOrNil(f.MonthlyDeployDays) != numOrNil(tt.monthly) || f.Band != tt.band {
				t.Errorf("weekly=%v monthly=%v band=%q; want %v %v %q", numOrNil(f.WeeklyDeployDays), numOrNil(f.MonthlyDeployDays), f.Band, numOrNil(tt.weekly), numOrNil(tt.monthly), tt.band)
			}
			if want := float64(tt.n) / float64(tt.days); *f.PerDay != want {
				t.Errorf("per day = %v, want %v", *f.PerDay, want)
			}
		})
	}
}

// TestFrequencyNeverDropsWithAnotherSuccess is a property: adding a
// successful production deployment never lowers deployment frequency or
// deploy-days, whenever it finishes.
func TestFrequencyNeverDropsWithAnotherSuccess(t *testing.T) {
	w := delivery.Window{From: t0, To: t0.AddDate(0, 0, 35)}
	var deps []delivery.Deployment
	before := Analyze(Input{}).DORA(w).DeploymentFrequency
	for i := range 120 {
		at := t0.Add(time.Duration((i*7919)%(40*24)) * time.Hour).Add(-48 * time.Hour)
		deps = append(deps, success("d"+time.Duration(i).String(), "r1", "", at))
		after := Analyze(Input{Deployments: deps}).DORA(w).DeploymentFrequency
		if after.N < before.N || after.DeployDays < before.DeployDays ||
			(before.WeeklyDeployDays != nil && *after.WeeklyDeployDays < *before.WeeklyDeployDays) {
			t.Fatalf("adding a deployment at %v lowered frequency: %+v → %+v", at, before, after)
		}
		before = after
	}
}
