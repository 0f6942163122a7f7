package azdosim

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// ---- core -------------------------------------------------------------------------------------

func hProjects(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	top, skip, err := q.topSkip("$")
	if err != nil {
		return err
	}
	if ct, err := q.queryInt(0, "continuationToken"); err != nil {
		return err
	} else if ct > skip {
		skip = ct
	}
	var out []any
	for i := skip; i < len(o.projects) && len(out) < top; i++ {
		out = append(out, q.s.projectRef(o.projects[i]))
	}
	if skip+len(out) < len(o.projects) {
		q.w.Header().Set("X-MS-ContinuationToken", strconv.Itoa(skip+len(out)))
	}
	return q.list(out)
}

func hProject(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	p := o.project(q.vars["projectId"])
	if p == nil {
		return projectNotFound(q.vars["projectId"])
	}
	out := q.s.projectRef(p)
	out["capabilities"] = obj{"versioncontrol": obj{"sourceControlType": "Git"}, "processTemplate": obj{"templateName": "Agile"}}
	out["defaultTeam"] = obj{"id": guid(o.seed, "team", p.idx), "name": p.Name + " Team"}
	return q.writeJSON(200, out)
}

// ---- git --------------------------------------------------------------------------------------

func (q *rq) repo() (*repo, error) {
	key := q.vars["repositoryId"]
	r := q.s.org.repo(q.proj, key)
	if r == nil {
		return nil, repoNotFound(key)
	}
	return r, nil
}

func hRepos(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	var out []any
	for _, p := range o.projects {
		if q.proj != nil && p != q.proj {
			continue
		}
		for _, r := range p.repos {
			out = append(out, q.s.repoRef(r))
		}
	}
	return q.list(out)
}

func hRepo(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := q.repo()
	if err != nil {
		return err
	}
	out := q.s.repoRef(r)
	out["_links"] = obj{"self": obj{"href": out["url"]}, "project": obj{"href": q.s.base() + "/_apis/projects/" + r.proj.ID},
		"web": obj{"href": out["webUrl"]}, "commits": obj{"href": out["url"].(string) + "/commits"}}
	return q.writeJSON(200, out)
}

func unresolvable(kind, v string) error {
	return &vssError{status: 404, typeKey: "GitUnresolvableToCommitException",
		typeName: "Microsoft.TeamFoundation.Git.Server.GitUnresolvableToCommitException, Microsoft.TeamFoundation.Git.Server",
		message:  "TF401175: The version descriptor <" + kind + ": " + v + " > could not be resolved to a version commit."}
}

// commitWalk lists the history reachable from a starting commit, newest first: a branch's own
// commits down to its first, then the default branch from the fork point down. Every branch
// forks from the default branch, so this is also git log's date order.
type commitWalk struct {
	r     *repo
	br    *branch // start among br's own commits at j, nil: on the default branch at j
	j     int32
	empty bool
}

// each calls fn for every commit of the walk whose committer date is at or after from (later
// ones are older still) until fn returns false.
func (w commitWalk) each(from int64, fn func(x cref) bool) {
	if w.empty {
		return
	}
	idx := w.j
	if w.br != nil {
		for j := w.j; j >= 0; j-- {
			x := cref{r: w.r, br: w.br, i: j}
			if x.c().at < from || !fn(x) {
				return
			}
		}
		idx = w.br.base
	}
	for i := idx; i >= 0; i-- {
		x := cref{r: w.r, i: i}
		if x.c().at < from || !fn(x) {
			return
		}
	}
}

// walkFor resolves searchCriteria.itemVersion: a branch (the default) or a commit id.
func (q *rq) walkFor(r *repo) (commitWalk, error) {
	o := q.s.org
	v := q.query("searchCriteria.itemVersion.version", "itemVersion.version")
	typ := strings.ToLower(q.query("searchCriteria.itemVersion.versionType", "itemVersion.versionType"))
	w := commitWalk{r: r, j: int32(len(r.commits) - 1), empty: len(r.commits) == 0}
	switch {
	case v == "":
	case typ == "" || typ == "branch":
		name := strings.TrimPrefix(v, "refs/heads/")
		if strings.EqualFold(name, strings.TrimPrefix(r.defaultBranch(), "refs/heads/")) {
			break
		}
		b := r.branch(name)
		if b == nil {
			return w, unresolvable("Branch", v)
		}
		w = commitWalk{r: r, br: b, j: int32(len(b.commits) - 1)}
		if len(b.commits) == 0 {
			w = commitWalk{r: r, j: b.base}
		}
	case typ == "commit":
		x, ok := o.findCommit(r, v)
		if !ok {
			return w, unresolvable("Commit", v)
		}
		w = commitWalk{r: r, br: x.br, j: x.i}
	default:
		return w, unresolvable(q.query("searchCriteria.itemVersion.versionType", "itemVersion.versionType"), v)
	}
	return w, nil
}

