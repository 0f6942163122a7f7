package githubsim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// profile sizes a generated organization.
type profile struct {
	repos       int
	pulls       int // per repository
	issues      int // plain issues per repository
	runs        int // workflow runs per repository
	deployments int // per repository
	users       int
	bigPull     int // commits of one extra pull request in the first repository (0: none)
	days        int // history length
}

var profiles = map[string]profile{
	// small: tests. 45 pull requests a repository pass gh's and octokit's default page of 30;
	// one pull request has 260 commits, past GitHub's 250-commit cap of its commits list.
	"small":  {repos: 2, pulls: 45, issues: 12, runs: 40, deployments: 15, users: 5, bigPull: 260, days: 60},
	"medium": {repos: 4, pulls: 150, issues: 40, runs: 200, deployments: 60, users: 12, bigPull: 260, days: 120},
	"large":  {repos: 8, pulls: 600, issues: 150, runs: 1200, deployments: 250, users: 40, bigPull: 300, days: 365},
}

// ProfileNames lists the profiles New accepts.
func ProfileNames() []string { return []string{"small", "medium", "large"} }

// DefaultOrg is the login of the generated organization.
const DefaultOrg = "pandev-sim"

type world struct {
	users  []*user
	admin  *user // the owner of the tokens New creates
	org    *org
	nextID int64
	rng    *rand.Rand
	seed   int64
}

func (w *world) id() int64 { w.nextID++; return w.nextID }

func (w *world) sha(parts ...any) string {
	h := sha1.New()
	fmt.Fprint(h, w.seed, w.nextID)
	for _, p := range parts {
		fmt.Fprint(h, "|", p)
	}
	w.nextID++
	return hex.EncodeToString(h.Sum(nil))
}

var repoNames = []string{"api", "web", "mobile", "infra", "billing", "search", "auth", "docs", "ingest", "reports"}
var firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
var paths = []string{"cmd/main.go", "internal/api/handler.go", "internal/store/db.go", "README.md", "web/app.ts", "docs/guide.md", "Makefile", "internal/auth/token.go"}

func generate(seed int64, p profile, now time.Time) *world {
	w := &world{rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)), seed: seed, nextID: 1000}
	start := now.Add(-time.Duration(p.days) * 24 * time.Hour).Truncate(time.Second)
	w.admin = &user{id: w.id(), login: "octo-admin", name: "Octo Admin", email: "octo-admin@example.com", created: start.AddDate(-3, 0, 0)}
	w.users = append(w.users, w.admin)
	for i := 0; i < p.users; i++ {
		n := firstNames[i%len(firstNames)]
		if i >= len(firstNames) {
			n = fmt.Sprintf("%s%d", n, i/len(firstNames))
		}
		w.users = append(w.users, &user{id: w.id(), login: n, name: n, email: n + "@example.com", created: start.AddDate(-2, 0, 0)})
	}
	w.org = &org{id: w.id(), login: DefaultOrg, name: "PanDev Sim", created: start.AddDate(-1, 0, 0), members: w.users}
	for i := 0; i < p.repos; i++ {
		name := repoNames[i%len(repoNames)]
		if i >= len(repoNames) {
			name = fmt.Sprintf("%s-%d", name, i/len(repoNames))
		}
		big := 0
		if i == 0 {
			big = p.bigPull
		}
		w.org.repos = append(w.org.repos, w.genRepo(name, p, big, start, now))
	}
	return w
}

func (w *world) pick() *user { return w.users[1+w.rng.IntN(len(w.users)-1)] }

// at is a time between a and b.
func (w *world) at(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(w.rng.Int64N(int64(b.Sub(a))))).Truncate(time.Second)
}

func (w *world) newCommit(r *repo, msg string, who *user, at time.Time, parents ...string) *commit {
	c := &commit{sha: w.sha(r.name, msg, at.Unix()), tree: w.sha("tree"), message: msg, author: who, authored: at, committed: at,
		parents: parents, additions: 1 + w.rng.IntN(80), deletions: w.rng.IntN(30)}
	n := 1 + w.rng.IntN(3)
	for j := 0; j < n; j++ {
		c.files = append(c.files, paths[w.rng.IntN(len(paths))])
	}
	r.commits[c.sha] = c
	return c
}

