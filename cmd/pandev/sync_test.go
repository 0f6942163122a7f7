package main

import (
	"strings"
	"testing"
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
	if !strings.Contains(ins[0].Settings, `"production_rule":"(?i)staging"`) {
		t.Fatalf("settings: %s", ins[0].Settings)
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
