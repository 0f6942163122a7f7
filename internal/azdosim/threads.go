package azdosim

import (
	"fmt"
	"strings"
)

var reviewComments = []string{"Looks good to me.", "Can we add a test for this?", "Please rename this variable.",
	"Should we log the error here?", "Nice cleanup!", "This could be simplified.", "Is this thread-safe?"}

// ensureThreads materializes a pull request's threads on first access, deterministically from the
// seed and the PR id: the merge attempt and reviewer updates at creation, one VoteUpdate thread per
// vote (published at the vote time), and a few text threads. Caller holds the write lock.
func (o *org) ensureThreads(pr *pullRequest) {
	if pr.threadsSeed {
		return
	}
	pr.threadsSeed = true
	r := newRand(o.seed, "threads", int(pr.ID))
	add := func(t *thread) {
		t.ID = int(pr.ID)*1000 + len(pr.threads) + 1
		if t.updated == 0 {
			t.updated = t.published
		}
		pr.threads = append(pr.threads, t)
	}
	sys := func(at int64, typ, text string, props map[string]any) {
		props["CodeReviewThreadType"] = typ
		add(&thread{published: at, isSystem: true, properties: props,
			comments: []*comment{{ID: 1, author: 0xffff, content: text, published: at, updated: at, kind: "system"}}})
	}
	by := o.idents[pr.createdBy]
	src := o.offSha(pr.ID, int(pr.nCommits)-1)
	if pr.srcIdx >= 0 {
		src = o.sha(pr.repo, pr.srcIdx)
	}
	tgt := o.sha(pr.repo, pr.tgtIdx)
	merge := o.offSha(pr.ID, 99)
	if pr.mergeIdx >= 0 {
		merge = o.sha(pr.repo, pr.mergeIdx)
	}
	sys(pr.created+2, "MergeAttempt", "The pull request is mergable and the target commit would be "+merge+".", map[string]any{
		"CodeReviewMergeStatus": "Succeeded", "CodeReviewSourceCommit": src, "CodeReviewTargetCommit": tgt, "CodeReviewMergeCommit": merge})
	// ReviewersUpdate threads carry their ...TfId ids without dashes, as in
	// samples/rest/git.pullrequest.threads.list.json (threads 142 and 144).
	for _, rv := range pr.reviewers {
		rid := o.idents[rv.ident]
		sys(pr.created+3, "ReviewersUpdate", by.Name+" added "+rid.Name+" as a reviewer", map[string]any{
			"CodeReviewReviewersUpdatedNumAdded": 1, "CodeReviewReviewersUpdatedNumRemoved": 0,
			"CodeReviewReviewersUpdatedAddedTfId": dashless(rid.ID), "CodeReviewReviewersUpdatedAddedDisplayName": rid.Name,
			"CodeReviewReviewersUpdatedByTfId": dashless(by.ID), "CodeReviewReviewersUpdatedByDisplayname": by.Name})
	}
	if r.IntN(3) == 0 {
		// Someone was added by mistake and removed again.
		gone := o.idents[(int(pr.createdBy)+7)%len(o.idents)]
		sys(pr.created+4, "ReviewersUpdate", by.Name+" removed "+gone.Name+" from the reviewers", map[string]any{
			"CodeReviewReviewersUpdatedNumAdded": 0, "CodeReviewReviewersUpdatedNumRemoved": 1,
			"CodeReviewReviewersUpdatedRemovedTfId": dashless(gone.ID), "CodeReviewReviewersUpdatedRemovedDisplayName": gone.Name,
			"CodeReviewReviewersUpdatedByTfId": dashless(by.ID), "CodeReviewReviewersUpdatedByDisplayname": by.Name})
	}
	if pr.nCommits > 1 {
		sys(pr.created+600, "RefUpdate", "The reference "+pr.branch+" was updated.", map[string]any{
			"CodeReviewRefName": pr.branch, "CodeReviewRefNewCommits": src, "CodeReviewRefNewCommitsCount": 1,
			"CodeReviewRefNewHeadCommit": src, "CodeReviewRefUpdatedBy": by.Descriptor, "CodeReviewRefUpdatedByTfId": by.ID,
			"CodeReviewRefUpdatedByDisplayName": by.Name})
	}
	end := pr.closed
	if end == 0 {
		end = pr.created + 86400
	}
	for k := 0; k < r.IntN(4); k++ {
		at := pr.created + 60 + r.Int64N(max64(1, end-pr.created))
		t := &thread{published: at, status: []string{"active", "fixed", "closed", "wontFix"}[r.IntN(4)],
			properties: map[string]any{"Microsoft.TeamFoundation.Discussion.SupportsMarkdown": 1}}
		if r.IntN(2) == 0 {
			t.filePath = "/src/" + components[r.IntN(len(components))] + ".go"
			t.threadCtxOK = true
		}
		n := 1 + r.IntN(3)
		for c := 0; c < n; c++ {
			author := uint16(r.IntN(len(o.idents)))
			parent := 0
			if c > 0 {
				parent = 1
			}
			t.comments = append(t.comments, &comment{ID: c + 1, parent: parent, author: author,
				content: reviewComments[r.IntN(len(reviewComments))], published: at + int64(c)*300, updated: at + int64(c)*300, kind: "text"})
		}
		t.updated = t.comments[len(t.comments)-1].updated
		add(t)
	}
	for _, rv := range pr.reviewers {
		if rv.vote != 0 {
			o.addVoteThread(pr, rv)
		}
	}
}

