package azdosim

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// wiqlIDs posts a WIQL query to a project and returns the status, the ids (on 200) and the body.
func wiqlIDs(t *testing.T, sim *Sim, project, query, params string) (int, []int, map[string]any) {
	t.Helper()
	u := sim.OrgURL() + "/" + url.PathEscape(project) + "/_apis/wit/wiql?api-version=7.1" + params
	st, _, b := call(t, nil, "POST", u, sim.FullPAT(), map[string]string{"query": query}, suppress)
	m := mustJSON(t, b)
	var ids []int
	if st == 200 {
		for _, w := range m["workItems"].([]any) {
			ids = append(ids, int(w.(map[string]any)["id"].(float64)))
		}
	}
	return st, ids, m
}

// changedQuery is the query the collector sends for a window [from, to); a zero to leaves it open.
func changedQuery(from, to time.Time) string {
	q := "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.ChangedDate] >= '" +
		from.UTC().Format(time.RFC3339) + "'"
	if !to.IsZero() {
		q += " AND [System.ChangedDate] < '" + to.UTC().Format(time.RFC3339) + "'"
	}
	return q + " ORDER BY [System.Id]"
}

// TestWiqlLimit: a query matching more work items than the cap is refused with 400 and the VSS
// exception body of the real service (VS402337, the sample's shape); narrower windows under the
// cap answer and together list the same items; $top within the cap truncates instead; the cap
// is set through Options and PUT /_sim/limits.
func TestWiqlLimit(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{WiqlLimit: 25})
	p := sim.org.projects[0]
	if len(p.workItems) <= 25 {
		t.Fatalf("project %s has %d work items: the test needs more than the cap", p.Name, len(p.workItems))
	}
	if st, m := ctl(t, sim, "GET", "/limits", nil); st != 200 || m["wiql_limit"] != 25.0 {
		t.Fatalf("GET /limits: %d %v", st, m)
	}
	all := "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project ORDER BY [System.Id]"
	st, _, body := wiqlIDs(t, sim, p.Name, all, "&timePrecision=true")
	if st != 400 {
		t.Fatalf("query over the cap: HTTP %d, want 400", st)
	}
	sample, _ := loadSample(t, "rest/error.400.vss-exception.json")
	assertShape(t, "error.400.vss-exception.json", sample, body, nil)
	if body["typeKey"] != "VssServiceException" || !strings.HasPrefix(body["typeName"].(string), "Microsoft.VisualStudio.Services.Common.VssServiceException, ") {
		t.Errorf("type %v / %v, want VssServiceException", body["typeKey"], body["typeName"])
	}
	if msg, _ := body["message"].(string); msg != "VS402337: The number of work items returned exceeds the size limit of 25. Change the query to return fewer items." {
		t.Errorf("message %q", msg)
	}
	// The links form is capped too.
	if st, _, _ := wiqlIDs(t, sim, p.Name, "SELECT [System.Id] FROM WorkItemLinks WHERE [Source].[System.TeamProject] = @project MODE (MustContain)", ""); st != 400 {
		t.Errorf("link query over the cap: HTTP %d, want 400", st)
	}

	// $top within the cap: the first $top, no error. Above the cap: still refused.
	if st, ids, m := wiqlIDs(t, sim, p.Name, all, "&$top=10"); st != 200 || len(ids) != 10 {
		t.Errorf("$top=10: HTTP %d, %d ids %v", st, len(ids), m["message"])
	}
	if st, _, _ := wiqlIDs(t, sim, p.Name, all, "&$top=26"); st != 400 {
		t.Errorf("$top above the cap: HTTP %d, want 400", st)
	}

	// Split by [System.ChangedDate] into windows under the cap: together they are the project.
	var want []int
	for _, w := range p.workItems {
		want = append(want, w.ID)
	}
	sort.Ints(want)
	var changed []int64
	for _, w := range p.workItems {
		changed = append(changed, w.changed())
	}
	slices.Sort(changed)
	var got []int
	from := time.Unix(changed[0], 0)
	for i := 20; ; i += 20 {
		var to time.Time
		if i < len(changed) {
			to = time.Unix(changed[i], 0)
		}
		st, ids, m := wiqlIDs(t, sim, p.Name, changedQuery(from, to), "&timePrecision=true")
		if st != 200 {
			t.Fatalf("window %s..%s: HTTP %d %v", from, to, st, m["message"])
		}
		got = append(got, ids...)
		if to.IsZero() {
			break
		}
		from = to
	}
	sort.Ints(got)
	if !slices.Equal(got, want) {
		t.Errorf("windows listed %d ids, the project has %d", len(got), len(want))
	}

	// The control API raises, lowers and restores the cap.
	if st, m := ctl(t, sim, "PUT", "/limits", map[string]any{"wiql_limit": 1000}); st != 200 || m["wiql_limit"] != 1000.0 {
		t.Fatalf("PUT /limits: %d %v", st, m)
	}
	if st, ids, _ := wiqlIDs(t, sim, p.Name, all, ""); st != 200 || !slices.Equal(ids, want) {
		t.Errorf("under a raised cap: HTTP %d, %d ids", st, len(ids))
	}
	if st, _ := ctl(t, sim, "PUT", "/limits", map[string]any{"wiql_limit": -1}); st != 400 {
		t.Errorf("negative limit accepted: %d", st)
	}
	if st, _ := ctl(t, sim, "PUT", "/limits", map[string]any{"wiql": 5}); st != 400 {
		t.Errorf("unknown field accepted: %d", st)
	}
	if st, m := ctl(t, sim, "PUT", "/limits", map[string]any{}); st != 200 || m["wiql_limit"] != float64(DefaultWiqlLimit) {
		t.Fatalf("PUT /limits {}: %d %v", st, m)
	}
	if _, err := New(Options{WiqlLimit: -5}); err == nil {
		t.Error("a negative Options.WiqlLimit was accepted")
	}
}

