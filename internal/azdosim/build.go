package azdosim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

func (s *Sim) buildNumber(b *build) string {
	return unixTime(b.queue).Format("20060102") + "." + strconv.Itoa(b.ID%100+1)
}

func buildTags(b *build) []any {
	tags := []any{}
	if b.pipe.deploys {
		tags = append(tags, "deploy")
	}
	if b.reason == "schedule" {
		tags = append(tags, "nightly")
	}
	return tags
}

func (s *Sim) pipelineRef(pl *pipeline) obj {
	return obj{"url": s.base() + "/" + pl.proj.ID + "/_apis/Pipelines/" + fmt.Sprint(pl.ID) + "?revision=" + fmt.Sprint(pl.Revision),
		"id": pl.ID, "revision": pl.Revision, "name": pl.Name, "folder": pl.Folder}
}

// runState maps a build to the pipelines API state and result.
func runState(b *build) (state, result string) {
	if b.status != "completed" {
		return "inProgress", ""
	}
	switch b.result {
	case "succeeded", "partiallySucceeded":
		return "completed", "succeeded"
	case "canceled":
		return "completed", "canceled"
	default:
		return "completed", "failed"
	}
}

func stageState(b *build, i int) (state, result string) {
	switch b.stages[i] {
	case stSucceeded:
		return "completed", "succeeded"
	case stFailed:
		return "completed", "failed"
	case stCanceled:
		return "completed", "canceled"
	case stSkipped:
		return "completed", "skipped"
	case stInProgress:
		return "running", ""
	default:
		return "notStarted", ""
	}
}

func (s *Sim) buildObj(b *build) obj {
	p := b.pipe.proj
	bu := s.base() + "/" + p.ID + "/_apis/build/Builds/" + fmt.Sprint(b.ID)
	web := s.webURL(p) + "/_build/results?buildId=" + fmt.Sprint(b.ID)
	pr := s.projectRef(p)
	out := obj{"_links": obj{"self": obj{"href": bu}, "web": obj{"href": web}, "sourceVersionDisplayUri": obj{"href": bu + "/sources"},
		"timeline": obj{"href": bu + "/Timeline"}, "badge": obj{"href": s.base() + "/" + p.ID + "/_apis/build/status/" + fmt.Sprint(b.pipe.ID)}},
		"properties": obj{}, "tags": buildTags(b), "validationResults": []any{},
		"plans": []any{obj{"planId": guid(s.org.seed, "plan", b.ID)}}, "triggerInfo": obj{},
		"id": b.ID, "buildNumber": s.buildNumber(b), "status": b.status, "result": b.result,
		"queueTime": timeNano(unixTime(b.queue)), "startTime": timeNano(unixTime(b.start)),
		"url": bu,
		"definition": obj{"drafts": []any{}, "id": b.pipe.ID, "name": b.pipe.Name,
			"url": s.base() + "/" + p.ID + "/_apis/build/Definitions/" + fmt.Sprint(b.pipe.ID) + "?revision=" + fmt.Sprint(b.pipe.Revision),
			"uri": "vstfs:///Build/Definition/" + fmt.Sprint(b.pipe.ID), "path": b.pipe.Folder, "type": "build", "queueStatus": "enabled",
			"revision": b.pipe.Revision, "project": pr},
		"buildNumberRevision": b.ID%100 + 1,
		"project":             pr, "uri": "vstfs:///Build/Build/" + fmt.Sprint(b.ID), "sourceBranch": b.branch,
		"sourceVersion": s.org.sha(b.pipe.repo, b.commitIdx),
		"queue":         obj{"id": p.queueID, "name": "Azure Pipelines", "pool": obj{"id": 9, "name": "Azure Pipelines", "isHosted": true}},
		"priority":      "normal", "reason": b.reason, "requestedFor": s.identRef(b.requestedFor), "requestedBy": s.identRef(b.requestedFor),
		"lastChangedDate": timeNano(unixTime(max64(b.finish, b.start))), "lastChangedBy": s.identObj(s.org.service),
		"orchestrationPlan": obj{"planId": guid(s.org.seed, "plan", b.ID)},
		"logs":              obj{"id": 0, "type": "Container", "url": bu + "/logs"},
		"repository":        obj{"id": b.pipe.repo.ID, "type": "TfsGit", "name": b.pipe.repo.Name, "url": s.repoRef(b.pipe.repo)["remoteUrl"], "clean": nil, "checkoutSubmodules": false},
		"retainedByRelease": false, "triggeredByBuild": nil, "appendCommitMessageToRunName": true,
		"keepForever": false, "parameters": "{}", "deleted": b.deleted}
	if b.finish != 0 {
		out["finishTime"] = timeNano(unixTime(b.finish))
	}
	if b.reason == "pullRequest" {
		out["triggerInfo"] = obj{"pr.number": strings.TrimSuffix(strings.TrimPrefix(b.branch, "refs/pull/"), "/merge"), "pr.isFork": "False"}
	}
	return out
}

