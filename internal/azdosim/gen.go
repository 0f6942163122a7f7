package azdosim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// profile sizes a generated organization.
type profile struct {
	projects, reposPerProject, commitsPerRepo, prsPerRepo    int
	pipelinesPerProject, runsPerProject, workItemsPerProject int
	releasesPerProject, days                                 int
}

var profiles = map[string]profile{
	// small: fast tests; every state still appears.
	"small": {projects: 3, reposPerProject: 2, commitsPerRepo: 150, prsPerRepo: 30,
		pipelinesPerProject: 2, runsPerProject: 60, workItemsPerProject: 80, releasesPerProject: 12, days: 60},
	// medium: the demo; about ten projects and thousands of commits over 60 days.
	"medium": {projects: 10, reposPerProject: 3, commitsPerRepo: 150, prsPerRepo: 40,
		pipelinesPerProject: 2, runsPerProject: 200, workItemsPerProject: 300, releasesPerProject: 40, days: 60},
	// boards: small, but with many work items changed in a 30-day window (several hundred a
	// project), for tests of work item queries near the WIQL result cap (Options.WiqlLimit).
	"boards": {projects: 2, reposPerProject: 1, commitsPerRepo: 80, prsPerRepo: 15,
		pipelinesPerProject: 1, runsPerProject: 20, workItemsPerProject: 600, releasesPerProject: 4, days: 60},
	// large: benchmarks; 1M commits, 200k pull requests, 100k runs.
	"large": {projects: 10, reposPerProject: 10, commitsPerRepo: 10000, prsPerRepo: 2000,
		pipelinesPerProject: 4, runsPerProject: 10000, workItemsPerProject: 10000, releasesPerProject: 1000, days: 90},
}

var personNames = []string{"Alex Morgan", "Priya Raman", "Jonas Berg", "Mei Chen", "Carlos Ortega",
	"Fatima Zahra", "Liam O'Neill", "Sofia Rossi", "Noah Fischer", "Aiko Tanaka", "Olga Ivanova",
	"Kwame Mensah", "Emma Dubois", "Ravi Kumar", "Hannah Weber", "Mateo Silva", "Grace Kim",
	"Ahmed Hassan", "Nora Lindqvist", "Diego Ramirez", "Yuki Sato", "Chloe Martin", "Ivan Petrov", "Zoe Clarke"}

var projectNames = []string{"Fabrikam", "Contoso Web", "Payments", "Mobile App", "Data Platform",
	"Identity", "Search", "Logistics", "Analytics", "Marketplace", "Support Portal", "Edge"}

var repoSuffixes = []string{"api", "web", "worker", "infra", "sdk", "docs", "mobile", "etl", "gateway", "tools"}

