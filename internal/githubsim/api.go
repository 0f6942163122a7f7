package githubsim

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The REST API PanDev calls. POST /graphql is not served: the product uses REST only.

// pullCommitsCap is GitHub's cap on a pull request's commits list: "Lists a maximum of 250
// commits for a pull request" (OpenAPI, pulls/list-commits).
const pullCommitsCap = 250

// workflowRunsCap: "This endpoint will return up to 1,000 results for each search when using the
// following parameters: actor, branch, check_suite_id, created, event, head_sha, status"
// (OpenAPI, actions/list-workflow-runs-for-repo). total_count is the true count (the docs cap the
// results; what total_count says past them is not documented, and the collector halves a range at
// the cap either way); a page starting past the cap is not served: GitHub answers this
// endpoint's pages past its pagination limit with 422 "In order to keep the API fast for
// everyone, pagination is limited for this resource." (apache/incubator-devlake#8842, probed
// with gh api), and a page reaching over the cap is cut at it. Options.RunsSearchCap lowers it.
const workflowRunsCap = 1000

// paginationLimited is GitHub's 422 for a page past a list's pagination limit.
func paginationLimited() *apiError {
	return &apiError{status: 422, body: obj{"message": "In order to keep the API fast for everyone, pagination is limited for this resource.",
		"documentation_url": "https://docs.github.com/v3/#pagination", "status": "422"}}
}

