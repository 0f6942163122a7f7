package dashboard

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestDefinitionsMatchTheBands pins each benchmark threshold the (i)
// panels and the definitions page show to the band the metrics package
// computes on both sides of it: changing the words or the computation
// alone fails here.
func TestDefinitionsMatchTheBands(t *testing.T) {
	rules := func(key string) []string {
		var out []string
		for _, th := range definitionOf(key).Thresholds {
			out = append(out, th.Band+": "+th.Rule)
		}
		return out
	}
	dur := func(d time.Duration) metrics.Stats { return metrics.Stats{N: 1, Median: &d} }
	day := 24 * time.Hour
	for _, c := range []struct {
		key   string
		rules []string
		probe func() []metrics.Band
		want  []metrics.Band
	}{
		{"lead_time", []string{"elite: < 1 day", "high: < 1 week", "medium: < 30 days", "low: ≥ 30 days"},
			func() []metrics.Band {
				var out []metrics.Band
				for _, d := range []time.Duration{day - time.Second, day, 7*day - time.Second, 7 * day, 30*day - time.Second, 30 * day} {
					out = append(out, metrics.LeadTimeBand(dur(d)))
				}
				return out
			}, []metrics.Band{"elite", "high", "high", "medium", "medium", "low"}},
		{"recovery", []string{"elite: < 1 hour", "high: < 1 day", "medium: < 1 week", "low: ≥ 1 week"},
			func() []metrics.Band {
				var out []metrics.Band
				for _, d := range []time.Duration{time.Hour - time.Second, time.Hour, day, 7*day - time.Second, 7 * day} {
					out = append(out, metrics.RecoveryBand(dur(d)))
				}
				return out
			}, []metrics.Band{"elite", "high", "medium", "medium", "low"}},
		{"change_failure_rate", []string{"elite: ≤ 5 %", "high: ≤ 10 %", "medium: ≤ 15 %", "low: > 15 %"},
			func() []metrics.Band {
				var out []metrics.Band
				for _, failed := range []int{5, 6, 10, 11, 15, 16} {
					out = append(out, metrics.ChangeFailureBand(metrics.Rate{N: 100, Count: failed}))
				}
				return out
			}, []metrics.Band{"elite", "high", "high", "medium", "medium", "low"}},
		{"deployment_frequency", []string{"elite: median deploy-days per week ≥ 5", "high: median deploy-days per week ≥ 1",
			"medium: median deploy-days per month ≥ 1", "low: fewer deploy-days than that"},
			func() []metrics.Band {
				f := func(v float64) *float64 { return &v }
				return []metrics.Band{metrics.FrequencyBand(f(5), f(20)), metrics.FrequencyBand(f(4.5), f(20)),
					metrics.FrequencyBand(f(1), f(4)), metrics.FrequencyBand(f(0), f(1)), metrics.FrequencyBand(f(0), f(0.5))}
			}, []metrics.Band{"elite", "high", "high", "medium", "low"}},
	} {
		if got := rules(c.key); !slices.Equal(got, c.rules) {
			t.Errorf("%s thresholds shown: %q, want %q (change the test with the band functions)", c.key, got, c.rules)
		}
		if got := c.probe(); !slices.Equal(got, c.want) {
			t.Errorf("%s bands computed at the thresholds: %v, want %v", c.key, got, c.want)
		}
	}
	seen := map[string]bool{}
	for _, d := range definitions {
		if seen[d.Key] || d.Name == "" || d.Definition == "" || d.Formula == "" || d.Unit == "" || d.InWindowBy == "" {
			t.Errorf("definition %q is repeated or incomplete: %+v", d.Key, d)
		}
		seen[d.Key] = true
	}
}

