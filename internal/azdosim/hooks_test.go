package azdosim

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitDeliveries blocks until cond holds for the delivery log, waking on engine signals.
func waitDeliveries(t *testing.T, sim *Sim, what string, cond func([]deliveryRecord) bool) []deliveryRecord {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		ch := sim.hooks.changed()
		if d := sim.hooks.deliveries(); cond(d) {
			return d
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; log: %+v", what, sim.hooks.deliveries())
		}
	}
}

func countOutcome(d []deliveryRecord, outcome string) int {
	n := 0
	for _, r := range d {
		if r.Outcome == outcome {
			n++
		}
	}
	return n
}

func createSub(t *testing.T, sim *Sim, eventType string, publisherInputs, consumerInputs map[string]string) string {
	t.Helper()
	body := map[string]any{"publisherId": publisherOf(eventType), "eventType": eventType, "consumerId": "webHooks",
		"consumerActionId": "httpRequest", "publisherInputs": publisherInputs, "consumerInputs": consumerInputs}
	st, _, b := call(t, nil, "POST", sim.OrgURL()+"/_apis/hooks/subscriptions?api-version=7.1", sim.FullPAT(), body, suppress)
	if st != 200 {
		t.Fatalf("create subscription: %d %s", st, b)
	}
	return mustJSON(t, b)["id"].(string)
}

func subStatus(t *testing.T, sim *Sim, id string) string {
	t.Helper()
	_, _, b := call(t, nil, "GET", sim.OrgURL()+"/_apis/hooks/subscriptions/"+id+"?api-version=7.1", sim.FullPAT(), nil, suppress)
	return mustJSON(t, b)["status"].(string)
}

func activity(t *testing.T, sim *Sim, req ActivityRequest) ActivityResult {
	t.Helper()
	res, err := sim.Activity(req)
	if err != nil {
		t.Fatalf("activity %+v: %v", req, err)
	}
	return res
}

func TestHookDelivery(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t)
	other := newHookReceiver(t)
	p, q := sim.org.projects[0], sim.org.projects[1]
	createSub(t, sim, "git.push", map[string]string{"projectId": p.ID},
		map[string]string{"url": rcv.url, "basicAuthUsername": "pandev", "basicAuthPassword": "pw", "httpHeaders": "X-Tenant: t1\nX-Other: 2"})
	createSub(t, sim, "git.push", map[string]string{"projectId": q.ID}, map[string]string{"url": other.url})

	res := activity(t, sim, ActivityRequest{Kind: "push", Project: p.Name, Commits: 2})
	got := rcv.waitN(t, 1)[0]
	if u, pw, ok := parseBasic(got.header.Get("Authorization")); !ok || u != "pandev" || pw != "pw" {
		t.Errorf("basic auth %q", got.header.Get("Authorization"))
	}
	if got.header.Get("X-Tenant") != "t1" || got.header.Get("X-Other") != "2" {
		t.Errorf("custom headers %v", got.header)
	}
	if !strings.HasPrefix(got.header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", got.header.Get("Content-Type"))
	}
	if got.body["eventType"] != "git.push" || got.body["subscriptionId"] == nil || got.body["notificationId"] == nil {
		t.Errorf("envelope %v", got.body)
	}
	resource := got.body["resource"].(map[string]any)
	if n := len(resource["commits"].([]any)); n != 2 {
		t.Errorf("push carries %d commits, want 2", n)
	}
	var pushID string
	for _, it := range res.Items {
		if it.Kind == "push" {
			pushID = it.ID
		}
	}
	if jsonNum(resource["pushId"]) != pushID {
		t.Errorf("pushId %v, activity said %s", resource["pushId"], pushID)
	}
	// The subscription of the other project must not fire.
	waitDeliveries(t, sim, "one success", func(d []deliveryRecord) bool { return countOutcome(d, "succeeded") == 1 })
	if other.count() != 0 {
		t.Errorf("other project's subscription got %d deliveries", other.count())
	}
}

