package azdospec_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/azdospec"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/netguard"
	prazure "github.com/pandev-metrics/pandev/internal/prcomment/azure"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestClientCallsConformToSpecs connects a workspace to a small simulated
// organization and runs what the product does with it — Check connection
// and Activate (detection, projects, scope probes), the project selection
// with its service hook registration, health check and removal, a backfill
// and a reconciliation of every project, and a PR comment posted then
// updated — plus one call of each client method no flow uses yet. Every
// request goes through a recorder; each is then looked up in Microsoft's
// specs for the deployment (7.1 for Services, server-X.0 for Server):
//
//   - the operation must exist, for the api-version the client sent;
//   - every query parameter the client sent must be one the operation has;
//   - every 2xx body the simulator answered must satisfy the operation's 200
//     response schema (azdospec.Operation.ValidateResponse: types, formats,
//     required properties; extra properties are fine; lists are the
//     {count, value} wrapper).
//
// Finally every endpoint declared in internal/azdo/endpoints.go must have
// been called with success at least once, so a new client call without a
// flow here fails this test instead of going unchecked.
// simHosts lists the loopback address the simulator listens on (plain
// http, release host on another port): the client refuses it otherwise.
var simHosts = netguard.MustParse("127.0.0.1:*")

func TestClientCallsConformToSpecs(t *testing.T) {
	specs := azdospec.DefaultDir()
	if _, err := os.Stat(specs); err != nil {
		if os.Getenv("PANDEV_TEST_SAMPLES") == "1" || os.Getenv("CI") == "true" {
			t.Fatalf("the shared Azure DevOps specs are required but missing at %s", specs)
		}
		t.Skipf("the shared Azure DevOps specs are not beside the repository (%s); skipping", specs)
	}
	endpoints := declaredEndpoints(t)
	for _, m := range []struct {
		name, mode, server string
		// notCalled are endpoints the client must not call on this
		// deployment: OPTIONS _apis only detects a Server release, the
		// resource areas only matter on Services (a Server serves every
		// area under the collection URL), and Server 2019 has no pipeline
		// environments (azdo.ErrUnsupported).
		notCalled []string
	}{
		{"services", "services", "", []string{"location.options"}},
		{"server2022", "server", "2022", []string{"location.resourceareas"}},
		{"server2020", "server", "2020", []string{"location.resourceareas"}},
		{"server2019", "server", "2019", []string{"location.resourceareas",
			"distributedtask.environments", "distributedtask.environmentdeploymentrecords"}},
	} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			sim, dep, xs := drive(t, m.mode, m.server)
			spec, err := azdospec.Load(filepath.Join(specs, azdospec.Folder(dep.Kind == azdo.Server, dep.APIVersion)))
			if err != nil {
				t.Fatal(err)
			}
			applyErrata(t, spec)
			checkExchanges(t, sim, spec, xs)
			checkCoverage(t, spec.Folder, endpoints, m.notCalled, xs)
		})
	}
}

// noSpec are the endpoints the published specs do not describe: the
// Location area (connectionData, resourceAreas, OPTIONS _apis) is not among
// the documents (specs/README.md lists the areas). Their shapes are held to
// the real captures by the simulator's own tests instead.
var noSpec = map[string]bool{
	"location.connectiondata": true,
	"location.resourceareas":  true,
	"location.options":        true,
}

