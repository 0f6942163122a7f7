package githubsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func ctl(t *testing.T, s *Sim, method, path string, body any) answer {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.ControlURL()+path, bytes.NewReader(b))
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
	if a.status != 200 {
		t.Fatalf("%s /_sim%s: %d %s", method, path, a.status, a.body)
	}
	return a
}

func remaining(t *testing.T, a answer) int {
	t.Helper()
	n, err := strconv.Atoi(a.header.Get("X-RateLimit-Remaining"))
	if err != nil {
		t.Fatalf("no X-RateLimit-Remaining: %v", a.header)
	}
	return n
}

func TestPrimaryRateLimitAndETags(t *testing.T) {
	s := startSim(t, Options{Seed: 1})
	r := s.URL() + "/repos/" + s.Repos()[0]
	a := do(t, s, "GET", r, s.Token(), nil)
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset", "X-RateLimit-Resource"} {
		if a.header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if a.header.Get("X-RateLimit-Limit") != "5000" || a.header.Get("X-RateLimit-Resource") != "core" {
		t.Errorf("limit headers: %v", a.header)
	}
	left := remaining(t, a)
	// Unauthenticated requests have their own budget of 60 an hour.
	if an := do(t, s, "GET", s.URL()+"/orgs/"+s.Org(), "", nil); an.status != 200 || an.header.Get("X-RateLimit-Limit") != "60" || remaining(t, an) != 59 {
		t.Errorf("unauthenticated: %d limit %s remaining %s", an.status, an.header.Get("X-RateLimit-Limit"), an.header.Get("X-RateLimit-Remaining"))
	}
	// A 304 to a conditional request does not count; /rate_limit does not count either.
	b := do(t, s, "GET", r, s.Token(), nil, "If-None-Match", a.header.Get("ETag"))
	if b.status != 304 || len(b.body) != 0 || remaining(t, b) != left {
		t.Errorf("conditional request: %d, remaining %d (was %d), body %q", b.status, remaining(t, b), left, b.body)
	}
	c := do(t, s, "GET", s.URL()+"/rate_limit", s.Token(), nil)
	if remaining(t, c) != left {
		t.Errorf("/rate_limit counted: remaining %d, was %d", remaining(t, c), left)
	}
	// A changed resource answers 200 with a new ETag.
	if _, err := s.Activity(ActivityRequest{Kind: "issue_comment", Number: 1}); err != nil {
		t.Fatal(err)
	}
	d := do(t, s, "GET", r+"/issues/1", s.Token(), nil)
	e := do(t, s, "GET", r+"/issues/1", s.Token(), nil, "If-None-Match", d.header.Get("ETag"))
	if e.status != 304 {
		t.Errorf("unchanged issue: %d, want 304", e.status)
	}
	if _, err := s.Activity(ActivityRequest{Kind: "issue_comment", Number: 1}); err != nil {
		t.Fatal(err)
	}
	if f := do(t, s, "GET", r+"/issues/1", s.Token(), nil, "If-None-Match", d.header.Get("ETag")); f.status != 200 {
		t.Errorf("changed issue: %d, want 200", f.status)
	}
	// Exhaust the primary limit: 403 with remaining 0 and GitHub's message, then 429 when asked.
	zero := 0
	ctl(t, s, "PUT", "/ratelimit", RateLimits{Remaining: &zero})
	g := do(t, s, "GET", r, s.Token(), nil)
	if g.status != 403 || g.header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(string(g.body), "API rate limit exceeded for user ID") {
		t.Errorf("exhausted: %d %s %s", g.status, g.header.Get("X-RateLimit-Remaining"), g.body)
	}
	ctl(t, s, "PUT", "/ratelimit", RateLimits{Status: 429})
	if h := do(t, s, "GET", r, s.Token(), nil); h.status != 429 {
		t.Errorf("exhausted with status 429 asked: %d", h.status)
	}
	// The hour resets: the budget is whole again.
	reset, _ := strconv.ParseInt(g.header.Get("X-RateLimit-Reset"), 10, 64)
	s.Advance(time.Until(time.Unix(reset, 0)) + time.Hour)
	if i := do(t, s, "GET", r, s.Token(), nil); i.status != 200 || remaining(t, i) != 4999 {
		t.Errorf("after reset: %d remaining %s", i.status, i.header.Get("X-RateLimit-Remaining"))
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	s := startSim(t, Options{Seed: 1})
	r := s.URL() + "/repos/" + s.Repos()[0]
	ctl(t, s, "PUT", "/ratelimit", RateLimits{SecondaryNext: 1, RetryAfter: 30})
	a := do(t, s, "GET", r, s.Token(), nil)
	if a.status != 403 || a.header.Get("Retry-After") != "30" || !strings.Contains(string(a.body), "secondary rate limit") {
		t.Errorf("forced secondary: %d retry-after %q %s", a.status, a.header.Get("Retry-After"), a.body)
	}
	if b := do(t, s, "GET", r, s.Token(), nil); b.status != 200 {
		t.Errorf("after the forced refusal: %d", b.status)
	}
	// Points a minute: GET costs 1, POST 5 (GitHub's secondary-limit points).
	s.Advance(time.Minute)
	ctl(t, s, "PUT", "/ratelimit", RateLimits{SecondaryPoints: 7, SecondaryStatus: 429})
	if c := do(t, s, "POST", r+"/issues/1/comments", s.Token(), map[string]string{"body": "x"}); c.status != 201 {
		t.Fatalf("post: %d %s", c.status, c.body)
	}
	for i := 0; i < 2; i++ {
		if c := do(t, s, "GET", r, s.Token(), nil); c.status != 200 {
			t.Fatalf("get %d within the budget: %d", i, c.status)
		}
	}
	c := do(t, s, "GET", r, s.Token(), nil)
	if c.status != 429 || c.header.Get("Retry-After") == "" {
		t.Errorf("past 7 points: %d retry-after %q", c.status, c.header.Get("Retry-After"))
	}
	s.Advance(time.Minute)
	if d := do(t, s, "GET", r, s.Token(), nil); d.status != 200 {
		t.Errorf("next minute: %d", d.status)
	}
}

func TestFaultsAndControl(t *testing.T) {
	s := startSim(t, Options{Seed: 1})
	r := s.EnterpriseURL() + "/repos/" + s.Repos()[0]
	ctl(t, s, "PUT", "/faults", []Fault{{Path: "/repos/", Method: "GET", Status: 502, Times: 1}})
	if a := do(t, s, "GET", r, s.Token(), nil); a.status != 502 {
		t.Errorf("fault: %d", a.status)
	}
	if a := do(t, s, "GET", r, s.Token(), nil); a.status != 200 {
		t.Errorf("after the fault's one time: %d", a.status)
	}
	ctl(t, s, "PUT", "/faults", []Fault{{Path: "/user", Drop: true}})
	req, _ := http.NewRequest("GET", s.URL()+"/user", nil)
	if resp, err := s.HTTPClient().Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("dropped connection answered %d", resp.StatusCode)
	}
	ctl(t, s, "PUT", "/faults", []Fault{})
	// Activity through the control API changes what the API serves.
	var before []TruthRepo
	json.Unmarshal(ctl(t, s, "GET", "/truth", nil).body, &before)
	var res ActivityResult
	json.Unmarshal(ctl(t, s, "POST", "/activity", ActivityRequest{Kind: "pull_request_opened", Title: "Live"}).body, &res)
	a := do(t, s, "GET", r+"/pulls/"+strconv.Itoa(res.Number), s.Token(), nil)
	var p map[string]any
	a.json(t, &p)
	if p["title"] != "Live" || p["state"] != "open" {
		t.Errorf("opened pull request: %v %v", p["title"], p["state"])
	}
	json.Unmarshal(ctl(t, s, "POST", "/activity", ActivityRequest{Kind: "pull_request_merged", Number: res.Number}).body, &res)
	a = do(t, s, "GET", r+"/pulls/"+strconv.Itoa(res.Number), s.Token(), nil)
	a.json(t, &p)
	if p["merged"] != true || p["merge_commit_sha"] != res.SHA {
		t.Errorf("merged pull request: merged %v sha %v want %s", p["merged"], p["merge_commit_sha"], res.SHA)
	}
	var after []TruthRepo
	json.Unmarshal(ctl(t, s, "GET", "/truth", nil).body, &after)
	if len(after[0].Pulls) != len(before[0].Pulls)+1 || after[0].MainCommits <= before[0].MainCommits {
		t.Errorf("truth did not follow: pulls %d→%d, main commits %d→%d", len(before[0].Pulls), len(after[0].Pulls), before[0].MainCommits, after[0].MainCommits)
	}
	// A token minted through the control API works with its scopes.
	var tk struct{ Token string }
	json.Unmarshal(ctl(t, s, "POST", "/tokens", map[string]any{"permissions": map[string]string{"pull_requests": "read"}}).body, &tk)
	if a := do(t, s, "GET", r+"/pulls", tk.Token, nil); a.status != 200 {
		t.Errorf("fine-grained control token: %d", a.status)
	}
	if a := do(t, s, "GET", r+"/actions/runs", tk.Token, nil); a.status != 403 || a.header.Get("X-Accepted-GitHub-Permissions") != "actions=read" {
		t.Errorf("fine-grained control token on runs: %d %s", a.status, a.header.Get("X-Accepted-GitHub-Permissions"))
	}
	// Unknown control paths and bad bodies are refused with a reason.
	req, _ = http.NewRequest("POST", s.ControlURL()+"/activity", strings.NewReader(`{"kind":"nope"}`))
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown activity: %d", resp.StatusCode)
	}
}

