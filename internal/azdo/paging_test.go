package azdo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// pageOf renders ids [from, to) as a {count,value} page of objects with
// key "id" (or the given key).
func pageOf(key string, from, to int) []byte {
	var v []map[string]any
	str := key == "commitId" || key == "projectId"
	if key == "projectId" {
		key = "id"
	}
	for i := from; i < to; i++ {
		var id any = i
		if str {
			id = strconv.Itoa(i)
		}
		v = append(v, map[string]any{key: id})
	}
	b, _ := json.Marshal(map[string]any{"count": len(v), "value": v})
	return b
}

// topSkipServer serves n items with $top/$skip under the given keys.
func topSkipServer(f *fake, suffix, topKey, skipKey, idKey string, n int) {
	f.on("GET", suffix, func(w http.ResponseWriter, r *http.Request) {
		top, _ := strconv.Atoi(r.URL.Query().Get(topKey))
		skip, _ := strconv.Atoi(r.URL.Query().Get(skipKey))
		w.Write(pageOf(idKey, skip, min(skip+top, n)))
	})
}

func TestPagingTopSkip(t *testing.T) {
	tests := []struct {
		name  string
		n     int // items on the server
		calls int // pages fetched (see walkTopSkip's rule)
	}{
		{"empty", 0, 1},
		{"one short page is the whole list (no documented cap)", 7, 1},
		{"exact multiple needs one empty page", 200, 3},
		{"three pages", 250, 3},
	}
	for _, tt := range tests {
		t.Run("commits/"+tt.name, func(t *testing.T) {
			f := newFake(t)
			topSkipServer(f, "/commits", "searchCriteria.$top", "searchCriteria.$skip", "commitId", tt.n)
			c, _ := newClient(t, f, ServicesDeployment)
			got, err := Collect(c.Commits(context.Background(), "P", "r", CommitQuery{}))
			if err != nil || len(got) != tt.n {
				t.Fatalf("got %d commits, %v; want %d", len(got), err, tt.n)
			}
			for i, cm := range got {
				if cm.CommitID != strconv.Itoa(i) {
					t.Fatalf("commit %d = %q: pages out of order or repeated", i, cm.CommitID)
				}
			}
			if n := f.count("/commits"); n != tt.calls {
				t.Fatalf("%d requests, want %d", n, tt.calls)
			}
		})
	}
	t.Run("pull requests", func(t *testing.T) {
		f := newFake(t)
		topSkipServer(f, "/pullrequests", "$top", "$skip", "pullRequestId", 130)
		c, _ := newClient(t, f, ServicesDeployment)
		got, err := Collect(c.PullRequests(context.Background(), "P", "r", PullRequestQuery{PageSize: 50}))
		if err != nil || len(got) != 130 || got[129].PullRequestID != 129 {
			t.Fatalf("got %d PRs, %v", len(got), err)
		}
		if reqs := f.requests(); first(reqs[2].Query["$skip"]) != "100" || first(reqs[2].Query["$top"]) != "50" {
			t.Fatalf("third page query = %v", reqs[2].Query)
		}
	})
}

func TestPagingProjectsFollowsContinuationToken(t *testing.T) {
	f := newFake(t)
	const n = 230
	f.on("GET", "/_apis/projects", func(w http.ResponseWriter, r *http.Request) {
		top, _ := strconv.Atoi(r.URL.Query().Get("$top"))
		skip, _ := strconv.Atoi(r.URL.Query().Get("continuationToken"))
		end := min(skip+top, n)
		if end < n {
			w.Header().Set("X-MS-ContinuationToken", strconv.Itoa(end))
		}
		w.Write(pageOf("projectId", skip, end))
	})
	c, _ := newClient(t, f, ServicesDeployment)
	ps, err := c.ListProjects(context.Background())
	if err != nil || len(ps) != n || ps[n-1].ID != "229" {
		t.Fatalf("got %d projects, %v", len(ps), err)
	}
	reqs := f.requests()
	if len(reqs) != 3 || first(reqs[1].Query["continuationToken"]) != "100" || reqs[1].Query.Has("$skip") {
		t.Fatalf("requests = %d, second query %v", len(reqs), reqs[1].Query)
	}
}

func TestPagingContinuationHeader(t *testing.T) {
	f := newFake(t)
	const n = 250
	f.on("GET", "/_apis/build/builds", func(w http.ResponseWriter, r *http.Request) {
		top, _ := strconv.Atoi(r.URL.Query().Get("$top"))
		start := 0
		if tok := r.URL.Query().Get("continuationToken"); tok != "" {
			fmt.Sscanf(tok, "tok-%d", &start)
		}
		end := min(start+top, n)
		if end < n {
			w.Header().Set("x-ms-continuationtoken", fmt.Sprintf("tok-%d", end)) // lower case on purpose
		}
		w.Write(pageOf("id", start, end))
	})
	c, _ := newClient(t, f, ServicesDeployment)
	bs, err := Collect(c.Builds(context.Background(), "P", BuildQuery{}))
	if err != nil || len(bs) != n || bs[n-1].ID != n-1 {
		t.Fatalf("got %d builds, %v", len(bs), err)
	}
	reqs := f.requests()
	if len(reqs) != 3 || first(reqs[2].Query["continuationToken"]) != "tok-200" || reqs[0].Query.Has("continuationToken") {
		t.Fatalf("requests = %d, queries %v / %v", len(reqs), reqs[0].Query, reqs[2].Query)
	}

	// Resuming from a stored token starts there.
	bs, err = Collect(c.Builds(context.Background(), "P", BuildQuery{ContinuationToken: "tok-240"}))
	if err != nil || len(bs) != 10 || bs[0].ID != 240 {
		t.Fatalf("resumed: %d builds, %v", len(bs), err)
	}
}