func (w *world) genRepo(name string, p profile, big int, start, now time.Time) *repo {
	r := &repo{id: w.id(), name: name, owner: w.org, private: true, description: "Simulated " + name + " service",
		defaultBranch: "main", created: start.Add(-24 * time.Hour), branches: map[string][]*commit{}, commits: map[string]*commit{}, nextNum: 1}
	for _, l := range []struct{ n, c, d string }{{"bug", "d73a4a", "Something isn't working"}, {"enhancement", "a2eeef", "New feature or request"}, {"incident", "b60205", "Production incident"}} {
		r.labels = append(r.labels, &label{id: w.id(), name: l.n, color: l.c, desc: l.d})
	}
	root := w.newCommit(r, "Initial commit", w.admin, r.created)
	main := []*commit{root}
	// Pull requests, in creation order; each merged one adds its merge commit on main.
	type ev struct {
		at time.Time
		pr *pull
	}
	var created []time.Time
	for i := 0; i < p.pulls; i++ {
		created = append(created, w.at(start, now.Add(-2*time.Hour)))
	}
	sort.Slice(created, func(a, b int) bool { return created[a].Before(created[b]) })
	for i, c := range created {
		n := 1 + w.rng.IntN(6)
		if i == 0 && big > 0 {
			n = big
		}
		w.genPull(r, c, n, now, &main)
	}
	for i := 0; i < p.issues; i++ {
		w.genIssue(r, w.at(start, now.Add(-time.Hour)), now)
	}
	sort.SliceStable(r.issues, func(a, b int) bool { return r.issues[a].number < r.issues[b].number })
	sort.SliceStable(main, func(a, b int) bool { return main[a].committed.After(main[b].committed) })
	r.branches["main"] = main
	r.pushed = main[0].committed
	r.updated = r.pushed
	for _, e := range []string{"staging", "production"} {
		r.envs = append(r.envs, &environment{id: w.id(), name: e, created: r.created, updated: r.created})
	}
	for i := 0; i < p.runs; i++ {
		c := main[w.rng.IntN(len(main))]
		w.genRun(r, c, "main", "push", c.committed.Add(time.Duration(5+w.rng.IntN(60))*time.Second), true)
	}
	sort.Slice(r.runs, func(a, b int) bool { return r.runs[a].created.Before(r.runs[b].created) })
	for i, rn := range r.runs {
		rn.number = i + 1
	}
	for i := 0; i < p.deployments; i++ {
		c := main[w.rng.IntN(len(main))]
		env := "staging"
		if w.rng.IntN(2) == 0 {
			env = "production"
		}
		state := "success"
		if w.rng.IntN(6) == 0 {
			state = "failure"
		}
		w.genDeployment(r, c, env, state, c.committed.Add(time.Duration(10+w.rng.IntN(600))*time.Minute))
	}
	sort.Slice(r.deploys, func(a, b int) bool { return r.deploys[a].created.Before(r.deploys[b].created) })
	return r
}

