package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	prazure "github.com/pandev-metrics/pandev/internal/prcomment/azure"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

// commentFixture is a server connected to a simulator with one project
// selected, PR comments switched as asked, updates allowed every 200 ms.
type commentFixture struct {
	t       *testing.T
	sim     *azdosim.Sim
	r       *running
	b       *browser
	project string
	client  *azdo.Client
}

func newCommentFixture(t *testing.T, pat string, settings map[string]any) *commentFixture {
	t.Helper()
	sim := startSim(t, "services")
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "admin@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{PollInterval: 50 * time.Millisecond, CommentInterval: 200 * time.Millisecond})
	b := newBrowser(t, r.URL())
	b.login("admin@example.com", pw)
	if pat == "" {
		pat = sim.ManualPAT()
	}
	var st integrationStatus
	if code := b.api("POST", integrationAPI, map[string]string{"org_url": sim.OrgURL(), "token": pat}, &st); code != 201 {
		t.Fatalf("activate: %d", code)
	}
	project := st.Projects[0].ID
	if code := b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": {project}}, &st); code != 200 {
		t.Fatalf("select: %d", code)
	}
	waitJobs(t, r, "register_hooks", 1)
	if settings != nil {
		var e errorBody
		if code := b.api("PATCH", integrationAPI+"/settings", settings, &e); code != 200 {
			t.Fatalf("settings: %d %+v", code, e)
		}
	}
	c, err := azdo.New(azdo.Options{OrgURL: sim.OrgURL(), PAT: secret.New(sim.ManualPAT()), Hosts: r.cfg.AllowHosts})
	if err != nil {
		t.Fatal(err)
	}
	return &commentFixture{t: t, sim: sim, r: r, b: b, project: project, client: c}
}

// openPR opens a PR in the simulator and returns its id and repository.
func (f *commentFixture) openPR() (int, string) {
	f.t.Helper()
	act, err := f.sim.Activity(azdosim.ActivityRequest{Kind: "pull_request_created", Project: f.project})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, it := range act.Items {
		if it.Kind == "pull_request" {
			id, _ := strconv.Atoi(it.ID)
			waitFor(f.t, "the PR to be stored", func() bool {
				_, body := f.b.do("GET", "/api/v1/pull-requests?project="+f.project, "", nil, nil)
				return strings.Contains(body, `"id":`+it.ID+`,`)
			})
			_, body := f.b.do("GET", "/api/v1/pull-requests?project="+f.project, "", nil, nil)
			i := strings.Index(body, `"id":`+it.ID+`,`)
			repo := body[i:]
			repo = repo[strings.Index(repo, `"repository":"`)+len(`"repository":"`):]
			return id, repo[:strings.IndexByte(repo, '"')]
		}
	}
	f.t.Fatalf("no PR in %+v", act)
	return 0, ""
}