// generate builds the whole organization from the seed. Everything is anchored to now so the
// history spans before and after a 30-day backfill window.
func generate(seed int64, pf profile, now time.Time, mode string) *org {
	s := uint64(seed)
	o := &org{
		seed:      s,
		name:      DefaultOrg,
		projByKey: map[string]*project{},
		repoByID:  map[string]*repo{},
		pipelines: map[int]*pipeline{},
		envs:      map[int]*environment{},
	}
	if mode == "server" {
		o.name = DefaultCollection
	}
	o.id = guid(s, "collection", 0)
	o.instanceID = guid(s, "instance", 0)
	o.deploymentID = guid(s, "deployment", 0)
	o.hostID = guid(s, "host", 0)
	for i, n := range personNames {
		user := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(n, " ", "."), "'", ""))
		id := guid(s, "identity", i)
		o.idents = append(o.idents, identity{ID: id, Name: n, Email: user + "@fabrikam.example",
			Descriptor: "aad." + b64(id)})
	}
	o.service = identity{ID: guid(s, "identity", 999), Name: "Project Collection Build Service", Email: "build@fabrikam.example", Descriptor: "svc." + b64("build")}

	end := now.Unix() - 300
	startT := now.Add(-time.Duration(pf.days) * 24 * time.Hour).Unix()
	nid := len(o.idents)

	var allPRs []*pullRequest
	repoIdx := 0
	for pi := 0; pi < pf.projects; pi++ {
		r := newRand(s, "project", pi)
		name := projectNames[pi%len(projectNames)]
		if pi >= len(projectNames) {
			name = fmt.Sprintf("%s %d", name, pi/len(projectNames)+1)
		}
		p := &project{ID: guid(s, "project", pi), Name: name, idx: pi, Revision: 10 + r.IntN(400),
			Description: "Simulated project " + name, LastUpdate: unixTime(startT - int64(r.IntN(86400*30))), queueID: 10 + pi}
		o.projects = append(o.projects, p)
		o.projByKey[strings.ToLower(p.ID)] = p
		o.projByKey[strings.ToLower(p.Name)] = p

		// Work items first so commits and PRs can mention them.
		for w := 0; w < pf.workItemsPerProject; w++ {
			o.workItems = append(o.workItems, genWorkItem(o, p, r, len(o.workItems)+1, startT, end, nid))
		}
		// A full slice expression caps the capacity: appending a project's new
		// work item (activity) must copy, never overwrite the next project's.
		p.workItems = o.workItems[len(o.workItems)-pf.workItemsPerProject : len(o.workItems) : len(o.workItems)]

		for ri := 0; ri < pf.reposPerProject; ri++ {
			rp := &repo{ID: guid(s, "repo", repoIdx), proj: p, idx: repoIdx,
				Name: strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "-" + repoSuffixes[ri%len(repoSuffixes)]}
			if ri >= len(repoSuffixes) {
				rp.Name += fmt.Sprint(ri / len(repoSuffixes))
			}
			repoIdx++
			p.repos = append(p.repos, rp)
			o.repoByID[strings.ToLower(rp.ID)] = rp
			rr := newRand(s, "repo", rp.idx)
			genCommits(o, rp, rr, pf.commitsPerRepo, startT, end)
			rp.size = 1000 + len(rp.commits)*37
			allPRs = append(allPRs, genPRs(o, rp, rr, pf.prsPerRepo, startT, end, now.Unix())...)
			backdateCommits(rp, newRand(s, "authored", rp.idx))
		}
	}
	// Pull request ids are collection-wide and grow with creation time, as on the real service.
	sort.SliceStable(allPRs, func(i, j int) bool { return allPRs[i].created < allPRs[j].created })
	for i, pr := range allPRs {
		pr.ID = int32(i + 1)
	}
	o.prs = allPRs
	for _, pr := range allPRs {
		if pr.mergeIdx >= 0 {
			pr.repo.commits[pr.mergeIdx].pr = pr.ID
		}
		for _, w := range pr.workItems {
			if wi := o.workItem(int(w)); wi != nil {
				wi.prs = append(wi.prs, pr.ID)
			}
		}
	}
	for _, p := range o.projects {
		for _, rp := range p.repos {
			sort.Slice(rp.prs, func(i, j int) bool { return rp.prs[i].ID < rp.prs[j].ID })
			genBranches(o, rp, newRand(s, "branches", rp.idx), end)
			for i := range rp.commits {
				if w := rp.commits[i].wi; w != 0 {
					if wi := o.workItem(int(w)); wi != nil {
						wi.commits = append(wi.commits, commitRef{rp, int32(i)})
					}
				}
			}
		}
	}
	// Pipelines, runs, environments, releases.
	defID, envID := 0, 0
	var allBuilds []*build
	for _, p := range o.projects {
		r := newRand(s, "pipelines", p.idx)
		for k := 0; k < pf.pipelinesPerProject; k++ {
			defID++
			rp := p.repos[k%len(p.repos)]
			pl := &pipeline{ID: defID, Name: rp.Name + map[bool]string{true: "-deploy", false: "-ci"}[k == 0],
				Folder: "\\", Revision: 1 + r.IntN(20), repo: rp, proj: p, deploys: k == 0}
			p.pipelines = append(p.pipelines, pl)
			o.pipelines[pl.ID] = pl
		}
		for _, n := range envNames {
			envID++
			e := &environment{ID: envID, Name: n, proj: p, created: startT - 86400*10}
			p.envs = append(p.envs, e)
			o.envs[e.ID] = e
		}
		for k := 0; k < pf.runsPerProject; k++ {
			allBuilds = append(allBuilds, genBuild(o, p, r, startT, end, now.Unix()))
		}
	}
	sort.SliceStable(allBuilds, func(i, j int) bool { return allBuilds[i].queue < allBuilds[j].queue })
	for i, b := range allBuilds {
		b.ID = i + 1
		// Every organization has at least one of each timeline pitfall (PROTOCOL §12).
		switch {
		case i == len(allBuilds)/3:
			b.deleted = true
		case i == len(allBuilds)/2 && b.status == "completed":
			b.yamlError, b.result, b.stages = true, "failed", [5]uint8{}
		}
		b.pipe.proj.builds = append(b.pipe.proj.builds, b)
		o.recordEnvironments(b)
	}
	o.builds = allBuilds
	relDefID := 0
	for _, p := range o.projects {
		r := newRand(s, "releases", p.idx)
		relDefID++
		d := &releaseDef{ID: relDefID, Name: p.Name + " classic release", proj: p, pipe: p.pipelines[0], created: startT - 86400*20}
		for _, n := range []string{"Dev", "QA", "Prod"} {
			o.nextRelEnv++
			d.envs = append(d.envs, relDefEnv{ID: o.nextRelEnv, Name: n})
		}
		p.relDefs = append(p.relDefs, d)
		for k := 0; k < pf.releasesPerProject; k++ {
			at := startT + r.Int64N(end-startT)
			o.addRelease(d, r, at, end, uint16(r.IntN(nid)))
		}
	}
	sortReleases(o)
	return o
}