func parseBasic(h string) (string, string, bool) {
	raw, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return "", "", false
	}
	b, err := decodeB64(raw)
	if err != nil {
		return "", "", false
	}
	u, p, ok := strings.Cut(string(b), ":")
	return u, p, ok
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestHookTransientRetries(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	zero := 0.0
	sim.SetDeliveryMode("deliver", &zero)
	rcv := newHookReceiver(t, 503, 502, 504, 200)
	id := createSub(t, sim, "workitem.created", nil, map[string]string{"url": rcv.url})
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	rcv.waitN(t, 4)
	d := waitDeliveries(t, sim, "success after retries", func(d []deliveryRecord) bool { return countOutcome(d, "succeeded") == 1 })
	if countOutcome(d, "retrying") != 3 {
		t.Errorf("retrying attempts %d, want 3: %+v", countOutcome(d, "retrying"), d)
	}
	if st := subStatus(t, sim, id); st != "enabled" {
		t.Errorf("status %s, want enabled", st)
	}
}

// TestHookProbationDisables: an enduring failure puts the subscription on probation; seven failed
// probation retries disable it (retry delays compressed to zero).
func TestHookProbationDisables(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	zero := 0.0
	sim.SetDeliveryMode("deliver", &zero)
	rcv := newHookReceiver(t, 500)
	id := createSub(t, sim, "workitem.created", nil, map[string]string{"url": rcv.url})
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	d := waitDeliveries(t, sim, "disable", func(d []deliveryRecord) bool { return countOutcome(d, "disabled") == 1 })
	if n := countOutcome(d, "probation"); n != 7 {
		t.Errorf("probation attempts %d, want 7 (first failure + 6 retries before the 7th disables)", n)
	}
	if rcv.count() != 8 {
		t.Errorf("consumer saw %d attempts, want 8 (1 + 7 probation retries)", rcv.count())
	}
	if st := subStatus(t, sim, id); st != "disabledBySystem" {
		t.Errorf("status %s, want disabledBySystem", st)
	}
}

// TestHookProbationLosesEvents uses the fake clock: events during probation are lost; the first
// probation retry (20 minutes later) succeeds and restores the subscription.
func TestHookProbationLosesEvents(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t, 404, 200)
	id := createSub(t, sim, "workitem.created", nil, map[string]string{"url": rcv.url})
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	waitDeliveries(t, sim, "probation", func(d []deliveryRecord) bool { return countOutcome(d, "probation") == 1 })
	if st := subStatus(t, sim, id); st != "onProbation" {
		t.Fatalf("status %s, want onProbation", st)
	}
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	if n := countOutcome(sim.hooks.deliveries(), "lost_on_probation"); n != 1 {
		t.Fatalf("lost events %d, want 1", n)
	}
	call(t, nil, "POST", sim.ControlURL()+"/clock", "", map[string]string{"advance": "20m"}, nil)
	waitDeliveries(t, sim, "probation retry", func(d []deliveryRecord) bool { return countOutcome(d, "succeeded") == 1 })
	if st := subStatus(t, sim, id); st != "enabled" {
		t.Fatalf("status %s, want enabled after a successful retry", st)
	}
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	rcv.waitN(t, 3)
}

func TestHookGoneDisables(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t, 410)
	id := createSub(t, sim, "workitem.created", nil, map[string]string{"url": rcv.url})
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	waitDeliveries(t, sim, "disable", func(d []deliveryRecord) bool { return countOutcome(d, "disabled") == 1 })
	if st := subStatus(t, sim, id); st != "disabledBySystem" {
		t.Fatalf("status %s", st)
	}
}

func TestDeliveryModes(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t)
	createSub(t, sim, "workitem.created", nil, map[string]string{"url": rcv.url})
	call(t, nil, "PUT", sim.ControlURL()+"/deliveries", "", map[string]string{"mode": "drop"}, nil)
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	if countOutcome(sim.hooks.deliveries(), "dropped") != 1 {
		t.Fatal("drop mode did not drop")
	}
	call(t, nil, "PUT", sim.ControlURL()+"/deliveries", "", map[string]string{"mode": "pause"}, nil)
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	if _, _, b := call(t, nil, "GET", sim.ControlURL()+"/deliveries", "", nil, nil); mustJSON(t, b)["queued"].(float64) != 1 {
		t.Fatalf("pause should queue: %s", b)
	}
	call(t, nil, "PUT", sim.ControlURL()+"/deliveries", "", map[string]string{"mode": "deliver"}, nil)
	rcv.waitN(t, 1)
	_, _, b := call(t, nil, "GET", sim.ControlURL()+"/deliveries", "", nil, nil)
	var body struct {
		Deliveries []deliveryRecord `json:"deliveries"`
	}
	json.Unmarshal(b, &body)
	if len(body.Deliveries) < 1 || body.Deliveries[0].EventType != "workitem.created" {
		t.Fatalf("deliveries: %s", b)
	}
}

