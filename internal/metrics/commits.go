package metrics

import (
	"encoding/hex"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Commits are one repository's commits packed as they are read: what the
// analysis needs of each (its SHA, parents, authored time, size and work
// items) in about a hundred bytes, instead of a delivery.Commit's strings
// and slices (several hundred). A server streams a repository's rows into
// Commits, so that a hundred thousand commits never exist as values at
// once. Nodes are dense indexes in the order commits were added; the first
// record of a SHA wins over later duplicates.
type Commits struct {
	repo string
	// index maps SHAs of 40 lowercase hex digits, packed, to nodes; oddIndex
	// maps any other SHA string (kept in oddSHA by node).
	index    map[[20]byte]int32
	oddIndex map[string]int32
	oddSHA   map[int32]string
	sha      [][20]byte
	authored []int64 // Unix ns, 0 for the zero time
	files    []int32
	// items are the work items a commit links to or mentions, for the few
	// commits that have any.
	items map[int32][]int
	// Parents as added, node n's at pending[pendOff[n]:pendOff[n+1]]; they
	// may name commits added later, so they are resolved to nodes (and
	// dropped) when the analysis starts.
	pending []shaRef
	pendOff []int32
	pendOdd []string
}

// shaRef is a SHA packed (odd 0) or, when it is not 40 lowercase hex
// digits, Commits.pendOdd[odd-1].
type shaRef struct {
	b   [20]byte
	odd int32
}

// NewCommits starts an empty set of the repository's commits.
func NewCommits(repository string) *Commits {
	return &Commits{repo: repository, index: map[[20]byte]int32{}, pendOff: []int32{0}}
}

// Repository is the id of the repository the commits belong to.
func (c *Commits) Repository() string { return c.repo }

// Len is the number of distinct commits added.
func (c *Commits) Len() int { return len(c.sha) }

// Add adds a commit: its SHA, its parents' SHAs in order (those never added
// are history before the backfill, where walks end), its authored time,
// the number of files it changed and the work items it links to or
// mentions. A SHA added before is ignored.
func (c *Commits) Add(sha string, parents []string, authored time.Time, files int, workItems []int) {
	if _, dup := c.lookup(sha); dup {
		return
	}
	n := int32(len(c.sha))
	if b, ok := packHex(sha); ok {
		c.index[b] = n
		c.sha = append(c.sha, b)
	} else {
		if c.oddIndex == nil {
			c.oddIndex, c.oddSHA = map[string]int32{}, map[int32]string{}
		}
		c.oddIndex[sha], c.oddSHA[n] = n, sha
		c.sha = append(c.sha, [20]byte{})
	}
	c.authored = append(c.authored, nanos(authored))
	c.files = append(c.files, int32(files))
	if len(workItems) > 0 {
		if c.items == nil {
			c.items = map[int32][]int{}
		}
		c.items[n] = append([]int(nil), workItems...)
	}
	for _, p := range parents {
		ref := shaRef{}
		if b, ok := packHex(p); ok {
			ref.b = b
		} else {
			c.pendOdd = append(c.pendOdd, p)
			ref.odd = int32(len(c.pendOdd))
		}
		c.pending = append(c.pending, ref)
	}
	c.pendOff = append(c.pendOff, int32(len(c.pending)))
}

// lookup returns the node of a SHA.
func (c *Commits) lookup(sha string) (int32, bool) {
	if b, ok := packHex(sha); ok {
		n, found := c.index[b]
		return n, found
	}
	n, found := c.oddIndex[sha]
	return n, found
}

// shaString is node n's SHA as it was added.
func (c *Commits) shaString(n int32) string {
	if s, ok := c.oddSHA[n]; ok {
		return s
	}
	return hex.EncodeToString(c.sha[n][:])
}

// resolveParents turns the pending parents into nodes, dropping those
// never added, and frees them: node n's parents are parents[off[n]:off[n+1]].
func (c *Commits) resolveParents() (off, parents []int32) {
	off = make([]int32, len(c.sha)+1)
	parents = make([]int32, 0, len(c.pending))
	for n := range c.sha {
		for _, ref := range c.pending[c.pendOff[n]:c.pendOff[n+1]] {
			var p int32
			var ok bool
			if ref.odd > 0 {
				p, ok = c.oddIndex[c.pendOdd[ref.odd-1]]
			} else {
				p, ok = c.index[ref.b]
			}
			if ok {
				parents = append(parents, p)
			}
		}
		off[n+1] = int32(len(parents))
	}
	c.pending, c.pendOff, c.pendOdd = nil, nil, nil
	return off, parents
}

// packCommits packs commits by repository, with the work items each links
// to or mentions (by #1234 in its message, when known).
func packCommits(commits []delivery.Commit, known map[int]bool) map[string]*Commits {
	out := map[string]*Commits{}
	for i := range commits {
		c := &commits[i]
		cs := out[c.RepositoryID]
		if cs == nil {
			cs = NewCommits(c.RepositoryID)
			out[c.RepositoryID] = cs
		}
		ids := c.WorkItemIDs
		if m := mentionedItems(c.Message, known); len(m) > 0 {
			ids = append(append([]int(nil), ids...), m...)
		}
		cs.Add(c.SHA, c.Parents, c.AuthoredAt, c.Changes.Files(), ids)
	}
	return out
}

// packHex packs a SHA of 40 lowercase hex digits, as Git writes them.
func packHex(s string) (b [20]byte, ok bool) {
	if len(s) != 40 || !isLowerHex(s) {
		return b, false
	}
	for i := range b {
		b[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return b, true
}

// unhex is the value of a lowercase hex digit.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}
