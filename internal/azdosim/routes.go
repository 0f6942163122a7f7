package azdosim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// route is one REST endpoint. Patterns are relative to the organization/collection base; literal
// segments match case-insensitively (the SDK builds paths from record casing, e.g. build/Builds).
// A leading "{project?}/" registers the pattern with and without the project segment.
type route struct {
	method  string
	pattern string
	loc     string   // location id: api-version bounds come from the record served by OPTIONS
	scopes  []string // any one is enough: from the specs (scopes.go), set by newRouter
	release bool     // lives on the release host in Services mode
	both    bool     // on the main and the release host in Services mode (service hooks)
	h       func(*rq) error
	segs    []string
}

// routeTable is every REST endpoint the simulator serves, in one place.
func routeTable() []route {
	return []route{
		// Location service.
		{method: "GET", pattern: "_apis/ConnectionData", loc: "00d9565f-ed9c-4a06-9a50-00e7896ccab4", h: hConnectionData},
		{method: "GET", pattern: "_apis/ResourceAreas", loc: "e81700f7-3be2-46de-8624-2eb35882fcaa", h: hResourceAreas},
		{method: "GET", pattern: "_apis/ResourceAreas/{areaId}", loc: "e81700f7-3be2-46de-8624-2eb35882fcaa", h: hResourceAreas},

		// Core.
		{method: "GET", pattern: "_apis/projects", loc: "603fe2ac-9723-48b9-88ad-09305aa6c6e1", h: hProjects},
		{method: "GET", pattern: "_apis/projects/{projectId}", loc: "603fe2ac-9723-48b9-88ad-09305aa6c6e1", h: hProject},

		// Git.
		{method: "GET", pattern: "{project?}/_apis/git/repositories", loc: "225f7195-f9c7-4d14-ab28-a83f7ff77e1f", h: hRepos},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}", loc: "225f7195-f9c7-4d14-ab28-a83f7ff77e1f", h: hRepo},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/commits", loc: "c2570c3b-5b3f-41b8-98bf-5407bfde8d58", h: hCommits},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/commits/{commitId}", loc: "c2570c3b-5b3f-41b8-98bf-5407bfde8d58", h: hCommit},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pushes", loc: "ea98d07b-3c87-4971-8ede-a613694ffb55", h: hPushes},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/refs", loc: "2d874a60-a811-4f62-9c9f-963a6ea0a55b", h: hRefs},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests", loc: "9946fd70-0d40-406e-b686-b4744cbbcc37", h: hPullRequests},
		{method: "GET", pattern: "{project}/_apis/git/pullRequests", loc: "a5d28130-9cd2-40fa-9f08-902e7daa9efb", h: hPullRequests},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}", loc: "9946fd70-0d40-406e-b686-b4744cbbcc37", h: hPullRequest},
		{method: "GET", pattern: "{project?}/_apis/git/pullRequests/{pullRequestId}", loc: "01a46dea-7d46-4d40-bc84-319e7c260d99", h: hPullRequest},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads", loc: "ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", h: hThreads},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}", loc: "ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", h: hThread},
		{method: "POST", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads", loc: "ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", h: hThreadCreate},
		{method: "PATCH", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}", loc: "ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", h: hThreadUpdate},
		{method: "POST", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments", loc: "965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b", h: hCommentCreate},
		{method: "PATCH", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments/{commentId}", loc: "965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b", h: hCommentUpdate},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/reviewers", loc: "4b6702c7-aa35-4b89-9c96-b9abf6d3e540", h: hReviewers},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/workitems", loc: "0a637fcc-5370-4ce8-b0e8-98091f5f9482", h: hPRWorkItems},
		{method: "GET", pattern: "{project?}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/commits", loc: "52823034-34a8-4576-922c-8d8b77e9e4c4", h: hPRCommits},

		// Build and pipelines.
		{method: "GET", pattern: "{project}/_apis/build/builds", loc: "0cd358e1-9217-4d94-8269-1c1ee6f93dcf", h: hBuilds},
		{method: "GET", pattern: "{project}/_apis/build/builds/{buildId}", loc: "0cd358e1-9217-4d94-8269-1c1ee6f93dcf", h: hBuild},
		{method: "GET", pattern: "{project}/_apis/build/builds/{buildId}/timeline", loc: "8baac422-4c6e-4de5-8532-db96d92acffa", h: hTimeline},
		{method: "GET", pattern: "{project}/_apis/build/builds/{buildId}/timeline/{timelineId}", loc: "8baac422-4c6e-4de5-8532-db96d92acffa", h: hTimeline},
		{method: "GET", pattern: "{project}/_apis/build/builds/{buildId}/workitems", loc: "5a21f5d2-5642-47e4-a0bd-1356e6731bee", h: hBuildWorkItems},
		{method: "POST", pattern: "{project}/_apis/build/builds/{buildId}/workitems", loc: "5a21f5d2-5642-47e4-a0bd-1356e6731bee", h: hBuildWorkItems},
		{method: "GET", pattern: "{project}/_apis/build/builds/{buildId}/changes", loc: "54572c7b-bbd3-45d4-80dc-28be08941620", h: hBuildChanges},
		{method: "GET", pattern: "{project}/_apis/pipelines", loc: "28e1305e-2afe-47bf-abaf-cbb0e6a91988", h: hPipelines},
		{method: "GET", pattern: "{project}/_apis/pipelines/{pipelineId}/runs", loc: "7859261e-d2e9-4a68-b820-a5d84cc5bb3d", h: hPipelineRuns},
		{method: "GET", pattern: "{project}/_apis/pipelines/{pipelineId}/runs/{runId}", loc: "7859261e-d2e9-4a68-b820-a5d84cc5bb3d", h: hPipelineRun},
		{method: "GET", pattern: "{project}/_apis/distributedtask/environments", loc: "8572b1fc-2482-47fa-8f74-7e3ed53ee54b", h: hEnvironments},
		{method: "GET", pattern: "{project}/_apis/distributedtask/environments/{environmentId}/environmentdeploymentrecords", loc: "51bb5d21-4305-4ea6-9dbb-b7488af73334", h: hEnvironmentRecords},

		// Release (vsrm host in Services mode).
		{method: "GET", pattern: "{project}/_apis/release/deployments", loc: "b005ef73-cddc-448e-9ba2-5193bf36b19f", release: true, h: hDeployments},
		{method: "GET", pattern: "{project}/_apis/release/releases", loc: "a166fde7-27ad-408e-ba75-703c2cc9d500", release: true, h: hReleases},

		// Work item tracking.
		{method: "POST", pattern: "{project?}/_apis/wit/wiql", loc: "1a9c53f7-f243-4447-b110-35ef023636e4", h: hWiql},
		{method: "POST", pattern: "{project}/{team}/_apis/wit/wiql", loc: "1a9c53f7-f243-4447-b110-35ef023636e4", h: hWiql},
		{method: "GET", pattern: "{project?}/_apis/wit/wiql/{id}", loc: "a02355f5-5f8a-4671-8e32-369d23aac83d", h: hWiqlByID},
		{method: "POST", pattern: "{project?}/_apis/wit/workItemsBatch", loc: "908509b6-4248-4475-a1cd-829139ba419f", h: hWorkItemsBatch},
		{method: "GET", pattern: "{project?}/_apis/wit/workItems", loc: "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b", h: hWorkItems},
		{method: "GET", pattern: "{project?}/_apis/wit/workItems/{id}", loc: "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b", h: hWorkItem},
		{method: "PATCH", pattern: "{project?}/_apis/wit/workItems/{id}", loc: "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b", h: hWorkItemPatch},
		{method: "GET", pattern: "{project?}/_apis/wit/workItems/{id}/updates", loc: "6570bf97-d02c-4a91-8d93-3abe9895b1a9", h: hWorkItemUpdates},
		{method: "POST", pattern: "{project?}/_apis/wit/artifactUriQuery", loc: "a9a9aa7a-8c09-44d3-ad1b-46e855c1e3d3", h: hArtifactURIQuery},

		// Service hooks (organization level).
		{method: "GET", pattern: "_apis/hooks/subscriptions", loc: "fc50d02a-849f-41fb-8af1-0a5216103269", both: true, h: hSubscriptionList},
		{method: "POST", pattern: "_apis/hooks/subscriptions", loc: "fc50d02a-849f-41fb-8af1-0a5216103269", both: true, h: hSubscriptionCreate},
		{method: "GET", pattern: "_apis/hooks/subscriptions/{subscriptionId}", loc: "fc50d02a-849f-41fb-8af1-0a5216103269", both: true, h: hSubscriptionGet},
		{method: "PUT", pattern: "_apis/hooks/subscriptions/{subscriptionId}", loc: "fc50d02a-849f-41fb-8af1-0a5216103269", both: true, h: hSubscriptionReplace},
		{method: "PUT", pattern: "_apis/hooks/subscriptions", loc: "fc50d02a-849f-41fb-8af1-0a5216103269", both: true, h: hSubscriptionReplace},
		{method: "DELETE", pattern: "_apis/hooks/subscriptions/{subscriptionId}", loc: "fc50d02a-849f-41fb-8af1-0a5216103269", both: true, h: hSubscriptionDelete},
		{method: "GET", pattern: "_apis/hooks/subscriptions/{subscriptionId}/notifications", loc: "0c62d343-21b0-4732-997b-017fde84dc28", both: true, h: hNotifications},
		{method: "GET", pattern: "_apis/hooks/subscriptions/{subscriptionId}/notifications/{notificationId}", loc: "0c62d343-21b0-4732-997b-017fde84dc28", both: true, h: hNotifications},
		{method: "POST", pattern: "_apis/hooks/testNotifications", loc: "1139462c-7e27-4524-a997-31b9b73551fe", h: hTestNotification},
		{method: "GET", pattern: "_apis/hooks/publishers", loc: "1e83a210-5b53-43bc-90f0-d476a4e5d731", h: hPublishers},
		{method: "GET", pattern: "_apis/hooks/publishers/{publisherId}/eventTypes", loc: "db4777cd-8e08-4a84-8ba3-c974ea033718", h: hEventTypes},
		{method: "GET", pattern: "_apis/hooks/consumers", loc: "4301c514-5f34-4f5d-a145-f0ea7b5b7d19", h: hConsumers},
		{method: "GET", pattern: "_apis/hooks/consumers/{consumerId}", loc: "4301c514-5f34-4f5d-a145-f0ea7b5b7d19", h: hConsumers},
	}
}