type buildQuery struct {
	order          string
	minT, maxT     int64
	hasMin, hasMax bool
	status, result string
	reasons        map[string]bool
	defs, ids      map[int]bool
	branch, repoID string
	excludeDeleted bool
	onlyDeleted    bool
	maxPerDef      int
}

func (b *build) orderKey(order string) int64 {
	switch {
	case strings.HasPrefix(order, "finishtime"):
		return b.finish
	case strings.HasPrefix(order, "starttime"):
		return b.start
	default:
		return b.queue
	}
}

func intSet(v string) map[int]bool {
	if v == "" {
		return nil
	}
	m := map[int]bool{}
	for _, x := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			m[n] = true
		}
	}
	return m
}

func hBuilds(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	bq := buildQuery{order: strings.ToLower(q.query("queryOrder")), status: strings.ToLower(q.query("statusFilter")),
		result: strings.ToLower(q.query("resultFilter")), defs: intSet(q.query("definitions")), ids: intSet(q.query("buildIds")),
		branch: q.query("branchName"), repoID: strings.ToLower(q.query("repositoryId"))}
	if bq.order == "" {
		bq.order = "queuetimedescending"
	}
	switch strings.ToLower(q.query("deletedFilter")) {
	case "onlydeleted":
		bq.onlyDeleted = true
	case "includedeleted":
	default:
		bq.excludeDeleted = true
	}
	if v := q.query("reasonFilter"); v != "" {
		bq.reasons = map[string]bool{}
		for _, r := range strings.Split(strings.ToLower(v), ",") {
			bq.reasons[strings.TrimSpace(r)] = true
		}
	}
	var err error
	if bq.minT, bq.hasMin, err = q.queryTime("minTime"); err != nil {
		return err
	}
	if bq.maxT, bq.hasMax, err = q.queryTime("maxTime"); err != nil {
		return err
	}
	top, err := q.queryInt(1000, "$top")
	if err != nil {
		return err
	}
	if bq.maxPerDef, err = q.queryInt(0, "maxBuildsPerDefinition"); err != nil {
		return err
	}
	desc := !strings.HasSuffix(bq.order, "ascending") || strings.HasSuffix(bq.order, "descending")
	// continuationToken encodes the order key and id of the first build of the next page.
	var ctKey int64
	var ctID int
	hasCT := false
	if ct := q.query("continuationToken"); ct != "" {
		k, id, ok := strings.Cut(ct, "_")
		kk, e1 := strconv.ParseInt(k, 10, 64)
		ii, e2 := strconv.Atoi(id)
		if !ok || e1 != nil || e2 != nil {
			return badRequest("The continuation token '" + ct + "' is not valid.")
		}
		ctKey, ctID, hasCT = kk, ii, true
	}
	ordered := q.proj.buildsIn(bq.order, desc)
	cands := make([]*build, 0, 256)
	for _, b := range ordered {
		if !q.buildMatches(b, &bq) {
			continue
		}
		cands = append(cands, b)
	}
	start := 0
	if hasCT {
		start = sort.Search(len(cands), func(i int) bool {
			k := cands[i].orderKey(bq.order)
			if desc {
				return k < ctKey || k == ctKey && cands[i].ID <= ctID
			}
			return k > ctKey || k == ctKey && cands[i].ID >= ctID
		})
	}
	perDef := map[int]int{}
	var out [][]byte
	i := start
	for ; i < len(cands) && len(out) < top; i++ {
		b := cands[i]
		if bq.maxPerDef > 0 {
			if perDef[b.pipe.ID] >= bq.maxPerDef {
				continue
			}
			perDef[b.pipe.ID]++
		}
		out = append(out, q.s.buildJSON(b))
	}
	if i < len(cands) {
		q.w.Header().Set("X-MS-ContinuationToken", fmt.Sprintf("%d_%d", cands[i].orderKey(bq.order), cands[i].ID))
	}
	return q.listRaw(out)
}

