package collect_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/jobs"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/server"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
	"github.com/pandev-metrics/pandev/internal/webhook"
)

// Tests in which the simulator's service-hook deliveries reach the
// product's ingest, as in production: an ingest server and a job queue
// draining the inbox with the env's collector, and subscriptions in the
// simulator pointing at the ingest.

// hookSink is the ingest side of a simEnv.
type hookSink struct {
	e *simEnv
}

// receiveHooks starts the ingest for e's integration (a real webhook
// secret, a queue running the collector's workers) and subscribes every
// selected project to the event types, as the product's registration does
// (project filter only, all resource details, no messages).
func (e *simEnv) receiveHooks(events ...string) *hookSink {
	e.t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, err := secret.ParseKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		e.t.Fatal(err)
	}
	hookSecret := secret.Random(24)
	sealed, err := keys.Seal(hookSecret, store.WebhookSecretSealContext(e.key.IntegrationID))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.ResealIntegration(ctx, e.key.IntegrationID, "sealed", sealed); err != nil {
		e.t.Fatal(err)
	}
	workers := river.NewWorkers()
	e.c.Register(workers)
	q, err := jobs.New(e.db, jobs.Config{ID: "hooks", Workers: workers, Logger: logger, PollInterval: 20 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	e.c.AttachQueue(q)
	if err := q.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Stop(stop)
	})
	s := server.New(server.Deps{DB: e.db, Auth: auth.NewService(e.db, logger, time.Now), Logger: logger,
		Registry: prometheus.NewRegistry(), Webhook: webhook.New(e.db, keys, e.c, logger, time.Now)})
	srv := httptest.NewServer(s.Handler())
	e.t.Cleanup(srv.Close)
	for _, p := range e.projects {
		for _, typ := range events {
			publisher, path := "tfs", "/v1/azure/webhook/project"
			switch {
			case typ == "ms.vss-release.deployment-completed-event":
				publisher, path = "rm", "/v1/azure/webhook/pipeline"
			case strings.HasPrefix(typ, "ms.vss-pipelines."):
				publisher, path = "pipelines", "/v1/azure/webhook/pipeline"
			case typ == "build.complete":
				path = "/v1/azure/webhook/pipeline"
			case strings.HasPrefix(typ, "git.pullrequest"):
				path = "/v1/azure/webhook/merge-request"
			}
			if _, err := e.client.CreateSubscription(ctx, azdo.SubscriptionInput{PublisherID: publisher, EventType: typ,
				ConsumerID: "webHooks", ConsumerActionID: "httpRequest", PublisherInputs: map[string]string{"projectId": p.ProjectID},
				ConsumerInputs: map[string]string{"url": srv.URL + path, "basicAuthUsername": e.key.IntegrationID,
					"basicAuthPassword": hookSecret.Reveal(), "resourceDetailsToSend": "all", "messagesToSend": "none",
					"detailedMessagesToSend": "none"}}); err != nil {
				e.t.Fatalf("subscribe %s: %v", typ, err)
			}
		}
	}
	return &hookSink{e: e}
}

// settle waits until the simulator has delivered everything it queued
// (each delivery answered 200) and the product has processed its inbox; it
// fails on a delivery the ingest refused or an event it could not process.
func (h *hookSink) settle() {
	e := h.e
	e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			Queued     int `json:"queued"`
			Deliveries []struct {
				EventType  string `json:"event_type"`
				StatusCode int    `json:"status_code"`
				Outcome    string `json:"outcome"`
			} `json:"deliveries"`
		}
		res, err := http.Get(e.sim.ControlURL() + "/deliveries")
		if err != nil {
			e.t.Fatal(err)
		}
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		for _, d := range st.Deliveries {
			if d.Outcome != "succeeded" {
				e.t.Fatalf("delivery of %s: %d %s", d.EventType, d.StatusCode, d.Outcome)
			}
		}
		pending, err := e.db.PendingInboxEvents(ctx, e.key.IntegrationID, 1)
		if err != nil {
			e.t.Fatal(err)
		}
		if st.Queued == 0 && len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("deliveries not settled after 30s: %d queued in the simulator, inbox pending %v", st.Queued, len(pending) > 0)
		}
		time.Sleep(20 * time.Millisecond)
	}
	counts, err := e.db.CountInboxByStatus(ctx, e.key.IntegrationID)
	if err != nil {
		e.t.Fatal(err)
	}
	if counts["failed"] > 0 {
		e.t.Fatalf("inbox: %v", counts)
	}
}

