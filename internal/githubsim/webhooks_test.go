package githubsim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The webhook descriptions GitHub publishes (@octokit/openapi-webhooks, OpenAPI 3.1, JSON
// Schema 2020-12), compiled once per test binary.
var (
	hookSpecOnce sync.Once
	hookSpec     map[string]any
	hookCompiler *jsonschema.Compiler
	hookSpecErr  error
)

const hookSpecURL = "file:///octokit/openapi-webhooks/api.github.com.json"

func loadHookSpec(t testing.TB) (map[string]any, *jsonschema.Compiler) {
	t.Helper()
	dir := npmDir(t)
	hookSpecOnce.Do(func() {
		f, err := os.Open(filepath.Join(dir, "@octokit", "openapi-webhooks", "generated", "api.github.com.json"))
		if err != nil {
			hookSpecErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			hookSpecErr = err
			return
		}
		hookSpec = doc.(map[string]any)
		hookCompiler = jsonschema.NewCompiler()
		hookSpecErr = hookCompiler.AddResource(hookSpecURL, doc)
	})
	if hookSpecErr != nil {
		t.Fatal(hookSpecErr)
	}
	return hookSpec, hookCompiler
}

// webhookKey names the description of an event and action: pull_request/opened → pull-request-opened.
func webhookKey(event, action string) string {
	k := strings.ReplaceAll(event, "_", "-")
	if action != "" {
		k += "-" + strings.ReplaceAll(action, "_", "-")
	}
	return k
}

// validateDelivery checks one delivery's payload and headers against its description.
func validateDelivery(t testing.TB, d Delivery) {
	t.Helper()
	spec, c := loadHookSpec(t)
	key := webhookKey(d.Event, d.Action)
	wh, ok := spec["webhooks"].(map[string]any)[key].(map[string]any)
	if !ok {
		t.Errorf("delivery %d: no webhook %q in the description", d.ID, key)
		return
	}
	post := wh["post"].(map[string]any)
	for _, p := range post["parameters"].([]any) {
		pm := p.(map[string]any)
		if pm["in"] == "header" && pm["required"] == true {
			name := pm["name"].(string)
			found := false
			for h := range d.Headers {
				if strings.EqualFold(h, name) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s delivery lacks required header %s", key, name)
			}
		}
	}
	ref := post["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)["$ref"].(string)
	sch, err := c.Compile(hookSpecURL + ref)
	if err != nil {
		t.Fatalf("compile %s: %v", ref, err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(d.Payload)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		msg := fmt.Sprint(err)
		if len(msg) > 4000 {
			msg = msg[:4000]
		}
		t.Errorf("%s payload does not match %s: %s", key, ref, msg)
	}
}

// hookedSim starts a simulator with a json hook subscribed to every event on the first repository.
func hookedSim(t *testing.T, contentType string) (*Sim, *receiver, int64) {
	s := startSim(t, Options{Seed: 2})
	rc := newReceiver(t)
	a := do(t, s, "POST", s.URL()+"/repos/"+s.Repos()[0]+"/hooks", s.Token(), map[string]any{"name": "web", "events": []string{"*"},
		"config": map[string]any{"url": rc.url, "content_type": contentType, "secret": "It's a Secret to Everybody"}})
	if a.status != 201 {
		t.Fatalf("create hook: %d %s", a.status, a.body)
	}
	var hk struct{ ID int64 }
	a.json(t, &hk)
	return s, rc, hk.ID
}

// everyActivity makes the simulator send each event the product handles.
var everyActivity = []ActivityRequest{
	{Kind: "pull_request_opened", Commits: 2}, {Kind: "pull_request_synchronize"}, {Kind: "review"}, {Kind: "review_comment"}, {Kind: "issue_comment"},
	{Kind: "pull_request_merged"}, {Kind: "push", Commits: 2}, {Kind: "issue_opened", Labels: []string{"incident"}}, {Kind: "issue_closed"},
	{Kind: "workflow_run", Conclusion: "failure"}, {Kind: "deployment", Environment: "production"}, {Kind: "pull_request_opened"}, {Kind: "pull_request_closed"},
}

func runActivities(t *testing.T, s *Sim) []Delivery {
	for _, req := range everyActivity {
		if _, err := s.Activity(req); err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	total := len(s.Deliveries())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := s.WaitDeliveries(ctx, total)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestWebhookPayloadsMatchDescriptions(t *testing.T) {
	s, rc, _ := hookedSim(t, "json")
	ds := runActivities(t, s)
	events := map[string]bool{}
	for _, d := range ds {
		events[webhookKey(d.Event, d.Action)] = true
		validateDelivery(t, d)
	}
	var got []string
	for k := range events {
		got = append(got, k)
	}
	sort.Strings(got)
	want := "deployment-created deployment-status-created issue-comment-created issues-closed issues-opened ping pull-request-closed pull-request-opened pull-request-review-comment-created pull-request-review-submitted pull-request-synchronize push workflow-run-completed workflow-run-requested"
	if strings.Join(got, " ") != want {
		t.Errorf("events sent:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// What the receiver got is what the deliveries record, signed with the secret.
	recv := rc.all()
	if len(recv) != len(ds) {
		t.Fatalf("receiver got %d deliveries, the simulator recorded %d", len(recv), len(ds))
	}
	for i, r := range recv {
		mac := hmac.New(sha256.New, []byte("It's a Secret to Everybody"))
		mac.Write(r.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); r.header.Get("X-Hub-Signature-256") != want {
			t.Errorf("delivery %d: X-Hub-Signature-256 %q, want %q", i, r.header.Get("X-Hub-Signature-256"), want)
		}
		if !strings.HasPrefix(r.header.Get("User-Agent"), "GitHub-Hookshot/") || r.header.Get("X-GitHub-Delivery") != ds[i].GUID ||
			r.header.Get("X-GitHub-Event") != ds[i].Event || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery %d headers: %v", i, r.header)
		}
		if string(r.body) != string(ds[i].Payload) {
			t.Errorf("delivery %d: body differs from the recorded payload", i)
		}
	}
}

// GitHub's documented test vector for X-Hub-Signature-256 ("Validating webhook deliveries"):
// secret "It's a Secret to Everybody", payload "Hello, World!".
func TestSignatureTestVector(t *testing.T) {
	hk := &hook{secret: "It's a Secret to Everybody"}
	h := (&hookEngine{}).headers(hk, &repo{}, &delivery{body: []byte("Hello, World!")}, "application/json")
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; h["X-Hub-Signature-256"] != want {
		t.Errorf("signature %s, want %s", h["X-Hub-Signature-256"], want)
	}
}

func TestFormContentTypeSignsTheFormBody(t *testing.T) {
	s, rc, _ := hookedSim(t, "form")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.WaitDeliveries(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r := rc.all()[0]
	if r.header.Get("Content-Type") != "application/x-www-form-urlencoded" || !strings.HasPrefix(string(r.body), "payload=%7B") {
		t.Fatalf("form delivery: %s %.60s", r.header.Get("Content-Type"), r.body)
	}
	mac := hmac.New(sha256.New, []byte("It's a Secret to Everybody"))
	mac.Write(r.body)
	if r.header.Get("X-Hub-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Error("form delivery's signature is not of the body as sent")
	}
}

// GitHub does not retry a failed delivery; a redelivery through the API sends it again with the
// same GUID and redelivery=true.
func TestDroppedDeliveryIsNotRetriedButCanBeRedelivered(t *testing.T) {
	s, rc, hookID := hookedSim(t, "json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.WaitDeliveries(ctx, 1); err != nil { // the ping
		t.Fatal(err)
	}
	s.DropDeliveries(1)
	if _, err := s.Activity(ActivityRequest{Kind: "pull_request_opened"}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.WaitDeliveries(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	dropped := ds[1]
	if !dropped.Dropped || dropped.StatusCode != 0 || len(rc.all()) != 1 {
		t.Fatalf("dropped delivery: %+v, receiver got %d", dropped, len(rc.all()))
	}
	// Nothing more happens on its own: the next delivery the simulator makes is the next event's.
	if _, err := s.Activity(ActivityRequest{Kind: "issue_comment"}); err != nil {
		t.Fatal(err)
	}
	ds, err = s.WaitDeliveries(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if ds[2].Event != "issue_comment" || ds[2].Redelivery {
		t.Fatalf("third delivery is %+v, want the issue_comment (no automatic retry)", ds[2])
	}
	// The deliveries API lists the failure; redeliver it.
	hooks := s.URL() + "/repos/" + s.Repos()[0] + "/hooks/" + fmt.Sprint(hookID)
	a := do(t, s, "GET", hooks+"/deliveries", s.Token(), nil)
	var list []map[string]any
	a.json(t, &list)
	var failedID any
	for _, d := range list {
		if d["guid"] == dropped.GUID {
			failedID = d["id"]
			if d["status_code"].(float64) != 0 || d["status"] == "OK" {
				t.Errorf("failed delivery listed as %v", d)
			}
		}
	}
	if failedID == nil {
		t.Fatalf("dropped delivery %s not listed: %s", dropped.GUID, a.body)
	}
	if a := do(t, s, "POST", fmt.Sprintf("%s/deliveries/%v/attempts", hooks, failedID), s.Token(), nil); a.status != 202 {
		t.Fatalf("redeliver: %d %s", a.status, a.body)
	}
	ds, err = s.WaitDeliveries(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	re := ds[3]
	if !re.Redelivery || re.GUID != dropped.GUID || re.StatusCode != 200 || string(re.Payload) != string(dropped.Payload) {
		t.Errorf("redelivery: %+v", re)
	}
	got := rc.all()
	if len(got) != 3 || got[2].header.Get("X-GitHub-Delivery") != dropped.GUID {
		t.Errorf("receiver got %d deliveries, last %v", len(got), got[len(got)-1].header.Get("X-GitHub-Delivery"))
	}
}

// The real example deliveries (@octokit/webhooks-examples) against the simulator's: every key
// an example has, the simulator's payload for the same event and action has too (objects
// compared recursively, arrays by their first element), except keys GitHub sends only in some
// contexts, listed with the reason. A key the product may read therefore never appears only in
// production.
var exampleOnlyKeys = map[string]string{
	"installation": "sent only to GitHub Apps",
	"enterprise":   "sent only for repositories of an enterprise account",
	"organization": "", // the simulator sends it; listed so deeper organization fields are compared
}

func keyPaths(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := prefix + "." + k
			out[p] = true
			keyPaths(p, val, out)
		}
	case []any:
		if len(x) > 0 {
			keyPaths(prefix+"[]", x[0], out)
		}
	}
}

func TestPayloadsCoverTheRealExamples(t *testing.T) {
	dir := npmDir(t)
	raw, err := os.ReadFile(filepath.Join(dir, "@octokit", "webhooks-examples", "api.github.com", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index []struct {
		Name     string           `json:"name"`
		Examples []map[string]any `json:"examples"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	s, _, _ := hookedSim(t, "json")
	ds := runActivities(t, s)
	sim := map[string]map[string]bool{}
	for _, d := range ds {
		var p any
		json.Unmarshal(d.Payload, &p)
		k := webhookKey(d.Event, d.Action)
		if sim[k] == nil {
			sim[k] = map[string]bool{}
		}
		keyPaths("", p, sim[k])
	}
	compared := 0
	for _, ev := range index {
		for _, ex := range ev.Examples {
			action, _ := ex["action"].(string)
			k := webhookKey(ev.Name, action)
			have := sim[k]
			if have == nil {
				continue
			}
			compared++
			want := map[string]bool{}
			keyPaths("", ex, want)
			var missing []string
			for p := range want {
				top := strings.Split(strings.TrimPrefix(p, "."), ".")[0]
				if reason, ok := exampleOnlyKeys[top]; ok && reason != "" {
					continue
				}
				// issues/opened carries changes only for an issue transferred from another repository.
				if skipExampleKey(p) || strings.HasPrefix(p, ".changes") && k == "issues-opened" {
					continue
				}
				if !have[p] {
					missing = append(missing, p)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("%s: the real example has keys the simulator never sends: %s", k, strings.Join(missing, " "))
			}
		}
	}
	if compared < 10 {
		t.Errorf("compared only %d examples with the simulator's payloads", compared)
	}
}

// skipExampleKey lists example keys that GitHub sends only in some states, with why.
func skipExampleKey(p string) bool {
	for _, pre := range []string{
		".pull_request.requested_reviewers[].", ".pull_request.requested_teams[].", ".pull_request.assignees[].", ".pull_request.assignee.",
		".issue.assignees[].", ".issue.assignee.", // only when someone is assigned
		".pull_request.labels[].", ".issue.labels[].", // only when labelled; the simulator's labels carry the same keys when present
		".pull_request.milestone.", ".issue.milestone.", // only with a milestone
		".pull_request.auto_merge.", // only when auto-merge is enabled
		".repository.license.",      // only for a licensed repository
		".issue.pull_request.",      // only for an issue that is a pull request
		".pull_request.head.repo.license.", ".pull_request.base.repo.license.",
		".deployment.performed_via_github_app.", ".deployment_status.performed_via_github_app.", // only when an App acted
		".issue.performed_via_github_app.", ".comment.performed_via_github_app.",
		".workflow_run.pull_requests[].",              // only for runs of a pull request
		".workflow.", ".workflow_run.", ".check_run.", // deployment events: only when a GitHub Actions job made the deployment; the simulator's are API-made
		".hook.app_id", // ping: only for a GitHub App's hook
	} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// Deliveries are listed and redeliverable for 3 days on github.com, 7 on Enterprise Server.
func TestDeliveryRetention(t *testing.T) {
	s, _, hookID := hookedSim(t, "json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := s.WaitDeliveries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := "/repos/" + s.Repos()[0] + "/hooks/" + fmt.Sprint(hookID) + "/deliveries"
	count := func(base string) int {
		var list []any
		do(t, s, "GET", base+path, s.Token(), nil).json(t, &list)
		return len(list)
	}
	s.Advance(73 * time.Hour)
	if n := count(s.URL()); n != 0 {
		t.Errorf("github.com lists %d deliveries older than 3 days", n)
	}
	if n := count(s.EnterpriseURL()); n != 1 {
		t.Errorf("Enterprise Server lists %d deliveries of 73 hours ago, want 1", n)
	}
	if a := do(t, s, "POST", fmt.Sprintf("%s%s/%d/attempts", s.URL(), path, ds[0].ID), s.Token(), nil); a.status != 422 {
		t.Errorf("redelivering a 73-hour-old delivery on github.com: %d, want 422", a.status)
	}
	if a := do(t, s, "POST", fmt.Sprintf("%s%s/%d/attempts", s.EnterpriseURL(), path, ds[0].ID), s.Token(), nil); a.status != 202 {
		t.Errorf("redelivering it on Enterprise Server: %d, want 202", a.status)
	}
}
