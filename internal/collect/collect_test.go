package collect_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/samples"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/server"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// harness is a server with webhook ingest and a running job queue on one
// database, and an integration whose webhook secret is known.
type harness struct {
	t         testing.TB
	db        *store.DB
	srv       *httptest.Server
	key       store.Key
	secret    string
	collector *collect.Collector
	queue     *jobs.Queue
}

func newHarness(t testing.TB, db *store.DB) *harness {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, err := secret.ParseKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := db.EnsureWorkspace(ctx, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id := store.NewID()
	hookSecret := secret.Random(24)
	sealedSecret, _ := keys.Seal(hookSecret, store.WebhookSecretSealContext(id))
	sealedToken, _ := keys.Seal(secret.New("pat"), store.TokenSealContext(id))
	if _, err := db.CreateIntegration(ctx, store.Integration{ID: id, WorkspaceID: ws.ID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/acme", TokenSealed: sealedToken, WebhookSecretSealed: sealedSecret,
		CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	c := collect.New(db, logger, time.Now)
	c.AttachSource(azure.New(nil)) // deliveries only
	workers := river.NewWorkers()
	c.Register(workers)
	q, err := jobs.New(db, jobs.Config{ID: "test", Workers: workers, Logger: logger, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.AttachQueue(q)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Stop(stop)
	})
	s := server.New(server.Deps{DB: db, Auth: auth.NewService(db, logger, time.Now), Logger: logger,
		Registry: prometheus.NewRegistry(), Webhook: webhook.New(db, keys, c, logger, time.Now)})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, db: db, srv: srv, key: store.Key{IntegrationID: id, WorkspaceID: ws.ID},
		secret: hookSecret.Reveal(), collector: c, queue: q}
}

func (h *harness) selectProject(id string) {
	h.t.Helper()
	ctx := context.Background()
	if err := h.db.UpsertProject(ctx, store.Project{Key: h.key, ProjectID: id, Name: "p-" + id}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.db.SetProjectSelected(ctx, h.key, id, true, time.Now()); err != nil {
		h.t.Fatal(err)
	}
}

// post delivers a body as Azure DevOps does and returns the status.
func (h *harness) post(path string, body []byte, user, pass string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

func (h *harness) deliver(body []byte) (int, string) {
	return h.post("/v1/azure/webhook/project", body, h.key.IntegrationID, h.secret)
}

// waitProcessed waits until the event's inbox row has left "pending".
func (h *harness) waitProcessed(eventID string) store.InboxEvent {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, err := h.db.GetInboxEvent(context.Background(), h.key.IntegrationID, eventID)
		if err != nil {
			h.t.Fatal(err)
		}
		if e.Status != "pending" {
			return e
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("event %s still pending after 30s", eventID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	return samples.Read(t, "events", name)
}

func sampleProject(t testing.TB, body []byte) (eventID, projectID string) {
	var p struct {
		ID                 string `json:"id"`
		ResourceContainers struct {
			Project struct{ ID string } `json:"project"`
		} `json:"resourceContainers"`
		Resource struct {
			ProjectID string `json:"projectId"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	projectID = p.ResourceContainers.Project.ID
	if projectID == "" {
		projectID = p.Resource.ProjectID
	}
	return p.ID, projectID
}

// TestEverySampleEventIsAcceptedAndStored delivers every real sample event
// through the ingest endpoint and checks what it became.
func TestEverySampleEventIsAcceptedAndStored(t *testing.T) {
	files := samples.Files(t, "events")
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		seen := map[string]bool{}
		for _, file := range files {
			name := filepath.Base(file)
			body := readSample(t, name)
			eventID, projectID := sampleProject(t, body)
			if seen[eventID] { // the 2025 docs samples share one placeholder event id
				body = bytes.Replace(body, []byte(eventID), []byte(name), 1)
				eventID = name
			}
			seen[eventID] = true
			if projectID != "" {
				h.selectProject(projectID)
			}
			code, answer := h.deliver(body)
			if code != 200 || !strings.Contains(answer, `"accepted"`) {
				t.Fatalf("%s: %d %s", name, code, answer)
			}
			got := h.waitProcessed(eventID)
			if got.Status == "failed" {
				t.Errorf("%s: processing failed: %s", name, got.Error)
			}
		}
		all := store.Filter{WorkspaceID: h.key.WorkspaceID, Limit: 1000}
		commits, _ := db.ListCommits(ctx, all)
		prs, _ := db.ListPullRequests(ctx, all)
		items, _ := db.ListWorkItems(ctx, all)
		runs, _ := db.ListPipelineRuns(ctx, all)
		repos, _ := db.ListRepositories(ctx, h.key.WorkspaceID, "")
		if len(commits) == 0 || len(prs) == 0 || len(items) == 0 || len(runs) < 3 || len(repos) == 0 {
			t.Fatalf("stored: %d commits, %d PRs, %d work items, %d runs, %d repos", len(commits), len(prs), len(items), len(runs), len(repos))
		}
		var pr store.PullRequest
		for _, p := range prs {
			if p.PRID == 1 {
				pr = p
			}
		}
		if pr.Title == "" || pr.RepoID != "4bc14d40-c903-45e2-872e-0462c7748079" {
			t.Fatalf("PR 1 from the samples: %+v", pr)
		}
		d, err := db.GetPRDetails(ctx, pr.Ref())
		if err != nil || len(d.Comments) == 0 || d.Comments[0].ThreadID != 5 {
			t.Fatalf("the comment events' comment on thread 5: %+v %v", d, err)
		}
	})
}

func TestIngestRefusesBadDeliveriesAndStoresNothing(t *testing.T) {
	h := newHarness(t, storetest.OpenSQLite(t))
	good := readSample(t, "git.push.json")
	cases := []struct {
		name       string
		body       []byte
		user, pass string
		status     int
	}{
		{"no credentials", good, "", "", 401},
		{"wrong secret", good, h.key.IntegrationID, "wrong", 401},
		{"unknown integration", good, "nope", h.secret, 401},
		{"not JSON", []byte("hello"), h.key.IntegrationID, h.secret, 400},
		{"JSON array", []byte(`[{"id":"x","eventType":"git.push"}]`), h.key.IntegrationID, h.secret, 400},
		{"no id", []byte(`{"eventType":"git.push"}`), h.key.IntegrationID, h.secret, 400},
		{"id of the wrong type", []byte(`{"id":5,"eventType":"git.push"}`), h.key.IntegrationID, h.secret, 400},
		{"no event type", []byte(`{"id":"e1"}`), h.key.IntegrationID, h.secret, 400},
		{"invalid UTF-8", []byte("{\"id\":\"e1\",\"eventType\":\"git.push\",\"x\":\"\xff\"}"), h.key.IntegrationID, h.secret, 400},
		{"deeply nested", []byte(`{"id":"e1","eventType":"x","r":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`), h.key.IntegrationID, h.secret, 400},
		{"over 4 MiB", []byte(`{"id":"e1","eventType":"x","pad":"` + strings.Repeat("a", 5<<20) + `"}`), h.key.IntegrationID, h.secret, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := h.post("/v1/azure/webhook/merge-request", c.body, c.user, c.pass)
			var e server.ErrorBody
			if code != c.status || json.Unmarshal([]byte(body), &e) != nil || e.Error.Message == "" || e.Error.Hint == "" {
				t.Fatalf("got %d %s, want %d with message and hint", code, body, c.status)
			}
		})
	}
	counts, err := h.db.CountInboxByStatus(context.Background(), h.key.IntegrationID)
	if err != nil || len(counts) != 0 {
		t.Fatalf("nothing may be stored for a 4xx: %v %v", counts, err)
	}
}

func TestDuplicatesAndUnknownTypesAnd200(t *testing.T) {
	h := newHarness(t, storetest.OpenSQLite(t))
	body := readSample(t, "git.push.json")
	_, project := sampleProject(t, body)
	h.selectProject(project)
	for i, want := range []string{`"accepted"`, `"duplicate"`, `"duplicate"`} {
		code, answer := h.deliver(body)
		if code != 200 || !strings.Contains(answer, want) {
			t.Fatalf("delivery %d: %d %s", i, code, answer)
		}
	}
	h.waitProcessed("03c164c2-8912-4d5e-8009-3707d5f83734")
	commits, _ := h.db.ListCommits(context.Background(), store.Filter{WorkspaceID: h.key.WorkspaceID})
	if len(commits) != 1 {
		t.Fatalf("one push delivered three times is one commit, got %d", len(commits))
	}
	code, _ := h.deliver([]byte(`{"id":"u1","eventType":"tfvc.something.new","resource":{}}`))
	if code != 200 || h.waitProcessed("u1").Status != "ignored" {
		t.Fatal("unknown event types are accepted, stored and ignored")
	}
}

func TestDeselectedProjectIsStoredAndIgnored(t *testing.T) {
	h := newHarness(t, storetest.OpenSQLite(t))
	body := readSample(t, "workitem.created.json")
	id, _ := sampleProject(t, body)
	if code, _ := h.deliver(body); code != 200 {
		t.Fatal(code)
	}
	if e := h.waitProcessed(id); e.Status != "ignored" || e.Error != "project not selected" {
		t.Fatalf("%+v", e)
	}
	items, _ := h.db.ListWorkItems(context.Background(), store.Filter{WorkspaceID: h.key.WorkspaceID})
	if len(items) != 0 {
		t.Fatal("no rows for a project that is not selected")
	}
}

// TestOutOfOrderEventsConverge delivers a PR's completion before its
// creation: the older event must not undo the newer state.
func TestOutOfOrderEventsConverge(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		created := readSample(t, "git.pullrequest.created.json")
		updated := readSample(t, "git.pullrequest.updated.json")
		_, project := sampleProject(t, created)
		h.selectProject(project)
		var u map[string]any
		json.Unmarshal(updated, &u)
		u["createdDate"] = "2030-01-01T00:00:00Z" // surely after the creation event
		u["resource"].(map[string]any)["status"] = "completed"
		updated, _ = json.Marshal(u)
		for _, b := range [][]byte{updated, created} {
			id, _ := sampleProject(t, b)
			if code, _ := h.deliver(b); code != 200 {
				t.Fatal(code)
			}
			h.waitProcessed(id)
		}
		prs, _ := db.ListPullRequests(context.Background(), store.Filter{WorkspaceID: h.key.WorkspaceID})
		if len(prs) != 1 || prs[0].Status != "completed" || prs[0].MergeCommit == "" {
			t.Fatalf("the newer completed state must stand: %+v", prs)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	for _, file := range samples.Files(f, "events") {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"x","eventType":"y"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := webhook.ParseEnvelope(body)
		if err == nil && (env.ID == "" || env.EventType == "") {
			t.Fatalf("accepted an envelope without id or type: %q", body)
		}
	})
}