func TestTestNotification(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t)
	id := createSub(t, sim, "build.complete", nil, map[string]string{"url": rcv.url})
	st, _, b := call(t, nil, "POST", sim.OrgURL()+"/_apis/hooks/testNotifications?api-version=7.1", sim.FullPAT(), map[string]string{"subscriptionId": id}, suppress)
	if st != 200 {
		t.Fatalf("test notification: %d %s", st, b)
	}
	got := rcv.waitN(t, 1)[0]
	if got.body["subscriptionId"] != "00000000-0000-0000-0000-000000000000" || got.body["eventType"] != "build.complete" {
		t.Fatalf("test delivery %v", got.body)
	}
}

func TestSubscriptionsControlShowsSecrets(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	createSub(t, sim, "git.push", nil, map[string]string{"url": "https://x.example/h", "basicAuthPassword": "hidden"})
	_, _, b := call(t, nil, "GET", sim.OrgURL()+"/_apis/hooks/subscriptions?api-version=7.1", sim.FullPAT(), nil, suppress)
	if !strings.Contains(string(b), `"********"`) || strings.Contains(string(b), "hidden") {
		t.Fatalf("REST list must mask: %s", b)
	}
	_, _, b = call(t, nil, "GET", sim.ControlURL()+"/subscriptions", "", nil, nil)
	if !strings.Contains(string(b), "hidden") {
		t.Fatalf("control view must show secrets: %s", b)
	}
}

func TestNotificationHistory(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t)
	id := createSub(t, sim, "workitem.created", nil, map[string]string{"url": rcv.url})
	activity(t, sim, ActivityRequest{Kind: "work_item_created"})
	waitDeliveries(t, sim, "success", func(d []deliveryRecord) bool { return countOutcome(d, "succeeded") == 1 })
	_, _, b := call(t, nil, "GET", sim.OrgURL()+"/_apis/hooks/subscriptions/"+id+"/notifications?api-version=7.1", sim.FullPAT(), nil, suppress)
	v := mustJSON(t, b)["value"].([]any)
	if len(v) != 1 || v[0].(map[string]any)["result"] != "succeeded" {
		t.Fatalf("notifications: %s", b)
	}
}

// TestActivityGenerator runs the background generator until a delivery arrives, then stops it.
func TestActivityGenerator(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t)
	createSub(t, sim, "git.push", nil, map[string]string{"url": rcv.url})
	st, _, b := call(t, nil, "POST", sim.ControlURL()+"/activity", "", map[string]any{"every": "10ms", "count": 3}, nil)
	if st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	rcv.waitN(t, 1)
	call(t, nil, "POST", sim.ControlURL()+"/activity", "", map[string]any{"every": "0s"}, nil)
}