func genWorkItem(o *org, p *project, r *rand.Rand, id int, startT, end int64, nid int) *workItem {
	typ := "Task"
	switch x := r.IntN(100); {
	case x < 40:
		typ = "User Story"
	case x < 65:
		typ = "Bug"
	}
	w := &workItem{ID: id, proj: p, typ: typ, priority: 1 + r.IntN(4), createdBy: uint16(r.IntN(nid)), assigned: uint16(r.IntN(nid))}
	comp := components[r.IntN(len(components))]
	w.area = r.IntN(len(areaNames))
	if r.IntN(100) < 50 {
		w.tags = []string{"backend", "ui", "tech-debt", "customer"}[r.IntN(4)]
	}
	switch typ {
	case "User Story":
		w.title = "As a user I can manage " + comp + " settings"
	case "Bug":
		w.title = "Error when saving " + comp
		w.severity = []string{"1 - Critical", "2 - High", "3 - Medium", "4 - Low"}[r.IntN(4)]
		if r.IntN(100) < 25 {
			w.tags = "incident; " + comp
			w.title = "Outage: " + comp + " unavailable"
		}
	default:
		w.title = "Implement " + comp + " change"
	}
	// Created a little before the window so some items change inside it.
	created := startT - 86400*5 + r.Int64N(end-startT+86400*5)
	w.revs = []wiRev{{at: created, state: "New", by: w.createdBy}}
	states := wiStates[typ]
	t := created
	for _, st := range states[1:] {
		if r.IntN(100) < 35 {
			break
		}
		t += 3600 + r.Int64N(86400*4)
		if t > end {
			break
		}
		w.revs = append(w.revs, wiRev{at: t, state: st, by: w.assigned})
	}
	w.comments = r.IntN(4)
	return w
}

func genCommits(o *org, rp *repo, r *rand.Rand, n int, startT, end int64) {
	rp.commits = make([]commit, 0, n+n/8)
	// Random gaps scaled to the span: irregular like real work, never piling up at the end.
	gaps := make([]float64, n)
	var total float64
	for i := range gaps {
		gaps[i] = r.ExpFloat64()
		total += gaps[i]
	}
	span := float64(end - startT)
	nid := len(o.idents)
	wis := rp.proj.workItems
	var acc float64
	for i := 0; i < n; i++ {
		acc += gaps[i]
		t := startT + int64(acc/total*span*0.999)
		c := commit{at: t, parent2: -1, author: uint16(r.IntN(nid)), msg: uint16(r.IntN(len(messageTemplates) * len(components))),
			add: skewed(r.IntN(1000), 1.2, 30), edt: 1 + skewed(r.IntN(1000), 2.5, 40), del: uint16(r.IntN(3))}
		if len(wis) > 0 && r.IntN(100) < 35 {
			c.wi = int32(wis[r.IntN(len(wis))].ID)
		}
		rp.commits = append(rp.commits, c)
	}
	// Group consecutive commits into pushes of one to three commits.
	for i := 0; i < len(rp.commits); {
		k := 1 + r.IntN(3)
		if i+k > len(rp.commits) {
			k = len(rp.commits) - i
		}
		o.nextPush++
		last := i + k - 1
		p := push{id: o.nextPush, first: int32(i), last: int32(last), by: rp.commits[last].author, at: rp.commits[last].at + 5}
		for j := i; j <= last; j++ {
			rp.commits[j].push = p.id
		}
		rp.pushes = append(rp.pushes, p)
		i += k
	}
}

