package main

import (
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/azdosim"
)

// TestBackfillStatusAndRulesPreview: selecting a project starts its
// backfill, whose progress and run show on the status; the rules preview
// shows what candidate rules would match in the collected data.
func TestBackfillStatusAndRulesPreview(t *testing.T) {
	sim := startSim(t, "services")
	r, b := adminSession(t)
	var st struct {
		integrationStatus
		Backfill []struct {
			ProjectID string  `json:"project_id"`
			Fraction  float64 `json:"fraction"`
			ItemsDone int64   `json:"items_done"`
			Finished  *string `json:"finished"`
		} `json:"backfill"`
		LastSync *string `json:"last_sync"`
	}
	if code := b.api("POST", integrationAPI, map[string]string{"org_url": sim.OrgURL(), "token": sim.ManualPAT()}, &st); code != 201 {
		t.Fatalf("activate: %d", code)
	}
	project := st.Projects[0].ID
	b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": {project}}, &st)
	waitJobs(t, r, "backfill", 1)
	b.api("GET", integrationAPI, nil, &st)
	if len(st.Backfill) != 1 || st.Backfill[0].Finished == nil || st.Backfill[0].ItemsDone == 0 || st.Backfill[0].Fraction != 1 || st.LastSync == nil {
		t.Fatalf("backfill status: %+v last sync %v", st.Backfill, st.LastSync)
	}
	for _, path := range []string{"/api/v1/commits", "/api/v1/pull-requests", "/api/v1/pipeline-runs", "/api/v1/work-items"} {
		_, body := b.do("GET", path+"?project="+project, "", nil, nil)
		if body == "{\"items\":[]}\n" {
			t.Errorf("%s is empty after the backfill", path)
		}
	}

	var preview struct {
		Runs []struct {
			Definition  string `json:"definition"`
			Deployment  bool   `json:"deployment"`
			MatchedName string `json:"matched_name"`
			Production  bool   `json:"production"`
		} `json:"runs"`
		Environments []struct {
			Name       string `json:"name"`
			Production bool   `json:"production"`
		} `json:"environments"`
	}
	if code := b.api("POST", integrationAPI+"/rules/preview", map[string]string{"production_rule": "(?i)staging"}, &preview); code != 200 {
		t.Fatalf("preview: %d", code)
	}
	deployments, sawStaging := 0, false
	for _, run := range preview.Runs {
		if run.Deployment {
			deployments++
		}
	}
	for _, e := range preview.Environments {
		if strings.EqualFold(e.Name, "staging") {
			sawStaging = e.Production
		} else if e.Production {
			t.Errorf("only staging is production under (?i)staging: %+v", e)
		}
	}
	if len(preview.Runs) == 0 || deployments == 0 || !sawStaging {
		t.Fatalf("preview: %d runs, %d deployments, staging production %v: %+v", len(preview.Runs), deployments, sawStaging, preview.Environments)
	}
	var e errorBody
	if code := b.api("POST", integrationAPI+"/rules/preview", map[string]string{"deployment_rule": "(unclosed"}, &e); code != 400 ||
		!strings.Contains(e.Error.Message, "deployment rule") {
		t.Fatalf("invalid rule: %d %+v", code, e)
	}
	if code := b.api("PATCH", integrationAPI+"/settings", map[string]string{"production_rule": "(?i)staging"}, &e); code != 200 {
		t.Fatalf("save rules: %d %+v", code, e)
	}
	ins, _ := r.db.ListAllIntegrations(t.Context())
	rules, err := r.db.GetWorkspaceRules(t.Context(), ins[0].WorkspaceID)
	if err != nil || rules.Default.ProductionRule != "(?i)staging" {
		t.Fatalf("the workspace's rules: %+v %v", rules, err)
	}
	if strings.Contains(ins[0].Settings, "production_rule") {
		t.Fatalf("rules left in the integration's settings: %s", ins[0].Settings)
	}
}

