package githubsim

import (
	"crypto/rand"
	"slices"
	"sort"
	"strings"
)

// The permission table: which classic PAT scopes and which fine-grained PAT permissions each
// endpoint accepts. This is the one place these rules live.
//
// Sources:
//   - Fine-grained permissions: GitHub Docs, "Permissions required for fine-grained personal
//     access tokens" (https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens):
//     "Repository permissions for Pull requests / Contents / Issues / Actions / Deployments /
//     Webhooks / Metadata"; endpoints marked with "Additional permissions" accept any one of a set
//     (issue comments: issues or pull_requests). Every fine-grained token carries metadata:read
//     (the page: "Metadata ... mandatory"). GitHub answers a missing one with 403 "Resource not
//     accessible by personal access token" and the X-Accepted-GitHub-Permissions header
//     ("Troubleshooting the REST API", same docs).
//   - Classic scopes: the OpenAPI description of each operation (@octokit/openapi,
//     api.github.com.json, "OAuth app tokens and personal access tokens (classic) need the `repo`
//     scope to use this endpoint with a private repository"; webhooks: `read:repo_hook`,
//     `write:repo_hook`, `admin:repo_hook` or `repo`; GET /user/orgs: "at least `user` or
//     `read:org` scope ... insufficient scope will receive a 403"). GitHub answers a classic token
//     without the scope for a private repository with 404 (it does not reveal the repository) and
//     names the accepted scopes in X-Accepted-OAuth-Scopes.
//   - GET /user/orgs with a fine-grained token: the OpenAPI description: "Requests using a
//     fine-grained access token will receive a 200 Success response with an empty list."

// rule is one endpoint's requirement.
type rule struct {
	// Scopes are the classic scopes any one of which grants the endpoint on a private
	// repository (or, for non-repository endpoints, at all). Empty: none needed.
	Scopes []string
	// Perms are fine-grained permissions "name=level" any one of which grants it. Empty: none.
	Perms []string
	// Doc is the documentation_url GitHub writes in this endpoint's error bodies.
	Doc string
}

var (
	hookRead   = []string{"admin:repo_hook", "write:repo_hook", "read:repo_hook", "repo"}
	hookWrite  = []string{"admin:repo_hook", "write:repo_hook", "repo"}
	hookDelete = []string{"admin:repo_hook", "repo"}
	repoScope  = []string{"repo"}
)

