package githubsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestAuthAndPermissions(t *testing.T) {
	s := startSim(t, Options{Seed: 1})
	r := s.URL() + "/repos/" + s.Repos()[0]
	msg := func(a answer) string {
		var b struct{ Message string }
		json.Unmarshal(a.body, &b)
		return b.Message
	}
	cases := []struct {
		name, url, token string
		status           int
		message          string
		header, value    string
	}{
		{"no token on /user", s.URL() + "/user", "", 401, "Requires authentication", "", ""},
		{"unknown token", s.URL() + "/user", "ghp_unknown", 401, "Bad credentials", "", ""},
		{"no token on a private repo", r, "", 404, "Not Found", "", ""},
		{"classic without repo scope", r + "/pulls", s.NewClassicToken("read:org"), 404, "Not Found", "X-Accepted-OAuth-Scopes", "repo"},
		{"classic scopes echoed", r + "/pulls", s.Token(), 200, "", "X-OAuth-Scopes", "admin:repo_hook, read:org, repo"},
		{"classic without user or read:org", s.URL() + "/user/orgs", s.NewClassicToken("repo"), 403, "You need at least read:org scope or user scope to list your organizations.", "", ""},
		{"fine-grained missing permission", r + "/pulls", s.NewFineGrainedToken(map[string]string{"issues": "read"}), 403, "Resource not accessible by personal access token", "X-Accepted-GitHub-Permissions", "pull_requests=read"},
		{"fine-grained either permission", r + "/issues/1/comments", s.NewFineGrainedToken(map[string]string{"contents": "read"}), 403, "Resource not accessible by personal access token", "X-Accepted-GitHub-Permissions", "issues=read; pull_requests=read"},
		{"fine-grained write covers read", r + "/hooks", s.NewFineGrainedToken(map[string]string{"webhooks": "write"}), 200, "", "", ""},
		{"fine-grained repository not selected", r, s.NewFineGrainedToken(ProductPermissions, s.Repos()[1]), 404, "Not Found", "", ""},
		{"fine-grained metadata is implied", r, s.NewFineGrainedToken(nil), 200, "", "", ""},
	}
	for _, c := range cases {
		a := do(t, s, "GET", c.url, c.token, nil)
		if a.status != c.status || (c.message != "" && msg(a) != c.message) {
			t.Errorf("%s: %d %q, want %d %q", c.name, a.status, msg(a), c.status, c.message)
		}
		if c.header != "" && a.header.Get(c.header) != c.value {
			t.Errorf("%s: %s = %q, want %q", c.name, c.header, a.header.Get(c.header), c.value)
		}
	}
	// A fine-grained token lists no organizations (OpenAPI orgs/list-for-authenticated-user).
	a := do(t, s, "GET", s.URL()+"/user/orgs", s.FineGrainedToken(), nil)
	if a.status != 200 || strings.TrimSpace(string(a.body)) != "[]" {
		t.Errorf("fine-grained /user/orgs: %d %s, want 200 []", a.status, a.body)
	}
	// A revoked token is unknown from then on.
	tok := s.NewClassicToken("repo")
	s.RevokeToken(tok)
	if a := do(t, s, "GET", r, tok, nil); a.status != 401 {
		t.Errorf("revoked token: %d, want 401", a.status)
	}
}

func TestPagingAsGitHub(t *testing.T) {
	s := startSim(t, Options{Seed: 1})
	r := s.URL() + "/repos/" + s.Repos()[0]
	tr := s.Truth()[0]
	// Default page is 30; per_page above 100 is capped at 100.
	var list []any
	a := do(t, s, "GET", r+"/pulls?state=all", s.Token(), nil)
	a.json(t, &list)
	if len(list) != 30 {
		t.Errorf("default page: %d pull requests, want 30", len(list))
	}
	a = do(t, s, "GET", r+"/pulls?state=all&per_page=500", s.Token(), nil)
	a.json(t, &list)
	if want := min(100, len(tr.Pulls)); len(list) != want {
		t.Errorf("per_page=500: %d, want %d (capped at 100)", len(list), want)
	}
	// Link on a middle page: prev, next, last, first, in GitHub's order, /repositories/{id} form.
	a = do(t, s, "GET", r+"/pulls?state=all&per_page=10&page=2", s.Token(), nil)
	link := a.header.Get("Link")
	base := fmt.Sprintf("%s/repositories/%d/pulls?per_page=10&state=all", s.URL(), tr.ID)
	last := (len(tr.Pulls) + 9) / 10
	want := fmt.Sprintf(`<%s&page=1>; rel="prev", <%s&page=3>; rel="next", <%s&page=%d>; rel="last", <%s&page=1>; rel="first"`, base, base, base, last, base)
	if link != want {
		t.Errorf("Link:\n got %s\nwant %s", link, want)
	}
	// Walking next links visits every pull request once.
	seen := map[float64]bool{}
	next := r + "/pulls?state=all&per_page=7"
	for next != "" {
		a := do(t, s, "GET", next, s.Token(), nil)
		var page []map[string]any
		a.json(t, &page)
		for _, p := range page {
			n := p["number"].(float64)
			if seen[n] {
				t.Fatalf("pull %v listed twice", n)
			}
			seen[n] = true
		}
		next = linkNext(a.header)
	}
	if len(seen) != len(tr.Pulls) {
		t.Errorf("walked %d pull requests, truth has %d", len(seen), len(tr.Pulls))
	}
	// One page only: no Link header.
	if a := do(t, s, "GET", r+"/environments", s.Token(), nil); a.header.Get("Link") != "" {
		t.Errorf("single page has a Link header: %s", a.header.Get("Link"))
	}
	// A pull request's commits stop at 250 however it is paged (the generated first pull
	// request of the first repository has 260).
	big := 0
	for _, p := range tr.Pulls {
		if p.Commits > 250 {
			big = p.Number
		}
	}
	if big == 0 {
		t.Fatal("no pull request with more than 250 commits in the small profile")
	}
	total := 0
	next = fmt.Sprintf("%s/pulls/%d/commits?per_page=100", r, big)
	for next != "" {
		a := do(t, s, "GET", next, s.Token(), nil)
		var page []any
		a.json(t, &page)
		total += len(page)
		next = linkNext(a.header)
	}
	if total != 250 {
		t.Errorf("pull request commits listed: %d, want GitHub's cap of 250", total)
	}
}
