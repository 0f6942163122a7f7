package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/store"
)

// abusePeople tries what people and tokens must refuse (issue #16): a
// read-only token changing things, an expired token, a disabled user's
// token, a workspace admin in the job queue every workspace shares, a
// member's token on admin calls, another workspace's member ids. Nothing
// may change.
func abusePeople(ctx context.Context, a *app, hc *http.Client) ([]abuseResult, error) {
	const password = "correct horse battery staple"
	admin, err := a.auth.CreateUser(ctx, "people-admin@bench.example", password, "bench", store.RoleAdmin)
	if err != nil {
		return nil, err
	}
	member, err := a.auth.CreateUser(ctx, "people-member@bench.example", password, "bench", store.RoleMember)
	if err != nil {
		return nil, err
	}
	gone, err := a.auth.CreateUser(ctx, "people-gone@bench.example", password, "bench", store.RoleAdmin)
	if err != nil {
		return nil, err
	}
	other, err := a.auth.CreateUser(ctx, "people-admin@other.example", password, "other", store.RoleAdmin)
	if err != nil {
		return nil, err
	}
	token := func(svc *auth.Service, u store.User, name string, req auth.TokenRequest) (string, error) {
		req.Name = name
		v, _, err := svc.CreateTokenWith(ctx, u.ID, req)
		return v.Reveal(), err
	}
	readTok, err := token(a.auth, admin, "read", auth.TokenRequest{Scope: store.ScopeRead})
	if err != nil {
		return nil, err
	}
	adminTok, err := token(a.auth, admin, "admin", auth.TokenRequest{})
	if err != nil {
		return nil, err
	}
	memberTok, err := token(a.auth, member, "member", auth.TokenRequest{})
	if err != nil {
		return nil, err
	}
	otherTok, err := token(a.auth, other, "other", auth.TokenRequest{})
	if err != nil {
		return nil, err
	}
	goneTok, err := token(a.auth, gone, "gone", auth.TokenRequest{})
	if err != nil {
		return nil, err
	}
	// A token made a year ago for a week: expired.
	yearAgo := auth.NewService(a.db, a.logger, func() time.Time { return time.Now().AddDate(-1, 0, 0) })
	expiredTok, err := token(yearAgo, admin, "expired", auth.TokenRequest{ExpiresInDays: 7})
	if err != nil {
		return nil, err
	}
	yes := true
	if _, err := a.auth.UpdateMember(ctx, auth.Principal{User: admin}, gone.ID, auth.MemberChange{Disabled: &yes}); err != nil {
		return nil, err
	}

	var out []abuseResult
	cases := []struct {
		name, method, path, body, tok string
		want                          int
	}{
		{"a read-only token creating a member", "POST", "/api/v1/members", `{"email":"x@bench.example","password":"long enough password"}`, readTok, 403},
		{"a read-only token promoting a member", "PATCH", "/api/v1/members/" + member.ID, `{"role":"admin"}`, readTok, 403},
		{"a read-only token ending sessions", "DELETE", "/api/v1/members/" + member.ID + "/sessions", ``, readTok, 403},
		{"a read-only token selecting projects", "PUT", "/api/v1/integrations/azure-devops/projects", `{"selected":[]}`, readTok, 403},
		{"a read-only token revoking a token", "DELETE", "/api/v1/tokens/x", ``, readTok, 403},
		{"an API token minting a token through the Tokens screen", "POST", "/settings/tokens", ``, adminTok, 403},
		{"an expired token reading", "GET", "/api/v1/me", ``, expiredTok, 401},
		{"an expired token creating a member", "POST", "/api/v1/members", `{"email":"y@bench.example","password":"long enough password"}`, expiredTok, 401},
		{"a disabled user's token reading", "GET", "/api/v1/me", ``, goneTok, 401},
		{"a disabled user's token enabling itself", "PATCH", "/api/v1/members/" + gone.ID, `{"disabled":false}`, goneTok, 401},
		{"a workspace admin on the job queue", "GET", "/admin/jobs/", ``, adminTok, 403},
		{"a workspace admin reading every workspace's jobs", "GET", "/admin/jobs/api/jobs?state=completed&limit=5", ``, adminTok, 403},
		{"a workspace admin pausing the shared queue", "PUT", "/admin/jobs/api/queues/default/pause", `{}`, adminTok, 403},
		{"a member's token listing members", "GET", "/api/v1/members", ``, memberTok, 403},
		{"a member's token promoting itself", "PATCH", "/api/v1/members/" + member.ID, `{"role":"admin"}`, memberTok, 403},
		{"another workspace's member id: disable", "PATCH", "/api/v1/members/" + member.ID, `{"disabled":true}`, otherTok, 404},
		{"another workspace's member id: promote", "PATCH", "/api/v1/members/" + member.ID, `{"role":"admin"}`, otherTok, 404},
		{"another workspace's member id: end sessions", "DELETE", "/api/v1/members/" + member.ID + "/sessions", ``, otherTok, 404},
		{"an admin demoting themself", "PATCH", "/api/v1/members/" + admin.ID, `{"role":"member"}`, adminTok, 400},
	}
	for _, c := range cases {
		before, err := fingerprint(ctx, a.db)
		if err != nil {
			return nil, err
		}
		req, _ := http.NewRequestWithContext(ctx, c.method, a.URL()+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.tok != "" {
			req.Header.Set("Authorization", "Bearer "+c.tok)
		}
		res, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		after, err := fingerprint(ctx, a.db)
		if err != nil {
			return nil, err
		}
		problem := ""
		if res.StatusCode == c.want && !strings.Contains(string(body), `"hint":"`) {
			problem = "the refusal names no fix"
		}
		out = append(out, abuseResult{Group: "people", Case: c.method + " " + c.path + ": " + c.name, Want: []int{c.want},
			Got: res.StatusCode, Changed: before != after, Problem: problem})
	}
	return out, nil
}
