package collect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// Tests of the collection against service rules the simulator learned from
// Azure DevOps (docs/simulator.md, "Strictness rules").

// TestBackfillPullRequestListsCappedSilently: the pull request lists return
// at most 1000 items a page whatever $top asks, and nothing says a page was
// cut (rfennell/AzurePipelines#843). With the cap lowered below the
// backfill's page size, a walk that ends at the first page shorter than
// $top collected only the first page; the backfill must still equal the
// truth.
func TestBackfillPullRequestListsCappedSilently(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		if err := sim.SetLimits(azdosim.Limits{PullRequestTopMax: 7}); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, db, sim, "capped", azdo.ServicesDeployment, nil)
		if err := e.backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.compareWithTruth(e.window())
	})
}

// newServerSim starts a simulator in Server mode (collection URL, release
// area on the same base, api-versions capped at the release's), rate
// limiting off.
func newServerSim(t testing.TB, version string) *azdosim.Sim {
	t.Helper()
	return newSimWith(t, azdosim.Options{Profile: "small", Mode: "server", ServerVersion: version})
}

// newEnv is newSimEnvPAT with a chosen deployment (Services, or a Server
// release and its api-version): a PAT of the given scopes, nil for the
// manual's four.
func newEnv(t testing.TB, db *store.DB, sim *azdosim.Sim, workspace string, dep azdo.Deployment, scopes []string) *simEnv {
	t.Helper()
	pat := sim.ManualPAT()
	if scopes != nil {
		pat = sim.NewPAT(scopes, "", time.Time{})
	}
	return newSimEnvFor(t, db, sim, workspace, time.Now, pat, scopes, dep)
}

// prListLog records the pull request list calls a client makes, in order.
type prListLog struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []url.URL
}

func (l *prListLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(strings.ToLower(r.URL.Path), "/_apis/git/pullrequests") {
		l.mu.Lock()
		l.reqs = append(l.reqs, *r.URL)
		l.mu.Unlock()
	}
	return l.base.RoundTrip(r)
}

// walks splits the recorded status=all list calls into walks (each starts
// without $skip) and returns each walk's page count, in order.
func (l *prListLog) walks() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for _, u := range l.reqs {
		q := u.Query()
		if q.Get("searchCriteria.status") != "all" {
			continue
		}
		if q.Get("$skip") == "" {
			out = append(out, 0)
		}
		out[len(out)-1]++
	}
	return out
}

// TestReconcileServer2022PullRequestCalls: Server 2019/2020/2022 cannot
// filter the pull request lists by time (searchCriteria.minTime and
// queryTimeRangeType are absent from the Pull Requests operations of the
// server-5.0/6.0/7.0 git-onprem.json), so the client filters the pages.
// The list is newest first by creation (samples/rest/git.pullrequests.list*.json:
// ids and creation dates descending): the walk of PRs created since the
// watermark ends at the first page that reaches older ones, and only the
// walk of PRs closed since reads every page. The cap of the list is
// lowered so that a project's PRs take several pages.
func TestReconcileServer2022PullRequestCalls(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newServerSim(t, "2022")
		const pageCap = 10
		if err := sim.SetLimits(azdosim.Limits{PullRequestTopMax: pageCap}); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, db, sim, "onprem", azdo.Deployment{Kind: azdo.Server, Release: "2022", APIVersion: "7.0"}, nil)
		ctx := context.Background()
		if err := e.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		e.compareWithTruth(e.window())

		log := &prListLog{base: e.calls.base}
		e.calls.base = log
		e.calls.n.Store(0)
		if _, err := e.c.Reconcile(ctx, e.key.IntegrationID); err != nil {
			t.Fatal(err)
		}
		walks := log.walks()
		t.Logf("reconcile: %d API calls; status=all pull request walks (pages, per project: created, closed): %v", e.calls.n.Load(), walks)
		if len(walks) != 2*len(e.projects) {
			t.Fatalf("%d status=all walks for %d projects, want a created and a closed walk each", len(walks), len(e.projects))
		}
		for i := 0; i < len(walks); i += 2 {
			created, closed := walks[i], walks[i+1]
			if closed < 3 {
				t.Fatalf("project %d: the closed walk read %d pages; the test needs a project of several pages", i/2, closed)
			}
			if created > 1 {
				t.Errorf("project %d: the walk of pull requests created since the watermark read %d pages (the closed walk %d): "+
					"it should end at the first page reaching older ones", i/2, created, closed)
			}
		}
	})
}

