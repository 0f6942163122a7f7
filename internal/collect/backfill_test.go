package collect_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// callCounter counts the requests a client sends (and the 429s it gets)
// and can cancel a context when the n-th request goes out.
type callCounter struct {
	base    http.RoundTripper
	n, n429 atomic.Int64
	wiql    atomic.Int64   // WIQL queries
	updates atomic.Int64   // work item update lists
	updated map[string]int // work item id → update lists read
	// cancelAtWiql, when set, cancels the context when the n-th WIQL query
	// goes out.
	cancelAtWiql atomic.Int64
	cancelAt     atomic.Int64
	// revokeAt, when set, sends a token the service does not know from the
	// n-th request on: the PAT expired or was revoked.
	revokeAt atomic.Int64
	mu       sync.Mutex
	cancel   context.CancelFunc
	areas    map[string]int // requests by API area (git, build, wit, release, environments, other)
}

// area names the API area of a request path.
// simHosts lists the loopback address the simulator listens on (plain
// http, release host on another port): the client refuses it otherwise.
var simHosts = netguard.MustParse("127.0.0.1:*")

func area(path string) string {
	p := strings.ToLower(path)
	for _, a := range []string{"git", "build", "wit", "release", "distributedtask", "hooks", "pipelines"} {
		if strings.Contains(p, "/_apis/"+a+"/") || strings.HasSuffix(p, "/_apis/"+a) {
			return a
		}
	}
	return "other"
}

// byArea returns the requests counted per API area and starts over.
func (c *callCounter) byArea() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.areas
	c.areas = nil
	return out
}

func (c *callCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.n.Add(1)
	c.mu.Lock()
	if c.areas == nil {
		c.areas = map[string]int{}
	}
	c.areas[area(r.URL.Path)]++
	c.mu.Unlock()
	if p := strings.ToLower(r.URL.Path); strings.HasSuffix(p, "/updates") {
		c.updates.Add(1)
		c.mu.Lock()
		if c.updated == nil {
			c.updated = map[string]int{}
		}
		c.updated[path.Base(path.Dir(p))]++
		c.mu.Unlock()
	}
	if strings.HasSuffix(strings.ToLower(r.URL.Path), "/_apis/wit/wiql") {
		if w := c.wiql.Add(1); w == c.cancelAtWiql.Load() {
			c.mu.Lock()
			if c.cancel != nil {
				c.cancel()
			}
			c.mu.Unlock()
		}
	}
	if at := c.cancelAt.Load(); at > 0 && n >= at {
		c.mu.Lock()
		if c.cancel != nil {
			c.cancel()
		}
		c.mu.Unlock()
	}
	if at := c.revokeAt.Load(); at > 0 && n >= at {
		r = r.Clone(r.Context())
		r.SetBasicAuth("", "revoked-token")
	}
	res, err := c.base.RoundTrip(r)
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		c.n429.Add(1)
	}
	return res, err
}

// quickClock is the client's clock in tests: Retry-After and backoff are
// honoured in order (the request waits) but last at most a millisecond, and
// the total asked for is kept.
type quickClock struct{ waited atomic.Int64 }

func (c *quickClock) Now() time.Time { return time.Now() }

func (c *quickClock) Sleep(ctx context.Context, d time.Duration) error {
	c.waited.Add(int64(d))
	return azdo.SystemClock{}.Sleep(ctx, min(d, time.Millisecond))
}

// clients is the ClientSource of the tests: one client, one integration.
type clients struct {
	client *azdo.Client
	in     store.Integration
}

func (c clients) Client(context.Context, string) (*azdo.Client, store.Integration, error) {
	return c.client, c.in, nil
}

// simEnv is an integration connected to a simulator, every project selected.
type simEnv struct {
	t        testing.TB
	sim      *azdosim.Sim
	db       *store.DB
	key      store.Key
	c        *collect.Collector
	calls    *callCounter
	client   *azdo.Client
	projects []store.Project
	// scopes are the simulator scopes of the PAT; nil means the manual's four.
	// compareWithTruth expects nothing of a kind the PAT cannot read.
	scopes map[string]bool
}

