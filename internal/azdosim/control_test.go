package azdosim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func ctl(t *testing.T, sim *Sim, method, path string, body any) (int, map[string]any) {
	t.Helper()
	st, _, b := call(t, nil, method, sim.ControlURL()+path, "", body, nil)
	return st, mustJSON(t, b)
}

func TestControlPATs(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	_, m := ctl(t, sim, "POST", "/pats", map[string]any{"scopes": []string{"vso.work"}, "expires_at": "2030-01-01T00:00:00Z"})
	tok := m["token"].(string)
	if st, _, _ := call(t, nil, "GET", sim.OrgURL()+"/_apis/wit/workItems?ids=1&api-version=7.1", tok, nil, suppress); st != 200 {
		t.Fatalf("vso.work token on work items: %d", st)
	}
	if st, _, _ := call(t, nil, "GET", sim.OrgURL()+"/_apis/git/repositories?api-version=7.1", tok, nil, suppress); st != 401 {
		t.Fatalf("vso.work token on repos: %d, want 401", st)
	}
	_, m = ctl(t, sim, "POST", "/pats", map[string]any{})
	if st, _, _ := call(t, nil, "GET", sim.OrgURL()+"/_apis/git/repositories?api-version=7.1", m["token"].(string), nil, suppress); st != 200 {
		t.Fatalf("all-scope token: %d", st)
	}
	if st, m := ctl(t, sim, "POST", "/pats", map[string]any{"expires_at": "tomorrow"}); st != 400 || !strings.Contains(m["error"].(string), "RFC 3339") {
		t.Fatalf("bad expiry: %d %v", st, m)
	}
}

// TestActivityAndTruth: every activity kind updates REST state and the truth endpoint consistently.
func TestActivityAndTruth(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	p := sim.org.projects[1]
	from := fixedNow.Add(-time.Minute).Format(time.RFC3339)
	_, before := ctl(t, sim, "GET", "/truth?project="+p.ID+"&from="+from, nil)
	for _, k := range []string{"commits", "pull_requests", "pipeline_runs", "deployments", "work_items", "incidents", "release_deployments"} {
		if before[k].(float64) != 0 {
			t.Fatalf("%s already %v in the last minute", k, before[k])
		}
	}
	for _, kind := range ActivityKinds {
		st, m := ctl(t, sim, "POST", "/activity", map[string]any{"kind": kind, "project": p.Name})
		if st != 200 {
			t.Fatalf("%s: %d %v", kind, st, m)
		}
		if len(m["items"].([]any)) == 0 || len(m["events"].([]any)) == 0 {
			t.Fatalf("%s: answer names no items/events: %v", kind, m)
		}
	}
	_, after := ctl(t, sim, "GET", "/truth?project="+url.QueryEscape(p.Name)+"&from="+from, nil)
	for _, k := range []string{"commits", "pushes", "pull_requests", "pipeline_runs", "work_items", "incidents", "release_deployments"} {
		if after[k].(float64) == 0 {
			t.Errorf("truth %s did not move: %v", k, after)
		}
	}
	// The pushed commits are visible through REST with the same ids truth reports.
	_, items := ctl(t, sim, "GET", "/truth/commits?project="+url.QueryEscape(p.Name)+"&from="+from, nil)
	for _, it := range items["items"].([]any) {
		c := it.(map[string]any)
		r := sim.org.repo(p, c["repository"].(string))
		st, _, b := call(t, nil, "GET", sim.OrgURL()+"/"+p.Name+"/_apis/git/repositories/"+r.ID+"/commits/"+c["commit_id"].(string)+"?api-version=7.1", sim.FullPAT(), nil, suppress)
		if st != 200 {
			t.Fatalf("truth commit %v not served: %d %s", c, st, b)
		}
	}
	// A mixed batch.
	st, m := ctl(t, sim, "POST", "/activity", map[string]any{"count": 30})
	if st != 200 || len(m["items"].([]any)) < 20 {
		t.Fatalf("count activity: %d %v", st, m)
	}
	if st, m := ctl(t, sim, "POST", "/activity", map[string]any{"kind": "teleport"}); st != 400 || !strings.Contains(m["error"].(string), "push") {
		t.Fatalf("unknown kind: %d %v", st, m)
	}
	if st, _ := ctl(t, sim, "GET", "/truth/nonsense", nil); st != 400 {
		t.Fatal("unknown truth kind accepted")
	}
}

