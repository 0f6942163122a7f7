package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
)

func TestProgressLine(t *testing.T) {
	done := time.Now()
	cases := []struct {
		name     string
		progress []collect.ProjectProgress
		projects int
		want     []string
		finished bool
	}{
		{"nothing yet", nil, 2, []string{"0%", "0/2 projects", "estimating"}, false},
		{"half", []collect.ProjectProgress{{Fraction: 1, Finished: &done, ItemsDone: 40}, {Fraction: 0, Remaining: 90 * time.Second}}, 2,
			[]string{"50%", "1/2 projects", "40 items", "about 1m30s left", strings.Repeat("█", 15)}, false},
		{"all done", []collect.ProjectProgress{{Fraction: 1, Finished: &done}, {Fraction: 1, Finished: &done}}, 2,
			[]string{"100%", "2/2 projects", "done in 12s"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line, finished := progressLine(c.progress, c.projects, 12*time.Second)
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("%q lacks %q", line, w)
				}
			}
			if finished != c.finished {
				t.Errorf("finished %v", finished)
			}
		})
	}
}
