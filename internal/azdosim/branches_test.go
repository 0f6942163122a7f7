package azdosim

import (
	"net/url"
	"sort"
	"strings"
	"testing"
)

// The refs list has no saved sample. Its item shape here is a GitRef as the
// docs define it and as a real dev.azure.com answer shows it: name,
// objectId, creator (an identity reference) and url.
var refShape = map[string]any{"name": "refs/heads/develop", "objectId": "67cae2b029dff7eb3dc062b49403aaedca5bad8d",
	"creator": map[string]any{"displayName": "", "url": "", "_links": map[string]any{"avatar": map[string]any{"href": ""}},
		"id": "", "uniqueName": "", "imageUrl": "", "descriptor": ""},
	"url": "https://dev.azure.com/fabrikam/_apis/git/repositories/278d5cd2/refs?filter=heads%2Fdevelop"}

// refUpdateShape is a push's ref update as the spec example of the pushes
// list with includeRefUpdates=true shows it.
var refUpdateShape = map[string]any{"repositoryId": "", "name": "refs/heads/develop", "oldObjectId": "", "newObjectId": ""}

// TestBranches: the refs list pages with a continuation token, every
// branch's history is listed by branch name or commit id (own commits
// first, then the default branch from the fork point), pushes carry their
// ref updates and list their commits, and the truth holds every branch's
// commits once.
func TestBranches(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	p := sim.org.projects[0]
	r := p.repos[0]
	pat := sim.FullPAT()
	repoURL := sim.OrgURL() + "/" + p.Name + "/_apis/git/repositories/" + r.ID
	get := func(u string) (map[string]any, string) {
		t.Helper()
		st, h, b := call(t, nil, "GET", repoURL+u, pat, nil, suppress)
		if st != 200 {
			t.Fatalf("GET %s: %d %.300s", u, st, b)
		}
		return mustJSON(t, b), h.Get("X-MS-ContinuationToken")
	}

	// Refs: all at once, then two at a time through the continuation token.
	whole, tok := get("/refs?api-version=7.1&filter=heads/")
	if tok != "" {
		t.Fatalf("a list without $top is whole, got token %q", tok)
	}
	var names []string
	heads := map[string]string{}
	for _, v := range whole["value"].([]any) {
		ref := v.(map[string]any)
		names = append(names, ref["name"].(string))
		heads[ref["name"].(string)] = ref["objectId"].(string)
		assertShape(t, "ref", refShape, ref, nil)
	}
	if !sort.StringsAreSorted(names) || len(names) != len(r.branches)+1 || heads["refs/heads/main"] == "" || heads["refs/heads/develop"] == "" {
		t.Fatalf("refs %v: want main and the %d other branches, sorted", names, len(r.branches))
	}
	var paged []string
	for token, i := "", 0; i < 100; i++ {
		u := "/refs?api-version=7.1&filter=heads/&$top=2"
		if token != "" {
			u += "&continuationToken=" + url.QueryEscape(token)
		}
		page, next := get(u)
		for _, v := range page["value"].([]any) {
			paged = append(paged, v.(map[string]any)["name"].(string))
		}
		if token = next; token == "" {
			break
		}
	}
	if strings.Join(paged, ",") != strings.Join(names, ",") {
		t.Fatalf("paged refs %v, want %v", paged, names)
	}
	if st, _, _ := call(t, nil, "GET", repoURL+"/refs?api-version=7.1&$top=1001", pat, nil, suppress); st != 400 {
		t.Fatalf("$top over 1000 answered %d, want 400", st)
	}
	if only, _ := get("/refs?api-version=7.1&filter=heads/feature/"); len(only["value"].([]any)) == 0 || len(only["value"].([]any)) >= len(names) {
		t.Fatalf("filter heads/feature/ kept %d of %d refs", len(only["value"].([]any)), len(names))
	}

	// A pull request's source branch: its own commits, then main from the fork point.
	var b *branch
	for _, x := range r.branches {
		if x.pr != nil && len(x.commits) >= 2 {
			b = x
			break
		}
	}
	if b == nil {
		t.Fatal("no source branch with two commits")
	}
	list, _ := get("/commits?api-version=7.1&searchCriteria.$top=100&searchCriteria.itemVersion.versionType=branch&searchCriteria.itemVersion.version=" + url.QueryEscape(strings.TrimPrefix(b.name, "refs/heads/")))
	cs := list["value"].([]any)
	n := len(b.commits)
	if len(cs) < n+1 || cs[0].(map[string]any)["commitId"] != heads[b.name] || cs[n].(map[string]any)["commitId"] != sim.org.sha(r, b.base) {
		t.Fatalf("branch %s lists %d commits; want its %d own (head %s) then the fork point", b.name, len(cs), n, heads[b.name])
	}
	first := cs[n-1].(map[string]any)["commitId"].(string)
	one := mustJSONGet(t, sim, repoURL+"/commits/"+first+"?api-version=7.1")
	if ps := one["parents"].([]any); len(ps) != 1 || ps[0] != sim.org.sha(r, b.base) {
		t.Fatalf("first own commit's parents %v, want the fork point", ps)
	}
	byCommit, _ := get("/commits?api-version=7.1&searchCriteria.$top=2&searchCriteria.itemVersion.versionType=commit&searchCriteria.itemVersion.version=" + first)
	if v := byCommit["value"].([]any); len(v) != 2 || v[0].(map[string]any)["commitId"] != first || v[1].(map[string]any)["commitId"] != sim.org.sha(r, b.base) {
		t.Fatalf("history of %s: %v", first, v)
	}
	if st, _, _ := call(t, nil, "GET", repoURL+"/commits?api-version=7.1&searchCriteria.itemVersion.version=no/such/branch", pat, nil, suppress); st != 404 {
		t.Fatalf("unknown branch answered %d, want 404", st)
	}
	mainList, _ := get("/commits?api-version=7.1&searchCriteria.$top=1&searchCriteria.itemVersion.version=main")
	if mainList["value"].([]any)[0].(map[string]any)["commitId"] != heads["refs/heads/main"] {
		t.Fatal("main lists from another head than its ref")
	}

	// Pushes: ref updates, and each push's commits by pushId (top/skip).
	pushes, _ := get("/pushes?api-version=7.1&searchCriteria.includeRefUpdates=true&$top=1000&searchCriteria.refName=" + url.QueryEscape(b.name))
	pv := pushes["value"].([]any)
	if len(pv) == 0 {
		t.Fatalf("no push of %s", b.name)
	}
	sample, _ := loadSample(t, "rest/git.commits.list.json")
	total := 0
	for _, v := range pv {
		push := v.(map[string]any)
		ru := push["refUpdates"].([]any)
		assertShape(t, "refUpdate", refUpdateShape, ru[0], nil)
		if ru[0].(map[string]any)["name"] != b.name {
			t.Fatalf("push of %s updated %v", b.name, ru)
		}
		pc, _ := get("/commits?api-version=7.1&top=1&pushId=" + itoa(int(push["pushId"].(float64))))
		if v := pc["value"].([]any); len(v) != 1 || v[0].(map[string]any)["commitId"] != ru[0].(map[string]any)["newObjectId"] {
			t.Fatalf("push %v: first commit %v, want the new head", push["pushId"], v)
		}
		all, _ := get("/commits?api-version=7.1&top=100&pushId=" + itoa(int(push["pushId"].(float64))))
		total += len(all["value"].([]any))
		assertShape(t, "push commits", sample, all, nil)
	}
	if total != n {
		t.Fatalf("the pushes of %s brought %d commits, it has %d", b.name, total, n)
	}

	// Truth: every branch's commits once.
	res, err := sim.TruthItems("commits", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	seen, onBranch := map[string]bool{}, 0
	for _, it := range res["items"].([]any) {
		m := it.(obj)
		id := m["commit_id"].(string)
		if seen[id] {
			t.Fatalf("commit %s twice in the truth", id)
		}
		seen[id] = true
		if m["branch"] != "refs/heads/main" {
			onBranch++
		}
	}
	if onBranch == 0 || !seen[heads[b.name]] {
		t.Fatalf("truth has %d commits off main; head of %s present: %v", onBranch, b.name, seen[heads[b.name]])
	}
}

func mustJSONGet(t *testing.T, sim *Sim, u string) map[string]any {
	t.Helper()
	st, _, b := call(t, nil, "GET", u, sim.FullPAT(), nil, suppress)
	if st != 200 {
		t.Fatalf("GET %s: %d %.300s", u, st, b)
	}
	return mustJSON(t, b)
}
