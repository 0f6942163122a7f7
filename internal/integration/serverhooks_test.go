package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// createLog records the event type of every subscription create the
// client sends.
type createLog struct {
	base http.RoundTripper
	mu   sync.Mutex
	sent []string
}

func (l *createLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(strings.ToLower(r.URL.Path), "/_apis/hooks/subscriptions") && r.Body != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in struct{ EventType, ResourceVersion string }
		_ = json.Unmarshal(body, &in)
		l.mu.Lock()
		l.sent = append(l.sent, in.EventType+"@"+in.ResourceVersion)
		l.mu.Unlock()
	}
	return l.base.RoundTrip(r)
}

// take returns what was sent since the last take, sorted.
func (l *createLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.sent
	l.sent = nil
	sort.Strings(out)
	return out
}

// TestRefusedHooksOnServer2019: Azure DevOps Server 2019 has no git.repo.*
// events, no pull request comment event and no build.complete 2.0 (the
// simulator's serverRefuses, docs/simulator.md "Strictness rules"), and
// answers 400 to those subscriptions. Registration marks each refused one
// unavailable with the reason and registers the others — build.complete in
// its 1.0 shape, which the server has. The health check, twice, creates
// nothing and sends no create for a refused one. Update token forgets the
// refusals and queues the registration, which tries them again.
func TestRefusedHooksOnServer2019(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sim, err := azdosim.New(azdosim.Options{Seed: 3, Profile: "small", Mode: "server", ServerVersion: "2019", Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sim.Close() })
		creates := &createLog{base: http.DefaultTransport.(*http.Transport).Clone()}
		keys, _ := secret.ParseKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
		q := &noQueue{}
		svc := integration.New(integration.Options{DB: db, Keys: keys, Queue: q, AllowHosts: simHosts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			PublicURL: "https://pandev.example.com", HTTPClient: &http.Client{Transport: creates},
			ClientRetry: azdo.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
		ws, err := db.EnsureWorkspace(ctx, "onprem", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Activate(ctx, ws.ID, sim.OrgURL(), sim.ManualPAT(), true); err != nil {
			t.Fatal(err)
		}
		id, project := selectFirstProject(t, svc, db, ws.ID)
		k := store.Key{IntegrationID: id, WorkspaceID: ws.ID}
		refusedEvents := []string{"git.repo.created", "git.repo.deleted", "git.repo.renamed", "ms.vss-code.git-pullrequest-comment-event"}
		// The four-scope PAT has no Release: Read: the rm subscription is
		// skipped, not tried. Pipelines events do not exist before Server 2020.
		registered := []string{"build.complete@1.0", "git.pullrequest.created@1.0", "git.pullrequest.merged@1.0",
			"git.pullrequest.updated@1.0", "git.push@1.0", "workitem.created@1.0", "workitem.deleted@1.0", "workitem.restored@1.0", "workitem.updated@1.0"}
		check := func(when string) {
			t.Helper()
			rows, err := db.ListHookSubscriptions(ctx, k, project)
			if err != nil {
				t.Fatal(err)
			}
			var unavailable []string
			for _, h := range rows {
				if h.Status == store.HookUnavailable {
					unavailable = append(unavailable, h.EventType)
					if !strings.Contains(h.Reason, "not supported") {
						t.Errorf("%s: %s refused with the reason %q; want the server's", when, h.EventType, h.Reason)
					}
				}
			}
			sort.Strings(unavailable)
			if !slices.Equal(unavailable, refusedEvents) {
				t.Errorf("%s: unavailable %v, want %v", when, unavailable, refusedEvents)
			}
			c, _, err := svc.Client(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			subs, err := c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range subs {
				got = append(got, s.EventType+"@"+s.ResourceVersion)
			}
			sort.Strings(got)
			if !slices.Equal(got, registered) {
				t.Errorf("%s: subscriptions in Azure DevOps %v, want %v", when, got, registered)
			}
		}

		if err := svc.RegisterHooks(ctx, id, project); err != nil {
			t.Fatalf("registration: %v", err)
		}
		t.Logf("registration sent %v", creates.take())
		check("after registration")
		st, err := svc.Status(ctx, ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(st.Projects[0].Hooks.Unavailable); n != len(refusedEvents) {
			t.Errorf("status: %d unavailable hooks %v, want %d", n, st.Projects[0].Hooks.Unavailable, len(refusedEvents))
		}

		for i := range 2 {
			if err := svc.CheckHooks(ctx, id); err != nil {
				t.Fatal(err)
			}
			if sent := creates.take(); len(sent) > 0 {
				t.Errorf("health check %d sent creates %v; the refused ones wait for a new token", i+1, sent)
			}
		}
		check("after two health checks")

		q.jobs = nil
		if _, err := svc.UpdateToken(ctx, ws.ID, sim.NewPAT(azdosim.ManualScopes, "", time.Time{})); err != nil {
			t.Fatal(err)
		}
		if rows, _ := db.ListHookSubscriptions(ctx, k, project); slices.ContainsFunc(rows, func(h store.HookSubscription) bool {
			return h.Status == store.HookUnavailable
		}) {
			t.Error("Update token kept the refusals")
		}
		if !slices.ContainsFunc(q.jobs, func(j river.JobArgs) bool { return j.Kind() == "register_hooks" }) {
			t.Errorf("Update token queued %v, want the hook registration", q.jobs)
		}
		if err := svc.RegisterHooks(ctx, id, project); err != nil {
			t.Fatal(err)
		}
		var tried []string
		for _, s := range creates.take() {
			tried = append(tried, strings.Split(s, "@")[0])
		}
		if !slices.Equal(tried, refusedEvents) {
			t.Errorf("after Update token the registration sent %v, want the refused ones again %v", tried, refusedEvents)
		}
		check("after Update token")
	})
}