// backdateCommits makes about one default-branch commit in twelve a rebased or cherry-picked one:
// authored an hour to five days before it was committed (a rebase or cherry-pick keeps the author
// date and sets a new committer date). The commits list's date filters and order follow the
// committer date (see hCommits), so a reader keyed on author dates misses or skips such commits.
// Merge commits keep equal dates. A random stream of its own leaves the rest of the organization
// as it was.
func backdateCommits(rp *repo, r *rand.Rand) {
	for i := range rp.commits {
		if r.IntN(12) != 0 {
			continue
		}
		if c := &rp.commits[i]; c.parent2 < 0 {
			// Never later than a date already given (a PR's commit authored
			// before the PR opened stays so).
			c.authored = min(c.authorAt(), c.at-3600-r.Int64N(5*86400))
		}
	}
}

// genBranches gives the repository its other branches, from their own random stream so the rest
// of the organization is the same with or without them: the source branch of every pull request
// that is not completed (a completed one's commits are on the default branch and its branch was
// deleted), a long-lived develop branch that is never merged, and a release branch cut from the
// default branch without commits of its own.
func genBranches(o *org, rp *repo, r *rand.Rand, end int64) {
	if len(rp.commits) < 10 {
		return
	}
	nid := len(o.idents)
	for _, pr := range rp.prs {
		if pr.status != prCompleted {
			o.addBranch(rp, r, pr.branch, pr.tgtIdx, pr, pr.createdBy, int(pr.nCommits), pr.created, false)
		}
	}
	o.addBranch(rp, r, "refs/heads/develop", int32(len(rp.commits)*2/5), nil, uint16(r.IntN(nid)), max(2, len(rp.commits)/15), end, true)
	o.addBranch(rp, r, "refs/heads/release/1.0", int32(len(rp.commits)*3/4), nil, uint16(r.IntN(nid)), 0, 0, false)
}

// addBranch forks a branch from default-branch commit base with n commits spread between base and
// until, pushed in groups of one to three (several authors when manyAuthors).
func (o *org) addBranch(rp *repo, r *rand.Rand, name string, base int32, pr *pullRequest, by uint16, n int, until int64, manyAuthors bool) *branch {
	b := &branch{name: name, base: base, pr: pr, ord: len(rp.branches), creator: by}
	if pr != nil {
		pr.src = b
		pr.nCommits = int32(n)
	}
	rp.branches = append(rp.branches, b)
	t0 := rp.commits[base].at
	step := max64(1, (until-t0)/int64(n+1))
	for j := 0; j < n; j++ {
		t := t0 + int64(j+1)*step
		if step > 4 {
			t -= r.Int64N(step / 4)
		}
		a := by
		if manyAuthors {
			a = uint16(r.IntN(len(o.idents)))
		}
		b.commits = append(b.commits, commit{at: t, parent2: -1, author: a, msg: uint16(r.IntN(len(messageTemplates) * len(components))),
			add: uint16(r.IntN(4)), edt: uint16(1 + r.IntN(8)), del: uint16(r.IntN(2))})
	}
	for i := 0; i < n; {
		k := min(1+r.IntN(3), n-i)
		o.nextPush++
		last := i + k - 1
		p := push{id: o.nextPush, first: int32(i), last: int32(last), br: b, by: b.commits[last].author, at: b.commits[last].at + 5}
		for j := i; j <= last; j++ {
			b.commits[j].push = p.id
		}
		rp.pushes = append(rp.pushes, p)
		i += k
	}
	return b
}