// specErrata are the places where the documents and the real service
// disagree, each shown by a real payload in ../shared/azure-devops/samples/rest
// (named with each entry). The real payload wins: the property's schema is
// relaxed there, and nowhere else.
var specErrata = []struct {
	definition, property string
	change               func(*openapi3.Schema)
	evidence             string
}{
	// Swagger 2.0 cannot say null; the service sends null for these.
	{"BuildRepository", "clean", nullable, `build.builds.list.top-1.json: "clean": null`},
	{"Build", "triggeredByBuild", nullable, `build.item.real.json: "triggeredByBuild": null`},
	{"TimelineRecord", "parentId", nullable, `build.timeline.get.json: "parentId": null (the stage)`},
	{"TimelineRecord", "currentOperation", nullable, `build.timeline.record.real.json: "currentOperation": null`},
	{"TimelineRecord", "details", nullable, `build.timeline.record.real.json: "details": null`},
	{"TimelineRecord", "resultCode", nullable, `build.timeline.record.real.json: "resultCode": null`},
	{"TimelineRecord", "url", nullable, `build.timeline.record.real.json: "url": null`},
	{"TimelineRecord", "task", nullable, `build.timeline.record.real.json: "task": null`},
	{"CommentThread", "threadContext", nullable, `git.pullrequest.threads.list.json: "threadContext": null`},
	{"GitPullRequestCommentThread", "pullRequestThreadContext", nullable, `git.pullrequest.threads.list.json: "pullRequestThreadContext": null`},
	{"Subscription", "subscriber", nullable, `hooks.subscriptions.get.real.json: "subscriber": null`},
	{"ReleaseReference", "createdBy", nullable, `release.deployments.list.json: "release": {"createdBy": null, …}`},
	{"ReleaseReference", "modifiedBy", nullable, `release.deployments.list.json: "release": {"modifiedBy": null, …}`},
	{"ReleaseReference", "description", nullable, `release.deployments.list.json: "release": {"description": null, …}`},
	{"ReleaseReference", "releaseDefinition", nullable, `release.deployments.list.json: "release": {"releaseDefinition": null, …}`},
	// A C# byte documented as a base64 string; the service sends the number.
	{"Subscription", "probationRetries", integer, `hooks.subscriptions.get.real.json: "probationRetries": 1`},
	// IDictionary<string, object> documented as a map of objects; the values
	// are any JSON (numbers, strings, booleans, identities).
	{"WorkItem", "fields", anyValues, `wit.workitems.list.expand-all.json: "System.Id": 297, "System.Title": "…"`},
	{"Link", "attributes", anyValues, `wit.workitems.list.expand-all.json: "attributes": {"isLocked": false, …}`},
	// object documented as an object; a field's old and new values are any
	// JSON, like the fields of a work item.
	{"WorkItemFieldUpdate", "newValue", anyJSON, `events/workitem.updated.json: "System.State": {"oldValue": "New", "newValue": "Approved"}`},
	{"WorkItemFieldUpdate", "oldValue", anyJSON, `events/workitem.updated.json: "System.Rev": {"oldValue": "1", "newValue": "2"}`},
	// Enum values sent in PascalCase.
	{"Deployment", "operationStatus", pascalCaseToo, `release.deployments.list.json: "operationStatus": "PhaseFailed"`},
	// DateTime.MinValue without an offset.
	{"Deployment", "scheduledDeploymentTime", minValueDateToo, `release.deployments.list.json: "scheduledDeploymentTime": "0001-01-01T00:00:00"`},
}

func nullable(s *openapi3.Schema) { s.Nullable = true }

func integer(s *openapi3.Schema) { s.Type, s.Format = &openapi3.Types{openapi3.TypeInteger}, "" }

func anyValues(s *openapi3.Schema) {
	yes := true
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: &yes}
}

func anyJSON(s *openapi3.Schema) { s.Type = nil }

func pascalCaseToo(s *openapi3.Schema) {
	for _, v := range slices.Clone(s.Enum) {
		if str, ok := v.(string); ok && str != "" {
			s.Enum = append(s.Enum, strings.ToUpper(str[:1])+str[1:])
		}
	}
}

func minValueDateToo(s *openapi3.Schema) {
	s.Format = "" // the pattern below is RFC 3339 (openapi3.FormatOfStringDateTime) or the MinValue
	s.Pattern = `^(0001-01-01T00:00:00|[0-9]{4}-(0[1-9]|10|11|12)-(0[1-9]|[12][0-9]|3[01])T([0-1][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)([0-1][0-9]|2[0-3]):[0-5][0-9]))$`
}

// applyErrata relaxes the spec where the real service differs from it.
func applyErrata(t *testing.T, spec *azdospec.Spec) {
	t.Helper()
	for _, e := range specErrata {
		if spec.Relax(e.definition, e.property, e.change) == 0 {
			t.Errorf("erratum %s.%s (%s): spec %s has no such property", e.definition, e.property, e.evidence, spec.Folder)
		}
	}
}

