package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/azdosim"
)

// startSim runs a simulator for the test.
func startSim(t *testing.T, mode string) *azdosim.Sim {
	t.Helper()
	sim, err := azdosim.New(azdosim.Options{Seed: 7, Profile: "small", Mode: mode, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// adminSession starts the server with an admin signed in.
func adminSession(t *testing.T) (*running, *browser) {
	t.Helper()
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "admin@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond})
	b := newBrowser(t, r.URL())
	if res := b.login("admin@example.com", pw); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	return r, b
}

// api sends a same-origin JSON call and decodes the answer into out.
func (b *browser) api(method, path string, body any, out any) int {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = strings.NewReader(string(data))
	}
	res, text := b.do(method, path, "application/json", rd, map[string]string{"Origin": b.base, "Sec-Fetch-Site": "same-origin"})
	if out != nil && text != "" {
		if err := json.Unmarshal([]byte(text), out); err != nil {
			b.t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, text)
		}
	}
	return res.StatusCode
}

type checkResult struct {
	OK           bool   `json:"ok"`
	Level        string `json:"level"`
	OrgURL       string `json:"org_url"`
	User         string `json:"user"`
	Deployment   string `json:"deployment"`
	ProjectCount int    `json:"project_count"`
	Scopes       []struct {
		Scope, State, Breaks, Fix string
		OK, Required              bool
	} `json:"scopes"`
	Problems []struct{ Code, Message, Hint string } `json:"problems"`
	Warnings []struct{ Code, Message, Hint string } `json:"warnings"`
}

type integrationStatus struct {
	Connected        bool   `json:"connected"`
	State            string `json:"state"`
	OrgURL           string `json:"org_url"`
	Token            string `json:"token"`
	SelectedProjects int    `json:"selected_projects"`
	Projects         []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Selected bool   `json:"selected"`
		Hooks    struct {
			Enabled    int  `json:"enabled"`
			Registered bool `json:"registered"`
		} `json:"hooks"`
	} `json:"projects"`
}

const integrationAPI = "/api/v1/integrations/azure-devops"