// permissionTable maps a route pattern (as routes.go registers it) to its rule.
var permissionTable = map[string]rule{
	"GET /user":                                           {Doc: "https://docs.github.com/rest/users/users#get-the-authenticated-user"},
	"GET /user/orgs":                                      {Scopes: []string{"user", "read:org"}, Doc: "https://docs.github.com/rest/orgs/orgs#list-organizations-for-the-authenticated-user"},
	"GET /orgs/{org}":                                     {Doc: "https://docs.github.com/rest/orgs/orgs#get-an-organization"},
	"GET /orgs/{org}/repos":                               {Perms: []string{"metadata=read"}, Doc: "https://docs.github.com/rest/repos/repos#list-organization-repositories"},
	"GET /user/repos":                                     {Perms: []string{"metadata=read"}, Doc: "https://docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user"},
	"GET /repos/{owner}/{repo}":                           {Scopes: repoScope, Perms: []string{"metadata=read"}, Doc: "https://docs.github.com/rest/repos/repos#get-a-repository"},
	"GET /repos/{owner}/{repo}/commits":                   {Scopes: repoScope, Perms: []string{"contents=read"}, Doc: "https://docs.github.com/rest/commits/commits#list-commits"},
	"GET /repos/{owner}/{repo}/commits/{ref}":             {Scopes: repoScope, Perms: []string{"contents=read"}, Doc: "https://docs.github.com/rest/commits/commits#get-a-commit"},
	"GET /repos/{owner}/{repo}/pulls":                     {Scopes: repoScope, Perms: []string{"pull_requests=read"}, Doc: "https://docs.github.com/rest/pulls/pulls#list-pull-requests"},
	"GET /repos/{owner}/{repo}/pulls/{number}":            {Scopes: repoScope, Perms: []string{"pull_requests=read"}, Doc: "https://docs.github.com/rest/pulls/pulls#get-a-pull-request"},
	"GET /repos/{owner}/{repo}/pulls/{number}/commits":    {Scopes: repoScope, Perms: []string{"pull_requests=read"}, Doc: "https://docs.github.com/rest/pulls/pulls#list-commits-on-a-pull-request"},
	"GET /repos/{owner}/{repo}/pulls/{number}/reviews":    {Scopes: repoScope, Perms: []string{"pull_requests=read"}, Doc: "https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request"},
	"GET /repos/{owner}/{repo}/pulls/{number}/comments":   {Scopes: repoScope, Perms: []string{"pull_requests=read"}, Doc: "https://docs.github.com/rest/pulls/comments#list-review-comments-on-a-pull-request"},
	"GET /repos/{owner}/{repo}/issues":                    {Scopes: repoScope, Perms: []string{"issues=read"}, Doc: "https://docs.github.com/rest/issues/issues#list-repository-issues"},
	"GET /repos/{owner}/{repo}/issues/{number}":           {Scopes: repoScope, Perms: []string{"issues=read", "pull_requests=read"}, Doc: "https://docs.github.com/rest/issues/issues#get-an-issue"},
	"GET /repos/{owner}/{repo}/issues/{number}/comments":  {Scopes: repoScope, Perms: []string{"issues=read", "pull_requests=read"}, Doc: "https://docs.github.com/rest/issues/comments#list-issue-comments"},
	"POST /repos/{owner}/{repo}/issues/{number}/comments": {Scopes: repoScope, Perms: []string{"issues=write", "pull_requests=write"}, Doc: "https://docs.github.com/rest/issues/comments#create-an-issue-comment"},
	"PATCH /repos/{owner}/{repo}/issues/comments/{id}":    {Scopes: repoScope, Perms: []string{"issues=write", "pull_requests=write"}, Doc: "https://docs.github.com/rest/issues/comments#update-an-issue-comment"},
	"GET /repos/{owner}/{repo}/actions/runs":              {Scopes: repoScope, Perms: []string{"actions=read"}, Doc: "https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-repository"},
	"GET /repos/{owner}/{repo}/deployments":               {Scopes: repoScope, Perms: []string{"deployments=read"}, Doc: "https://docs.github.com/rest/deployments/deployments#list-deployments"},
	"GET /repos/{owner}/{repo}/deployments/{id}/statuses": {Scopes: repoScope, Perms: []string{"deployments=read"}, Doc: "https://docs.github.com/rest/deployments/statuses#list-deployment-statuses"},
	// The fine-grained page lists the environments endpoints under "Actions" (read).
	"GET /repos/{owner}/{repo}/environments":                               {Scopes: repoScope, Perms: []string{"actions=read"}, Doc: "https://docs.github.com/rest/deployments/environments#list-environments"},
	"GET /repos/{owner}/{repo}/hooks":                                      {Scopes: hookRead, Perms: []string{"webhooks=read"}, Doc: "https://docs.github.com/rest/repos/webhooks#list-repository-webhooks"},
	"POST /repos/{owner}/{repo}/hooks":                                     {Scopes: hookWrite, Perms: []string{"webhooks=write"}, Doc: "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook"},
	"GET /repos/{owner}/{repo}/hooks/{id}":                                 {Scopes: hookRead, Perms: []string{"webhooks=read"}, Doc: "https://docs.github.com/rest/repos/webhooks#get-a-repository-webhook"},
	"PATCH /repos/{owner}/{repo}/hooks/{id}":                               {Scopes: hookWrite, Perms: []string{"webhooks=write"}, Doc: "https://docs.github.com/rest/repos/webhooks#update-a-repository-webhook"},
	"DELETE /repos/{owner}/{repo}/hooks/{id}":                              {Scopes: hookDelete, Perms: []string{"webhooks=write"}, Doc: "https://docs.github.com/rest/repos/webhooks#delete-a-repository-webhook"},
	"POST /repos/{owner}/{repo}/hooks/{id}/pings":                          {Scopes: hookRead, Perms: []string{"webhooks=read"}, Doc: "https://docs.github.com/rest/repos/webhooks#ping-a-repository-webhook"},
	"GET /repos/{owner}/{repo}/hooks/{id}/deliveries":                      {Scopes: hookRead, Perms: []string{"webhooks=read"}, Doc: "https://docs.github.com/rest/repos/webhooks#list-deliveries-for-a-repository-webhook"},
	"GET /repos/{owner}/{repo}/hooks/{id}/deliveries/{delivery}":           {Scopes: hookRead, Perms: []string{"webhooks=read"}, Doc: "https://docs.github.com/rest/repos/webhooks#get-a-delivery-for-a-repository-webhook"},
	"POST /repos/{owner}/{repo}/hooks/{id}/deliveries/{delivery}/attempts": {Scopes: hookWrite, Perms: []string{"webhooks=write"}, Doc: "https://docs.github.com/rest/repos/webhooks#redeliver-a-delivery-for-a-repository-webhook"},
	"GET /rate_limit": {Doc: "https://docs.github.com/rest/rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user"},
}