func TestPagingEnvironmentRecordsUseTopWithoutDollar(t *testing.T) {
	f := newFake(t)
	f.on("GET", "/environmentdeploymentrecords", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("top") != "100" || r.URL.Query().Has("$top") {
			w.WriteHeader(400)
			return
		}
		if r.URL.Query().Get("continuationToken") == "" {
			w.Header().Set("X-MS-ContinuationToken", "5")
			w.Write(pageOf("id", 10, 12))
			return
		}
		w.Write(pageOf("id", 5, 6))
	})
	c, _ := newClient(t, f, ServicesDeployment)
	recs, err := Collect(c.EnvironmentDeployments(context.Background(), "P", 3))
	if err != nil || len(recs) != 3 || recs[2].ID != 5 {
		t.Fatalf("records = %+v, %v", recs, err)
	}
}

func TestPagingUnpaged(t *testing.T) {
	f := newFake(t)
	f.json("GET", "/pullRequests/5/threads", 200, pageOf("id", 0, 3))
	c, _ := newClient(t, f, ServicesDeployment)
	ts, err := c.PullRequestThreads(context.Background(), "P", "r", 5)
	if err != nil || len(ts) != 3 {
		t.Fatalf("threads = %+v, %v", ts, err)
	}
	if reqs := f.requests(); reqs[0].Query.Has("$top") || reqs[0].Query.Has("$skip") {
		t.Fatalf("unpaged list sent paging parameters: %v", reqs[0].Query)
	}
}

func TestPagingRepeatedTokenStops(t *testing.T) {
	f := newFake(t)
	f.on("GET", "/_apis/build/builds", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-MS-ContinuationToken", "same")
		w.Write(pageOf("id", 0, 1))
	})
	c, _ := newClient(t, f, ServicesDeployment)
	_, err := Collect(c.Builds(context.Background(), "P", BuildQuery{}))
	if delivery.KindOf(err) != delivery.KindUpstream || f.count("/builds") != 2 {
		t.Fatalf("err = %v after %d requests; want KindUpstream after 2", err, f.count("/builds"))
	}
}

func TestIteratorBreakStopsPaging(t *testing.T) {
	f := newFake(t)
	topSkipServer(f, "/commits", "searchCriteria.$top", "searchCriteria.$skip", "commitId", 1000)
	c, _ := newClient(t, f, ServicesDeployment)
	n := 0
	for _, err := range c.Commits(context.Background(), "P", "r", CommitQuery{PageSize: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 15 {
			break
		}
	}
	if got := f.count("/commits"); got != 2 {
		t.Fatalf("%d pages fetched for 15 items of size-10 pages, want 2", got)
	}
}

func TestPagingContextCanceledBetweenPages(t *testing.T) {
	f := newFake(t)
	topSkipServer(f, "/commits", "searchCriteria.$top", "searchCriteria.$skip", "commitId", 1000)
	c, _ := newClient(t, f, ServicesDeployment)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var gotErr error
	for _, err := range c.Commits(ctx, "P", "r", CommitQuery{PageSize: 10}) {
		if err != nil {
			gotErr = err
			break
		}
		if n++; n == 10 {
			cancel()
		}
	}
	if !errors.Is(gotErr, context.Canceled) || n != 10 || f.count("/commits") != 1 {
		t.Fatalf("err = %v after %d items and %d pages; want context.Canceled after 10 items, 1 page", gotErr, n, f.count("/commits"))
	}
}

func TestPullRequestTimeFilterOnOldServer(t *testing.T) {
	prs := []map[string]any{
		{"pullRequestId": 1, "creationDate": "2026-01-01T00:00:00Z"},
		{"pullRequestId": 2, "creationDate": "2026-02-10T00:00:00Z"},
		{"pullRequestId": 3, "creationDate": "2026-03-01T00:00:00Z"},
	}
	body, _ := json.Marshal(map[string]any{"count": 3, "value": prs})
	for _, tt := range []struct {
		dep        Deployment
		serverSide bool
	}{
		{ServicesDeployment, true},
		{Deployment{Kind: Server, Release: "2020", APIVersion: "6.0"}, false},
	} {
		t.Run(tt.dep.String(), func(t *testing.T) {
			f := newFake(t)
			f.json("GET", "/pullrequests", 200, body)
			c, _ := newClient(t, f, tt.dep)
			from, _ := parseTime("2026-02-01T00:00:00Z")
			to, _ := parseTime("2026-02-28T00:00:00Z")
			got, err := Collect(c.PullRequests(context.Background(), "P", "r", PullRequestQuery{MinTime: from, MaxTime: to}))
			if err != nil {
				t.Fatal(err)
			}
			q := f.requests()[0].Query
			if q.Has("searchCriteria.minTime") != tt.serverSide || first(q["api-version"]) != tt.dep.APIVersion {
				t.Fatalf("query = %v", q)
			}
			if !tt.serverSide && (len(got) != 1 || got[0].PullRequestID != 2) {
				t.Fatalf("client-side filter kept %+v", got)
			}
		})
	}
}
