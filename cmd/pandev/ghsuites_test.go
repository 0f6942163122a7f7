package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// The GitHub suites beside the Azure DevOps ones (issue #18, Tests): a
// refused token, rate limits waited out, new repositories of a whole
// organization, bad signatures, live deliveries. Each runs on both engines
// with the real job queue against the simulator.

// ghConnected activates the simulator with token and returns the integration.
func ghConnected(t *testing.T, sim *githubsim.Sim, r *running, b *browser, token string) store.Integration {
	t.Helper()
	var st integration.Status
	if code := b.api("POST", "/api/v1/integrations/github", map[string]string{"api_url": sim.URL(), "token": token}, &st); code != 201 {
		t.Fatalf("activate: %d %+v", code, st)
	}
	ins, err := r.db.ListIntegrations(context.Background(), wsOf(t, r, "acme"), integration.GitHubProvider)
	if err != nil || len(ins) != 1 {
		t.Fatalf("integrations: %+v %v", ins, err)
	}
	return ins[0]
}

// biggestRepo is the simulator's repository with the most pull requests.
func biggestRepo(sim *githubsim.Sim) githubsim.TruthRepo {
	truth := sim.Truth()
	repo := truth[0]
	for _, tr := range truth {
		if len(tr.Pulls) > len(repo.Pulls) {
			repo = tr
		}
	}
	return repo
}

// truthOf is the simulator's truth of one repository now.
func truthOf(t *testing.T, sim *githubsim.Sim, id int64) githubsim.TruthRepo {
	t.Helper()
	for _, tr := range sim.Truth() {
		if tr.ID == id {
			return tr
		}
	}
	t.Fatalf("the simulator has no repository %d", id)
	return githubsim.TruthRepo{}
}

// selectRepos saves the repository selection through the API.
func selectRepos(t *testing.T, b *browser, ids ...string) {
	t.Helper()
	var list repositoryList
	if code := b.api("PUT", "/api/v1/integrations/github/repositories", map[string]any{"selected": ids}, &list); code != 200 {
		t.Fatalf("select %v: %d %+v", ids, code, list)
	}
}

// assertRepoEqualsTruth checks that what is stored of a repository is what
// the simulator's truth says of the backfill window: the same pull requests
// (each once) with their states, and the default branch's commits.
func assertRepoEqualsTruth(t *testing.T, r *running, sim *githubsim.Sim, in store.Integration, repoID int64) {
	t.Helper()
	assertRepoEqualsTruthIn(t, r.db, sim, in, repoID)
}

// assertRepoEqualsTruthIn is assertRepoEqualsTruth on a database of
// another process (the chaos tests' `pandev serve`).
func assertRepoEqualsTruthIn(t *testing.T, db *store.DB, sim *githubsim.Sim, in store.Integration, repoID int64) {
	t.Helper()
	ctx := context.Background()
	r := &running{app: &app{db: db}}
	id := strconv.FormatInt(repoID, 10)
	p, err := db.GetProject(ctx, store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}, id)
	if err != nil || p.CollectedSince == nil {
		t.Fatalf("repository %s: %+v %v", id, p, err)
	}
	from := *p.CollectedSince
	tr := truthOf(t, sim, repoID)
	var want []string
	for _, pr := range tr.Pulls {
		if pr.UpdatedAt.Before(from) {
			continue
		}
		status := "active"
		switch {
		case pr.MergedAt != nil:
			status = "completed"
		case pr.State == "closed":
			status = "abandoned"
		}
		want = append(want, strconv.Itoa(pr.Number)+":"+status)
	}
	got := names(t, r, `SELECT CAST(pr_id AS TEXT) || ':' || status FROM pull_requests WHERE integration_id = $1 AND repo_id = $2`, in.ID, id)
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("%s: stored pull requests %v, the truth has %v in the window from %s", tr.FullName, got, want, from)
	}
	mainSince := 0
	for _, at := range tr.MainCommitDates {
		if !at.Before(from) {
			mainSince++
		}
	}
	if n := count(t, r, `SELECT COUNT(*) FROM commits WHERE integration_id = $1 AND repo_id = $2`, in.ID, id); n != mainSince {
		t.Fatalf("%s: %d commits stored, the truth has %d on the default branch since %s", tr.FullName, n, mainSince, from)
	}
}