// canRead reports whether the env's PAT has the simulator scope.
func (e *simEnv) canRead(scope string) bool {
	if e.scopes == nil {
		return slices.Contains(azdosim.ManualScopes, scope)
	}
	return e.scopes[scope]
}

// backfilledDropping backfills a fresh workspace from sim, then has the
// simulator drop its hook deliveries, so that what happens next reaches
// the store only by reconciliation. It returns the environment and the
// start of the backfill window.
func backfilledDropping(t *testing.T, db *store.DB, sim *azdosim.Sim) (*simEnv, time.Time) {
	t.Helper()
	e := newSimEnv(t, db, sim, "acme", time.Now)
	if err := e.backfill(context.Background()); err != nil {
		t.Fatal(err)
	}
	from := e.window()
	if err := sim.SetDeliveryMode("drop", nil); err != nil {
		t.Fatal(err)
	}
	return e, from
}

func newSim(t testing.TB, profile string) *azdosim.Sim {
	t.Helper()
	return newSimWith(t, azdosim.Options{Profile: profile})
}

// newSimWith starts a simulator (Services and seed 1 unless o sets them)
// with rate limiting off.
func newSimWith(t testing.TB, o azdosim.Options) *azdosim.Sim {
	t.Helper()
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Mode == "" {
		o.Mode = "services"
	}
	o.Addr = "127.0.0.1:0"
	sim, err := azdosim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sim.Close() })
	if err := sim.SetFaults(azdosim.FaultConfig{RateLimit: &azdosim.RateLimitConfig{Limit: 0}}); err != nil {
		t.Fatal(err)
	}
	return sim
}

// newSimEnv connects a new workspace's integration to sim with the
// manual's four-scope PAT.
func newSimEnv(t testing.TB, db *store.DB, sim *azdosim.Sim, workspace string, now func() time.Time) *simEnv {
	t.Helper()
	return newSimEnvPAT(t, db, sim, workspace, now, sim.ManualPAT(), nil)
}

// newSimEnvPAT connects with a PAT of the given simulator scopes (nil: the
// manual's four).
func newSimEnvPAT(t testing.TB, db *store.DB, sim *azdosim.Sim, workspace string, now func() time.Time, pat string, scopes []string) *simEnv {
	t.Helper()
	return newSimEnvFor(t, db, sim, workspace, now, pat, scopes, azdo.ServicesDeployment)
}