// ProductScopes are the classic PAT scopes PanDev's GitHub integration asks an admin for:
// repo (private repositories' code, pull requests, issues, actions, deployments), read:org (the
// organization list) and admin:repo_hook (registering its webhook).
var ProductScopes = []string{"repo", "read:org", "admin:repo_hook"}

// ProductPermissions are the fine-grained PAT permissions PanDev's GitHub integration asks for.
var ProductPermissions = map[string]string{
	"metadata": "read", "contents": "read", "pull_requests": "write", "issues": "write",
	"actions": "read", "deployments": "read", "webhooks": "write", "members": "read",
}

// token is a personal access token the simulator knows.
type token struct {
	value  string
	fine   bool
	owner  *user
	scopes []string          // classic
	perms  map[string]string // fine-grained: name -> read|write
	repos  []string          // fine-grained: selected repositories' full names; nil means all
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomToken(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return prefix + string(b)
}

// NewClassicToken registers a classic PAT (ghp_…) with the given OAuth scopes, owned by the
// organization's admin.
func (s *Sim) NewClassicToken(scopes ...string) string {
	t := &token{value: randomToken("ghp_", 36), owner: s.w.admin, scopes: slices.Clone(scopes)}
	s.mu.Lock()
	s.tokens[t.value] = t
	s.mu.Unlock()
	return t.value
}

// NewFineGrainedToken registers a fine-grained PAT (github_pat_…) with permissions
// (name → "read" or "write"; metadata:read is always added, as GitHub does) on the given
// repositories (full names; none means all of the organization's).
func (s *Sim) NewFineGrainedToken(perms map[string]string, repos ...string) string {
	p := map[string]string{"metadata": "read"}
	for k, v := range perms {
		p[k] = v
	}
	t := &token{value: randomToken("github_pat_", 82), fine: true, owner: s.w.admin, perms: p}
	if len(repos) > 0 {
		t.repos = slices.Clone(repos)
	}
	s.mu.Lock()
	s.tokens[t.value] = t
	s.mu.Unlock()
	return t.value
}

// RevokeToken forgets a token: from then on GitHub answers 401 Bad credentials.
func (s *Sim) RevokeToken(value string) {
	s.mu.Lock()
	delete(s.tokens, value)
	s.mu.Unlock()
}

func (t *token) hasScope(any []string) bool {
	if len(any) == 0 {
		return true
	}
	for _, want := range any {
		if slices.Contains(t.scopes, want) {
			return true
		}
	}
	return false
}

// hasPerm reports whether a fine-grained token holds one of perms ("name=level"); write
// includes read.
func (t *token) hasPerm(perms []string) bool {
	if len(perms) == 0 {
		return true
	}
	for _, p := range perms {
		name, level, _ := strings.Cut(p, "=")
		got := t.perms[name]
		if got == level || (level == "read" && got == "write") {
			return true
		}
	}
	return false
}

func (t *token) seesRepo(r *repo) bool {
	if !t.fine {
		return !r.private || t.hasScope(repoScope)
	}
	return t.repos == nil || slices.Contains(t.repos, r.fullName())
}

// scopeHeader is X-OAuth-Scopes: the token's scopes, sorted and comma-separated.
func (t *token) scopeHeader() string {
	sc := slices.Clone(t.scopes)
	sort.Strings(sc)
	return strings.Join(sc, ", ")
}

// permHeader is X-Accepted-GitHub-Permissions: "pull_requests=read" or, for a choice,
// "issues=read; pull_requests=read" (GitHub separates alternatives with "; ").
func permHeader(perms []string) string { return strings.Join(perms, "; ") }