func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Unknown paths and methods: GitHub answers 404 with a basic-error body.
		c := &call{s: s, r: r, w: w, hdr: w.Header()}
		s.writeError(c, notFound(docsRoot))
	})
	s.handle(mux, "GET /user", func(c *call) (int, any, *apiError) {
		return 200, c.u.privateUser(c.tok.owner, len(c.s.w.org.repos)), nil
	})
	s.handle(mux, "GET /user/orgs", func(c *call) (int, any, *apiError) {
		if c.tok.fine {
			return 200, pageOf(c, []obj{}), nil
		}
		return 200, pageOf(c, []obj{c.u.orgSimple(c.s.w.org)}), nil
	})
	s.handle(mux, "GET /orgs/{org}", func(c *call) (int, any, *apiError) {
		if !strings.EqualFold(c.r.PathValue("org"), c.s.w.org.login) {
			return 0, nil, notFound(c.rule.Doc)
		}
		return 200, c.u.orgFull(c.s.w.org), nil
	})
	s.handle(mux, "GET /orgs/{org}/repos", func(c *call) (int, any, *apiError) {
		if !strings.EqualFold(c.r.PathValue("org"), c.s.w.org.login) {
			return 0, nil, notFound(c.rule.Doc)
		}
		return 200, c.repoList(), nil
	})
	s.handle(mux, "GET /user/repos", func(c *call) (int, any, *apiError) {
		return 200, c.repoList(), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}", func(c *call) (int, any, *apiError) {
		return 200, c.u.repoFull(c.repo, true), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/commits", listCommits)
	s.handle(mux, "GET /repos/{owner}/{repo}/commits/{ref}", func(c *call) (int, any, *apiError) {
		cm := c.repo.commitByRef(c.r.PathValue("ref"))
		if cm == nil {
			// GitHub: 422 "No commit found for SHA: x" (OpenAPI lists 422 for repos/get-commit).
			return 0, nil, &apiError{status: 422, body: obj{"message": "No commit found for SHA: " + c.r.PathValue("ref"), "documentation_url": c.rule.Doc, "status": "422"}}
		}
		return 200, c.u.commit(c.repo, cm, true), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/pulls", listPulls)
	s.handle(mux, "GET /repos/{owner}/{repo}/pulls/{number}", func(c *call) (int, any, *apiError) {
		p, e := c.pullParam()
		if e != nil {
			return 0, nil, e
		}
		return 200, c.u.pull(c.repo, p, true), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/pulls/{number}/commits", pullSub(func(p *pull) []*commit {
		return p.commits[:min(len(p.commits), pullCommitsCap)]
	}, func(c *call, _ *pull, x *commit) obj { return c.u.commit(c.repo, x, false) }))
	s.handle(mux, "GET /repos/{owner}/{repo}/pulls/{number}/reviews", pullSub(func(p *pull) []*review { return p.reviews },
		func(c *call, p *pull, x *review) obj { return c.u.review(c.repo, p, x) }))
	s.handle(mux, "GET /repos/{owner}/{repo}/pulls/{number}/comments", pullSub(func(p *pull) []*reviewComment { return p.comments },
		func(c *call, p *pull, x *reviewComment) obj { return c.u.reviewComment(c.repo, p, x) }))
	s.handle(mux, "GET /repos/{owner}/{repo}/issues", listIssues)
	s.handle(mux, "GET /repos/{owner}/{repo}/issues/{number}", func(c *call) (int, any, *apiError) {
		i, e := c.issueParam()
		if e != nil {
			return 0, nil, e
		}
		return 200, c.u.issue(c.repo, i), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/issues/{number}/comments", func(c *call) (int, any, *apiError) {
		i, e := c.issueParam()
		if e != nil {
			return 0, nil, e
		}
		list := i.comments
		if v := c.r.URL.Query().Get("since"); v != "" {
			t, ok := parseTime(v)
			if !ok {
				return 0, nil, invalidTime(c, "since")
			}
			list = filter(list, func(x *issueComment) bool { return !x.updated.Before(t) })
		}
		var out []obj
		for _, v := range pageOf(c, list) {
			out = append(out, c.u.issueComment(c.repo, v))
		}
		return 200, nonNil(out), nil
	})
	s.handle(mux, "POST /repos/{owner}/{repo}/issues/{number}/comments", func(c *call) (int, any, *apiError) {
		i, e := c.issueParam()
		if e != nil {
			return 0, nil, e
		}
		var body struct {
			Body *string `json:"body"`
		}
		if e := c.decode(&body); e != nil {
			return 0, nil, e
		}
		if body.Body == nil || *body.Body == "" {
			return 0, nil, validationFailed(c.rule.Doc, "IssueComment", "body", "missing_field", "")
		}
		now := c.s.clock.Now()
		ic := &issueComment{id: c.s.w.id(), body: *body.Body, user: c.tok.owner, created: now, updated: now, issue: i}
		i.comments = append(i.comments, ic)
		i.updated = now
		if i.pull != nil {
			i.pull.updated = now
		}
		c.hdr.Set("Location", c.u.api+"/repos/"+c.repo.fullName()+"/issues/comments/"+strconv.FormatInt(ic.id, 10))
		c.s.hooks.publishLocked(c.repo, "issue_comment", "created", func(u urls) obj { return u.issueCommentEvent(c.repo, i, ic, "created") })
		return 201, c.u.issueComment(c.repo, ic), nil
	})
	s.handle(mux, "PATCH /repos/{owner}/{repo}/issues/comments/{id}", func(c *call) (int, any, *apiError) {
		id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
		var ic *issueComment
		var iss *issue
		for _, i := range c.repo.issues {
			for _, x := range i.comments {
				if x.id == id {
					ic, iss = x, i
				}
			}
		}
		if ic == nil {
			return 0, nil, notFound(c.rule.Doc)
		}
		var body struct {
			Body *string `json:"body"`
		}
		if e := c.decode(&body); e != nil {
			return 0, nil, e
		}
		if body.Body == nil {
			return 0, nil, validationFailed(c.rule.Doc, "IssueComment", "body", "missing_field", "")
		}
		ic.body, ic.updated = *body.Body, c.s.clock.Now()
		c.s.hooks.publishLocked(c.repo, "issue_comment", "edited", func(u urls) obj { return u.issueCommentEvent(c.repo, iss, ic, "edited") })
		return 200, c.u.issueComment(c.repo, ic), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/actions/runs", listRuns)
	s.handle(mux, "GET /repos/{owner}/{repo}/deployments", func(c *call) (int, any, *apiError) {
		q := c.r.URL.Query()
		list := reverse(c.repo.deploys) // newest first
		list = filter(list, func(d *deployment) bool {
			return (q.Get("environment") == "" || d.environment == q.Get("environment")) &&
				(q.Get("sha") == "" || d.sha == q.Get("sha")) && (q.Get("ref") == "" || d.ref == q.Get("ref")) &&
				(q.Get("task") == "" || d.task == q.Get("task"))
		})
		var out []obj
		for _, d := range pageOf(c, list) {
			out = append(out, c.u.deployment(c.repo, d))
		}
		return 200, nonNil(out), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/deployments/{id}/statuses", func(c *call) (int, any, *apiError) {
		id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
		for _, d := range c.repo.deploys {
			if d.id == id {
				var out []obj
				for _, st := range pageOf(c, reverse(d.statuses)) {
					out = append(out, c.u.deploymentStatus(c.repo, d, st))
				}
				return 200, nonNil(out), nil
			}
		}
		return 0, nil, notFound(c.rule.Doc)
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/environments", func(c *call) (int, any, *apiError) {
		var out []obj
		for _, e := range pageOf(c, c.repo.envs) {
			out = append(out, c.u.environment(c.repo, e))
		}
		return 200, obj{"total_count": len(c.repo.envs), "environments": nonNil(out)}, nil
	})
	s.hookRoutes(mux)
	s.handle(mux, "GET /rate_limit", func(c *call) (int, any, *apiError) {
		id := anonymous
		if c.tok != nil {
			id = c.tok.owner.login
		}
		return 200, c.s.limits.overview(id), nil
	})
	return mux
}

// renderPage cuts one page out of items (pageOf) and renders it; an empty page is [].
func renderPage[T any](c *call, items []T, render func(T) obj) []obj {
	out := []obj{}
	for _, x := range pageOf(c, items) {
		out = append(out, render(x))
	}
	return out
}

// pullSub serves one of a pull request's lists.
func pullSub[T any](items func(*pull) []T, render func(c *call, p *pull, x T) obj) func(*call) (int, any, *apiError) {
	return func(c *call) (int, any, *apiError) {
		p, e := c.pullParam()
		if e != nil {
			return 0, nil, e
		}
		return 200, renderPage(c, items(p), func(x T) obj { return render(c, p, x) }), nil
	}
}

func nonNil(in []obj) []obj {
	if in == nil {
		return []obj{}
	}
	return in
}

func filter[T any](in []T, keep func(T) bool) []T {
	var out []T
	for _, v := range in {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

func invalidTime(c *call, param string) *apiError {
	return &apiError{status: 422, body: obj{"message": "Invalid value for `" + param + "` parameter: must be an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SSZ)", "documentation_url": c.rule.Doc, "status": "422"}}
}

func (c *call) repoList() []obj {
	var list []*repo
	for _, r := range c.s.w.org.repos {
		if c.tok != nil && c.tok.seesRepo(r) {
			list = append(list, r)
		}
	}
	var out []obj
	for _, r := range pageOf(c, list) {
		out = append(out, c.u.repoFull(r, false))
	}
	return nonNil(out)
}

func (c *call) pullParam() (*pull, *apiError) {
	n, err := strconv.Atoi(c.r.PathValue("number"))
	if err != nil {
		return nil, notFound(c.rule.Doc)
	}
	p := c.repo.pullByNumber(n)
	if p == nil {
		return nil, notFound(c.rule.Doc)
	}
	return p, nil
}

func (c *call) issueParam() (*issue, *apiError) {
	n, err := strconv.Atoi(c.r.PathValue("number"))
	if err != nil {
		return nil, notFound(c.rule.Doc)
	}
	i := c.repo.issueByNumber(n)
	if i == nil {
		return nil, notFound(c.rule.Doc)
	}
	return i, nil
}

// listCommits walks a branch (sha= a branch or a commit; default the default branch), newest
// first, filtered by since/until on the commit date.
func listCommits(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	ref := q.Get("sha")
	if ref == "" {
		ref = c.repo.defaultBranch
	}
	var list []*commit
	if b, ok := c.repo.branches[ref]; ok {
		list = b
	} else if cm := c.repo.commitByRef(ref); cm != nil {
		list = c.repo.ancestors(cm)
	} else {
		return 0, nil, notFound(c.rule.Doc)
	}
	for _, p := range []string{"since", "until"} {
		v := q.Get(p)
		if v == "" {
			continue
		}
		t, ok := parseTime(v)
		if !ok {
			return 0, nil, invalidTime(c, p)
		}
		if p == "since" {
			list = filter(list, func(x *commit) bool { return !x.committed.Before(t) })
		} else {
			list = filter(list, func(x *commit) bool { return !x.committed.After(t) })
		}
	}
	var out []obj
	for _, cm := range pageOf(c, list) {
		out = append(out, c.u.commit(c.repo, cm, false))
	}
	return 200, nonNil(out), nil
}

// ancestors lists c and the commits reachable from it, newest first.
func (r *repo) ancestors(c *commit) []*commit {
	seen := map[string]bool{}
	var out []*commit
	stack := []*commit{c}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[x.sha] {
			continue
		}
		seen[x.sha] = true
		out = append(out, x)
		for _, p := range x.parents {
			if pc := r.commits[p]; pc != nil {
				stack = append(stack, pc)
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].committed.After(out[b].committed) })
	return out
}

// listPulls: state open|closed|all (default open), sort created|updated|popularity|long-running
// (default created), direction default desc when sort is created or absent, else asc
// (OpenAPI pulls/list parameters).
func listPulls(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if !slices.Contains([]string{"open", "closed", "all"}, state) {
		return 0, nil, validationFailed(c.rule.Doc, "Issue", "state", "invalid", "")
	}
	sortKey := q.Get("sort")
	dir := q.Get("direction")
	if dir == "" {
		dir = "asc"
		if sortKey == "" || sortKey == "created" {
			dir = "desc"
		}
	}
	list := filter(c.repo.pulls, func(p *pull) bool { return state == "all" || p.state == state })
	if b := q.Get("base"); b != "" {
		list = filter(list, func(p *pull) bool { return p.baseRef == b })
	}
	if h := q.Get("head"); h != "" {
		list = filter(list, func(p *pull) bool { return c.repo.owner.login+":"+p.headRef == h })
	}
	issues := make([]*issue, len(list))
	for i, p := range list {
		issues[i] = p.issue
	}
	sortIssues(issues, sortKey, dir)
	var out []obj
	for _, i := range pageOf(c, issues) {
		out = append(out, c.u.pull(c.repo, i.pull, false))
	}
	return 200, nonNil(out), nil
}

// listIssues: pull requests appear among issues with a pull_request key ("GitHub's REST API
// considers every pull request an issue", OpenAPI issues/list-for-repo). since filters on
// updated_at; labels is a comma list that must all match.
func listIssues(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if !slices.Contains([]string{"open", "closed", "all"}, state) {
		return 0, nil, validationFailed(c.rule.Doc, "Issue", "state", "invalid", "")
	}
	list := filter(c.repo.issues, func(i *issue) bool { return state == "all" || i.state == state })
	if v := q.Get("since"); v != "" {
		t, ok := parseTime(v)
		if !ok {
			return 0, nil, invalidTime(c, "since")
		}
		list = filter(list, func(i *issue) bool { return !i.updated.Before(t) })
	}
	if v := q.Get("labels"); v != "" {
		want := strings.Split(v, ",")
		list = filter(list, func(i *issue) bool {
			for _, w := range want {
				if !slices.ContainsFunc(i.labels, func(l *label) bool { return strings.EqualFold(l.name, strings.TrimSpace(w)) }) {
					return false
				}
			}
			return true
		})
	}
	dir := q.Get("direction")
	if dir == "" {
		dir = "desc"
	}
	list = slices.Clone(list)
	sortIssues(list, q.Get("sort"), dir)
	var out []obj
	for _, i := range pageOf(c, list) {
		out = append(out, c.u.issue(c.repo, i))
	}
	return 200, nonNil(out), nil
}

// listRuns: newest first; created= takes GitHub's search date syntax (>=D, <=D, >D, <D, D..D, D).
func listRuns(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	list := reverse(c.repo.runs)
	capped := false
	if v := q.Get("created"); v != "" {
		from, to, ok := dateRange(v)
		if !ok {
			return 0, nil, &apiError{status: 422, body: obj{"message": "Invalid created parameter: use YYYY-MM-DD, >=YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD", "documentation_url": c.rule.Doc, "status": "422"}}
		}
		list = filter(list, func(r *run) bool { return !r.created.Before(from) && r.created.Before(to) })
		capped = true
	}
	for _, p := range []struct {
		k string
		f func(*run) string
	}{{"branch", func(r *run) string { return r.headBranch }}, {"event", func(r *run) string { return r.event }},
		{"head_sha", func(r *run) string { return r.headSHA }}, {"actor", func(r *run) string { return r.actor.login }}} {
		if v := q.Get(p.k); v != "" {
			list = filter(list, func(r *run) bool { return p.f(r) == v })
			capped = true
		}
	}
	if v := q.Get("status"); v != "" {
		list = filter(list, func(r *run) bool { return r.status == v || r.conclusion == v })
		capped = true
	}
	total := len(list)
	first := (c.pageNum() - 1) * c.perPage()
	if capped && total > c.s.runsCap && first >= c.s.runsCap {
		return 0, nil, paginationLimited()
	}
	page := pageOf(c, list) // Link as the true count gives it: past the cap too
	if capped {
		page = page[:max(0, min(len(page), c.s.runsCap-first))]
	}
	var out []obj
	for _, r := range page {
		out = append(out, c.u.run(c.repo, r, c.repo.commits[r.headSHA]))
	}
	return 200, obj{"total_count": total, "workflow_runs": nonNil(out)}, nil
}

// dateRange parses GitHub's search-syntax date qualifier into [from, to).
func dateRange(v string) (time.Time, time.Time, bool) {
	minT, maxT := time.Unix(0, 0).UTC(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	day := func(s string) (time.Time, bool) { return parseTime(s) }
	endOf := func(t time.Time, s string) time.Time {
		if len(s) == len("2006-01-02") {
			return t.AddDate(0, 0, 1)
		}
		return t.Add(time.Second)
	}
	switch {
	case strings.Contains(v, ".."):
		a, b, _ := strings.Cut(v, "..")
		from, to := minT, maxT
		if a != "*" {
			t, ok := day(a)
			if !ok {
				return from, to, false
			}
			from = t
		}
		if b != "*" {
			t, ok := day(b)
			if !ok {
				return from, to, false
			}
			to = endOf(t, b)
		}
		return from, to, true
	case strings.HasPrefix(v, ">="):
		t, ok := day(v[2:])
		return t, maxT, ok
	case strings.HasPrefix(v, "<="):
		t, ok := day(v[2:])
		return minT, endOf(t, v[2:]), ok
	case strings.HasPrefix(v, ">"):
		t, ok := day(v[1:])
		return endOf(t, v[1:]), maxT, ok
	case strings.HasPrefix(v, "<"):
		t, ok := day(v[1:])
		return minT, t, ok
	}
	t, ok := day(v)
	return t, endOf(t, v), ok
}
