package githubsim

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"
)

// go-github v75 is the client the product will use: every endpoint through it, in both URL
// styles, and its typed rate-limit errors from the simulator's refusals.
func TestGoGitHubClientSmoke(t *testing.T) {
	s := startSim(t, Options{Seed: 4, TLS: true})
	gh := github.NewClient(s.HTTPClient()).WithAuthToken(s.Token())
	ghe, err := github.NewClient(s.HTTPClient()).WithAuthToken(s.Token()).WithEnterpriseURLs(s.URL()+"/", s.URL()+"/")
	if err != nil {
		t.Fatal(err)
	}
	gh.BaseURL, _ = url.Parse(s.URL() + "/")
	for name, c := range map[string]*github.Client{"github.com": gh, "enterprise": ghe} {
		t.Run(name, func(t *testing.T) { goGitHubWalk(t, s, c) })
	}
	// go-github remembers a rate limit and refuses further requests itself until it ends, so
	// each refusal gets a fresh client.
	ctx := context.Background()
	owner, name := s.Org(), s.Truth()[0].FullName[len(s.Org())+1:]
	fresh := func() *github.Client {
		c, _ := github.NewClient(s.HTTPClient()).WithAuthToken(s.Token()).WithEnterpriseURLs(s.URL()+"/", s.URL()+"/")
		return c
	}
	s.SetRateLimits(RateLimits{SecondaryNext: 1, RetryAfter: 42})
	_, _, err = fresh().Repositories.Get(ctx, owner, name)
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 42*time.Second {
		t.Errorf("secondary limit: %T %v", err, err)
	}
	zero, full := 0, DefaultRateLimit
	s.SetRateLimits(RateLimits{Remaining: &zero})
	_, _, err = fresh().Repositories.Get(ctx, owner, name)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Remaining != 0 || rle.Rate.Limit != DefaultRateLimit {
		t.Errorf("primary limit: %T %v", err, err)
	}
	s.SetRateLimits(RateLimits{Remaining: &full})
}

