package azdosim

import (
	"fmt"
	"strings"
)

// Event builders: each returns the event for hooks.publish with the resource shaped as in
// samples/events. Callers hold the org lock (read or write).

func msg(text, html, md string) obj { return obj{"text": text, "html": html, "markdown": md} }

func (s *Sim) newEvent(typ, projectID string, filters map[string]string) *event {
	s.org.eventSeq++
	now := s.clock.Now()
	return &event{ID: guid(s.org.seed^uint64(now.UnixNano()), "event", int(s.org.eventSeq)), Type: typ, Publisher: publisherOf(typ),
		ProjectID: projectID, Filters: filters, Version: knownEvents[typ], Created: now}
}

func (s *Sim) webURL(p *project) string { return s.base() + "/" + pathEscape(p.Name) }

func (s *Sim) shortIdent(i uint16) obj {
	id := s.org.idents[int(i)%len(s.org.idents)]
	return obj{"displayName": id.Name, "id": id.ID, "uniqueName": id.Email}
}

// ---- git --------------------------------------------------------------------------------------

// pushEvent is git.push for one push, to whatever branch: the service fires it for every push,
// pull request source branches included, to a subscription without a branch filter. Source:
// samples/rest/hooks.publishers.eventtypes.list.json, the git.push input descriptor "branch"
// ("The branch that code was pushed into", default "" = "[Any]"); MicrosoftDocs/azure-devops-docs#3775
// (a hook "for every push in all repository" gets pushes of every branch and has to tell them
// apart by the payload's refUpdates). A subscription with a branch filter gets only that
// branch's pushes (subscription.matches).
func (s *Sim) pushEvent(r *repo, p *push) *event {
	pusher := s.org.idents[p.by]
	ref := r.pushRef(p)
	short := strings.TrimPrefix(ref, "refs/heads/")
	ev := s.newEvent("git.push", r.proj.ID, map[string]string{"repository": r.ID, "branch": ref, "pushedBy": pusher.ID})
	res := s.pushObj(r, p, true)
	res["pushedBy"] = s.shortIdent(p.by)
	n := p.last - p.first + 1
	repoURL := s.webURL(r.proj) + "/_git/" + pathEscape(r.Name)
	ev.Message = msg(fmt.Sprintf("%s pushed updates to branch %s of repository %s.", pusher.Name, short, r.Name),
		fmt.Sprintf("%s pushed updates to branch %s of repository %s.", pusher.Name, short, r.Name),
		fmt.Sprintf("%s pushed updates to branch `%s` of repository `%s`.", pusher.Name, short, r.Name))
	ev.Detailed = msg(fmt.Sprintf("%s pushed %d commit(s) to branch %s of repository %s.", pusher.Name, n, short, r.Name),
		fmt.Sprintf(`%s pushed %d commit(s) to branch <a href="%s/#version=GB%s">%s</a> of repository <a href="%s/">%s</a>.`, pusher.Name, n, repoURL, short, short, repoURL, r.Name),
		fmt.Sprintf("%s pushed %d commit(s) to branch [%s](%s/#version=GB%s) of repository [%s](%s/).", pusher.Name, n, short, repoURL, short, r.Name, repoURL))
	ev.Resource = res
	return ev
}

func (s *Sim) prEventResource(pr *pullRequest) obj {
	res := s.prObj(pr, false)
	delete(res, "_links")
	var cs []any
	for _, c := range s.prCommits(pr) {
		co := c.(obj)
		cs = append(cs, obj{"commitId": co["commitId"], "url": co["url"]})
	}
	res["commits"] = nonNil(cs)
	if lm, ok := res["lastMergeCommit"].(obj); ok {
		res["lastMergeCommit"] = obj{"commitId": lm["commitId"], "url": lm["url"]}
	}
	return res
}

// prEvent builds git.pullrequest.created / updated / merged. notificationType is the updated
// event's filter (PushNotification, ReviewersUpdateNotification, StatusUpdateNotification,
// ReviewerVoteNotification).
func (s *Sim) prEvent(typ string, pr *pullRequest, actor uint16, notificationType string) *event {
	r := pr.repo
	var reviewers []string
	for _, rv := range pr.reviewers {
		reviewers = append(reviewers, s.org.idents[rv.ident].ID)
	}
	f := map[string]string{"repository": r.ID, "branch": r.defaultBranch(), "pullrequestCreatedBy": s.org.idents[pr.createdBy].ID,
		"pullrequestReviewersContains": strings.Join(reviewers, ",")}
	if notificationType != "" {
		f["notificationType"] = notificationType
	}
	if typ == "git.pullrequest.merged" {
		f["mergeResult"] = "Succeeded"
	}
	ev := s.newEvent(typ, r.proj.ID, f)
	who := s.org.idents[actor].Name
	link := fmt.Sprintf("%s/_git/%s/pullrequest/%d", s.webURL(r.proj), pathEscape(r.Name), pr.ID)
	verb := map[string]string{"git.pullrequest.created": "created", "git.pullrequest.updated": "updated", "git.pullrequest.merged": "merged"}[typ]
	switch {
	case typ == "git.pullrequest.updated" && pr.status == prCompleted:
		verb = "completed"
	case typ == "git.pullrequest.updated" && pr.status == prAbandoned:
		verb = "abandoned"
	case notificationType == "ReviewerVoteNotification":
		verb = "voted on"
	}
	ev.Message = msg(fmt.Sprintf("%s %s pull request %d (%s)", who, verb, pr.ID, pr.title),
		fmt.Sprintf(`%s %s <a href="%s">pull request %d</a> (%s)`, who, verb, link, pr.ID, pr.title),
		fmt.Sprintf("%s %s [pull request %d](%s) (%s)", who, verb, pr.ID, link, pr.title))
	ev.Detailed = msg(fmt.Sprintf("%s %s pull request %d (%s) in %s\r\n\r\n%s", who, verb, pr.ID, pr.title, r.Name, pr.title),
		fmt.Sprintf(`%s %s <a href="%s">pull request %d</a> (%s) in <a href="%s/_git/%s/">%s</a><p>%s</p>`, who, verb, link, pr.ID, pr.title, s.webURL(r.proj), pathEscape(r.Name), r.Name, pr.title),
		fmt.Sprintf("%s %s [pull request %d](%s) (%s) in [%s](%s/_git/%s/)\r\n\r\n%s", who, verb, pr.ID, link, pr.title, r.Name, s.webURL(r.proj), pathEscape(r.Name), pr.title))
	ev.Resource = s.prEventResource(pr)
	return ev
}