// TestReleaseRedeploy: redeploying a release environment makes attempt 2 of the same release
// environment, listed as such; its completed event carries, as the service's 3.0-preview.1
// payload does, no deployment object, only the environment with every attempt in deploySteps.
func TestReleaseRedeploy(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t)
	p := sim.org.projects[0]
	body := map[string]any{"publisherId": "rm", "eventType": "ms.vss-release.deployment-completed-event", "consumerId": "webHooks",
		"consumerActionId": "httpRequest", "publisherInputs": map[string]string{"projectId": p.ID}, "consumerInputs": map[string]string{"url": rcv.url}}
	if st, _, b := call(t, nil, "POST", sim.ReleaseURL()+"/_apis/hooks/subscriptions?api-version=7.1", sim.FullPAT(), body, suppress); st != 200 {
		t.Fatalf("subscribe: %d %s", st, b)
	}
	first := activity(t, sim, ActivityRequest{Kind: "release_deployment", Project: p.Name, Result: "failed"})
	again := activity(t, sim, ActivityRequest{Kind: "release_redeploy", Project: p.Name})
	if len(first.Items) < 2 || len(again.Items) != 1 || !strings.Contains(again.Items[0].Detail, "attempt 2 succeeded") {
		t.Fatalf("activity: %+v then %+v", first.Items, again.Items)
	}
	hooks := rcv.waitN(t, 2)
	env1 := hooks[0].body["resource"].(map[string]any)["environment"].(map[string]any)
	res2 := hooks[1].body["resource"].(map[string]any)
	env2 := res2["environment"].(map[string]any)
	if _, ok := res2["deployment"]; ok {
		t.Error("the completed event carries a deployment object; the service's does not")
	}
	if jsonNum(env1["id"]) != jsonNum(env2["id"]) || env1["status"] != "rejected" || env2["status"] != "succeeded" {
		t.Errorf("environments: %v %v, then %v %v", env1["id"], env1["status"], env2["id"], env2["status"])
	}
	var attempts []string
	for _, st := range env2["deploySteps"].([]any) {
		s := st.(map[string]any)
		attempts = append(attempts, jsonNum(s["attempt"])+" "+s["status"].(string))
	}
	if strings.Join(attempts, ",") != "1 failed,2 succeeded" {
		t.Errorf("deploySteps %v", attempts)
	}
	_, _, b := call(t, nil, "GET", sim.ReleaseURL()+"/"+p.Name+"/_apis/release/deployments?api-version=7.1&queryOrder=descending&$top=2",
		sim.FullPAT(), nil, suppress)
	list := mustJSON(t, b)["value"].([]any)
	d2, d1 := list[0].(map[string]any), list[1].(map[string]any)
	if jsonNum(d2["attempt"]) != "2" || jsonNum(d1["attempt"]) != "1" ||
		jsonNum(d2["releaseEnvironment"].(map[string]any)["id"]) != jsonNum(env2["id"]) {
		t.Errorf("listed: attempt %v then %v, release environment %v", d2["attempt"], d1["attempt"], d2["releaseEnvironment"])
	}
	_, _, b = call(t, nil, "GET", sim.ReleaseURL()+"/"+p.Name+"/_apis/release/deployments?api-version=7.1&queryOrder=descending&$top=1&latestAttemptsOnly=true",
		sim.FullPAT(), nil, suppress)
	if latest := mustJSON(t, b)["value"].([]any); jsonNum(latest[0].(map[string]any)["attempt"]) != "2" {
		t.Errorf("latestAttemptsOnly: %v", latest)
	}
}

// TestPushToPullRequestBranchFiresGitPush: the commits a pull request is opened with, and the
// ones pushed to its source branch later, fire git.push to a subscription without a branch
// filter, as every push does; a subscription filtered on main gets none of them.
func TestPushToPullRequestBranchFiresGitPush(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	all, mainOnly := newHookReceiver(t), newHookReceiver(t)
	p := sim.org.projects[0]
	rp := p.repos[0]
	createSub(t, sim, "git.push", map[string]string{"projectId": p.ID, "repository": rp.ID}, map[string]string{"url": all.url})
	createSub(t, sim, "git.push", map[string]string{"projectId": p.ID, "repository": rp.ID, "branch": "refs/heads/main"},
		map[string]string{"url": mainOnly.url})
	created := activity(t, sim, ActivityRequest{Kind: "pull_request_created", Project: p.Name, Repository: rp.Name})
	if created.Events[0] != "git.push" {
		t.Fatalf("pull_request_created fired %v, want git.push first", created.Events)
	}
	prID := 0
	for _, it := range created.Items {
		if it.Kind == "pull_request" {
			prID, _ = strconv.Atoi(it.ID)
		}
	}
	activity(t, sim, ActivityRequest{Kind: "pull_request_updated", Project: p.Name, PullRequestID: prID})
	activity(t, sim, ActivityRequest{Kind: "push", Project: p.Name, Repository: rp.Name})
	got := all.waitN(t, 3)
	pr := sim.org.pr(prID)
	for i, want := range []string{pr.branch, pr.branch, "refs/heads/main"} {
		ref := got[i].body["resource"].(map[string]any)["refUpdates"].([]any)[0].(map[string]any)["name"]
		if ref != want {
			t.Errorf("push %d: ref %v, want %s", i, ref, want)
		}
	}
	if n := len(got[1].body["resource"].(map[string]any)["commits"].([]any)); n != 1 {
		t.Errorf("the update pushed %d commits, want 1", n)
	}
	waitDeliveries(t, sim, "four deliveries", func(d []deliveryRecord) bool { return countOutcome(d, "succeeded") == 4 })
	if h := mainOnly.waitN(t, 1); len(h) != 1 || h[0].body["resource"].(map[string]any)["refUpdates"].([]any)[0].(map[string]any)["name"] != "refs/heads/main" {
		t.Errorf("the main-only subscription got %d deliveries", len(h))
	}
}