func genPRs(o *org, rp *repo, r *rand.Rand, n int, startT, end, now int64) []*pullRequest {
	nid := len(o.idents)
	var out []*pullRequest
	wis := rp.proj.workItems
	inPR := map[int32]bool{} // commits some completed PR brought in
	for i := 0; i < n; i++ {
		created := startT + r.Int64N(end-startT)
		comp := components[r.IntN(len(components))]
		pr := &pullRequest{repo: rp, created: created, createdBy: uint16(r.IntN(nid)), mergeIdx: -1, srcIdx: -1, tgtIdx: -1,
			mergeStatus: "succeeded"}
		pr.title = []string{"Add ", "Fix ", "Refactor ", "Improve ", "Update "}[r.IntN(5)] + comp + " " + []string{"flow", "validation", "paging", "caching", "errors"}[r.IntN(5)]
		pr.branch = "refs/heads/feature/" + comp + fmt.Sprint("-", i)
		pr.description = "This change updates the " + comp + " component.\n\n" + strings.Repeat("Details about the change. ", 1+r.IntN(30))
		age := end - created
		x := r.IntN(100)
		switch {
		case age > 14*86400 && x < 75, age <= 14*86400 && x < 40:
			pr.status = prCompleted
		case age > 14*86400 && x < 90, age <= 14*86400 && x < 50:
			pr.status = prAbandoned
		default:
			pr.status = prActive
			pr.draft = r.IntN(100) < 20
		}
		if pr.status != prActive {
			pr.closed = created + 1800 + r.Int64N(5*86400)
			if pr.closed > end {
				pr.closed = end
			}
			pr.closedBy = uint16(r.IntN(nid))
		}
		pr.nCommits = int32(1 + r.IntN(4))
		// Reviewers and votes.
		nr := 1 + r.IntN(3)
		seen := map[int]bool{int(pr.createdBy): true}
		for k := 0; k < nr; k++ {
			id := r.IntN(nid)
			if seen[id] {
				continue
			}
			seen[id] = true
			rv := reviewer{ident: uint16(id), required: r.IntN(100) < 30}
			switch pr.status {
			case prCompleted:
				rv.vote = []int8{10, 10, 10, 5, 0}[r.IntN(5)]
			case prAbandoned:
				rv.vote = []int8{0, 0, -10, -5}[r.IntN(4)]
			default:
				rv.vote = []int8{0, 0, 10, 5, -5, -10}[r.IntN(6)]
			}
			if pr.status == prCompleted && k == 0 && rv.vote == 0 {
				rv.vote = 10
			}
			if rv.vote != 0 {
				last := pr.closed
				if last == 0 {
					last = end
				}
				rv.votedAt = created + 60 + r.Int64N(max64(1, last-created-60))
			}
			pr.reviewers = append(pr.reviewers, rv)
		}
		if len(wis) > 0 && r.IntN(100) < 50 {
			for k := 0; k < 1+r.IntN(2); k++ {
				pr.workItems = append(pr.workItems, int32(wis[r.IntN(len(wis))].ID))
			}
		}
		if pr.status == prCompleted {
			// The merge commit is a plain commit no other PR merged or
			// brought in, right after the PR's own commits: as in a real
			// repository, a PR's commits are work commits, not other PRs'
			// merges (else its first commit would be authored after it
			// opened, and its coding time clamped to 0).
			idx := rp.commitAtOrAfter(pr.closed)
			for idx < len(rp.commits) && (rp.commits[idx].parent2 >= 0 || inPR[int32(idx)] || idx > 0 && rp.commits[idx-1].parent2 >= 0) {
				idx++
			}
			own := int32(0)
			for own < pr.nCommits && idx-1-int(own) >= 0 && rp.commits[idx-1-int(own)].parent2 < 0 {
				own++
			}
			pr.nCommits = max(own, 1)
			if idx < len(rp.commits) && idx > int(pr.nCommits)+1 {
				pr.mergeIdx = int32(idx)
				pr.srcIdx = int32(idx - 1)
				pr.tgtIdx = int32(idx) - pr.nCommits - 1
				rp.commits[idx].parent2 = pr.srcIdx
				rp.commits[idx].base = pr.tgtIdx
				rp.commits[idx].author = pr.closedBy
				pr.closed = rp.commits[idx].at // completion is when the merge commit was made
				for k := pr.srcIdx - pr.nCommits + 1; k <= pr.srcIdx; k++ {
					inPR[k] = true
				}
				authorBeforeOpening(rp, pr, r)
			} else {
				// No default-branch commit left to carry the merge: keep it active instead.
				pr.status, pr.closed = prActive, 0
			}
		}
		if pr.tgtIdx < 0 {
			pr.tgtIdx = int32(max(0, rp.commitAtOrAfter(created)-1))
		}
		rp.prs = append(rp.prs, pr)
		out = append(out, pr)
	}
	return out
}

