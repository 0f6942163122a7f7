package azdosim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// TruthKinds are the kinds GET /_sim/truth counts and GET /_sim/truth/{kind} lists. Windows select
// commits by author date, pushes by push date, pull requests by creation date
// (pull_requests_completed by close date), runs and deployments by finish time, release
// deployments by completion time, work items and incidents by last change.
var TruthKinds = []string{"commits", "pushes", "pull_requests", "pull_requests_completed", "pipeline_runs",
	"deployments", "production_deployments", "release_deployments", "work_items", "incidents"}

type window struct {
	proj     *project
	from, to int64
}

func (s *Sim) window(projectKey, from, to string) (window, error) {
	w := window{from: math.MinInt64, to: math.MaxInt64}
	if projectKey != "" {
		w.proj = s.org.project(projectKey)
		if w.proj == nil {
			return w, errors.New("unknown project " + projectKey)
		}
	}
	for _, x := range []struct {
		v   string
		dst *int64
	}{{from, &w.from}, {to, &w.to}} {
		if x.v == "" {
			continue
		}
		t, err := parseTime(x.v)
		if err != nil {
			return w, fmt.Errorf("bad time %q: use RFC 3339, e.g. 2026-01-02T15:04:05Z", x.v)
		}
		*x.dst = t.Unix()
	}
	return w, nil
}

func (w window) has(t int64) bool { return t != 0 && t >= w.from && t <= w.to }

func (w window) projects(o *org) []*project {
	if w.proj != nil {
		return []*project{w.proj}
	}
	return o.projects
}

// Truth counts items per kind in the window (GET /_sim/truth).
func (s *Sim) Truth(project, from, to string) (map[string]any, error) {
	o := s.org
	o.mu.Lock() // a PR's threads are made on first reading
	defer o.mu.Unlock()
	w, err := s.window(project, from, to)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, k := range TruthKinds {
		out[k] = len(s.truthItems(k, w))
	}
	win := obj{}
	if w.proj != nil {
		win["project"] = w.proj.Name
	}
	if from != "" {
		win["from"] = timeNano(unixTime(w.from))
	}
	if to != "" {
		win["to"] = timeNano(unixTime(w.to))
	}
	out["window"] = win
	return out, nil
}

// TruthItems lists the items of one kind in the window (GET /_sim/truth/{kind}).
func (s *Sim) TruthItems(kind, project, from, to string) (map[string]any, error) {
	o := s.org
	o.mu.Lock() // a PR's threads are made on first reading
	defer o.mu.Unlock()
	w, err := s.window(project, from, to)
	if err != nil {
		return nil, err
	}
	ok := false
	for _, k := range TruthKinds {
		ok = ok || k == kind
	}
	if !ok {
		return nil, errors.New("unknown kind " + kind + ": use one of " + strings.Join(TruthKinds, ", "))
	}
	items := s.truthItems(kind, w)
	return map[string]any{"kind": kind, "count": len(items), "items": nonNil(items)}, nil
}