// backfillJobs lists the backfill jobs in these states.
func backfillJobs(t *testing.T, r *running, states ...rivertype.JobState) []*rivertype.JobRow {
	t.Helper()
	res, err := r.queue.Client().JobList(context.Background(), river.NewJobListParams().Kinds("backfill").States(states...).First(100))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// waitingBackfill waits until the repository's backfill waits, as the
// status shows it (its progress says until when), and checks that no
// backfill job used an attempt on it: a wait is a snooze, not a failure.
func waitingBackfill(t *testing.T, r *running, b *browser, id string) *collect.ProjectProgress {
	t.Helper()
	var bf *collect.ProjectProgress
	waitFor(t, "the backfill to wait", func() bool {
		bf = projectStatus(t, b, id).Backfill
		return bf != nil && bf.Failed != nil
	})
	for _, j := range backfillJobs(t, r, rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled, rivertype.JobStateCompleted) {
		if len(j.Errors) != 0 || j.State == rivertype.JobStateDiscarded || j.State == rivertype.JobStateCancelled {
			t.Fatalf("backfill job %d %s used attempts: %+v", j.ID, j.State, j.Errors)
		}
	}
	return bf
}

// projectStatus is one repository's line of the GitHub status.
func projectStatus(t *testing.T, b *browser, id string) integration.ProjectStatus {
	t.Helper()
	var st integration.Status
	if code := b.api("GET", "/api/v1/integrations/github", nil, &st); code != 200 {
		t.Fatalf("status: %d", code)
	}
	for _, ps := range st.Projects {
		if ps.ID == id {
			return ps
		}
	}
	t.Fatalf("repository %s not in the status: %+v", id, st)
	return integration.ProjectStatus{}
}

// githubPage is the HTML of Settings → Integrations → GitHub.
func githubPage(t *testing.T, b *browser) string {
	t.Helper()
	res, body := b.do("GET", "/settings/integrations/github", "", nil, nil)
	if res.StatusCode != 200 {
		t.Fatalf("GitHub page: %d", res.StatusCode)
	}
	return body
}

// TestGitHubTokenRevoked: the token revoked on GitHub while a backfill is
// due → the job's 401 is the token's (as Azure DevOps' KindUnauthorized):
// the integration shows "GitHub refused the token" with the fix, the job
// waits instead of burning retries; Update token resumes it at once and
// the repository ends equal to the truth.
func TestGitHubTokenRevoked(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			sim, r, b := startGitHubApp(t, eng)
			tok := sim.NewClassicToken(githubsim.ProductScopes...)
			in := ghConnected(t, sim, r, b, tok)
			repo := biggestRepo(sim)
			id := strconv.FormatInt(repo.ID, 10)
			sim.RevokeToken(tok)
			selectRepos(t, b, id)
			waitingBackfill(t, r, b, id)

			var st integration.Status
			waitFor(t, "the token's refusal on the integration", func() bool {
				b.api("GET", "/api/v1/integrations/github", nil, &st)
				return st.Error != nil
			})
			if st.State != "error" || !strings.Contains(st.Error.Message, "GitHub refused the token (401") ||
				!strings.Contains(st.Error.Hint, "Update token") {
				t.Fatalf("status with a revoked token: %+v %+v", st, st.Error)
			}
			if page := githubPage(t, b); !strings.Contains(page, "GitHub refused the token") || !strings.Contains(page, "use Update token") {
				t.Fatal("the GitHub page does not show the refused token with the fix")
			}
			if f := waitingBackfill(t, r, b, id).Failed; f.Until != nil || !strings.Contains(f.Message, "refused the token") {
				t.Fatalf("the waiting backfill: %+v", f)
			}

			// The fix: a working token. The waiting backfill runs at once.
			// (Once its snooze is stored: an update that lands while the job
			// is still finishing is picked up within a minute, by design.)
			waitFor(t, "the backfill job's snooze", func() bool {
				return len(backfillJobs(t, r, rivertype.JobStateRunning)) == 0 &&
					len(backfillJobs(t, r, rivertype.JobStateScheduled, rivertype.JobStateAvailable)) == 1
			})
			st = integration.Status{}
			if code := b.api("PUT", "/api/v1/integrations/github/token", map[string]string{"token": sim.Token()}, &st); code != 200 || st.Error != nil {
				t.Fatalf("update token: %d %+v %+v", code, st.Error, st)
			}
			waitJobs(t, r, "backfill", 1)
			assertRepoEqualsTruth(t, r, sim, in, repo.ID)
			// The webhook the revoked token could not register is registered now.
			waitFor(t, "the repository's webhook", func() bool { return truthOf(t, sim, repo.ID).Hooks == 1 })
			st = integration.Status{}
			if b.api("GET", "/api/v1/integrations/github", nil, &st); st.State != "connected" || st.Error != nil {
				t.Fatalf("status after the new token: %+v", st)
			}
		})
	}
}

