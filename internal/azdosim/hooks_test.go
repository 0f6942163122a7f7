package azdosim

import (
	"encoding/json"
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
