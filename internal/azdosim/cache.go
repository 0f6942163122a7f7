package azdosim

import (
	"bufio"
	"encoding/json"
	"strconv"
	"sync"
)

// renderCache keeps the JSON of items that cannot change any more (completed runs and
// deployments) or that are keyed by the organization version (pull requests), so list pages of the
// large profile are assembled from bytes instead of re-encoding maps. It is bounded: when full it
// starts over, which only costs re-rendering.
type renderCache struct {
	mu sync.RWMutex
	m  map[string][]byte
}

const renderCacheMax = 20000

func (c *renderCache) get(key string, render func() obj) []byte {
	c.mu.RLock()
	b, ok := c.m[key]
	c.mu.RUnlock()
	if ok {
		return b
	}
	b, _ = json.Marshal(render())
	c.mu.Lock()
	if c.m == nil || len(c.m) >= renderCacheMax {
		c.m = map[string][]byte{}
	}
	c.m[key] = b
	c.mu.Unlock()
	return b
}

// listRaw writes {"count":n,"value":[…]} from pre-rendered items straight to the connection,
// with an exact Content-Length and no intermediate buffer.
func (q *rq) listRaw(items [][]byte) error {
	head := []byte(`{"count":` + strconv.Itoa(len(items)) + `,"value":[`)
	n := len(head) + 2
	for i, it := range items {
		n += len(it)
		if i > 0 {
			n++
		}
	}
	h := q.w.Header()
	ct := "application/json; charset=utf-8"
	if q.apiVersion != "" {
		ct += "; api-version=" + q.apiVersion
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(n))
	q.status = 200
	q.w.WriteHeader(200)
	w := bufio.NewWriterSize(q.w, 32<<10)
	w.Write(head)
	for i, it := range items {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(it)
	}
	w.WriteString("]}")
	return w.Flush()
}
