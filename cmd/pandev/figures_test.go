package main

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TestFiguresEqualTruth is the end-to-end comparison of #15: a server
// connected with the manual's four-scope PAT to every project of the
// simulator, on both engines. After the backfill, after live activity
// delivered by service hooks (a failed production deployment, a push, a PR
// completion, the recovering deployment, an incident opened and resolved)
// without any reconcile, and after a reconcile, the API's four keys, PR flow
// and work item lead time equal what truthfigures_test.go computes from the
// simulator's truth by METRICS.md, independently of internal/metrics and
// internal/collect.
//
// The same runs with every scope on SQLite: classic release deployments
// count too (Release: Read), their commits resolved from the releases'
// artifacts, and the live events include one.
func TestFiguresEqualTruth(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	for _, engine := range chaosEngines() {
		t.Run(engine.name, func(t *testing.T) { figuresEqualTruth(t, engine.dsn(t), false) })
	}
	t.Run("sqlite-all-scopes", func(t *testing.T) { figuresEqualTruth(t, chaosEngines()[0].dsn(t), true) })
}

func figuresEqualTruth(t *testing.T, dsn string, allScopes bool) {
	sim := startSim(t, "services")
	cfg := testConfig(t, map[string]string{"PANDEV_DB": dsn, "PANDEV_SECRET_KEY": "ZmlndXJlcy1maWd1cmVzLWZpZ3VyZXMtZmlndXJlczE="})
	mustCreateUser(t, cfg.DB, "admin@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond})
	b := newBrowser(t, r.URL())
	if res := b.login("admin@example.com", pw); res.StatusCode != 303 {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	var st integrationStatus
	pat := sim.ManualPAT()
	if allScopes {
		pat = sim.FullPAT()
	}
	if code := b.api("POST", integrationAPI, map[string]string{"org_url": sim.OrgURL(), "token": pat}, &st); code != 201 {
		t.Fatalf("activate: %d", code)
	}
	var ids []string
	for _, p := range st.Projects {
		ids = append(ids, p.ID)
	}
	if code := b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": ids}, &st); code != 200 {
		t.Fatalf("select: %d", code)
	}
	waitJobs(t, r, "backfill", 1)
	ins, err := r.db.ListAllIntegrations(context.Background())
	if err != nil || len(ins) != 1 {
		t.Fatalf("integrations: %v %v", ins, err)
	}
	key := store.Key{IntegrationID: ins[0].ID, WorkspaceID: ins[0].WorkspaceID}
	// Each project's collected-since, by name (the truth names projects).
	var since map[string]time.Time
	waitFor(t, "every project backfilled", func() bool {
		ps, err := r.db.ListProjects(context.Background(), key, true)
		if err != nil {
			t.Fatal(err)
		}
		since = map[string]time.Time{}
		for _, p := range ps {
			if p.CollectedSince == nil {
				return false
			}
			since[p.Name] = *p.CollectedSince
		}
		var s struct {
			Backfill []struct {
				Finished *string `json:"finished"`
			} `json:"backfill"`
		}
		b.api("GET", integrationAPI, nil, &s)
		for _, bf := range s.Backfill {
			if bf.Finished == nil {
				return false
			}
		}
		return len(s.Backfill) == len(ids)
	})
	// The window: from the latest collected-since (every project covered)
	// to two days past the simulated now.
	var from time.Time
	for _, s := range since {
		if s.After(from) {
			from = s
		}
	}
	compare := func(step string, live bool) {
		t.Helper()
		to := sim.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
		var diffs []string
		var truth *truthFacts
		deadline := time.Now().Add(30 * time.Second)
		for {
			truth = loadTruth(t, sim, since, allScopes)
			diffs = figureDiffs(t, b, truth, from, to)
			if len(diffs) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond) // deliveries and the dashboard's rebuild are asynchronous
		}
		if len(diffs) > 0 {
			t.Errorf("%s: the API differs from METRICS.md over the truth:\n  %s", step, strings.Join(diffs, "\n  "))
			return
		}
		// The comparison means something only when the figures have items.
		d, fl, wi := truth.dora(from, to), truth.flow(from, to), truth.workItemLeadTimes(from, to)
		// (The small profile's backfill window holds one production failure,
		// still open; the live events add a recovered one and a resolved
		// incident.)
		if d.deployments == 0 || d.leadN == 0 || d.failures == 0 || live && d.recoveryN < 2 || fl.merged == 0 ||
			len(fl.pickup) == 0 || len(fl.deploy) == 0 || len(wi) == 0 {
			t.Errorf("%s: the truth has too little to compare: %+v, %d merged, %d work items", step, d, fl.merged, len(wi))
		}
		t.Logf("%s: figures equal the truth (%d deployments, %d lead time items, %d failures, %d recoveries, %d merged PRs, %d work items)",
			step, d.deployments, d.leadN, d.failures, d.recoveryN, fl.merged, len(wi))
	}
	compare("after the backfill", false)
	// Live events reach only projects whose service hooks are registered
	// (registration runs beside the backfills, not after them).
	waitJobs(t, r, "register_hooks", len(ids))

	// Live activity, delivered by service hooks, no reconcile.
	project := st.Projects[0].Name
	activity := func(req azdosim.ActivityRequest) azdosim.ActivityResult {
		t.Helper()
		req.Project = project
		res, err := sim.Activity(req)
		if err != nil {
			t.Fatalf("%s: %v", req.Kind, err)
		}
		if err := advanceSim(context.Background(), sim, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		return res
	}
	for range 5 { // a failed production stage (an earlier stage may fail instead)
		res := activity(azdosim.ActivityRequest{Kind: "deployment", Result: "failed"})
		if hasItem(res, "deployment", "/production", "failed") {
			break
		}
	}
	if allScopes { // a classic release deployed to production again: its commit comes from the release's artifacts
		activity(azdosim.ActivityRequest{Kind: "release_redeploy", Environment: "Prod", Result: "succeeded"})
	}
	activity(azdosim.ActivityRequest{Kind: "push"})
	activity(azdosim.ActivityRequest{Kind: "pull_request_completed"})
	activity(azdosim.ActivityRequest{Kind: "deployment", Result: "succeeded"})
	inc := activity(azdosim.ActivityRequest{Kind: "incident"})
	incID := 0
	for _, it := range inc.Items {
		if it.Kind == "work_item" {
			fmt.Sscan(it.ID, &incID)
		}
	}
	activity(azdosim.ActivityRequest{Kind: "work_item_updated", WorkItemID: incID, State: "Active"})
	activity(azdosim.ActivityRequest{Kind: "work_item_updated", WorkItemID: incID, State: "Resolved"})
	compare("after live events, before any reconcile", true)

	if code := b.api("POST", integrationAPI+"/sync", nil, nil); code != 202 && code != 200 {
		t.Fatalf("sync now: %d", code)
	}
	waitJobs(t, r, "reconcile", 1)
	compare("after a reconcile", true)
}

func hasItem(res azdosim.ActivityResult, kind, idSuffix, detail string) bool {
	for _, it := range res.Items {
		if it.Kind == kind && strings.HasSuffix(it.ID, idSuffix) && it.Detail == detail {
			return true
		}
	}
	return false
}

// apiFigure is the part of a figure the comparison reads.
type apiFigure struct {
	N      int      `json:"n"`
	Median *float64 `json:"median"`
	Value  *float64 `json:"value"`
}

// figureDiffs lists where the API's DORA keys and PR flow over [from, to)
// differ from the truth's.
func figureDiffs(t *testing.T, b *browser, truth *truthFacts, from, to time.Time) []string {
	q := "?from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
	var dora struct {
		Coverage            float64 `json:"coverage"`
		DeploymentFrequency struct {
			apiFigure
			DeployDays       int      `json:"deploy_days"`
			WeeklyDeployDays *float64 `json:"weekly_deploy_days"`
		} `json:"deployment_frequency"`
		LeadTime          apiFigure `json:"lead_time"`
		ChangeFailureRate struct {
			apiFigure
			Failures int `json:"failures"`
		} `json:"change_failure_rate"`
		Recovery struct {
			apiFigure
			Open int `json:"open"`
		} `json:"recovery"`
	}
	if code := b.api("GET", "/api/v1/metrics/dora"+q, nil, &dora); code != 200 {
		t.Fatalf("dora: %d", code)
	}
	var flow struct {
		Merged              int       `json:"merged"`
		MergedWithoutReview int       `json:"merged_without_review"`
		Coding              apiFigure `json:"coding"`
		Pickup              apiFigure `json:"pickup"`
		Review              apiFigure `json:"review"`
		Deploy              apiFigure `json:"deploy"`
		Cycle               apiFigure `json:"cycle"`
	}
	if code := b.api("GET", "/api/v1/metrics/pull-requests"+q, nil, &flow); code != 200 {
		t.Fatalf("pull requests: %d", code)
	}
	var items struct {
		LeadTime apiFigure `json:"lead_time"`
	}
	if code := b.api("GET", "/api/v1/metrics/work-items"+q, nil, &items); code != 200 {
		t.Fatalf("work items: %d", code)
	}
	want := truth.dora(from, to)
	wf := truth.flow(from, to)
	var diffs []string
	eqInt := func(what string, got, want int) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s: API %d, truth %d", what, got, want))
		}
	}
	eqNum := func(what string, got, want *float64) {
		switch {
		case got == nil && want == nil:
		case got == nil || want == nil:
			diffs = append(diffs, fmt.Sprintf("%s: API %v, truth %v", what, deref(got), deref(want)))
		case math.Abs(*got-*want) > 1e-6*math.Max(1, math.Abs(*want)):
			diffs = append(diffs, fmt.Sprintf("%s: API %v, truth %v", what, *got, *want))
		}
	}
	if dora.Coverage != 1 {
		diffs = append(diffs, fmt.Sprintf("coverage %v, want 1 (the window starts at the latest collected-since)", dora.Coverage))
	}
	f := dora.DeploymentFrequency
	eqInt("deployments", f.N, want.deployments)
	eqInt("deploy days", f.DeployDays, want.deployDays)
	if want.deployments > 0 {
		eqNum("deployments per week", f.Value, &want.perWeek)
		eqNum("weekly deploy-days median", f.WeeklyDeployDays, want.weeklyDeployDays)
	}
	eqInt("lead time n", dora.LeadTime.N, want.leadN)
	eqNum("lead time median", dora.LeadTime.Median, want.leadMedian)
	eqInt("change failure rate n", dora.ChangeFailureRate.N, want.cfrN)
	eqInt("failures", dora.ChangeFailureRate.Failures, want.failures)
	eqInt("recovery n", dora.Recovery.N, want.recoveryN)
	eqInt("recovery open", dora.Recovery.Open, want.recoveryOpen)
	eqNum("recovery median", dora.Recovery.Median, want.recoveryMedian)

	wi := truth.workItemLeadTimes(from, to)
	eqInt("work item lead time n", items.LeadTime.N, len(wi))
	eqNum("work item lead time median", items.LeadTime.Median, median(wi))

	eqInt("merged PRs", flow.Merged, wf.merged)
	eqInt("merged without review", flow.MergedWithoutReview, wf.withoutReview)
	for _, ph := range []struct {
		name string
		got  apiFigure
		want []float64
	}{{"coding", flow.Coding, wf.coding}, {"pickup", flow.Pickup, wf.pickup}, {"review", flow.Review, wf.review},
		{"deploy", flow.Deploy, wf.deploy}, {"cycle", flow.Cycle, wf.cyc}} {
		eqInt(ph.name+" n", ph.got.N, len(ph.want))
		eqNum(ph.name+" median", ph.got.Median, median(ph.want))
	}
	if len(diffs) > 0 {
		diffs = append(diffs, prDiffs(t, b, truth, q, from, to)...)
	}
	return diffs
}

