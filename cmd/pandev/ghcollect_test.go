package main

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TestGitHubCollection, on both engines with the real job queue:
// selecting a repository queues its backfill, which stores what the
// simulator's truth says of the window — every pull request updated in it
// with its status, draft flag, reviewers and commits, and the default
// branch's commits — with no call more than the pages needed; a
// pull_request delivery signed by the simulator is applied by the drain
// (its commits read by the details job), a review's delivery stores the
// vote, a dropped delivery's PR is recovered (and counted) by the
// reconciliation, and the same delivery posted again changes nothing.
func TestGitHubCollection(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			sim, r, b := startGitHubApp(t, eng)
			ghConnected(t, sim, r, b, sim.Token())
			var st integration.Status
			repo := biggestRepo(sim)
			id := strconv.FormatInt(repo.ID, 10)
			var e errorBody
			if code := b.api("POST", "/api/v1/integrations/github/projects/"+id+"/backfill", nil, &e); code != 409 || !strings.Contains(e.Error.Hint, "select") {
				t.Fatalf("re-run backfill of an unselected repository: %d %+v", code, e)
			}
			var list repositoryList
			if code := b.api("PUT", "/api/v1/integrations/github/repositories", map[string]any{"selected": []string{id}}, &list); code != 200 {
				t.Fatalf("select: %d %+v", code, list)
			}
			waitJobs(t, r, collect.BackfillArgs{}.Kind(), 1)
			ins, _ := r.db.ListIntegrations(ctx, wsOf(t, r, "acme"), integration.GitHubProvider)
			in := ins[0]
			k := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
			p, err := r.db.GetProject(ctx, k, id)
			if err != nil || p.CollectedSince == nil {
				t.Fatalf("project after backfill: %+v %v", p, err)
			}
			from := *p.CollectedSince

			// Pull requests: every one updated in the window, as the truth says.
			var want []githubsim.TruthPull
			older := false
			for _, pr := range repo.Pulls {
				if pr.UpdatedAt.Before(from) {
					older = true
					continue
				}
				want = append(want, pr)
			}
			if len(want) == 0 {
				t.Fatalf("the simulator's repository %s has no pull request in the window", repo.FullName)
			}
			if n := count(t, r, `SELECT COUNT(*) FROM pull_requests WHERE integration_id = $1 AND repo_id = $2`, in.ID, id); n != len(want) {
				t.Fatalf("%d pull requests stored, the truth has %d in the window", n, len(want))
			}
			calls := int64(0)
			prCommitPages := 0
			for _, tp := range want {
				ref := store.PRRef{IntegrationID: in.ID, RepoID: id, PRID: int64(tp.Number)}
				got, err := r.db.GetPullRequest(ctx, in.WorkspaceID, ref)
				if err != nil {
					t.Fatalf("PR #%d: %v", tp.Number, err)
				}
				wantStatus := "active"
				switch {
				case tp.MergedAt != nil:
					wantStatus = "completed"
				case tp.State == "closed":
					wantStatus = "abandoned"
				}
				if got.Status != wantStatus || got.IsDraft != tp.Draft || got.Title != tp.Title || got.AuthorName != tp.Author ||
					!got.CreatedAt.Equal(tp.CreatedAt) {
					t.Fatalf("PR #%d stored %+v, truth %+v", tp.Number, got, tp)
				}
				reviewers := names(t, r, `SELECT display_name FROM pr_reviewers WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3 ORDER BY display_name`,
					in.ID, id, tp.Number)
				wantReviewers := slices.Clone(tp.Reviewers)
				slices.Sort(wantReviewers)
				if !slices.Equal(reviewers, wantReviewers) {
					t.Fatalf("PR #%d reviewers %v, truth %v", tp.Number, reviewers, wantReviewers)
				}
				d, err := r.db.GetPRDetails(ctx, ref)
				if err != nil || len(d.Commits) != min(tp.Commits, 250) {
					t.Fatalf("PR #%d: %d commits stored (%v), truth %d", tp.Number, len(d.Commits), err, tp.Commits)
				}
				// Pull requests are read by GraphQL (adr/0020), 100 a query
				// with 10 reviews and 100 commits each; one with more is
				// completed by REST: its reviews, review comments and
				// commit pages.
				if tp.Commits > 100 || tp.Reviews > 10 {
					prCommitPages += 2 + max(1, (min(tp.Commits, 250)+99)/100)
				}
			}
			// Commits of the default branch since the window's start.
			mainSince := 0
			for _, at := range repo.MainCommitDates {
				if !at.Before(from) {
					mainSince++
				}
			}
			if n := count(t, r, `SELECT COUNT(*) FROM commits WHERE integration_id = $1 AND repo_id = $2`, in.ID, id); n != mainSince {
				t.Fatalf("%d commits stored, the truth has %d on the default branch since %s", n, mainSince, from)
			}
			// Calls: the GraphQL query's pages of 100 PRs with their reviews,
			// review comments and commits (one more when the window ends on
			// a full page), REST for a PR larger than a page holds, and the
			// commit list's pages.
			prog, err := collect.Progress(ctx, r.db, k, ghcollect.Resources)
			if err != nil || len(prog) != 1 {
				t.Fatalf("progress: %+v %v", prog, err)
			}
			allCalls := int64(0)
			for _, rp := range prog[0].Resources {
				allCalls += rp.Pages
				if rp.Resource == "pull_requests" || rp.Resource == "commits" || rp.Resource == "issues" { // runs and deployments: TestGitHubDORA
					calls += rp.Pages
				}
			}
			listed := len(want)
			if older {
				listed++ // the first PR older than the window ends the walk
			}
			minimum := int64(max(1, (listed+99)/100)+prCommitPages+max(1, (mainSince+99)/100)) + issuePages(repo, from)
			if mainSince > 0 && mainSince%100 == 0 {
				minimum++ // a full last page: GitHub links a next, empty one
			}
			items := int64(len(want) + mainSince)
			t.Logf("backfill of %s: %d items (%d PRs, %d commits) in %d calls, minimum %d (%.2f calls per item)",
				repo.FullName, items, len(want), mainSince, calls, minimum, float64(calls)/float64(items))
			if calls != minimum {
				t.Fatalf("backfill made %d calls, the pages needed are %d", calls, minimum)
			}

			// The status shows the repository's backfill, finished, with its calls.
			if code := b.api("GET", "/api/v1/integrations/github", nil, &st); code != 200 {
				t.Fatalf("status: %d", code)
			}
			shown := false
			for _, ps := range st.Projects {
				if ps.ID == id {
					shown = ps.Backfill != nil && ps.Backfill.Finished != nil && ps.Backfill.Pages == allCalls
				}
			}
			if !shown || len(st.Runs) == 0 {
				t.Fatalf("status after the backfill: %+v", st)
			}

			// Re-run backfill starts it again (nothing is stored twice).
			if code := b.api("POST", "/api/v1/integrations/github/projects/"+id+"/backfill", nil, &st); code != 202 {
				t.Fatalf("re-run backfill: %d %+v", code, st)
			}
			waitJobs(t, r, collect.BackfillArgs{}.Kind(), 2)
			if n := count(t, r, `SELECT COUNT(*) FROM pull_requests WHERE integration_id = $1 AND repo_id = $2`, in.ID, id); n != len(want) {
				t.Fatalf("%d pull requests stored after the re-run, the truth has %d in the window", n, len(want))
			}

			// A pull request opened: its delivery is applied by the drain,
			// and its commits are read by the details job.
			before := len(sim.Deliveries())
			opened, err := sim.Activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: repo.FullName, Commits: 3})
			if err != nil {
				t.Fatal(err)
			}
			ds, err := sim.WaitDeliveries(ctxTimeout(t), before+1)
			if err != nil {
				t.Fatal(err)
			}
			var prDelivery githubsim.Delivery
			for _, d := range ds[before:] {
				if d.Event == "pull_request" {
					prDelivery = d
				}
			}
			if prDelivery.GUID == "" || prDelivery.StatusCode != 200 {
				t.Fatalf("no accepted pull_request delivery among %+v", ds[before:])
			}
			ev := waitDelivery(t, r, in.ID, prDelivery.GUID)
			if ev.Status != "processed" {
				t.Fatalf("pull_request delivery %s: %+v", ev.Status, ev)
			}
			ref := store.PRRef{IntegrationID: in.ID, RepoID: id, PRID: int64(opened.Number)}
			waitFor(t, "the opened PR's commits", func() bool {
				d, err := r.db.GetPRDetails(ctx, ref)
				return err == nil && len(d.Commits) == 3
			})
			if got, err := r.db.GetPullRequest(ctx, in.WorkspaceID, ref); err != nil || got.Status != "active" {
				t.Fatalf("opened PR stored: %+v %v", got, err)
			}

			// A review approves it: the vote is stored.
			before = len(sim.Deliveries())
			if _, err := sim.Activity(githubsim.ActivityRequest{Kind: "review", Repo: repo.FullName, Number: opened.Number, ReviewState: "APPROVED"}); err != nil {
				t.Fatal(err)
			}
			ds, err = sim.WaitDeliveries(ctxTimeout(t), before+1)
			if err != nil {
				t.Fatal(err)
			}
			waitDelivery(t, r, in.ID, ds[len(ds)-1].GUID)
			if n := count(t, r, `SELECT COUNT(*) FROM pr_reviewers WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3 AND vote = 10 AND voted_at IS NOT NULL`,
				in.ID, id, opened.Number); n != 1 {
				t.Fatalf("%d approvals stored after the review's delivery", n)
			}

			// A lost delivery: the reconciliation reads what changed since
			// its watermark and counts the PR as recovered.
			sim.DropDeliveries(1)
			before = len(sim.Deliveries())
			lost, err := sim.Activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: repo.FullName, Commits: 2})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.WaitDeliveries(ctxTimeout(t), before+1); err != nil {
				t.Fatal(err)
			}
			lostRef := store.PRRef{IntegrationID: in.ID, RepoID: id, PRID: int64(lost.Number)}
			if _, err := r.db.GetPullRequest(ctx, in.WorkspaceID, lostRef); err == nil {
				t.Fatal("the dropped delivery's PR is stored before the reconciliation")
			}
			run, err := r.collector.Reconcile(ctx, in.ID)
			if err != nil || run.Error != "" || run.ItemsRecovered != 1 {
				t.Fatalf("reconcile: %+v %v", run, err)
			}
			if d, err := r.db.GetPRDetails(ctx, lostRef); err != nil || len(d.Commits) != 2 {
				t.Fatalf("the lost PR after the reconciliation: %+v %v", d, err)
			}
			// The screen's way out for a lost delivery: Sync now reconciles at once.
			sim.DropDeliveries(1)
			before = len(sim.Deliveries())
			lost2, err := sim.Activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: repo.FullName})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.WaitDeliveries(ctxTimeout(t), before+1); err != nil {
				t.Fatal(err)
			}
			if code := b.api("POST", "/api/v1/integrations/github/sync", nil, nil); code != 202 {
				t.Fatalf("sync now: %d", code)
			}
			waitFor(t, "the PR of a lost delivery after Sync now", func() bool {
				_, err := r.db.GetPullRequest(ctx, in.WorkspaceID, store.PRRef{IntegrationID: in.ID, RepoID: id, PRID: int64(lost2.Number)})
				return err == nil
			})

			// The same pull_request delivery again changes nothing.
			snapshot := func() string {
				got, _ := r.db.GetPullRequest(ctx, in.WorkspaceID, ref)
				return got.Status + "|" + got.ProviderUpdatedAt.UTC().String() + "|" +
					strconv.Itoa(count(t, r, `SELECT COUNT(*) FROM webhook_inbox WHERE integration_id = $1`, in.ID)) + "|" +
					strconv.Itoa(count(t, r, `SELECT COUNT(*) FROM pr_reviewers WHERE integration_id = $1`, in.ID))
			}
			was := snapshot()
			req, _ := http.NewRequest("POST", r.URL()+"/v1/github/webhook?integration="+in.ID, strings.NewReader(string(prDelivery.Payload)))
			for h, v := range prDelivery.Headers {
				req.Header.Set(h, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode/100 != 2 {
				t.Fatalf("duplicate delivery: %d", res.StatusCode)
			}
			if now := snapshot(); now != was {
				t.Fatalf("a duplicate delivery changed the data: %s → %s", was, now)
			}
		})
	}
}

// count runs a COUNT(*) query.
func count(t *testing.T, r *running, q string, args ...any) int {
	t.Helper()
	var n int
	if err := r.db.SQL().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// names runs a query of one text column.
func names(t *testing.T, r *running, q string, args ...any) []string {
	t.Helper()
	rows, err := r.db.SQL().QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// waitDelivery waits until a delivery's inbox row has left "pending".
func waitDelivery(t *testing.T, r *running, integrationID, id string) store.InboxEvent {
	t.Helper()
	var ev store.InboxEvent
	waitFor(t, "delivery "+id+" applied", func() bool {
		var err error
		ev, err = r.db.GetInboxEvent(context.Background(), integrationID, id)
		return err == nil && ev.Status != "pending"
	})
	return ev
}
