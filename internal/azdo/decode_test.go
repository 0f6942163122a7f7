package azdo

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEndpointsDecodeSamples serves each real sample from the endpoint's
// path and checks the typed result and the request the client made.
func TestEndpointsDecodeSamples(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		method string
		suffix string // path the client must call
		sample string
		query  map[string]string // query the client must send
		call   func(t *testing.T, c *Client)
	}{
		{"projects", "GET", "/acme/_apis/projects", "core.projects.list.real.json", map[string]string{"$top": "100", "api-version": "7.1"},
			func(t *testing.T, c *Client) {
				ps, err := c.ListProjects(ctx)
				if err != nil || len(ps) != 1 || ps[0].Name != "test_project" || ps[0].Visibility != "private" ||
					!ps[0].LastUpdateTime.Equal(time.Date(2022, 2, 24, 15, 31, 27, 890000000, time.UTC)) {
					t.Fatalf("projects = %+v, %v", ps, err)
				}
			}},
		{"projects spec sample", "GET", "/acme/_apis/projects", "core.projects.list.json", nil,
			func(t *testing.T, c *Client) {
				ps, err := c.ListProjects(ctx)
				if err != nil || len(ps) != 3 || ps[2].Name != "TestGit" || ps[0].State != "wellFormed" {
					t.Fatalf("projects = %+v, %v", ps, err)
				}
			}},
		{"repositories", "GET", "/acme/Proj/_apis/git/repositories", "git.repositories.list.real.json", nil,
			func(t *testing.T, c *Client) {
				rs, err := c.Repositories(ctx, "Proj")
				if err != nil || len(rs) != 2 || rs[1].Name != "test_repo2" || rs[1].Project.Name != "test_project" ||
					rs[0].DefaultBranch != "refs/heads/main" || rs[0].IsDisabled || rs[1].Size != 37687 {
					t.Fatalf("repos = %+v, %v", rs, err)
				}
			}},
		{"commits with changeCounts", "GET", "/acme/Proj/_apis/git/repositories/repo1/commits", "git.commits.list.real.json",
			map[string]string{"searchCriteria.$top": "100", "searchCriteria.fromDate": "2022-03-01T00:00:00Z",
				"searchCriteria.toDate": "2022-03-31T00:00:00Z", "searchCriteria.itemVersion.version": "main",
				"searchCriteria.includeWorkItems": "true"},
			func(t *testing.T, c *Client) {
				cs, err := Collect(c.Commits(ctx, "Proj", "repo1", CommitQuery{
					FromDate: time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC), ToDate: time.Date(2022, 3, 31, 0, 0, 0, 0, time.UTC),
					ItemVersion: "main", IncludeWorkItems: true}))
				if err != nil || len(cs) != 3 || cs[0].CommitID != "e0aee6aa543294d62520fb906689da6710af149c" ||
					cs[0].ChangeCounts == nil || cs[0].ChangeCounts.Delete != 1 || cs[1].ChangeCounts.Edit != 1 ||
					cs[2].Author.Email != "tp@harness.io" || cs[2].Committer.Date.IsZero() {
					t.Fatalf("commits = %+v, %v", cs, err)
				}
			}},
		{"commits spec sample", "GET", "/commits", "git.commits.list.fromDate-toDate.json", nil,
			func(t *testing.T, c *Client) {
				cs, err := Collect(c.Commits(ctx, "Proj", "r", CommitQuery{}))
				if err != nil || len(cs) == 0 || cs[0].CommitID == "" || cs[0].ChangeCounts == nil {
					t.Fatalf("commits = %+v, %v", cs, err)
				}
			}},
		{"pushes", "GET", "/acme/Proj/_apis/git/repositories/repo1/pushes", "git.pushes.list.fromDate-toDate.json", map[string]string{"$top": "100"},
			func(t *testing.T, c *Client) {
				ps, err := Collect(c.Pushes(ctx, "Proj", "repo1", PushQuery{}))
				if err != nil || len(ps) != 3 || ps[0].PushID != 3 || ps[0].PushedBy.DisplayName != "Chuck Reinhart" ||
					ps[0].Repository.Name != "Fabrikam-Fiber-Git" || ps[2].Date.Year() != 2014 {
					t.Fatalf("pushes = %+v, %v", ps, err)
				}
			}},
		{"pull requests by repo", "GET", "/acme/Proj/_apis/git/repositories/repo1/pullrequests", "git.pullrequests.list.json",
			map[string]string{"searchCriteria.status": "all", "$top": "100"},
			func(t *testing.T, c *Client) {
				prs, err := Collect(c.PullRequests(ctx, "Proj", "repo1", PullRequestQuery{}))
				if err != nil || len(prs) == 0 || prs[0].PullRequestID == 0 || prs[0].CreatedBy.ID == "" ||
					prs[0].LastMergeSourceCommit == nil || prs[0].CreationDate.IsZero() {
					t.Fatalf("prs = %+v, %v", prs, err)
				}
			}},
		{"pull requests by project", "GET", "/acme/Proj/_apis/git/pullrequests", "git.pullrequests.list.by-project.json",
			map[string]string{"searchCriteria.status": "all", "searchCriteria.repositoryId": "r9"},
			func(t *testing.T, c *Client) {
				prs, err := Collect(c.PullRequests(ctx, "Proj", "", PullRequestQuery{RepositoryID: "r9"}))
				if err != nil || len(prs) == 0 || prs[0].Repository.ID == "" {
					t.Fatalf("prs = %+v, %v", prs, err)
				}
			}},
		{"pull request get (real)", "GET", "/acme/Proj/_apis/git/repositories/repo1/pullRequests/19", "git.pullrequest.get.real.json",
			map[string]string{"includeWorkItemRefs": "true", "includeCommits": "true"},
			func(t *testing.T, c *Client) {
				pr, err := c.PullRequest(ctx, "Proj", "repo1", 19, PullRequestOptions{IncludeCommits: true, IncludeWorkItemRefs: true})
				if err != nil || pr.PullRequestID != 19 || pr.Status != "completed" || pr.ClosedDate.Year() != 2022 ||
					pr.LastMergeSourceCommit.CommitID != "01768d964c03e97260af0bd8cd9e5cd1f9ac6356" || pr.Repository.Name != "test_repo2" {
					t.Fatalf("pr = %+v, %v", pr, err)
				}
			}},
		{"pull request item (real, .NET zero date)", "GET", "/acme/Proj/_apis/git/pullrequests/1", "git.pullrequest.item.real.json", nil,
			func(t *testing.T, c *Client) {
				pr, err := c.PullRequest(ctx, "Proj", "", 1, PullRequestOptions{})
				if err != nil || pr.Reviewers[0].Vote != 0 || pr.Labels[0].Name != "feature" || !pr.ClosedDate.IsZero() ||
					pr.LastMergeCommit.CommitID != "ebc6c7a2a5e3c155510d0ba44fd4385bf7ae6e22" {
					t.Fatalf("pr = %+v, %v", pr, err)
				}
			}},
		{"pull request get (spec)", "GET", "/pullRequests/22", "git.pullrequest.get.json", nil,
			func(t *testing.T, c *Client) {
				pr, err := c.PullRequest(ctx, "Proj", "r", 22, PullRequestOptions{})
				if err != nil || pr.PullRequestID == 0 {
					t.Fatalf("pr = %+v, %v", pr, err)
				}
			}},
		{"threads", "GET", "/acme/Proj/_apis/git/repositories/repo1/pullRequests/22/threads", "git.pullrequest.threads.list.json", nil,
			func(t *testing.T, c *Client) {
				ts, err := c.PullRequestThreads(ctx, "Proj", "repo1", 22)
				if err != nil || len(ts) < 3 || ts[0].Type() != "MergeAttempt" || ts[2].Type() != "VoteUpdate" ||
					ts[2].Property("CodeReviewVoteResult") != "10" || ts[1].Property("CodeReviewReviewersUpdatedNumAdded") != "1" ||
					ts[2].Comments[0].CommentType != "system" || ts[2].PublishedDate.IsZero() {
					t.Fatalf("threads = %+v, %v", ts, err)
				}
			}},
		{"reviewers", "GET", "/pullRequests/22/reviewers", "git.pullrequest.reviewers.list.json", nil,
			func(t *testing.T, c *Client) {
				rs, err := c.PullRequestReviewers(ctx, "Proj", "repo1", 22)
				if err != nil || len(rs) != 1 || rs[0].DisplayName != "Normal Paulk" || rs[0].ReviewerURL == "" {
					t.Fatalf("reviewers = %+v, %v", rs, err)
				}
			}},
		{"pr work items (string ids)", "GET", "/pullRequests/22/workitems", "git.pullrequest.workitems.list.json", nil,
			func(t *testing.T, c *Client) {
				ws, err := c.PullRequestWorkItems(ctx, "Proj", "repo1", 22)
				if err != nil || len(ws) != 1 || ws[0].ID != "1" {
					t.Fatalf("work items = %+v, %v", ws, err)
				}
				if n, err := ws[0].IntID(); err != nil || n != 1 {
					t.Fatalf("IntID = %d, %v", n, err)
				}
			}},
		{"pr commits", "GET", "/pullRequests/22/commits", "git.commits.list.real.json", map[string]string{"$top": "100"},
			func(t *testing.T, c *Client) {
				cs, err := Collect(c.PullRequestCommits(ctx, "Proj", "repo1", 22))
				if err != nil || len(cs) != 3 {
					t.Fatalf("pr commits = %+v, %v", cs, err)
				}
			}},
		{"builds (legacy list)", "GET", "/acme/Proj/_apis/build/builds", "build.builds.list.top-1.json",
			map[string]string{"deletedFilter": "excludeDeleted", "queryOrder": "queueTimeDescending", "minTime": "2026-02-01T00:00:00Z", "$top": "100"},
			func(t *testing.T, c *Client) {
				bs, err := Collect(c.Builds(ctx, "Proj", BuildQuery{QueryOrder: "queueTimeDescending", MinTime: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}))
				if err != nil || len(bs) != 1 || bs[0].ID == 0 || bs[0].Definition.Name == "" || bs[0].Status != "completed" {
					t.Fatalf("builds = %+v, %v", bs, err)
				}
			}},
		{"timeline", "GET", "/acme/Proj/_apis/build/builds/391/timeline", "build.timeline.get.json", nil,
			func(t *testing.T, c *Client) {
				tl, err := c.BuildTimeline(ctx, "Proj", 391)
				if err != nil || len(tl.Records) == 0 || tl.Records[0].Type != "Task" || tl.Records[0].Log == nil || tl.Records[0].FinishTime.IsZero() {
					t.Fatalf("timeline = %+v, %v", tl, err)
				}
			}},
		{"release deployments", "GET", "/acme/Proj/_apis/release/deployments", "release.deployments.list.json", nil,
			func(t *testing.T, c *Client) {
				ds, err := Collect(c.ReleaseDeployments(ctx, "Proj", ReleaseDeploymentQuery{DeploymentStatus: "all"}))
				if err != nil || len(ds) != 17 || ds[0].ID != 79 || ds[0].ReleaseEnvironment.Name != "PROD" ||
					ds[0].DeploymentStatus != "notDeployed" || !ds[0].QueuedOn.IsZero() || ds[0].StartedOn.IsZero() {
					t.Fatalf("deployments = %d %+v, %v", len(ds), ds[:min(1, len(ds))], err)
				}
			}},
		{"wiql", "POST", "/acme/Proj/_apis/wit/wiql", "wit.wiql.post.flat.json", map[string]string{"timePrecision": "true", "$top": "50"},
			func(t *testing.T, c *Client) {
				r, err := c.Wiql(ctx, "Proj", "SELECT [System.Id] FROM WorkItems", 50)
				if err != nil || r.QueryType != "flat" || len(r.IDs()) == 0 || r.IDs()[0] != 300 || r.Columns[1].ReferenceName != "System.Title" {
					t.Fatalf("wiql = %+v, %v", r, err)
				}
			}},
		{"wiql links", "POST", "/_apis/wit/wiql", "wit.wiql.post.links.json", nil,
			func(t *testing.T, c *Client) {
				r, err := c.Wiql(ctx, "", "SELECT [System.Id] FROM WorkItemLinks", 0)
				if err != nil || len(r.WorkItemRelations) == 0 || r.WorkItemRelations[len(r.WorkItemRelations)-1].Target == nil {
					t.Fatalf("wiql = %+v, %v", r, err)
				}
			}},
		{"work items batch", "POST", "/acme/Proj/_apis/wit/workitemsbatch", "wit.workitemsbatch.json", nil,
			func(t *testing.T, c *Client) {
				ws, err := c.WorkItems(ctx, "Proj", []int{297, 299, 300}, WorkItemsOptions{Fields: []string{"System.Id", "System.Title"}})
				if err != nil || len(ws) != 3 || ws[1].Field("System.WorkItemType") != "Task" || ws[1].Field("Microsoft.VSTS.Scheduling.RemainingWork") != "4" {
					t.Fatalf("work items = %+v, %v", ws, err)
				}
			}},
		{"work items expand all", "POST", "/_apis/wit/workitemsbatch", "wit.workitems.list.expand-all.json", nil,
			func(t *testing.T, c *Client) {
				ws, err := c.WorkItems(ctx, "Proj", []int{297}, WorkItemsOptions{Expand: "all"})
				if err != nil || len(ws) == 0 || ws[0].Field("System.CreatedBy") != "Jamal Hartnett" {
					t.Fatalf("work items = %+v, %v", ws, err)
				}
			}},
		{"hooks list (real)", "GET", "/acme/_apis/hooks/subscriptions", "hooks.subscriptions.list.real.json", map[string]string{"publisherId": "tfs"},
			func(t *testing.T, c *Client) {
				ss, err := c.Subscriptions(ctx, SubscriptionFilter{PublisherID: "tfs"})
				if err != nil || len(ss) != 2 || ss[0].ProjectID() == "" || ss[0].ConsumerInputs["url"] == "" {
					t.Fatalf("subscriptions = %+v, %v", ss, err)
				}
			}},
		{"hooks list (spec)", "GET", "/_apis/hooks/subscriptions", "hooks.subscriptions.list.json", nil,
			func(t *testing.T, c *Client) {
				ss, err := c.Subscriptions(ctx, SubscriptionFilter{})
				if err != nil || len(ss) == 0 {
					t.Fatalf("subscriptions = %+v, %v", ss, err)
				}
			}},
		{"hook get (real)", "GET", "/acme/_apis/hooks/subscriptions/d455cb11-20a0-4b15-b546-7e9fb9973cc6", "hooks.subscriptions.get.real.json", nil,
			func(t *testing.T, c *Client) {
				s, err := c.Subscription(ctx, "d455cb11-20a0-4b15-b546-7e9fb9973cc6")
				if err != nil || s.Status != "enabled" || s.EventType != "git.pullrequest.created" || s.ProbationRetries != 1 ||
					s.ProjectID() != "d350c9c0-7749-4ff8-a78f-f9c1f0e56729" || s.LastProbationRetryDate.IsZero() || s.CreatedBy.UniqueName != "tp@harness.io" {
					t.Fatalf("subscription = %+v, %v", s, err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.json("GET", "/_apis/resourceAreas", 200, []byte(`{"count":0,"value":[]}`))
			f.json(tt.method, tt.suffix, 200, sample(t, tt.sample))
			c, _ := newClient(t, f, ServicesDeployment)
			tt.call(t, c)
			var reqs []*recorded
			for _, r := range f.requests() {
				if !strings.HasSuffix(r.Path, "/resourceAreas") {
					reqs = append(reqs, r)
				}
			}
			if len(reqs) == 0 {
				t.Fatal("no request made")
			}
			r := reqs[0]
			if r.Method != tt.method {
				t.Errorf("method = %s, want %s", r.Method, tt.method)
			}
			for k, want := range tt.query {
				if got := first(r.Query[k]); got != want {
					t.Errorf("query %s = %q, want %q (all: %v)", k, got, want, r.Query)
				}
			}
			if got := first(r.Query["api-version"]); got != "7.1" {
				t.Errorf("api-version = %q, want 7.1", got)
			}
		})
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func TestHooksWriteCalls(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.json("POST", "/acme/_apis/hooks/subscriptions", 200, sample(t, "hooks.subscriptions.create.json"))
	f.json("PUT", "/acme/_apis/hooks/subscriptions/fd672255-8b6b-4769-9260-beea83d752ce", 200, sample(t, "hooks.subscriptions.replace.json"))
	f.on("DELETE", "/acme/_apis/hooks/subscriptions/fd672255-8b6b-4769-9260-beea83d752ce", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	c, _ := newClient(t, f, ServicesDeployment)
	in := SubscriptionInput{PublisherID: "tfs", EventType: "build.complete", ResourceVersion: "1.0-preview.1",
		ConsumerID: "webHooks", ConsumerActionID: "httpRequest",
		PublisherInputs: map[string]string{"projectId": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"},
		ConsumerInputs:  map[string]string{"url": "https://myservice/myhookeventreceiver"}}
	s, err := c.CreateSubscription(ctx, in)
	if err != nil || s.ID != "fd672255-8b6b-4769-9260-beea83d752ce" || s.PublisherInputs["tfsSubscriptionId"] == "" {
		t.Fatalf("create = %+v, %v", s, err)
	}
	var sent SubscriptionInput
	if err := json.Unmarshal(f.requests()[0].Body, &sent); err != nil || sent.EventType != "build.complete" || sent.ConsumerInputs["url"] == "" {
		t.Fatalf("create body = %s (%v)", f.requests()[0].Body, err)
	}
	if _, err := c.ReplaceSubscription(ctx, s.ID, in); err != nil {
		t.Fatalf("replace: %v", err)
	}
	if err := c.DeleteSubscription(ctx, s.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
}

func TestThreadCreateAndCommentUpdate(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.json("POST", "/acme/Proj/_apis/git/repositories/repo1/pullRequests/22/threads", 200, sample(t, "git.pullrequest.threads.create.json"))
	f.json("PATCH", "/acme/Proj/_apis/git/repositories/repo1/pullRequests/22/threads/148/comments/2", 200, sample(t, "git.pullrequest.thread-comments.create.json"))
	c, _ := newClient(t, f, ServicesDeployment)
	th, err := c.CreateThread(ctx, "Proj", "repo1", 22, NewThread{Content: "This new feature looks good!", Properties: map[string]string{"PanDev.Kind": "summary"}})
	if err != nil || th.ID != 147 || th.Status != "active" || th.Comments[0].Content != "This new feature looks good!" {
		t.Fatalf("thread = %+v, %v", th, err)
	}
	var body map[string]any
	json.Unmarshal(f.requests()[0].Body, &body)
	comments := body["comments"].([]any)
	cm := comments[0].(map[string]any)
	if cm["parentCommentId"] != 0.0 || cm["commentType"] != 1.0 || body["status"] != "active" ||
		body["properties"].(map[string]any)["PanDev.Kind"].(map[string]any)["$value"] != "summary" {
		t.Fatalf("create body = %s", f.requests()[0].Body)
	}
	cmt, err := c.UpdateComment(ctx, "Proj", "repo1", 22, 148, 2, "Good idea")
	if err != nil || cmt.ID != 2 || cmt.Content != "Good idea" {
		t.Fatalf("comment = %+v, %v", cmt, err)
	}
	if got := string(f.requests()[1].Body); got != `{"content":"Good idea"}` {
		t.Fatalf("update body = %s", got)
	}
	if _, err := c.CreateThread(ctx, "Proj", "repo1", 22, NewThread{}); err == nil {
		t.Fatal("empty comment accepted")
	}
}

func TestBuildTimelineNoContent(t *testing.T) {
	f := newFake(t)
	f.on("GET", "/timeline", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c, _ := newClient(t, f, ServicesDeployment)
	tl, err := c.BuildTimeline(context.Background(), "Proj", 7)
	if err != nil || len(tl.Records) != 0 {
		t.Fatalf("timeline = %+v, %v", tl, err)
	}
}

func TestBuildItemRealDecodes(t *testing.T) {
	var b Build
	if err := json.Unmarshal(sample(t, "build.item.real.json"), &b); err != nil {
		t.Fatal(err)
	}
	if b.ID != 12 || b.Result != "succeeded" || b.Repository.Type != "GitHub" || b.Definition.Name != "deploy_to_prod" || b.FinishTime.IsZero() {
		t.Fatalf("build = %+v", b)
	}
	var rec TimelineRecord
	if err := json.Unmarshal(sample(t, "build.timeline.record.real.json"), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Type != "Job" || rec.Identifier != "job_2.__default" || rec.Attempt != 1 {
		t.Fatalf("record = %+v", rec)
	}
}

func TestConnectionDataRealDecodes(t *testing.T) {
	var cd ConnectionData
	if err := json.Unmarshal(sample(t, "location.connectiondata.real.json"), &cd); err != nil {
		t.Fatal(err)
	}
	u := cd.AuthenticatedUser
	if cd.DeploymentType != "hosted" || u.ID != "22157d54-1821-6536-a446-928b06348385" || u.DisplayName() != "Soujanya Bestala (MINDTREE LIMITED)" ||
		u.Account() != "v-sbestala@microsoft.com" || cd.LocationServiceData.LastChangeID64 != 424239147 {
		t.Fatalf("connectionData = %+v", cd)
	}
}