// authorBeforeOpening dates a completed PR's commits as work done before the
// PR was opened: its first commit authored a coding time before the PR's
// creation (log-normal, median about 20 hours: minutes for a typo fix, days
// for a feature; one PR in ten three to six weeks, before a 30-day backfill
// window), the others spread up to the creation; their committer dates
// (when they reached the branch) stay. A commit already authored earlier (a
// rebase, another PR's range) keeps the earlier date, so every PR's first
// commit precedes its creation and no coding time is clamped to 0.
func authorBeforeOpening(rp *repo, pr *pullRequest, r *rand.Rand) {
	span := codingSpan(r.NormFloat64())
	if r.IntN(10) == 0 {
		span = 21*86400 + r.Int64N(21*86400)
	}
	first := pr.srcIdx - pr.nCommits + 1
	for k := int32(0); k < pr.nCommits; k++ {
		c := &rp.commits[first+k]
		at := pr.created - span + span*int64(k)/int64(pr.nCommits)
		if c.parent2 < 0 && at < c.authorAt() {
			c.authored = at
		}
	}
}

// codingSpan is a coding time in seconds from a standard normal draw z:
// log-normal with a median of 20 hours and σ = 1.1 (p10 ≈ 5 h, p90 ≈ 3.5
// days), kept between 15 minutes and 14 days.
func codingSpan(z float64) int64 {
	s := 20 * 3600 * math.Exp(1.1*z)
	return int64(min(max(s, 900), 14*86400))
}

// skewed maps a uniform draw u in [0, 1000) to a count with an exponential
// tail of the given mean, at most limit: most commits touch a few files, a
// few touch many (real change counts are heavily skewed).
func skewed(u int, mean float64, limit int) uint16 {
	v := -math.Log(1-float64(u)/1000) * mean
	return uint16(min(int(v), limit))
}

func genBuild(o *org, p *project, r *rand.Rand, startT, end, now int64) *build {
	pl := p.pipelines[r.IntN(len(p.pipelines))]
	b := &build{pipe: pl, requestedFor: uint16(r.IntN(len(o.idents))), branch: pl.repo.defaultBranch()}
	b.queue = startT + r.Int64N(end-startT)
	switch x := r.IntN(100); {
	case x < 60:
		b.reason = "individualCI"
	case x < 85:
		b.reason = "pullRequest"
		b.branch = fmt.Sprintf("refs/pull/%d/merge", 1+r.IntN(1000))
	case x < 95:
		b.reason = "manual"
	default:
		b.reason = "schedule"
	}
	if ci := pl.repo.commitAtOrAfter(b.queue); ci > 0 {
		b.commitIdx = int32(ci - 1)
	}
	b.start = b.queue + 5 + r.Int64N(120)
	res := []string{"succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded",
		"succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded",
		"failed", "failed", "failed", "canceled", "partiallySucceeded"}[r.IntN(20)]
	o.runStages(b, r, res)
	switch x := r.IntN(200); {
	case x == 0:
		b.deleted = true // listable with deletedFilter=includeDeleted; timeline 404
	case x == 1:
		b.yamlError, b.result, b.stages = true, "failed", [5]uint8{}
		b.finish = b.start + 3
	}
	if b.finish > end || end-b.queue < 900 && r.IntN(3) == 0 {
		// Still running near "now".
		b.status, b.result, b.finish = "inProgress", "none", 0
		for i := range b.stages {
			if b.stageEnd[i] > end {
				if b.stages[i] != stSkipped && b.stages[i] != stNotRun {
					b.stages[i] = stInProgress
				}
				b.stageEnd[i] = 0
			}
		}
	}
	return b
}

