package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/config"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/prcomment"
	prgithub "github.com/pandev-metrics/pandev/internal/prcomment/github"
	"github.com/pandev-metrics/pandev/internal/store"
)

// ghCommentFixture is a server connected to the GitHub simulator with one
// repository selected (its webhook registered, its backfill done) and PR
// comments on, updates allowed every 200 ms.
type ghCommentFixture struct {
	t    *testing.T
	sim  *githubsim.Sim
	cfg  config.Config
	opts appOptions
	r    *running
	b    *browser
	repo githubsim.TruthRepo
	in   store.Integration
}

// newGHCommentFixture activates with the token tokenOf makes (nil: the
// simulator's classic token, which has repo).
func newGHCommentFixture(t *testing.T, eng chaosEngine, tokenOf func(*githubsim.Sim) string) *ghCommentFixture {
	t.Helper()
	sim := startGitHubSim(t)
	cfg := testConfig(t, map[string]string{"PANDEV_DB": eng.dsn(t), "PANDEV_SECRET_KEY": "Z2l0aHViLWdpdGh1Yi1naXRodWItZ2l0aHViLTEyMzQ="})
	opts := appOptions{PollInterval: 50 * time.Millisecond, GitHubHTTPClient: sim.HTTPClient(), LocalGitHub: true,
		CommentInterval: 200 * time.Millisecond}
	f := &ghCommentFixture{t: t, sim: sim, cfg: cfg, opts: opts}
	f.start()
	if _, err := f.r.auth.CreateUser(context.Background(), "admin@acme.example", pw, "acme", store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	f.login()
	token := sim.Token()
	if tokenOf != nil {
		token = tokenOf(sim)
	}
	var st integration.Status
	if code := f.b.api("POST", "/api/v1/integrations/github", map[string]string{"api_url": sim.URL(), "token": token}, &st); code != 201 {
		t.Fatalf("activate: %d %+v", code, st)
	}
	f.repo = sim.Truth()[0]
	id := strconv.FormatInt(f.repo.ID, 10)
	var list repositoryList
	if code := f.b.api("PUT", "/api/v1/integrations/github/repositories", map[string]any{"selected": []string{id}}, &list); code != 200 {
		t.Fatalf("select: %d %+v", code, list)
	}
	waitJobs(t, f.r, "github_register_hook", 1)
	waitJobs(t, f.r, "backfill", 1)
	var e errorBody
	if code := f.b.api("PATCH", "/api/v1/integrations/github/settings", map[string]any{"post_pr_comments": true}, &e); code != 200 {
		t.Fatalf("settings: %d %+v", code, e)
	}
	ins, err := f.r.db.ListIntegrations(context.Background(), wsOf(t, f.r, "acme"), integration.GitHubProvider)
	if err != nil || len(ins) != 1 {
		t.Fatalf("integrations: %v %v", ins, err)
	}
	f.in = ins[0]
	return f
}

// start runs the server (again, on the address it had: the webhook
// points there).
func (f *ghCommentFixture) start() {
	f.t.Helper()
	f.r = startApp(f.t, f.cfg, f.opts)
	f.cfg.Addr = f.r.Addr()
}

func (f *ghCommentFixture) login() {
	f.t.Helper()
	f.b = newBrowser(f.t, f.r.URL())
	if res := f.b.login("admin@acme.example", pw); res.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("sign in: %d", res.StatusCode)
	}
}

// restart stops the server and starts another on the same database and
// address.
func (f *ghCommentFixture) restart() {
	f.t.Helper()
	if err := f.r.stop(); err != nil {
		f.t.Fatalf("stop: %v", err)
	}
	f.start()
	f.login()
}

func (f *ghCommentFixture) ref(number int) store.PRRef {
	return store.PRRef{IntegrationID: f.in.ID, RepoID: strconv.FormatInt(f.repo.ID, 10), PRID: int64(number)}
}

