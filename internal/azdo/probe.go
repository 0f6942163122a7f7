package azdo

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Scope is one of the four PAT scopes of the manual's Step 1.
type Scope string

// The four scopes, in the manual's order.
const (
	ScopeCodeRead      Scope = "code_read"
	ScopeThreadsWrite  Scope = "pr_threads_read_write"
	ScopeBuildRead     Scope = "build_read"
	ScopeWorkItemsRead Scope = "work_items_read"
)

// Scopes lists the four scopes in the manual's order.
var Scopes = []Scope{ScopeCodeRead, ScopeThreadsWrite, ScopeBuildRead, ScopeWorkItemsRead}

// Optional scopes: not in the manual's Step 1, each adds deployments the
// figures count. Without them everything else is collected and deployments
// come from what Build: Read allows (pipeline runs, their stages and
// timelines).
const (
	// ScopeReleaseRead (vso.release) reads classic release deployments:
	// Deployments_List's security in release.json.
	ScopeReleaseRead Scope = "release_read"
	// ScopeEnvironmentManage (vso.environment_manage) reads YAML environment
	// deployment records: Environments_List's and Environmentdeployment
	// Records_List's security in taskAgent.json (there is no read-only scope).
	ScopeEnvironmentManage Scope = "environment_read_manage"
)

// OptionalScopes lists the optional scopes.
var OptionalScopes = []Scope{ScopeReleaseRead, ScopeEnvironmentManage}

// Required reports a scope of the manual's Step 1.
func (s Scope) Required() bool {
	switch s {
	case ScopeReleaseRead, ScopeEnvironmentManage:
		return false
	}
	return true
}

// ScopeState is the outcome of one probe.
type ScopeState string

// Probe outcomes.
const (
	ScopeGranted   ScopeState = "granted"   // the cheap call worked
	ScopeMissing   ScopeState = "missing"   // 401/203 on a PAT that otherwise works: the scope is not on the token
	ScopeForbidden ScopeState = "forbidden" // 403: the scope is there, the account lacks a permission
	ScopeUnknown   ScopeState = "unknown"   // could not tell (no project, network, server error)
	// ScopeUnsupported: the deployment has no such resource (environments on Server 2019).
	ScopeUnsupported ScopeState = "unsupported"
)

// ScopeCheck is the result of probing one scope, with what a missing scope
// breaks and how to fix it (the manual's Troubleshooting, said up front).
type ScopeCheck struct {
	Scope  Scope
	Label  string // as in the manual: "Code: Read"
	State  ScopeState
	Breaks string // what does not work without it
	Fix    string // how to fix it
	Err    error  // the call's error, when not granted
}

// OK reports a granted scope.
func (s ScopeCheck) OK() bool { return s.State == ScopeGranted }

type scopeInfo struct {
	label, breaks, fix string
}

var scopeInfos = map[Scope]scopeInfo{
	ScopeCodeRead: {"Code: Read",
		"Commits, pull requests and repository events are not collected.",
		"Re-create the PAT with Code: Read and update it under Settings → Integrations → Azure DevOps → Advanced → Update token."},
	ScopeThreadsWrite: {"Pull Request Threads: Read & write",
		"PR comments don't appear.",
		"Re-create the PAT with Pull Request Threads: Read & write and update it under Settings → Integrations → Azure DevOps → Advanced → Update token. Also check that Post PR comments is enabled under Advanced."},
	ScopeBuildRead: {"Build: Read",
		"Pipeline runs are missing, so deployment frequency and other DORA metrics stay empty.",
		"Add Build: Read to the PAT and update it under Settings → Integrations → Azure DevOps → Advanced → Update token, and make sure the service account has View build pipeline permission on the project (for example through Build Administrators)."},
	ScopeWorkItemsRead: {"Work Items: Read",
		"Boards events don't appear and lead time is not linked to work items.",
		"Re-create the PAT with Work Items: Read and update it under Settings → Integrations → Azure DevOps → Advanced → Update token. Boards events resume within minutes."},
	ScopeReleaseRead: {"Release: Read",
		"Classic release deployments are not collected, so they do not count towards DORA; deployments come from pipeline runs and their stages.",
		"Optional: add Release: Read to the PAT and update it under Settings → Integrations → Azure DevOps → Advanced → Update token; classic release deployments are then backfilled."},
	ScopeEnvironmentManage: {"Environment: Read & manage",
		"YAML environment deployment records are not collected; deployments come from pipeline runs and their stages.",
		"Optional: add Environment: Read & manage to the PAT (Azure DevOps has no read-only environment scope) and update it under Settings → Integrations → Azure DevOps → Advanced → Update token; environment deployments are then backfilled."},
}

// zeroGUID names a repository that does not exist, for the write probe.
const zeroGUID = "00000000-0000-0000-0000-000000000000"

// ProbeScopes tests the four scopes of Step 1 with one cheap call each,
// writing nothing. project is a project the PAT can see (id or name); with
// none, Build: Read cannot be tested and is reported unknown. Call it after
// Detect succeeded: a 401 then means a missing scope, not a bad token
// (PROTOCOL §10).
//
// The write probe posts a thread without comments to a repository that does
// not exist. Azure DevOps checks the token's scopes before it looks at the
// route or the body, so a token without Pull Request Threads: Read & write
// (vso.threads_full or vso.code_write) gets 401, and one with it gets 404 or
// 400 — and a thread needs at least one comment, so nothing is created
// either way.
func (c *Client) ProbeScopes(ctx context.Context, project string) []ScopeCheck {
	out := make([]ScopeCheck, 0, len(Scopes))
	for _, s := range Scopes {
		out = append(out, c.ProbeScope(ctx, s, project))
	}
	return out
}