// prDiffs names the PRs whose phases differ, to explain a differing median.
func prDiffs(t *testing.T, b *browser, truth *truthFacts, q string, from, to time.Time) []string {
	var rows struct {
		Items []struct {
			ID     int      `json:"id"`
			Coding *float64 `json:"coding_seconds"`
			Pickup *float64 `json:"pickup_seconds"`
			Review *float64 `json:"review_seconds"`
			Deploy *float64 `json:"deploy_seconds"`
			Cycle  *float64 `json:"cycle_seconds"`
			Merged string   `json:"merged_at"`
		} `json:"items"`
	}
	if code := b.api("GET", "/api/v1/metrics/pull-requests"+q+"&view=pull-requests", nil, &rows); code != 200 {
		return []string{fmt.Sprintf("pull request view: %d", code)}
	}
	got := map[string]string{}
	for _, r := range rows.Items {
		got[fmt.Sprint(r.ID)] = fmt.Sprintf("coding %v pickup %v review %v deploy %v cycle %v", deref(r.Coding), deref(r.Pickup),
			deref(r.Review), deref(r.Deploy), deref(r.Cycle))
	}
	var out []string
	for id, w := range truth.prPhases(from, to) {
		if got[id] != w {
			out = append(out, fmt.Sprintf("PR %s: API %s; truth %s", id, got[id], w))
		}
	}
	sort.Strings(out)
	return out[:min(len(out), 8)]
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