// TestGitHubRateLimitWaitsAndResumes: the token's primary limit runs out in
// the middle of a backfill → the job waits until GitHub's reset (a snooze:
// no attempt used), the status and the page say so and until when; when
// the window resets the backfill resumes by itself from its checkpoint and
// ends equal to the truth. The simulator's window is shortened to seconds
// (RateLimits.Window) so the reset comes without waiting an hour. A
// secondary limit (retry-after) once, too.
func TestGitHubRateLimitWaitsAndResumes(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			sim, r, b := startGitHubApp(t, eng)
			in := ghConnected(t, sim, r, b, sim.Token())
			repo := biggestRepo(sim)
			id := strconv.FormatInt(repo.ID, 10)
			// Enough for the webhook's registration, not for the backfill's
			// REST calls (pull requests go by GraphQL, another budget, so the
			// REST budget is spent at the backfill's first REST page); the
			// window ends in seconds.
			remaining := 11
			sim.SetRateLimits(githubsim.RateLimits{Remaining: &remaining, Window: "10s"})
			selectRepos(t, b, id)
			bf := waitingBackfill(t, r, b, id)
			if bf.Failed == nil || bf.Failed.Until == nil || bf.Finished != nil {
				t.Fatalf("the waiting backfill's progress: %+v", bf)
			}
			_, at, _ := strings.Cut(bf.Failed.Message, "rate limit for this token is spent until ")
			reset, err := time.Parse(time.RFC3339, at)
			if err != nil || !strings.Contains(bf.Failed.Hint, "waits and resumes by itself") {
				t.Fatalf("the wait as shown: %+v (%v)", bf.Failed, err)
			}
			if u := *bf.Failed.Until; u.Before(reset) || u.After(reset.Add(3*time.Second)) {
				t.Fatalf("waits until %s, GitHub's window resets at %s", u, reset)
			}
			if page := githubPage(t, b); !strings.Contains(page, "waiting for GitHub's rate limit") || !strings.Contains(page, "resumes by itself at") {
				i := strings.Index(page, `class="backfill"`)
				t.Fatalf("the GitHub page does not say the backfill waits for the rate limit: %s", page[max(0, i):min(len(page), i+700)])
			}
			pagesBefore := bf.Pages

			// The window resets: the job resumes by itself, without a failed attempt.
			waitJobs(t, r, "backfill", 1)
			assertRepoEqualsTruth(t, r, sim, in, repo.ID)
			ps := projectStatus(t, b, id)
			if ps.Backfill.Failed != nil || ps.Backfill.Finished == nil || ps.Backfill.Pages <= pagesBefore {
				t.Fatalf("the backfill after the reset: %+v", ps.Backfill)
			}
			for _, j := range backfillJobs(t, r, rivertype.JobStateCompleted) {
				if len(j.Errors) != 0 {
					t.Fatalf("the backfill used attempts: %+v", j.Errors)
				}
			}

			// A secondary limit: GitHub's retry-after is waited out the same way.
			sim.SetRateLimits(githubsim.RateLimits{SecondaryNext: 1, RetryAfter: 3, Window: "1h"})
			if code := b.api("POST", "/api/v1/integrations/github/projects/"+id+"/backfill", nil, nil); code != 202 {
				t.Fatalf("re-run backfill: %d", code)
			}
			// Its wait is seconds long: the run it stopped records it.
			waitJobs(t, r, "backfill", 2)
			assertRepoEqualsTruth(t, r, sim, in, repo.ID)
			var st integration.Status
			b.api("GET", "/api/v1/integrations/github", nil, &st)
			waited := false
			for _, run := range st.Runs {
				waited = waited || strings.Contains(run.Error, "secondary rate limit asks to wait until")
			}
			if !waited {
				t.Fatalf("no backfill run stopped for the secondary limit: %+v", st.Runs)
			}
			for _, j := range backfillJobs(t, r, rivertype.JobStateCompleted) {
				if len(j.Errors) != 0 {
					t.Fatalf("the backfill used attempts: %+v", j.Errors)
				}
			}
		})
	}
}

