package azdosim

import (
	"fmt"
	"strings"
)

// Renderers turn state into the JSON shapes of samples/rest. They run under the org read lock.

func (s *Sim) base() string { return s.baseURL + "/" + s.org.name }

func (s *Sim) identRef(i uint16) obj {
	id := s.org.idents[int(i)%len(s.org.idents)]
	return s.identObj(id)
}

func (s *Sim) identObj(id identity) obj {
	b := s.base()
	img := b + "/_apis/GraphProfile/MemberAvatars/" + id.Descriptor
	return obj{"displayName": id.Name, "url": b + "/_apis/Identities/" + id.ID,
		"_links": obj{"avatar": obj{"href": img}}, "id": id.ID, "uniqueName": id.Email,
		"imageUrl": img, "descriptor": id.Descriptor}
}

func (s *Sim) projectRef(p *project) obj {
	return obj{"id": p.ID, "name": p.Name, "description": p.Description, "url": s.base() + "/_apis/projects/" + p.ID,
		"state": "wellFormed", "revision": p.Revision, "visibility": "private", "lastUpdateTime": timeNano(p.LastUpdate)}
}

func (s *Sim) repoRef(r *repo) obj {
	b := s.base()
	web := b + "/" + pathEscape(r.proj.Name) + "/_git/" + pathEscape(r.Name)
	host := strings.TrimPrefix(strings.TrimPrefix(s.baseURL, "https://"), "http://")
	return obj{"id": r.ID, "name": r.Name, "url": b + "/" + r.proj.ID + "/_apis/git/repositories/" + r.ID,
		"project": s.projectRef(r.proj), "defaultBranch": r.defaultBranch(), "size": r.size,
		"remoteUrl": web, "sshUrl": "git@" + host + ":v3/" + s.org.name + "/" + pathEscape(r.proj.Name) + "/" + pathEscape(r.Name),
		"webUrl": web, "isDisabled": false, "isInMaintenance": false}
}

func (s *Sim) commitURL(r *repo, sha string) string {
	return s.base() + "/" + r.proj.ID + "/_apis/git/repositories/" + r.ID + "/commits/" + sha
}

func (s *Sim) gitUser(i uint16, at int64) obj {
	id := s.org.idents[int(i)%len(s.org.idents)]
	return obj{"name": id.Name, "email": id.Email, "date": timeStr(at)}
}

// commitRef renders a GitCommitRef as the commits list returns it.
func (s *Sim) commitRef(r *repo, idx int32, workItems, pushData bool) obj {
	c := &r.commits[idx]
	sha := s.org.sha(r, idx)
	msg := s.org.message(r, c)
	out := obj{"commitId": sha, "author": s.gitUser(c.author, c.at), "committer": s.gitUser(c.author, c.at),
		"comment": msg, "commentTruncated": false,
		"changeCounts": obj{"Add": int(c.add), "Edit": int(c.edt), "Delete": int(c.del)},
		"url":          s.commitURL(r, sha), "remoteUrl": s.base() + "/" + pathEscape(r.proj.Name) + "/_git/" + pathEscape(r.Name) + "/commit/" + sha}
	if len(msg) > 100 {
		out["comment"], out["commentTruncated"] = msg[:100], true
	}
	if workItems {
		var wis []any
		if c.wi != 0 {
			wis = append(wis, obj{"id": fmt.Sprint(c.wi), "url": s.base() + "/_apis/wit/workItems/" + fmt.Sprint(c.wi)})
		}
		out["workItems"] = nonNil(wis)
	}
	if pushData {
		if p := r.findPush(c.push); p != nil {
			out["push"] = obj{"pushedBy": s.identRef(p.by), "pushId": p.id, "date": timeStr(p.at)}
		}
	}
	return out
}

