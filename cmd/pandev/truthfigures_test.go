package main

// An independent implementation of ../shared/METRICS.md over the
// simulator's ground truth, for the end-to-end comparison: written from the
// definitions, not from internal/metrics or internal/collect, and reading
// only what the simulator says happened (GET /_sim/truth/{kind}). It knows
// what the token can read: with the manual's four scopes, pipeline runs with
// their stages (Build: Read); with Release: Read also classic release
// deployments. (Environment records, with Environment: Read & manage, name
// the same stages' deployments, so the figures do not change.)

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
)

var (
	truthDeployRule = regexp.MustCompile(`(?i)deploy|release`)
	truthProdRule   = regexp.MustCompile(`(?i)\bprod(uction)?\b`)
)

// truthFacts is the simulator's truth as the definitions need it.
type truthFacts struct {
	since    map[string]time.Time // collected-since by project name: nothing before it was collected
	commits  map[string]*truthCommit
	deps     []*truthDeployment // production deployments with an outcome, by finish then id
	prs      []truthPR          // completed PRs
	incident []truthIncident
	items    []truthItem // work items with their links
}

// truthItem is a work item and the commits and merged PRs linked to it.
type truthItem struct {
	id      int
	created time.Time
	commits []string // commit keys
	prs     []string // PR ids
}

type truthCommit struct {
	key       string // repository id + ":" + sha
	parents   []string
	authored  time.Time
	committed time.Time
	pr        int // the merged PR it belongs to (a commit of it or its merge), 0 for none
}

type truthDeployment struct {
	id, project, repo, env, sha string
	success                     bool
	finish                      time.Time
	changes                     []string // commit keys it first deployed
	incidents                   []truthIncident
}

type truthPR struct {
	id, repo            string
	created, merged     time.Time
	firstCommit, review time.Time
	merge               string // commit key
}

type truthIncident struct {
	id       int
	project  string
	opened   time.Time
	resolved time.Time // zero while open
}