// activity does something on GitHub and waits until the product has
// applied its pull_request delivery.
func (f *ghCommentFixture) activity(req githubsim.ActivityRequest) (githubsim.ActivityResult, githubsim.Delivery) {
	f.t.Helper()
	req.Repo = f.repo.FullName
	before := len(f.sim.Deliveries())
	res, err := f.sim.Activity(req)
	if err != nil {
		f.t.Fatal(err)
	}
	ds, err := f.sim.WaitDeliveries(ctxTimeout(f.t), before+1)
	if err != nil {
		f.t.Fatal(err)
	}
	var d githubsim.Delivery
	for _, x := range ds[before:] {
		if x.Event == "pull_request" {
			d = x
		}
	}
	if d.GUID == "" || d.StatusCode != 200 {
		f.t.Fatalf("no accepted pull_request delivery among %+v", ds[before:])
	}
	waitDelivery(f.t, f.r, f.in.ID, d.GUID)
	return res, d
}

// ours is the simulator's truth: the PR's comments that carry PanDev's marker.
func (f *ghCommentFixture) ours(number int) []githubsim.TruthComment {
	f.t.Helper()
	var out []githubsim.TruthComment
	for _, tr := range f.sim.Truth() {
		if tr.ID != f.repo.ID {
			continue
		}
		for _, p := range tr.Pulls {
			if p.Number != number {
				continue
			}
			for _, c := range p.Comments {
				if strings.HasPrefix(c.Body, prgithub.Marker) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// waitOne waits until the PR has exactly one comment of ours for which ok
// holds, and returns it.
func (f *ghCommentFixture) waitOne(what string, number int, ok func(githubsim.TruthComment) bool) githubsim.TruthComment {
	f.t.Helper()
	var got []githubsim.TruthComment
	waitFor(f.t, what, func() bool {
		got = f.ours(number)
		if len(got) > 1 {
			f.t.Fatalf("%d comments of ours on PR #%d, want one: %+v", len(got), number, got)
		}
		return len(got) == 1 && ok(got[0])
	})
	return got[0]
}

// idle waits until no PR comment job is waiting or running, and fails if
// one ended with an error recorded (a rate limit snoozes, it does not fail).
func (f *ghCommentFixture) idle() {
	f.t.Helper()
	waitFor(f.t, "PR comment jobs to finish", func() bool {
		res, err := f.r.queue.Client().JobList(context.Background(), river.NewJobListParams().Kinds(prcomment.Args{}.Kind()).
			States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStatePending).First(100))
		if err != nil {
			f.t.Fatal(err)
		}
		return len(res.Jobs) == 0
	})
}

// loseState forgets where the comment is, as a crash between posting and
// saving would.
func (f *ghCommentFixture) loseState(number int) {
	f.t.Helper()
	ref := f.ref(number)
	if _, err := f.r.db.SQL().ExecContext(context.Background(), `DELETE FROM pr_comment_state WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3`,
		ref.IntegrationID, ref.RepoID, ref.PRID); err != nil {
		f.t.Fatal(err)
	}
}

// requeue queues n comment jobs of the PR in one transaction, as n changes
// arriving together do.
func (f *ghCommentFixture) requeue(number, n int) {
	f.t.Helper()
	err := f.r.db.InTx(context.Background(), func(tx *store.Tx) error {
		for range n {
			if err := f.r.comments.PRChanged(context.Background(), tx, f.in.WorkspaceID, f.ref(number)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *ghCommentFixture) state(number int) store.PRCommentState {
	f.t.Helper()
	s, err := f.r.db.GetPRCommentState(context.Background(), f.ref(number))
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// TestGitHubPRCommentOneKeptCurrent, on both engines with the real queue
// and the simulator's signed deliveries: a PR opened gets exactly one
// comment by the token's account with the summary; a push to it
// (synchronize) edits that comment; the same delivery again, a burst of
// jobs after the state row was lost, a rate limit, and a restart with the
// state lost again never make a second comment.
func TestGitHubPRCommentOneKeptCurrent(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			f := newGHCommentFixture(t, eng, nil)
			opened, _ := f.activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Commits: 2})
			n := opened.Number
			first := f.waitOne("the comment with the PR's two commits", n, func(c githubsim.TruthComment) bool {
				return strings.Contains(c.Body, "- **Size:** 2 commits")
			})
			for _, want := range []string{prgithub.Marker + "\n### PanDev Metrics — pull request summary", "- **Size:** ",
				"- **Work items:** ⚠️ none linked", "- **Waiting for review:** ", "Settings → Integrations → GitHub → PR comments"} {
				if !strings.Contains(first.Body, want) {
					t.Fatalf("the comment lacks %q:\n%s", want, first.Body)
				}
			}
			if first.Author != f.in.Account {
				t.Fatalf("comment by %q, the token's account is %q", first.Author, f.in.Account)
			}
			var preview struct{ Content, SkipReason string }
			if code := f.b.api("GET", "/api/v1/integrations/github/pr-comments/preview?pr="+strconv.Itoa(n)+"&repository="+f.ref(n).RepoID, nil, &preview); code != 200 ||
				!strings.Contains(preview.Content, "- **Size:** 2 commits") || preview.SkipReason != "" {
				t.Fatalf("preview: %d %+v", code, preview)
			}

			// A push to the PR: the same comment, edited.
			_, sync := f.activity(githubsim.ActivityRequest{Kind: "pull_request_synchronize", Number: n})
			second := f.waitOne("the comment edited with three commits", n, func(c githubsim.TruthComment) bool {
				return strings.Contains(c.Body, "- **Size:** 3 commits")
			})
			if second.ID != first.ID || second.Body == first.Body {
				t.Fatalf("after synchronize: comment %d (was %d), body changed %v", second.ID, first.ID, second.Body != first.Body)
			}
			f.idle()

			// The same delivery again: the inbox keeps it once; nothing new.
			req, _ := http.NewRequest("POST", f.r.URL()+"/v1/github/webhook?integration="+f.in.ID, strings.NewReader(string(sync.Payload)))
			for h, v := range sync.Headers {
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
			// Five jobs at once with our record of the comment lost: one
			// holds the lease, finds the comment by its marker; none posts.
			f.loseState(n)
			f.requeue(n, 5)
			f.idle()
			if got := f.ours(n); len(got) != 1 || got[0].ID != first.ID {
				t.Fatalf("after a duplicate delivery and five jobs without state: %+v", got)
			}
			if s := f.state(n); s.CommentID != first.ID || s.Status != "posted" {
				t.Fatalf("state found again: %+v", s)
			}

			// GitHub's secondary rate limit on the next call: the job waits
			// out its retry-after and goes on, no error recorded.
			f.loseState(n)
			f.sim.SetRateLimits(githubsim.RateLimits{SecondaryNext: 1, RetryAfter: 1})
			f.requeue(n, 1)
			f.idle()
			for _, j := range listJobs(t, f.r, prcomment.Args{}.Kind()) {
				if j.State != rivertype.JobStateCompleted || len(j.Errors) > 0 {
					t.Fatalf("comment job %d %s with errors %v", j.ID, j.State, j.Errors)
				}
			}
			if s := f.state(n); s.CommentID != first.ID || s.Status != "posted" {
				t.Fatalf("state after the rate limit: %+v", s)
			}

			// A restart, the state lost again, then another push: the same
			// comment edited.
			f.loseState(n)
			f.restart()
			f.activity(githubsim.ActivityRequest{Kind: "pull_request_synchronize", Number: n})
			third := f.waitOne("the comment edited after the restart", n, func(c githubsim.TruthComment) bool {
				return strings.Contains(c.Body, "- **Size:** 4 commits")
			})
			if third.ID != first.ID {
				t.Fatalf("after the restart: comment %d, want %d", third.ID, first.ID)
			}
			f.idle()
			if got := f.ours(n); len(got) != 1 {
				t.Fatalf("%d comments after the restart", len(got))
			}
		})
	}
}

// TestGitHubPRCommentWithoutWritePermission: a fine-grained token that may
// read pull requests but not write them posts nothing; the comment's
// status, the integration status and the settings screen say to grant
// Pull requests: Read and write; Update token with it posts the refused
// comment. Then the screen's form turns the repository off: a PR opened
// there gets no comment.
func TestGitHubPRCommentWithoutWritePermission(t *testing.T) {
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			f := newGHCommentFixture(t, eng, func(sim *githubsim.Sim) string {
				return sim.NewFineGrainedToken(map[string]string{"contents": "read", "pull_requests": "read", "issues": "read", "webhooks": "write"})
			})
			opened, _ := f.activity(githubsim.ActivityRequest{Kind: "pull_request_opened"})
			n := opened.Number
			waitFor(t, "the refusal to be recorded", func() bool { return f.state(n).Status == "failed" })
			if s := f.state(n); s.Error != prgithub.RefusedMessage {
				t.Fatalf("comment status: %q", s.Error)
			}
			var st integration.Status
			if code := f.b.api("GET", "/api/v1/integrations/github", nil, &st); code != 200 || st.Comments == nil ||
				st.Comments.Counts["failed"] != 1 || !strings.Contains(st.Comments.LastError, "Pull requests: Read and write") {
				t.Fatalf("status: %d %+v", code, st.Comments)
			}
			if _, page := f.b.do("GET", "/settings/integrations/github", "", nil, nil); !strings.Contains(page, "Pull requests: Read and write") ||
				!strings.Contains(page, "id=\"comments-failed\"") {
				t.Fatalf("the settings screen does not say what to grant:\n%s", page)
			}
			if got := f.ours(n); len(got) != 0 {
				t.Fatalf("posted without permission: %+v", got)
			}

			if code := f.b.api("PUT", "/api/v1/integrations/github/token", map[string]string{"token": f.sim.FineGrainedToken()}, &st); code != 200 {
				t.Fatalf("update token: %d %+v", code, st)
			}
			f.waitOne("the refused comment, posted after Update token", n, func(githubsim.TruthComment) bool { return true })
			f.idle()
			if s := f.state(n); s.Status != "posted" || s.Error != "" {
				t.Fatalf("comment status after Update token: %+v", s)
			}
			var after integration.Status // a fresh one: decoding into st would merge its counts
			if code := f.b.api("GET", "/api/v1/integrations/github", nil, &after); code != 200 || after.Comments == nil ||
				after.Comments.LastError != "" || after.Comments.Counts["posted"] != 1 || after.Comments.Counts["failed"] != 0 {
				t.Fatalf("status after Update token: %d %+v", code, after.Comments)
			}

			// The screen's form: comments stay on, this repository off. A
			// PR opened there gets no comment, even once its commits are read.
			repoID := f.ref(n).RepoID
			form := url.Values{"post_pr_comments": {"on"}, "comments_" + repoID: {"off"}}
			if res, body := f.b.do("POST", "/settings/integrations/github/comments", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()),
				map[string]string{"Origin": f.b.base, "Sec-Fetch-Site": "same-origin"}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("comment settings form: %d %s", res.StatusCode, body)
			}
			var saved integration.Settings
			if code := f.b.api("GET", "/api/v1/integrations/github/settings", nil, &saved); code != 200 || !saved.PostPRComments ||
				len(saved.ProjectComments) != 1 || saved.ProjectComments[repoID] {
				t.Fatalf("settings after the form: %d %+v", code, saved)
			}
			off, _ := f.activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Commits: 2})
			waitFor(t, "the PR's commits", func() bool {
				d, err := f.r.db.GetPRDetails(context.Background(), f.ref(off.Number))
				return err == nil && len(d.Commits) == 2
			})
			f.idle()
			if got, s := f.ours(off.Number), f.state(off.Number); len(got) != 0 || s.Status != "" {
				t.Fatalf("a repository with comments off: comments %+v, state %+v", got, s)
			}
		})
	}
}