// buildJSON renders a build; completed builds never change, so their JSON is cached.
func (s *Sim) buildJSON(b *build) []byte {
	if b.status != "completed" {
		out, _ := json.Marshal(s.buildObj(b))
		return out
	}
	return s.cache.get("b:"+strconv.Itoa(b.ID), func() obj { return s.buildObj(b) })
}

// buildsIn returns the project's builds in the requested order. Queue order is the id order;
// start and finish orders are sorted once and re-sorted only when builds were added.
func (p *project) buildsIn(order string, desc bool) []*build {
	key := "queue"
	switch {
	case strings.HasPrefix(order, "finishtime"):
		key = "finish"
	case strings.HasPrefix(order, "starttime"):
		key = "start"
	}
	p.orderMu.Lock()
	defer p.orderMu.Unlock()
	if p.orders == nil {
		p.orders = map[string][]*build{}
	}
	asc, ok := p.orders[key]
	if !ok || len(asc) != len(p.builds) {
		asc = append([]*build(nil), p.builds...)
		if key != "queue" {
			sort.SliceStable(asc, func(i, j int) bool {
				ki, kj := asc[i].orderKey(order), asc[j].orderKey(order)
				if ki != kj {
					return ki < kj
				}
				return asc[i].ID < asc[j].ID
			})
		}
		p.orders[key] = asc
		p.orders[key+"-desc"] = nil
	}
	if !desc {
		return asc
	}
	d := p.orders[key+"-desc"]
	if d == nil {
		d = make([]*build, len(asc))
		for i, b := range asc {
			d[len(asc)-1-i] = b
		}
		p.orders[key+"-desc"] = d
	}
	return d
}

func (q *rq) buildMatches(b *build, bq *buildQuery) bool {
	if bq.excludeDeleted && b.deleted || bq.onlyDeleted && !b.deleted {
		return false
	}
	if bq.status != "" && bq.status != "all" && strings.ToLower(b.status) != bq.status {
		return false
	}
	if bq.result != "" && strings.ToLower(b.result) != bq.result {
		return false
	}
	if bq.reasons != nil && !bq.reasons[strings.ToLower(b.reason)] && !bq.reasons["all"] {
		return false
	}
	if bq.defs != nil && !bq.defs[b.pipe.ID] || bq.ids != nil && !bq.ids[b.ID] {
		return false
	}
	if bq.branch != "" && !strings.EqualFold(bq.branch, b.branch) {
		return false
	}
	if bq.repoID != "" && strings.ToLower(b.pipe.repo.ID) != bq.repoID {
		return false
	}
	k := b.orderKey(bq.order)
	if (bq.hasMin || bq.hasMax) && k == 0 {
		return false
	}
	return !(bq.hasMin && k < bq.minT || bq.hasMax && k > bq.maxT)
}