// loadTruth reads the truth and derives deployments, change sets and
// incident attribution by METRICS.md.
func loadTruth(t *testing.T, sim *azdosim.Sim, since map[string]time.Time, releases bool) *truthFacts {
	t.Helper()
	items := func(kind string) []map[string]any {
		res, err := sim.TruthItems(kind, "", "", "")
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, it := range res["items"].([]any) {
			out = append(out, toObj(it))
		}
		return out
	}
	f := &truthFacts{since: since, commits: map[string]*truthCommit{}}
	// The commit graph: what the product can have stored, the commits
	// committed since collection (the service's date filter is on the
	// committer date).
	for _, c := range items("commits") {
		repo := str(c["repository_id"])
		tc := &truthCommit{key: repo + ":" + str(c["commit_id"]), authored: when(c["author_date"]), committed: when(c["committer_date"])}
		for _, p := range c["parents"].([]any) {
			tc.parents = append(tc.parents, repo+":"+str(p))
		}
		if !tc.committed.Before(since[str(c["project"])]) {
			f.commits[tc.key] = tc
		}
	}
	// Completed PRs and their commits.
	for _, p := range items("pull_requests") {
		if str(p["status"]) != "completed" {
			continue
		}
		repo := str(p["repository_id"])
		pr := truthPR{id: str(p["id"]), repo: repo, created: when(p["created"]), merged: when(p["closed"]), review: when(p["first_review"])}
		if m := str(p["merge_commit"]); m != "" {
			pr.merge = repo + ":" + m
		}
		id := 0
		fmt.Sscan(pr.id, &id)
		for _, c := range p["commit_list"].([]any) {
			cm := toObj(c)
			at := when(cm["author_date"])
			if pr.firstCommit.IsZero() || at.Before(pr.firstCommit) {
				pr.firstCommit = at
			}
			if tc := f.commits[repo+":"+str(cm["commit_id"])]; tc != nil {
				tc.pr = id
			}
		}
		if tc := f.commits[pr.merge]; tc != nil {
			tc.pr = id
		}
		f.prs = append(f.prs, pr)
	}
	// Production deployments from runs (METRICS.md "Deployment", sources 1
	// by stage names and 3): a run's deploy stages that ran, else the run
	// itself when its definition name or a tag matches the deployment rule.
	for _, r := range items("pipeline_runs") {
		repo, sha, project := str(r["repository_id"]), str(r["commit_id"]), str(r["project"])
		stages := toObj(r["stages"])
		finishes := toObj(r["stage_finish"])
		var deploy []string
		for name := range stages {
			if truthDeployRule.MatchString(name) {
				deploy = append(deploy, name)
			}
		}
		sort.Strings(deploy)
		add := func(id, env, result string, finish time.Time) {
			success := result == "succeeded" || result == "partiallySucceeded" || result == "succeededWithIssues"
			if !truthProdRule.MatchString(env) || finish.IsZero() || !(success || result == "failed") {
				return // not production, or an outcome no figure counts
			}
			f.deps = append(f.deps, &truthDeployment{id: id, project: project, repo: repo, env: env, sha: repo + ":" + sha,
				success: success, finish: finish})
		}
		if len(deploy) > 0 {
			for _, name := range deploy {
				add(fmt.Sprintf("stage:%v:%s", r["id"], name), stageEnv(name), str(stages[name]), when(finishes[name]))
			}
			continue
		}
		names := []string{str(r["pipeline"])}
		for _, tag := range r["tags"].([]any) {
			names = append(names, str(tag))
		}
		env := ""
		for _, n := range names {
			if truthDeployRule.MatchString(n) && (env == "" || truthProdRule.MatchString(n) && !truthProdRule.MatchString(env)) {
				env = n
			}
		}
		if env != "" && str(r["status"]) == "completed" {
			add(fmt.Sprintf("build:%v", r["id"]), env, str(r["result"]), when(r["finish_time"]))
		}
	}
	// Classic release deployments (source 2), each attempt, deploying their
	// build artifact's commit.
	if releases {
		for _, d := range items("release_deployments") {
			env, status := str(d["environment"]), str(d["status"])
			success := status == "succeeded" || status == "partiallySucceeded"
			if !truthProdRule.MatchString(env) || !(success || status == "failed") {
				continue
			}
			dep := &truthDeployment{id: fmt.Sprintf("release:%v", d["id"]), project: str(d["project"]), env: env,
				success: success, finish: when(d["completed_on"])}
			// The deployed commit is the artifact build's: known when that
			// build's run was collected (it finished since collection).
			if c := str(d["commit_id"]); c != "" && !when(d["build_finish_time"]).Before(since[str(d["project"])]) {
				dep.repo, dep.sha = str(d["repository_id"]), str(d["repository_id"])+":"+c
			}
			f.deps = append(f.deps, dep)
		}
	}
	// Only what finished since collection was collected.
	f.deps = slices.DeleteFunc(f.deps, func(d *truthDeployment) bool { return d.finish.Before(since[d.project]) })
	sort.SliceStable(f.deps, func(i, j int) bool {
		if !f.deps[i].finish.Equal(f.deps[j].finish) {
			return f.deps[i].finish.Before(f.deps[j].finish)
		}
		return f.deps[i].id < f.deps[j].id
	})
	f.changeSets()
	// Work items and their links (METRICS.md "Boards"): commits that
	// mention them or that they link as artifacts, PRs that reference them
	// or that they link.
	mentions := map[int][]string{}
	for _, c := range items("commits") {
		if wi := str(c["work_item"]); wi != "0" && wi != "" {
			id := 0
			fmt.Sscan(wi, &id)
			mentions[id] = append(mentions[id], str(c["repository_id"])+":"+str(c["commit_id"]))
		}
	}
	prRefs := map[int][]string{}
	for _, p := range items("pull_requests") {
		for _, wi := range p["work_items"].([]any) {
			id := 0
			fmt.Sscan(str(wi), &id)
			prRefs[id] = append(prRefs[id], str(p["id"]))
		}
	}
	for _, w := range items("work_items") {
		id := 0
		fmt.Sscan(str(w["id"]), &id)
		it := truthItem{id: id, created: when(w["created"]), commits: mentions[id], prs: prRefs[id]}
		for _, c := range w["commits"].([]any) {
			it.commits = append(it.commits, str(c))
		}
		for _, p := range w["pull_requests"].([]any) {
			it.prs = append(it.prs, str(p))
		}
		f.items = append(f.items, it)
	}
	// Incidents (default rule: Bug or Incident tagged incident, or type
	// Incident), resolved at the first change into Resolved or Closed.
	for _, w := range items("work_items") {
		typ, tags := str(w["type"]), strings.ToLower(str(w["tags"]))
		tagged := slices.ContainsFunc(strings.Split(tags, ";"), func(s string) bool { return strings.TrimSpace(s) == "incident" })
		if typ != "Incident" && !((typ == "Bug" || typ == "Incident") && tagged) {
			continue
		}
		if when(w["changed"]).Before(since[str(w["project"])]) {
			continue // not collected: changed before collection
		}
		id := 0
		fmt.Sscan(str(w["id"]), &id)
		inc := truthIncident{id: id, project: str(w["project"]), opened: when(w["created"])}
		resolved, closed := replayStates(w["revisions"].([]any))
		inc.resolved = resolved
		if inc.resolved.IsZero() {
			inc.resolved = closed
		}
		f.incident = append(f.incident, inc)
	}
	f.attribute()
	return f
}