// ProbeOptionalScopes tests Release: Read and Environment: Read & manage
// with one cheap read each, like ProbeScopes.
func (c *Client) ProbeOptionalScopes(ctx context.Context, project string) []ScopeCheck {
	out := make([]ScopeCheck, 0, len(OptionalScopes))
	for _, s := range OptionalScopes {
		out = append(out, c.ProbeScope(ctx, s, project))
	}
	return out
}

// ProbeScope tests one scope; see ProbeScopes.
func (c *Client) ProbeScope(ctx context.Context, s Scope, project string) ScopeCheck {
	info := scopeInfos[s]
	chk := ScopeCheck{Scope: s, Label: info.label, Breaks: info.breaks, Fix: info.fix}
	var err error
	writeProbe := false
	switch s {
	case ScopeCodeRead:
		_, err = c.Repositories(ctx, project)
	case ScopeThreadsWrite:
		writeProbe = true
		_, err = c.send(ctx, &call{ep: epThreadCreate, method: http.MethodPost,
			path: projectPrefix(project) + "_apis/git/repositories/" + zeroGUID + "/pullRequests/1/threads",
			body: threadBody{Comments: []commentBody{}, Status: "active"}}, nil)
	case ScopeBuildRead:
		if project == "" {
			chk.State = ScopeUnknown
			chk.Err = &delivery.Error{Kind: delivery.KindPrecondition, Message: "No project is visible to the PAT, so Build: Read could not be tested"}
			return chk
		}
		_, err = c.send(ctx, &call{ep: epBuilds, method: http.MethodGet, path: seg(project) + "/_apis/build/builds",
			query: url.Values{"$top": {"1"}}}, nil)
	case ScopeWorkItemsRead:
		_, err = c.Wiql(ctx, project, "SELECT [System.Id] FROM WorkItems", 1)
	case ScopeReleaseRead, ScopeEnvironmentManage:
		if project == "" {
			chk.State = ScopeUnknown
			chk.Err = &delivery.Error{Kind: delivery.KindPrecondition, Message: "No project is visible to the PAT, so " + info.label + " could not be tested"}
			return chk
		}
		if s == ScopeReleaseRead {
			_, err = c.send(ctx, &call{ep: epReleaseDeploys, method: http.MethodGet, release: true,
				path: seg(project) + "/_apis/release/deployments", query: url.Values{"$top": {"1"}}}, nil)
		} else {
			_, err = c.send(ctx, &call{ep: epEnvironments, method: http.MethodGet,
				path: seg(project) + "/_apis/distributedtask/environments", query: url.Values{"$top": {"1"}}}, nil)
			if errors.Is(err, ErrUnsupported) {
				chk.State, chk.Err = ScopeUnsupported, err
				return chk
			}
		}
	default:
		chk.State, chk.Err = ScopeUnknown, errors.New("unknown scope "+string(s))
		return chk
	}
	chk.State, chk.Err = classifyProbe(err, writeProbe)
	if dep, derr := c.Deployment(ctx); derr == nil {
		chk.Breaks, chk.Fix = ScopeAdviceFor(s, dep)
	}
	return chk
}

func classifyProbe(err error, writeProbe bool) (ScopeState, error) {
	if err == nil {
		return ScopeGranted, nil
	}
	var ae *APIError
	status := 0
	if errors.As(err, &ae) {
		status = ae.Status
	}
	var se *ScopeError
	switch {
	case delivery.KindOf(err) == delivery.KindUnauthorized, errors.As(err, &se):
		return ScopeMissing, err
	case status == http.StatusForbidden:
		return ScopeForbidden, err
	case writeProbe && (status == http.StatusBadRequest || status == http.StatusNotFound):
		// Past the scope check; rejected for the fake target or the empty body.
		return ScopeGranted, nil
	}
	return ScopeUnknown, err
}

// ScopeLabel is the scope's name as the manual writes it ("Code: Read").
func ScopeLabel(s Scope) string { return scopeInfos[s].label }

// ScopeAdvice says what a missing scope breaks and how to fix it.
func ScopeAdvice(s Scope) (breaks, fix string) {
	info := scopeInfos[s]
	return info.breaks, info.fix
}

// ScopeAdviceFor is ScopeAdvice for one deployment: Azure DevOps Server
// 2019 and 2020 accept only Code: Read & write (vso.code_write) for posting
// pull request threads — the Pull Request Threads scope is not in the
// security of their Threads_Create (specs server-5.0 and server-6.0
// git-onprem.json; server-7.0 adds vso.threads_full).
func ScopeAdviceFor(s Scope, dep Deployment) (breaks, fix string) {
	breaks, fix = ScopeAdvice(s)
	if s == ScopeThreadsWrite && dep.Kind == Server && (dep.Release == "2019" || dep.Release == "2020") {
		fix = "Azure DevOps Server " + dep.Release + " accepts only Code: Read & write for posting pull request comments: " +
			"add Code: Read & write to the PAT and update it under Settings → Integrations → Azure DevOps → Advanced → Update token."
	}
	return breaks, fix
}
