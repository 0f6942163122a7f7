package metrics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestChanges(t *testing.T) {
	// Main line a ← b ← c ← m ← e, with a branch x ← y off b merged as m.
	// Authored times: a at -48h (before the backfill window starting at
	// -24h), b..e from 0h on; x and y at 1h and 2h.
	graph := []delivery.Commit{
		commit("r1", "a", h(-48)),
		commit("r1", "b", h(0), "a"),
		commit("r1", "c", h(1), "b"),
		commit("r1", "x", h(1), "b"),
		commit("r1", "y", h(2), "x"),
		commit("r1", "m", h(3), "c", "y"),
		commit("r1", "e", h(4), "m"),
	}
	staging := success("s1", "r1", "e", h(10))
	staging.Environment = "staging"
	eu := success("eu1", "r1", "m", h(11))
	eu.Environment = "prod eu"
	tests := []struct {
		name        string
		commits     []delivery.Commit
		deployments []delivery.Deployment
		want        map[string][]string // deployment → changes, sorted
		deployedBy  map[string]string   // commit → deployment
	}{
		{
			name:        "first deployment gets only commits authored in the backfill window",
			commits:     graph,
			deployments: []delivery.Deployment{success("d1", "r1", "c", h(10))},
			want:        map[string][]string{"d1": {"b", "c"}},
			deployedBy:  map[string]string{"a": "", "b": "d1", "c": "d1"},
		},
		{
			name:        "linear history: changes since the previous deployment",
			commits:     graph,
			deployments: []delivery.Deployment{success("d1", "r1", "b", h(10)), success("d2", "r1", "c", h(11))},
			want:        map[string][]string{"d1": {"b"}, "d2": {"c"}},
		},
		{
			name:        "merge commit brings in the branch's commits",
			commits:     graph,
			deployments: []delivery.Deployment{success("d1", "r1", "c", h(10)), success("d2", "r1", "e", h(11))},
			want:        map[string][]string{"d1": {"b", "c"}, "d2": {"e", "m", "x", "y"}},
		},
		{
			name:    "failed deployment neither deploys nor becomes the base",
			commits: graph,
			deployments: []delivery.Deployment{
				success("d1", "r1", "b", h(10)), failure("f1", "r1", "e", h(11)), success("d2", "r1", "c", h(12)),
			},
			want:       map[string][]string{"d1": {"b"}, "f1": nil, "d2": {"c"}},
			deployedBy: map[string]string{"e": ""},
		},
		{
			name:    "previous deployment of another environment is not the base",
			commits: graph,
			deployments: []delivery.Deployment{
				success("d1", "r1", "b", h(9)), staging, success("d2", "r1", "c", h(12)),
			},
			want: map[string][]string{"d1": {"b"}, "d2": {"c"}},
		},
		{
			name:        "a commit is deployed by the first production deployment containing it",
			commits:     graph,
			deployments: []delivery.Deployment{eu, success("d1", "r1", "e", h(12))},
			want:        map[string][]string{"eu1": {"b", "c", "m", "x", "y"}, "d1": {"b", "c", "e", "m", "x", "y"}},
			deployedBy:  map[string]string{"m": "eu1", "b": "eu1", "e": "d1"},
		},
		{
			name:    "rollback: the redeploy lists the changes again, the first deployment keeps them",
			commits: graph,
			deployments: []delivery.Deployment{
				success("d1", "r1", "b", h(10)), success("d2", "r1", "c", h(11)),
				success("back", "r1", "b", h(12)), success("d3", "r1", "c", h(13)),
			},
			want:       map[string][]string{"d1": {"b"}, "d2": {"c"}, "back": nil, "d3": {"c"}},
			deployedBy: map[string]string{"c": "d2"},
		},
		{
			name:        "deployed version not stored: no known changes",
			commits:     graph,
			deployments: []delivery.Deployment{success("d1", "r1", "zzz", h(10))},
			want:        map[string][]string{"d1": nil},
		},
		{
			name: "clock skew in authored times does not change reachability",
			commits: []delivery.Commit{
				commit("r1", "p", h(5)), commit("r1", "q", h(1), "p"), commit("r1", "s", h(0), "q"),
			},
			deployments: []delivery.Deployment{success("d1", "r1", "p", h(10)), success("d2", "r1", "s", h(11))},
			want:        map[string][]string{"d1": {"p"}, "d2": {"q", "s"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Analyze(Input{CollectedSince: h(-24), Commits: tt.commits, Deployments: tt.deployments})
			for id, want := range tt.want {
				got := a.Changes(id)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("Changes(%s) = %v, want %v", id, got, want)
				}
			}
			for sha, want := range tt.deployedBy {
				d, _ := a.DeployedBy("r1", sha)
				if d.ID != want {
					t.Errorf("DeployedBy(%s) = %q, want %q", sha, d.ID, want)
				}
			}
		})
	}
}

// TestBetweenMatchesNaive checks the generation-ordered walk against plain
// set difference of reachability on random commit graphs.
func TestBetweenMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 2 + r.IntN(60)
		var commits []delivery.Commit
		for i := range n {
			var parents []string
			for range r.IntN(3) {
				if i > 0 {
					parents = append(parents, fmt.Sprint(r.IntN(i)))
				}
			}
			commits = append(commits, commit("r", fmt.Sprint(i), t0, parents...))
		}
		g := newGraph(packCommits(commits, nil)["r"])
		for range 10 {
			head, base := int32(r.IntN(n)), int32(r.IntN(n+1)-1)
			got := g.between(head, base)
			slices.Sort(got)
			want := naiveBetween(g, head, base)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: between(%d, %d) = %v, want %v", round, head, base, got, want)
			}
		}
	}
}

func naiveBetween(g *graph, head, base int32) []int32 {
	reach := func(from int32) map[int32]bool {
		seen := map[int32]bool{}
		if from < 0 {
			return seen
		}
		stack := []int32{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[n] {
				continue
			}
			seen[n] = true
			for _, p := range g.parentsOf(n) {
				if p >= 0 {
					stack = append(stack, p)
				}
			}
		}
		return seen
	}
	fromBase := reach(base)
	var out []int32
	for n := range reach(head) {
		if !fromBase[n] {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func TestGraphSurvivesCycles(t *testing.T) {
	// Corrupt data: a and b name each other as parents. The edge that closes
	// the cycle (b → a, found second) is dropped; the walk must end.
	commits := []delivery.Commit{commit("r", "a", t0, "b"), commit("r", "b", t0.Add(time.Hour), "a")}
	a := Analyze(Input{Commits: commits, Deployments: []delivery.Deployment{success("d", "r", "b", h(5))}})
	got := a.Changes("d")
	slices.Sort(got)
	if !slices.Equal(got, []string{"b"}) {
		t.Errorf("Changes = %v, want [b]", got)
	}
}
