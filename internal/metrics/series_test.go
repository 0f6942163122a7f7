package metrics

import (
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestSeries(t *testing.T) {
	// t0 is a Monday. Deployments on Wednesday (2 on one day), the next
	// Monday, and a failure on the Tuesday after.
	deps := []delivery.Deployment{
		success("a", "r1", "", h(48+1)), success("b", "r1", "", h(48+2)),
		success("c", "r1", "", h(7*24+5)), failure("f", "r1", "", h(8*24+5)),
	}
	a := Analyze(Input{Deployments: deps})
	tests := []struct {
		name        string
		w           delivery.Window
		iv          Interval
		starts      []time.Time
		deployments []int
		cfrN        []int
	}{
		{
			name: "weeks start on Monday UTC and are clipped to the window",
			w:    delivery.Window{From: h(24), To: h(9 * 24)}, iv: Week,
			starts:      []time.Time{h(24), h(7 * 24)},
			deployments: []int{2, 1}, cfrN: []int{2, 2},
		},
		{
			name: "days",
			w:    window(24, 4*24), iv: Day,
			starts:      []time.Time{h(24), h(48), h(72)},
			deployments: []int{0, 2, 0}, cfrN: []int{0, 2, 0},
		},
		{
			name: "window starting mid-day gets a partial first day",
			w:    window(36, 72), iv: Day,
			starts:      []time.Time{h(36), h(48)},
			deployments: []int{0, 2}, cfrN: []int{0, 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := a.Series(tt.w, tt.iv)
			if len(s.Points) != len(tt.starts) {
				t.Fatalf("points = %d, want %d", len(s.Points), len(tt.starts))
			}
			for i, p := range s.Points {
				if !p.Start.Equal(tt.starts[i]) || p.Deployments != tt.deployments[i] || p.ChangeFailureRate.N != tt.cfrN[i] {
					t.Errorf("point %d = start %v, %d deployments, CFR n %d; want %v, %d, %d",
						i, p.Start, p.Deployments, p.ChangeFailureRate.N, tt.starts[i], tt.deployments[i], tt.cfrN[i])
				}
				if p.Deployments == 0 && p.LeadTime.Median != nil {
					t.Errorf("point %d: empty bucket must be no data", i)
				}
			}
		})
	}
}