// TestReleaseRedeployByWebhookAndBackfill: a classic release stage that
// failed and is deployed again (attempts 1, 2 and 3 of one release
// environment) arrives through ms.vss-release.deployment-completed-event,
// whose 3.0-preview.1 resource has no deployment object
// (samples/events/ms.vss-release.deployment-completed-event.json): the
// attempt is in the environment's deploySteps. Each attempt is a deployment
// of its own (METRICS.md: "one attempt to put a version into an
// environment"; the failed one counts as a failure, the next success
// recovers it), stored once under the key the backfill gives it
// (release, release environment, attempt): a reconciliation afterwards
// adds no duplicate and overwrites nothing.
func TestReleaseRedeployByWebhookAndBackfill(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		e := newEnv(t, db, sim, "redeploy", azdo.ServicesDeployment, append(slices.Clone(azdosim.ManualScopes), "vso.release"))
		if err := e.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		from := e.window()
		h := e.receiveHooks("ms.vss-release.deployment-completed-event")
		project := e.projects[0].ProjectID
		for _, req := range []azdosim.ActivityRequest{
			{Kind: "release_deployment", Project: project, Result: "failed"},
			{Kind: "release_redeploy", Project: project, Result: "failed"},
			{Kind: "release_redeploy", Project: project},
		} {
			res, err := sim.Activity(req)
			if err != nil {
				t.Fatalf("%s: %v", req.Kind, err)
			}
			t.Logf("%s: %+v", req.Kind, res.Items)
			advanceSim(t, sim, 40*time.Minute) // the next attempt is a while later
		}
		h.settle()
		e.compareWithTruth(from)
		if t.Failed() {
			return
		}
		byWebhook := e.releaseRows()
		if _, err := e.c.Reconcile(ctx, e.key.IntegrationID); err != nil {
			t.Fatal(err)
		}
		e.compareWithTruth(from)
		if byBackfill := e.releaseRows(); !slices.Equal(byWebhook, byBackfill) {
			t.Errorf("the reconciliation changed release deployment rows:\nwebhook  %v\nbackfill %v", diff(byWebhook, byBackfill), diff(byBackfill, byWebhook))
		}
	})
}

// releaseRows are the stored classic release deployments, every field.
func (e *simEnv) releaseRows() []string {
	e.t.Helper()
	deps, err := e.db.ListDeployments(context.Background(), store.Filter{WorkspaceID: e.key.WorkspaceID, Limit: 1 << 30}, false)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range deps {
		if d.Source == "release" {
			at := func(t *time.Time) string {
				if t == nil {
					return "-"
				}
				return t.UTC().Format(time.RFC3339)
			}
			out = append(out, fmt.Sprintf("%s %s %s %v %s %s %s", d.DeploymentKey, d.ProjectID, d.Environment, d.IsProduction, d.Result,
				at(d.StartedAt), at(d.FinishedAt)))
		}
	}
	slices.Sort(out)
	return out
}