func hCommits(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := q.repo()
	if err != nil {
		return err
	}
	if q.query("pushId") != "" {
		return pushCommits(q, r)
	}
	top, skip, err := q.topSkip("searchCriteria.$", "$")
	if err != nil {
		return err
	}
	from, hasFrom, err := q.queryTime("searchCriteria.fromDate", "fromDate")
	if err != nil {
		return err
	}
	to, hasTo, err := q.queryTime("searchCriteria.toDate", "toDate")
	if err != nil {
		return err
	}
	walk, err := q.walkFor(r)
	if err != nil {
		return err
	}
	author := strings.ToLower(q.query("searchCriteria.author", "author"))
	withWI := strings.EqualFold(q.query("searchCriteria.includeWorkItems", "includeWorkItems"), "true")
	withPush := strings.EqualFold(q.query("searchCriteria.includePushData", "includePushData"), "true")
	oldestFirst := strings.EqualFold(q.query("searchCriteria.showOldestCommitsFirst", "showOldestCommitsFirst"), "true")

	var ids []string
	if v := q.query("searchCriteria.ids", "ids"); v != "" {
		ids = strings.Split(v, ",")
	}
	for i := 0; ; i++ {
		v := q.query(fmt.Sprintf("searchCriteria.ids[%d]", i))
		if v == "" {
			break
		}
		ids = append(ids, v)
	}
	var out []any
	if len(ids) > 0 {
		for _, id := range ids {
			if x, ok := o.findCommit(r, strings.TrimSpace(id)); ok {
				out = append(out, q.s.commitObj(x, withWI, withPush))
			}
		}
		return q.list(out)
	}
	// fromDate and toDate select by committer date, not author date: a rebased or cherry-picked
	// commit authored before fromDate but committed after it is listed, one committed after toDate
	// is not, whatever its author date (MicrosoftDocs/azure-devops-docs#3909, acknowledged by the
	// docs team; the 7.1 git.json GitQueryCommitsCriteria only says "history entries created
	// after this date"). The walk is in committer order: it stops below from, and on the default
	// branch toDate skips ahead.
	if !hasFrom {
		from = math.MinInt64
	}
	if hasTo && walk.br == nil {
		walk.j = min(walk.j, int32(r.commitAtOrAfter(to+1)-1))
		walk.empty = walk.empty || walk.j < 0
	}
	keep := func(x cref) bool {
		c := x.c()
		if t := c.at; hasFrom && t < from || hasTo && t > to {
			return false
		}
		if author != "" {
			id := o.idents[c.author]
			if !strings.Contains(strings.ToLower(id.Name), author) && !strings.Contains(strings.ToLower(id.Email), author) {
				return false
			}
		}
		return true
	}
	if oldestFirst {
		var all []cref
		walk.each(from, func(x cref) bool {
			if keep(x) {
				all = append(all, x)
			}
			return true
		})
		for i := len(all) - 1 - skip; i >= 0 && len(out) < top; i-- {
			out = append(out, q.s.commitObj(all[i], withWI, withPush))
		}
		return q.list(out)
	}
	walk.each(from, func(x cref) bool {
		if !keep(x) {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		out = append(out, q.s.commitObj(x, withWI, withPush))
		return len(out) < top
	})
	return q.list(out)
}

// pushCommits serves GET …/commits?pushId= (Commits - Get Push Commits): the commits a push
// brought, newest first, paged with top/skip.
func pushCommits(q *rq, r *repo) error {
	id, err := q.queryInt(0, "pushId")
	if err != nil {
		return err
	}
	top, skip, err := q.topSkip("", "$")
	if err != nil {
		return err
	}
	p := r.findPush(int32(id))
	if p == nil {
		return notFound("GitPushNotFoundException", "Microsoft.TeamFoundation.Git.Server.GitPushNotFoundException, Microsoft.TeamFoundation.Git.Server",
			fmt.Sprintf("TF401179: Push %d not found in repository %s.", id, r.Name))
	}
	var out []any
	for _, x := range p.commits(r) {
		if skip > 0 {
			skip--
			continue
		}
		if len(out) >= top {
			break
		}
		out = append(out, q.s.commitObj(x, false, false))
	}
	return q.list(out)
}

func hCommit(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := q.repo()
	if err != nil {
		return err
	}
	x, ok := o.findCommit(r, q.vars["commitId"])
	if !ok {
		return notFound("GitObjectNotFoundException", "Microsoft.TeamFoundation.Git.Server.GitObjectNotFoundException, Microsoft.TeamFoundation.Git.Server",
			"TF401174: The item "+q.vars["commitId"]+" could not be found in the repository "+r.Name+" at the version specified by <Commit: >.")
	}
	c := q.s.commitObj(x, false, true)
	c["parents"] = q.s.parents(x)
	c["treeId"] = o.offSha(x.i+int32(len(r.commits))*int32(btoi(x.br != nil)), r.idx+7)
	return q.writeJSON(200, c)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hRefs serves the refs list: sorted by name, filter is a prefix after "refs/", $top (at most
// 1000) pages with an opaque continuation token in the x-ms-continuationtoken header.
func hRefs(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := q.repo()
	if err != nil {
		return err
	}
	top, err := q.queryInt(0, "$top", "top")
	if err != nil {
		return err
	}
	if top > 1000 {
		return badRequest("The value of $top cannot be greater than 1000.")
	}
	token := q.query("continuationToken")
	if top == 0 && token != "" {
		top = 100
	}
	after := ""
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return badRequest("The continuation token is not valid.")
		}
		after = string(b)
	}
	filter := strings.ToLower(strings.TrimPrefix(q.query("filter"), "refs/"))
	contains := strings.ToLower(q.query("filterContains"))
	type ref struct {
		name, sha string
		by        uint16
	}
	refs := []ref{{r.defaultBranch(), o.sha(r, int32(len(r.commits)-1)), 0}}
	for _, b := range r.branches {
		refs = append(refs, ref{b.name, o.branchHead(r, b), b.creator})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].name < refs[j].name })
	var out []any
	next := ""
	for _, x := range refs {
		short := strings.ToLower(strings.TrimPrefix(x.name, "refs/"))
		if !strings.HasPrefix(short, filter) || contains != "" && !strings.Contains(short, contains) || after != "" && x.name <= after {
			continue
		}
		if top > 0 && len(out) == top {
			next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].(obj)["name"].(string)))
			break
		}
		out = append(out, obj{"name": x.name, "objectId": x.sha, "creator": q.s.identRef(x.by),
			"url": q.s.base() + "/" + r.proj.ID + "/_apis/git/repositories/" + r.ID + "/refs?filter=" + url.QueryEscape(strings.TrimPrefix(x.name, "refs/"))})
	}
	if next != "" {
		q.w.Header().Set("X-MS-ContinuationToken", next)
	}
	return q.list(out)
}