// clientParamsNotInSpec are query parameters the client sends that the
// operation's document does not list, judged harmless and reported rather
// than changed: folder → operationId → parameters.
var clientParamsNotInSpec = map[string]map[string][]string{
	// Server 2019's document has no paging parameters for Get Pull Request
	// Commits (server-6.0 and later list $top and continuationToken). The
	// client sends $top on every release; a server that ignores it answers
	// every commit on one page without a continuation token, which the
	// client reads as the last page.
	"server-5.0": {"Get Pull Request Commits": {"$top"}},
}

// exchange is one request the client sent and what the simulator answered.
type exchange struct {
	ep     string // the endpoint name the client logged for it
	method string
	url    *url.URL
	status int // 0: no answer
	body   []byte
}

func (x *exchange) String() string {
	return fmt.Sprintf("%s %s %s (HTTP %d)", x.ep, x.method, x.url.RequestURI(), x.status)
}

// recorder is the clients' transport. It lets one request through at a
// time and keeps its turn until the client's own debug line for it ("azure
// devops request", endpoint=…) arrives, so each exchange is tied to the
// endpoint that sent it without the test guessing from the path.
type recorder struct {
	base http.RoundTripper
	turn chan struct{}

	mu      sync.Mutex
	all     []*exchange
	pending *exchange
	errs    []string
	broken  bool // a log line never came: stop waiting for them
}

func newRecorder() *recorder {
	return &recorder{base: http.DefaultTransport.(*http.Transport).Clone(), turn: make(chan struct{}, 1)}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	broken := r.broken
	r.mu.Unlock()
	if broken {
		return nil, errors.New("recorder: broken")
	}
	select {
	case r.turn <- struct{}{}:
	case <-time.After(10 * time.Second):
		r.fail("%s %s: the client's log line for the previous request never came (has its message or its endpoint attribute changed?)", req.Method, req.URL)
		r.mu.Lock()
		r.broken = true
		r.mu.Unlock()
		return nil, errors.New("recorder: no turn")
	}
	x := &exchange{method: req.Method, url: req.URL}
	res, err := r.base.RoundTrip(req)
	if err == nil {
		body, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(body))
		x.status, x.body = res.StatusCode, body
		if rerr != nil {
			r.fail("%s %s: reading the answer: %v", req.Method, req.URL, rerr)
		}
	}
	r.mu.Lock()
	r.all = append(r.all, x)
	r.pending = x
	r.mu.Unlock()
	return res, err
}

func (r *recorder) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// logged takes the client's line for the pending exchange and frees the turn.
func (r *recorder) logged(endpoint string) {
	r.mu.Lock()
	x := r.pending
	r.pending = nil
	if x != nil {
		x.ep = endpoint
	}
	r.mu.Unlock()
	if x == nil {
		r.fail("the client logged a request to %s the recorder did not see", endpoint)
		return
	}
	<-r.turn
}

func (r *recorder) exchanges() []*exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

// logHandler hands the client's per-request debug line to the recorder and
// drops every other log line.
type logHandler struct{ r *recorder }

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h logHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h logHandler) WithGroup(string) slog.Handler            { return h }

func (h logHandler) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "azure devops request" {
		return nil
	}
	ep := ""
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "endpoint" {
			ep = a.Value.String()
			return false
		}
		return true
	})
	h.r.logged(ep)
	return nil
}

// jobQueue records the jobs the integration inserts; the test runs them.
type jobQueue struct{ jobs []river.JobArgs }

func (q *jobQueue) InsertTx(_ context.Context, _ *store.Tx, args river.JobArgs, _ *river.InsertOpts) error {
	q.jobs = append(q.jobs, args)
	return nil
}

func (q *jobQueue) take() []river.JobArgs {
	jobs := q.jobs
	q.jobs = nil
	return jobs
}