func (r *repo) findPush(id int32) *push {
	lo, hi := 0, len(r.pushes)
	for lo < hi {
		m := (lo + hi) / 2
		if r.pushes[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(r.pushes) && r.pushes[lo].id == id {
		return &r.pushes[lo]
	}
	return nil
}

func (s *Sim) parents(r *repo, idx int32) []any {
	var ps []any
	c := &r.commits[idx]
	switch {
	case c.parent2 >= 0:
		ps = append(ps, s.org.sha(r, c.base), s.org.sha(r, c.parent2))
	case idx > 0:
		ps = append(ps, s.org.sha(r, idx-1))
	}
	return nonNil(ps)
}

func (s *Sim) pushObj(r *repo, p *push, withCommits bool) obj {
	b := s.base()
	out := obj{"pushId": p.id, "date": timeStr(p.at), "pushedBy": s.identRef(p.by), "repository": s.repoRef(r),
		"url":    b + "/" + r.proj.ID + "/_apis/git/repositories/" + r.ID + "/pushes/" + fmt.Sprint(p.id),
		"_links": obj{"self": obj{"href": b + "/_apis/git/repositories/" + r.ID + "/pushes/" + fmt.Sprint(p.id)}}}
	old := "0000000000000000000000000000000000000000"
	if p.first > 0 {
		old = s.org.sha(r, p.first-1)
	}
	out["refUpdates"] = []any{obj{"name": r.defaultBranch(), "oldObjectId": old, "newObjectId": s.org.sha(r, p.last)}}
	if withCommits {
		var cs []any
		for i := p.last; i >= p.first; i-- {
			c := s.commitRef(r, i, false, false)
			delete(c, "changeCounts")
			delete(c, "commentTruncated")
			delete(c, "remoteUrl")
			cs = append(cs, c)
		}
		out["commits"] = nonNil(cs)
	}
	return out
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func pathEscape(s string) string { return strings.ReplaceAll(s, " ", "%20") }

// ---- pull requests -----------------------------------------------------------------------------

func (s *Sim) prURL(pr *pullRequest) string {
	return s.base() + "/" + pr.repo.proj.ID + "/_apis/git/repositories/" + pr.repo.ID + "/pullRequests/" + fmt.Sprint(pr.ID)
}

func (s *Sim) reviewerObj(pr *pullRequest, rv reviewer) obj {
	o := s.identRef(rv.ident)
	delete(o, "descriptor")
	o["reviewerUrl"] = s.base() + "/_apis/git/repositories/" + pr.repo.ID + "/pullRequests/" + fmt.Sprint(pr.ID) + "/reviewers/" + o["id"].(string)
	o["vote"] = int(rv.vote)
	o["hasDeclined"] = false
	o["isFlagged"] = false
	o["isRequired"] = rv.required
	o["isContainer"] = false
	o["votedFor"] = []any{}
	return o
}

func (s *Sim) srcSha(pr *pullRequest) string {
	if pr.srcIdx >= 0 {
		return s.org.sha(pr.repo, pr.srcIdx)
	}
	return s.org.offSha(pr.ID, int(pr.nCommits)-1)
}

// prObj renders a GitPullRequest. list=true applies the list truncation of description.
func (s *Sim) prObj(pr *pullRequest, list bool) obj {
	r := pr.repo
	ref := func(sha string) obj { return obj{"commitId": sha, "url": s.commitURL(r, sha)} }
	desc := pr.description
	if list && len(desc) > 400 {
		desc = desc[:400]
	}
	var revs []any
	for _, rv := range pr.reviewers {
		revs = append(revs, s.reviewerObj(pr, rv))
	}
	repoRef := s.repoRef(r)
	out := obj{"repository": repoRef, "pullRequestId": pr.ID, "codeReviewId": pr.ID, "status": pr.status,
		"createdBy": s.identRef(pr.createdBy), "creationDate": timeNano(unixTime(pr.created)), "title": pr.title,
		"description": desc, "sourceRefName": pr.branch, "targetRefName": r.defaultBranch(),
		"mergeStatus": pr.mergeStatus, "isDraft": pr.draft, "mergeId": guid(s.org.seed, "merge", int(pr.ID)),
		"lastMergeSourceCommit": ref(s.srcSha(pr)), "lastMergeTargetCommit": ref(s.org.sha(r, pr.tgtIdx)),
		"reviewers": nonNil(revs), "url": s.prURL(pr), "supportsIterations": true,
		"artifactId": "vstfs:///Git/PullRequestId/" + r.proj.ID + "%2f" + r.ID + "%2f" + fmt.Sprint(pr.ID)}
	if pr.mergeIdx >= 0 {
		out["lastMergeCommit"] = ref(s.org.sha(r, pr.mergeIdx))
	} else if pr.status == prActive {
		out["lastMergeCommit"] = ref(s.org.offSha(pr.ID, 99))
	}
	if pr.closed != 0 {
		out["closedDate"] = timeNano(unixTime(pr.closed))
	}
	if pr.status == prCompleted {
		out["completionQueueTime"] = timeNano(unixTime(pr.closed - 5))
		out["completionOptions"] = obj{"mergeCommitMessage": fmt.Sprintf("Merged PR %d: %s", pr.ID, pr.title),
			"deleteSourceBranch": true, "squashMerge": false, "mergeStrategy": "noFastForward"}
	}
	if pr.ID%3 == 0 {
		out["labels"] = []any{obj{"id": guid(s.org.seed, "label", int(pr.repo.proj.idx)), "name": "simulated", "active": true}}
	}
	if !list {
		if pr.closed != 0 {
			out["closedBy"] = s.identRef(pr.closedBy)
		}
		if pr.mergeIdx >= 0 {
			c := s.commitRef(r, pr.mergeIdx, false, false)
			out["lastMergeCommit"] = obj{"commitId": c["commitId"], "author": c["author"], "committer": c["committer"],
				"comment": c["comment"], "url": c["url"]}
		}
		b := s.base()
		out["_links"] = obj{"self": obj{"href": s.prURL(pr)}, "repository": obj{"href": repoRef["url"]},
			"workItems": obj{"href": s.prURL(pr) + "/workitems"}, "sourceBranch": obj{"href": repoRef["url"].(string) + "/refs/" + strings.TrimPrefix(pr.branch, "refs/")},
			"targetBranch": obj{"href": repoRef["url"].(string) + "/refs/heads/main"}, "statuses": obj{"href": s.prURL(pr) + "/statuses"},
			"sourceCommit": obj{"href": s.commitURL(r, s.srcSha(pr))}, "targetCommit": obj{"href": s.commitURL(r, s.org.sha(r, pr.tgtIdx))},
			"createdBy": obj{"href": b + "/_apis/Identities/" + s.org.idents[pr.createdBy].ID}, "iterations": obj{"href": s.prURL(pr) + "/iterations"}}
	}
	return out
}

func (s *Sim) prCommits(pr *pullRequest) []any {
	var out []any
	r := pr.repo
	if pr.srcIdx >= 0 {
		for i := pr.srcIdx; i > pr.srcIdx-pr.nCommits && i >= 0; i-- {
			c := s.commitRef(r, i, false, false)
			delete(c, "changeCounts")
			delete(c, "remoteUrl")
			out = append(out, c)
		}
		return out
	}
	for j := int(pr.nCommits) - 1; j >= 0; j-- {
		sha := s.org.offSha(pr.ID, j)
		at := pr.created - int64(pr.nCommits-int32(j))*1800
		out = append(out, obj{"commitId": sha, "author": s.gitUser(pr.createdBy, at), "committer": s.gitUser(pr.createdBy, at),
			"comment": fmt.Sprintf("WIP on %s", strings.TrimPrefix(pr.branch, "refs/heads/")), "url": s.commitURL(r, sha)})
	}
	return out
}

func (s *Sim) wiRef(id int32) obj {
	return obj{"id": fmt.Sprint(id), "url": s.base() + "/_apis/wit/workItems/" + fmt.Sprint(id)}
}
