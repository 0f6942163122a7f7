package azdosim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuth covers PAT handling: good, unknown, expired, wrong org, missing scope, with and without
// the Suppress header, in both URL forms.
func TestAuth(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	server := newTestSim(t, Options{Mode: "server"})
	expired := sim.NewPAT(nil, "", fixedNow.Add(-time.Hour))
	other := sim.NewPAT(nil, "another-org", time.Time{})
	codeOnly := sim.NewPAT([]string{"vso.code"}, "", time.Time{})
	projects := sim.OrgURL() + "/_apis/projects?api-version=7.1"
	repos := sim.OrgURL() + "/_apis/git/repositories?api-version=7.1"
	for _, tc := range []struct {
		name, url, pat string
		hdr            map[string]string
		status         int
		typeKey        string
		message        string
	}{
		{"good", projects, sim.FullPAT(), suppress, 200, "", ""},
		{"unknown suppress", projects, "nope", suppress, 401, "UnauthorizedRequestException", "TF400813: The user '' is not authorized"},
		{"unknown redirects", projects, "nope", nil, 302, "", ""},
		{"expired", projects, expired, suppress, 401, "AccessCheckException", "The Personal Access Token used has expired"},
		{"wrong org", projects, other, suppress, 401, "UnauthorizedRequestException", "TF400813"},
		{"missing scope", sim.OrgURL() + "/" + sim.org.projects[0].Name + "/_apis/build/builds?api-version=7.1", codeOnly, suppress, 401, "UnauthorizedRequestException", "TF400813"},
		{"scope ok", repos, codeOnly, suppress, 200, "", ""},
		{"server never redirects", server.OrgURL() + "/_apis/projects?api-version=7.0", "nope", nil, 401, "UnauthorizedRequestException", "TF400813"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, h, b := call(t, nil, "GET", tc.url, tc.pat, nil, tc.hdr)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %s", st, tc.status, b)
			}
			if st == 302 {
				if h.Get("X-TFS-FedAuthRedirect") == "" || !strings.Contains(h.Get("Location"), "_signin") {
					t.Fatalf("redirect headers: %v", h)
				}
				// Following the redirect ends on the 203 sign-in page, as DevLake observes.
				st2, h2, _ := call(t, &http.Client{}, "GET", h.Get("Location"), "", nil, nil)
				if st2 != 203 || !strings.HasPrefix(h2.Get("Content-Type"), "text/html") {
					t.Fatalf("sign-in page: %d %s", st2, h2.Get("Content-Type"))
				}
				return
			}
			if tc.typeKey == "" {
				return
			}
			m := mustJSON(t, b)
			if m["typeKey"] != tc.typeKey || !strings.Contains(m["message"].(string), tc.message) {
				t.Fatalf("body %s", b)
			}
			if h.Get("X-TFS-ServiceError") == "" || len(h.Values("WWW-Authenticate")) < 2 {
				t.Fatalf("401 headers: %v", h)
			}
		})
	}
}

// TestURLForms checks Services vs Server bases, the deployment-level connectionData and the
// release host advertised through resourceAreas.
func TestURLForms(t *testing.T) {
	t.Parallel()
	svc := newTestSim(t, Options{})
	srv := newTestSim(t, Options{Mode: "server", ServerVersion: "2020"})
	host := strings.TrimSuffix(srv.OrgURL(), "/"+DefaultCollection)
	for _, tc := range []struct {
		name, url string
		status    int
	}{
		{"server collection projects", srv.OrgURL() + "/_apis/projects?api-version=6.0", 200},
		{"server tfs prefix", host + "/tfs/" + DefaultCollection + "/_apis/projects?api-version=6.0", 200},
		{"server lower-case collection", host + "/defaultcollection/_apis/projects?api-version=6.0", 200},
		{"server without collection", host + "/_apis/projects?api-version=6.0", 404},
		{"server deployment connectionData", host + "/_apis/connectionData", 200},
		{"server 7.1 out of range", srv.OrgURL() + "/_apis/projects?api-version=7.1", 400},
		{"services org", svc.OrgURL() + "/_apis/projects?api-version=7.1", 200},
		{"services wrong org", svc.ControlURL()[:len(svc.ControlURL())-5] + "/other/_apis/projects?api-version=7.1", 404},
		{"services release on main host", svc.OrgURL() + "/" + svc.org.projects[0].Name + "/_apis/release/deployments?api-version=7.1", 404},
		{"services release host", svc.ReleaseURL() + "/" + svc.org.projects[0].Name + "/_apis/release/deployments?api-version=7.1", 200},
		{"server release on same base", srv.OrgURL() + "/" + srv.org.projects[0].Name + "/_apis/release/deployments?api-version=6.0", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pat := svc.FullPAT()
			if strings.HasPrefix(tc.url, host) {
				pat = srv.FullPAT()
			}
			st, _, b := call(t, nil, "GET", tc.url, pat, nil, suppress)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %.300s", st, tc.status, b)
			}
		})
	}
	_, _, b := call(t, nil, "GET", svc.OrgURL()+"/_apis/ResourceAreas", svc.FullPAT(), nil, suppress)
	found := false
	for _, a := range mustJSON(t, b)["value"].([]any) {
		a := a.(map[string]any)
		if a["name"] == "Release" {
			found = true
			if !strings.HasPrefix(a["locationUrl"].(string), svc.ReleaseURL()) || strings.HasPrefix(a["locationUrl"].(string), svc.OrgURL()) {
				t.Errorf("Release area at %v, want the release host %s", a["locationUrl"], svc.ReleaseURL())
			}
		}
	}
	if !found {
		t.Error("no Release resource area")
	}
	_, _, b = call(t, nil, "GET", srv.OrgURL()+"/_apis/ResourceAreas", srv.FullPAT(), nil, suppress)
	if m := mustJSON(t, b); m["count"].(float64) != 0 {
		t.Errorf("server resourceAreas should be empty: %s", b)
	}
}