// runStages decides stage outcomes from the run result: a failure or cancellation stops the
// later stages; production is skipped on many successful runs and always off the default branch.
func (o *org) runStages(b *build, r *rand.Rand, res string) {
	t := b.start
	failAt := -1
	n := 2
	deploys := b.pipe.deploys && b.branch == b.pipe.repo.defaultBranch()
	if deploys {
		n = 5
	}
	if res == "failed" || res == "canceled" {
		failAt = r.IntN(n)
	}
	for i := 0; i < 5; i++ {
		switch {
		case i >= n:
			b.stages[i] = stNotRun
			continue
		case failAt >= 0 && i > failAt:
			b.stages[i] = stSkipped
			continue
		case i == 4 && r.IntN(100) < 40:
			b.stages[i] = stSkipped
			continue
		}
		t += 60 + r.Int64N(600)
		b.stageEnd[i] = t
		switch {
		case i == failAt && res == "failed":
			b.stages[i] = stFailed
		case i == failAt && res == "canceled":
			b.stages[i] = stCanceled
		default:
			b.stages[i] = stSucceeded
		}
	}
	b.status, b.result, b.finish = "completed", res, t+5
}

func (o *org) recordEnvironments(b *build) {
	if !b.pipe.deploys {
		return
	}
	for i := 2; i < 5; i++ {
		if st := b.stages[i]; st == stSucceeded || st == stFailed || st == stCanceled || st == stInProgress {
			env := b.pipe.proj.envs[i-2]
			o.envRecords++
			env.records = append(env.records, envRecord{ID: o.envRecords, build: b, stage: i})
		}
	}
}

func (o *org) addRelease(d *releaseDef, r *rand.Rand, at, end int64, by uint16) *release {
	rel := &release{def: d, created: at, by: by}
	for range d.envs {
		o.nextRelEnv++
		rel.envIDs = append(rel.envIDs, o.nextRelEnv)
	}
	// The artifact is what a continuous-deployment trigger picks: the
	// project's latest successful build finished before the release.
	for _, b := range d.proj.builds {
		if b.result == "succeeded" && b.finish != 0 && b.finish < at && (rel.build == nil || b.finish > rel.build.finish) {
			rel.build = b
		}
	}
	o.releases = append(o.releases, rel)
	t := at
	for ei := range d.envs {
		dep := &deployment{rel: rel, env: ei, attempt: 1, reason: "automated", requestedBy: by, approvedBy: uint16(r.IntN(len(o.idents)))}
		if ei > 0 {
			dep.reason = "manual"
		}
		dep.queued = t + 30
		dep.started = dep.queued + 10 + r.Int64N(300)
		dep.completed = dep.started + 60 + r.Int64N(900)
		switch x := r.IntN(100); {
		case x < 80:
			dep.status, dep.opStatus = "succeeded", "Approved"
		case x < 90:
			dep.status, dep.opStatus = "failed", "PhaseFailed"
		case x < 95:
			dep.status, dep.opStatus = "partiallySucceeded", "PhasePartiallySucceeded"
		default:
			dep.status, dep.opStatus = "notDeployed", "Canceled"
		}
		if dep.completed > end {
			dep.status, dep.opStatus, dep.completed = "inProgress", "PhaseInProgress", 0
		}
		o.deployments = append(o.deployments, dep)
		d.proj.deployments = append(d.proj.deployments, dep)
		if dep.status != "succeeded" || r.IntN(100) < 30 {
			break
		}
		t = dep.completed + r.Int64N(86400)
		if t > end {
			break
		}
	}
	return rel
}

// sortReleases numbers releases and deployments in time order, as the real service does.
func sortReleases(o *org) {
	sort.SliceStable(o.releases, func(i, j int) bool { return o.releases[i].created < o.releases[j].created })
	for i, rel := range o.releases {
		rel.ID = i + 1
		rel.Name = fmt.Sprintf("Release-%d", i+1)
	}
	sort.SliceStable(o.deployments, func(i, j int) bool { return o.deployments[i].queued < o.deployments[j].queued })
	for i, d := range o.deployments {
		d.ID = i + 1
	}
	for _, p := range o.projects {
		sort.SliceStable(p.deployments, func(i, j int) bool { return p.deployments[i].ID < p.deployments[j].ID })
	}
}

func (r *repo) defaultBranch() string { return "refs/heads/main" }

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