// TestWiqlTimePrecision: with timePrecision=true, [System.ChangedDate] >= and < compare to the
// second (and millisecond) the collector sends; without it both sides are cut to the day.
func TestWiqlTimePrecision(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	p := sim.org.projects[1]
	var w *workItem
	for _, x := range p.workItems {
		if tod := x.changed() % 86400; tod > 60 && tod < 86400-60 { // not at either end of its day
			w = x
			break
		}
	}
	if w == nil {
		t.Fatal("no work item changed away from midnight")
	}
	at := time.Unix(w.changed(), 0).UTC()
	has := func(query, params string) bool {
		t.Helper()
		st, ids, m := wiqlIDs(t, sim, p.Name, query, params)
		if st != 200 {
			t.Fatalf("%s: HTTP %d %v", query, st, m["message"])
		}
		return slices.Contains(ids, w.ID)
	}
	lit := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	cond := func(op string, v time.Time) string {
		return fmt.Sprintf("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.ChangedDate] %s '%s'", op, lit(v))
	}
	const precise = "&timePrecision=true"
	for _, c := range []struct {
		query, params string
		want          bool
	}{
		{changedQuery(at, at.Add(time.Second)), precise, true},
		{changedQuery(at.Add(-time.Minute), at), precise, false}, // < is exclusive
		{changedQuery(at.Add(time.Second), time.Time{}), precise, false},
		{cond(">=", at.Add(500*time.Millisecond)), precise, false},
		{cond("<", at.Add(500*time.Millisecond)), precise, true},
		{cond(">", at), precise, false},
		{cond("<=", at), precise, true},
		// Day granularity without timePrecision: a later time the same day still matches >=.
		{cond(">=", at.Add(time.Second)), "", true},
		{cond("<", at.Add(time.Second)), "", false},
		{cond(">=", at.Truncate(24*time.Hour).Add(24*time.Hour)), "", false},
	} {
		if got := has(c.query, c.params); got != c.want {
			t.Errorf("%s (%s): item changed at %s matched %v, want %v", c.query, c.params, lit(at), got, c.want)
		}
	}
}
