package metrics

// graph is the commit graph of one repository, over its packed commits.
// Nodes are dense int32 indexes so that walks use slices, not maps: a year
// of a large repository is a hundred thousand commits and every deployment
// walks part of it.
type graph struct {
	*Commits
	// Node n's parents are parents[off[n]:off[n+1]]; an edge that closed a
	// cycle is -1.
	off, parents []int32
	// gen is the generation number: 1 + the largest generation of the
	// parents. A parent always has a smaller generation than its child, which
	// lets a walk visit nodes children-first without exploring all history.
	gen []int32
	// deployedBy[n] is the first deployment whose changes contain node n,
	// prOf[n] the merged PR it belongs to (as merge or commit); -1 if none.
	deployedBy, prOf []int32

	// Scratch state of walk, reset after each call.
	paint   []uint8
	touched []int32
	queue   genHeap
}

func newGraph(c *Commits) *graph {
	g := &graph{Commits: c}
	g.off, g.parents = c.resolveParents()
	g.generations()
	g.deployedBy, g.prOf = filled(len(c.sha), -1), filled(len(c.sha), -1)
	g.paint = make([]uint8, len(c.sha))
	g.queue.gen = g.gen
	return g
}

func filled(n int, v int32) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// parentsOf is node n's parents; an entry of -1 is no edge.
func (g *graph) parentsOf(n int32) []int32 { return g.parents[g.off[n]:g.off[n+1]] }

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
			if ps := g.parentsOf(top.node); int(top.next) < len(ps) {
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
			g.gen[n] = 1
			ps := g.parentsOf(n)
			for i, p := range ps {
				if state[p] != done { // still open, on the stack: a cycle
					ps[i] = -1
					continue
				}
				g.gen[n] = max(g.gen[n], g.gen[p]+1)
			}
			state[n] = done
		}
	}
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
		for _, p := range g.parentsOf(n) {
			if p >= 0 {
				g.mark(p, f, &pending)
			}
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