// drive runs the product's flows against a new simulator and returns the
// exchanges, tied to their endpoints.
func drive(t *testing.T, mode, serverVersion string) (*azdosim.Sim, azdo.Deployment, []*exchange) {
	t.Helper()
	ctx := context.Background()
	sim, err := azdosim.New(azdosim.Options{Seed: 5, Profile: "small", Mode: mode, ServerVersion: serverVersion, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if err := sim.SetFaults(azdosim.FaultConfig{RateLimit: &azdosim.RateLimitConfig{Limit: 0}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetDeliveryMode("drop", nil); err != nil { // the hooks point at an address nobody serves
		t.Fatal(err)
	}

	db := storetest.OpenSQLite(t)
	keys, err := secret.ParseKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	q := &jobQueue{}
	svc := integration.New(integration.Options{DB: db, Keys: keys, Queue: q, AllowHosts: simHosts, Logger: slog.New(logHandler{rec}),
		PublicURL: "https://pandev.example.com", HTTPClient: &http.Client{Transport: rec},
		ClientRetry: azdo.RetryPolicy{MaxRetries: -1}})
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Step 3 and 4 of the manual: Check connection, Activate, pick projects.
	ws, err := db.EnsureWorkspace(ctx, "acme", time.Now())
	step("workspace", err)
	_, err = svc.Activate(ctx, ws.ID, sim.OrgURL(), sim.FullPAT(), false)
	step("Activate", err)
	st, err := svc.Status(ctx, ws.ID)
	step("Status", err)
	var projects []string
	for _, p := range st.Projects {
		projects = append(projects, p.ID)
	}
	if len(projects) < 2 {
		t.Fatalf("the small organization has %d projects, want two or more", len(projects))
	}
	_, err = svc.SelectProjects(ctx, ws.ID, projects)
	step("SelectProjects", err)
	ins, err := db.ListIntegrations(ctx, ws.ID, integration.Provider)
	step("integration", err)
	in := ins[0]
	for _, j := range q.take() {
		if a, ok := j.(integration.RegisterHooksArgs); ok {
			step("RegisterHooks", svc.RegisterHooks(ctx, a.IntegrationID, a.ProjectID))
		}
	}
	step("CheckHooks", svc.CheckHooks(ctx, in.ID))

	// The backfill and a reconciliation of every selected project.
	col := collect.New(db, slog.New(slog.DiscardHandler), time.Now)
	col.AttachSource(azure.New(svc))
	step("Backfill", col.Backfill(ctx, collect.BackfillArgs{IntegrationID: in.ID}))
	_, err = col.Reconcile(ctx, in.ID)
	step("Reconcile", err)

	// A PR comment, posted then updated: the calls prcomment's write makes.
	c, _, err := svc.Client(ctx, in.ID)
	step("client", err)

	// The updates of a work item whose fields carry no resolution date (the
	// simulator's ids divisible by 3): what the collector reads for an
	// incident resolved or closed without ResolvedDate or ClosedDate, when
	// the backfill above had none.
	items, err := sim.TruthItems("work_items", "", "", "")
	step("truth", err)
	for _, it := range items["items"].([]any) {
		if id, _ := it.(map[string]any)["id"].(int); id%3 == 0 {
			_, err := c.WorkItemUpdates(ctx, "", id)
			step("work item updates", err)
			break
		}
	}
	dep, err := c.Deployment(ctx)
	step("deployment", err)
	var pr azdo.PullRequest
	for _, project := range projects {
		for p, err := range c.PullRequests(ctx, project, "", azdo.PullRequestQuery{Status: "active", PageSize: 10}) {
			step("active pull requests", err)
			pr = p
			break
		}
		if pr.PullRequestID != 0 {
			break
		}
	}
	if pr.PullRequestID == 0 {
		t.Fatal("no active pull request to comment on")
	}
	project, repo, id := pr.Repository.Project.ID, pr.Repository.ID, pr.PullRequestID
	_, err = c.PullRequestThreads(ctx, project, repo, id)
	step("threads", err)
	th, err := c.CreateThread(ctx, project, repo, id, azdo.NewThread{Content: "PanDev Metrics: first look",
		Properties: map[string]string{prazure.Marker: "1"}})
	step("CreateThread", err)
	if len(th.Comments) == 0 {
		t.Fatal("the created thread has no comment")
	}
	_, err = c.UpdateComment(ctx, project, repo, id, th.ID, th.Comments[0].ID, "PanDev Metrics: updated")
	step("UpdateComment", err)

	// Client methods no flow calls yet: each once, so that their answers are
	// checked too.
	// By project, without options: Get Pull Request By Id has no
	// includeCommits or includeWorkItemRefs (only the repository form has).
	_, err = c.PullRequest(ctx, project, "", id, azdo.PullRequestOptions{})
	step("PullRequest by project", err)
	_, err = c.PullRequestReviewers(ctx, project, repo, id)
	step("PullRequestReviewers", err)
	_, err = c.PullRequestWorkItems(ctx, project, repo, id)
	step("PullRequestWorkItems", err)
	prCommits, err := azdo.Collect(c.PullRequestCommits(ctx, project, repo, id))
	step("PullRequestCommits", err)
	if len(prCommits) > 0 {
		_, err = c.Commit(ctx, project, repo, prCommits[0].CommitID)
		step("Commit", err)
	}
	for _, err := range c.PullRequests(ctx, project, repo, azdo.PullRequestQuery{PageSize: 5}) {
		step("PullRequests of a repository", err)
		break
	}
	pushes, err := azdo.Collect(c.Pushes(ctx, project, repo, azdo.PushQuery{PageSize: 5}))
	step("Pushes", err)
	if len(pushes) == 0 {
		t.Fatal("no pushes in the repository of the pull request")
	}
	_, err = azdo.Collect(c.PushCommits(ctx, project, repo, pushes[0].PushID, 10))
	step("PushCommits", err)
	subs, err := c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
	step("Subscriptions", err)
	if len(subs) == 0 {
		t.Fatal("no subscriptions after RegisterHooks")
	}
	sub, err := c.Subscription(ctx, subs[0].ID)
	step("Subscription", err)
	_, err = c.ReplaceSubscription(ctx, sub.ID, azdo.SubscriptionInput{PublisherID: sub.PublisherID, EventType: sub.EventType,
		ResourceVersion: sub.ResourceVersion, ConsumerID: sub.ConsumerID, ConsumerActionID: sub.ConsumerActionID,
		PublisherInputs: sub.PublisherInputs, ConsumerInputs: map[string]string{"url": sub.ConsumerInputs["url"]}})
	step("ReplaceSubscription", err)

	// A project deselected: its hooks are removed.
	_, err = svc.SelectProjects(ctx, ws.ID, projects[1:])
	step("deselect", err)
	for _, j := range q.take() {
		if a, ok := j.(integration.RemoveHooksArgs); ok {
			step("RemoveHooks", svc.RemoveHooks(ctx, a.IntegrationID, a.ProjectID))
		}
	}

	rec.mu.Lock()
	errs := slices.Clone(rec.errs)
	rec.mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
	return sim, dep, rec.exchanges()
}

// checkExchanges looks every exchange up in the spec and validates it.
func checkExchanges(t *testing.T, sim *azdosim.Sim, spec *azdospec.Spec, xs []*exchange) {
	t.Helper()
	bases := map[string]bool{}
	for _, u := range []string{sim.OrgURL(), sim.ReleaseURL()} {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		bases[strings.TrimSuffix(pu.EscapedPath(), "/")+"/"] = true
	}
	type opUse struct{ n, validated int }
	used := map[string]map[string]*opUse{} // endpoint → operation → use
	// Problems are reported once per endpoint, operation and message (array
	// indexes folded), with how often and one example.
	type problem struct {
		n       int
		example *exchange
	}
	problems := map[string]*problem{}
	var order []string
	fail := func(x *exchange, msg string) {
		key := x.ep + ": " + arrayIndex.ReplaceAllString(msg, "/*/")
		p := problems[key]
		if p == nil {
			p = &problem{example: x}
			problems[key] = p
			order = append(order, key)
		}
		p.n++
	}
	for _, x := range xs {
		if x.ep == "" {
			fail(x, "no endpoint logged for it")
			continue
		}
		if noSpec[x.ep] {
			continue
		}
		rel := ""
		for b := range bases {
			if p, ok := strings.CutPrefix(x.url.EscapedPath(), b); ok {
				rel = p
			}
		}
		if rel == "" {
			fail(x, "not under the organization URL")
			continue
		}
		q := x.url.Query()
		op := spec.Find(x.method, rel, q)
		if op == nil {
			fail(x, fmt.Sprintf("no operation of spec %s has %s %s", spec.Folder, x.method, rel))
			continue
		}
		if v := q.Get("api-version"); v != op.APIVersion {
			fail(x, fmt.Sprintf("api-version %q, the spec describes %v", v, op))
		}
		if unknown := slices.DeleteFunc(op.UnknownQuery(q), func(p string) bool {
			return slices.Contains(clientParamsNotInSpec[spec.Folder][op.ID], p)
		}); len(unknown) > 0 {
			fail(x, fmt.Sprintf("the client sends query parameters %v that %v does not have", unknown, op))
		}
		if used[x.ep] == nil {
			used[x.ep] = map[string]*opUse{}
		}
		u := used[x.ep][op.ID]
		if u == nil {
			u = &opUse{}
			used[x.ep][op.ID] = u
		}
		u.n++
		if x.status < 200 || x.status > 299 {
			continue // error bodies are not described
		}
		if x.status == http.StatusNoContent {
			if len(x.body) > 0 {
				fail(x, "a 204 with a body")
			} else {
				u.validated++
			}
			continue
		}
		if err := op.ValidateResponse(x.body); err != nil {
			for _, e := range strings.Split(err.Error(), " | ") {
				fail(x, fmt.Sprintf("the answer does not match %v: %s", op, e))
			}
			continue
		}
		u.validated++
	}
	for _, key := range order {
		p := problems[key]
		t.Errorf("%s\n\t%d times; e.g. %v: %.300s", key, p.n, p.example, p.example.body)
	}
	var lines []string
	for ep, ops := range used {
		for id, u := range ops {
			lines = append(lines, fmt.Sprintf("%-45s %-52q %4d calls, %4d answers validated", ep, id, u.n, u.validated))
		}
	}
	sort.Strings(lines)
	t.Logf("spec %s, %d requests:\n%s", spec.Folder, len(xs), strings.Join(lines, "\n"))
}

// arrayIndex finds the array indexes of a JSON pointer in an error message.
var arrayIndex = regexp.MustCompile(`/[0-9]+/`)

// checkCoverage requires a successful call of every declared endpoint but
// those the deployment lacks, and none of those.
func checkCoverage(t *testing.T, folder string, declared, notCalled []string, xs []*exchange) {
	t.Helper()
	ok := map[string]bool{}
	called := map[string]bool{}
	for _, x := range xs {
		called[x.ep] = true
		if x.status >= 200 && x.status <= 299 {
			ok[x.ep] = true
		}
	}
	for _, ep := range declared {
		switch {
		case slices.Contains(notCalled, ep):
			if called[ep] {
				t.Errorf("%s: %s is called on a deployment that lacks it", folder, ep)
			}
		case !ok[ep]:
			t.Errorf("%s: endpoint %s (internal/azdo/endpoints.go) was never called with success: add its flow to this test", folder, ep)
		}
	}
	for ep := range called {
		if !slices.Contains(declared, ep) {
			t.Errorf("%s: the client logged endpoint %q that endpoints.go does not declare", folder, ep)
		}
	}
}

// declaredEndpoints reads the endpoint names of internal/azdo/endpoints.go.
func declaredEndpoints(t *testing.T) []string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "azdo", "endpoints.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`\bep\w+\s*=\s*endpoint\{"([^"]+)"`).FindAllSubmatch(src, -1) {
		out = append(out, string(m[1]))
	}
	if len(out) < 20 {
		t.Fatalf("read %d endpoints from endpoints.go; has its layout changed?", len(out))
	}
	return out
}
