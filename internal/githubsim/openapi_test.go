package githubsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The REST descriptions GitHub publishes (@octokit/openapi): api.github.com for github.com-style
// paths, the newest GHES for /api/v3. Loaded once per test binary.
var (
	specOnce sync.Once
	specDocs map[string]*openapi3.T
	specErr  error
)

func loadSpecs(t testing.TB) map[string]*openapi3.T {
	t.Helper()
	dir := npmDir(t)
	specOnce.Do(func() {
		specDocs = map[string]*openapi3.T{}
		for key, file := range map[string]string{"dotcom": "api.github.com.json", "ghes": "ghes-3.19.json"} {
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromFile(filepath.Join(dir, "@octokit", "openapi", "generated", file))
			if err != nil {
				specErr = fmt.Errorf("load %s: %w", file, err)
				return
			}
			specDocs[key] = doc
		}
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specDocs
}

// validator checks answers against the description.
type validator struct {
	t     testing.TB
	s     *Sim
	docs  map[string]*openapi3.T
	seen  map[string]bool // "METHOD template" validated with a 2xx/304
	count int
}

func newValidator(t testing.TB, s *Sim) *validator {
	return &validator{t: t, s: s, docs: loadSpecs(t), seen: map[string]bool{}}
}

var paramSeg = regexp.MustCompile(`^\{[^}]+\}$`)

// findOp matches a concrete path (no /api/v3) to the description's template.
func findOp(doc *openapi3.T, method, path string) (string, *openapi3.PathItem, *openapi3.Operation, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	bestScore := -1
	var best string
	var bestParams map[string]string
	for tmpl, item := range doc.Paths.Map() {
		if item.GetOperation(method) == nil {
			continue
		}
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		params, score, ok := map[string]string{}, 0, true
		for i, seg := range ts {
			if paramSeg.MatchString(seg) {
				params[strings.Trim(seg, "{}")] = segs[i]
				continue
			}
			if seg != segs[i] {
				ok = false
				break
			}
			score++
		}
		if ok && score > bestScore {
			best, bestScore, bestParams = tmpl, score, params
		}
	}
	if best == "" {
		return "", nil, nil, nil
	}
	item := doc.Paths.Value(best)
	return best, item, item.GetOperation(method), bestParams
}

// canonical turns a Link-header id path (/repositories/ID/..., /organizations/ID/...) into the
// named path the description documents.
func (v *validator) canonical(path string) string {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	for _, r := range v.s.w.org.repos {
		p := fmt.Sprintf("/repositories/%d", r.id)
		if path == p || strings.HasPrefix(path, p+"/") {
			return "/repos/" + r.fullName() + strings.TrimPrefix(path, p)
		}
	}
	p := fmt.Sprintf("/organizations/%d", v.s.w.org.id)
	if strings.HasPrefix(path, p+"/") {
		return "/orgs/" + v.s.w.org.login + strings.TrimPrefix(path, p)
	}
	return path
}

// check validates one answer to method rawURL against the right description.
func (v *validator) check(method, rawURL string, a answer) {
	t := v.t
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	docKey, path := "dotcom", u.Path
	if strings.HasPrefix(path, enterprisePath+"/") {
		docKey, path = "ghes", strings.TrimPrefix(path, enterprisePath)
	}
	doc := v.docs[docKey]
	path = v.canonical(path)
	tmpl, item, op, params := findOp(doc, method, path)
	if op == nil {
		t.Errorf("%s %s: the %s description has no such operation", method, path, docKey)
		return
	}
	v.count++
	status := fmt.Sprint(a.status)
	if op.Responses.Value(status) == nil && a.status >= 400 {
		// GitHub answers errors an operation does not list (401, 403, 404 on most list
		// operations); their bodies are still basic-error (or validation-error for 422).
		name := "basic-error"
		if a.status == 422 && bytes.Contains(a.body, []byte(`"errors"`)) {
			name = "validation-error"
		}
		var body any
		if err := json.Unmarshal(a.body, &body); err != nil {
			t.Errorf("%s %s → %d: error body is not JSON: %.200s", method, rawURL, a.status, a.body)
			return
		}
		if err := doc.Components.Schemas[name].Value.VisitJSON(body); err != nil {
			t.Errorf("%s %s → %d: error body is not a %s: %v", method, rawURL, a.status, name, err)
		}
		if m, _ := body.(map[string]any); m["message"] == nil || m["documentation_url"] == nil {
			t.Errorf("%s %s → %d: error body lacks message or documentation_url: %s", method, rawURL, a.status, a.body)
		}
		return
	}
	req, _ := http.NewRequest(method, "https://api.github.com"+path+"?"+u.RawQuery, nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params,
			Route: &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: method, Operation: op}},
		Status: a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if a.status == http.StatusNotModified {
		in.Options.ExcludeResponseBody = true
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		msg := err.Error()
		if len(msg) > 3000 {
			msg = msg[:3000]
		}
		t.Errorf("%s %s → %d does not match %s %s (%s): %s", method, rawURL, a.status, method, tmpl, docKey, msg)
		return
	}
	if a.status < 400 {
		v.seen[method+" "+tmpl] = true
	}
}

// call sends a request and validates its answer.
func (v *validator) call(method, url, token string, body any, hdr ...string) answer {
	v.t.Helper()
	a := do(v.t, v.s, method, url, token, body, hdr...)
	v.check(method, url, a)
	return a
}

// walk calls every endpoint the product uses under base (the API root of one URL style) and
// returns the templates it validated with a success.
func walk(t *testing.T, v *validator, s *Sim, base, tok string) {
	org := s.Org()
	repoName := s.Repos()[0]
	r := base + "/repos/" + repoName
	expect := func(a answer, want int, what string) {
		t.Helper()
		if a.status != want {
			t.Errorf("%s: status %d, want %d: %.300s", what, a.status, want, a.body)
		}
	}
	expect(v.call("GET", base+"/user", tok, nil), 200, "user")
	expect(v.call("GET", base+"/user/orgs", tok, nil), 200, "user orgs")
	expect(v.call("GET", base+"/orgs/"+org, tok, nil), 200, "org")
	expect(v.call("GET", base+"/orgs/"+org+"/repos?per_page=1", tok, nil), 200, "org repos")
	expect(v.call("GET", base+"/user/repos", tok, nil), 200, "user repos")
	expect(v.call("GET", r, tok, nil), 200, "repo")
	a := v.call("GET", r+"/commits?per_page=5", tok, nil)
	expect(a, 200, "commits")
	var commits []map[string]any
	a.json(t, &commits)
	expect(v.call("GET", r+"/commits?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&sha=main", tok, nil), 200, "commits since/until")
	expect(v.call("GET", r+"/commits/"+commits[0]["sha"].(string), tok, nil), 200, "commit")
	// Paging: page 1, the next page by its Link (the /repositories/{id} form), and the last.
	a = v.call("GET", r+"/pulls?state=all&sort=updated&direction=desc&per_page=10", tok, nil)
	expect(a, 200, "pulls")
	next := linkNext(a.header)
	if next == "" {
		t.Fatalf("pulls page 1 has no next link: %q", a.header.Get("Link"))
	}
	expect(v.call("GET", next, tok, nil), 200, "pulls page 2 by Link")
	// 304: the same request with the ETag.
	etag := a.header.Get("ETag")
	expect(v.call("GET", r+"/pulls?state=all&sort=updated&direction=desc&per_page=10", tok, nil, "If-None-Match", etag), 304, "pulls 304")
	// A pull request with reviews, review comments and issue comments, so every list has items
	// to validate.
	n := ""
	s.mu.Lock()
	for _, p := range s.w.org.repos[0].pulls {
		if len(p.reviews) > 0 && len(p.comments) > 0 && len(p.issue.comments) > 0 {
			n = fmt.Sprint(p.number)
		}
	}
	s.mu.Unlock()
	if n == "" {
		t.Fatal("no pull request with reviews, review comments and comments in the generated repository")
	}
	for _, sub := range []string{"", "/commits", "/reviews", "/comments"} {
		expect(v.call("GET", r+"/pulls/"+n+sub, tok, nil), 200, "pull"+sub)
	}
	expect(v.call("GET", r+"/issues?state=all&since=2000-01-01T00:00:00Z", tok, nil), 200, "issues")
	expect(v.call("GET", r+"/issues?state=all&labels=bug", tok, nil), 200, "issues by label")
	expect(v.call("GET", r+"/issues/"+n, tok, nil), 200, "issue")
	expect(v.call("GET", r+"/issues/"+n+"/comments", tok, nil), 200, "issue comments")
	a = v.call("POST", r+"/issues/"+n+"/comments", tok, map[string]any{"body": "PanDev metrics: lead time 3h"})
	expect(a, 201, "create comment")
	var cm map[string]any
	a.json(t, &cm)
	expect(v.call("PATCH", fmt.Sprintf("%s/issues/comments/%v", r, cm["id"]), tok, map[string]any{"body": "PanDev metrics: lead time 4h"}), 200, "edit comment")
	// PR comments (the quality comment): found again in the list, refused to a token that may
	// only read pull requests (403, X-Accepted-GitHub-Permissions), 404 for a deleted one.
	expect(v.call("GET", r+"/issues/"+n+"/comments?per_page=100", tok, nil), 200, "issue comments with ours")
	readOnly := s.NewFineGrainedToken(map[string]string{"pull_requests": "read", "contents": "read"})
	expect(v.call("POST", r+"/issues/"+n+"/comments", readOnly, map[string]any{"body": "x"}), 403, "create comment without write")
	expect(v.call("PATCH", fmt.Sprintf("%s/issues/comments/%v", r, cm["id"]), readOnly, map[string]any{"body": "x"}), 403, "edit comment without write")
	expect(v.call("PATCH", r+"/issues/comments/999999999", tok, map[string]any{"body": "x"}), 404, "edit a deleted comment")
	expect(v.call("GET", r+"/actions/runs?per_page=5", tok, nil), 200, "runs")
	expect(v.call("GET", r+"/actions/runs?created=>=2000-01-01&per_page=5", tok, nil), 200, "runs created")
	expect(v.call("GET", r+"/actions/runs?created=2000-01-01..2100-01-01&per_page=100&page=1", tok, nil), 200, "runs created in a range (the collector's walk)")
	// Past the 1,000-result cap (lowered to 10): the true total_count, the page cut at the cap.
	if err := s.SetCaps(Caps{WorkflowRuns: 10}); err != nil {
		t.Fatal(err)
	}
	expect(v.call("GET", r+"/actions/runs?created=2000-01-01..2100-01-01&per_page=100", tok, nil), 200, "runs created in a range past the cap")
	expect(v.call("GET", r+"/actions/runs?created=2000-01-01..2100-01-01&per_page=7&page=2", tok, nil), 200, "runs: the page reaching over the cap")
	if err := s.SetCaps(Caps{}); err != nil {
		t.Fatal(err)
	}
	a = v.call("GET", r+"/deployments", tok, nil)
	expect(a, 200, "deployments")
	var deps []map[string]any
	a.json(t, &deps)
	expect(v.call("GET", fmt.Sprintf("%s/deployments/%v/statuses", r, deps[0]["id"]), tok, nil), 200, "deployment statuses")
	expect(v.call("GET", r+"/environments", tok, nil), 200, "environments")
	// Webhooks: create (ping sent), list, update, ping, deliveries, redeliver, delete.
	recv := newReceiver(t)
	a = v.call("POST", r+"/hooks", tok, map[string]any{"name": "web", "active": true, "events": []string{"pull_request", "push"},
		"config": map[string]any{"url": recv.url, "content_type": "json", "secret": "s3cret", "insecure_ssl": "0"}})
	expect(a, 201, "create hook")
	var hk map[string]any
	a.json(t, &hk)
	hookURL := fmt.Sprintf("%s/hooks/%v", r, hk["id"])
	expect(v.call("GET", r+"/hooks", tok, nil), 200, "hooks")
	expect(v.call("GET", hookURL, tok, nil), 200, "hook")
	expect(v.call("PATCH", hookURL, tok, map[string]any{"add_events": []string{"issues"}}), 200, "update hook")
	expect(v.call("POST", hookURL+"/pings", tok, nil), 204, "ping hook")
	ctx, cancel := context.WithTimeout(context.Background(), 30*1e9)
	defer cancel()
	before := len(s.Deliveries())
	if _, err := s.WaitDeliveries(ctx, before); err != nil {
		t.Fatal(err)
	}
	a = v.call("GET", hookURL+"/deliveries", tok, nil)
	expect(a, 200, "deliveries")
	var dl []map[string]any
	a.json(t, &dl)
	if len(dl) == 0 {
		t.Fatal("no deliveries listed after create and ping")
	}
	expect(v.call("GET", fmt.Sprintf("%s/deliveries/%v", hookURL, dl[0]["id"]), tok, nil), 200, "delivery")
	expect(v.call("POST", fmt.Sprintf("%s/deliveries/%v/attempts", hookURL, dl[0]["id"]), tok, nil), 202, "redeliver")
	expect(v.call("DELETE", hookURL, tok, nil), 204, "delete hook")
	expect(v.call("GET", base+"/rate_limit", tok, nil), 200, "rate limit")
	// Errors: each must be GitHub's body for its status.
	expect(v.call("GET", base+"/repos/"+org+"/no-such-repo", tok, nil), 404, "unknown repo")
	expect(v.call("GET", r+"/pulls/999999", tok, nil), 404, "unknown pull")
	expect(v.call("GET", base+"/user", "ghp_not_a_token_000000000000000000000", nil), 401, "bad token")
	expect(v.call("GET", r+"/pulls?state=bogus", tok, nil), 422, "bad state")
	fine := s.NewFineGrainedToken(map[string]string{"contents": "read"})
	expect(v.call("GET", r+"/pulls", fine, nil), 403, "fine-grained without pull_requests")
	expect(v.call("POST", r+"/hooks", tok, map[string]any{"config": map[string]any{"url": "ftp://x"}}), 422, "bad hook url")
	s.SetRateLimits(RateLimits{SecondaryNext: 1})
	expect(v.call("GET", r+"/pulls", tok, nil), 403, "secondary rate limit")
	zero, full := 0, DefaultRateLimit
	s.SetRateLimits(RateLimits{Remaining: &zero})
	expect(v.call("GET", r+"/pulls", tok, nil), 403, "primary rate limit")
	s.SetRateLimits(RateLimits{Remaining: &full})
}

func TestOpenAPIWalkBothPathStyles(t *testing.T) {
	s := startSim(t, Options{Seed: 3})
	v := newValidator(t, s)
	for _, c := range []struct{ name, base, token string }{
		{"github.com classic PAT", s.URL(), s.Token()},
		{"enterprise classic PAT", s.EnterpriseURL(), s.Token()},
		{"github.com fine-grained PAT", s.URL(), s.FineGrainedToken()},
	} {
		t.Run(c.name, func(t *testing.T) {
			v.t = t
			walk(t, v, s, c.base, c.token)
		})
	}
	v.t = t
	// Every route the simulator registers was validated with a success.
	var missing []string
	for pattern := range permissionTable {
		method, p, _ := strings.Cut(pattern, " ")
		_, _, op, _ := findOp(v.docs["dotcom"], method, strings.NewReplacer("{owner}", "o", "{repo}", "r", "{number}", "1", "{id}", "1", "{delivery}", "1", "{org}", "o", "{ref}", "abc").Replace(p))
		if op == nil {
			missing = append(missing, pattern+" (not in the description)")
			continue
		}
		tmpl, _, _, _ := findOp(v.docs["dotcom"], method, strings.NewReplacer("{owner}", "o", "{repo}", "r", "{number}", "1", "{id}", "1", "{delivery}", "1", "{org}", "o", "{ref}", "abc").Replace(p))
		if !v.seen[method+" "+tmpl] {
			missing = append(missing, pattern)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes never validated with a success: %v", missing)
	}
	t.Logf("%d answers validated", v.count)
}
