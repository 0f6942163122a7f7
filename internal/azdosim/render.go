package azdosim

import (
	"fmt"
	"strings"
)

// Renderers turn state into the JSON shapes of samples/rest. They run under the org read lock.

func (s *Sim) base() string { return s.baseURL + s.dirPath() + s.org.name }

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

// commitRef renders a GitCommitRef of the default branch as the commits list returns it.
func (s *Sim) commitRef(r *repo, idx int32, workItems, pushData bool) obj {
	return s.commitObj(cref{r: r, i: idx}, workItems, pushData)
}

// commitObj renders a GitCommitRef of any branch as the commits list returns it.
func (s *Sim) commitObj(x cref, workItems, pushData bool) obj {
	r, c := x.r, x.c()
	sha := s.org.csha(x)
	msg := s.org.message(r, c)
	out := obj{"commitId": sha, "author": s.gitUser(c.author, c.authorAt()), "committer": s.gitUser(c.author, c.at),
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

func (s *Sim) parents(x cref) []any {
	var ps []any
	r, c, o := x.r, x.c(), s.org
	switch {
	case x.br != nil && x.i > 0:
		ps = append(ps, o.branchSha(r, x.br, int(x.i)-1))
	case x.br != nil:
		ps = append(ps, o.sha(r, x.br.base))
	case c.parent2 >= 0:
		ps = append(ps, o.sha(r, c.base), o.sha(r, c.parent2))
	case r.firstParent[x.i] != "":
		ps = append(ps, r.firstParent[x.i])
	case x.i > 0:
		ps = append(ps, o.sha(r, x.i-1))
	}
	return nonNil(ps)
}

const zeroSha = "0000000000000000000000000000000000000000"

// refName is the branch a push updated.
func (r *repo) pushRef(p *push) string {
	if p.br != nil {
		return p.br.name
	}
	return r.defaultBranch()
}

// pushCommits lists a push's commits newest first.
func (p *push) commits(r *repo) []cref {
	var out []cref
	for i := p.last; i >= p.first; i-- {
		out = append(out, cref{r: r, br: p.br, i: i})
	}
	return out
}

func (s *Sim) pushObj(r *repo, p *push, withCommits bool) obj {
	b := s.base()
	out := obj{"pushId": p.id, "date": timeStr(p.at), "pushedBy": s.identRef(p.by), "repository": s.repoRef(r),
		"url":    b + "/" + r.proj.ID + "/_apis/git/repositories/" + r.ID + "/pushes/" + fmt.Sprint(p.id),
		"_links": obj{"self": obj{"href": b + "/_apis/git/repositories/" + r.ID + "/pushes/" + fmt.Sprint(p.id)}}}
	old := zeroSha
	switch {
	case p.br != nil && p.first > 0:
		old = s.org.branchSha(r, p.br, int(p.first)-1)
	case p.br == nil && p.first > 0:
		old = s.org.sha(r, p.first-1)
	}
	out["refUpdates"] = []any{obj{"repositoryId": r.ID, "name": r.pushRef(p), "oldObjectId": old,
		"newObjectId": s.org.csha(cref{r: r, br: p.br, i: p.last})}}
	if withCommits {
		var cs []any
		for _, x := range p.commits(r) {
			c := s.commitObj(x, false, false)
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
	if pr.src != nil {
		return s.org.branchHead(pr.repo, pr.src)
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
	add := func(x cref) {
		c := s.commitObj(x, false, false)
		delete(c, "changeCounts")
		delete(c, "remoteUrl")
		out = append(out, c)
	}
	switch {
	case pr.srcIdx >= 0:
		for i := pr.srcIdx; i > pr.srcIdx-pr.nCommits && i >= 0; i-- {
			add(cref{r: r, i: i})
		}
	case pr.src != nil:
		for j := len(pr.src.commits) - 1; j >= 0; j-- {
			add(cref{r: r, br: pr.src, i: int32(j)})
		}
	}
	return out
}

func (s *Sim) wiRef(id int32) obj {
	return obj{"id": fmt.Sprint(id), "url": s.base() + "/_apis/wit/workItems/" + fmt.Sprint(id)}
}