// dashless writes an identity id as 32 hex digits, as the service writes some of the ...TfId
// properties of its system threads (see addVoteThread).
func dashless(id string) string { return strings.ReplaceAll(id, "-", "") }

// addVoteThread adds the VoteUpdate system thread of a vote. The service writes the identity ids
// of its system threads' ...TfId properties in two forms: in Microsoft's captured thread list
// (samples/rest/git.pullrequest.threads.list.json) the ReviewersUpdate threads carry them without
// dashes (CodeReviewReviewersUpdatedAddedTfId "2428198325304a9caeb788d60d57acfd") while the
// VoteUpdate and RefUpdate ones carry them dashed, as the reviewer ids of the reviewers list are.
// No source says which form a given property takes, so CodeReviewVotedByTfId comes without dashes
// on every other vote thread (odd thread ids) here, dashed on the rest: a reader must match
// either form (an inference from the sample, not a documented rule).
func (o *org) addVoteThread(pr *pullRequest, rv reviewer) *thread {
	rid := o.idents[rv.ident]
	id := int(pr.ID)*1000 + len(pr.threads) + 1
	votedBy := rid.ID
	if id%2 == 1 {
		votedBy = dashless(votedBy)
	}
	t := &thread{published: rv.votedAt, updated: rv.votedAt, isSystem: true, properties: map[string]any{
		"CodeReviewThreadType": "VoteUpdate", "CodeReviewVoteResult": fmt.Sprint(rv.vote),
		"CodeReviewVotedByTfId": votedBy, "CodeReviewVotedByDisplayName": rid.Name},
		comments: []*comment{{ID: 1, author: 0xffff, content: fmt.Sprintf("%s voted %d", rid.Name, rv.vote), published: rv.votedAt, updated: rv.votedAt, kind: "system"}}}
	t.ID = id
	pr.threads = append(pr.threads, t)
	return t
}

func (s *Sim) threadObj(pr *pullRequest, t *thread) obj {
	var cs []any
	for _, c := range t.comments {
		cs = append(cs, s.commentObj(pr, t, c))
	}
	props := obj{}
	for k, v := range t.properties {
		switch x := v.(type) {
		case int:
			props[k] = obj{"$type": "System.Int32", "$value": x}
		default:
			props[k] = obj{"$type": "System.String", "$value": fmt.Sprint(x)}
		}
	}
	url := s.prURL(pr) + "/threads/" + fmt.Sprint(t.ID)
	out := obj{"id": t.ID, "publishedDate": timeNano(unixTime(t.published)), "lastUpdatedDate": timeNano(unixTime(t.updated)),
		"comments": nonNil(cs), "properties": props, "isDeleted": t.deleted,
		"threadContext": nil, "pullRequestThreadContext": nil,
		"_links": obj{"self": obj{"href": url}, "repository": obj{"href": s.base() + "/" + pr.repo.proj.ID + "/_apis/git/repositories/" + pr.repo.ID}}}
	if !t.isSystem { // system threads have no status (git.pullrequest.threads.list.json)
		out["status"] = t.status
	}
	if t.threadCtxOK {
		out["threadContext"] = obj{"filePath": t.filePath, "rightFileStart": obj{"line": 5, "offset": 1}, "rightFileEnd": obj{"line": 5, "offset": 13}}
		out["pullRequestThreadContext"] = obj{"iterationContext": obj{"firstComparingIteration": 1, "secondComparingIteration": 1}, "changeTrackingId": 1}
	}
	return out
}

func (s *Sim) commentObj(pr *pullRequest, t *thread, c *comment) obj {
	var author obj
	if c.author == 0xffff {
		author = obj{"id": s.org.service.ID, "displayName": "[" + s.org.name + "]\\Project Collection Service Accounts",
			"url": s.base() + "/_apis/Identities/" + s.org.service.ID, "imageUrl": s.base() + "/_api/_common/identityImage?id=" + s.org.service.ID,
			"isContainer": true, "uniqueName": "vstfs:///Framework/IdentityDomain/" + s.org.id + "\\Project Collection Service Accounts",
			"descriptor": s.org.service.Descriptor, "_links": obj{"avatar": obj{"href": s.base() + "/_apis/GraphProfile/MemberAvatars/" + s.org.service.Descriptor}}}
	} else {
		author = s.identRef(c.author)
		author["isContainer"] = false
	}
	url := s.prURL(pr) + "/threads/" + fmt.Sprint(t.ID) + "/comments/" + fmt.Sprint(c.ID)
	return obj{"id": c.ID, "parentCommentId": c.parent, "author": author, "content": c.content,
		"publishedDate": timeNano(unixTime(c.published)), "lastUpdatedDate": timeNano(unixTime(c.updated)),
		"lastContentUpdatedDate": timeNano(unixTime(c.updated)), "commentType": c.kind, "isDeleted": c.deleted,
		"usersLiked": []any{}, "_links": obj{"self": obj{"href": url}}}
}

// parseEnum accepts the numeric or named form of thread status and comment type.
func parseEnum(v any, names []string, def string) string {
	switch x := v.(type) {
	case float64:
		if int(x) >= 0 && int(x) < len(names) {
			return names[int(x)]
		}
	case string:
		for _, n := range names {
			if strings.EqualFold(n, x) {
				return n
			}
		}
	}
	return def
}

var threadStatuses = []string{"unknown", "active", "fixed", "wontFix", "closed", "byDesign", "pending"}
var commentTypes = []string{"unknown", "text", "codeChange", "system"}