// stageEnv is the environment a deploy stage names: its name without a
// leading "deploy" and separators ("Deploy_production" → "production").
func stageEnv(stage string) string {
	name := stage
	if len(name) >= 6 && strings.EqualFold(name[:6], "deploy") {
		name = strings.TrimLeft(name[6:], "_- .:")
	}
	if name == "" {
		return stage
	}
	return name
}

// replayStates gives the resolution and close of a work item's revisions:
// the first change into Resolved (Closed), cleared by a change back to New
// or Active.
func replayStates(revs []any) (resolved, closed time.Time) {
	prev := ""
	for _, r := range revs {
		m := toObj(r)
		state, at := str(m["state"]), when(m["date"])
		if state != prev {
			switch state {
			case "New", "Active":
				resolved, closed = time.Time{}, time.Time{}
			case "Resolved":
				if prev != "Closed" && resolved.IsZero() {
					resolved = at
				}
			case "Closed":
				if closed.IsZero() {
					closed = at
				}
			}
		}
		prev = state
	}
	return resolved, closed
}

// changeSets computes, for each successful production deployment, the
// commits reachable from its SHA and not from the SHA of the previous
// successful production deployment of the same repository and environment;
// the first one gets only commits authored since collection. A commit is
// deployed by the first deployment whose changes contain it.
func (f *truthFacts) changeSets() {
	reach := func(from string) map[string]bool {
		seen := map[string]bool{}
		stack := []string{from}
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c := f.commits[k]
			if c == nil || seen[k] {
				continue
			}
			seen[k] = true
			stack = append(stack, c.parents...)
		}
		return seen
	}
	prev := map[string]string{}
	deployed := map[string]bool{}
	for _, d := range f.deps {
		if !d.success {
			continue
		}
		key := d.repo + "|" + d.env
		base, hasBase := prev[key]
		prev[key] = d.sha
		if f.commits[d.sha] == nil {
			continue // its commit is not collected: no known changes
		}
		var baseSet map[string]bool
		if hasBase && f.commits[base] != nil {
			baseSet = reach(base)
		}
		for k := range reach(d.sha) {
			if baseSet[k] || baseSet == nil && f.commits[k].authored.Before(f.since[d.project]) {
				continue
			}
			if !deployed[k] {
				deployed[k] = true
				d.changes = append(d.changes, k)
			}
		}
	}
}

// attribute blames each incident on the latest successful production
// deployment of its project that finished before it opened, at most 72 h
// earlier.
func (f *truthFacts) attribute() {
	for _, inc := range f.incident {
		var last *truthDeployment
		for _, d := range f.deps {
			if d.success && d.project == inc.project && d.finish.Before(inc.opened) {
				last = d
			}
		}
		if last != nil && inc.opened.Sub(last.finish) <= 72*time.Hour {
			last.incidents = append(last.incidents, inc)
		}
	}
}

// truthDORA is what the DORA API must say over [from, to).
type truthDORA struct {
	deployments, deployDays int
	perWeek                 float64
	weeklyDeployDays        *float64
	leadN                   int
	leadMedian              *float64
	cfrN, failures          int
	recoveryN, recoveryOpen int
	recoveryMedian          *float64
}