func goGitHubWalk(t *testing.T, s *Sim, c *github.Client) {
	ctx := context.Background()
	must := func(what string, resp *github.Response, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	org, repoFull := s.Org(), s.Truth()[0]
	owner, name := org, repoFull.FullName[len(org)+1:]
	u, resp, err := c.Users.Get(ctx, "")
	must("Users.Get", resp, err)
	if u.GetLogin() != "octo-admin" {
		t.Errorf("user %q", u.GetLogin())
	}
	orgs, resp, err := c.Organizations.List(ctx, "", nil)
	must("Organizations.List", resp, err)
	if len(orgs) != 1 || orgs[0].GetLogin() != org {
		t.Errorf("orgs %v", orgs)
	}
	_, resp, err = c.Organizations.Get(ctx, org)
	must("Organizations.Get", resp, err)
	repos, resp, err := c.Repositories.ListByOrg(ctx, org, &github.RepositoryListByOrgOptions{ListOptions: github.ListOptions{PerPage: 1}})
	must("ListByOrg", resp, err)
	if len(repos) != 1 || resp.NextPage != 2 || resp.LastPage != len(s.Repos()) {
		t.Errorf("ListByOrg page 1: %d repos, next %d last %d", len(repos), resp.NextPage, resp.LastPage)
	}
	_, resp, err = c.Repositories.ListByAuthenticatedUser(ctx, nil)
	must("ListByAuthenticatedUser", resp, err)
	repo, resp, err := c.Repositories.Get(ctx, owner, name)
	must("Repositories.Get", resp, err)
	if repo.GetID() != repoFull.ID || repo.GetDefaultBranch() != "main" {
		t.Errorf("repo %d %s", repo.GetID(), repo.GetDefaultBranch())
	}
	commits, resp, err := c.Repositories.ListCommits(ctx, owner, name, &github.CommitsListOptions{SHA: "main", Since: time.Now().AddDate(-1, 0, 0), ListOptions: github.ListOptions{PerPage: 100}})
	must("ListCommits", resp, err)
	cm, resp, err := c.Repositories.GetCommit(ctx, owner, name, commits[0].GetSHA(), nil)
	must("GetCommit", resp, err)
	if cm.GetStats().GetTotal() == 0 || len(cm.Files) == 0 {
		t.Errorf("commit without stats or files: %+v", cm.GetStats())
	}
	// Every pull request, walked by NextPage, equals the ground truth.
	opt := &github.PullRequestListOptions{State: "all", Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 20}}
	seen := map[int]*github.PullRequest{}
	for {
		prs, resp, err := c.PullRequests.List(ctx, owner, name, opt)
		must("PullRequests.List", resp, err)
		for _, p := range prs {
			seen[p.GetNumber()] = p
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if len(seen) != len(repoFull.Pulls) {
		t.Errorf("walked %d pull requests, truth has %d", len(seen), len(repoFull.Pulls))
	}
	for _, tp := range repoFull.Pulls {
		p := seen[tp.Number]
		if p == nil || p.GetState() != tp.State || !p.GetCreatedAt().Time.Equal(tp.CreatedAt) || (tp.MergedAt != nil) != (p.MergedAt != nil) {
			t.Errorf("pull %d differs from truth: %+v vs %+v", tp.Number, p, tp)
			break
		}
	}
	n := repoFull.Pulls[len(repoFull.Pulls)-1].Number
	pr, resp, err := c.PullRequests.Get(ctx, owner, name, n)
	must("PullRequests.Get", resp, err)
	_, resp, err = c.PullRequests.ListCommits(ctx, owner, name, n, nil)
	must("PullRequests.ListCommits", resp, err)
	_, resp, err = c.PullRequests.ListReviews(ctx, owner, name, n, nil)
	must("ListReviews", resp, err)
	_, resp, err = c.PullRequests.ListComments(ctx, owner, name, n, nil)
	must("PullRequests.ListComments", resp, err)
	issues, resp, err := c.Issues.ListByRepo(ctx, owner, name, &github.IssueListByRepoOptions{State: "all", Since: time.Now().AddDate(-1, 0, 0), ListOptions: github.ListOptions{PerPage: 100}})
	must("Issues.ListByRepo", resp, err)
	prIssues := 0
	for _, i := range issues {
		if i.IsPullRequest() {
			prIssues++
		}
	}
	if prIssues == 0 {
		t.Error("no pull request among the issues")
	}
	_, resp, err = c.Issues.Get(ctx, owner, name, n)
	must("Issues.Get", resp, err)
	_, resp, err = c.Issues.ListComments(ctx, owner, name, n, nil)
	must("Issues.ListComments", resp, err)
	ic, resp, err := c.Issues.CreateComment(ctx, owner, name, pr.GetNumber(), &github.IssueComment{Body: github.Ptr("PanDev: lead time 3h")})
	must("CreateComment", resp, err)
	_, resp, err = c.Issues.EditComment(ctx, owner, name, ic.GetID(), &github.IssueComment{Body: github.Ptr("PanDev: lead time 4h")})
	must("EditComment", resp, err)
	runs, resp, err := c.Actions.ListRepositoryWorkflowRuns(ctx, owner, name, &github.ListWorkflowRunsOptions{Created: ">=2000-01-01", ListOptions: github.ListOptions{PerPage: 10}})
	must("ListRepositoryWorkflowRuns", resp, err)
	if runs.GetTotalCount() != repoFull.Runs || len(runs.WorkflowRuns) != 10 {
		t.Errorf("runs: total %d (truth %d), page %d", runs.GetTotalCount(), repoFull.Runs, len(runs.WorkflowRuns))
	}
	deps, resp, err := c.Repositories.ListDeployments(ctx, owner, name, nil)
	must("ListDeployments", resp, err)
	_, resp, err = c.Repositories.ListDeploymentStatuses(ctx, owner, name, deps[0].GetID(), nil)
	must("ListDeploymentStatuses", resp, err)
	envs, resp, err := c.Repositories.ListEnvironments(ctx, owner, name, nil)
	must("ListEnvironments", resp, err)
	if envs.GetTotalCount() != 2 {
		t.Errorf("environments: %d", envs.GetTotalCount())
	}
	rc := newReceiver(t)
	hk, resp, err := c.Repositories.CreateHook(ctx, owner, name, &github.Hook{Events: []string{"pull_request"}, Active: github.Ptr(true),
		Config: &github.HookConfig{URL: github.Ptr(rc.url), ContentType: github.Ptr("json"), Secret: github.Ptr("x")}})
	must("CreateHook", resp, err)
	_, resp, err = c.Repositories.ListHooks(ctx, owner, name, nil)
	must("ListHooks", resp, err)
	_, resp, err = c.Repositories.EditHook(ctx, owner, name, hk.GetID(), &github.Hook{Events: []string{"pull_request", "push"}})
	must("EditHook", resp, err)
	resp, err = c.Repositories.PingHook(ctx, owner, name, hk.GetID())
	must("PingHook", resp, err)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.WaitDeliveries(wctx, len(s.Deliveries())); err != nil {
		t.Fatal(err)
	}
	dl, resp, err := c.Repositories.ListHookDeliveries(ctx, owner, name, hk.GetID(), nil)
	must("ListHookDeliveries", resp, err)
	if len(dl) != 2 || dl[0].GetEvent() != "ping" {
		t.Errorf("deliveries: %d", len(dl))
	}
	_, _, err = c.Repositories.RedeliverHookDelivery(ctx, owner, name, hk.GetID(), dl[0].GetID())
	var acc *github.AcceptedError // GitHub answers 202; go-github reports it as AcceptedError
	if !errors.As(err, &acc) {
		t.Errorf("redeliver: %v", err)
	}
	resp, err = c.Repositories.DeleteHook(ctx, owner, name, hk.GetID())
	must("DeleteHook", resp, err)
	rl, resp, err := c.RateLimit.Get(ctx)
	must("RateLimit.Get", resp, err)
	if rl.GetCore().Limit != DefaultRateLimit {
		t.Errorf("core limit %d", rl.GetCore().Limit)
	}
	_, resp, err = c.Repositories.Get(ctx, owner, "nope")
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != 404 || er.Message != "Not Found" {
		t.Errorf("unknown repository: %v", err)
	}
}