// TestCheckConnectionTroubleshooting reproduces every Troubleshooting entry
// of the manual with the simulator and checks the answer's words.
func TestCheckConnectionTroubleshooting(t *testing.T) {
	sim := startSim(t, "services")
	server := startSim(t, "server")
	_, b := adminSession(t)
	past := sim.Now().Add(-time.Hour)
	cases := []struct {
		name, org, token string
		status           int
		ok               bool
		problem          string // in problems[0].message (or the 400's message)
		missingScope     string
	}{
		{"empty URL", "", sim.ManualPAT(), 400, false, "org_url is empty", ""},
		{"empty token", sim.OrgURL(), "", 400, false, "token is empty", ""},
		{"credentials in URL", "https://user:secret@dev.azure.com/acme", "x", 400, false, "Organization URL", ""},
		{"ftp URL", "ftp://dev.azure.com/acme", "x", 400, false, "Organization URL", ""},
		{"wrong PAT (TF400813 / 401)", sim.OrgURL(), "not-a-real-token-value", 200, false, "The PAT is invalid, expired, or scoped to the wrong organization", ""},
		{"expired PAT", sim.OrgURL(), sim.NewPAT(nil, "", past), 200, false, "The PAT is invalid, expired, or scoped to the wrong organization", ""},
		{"PAT of another organization", sim.OrgURL(), sim.NewPAT(nil, "someone-else", time.Time{}), 200, false, "The PAT is invalid, expired, or scoped to the wrong organization", ""},
		{"Server URL without the collection (404)", strings.TrimSuffix(server.OrgURL(), "/"+azdosim.DefaultCollection), server.ManualPAT(), 200, false, "must include the collection", ""},
		{"host that does not answer", "http://127.0.0.1:1/acme", sim.ManualPAT(), 200, false, "127.0.0.1", ""},
		{"PAT without Work Items: Read", sim.OrgURL(), sim.NewPAT([]string{"vso.code_write", "vso.threads_full", "vso.build", "vso.project"}, "", time.Time{}), 200, true, "", "work_items_read"},
		{"PAT without Build: Read", sim.OrgURL(), sim.NewPAT([]string{"vso.code_write", "vso.threads_full", "vso.work", "vso.project"}, "", time.Time{}), 200, true, "", "build_read"},
		{"PAT without PR threads write", sim.OrgURL(), sim.NewPAT([]string{"vso.code", "vso.build", "vso.work", "vso.project"}, "", time.Time{}), 200, true, "", "pr_threads_read_write"},
		{"Services, the manual's four scopes", sim.OrgURL(), sim.ManualPAT(), 200, true, "", ""},
		{"Server with collection", server.OrgURL(), server.ManualPAT(), 200, true, "", ""},
		{"Services, every scope", sim.OrgURL(), sim.FullPAT(), 200, true, "", "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			var res checkResult
			var e errorBody
			status := b.api("POST", integrationAPI+"/check", map[string]string{"org_url": c.org, "token": c.token}, &res)
			if time.Since(start) > 12*time.Second {
				t.Errorf("check took %v; the manual's flow needs an answer within 10 s", time.Since(start))
			}
			if status != c.status {
				t.Fatalf("status %d, want %d (%+v)", status, c.status, res)
			}
			if status == 400 {
				b.api("POST", integrationAPI+"/check", map[string]string{"org_url": c.org, "token": c.token}, &e)
				if !strings.Contains(e.Error.Message, c.problem) || e.Error.Hint == "" {
					t.Fatalf("400 %+v, want a message naming %q and a hint", e, c.problem)
				}
				return
			}
			if res.OK != c.ok {
				t.Fatalf("ok %v, want %v: %+v", res.OK, c.ok, res)
			}
			if c.problem != "" && (len(res.Problems) == 0 || !strings.Contains(res.Problems[0].Message, c.problem) || res.Problems[0].Hint == "") {
				t.Fatalf("problems %+v, want %q with a hint", res.Problems, c.problem)
			}
			if c.ok {
				if res.User == "" || res.ProjectCount == 0 || res.Deployment == "" || len(res.Scopes) != 6 {
					t.Fatalf("a passing check reports user, projects, deployment and six scopes (four required, two optional): %+v", res)
				}
				// Amber when a scope of Step 1 is missing; optional ones alone keep it green.
				if wantLevel := map[bool]string{true: "ok", false: "limited"}[c.missingScope == "" || c.missingScope == "none"]; res.Level != wantLevel {
					t.Fatalf("level %q, want %q", res.Level, wantLevel)
				}
				for _, s := range res.Scopes {
					want := s.Scope != c.missingScope
					if !s.Required && c.missingScope != "none" {
						want = false // the optional Release: Read and Environment: Read & manage are not in these PATs
					}
					if s.Required != (s.Scope != "release_read" && s.Scope != "environment_read_manage") {
						t.Fatalf("scope %s required=%v", s.Scope, s.Required)
					}
					if !s.OK && s.State != "missing" {
						t.Fatalf("scope %s state %q: a 401 naming the user is a missing scope", s.Scope, s.State)
					}
					if s.OK != want {
						t.Fatalf("scope %s ok=%v, want %v: %+v", s.Scope, s.OK, want, res.Scopes)
					}
					if !s.OK && (s.Breaks == "" || s.Fix == "") {
						t.Fatalf("a missing scope says what it breaks and how to fix it: %+v", s)
					}
				}
			}
		})
	}
}