func hPushes(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := q.repo()
	if err != nil {
		return err
	}
	top, skip, err := q.topSkip("$", "searchCriteria.$")
	if err != nil {
		return err
	}
	from, hasFrom, err := q.queryTime("searchCriteria.fromDate", "fromDate")
	if err != nil {
		return err
	}
	to, hasTo, err := q.queryTime("searchCriteria.toDate", "toDate")
	if err != nil {
		return err
	}
	pusher := strings.ToLower(q.query("searchCriteria.pusherId"))
	refName := q.query("searchCriteria.refName")
	refs := strings.EqualFold(q.query("searchCriteria.includeRefUpdates"), "true")
	var out []any
	for i := len(r.pushes) - 1; i >= 0 && len(out) < top; i-- {
		p := &r.pushes[i]
		if hasFrom && p.at < from || hasTo && p.at > to {
			continue
		}
		if pusher != "" && strings.ToLower(o.idents[p.by].ID) != pusher || refName != "" && !strings.EqualFold(refName, r.pushRef(p)) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		po := q.s.pushObj(r, p, false)
		if !refs {
			delete(po, "refUpdates")
		}
		out = append(out, po)
	}
	return q.list(out)
}

// prFilter is the searchCriteria of the pull request lists.
type prFilter struct {
	status, creator, reviewer, source, target, repoID string
	minTime, maxTime                                  int64
	hasMin, hasMax                                    bool
	closedRange                                       bool
}