func (s *Sim) prCommentEvent(pr *pullRequest, t *thread, c *comment, action string) *event {
	r := pr.repo
	ev := s.newEvent("ms.vss-code.git-pullrequest-comment-event", r.proj.ID, map[string]string{"repository": r.ID, "branch": r.defaultBranch()})
	who := "A user"
	if c.author != 0xffff {
		who = s.org.idents[c.author].Name
	}
	link := fmt.Sprintf("%s/_git/%s/pullrequest/%d", s.webURL(r.proj), pathEscape(r.Name), pr.ID)
	ev.Message = msg(fmt.Sprintf("%s has %s a pull request comment", who, action),
		fmt.Sprintf(`%s has <a href="%s">%s</a> a pull request comment`, who, link, action),
		fmt.Sprintf("%s has [%s](%s) a pull request comment", who, action, link))
	ev.Detailed = msg(fmt.Sprintf("%s has %s a pull request comment\r\n%s", who, action, c.content),
		fmt.Sprintf(`%s has <a href="%s">%s</a> a pull request comment<p>%s</p>`, who, link, action, c.content),
		fmt.Sprintf("%s has [%s](%s) a pull request comment\r\n%s", who, action, link, c.content))
	co := s.commentObj(pr, t, c)
	delete(co, "usersLiked")
	// Real deliveries link the comment to itself, its repository and its
	// thread (samples/events/ms.vss-code.git-pullrequest-comment-event.json):
	// the thread link is the only place the event names the thread.
	threadURL := fmt.Sprintf("%s/threads/%d", s.prURL(pr), t.ID)
	co["_links"] = obj{"self": obj{"href": fmt.Sprintf("%s/comments/%d", threadURL, c.ID)},
		"repository": obj{"href": s.base() + "/" + r.proj.ID + "/_apis/git/repositories/" + r.ID},
		"threads":    obj{"href": threadURL}}
	pro := s.prEventResource(pr)
	pro["_links"] = obj{"web": obj{"href": link}, "statuses": obj{"href": s.prURL(pr) + "/statuses"}}
	ev.Resource = obj{"comment": co, "pullRequest": pro}
	return ev
}

func (s *Sim) repoEvent(typ string, r *repo, by uint16, oldName string) *event {
	ev := s.newEvent(typ, r.proj.ID, map[string]string{"repository": r.ID})
	who := s.org.idents[by].Name
	now := s.clock.Now().Format("2006-01-02T15:04:05.0000000Z")
	ref := s.repoRef(r)
	delete(ref, "webUrl")
	delete(ref, "isInMaintenance")
	text := map[string]string{"git.repo.created": "created", "git.repo.deleted": "deleted", "git.repo.renamed": "renamed"}[typ]
	ev.Message = msg(fmt.Sprintf("Repository %s was %s by %s.", r.Name, text, who), fmt.Sprintf("Repository %s was %s by %s.", r.Name, text, who), fmt.Sprintf("Repository `%s` was %s by %s.", r.Name, text, who))
	ev.Detailed = ev.Message
	init := s.shortIdent(by)
	switch typ {
	case "git.repo.deleted":
		ev.Resource = obj{"project": s.projectRef(r.proj), "repositoryId": r.ID, "repositoryName": r.Name, "isHardDelete": false, "initiatedBy": init, "utcTimestamp": now}
	case "git.repo.renamed":
		ev.Resource = obj{"oldName": oldName, "newName": r.Name, "repository": ref, "initiatedBy": init, "utcTimestamp": now}
	default:
		ev.Resource = obj{"repository": ref, "initiatedBy": init, "utcTimestamp": now}
	}
	return ev
}

