package integration

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/secret"
)

// CheckResult is what Check connection reports. Nothing is stored.
type CheckResult struct {
	OK bool `json:"ok"`
	// Level is what the screen shows: "ok" (green), "limited" (amber: a
	// required scope is missing; Activate asks for confirmation) or
	// "error" (it cannot be activated).
	Level        string        `json:"level"`
	OrgURL       string        `json:"org_url"`
	User         string        `json:"user,omitempty"`
	Deployment   string        `json:"deployment,omitempty"` // "Azure DevOps Services", "Azure DevOps Server 2022"
	ProjectCount int           `json:"project_count"`
	Scopes       []ScopeResult `json:"scopes"`
	Problems     []Problem     `json:"problems"` // why it cannot be activated
	Warnings     []Problem     `json:"warnings"` // what will not work, though it can be activated
	// GitHub only: the token's kind ("fine-grained" or "classic"), the
	// organizations it sees, the repository its permissions were tested on
	// and the calls the check spent.
	TokenKind     string   `json:"token_kind,omitempty"`
	Organizations []string `json:"organizations,omitempty"`
	Sample        string   `json:"sample,omitempty"`
	Calls         int      `json:"calls,omitempty"`

	deployment azdo.Deployment
	account    string
	accountID  string
	projects   []azdo.Project
	github     *githubChecked
}

// ScopeResult is one scope, tested by a cheap call: the manual's four
// (required) and the optional ones that add deployments.
type ScopeResult struct {
	Scope    string `json:"scope"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	State    string `json:"state"` // granted, missing, forbidden, unknown, unsupported
	OK       bool   `json:"ok"`
	Breaks   string `json:"breaks,omitempty"`
	Fix      string `json:"fix,omitempty"`
	// Call is the harmless request that tested it (GitHub).
	Call string `json:"call,omitempty"`
}

// Problem is something wrong, said with how to fix it.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// scopeStates is the stored form of the scope results.
func (r CheckResult) scopeStates() string {
	m := map[string]string{}
	for _, s := range r.Scopes {
		m[s.Scope] = s.State
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// validateInput checks the form fields; a bad field is a 400 naming it.
func validateInput(orgURL, token string) (azdo.OrgURL, secret.Value, error) {
	if strings.TrimSpace(orgURL) == "" {
		return azdo.OrgURL{}, secret.Value{}, delivery.Errorf(delivery.KindInvalid, "org_url is empty").
			WithHint("enter the Organization URL: https://dev.azure.com/<your-org> for Services, https://host/<collection> for Server")
	}
	u, err := azdo.ParseOrgURL(orgURL)
	if err != nil {
		return u, secret.Value{}, err
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return u, secret.Value{}, delivery.Errorf(delivery.KindInvalid, "token is empty").
			WithHint("paste the personal access token from Step 1")
	}
	if len(token) > 1024 || strings.ContainsAny(token, " \t\r\n") {
		return u, secret.Value{}, delivery.Errorf(delivery.KindInvalid, "token is not a personal access token").
			WithHint("paste the token exactly as Azure DevOps showed it, without spaces")
	}
	return u, secret.New(token), nil
}

// Check connection: validates and normalizes the URL, finds the
// authenticated user, Services or Server, the accessible projects, and
// tests each of the four scopes with a cheap real call, writing nothing.
// Malformed input is an error; anything Azure DevOps says is a Problem in
// the result, with the manual's words.
func (s *Service) Check(ctx context.Context, orgURL, token string) (CheckResult, error) {
	u, pat, err := validateInput(orgURL, token)
	if err != nil {
		return CheckResult{}, err
	}
	res := CheckResult{OrgURL: u.String(), Scopes: []ScopeResult{}, Problems: []Problem{}, Warnings: []Problem{}}
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	// The URL as typed: on Server, the segment after a virtual directory is
	// the collection, which Detect learns from connectionData.
	c, err := s.newClient(strings.TrimSpace(orgURL), pat, azdo.Deployment{})
	if err != nil {
		return res, err
	}
	res.Level = "error"
	conn, err := c.Detect(ctx)
	if err != nil {
		if azdo.HostRefused(err) {
			// The URL is at fault (a loopback or metadata address after
			// DNS, a redirect): bad input, like a malformed URL.
			return res, err
		}
		res.Problems = append(res.Problems, problemOf(err))
		return res, nil
	}
	res.deployment = conn.Deployment
	res.Deployment = conn.Deployment.String()
	res.OrgURL = c.OrgURL().String() // a Server's collection placed after its virtual directory
	res.account, res.accountID = displayName(conn.User), conn.User.ID
	res.User = res.account
	projects, err := c.ListProjects(ctx)
	if err != nil {
		res.Problems = append(res.Problems, problemOf(err))
		return res, nil
	}
	res.projects = projects
	res.ProjectCount = len(projects)
	if len(projects) == 0 {
		res.Warnings = append(res.Warnings, Problem{Code: "no_projects", Message: "The PAT sees no projects",
			Hint: "add the service account to the projects to analyse (Project Administrator access), or check the PAT's Organization"})
	}
	probeProject := ""
	if len(projects) > 0 {
		probeProject = projects[0].ID
	}
	res.Level = "ok"
	for _, sc := range append(c.ProbeScopes(ctx, probeProject), c.ProbeOptionalScopes(ctx, probeProject)...) {
		r := ScopeResult{Scope: string(sc.Scope), Label: sc.Label, Required: sc.Scope.Required(), State: string(sc.State), OK: sc.OK()}
		if !sc.OK() && sc.State != azdo.ScopeUnsupported {
			r.Breaks, r.Fix = sc.Breaks, sc.Fix
			if r.Required {
				res.Level = "limited"
				res.Warnings = append(res.Warnings, Problem{Code: "scope_" + string(sc.State), Message: sc.Label + ": " + sc.Breaks, Hint: sc.Fix})
			}
		}
		res.Scopes = append(res.Scopes, r)
	}
	if w := s.publicURLWarning(conn.Deployment); w != "" {
		res.Warnings = append(res.Warnings, Problem{Code: "public_url", Message: w,
			Hint: "set PANDEV_PUBLIC_URL to an https address Azure DevOps can reach, then restart"})
	}
	res.OK = true
	return res, nil
}

// problemOf turns a client error into the manual's words.
func problemOf(err error) Problem {
	var de *delivery.Error
	if errors.As(err, &de) {
		return Problem{Code: string(de.Kind), Message: de.Message, Hint: de.Hint}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Problem{Code: string(delivery.KindUnavailable), Message: "Azure DevOps did not answer within 10 seconds",
			Hint: "check the Organization URL and that this server can reach the host on port 443"}
	}
	return Problem{Code: string(delivery.KindUnavailable), Message: "Azure DevOps could not be reached",
		Hint: "check the Organization URL and the network"}
}

func displayName(id azdo.Identity) string {
	for _, n := range []string{id.CustomDisplayName, id.ProviderDisplayName} {
		if n != "" {
			return n
		}
	}
	return id.ID
}