func TestSeededWorldIsDeterministic(t *testing.T) {
	fixed := func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }
	world := func(seed int64) string {
		s, err := New(Options{Seed: seed, Now: fixed})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(s.Truth())
		return string(b)
	}
	if first, again := world(9), world(9); first != again {
		t.Error("the same seed gave different worlds")
	}
	if world(9) == world(10) {
		t.Error("different seeds gave the same world")
	}
	if _, err := New(Options{Profile: "huge"}); err == nil || !strings.Contains(err.Error(), "use small, medium or large") {
		t.Errorf("unknown profile: %v", err)
	}
}

// TestRateLimitWindow: a shortened window (PUT /_sim/ratelimit
// {"window":"…"}) ends the current one at most that long from now, and a
// spent limit is whole again once it has (moved by the simulated clock).
func TestRateLimitWindow(t *testing.T) {
	s := startSim(t, Options{})
	zero := 0
	s.SetRateLimits(RateLimits{Remaining: &zero})
	r := s.URL() + "/repos/" + s.Repos()[0]
	a := do(t, s, "GET", r, s.Token(), nil)
	if a.status != 403 || a.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("spent limit: %d %v", a.status, a.header)
	}
	s.SetRateLimits(RateLimits{Window: "5s"})
	b := do(t, s, "GET", r, s.Token(), nil)
	reset, _ := strconv.ParseInt(b.header.Get("X-RateLimit-Reset"), 10, 64)
	if now := s.clock.Now().Unix(); reset > now+5 || reset < now {
		t.Fatalf("reset %d, now %d: the window was not shortened", reset, now)
	}
	s.Advance(5 * time.Second)
	if c := do(t, s, "GET", r, s.Token(), nil); c.status != 200 || c.header.Get("X-RateLimit-Limit") != strconv.Itoa(DefaultRateLimit) {
		t.Fatalf("after the reset: %d %v", c.status, c.header)
	}
	req, _ := http.NewRequest("PUT", s.ControlURL()+"/ratelimit", strings.NewReader(`{"window":"soon"}`))
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(buf.String(), "positive duration") {
		t.Fatalf("a bad window: %d %s", resp.StatusCode, buf.String())
	}
}