// TestPRLifecycle follows one pull request through REST: created, voted, completed with a merge
// commit whose parents are the old head and the source head.
func TestPRLifecycle(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	p := sim.org.projects[0]
	_, m := ctl(t, sim, "POST", "/activity", map[string]any{"kind": "pull_request_created", "project": p.Name, "title": "Lifecycle"})
	id := m["items"].([]any)[0].(map[string]any)["id"].(string)
	ctl(t, sim, "POST", "/activity", map[string]any{"kind": "pr_vote", "project": p.Name, "pull_request_id": atoiT(t, id), "vote": 10})
	_, m = ctl(t, sim, "POST", "/activity", map[string]any{"kind": "pull_request_completed", "project": p.Name, "pull_request_id": atoiT(t, id)})
	if m["events"].([]any)[0] != "git.pullrequest.merged" {
		t.Fatalf("events %v", m["events"])
	}
	_, _, b := call(t, nil, "GET", sim.OrgURL()+"/"+p.Name+"/_apis/git/pullRequests/"+id+"?api-version=7.1&includeCommits=true", sim.FullPAT(), nil, suppress)
	pr := mustJSON(t, b)
	if pr["status"] != "completed" || pr["title"] != "Lifecycle" {
		t.Fatalf("PR %v", pr["status"])
	}
	merge := pr["lastMergeCommit"].(map[string]any)["commitId"].(string)
	src := pr["lastMergeSourceCommit"].(map[string]any)["commitId"].(string)
	repo := pr["repository"].(map[string]any)["id"].(string)
	_, _, b = call(t, nil, "GET", sim.OrgURL()+"/"+p.Name+"/_apis/git/repositories/"+repo+"/commits/"+merge+"?api-version=7.1", sim.FullPAT(), nil, suppress)
	parents := mustJSON(t, b)["parents"].([]any)
	if len(parents) != 2 || parents[1] != src {
		t.Fatalf("merge parents %v, want [old head, %s]", parents, src)
	}
	// Source commits kept their ids when they reached main.
	for _, c := range pr["commits"].([]any) {
		cid := c.(map[string]any)["commitId"].(string)
		if st, _, _ := call(t, nil, "GET", sim.OrgURL()+"/"+p.Name+"/_apis/git/repositories/"+repo+"/commits/"+cid+"?api-version=7.1", sim.FullPAT(), nil, suppress); st != 200 {
			t.Fatalf("PR commit %s not found on the repository", cid)
		}
	}
	_, _, b = call(t, nil, "GET", sim.OrgURL()+"/"+p.Name+"/_apis/git/repositories/"+repo+"/pullRequests/"+id+"/threads?api-version=7.1", sim.FullPAT(), nil, suppress)
	if !strings.Contains(string(b), `"VoteUpdate"`) {
		t.Fatal("no VoteUpdate thread after the vote")
	}
}

