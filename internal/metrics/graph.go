package metrics

import (
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// graph is the commit graph of one repository, built from the stored
// commits' parents. Nodes are dense int32 indexes so that walks use slices,
// not maps: a year of a large repository is a hundred thousand commits and
// every deployment walks part of it.
type graph struct {
	index    map[string]int32
	sha      []string
	authored []time.Time
	parents  [][]int32
	// gen is the generation number: 1 + the largest generation of the
	// parents. A parent always has a smaller generation than its child, which
	// lets a walk visit nodes children-first without exploring all history.
	gen []int32

	// Scratch state of walk, reset after each call.
	paint   []uint8
	touched []int32
	queue   genHeap
}

func newGraph(commits []*delivery.Commit) *graph {
	g := &graph{index: make(map[string]int32, len(commits))}
	for _, c := range commits {
		if _, dup := g.index[c.SHA]; dup {
			continue
		}
		g.index[c.SHA] = int32(len(g.sha))
		g.sha = append(g.sha, c.SHA)
		g.authored = append(g.authored, c.AuthoredAt)
	}
	g.parents = make([][]int32, len(g.sha))
	for _, c := range commits {
		n := g.index[c.SHA]
		if g.parents[n] != nil {
			continue // duplicate commit record
		}
		g.parents[n] = make([]int32, 0, len(c.Parents))
		for _, p := range c.Parents {
			// Parents from before the backfill were never stored: the walk
			// simply ends there.
			if pi, ok := g.index[p]; ok {
				g.parents[n] = append(g.parents[n], pi)
			}
		}
	}
	g.generations()
	g.paint = make([]uint8, len(g.sha))
	g.queue.gen = g.gen
	return g
}

// Node states of the depth-first walk in generations.
const (
	unseen = iota
	open
	done
)

// generations numbers the nodes with an iterative depth-first walk;
// recursion would overflow on long linear histories. An edge that closes a
// cycle (impossible in Git, possible in corrupt data) is dropped.
func (g *graph) generations() {
	g.gen = make([]int32, len(g.sha))
	state := make([]uint8, len(g.sha))
	type frame struct{ node, next int32 }
	var stack []frame
	for root := range g.sha {
		if state[root] != unseen {
			continue
		}
		state[root] = open
		stack = append(stack[:0], frame{node: int32(root)})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if ps := g.parents[top.node]; int(top.next) < len(ps) {
				p := ps[top.next]
				top.next++
				if state[p] == unseen {
					state[p] = open
					stack = append(stack, frame{node: p})
				}
				continue
			}
			n := top.node
			stack = stack[:len(stack)-1]
			g.parents[n] = g.acyclic(n, state)
			g.gen[n] = 1
			for _, p := range g.parents[n] {
				g.gen[n] = max(g.gen[n], g.gen[p]+1)
			}
			state[n] = done
		}
	}
}

// acyclic drops the parents of n that are still open, i.e. on the walk's
// stack: those edges close a cycle.
func (g *graph) acyclic(n int32, state []uint8) []int32 {
	ps := g.parents[n]
	for _, p := range ps {
		if state[p] != done {
			kept := ps[:0:0]
			for _, q := range ps {
				if state[q] == done {
					kept = append(kept, q)
				}
			}
			return kept
		}
	}
	return ps
}

// Paints of a walk: which end a node is reachable from.
const (
	fromHead uint8 = 1
	fromBase uint8 = 2
)

// between returns the nodes reachable from head and not reachable from base
// (Git's base..head); base < 0 means no base, i.e. all history of head.
//
// Both ends paint their ancestors while a max-heap on generation pops nodes
// children-first, so a node's paint is final when it is popped. The walk
// stops once no node painted by head alone is left in the heap: everything
// further down is reachable from base too. For consecutive deployments this
// touches little more than the commits in between.
func (g *graph) between(head, base int32) []int32 {
	pending := 0 // nodes in the heap painted by head only
	g.mark(head, fromHead, &pending)
	if base >= 0 {
		g.mark(base, fromBase, &pending)
	}
	var out []int32
	for pending > 0 {
		n := g.queue.pop()
		f := g.paint[n]
		if f == fromHead {
			out = append(out, n)
			pending--
		}
		for _, p := range g.parents[n] {
			g.mark(p, f, &pending)
		}
	}
	for _, n := range g.touched {
		g.paint[n] = 0
	}
	g.touched = g.touched[:0]
	g.queue.nodes = g.queue.nodes[:0]
	return out
}

// mark adds paint f to n, queueing n when it is seen for the first time and
// keeping the count of head-only nodes in the heap up to date.
func (g *graph) mark(n int32, f uint8, pending *int) {
	old := g.paint[n]
	if old|f == old {
		return
	}
	g.paint[n] = old | f
	switch {
	case old == 0:
		g.touched = append(g.touched, n)
		g.queue.push(n)
		if f == fromHead {
			*pending++
		}
	case old == fromHead:
		*pending-- // now reachable from base as well
	}
}

// genHeap is a max-heap of nodes by generation (ties by index, for
// determinism), hand-rolled because container/heap's interface calls cost
// more than the walk itself.
type genHeap struct {
	gen   []int32
	nodes []int32
}

func (h *genHeap) less(i, j int) bool {
	a, b := h.nodes[i], h.nodes[j]
	if h.gen[a] != h.gen[b] {
		return h.gen[a] > h.gen[b]
	}
	return a > b
}

func (h *genHeap) push(n int32) {
	h.nodes = append(h.nodes, n)
	for i := len(h.nodes) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h.nodes[i], h.nodes[parent] = h.nodes[parent], h.nodes[i]
		i = parent
	}
}

func (h *genHeap) pop() int32 {
	top := h.nodes[0]
	last := len(h.nodes) - 1
	h.nodes[0] = h.nodes[last]
	h.nodes = h.nodes[:last]
	for i := 0; ; {
		l, r, best := 2*i+1, 2*i+2, i
		if l < last && h.less(l, best) {
			best = l
		}
		if r < last && h.less(r, best) {
			best = r
		}
		if best == i {
			return top
		}
		h.nodes[i], h.nodes[best] = h.nodes[best], h.nodes[i]
		i = best
	}
}
