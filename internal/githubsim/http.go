package githubsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Every response carries GitHub's media-type and request-id headers; JSON bodies are
// "application/json; charset=utf-8" (as api.github.com answers).
const (
	docsRoot       = "https://docs.github.com/rest"
	apiVersion     = "2022-11-28"
	enterprisePath = "/api/v3"
	maxPerPage     = 100 // "per_page ... (max 100)" on every list operation of the OpenAPI description
	defaultPerPage = 30  // "Default: 30", same parameter
)

var requestSeq atomic.Int64

// call is one API request being answered.
type call struct {
	s     *Sim
	r     *http.Request
	w     http.ResponseWriter
	tok   *token
	u     urls
	rule  rule
	repo  *repo
	hdr   http.Header // headers of the answer
	route string
}

// apiError is an error answer with GitHub's basic-error body.
type apiError struct {
	status int
	body   obj
	hdr    map[string]string
}

func errBody(msg, doc string, status int) obj {
	return obj{"message": msg, "documentation_url": doc, "status": strconv.Itoa(status)}
}

func notFound(doc string) *apiError {
	return &apiError{status: 404, body: errBody("Not Found", doc, 404)}
}

// validationFailed is GitHub's 422 (components/schemas/validation-error).
func validationFailed(doc, resource, field, code, msg string) *apiError {
	e := obj{"resource": resource, "code": code, "field": field}
	if msg != "" {
		e["message"] = msg
	}
	if field == "" {
		delete(e, "field")
	}
	return &apiError{status: 422, body: obj{"message": "Validation Failed", "errors": []obj{e}, "documentation_url": doc, "status": "422"}}
}

// handler routes a request: /_sim/ to the control API, /api/v3/... (Enterprise Server) and
// /... (github.com style) to the same API.
func (s *Sim) handler() http.Handler {
	api := s.routes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim") {
			s.control(w, r)
			return
		}
		s.mu.Lock()
		base := s.baseURL
		s.mu.Unlock()
		u := urls{api: base, html: base}
		if r.URL.Path == "/graphql" || r.URL.Path == "/api/graphql" {
			// GraphQL: api.github.com/graphql, and HOST/api/graphql on Enterprise Server
			// ("Forming calls with GraphQL": "The GraphQL API has a single endpoint").
			if r.URL.Path == "/api/graphql" {
				w.Header().Set("X-GitHub-Enterprise-Version", "3.19.0")
			}
			if w2, done := s.faults.apply(w, r); done {
				return
			} else {
				w = w2
			}
			s.serveGraphQL(w, r.WithContext(withURLs(r.Context(), u)))
			return
		}
		if r.URL.Path == enterprisePath || strings.HasPrefix(r.URL.Path, enterprisePath+"/") {
			// Enterprise Server serves the REST API under /api/v3 and the web UI at the root, and
			// names its release in X-GitHub-Enterprise-Version (the description simulated: ghes-3.19).
			u.api = base + enterprisePath
			w.Header().Set("X-GitHub-Enterprise-Version", "3.19.0")
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimPrefix(r.URL.Path, enterprisePath)
			if r2.URL.Path == "" {
				r2.URL.Path = "/"
			}
			r2.URL.RawPath = ""
			r = r2
		}
		if w2, done := s.faults.apply(w, r); done {
			return
		} else {
			w = w2
		}
		s.rewriteIDPaths(r)
		s.log.Debug("github-sim request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery)
		h := w.Header()
		h.Set("X-GitHub-Media-Type", "github.v3; format=json")
		h.Set("X-GitHub-Api-Version-Selected", apiVersion)
		h.Set("X-GitHub-Request-Id", fmt.Sprintf("SIM:%X", requestSeq.Add(1)))
		h.Set("Access-Control-Expose-Headers", "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset")
		api.ServeHTTP(w, r.WithContext(withURLs(r.Context(), u)))
	})
}

// rewriteIDPaths serves /repositories/{id}/... and /organizations/{id}/... as the named
// paths: GitHub writes these id forms in Link headers (the pagination guide's example:
// `<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev"`), so a client that
// follows Link must be able to use them.
func (s *Sim) rewriteIDPaths(r *http.Request) {
	p := r.URL.Path
	for _, pre := range []string{"/repositories/", "/organizations/"} {
		if !strings.HasPrefix(p, pre) {
			continue
		}
		rest := strings.TrimPrefix(p, pre)
		idStr, tail, _ := strings.Cut(rest, "/")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if pre == "/organizations/" && id == s.w.org.id {
			r.URL.Path = "/orgs/" + s.w.org.login + "/" + tail
		}
		for _, rp := range s.w.org.repos {
			if pre == "/repositories/" && rp.id == id {
				r.URL.Path = strings.TrimSuffix("/repos/"+rp.fullName()+"/"+tail, "/")
			}
		}
		r.URL.RawPath = ""
		return
	}
}

