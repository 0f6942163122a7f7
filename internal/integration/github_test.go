package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// noEvents stands for the collector: deliveries stay in the inbox.
type noEvents struct{}

func (noEvents) EnqueueEvents(context.Context, *store.Tx, []webhook.EventRef) error { return nil }

type githubEnv struct {
	svc *integration.GitHub
	sim *githubsim.Sim
	db  *store.DB
	q   *noQueue
	ws  string
}

// githubSetup runs an Enterprise-style GitHub simulator over TLS and the
// real ingest endpoint (/v1/github/webhook) the simulator delivers to.
func githubSetup(t *testing.T, db *store.DB) *githubEnv {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{Seed: 5, TLS: true, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	keys, _ := secret.ParseKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ingest := webhook.New(db, keys, noEvents{}, log, time.Now)
	recv := httptest.NewServer(handlerFunc(ingest.Serve(webhook.GitHub)))
	t.Cleanup(recv.Close)
	q := &noQueue{}
	svc := integration.NewGitHub(integration.Options{DB: db, Keys: keys, Queue: q, Logger: log, PublicURL: recv.URL,
		GitHubHTTPClient: sim.HTTPClient(), AllowHosts: netguard.MustParse(sim.Host()), LocalGitHub: true})
	ws, err := db.EnsureWorkspace(context.Background(), "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &githubEnv{svc: svc, sim: sim, db: db, q: q, ws: ws.ID}
}

// runJobs runs the queued webhook jobs in order, as the workers would.
func (e *githubEnv) runJobs(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	jobs := e.q.jobs
	e.q.jobs = nil
	for _, j := range jobs {
		var err error
		switch a := j.(type) {
		case integration.RegisterGitHubHookArgs:
			err = e.svc.RegisterHook(ctx, a.IntegrationID, a.ProjectID)
		case integration.RemoveGitHubHookArgs:
			err = e.svc.RemoveHook(ctx, a.IntegrationID, a.ProjectID)
		case integration.GitHubHookHealthArgs:
			err = e.svc.CheckHooks(ctx, a.IntegrationID)
		default:
			t.Fatalf("unexpected job %s", j.Kind())
		}
		if err != nil {
			t.Fatalf("%s: %v", j.Kind(), err)
		}
	}
}

func handlerFunc(f func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	})
}

func TestGitHubCheckPerPermissionSet(t *testing.T) {
	e := githubSetup(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	api := e.sim.URL()

	res, err := e.svc.Check(ctx, api, e.sim.Token())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Level != "ok" || res.User == "" || res.TokenKind != "classic" || res.ProjectCount != len(e.sim.Repos()) ||
		!slices.Equal(res.Organizations, []string{e.sim.Org()}) || !strings.HasPrefix(res.Deployment, "GitHub Enterprise Server") {
		t.Fatalf("classic token: %+v", res)
	}
	for _, sc := range res.Scopes {
		if !sc.OK || sc.Call == "" {
			t.Errorf("%s: %+v", sc.Label, sc)
		}
	}

	// Without webhooks: activatable, the warning says what it breaks and the fix.
	noHooks := e.sim.NewFineGrainedToken(map[string]string{"contents": "read", "pull_requests": "read", "issues": "read",
		"actions": "read", "deployments": "read"})
	res, err = e.svc.Check(ctx, api, noHooks)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.TokenKind != "fine-grained" || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, "Webhooks") ||
		!strings.Contains(res.Warnings[0].Message, "live updates") || !strings.Contains(res.Warnings[0].Hint, "admin:repo_hook") {
		t.Fatalf("token without webhooks: %+v", res)
	}

	// Without pull requests: not activatable, the problem names the permission.
	noPRs := e.sim.NewFineGrainedToken(map[string]string{"contents": "read"})
	if res, err = e.svc.Check(ctx, api, noPRs); err != nil || res.OK || res.Level != "error" ||
		!strings.Contains(res.Problems[0].Message, "Pull requests: Read") {
		t.Fatalf("token without pull requests: %v %+v", err, res)
	}

	// A revoked token: a problem saying so.
	bad := e.sim.NewClassicToken("repo")
	e.sim.RevokeToken(bad)
	if res, err = e.svc.Check(ctx, api, bad); err != nil || res.OK || !strings.Contains(res.Problems[0].Message, "401") {
		t.Fatalf("revoked token: %v %+v", err, res)
	}

	// Bad input is an error naming the field.
	if _, err := e.svc.Check(ctx, api, " "); delivery.KindOf(err) != delivery.KindInvalid || !strings.Contains(err.Error(), "token is empty") {
		t.Fatalf("empty token: %v", err)
	}
	if _, err := e.svc.Check(ctx, "https://github.com/acme", e.sim.Token()); delivery.KindOf(err) != delivery.KindInvalid {
		t.Fatalf("github.com with a path: %v", err)
	}
	// github.com's loopback twin is refused before any call: the host policy.
	if _, err := e.svc.Check(ctx, "https://127.0.0.2:1", e.sim.Token()); delivery.KindOf(err) != delivery.KindInvalid {
		t.Fatalf("a loopback API base not listed: %v", err)
	}
}

