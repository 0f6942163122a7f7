package githubsim

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// obj is a JSON object as the API writes it.
type obj = map[string]any

// urls are the two bases a response's links use: the API root (https://host for github.com
// style, https://host/api/v3 for Enterprise Server) and the web root (https://host).
type urls struct {
	api  string
	html string
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// nodeID imitates GitHub's global node ids (base64 of a type and id); clients treat them as opaque.
func nodeID(kind string, id int64) string {
	return base64.RawStdEncoding.EncodeToString(fmt.Appendf(nil, "0%s%d", kind, id))
}

func (u urls) user(x *user) obj {
	if x == nil {
		return nil
	}
	typ := "User"
	if x.bot {
		typ = "Bot"
	}
	a := u.api + "/users/" + x.login
	return obj{
		"login": x.login, "id": x.id, "node_id": nodeID("User", x.id), "avatar_url": u.html + "/avatars/u/" + fmt.Sprint(x.id),
		"gravatar_id": "", "url": a, "html_url": u.html + "/" + x.login, "followers_url": a + "/followers",
		"following_url": a + "/following{/other_user}", "gists_url": a + "/gists{/gist_id}", "starred_url": a + "/starred{/owner}{/repo}",
		"subscriptions_url": a + "/subscriptions", "organizations_url": a + "/orgs", "repos_url": a + "/repos",
		"events_url": a + "/events{/privacy}", "received_events_url": a + "/received_events", "type": typ,
		"user_view_type": "public", "site_admin": false,
	}
}

func (u urls) privateUser(x *user, nRepos int) obj {
	o := u.user(x)
	o["name"], o["company"], o["blog"], o["location"], o["email"] = x.name, nil, "", nil, x.email
	o["hireable"], o["bio"], o["twitter_username"] = nil, nil, nil
	o["public_repos"], o["public_gists"], o["followers"], o["following"] = 0, 0, 0, 0
	o["created_at"], o["updated_at"] = ts(x.created), ts(x.created)
	o["private_gists"], o["total_private_repos"], o["owned_private_repos"], o["disk_usage"], o["collaborators"] = 0, nRepos, 0, 0, 0
	o["two_factor_authentication"] = true
	o["user_view_type"] = "private"
	return o
}

func (u urls) orgSimple(o *org) obj {
	a := u.api + "/orgs/" + o.login
	return obj{
		"login": o.login, "id": o.id, "node_id": nodeID("Organization", o.id), "url": a, "repos_url": a + "/repos",
		"events_url": a + "/events", "hooks_url": a + "/hooks", "issues_url": a + "/issues", "members_url": a + "/members{/member}",
		"public_members_url": a + "/public_members{/member}", "avatar_url": u.html + "/avatars/o/" + fmt.Sprint(o.id), "description": "Simulated organization",
	}
}

func (u urls) orgFull(o *org) obj {
	x := u.orgSimple(o)
	// company, location and email are left out when unset: the description types them as
	// non-nullable strings, and GitHub omits what an organization has not filled in.
	x["name"], x["blog"] = o.name, ""
	x["twitter_username"], x["is_verified"] = nil, false
	x["has_organization_projects"], x["has_repository_projects"] = true, true
	x["public_repos"], x["public_gists"], x["followers"], x["following"] = 0, 0, 0, 0
	x["html_url"] = u.html + "/" + o.login
	x["type"] = "Organization"
	x["created_at"], x["updated_at"], x["archived_at"] = ts(o.created), ts(o.created), nil
	return x
}

// repoMinimal is the minimal-repository shape plus the fields the repository shape requires.
func (u urls) repoBase(r *repo) obj {
	a := u.api + "/repos/" + r.fullName()
	h := u.html + "/" + r.fullName()
	return obj{
		"id": r.id, "node_id": nodeID("Repository", r.id), "name": r.name, "full_name": r.fullName(), "private": r.private,
		"owner": u.orgAsUser(r.owner), "html_url": h, "description": r.description, "fork": false, "url": a,
		"archive_url": a + "/{archive_format}{/ref}", "assignees_url": a + "/assignees{/user}", "blobs_url": a + "/git/blobs{/sha}",
		"branches_url": a + "/branches{/branch}", "collaborators_url": a + "/collaborators{/collaborator}", "comments_url": a + "/comments{/number}",
		"commits_url": a + "/commits{/sha}", "compare_url": a + "/compare/{base}...{head}", "contents_url": a + "/contents/{+path}",
		"contributors_url": a + "/contributors", "deployments_url": a + "/deployments", "downloads_url": a + "/downloads",
		"events_url": a + "/events", "forks_url": a + "/forks", "git_commits_url": a + "/git/commits{/sha}", "git_refs_url": a + "/git/refs{/sha}",
		"git_tags_url": a + "/git/tags{/sha}", "hooks_url": a + "/hooks", "issue_comment_url": a + "/issues/comments{/number}",
		"issue_events_url": a + "/issues/events{/number}", "issues_url": a + "/issues{/number}", "keys_url": a + "/keys{/key_id}",
		"labels_url": a + "/labels{/name}", "languages_url": a + "/languages", "merges_url": a + "/merges", "milestones_url": a + "/milestones{/number}",
		"notifications_url": a + "/notifications{?since,all,participating}", "pulls_url": a + "/pulls{/number}", "releases_url": a + "/releases{/id}",
		"stargazers_url": a + "/stargazers", "statuses_url": a + "/statuses/{sha}", "subscribers_url": a + "/subscribers",
		"subscription_url": a + "/subscription", "tags_url": a + "/tags", "teams_url": a + "/teams", "trees_url": a + "/git/trees{/sha}",
	}
}

func (u urls) orgAsUser(o *org) obj {
	x := u.user(&user{id: o.id, login: o.login})
	x["node_id"] = nodeID("Organization", o.id)
	x["type"] = "Organization"
	x["html_url"] = u.html + "/" + o.login
	return x
}

func (u urls) repoFull(r *repo, full bool) obj {
	x := u.repoBase(r)
	h := u.html + "/" + r.fullName()
	open := 0
	for _, i := range r.issues {
		if i.state == "open" {
			open++
		}
	}
	vis := "public"
	if r.private {
		vis = "private"
	}
	extra := obj{
		"clone_url": h + ".git", "git_url": strings.Replace(h, "http", "git", 1) + ".git", "ssh_url": "git@" + hostOf(u.html) + ":" + r.fullName() + ".git",
		"svn_url": h, "mirror_url": nil, "homepage": nil, "language": "Go", "forks_count": 0, "forks": 0, "stargazers_count": 0,
		"watchers_count": 0, "watchers": 0, "size": 1024, "default_branch": r.defaultBranch, "open_issues_count": open, "open_issues": open,
		"is_template": false, "topics": []string{}, "has_issues": true, "has_projects": true, "has_wiki": false, "has_pages": false,
		"has_downloads": true, "has_discussions": false, "archived": false, "disabled": false, "visibility": vis,
		"pushed_at": ts(r.pushed), "created_at": ts(r.created), "updated_at": ts(r.updated), "license": nil,
		"allow_forking": false, "web_commit_signoff_required": false,
		"permissions": obj{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
	}
	for k, v := range extra {
		x[k] = v
	}
	if full {
		x["network_count"], x["subscribers_count"] = 0, 1
		x["organization"] = u.orgAsUser(r.owner)
	}
	return x
}

func hostOf(base string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

func gitUser(x *user, t time.Time) obj {
	return obj{"name": x.name, "email": x.email, "date": ts(t)}
}

func (u urls) commit(r *repo, c *commit, detail bool) obj {
	a := u.api + "/repos/" + r.fullName()
	var parents []obj
	for _, p := range c.parents {
		parents = append(parents, obj{"sha": p, "url": a + "/commits/" + p, "html_url": u.html + "/" + r.fullName() + "/commit/" + p})
	}
	if parents == nil {
		parents = []obj{}
	}
	x := obj{
		"sha": c.sha, "node_id": nodeID("Commit", int64(len(c.sha))), "url": a + "/commits/" + c.sha,
		"html_url": u.html + "/" + r.fullName() + "/commit/" + c.sha, "comments_url": a + "/commits/" + c.sha + "/comments",
		"commit": obj{
			"author": gitUser(c.author, c.authored), "committer": gitUser(c.author, c.committed), "message": c.message,
			"tree": obj{"sha": c.tree, "url": a + "/git/trees/" + c.tree}, "url": a + "/git/commits/" + c.sha, "comment_count": 0,
			"verification": obj{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil},
		},
		"author": u.user(c.author), "committer": u.user(c.author), "parents": parents,
	}
	if detail {
		x["stats"] = obj{"additions": c.additions, "deletions": c.deletions, "total": c.additions + c.deletions}
		var files []obj
		for i, f := range c.files {
			add, del := c.additions/len(c.files), c.deletions/len(c.files)
			if i == 0 {
				add, del = add+c.additions%len(c.files), del+c.deletions%len(c.files)
			}
			files = append(files, obj{"sha": c.tree, "filename": f, "status": "modified", "additions": add, "deletions": del, "changes": add + del,
				"blob_url": u.html + "/" + r.fullName() + "/blob/" + c.sha + "/" + f, "raw_url": u.html + "/" + r.fullName() + "/raw/" + c.sha + "/" + f,
				"contents_url": a + "/contents/" + f + "?ref=" + c.sha})
		}
		x["files"] = files
	}
	return x
}

func (u urls) labels(r *repo, ls []*label) []obj {
	out := []obj{}
	for _, l := range ls {
		out = append(out, obj{"id": l.id, "node_id": nodeID("Label", l.id), "url": u.api + "/repos/" + r.fullName() + "/labels/" + l.name,
			"name": l.name, "color": l.color, "description": l.desc, "default": false})
	}
	return out
}

func association(r *repo, x *user) string {
	for _, m := range r.owner.members {
		if m == x {
			return "MEMBER"
		}
	}
	return "NONE"
}

func (u urls) pull(r *repo, p *pull, full bool) obj {
	a := u.api + "/repos/" + r.fullName()
	self := a + "/pulls/" + fmt.Sprint(p.number)
	html := u.html + "/" + r.fullName() + "/pull/" + fmt.Sprint(p.number)
	issueURL := a + "/issues/" + fmt.Sprint(p.number)
	headSHA := p.commits[len(p.commits)-1].sha
	baseSHA := p.commits[0].parents[0]
	rr := u.repoFull(r, false)
	link := func(h string) obj { return obj{"href": h} }
	x := obj{
		"url": self, "id": p.id, "node_id": nodeID("PullRequest", p.id), "html_url": html, "diff_url": html + ".diff", "patch_url": html + ".patch",
		"issue_url": issueURL, "commits_url": self + "/commits", "review_comments_url": self + "/comments", "review_comment_url": a + "/pulls/comments{/number}",
		"comments_url": issueURL + "/comments", "statuses_url": a + "/statuses/" + headSHA, "number": p.number, "state": p.state, "locked": false,
		"title": p.title, "user": u.user(p.user), "body": p.body, "labels": u.labels(r, p.issue.labels), "milestone": nil, "active_lock_reason": nil,
		"created_at": ts(p.created), "updated_at": ts(p.updated), "closed_at": ts(p.closed), "merged_at": ts(p.merged),
		"merge_commit_sha": nilIfEmpty(p.mergeSHA), "assignee": nil, "assignees": []obj{}, "requested_reviewers": []obj{}, "requested_teams": []obj{},
		"head": obj{"label": r.owner.login + ":" + p.headRef, "ref": p.headRef, "sha": headSHA, "user": u.orgAsUser(r.owner), "repo": rr},
		"base": obj{"label": r.owner.login + ":" + p.baseRef, "ref": p.baseRef, "sha": baseSHA, "user": u.orgAsUser(r.owner), "repo": rr},
		"_links": obj{"self": link(self), "html": link(html), "issue": link(issueURL), "comments": link(issueURL + "/comments"),
			"review_comments": link(self + "/comments"), "review_comment": link(a + "/pulls/comments{/number}"), "commits": link(self + "/commits"),
			"statuses": link(a + "/statuses/" + headSHA)},
		"author_association": association(r, p.user), "auto_merge": nil, "draft": p.draft,
	}
	if full {
		mergeable := any(nil) // GitHub computes mergeability in the background: null until it has (docs: "Get a pull request").
		state := "unknown"
		if p.state == "open" {
			mergeable, state = true, "clean"
		}
		x["merged"] = !p.merged.IsZero()
		x["mergeable"], x["rebaseable"], x["mergeable_state"] = mergeable, mergeable, state
		x["merged_by"] = u.user(p.mergedBy)
		x["comments"], x["review_comments"] = len(p.issue.comments), len(p.comments)
		x["maintainer_can_modify"] = false
		x["commits"], x["additions"], x["deletions"], x["changed_files"] = len(p.commits), p.additions, p.deletions, p.changedFiles
	}
	return x
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (u urls) issue(r *repo, i *issue) obj {
	a := u.api + "/repos/" + r.fullName()
	self := a + "/issues/" + fmt.Sprint(i.number)
	kind := "issues"
	if i.pull != nil {
		kind = "pull"
	}
	x := obj{
		"id": i.id, "node_id": nodeID("Issue", i.id), "url": self, "repository_url": a, "labels_url": self + "/labels{/name}",
		"comments_url": self + "/comments", "events_url": self + "/events", "html_url": u.html + "/" + r.fullName() + "/" + kind + "/" + fmt.Sprint(i.number),
		"number": i.number, "state": i.state, "state_reason": nilIfEmpty(i.reason), "title": i.title, "body": i.body, "user": u.user(i.user),
		"labels": u.labels(r, i.labels), "assignee": nil, "assignees": []obj{}, "milestone": nil, "locked": false, "active_lock_reason": nil,
		"comments": len(i.comments), "closed_at": ts(i.closed), "created_at": ts(i.created), "updated_at": ts(i.updated),
		"closed_by": nil, "author_association": association(r, i.user),
		"reactions":    obj{"url": self + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
		"timeline_url": self + "/timeline",
	}
	if i.pull != nil {
		p := u.api + "/repos/" + r.fullName() + "/pulls/" + fmt.Sprint(i.number)
		h := u.html + "/" + r.fullName() + "/pull/" + fmt.Sprint(i.number)
		x["pull_request"] = obj{"url": p, "html_url": h, "diff_url": h + ".diff", "patch_url": h + ".patch", "merged_at": ts(i.pull.merged)}
		x["draft"] = i.pull.draft
	}
	return x
}

func (u urls) issueComment(r *repo, c *issueComment) obj {
	a := u.api + "/repos/" + r.fullName()
	kind := "issues"
	if c.issue.pull != nil {
		kind = "pull"
	}
	return obj{
		"id": c.id, "node_id": nodeID("IssueComment", c.id), "url": a + "/issues/comments/" + fmt.Sprint(c.id),
		"html_url": u.html + "/" + r.fullName() + "/" + kind + "/" + fmt.Sprint(c.issue.number) + "#issuecomment-" + fmt.Sprint(c.id),
		"body":     c.body, "user": u.user(c.user), "created_at": ts(c.created), "updated_at": ts(c.updated),
		"issue_url": a + "/issues/" + fmt.Sprint(c.issue.number), "author_association": association(r, c.user),
	}
}

func (u urls) review(r *repo, p *pull, v *review) obj {
	pr := u.api + "/repos/" + r.fullName() + "/pulls/" + fmt.Sprint(p.number)
	h := u.html + "/" + r.fullName() + "/pull/" + fmt.Sprint(p.number)
	return obj{
		"id": v.id, "node_id": nodeID("PullRequestReview", v.id), "user": u.user(v.user), "body": v.body, "state": v.state,
		"html_url": h + "#pullrequestreview-" + fmt.Sprint(v.id), "pull_request_url": pr,
		"_links":       obj{"html": obj{"href": h + "#pullrequestreview-" + fmt.Sprint(v.id)}, "pull_request": obj{"href": pr}},
		"submitted_at": ts(v.submitted), "commit_id": v.commitID, "author_association": association(r, v.user),
	}
}

func (u urls) reviewComment(r *repo, p *pull, c *reviewComment) obj {
	a := u.api + "/repos/" + r.fullName()
	pr := a + "/pulls/" + fmt.Sprint(p.number)
	self := a + "/pulls/comments/" + fmt.Sprint(c.id)
	h := u.html + "/" + r.fullName() + "/pull/" + fmt.Sprint(p.number) + "#discussion_r" + fmt.Sprint(c.id)
	return obj{
		"url": self, "pull_request_review_id": c.reviewID, "id": c.id, "node_id": nodeID("PullRequestReviewComment", c.id),
		"diff_hunk": "@@ -1,3 +1,4 @@", "path": c.path, "position": c.line, "original_position": c.line, "commit_id": c.commitID,
		"original_commit_id": c.commitID, "user": u.user(c.user), "body": c.body, "created_at": ts(c.created), "updated_at": ts(c.updated),
		"html_url": h, "pull_request_url": pr, "author_association": association(r, c.user),
		"_links": obj{"self": obj{"href": self}, "html": obj{"href": h}, "pull_request": obj{"href": pr}},
		"line":   c.line, "original_line": c.line, "side": "RIGHT", "start_line": nil, "original_start_line": nil, "start_side": nil,
		"subject_type": "line",
	}
}

func (u urls) run(r *repo, x *run, c *commit) obj {
	a := u.api + "/repos/" + r.fullName()
	self := a + "/actions/runs/" + fmt.Sprint(x.id)
	var head any
	if c != nil {
		head = obj{"id": c.sha, "tree_id": c.tree, "message": c.message, "timestamp": ts(c.committed),
			"author": obj{"name": c.author.name, "email": c.author.email}, "committer": obj{"name": c.author.name, "email": c.author.email}}
	}
	mr := u.repoBase(r)
	return obj{
		"id": x.id, "name": x.name, "node_id": nodeID("WorkflowRun", x.id), "head_branch": x.headBranch, "head_sha": x.headSHA,
		"path": x.path, "display_title": x.name, "run_number": x.number, "event": x.event, "status": x.status,
		"conclusion": nilIfEmpty(x.conclusion), "workflow_id": x.workflowID, "check_suite_id": x.id + 1, "check_suite_node_id": nodeID("CheckSuite", x.id+1),
		"url": self, "html_url": u.html + "/" + r.fullName() + "/actions/runs/" + fmt.Sprint(x.id), "pull_requests": []obj{},
		"created_at": ts(x.created), "updated_at": ts(x.updated), "actor": u.user(x.actor), "triggering_actor": u.user(x.actor),
		"run_attempt": x.attempt, "referenced_workflows": []obj{}, "run_started_at": ts(x.started),
		"jobs_url": self + "/jobs", "logs_url": self + "/logs", "check_suite_url": a + "/check-suites/" + fmt.Sprint(x.id+1),
		"artifacts_url": self + "/artifacts", "cancel_url": self + "/cancel", "rerun_url": self + "/rerun", "previous_attempt_url": nil,
		"workflow_url": a + "/actions/workflows/" + fmt.Sprint(x.workflowID), "head_commit": head, "repository": mr, "head_repository": mr,
	}
}

func (u urls) deployment(r *repo, d *deployment) obj {
	a := u.api + "/repos/" + r.fullName()
	self := a + "/deployments/" + fmt.Sprint(d.id)
	return obj{
		"url": self, "id": d.id, "node_id": nodeID("Deployment", d.id), "sha": d.sha, "ref": d.ref, "task": d.task, "payload": obj{},
		"original_environment": d.environment, "environment": d.environment, "description": d.description, "creator": u.user(d.creator),
		"created_at": ts(d.created), "updated_at": ts(d.updated), "statuses_url": self + "/statuses", "repository_url": a,
		"transient_environment": false, "production_environment": d.environment == "production",
	}
}

func (u urls) deploymentStatus(r *repo, d *deployment, s *deploymentStatus) obj {
	a := u.api + "/repos/" + r.fullName()
	dep := a + "/deployments/" + fmt.Sprint(d.id)
	return obj{
		"url": dep + "/statuses/" + fmt.Sprint(s.id), "id": s.id, "node_id": nodeID("DeploymentStatus", s.id), "state": s.state,
		"creator": u.user(s.creator), "description": s.description, "environment": s.environment, "target_url": "", "log_url": "",
		"environment_url": "", "created_at": ts(s.created), "updated_at": ts(s.created), "deployment_url": dep, "repository_url": a,
	}
}

func (u urls) environment(r *repo, e *environment) obj {
	return obj{
		"id": e.id, "node_id": nodeID("Environment", e.id), "name": e.name, "url": u.api + "/repos/" + r.fullName() + "/environments/" + e.name,
		"html_url":   u.html + "/" + r.fullName() + "/deployments/activity_log?environments_filter=" + e.name,
		"created_at": ts(e.created), "updated_at": ts(e.updated), "protection_rules": []obj{}, "deployment_branch_policy": nil,
	}
}

func (u urls) hook(r *repo, h *hook) obj {
	self := u.api + "/repos/" + r.fullName() + "/hooks/" + fmt.Sprint(h.id)
	cfg := obj{"url": h.url, "content_type": h.contentType, "insecure_ssl": h.insecureSSL}
	if h.secret != "" {
		cfg["secret"] = "********" // GitHub never returns a hook's secret, only that one is set
	}
	var code any
	var status any = "unused"
	if h.lastCode != 0 {
		code, status = h.lastCode, h.lastStatus
	}
	return obj{
		"type": "Repository", "id": h.id, "name": "web", "active": h.active, "events": h.events, "config": cfg,
		"updated_at": ts(h.updated), "created_at": ts(h.created), "url": self, "test_url": self + "/test", "ping_url": self + "/pings",
		"deliveries_url": self + "/deliveries", "last_response": obj{"code": code, "status": status, "message": nilIfEmpty(h.lastMessage)},
	}
}