// TestPageExplainsEveryFigure: every tile has its (i) panel with the
// definition, formula and bands (this value's band marked), every chart a
// title and unit, the definitions link leads to the page built from the
// same table, and a rate's change is in percentage points.
func TestPageExplainsEveryFigure(t *testing.T) {
	db := storetest.OpenSQLite(t)
	w, h := servedScenario(t, db)
	defer h.Close()
	rec, err := request(t, h.Page, w, "/?"+window)
	must(t, err)
	body := rec.Body.String()
	for _, key := range []string{"deployment_frequency", "lead_time", "change_failure_rate", "recovery"} {
		i := strings.Index(body, `id="tile-`+key+`"`)
		if i < 0 {
			t.Fatalf("no tile %s", key)
		}
		tile := body[i:]
		tile = tile[:strings.Index(tile, "</article>")]
		def := definitionOf(key)
		for _, want := range []string{`<details class="explain">`, `aria-label="What is ` + def.Name + `?"`,
			escaped(def.Formula), "DORA 2023 bands", `href="/metrics/definitions#def-` + key + `"`, `<svg class="spark"`} {
			if !strings.Contains(tile, want) {
				t.Errorf("tile %s lacks %q", key, want)
			}
		}
	}
	// The scenario's change failure rate is low (0.4): its row is marked.
	if !strings.Contains(body, `<tr class="band-low this"><th scope="row">low</th><td>&gt; 15 %</td><td>◀ 40 %</td>`) {
		t.Error("the change failure rate's band is not marked in its (i) panel")
	}
	for _, want := range []string{`<a href="/metrics/definitions">definitions <code>metrics-v2</code>, bands DORA 2023</a>`,
		`<h2 class="chart-title">Production deployments per week</h2><span class="unit">deployments</span>`,
		`<h2 class="chart-title">Change failure rate per week</h2><span class="unit">% of production deployments</span>`,
		"p75 ", "p90 "} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The PR flow's (i) explains every phase from the same table.
	flow := body[strings.Index(body, `id="flow"`):]
	flow = flow[:strings.Index(flow, "</section>")]
	for _, key := range []string{"cycle", "coding", "pickup", "review", "deploy", "work_item_linked"} {
		if d := definitionOf(key); !strings.Contains(flow, "<dt>"+escaped(d.Name)+"</dt><dd>"+escaped(d.Definition)) {
			t.Errorf("the PR flow's (i) lacks %s", key)
		}
	}
	if !strings.Contains(flow, "Pickup 2 h <span class=\"spread\">(p75 2 h · p90 2 h)</span>") {
		t.Errorf("the PR flow's legend lacks p75 and p90:\n%s", flow)
	}
	// The previous window [19 Oct, 2 Nov) is not wholly collected here, so a
	// rate's change is tested on the formatter.
	if got := tile("change_failure_rate", Figure{N: 5, Unit: unitRatio, Value: ptr(0.4), Previous: &Trend{N: 4,
		Value: ptr(0.25), Change: ptr(0.15), Direction: "worse"}}, 14, "d", "d", percent, "", "", nil).Trend; got != "▲ 15 pp vs previous 14 days" {
		t.Errorf("rate trend %q, want percentage points", got)
	}

	rec, err = request(t, h.Definitions, w, DefinitionsPath)
	must(t, err)
	page := rec.Body.String()
	for _, d := range definitions {
		for _, want := range []string{`id="def-` + d.Key + `"`, escaped(d.Definition), escaped(d.Formula)} {
			if !strings.Contains(page, want) {
				t.Errorf("definitions page lacks %q", want)
			}
		}
	}
}

// TestDrillDownsNameAndLink: rows show names, not internal ids, and link
// to the item in Azure DevOps; the lead time list has the lead time.
func TestDrillDownsNameAndLink(t *testing.T) {
	db := storetest.OpenSQLite(t)
	w, h := servedScenario(t, db)
	defer h.Close()
	must(t, db.UpsertPipelineRun(bg, store.PipelineRun{Key: w.key, RunID: 812, ProjectID: "p1", DefinitionID: 7,
		DefinitionName: "web-release", RepoID: "r1"}))
	must(t, db.UpsertDeployment(bg, store.Deployment{Key: w.key, DeploymentKey: "env:1744", ProjectID: "p1",
		Source: "environment", RepoID: "r1", Environment: "prod", IsProduction: true, Result: "succeeded", SHA: "m1",
		RunID: 812, StartedAt: ptr(at(12, 8)), FinishedAt: ptr(at(12, 9))}))
	rec, err := request(t, h.Page, w, "/?"+window)
	must(t, err)
	body := rec.Body.String()
	for _, want := range []string{
		`<a class="azdo" href="https://dev.azure.com/acme/Shop/_build/results?buildId=812" target="_blank" rel="noopener">web-release #812`,
		`<a class="azdo" href="https://dev.azure.com/acme/Shop/_git/web/pullrequest/1" target="_blank" rel="noopener">!1 Checkout`,
		`<th scope="col" data-type="num">Lead time</th>`, `<th scope="col" data-type="num">Recovery time</th>`,
		`<span class="count">`,
		`<a class="azdo" href="https://dev.azure.com/acme/Ops/_workitems/edit/101" target="_blank" rel="noopener">#101 API slow`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, ">env:1744<") {
		t.Error("the page shows the internal id env:1744")
	}
	// An inverted window is said in the page, with the navigation, not as a bare error.
	rec, err = request(t, h.Page, w, "/?from=2026-11-16&to=2026-11-02")
	if err != nil || rec.Code != http.StatusBadRequest {
		t.Fatalf("inverted window: %d %v", rec.Code, err)
	}
	for _, want := range []string{"must be before to", "pick a later to", `value="2026-11-16"`, `id="tile-lead_time"`, "<nav>"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("inverted window page lacks %q", want)
		}
	}
}

func escaped(s string) string {
	// as html/template writes text
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}