func atoiT(t *testing.T, s string) int {
	var n int
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestClock(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	_, m := ctl(t, sim, "GET", "/clock", nil)
	if m["now"] != timeNano(fixedNow) {
		t.Fatalf("now %v", m["now"])
	}
	_, m = ctl(t, sim, "POST", "/clock", map[string]string{"advance": "15m"})
	if m["now"] != timeNano(fixedNow.Add(15*time.Minute)) {
		t.Fatalf("after advance %v", m["now"])
	}
	if st, _ := ctl(t, sim, "POST", "/clock", map[string]string{"advance": "-1h"}); st != 400 {
		t.Fatal("negative advance accepted")
	}
	// PAT expiry follows the simulated clock.
	tok := sim.NewPAT(nil, "", fixedNow.Add(20*time.Minute))
	ctl(t, sim, "POST", "/clock", map[string]string{"advance": "10m"})
	if st, _, _ := call(t, nil, "GET", sim.OrgURL()+"/_apis/projects", tok, nil, suppress); st != 401 {
		t.Fatalf("token past its expiry on the simulated clock: %d", st)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	url := sim.OrgURL() + "/_apis/projects?api-version=7.1"
	put := func(cfg any) {
		if st, m := ctl(t, sim, "PUT", "/faults", cfg); st != 200 {
			t.Fatalf("faults: %d %v", st, m)
		}
	}
	put(map[string]any{"rules": []map[string]any{{"match": "/_apis/projects", "status": 503, "count": 2, "retry_after": 3}}})
	for i := 0; i < 2; i++ {
		st, h, b := call(t, nil, "GET", url, sim.FullPAT(), nil, suppress)
		if st != 503 || h.Get("Retry-After") != "3" || mustJSON(t, b)["typeKey"] == nil {
			t.Fatalf("burst %d: %d %v", i, st, h)
		}
	}
	if st, _, _ := call(t, nil, "GET", url, sim.FullPAT(), nil, suppress); st != 200 {
		t.Fatalf("after the burst: %d", st)
	}
	put(map[string]any{"rules": []map[string]any{{"match": "projects", "status": 429}}})
	if st, _, b := call(t, nil, "GET", url, sim.FullPAT(), nil, suppress); st != 429 || !strings.Contains(string(b), "TF400733") {
		t.Fatalf("429: %d %s", st, b)
	}
	put(map[string]any{"rules": []map[string]any{{"match": "projects", "reset": true}}})
	if _, err := http.Get(url); err == nil {
		t.Fatal("reset rule answered")
	}
	put(map[string]any{"rules": []map[string]any{{"match": "projects", "truncate": true}}})
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth("", sim.FullPAT())
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body should end early, got %v", err)
	}
	put(map[string]any{"rules": []map[string]any{{"match": "projects", "latency": "150ms"}}})
	start := time.Now()
	call(t, nil, "GET", url, sim.FullPAT(), nil, suppress)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("latency rule: %v", d)
	}
	put(map[string]any{"rules": []map[string]any{{"match": "projects", "slow": "300ms"}}})
	start = time.Now()
	if st, _, b := call(t, nil, "GET", url, sim.FullPAT(), nil, suppress); st != 200 || mustJSON(t, b)["count"] == nil {
		t.Fatalf("slow body: %d", st)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("slow rule: %v", d)
	}
	put(map[string]any{})
	if st, _, _ := call(t, nil, "GET", url, sim.FullPAT(), nil, suppress); st != 200 {
		t.Fatalf("cleared faults: %d", st)
	}
	if st, _ := ctl(t, sim, "PUT", "/faults", map[string]any{"latency": "soon"}); st != 400 {
		t.Fatal("bad duration accepted")
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	ctl(t, sim, "PUT", "/faults", map[string]any{"rate_limit": map[string]any{"limit": 10, "cost": 1, "delay": "1ms", "block_factor": 1.5}})
	url := sim.OrgURL() + "/_apis/projects?api-version=7.1"
	var sawHeaders, sawDelay bool
	blocked := 0
	for i := 0; i < 20; i++ {
		st, h, b := call(t, nil, "GET", url, sim.FullPAT(), nil, suppress)
		if h.Get("X-RateLimit-Limit") == "10" && h.Get("X-RateLimit-Resource") != "" {
			sawHeaders = true
		}
		if h.Get("X-RateLimit-Delay") != "" {
			sawDelay = true
		}
		if st == 429 {
			blocked++
			if h.Get("Retry-After") == "" || !strings.Contains(string(b), "TF400733") {
				t.Fatalf("429 without Retry-After/TF400733: %v %s", h, b)
			}
		}
	}
	if !sawHeaders || !sawDelay || blocked == 0 {
		t.Fatalf("headers %v delay %v blocked %d", sawHeaders, sawDelay, blocked)
	}
	// The window slides with the simulated clock.
	ctl(t, sim, "POST", "/clock", map[string]string{"advance": "6m"})
	if st, _, _ := call(t, nil, "GET", url, sim.FullPAT(), nil, suppress); st != 200 {
		t.Fatalf("after the window: %d", st)
	}
}

// TestDeterministic: the same seed gives the same organization; another seed does not.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	dump := func(seed int64) string {
		o := generate(seed, profiles["small"], fixedNow, "services")
		var b bytes.Buffer
		for _, p := range o.projects {
			b.WriteString(p.ID + p.Name)
			for _, r := range p.repos {
				b.WriteString(r.ID + o.sha(r, int32(len(r.commits)-1)) + itoa(len(r.prs)))
			}
		}
		for _, pr := range o.prs {
			b.WriteString(pr.status + pr.title + itoa(int(pr.created)))
		}
		for _, bd := range o.builds {
			b.WriteString(bd.result + itoa(int(bd.finish)))
		}
		return b.String()
	}
	first, again := dump(7), dump(7) // two generations from one seed
	if first != again {
		t.Fatal("same seed, different organization")
	}
	if dump(7) == dump(8) {
		t.Fatal("different seeds, same organization")
	}
}