// handle registers pattern with its permission rule; fn runs with the world locked.
func (s *Sim) handle(mux *http.ServeMux, pattern string, fn func(c *call) (int, any, *apiError)) {
	rl, ok := permissionTable[pattern]
	if !ok {
		panic("githubsim: no permission rule for " + pattern)
	}
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c := &call{s: s, r: r, w: w, rule: rl, hdr: w.Header(), u: urlsFrom(r.Context()), route: pattern}
		s.serve(c, fn)
	})
}

func (s *Sim) serve(c *call, fn func(c *call) (int, any, *apiError)) {
	r := c.r
	// Authentication: "Authorization: token X" or "Bearer X" (both accepted by GitHub, docs
	// "Authenticating to the REST API").
	authz := r.Header.Get("Authorization")
	var raw string
	if authz != "" {
		scheme, v, _ := strings.Cut(authz, " ")
		if strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer") {
			raw = strings.TrimSpace(v)
		}
	}
	s.mu.Lock()
	tok := s.tokens[raw]
	s.mu.Unlock()
	if authz != "" && tok == nil {
		s.writeError(c, &apiError{status: 401, body: errBody("Bad credentials", docsRoot, 401)})
		return
	}
	c.tok = tok
	if tok == nil {
		// Unauthenticated: nothing in the simulated organization is public, so only the
		// authenticated-user endpoints say why; the others answer 404 below.
		if strings.HasPrefix(c.route, "GET /user") {
			s.writeError(c, &apiError{status: 401, body: errBody("Requires authentication", c.rule.Doc, 401)})
			return
		}
	}
	if tok != nil && !tok.fine {
		c.hdr.Set("X-OAuth-Scopes", tok.scopeHeader())
		c.hdr.Set("X-Accepted-OAuth-Scopes", strings.Join(c.rule.Scopes, ", "))
	}
	// Conditional requests that answer 304 do not count against the primary rate limit
	// ("Best practices for using the REST API": "making a conditional request does not count
	// against your primary rate limit if a 304 response is returned").
	id := anonymous
	if tok != nil {
		id = tok.owner.login
	}
	counts := c.route != "GET /rate_limit" // "Accessing this endpoint does not count against your REST API rate limit." (OpenAPI, rate-limit/get)
	if e := s.limits.secondary(c, id); e != nil {
		s.writeError(c, e)
		return
	}
	if counts && s.limits.exhausted(id) {
		s.limits.headers(c.hdr, id)
		s.writeError(c, s.limits.primaryError(id))
		return
	}
	s.mu.Lock()
	status, body, aerr := s.authorize(c)
	if aerr == nil {
		status, body, aerr = fn(c)
	}
	s.mu.Unlock()
	if aerr != nil {
		if counts {
			s.limits.charge(id)
		}
		s.limits.headers(c.hdr, id)
		s.writeError(c, aerr)
		return
	}
	if body == nil {
		if counts {
			s.limits.charge(id)
		}
		s.limits.headers(c.hdr, id)
		c.w.WriteHeader(status)
		return
	}
	buf, _ := json.Marshal(body)
	sum := sha256.Sum256(append([]byte(raw+"|"), buf...))
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	if r.Method == http.MethodGet {
		c.hdr.Set("ETag", etag)
		c.hdr.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		c.hdr.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			s.limits.headers(c.hdr, id)
			c.hdr.Del("Link")
			c.w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if counts {
		s.limits.charge(id)
	}
	s.limits.headers(c.hdr, id)
	c.hdr.Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(status)
	c.w.Write(buf)
}

func etagMatch(header, etag string) bool {
	strip := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for _, p := range strings.Split(header, ",") {
		if strip(p) == strip(etag) || strings.TrimSpace(p) == "*" {
			return true
		}
	}
	return false
}