// TestReleaseDeliveriesWithoutDeploySteps: the docs sample of
// ms.vss-release.deployment-completed-event has an empty deploySteps, so
// nothing in it names the attempt. A later completion of the same release
// environment (a redeploy) is stored as the next attempt, never over the
// first; the same completion delivered again (another event id) is not a
// new attempt.
func TestReleaseDeliveriesWithoutDeploySteps(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		deliver := func(id, status, modified string) {
			t.Helper()
			var ev map[string]any
			if err := json.Unmarshal(readSample(t, "ms.vss-release.deployment-completed-event.json"), &ev); err != nil {
				t.Fatal(err)
			}
			ev["id"] = id
			env := ev["resource"].(map[string]any)["environment"].(map[string]any)
			env["status"], env["modifiedOn"] = status, modified
			// The docs sample names no project; real deliveries carry resourceContainers.
			ev["resourceContainers"] = map[string]any{"project": map[string]any{"id": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"}}
			body, _ := json.Marshal(ev)
			_, project := sampleProject(t, body)
			h.selectProject(project)
			if code, answer := h.deliver(body); code != 200 {
				t.Fatalf("delivery: %d %s", code, answer)
			}
			if e := h.waitProcessed(id); e.Status != "processed" {
				t.Fatalf("event %s: %+v", id, e)
			}
		}
		deliver("c3e52c57-0000-0000-0000-000000000001", "rejected", "2016-01-21T08:19:17.26Z")
		deliver("c3e52c57-0000-0000-0000-000000000002", "succeeded", "2016-01-21T09:40:00Z")
		deliver("c3e52c57-0000-0000-0000-000000000003", "rejected", "2016-01-21T08:19:17.26Z") // the first again
		deps, err := h.db.ListDeployments(context.Background(), store.Filter{WorkspaceID: h.key.WorkspaceID, Limit: 10}, false)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range deps {
			got = append(got, d.DeploymentKey+" "+d.Result)
		}
		slices.Sort(got)
		if want := []string{"release:1:5:1 failed", "release:1:5:2 succeeded"}; !slices.Equal(got, want) {
			t.Errorf("deployments %v, want %v", got, want)
		}
	})
}

// TestPullRequestBranchPushesByWebhook: commits pushed to a pull request's
// source branch (those it is opened with, and those pushed while it is in
// review) arrive through git.push — the service fires it for every push,
// to a subscription without a branch filter, as the product registers it —
// with no reconciliation run: the stored commits equal the truth's, every
// branch's.
func TestPullRequestBranchPushesByWebhook(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		e := newEnv(t, db, sim, "prpushes", azdo.ServicesDeployment, nil)
		if err := e.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		from := e.window()
		h := e.receiveHooks("git.push")
		var prs []string
		for _, p := range e.projects[:2] {
			res, err := sim.Activity(azdosim.ActivityRequest{Kind: "pull_request_created", Project: p.ProjectID})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range res.Items {
				if it.Kind == "pull_request" {
					prs = append(prs, it.ID)
				}
			}
			if res.Events[0] != "git.push" {
				t.Fatalf("pull_request_created fired %v", res.Events)
			}
		}
		for i, id := range prs {
			n, _ := strconv.Atoi(id)
			if _, err := sim.Activity(azdosim.ActivityRequest{Kind: "pull_request_updated", Project: e.projects[i].ProjectID,
				PullRequestID: n}); err != nil {
				t.Fatal(err)
			}
		}
		h.settle()
		e.compareCommits(from)
	})
}

// compareCommits is the commit part of compareWithTruth: id, author, time,
// and the work item the message mentions.
func (e *simEnv) compareCommits(from time.Time) {
	e.t.Helper()
	ctx := context.Background()
	stored, err := e.db.ListCommits(ctx, store.Filter{WorkspaceID: e.key.WorkspaceID, From: from, Limit: 1 << 30})
	if err != nil {
		e.t.Fatal(err)
	}
	var got, want []string
	for _, c := range stored {
		got = append(got, fmt.Sprintf("%s %s %s", c.SHA, c.AuthorEmail, c.AuthorDate.UTC().Format(time.RFC3339)))
	}
	for _, c := range e.truth("commits", from) {
		at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(c["author_date"]))
		want = append(want, fmt.Sprintf("%s %s %s", c["commit_id"], c["author_email"], at.UTC().Format(time.RFC3339)))
	}
	slices.Sort(got)
	slices.Sort(want)
	if missing, extra := diff(want, got), diff(got, want); len(missing)+len(extra) > 0 {
		e.t.Errorf("commits: %d stored, %d in truth; missing %d %v; extra %d %v", len(got), len(want), len(missing), head(missing),
			len(extra), head(extra))
	}
}