type router struct {
	s    *Sim
	main []*route
	rel  []*route
	locs *locations
}

func newRouter(s *Sim) *router {
	rt := &router{s: s, locs: buildLocations(s.opts.Mode, s.opts.ServerVersion)}
	folder := specFolder(s.opts.Mode, s.opts.ServerVersion)
	for _, r := range routeTable() {
		r.scopes = routeScopes(folder, r)
		pats := []string{r.pattern}
		if rest, ok := strings.CutPrefix(r.pattern, "{project?}/"); ok {
			pats = []string{rest, "{project}/" + rest}
		}
		for _, p := range pats {
			rr := r
			rr.pattern = p
			rr.segs = strings.Split(p, "/")
			if _, ok := rt.locs.byID[rr.loc]; !ok {
				continue // the resource does not exist in this server release
			}
			switch {
			case r.release && !s.isServer():
				rt.rel = append(rt.rel, &rr)
			case r.both && !s.isServer():
				rt.main = append(rt.main, &rr)
				rel := rr
				rel.scopes = append(slices.Clip(rr.scopes), releaseHookScope)
				rt.rel = append(rt.rel, &rel)
			default:
				rt.main = append(rt.main, &rr)
			}
		}
	}
	// The release host answers its own location calls.
	for _, r := range rt.main {
		if strings.HasPrefix(r.pattern, "_apis/ConnectionData") || strings.HasPrefix(r.pattern, "_apis/ResourceAreas") {
			rt.rel = append(rt.rel, r)
		}
	}
	return rt
}