func (s *Sim) truthItems(kind string, w window) []any {
	o := s.org
	var out []any
	for _, p := range w.projects(o) {
		switch kind {
		case "commits":
			// Every branch's commits once, by author date; "branch" is where a walk of the
			// default branch first, then the others by name, meets the commit first.
			for _, r := range p.repos {
				seen := map[string]bool{}
				add := func(x cref, branch string) {
					c := x.c()
					sha := o.csha(x)
					if at := c.authorAt(); at < w.from || at > w.to || seen[sha] {
						return
					}
					seen[sha] = true
					parents := s.parents(x)
					out = append(out, obj{"project": p.Name, "repository": r.Name, "repository_id": r.ID, "commit_id": sha,
						"branch": branch, "author_email": o.idents[c.author].Email, "author_date": timeStr(c.authorAt()),
						"committer_date": timeStr(c.at), "parents": nonNil(parents), "work_item": int(c.wi),
						"merge_of_pull_request": int(c.pr)})
				}
				for i := r.commitAtOrAfter(max64(w.from, 0)); i < len(r.commits); i++ {
					add(cref{r: r, i: int32(i)}, r.defaultBranch())
				}
				branches := append([]*branch(nil), r.branches...)
				sort.Slice(branches, func(i, j int) bool { return branches[i].name < branches[j].name })
				for _, b := range branches {
					for j := len(b.commits) - 1; j >= 0; j-- {
						add(cref{r: r, br: b, i: int32(j)}, b.name)
					}
				}
			}
		case "pushes":
			for _, r := range p.repos {
				for _, ps := range r.pushes {
					if w.has(ps.at) {
						out = append(out, obj{"project": p.Name, "repository": r.Name, "push_id": ps.id, "date": timeStr(ps.at), "ref": r.pushRef(&ps),
							"commits": int(ps.last - ps.first + 1), "pushed_by": o.idents[ps.by].Email})
					}
				}
			}
		case "pull_requests", "pull_requests_completed":
			for _, r := range p.repos {
				for _, pr := range r.prs {
					t := pr.created
					if kind == "pull_requests_completed" {
						if pr.status != prCompleted {
							continue
						}
						t = pr.closed
					}
					if w.has(t) {
						out = append(out, s.truthPR(pr))
					}
				}
			}
		case "pipeline_runs":
			for _, b := range p.builds {
				if w.has(b.finish) {
					out = append(out, s.truthRun(b))
				}
			}
		case "deployments", "production_deployments":
			for _, e := range p.envs {
				if kind == "production_deployments" && e.Name != "production" {
					continue
				}
				for _, rec := range e.records {
					if end := rec.build.stageEnd[rec.stage]; w.has(end) {
						_, res := stageState(rec.build, rec.stage)
						out = append(out, obj{"project": p.Name, "id": rec.ID, "environment": e.Name, "run_id": rec.build.ID,
							"pipeline": rec.build.pipe.Name, "result": res, "finish_time": timeStr(end),
							"commit_id": o.sha(rec.build.pipe.repo, rec.build.commitIdx)})
					}
				}
			}
			sort.SliceStable(out, func(i, j int) bool { return out[i].(obj)["id"].(int) < out[j].(obj)["id"].(int) })
		case "release_deployments":
			for _, d := range p.deployments {
				if w.has(d.completed) {
					item := obj{"project": p.Name, "id": d.ID, "release": d.rel.Name, "definition": d.rel.def.Name,
						"environment": d.rel.def.envs[d.env].Name, "attempt": d.attempt, "status": d.status,
						"started_on": timeStr(d.started), "completed_on": timeStr(d.completed)}
					if b := d.rel.build; b != nil { // the build artifact it deployed
						item["commit_id"], item["repository_id"] = o.sha(b.pipe.repo, b.commitIdx), b.pipe.repo.ID
						item["build_id"], item["build_finish_time"] = b.ID, timeStr(b.finish)
					}
					out = append(out, item)
				}
			}
		case "work_items", "incidents":
			for _, wi := range p.workItems {
				if wi.deleted || !w.has(wi.changed()) {
					continue
				}
				if kind == "incidents" && !(wi.typ == "Bug" && strings.Contains(wi.tags, "incident")) {
					continue
				}
				var revs []any
				for _, r := range wi.revs {
					revs = append(revs, obj{"state": r.state, "date": timeStr(r.at)})
				}
				var commits, prs []any
				for _, c := range wi.commits {
					commits = append(commits, c.repo.ID+":"+o.sha(c.repo, c.idx))
				}
				for _, id := range wi.prs {
					prs = append(prs, int(id))
				}
				out = append(out, obj{"project": p.Name, "project_id": p.ID, "id": wi.ID, "type": wi.typ, "state": wi.state(),
					"tags": wi.tags, "created": timeStr(wi.created()), "changed": timeStr(wi.changed()), "revisions": revs,
					"commits": nonNil(commits), "pull_requests": nonNil(prs)})
			}
		}
	}
	return out
}

