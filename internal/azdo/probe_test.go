package azdo

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// scopedFake answers like the simulator: a call needing a scope the token
// lacks gets 401 TF400813 before routing; the write probe's target does not
// exist (404) and a thread without comments is a 400.
func scopedFake(t *testing.T, granted map[Scope]bool, forbidBuild bool) *fake {
	f := newFake(t)
	deny := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		w.Write(sample(t, "error.401.TF400813.UnauthorizedRequestException.json"))
	}
	f.on("GET", "/git/repositories", func(w http.ResponseWriter, r *http.Request) {
		if !granted[ScopeCodeRead] {
			deny(w)
			return
		}
		w.Write([]byte(`{"count":0,"value":[]}`))
	})
	f.on("POST", "/threads", func(w http.ResponseWriter, r *http.Request) {
		if !granted[ScopeThreadsWrite] {
			deny(w)
			return
		}
		var body struct{ Comments []any }
		json.NewDecoder(r.Body).Decode(&body)
		if len(body.Comments) == 0 {
			w.WriteHeader(400)
			w.Write(vssJSON(400, "InvalidArgumentValueException", "A thread must contain at least one comment."))
			return
		}
		t.Error("the write probe sent a comment")
	})
	f.on("GET", "/_apis/build/builds", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !granted[ScopeBuildRead]:
			deny(w)
		case forbidBuild:
			w.WriteHeader(403)
			w.Write(vssJSON(403, "AccessDeniedException", "View builds permission missing"))
		default:
			w.Write([]byte(`{"count":0,"value":[]}`))
		}
	})
	f.on("POST", "/_apis/wit/wiql", func(w http.ResponseWriter, r *http.Request) {
		if !granted[ScopeWorkItemsRead] {
			deny(w)
			return
		}
		w.Write([]byte(`{"queryType":"flat","workItems":[]}`))
	})
	return f
}

func TestProbeScopes(t *testing.T) {
	all := map[Scope]bool{ScopeCodeRead: true, ScopeThreadsWrite: true, ScopeBuildRead: true, ScopeWorkItemsRead: true}
	tests := []struct {
		name        string
		granted     map[Scope]bool
		forbidBuild bool
		project     string
		want        []ScopeState
	}{
		{"all four", all, false, "Proj", []ScopeState{ScopeGranted, ScopeGranted, ScopeGranted, ScopeGranted}},
		{"code only", map[Scope]bool{ScopeCodeRead: true}, false, "Proj", []ScopeState{ScopeGranted, ScopeMissing, ScopeMissing, ScopeMissing}},
		{"no work items", map[Scope]bool{ScopeCodeRead: true, ScopeThreadsWrite: true, ScopeBuildRead: true}, false, "Proj",
			[]ScopeState{ScopeGranted, ScopeGranted, ScopeGranted, ScopeMissing}},
		{"build permission missing", all, true, "Proj", []ScopeState{ScopeGranted, ScopeGranted, ScopeForbidden, ScopeGranted}},
		{"no project", all, false, "", []ScopeState{ScopeGranted, ScopeGranted, ScopeUnknown, ScopeGranted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := scopedFake(t, tt.granted, tt.forbidBuild)
			c, _ := newClient(t, f, ServicesDeployment)
			got := c.ProbeScopes(context.Background(), tt.project)
			if len(got) != 4 {
				t.Fatalf("%d checks", len(got))
			}
			for i, chk := range got {
				if chk.Scope != Scopes[i] || chk.State != tt.want[i] || chk.Label == "" || chk.Fix == "" || chk.Breaks == "" {
					t.Errorf("check %d = %+v, want %s %s", i, chk, Scopes[i], tt.want[i])
				}
				if chk.OK() != (chk.State == ScopeGranted) || (chk.State != ScopeGranted && chk.Err == nil) {
					t.Errorf("check %d: OK/Err inconsistent: %+v", i, chk)
				}
			}
			// The write probe posted no comment and went to a repository that cannot exist.
			for _, r := range f.requests() {
				if r.Method == "POST" && strings.HasSuffix(r.Path, "/threads") {
					if !strings.Contains(r.Path, zeroGUID) || !strings.Contains(string(r.Body), `"comments":[]`) {
						t.Errorf("write probe request %s %s", r.Path, r.Body)
					}
				}
			}
		})
	}
	if got := scopeInfos[ScopeThreadsWrite].label; got != "Pull Request Threads: Read & write" {
		t.Fatalf("label = %q", got)
	}
}

func TestWorkItemsBatchSplits(t *testing.T) {
	f := newFake(t)
	var sizes []int
	f.on("POST", "/_apis/wit/workitemsbatch", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			IDs         []int  `json:"ids"`
			ErrorPolicy string `json:"errorPolicy"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		sizes = append(sizes, len(body.IDs))
		var v []any
		for i, id := range body.IDs {
			if i == 0 {
				v = append(v, nil) // omitted: deleted work item
				continue
			}
			v = append(v, map[string]any{"id": id, "rev": 1, "fields": map[string]any{"System.Id": id}})
		}
		json.NewEncoder(w).Encode(map[string]any{"count": len(v), "value": v})
	})
	c, _ := newClient(t, f, ServicesDeployment)
	ids := make([]int, 450)
	for i := range ids {
		ids[i] = i + 1
	}
	got, err := c.WorkItems(context.Background(), "Proj", ids, WorkItemsOptions{Expand: "relations"})
	if err != nil || len(sizes) != 3 || sizes[0] != 200 || sizes[1] != 200 || sizes[2] != 50 || len(got) != 447 {
		t.Fatalf("batches %v, got %d items, %v", sizes, len(got), err)
	}
	if _, err := c.WorkItems(context.Background(), "Proj", ids, WorkItemsOptions{Fields: []string{"System.Title"}, Expand: "relations"}); err == nil {
		t.Fatal("fields with $expand accepted")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFake(t)
	flaky(f, "GET", "/git/repositories", 1, 503, nil, []byte(`{"count":0,"value":[]}`))
	// Two clients (two integrations) share one registry.
	c1, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.Registerer = reg })
	c2, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.Registerer = reg })
	if _, err := c1.Repositories(context.Background(), "P"); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Repositories(context.Background(), "P"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	var latency uint64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "pandev_azdo_requests_total":
				counts[labels["endpoint"]+" "+labels["method"]+" "+labels["status"]] = m.GetCounter().GetValue()
			case "pandev_azdo_request_duration_seconds":
				latency += m.GetHistogram().GetSampleCount()
			case "pandev_azdo_retries_total":
				counts["retry "+labels["reason"]] = m.GetCounter().GetValue()
			}
		}
	}
	if counts["git.repositories GET 503"] != 1 || counts["git.repositories GET 200"] != 2 || counts["retry 503"] != 1 || latency != 3 {
		t.Fatalf("metrics = %v, latency samples %d", counts, latency)
	}
	// nil Registerer registers nothing and still works.
	c3, _ := newClient(t, f, ServicesDeployment)
	if _, err := c3.Repositories(context.Background(), "P"); err != nil {
		t.Fatal(err)
	}
}