func (rt *router) match(routes []*route, method string, segs []string) (*route, map[string]string, bool) {
	pathMatched := false
	for _, r := range routes {
		if len(r.segs) != len(segs) {
			continue
		}
		vars := map[string]string{}
		ok := true
		for i, p := range r.segs {
			if len(p) > 2 && p[0] == '{' && p[len(p)-1] == '}' {
				if segs[i] == "" || strings.HasPrefix(segs[i], "_apis") {
					ok = false
					break
				}
				vars[p[1:len(p)-1]] = segs[i]
				continue
			}
			if !strings.EqualFold(p, segs[i]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pathMatched = true
		if r.method == method {
			return r, vars, true
		}
	}
	return nil, nil, pathMatched
}

// handler is the HTTP entry point of one listener.
func (s *Sim) handler(releaseHost bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("azdo-sim handler panic", "path", r.URL.Path, "panic", v)
				writeVSS(sw, &vssError{status: 500, typeKey: "InternalServerErrorException", typeName: "System.Exception, mscorlib",
					message: fmt.Sprintf("TF400898: An Internal Error Occurred. (simulator panic: %v)", v)}, "")
			}
		}()
		defer func() {
			s.log.Debug("azdo-sim request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "dur", time.Since(start))
		}()
		if !releaseHost && (strings.HasPrefix(r.URL.Path, "/_sim/") || r.URL.Path == "/_sim") {
			s.control(sw, r)
			return
		}
		if r.URL.Path == "/_signin" {
			s.signinPage(sw, r)
			return
		}
		fw, done := s.faults.apply(sw, r)
		if done {
			return
		}
		s.serveREST(fw, r, releaseHost)
		if f, ok := fw.(interface{ finish() }); ok {
			f.finish()
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (for resets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func splitPath(r *http.Request) []string {
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}

func (s *Sim) serveREST(w http.ResponseWriter, r *http.Request, releaseHost bool) {
	segs := splitPath(r)
	// Legacy Services hosts: https://{org}.visualstudio.com[/DefaultCollection]/… and
	// {org}.vsrm.visualstudio.com carry the organization in the host name (PROTOCOL §1).
	if host, _, _ := strings.Cut(r.Host, ":"); !s.isServer() && (strings.EqualFold(host, s.org.name+".visualstudio.com") || strings.EqualFold(host, s.org.name+".vsrm.visualstudio.com")) {
		if len(segs) > 0 && strings.EqualFold(segs[0], "DefaultCollection") {
			segs = segs[1:]
		}
		segs = append([]string{s.org.name}, segs...)
	}
	// Strip the deployment's virtual directory, then the organization / collection base.
	dir := "/"
	if s.isServer() {
		vdir := s.opts.VirtualDir
		switch {
		case vdir != "" && (len(segs) == 0 || !strings.EqualFold(segs[0], vdir)):
			segs = nil // outside the deployment: IIS answers 404
		case vdir != "":
			segs, dir = segs[1:], "/"+vdir+"/"
		case len(segs) > 0 && strings.EqualFold(segs[0], "tfs"):
			segs, dir = segs[1:], "/tfs/"
		}
	}
	if len(segs) == 0 || !strings.EqualFold(segs[0], s.org.name) {
		// Deployment-level connectionData answers without a collection; everything else is 404.
		if s.isServer() && len(segs) == 2 && strings.EqualFold(segs[0], "_apis") && strings.EqualFold(segs[1], "connectionData") {
			s.dispatch(w, r, []string{"_apis", "ConnectionData"}, releaseHost, dir)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(404)
		w.Write([]byte("<html><body><h1>404 - Page not found</h1></body></html>"))
		return
	}
	s.dispatch(w, r, segs[1:], releaseHost, dir)
}

func (s *Sim) dispatch(w http.ResponseWriter, r *http.Request, segs []string, releaseHost bool, dir string) {
	rt := s.routes
	q := &rq{s: s, w: w, r: r, qs: r.URL.Query(), q: map[string]string{}, releaseHost: releaseHost, dir: dir}
	for k, v := range q.qs {
		q.q[strings.ToLower(k)] = v[0]
	}
	w.Header().Set("ActivityId", guid(uint64(time.Now().UnixNano()), "activity", 0))
	w.Header().Set("X-TFS-Session", r.Header.Get("X-TFS-Session"))
	w.Header().Set("Access-Control-Expose-Headers", "ActivityId,X-TFS-Session,X-MS-ContinuationToken")
	w.Header().Set("X-TFS-ProcessId", s.org.instanceID)
	if s.isServer() {
		w.Header().Set("lfs-authenticate", "NTLM") // as the on-prem captures show
	}

	// Location discovery: OPTIONS {base}/_apis.
	if r.Method == http.MethodOptions && len(segs) == 1 && strings.EqualFold(segs[0], "_apis") {
		p, res := s.auth.authenticate(r, s.clock.Now())
		if res != authOK && res != authAnonymous {
			s.authFailure(w, r, res, p)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if releaseHost {
			w.Write(rt.locs.relOptions)
		} else {
			w.Write(rt.locs.mainOptions)
		}
		return
	}
	routes := rt.main
	if releaseHost {
		routes = rt.rel
	}
	route, vars, pathOK := rt.match(routes, r.Method, segs)
	if route == nil {
		e := &vssError{status: 404, typeKey: "RouteNotFoundException", typeName: "Microsoft.VisualStudio.Services.WebApi.RouteNotFoundException, Microsoft.VisualStudio.Services.WebApi",
			message: "The requested resource does not exist or the route is not supported by this server: " + r.URL.Path}
		if pathOK {
			e.status, e.typeKey, e.message = 405, "MethodNotAllowedException", "The requested resource does not support http method '"+r.Method+"'."
		}
		writeVSS(w, e, "")
		return
	}
	q.rt, q.vars = route, vars
	p, res := s.auth.authenticate(r, s.clock.Now())
	if res == authAnonymous && route.h == nil {
		res = authInvalid
	}
	switch {
	case res == authAnonymous && strings.HasSuffix(strings.ToLower(route.pattern), "connectiondata"):
		// Anonymous connectionData answers with the anonymous identity (PROTOCOL §2).
	case res != authOK:
		s.authFailure(w, r, res, p)
		return
	case !p.has(route.scopes):
		s.write401(w, tf400813(s.org.idents[p.user].ID))
		return
	}
	q.pat = p
	if p != nil {
		id := s.org.idents[p.user]
		w.Header().Set("X-VSS-UserData", id.ID+":"+id.Email)
		if wait, blocked := s.limiter.charge(w, id.ID); blocked {
			writeVSS(w, &vssError{status: 429, typeKey: "RequestBlockedException",
				typeName: "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server",
				message:  "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'ATCPU' in namespace 'User'."}, "")
			return
		} else if wait > 0 {
			time.Sleep(wait)
		}
	}
	rec := rt.locs.byID[route.loc]
	v, verr := checkVersion(requestedVersion(q.q, r.Header.Get("Accept")), r.Method, rec)
	if verr != nil {
		writeVSS(w, verr, "")
		return
	}
	q.apiVersion = v
	if key, ok := vars["project"]; ok {
		q.proj = s.org.project(key)
		if q.proj == nil {
			writeVSS(w, projectNotFound(key), v)
			return
		}
	}
	if err := route.h(q); err != nil {
		var ve *vssError
		if !errors.As(err, &ve) {
			s.log.Error("azdo-sim handler failed", "path", r.URL.Path, "err", err)
			ve = &vssError{status: 500, typeKey: "InternalServerErrorException", typeName: "System.Exception, mscorlib",
				message: "TF400898: An Internal Error Occurred. Activity Id: " + w.Header().Get("ActivityId") + "."}
		}
		writeVSS(w, ve, v)
	}
}

func writeVSS(w http.ResponseWriter, e *vssError, apiVersion string) {
	q := &rq{w: w, apiVersion: apiVersion}
	for k, v := range e.headers {
		w.Header().Set(k, v)
	}
	if err := q.writeJSON(e.status, e.body()); err != nil {
		slog.Debug("azdo-sim write error", "err", err)
	}
}

func hConnectionData(q *rq) error { return q.writeJSON(200, q.s.connectionData(q.pat, q.dir)) }

func hResourceAreas(q *rq) error {
	ra := q.s.resourceAreas()
	if id := q.vars["areaId"]; id != "" {
		for _, a := range ra["value"].([]any) {
			if strings.EqualFold(a.(obj)["id"].(string), id) {
				return q.writeJSON(200, a)
			}
		}
		return notFound("ResourceAreaNotFoundException", "Microsoft.VisualStudio.Services.Location.ResourceAreaNotFoundException, Microsoft.VisualStudio.Services.WebApi", "Resource area "+id+" was not found.")
	}
	return q.writeJSON(200, ra)
}
