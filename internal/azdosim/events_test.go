package azdosim

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/samples"
)

// TestEventSampleShapes subscribes to every event type, drives activity (and, for events the
// activity generator does not produce, a test notification), and compares each delivery with
// the samples under samples/events.
func TestEventSampleShapes(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{})
	rcv := newHookReceiver(t)
	p := sim.org.projects[0]
	subs := map[string]string{}
	types := make([]string, 0, len(knownEvents))
	for typ := range knownEvents {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		body := map[string]any{"publisherId": publisherOf(typ), "eventType": typ, "consumerId": "webHooks", "consumerActionId": "httpRequest",
			"publisherInputs": map[string]string{"projectId": p.ID}, "consumerInputs": map[string]string{"url": rcv.url}}
		if typ == "build.complete" {
			body["resourceVersion"] = "1.0" // the sample is the 1.0 shape
		}
		base := sim.OrgURL()
		if publisherOf(typ) == "rm" {
			base = sim.ReleaseURL() // the rm publisher lives on the release host
		}
		st, _, b := call(t, nil, "POST", base+"/_apis/hooks/subscriptions?api-version=7.1", sim.FullPAT(), body, suppress)
		if st != 200 {
			t.Fatalf("subscribe %s: %d %s", typ, st, b)
		}
		subs[typ] = mustJSON(t, b)["id"].(string)
	}
	for _, req := range []ActivityRequest{
		{Kind: "push"}, {Kind: "pull_request_created"}, {Kind: "pull_request_updated"}, {Kind: "pr_vote"},
		{Kind: "pr_comment"}, {Kind: "pull_request_completed"}, {Kind: "deployment", Result: "succeeded"},
		{Kind: "release_deployment", Result: "succeeded"}, {Kind: "work_item_created"}, {Kind: "work_item_updated"},
		{Kind: "work_item_commented"}, {Kind: "incident"},
	} {
		req.Project = p.Name
		activity(t, sim, req)
	}
	// Deliveries are sequential: wait for the activity ones to finish before topping up with tests.
	waitDeliveries(t, sim, "activity deliveries", func(d []deliveryRecord) bool {
		sim.hooks.mu.Lock()
		defer sim.hooks.mu.Unlock()
		return len(sim.hooks.queue) == 0 && countOutcome(d, "succeeded") == sim.hooks.notif && sim.hooks.notif > 0
	})
	seen := map[string]bool{}
	for _, h := range rcv.waitN(t, rcv.count()) {
		seen[h.body["eventType"].(string)] = true
	}
	expected := rcv.count()
	for _, typ := range types {
		if !seen[typ] {
			st, _, b := call(t, nil, "POST", sim.OrgURL()+"/_apis/hooks/testNotifications?api-version=7.1", sim.FullPAT(), map[string]string{"subscriptionId": subs[typ]}, suppress)
			if st != 200 {
				t.Fatalf("test notification %s: %d %s", typ, st, b)
			}
			expected++
		}
	}
	got := map[string][]any{}
	for _, h := range rcv.waitN(t, expected) {
		typ := h.body["eventType"].(string)
		got[typ] = append(got[typ], h.body)
	}
	files := samples.Files(t, "events")
	for _, file := range files {
		name := filepath.Base(file)
		typ := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".edit"), ".delete")
		t.Run(name, func(t *testing.T) {
			sample, _ := loadSample(t, "events/"+name)
			if len(got[typ]) == 0 {
				t.Fatalf("no delivery of %s", typ)
			}
			// Dynamic-key maps: work item fields differ per process, properties per build.
			ignore := []string{"resource.fields", "resource.revision.fields", "resource.release.environments[].variables",
				"resource.environment.variables", "resource.run.templateParameters"}
			assertShape(t, name, sample, mergeAll(got[typ]), ignore)
			// Work item field names that every process has must still be present.
			if strings.HasPrefix(typ, "workitem.") {
				s := sample.(map[string]any)["resource"].(map[string]any)
				if f, ok := s["fields"].(map[string]any); ok && typ != "workitem.updated" {
					assertShape(t, name+" fields", f, mergeAll(got[typ]).(map[string]any)["resource"].(map[string]any)["fields"], nil)
				}
			}
		})
	}
}