// TestGeneratedVariety checks the states the issue asks for exist in the small profile.
func TestGeneratedVariety(t *testing.T) {
	t.Parallel()
	o := generate(42, profiles["small"], fixedNow, "services")
	prStates := map[string]int{}
	drafts := 0
	for _, pr := range o.prs {
		prStates[pr.status]++
		if pr.draft {
			drafts++
		}
	}
	results := map[string]int{}
	skippedProd := 0
	for _, b := range o.builds {
		results[b.result]++
		if b.stages[4] == stSkipped {
			skippedProd++
		}
	}
	types := map[string]int{}
	incidents := 0
	for _, w := range o.workItems {
		types[w.typ]++
		if strings.Contains(w.tags, "incident") {
			incidents++
		}
	}
	oldest, newest := fixedNow.Unix(), int64(0)
	for _, r := range o.projects[0].repos {
		oldest = min(oldest, r.commits[0].at)
		newest = max(newest, r.commits[len(r.commits)-1].at)
	}
	for what, ok := range map[string]bool{
		"active PRs":           prStates[prActive] > 0,
		"completed PRs":        prStates[prCompleted] > 0,
		"abandoned PRs":        prStates[prAbandoned] > 0,
		"draft PRs":            drafts > 0,
		"failed runs":          results["failed"] > 0,
		"canceled runs":        results["canceled"] > 0,
		"skipped production":   skippedProd > 0,
		"bugs":                 types["Bug"] > 0,
		"stories":              types["User Story"] > 0,
		"tasks":                types["Task"] > 0,
		"incidents":            incidents > 0,
		"history before 30d":   oldest < fixedNow.AddDate(0, 0, -30).Unix(),
		"history in last week": newest > fixedNow.AddDate(0, 0, -7).Unix(),
		"release deployments":  len(o.deployments) > 0,
	} {
		if !ok {
			t.Errorf("missing: %s", what)
		}
	}
}

func TestRunCLI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--profile", "huge"}, "--profile"},
		{[]string{"--mode", "cloud"}, "--mode"},
		{[]string{"--mode", "server", "--server-version", "2015"}, "--server-version"},
		{[]string{"--server-version", "2020"}, "--mode server"},
		{[]string{"--addr", "localhost"}, "--addr"},
		{[]string{"--seed", "x"}, "seed"},
		{[]string{"--wiql-limit", "0"}, "--wiql-limit"},
	} {
		err := RunCLI(context.Background(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v should name %s", tc.args, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{wrote: make(chan struct{}, 100)}
	done := make(chan error, 1)
	go func() { done <- RunCLI(ctx, []string{"--addr", "127.0.0.1:0", "--seed", "3"}, out, io.Discard) }()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(out.String(), "PAT:") {
		select {
		case err := <-done:
			t.Fatalf("CLI exited: %v", err)
		case <-deadline:
			t.Fatal("CLI printed nothing")
		case <-out.wrote:
		}
	}
	var url, pat string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "URL:"); ok {
			url = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "PAT:"); ok {
			pat, _, _ = strings.Cut(strings.TrimSpace(v), " ")
		}
	}
	if st, _, _ := call(t, nil, "GET", url+"/_apis/projects?api-version=7.1", pat, nil, suppress); st != 200 {
		t.Fatalf("printed URL/PAT do not work: %d", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTLS(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{TLS: true})
	if !strings.HasPrefix(sim.OrgURL(), "https://") {
		t.Fatalf("url %s", sim.OrgURL())
	}
	st, _, _ := call(t, sim.HTTPClient(), "GET", sim.OrgURL()+"/_apis/projects?api-version=7.1", sim.FullPAT(), nil, suppress)
	if st != 200 {
		t.Fatalf("https: %d", st)
	}
}

// TestWorkItemActivityKeepsOtherProjects: creating a work item in one
// project leaves every other project's work items as they were.
func TestWorkItemActivityKeepsOtherProjects(t *testing.T) {
	s, err := New(Options{Seed: 5, Profile: "small", Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string]string {
		out := map[string]string{}
		for _, p := range s.org.projects {
			var ids []int
			for _, w := range p.workItems {
				ids = append(ids, w.ID)
			}
			out[p.ID] = fmt.Sprint(ids)
		}
		return out
	}
	for _, target := range s.org.projects {
		before := snapshot()
		if _, err := s.Activity(ActivityRequest{Kind: "work_item_created", Project: target.ID}); err != nil {
			t.Fatal(err)
		}
		after := snapshot()
		for _, p := range s.org.projects {
			if p != target && after[p.ID] != before[p.ID] {
				t.Fatalf("a work item created in %s changed %s's: %v → %v", target.Name, p.Name, before[p.ID], after[p.ID])
			}
		}
	}
}
