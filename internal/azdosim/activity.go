package azdosim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// ActivityRequest is the body of POST /_sim/activity: either Count (a realistic mix) or one Kind.
type ActivityRequest struct {
	Count   int    `json:"count,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Project string `json:"project,omitempty"` // id or name; empty = a random project
	// Optional targets and outcomes for single events.
	Repository    string `json:"repository,omitempty"`
	PullRequestID int    `json:"pull_request_id,omitempty"`
	WorkItemID    int    `json:"work_item_id,omitempty"`
	PipelineID    int    `json:"pipeline_id,omitempty"`
	Result        string `json:"result,omitempty"` // pipeline_run/deployment: succeeded|failed|canceled|partiallySucceeded
	Vote          int    `json:"vote,omitempty"`
	State         string `json:"state,omitempty"`
	Commits       int    `json:"commits,omitempty"`
	Title         string `json:"title,omitempty"`
	Comment       string `json:"comment,omitempty"`
	SkipProd      bool   `json:"skip_production,omitempty"`
	// Branch is where a push goes ("feature/x"; created from the default branch's head when it
	// does not exist); empty means the default branch.
	Branch string `json:"branch,omitempty"`
	// AuthorDate (RFC 3339) backdates a push's commits: their author date is this while the
	// committer date is now, as after a rebase or cherry-pick of old work.
	AuthorDate string `json:"author_date,omitempty"`
	// ReleaseID and Environment pick what release_redeploy deploys again: a release of the
	// project (default: its latest one with a finished deployment) and one of its environments
	// by name (default: the environment that release deployed last).
	ReleaseID   int    `json:"release_id,omitempty"`
	Environment string `json:"environment,omitempty"`
	// Every starts a background generator producing Count events (default 1) of the realistic
	// mix at this interval, e.g. "10s"; "0s" stops it. It answers at once with no items.
	Every string `json:"every,omitempty"`
}

// ActivityItem names one item the activity created or changed.
type ActivityItem struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Project string `json:"project"`
	Detail  string `json:"detail,omitempty"`
}

// ActivityResult is the answer of POST /_sim/activity.
type ActivityResult struct {
	Items  []ActivityItem `json:"items"`
	Events []string       `json:"events"`
}

// ActivityKinds are the single-event kinds POST /_sim/activity accepts.
var ActivityKinds = []string{"push", "pull_request_created", "pull_request_updated", "pull_request_completed",
	"pull_request_abandoned", "pr_comment", "pr_vote", "pipeline_run", "deployment", "release_deployment",
	"release_redeploy", "work_item_created", "work_item_updated", "work_item_commented", "incident"}

// mix weights for {"count": N}.
var activityMix = []struct {
	kind   string
	weight int
}{{"push", 25}, {"pull_request_created", 8}, {"pull_request_updated", 6}, {"pr_vote", 8}, {"pr_comment", 8},
	{"pull_request_completed", 7}, {"pull_request_abandoned", 1}, {"pipeline_run", 12}, {"deployment", 5},
	{"release_deployment", 3}, {"work_item_created", 7}, {"work_item_updated", 8}, {"incident", 2}}

type activityError struct{ msg string }

func (e *activityError) Error() string { return e.msg }

// Activity applies one request and publishes the resulting events. It is what POST /_sim/activity
// runs, exported for tests and `pandev demo`.
func (s *Sim) Activity(req ActivityRequest) (ActivityResult, error) {
	if req.Every != "" {
		return ActivityResult{Items: []ActivityItem{}, Events: []string{}}, s.startGenerator(req)
	}
	var res ActivityResult
	var evs []*event
	o := s.org
	o.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			o.mu.Unlock() // only on panic: keep the simulator usable
		}
	}()
	o.version++
	o.eventSeq++
	r := newRand(o.seed, "activity", int(o.eventSeq))
	var err error
	if req.Kind == "" {
		if req.Count <= 0 {
			o.mu.Unlock()
			return res, &activityError{"give either count (a positive number) or kind (one of " + strings.Join(ActivityKinds, ", ") + ")"}
		}
		total := 0
		for _, m := range activityMix {
			total += m.weight
		}
		for i := 0; i < req.Count; i++ {
			x := r.IntN(total)
			kind := ""
			for _, m := range activityMix {
				if x < m.weight {
					kind = m.kind
					break
				}
				x -= m.weight
			}
			sub := ActivityRequest{Kind: kind, Project: req.Project}
			items, e, aerr := s.activityOne(sub, r)
			if aerr != nil {
				continue // e.g. no active pull request to update: skip, the mix continues
			}
			res.Items = append(res.Items, items...)
			evs = append(evs, e...)
		}
	} else {
		var items []ActivityItem
		items, evs, err = s.activityOne(req, r)
		res.Items = items
	}
	unlocked = true
	o.mu.Unlock()
	if err != nil {
		return ActivityResult{}, err
	}
	for _, e := range evs {
		res.Events = append(res.Events, e.Type)
		s.hooks.publish(e)
	}
	if res.Items == nil {
		res.Items = []ActivityItem{}
	}
	if res.Events == nil {
		res.Events = []string{}
	}
	return res, nil
}

// startGenerator replaces the background activity generator (real-time interval).
func (s *Sim) startGenerator(req ActivityRequest) error {
	d, err := time.ParseDuration(req.Every)
	if err != nil || d < 0 {
		return &activityError{"every must be a duration such as \"10s\" (\"0s\" stops the generator)"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopGen != nil {
		s.stopGen()
		s.stopGen = nil
	}
	if d == 0 {
		return nil
	}
	n := req.Count
	if n <= 0 {
		n = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopGen = cancel
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := s.Activity(ActivityRequest{Count: n, Project: req.Project}); err != nil {
					s.log.Warn("azdo-sim activity generator", "err", err)
				}
			}
		}
	}()
	return nil
}

func (s *Sim) pickProject(req ActivityRequest, r *rand.Rand) (*project, error) {
	if req.Project == "" {
		return s.org.projects[r.IntN(len(s.org.projects))], nil
	}
	p := s.org.project(req.Project)
	if p == nil {
		return nil, &activityError{"unknown project " + req.Project}
	}
	return p, nil
}

func (s *Sim) pickRepo(p *project, req ActivityRequest, r *rand.Rand) (*repo, error) {
	if req.Repository == "" {
		return p.repos[r.IntN(len(p.repos))], nil
	}
	rp := s.org.repo(p, req.Repository)
	if rp == nil {
		return nil, &activityError{"unknown repository " + req.Repository + " in project " + p.Name}
	}
	return rp, nil
}

// pickPR finds the requested pull request, or a random active one in the project.
func (s *Sim) pickPR(p *project, req ActivityRequest, r *rand.Rand) (*pullRequest, error) {
	if req.PullRequestID != 0 {
		pr := s.org.pr(req.PullRequestID)
		if pr == nil || pr.repo.proj != p {
			return nil, &activityError{fmt.Sprintf("unknown pull request %d in project %s", req.PullRequestID, p.Name)}
		}
		if pr.status != prActive {
			return nil, &activityError{fmt.Sprintf("pull request %d is %s, not active", pr.ID, pr.status)}
		}
		return pr, nil
	}
	var act []*pullRequest
	for _, rp := range p.repos {
		for i := len(rp.prs) - 1; i >= 0 && len(act) < 50; i-- {
			if rp.prs[i].status == prActive {
				act = append(act, rp.prs[i])
			}
		}
	}
	if len(act) == 0 {
		return nil, &activityError{"no active pull request in project " + p.Name}
	}
	return act[r.IntN(len(act))], nil
}

func (s *Sim) activityOne(req ActivityRequest, r *rand.Rand) ([]ActivityItem, []*event, error) {
	o := s.org
	p, err := s.pickProject(req, r)
	if err != nil {
		return nil, nil, err
	}
	now := s.clock.Now().Unix()
	actor := uint16(r.IntN(len(o.idents)))
	item := func(kind, id, detail string) ActivityItem {
		return ActivityItem{Kind: kind, ID: id, Project: p.Name, Detail: detail}
	}
	switch req.Kind {
	case "push":
		rp, err := s.pickRepo(p, req, r)
		if err != nil {
			return nil, nil, err
		}
		n := req.Commits
		if n <= 0 {
			n = 1 + r.IntN(3)
		}
		var authored int64
		if req.AuthorDate != "" {
			t, err := time.Parse(time.RFC3339, req.AuthorDate)
			if err != nil || t.Unix() > now {
				return nil, nil, &activityError{"author_date must be an RFC 3339 time not after now, e.g. 2026-01-02T15:04:05Z"}
			}
			authored = t.Unix()
		}
		var ps *push
		var items []ActivityItem
		if req.Branch != "" && rp.branch(req.Branch) != rp.branch(rp.defaultBranch()) && !strings.EqualFold(strings.TrimPrefix(req.Branch, "refs/heads/"), "main") {
			b := rp.branch(req.Branch)
			if b == nil {
				b = &branch{name: "refs/heads/" + strings.TrimPrefix(req.Branch, "refs/heads/"), base: int32(len(rp.commits) - 1), ord: len(rp.branches), creator: actor}
				rp.branches = append(rp.branches, b)
			}
			ps, items = o.appendBranchCommits(rp, b, r, n, actor, now, authored)
		} else {
			ps, items = o.appendCommits(rp, r, n, actor, now, authored)
		}
		items = append(items, item("push", fmt.Sprint(ps.id), rp.Name))
		for i := range items {
			items[i].Project = p.Name
		}
		return items, []*event{s.pushEvent(rp, ps)}, nil

	case "pull_request_created":
		rp, err := s.pickRepo(p, req, r)
		if err != nil {
			return nil, nil, err
		}
		pr := o.newPR(rp, r, actor, now, req.Title)
		// The source branch's commits were pushed first, and git.push fires for every push, pull
		// request source branches included (see pushEvent).
		return []ActivityItem{item("pull_request", fmt.Sprint(pr.ID), "active")},
			[]*event{s.pushEvent(rp, &rp.pushes[len(rp.pushes)-1]), s.prEvent("git.pullrequest.created", pr, actor, "")}, nil

	case "pull_request_updated":
		pr, err := s.pickPR(p, req, r)
		if err != nil {
			return nil, nil, err
		}
		var evs []*event
		if pr.src != nil {
			ps, _ := o.appendBranchCommits(pr.repo, pr.src, r, 1, pr.createdBy, now, 0)
			evs = append(evs, s.pushEvent(pr.repo, ps)) // a push to the source branch: git.push too
		} else {
			pr.nCommits++
		}
		o.ensureThreads(pr)
		src := o.offSha(pr.ID, int(pr.nCommits)-1)
		by := o.idents[pr.createdBy]
		t := &thread{published: now, updated: now, isSystem: true, properties: map[string]any{"CodeReviewThreadType": "RefUpdate",
			"CodeReviewRefName": pr.branch, "CodeReviewRefNewCommits": src, "CodeReviewRefNewCommitsCount": 1, "CodeReviewRefNewHeadCommit": src,
			"CodeReviewRefUpdatedBy": by.Descriptor, "CodeReviewRefUpdatedByTfId": by.ID, "CodeReviewRefUpdatedByDisplayName": by.Name},
			comments: []*comment{{ID: 1, author: 0xffff, content: "The reference " + pr.branch + " was updated.", published: now, updated: now, kind: "system"}}}
		t.ID = int(pr.ID)*1000 + len(pr.threads) + 1
		pr.threads = append(pr.threads, t)
		return []ActivityItem{item("pull_request", fmt.Sprint(pr.ID), "new commit "+src)},
			append(evs, s.prEvent("git.pullrequest.updated", pr, pr.createdBy, "PushNotification")), nil

	case "pr_vote":
		pr, err := s.pickPR(p, req, r)
		if err != nil {
			return nil, nil, err
		}
		o.ensureThreads(pr)
		vote := req.Vote
		if vote == 0 {
			vote = []int{10, 5, -5, -10, 10}[r.IntN(5)]
		}
		switch vote {
		case 10, 5, 0, -5, -10:
		default:
			return nil, nil, &activityError{"vote must be 10, 5, 0, -5 or -10"}
		}
		k := r.IntN(len(pr.reviewers) + 1)
		if k == len(pr.reviewers) {
			pr.reviewers = append(pr.reviewers, reviewer{ident: uint16((int(pr.createdBy) + 1 + r.IntN(len(o.idents)-1)) % len(o.idents))})
		}
		pr.reviewers[k].vote, pr.reviewers[k].votedAt = int8(vote), now
		o.addVoteThread(pr, pr.reviewers[k])
		return []ActivityItem{item("pull_request", fmt.Sprint(pr.ID), fmt.Sprintf("%s voted %d", o.idents[pr.reviewers[k].ident].Name, vote))},
			[]*event{s.prEvent("git.pullrequest.updated", pr, pr.reviewers[k].ident, "ReviewerVoteNotification")}, nil

	case "pr_comment":
		pr, err := s.pickPR(p, req, r)
		if err != nil {
			return nil, nil, err
		}
		o.ensureThreads(pr)
		text := req.Comment
		if text == "" {
			text = reviewComments[r.IntN(len(reviewComments))]
		}
		t := &thread{published: now, updated: now, status: "active", properties: map[string]any{"Microsoft.TeamFoundation.Discussion.SupportsMarkdown": 1},
			comments: []*comment{{ID: 1, author: actor, content: text, published: now, updated: now, kind: "text"}}}
		t.ID = int(pr.ID)*1000 + len(pr.threads) + 1
		pr.threads = append(pr.threads, t)
		return []ActivityItem{item("pr_thread", fmt.Sprint(t.ID), fmt.Sprintf("pull request %d", pr.ID))},
			[]*event{s.prCommentEvent(pr, t, t.comments[0], "created")}, nil

	case "pull_request_completed":
		pr, err := s.pickPR(p, req, r)
		if err != nil {
			return nil, nil, err
		}
		return o.completePR(s, pr, r, now)

	case "pull_request_abandoned":
		pr, err := s.pickPR(p, req, r)
		if err != nil {
			return nil, nil, err
		}
		pr.status, pr.closed, pr.closedBy = prAbandoned, now, pr.createdBy
		return []ActivityItem{item("pull_request", fmt.Sprint(pr.ID), "abandoned")},
			[]*event{s.prEvent("git.pullrequest.updated", pr, pr.createdBy, "StatusUpdateNotification")}, nil

	case "pipeline_run", "deployment":
		var pl *pipeline
		if req.PipelineID != 0 {
			pl = o.pipelines[req.PipelineID]
			if pl == nil || pl.proj != p {
				return nil, nil, &activityError{fmt.Sprintf("unknown pipeline %d in project %s", req.PipelineID, p.Name)}
			}
		} else if req.Kind == "deployment" {
			pl = p.pipelines[0]
		} else {
			pl = p.pipelines[r.IntN(len(p.pipelines))]
		}
		if req.Kind == "deployment" && !pl.deploys {
			return nil, nil, &activityError{fmt.Sprintf("pipeline %d does not deploy; use pipeline %d", pl.ID, p.pipelines[0].ID)}
		}
		return s.runPipeline(pl, req, r, now, actor)

	case "release_deployment":
		return s.releaseActivity(p, req, r, now, actor)

	case "release_redeploy":
		return s.releaseRedeploy(p, req, r, now, actor)

	case "work_item_created", "incident":
		typ := []string{"User Story", "Bug", "Task"}[r.IntN(3)]
		w := genWorkItem(o, p, r, len(o.workItems)+1, now, now+1, len(o.idents))
		w.revs = []wiRev{{at: now, state: "New", by: actor}}
		w.typ = typ
		if strings.Contains(w.tags, "incident") {
			w.tags = ""
		}
		if req.Kind == "incident" {
			w.typ, w.tags, w.severity = "Bug", "incident", "1 - Critical"
			w.title = "Outage: " + components[r.IntN(len(components))] + " unavailable"
		} else if w.typ != "Bug" {
			w.tags, w.severity = "", ""
		} else if w.severity == "" {
			w.severity = "3 - Medium"
		}
		if req.Title != "" {
			w.title = req.Title
		}
		o.workItems = append(o.workItems, w)
		p.workItems = append(p.workItems, w)
		return []ActivityItem{item("work_item", fmt.Sprint(w.ID), w.typ)}, []*event{s.workItemEvent("workitem.created", w, "")}, nil

	case "work_item_updated", "work_item_commented":
		w, err := s.pickWorkItem(p, req, r)
		if err != nil {
			return nil, nil, err
		}
		if req.Kind == "work_item_commented" {
			w.comments++
			w.revs = append(w.revs, wiRev{at: now, state: w.state(), by: actor})
			text := req.Comment
			if text == "" {
				text = "Investigating."
			}
			return []ActivityItem{item("work_item", fmt.Sprint(w.ID), "commented")}, []*event{s.workItemEvent("workitem.commented", w, text)}, nil
		}
		next := req.State
		if next == "" {
			states := wiStates[w.typ]
			for i, st := range states {
				if st == w.state() && i+1 < len(states) {
					next = states[i+1]
				}
			}
			if next == "" {
				next = "Active" // reopened
			}
		}
		w.revs = append(w.revs, wiRev{at: now, state: next, by: actor})
		return []ActivityItem{item("work_item", fmt.Sprint(w.ID), next)}, []*event{s.workItemEvent("workitem.updated", w, "")}, nil
	}
	return nil, nil, &activityError{"unknown kind " + req.Kind + ": use one of " + strings.Join(ActivityKinds, ", ")}
}

func (s *Sim) pickWorkItem(p *project, req ActivityRequest, r *rand.Rand) (*workItem, error) {
	if req.WorkItemID != 0 {
		w := s.org.workItem(req.WorkItemID)
		if w == nil || w.proj != p && req.Project != "" {
			return nil, &activityError{fmt.Sprintf("unknown work item %d", req.WorkItemID)}
		}
		return w, nil
	}
	var open []*workItem
	for i := len(p.workItems) - 1; i >= 0 && len(open) < 100; i-- {
		if w := p.workItems[i]; w.state() != "Closed" && !w.deleted {
			open = append(open, w)
		}
	}
	if len(open) == 0 {
		return nil, &activityError{"no open work item in project " + p.Name}
	}
	return open[r.IntN(len(open))], nil
}

// appendCommits adds n commits on the default branch in one push. authored, when not 0, is their
// author date (older than the commit date now).
func (o *org) appendCommits(rp *repo, r *rand.Rand, n int, by uint16, now, authored int64) (*push, []ActivityItem) {
	var items []ActivityItem
	first := int32(len(rp.commits))
	o.nextPush++
	wis := rp.proj.workItems
	for i := 0; i < n; i++ {
		c := commit{at: now, authored: authored, parent2: -1, author: by, msg: uint16(r.IntN(len(messageTemplates) * len(components))),
			add: uint16(r.IntN(3)), edt: uint16(1 + r.IntN(6)), del: uint16(r.IntN(2)), push: o.nextPush}
		if len(wis) > 0 && r.IntN(100) < 50 {
			c.wi = int32(wis[r.IntN(len(wis))].ID)
		}
		rp.commits = append(rp.commits, c)
		idx := int32(len(rp.commits) - 1)
		if c.wi != 0 {
			o.workItem(int(c.wi)).commits = append(o.workItem(int(c.wi)).commits, commitRef{rp, idx})
		}
		items = append(items, ActivityItem{Kind: "commit", ID: o.sha(rp, idx), Detail: rp.Name})
	}
	rp.pushes = append(rp.pushes, push{id: o.nextPush, first: first, last: int32(len(rp.commits) - 1), by: by, at: now})
	return &rp.pushes[len(rp.pushes)-1], items
}

// appendBranchCommits adds n commits on a branch other than the default one in one push.
func (o *org) appendBranchCommits(rp *repo, b *branch, r *rand.Rand, n int, by uint16, now, authored int64) (*push, []ActivityItem) {
	var items []ActivityItem
	first := int32(len(b.commits))
	o.nextPush++
	for i := 0; i < n; i++ {
		b.commits = append(b.commits, commit{at: now, authored: authored, parent2: -1, author: by,
			msg: uint16(r.IntN(len(messageTemplates) * len(components))), add: uint16(r.IntN(3)), edt: uint16(1 + r.IntN(6)),
			del: uint16(r.IntN(2)), push: o.nextPush})
		items = append(items, ActivityItem{Kind: "commit", ID: o.branchSha(rp, b, len(b.commits)-1), Detail: rp.Name + " " + b.name})
	}
	if b.pr != nil {
		b.pr.nCommits = int32(len(b.commits))
	}
	rp.pushes = append(rp.pushes, push{id: o.nextPush, first: first, last: int32(len(b.commits) - 1), br: b, by: by, at: now})
	return &rp.pushes[len(rp.pushes)-1], items
}

func (o *org) newPR(rp *repo, r *rand.Rand, by uint16, now int64, title string) *pullRequest {
	comp := components[r.IntN(len(components))]
	pr := &pullRequest{ID: int32(len(o.prs) + 1), repo: rp, status: prActive, createdBy: by, created: now, mergeIdx: -1, srcIdx: -1,
		tgtIdx: int32(len(rp.commits) - 1), nCommits: int32(1 + r.IntN(3)), mergeStatus: "succeeded", draft: r.IntN(100) < 15}
	pr.title = title
	if pr.title == "" {
		pr.title = "Improve " + comp + " handling"
	}
	pr.branch = fmt.Sprintf("refs/heads/feature/%s-%d", comp, pr.ID)
	pr.description = "Simulated change to " + comp + "."
	// The source branch: forked from the head, its commits pushed just before the PR opened.
	b := &branch{name: pr.branch, base: pr.tgtIdx, pr: pr, ord: len(rp.branches), creator: by}
	rp.branches = append(rp.branches, b)
	pr.src = b
	// Work done before opening: authored a coding time before now (see
	// codingSpan), pushed just now.
	o.appendBranchCommits(rp, b, r, int(pr.nCommits), by, now, now-codingSpan(r.NormFloat64()))
	for k := 0; k < 2; k++ {
		id := (int(by) + 1 + r.IntN(len(o.idents)-1)) % len(o.idents)
		dup := false
		for _, rv := range pr.reviewers {
			dup = dup || int(rv.ident) == id
		}
		if !dup {
			pr.reviewers = append(pr.reviewers, reviewer{ident: uint16(id), required: k == 0})
		}
	}
	if wis := rp.proj.workItems; len(wis) > 0 && r.IntN(100) < 60 {
		w := wis[r.IntN(len(wis))]
		pr.workItems = append(pr.workItems, int32(w.ID))
		w.prs = append(w.prs, pr.ID)
	}
	o.prs = append(o.prs, pr)
	rp.prs = append(rp.prs, pr)
	return pr
}

// completePR brings the source commits onto the default branch (keeping their ids) followed by a
// merge commit whose parents are the old head and the source head, then fires merged, updated
// (status completed) and push.
func (o *org) completePR(s *Sim, pr *pullRequest, r *rand.Rand, now int64) ([]ActivityItem, []*event, error) {
	rp := pr.repo
	if rp.shaOverride == nil {
		rp.shaOverride, rp.shaRev = map[int32]string{}, map[string]int32{}
	}
	if rp.firstParent == nil {
		rp.firstParent = map[int32]string{}
	}
	o.nextPush++
	head := int32(len(rp.commits) - 1)
	first := int32(len(rp.commits))
	// The source commits keep their ids, authors, dates and contents (their committer date in
	// the default branch's order is now); the first keeps the parent it was made on.
	var own []commit
	if pr.src != nil {
		own = pr.src.commits
		rp.firstParent[first] = o.sha(rp, pr.src.base)
	}
	for j := 0; j < int(pr.nCommits); j++ {
		// A commit the source branch never showed (a PR of the generated
		// history without one): work done before the PR opened.
		c := commit{at: now, parent2: -1, author: pr.createdBy, msg: uint16(r.IntN(len(messageTemplates) * len(components))),
			edt: uint16(1 + r.IntN(5)), authored: pr.created - codingSpan(r.NormFloat64())}
		if j < len(own) {
			c = own[j]
			c.authored = c.authorAt()
			c.at = now
		}
		c.push = o.nextPush
		rp.commits = append(rp.commits, c)
		idx := int32(len(rp.commits) - 1)
		sha := o.offSha(pr.ID, j)
		rp.shaOverride[idx], rp.shaRev[sha] = sha, idx
	}
	if pr.src != nil {
		rp.removeBranch(pr.src) // deleteSourceBranch
		pr.src = nil
	}
	src := int32(len(rp.commits) - 1)
	closer := pr.createdBy
	if len(pr.reviewers) > 0 {
		closer = pr.reviewers[0].ident
	}
	rp.commits = append(rp.commits, commit{at: now, parent2: src, base: head, author: closer, pr: pr.ID, push: o.nextPush})
	merge := int32(len(rp.commits) - 1)
	rp.pushes = append(rp.pushes, push{id: o.nextPush, first: first, last: merge, by: closer, at: now})
	pr.status, pr.closed, pr.closedBy = prCompleted, now, closer
	pr.mergeIdx, pr.srcIdx, pr.tgtIdx, pr.draft = merge, src, head, false
	hasApproval := false
	for _, rv := range pr.reviewers {
		hasApproval = hasApproval || rv.vote >= 5
	}
	var evs []*event
	if !hasApproval && len(pr.reviewers) > 0 {
		o.ensureThreads(pr)
		pr.reviewers[0].vote, pr.reviewers[0].votedAt = 10, now
		o.addVoteThread(pr, pr.reviewers[0])
	}
	items := []ActivityItem{{Kind: "pull_request", ID: fmt.Sprint(pr.ID), Project: rp.proj.Name, Detail: "completed"},
		{Kind: "commit", ID: o.sha(rp, merge), Project: rp.proj.Name, Detail: "merge commit"}}
	evs = append(evs, s.prEvent("git.pullrequest.merged", pr, closer, ""),
		s.prEvent("git.pullrequest.updated", pr, closer, "StatusUpdateNotification"),
		s.pushEvent(rp, &rp.pushes[len(rp.pushes)-1]))
	return items, evs, nil
}

// runPipeline runs a YAML pipeline to completion at the simulated now (queued a few minutes
// before), firing run, stage and job state events and build.complete.
func (s *Sim) runPipeline(pl *pipeline, req ActivityRequest, r *rand.Rand, now int64, actor uint16) ([]ActivityItem, []*event, error) {
	o := s.org
	res := req.Result
	switch res {
	case "":
		res = []string{"succeeded", "succeeded", "succeeded", "succeeded", "failed", "canceled", "partiallySucceeded"}[r.IntN(7)]
		if req.Kind == "deployment" && (res == "failed" || res == "canceled") && r.IntN(2) == 0 {
			res = "succeeded"
		}
	case "succeeded", "failed", "canceled", "partiallySucceeded":
	default:
		return nil, nil, &activityError{"result must be succeeded, failed, canceled or partiallySucceeded"}
	}
	b := &build{ID: len(o.builds) + 1, pipe: pl, requestedFor: actor, branch: pl.repo.defaultBranch(), reason: "individualCI",
		commitIdx: int32(len(pl.repo.commits) - 1), queue: now - 900, start: now - 890}
	o.runStages(b, r, res)
	if req.Kind == "deployment" && b.stages[4] == stSkipped && res != "failed" && res != "canceled" && !req.SkipProd {
		b.stages[4] = stSucceeded
		b.stageEnd[4] = b.stageEnd[3] + 120
	}
	if req.SkipProd && b.stages[4] != stNotRun {
		b.stages[4], b.stageEnd[4] = stSkipped, 0
	}
	// Shift the run so it finishes now.
	shift := now - b.finish
	b.queue += shift
	b.start += shift
	b.finish = now
	for i := range b.stageEnd {
		if b.stageEnd[i] != 0 {
			b.stageEnd[i] += shift
		}
	}
	o.builds = append(o.builds, b)
	pl.proj.builds = append(pl.proj.builds, b)
	o.recordEnvironments(b)
	items := []ActivityItem{{Kind: "pipeline_run", ID: fmt.Sprint(b.ID), Project: pl.proj.Name, Detail: pl.Name + " " + res}}
	for i := 2; i < 5; i++ {
		if st := b.stages[i]; st != stNotRun && st != stSkipped {
			_, sr := stageState(b, i)
			items = append(items, ActivityItem{Kind: "deployment", ID: fmt.Sprint(b.ID) + "/" + envNames[i-2], Project: pl.proj.Name, Detail: sr})
		}
	}
	// The run-state "inProgress" event comes first, then stage/job completions, then completion.
	running := *b
	running.status, running.result, running.finish = "inProgress", "none", 0
	evs := []*event{s.runStateEvent(&running)}
	for i := range stageNames {
		if b.stages[i] == stNotRun {
			continue
		}
		if b.stages[i] != stSkipped {
			evs = append(evs, s.jobEvent(b, i))
		}
		evs = append(evs, s.stageEvent(b, i))
	}
	evs = append(evs, s.runStateEvent(b), s.buildCompleteEvent(b))
	return items, evs, nil
}

// releaseActivity creates a release of the project's classic definition and deploys it to the
// first environment (and onward while deployments succeed, unless a result is forced).
func (s *Sim) releaseActivity(p *project, req ActivityRequest, r *rand.Rand, now int64, actor uint16) ([]ActivityItem, []*event, error) {
	o := s.org
	d := p.relDefs[0]
	nDep := len(o.deployments)
	rel := o.addRelease(d, r, now-1800, now, actor)
	rel.ID = len(o.releases)
	rel.Name = fmt.Sprintf("Release-%d", rel.ID)
	evs := []*event{s.releaseEvent("ms.vss-release.release-created-event", rel)}
	var items []ActivityItem
	items = append(items, ActivityItem{Kind: "release", ID: fmt.Sprint(rel.ID), Project: p.Name, Detail: rel.Name})
	for i, dep := range o.deployments[nDep:] {
		dep.ID = nDep + i + 1
		if req.Result != "" && i == 0 {
			switch req.Result {
			case "succeeded":
				dep.status, dep.opStatus = "succeeded", "Approved"
			case "failed":
				dep.status, dep.opStatus = "failed", "PhaseFailed"
			case "partiallySucceeded":
				dep.status, dep.opStatus = "partiallySucceeded", "PhasePartiallySucceeded"
			default:
				return nil, nil, &activityError{"result must be succeeded, failed or partiallySucceeded"}
			}
		}
		// Activity deployments complete at the simulated now.
		dep.queued, dep.started, dep.completed = now-600+int64(i)*60, now-590+int64(i)*60, now
		if dep.status == "inProgress" {
			dep.status, dep.opStatus = "succeeded", "Approved"
		}
		if dep.env > 0 {
			evs = append(evs, s.approvalEvent("ms.vss-release.deployment-approval-pending-event", dep),
				s.approvalEvent("ms.vss-release.deployment-approval-completed-event", dep))
		}
		evs = append(evs, s.deploymentEvent("ms.vss-release.deployment-started-event", dep), s.deploymentEvent("ms.vss-release.deployment-completed-event", dep))
		items = append(items, ActivityItem{Kind: "release_deployment", ID: fmt.Sprint(dep.ID), Project: p.Name, Detail: d.envs[dep.env].Name + " " + dep.status})
		if req.Result != "" && req.Result != "succeeded" {
			// A forced failure stops the release at the first environment.
			k := len(o.deployments) - nDep
			o.deployments = o.deployments[:nDep+1]
			p.deployments = p.deployments[:len(p.deployments)-(k-1)]
			break
		}
	}
	return items, evs, nil
}

// releaseRedeploy deploys a release to one of its environments again, as "Redeploy" on a
// classic release stage does: the release environment (same id) gets a new deployment whose
// attempt is one more than the last one's (the Deployment and DeploymentAttempt objects of the
// 7.1 release.json carry `attempt`; samples/rest/release.deployments.list.json has it on every
// deployment). It fires the approval events (after the first environment) and
// deployment-started and deployment-completed, whose environment lists every attempt in
// deploySteps (see deploymentEvent).
func (s *Sim) releaseRedeploy(p *project, req ActivityRequest, r *rand.Rand, now int64, actor uint16) ([]ActivityItem, []*event, error) {
	o := s.org
	var last *deployment // the release environment's latest attempt
	for i := len(p.deployments) - 1; i >= 0; i-- {
		d := p.deployments[i]
		if req.ReleaseID != 0 && d.rel.ID != req.ReleaseID {
			continue
		}
		if req.Environment != "" && !strings.EqualFold(d.rel.def.envs[d.env].Name, req.Environment) {
			continue
		}
		if req.ReleaseID != 0 || req.Environment != "" || d.completed != 0 {
			last = d
			break
		}
	}
	if last == nil {
		return nil, nil, &activityError{fmt.Sprintf("no deployed release environment to redeploy in project %s (release_id %d, environment %q)",
			p.Name, req.ReleaseID, req.Environment)}
	}
	for _, d := range p.deployments {
		if d.rel == last.rel && d.env == last.env && d.attempt > last.attempt {
			last = d
		}
	}
	if last.completed == 0 {
		return nil, nil, &activityError{fmt.Sprintf("release %d is still deploying to %s", last.rel.ID, last.rel.def.envs[last.env].Name)}
	}
	dep := &deployment{ID: len(o.deployments) + 1, rel: last.rel, env: last.env, attempt: last.attempt + 1, reason: "manual",
		requestedBy: actor, approvedBy: uint16(r.IntN(len(o.idents))), queued: now - 600, started: now - 590, completed: now}
	switch req.Result {
	case "", "succeeded":
		dep.status, dep.opStatus = "succeeded", "Approved"
	case "failed":
		dep.status, dep.opStatus = "failed", "PhaseFailed"
	case "partiallySucceeded":
		dep.status, dep.opStatus = "partiallySucceeded", "PhasePartiallySucceeded"
	default:
		return nil, nil, &activityError{"result must be succeeded, failed or partiallySucceeded"}
	}
	o.deployments = append(o.deployments, dep)
	p.deployments = append(p.deployments, dep)
	var evs []*event
	if dep.env > 0 {
		evs = append(evs, s.approvalEvent("ms.vss-release.deployment-approval-pending-event", dep),
			s.approvalEvent("ms.vss-release.deployment-approval-completed-event", dep))
	}
	evs = append(evs, s.deploymentEvent("ms.vss-release.deployment-started-event", dep), s.deploymentEvent("ms.vss-release.deployment-completed-event", dep))
	return []ActivityItem{{Kind: "release_deployment", ID: fmt.Sprint(dep.ID), Project: p.Name,
		Detail: fmt.Sprintf("%s %s attempt %d %s", dep.rel.Name, dep.rel.def.envs[dep.env].Name, dep.attempt, dep.status)}}, evs, nil
}