// genPull adds a pull request opened at created with n commits; most are merged, some closed, some open.
func (w *world) genPull(r *repo, created time.Time, n int, now time.Time, main *[]*commit) *pull {
	author := w.pick()
	num := r.nextNum
	r.nextNum++
	head := fmt.Sprintf("feature/%s-%d", author.login, num)
	pr := &pull{id: w.id(), number: num, title: fmt.Sprintf("Change %d in %s", num, r.name), body: "Generated change.", user: author,
		state: "open", created: created, updated: created, headRef: head, baseRef: "main"}
	first := created.Add(-time.Duration(1+w.rng.IntN(48)) * time.Hour)
	parent := (*main)[len(*main)-1].sha
	for j := 0; j < n; j++ {
		at := first.Add(time.Duration(j) * time.Duration(int64(created.Sub(first))/int64(n+1)))
		c := w.newCommit(r, fmt.Sprintf("Work %d on #%d", j+1, num), author, at, parent)
		c.branchHint = head
		parent = c.sha
		pr.commits = append(pr.commits, c)
		pr.additions += c.additions
		pr.deletions += c.deletions
	}
	pr.changedFiles = 1 + w.rng.IntN(8)
	r.branches[head] = reverse(pr.commits)
	iss := &issue{id: w.id(), number: num, title: pr.title, body: pr.body, user: author, state: "open", created: created, updated: created, pull: pr}
	pr.issue = iss
	r.issues = append(r.issues, iss)
	r.pulls = append(r.pulls, pr)
	// Reviews and comments.
	t := created
	nrev := w.rng.IntN(3)
	for j := 0; j < nrev; j++ {
		t = w.at(t, t.Add(time.Duration(1+w.rng.IntN(30))*time.Hour))
		if t.After(now) {
			break
		}
		rv := w.pick()
		for rv == author {
			rv = w.users[w.rng.IntN(len(w.users))]
		}
		state := []string{"APPROVED", "COMMENTED", "CHANGES_REQUESTED"}[w.rng.IntN(3)]
		rev := &review{id: w.id(), user: rv, state: state, body: "Looks " + state, submitted: t, commitID: parent}
		pr.reviews = append(pr.reviews, rev)
		if state != "APPROVED" {
			pr.comments = append(pr.comments, &reviewComment{id: w.id(), reviewID: rev.id, body: "Please check this line.", path: pr.commits[0].files[0], line: 1 + w.rng.IntN(40), user: rv, created: t, updated: t, commitID: parent})
		}
		pr.updated = t
	}
	if w.rng.IntN(3) == 0 {
		t = w.at(created, t.Add(2*time.Hour))
		if t.Before(now) {
			iss.comments = append(iss.comments, &issueComment{id: w.id(), body: "Thanks!", user: w.pick(), created: t, updated: t, issue: iss})
			pr.updated = maxTime(pr.updated, t)
		}
	}
	switch x := w.rng.IntN(10); {
	case x < 7: // merged
		end := w.at(pr.updated, pr.updated.Add(time.Duration(1+w.rng.IntN(72))*time.Hour))
		if end.Before(now) {
			mc := w.newCommit(r, fmt.Sprintf("Merge pull request #%d from %s", num, head), w.admin, end, (*main)[len(*main)-1].sha, parent)
			*main = append(*main, pr.commits...) // reachable from main once merged, as git log lists them
			*main = append(*main, mc)
			pr.state, pr.closed, pr.merged, pr.mergedBy, pr.mergeSHA, pr.updated = "closed", end, end, w.admin, mc.sha, end
		}
	case x < 8: // closed without merging
		end := w.at(pr.updated, pr.updated.Add(48*time.Hour))
		if end.Before(now) {
			pr.state, pr.closed, pr.updated = "closed", end, end
		}
	default:
		pr.draft = x == 9
	}
	iss.state, iss.closed, iss.updated = pr.state, pr.closed, pr.updated
	return pr
}

func (w *world) genIssue(r *repo, created, now time.Time) *issue {
	num := r.nextNum
	r.nextNum++
	iss := &issue{id: w.id(), number: num, title: fmt.Sprintf("Issue %d in %s", num, r.name), body: "Generated issue.", user: w.pick(), state: "open", created: created, updated: created}
	iss.labels = []*label{r.labels[w.rng.IntN(len(r.labels))]}
	if w.rng.IntN(2) == 0 {
		end := w.at(created, created.Add(96*time.Hour))
		if end.Before(now) {
			iss.state, iss.reason, iss.closed, iss.updated = "closed", "completed", end, end
		}
	}
	r.issues = append(r.issues, iss)
	return iss
}

func (w *world) genRun(r *repo, c *commit, branch, event string, created time.Time, done bool) *run {
	rn := &run{id: w.id(), number: len(r.runs) + 1, attempt: 1, name: "CI", path: ".github/workflows/ci.yml", workflowID: 161335, event: event,
		status: "queued", headBranch: branch, headSHA: c.sha, actor: c.author, created: created, updated: created, started: created}
	if done {
		rn.status, rn.conclusion = "completed", "success"
		if x := w.rng.IntN(10); x == 0 {
			rn.conclusion = "failure"
		} else if x == 1 {
			rn.conclusion = "cancelled"
		}
		rn.updated = created.Add(time.Duration(60+w.rng.IntN(900)) * time.Second)
	}
	r.runs = append(r.runs, rn)
	return rn
}

func (w *world) genDeployment(r *repo, c *commit, env, final string, created time.Time) *deployment {
	d := &deployment{id: w.id(), sha: c.sha, ref: "main", task: "deploy", environment: env, description: "Deploy " + c.sha[:7], creator: w.admin, created: created, updated: created}
	d.statuses = append(d.statuses, &deploymentStatus{id: w.id(), state: "in_progress", environment: env, creator: w.admin, created: created})
	if final != "" {
		end := created.Add(time.Duration(30+w.rng.IntN(600)) * time.Second)
		d.statuses = append(d.statuses, &deploymentStatus{id: w.id(), state: final, environment: env, creator: w.admin, created: end, description: "Deployment " + final})
		d.updated = end
	}
	r.deploys = append(r.deploys, d)
	return d
}

func reverse[T any](in []T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[len(in)-1-i] = v
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