func (q *rq) build() (*build, error) {
	id, _ := strconv.Atoi(q.vars["buildId"])
	b := q.s.org.build(id)
	if b == nil || b.pipe.proj != q.proj {
		return nil, notFound("BuildNotFoundException", "Microsoft.TeamFoundation.Build.WebApi.BuildNotFoundException, Microsoft.TeamFoundation.Build2.WebApi",
			"The requested build "+q.vars["buildId"]+" could not be found.")
	}
	return b, nil
}

func hBuild(q *rq) error {
	q.s.org.mu.RLock()
	defer q.s.org.mu.RUnlock()
	b, err := q.build()
	if err != nil {
		return err
	}
	return q.writeJSON(200, q.s.buildObj(b))
}

// hTimeline renders Stage / Phase / Job / Task records; stage outcomes follow the run.
func hTimeline(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	b, err := q.build()
	if err != nil {
		return err
	}
	if b.yamlError {
		q.w.WriteHeader(204)
		return nil
	}
	if b.deleted {
		return notFound("TimelineNotFoundException", "Microsoft.TeamFoundation.Build.WebApi.TimelineNotFoundException, Microsoft.TeamFoundation.Build2.WebApi", "Timeline for build "+fmt.Sprint(b.ID)+" was not found.")
	}
	bu := q.s.base() + "/" + b.pipe.proj.ID + "/_apis/build/builds/" + fmt.Sprint(b.ID)
	tlID := guid(o.seed, "timeline", b.ID)
	var recs []any
	stateOf := func(i int) (string, any) {
		st, res := stageState(b, i)
		switch st {
		case "running":
			return "inProgress", nil
		case "notStarted":
			return "pending", nil
		}
		return "completed", res
	}
	prevEnd := b.start
	logID := 1
	for i, name := range stageNames {
		if b.stages[i] == stNotRun {
			continue
		}
		state, res := stateOf(i)
		start, end := prevEnd, b.stageEnd[i]
		if b.stages[i] == stSkipped {
			start, end = 0, 0
		}
		stageID := guid(o.seed, "stage", b.ID*10+i)
		rec := func(id, parent, typ, nm, ident string, order int, withLog bool) obj {
			// startTime, finishTime, workerName, queueId and log are left out until known: the
			// specs cannot say null and no real capture shows them null.
			r := obj{"previousAttempts": []any{}, "id": id, "parentId": nil, "type": typ, "name": nm,
				"currentOperation": nil, "percentComplete": map[bool]int{true: 100, false: 0}[state == "completed"], "state": state, "result": res, "resultCode": nil, "changeId": order + 1,
				"lastModified": timeNano(unixTime(max64(end, b.start))), "order": order, "details": nil,
				"errorCount": 0, "warningCount": 0, "url": nil, "task": nil, "attempt": 1, "identifier": ident}
			if parent != "" {
				r["parentId"] = parent
			}
			if start != 0 {
				r["startTime"] = timeNano(unixTime(start))
			}
			if end != 0 {
				r["finishTime"] = timeNano(unixTime(end))
			}
			if res == "failed" {
				r["errorCount"] = 1
				r["issues"] = []any{obj{"type": "error", "category": "General", "message": "Process completed with exit code 1.", "data": obj{"type": "error"}}}
			}
			if withLog {
				r["workerName"] = "Hosted Agent"
				r["queueId"] = b.pipe.proj.queueID
				r["log"] = obj{"id": logID, "type": "Container", "url": bu + "/logs/" + fmt.Sprint(logID)}
				logID++
			}
			return r
		}
		recs = append(recs, rec(stageID, "", "Stage", name, name, i+1, false))
		phaseID := guid(o.seed, "phase", b.ID*10+i)
		recs = append(recs, rec(phaseID, stageID, "Phase", "Job", name+".Job", 1, false))
		jobID := guid(o.seed, "job", b.ID*10+i)
		recs = append(recs, rec(jobID, phaseID, "Job", "Job", name+".Job.__default", 1, true))
		taskName := "Run script"
		if i >= 2 {
			taskName = "Deploy to " + envNames[i-2]
			recs = append(recs, rec(guid(o.seed, "checkpoint", b.ID*10+i), stageID, "Checkpoint", "Checkpoint", "Checkpoint."+name, 1, false))
		}
		recs = append(recs, rec(guid(o.seed, "task", b.ID*10+i), jobID, "Task", taskName, "", 1, true))
		if end != 0 {
			prevEnd = end
		}
	}
	return q.writeJSON(200, obj{"records": nonNil(recs), "lastChangedBy": o.service.ID, "lastChangedOn": timeNano(unixTime(max64(b.finish, b.start))),
		"id": tlID, "changeId": len(recs), "url": bu + "/Timeline/" + tlID})
}