// TestGitHubActivateSelectHooksDeselect walks the whole connection on both
// engines: a token without pull requests is refused naming the fix, the
// fix activates; repositories are stored; selecting one registers its
// webhook in the simulator with the product's URL, secret, events and
// content type; a delivery the simulator signs is accepted at
// /v1/github/webhook and lands in the inbox; deselecting removes the hook.
func TestGitHubActivateSelectHooksDeselect(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := githubSetup(t, db)
		ctx := context.Background()
		noPRs := e.sim.NewFineGrainedToken(map[string]string{"contents": "read"})
		_, err := e.svc.Activate(ctx, e.ws, e.sim.URL(), noPRs, false)
		var de *delivery.Error
		if !asDelivery(err, &de) || de.Kind != delivery.KindInvalid || !strings.Contains(de.Hint, "Pull requests: Read") {
			t.Fatalf("activate without pull requests: %v", err)
		}
		if st, _ := e.svc.Status(ctx, e.ws); st.Connected {
			t.Fatal("a refused activation stored something")
		}
		st, err := e.svc.Activate(ctx, e.ws, e.sim.URL(), e.sim.Token(), false)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Connected || st.State != "connected" || len(st.Projects) != len(e.sim.Repos()) || st.SelectedProjects != 0 ||
			st.TokenKind != "classic" || !slices.Equal(st.Owners, []string{e.sim.Org()}) {
			t.Fatalf("after activate: %+v", st)
		}
		if _, err := e.svc.Activate(ctx, e.ws, e.sim.URL(), e.sim.Token(), false); delivery.KindOf(err) != delivery.KindConflict {
			t.Fatalf("a second activation: %v", err)
		}
		ins, _ := db.ListIntegrations(ctx, e.ws, integration.GitHubProvider)
		in := ins[0]
		repos, _ := db.ListRepositories(ctx, e.ws, "")
		if len(repos) != len(e.sim.Repos()) || repos[0].RepoID != repos[0].ProjectID {
			t.Fatalf("repositories rows: %+v", repos)
		}

		repo := st.Projects[0]
		if st, err = e.svc.SelectProjects(ctx, e.ws, []string{repo.ID}); err != nil || st.SelectedProjects != 1 {
			t.Fatalf("select: %v %+v", err, st)
		}
		e.runJobs(t)
		owner, name, _ := strings.Cut(repo.Name, "/")
		c, _, err := e.svc.Client(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		hooks, err := c.Hooks(ctx, owner, name)
		if err != nil || len(hooks) != 1 {
			t.Fatalf("hooks in the simulator: %+v %v", hooks, err)
		}
		h := hooks[0]
		wantURL := e.svc.WebhookURL(in.ID)
		if h.URL != wantURL || !strings.Contains(h.URL, "/v1/github/webhook?integration="+in.ID) || h.ContentType != "json" ||
			h.InsecureSSL != "0" || !h.Active || !sameSet(h.Events, integration.GitHubEvents) {
			t.Fatalf("the webhook: %+v", h)
		}
		// The ping and a push, signed with the integration's secret, land in the inbox.
		if _, err := e.sim.Activity(githubsim.ActivityRequest{Kind: "push", Repo: repo.Name}); err != nil {
			t.Fatal(err)
		}
		ds, err := e.sim.WaitDeliveries(ctxTimeout(t), 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.StatusCode != 200 {
				t.Fatalf("delivery %s answered %d (%s)", d.Event, d.StatusCode, d.Status)
			}
			ev, err := db.GetInboxEvent(ctx, in.ID, d.GUID)
			if err != nil || ev.EventType != d.Event || ev.Status != "pending" {
				t.Fatalf("delivery %s in the inbox: %+v %v", d.Event, ev, err)
			}
		}
		// The health check reads the deliveries.
		if err := e.svc.CheckHooks(ctx, in.ID); err != nil {
			t.Fatal(err)
		}
		st, _ = e.svc.Status(ctx, e.ws)
		if hh := st.Projects[0].Hooks; !hh.Registered || hh.Enabled != 1 || !strings.Contains(hh.Detail, "0 of the last 2 deliveries failed") {
			t.Fatalf("hook health: %+v", hh)
		}
		// A hook someone deleted on GitHub is registered again by the check.
		if err := c.DeleteHook(ctx, owner, name, h.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.CheckHooks(ctx, in.ID); err != nil {
			t.Fatal(err)
		}
		if hooks, _ = c.Hooks(ctx, owner, name); len(hooks) != 1 {
			t.Fatalf("after the health check: %d hooks", len(hooks))
		}

		// Deselect: the hook is removed.
		if _, err := e.svc.SelectProjects(ctx, e.ws, nil); err != nil {
			t.Fatal(err)
		}
		e.runJobs(t)
		if hooks, _ = c.Hooks(ctx, owner, name); len(hooks) != 0 {
			t.Fatalf("after deselect: %+v", hooks)
		}
		if rec, _ := db.ListHookSubscriptions(ctx, store.Key{IntegrationID: in.ID, WorkspaceID: e.ws}, ""); len(rec) != 0 {
			t.Fatalf("records after deselect: %+v", rec)
		}
		if _, err := e.svc.SelectProjects(ctx, e.ws, []string{"nope"}); delivery.KindOf(err) != delivery.KindInvalid {
			t.Fatalf("selecting an unknown repository: %v", err)
		}

		// Another workspace sees nothing of it.
		other, _ := db.EnsureWorkspace(ctx, "other", time.Now())
		if st, err := e.svc.Status(ctx, other.ID); err != nil || st.Connected || len(st.Projects) != 0 {
			t.Fatalf("another workspace: %+v %v", st, err)
		}
		if _, err := e.svc.SelectProjects(ctx, other.ID, []string{repo.ID}); !delivery.IsNotFound(err) {
			t.Fatalf("another workspace selects: %v", err)
		}
	})
}