// tfvcEvent exists for test notifications only: simulated projects use Git.
func (s *Sim) tfvcEvent(p *project, by uint16) *event {
	ev := s.newEvent("tfvc.checkin", p.ID, map[string]string{"path": "$/" + p.Name})
	who := s.org.idents[by].Name
	ev.Message = msg(who+" checked in changeset 18.", who+" checked in changeset 18.", who+" checked in changeset 18.")
	ev.Detailed = ev.Message
	ev.Resource = obj{"changesetId": 18, "url": s.base() + "/_apis/tfvc/changesets/18", "author": s.shortIdent(by),
		"checkedInBy": s.shortIdent(by), "createdDate": timeStr(s.clock.Now().Unix()), "comment": "Sample check-in"}
	return ev
}

// ---- builds and pipelines ---------------------------------------------------------------------

// buildCompleteEvent carries the modern Build (resourceVersion 2.0) and the legacy 1.0 shape.
func (s *Sim) buildCompleteEvent(b *build) *event {
	p := b.pipe.proj
	status := map[string]string{"succeeded": "Succeeded", "partiallySucceeded": "PartiallySucceeded", "failed": "Failed", "canceled": "Stopped"}[b.result]
	ev := s.newEvent("build.complete", p.ID, map[string]string{"definitionName": b.pipe.Name, "buildStatus": status})
	num := s.buildNumber(b)
	link := fmt.Sprintf("%s/_build/results?buildId=%d", s.webURL(p), b.ID)
	ev.Message = msg(fmt.Sprintf("Build %s %s", num, strings.ToLower(status)), fmt.Sprintf(`Build <a href="%s">%s</a> %s`, link, num, strings.ToLower(status)),
		fmt.Sprintf("Build [%s](%s) %s", num, link, strings.ToLower(status)))
	ev.Detailed = msg(fmt.Sprintf("Build %s %s\r\n- Result: %s", num, strings.ToLower(status), b.result),
		fmt.Sprintf(`Build <a href="%s">%s</a> %s<ul><li>Result: %s</li></ul>`, link, num, strings.ToLower(status), b.result),
		fmt.Sprintf("Build [%s](%s) %s\r\n- Result: %s", num, link, strings.ToLower(status), b.result))
	ev.Resource = s.buildObj(b)
	bu := s.base() + "/" + p.ID + "/_apis/build/Builds/" + fmt.Sprint(b.ID)
	ev.ResourceV1 = obj{"uri": fmt.Sprintf("vstfs:///Build/Build/%d", b.ID), "id": b.ID, "buildNumber": num, "url": bu,
		"startTime": timeStr(b.start), "finishTime": timeStr(b.finish), "reason": b.reason, "status": strings.ToLower(status[:1]) + status[1:],
		"dropLocation":     "#/" + fmt.Sprint(b.ID) + "/drop",
		"drop":             obj{"location": "#/" + fmt.Sprint(b.ID) + "/drop", "type": "container", "url": bu + "/artifacts/drop", "downloadUrl": bu + "/artifacts?artifactName=drop&$format=zip"},
		"log":              obj{"type": "container", "url": bu + "/logs", "downloadUrl": bu + "/logs?$format=zip"},
		"sourceGetVersion": "LG:" + b.branch + ":" + s.org.sha(b.pipe.repo, b.commitIdx),
		"lastChangedBy":    s.identRef(b.requestedFor), "retainIndefinitely": false, "hasDiagnostics": true,
		"definition": obj{"batchSize": 1, "triggerType": "continuousIntegration", "definitionType": "build", "id": b.pipe.ID, "name": b.pipe.Name,
			"url": s.base() + "/" + p.ID + "/_apis/build/Definitions/" + fmt.Sprint(b.pipe.ID)},
		"queue":    obj{"queueType": "buildController", "id": p.queueID, "name": "Azure Pipelines", "url": s.base() + "/_apis/build/Queues/" + fmt.Sprint(p.queueID)},
		"requests": []any{obj{"id": b.ID, "url": bu, "requestedFor": s.identRef(b.requestedFor)}}}
	return ev
}

func (s *Sim) runRef(b *build) obj {
	p := b.pipe.proj
	st, _ := runState(b)
	ru := s.base() + "/" + p.ID + "/_apis/Pipelines/" + fmt.Sprint(b.pipe.ID) + "/runs/" + fmt.Sprint(b.ID)
	web := s.webURL(p) + "/_build/results?buildId=" + fmt.Sprint(b.ID)
	return obj{"_links": obj{"self": obj{"href": ru}, "web": obj{"href": web}, "pipeline.web": obj{"href": s.webURL(p) + "/_build/definition?definitionId=" + fmt.Sprint(b.pipe.ID)},
		"pipeline": obj{"href": s.pipelineRef(b.pipe)["url"]}},
		"pipeline": s.pipelineRef(b.pipe), "state": st, "createdDate": timeNano(unixTime(b.queue)), "url": ru, "id": b.ID,
		"name": s.buildNumber(b), "templateParameters": obj{},
		"resources": obj{"repositories": obj{"self": obj{"refName": b.branch, "version": s.org.sha(b.pipe.repo, b.commitIdx),
			"repository": obj{"id": b.pipe.repo.ID, "type": "azureReposGit", "fullName": b.pipe.repo.Name, "connection": obj{"id": b.pipe.repo.ID}}}}}}
}