func (q *rq) prFilter() (prFilter, error) {
	f := prFilter{
		status:   strings.ToLower(q.query("searchCriteria.status", "status")),
		creator:  strings.ToLower(q.query("searchCriteria.creatorId")),
		reviewer: strings.ToLower(q.query("searchCriteria.reviewerId")),
		source:   q.query("searchCriteria.sourceRefName"),
		target:   q.query("searchCriteria.targetRefName"),
		repoID:   strings.ToLower(q.query("searchCriteria.repositoryId")),
	}
	if f.status == "" || f.status == "notset" {
		f.status = prActive
	}
	// Time filters exist only from 7.1 (PROTOCOL §3); older versions ignore them.
	if v, ok := parseAPIVersion(q.apiVersion); !ok || cmpVersion(v.mm(), "7.1") >= 0 {
		var err error
		if f.minTime, f.hasMin, err = q.queryTime("searchCriteria.minTime"); err != nil {
			return f, err
		}
		if f.maxTime, f.hasMax, err = q.queryTime("searchCriteria.maxTime"); err != nil {
			return f, err
		}
		f.closedRange = strings.EqualFold(q.query("searchCriteria.queryTimeRangeType"), "closed")
	}
	return f, nil
}

func (o *org) prMatches(pr *pullRequest, f prFilter) bool {
	if f.status != "all" && pr.status != f.status {
		return false
	}
	if f.creator != "" && strings.ToLower(o.idents[pr.createdBy].ID) != f.creator {
		return false
	}
	if f.reviewer != "" {
		found := false
		for _, rv := range pr.reviewers {
			if strings.ToLower(o.idents[rv.ident].ID) == f.reviewer {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	if f.source != "" && !strings.EqualFold(f.source, pr.branch) || f.target != "" && !strings.EqualFold(f.target, pr.repo.defaultBranch()) {
		return false
	}
	if f.repoID != "" && strings.ToLower(pr.repo.ID) != f.repoID && !strings.EqualFold(pr.repo.Name, f.repoID) {
		return false
	}
	t := pr.created
	if f.closedRange {
		t = pr.closed
		if t == 0 && (f.hasMin || f.hasMax) {
			return false
		}
	}
	return !(f.hasMin && t < f.minTime || f.hasMax && t > f.maxTime)
}

func hPullRequests(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	f, err := q.prFilter()
	if err != nil {
		return err
	}
	top, skip, err := q.topSkip("$")
	if err != nil {
		return err
	}
	// Silent $top rules (see DefaultPullRequestTopMax; sources: MicrosoftDocs/vsts-rest-api-specs
	// #405, #539, rfennell/AzurePipelines#843): 101 without $top, never more than the cap, and
	// nothing in the answer says the page was cut.
	if q.query("$top") == "" {
		top = DefaultPullRequestTop
	}
	top = min(top, q.s.PullRequestTopMax())
	var lists [][]*pullRequest
	if _, ok := q.vars["repositoryId"]; ok {
		r, err := q.repo()
		if err != nil {
			return err
		}
		lists = append(lists, r.prs)
	} else {
		for _, r := range q.proj.repos {
			lists = append(lists, r.prs)
		}
	}
	// Newest first across repositories: merge the per-repo descending lists.
	pos := make([]int, len(lists))
	for i := range lists {
		pos[i] = len(lists[i]) - 1
	}
	var out [][]byte
	for len(out) < top {
		best := -1
		for i, l := range lists {
			if pos[i] >= 0 && (best < 0 || l[pos[i]].ID > lists[best][pos[best]].ID) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		pr := lists[best][pos[best]]
		pos[best]--
		if !o.prMatches(pr, f) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, q.s.cache.get(fmt.Sprintf("p:%d:%d", pr.ID, o.version), func() obj { return q.s.prObj(pr, true) }))
	}
	return q.listRaw(out)
}

// pullRequest resolves {pullRequestId} (and {repositoryId} when present).
func (q *rq) pullRequest() (*pullRequest, error) {
	id, err := strconv.Atoi(q.vars["pullRequestId"])
	if err != nil {
		return nil, prNotFound()
	}
	pr := q.s.org.pr(id)
	if pr == nil || q.proj != nil && pr.repo.proj != q.proj {
		return nil, prNotFound()
	}
	if _, ok := q.vars["repositoryId"]; ok {
		r, err := q.repo()
		if err != nil {
			return nil, err
		}
		if r != pr.repo {
			return nil, prNotFound()
		}
	}
	return pr, nil
}

func hPullRequest(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	pr, err := q.pullRequest()
	if err != nil {
		return err
	}
	out := q.s.prObj(pr, false)
	if strings.EqualFold(q.query("includeCommits"), "true") {
		out["commits"] = nonNil(q.s.prCommits(pr))
	}
	if strings.EqualFold(q.query("includeWorkItemRefs"), "true") {
		var wis []any
		for _, w := range pr.workItems {
			wis = append(wis, q.s.wiRef(w))
		}
		out["workItemRefs"] = nonNil(wis)
	}
	return q.writeJSON(200, out)
}

func hReviewers(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	pr, err := q.pullRequest()
	if err != nil {
		return err
	}
	var out []any
	for _, rv := range pr.reviewers {
		out = append(out, q.s.reviewerObj(pr, rv))
	}
	return q.list(out)
}

func hPRWorkItems(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	pr, err := q.pullRequest()
	if err != nil {
		return err
	}
	var out []any
	for _, w := range pr.workItems {
		out = append(out, q.s.wiRef(w))
	}
	return q.list(out)
}

func hPRCommits(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	pr, err := q.pullRequest()
	if err != nil {
		return err
	}
	all := q.s.prCommits(pr)
	top, err := q.queryInt(100, "$top")
	if err != nil {
		return err
	}
	start, _ := strconv.Atoi(q.query("continuationToken"))
	if start > len(all) {
		start = len(all)
	}
	end := min(len(all), start+top)
	if end < len(all) {
		q.w.Header().Set("X-MS-ContinuationToken", strconv.Itoa(end))
	}
	return q.list(all[start:end])
}

func hThreads(q *rq) error {
	o := q.s.org
	o.mu.Lock() // threads may be materialized
	defer o.mu.Unlock()
	pr, err := q.pullRequest()
	if err != nil {
		return err
	}
	o.ensureThreads(pr)
	ts := append([]*thread(nil), pr.threads...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	var out []any
	for _, t := range ts {
		out = append(out, q.s.threadObj(pr, t))
	}
	return q.list(out)
}

func (q *rq) thread(pr *pullRequest) (*thread, error) {
	id, _ := strconv.Atoi(q.vars["threadId"])
	for _, t := range pr.threads {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, notFound("CommentThreadNotFoundException", "Microsoft.TeamFoundation.SourceControl.WebServer.CommentThreadNotFoundException, Microsoft.TeamFoundation.SourceControl.WebServer",
		"TF401181: The pull request thread "+q.vars["threadId"]+" was not found.")
}

func hThread(q *rq) error {
	o := q.s.org
	o.mu.Lock()
	defer o.mu.Unlock()
	pr, err := q.pullRequest()
	if err != nil {
		return err
	}
	o.ensureThreads(pr)
	t, err := q.thread(pr)
	if err != nil {
		return err
	}
	return q.writeJSON(200, q.s.threadObj(pr, t))
}

type commentBody struct {
	ParentCommentID int    `json:"parentCommentId"`
	Content         string `json:"content"`
	CommentType     any    `json:"commentType"`
}

func hThreadCreate(q *rq) error {
	var body struct {
		Comments      []commentBody   `json:"comments"`
		Status        any             `json:"status"`
		Properties    map[string]any  `json:"properties"`
		ThreadContext *map[string]any `json:"threadContext"`
	}
	if err := q.decode(&body); err != nil {
		return err
	}
	if len(body.Comments) == 0 {
		return badRequest("A thread must contain at least one comment.")
	}
	for _, c := range body.Comments {
		if len(c.Content) > 150000 {
			return badRequest("The comment content exceeds the maximum length of 150000 characters.")
		}
	}
	o := q.s.org
	o.mu.Lock()
	pr, err := q.pullRequest()
	if err != nil {
		o.mu.Unlock()
		return err
	}
	o.ensureThreads(pr)
	now := q.s.clock.Now().Unix()
	t := &thread{published: now, updated: now, status: parseEnum(body.Status, threadStatuses, "active"),
		properties: map[string]any{"Microsoft.TeamFoundation.Discussion.SupportsMarkdown": 1}}
	for k, v := range body.Properties {
		if m, ok := v.(map[string]any); ok {
			t.properties[k] = fmt.Sprint(m["$value"])
		} else {
			t.properties[k] = fmt.Sprint(v)
		}
	}
	for i, c := range body.Comments {
		t.comments = append(t.comments, &comment{ID: i + 1, parent: c.ParentCommentID, author: uint16(q.pat.user),
			content: c.Content, published: now, updated: now, kind: parseEnum(c.CommentType, commentTypes, "text")})
	}
	t.ID = int(pr.ID)*1000 + len(pr.threads) + 1
	pr.threads = append(pr.threads, t)
	out := q.s.threadObj(pr, t)
	ev := q.s.prCommentEvent(pr, t, t.comments[0], "created")
	o.mu.Unlock()
	q.s.hooks.publish(ev)
	return q.writeJSON(200, out)
}

func hThreadUpdate(q *rq) error {
	var body struct {
		Status any `json:"status"`
	}
	if err := q.decode(&body); err != nil {
		return err
	}
	o := q.s.org
	o.mu.Lock()
	defer o.mu.Unlock()
	pr, err := q.pullRequest()
	if err != nil {
		return err
	}
	o.ensureThreads(pr)
	t, err := q.thread(pr)
	if err != nil {
		return err
	}
	if body.Status != nil {
		t.status = parseEnum(body.Status, threadStatuses, t.status)
	}
	t.updated = q.s.clock.Now().Unix()
	return q.writeJSON(200, q.s.threadObj(pr, t))
}

func hCommentCreate(q *rq) error {
	var body commentBody
	if err := q.decode(&body); err != nil {
		return err
	}
	o := q.s.org
	o.mu.Lock()
	pr, err := q.pullRequest()
	if err != nil {
		o.mu.Unlock()
		return err
	}
	o.ensureThreads(pr)
	t, err := q.thread(pr)
	if err != nil {
		o.mu.Unlock()
		return err
	}
	if len(t.comments) >= 500 {
		o.mu.Unlock()
		return badRequest("A thread cannot contain more than 500 comments.")
	}
	now := q.s.clock.Now().Unix()
	c := &comment{ID: len(t.comments) + 1, parent: body.ParentCommentID, author: uint16(q.pat.user), content: body.Content,
		published: now, updated: now, kind: parseEnum(body.CommentType, commentTypes, "text")}
	t.comments = append(t.comments, c)
	t.updated = now
	out := q.s.commentObj(pr, t, c)
	ev := q.s.prCommentEvent(pr, t, c, "created")
	o.mu.Unlock()
	q.s.hooks.publish(ev)
	return q.writeJSON(200, out)
}

func hCommentUpdate(q *rq) error {
	var body struct {
		Content *string `json:"content"`
	}
	if err := q.decode(&body); err != nil {
		return err
	}
	o := q.s.org
	o.mu.Lock()
	pr, err := q.pullRequest()
	if err != nil {
		o.mu.Unlock()
		return err
	}
	o.ensureThreads(pr)
	t, err := q.thread(pr)
	if err != nil {
		o.mu.Unlock()
		return err
	}
	id, _ := strconv.Atoi(q.vars["commentId"])
	var c *comment
	for _, x := range t.comments {
		if x.ID == id {
			c = x
		}
	}
	if c == nil {
		o.mu.Unlock()
		return notFound("CommentNotFoundException", "Microsoft.TeamFoundation.SourceControl.WebServer.CommentNotFoundException, Microsoft.TeamFoundation.SourceControl.WebServer",
			"TF401182: The pull request comment "+q.vars["commentId"]+" was not found.")
	}
	if body.Content != nil {
		c.content = *body.Content
	}
	c.updated = q.s.clock.Now().Unix()
	t.updated = c.updated
	out := q.s.commentObj(pr, t, c)
	ev := q.s.prCommentEvent(pr, t, c, "updated")
	o.mu.Unlock()
	q.s.hooks.publish(ev)
	return q.writeJSON(200, out)
}