func hBuildWorkItems(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	b, err := q.build()
	if err != nil {
		return err
	}
	top, err := q.queryInt(50, "$top")
	if err != nil {
		return err
	}
	var out []any
	seen := map[int32]bool{}
	r := b.pipe.repo
	for i := b.commitIdx; i >= 0 && i > b.commitIdx-20 && len(out) < top; i-- {
		if w := r.commits[i].wi; w != 0 && !seen[w] {
			seen[w] = true
			out = append(out, q.s.wiRef(w))
		}
	}
	return q.list(out)
}

func hBuildChanges(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	b, err := q.build()
	if err != nil {
		return err
	}
	top, err := q.queryInt(50, "$top")
	if err != nil {
		return err
	}
	r := b.pipe.repo
	var out []any
	for i := b.commitIdx; i >= 0 && i > b.commitIdx-3 && len(out) < top; i-- {
		c := &r.commits[i]
		sha := o.sha(r, i)
		id := o.idents[c.author]
		out = append(out, obj{"id": sha, "message": o.message(r, c), "type": "TfsGit",
			"author": obj{"id": id.ID, "displayName": id.Name, "uniqueName": id.Email}, "timestamp": timeStr(c.at),
			"location": q.s.commitURL(r, sha), "messageTruncated": false, "pusher": id.Email})
	}
	return q.list(out)
}

func hPipelines(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	var out []any
	for _, pl := range q.proj.pipelines {
		p := q.s.pipelineRef(pl)
		p["_links"] = obj{"self": obj{"href": p["url"]}, "web": obj{"href": q.s.webURL(pl.proj) + "/_build/definition?definitionId=" + fmt.Sprint(pl.ID)}}
		out = append(out, p)
	}
	return q.list(out)
}

func (s *Sim) runObj(b *build) obj {
	st, res := runState(b)
	r := s.runRef(b)
	r["_links"] = obj{"self": obj{"href": r["url"]}, "web": obj{"href": s.webURL(b.pipe.proj) + "/_build/results?buildId=" + fmt.Sprint(b.ID)},
		"pipeline.web": obj{"href": s.webURL(b.pipe.proj) + "/_build/definition?definitionId=" + fmt.Sprint(b.pipe.ID)},
		"pipeline":     obj{"href": s.pipelineRef(b.pipe)["url"]}}
	r["state"] = st
	if res != "" {
		r["result"] = res
		r["finishedDate"] = timeNano(unixTime(b.finish))
	}
	return r
}

func (q *rq) pipeline() (*pipeline, error) {
	id, _ := strconv.Atoi(q.vars["pipelineId"])
	pl := q.s.org.pipelines[id]
	if pl == nil || pl.proj != q.proj {
		return nil, notFound("PipelineNotFoundException", "Microsoft.Azure.Pipelines.WebApi.PipelineNotFoundException, Microsoft.Azure.Pipelines.WebApi", "Pipeline with id "+q.vars["pipelineId"]+" not found.")
	}
	return pl, nil
}

// hPipelineRuns returns the top 10000 runs, newest first, unpaged (PROTOCOL §4).
func hPipelineRuns(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	pl, err := q.pipeline()
	if err != nil {
		return err
	}
	var out []any
	bs := q.proj.builds
	for i := len(bs) - 1; i >= 0 && len(out) < 10000; i-- {
		if bs[i].pipe == pl {
			out = append(out, q.s.runObj(bs[i]))
		}
	}
	return q.list(out)
}