// TestRerunBackfill: each selected project can re-run its backfill from the
// API (the screen's button posts the same); an unknown or unselected project
// gets an error naming the fix and nothing runs.
func TestRerunBackfill(t *testing.T) {
	sim := startSim(t, "services")
	r, b := adminSession(t)
	var st integrationStatus
	if code := b.api("POST", integrationAPI, map[string]string{"org_url": sim.OrgURL(), "token": sim.ManualPAT()}, &st); code != 201 {
		t.Fatalf("activate: %d", code)
	}
	project, other := st.Projects[0].ID, st.Projects[1].ID
	b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": {project}}, &st)
	waitJobs(t, r, "backfill", 1)
	var e errorBody
	if code := b.api("POST", integrationAPI+"/projects/nope/backfill", nil, &e); code != 404 || e.Error.Hint == "" {
		t.Fatalf("unknown project: %d %+v", code, e)
	}
	if code := b.api("POST", integrationAPI+"/projects/"+other+"/backfill", nil, &e); code != 409 || !strings.Contains(e.Error.Hint, "select") {
		t.Fatalf("unselected project: %d %+v", code, e)
	}
	if code := b.api("POST", integrationAPI+"/projects/"+project+"/backfill", nil, &st); code != 202 {
		t.Fatalf("re-run: %d", code)
	}
	waitJobs(t, r, "backfill", 2)
	if n := countJobs(t, r, "backfill"); n != 2 {
		t.Fatalf("%d backfill jobs, want the first and the re-run", n)
	}
}

// TestRevokedTokenWayOut: the PAT is revoked before a project's backfill
// runs. The badge says Error with the manual's words, the project's
// backfill shows failed with the reason (no time estimate), and nothing
// waits for the 10-minute retry once Update token gets a working PAT: the
// backfill resumes at once and completes, and the badge is Connected.
func TestRevokedTokenWayOut(t *testing.T) {
	sim := startSim(t, "services")
	r, b := adminSession(t)
	old := sim.NewPAT(azdosim.ManualScopes, "", time.Time{})
	var st struct {
		integrationStatus
		Error    *struct{ Message, Hint string } `json:"error"`
		Backfill []struct {
			Finished  *string                         `json:"finished"`
			Remaining int64                           `json:"remaining_ns"`
			Failed    *struct{ Message, Hint string } `json:"failed"`
		} `json:"backfill"`
	}
	if code := b.api("POST", integrationAPI, map[string]string{"org_url": sim.OrgURL(), "token": old}, &st); code != 201 {
		t.Fatalf("activate: %d", code)
	}
	sim.RevokePAT(old)
	b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": {st.Projects[0].ID}}, &st)
	waitFor(t, "the backfill to fail on the revoked token", func() bool {
		st.Backfill = nil
		b.api("GET", integrationAPI, nil, &st)
		return len(st.Backfill) == 1 && st.Backfill[0].Failed != nil
	})
	if st.State != "error" || st.Error == nil || !strings.Contains(st.Error.Message, "The PAT is invalid, expired, or scoped to the wrong organization") {
		t.Fatalf("state %q, error %+v", st.State, st.Error)
	}
	if f := st.Backfill[0]; f.Remaining != 0 || !strings.Contains(f.Failed.Message, "The PAT is invalid") || f.Failed.Hint == "" {
		t.Fatalf("failed backfill shows %+v", f)
	}
	waitFor(t, "the backfill job to wait for a new token", func() bool {
		js := listJobs(t, r, "backfill")
		return len(js) == 1 && js[0].State == rivertype.JobStateScheduled
	})
	start := time.Now()
	if code := b.api("PUT", integrationAPI+"/token", map[string]string{"token": sim.ManualPAT()}, &st); code != 200 {
		t.Fatalf("update token: %d", code)
	}
	waitFor(t, "the backfill to resume and finish", func() bool {
		st.Backfill = nil // decode afresh: absent fields must not keep old values
		b.api("GET", integrationAPI, nil, &st)
		return len(st.Backfill) == 1 && st.Backfill[0].Finished != nil
	})
	if waited := time.Since(start); waited > 50*time.Second {
		t.Fatalf("the backfill waited %v for its retry", waited)
	}
	if st.State != "connected" || st.Backfill[0].Failed != nil {
		t.Fatalf("after Update token: state %q, backfill %+v (failed %+v)", st.State, st.Backfill[0], st.Backfill[0].Failed)
	}
	if n := countRows(t, r.db, integrationKey(t, r), "commits"); n == 0 {
		t.Fatal("no commits after the resumed backfill")
	}
}
