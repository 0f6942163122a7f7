package githubapi

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// A Permission is one thing the product needs of a token, tested with a
// harmless call on one repository the token sees.
type Permission struct {
	// Key is GitHub's fine-grained name: "contents", "pull_requests", …
	Key string `json:"key"`
	// Label is the token page's words: "Contents: Read".
	Label string `json:"label"`
	// Classic is the classic token's scope that grants it.
	Classic string `json:"classic"`
	// Required permissions block Activate when missing; the others leave
	// a part out of the figures (Breaks).
	Required bool `json:"required"`
	// Breaks is what a missing one leaves out, in the user's words.
	Breaks string `json:"breaks"`
	// Call is the harmless request that tested it.
	Call string `json:"call"`
	// OK is the result; Untested is true when no call can test it without
	// writing (it is then checked on first use and reported there).
	OK       bool   `json:"ok"`
	Untested bool   `json:"untested,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// permissions are what the product needs, in the order the check shows.
// Sources: GitHub's "Permissions required for fine-grained personal access
// tokens" and each endpoint's "Fine-grained access tokens" section.
var permissions = []Permission{
	{Key: "metadata", Label: "Metadata: Read", Classic: "repo", Required: true,
		Breaks: "everything: repositories cannot be listed", Call: "GET /repos/{owner}/{repo}"},
	{Key: "contents", Label: "Contents: Read", Classic: "repo", Required: true,
		Breaks: "commits, lead time for changes", Call: "GET /repos/{owner}/{repo}/commits?per_page=1"},
	{Key: "pull_requests", Label: "Pull requests: Read", Classic: "repo", Required: true,
		Breaks: "pull requests, reviews and the PR flow", Call: "GET /repos/{owner}/{repo}/pulls?state=all&per_page=1"},
	{Key: "issues", Label: "Issues: Read", Classic: "repo",
		Breaks: "issues as work items and incidents by label (change failure rate, recovery time)", Call: "GET /repos/{owner}/{repo}/issues?state=all&per_page=1"},
	{Key: "actions", Label: "Actions: Read", Classic: "repo",
		Breaks: "GitHub Actions workflow runs (deployment frequency from workflows)", Call: "GET /repos/{owner}/{repo}/actions/runs?per_page=1"},
	{Key: "deployments", Label: "Deployments: Read", Classic: "repo",
		Breaks: "deployments and their statuses (deployment frequency, change failure rate)", Call: "GET /repos/{owner}/{repo}/deployments?per_page=1"},
	{Key: "webhooks", Label: "Webhooks: Read and write", Classic: "admin:repo_hook",
		Breaks: "live updates: activity then arrives with the reconciliation every 15 minutes", Call: "GET /repos/{owner}/{repo}/hooks?per_page=1"},
}

// Permissions are the product's needs, untested (for the settings page
// and the user guide).
func Permissions() []Permission { return append([]Permission(nil), permissions...) }

// Problem is a reason Activate cannot go on, with the way out.
type Problem struct {
	Message string `json:"message"`
	Hint    string `json:"hint"`
}

// CheckResult is what Check connection found.
type CheckResult struct {
	OK         bool   `json:"ok"`
	Web        string `json:"web"`
	Enterprise bool   `json:"enterprise"`
	// Version is an Enterprise Server's (X-GitHub-Enterprise-Version).
	Version string `json:"version,omitempty"`
	Login   string `json:"login"`
	Name    string `json:"name,omitempty"`
	// TokenKind is "fine-grained", "classic" or "other".
	TokenKind string `json:"token_kind"`
	// Scopes are a classic token's (X-OAuth-Scopes).
	Scopes        []string `json:"scopes,omitempty"`
	Organizations []string `json:"organizations"`
	// Repositories is how many repositories the token sees.
	Repositories int `json:"repositories"`
	// Sample is the repository the permissions were tested on.
	Sample      string       `json:"sample,omitempty"`
	Permissions []Permission `json:"permissions"`
	Problems    []Problem    `json:"problems,omitempty"`
	// Calls is what the check spent (every call counts but 304s).
	Calls int `json:"calls"`
}

// Check connection: who the token is, the organizations and how many
// repositories it sees, and each permission tested with a harmless call on
// the most recently pushed repository. Problems name what blocks Activate.
// An error is returned only when GitHub cannot be asked at all (unreachable,
// a refused token, an unusable API base).
func (c *Client) Check(ctx context.Context) (res CheckResult, err error) {
	res = CheckResult{Web: c.api.Web, Enterprise: c.api.Enterprise}
	before := c.calls.Snapshot().Counted
	defer func() { res.Calls = c.calls.Snapshot().Counted - before }()

	user, resp, err := do(ctx, func(ctx context.Context) (*github.User, *github.Response, error) {
		return c.gh.Users.Get(ctx, "")
	})
	if err != nil {
		return res, err
	}
	res.Login, res.Name = user.GetLogin(), user.GetName()
	res.Version = resp.Header.Get("X-GitHub-Enterprise-Version")
	res.TokenKind, res.Scopes = tokenKind(resp.Response)

	orgs, _, err := do(ctx, func(ctx context.Context) ([]*github.Organization, *github.Response, error) {
		return c.gh.Organizations.List(ctx, "", &github.ListOptions{PerPage: 100})
	})
	if err != nil && delivery.KindOf(err) != delivery.KindUpstream { // a token without read:org still works
		return res, err
	}
	for _, o := range orgs {
		res.Organizations = append(res.Organizations, o.GetLogin())
	}
	sort.Strings(res.Organizations)

	// One repository per page: the last page's number is how many there are.
	repos, resp, err := do(ctx, func(ctx context.Context) ([]*github.Repository, *github.Response, error) {
		return c.gh.Repositories.ListByAuthenticatedUser(ctx, &github.RepositoryListByAuthenticatedUserOptions{
			Sort: "pushed", ListOptions: github.ListOptions{PerPage: 1}})
	})
	if err != nil {
		return res, err
	}
	res.Repositories = len(repos)
	if resp.LastPage > 0 {
		res.Repositories = resp.LastPage
	}
	res.Permissions = Permissions()
	if len(repos) == 0 {
		res.Problems = append(res.Problems, Problem{
			Message: "The token sees no repository",
			Hint:    "Fine-grained token: under Repository access pick All repositories or the ones to measure; classic token: give it the repo scope"})
		for i := range res.Permissions {
			res.Permissions[i].Detail = "no repository to test on"
		}
		return res, nil
	}
	owner, name := repos[0].GetOwner().GetLogin(), repos[0].GetName()
	res.Sample = owner + "/" + name
	for i := range res.Permissions {
		p := &res.Permissions[i]
		p.Call = strings.NewReplacer("{owner}", owner, "{repo}", name).Replace(p.Call)
		err := c.probe(ctx, p.Key, owner, name)
		p.OK = err == nil
		if err != nil {
			if k := delivery.KindOf(err); k != delivery.KindUpstream && k != delivery.KindNotFound {
				return res, err // GitHub itself failed: no verdict
			}
			p.Detail = err.Error()
			msg := "The token lacks " + p.Label + " on " + res.Sample + ": " + p.Breaks
			hint := "Give the token " + p.Label + " (fine-grained) or the " + p.Classic + " scope (classic), then Check connection again"
			if p.Key == "webhooks" {
				hint += "; webhooks also need admin rights on the repository"
			}
			if p.Required {
				res.Problems = append(res.Problems, Problem{Message: msg, Hint: hint})
			}
		}
	}
	res.OK = len(res.Problems) == 0
	return res, nil
}

// Probe makes Check connection's harmless call for one permission (its
// Key) on one repository: nil when the token has it there.
func (c *Client) Probe(ctx context.Context, key, owner, repo string) error {
	return c.probe(ctx, key, owner, repo)
}

// probe makes the harmless call that tests one permission.
func (c *Client) probe(ctx context.Context, key, owner, repo string) error {
	one := &github.ListOptions{PerPage: 1}
	var err error
	switch key {
	case "metadata":
		_, _, err = c.gh.Repositories.Get(ctx, owner, repo)
	case "contents":
		_, _, err = c.gh.Repositories.ListCommits(ctx, owner, repo, &github.CommitsListOptions{ListOptions: *one})
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response.StatusCode == http.StatusConflict { // "Git Repository is empty."
			err = nil
		}
	case "pull_requests":
		_, _, err = c.gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: "all", ListOptions: *one})
	case "issues":
		_, _, err = c.gh.Issues.ListByRepo(ctx, owner, repo, &github.IssueListByRepoOptions{State: "all", ListOptions: *one})
	case "actions":
		_, _, err = c.gh.Actions.ListRepositoryWorkflowRuns(ctx, owner, repo, &github.ListWorkflowRunsOptions{ListOptions: *one})
	case "deployments":
		_, _, err = c.gh.Repositories.ListDeployments(ctx, owner, repo, &github.DeploymentsListOptions{ListOptions: *one})
	case "webhooks":
		_, _, err = c.gh.Repositories.ListHooks(ctx, owner, repo, one)
	}
	return Classify(err)
}

// tokenKind reads what kind of token answered: GitHub sends a classic
// token's scopes in X-OAuth-Scopes; a fine-grained token has no such header
// (and starts "github_pat_").
func tokenKind(resp *http.Response) (string, []string) {
	if resp == nil {
		return "other", nil
	}
	raw, classic := resp.Header["X-Oauth-Scopes"]
	if !classic {
		return "fine-grained", nil
	}
	var scopes []string
	for _, v := range raw {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				scopes = append(scopes, s)
			}
		}
	}
	sort.Strings(scopes)
	return "classic", scopes
}