// TestWorkflowRunsCap: a filtered workflow runs list (created=) answers the
// true total_count but serves at most the cap's results: a page reaching
// over the cap is cut at it, a page starting past it is GitHub's 422
// "pagination is limited"; the unfiltered list is not capped. The cap is
// GitHub's 1,000 by default, lowered by Options.RunsSearchCap or PUT
// /_sim/caps (a negative cap is refused).
func TestWorkflowRunsCap(t *testing.T) {
	s := startSim(t, Options{Seed: 1, RunsSearchCap: 10})
	r := s.EnterpriseURL() + "/repos/" + s.Repos()[0] + "/actions/runs"
	runs := s.Truth()[0].Runs
	if runs <= 25 {
		t.Fatalf("the small profile has %d runs: too few to pass a cap of 10 twice", runs)
	}
	type list struct {
		Total int               `json:"total_count"`
		Runs  []json.RawMessage `json:"workflow_runs"`
	}
	get := func(q string) (answer, list) {
		t.Helper()
		a := do(t, s, "GET", r+"?created=2000-01-01..2100-01-01&"+q, s.Token(), nil)
		var l list
		if a.status == 200 {
			a.json(t, &l)
		}
		return a, l
	}
	if a, l := get("per_page=100"); a.status != 200 || l.Total != runs || len(l.Runs) != 10 {
		t.Fatalf("one page of 100 over a cap of 10: %d, total %d of %d, %d runs", a.status, l.Total, runs, len(l.Runs))
	}
	if a, l := get("per_page=7&page=2"); a.status != 200 || len(l.Runs) != 3 || !strings.Contains(linkNext(a.header), "page=3") {
		t.Fatalf("the page reaching over the cap: %d, %d runs, Link %q", a.status, len(l.Runs), a.header.Get("Link"))
	}
	if a, _ := get("per_page=7&page=3"); a.status != 422 || !strings.Contains(string(a.body), "pagination is limited") {
		t.Fatalf("a page past the cap: %d %s", a.status, a.body)
	}
	var all list
	if a := do(t, s, "GET", r+"?per_page=100", s.Token(), nil); a.status != 200 {
		t.Fatalf("unfiltered: %d", a.status)
	} else if a.json(t, &all); len(all.Runs) != runs {
		t.Fatalf("the unfiltered list is capped: %d of %d", len(all.Runs), runs)
	}
	ctl(t, s, "PUT", "/caps", Caps{})
	if a, l := get("per_page=100"); a.status != 200 || len(l.Runs) != runs {
		t.Fatalf("GitHub's cap restored: %d, %d of %d runs", a.status, len(l.Runs), runs)
	}
	var c Caps
	ctl(t, s, "GET", "/caps", nil).json(t, &c)
	if c.WorkflowRuns != workflowRunsCap {
		t.Fatalf("GET /_sim/caps: %+v", c)
	}
	if err := s.SetCaps(Caps{WorkflowRuns: -1}); err == nil {
		t.Fatal("a negative cap accepted")
	}
	if _, err := New(Options{RunsSearchCap: -1}); err == nil {
		t.Fatal("a negative RunsSearchCap accepted")
	}
}
