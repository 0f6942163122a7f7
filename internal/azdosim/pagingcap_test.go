package azdosim

import (
	"fmt"
	"testing"
)

// TestPullRequestTopCap: the pull request lists cap $top silently, as the
// service does (MicrosoftDocs/vsts-rest-api-specs#405 and #539: 101 without
// $top; rfennell/AzurePipelines#843: at most 1000), and PUT /_sim/limits
// lowers the cap so a small organization reaches it.
func TestPullRequestTopCap(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{Profile: "medium"})
	p := sim.org.projects[0]
	total := 0
	for _, r := range p.repos {
		total += len(r.prs)
	}
	if total <= DefaultPullRequestTop {
		t.Fatalf("project %s has %d pull requests: too few to reach the default page", p.Name, total)
	}
	list := func(query string) (int, map[string]any) {
		t.Helper()
		st, h, b := call(t, nil, "GET", sim.OrgURL()+"/"+p.Name+"/_apis/git/pullrequests?api-version=7.1&searchCriteria.status=all"+query,
			sim.FullPAT(), nil, suppress)
		if st != 200 {
			t.Fatalf("%s: %d %.300s", query, st, b)
		}
		if tok := h.Get("X-MS-ContinuationToken"); tok != "" {
			t.Fatalf("%s: a $top/$skip list sent a continuation token %q", query, tok)
		}
		m := mustJSON(t, b)
		return len(m["value"].([]any)), m
	}
	if n, m := list(""); n != DefaultPullRequestTop || m["count"] != float64(n) {
		t.Fatalf("no $top: %d pull requests (count %v), want %d", n, m["count"], DefaultPullRequestTop)
	}
	if n, _ := list("&$top=5000"); n != min(total, DefaultPullRequestTopMax) {
		t.Fatalf("$top=5000: %d pull requests, want %d", n, min(total, DefaultPullRequestTopMax))
	}
	if st, m := ctl(t, sim, "PUT", "/limits", map[string]any{"pull_request_top_max": 7}); st != 200 || m["pull_request_top_max"] != 7.0 {
		t.Fatalf("PUT /limits: %d %v", st, m)
	}
	for _, q := range []string{"", "&$top=100", "&$top=7&$skip=7"} {
		if n, _ := list(q); n != 7 {
			t.Fatalf("cap 7, %q: %d pull requests", q, n)
		}
	}
	// Pages of the cap, walked with $skip, still reach every pull request.
	seen := 0
	for skip := 0; ; skip += 7 {
		n, _ := list(fmt.Sprintf("&$top=100&$skip=%d", skip))
		seen += n
		if n < 7 {
			break
		}
	}
	if seen != total {
		t.Fatalf("walked %d pull requests of %d", seen, total)
	}
	if st, m := ctl(t, sim, "PUT", "/limits", map[string]any{}); st != 200 || m["pull_request_top_max"] != float64(DefaultPullRequestTopMax) {
		t.Fatalf("PUT /limits {}: %d %v", st, m)
	}
	if st, _ := ctl(t, sim, "PUT", "/limits", map[string]any{"pull_request_top_max": -1}); st != 400 {
		t.Fatalf("negative cap: %d, want 400", st)
	}
}