// TestAPIVersions covers the service's api-version rules.
func TestAPIVersions(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	base := sim.OrgURL() + "/_apis/projects"
	for _, tc := range []struct {
		name, query, accept, method string
		status                      int
		typeKey                     string
	}{
		{"released", "?api-version=7.1", "", "GET", 200, ""},
		{"accept header", "", "application/json;api-version=7.1-preview.4", "GET", 200, ""},
		{"preview needs flag", "?api-version=7.2", "", "GET", 400, "VssInvalidPreviewVersionException"},
		{"preview ok", "?api-version=7.2-preview.4", "", "GET", 200, ""},
		{"too new", "?api-version=8.0", "", "GET", 400, "VssVersionOutOfRangeException"},
		{"garbage", "?api-version=latest", "", "GET", 400, "VssInvalidApiVersionException"},
		{"missing on GET defaults", "", "", "GET", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"X-TFS-FedAuthRedirect": "Suppress"}
			if tc.accept != "" {
				hdr["Accept"] = tc.accept
			}
			st, h, b := call(t, nil, tc.method, base+tc.query, sim.FullPAT(), nil, hdr)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %s", st, tc.status, b)
			}
			if tc.typeKey != "" && mustJSON(t, b)["typeKey"] != tc.typeKey {
				t.Fatalf("typeKey: %s", b)
			}
			if st == 200 && !strings.Contains(h.Get("Content-Type"), "api-version=") {
				t.Fatalf("content type %q lacks api-version", h.Get("Content-Type"))
			}
		})
	}
	st, _, b := call(t, nil, "POST", sim.OrgURL()+"/_apis/hooks/subscriptions", sim.FullPAT(), map[string]any{}, suppress)
	if st != 400 || mustJSON(t, b)["typeKey"] != "VssVersionNotSpecifiedException" {
		t.Fatalf("POST without version: %d %s", st, b)
	}
}

// TestPaging checks every paging style against the full set.
func TestPaging(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	p := sim.org.projects[0]
	r := p.repos[0]
	pat := sim.FullPAT()
	// commits: $top/$skip, newest first, no overlap.
	seen := map[string]bool{}
	for skip := 0; ; skip += 40 {
		_, _, b := call(t, nil, "GET", sim.OrgURL()+"/"+p.ID+"/_apis/git/repositories/"+r.ID+"/commits?api-version=7.1&searchCriteria.$top=40&searchCriteria.$skip="+itoa(skip), pat, nil, suppress)
		v := mustJSON(t, b)["value"].([]any)
		for _, c := range v {
			id := c.(map[string]any)["commitId"].(string)
			if seen[id] {
				t.Fatalf("commit %s twice", id)
			}
			seen[id] = true
		}
		if len(v) < 40 {
			break
		}
	}
	if len(seen) != len(r.commits) {
		t.Fatalf("paged %d commits, repo has %d", len(seen), len(r.commits))
	}
	// builds: continuation header until exhausted.
	token, total := "", 0
	for i := 0; i < 100; i++ {
		u := sim.OrgURL() + "/" + p.Name + "/_apis/build/builds?api-version=7.1&$top=7&queryOrder=queueTimeDescending"
		if token != "" {
			u += "&continuationToken=" + token
		}
		_, h, b := call(t, nil, "GET", u, pat, nil, suppress)
		total += len(mustJSON(t, b)["value"].([]any))
		token = h.Get("X-MS-ContinuationToken")
		if token == "" {
			break
		}
	}
	if total != len(p.builds) {
		t.Fatalf("paged %d builds, project has %d", total, len(p.builds))
	}
	// release deployments: continuation token is an id.
	token, total = "", 0
	for i := 0; i < 100; i++ {
		u := sim.ReleaseURL() + "/" + p.Name + "/_apis/release/deployments?api-version=7.1&$top=5"
		if token != "" {
			u += "&continuationToken=" + token
		}
		_, h, b := call(t, nil, "GET", u, pat, nil, suppress)
		total += len(mustJSON(t, b)["value"].([]any))
		token = h.Get("X-MS-ContinuationToken")
		if token == "" {
			break
		}
	}
	if total != len(p.deployments) {
		t.Fatalf("paged %d deployments, project has %d", total, len(p.deployments))
	}
}