// TestGitHubWithoutWebhooksThenUpdateToken: a token without webhooks
// activates; the selected repository's hook is refused and the status says
// so with the fix; Update token with the fix registers it, and the state is
// complete.
func TestGitHubWithoutWebhooksThenUpdateToken(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := githubSetup(t, db)
		ctx := context.Background()
		noHooks := e.sim.NewFineGrainedToken(map[string]string{"contents": "read", "pull_requests": "read", "issues": "read",
			"actions": "read", "deployments": "read"})
		st, err := e.svc.Activate(ctx, e.ws, e.sim.URL(), noHooks, false)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != "limited" || len(st.Limited) != 1 || !strings.Contains(st.Limited[0].Message, "Webhooks") {
			t.Fatalf("limited: %+v", st)
		}
		repo := st.Projects[0]
		if _, err := e.svc.SelectProjects(ctx, e.ws, []string{repo.ID}); err != nil {
			t.Fatal(err)
		}
		e.runJobs(t)
		st, _ = e.svc.Status(ctx, e.ws)
		hh := st.Projects[0].Hooks
		if hh.Registered || len(hh.Unavailable) != 1 || !strings.Contains(hh.Unavailable[0], "Update token") {
			t.Fatalf("refused hook: %+v", hh)
		}
		if !slices.ContainsFunc(st.Limited, func(p integration.Problem) bool { return p.Code == "webhooks_refused" }) {
			t.Fatalf("the status does not say the webhook was refused: %+v", st.Limited)
		}
		if n := len(e.sim.Deliveries()); n != 0 {
			t.Fatalf("%d deliveries without a hook", n)
		}

		// A bad token is refused and changes nothing.
		if _, err := e.svc.UpdateToken(ctx, e.ws, "ghp_wrong"); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("a wrong token: %v", err)
		}
		if st2, _ := e.svc.Status(ctx, e.ws); st2.Token != st.Token {
			t.Fatal("a refused token replaced the stored one")
		}
		// The fix: a token with webhooks.
		st, err = e.svc.UpdateToken(ctx, e.ws, e.sim.Token())
		if err != nil {
			t.Fatal(err)
		}
		e.runJobs(t)
		st, _ = e.svc.Status(ctx, e.ws)
		if st.State != "connected" || len(st.Limited) != 0 || st.TokenKind != "classic" || !st.Projects[0].Hooks.Registered ||
			len(st.Projects[0].Hooks.Unavailable) != 0 {
			t.Fatalf("after the new token: %+v", st)
		}
		if _, err := e.sim.WaitDeliveries(ctxTimeout(t), 1); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGitHubAutoOwnersAndDisconnect: choosing an organization as a whole