// authorize resolves {owner}/{repo} and applies the permission table. Called with s.mu held.
func (s *Sim) authorize(c *call) (int, any, *apiError) {
	owner, name := c.r.PathValue("owner"), c.r.PathValue("repo")
	if owner != "" && name != "" {
		for _, rp := range s.w.org.repos {
			// Owner and repository names are not case sensitive (OpenAPI parameters "owner", "repo").
			if strings.EqualFold(rp.owner.login, owner) && strings.EqualFold(rp.name, name) {
				c.repo = rp
			}
		}
		if c.repo == nil || c.tok == nil || !c.tok.seesRepo(c.repo) {
			// A repository the token cannot see is indistinguishable from one that does not exist.
			return 0, nil, notFound(c.rule.Doc)
		}
	}
	t := c.tok
	if t == nil {
		return 0, nil, nil
	}
	if !t.fine {
		needScope := c.repo == nil || c.repo.private
		if needScope && !t.hasScope(c.rule.Scopes) {
			if c.repo != nil {
				return 0, nil, notFound(c.rule.Doc)
			}
			if c.route == "GET /user/orgs" {
				return 0, nil, &apiError{status: 403, body: errBody("You need at least read:org scope or user scope to list your organizations.", c.rule.Doc, 403)}
			}
		}
		return 0, nil, nil
	}
	if !t.hasPerm(c.rule.Perms) {
		return 0, nil, &apiError{status: 403, body: errBody("Resource not accessible by personal access token", c.rule.Doc, 403),
			hdr: map[string]string{"X-Accepted-GitHub-Permissions": permHeader(c.rule.Perms)}}
	}
	return 0, nil, nil
}

func (s *Sim) writeError(c *call, e *apiError) {
	for k, v := range e.hdr {
		c.hdr.Set(k, v)
	}
	buf, _ := json.Marshal(e.body)
	c.hdr.Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(e.status)
	c.w.Write(buf)
}

// perPage reads per_page: default 30, at most 100; GitHub silently caps larger values.
func (c *call) perPage() int {
	n, err := strconv.Atoi(c.r.URL.Query().Get("per_page"))
	if err != nil || n <= 0 {
		return defaultPerPage
	}
	return min(n, maxPerPage)
}

func (c *call) pageNum() int {
	n, err := strconv.Atoi(c.r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// pageOf cuts one page out of items and writes the Link header as GitHub does: rel="prev",
// "next", "last", "first" in that order, only those that apply, no header when everything
// fits one page (docs "Using pagination in the REST API").
func pageOf[T any](c *call, items []T) []T {
	per, page := c.perPage(), c.pageNum()
	last := (len(items) + per - 1) / per
	if last == 0 {
		last = 1
	}
	if last > 1 || page > 1 {
		c.hdr.Set("Link", c.link(page, last))
	}
	from := (page - 1) * per
	if from >= len(items) {
		return []T{}
	}
	return items[from:min(from+per, len(items))]
}

func (c *call) link(page, last int) string {
	base := c.u.api + c.linkPath()
	q := c.r.URL.Query()
	q.Del("page")
	enc := q.Encode()
	at := func(n int) string {
		if enc == "" {
			return fmt.Sprintf("<%s?page=%d>", base, n)
		}
		return fmt.Sprintf("<%s?%s&page=%d>", base, enc, n)
	}
	var parts []string
	if page > 1 {
		parts = append(parts, at(min(page-1, last))+`; rel="prev"`)
	}
	if page < last {
		parts = append(parts, at(page+1)+`; rel="next"`, at(last)+`; rel="last"`)
	}
	if page > 1 {
		parts = append(parts, at(1)+`; rel="first"`)
	}
	return strings.Join(parts, ", ")
}

// linkPath is the request path in the id form GitHub writes in Link headers.
func (c *call) linkPath() string {
	p := c.r.URL.Path
	if c.repo != nil {
		return "/repositories/" + strconv.FormatInt(c.repo.id, 10) + strings.TrimPrefix(p, "/repos/"+c.r.PathValue("owner")+"/"+c.r.PathValue("repo"))
	}
	if org := c.r.PathValue("org"); org != "" {
		return "/organizations/" + strconv.FormatInt(c.s.w.org.id, 10) + strings.TrimPrefix(p, "/orgs/"+org)
	}
	return p
}

// decode reads a JSON request body; GitHub answers malformed JSON with 400 "Problems parsing JSON".
func (c *call) decode(v any) *apiError {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(c.w, c.r.Body, 1<<20)); err != nil {
		return &apiError{status: 400, body: errBody("Problems parsing JSON", c.rule.Doc, 400)}
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return &apiError{status: 400, body: errBody("Problems parsing JSON", c.rule.Doc, 400)}
	}
	return nil
}

// parseTime reads an ISO 8601 timestamp parameter (since, until): YYYY-MM-DDTHH:MM:SSZ or a date.
func parseTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