// TestGitHubNewRepositoryPickedUp: with the whole organization chosen, a
// repository created on GitHub afterwards is picked up by the next
// reconciliation without anyone asking: selected, its webhook registered,
// its backfill equal to the truth.
func TestGitHubNewRepositoryPickedUp(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			sim, r, b := startGitHubApp(t, eng)
			in := ghConnected(t, sim, r, b, sim.Token())
			var settings integration.Settings
			if code := b.api("PATCH", "/api/v1/integrations/github/settings", map[string]any{"auto_owners": []string{sim.Org()}}, &settings); code != 200 {
				t.Fatalf("settings: %d %+v", code, settings)
			}
			n := len(sim.Repos())
			waitJobs(t, r, "backfill", n)
			created, err := sim.Activity(githubsim.ActivityRequest{Kind: "repository_created", Repo: "payments"})
			if err != nil {
				t.Fatal(err)
			}
			id := strconv.FormatInt(created.ID, 10)
			if _, err := r.db.GetProject(ctx, store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}, id); err == nil {
				t.Fatal("the new repository is known before the reconciliation")
			}
			// The 15-minute reconciliation, run now.
			if run, err := r.collector.Reconcile(ctx, in.ID); err != nil || run.Error != "" {
				t.Fatalf("reconcile: %+v %v", run, err)
			}
			p, err := r.db.GetProject(ctx, store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}, id)
			if err != nil || !p.Selected {
				t.Fatalf("the new repository after the reconciliation: %+v %v", p, err)
			}
			waitJobs(t, r, "backfill", n+1)
			waitFor(t, "the new repository's webhook", func() bool { return truthOf(t, sim, created.ID).Hooks == 1 })
			assertRepoEqualsTruth(t, r, sim, in, created.ID)
			// Its activity arrives live from then on.
			before := len(sim.Deliveries())
			opened, err := sim.Activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: created.Repo})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.WaitDeliveries(ctxTimeout(t), before+1); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the new repository's live pull request", func() bool {
				_, err := r.db.GetPullRequest(ctx, in.WorkspaceID, store.PRRef{IntegrationID: in.ID, RepoID: id, PRID: int64(opened.Number)})
				return err == nil
			})
		})
	}
}

// TestGitHubBadSignatures: a delivery without X-Hub-Signature-256, with one
// made with another secret, or for no integration gets 401 and stores
// nothing; the body (what GitHub's Recent Deliveries tab shows) names the
// fix in GitHub's terms. The same delivery posted twice stores once.
func TestGitHubBadSignatures(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			sim, r, b := startGitHubApp(t, eng)
			in := ghConnected(t, sim, r, b, sim.Token())
			repo := biggestRepo(sim)
			selectRepos(t, b, strconv.FormatInt(repo.ID, 10))
			waitJobs(t, r, "backfill", 1)
			before := len(sim.Deliveries())
			if _, err := sim.Activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: repo.FullName}); err != nil {
				t.Fatal(err)
			}
			ds, err := sim.WaitDeliveries(ctxTimeout(t), before+1)
			if err != nil {
				t.Fatal(err)
			}
			good := ds[len(ds)-1]
			waitDelivery(t, r, in.ID, good.GUID)
			inbox := func() int {
				return count(t, r, `SELECT COUNT(*) FROM webhook_inbox WHERE integration_id = $1`, in.ID)
			}
			rows := inbox()
			post := func(query string, headers map[string]string) (int, string) {
				req, _ := http.NewRequest("POST", r.URL()+"/v1/github/webhook"+query, strings.NewReader(string(good.Payload)))
				for h, v := range good.Headers {
					req.Header.Set(h, v)
				}
				for h, v := range headers {
					if v == "" {
						req.Header.Del(h)
					} else {
						req.Header.Set(h, v)
					}
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(body)
			}
			// Signed with another secret (a hand-made hook): HMAC-SHA256 of the body.
			mac := hmac.New(sha256.New, []byte("not-the-integration-secret"))
			mac.Write(good.Payload)
			other := "sha256=" + hex.EncodeToString(mac.Sum(nil))
			for name, c := range map[string]struct {
				query   string
				headers map[string]string
			}{
				"no signature":        {"?integration=" + in.ID, map[string]string{"X-Hub-Signature-256": "", "X-GitHub-Delivery": "bad-1"}},
				"another secret":      {"?integration=" + in.ID, map[string]string{"X-Hub-Signature-256": other, "X-GitHub-Delivery": "bad-2"}},
				"no integration":      {"", map[string]string{"X-GitHub-Delivery": "bad-3"}},
				"sha1 only":           {"?integration=" + in.ID, map[string]string{"X-Hub-Signature-256": "", "X-Hub-Signature": "sha1=" + strings.Repeat("0", 40), "X-GitHub-Delivery": "bad-4"}},
				"unknown integration": {"?integration=00000000-0000-0000-0000-000000000000", map[string]string{"X-GitHub-Delivery": "bad-5"}},
			} {
				code, body := post(c.query, c.headers)
				if code != 401 || !strings.Contains(body, "X-Hub-Signature-256") || !strings.Contains(body, "deselect and select the repository") {
					t.Fatalf("%s: %d %s", name, code, body)
				}
			}
			if n := inbox(); n != rows {
				t.Fatalf("refused deliveries reached the inbox: %d rows, were %d", n, rows)
			}
			// The same delivery twice (GitHub's redelivery keeps X-GitHub-Delivery): stored once.
			for range 2 {
				if code, body := post("?integration="+in.ID, nil); code != 200 || !strings.Contains(body, "duplicate") {
					t.Fatalf("redelivery: %d %s", code, body)
				}
			}
			if n := inbox(); n != rows {
				t.Fatalf("a redelivery was stored again: %d rows, were %d", n, rows)
			}
			assertRepoEqualsTruth(t, r, sim, in, repo.ID)
		})
	}
}