// newSimEnvFor is newSimEnvPAT for a chosen deployment (Services, or a
// Server release and its api-version).
func newSimEnvFor(t testing.TB, db *store.DB, sim *azdosim.Sim, workspace string, now func() time.Time, pat string, scopes []string, dep azdo.Deployment) *simEnv {
	t.Helper()
	ctx := context.Background()
	ws, err := db.EnsureWorkspace(ctx, workspace, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kind := "services"
	if dep.Kind == azdo.Server {
		kind = "server"
	}
	in, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: ws.ID, Provider: "azure-devops", OrgURL: sim.OrgURL(),
		Deployment: kind, TokenSealed: "sealed", WebhookSecretSealed: "sealed", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	client, calls := testClientFor(t, sim, pat, dep)
	key := store.Key{IntegrationID: in.ID, WorkspaceID: ws.ID}
	e := &simEnv{t: t, sim: sim, db: db, key: key, calls: calls, client: client,
		c: collect.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), now)}
	if scopes != nil {
		e.scopes = map[string]bool{}
		for _, sc := range scopes {
			e.scopes[sc] = true
		}
	}
	e.c.AttachSource(azure.New(clients{client: client, in: in}))
	ps, err := client.ListProjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := db.UpsertProject(ctx, store.Project{Key: key, ProjectID: p.ID, Name: p.Name}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetProjectSelected(ctx, key, p.ID, true, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if e.projects, err = db.ListProjects(ctx, key, true); err != nil {
		t.Fatal(err)
	}
	calls.n.Store(0)
	return e
}

// testClient is a client of sim with pat whose requests are counted.
func testClient(t testing.TB, sim *azdosim.Sim, pat string) (*azdo.Client, *callCounter) {
	t.Helper()
	return testClientFor(t, sim, pat, azdo.ServicesDeployment)
}

// testClientFor is testClient for a chosen deployment.
func testClientFor(t testing.TB, sim *azdosim.Sim, pat string, dep azdo.Deployment) (*azdo.Client, *callCounter) {
	t.Helper()
	calls := &callCounter{base: http.DefaultTransport.(*http.Transport).Clone()}
	client, err := azdo.New(azdo.Options{OrgURL: sim.OrgURL(), PAT: secret.New(pat), Deployment: dep, Hosts: simHosts,
		HTTPClient: &http.Client{Transport: calls}, MaxConcurrent: 8, Clock: &quickClock{},
		Retry: azdo.RetryPolicy{MaxRetries: 12, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return client, calls
}

// backfill runs one backfill job per project at once, as the queue would.
func (e *simEnv) backfill(ctx context.Context) error {
	errs := make([]error, len(e.projects))
	var wg sync.WaitGroup
	for i, p := range e.projects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.c.Backfill(ctx, collect.BackfillArgs{IntegrationID: e.key.IntegrationID, ProjectID: p.ProjectID})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// window is the backfill window's start, read from the progress report.
func (e *simEnv) window() time.Time {
	e.t.Helper()
	ps, err := collect.Progress(context.Background(), e.db, e.key, azure.Resources)
	if err != nil || len(ps) == 0 || ps[0].From == nil {
		e.t.Fatalf("no backfill progress: %v %v", ps, err)
	}
	for _, p := range ps {
		if p.Finished == nil || p.Fraction != 1 {
			e.t.Fatalf("project %s not finished: %+v", p.ProjectID, p)
		}
	}
	return *ps[0].From
}

var all = store.Filter{Limit: 1 << 30}

// dump renders every row the integration stored, without its own ids and
// fetch times, one line per row, sorted: equal dumps mean identical data.
func (e *simEnv) dump() []string {
	e.t.Helper()
	ctx := context.Background()
	f := all
	f.WorkspaceID = e.key.WorkspaceID
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	must := func(err error) {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	repos, err := e.db.ListRepositories(ctx, e.key.WorkspaceID, "")
	must(err)
	for _, r := range repos {
		add("repo %s %s %s %s %v", r.RepoID, r.ProjectID, r.Name, r.DefaultBranch, r.IsDisabled)
	}
	commits, err := e.db.ListCommits(ctx, f)
	must(err)
	for _, c := range commits {
		add("commit %s %s %s %s %s %q %d/%d/%d %v", c.RepoID, c.SHA, c.ProjectID, c.AuthorEmail, ts(c.AuthorDate), c.Message,
			c.Adds, c.Edits, c.Deletes, c.Parents)
	}
	prs, err := e.db.ListPullRequests(ctx, f)
	must(err)
	for _, p := range prs {
		d, err := e.db.GetPRDetails(ctx, p.Ref())
		must(err)
		add("pr %d %s %s %q %d %s %v %s %s %s %s", p.PRID, p.RepoID, p.Status, p.Title, len(p.Description), p.AuthorID, p.IsDraft,
			ts(p.CreatedAt), tsp(p.ClosedAt), p.MergeCommit, p.TargetRef)
		for _, r := range d.Reviewers {
			add("pr %d reviewer %s %d %s %v", p.PRID, r.ReviewerID, r.Vote, tsp(r.VotedAt), r.IsRequired)
		}
		for _, c := range d.Comments {
			add("pr %d comment %d/%d %s %s %v %s %s", p.PRID, c.ThreadID, c.CommentID, c.AuthorID, c.CommentType, c.IsDeleted,
				ts(c.PublishedAt), ts(c.UpdatedAt))
		}
		add("pr %d commits %v work items %v", p.PRID, d.Commits, d.WorkItems)
	}
	runs, err := e.db.ListPipelineRuns(ctx, f)
	must(err)
	for _, r := range runs {
		add("run %d %s %d %s %s %s %s %s %s %s %s %s", r.RunID, r.ProjectID, r.DefinitionID, r.RepoID, r.SourceBranch, r.SourceVersion,
			r.Status, r.Result, tsp(r.QueuedAt), tsp(r.StartedAt), tsp(r.FinishedAt), r.Tags)
		for _, s := range r.Stages {
			add("run %d stage %s %s %s %s %s", r.RunID, s.Name, s.State, s.Result, tsp(s.StartedAt), tsp(s.FinishedAt))
		}
	}
	deps, err := e.db.ListDeployments(ctx, f, false)
	must(err)
	for _, d := range deps {
		add("deployment %s %s %s %s %v %s %d %s %s %s", d.DeploymentKey, d.Source, d.RepoID, d.Environment, d.IsProduction,
			d.Result, d.RunID, d.SHA, tsp(d.StartedAt), tsp(d.FinishedAt))
	}
	wis, err := e.db.ListWorkItems(ctx, f)
	must(err)
	for _, w := range wis {
		add("wi %d %s %d %s %q %s %s %q %s %s %s %s %v", w.WorkItemID, w.ProjectID, w.Rev, w.Type, w.Title, w.State, w.StateCategory,
			w.Tags, ts(w.CreatedAt), ts(w.ChangedAt), tsp(w.ResolvedAt), tsp(w.ClosedAt), w.IsDeleted)
		links, err := e.db.ListWorkItemLinks(ctx, e.key.WorkspaceID, e.key.IntegrationID, w.Ref())
		must(err)
		for _, l := range links {
			add("wi %d link %s %s", w.WorkItemID, l.TargetKind, l.TargetID)
		}
	}
	sort.Strings(out)
	return out
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func tsp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return ts(*t)
}

// truth reads the simulator's ground truth of one kind in the window.
func (e *simEnv) truth(kind string, from time.Time) []map[string]any {
	e.t.Helper()
	res, err := e.sim.TruthItems(kind, "", from.UTC().Format(time.RFC3339), "")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for _, it := range res["items"].([]any) {
		out = append(out, toMap(it))
	}
	return out
}

// toMap reads one of the simulator's item objects.
func toMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// compareWithTruth checks every kind we store against the simulator's truth
// for the window: the same items with the same fields.
// truthScope is the simulator scope each compared kind is read with.
var truthScope = map[string]string{"commits": "vso.code", "commit work item links": "vso.code", "pull requests": "vso.code",
	"pipeline runs": "vso.build", "environment deployments": "vso.environment_manage", "release deployments": "vso.release",
	"work items": "vso.work", "incident resolution": "vso.work"}

func (e *simEnv) compareWithTruth(from time.Time) {
	e.t.Helper()
	ctx := context.Background()
	f := all
	f.WorkspaceID, f.From = e.key.WorkspaceID, from
	check := func(kind string, got, want []string) {
		e.t.Helper()
		if scope := truthScope[kind]; scope != "" && !e.canRead(scope) {
			want = nil // the PAT cannot read it: nothing of it is stored
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			missing, extra := diff(want, got), diff(got, want)
			e.t.Errorf("%s: %d stored, %d in truth; missing %d %v; extra %d %v", kind, len(got), len(want),
				len(missing), head(missing), len(extra), head(extra))
		}
	}
	str := func(v any) string {
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case nil:
			return ""
		}
		return fmt.Sprint(v)
	}
	sec := func(v any) string { // truth times are whole seconds, RFC 3339
		s := str(v)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
		return s
	}
	secp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}

	// Commits: id, author, time, and the work item the message mentions.
	commits, err := e.db.ListCommits(ctx, f)
	if err != nil {
		e.t.Fatal(err)
	}
	var got, want []string
	for _, c := range commits {
		got = append(got, fmt.Sprintf("%s %s %s", c.SHA, c.AuthorEmail, secp(&c.AuthorDate)))
	}
	branches := map[string]int{}
	for _, c := range e.truth("commits", from) {
		want = append(want, fmt.Sprintf("%s %s %s", str(c["commit_id"]), str(c["author_email"]), sec(c["author_date"])))
		branches[strings.SplitN(str(c["branch"]), "/", 4)[2]]++
	}
	check("commits", got, want)
	// The truth holds every branch's commits: the default one, the pull
	// requests' source branches and a long-lived develop branch.
	if branches["main"] == 0 || branches["feature"] == 0 || branches["develop"] == 0 {
		e.t.Errorf("truth commits by branch %v: want commits on main, feature/… and develop", branches)
	}
	got, want = nil, nil
	for _, c := range e.truth("commits", from) {
		if wi := str(c["work_item"]); wi != "0" {
			want = append(want, wi+" "+str(c["commit_id"]))
			links, err := e.db.ListWorkItemLinks(ctx, e.key.WorkspaceID, e.key.IntegrationID, store.WorkItemRef{ID: mustInt(wi)})
			if err != nil {
				e.t.Fatal(err)
			}
			for _, l := range links {
				if l.TargetKind == "commit" && strings.HasSuffix(l.TargetID, ":"+str(c["commit_id"])) {
					got = append(got, wi+" "+str(c["commit_id"]))
					break
				}
			}
		}
	}
	check("commit work item links", got, want)

	// Pull requests created in the window, with reviewers, votes and their times, work items, merge commit.
	prs, err := e.db.ListPullRequests(ctx, f)
	if err != nil {
		e.t.Fatal(err)
	}
	got, want = nil, nil
	for _, p := range prs {
		d, err := e.db.GetPRDetails(ctx, p.Ref())
		if err != nil {
			e.t.Fatal(err)
		}
		var revs []string
		for _, r := range d.Reviewers {
			revs = append(revs, fmt.Sprintf("%s=%d@%s", strings.ToLower(r.ReviewerID), r.Vote, secp(r.VotedAt)))
		}
		sort.Strings(revs)
		got = append(got, fmt.Sprintf("%d %s %v %s %s %s %v %v %d", p.PRID, p.Status, p.IsDraft, secp(&p.CreatedAt), secp(p.ClosedAt),
			p.MergeCommit, revs, workItemIDs(d.WorkItems), len(d.Commits)))
	}
	for _, p := range e.truth("pull_requests", from) {
		var revs []string
		for _, r := range p["reviewers"].([]any) {
			rm := toMap(r)
			at := ""
			if str(rm["vote"]) != "0" {
				at = sec(rm["voted_at"])
			}
			revs = append(revs, fmt.Sprintf("%s=%s@%s", strings.ToLower(str(rm["id"])), str(rm["vote"]), at))
		}
		sort.Strings(revs)
		var wis []int64
		for _, w := range p["work_items"].([]any) {
			wis = append(wis, mustInt(str(w)))
		}
		slices.Sort(wis)
		wis = slices.Compact(wis)
		closed := ""
		if p["closed"] != nil && str(p["closed"]) != "" {
			closed = sec(p["closed"])
		}
		merge := ""
		if str(p["status"]) == "completed" {
			merge = str(p["merge_commit"])
		}
		want = append(want, fmt.Sprintf("%s %s %v %s %s %s %v %v %s", str(p["id"]), str(p["status"]), p["is_draft"], sec(p["created"]),
			closed, merge, revs, wis, str(p["commits"])))
	}
	check("pull requests", got, want)

	// Runs finished in the window, with stage results.
	runs, err := e.db.ListPipelineRuns(ctx, f)
	if err != nil {
		e.t.Fatal(err)
	}
	got, want = nil, nil
	gone := map[string]bool{} // deleted builds: their timeline (stages) answers 404
	for _, r := range runs {
		if len(r.Stages) == 0 {
			_, err := e.client.BuildTimeline(ctx, r.ProjectID, int(r.RunID))
			gone[strconv.FormatInt(r.RunID, 10)] = delivery.IsNotFound(err)
		}
		var st []string
		for _, s := range r.Stages {
			st = append(st, s.Name+"="+s.Result)
		}
		sort.Strings(st)
		got = append(got, fmt.Sprintf("%d %s %s %s %s %v", r.RunID, r.Status, r.Result, secp(r.FinishedAt), r.SourceVersion, st))
	}
	for _, r := range e.truth("pipeline_runs", from) {
		var st []string
		for name, res := range toMap(r["stages"]) {
			st = append(st, name+"="+str(res))
		}
		sort.Strings(st)
		if len(st) == 0 || gone[str(r["id"])] {
			st = nil
		}
		want = append(want, fmt.Sprintf("%s %s %s %s %s %v", str(r["id"]), str(r["status"]), str(r["result"]), sec(r["finish_time"]),
			str(r["commit_id"]), st))
	}
	check("pipeline runs", got, want)

	// Environment deployments and classic release deployments.
	deps, err := e.db.ListDeployments(ctx, f, false)
	if err != nil {
		e.t.Fatal(err)
	}
	got, want = nil, nil
	var gotRel, wantRel []string
	for _, d := range deps {
		switch {
		case strings.HasPrefix(d.DeploymentKey, "env:"):
			got = append(got, fmt.Sprintf("%s %s %s %d %s %s", strings.TrimPrefix(d.DeploymentKey, "env:"), d.Environment, d.Result,
				d.RunID, secp(d.FinishedAt), d.SHA))
		case d.Source == "release":
			k := strings.Split(d.DeploymentKey, ":") // release:{release}:{release environment}:{attempt}
			gotRel = append(gotRel, fmt.Sprintf("%s %s %s %s %s", k[1], d.Environment, k[3], strings.ToLower(d.Result), secp(d.FinishedAt)))
		}
	}
	for _, d := range e.truth("deployments", from) {
		want = append(want, fmt.Sprintf("%s %s %s %s %s %s", str(d["id"]), str(d["environment"]), str(d["result"]), str(d["run_id"]),
			sec(d["finish_time"]), str(d["commit_id"])))
	}
	check("environment deployments", got, want)
	for _, d := range e.truth("release_deployments", from) {
		wantRel = append(wantRel, fmt.Sprintf("%s %s %s %s %s", strings.TrimPrefix(str(d["release"]), "Release-"), str(d["environment"]),
			str(d["attempt"]), strings.ToLower(str(d["status"])), sec(d["completed_on"])))
	}
	check("release deployments", gotRel, wantRel)

	// Work items changed in the window.
	wis, err := e.db.ListWorkItems(ctx, f)
	if err != nil {
		e.t.Fatal(err)
	}
	got, want = nil, nil
	var gotInc, wantInc []string
	for _, w := range wis {
		if !w.IsDeleted {
			got = append(got, fmt.Sprintf("%d %s %s %q %s %s", w.WorkItemID, w.Type, w.State, w.Tags, secp(&w.CreatedAt), secp(&w.ChangedAt)))
			if incident(w.Type, w.Tags) {
				gotInc = append(gotInc, fmt.Sprintf("%d resolved %s closed %s", w.WorkItemID, secp(w.ResolvedAt), secp(w.ClosedAt)))
			}
		}
	}
	for _, w := range e.truth("work_items", from) {
		want = append(want, fmt.Sprintf("%s %s %s %q %s %s", str(w["id"]), str(w["type"]), str(w["state"]), str(w["tags"]),
			sec(w["created"]), sec(w["changed"])))
		if incident(str(w["type"]), str(w["tags"])) {
			resolved, closed := truthResolution(w["revisions"].([]any))
			wantInc = append(wantInc, fmt.Sprintf("%s resolved %s closed %s", str(w["id"]), sec(resolved), sec(closed)))
		}
	}
	check("work items", got, want)
	// Incidents' resolution and close times (the only ones a figure reads),
	// whether or not the item's fields carried the dates.
	check("incident resolution", gotInc, wantInc)
}

// incident applies METRICS.md's default incident rule: type Bug or
// Incident tagged incident, or type Incident.
func incident(typ, tags string) bool {
	tagged := slices.ContainsFunc(strings.Split(tags, ";"), func(t string) bool { return strings.EqualFold(strings.TrimSpace(t), "incident") })
	return typ == "Incident" || typ == "Bug" && tagged
}

// truthResolution replays a truth work item's revisions by METRICS.md
// (Incident): resolved at the first change into Resolved, closed at the
// change into Closed, both cleared when it goes back to New or Active.
// Whether the service's fields carried the dates does not matter.
func truthResolution(revs []any) (resolved, closed any) {
	prev := ""
	for _, r := range revs {
		m := toMap(r)
		state := fmt.Sprint(m["state"])
		if state != prev {
			switch state {
			case "New", "Active":
				resolved, closed = nil, nil
			case "Resolved":
				if prev != "Closed" && resolved == nil {
					resolved = m["date"]
				}
			case "Closed":
				if closed == nil {
					closed = m["date"]
				}
			}
		}
		prev = state
	}
	return resolved, closed
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// diff lists what a has and b lacks.
func diff(a, b []string) []string {
	in := map[string]int{}
	for _, x := range b {
		in[x]++
	}
	var out []string
	for _, x := range a {
		if in[x] > 0 {
			in[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// TestBackfillEqualsTruth backfills the small organization without faults
// and again, into another workspace, with 20 % of calls failing (5xx, 429,
// resets): both equal the simulator's truth for the window and each other.
func TestBackfillEqualsTruth(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		frozen := time.Now() // one window for both backfills
		now := func() time.Time { return frozen }
		clean := newSimEnv(t, db, sim, "clean", now)
		if err := clean.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		from := clean.window()
		clean.compareWithTruth(from)
		t.Logf("clean backfill: %d API calls", clean.calls.n.Load())

		if err := sim.SetFaults(azdosim.FaultConfig{RateLimit: &azdosim.RateLimitConfig{Limit: 0}, Rules: []azdosim.FaultRule{
			{Status: 503, Rate: 0.08}, {Status: 429, Rate: 0.06}, {Reset: true, Rate: 0.04}, {Status: 500, Rate: 0.02}}}); err != nil {
			t.Fatal(err)
		}
		faulty := newSimEnv(t, db, sim, "faulty", now)
		if err := faulty.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		if err := sim.SetFaults(azdosim.FaultConfig{RateLimit: &azdosim.RateLimitConfig{Limit: 0}}); err != nil {
			t.Fatal(err)
		}
		t.Logf("faulty backfill: %d API calls, %d answered 429", faulty.calls.n.Load(), faulty.calls.n429.Load())
		faulty.compareWithTruth(faulty.window())
		a, b := clean.dump(), faulty.dump()
		if !slices.Equal(a, b) {
			t.Errorf("rows differ with faults: %d vs %d rows; only clean %v; only faulty %v", len(a), len(b),
				head(diff(a, b)), head(diff(b, a)))
		}
		in, err := db.GetIntegrationByID(ctx, clean.key.IntegrationID)
		if err != nil || in.LastSyncAt == nil {
			t.Errorf("integration not marked synced: %v %v", in.LastSyncAt, err)
		}
	})
}

// workItemIDs are Azure DevOps work item refs as ids; a ref of another
// container than Azure's empty one shows as -1, so that it fails the comparison.
func workItemIDs(refs []store.WorkItemRef) []int64 {
	var out []int64
	for _, w := range refs {
		if w.Container != "" {
			w.ID = -1
		}
		out = append(out, w.ID)
	}
	return out
}