func (s *Sim) truthPR(pr *pullRequest) obj {
	o := s.org
	var revs []any
	for _, rv := range pr.reviewers {
		revs = append(revs, obj{"id": o.idents[rv.ident].ID, "vote": int(rv.vote), "voted_at": timeStr(rv.votedAt)})
	}
	var wis []any
	for _, w := range pr.workItems {
		wis = append(wis, int(w))
	}
	// Its commits with their author dates, and the first review activity:
	// a comment or a vote by someone other than the author.
	var commits []any
	for _, c := range s.prCommits(pr) {
		c := c.(obj)
		commits = append(commits, obj{"commit_id": c["commitId"], "author_date": c["author"].(obj)["date"]})
	}
	o.ensureThreads(pr)
	author := o.idents[pr.createdBy].ID
	var first int64
	note := func(at int64) {
		if at != 0 && (first == 0 || at < first) {
			first = at
		}
	}
	for _, t := range pr.threads {
		if t.isSystem || t.deleted {
			continue
		}
		for _, c := range t.comments {
			if c.author != 0xffff && o.idents[c.author].ID != author && c.kind == "text" {
				note(c.published)
			}
		}
	}
	for _, rv := range pr.reviewers {
		if rv.vote != 0 && o.idents[rv.ident].ID != author {
			note(rv.votedAt)
		}
	}
	out := obj{"project": pr.repo.proj.Name, "repository": pr.repo.Name, "repository_id": pr.repo.ID, "id": pr.ID,
		"status": pr.status, "is_draft": pr.draft, "created": timeStr(pr.created), "closed": timeStr(pr.closed),
		"created_by": o.idents[pr.createdBy].Email, "reviewers": nonNil(revs), "work_items": nonNil(wis),
		"commits": int(pr.nCommits), "commit_list": nonNil(commits), "first_review": timeStr(first)}
	if pr.mergeIdx >= 0 {
		out["merge_commit"] = o.sha(pr.repo, pr.mergeIdx)
	}
	return out
}

func (s *Sim) truthRun(b *build) obj {
	stages := obj{}
	for i, n := range stageNames {
		if b.stages[i] != stNotRun {
			_, r := stageState(b, i)
			if r == "" {
				r = "inProgress"
			}
			stages[n] = r
		}
	}
	stageFinish := obj{}
	for i, n := range stageNames {
		if b.stages[i] != stNotRun && b.stageEnd[i] != 0 {
			stageFinish[n] = timeStr(b.stageEnd[i])
		}
	}
	return obj{"project": b.pipe.proj.Name, "id": b.ID, "pipeline": b.pipe.Name, "status": b.status, "result": b.result,
		"reason": b.reason, "branch": b.branch, "queue_time": timeStr(b.queue), "start_time": timeStr(b.start), "finish_time": timeStr(b.finish),
		"commit_id": s.org.sha(b.pipe.repo, b.commitIdx), "repository_id": b.pipe.repo.ID, "tags": buildTags(b),
		"stages": stages, "stage_finish": stageFinish}
}

// TruthCommitsByBranch counts the truth's commits of a project authored from a time on, per
// repository name and per branch that first brings them (the default branch, then the others
// by name): what a backfill walking every branch must read at least.
func (s *Sim) TruthCommitsByBranch(project, from string) (map[string]map[string]int, error) {
	res, err := s.TruthItems("commits", project, from, "")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int{}
	for _, it := range res["items"].([]any) {
		c := it.(obj)
		repo := c["repository"].(string)
		if out[repo] == nil {
			out[repo] = map[string]int{}
		}
		out[repo][c["branch"].(string)]++
	}
	return out, nil
}