func (s *Sim) pipelineEventBase(typ string, b *build, filters map[string]string) (*event, obj) {
	p := b.pipe.proj
	filters["pipelineId"] = fmt.Sprint(b.pipe.ID)
	ev := s.newEvent(typ, p.ID, filters)
	c := &b.pipe.repo.commits[b.commitIdx]
	res := obj{"pipeline": s.pipelineRef(b.pipe), "run": s.runRef(b), "runId": b.ID,
		"runUrl":    s.base() + "/" + p.ID + "/_apis/Pipelines/" + fmt.Sprint(b.pipe.ID) + "/runs/" + fmt.Sprint(b.ID),
		"projectId": p.ID,
		"repositories": []any{obj{"type": "Git", "alias": "self", "id": b.pipe.repo.ID, "url": s.repoRef(b.pipe.repo)["remoteUrl"],
			"change": obj{"author": s.gitUser(c.author, c.at), "committer": s.gitUser(c.author, c.at), "message": s.org.message(b.pipe.repo, c),
				"version": s.org.sha(b.pipe.repo, b.commitIdx)}}}}
	return ev, res
}

func (s *Sim) runStateEvent(b *build) *event {
	st, res := runState(b)
	ev, r := s.pipelineEventBase("ms.vss-pipelines.run-state-changed-event", b, map[string]string{"runStateId": capital(st), "runResultId": capital(res)})
	r["requestedBy"] = s.identRef(b.requestedFor)
	r["requestedFor"] = s.identRef(b.requestedFor)
	r["queue"] = obj{"id": b.pipe.proj.queueID, "name": "Azure Pipelines", "pool": obj{"id": 9, "name": "Azure Pipelines", "isHosted": true}}
	var stages []any
	for i, n := range stageNames {
		if b.stages[i] == stNotRun {
			continue
		}
		ss, _ := stageState(b, i)
		stages = append(stages, obj{"id": guid(s.org.seed, "stage", b.ID*10+i), "name": n, "displayName": n, "state": ss, "attempt": 1,
			"_links": obj{"web": obj{"href": s.webURL(b.pipe.proj) + "/_build/results?buildId=" + fmt.Sprint(b.ID) + "&view=logs&s=" + guid(s.org.seed, "stage", b.ID*10+i)}}})
	}
	r["stages"] = nonNil(stages)
	if res != "" {
		r["run"].(obj)["result"] = res
		r["run"].(obj)["finishedDate"] = timeNano(unixTime(b.finish))
	}
	num := s.buildNumber(b)
	link := fmt.Sprintf("%s/_build/results?buildId=%d", s.webURL(b.pipe.proj), b.ID)
	word := "in progress"
	if res != "" {
		word = res
	}
	ev.Message = msg(fmt.Sprintf("Run %s %s.", num, word), fmt.Sprintf(`Run <a href="%s">%s</a> %s.`, link, num, word), fmt.Sprintf("Run [%s](%s) %s.", num, link, word))
	ev.Detailed = ev.Message
	ev.Resource = r
	return ev
}

func (s *Sim) stageEvent(b *build, i int) *event {
	ss, sr := stageState(b, i)
	ev, r := s.pipelineEventBase("ms.vss-pipelines.stage-state-changed-event", b,
		map[string]string{"stageNameId": stageNames[i], "stageStateId": capital(ss), "stageResultId": capital(sr)})
	st := obj{"id": guid(s.org.seed, "stage", b.ID*10+i), "name": stageNames[i], "displayName": stageNames[i], "state": ss,
		"attempt": 1, "startTime": timeNano(unixTime(b.start)), "_links": s.logLinks(b, "stage", i)}
	if sr != "" {
		st["result"], st["finishTime"] = sr, timeNano(unixTime(b.stageEnd[i]))
	}
	r["stage"], r["stageName"] = st, stageNames[i]
	num := s.buildNumber(b)
	ev.Message = msg(fmt.Sprintf("Run %s stage %s %s.", num, stageNames[i], ss), fmt.Sprintf("Run %s stage %s %s.", num, stageNames[i], ss), fmt.Sprintf("Run %s stage %s %s.", num, stageNames[i], ss))
	ev.Detailed = ev.Message
	ev.Resource = r
	return ev
}

func (s *Sim) jobEvent(b *build, i int) *event {
	ss, sr := stageState(b, i)
	ev, r := s.pipelineEventBase("ms.vss-pipelines.job-state-changed-event", b,
		map[string]string{"stageNameId": stageNames[i], "jobNameId": "Job", "jobStateId": capital(ss), "jobResultId": capital(sr)})
	r["stage"] = obj{"id": guid(s.org.seed, "stage", b.ID*10+i), "name": stageNames[i], "displayName": stageNames[i], "state": ss,
		"attempt": 1, "startTime": timeNano(unixTime(b.start)), "_links": s.logLinks(b, "stage", i)}
	job := obj{"id": guid(s.org.seed, "job", b.ID*10+i), "name": "Job", "state": ss, "attempt": 1, "startTime": timeNano(unixTime(b.start)),
		"_links": s.logLinks(b, "job", i)}
	if sr != "" {
		job["result"], job["finishTime"] = sr, timeNano(unixTime(b.stageEnd[i]))
	}
	r["job"] = job
	num := s.buildNumber(b)
	ev.Message = msg(fmt.Sprintf("Run %s job Job in stage %s %s.", num, stageNames[i], ss), fmt.Sprintf("Run %s job Job in stage %s %s.", num, stageNames[i], ss), fmt.Sprintf("Run %s job Job in stage %s %s.", num, stageNames[i], ss))
	ev.Detailed = ev.Message
	ev.Resource = r
	return ev
}