// TestGitHubDroppedDeliveriesRecovered: GitHub drops every delivery of a
// burst of activity (pull requests opened, merged and closed, a review,
// pushes) → none is stored → the 15-minute reconciliation, run now, brings
// the repository back equal to the truth, counting what it recovered.
func TestGitHubDroppedDeliveriesRecovered(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			sim, r, b := startGitHubApp(t, eng)
			in := ghConnected(t, sim, r, b, sim.Token())
			repo := biggestRepo(sim)
			selectRepos(t, b, strconv.FormatInt(repo.ID, 10))
			waitJobs(t, r, "backfill", 1)
			waitFor(t, "the repository's webhook", func() bool { return truthOf(t, sim, repo.ID).Hooks == 1 })
			rows := count(t, r, `SELECT COUNT(*) FROM webhook_inbox WHERE integration_id = $1`, in.ID)
			before := len(sim.Deliveries())
			acts := []githubsim.ActivityRequest{
				{Kind: "pull_request_opened", Repo: repo.FullName, Commits: 2},
				{Kind: "review", Repo: repo.FullName, ReviewState: "APPROVED"},
				{Kind: "pull_request_merged", Repo: repo.FullName},
				{Kind: "pull_request_opened", Repo: repo.FullName},
				{Kind: "pull_request_closed", Repo: repo.FullName},
				{Kind: "push", Repo: repo.FullName, Commits: 3},
			}
			sim.DropDeliveries(100)
			for _, a := range acts {
				if _, err := sim.Activity(a); err != nil {
					t.Fatal(err)
				}
			}
			// Seven deliveries: a merge sends its push and the PR's closing.
			ds, err := sim.WaitDeliveries(ctxTimeout(t), before+7)
			if err != nil {
				t.Fatal(err)
			}
			sim.DropDeliveries(0)
			if n := count(t, r, `SELECT COUNT(*) FROM webhook_inbox WHERE integration_id = $1`, in.ID); n != rows {
				t.Fatalf("%d deliveries of %d arrived though GitHub dropped them", n-rows, len(ds)-before)
			}
			run, err := r.collector.Reconcile(ctx, in.ID)
			if err != nil || run.Error != "" || run.ItemsRecovered < 3 {
				t.Fatalf("reconcile: %+v %v", run, err)
			}
			waitFor(t, "the recovered PRs' details", func() bool {
				return len(backfillJobs(t, r, rivertype.JobStateRunning, rivertype.JobStateAvailable)) == 0
			})
			assertRepoEqualsTruth(t, r, sim, in, repo.ID)
		})
	}
}