// ourThreads returns the PR's threads that carry PanDev's marker.
func (f *commentFixture) ourThreads(prID int, repo string) []azdo.Thread {
	f.t.Helper()
	threads, err := f.client.PullRequestThreads(context.Background(), f.project, repo, prID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []azdo.Thread
	for _, th := range threads {
		if _, ok := th.Properties[prazure.Marker]; ok {
			out = append(out, th)
		}
	}
	return out
}

func TestPRCommentOneThreadKeptCurrent(t *testing.T) {
	f := newCommentFixture(t, "", map[string]any{"post_pr_comments": true, "comment_on_drafts": true})
	prID, repo := f.openPR()
	waitFor(t, "the comment thread", func() bool { return len(f.ourThreads(prID, repo)) == 1 })
	first := f.ourThreads(prID, repo)[0].Comments[0].Content
	ins, _ := f.r.db.ListAllIntegrations(context.Background())
	waitFor(t, "our own comment to be stored, as not-review", func() bool {
		d, err := f.r.db.GetPRDetails(context.Background(), store.PRRef{IntegrationID: ins[0].ID, RepoID: repo, PRID: int64(prID)})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range d.Comments {
			if c.AuthorID == ins[0].AccountID {
				return c.IsSystem
			}
		}
		return false
	})
	if !strings.Contains(first, "PanDev Metrics") || !strings.Contains(first, "Work items") {
		t.Fatalf("comment content: %s", first)
	}
	for i := range 10 {
		kind := []string{"pull_request_updated", "pr_comment", "pr_vote"}[i%3]
		if _, err := f.sim.Activity(azdosim.ActivityRequest{Kind: kind, Project: f.project, PullRequestID: prID, Vote: 10}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the comment to change", func() bool {
		th := f.ourThreads(prID, repo)
		return len(th) == 1 && th[0].Comments[0].Content != first
	})
	time.Sleep(time.Second) // let any queued update land before counting threads
	if n := len(f.ourThreads(prID, repo)); n != 1 {
		t.Fatalf("ten updates left %d threads, want 1", n)
	}
	var preview struct{ Content, SkipReason string }
	if code := f.b.api("GET", integrationAPI+"/pr-comments/preview?pr="+strconv.Itoa(prID), nil, &preview); code != 200 || !strings.Contains(preview.Content, "PanDev Metrics") {
		t.Fatalf("preview: %d %+v", code, preview)
	}
}

func TestPRCommentOverrideOff(t *testing.T) {
	f := newCommentFixture(t, "", nil)
	var e errorBody
	if code := f.b.api("PATCH", integrationAPI+"/settings", map[string]any{"post_pr_comments": true, "comment_on_drafts": true,
		"project_comments": map[string]bool{f.project: false}}, &e); code != 200 {
		t.Fatalf("settings: %d %+v", code, e)
	}
	prID, repo := f.openPR()
	time.Sleep(time.Second)
	if n := len(f.ourThreads(prID, repo)); n != 0 {
		t.Fatalf("project override off: %d threads", n)
	}
	if countJobs(t, f.r, "pr_comment") != 0 {
		t.Fatal("no job is queued for a project with comments off")
	}
}

func TestPRCommentWithoutWriteScope(t *testing.T) {
	f := newCommentFixture(t, "", map[string]any{"post_pr_comments": true, "comment_on_drafts": true})
	// The token loses the write scope after comments were switched on.
	readOnly := f.sim.NewPAT([]string{"vso.code", "vso.build", "vso.work", "vso.project"}, "", time.Time{})
	var st integrationStatus
	if code := f.b.api("PUT", integrationAPI+"/token", map[string]string{"token": readOnly}, &st); code != 200 {
		t.Fatalf("update token: %d", code)
	}
	prID, repo := f.openPR()
	waitFor(t, "the failure to be recorded", func() bool {
		s, err := f.r.db.GetPRCommentState(context.Background(), store.PRRef{IntegrationID: integrationID(t, f.r), RepoID: repo, PRID: int64(prID)})
		return err == nil && s.Status == "failed"
	})
	s, _ := f.r.db.GetPRCommentState(context.Background(), store.PRRef{IntegrationID: integrationID(t, f.r), RepoID: repo, PRID: int64(prID)})
	if !strings.Contains(s.Error, "Pull Request Threads: Read & write") {
		t.Fatalf("status says why: %q", s.Error)
	}
	if n := len(f.ourThreads(prID, repo)); n != 0 {
		t.Fatalf("nothing may be posted: %d", n)
	}
}

func TestPRCommentPostedOnceAfter429(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	f := newCommentFixture(t, "", map[string]any{"post_pr_comments": true, "comment_on_drafts": true})
	rules := `{"rate_limit":{"limit":0},"rules":[{"match":"/threads","method":"POST","status":429,"retry_after":1,"count":6}]}`
	req, _ := http.NewRequest("PUT", f.sim.ControlURL()+"/faults", bytes.NewReader([]byte(rules)))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("faults: %v %v", res, err)
	}
	prID, repo := f.openPR()
	waitFor(t, "the comment despite 429s", func() bool { return len(f.ourThreads(prID, repo)) >= 1 })
	time.Sleep(time.Second)
	if n := len(f.ourThreads(prID, repo)); n != 1 {
		t.Fatalf("posted %d times, want once", n)
	}
}