func (s *Sim) logLinks(b *build, kind string, i int) obj {
	return obj{"web": obj{"href": s.webURL(b.pipe.proj) + "/_build/results?buildId=" + fmt.Sprint(b.ID) + "&view=logs&" + kind[:1] + "=" + guid(s.org.seed, kind, b.ID*10+i)}}
}

func capital(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ---- releases ---------------------------------------------------------------------------------

func (s *Sim) relURL(p *project, kind string, id int) string {
	return fmt.Sprintf("%s/%s/%s/_apis/Release/%s/%d", s.releaseURL, s.org.name, p.ID, kind, id)
}

func (s *Sim) releaseEnvObj(rel *release, ei int, status string) obj {
	d := rel.def
	owner := s.org.idents[rel.by]
	return obj{"id": rel.envIDs[ei], "releaseId": rel.ID, "name": d.envs[ei].Name, "status": status, "variables": obj{},
		"preDeployApprovals": []any{}, "postDeployApprovals": []any{},
		"preApprovalsSnapshot":  obj{"approvals": []any{}, "approvalOptions": obj{"requiredApproverCount": 0, "releaseCreatorCanBeApprover": true}},
		"postApprovalsSnapshot": obj{"approvals": []any{}}, "deploySteps": []any{}, "rank": ei + 1,
		"definitionEnvironmentId": d.envs[ei].ID, "queueId": d.proj.queueID,
		"environmentOptions": obj{"emailNotificationType": "OnlyOnFailure", "emailRecipients": "release.environment.owner;release.creator",
			"skipArtifactsDownload": false, "timeoutInMinutes": 0, "enableAccessToken": false},
		"demands": []any{}, "conditions": []any{}, "modifiedOn": timeNano(unixTime(rel.created)),
		"workflowTasks": []any{obj{"taskId": "497d490f-eea7-4f2b-ab94-48d9c1acdcb1", "version": "4.*", "name": "Deploy Azure App Service", "enabled": true,
			"alwaysRun": false, "continueOnError": false, "timeoutInMinutes": 0, "definitionType": nil,
			"inputs": obj{"ConnectedServiceName": guid(s.org.seed, "svcconn", d.ID), "WebSiteName": "$(webAppName)", "WebSiteLocation": "West Europe",
				"Slot": "", "Package": "$(System.DefaultWorkingDirectory)\\**\\*.zip"}}},
		"deployPhasesSnapshot": []any{}, "owner": obj{"id": owner.ID, "displayName": owner.Name},
		"scheduledDeploymentTime": timeNano(unixTime(rel.created)), "schedules": []any{},
		"release": obj{"id": rel.ID, "name": rel.Name, "url": s.relURL(d.proj, "releases", rel.ID)}}
}

func (s *Sim) deploymentEvent(typ string, dep *deployment) *event {
	rel := dep.rel
	d := rel.def
	statusCode := map[string]string{"succeeded": "4", "canceled": "8", "notDeployed": "8", "rejected": "16", "partiallySucceeded": "128", "failed": "16"}[dep.status]
	ev := s.newEvent(typ, d.proj.ID, map[string]string{"releaseDefinitionId": fmt.Sprint(d.ID), "releaseEnvironmentId": fmt.Sprint(d.envs[dep.env].ID),
		"releaseEnvironmentStatus": statusCode})
	status := dep.status
	if typ == "ms.vss-release.deployment-started-event" {
		status = "inProgress"
	}
	env := d.envs[dep.env].Name
	verb := "started"
	if typ == "ms.vss-release.deployment-completed-event" {
		verb = "completed (" + dep.status + ")"
	}
	ev.Message = msg(fmt.Sprintf("Deployment of release %s on environment %s %s.", rel.Name, env, verb),
		fmt.Sprintf("Deployment of release %s on environment %s %s.", rel.Name, env, verb), fmt.Sprintf("Deployment of release %s on environment %s %s.", rel.Name, env, verb))
	ev.Detailed = ev.Message
	// The 3.0-preview.1 resource is the release environment and the project, and nothing else
	// (samples/events/ms.vss-release.deployment-completed-event.json has no deployment object):
	// which attempt this is shows only in the environment's deploySteps, the DeploymentAttempt
	// list of ReleaseEnvironment in the 7.1 release.json. The environment status is an
	// EnvironmentStatus (same spec: no "failed"; a failed deployment leaves the environment
	// "rejected", as the releaseEnvironmentStatus filter's 16 = Rejected says, PROTOCOL §8).
	envStatus, modified := map[string]string{"failed": "rejected", "notDeployed": "canceled"}[status], dep.completed
	if envStatus == "" {
		envStatus = status
	}
	if typ == "ms.vss-release.deployment-started-event" {
		modified = dep.started
	}
	envObj := s.releaseEnvObj(rel, dep.env, envStatus)
	envObj["modifiedOn"] = timeNano(unixTime(modified))
	envObj["deploySteps"] = s.deploySteps(dep, typ == "ms.vss-release.deployment-started-event")
	ev.Resource = obj{"environment": envObj, "project": obj{"id": d.proj.ID, "name": d.proj.Name}}
	return ev
}

// deploySteps renders a release environment's attempts up to dep's as DeploymentAttempt objects
// (7.1 release.json), dep's own still in progress when started is set.
func (s *Sim) deploySteps(dep *deployment, started bool) []any {
	var steps []any
	for _, d := range dep.rel.def.proj.deployments {
		if d.rel != dep.rel || d.env != dep.env || d.attempt > dep.attempt {
			continue
		}
		status, op, modified := d.status, d.opStatus, d.completed
		if d == dep && started || d.completed == 0 {
			status, op, modified = "inProgress", "PhaseInProgress", d.started
		}
		phase := map[string]string{"succeeded": "succeeded", "partiallySucceeded": "partiallySucceeded", "failed": "failed",
			"notDeployed": "canceled"}[status]
		if phase == "" {
			phase = "inProgress"
		}
		steps = append(steps, obj{"id": d.ID, "deploymentId": d.ID, "attempt": d.attempt, "reason": d.reason, "status": status,
			"operationStatus": op, "hasStarted": true, "queuedOn": timeNano(unixTime(d.queued)), "lastModifiedOn": timeNano(unixTime(modified)),
			"requestedBy": s.vsrmIdent(d.requestedBy), "requestedFor": s.vsrmIdent(d.requestedBy), "lastModifiedBy": s.vsrmIdent(d.requestedBy),
			"issues": []any{}, "releaseDeployPhases": []any{obj{"id": d.ID, "phaseId": "1", "name": "Agent job", "rank": 1,
				"phaseType": "agentBasedDeployment", "status": phase, "startedOn": timeNano(unixTime(d.started)),
				"runPlanId": guid(s.org.seed, "runplan", d.ID), "deploymentJobs": []any{}, "manualInterventions": []any{}}}})
	}
	return nonNil(steps)
}

func (s *Sim) releaseObj(rel *release, status string) obj {
	d := rel.def
	who := s.org.idents[rel.by]
	var envs []any
	for i := range d.envs {
		envs = append(envs, s.releaseEnvObj(rel, i, "notStarted"))
	}
	var arts []any
	if b := rel.build; b != nil {
		arts = append(arts, obj{"sourceId": d.proj.ID + ":" + fmt.Sprint(b.pipe.ID), "type": "Build", "alias": b.pipe.Name, "isPrimary": true,
			// Event payloads serialize this dictionary with capitalized keys (docs event samples).
			"definitionReference": obj{"Definition": obj{"id": fmt.Sprint(b.pipe.ID), "name": b.pipe.Name}, "Project": obj{"id": d.proj.ID, "name": d.proj.Name},
				"version": obj{"id": fmt.Sprint(b.ID), "name": s.buildNumber(b)}}})
	}
	return obj{"id": rel.ID, "name": rel.Name, "status": status, "createdOn": timeNano(unixTime(rel.created)), "modifiedOn": timeNano(unixTime(rel.created)),
		"modifiedBy": obj{"id": who.ID, "displayName": who.Name}, "createdBy": obj{"id": who.ID, "displayName": who.Name},
		"environments": nonNil(envs), "variables": obj{}, "artifacts": nonNil(arts),
		"releaseDefinition": obj{"id": d.ID, "name": d.Name, "url": s.relURL(d.proj, "definitions", d.ID)},
		"description":       "", "reason": "continuousIntegration", "releaseNameFormat": "Release-$(rev:r)", "keepForever": false,
		"definitionSnapshotRevision": 1, "comment": "", "logsContainerUrl": nil, "_links": obj{}}
}

func (s *Sim) releaseEvent(typ string, rel *release) *event {
	d := rel.def
	ev := s.newEvent(typ, d.proj.ID, map[string]string{"releaseDefinitionId": fmt.Sprint(d.ID)})
	status := "active"
	verb := "created"
	if typ == "ms.vss-release.release-abandoned-event" {
		status, verb = "abandoned", "abandoned"
	}
	ev.Message = msg(fmt.Sprintf("Release %s %s.", rel.Name, verb), fmt.Sprintf("Release %s %s.", rel.Name, verb), fmt.Sprintf("Release %s %s.", rel.Name, verb))
	ev.Detailed = ev.Message
	ev.Resource = obj{"release": s.releaseObj(rel, status), "project": obj{"id": d.proj.ID, "name": d.proj.Name}}
	return ev
}

func (s *Sim) approvalEvent(typ string, dep *deployment) *event {
	rel := dep.rel
	d := rel.def
	ev := s.newEvent(typ, d.proj.ID, map[string]string{"releaseDefinitionId": fmt.Sprint(d.ID), "releaseEnvironmentId": fmt.Sprint(d.envs[dep.env].ID)})
	status := "pending"
	if typ == "ms.vss-release.deployment-approval-completed-event" {
		status = "approved"
	}
	ap := s.org.idents[dep.approvedBy]
	var approval obj
	ev.Message = msg(fmt.Sprintf("Pre-deployment approval for %s on %s is %s.", rel.Name, d.envs[dep.env].Name, status),
		fmt.Sprintf("Pre-deployment approval for %s on %s is %s.", rel.Name, d.envs[dep.env].Name, status),
		fmt.Sprintf("Pre-deployment approval for %s on %s is %s.", rel.Name, d.envs[dep.env].Name, status))
	ev.Detailed = ev.Message
	approval = obj{"id": dep.ID, "revision": 1, "approver": obj{"id": ap.ID, "displayName": ap.Name}, "approvalType": "preDeploy",
		"createdOn": timeNano(unixTime(dep.queued)), "modifiedOn": timeNano(unixTime(dep.queued)), "status": status, "comments": "",
		"isAutomated": false, "isNotificationOn": true, "trialNumber": 1, "attempt": dep.attempt, "rank": 1,
		"release": obj{"id": rel.ID, "name": rel.Name}, "releaseDefinition": obj{"id": d.ID, "name": d.Name, "url": s.relURL(d.proj, "definitions", d.ID)},
		"releaseEnvironment": obj{"id": rel.envIDs[dep.env], "name": d.envs[dep.env].Name}}
	if status == "approved" {
		approval["approvedBy"] = obj{"id": ap.ID, "displayName": ap.Name}
	}
	ev.Resource = obj{"approval": approval, "release": s.releaseObj(rel, "active"), "project": obj{"id": d.proj.ID, "name": d.proj.Name}}
	return ev
}

// ---- work items -------------------------------------------------------------------------------

func (s *Sim) identString(i uint16) string {
	id := s.org.idents[int(i)%len(s.org.idents)]
	return id.Name + " <" + id.Email + ">"
}

func kanbanField(p *project) string {
	return "WEF_" + strings.ToUpper(strings.ReplaceAll(p.ID, "-", "")) + "_Kanban.Column"
}

// wiEventFields are the flat string fields work item events carry (resourceVersion 1.0).
func (s *Sim) wiEventFields(w *workItem, rev int) obj {
	r := w.revs[rev-1]
	f := obj{"System.AreaPath": w.areaPath(), "System.TeamProject": w.proj.Name, "System.IterationPath": w.proj.Name + "\\Sprint 1",
		"System.WorkItemType": w.typ, "System.State": r.state, "System.Reason": reasonFor(r.state),
		"System.CreatedDate": timeNano(unixTime(w.created())), "System.CreatedBy": s.identString(w.createdBy),
		"System.ChangedDate": timeNano(unixTime(r.at)), "System.ChangedBy": s.identString(r.by), "System.Title": w.title,
		"Microsoft.VSTS.Common.Severity": w.severityOr(), kanbanField(w.proj): r.state}
	if w.tags != "" {
		f["System.Tags"] = w.tags
	}
	return f
}

func (w *workItem) severityOr() string {
	if w.severity != "" {
		return w.severity
	}
	return "3 - Medium"
}

func reasonFor(state string) string {
	switch state {
	case "New":
		return "New"
	case "Active":
		return "Implementation started"
	case "Resolved":
		return "Code complete and unit tests pass"
	default:
		return "Acceptance tests pass"
	}
}

func (s *Sim) wiFilters(w *workItem, changed string) map[string]string {
	return map[string]string{"areaPath": w.areaPath(), "workItemType": w.typ, "tag": w.tags, "changedFields": changed}
}

func (s *Sim) workItemEvent(typ string, w *workItem, text string) *event {
	changed := ""
	if typ == "workitem.updated" && len(w.revs) > 1 {
		changed = "System.State,System.Rev,System.ChangedDate,System.Reason"
	}
	ev := s.newEvent(typ, w.proj.ID, s.wiFilters(w, changed))
	rev := len(w.revs)
	u := s.base() + "/_apis/wit/workItems/" + fmt.Sprint(w.ID)
	who := s.org.idents[w.changedBy()].Name
	verb := strings.TrimPrefix(typ, "workitem.")
	link := fmt.Sprintf("%s/_workitems/edit/%d", s.webURL(w.proj), w.ID)
	ev.Message = msg(fmt.Sprintf("%s #%d (%s) %s by %s", w.typ, w.ID, w.title, verb, who),
		fmt.Sprintf(`<a href="%s">%s #%d</a> (%s) %s by %s`, link, w.typ, w.ID, w.title, verb, who),
		fmt.Sprintf("[%s #%d](%s) (%s) %s by %s", w.typ, w.ID, link, w.title, verb, who))
	ev.Detailed = msg(fmt.Sprintf("%s #%d (%s) %s by %s\r\n\r\n- State: %s\r\n", w.typ, w.ID, w.title, verb, who, w.state()),
		fmt.Sprintf(`<a href="%s">%s #%d</a> (%s) %s by %s<ul><li>State: %s</li></ul>`, link, w.typ, w.ID, w.title, verb, who, w.state()),
		fmt.Sprintf("[%s #%d](%s) (%s) %s by %s\r\n\r\n* State: %s\r\n", w.typ, w.ID, link, w.title, verb, who, w.state()))
	links := obj{"self": obj{"href": u}, "workItemUpdates": obj{"href": u + "/updates"}, "workItemRevisions": obj{"href": u + "/revisions"},
		"workItemType": obj{"href": s.base() + "/" + w.proj.ID + "/_apis/wit/workItemTypes/" + pathEscape(w.typ)}, "fields": obj{"href": s.base() + "/_apis/wit/fields"}}
	switch typ {
	case "workitem.updated":
		prev := w.revs[max(0, rev-2)]
		cur := w.revs[rev-1]
		ts := func(t int64) string { return timeNano(unixTime(t)) }
		ev.Resource = obj{"id": rev, "workItemId": w.ID, "rev": rev, "revisedBy": s.shortIdent(cur.by), "revisedDate": "9999-01-01T00:00:00Z",
			"fields": obj{"System.Rev": obj{"oldValue": fmt.Sprint(rev - 1), "newValue": fmt.Sprint(rev)},
				"System.AuthorizedDate":          obj{"oldValue": ts(prev.at), "newValue": ts(cur.at)},
				"System.RevisedDate":             obj{"oldValue": ts(cur.at), "newValue": "9999-01-01T00:00:00Z"},
				"System.State":                   obj{"oldValue": prev.state, "newValue": cur.state},
				"System.Reason":                  obj{"oldValue": reasonFor(prev.state), "newValue": reasonFor(cur.state)},
				"System.AssignedTo":              obj{"newValue": s.identString(w.assigned)},
				"System.ChangedDate":             obj{"oldValue": ts(prev.at), "newValue": ts(cur.at)},
				"System.Watermark":               obj{"oldValue": fmt.Sprint(w.ID*10 + rev - 1), "newValue": fmt.Sprint(w.ID*10 + rev)},
				"Microsoft.VSTS.Common.Severity": obj{"oldValue": w.severityOr(), "newValue": w.severityOr()}},
			"url":      u + "/updates/" + fmt.Sprint(rev),
			"revision": obj{"id": w.ID, "rev": rev, "fields": s.wiEventFields(w, rev), "url": u + "/revisions/" + fmt.Sprint(rev)},
			"_links":   obj{"self": obj{"href": u + "/updates/" + fmt.Sprint(rev)}, "parent": obj{"href": u}}}
	case "workitem.commented":
		f := s.wiEventFields(w, rev)
		f["System.History"] = text
		ev.Resource = obj{"id": w.ID, "rev": rev, "fields": f, "url": u, "_links": links}
	default:
		ev.Resource = obj{"id": w.ID, "rev": rev, "fields": s.wiEventFields(w, rev), "url": u, "_links": links}
	}
	return ev
}

// sampleEvent builds an event of any known type from existing state, for test notifications.
func (s *Sim) sampleEvent(typ string) (*event, error) {
	o := s.org
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.projects[0]
	r := p.repos[0]
	var pr *pullRequest
	if len(r.prs) > 0 {
		pr = r.prs[len(r.prs)-1]
	}
	var b *build
	for i := len(p.builds) - 1; i >= 0; i-- {
		if p.builds[i].status == "completed" && p.builds[i].pipe.deploys {
			b = p.builds[i]
			break
		}
	}
	if b == nil && len(p.builds) > 0 {
		b = p.builds[len(p.builds)-1]
	}
	var dep *deployment
	if len(p.deployments) > 0 {
		dep = p.deployments[len(p.deployments)-1]
	}
	w := p.workItems[len(p.workItems)-1]
	switch {
	case typ == "git.push":
		return s.pushEvent(r, &r.pushes[len(r.pushes)-1]), nil
	case strings.HasPrefix(typ, "git.pullrequest.") && pr != nil:
		return s.prEvent(typ, pr, pr.createdBy, "StatusUpdateNotification"), nil
	case typ == "ms.vss-code.git-pullrequest-comment-event" && pr != nil:
		o.ensureThreads(pr)
		t := pr.threads[0]
		return s.prCommentEvent(pr, t, t.comments[0], "created"), nil
	case strings.HasPrefix(typ, "git.repo."):
		return s.repoEvent(typ, r, 0, r.Name+"-old"), nil
	case typ == "tfvc.checkin":
		return s.tfvcEvent(p, 0), nil
	case typ == "build.complete" && b != nil:
		return s.buildCompleteEvent(b), nil
	case typ == "ms.vss-pipelines.run-state-changed-event" && b != nil:
		return s.runStateEvent(b), nil
	case typ == "ms.vss-pipelines.stage-state-changed-event" && b != nil:
		return s.stageEvent(b, 0), nil
	case typ == "ms.vss-pipelines.job-state-changed-event" && b != nil:
		return s.jobEvent(b, 0), nil
	case strings.HasPrefix(typ, "ms.vss-release.deployment-approval") && dep != nil:
		return s.approvalEvent(typ, dep), nil
	case strings.HasPrefix(typ, "ms.vss-release.deployment-") && dep != nil:
		return s.deploymentEvent(typ, dep), nil
	case strings.HasPrefix(typ, "ms.vss-release.release-") && dep != nil:
		return s.releaseEvent(typ, dep.rel), nil
	case strings.HasPrefix(typ, "workitem."):
		return s.workItemEvent(typ, w, "Sample comment"), nil
	}
	return nil, hookError("VS1200005: No sample data for event type " + typ + ".")
}