// TestConnectSelectRotateDeselect walks the manual's Steps 3–5 and the FAQ
// promises against the simulator: activate, pick projects (hooks appear),
// live events arrive, rotate the token (hooks kept, no backfill), deselect
// (hooks removed).
func TestConnectSelectRotateDeselect(t *testing.T) {
	sim := startSim(t, "services")
	r, b := adminSession(t)
	ctx := context.Background()

	var st integrationStatus
	if code := b.api("GET", integrationAPI, nil, &st); code != 200 || st.Connected {
		t.Fatalf("before activation: %d %+v", code, st)
	}
	if code := b.api("POST", integrationAPI, map[string]string{"org_url": sim.OrgURL(), "token": sim.ManualPAT()}, &st); code != 201 {
		t.Fatalf("activate: %d %+v", code, st)
	}
	if !st.Connected || st.State != "connected" || len(st.Projects) == 0 || !strings.HasPrefix(st.Token, "…") || st.SelectedProjects != 0 {
		t.Fatalf("after activation: %+v", st)
	}
	var e errorBody
	if code := b.api("POST", integrationAPI, map[string]string{"org_url": sim.OrgURL(), "token": sim.ManualPAT()}, &e); code != 409 {
		t.Fatalf("second activation: %d %+v", code, e)
	}

	var projects struct {
		Projects []struct{ ID, Name string } `json:"projects"`
	}
	if code := b.api("GET", integrationAPI+"/projects", nil, &projects); code != 200 || len(projects.Projects) < 2 {
		t.Fatalf("projects: %d %+v", code, projects)
	}
	p1, p2 := projects.Projects[0], projects.Projects[1]
	if code := b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": {"not-a-project"}}, &e); code != 400 {
		t.Fatalf("unknown project: %d", code)
	}
	if code := b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": {p1.ID, p2.ID}}, &st); code != 200 || st.SelectedProjects != 2 {
		t.Fatalf("select: %d %+v", code, st)
	}
	waitJobs(t, r, "register_hooks", 2)
	subs := simSubscriptions(t, sim)
	perProject := map[string]int{}
	for _, s := range subs {
		if !strings.HasPrefix(s.ConsumerInputs["url"], r.URL()+"/v1/azure/webhook/") {
			t.Fatalf("hook points elsewhere: %+v", s.ConsumerInputs)
		}
		if s.ConsumerInputs["basicAuthPassword"] == "" || s.ConsumerInputs["basicAuthPassword"] == "********" {
			t.Fatal("hooks authenticate with the webhook secret")
		}
		perProject[s.PublisherInputs["projectId"]]++
	}
	if perProject[p1.ID] == 0 || perProject[p1.ID] != perProject[p2.ID] || len(perProject) != 2 {
		t.Fatalf("hooks per project: %v", perProject)
	}
	before := len(subs)

	// Registering again finds the existing subscriptions instead of duplicating them.
	if err := r.integrations.RegisterHooks(ctx, integrationID(t, r), p1.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(simSubscriptions(t, sim)); n != before {
		t.Fatalf("re-registration changed the subscription count %d → %d", before, n)
	}

	// Live: a PR opened in Azure DevOps arrives through the service hook.
	act, err := sim.Activity(azdosim.ActivityRequest{Kind: "pull_request_created", Project: p1.ID, Title: "Live PR #1"})
	if err != nil {
		t.Fatal(err)
	}
	prID := ""
	for _, it := range act.Items {
		if it.Kind == "pull_request" {
			prID = it.ID
		}
	}
	waitFor(t, "the PR to arrive by webhook", func() bool {
		_, body := b.do("GET", "/api/v1/pull-requests?project="+p1.ID, "", nil, nil)
		return prID != "" && strings.Contains(body, `"id":`+prID+`,`)
	})

	// Rotate the token with the same scopes: hooks stay, no backfill starts, the new token is
	// shown masked. (A token with more scopes backfills what they unlock: TestScopeMatrix.)
	backfills := countJobs(t, r, "backfill")
	newPAT := sim.NewPAT(azdosim.ManualScopes, "", time.Time{})
	if code := b.api("PUT", integrationAPI+"/token", map[string]string{"token": newPAT}, &st); code != 200 || st.Token != "…"+newPAT[len(newPAT)-4:] {
		t.Fatalf("update token: %d %+v", code, st)
	}
	if code := b.api("PUT", integrationAPI+"/token", map[string]string{"token": "expired-or-wrong"}, &e); code != 400 ||
		!strings.Contains(e.Error.Message, "The PAT is invalid") {
		t.Fatalf("a bad new token is refused and the old one kept: %d %+v", code, e)
	}
	if n := len(simSubscriptions(t, sim)); n != before {
		t.Fatalf("token rotation changed hooks: %d → %d", before, n)
	}
	if countJobs(t, r, "backfill") != backfills {
		t.Fatal("token rotation must not start a backfill")
	}

	// Deselect: the project's hooks are removed.
	if code := b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": {p1.ID}}, &st); code != 200 || st.SelectedProjects != 1 {
		t.Fatalf("deselect: %d %+v", code, st)
	}
	waitJobs(t, r, "remove_hooks", 1)
	for _, s := range simSubscriptions(t, sim) {
		if s.PublisherInputs["projectId"] == p2.ID {
			t.Fatalf("a hook of the deselected project remains: %+v", s)
		}
	}
	b.api("GET", integrationAPI, nil, &st)
	for _, p := range st.Projects {
		if p.ID == p1.ID && (!p.Hooks.Registered || p.Hooks.Enabled == 0) {
			t.Fatalf("status shows hook health: %+v", p)
		}
		if p.ID == p2.ID && p.Hooks.Registered {
			t.Fatalf("status of the deselected project: %+v", p)
		}
	}
}

