package azdosim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ---- core -------------------------------------------------------------------------------------

func hProjects(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	top, err := q.queryInt(100, "$top")
	if err != nil {
		return err
	}
	skip, err := q.queryInt(0, "$skip")
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

func hCommits(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := q.repo()
	if err != nil {
		return err
	}
	top, err := q.queryInt(100, "searchCriteria.$top", "$top")
	if err != nil {
		return err
	}
	skip, err := q.queryInt(0, "searchCriteria.$skip", "$skip")
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
	if v := q.query("searchCriteria.itemVersion.version", "itemVersion.version"); v != "" {
		if !strings.EqualFold(strings.TrimPrefix(v, "refs/heads/"), "main") {
			return &vssError{status: 404, typeKey: "GitUnresolvableToCommitException",
				typeName: "Microsoft.TeamFoundation.Git.Server.GitUnresolvableToCommitException, Microsoft.TeamFoundation.Git.Server",
				message:  "TF401175: The version descriptor <Branch: " + v + " > could not be resolved to a version commit."}
		}
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
			if idx, ok := o.commitIndex(r, strings.TrimSpace(id)); ok {
				out = append(out, q.s.commitRef(r, idx, withWI, withPush))
			}
		}
		return q.list(out)
	}
	lo, hi := 0, len(r.commits) // [lo, hi)
	if hasFrom {
		lo = r.commitAtOrAfter(from)
	}
	if hasTo {
		hi = r.commitAtOrAfter(to + 1)
	}
	emit := func(i int) bool {
		c := &r.commits[i]
		if author != "" {
			id := o.idents[c.author]
			if !strings.Contains(strings.ToLower(id.Name), author) && !strings.Contains(strings.ToLower(id.Email), author) {
				return true
			}
		}
		if skip > 0 {
			skip--
			return true
		}
		out = append(out, q.s.commitRef(r, int32(i), withWI, withPush))
		return len(out) < top
	}
	if oldestFirst {
		for i := lo; i < hi && emit(i); i++ {
		}
	} else {
		for i := hi - 1; i >= lo && emit(i); i-- {
		}
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
	idx, ok := o.commitIndex(r, q.vars["commitId"])
	if !ok {
		return notFound("GitObjectNotFoundException", "Microsoft.TeamFoundation.Git.Server.GitObjectNotFoundException, Microsoft.TeamFoundation.Git.Server",
			"TF401174: The item "+q.vars["commitId"]+" could not be found in the repository "+r.Name+" at the version specified by <Commit: >.")
	}
	c := q.s.commitRef(r, idx, false, true)
	c["parents"] = q.s.parents(r, idx)
	c["treeId"] = o.offSha(int32(idx), r.idx+7)
	return q.writeJSON(200, c)
}

func hPushes(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := q.repo()
	if err != nil {
		return err
	}
	top, err := q.queryInt(100, "$top", "searchCriteria.$top")
	if err != nil {
		return err
	}
	skip, err := q.queryInt(0, "$skip", "searchCriteria.$skip")
	if err != nil {
		return err
	}
	from, hasFrom, err := q.queryTime("searchCriteria.fromDate")
	if err != nil {
		return err
	}
	to, hasTo, err := q.queryTime("searchCriteria.toDate")
	if err != nil {
		return err
	}
	pusher := strings.ToLower(q.query("searchCriteria.pusherId"))
	refs := strings.EqualFold(q.query("searchCriteria.includeRefUpdates"), "true")
	var out []any
	for i := len(r.pushes) - 1; i >= 0 && len(out) < top; i-- {
		p := &r.pushes[i]
		if hasFrom && p.at < from || hasTo && p.at > to {
			continue
		}
		if pusher != "" && strings.ToLower(o.idents[p.by].ID) != pusher {
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
	top, err := q.queryInt(100, "$top")
	if err != nil {
		return err
	}
	skip, err := q.queryInt(0, "$skip")
	if err != nil {
		return err
	}
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