// TestBackfillReleaseDeploymentsWithoutCompletedOn: finished classic
// release deployments do not always carry completedOn (none of the 17 in
// samples/rest/release.deployments.list.json does; they carry
// lastModifiedOn). The backfill and a reconciliation store them all, at
// their last modification.
func TestBackfillReleaseDeploymentsWithoutCompletedOn(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		// Classic release deployments need Release: Read, an optional scope.
		e := newEnv(t, db, sim, "releases", azdo.ServicesDeployment, azdosim.AllScopes)
		if err := e.backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		from := e.window()
		if err := sim.SetDeliveryMode("drop", nil); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, p := range e.projects {
			for d, err := range e.client.ReleaseDeployments(context.Background(), p.ProjectID,
				azdo.ReleaseDeploymentQuery{MinModifiedTime: from, DeploymentStatus: "all"}) {
				if err != nil {
					t.Fatal(err)
				}
				if d.DeploymentStatus != "inProgress" && d.CompletedOn.IsZero() {
					missing++
				}
			}
		}
		if missing == 0 {
			t.Fatal("every finished release deployment in the window has completedOn: the test shows nothing")
		}
		t.Logf("%d finished release deployments in the window without completedOn", missing)
		e.compareWithTruth(from)
		// A release deployment made after the backfill, its delivery dropped,
		// reaches the store through the reconciliation.
		for range 3 {
			if _, err := sim.Activity(azdosim.ActivityRequest{Kind: "release_deployment"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.c.Reconcile(context.Background(), e.key.IntegrationID); err != nil {
			t.Fatal(err)
		}
		e.compareWithTruth(from)
	})
}

// TestBackfillVoteTimesFromDashlessVoteThreads: the service writes the
// ...TfId identity ids of its system threads with or without dashes
// (samples/rest/git.pullrequest.threads.list.json has both), while the
// reviewers list's ids are dashed. Vote times read from VoteUpdate threads
// whose CodeReviewVotedByTfId has no dashes still reach their reviewer.
func TestBackfillVoteTimesFromDashlessVoteThreads(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		e := newEnv(t, db, sim, "votes", azdo.ServicesDeployment, nil)
		if err := e.backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		from := e.window()
		dashless := 0
		for _, pr := range e.truth("pull_requests", from) {
			if len(pr["reviewers"].([]any)) == 0 || dashless > 0 {
				continue
			}
			id, _ := strconv.Atoi(fmt.Sprint(pr["id"]))
			ts, err := e.client.PullRequestThreads(context.Background(), fmt.Sprint(pr["project"]), fmt.Sprint(pr["repository"]), id)
			if err != nil {
				t.Fatal(err)
			}
			for _, th := range ts {
				if v := th.Property("CodeReviewVotedByTfId"); th.Type() == "VoteUpdate" && len(v) == 32 {
					dashless++
				}
			}
		}
		if dashless == 0 {
			t.Fatal("no VoteUpdate thread with a dashless CodeReviewVotedByTfId: the test shows nothing")
		}
		e.compareWithTruth(from)
	})
}

// cancelOnCommitsPage cancels the running backfill (simEnv.backfillUntil's
// context) when the n-th default-branch commits list call of one
// repository goes out.
type cancelOnCommitsPage struct {
	base  http.RoundTripper
	calls *callCounter
	repo  string
	n     int
	mu    sync.Mutex
	seen  int
}

func (c *cancelOnCommitsPage) RoundTrip(r *http.Request) (*http.Response, error) {
	path := strings.ToLower(r.URL.Path)
	if strings.HasSuffix(path, "/repositories/"+strings.ToLower(c.repo)+"/commits") && !r.URL.Query().Has("pushId") &&
		!r.URL.Query().Has("searchCriteria.itemVersion.version") {
		c.mu.Lock()
		c.seen++
		hit := c.seen == c.n
		c.mu.Unlock()
		if hit {
			c.calls.mu.Lock()
			if c.calls.cancel != nil {
				c.calls.cancel()
			}
			c.calls.mu.Unlock()
		}
	}
	return c.base.RoundTrip(r)
}

