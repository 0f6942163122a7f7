package azdosim

import (
	"strings"
	"testing"
	"time"
)

// TestScopesAsTheSpecsSay walks the operations the product calls with the
// manual's four-scope PAT and with narrower ones: each is accepted or refused
// (401 TF400813 naming the user) as the operation's security in the specs says.
func TestScopesAsTheSpecsSay(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	p := sim.org.projects[0]
	repo := p.repos[0].ID
	base, rel := sim.OrgURL()+"/"+p.Name, sim.ReleaseURL()+"/"+p.Name
	codeOnly := sim.NewPAT([]string{"vso.code"}, "", fixedNow.AddDate(1, 0, 0))
	release := sim.NewPAT(append([]string{"vso.release"}, ManualScopes...), "", fixedNow.AddDate(1, 0, 0))
	env := sim.NewPAT(append([]string{"vso.environment_manage"}, ManualScopes...), "", fixedNow.AddDate(1, 0, 0))
	const noRepo = "/_apis/git/repositories/00000000-0000-0000-0000-000000000000/pullRequests/1/threads?api-version=7.1"
	cases := []struct {
		name, method, url, pat string
		want                   int
	}{
		{"projects, manual PAT (judgement: read scopes list projects)", "GET", sim.OrgURL() + "/_apis/projects?api-version=7.1", sim.ManualPAT(), 200},
		{"commits, manual PAT", "GET", base + "/_apis/git/repositories/" + repo + "/commits?api-version=7.1", sim.ManualPAT(), 200},
		{"builds, manual PAT", "GET", base + "/_apis/build/builds?api-version=7.1", sim.ManualPAT(), 200},
		{"builds, Code only", "GET", base + "/_apis/build/builds?api-version=7.1", codeOnly, 401},
		{"wiql, Code only", "POST", base + "/_apis/wit/wiql?api-version=7.1", codeOnly, 401},
		// Deployments_List security: vso.release (release.json 7.1).
		{"release deployments, manual PAT", "GET", rel + "/_apis/release/deployments?api-version=7.1", sim.ManualPAT(), 401},
		{"release deployments, + Release: Read", "GET", rel + "/_apis/release/deployments?api-version=7.1", release, 200},
		// Environments_List security: vso.environment_manage only (taskAgent.json 7.1).
		{"environments, manual PAT", "GET", base + "/_apis/distributedtask/environments?api-version=7.1", sim.ManualPAT(), 401},
		{"environments, + Environment", "GET", base + "/_apis/distributedtask/environments?api-version=7.1", env, 200},
		// Pull Request Threads_Create security: vso.code_write or vso.threads_full (git.json 7.1):
		// past the scope check the empty thread answers 400.
		{"thread create, manual PAT", "POST", base + noRepo, sim.ManualPAT(), 400},
		{"thread create, Code only", "POST", base + noRepo, codeOnly, 401},
	}
	for _, tc := range cases {
		var body any
		if tc.method == "POST" {
			body = map[string]any{"query": "SELECT [System.Id] FROM WorkItems", "comments": []any{}}
		}
		st, _, b := call(t, nil, tc.method, tc.url, tc.pat, body, suppress)
		if st != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, st, tc.want, b)
		}
		if st == 401 && (!strings.Contains(string(b), "TF400813: The user '") || strings.Contains(string(b), "TF400813: The user ''")) {
			t.Errorf("%s: a missing scope is TF400813 naming the user: %s", tc.name, b)
		}
	}
}

// TestReleaseHooksOnTheReleaseHost: on Services the rm publisher's
// subscriptions live on the release host; the main host refuses them with
// 400 (MicrosoftDocs/feedback#916) and the release host refuses the others.
func TestReleaseHooksOnTheReleaseHost(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	p := sim.org.projects[0]
	sub := func(eventType string) map[string]any {
		return map[string]any{"publisherId": publisherOf(eventType), "eventType": eventType, "consumerId": "webHooks",
			"consumerActionId": "httpRequest", "publisherInputs": map[string]string{"projectId": p.ID},
			"consumerInputs": map[string]string{"url": "https://example.invalid/hook"}}
	}
	const rm, git = "ms.vss-release.deployment-completed-event", "git.push"
	withRelease := sim.NewPAT(append([]string{"vso.release"}, ManualScopes...), "", fixedNow.AddDate(1, 0, 0))
	cases := []struct {
		name, base, event, pat string
		want                   int
	}{
		{"rm on the main host", sim.OrgURL(), rm, sim.FullPAT(), 400},
		{"git on the release host", sim.ReleaseURL(), git, sim.FullPAT(), 400},
		{"rm on the release host, manual PAT (no vso.release)", sim.ReleaseURL(), rm, sim.ManualPAT(), 401},
		{"rm on the release host, + Release: Read", sim.ReleaseURL(), rm, withRelease, 200},
		{"git on the main host, manual PAT", sim.OrgURL(), git, sim.ManualPAT(), 200},
	}
	for _, tc := range cases {
		st, _, b := call(t, nil, "POST", tc.base+"/_apis/hooks/subscriptions?api-version=7.1", tc.pat, sub(tc.event), suppress)
		if st != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, st, tc.want, b)
		}
	}
	// Each host lists its own.
	for _, host := range []string{sim.OrgURL(), sim.ReleaseURL()} {
		_, _, b := call(t, nil, "GET", host+"/_apis/hooks/subscriptions?api-version=7.1", sim.FullPAT(), nil, suppress)
		v := mustJSON(t, b)["value"].([]any)
		if len(v) != 1 {
			t.Errorf("%s lists %d subscriptions, want its own 1: %s", host, len(v), b)
		}
	}
}

// TestPRCommitsPrecedeTheirPR: completed PRs' commits were authored before
// the PR was opened (coding time), some of them weeks before, earlier than a
// 30-day backfill window; at least four in five start before their PR.
func TestPRCommitsPrecedeTheirPR(t *testing.T) {
	s, err := New(Options{Seed: 5, Profile: "small", Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.TruthItems("pull_requests_completed", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	before, weeks, n := 0, 0, 0
	for _, it := range res["items"].([]any) {
		pr := it.(obj)
		created, _ := time.Parse(time.RFC3339, pr["created"].(string))
		var first time.Time
		for _, c := range pr["commit_list"].([]any) {
			at, _ := time.Parse(time.RFC3339Nano, c.(obj)["author_date"].(string))
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
		if first.IsZero() {
			continue
		}
		n++
		if first.Before(created) {
			before++
		}
		if created.Sub(first) > 21*24*time.Hour {
			weeks++
		}
	}
	if n == 0 || before*5 < n*4 || weeks == 0 { // at least 4 in 5 (a commit shared by two PRs keeps the first date)
		t.Fatalf("%d completed PRs with commits: %d with their first commit before opening, %d three weeks before", n, before, weeks)
	}
	t.Logf("%d completed PRs: %d first commit before opening, %d three or more weeks before", n, before, weeks)
}