// selects its repositories; Disconnect keeping the data removes every hook
// from the simulator and refuses deliveries; Activate connects it again;
// Disconnect deleting the data removes the rows.
func TestGitHubAutoOwnersAndDisconnect(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := githubSetup(t, db)
		ctx := context.Background()
		if _, err := e.svc.Activate(ctx, e.ws, e.sim.URL(), e.sim.Token(), false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateSettings(ctx, e.ws, integration.Settings{AutoOwners: []string{"not a login"}}); delivery.KindOf(err) != delivery.KindInvalid {
			t.Fatalf("a bad owner: %v", err)
		}
		stt, err := e.svc.UpdateSettings(ctx, e.ws, integration.Settings{AutoOwners: []string{e.sim.Org()}})
		if err != nil || !slices.Equal(stt.AutoOwners, []string{e.sim.Org()}) {
			t.Fatalf("settings: %+v %v", stt, err)
		}
		st, _ := e.svc.Status(ctx, e.ws)
		if st.SelectedProjects != len(e.sim.Repos()) {
			t.Fatalf("the whole organization: %d of %d selected", st.SelectedProjects, len(e.sim.Repos()))
		}
		e.runJobs(t)
		total := func() int {
			n := 0
			for _, r := range e.sim.Truth() {
				n += r.Hooks
			}
			return n
		}
		if total() != len(e.sim.Repos()) {
			t.Fatalf("%d hooks, want one per repository", total())
		}
		ins, _ := db.ListIntegrations(ctx, e.ws, integration.GitHubProvider)
		in := ins[0]
		res, err := e.svc.Disconnect(ctx, e.ws, true)
		if err != nil || res.Data != "kept" || res.HooksRemoved != len(e.sim.Repos()) || len(res.HooksLeft) != 0 || total() != 0 {
			t.Fatalf("disconnect keeping: %+v %v; %d hooks left", res, err, total())
		}
		if st, _ := e.svc.Status(ctx, e.ws); st.State != "disconnected" {
			t.Fatalf("status: %+v", st)
		}
		if err := e.svc.SyncNow(ctx, e.ws); delivery.KindOf(err) != delivery.KindPrecondition {
			t.Fatalf("sync while disconnected: %v", err)
		}
		if _, err := e.svc.Activate(ctx, e.ws, e.sim.URL(), e.sim.Token(), false); err != nil {
			t.Fatal(err)
		}
		e.runJobs(t)
		if total() != len(e.sim.Repos()) {
			t.Fatalf("after connecting again: %d hooks", total())
		}
		if res, err = e.svc.Disconnect(ctx, e.ws, false); err != nil || res.Data != "deleted" || total() != 0 {
			t.Fatalf("disconnect deleting: %+v %v", res, err)
		}
		if _, err := db.GetIntegrationByID(ctx, in.ID); !delivery.IsNotFound(err) {
			t.Fatalf("the integration after delete: %v", err)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func asDelivery(err error, de **delivery.Error) bool {
	e, ok := err.(*delivery.Error)
	*de = e
	return ok
}
