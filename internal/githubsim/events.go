package githubsim

import "strconv"

// Webhook payloads, shaped after @octokit/openapi-webhooks (each event/action's schema) and
// checked against it in webhooks_test.go.

func (u urls) hookRepo(r *repo) obj {
	x := u.repoFull(r, false)
	delete(x, "permissions")
	x["stargazers"] = 0
	x["master_branch"] = r.defaultBranch
	x["allow_merge_commit"], x["allow_squash_merge"], x["allow_rebase_merge"], x["allow_auto_merge"] = true, true, true, false
	x["delete_branch_on_merge"], x["allow_update_branch"] = false, false
	x["custom_properties"] = obj{}
	return x
}

func (u urls) envelope(r *repo, sender *user, action string) obj {
	x := obj{"repository": u.hookRepo(r), "sender": u.user(sender), "organization": u.orgSimple(r.owner)}
	if action != "" {
		x["action"] = action
	}
	return x
}

func (u urls) pingEvent(r *repo, hk *hook, sender *user) obj {
	x := u.envelope(r, sender, "")
	x["zen"] = "Design for failure."
	x["hook_id"] = hk.id
	hj := u.hook(r, hk)
	x["hook"] = hj
	return x
}

func (u urls) webhookPull(r *repo, p *pull) obj {
	x := u.pull(r, p, true)
	x["allow_auto_merge"], x["allow_update_branch"], x["delete_branch_on_merge"] = false, false, false
	x["use_squash_pr_title_as_default"] = false
	x["merge_commit_message"], x["merge_commit_title"] = "PR_TITLE", "MERGE_MESSAGE"
	x["squash_merge_commit_message"], x["squash_merge_commit_title"] = "COMMIT_MESSAGES", "COMMIT_OR_PR_TITLE"
	for _, side := range []string{"head", "base"} {
		ref := x[side].(obj)
		ref["repo"] = u.hookRepo(r)
	}
	return x
}

func (u urls) pullRequestEvent(r *repo, p *pull, action string, sender *user) obj {
	x := u.envelope(r, sender, action)
	x["number"] = p.number
	x["pull_request"] = u.webhookPull(r, p)
	return x
}

func (u urls) reviewEvent(r *repo, p *pull, v *review) obj {
	x := u.envelope(r, v.user, "submitted")
	x["pull_request"] = u.webhookPull(r, p)
	rv := u.review(r, p, v)
	rv["state"] = map[string]string{"APPROVED": "approved", "CHANGES_REQUESTED": "changes_requested", "COMMENTED": "commented"}[v.state]
	x["review"] = rv
	return x
}

func (u urls) reviewCommentEvent(r *repo, p *pull, c *reviewComment) obj {
	x := u.envelope(r, c.user, "created")
	x["pull_request"] = u.webhookPull(r, p)
	cm := u.reviewComment(r, p, c)
	cm["reactions"] = u.reactions(cm["url"].(string))
	x["comment"] = cm
	return x
}

func (u urls) reactions(base string) obj {
	return obj{"url": base + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}
}

func (u urls) webhookIssue(r *repo, i *issue) obj {
	x := u.issue(r, i)
	x["performed_via_github_app"] = nil
	if _, ok := x["draft"]; !ok {
		x["draft"] = false // webhook issues carry draft even when they are not pull requests (webhooks-examples issues/opened)
	}
	return x
}

func (u urls) issuesEvent(r *repo, i *issue, action string, sender *user) obj {
	x := u.envelope(r, sender, action)
	x["issue"] = u.webhookIssue(r, i)
	return x
}

func (u urls) issueCommentEvent(r *repo, i *issue, c *issueComment, action string) obj {
	x := u.envelope(r, c.user, action)
	x["issue"] = u.webhookIssue(r, i)
	cm := u.issueComment(r, c)
	cm["performed_via_github_app"] = nil
	cm["reactions"] = u.reactions(cm["url"].(string))
	x["comment"] = cm
	if action == "edited" {
		x["changes"] = obj{"body": obj{"from": ""}}
	}
	return x
}

func (u urls) pushEvent(r *repo, branch, before string, commits []*commit, pusher *user) obj {
	x := u.envelope(r, pusher, "")
	after := before
	var list []obj
	for _, c := range commits {
		list = append(list, u.pushCommit(r, c))
		after = c.sha
	}
	x["ref"] = "refs/heads/" + branch
	x["before"], x["after"] = before, after
	x["created"], x["deleted"], x["forced"] = false, false, false
	x["base_ref"] = nil
	x["compare"] = u.html + "/" + r.fullName() + "/compare/" + before[:12] + "..." + after[:12]
	x["commits"] = nonNil(list)
	if len(list) > 0 {
		x["head_commit"] = list[len(list)-1]
	} else {
		x["head_commit"] = nil
	}
	x["pusher"] = obj{"name": pusher.login, "email": pusher.email}
	// Push payloads describe the repository with integer timestamps and the owner's name/email
	// (webhook-push's repository schema), unlike the other events.
	repoX := x["repository"].(obj)
	repoX["created_at"] = r.created.Unix()
	repoX["pushed_at"] = r.pushed.Unix()
	owner := repoX["owner"].(obj)
	owner["name"], owner["email"] = r.owner.login, nil
	repoX["organization"] = r.owner.login // push alone names the organization in its repository
	return x
}

func (u urls) pushCommit(r *repo, c *commit) obj {
	return obj{"id": c.sha, "tree_id": c.tree, "distinct": true, "message": c.message, "timestamp": ts(c.committed),
		"url":       u.html + "/" + r.fullName() + "/commit/" + c.sha,
		"author":    obj{"name": c.author.name, "email": c.author.email, "username": c.author.login},
		"committer": obj{"name": c.author.name, "email": c.author.email, "username": c.author.login},
		"added":     []string{}, "removed": []string{}, "modified": c.files}
}

func (u urls) workflow(r *repo, x *run) obj {
	a := u.api + "/repos/" + r.fullName()
	return obj{"id": x.workflowID, "node_id": nodeID("Workflow", x.workflowID), "name": x.name, "path": x.path, "state": "active",
		"created_at": ts(r.created), "updated_at": ts(r.created), "url": a + "/actions/workflows/" + strconv.FormatInt(x.workflowID, 10),
		"html_url": u.html + "/" + r.fullName() + "/blob/main/" + x.path, "badge_url": u.html + "/" + r.fullName() + "/workflows/" + x.name + "/badge.svg"}
}

func (u urls) workflowRunEvent(r *repo, x *run, action string) obj {
	e := u.envelope(r, x.actor, action)
	e["workflow"] = u.workflow(r, x)
	wr := u.run(r, x, r.commits[x.headSHA])
	hr := u.hookRepo(r)
	wr["repository"], wr["head_repository"] = hr, hr
	e["workflow_run"] = wr
	return e
}

func (u urls) deploymentEvent(r *repo, d *deployment) obj {
	e := u.envelope(r, d.creator, "created")
	dep := u.deployment(r, d)
	dep["performed_via_github_app"] = nil
	e["deployment"] = dep
	e["workflow"] = nil
	e["workflow_run"] = nil
	return e
}

func (u urls) deploymentStatusEvent(r *repo, d *deployment, st *deploymentStatus) obj {
	e := u.envelope(r, st.creator, "created")
	dep := u.deployment(r, d)
	dep["performed_via_github_app"] = nil
	e["deployment"] = dep
	ds := u.deploymentStatus(r, d, st)
	ds["performed_via_github_app"] = nil
	e["deployment_status"] = ds
	e["check_run"] = nil
	e["workflow"] = nil
	e["workflow_run"] = nil
	return e
}