// TestServerReleasesRefuseMissingEvents: each Server release refuses, with the 400 of an
// unknown event type, the subscriptions it has no event for (serverRefuses); what it has it
// accepts.
func TestServerReleasesRefuseMissingEvents(t *testing.T) {
	t.Parallel()
	type sub struct{ event, version string }
	refused := map[string][]sub{
		"2019": {{"git.repo.created", ""}, {"git.repo.renamed", "1.0-preview.1"}, {"ms.vss-code.git-pullrequest-comment-event", "2.0"},
			{"build.complete", "2.0"}, {"ms.vss-pipelines.run-state-changed-event", ""}, {"ms.vss-pipelines.job-state-changed-event", ""}},
		"2020": {{"ms.vss-pipelines.job-state-changed-event", ""}},
		"2022": {{"ms.vss-pipelines.job-state-changed-event", ""}},
	}
	accepted := map[string][]sub{
		"2019": {{"git.push", "1.0"}, {"git.pullrequest.updated", "1.0"}, {"build.complete", "1.0"}, {"build.complete", ""},
			{"workitem.updated", "1.0"}, {"ms.vss-release.deployment-completed-event", "3.0-preview.1"}},
		"2020": {{"git.repo.created", "1.0-preview.1"}, {"ms.vss-code.git-pullrequest-comment-event", "2.0"}, {"build.complete", "2.0"},
			{"ms.vss-pipelines.stage-state-changed-event", "5.1-preview.1"}},
		"2022": {{"git.repo.deleted", "1.0-preview.1"}, {"build.complete", "2.0"}, {"ms.vss-pipelines.run-state-changed-event", "5.1-preview.1"}},
	}
	for _, version := range []string{"2019", "2020", "2022"} {
		sim := newTestSim(t, Options{Mode: "server", ServerVersion: version})
		p := sim.org.projects[0]
		try := func(s sub) (int, map[string]any) {
			body := map[string]any{"publisherId": publisherOf(s.event), "eventType": s.event, "resourceVersion": s.version,
				"consumerId": "webHooks", "consumerActionId": "httpRequest", "publisherInputs": map[string]string{"projectId": p.ID},
				"consumerInputs": map[string]string{"url": "https://example.com/hook"}}
			st, _, b := call(t, nil, "POST", sim.OrgURL()+"/_apis/hooks/subscriptions?api-version=5.0", sim.FullPAT(), body, suppress)
			return st, mustJSON(t, b)
		}
		for _, s := range refused[version] {
			if st, b := try(s); st != 400 || b["typeKey"] != "ServiceHookException" {
				t.Errorf("Server %s, %s %q: %d %v, want 400 ServiceHookException", version, s.event, s.version, st, b)
			}
		}
		for _, s := range accepted[version] {
			st, b := try(s)
			if st != 200 {
				t.Errorf("Server %s, %s %q: %d %v", version, s.event, s.version, st, b)
			} else if s.event == "build.complete" && s.version == "" && version == "2019" && b["resourceVersion"] != "1.0" {
				t.Errorf("Server 2019 build.complete without a version: stored %v, want 1.0", b["resourceVersion"])
			}
		}
	}
}