// TestEnvironmentsAndTimelines: environment deployment records page with top/continuationToken,
// a YAML failure answers 204 on the timeline and a deleted build 404.
func TestEnvironmentsAndTimelines(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	pat := sim.FullPAT()
	var p *project
	var yaml, deleted *build
	for _, b := range sim.org.builds {
		if b.yamlError && yaml == nil {
			yaml = b
		}
		if b.deleted && deleted == nil {
			deleted = b
		}
	}
	p = sim.org.projects[0]
	_, _, b := call(t, nil, "GET", sim.OrgURL()+"/"+p.Name+"/_apis/distributedtask/environments?api-version=7.1", pat, nil, suppress)
	envs := mustJSON(t, b)["value"].([]any)
	if len(envs) != 3 {
		t.Fatalf("environments: %s", b)
	}
	for _, e := range envs {
		e := e.(map[string]any)
		id := jsonNum(e["id"])
		want := len(sim.org.envs[atoiT(t, id)].records)
		token, total := "", 0
		for i := 0; i < 100; i++ {
			u := sim.OrgURL() + "/" + p.Name + "/_apis/distributedtask/environments/" + id + "/environmentdeploymentrecords?api-version=7.1&top=4"
			if token != "" {
				u += "&continuationToken=" + token
			}
			st, h, b := call(t, nil, "GET", u, pat, nil, suppress)
			if st != 200 {
				t.Fatalf("%s: %d %s", u, st, b)
			}
			total += len(mustJSON(t, b)["value"].([]any))
			if token = h.Get("X-MS-ContinuationToken"); token == "" {
				break
			}
		}
		if total != want {
			t.Errorf("environment %v: paged %d records, has %d", e["name"], total, want)
		}
	}
	if yaml == nil || deleted == nil {
		t.Fatal("the organization lacks a YAML-failure or deleted build")
	}
	if yaml != nil {
		st, _, _ := call(t, nil, "GET", sim.OrgURL()+"/"+yaml.pipe.proj.Name+"/_apis/build/builds/"+itoa(yaml.ID)+"/timeline?api-version=7.1", pat, nil, suppress)
		if st != 204 {
			t.Errorf("YAML-failure timeline: %d, want 204", st)
		}
	}
	if deleted != nil {
		st, _, _ := call(t, nil, "GET", sim.OrgURL()+"/"+deleted.pipe.proj.Name+"/_apis/build/builds/"+itoa(deleted.ID)+"/timeline?api-version=7.1", pat, nil, suppress)
		if st != 404 {
			t.Errorf("deleted build timeline: %d, want 404", st)
		}
		_, _, b := call(t, nil, "GET", sim.OrgURL()+"/"+deleted.pipe.proj.Name+"/_apis/build/builds?api-version=7.1&buildIds="+itoa(deleted.ID), pat, nil, suppress)
		if n := len(mustJSON(t, b)["value"].([]any)); n != 0 {
			t.Errorf("deleted build listed by default")
		}
		_, _, b = call(t, nil, "GET", sim.OrgURL()+"/"+deleted.pipe.proj.Name+"/_apis/build/builds?api-version=7.1&deletedFilter=includeDeleted&buildIds="+itoa(deleted.ID), pat, nil, suppress)
		if n := len(mustJSON(t, b)["value"].([]any)); n != 1 {
			t.Errorf("deleted build not listed with includeDeleted")
		}
	}
}

// TestLegacyHost: https://{org}.visualstudio.com[/DefaultCollection] reaches the same organization.
func TestLegacyHost(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	base := strings.TrimSuffix(sim.OrgURL(), "/"+DefaultOrg)
	for _, path := range []string{"/_apis/projects?api-version=7.1", "/DefaultCollection/_apis/projects?api-version=7.1"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Host = DefaultOrg + ".visualstudio.com"
		req.SetBasicAuth("", sim.FullPAT())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s via legacy host: %d", path, resp.StatusCode)
		}
	}
}
