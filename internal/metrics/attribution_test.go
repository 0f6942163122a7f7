package metrics

import (
	"slices"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestAttribute(t *testing.T) {
	prod := func(id string, at float64) delivery.Deployment {
		d := success(id, "r1", "", h(at))
		d.Production = true
		return d
	}
	failedProd := prod("f", 20)
	failedProd.Result = delivery.ResultFailed
	staging := prod("s", 20)
	staging.Production = false
	otherProject := prod("o", 20)
	otherProject.ProjectID = "p2"
	inc := func(opened float64) delivery.Incident {
		return delivery.Incident{WorkItemID: 1, ProjectID: "p1", OpenedAt: h(opened)}
	}
	tests := []struct {
		name        string
		deployments []delivery.Deployment
		incident    delivery.Incident
		window      time.Duration
		want        string
		reason      Reason
	}{
		{"latest successful production deployment before opening", []delivery.Deployment{prod("a", 1), prod("b", 10), prod("c", 30)}, inc(20), 72 * time.Hour, "b", ReasonAttributed},
		{"exactly the attribution window earlier is inside it", []delivery.Deployment{prod("a", 10)}, inc(82), 72 * time.Hour, "a", ReasonAttributed},
		{"incident outside the attribution window is unattributed", []delivery.Deployment{prod("a", 10)}, inc(82.001), 72 * time.Hour, "", ReasonOutsideWindow},
		{"an older deployment is not tried when the latest is too old", []delivery.Deployment{prod("a", 9), prod("b", 10)}, inc(100), 72 * time.Hour, "", ReasonOutsideWindow},
		{"custom window", []delivery.Deployment{prod("a", 10)}, inc(40), 24 * time.Hour, "", ReasonOutsideWindow},
		{"deployment finishing at the opening is not before it", []delivery.Deployment{prod("a", 10), prod("b", 20)}, inc(20), 72 * time.Hour, "a", ReasonAttributed},
		{"failed, non-production and other projects' deployments are not blamed", []delivery.Deployment{prod("a", 10), failedProd, staging, otherProject}, inc(21), 72 * time.Hour, "a", ReasonAttributed},
		{"no deployment before", []delivery.Deployment{prod("a", 30)}, inc(20), 72 * time.Hour, "", ReasonNoDeployment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Attribute([]delivery.Incident{tt.incident}, tt.deployments, tt.window)[0]
			if got.DeploymentID != tt.want || got.Reason != tt.reason {
				t.Errorf("attributed to %q (%q), want %q (%q)", got.DeploymentID, got.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestIncidents(t *testing.T) {
	other := success("o", "r2", "", h(10))
	a := Analyze(Input{
		Deployments: []delivery.Deployment{success("d1", "r1", "", h(10)), other},
		WorkItems: []delivery.WorkItem{
			incident(1, h(12), h(13)),        // attributed to o (latest at 10h, id order)
			incident(2, h(200), time.Time{}), // outside the window
			{ID: 3, ProjectID: "p1", Type: "Bug", Tags: []string{"Incident"}, CreatedAt: h(5)}, // before any deployment
			{ID: 4, ProjectID: "p1", Type: "Bug", CreatedAt: h(11)},                            // not an incident
		},
	})
	tests := []struct {
		name                     string
		w                        delivery.Window
		attributed, unattributed []int
	}{
		{"all incidents opened in the window", window(0, 300), []int{1}, []int{3, 2}},
		{"window by opening time", window(0, 100), []int{1}, []int{3}},
		{"repository filter keeps unattributed incidents", delivery.Window{From: h(0), To: h(300), Repository: "r1"}, nil, []int{3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.Incidents(tt.w)
			ids := func(as []Attribution) []int {
				var out []int
				for _, at := range as {
					out = append(out, at.Incident.WorkItemID)
				}
				return out
			}
			if g := ids(got.Attributed); !slices.Equal(g, tt.attributed) {
				t.Errorf("attributed = %v, want %v", g, tt.attributed)
			}
			if g := ids(got.Unattributed); !slices.Equal(g, tt.unattributed) {
				t.Errorf("unattributed = %v, want %v", g, tt.unattributed)
			}
		})
	}
}