func (f *truthFacts) dora(from, to time.Time) truthDORA {
	var out truthDORA
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	days := map[string]bool{}
	var lead, recovery []float64
	for i, d := range f.deps {
		if !in(d.finish) {
			continue
		}
		out.cfrN++
		if !d.success {
			out.failures++
			// Recovered by the next success of the same repository and environment.
			var next *truthDeployment
			for _, n := range f.deps[i+1:] {
				if n.success && n.repo == d.repo && n.env == d.env {
					next = n
					break
				}
			}
			if next == nil {
				out.recoveryOpen++
			} else {
				recovery = append(recovery, clampSpan(next.finish.Sub(d.finish)))
			}
			continue
		}
		out.deployments++
		days[d.finish.UTC().Format("2006-01-02")] = true
		if len(d.incidents) > 0 {
			out.failures++
			var last time.Time
			open := false
			for _, inc := range d.incidents {
				if inc.resolved.IsZero() {
					open = true
				} else if inc.resolved.After(last) {
					last = inc.resolved
				}
			}
			if open {
				out.recoveryOpen++
			} else {
				recovery = append(recovery, clampSpan(last.Sub(d.finish)))
			}
		}
		for _, k := range d.changes {
			c := f.commits[k]
			if c.pr == 0 {
				lead = append(lead, clampSpan(d.finish.Sub(c.authored)))
				continue
			}
			for _, p := range f.prs {
				if p.merge == k && !p.firstCommit.IsZero() {
					lead = append(lead, clampSpan(d.finish.Sub(p.firstCommit)))
				}
			}
		}
	}
	out.deployDays = len(days)
	out.perWeek = float64(out.deployments) / (to.Sub(from).Hours() / 24 / 7)
	// Deploy-days per 7-day block counted back from to; a trailing
	// partial block is dropped.
	var blocks []float64
	week := 7 * 24 * time.Hour
	for end := to; !end.Add(-week).Before(from); end = end.Add(-week) {
		seen := map[string]bool{}
		for _, d := range f.deps {
			if d.success && !d.finish.Before(end.Add(-week)) && d.finish.Before(end) {
				seen[d.finish.UTC().Format("2006-01-02")] = true
			}
		}
		blocks = append(blocks, float64(len(seen)))
	}
	out.weeklyDeployDays = median(blocks)
	out.leadN, out.leadMedian = len(lead), median(lead)
	out.recoveryN, out.recoveryMedian = len(recovery), median(recovery)
	return out
}

// workItemLeadTimes are the lead times of work items first deployed in
// [from, to): creation → the first successful production deployment
// containing a linked commit or a linked PR's merge commit.
func (f *truthFacts) workItemLeadTimes(from, to time.Time) []float64 {
	deployedAt := map[string]time.Time{}
	for _, d := range f.deps {
		for _, k := range d.changes {
			deployedAt[k] = d.finish
		}
	}
	merge := map[string]string{}
	for _, p := range f.prs {
		merge[p.id] = p.merge
	}
	var out []float64
	for _, it := range f.items {
		var first time.Time
		note := func(k string) {
			if at, ok := deployedAt[k]; ok && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
		for _, k := range it.commits {
			note(k)
		}
		for _, p := range it.prs {
			if m := merge[p]; m != "" {
				note(m)
			}
		}
		if !first.IsZero() && !first.Before(from) && first.Before(to) {
			out = append(out, clampSpan(first.Sub(it.created)))
		}
	}
	return out
}

// truthFlow is PR flow over the PRs merged in [from, to).
type truthFlow struct {
	merged, withoutReview               int
	coding, pickup, review, deploy, cyc []float64
}

func (f *truthFacts) flow(from, to time.Time) truthFlow {
	var out truthFlow
	deployedAt := map[string]time.Time{}
	for _, d := range f.deps {
		for _, k := range d.changes {
			deployedAt[k] = d.finish
		}
	}
	for _, p := range f.prs {
		if p.merged.Before(from) || !p.merged.Before(to) {
			continue
		}
		out.merged++
		if !p.firstCommit.IsZero() {
			out.coding = append(out.coding, clampSpan(p.created.Sub(p.firstCommit)))
			out.cyc = append(out.cyc, clampSpan(p.merged.Sub(p.firstCommit)))
		}
		if p.review.IsZero() {
			out.withoutReview++
		} else {
			out.pickup = append(out.pickup, clampSpan(p.review.Sub(p.created)))
			out.review = append(out.review, clampSpan(p.merged.Sub(p.review)))
		}
		if at, ok := deployedAt[p.merge]; ok {
			out.deploy = append(out.deploy, clampSpan(at.Sub(p.merged)))
		}
	}
	return out
}

// prPhases writes each merged PR's phases as the pull request view shows
// them, for explaining a difference.
func (f *truthFacts) prPhases(from, to time.Time) map[string]string {
	deployedAt := map[string]time.Time{}
	for _, d := range f.deps {
		for _, k := range d.changes {
			deployedAt[k] = d.finish
		}
	}
	out := map[string]string{}
	span := func(a, b time.Time) any {
		if a.IsZero() || b.IsZero() {
			return nil
		}
		return clampSpan(b.Sub(a))
	}
	for _, p := range f.prs {
		if p.merged.Before(from) || !p.merged.Before(to) {
			continue
		}
		out[p.id] = fmt.Sprintf("coding %v pickup %v review %v deploy %v cycle %v", span(p.firstCommit, p.created),
			span(p.created, p.review), span(p.review, p.merged), span(p.merged, deployedAt[p.merge]), span(p.firstCommit, p.merged))
	}
	return out
}

func clampSpan(d time.Duration) float64 { return math.Max(0, d.Seconds()) }

// median is the ordinary median (mean of the two middle values); nil for none.
func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return &m
}

func toObj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func when(v any) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, str(v))
	return t
}