func TestOnlyAdminsManageIntegrations(t *testing.T) {
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "member@example.com", pw, "acme", true)
	r := startApp(t, cfg, appOptions{})
	b := newBrowser(t, r.URL())
	b.login("member@example.com", pw)
	for _, c := range []struct{ method, path string }{
		{"GET", integrationAPI}, {"POST", integrationAPI + "/check"}, {"POST", integrationAPI},
		{"GET", integrationAPI + "/projects"}, {"PUT", integrationAPI + "/projects"}, {"PUT", integrationAPI + "/token"},
		{"PATCH", integrationAPI + "/settings"}, {"POST", integrationAPI + "/sync"},
	} {
		var e errorBody
		if code := b.api(c.method, c.path, map[string]string{}, &e); code != 403 || e.Error.Code != "forbidden" {
			t.Errorf("member %s %s: %d %+v", c.method, c.path, code, e)
		}
	}
}

type simSubscription struct {
	ID              string            `json:"id"`
	EventType       string            `json:"eventType"`
	Status          string            `json:"status"`
	PublisherInputs map[string]string `json:"publisherInputs"`
	ConsumerInputs  map[string]string `json:"consumerInputs"`
}

func simSubscriptions(t *testing.T, sim *azdosim.Sim) []simSubscription {
	t.Helper()
	res, err := http.Get(sim.ControlURL() + "/subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Value []simSubscription `json:"value"`
	}
	data, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		var list []simSubscription
		if err2 := json.Unmarshal(data, &list); err2 != nil {
			t.Fatalf("subscriptions: %v: %s", err, data)
		}
		return list
	}
	return out.Value
}

func integrationID(t *testing.T, r *running) string {
	t.Helper()
	ins, err := r.db.ListAllIntegrations(context.Background())
	if err != nil || len(ins) != 1 {
		t.Fatalf("integrations: %v %v", ins, err)
	}
	return ins[0].ID
}

// countJobs counts jobs of a kind in any state.
func countJobs(t *testing.T, r *running, kind string) int {
	t.Helper()
	return len(listJobs(t, r, kind))
}

// waitJobs waits until n jobs of a kind have completed.
func waitJobs(t *testing.T, r *running, kind string, n int) {
	t.Helper()
	waitFor(t, "completed "+kind+" jobs", func() bool {
		res, err := r.queue.Client().JobList(context.Background(),
			river.NewJobListParams().Kinds(kind).States(rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded).First(1000))
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range res.Jobs {
			if j.State != rivertype.JobStateCompleted {
				t.Fatalf("%s job %s: %v", kind, j.State, j.Errors)
			}
		}
		return len(res.Jobs) >= n
	})
}