func hPipelineRun(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	pl, err := q.pipeline()
	if err != nil {
		return err
	}
	id, _ := strconv.Atoi(q.vars["runId"])
	b := o.build(id)
	if b == nil || b.pipe != pl {
		return notFound("PipelineRunNotFoundException", "Microsoft.Azure.Pipelines.WebApi.PipelineRunNotFoundException, Microsoft.Azure.Pipelines.WebApi", "Run "+q.vars["runId"]+" not found.")
	}
	return q.writeJSON(200, q.s.runObj(b))
}

func hEnvironments(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	var out []any
	for _, e := range q.proj.envs {
		out = append(out, obj{"id": e.ID, "name": e.Name, "description": "", "createdBy": obj{"id": o.idents[0].ID, "displayName": o.idents[0].Name},
			"createdOn": timeNano(unixTime(e.created)), "lastModifiedBy": obj{"id": o.idents[0].ID, "displayName": o.idents[0].Name},
			"lastModifiedOn": timeNano(unixTime(e.created)), "project": obj{"id": q.proj.ID, "name": q.proj.Name}})
	}
	return q.list(out)
}

// hEnvironmentRecords pages newest first with top (no $) and the continuation header.
func hEnvironmentRecords(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	id, _ := strconv.Atoi(q.vars["environmentId"])
	e := o.envs[id]
	if e == nil || e.proj != q.proj {
		return notFound("EnvironmentNotFoundException", "Microsoft.TeamFoundation.DistributedTask.WebApi.EnvironmentNotFoundException, Microsoft.TeamFoundation.DistributedTask.WebApi",
			"Environment "+q.vars["environmentId"]+" not found.")
	}
	top, err := q.queryInt(50, "top", "$top")
	if err != nil {
		return err
	}
	start := len(e.records) - 1
	if ct := q.query("continuationToken"); ct != "" {
		n, err := strconv.Atoi(ct)
		if err != nil {
			return badRequest("The continuation token '" + ct + "' is not valid.")
		}
		start = sort.Search(len(e.records), func(i int) bool { return e.records[i].ID > n }) - 1
	}
	var out []any
	i := start
	for ; i >= 0 && len(out) < top; i-- {
		out = append(out, q.s.envRecordObj(e, e.records[i]))
	}
	if i >= 0 {
		q.w.Header().Set("X-MS-ContinuationToken", strconv.Itoa(e.records[i].ID))
	}
	return q.list(out)
}

func (s *Sim) envRecordObj(e *environment, r envRecord) obj {
	b := r.build
	_, res := stageState(b, r.stage)
	if res == "" {
		res = "none"
	}
	out := obj{"id": r.ID, "environmentId": e.ID, "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
		"requestIdentifier": guid(s.org.seed, "req", r.ID), "planType": "Build", "planId": guid(s.org.seed, "plan", b.ID),
		"stageName": stageNames[r.stage], "jobName": "Job", "stageAttempt": 1, "jobAttempt": 1,
		"definition": obj{"id": b.pipe.ID, "name": b.pipe.Name, "_links": obj{"web": obj{"href": s.webURL(b.pipe.proj) + "/_build/definition?definitionId=" + fmt.Sprint(b.pipe.ID)}}},
		"owner":      obj{"id": b.ID, "name": s.buildNumber(b), "_links": obj{"web": obj{"href": s.webURL(b.pipe.proj) + "/_build/results?buildId=" + fmt.Sprint(b.ID)}}},
		"result":     res, "queueTime": timeNano(unixTime(b.queue)), "startTime": timeNano(unixTime(b.start))}
	if end := b.stageEnd[r.stage]; end != 0 {
		out["finishTime"] = timeNano(unixTime(end))
	}
	return out
}