// TestBackfillResumesThroughRebasedCommits: the commits list's fromDate
// and toDate filter on the committer date (MicrosoftDocs/azure-devops-docs
// #3909). A rebase pushes 2,100 commits authored ten days ago and
// committed now; the backfill is stopped on the third page of that
// repository's default branch (1,000 a page), after it stored the first
// thousand. The
// resumed walk must start at the committer date of where it stopped: from
// the author date it would skip every commit committed after it.
func TestBackfillResumesThroughRebasedCommits(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		e := newEnv(t, db, sim, "rebased", azdo.ServicesDeployment, nil)
		p := e.projects[0]
		repos, err := e.client.Repositories(context.Background(), p.ProjectID)
		if err != nil {
			t.Fatal(err)
		}
		authored := time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(time.Second)
		res, err := sim.Activity(azdosim.ActivityRequest{Kind: "push", Project: p.ProjectID, Repository: repos[0].ID,
			Commits: 2100, AuthorDate: authored.Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
		pushed := map[string]bool{}
		for _, it := range res.Items {
			if it.Kind == "commit" {
				pushed[it.ID] = true
			}
		}
		if len(pushed) != 2100 {
			t.Fatalf("pushed %d commits, want 2100", len(pushed))
		}
		stop := &cancelOnCommitsPage{base: e.calls.base, calls: e.calls, repo: repos[0].ID, n: 3}
		e.calls.base = stop
		if err := e.backfillUntil(1 << 62); !errors.Is(err, context.Canceled) {
			t.Fatalf("backfill stopped on the third commits page: want context.Canceled, got %v", err)
		}
		e.calls.base = stop.base
		e.calls.mu.Lock()
		e.calls.cancel = nil
		e.calls.mu.Unlock()
		if err := e.backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		stored, err := db.ListCommits(context.Background(), store.Filter{WorkspaceID: e.key.WorkspaceID, RepoID: repos[0].ID, Limit: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range stored {
			delete(pushed, c.SHA)
		}
		if len(pushed) > 0 {
			t.Errorf("%d of the 2100 rebased commits missing after the resumed backfill", len(pushed))
		}
		e.compareWithTruth(e.window())
	})
}

// TestReleaseDeliveryWithoutCompletedOn: a deployment-completed delivery
// whose deployment object has no completedOn (as the listed deployments of
// samples/rest/release.deployments.list.json have none) is finished at the
// deployment's lastModifiedOn, not at the environment's modifiedOn.
func TestReleaseDeliveryWithoutCompletedOn(t *testing.T) {
	h := newHarness(t, storetest.OpenSQLite(t))
	var ev map[string]any
	if err := json.Unmarshal(readSample(t, "ms.vss-release.deployment-completed-event.json"), &ev); err != nil {
		t.Fatal(err)
	}
	finished := "2016-01-21T09:02:11.5Z"
	ev["resource"].(map[string]any)["deployment"] = map[string]any{"id": 77, "attempt": 1, "deploymentStatus": "succeeded",
		"operationStatus": "Approved", "startedOn": "2016-01-21T08:55:00Z", "lastModifiedOn": finished}
	// The docs sample names no project; real deliveries carry resourceContainers.
	ev["resourceContainers"] = map[string]any{"project": map[string]any{"id": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"}}
	body, _ := json.Marshal(ev)
	eventID, project := sampleProject(t, body)
	h.selectProject(project)
	if code, answer := h.deliver(body); code != 200 {
		t.Fatalf("delivery: %d %s", code, answer)
	}
	if e := h.waitProcessed(eventID); e.Status != "processed" {
		t.Fatalf("event %s: %+v", eventID, e)
	}
	deps, err := h.db.ListDeployments(context.Background(), store.Filter{WorkspaceID: h.key.WorkspaceID, Limit: 10}, false)
	if err != nil || len(deps) != 1 {
		t.Fatalf("deployments %+v, %v", deps, err)
	}
	if got := deps[0].FinishedAt; got == nil || got.UTC().Format(time.RFC3339Nano) != finished {
		t.Errorf("finished at %v, want the deployment's lastModifiedOn %s", got, finished)
	}
}
