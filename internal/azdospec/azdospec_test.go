package azdospec

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// specDir returns one folder of the specs beside the repository, or skips
// when they are absent (they are not part of the repository).
func specDir(t testing.TB, folder string) string {
	t.Helper()
	dir := DefaultDir()
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("PANDEV_TEST_SAMPLES") == "1" || os.Getenv("CI") == "true" {
			t.Fatalf("the shared Azure DevOps specs are required but missing at %s", dir)
		}
		t.Skipf("the shared Azure DevOps specs are not beside the repository (%s); skipping", dir)
	}
	return filepath.Join(dir, folder)
}

func TestFind(t *testing.T) {
	for _, folder := range []string{"7.1", "server-5.0", "server-6.0", "server-7.0"} {
		t.Run(folder, func(t *testing.T) {
			s, err := Load(specDir(t, folder))
			if err != nil {
				t.Fatal(err)
			}
			ver := strings.TrimPrefix(folder, "server-")
			for _, tc := range []struct {
				method, path, query string
				wantPath, wantID    string // wantID: a part of the operationId
			}{
				{"GET", "_apis/projects", "$top=1", "/_apis/projects", ""},
				{"GET", "My%20Project/_apis/git/repositories", "", "/{project}/_apis/git/repositories", ""},
				// Get Commits lives under x-ms-paths ("…/commits?"); Get Push Commits
				// has the plain path and requires pushId.
				{"GET", "p/_apis/git/repositories/r/commits", "searchCriteria.$top=1", "/{project}/_apis/git/repositories/{repositoryId}/commits", "Get Commits"},
				{"GET", "p/_apis/git/repositories/r/commits", "pushId=3&top=1", "/{project}/_apis/git/repositories/{repositoryId}/commits", "Get Push Commits"},
				{"GET", "p/_apis/git/repositories/r/commits", "", "/{project}/_apis/git/repositories/{repositoryId}/commits", "Get Commits"},
				// Case-insensitive literals; the optional {project}, {team} and {timelineId}.
				{"GET", "p/_apis/git/repositories/r/PULLREQUESTS/1/threads", "", "/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads", ""},
				{"GET", "_apis/git/repositories/r/pullRequests/1", "", "/{project}/_apis/git/repositories/{repositoryId}/pullrequests/{pullRequestId}", ""},
				{"POST", "p/_apis/wit/wiql", "", "/{project}/{team}/_apis/wit/wiql", ""},
				{"GET", "p/_apis/build/builds/7/timeline", "", "/{project}/_apis/build/builds/{buildId}/timeline/{timelineId}", ""},
				// A {name} segment matches only a parameter of the template.
				{"GET", "{project}/_apis/git/repositories/{repositoryId}", "", "/{project}/_apis/git/repositories/{repositoryId}", ""},
			} {
				var q url.Values
				if tc.query != "" {
					q, _ = url.ParseQuery(tc.query)
				}
				o := s.Find(tc.method, tc.path, q)
				switch {
				case o == nil:
					t.Errorf("%s %s?%s: no operation", tc.method, tc.path, tc.query)
				case !strings.HasSuffix(o.Path, tc.wantPath) || !strings.Contains(o.ID, tc.wantID):
					t.Errorf("%s %s?%s: %v, want …%s %q", tc.method, tc.path, tc.query, o, tc.wantPath, tc.wantID)
				case !strings.HasPrefix(o.APIVersion, ver):
					t.Errorf("%v: api-version %q, want %s", o, o.APIVersion, ver)
				}
			}
			if o := s.Find("GET", "p/_apis/{area}/repositories", nil); o != nil {
				t.Errorf("a {name} segment matched the literal of %v", o)
			}
			if o := s.Find("GET", "_apis/no/such/thing", nil); o != nil {
				t.Errorf("found %v for a path no document has", o)
			}
			hooks := s.Find("POST", "_apis/hooks/subscriptions", nil)
			if hooks == nil || hooks.Response == nil {
				t.Fatalf("Subscriptions_Create: %v", hooks)
			}
			prs := s.Find("GET", "p/_apis/git/pullrequests", nil)
			if prs == nil || prs.Param("query", "searchCriteria.status") == nil || len(prs.UnknownQuery(url.Values{"searchCriteria.status": {"all"}, "bogus": {"1"}})) != 1 {
				t.Fatalf("Get Pull Requests By Project parameters: %v", prs)
			}
			if folder == "7.1" && (len(prs.Scopes) != 1 || prs.Scopes[0] != "vso.code") {
				t.Errorf("Get Pull Requests By Project scopes %v, want vso.code", prs.Scopes)
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	s, err := Load(specDir(t, "7.1"))
	if err != nil {
		t.Fatal(err)
	}
	repos := s.Find("GET", "p/_apis/git/repositories", nil)
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"count":1,"value":[{"id":"5febef5a-833d-4e14-b9c0-14cb638f91e6","name":"r","size":3,"extra":"fine"}]}`, true},
		{`{"count":0,"value":[]}`, true},
		{`[{"id":"x"}]`, false},                                                     // no wrapper
		{`{"count":2,"value":[{"id":"x"}]}`, false},                                 // count is not the length
		{`{"count":1,"value":[{"size":"big"}]}`, false},                             // size is an integer
		{`{"count":1,"value":[{"project":{"lastUpdateTime":"yesterday"}}]}`, false}, // a date-time
	} {
		err := repos.ValidateResponse([]byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.body, err)
		}
	}
}
