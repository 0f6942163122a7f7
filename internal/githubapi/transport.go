package githubapi

import (
	"bytes"
	"container/list"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Calls is the account of one client's requests: what reached GitHub, what
// a 304 answered for free, and the rate limit GitHub reported last. It is
// what the settings page shows as "calls spent".
type Calls struct {
	mu          sync.Mutex
	sent        int
	notModified int
	points      int
	gqlCalls    int
	rate        Rate
	graphql     Rate
}

// Rate is GitHub's x-ratelimit-* headers of the latest response.
type Rate struct {
	Limit, Remaining, Used int
	Reset                  time.Time
	Resource               string
}

// Snapshot is a copy of the account at one moment.
type Snapshot struct {
	// Sent is every request that reached GitHub.
	Sent int
	// NotModified is how many of them a 304 answered (GitHub does not count
	// those against the rate limit).
	NotModified int
	// Counted is Sent less NotModified: what the rate limit was charged.
	Counted int
	// Rate is the REST (core) limit GitHub reported last; zero before the first reply.
	Rate Rate
	// Points are the GraphQL rate-limit points spent (the cost GitHub
	// reported for each query); GraphQL is the GraphQL limit reported last.
	Points  int
	GraphQL Rate
	// GraphQLCalls is how many of Sent were GraphQL queries.
	GraphQLCalls int
}

// Snapshot returns the account so far.
func (c *Calls) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Snapshot{Sent: c.sent, NotModified: c.notModified, Counted: c.sent - c.notModified, Rate: c.rate, Points: c.points, GraphQL: c.graphql, GraphQLCalls: c.gqlCalls}
}

// spend records the points one GraphQL query cost.
func (c *Calls) spend(points int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.points += points
}

// graphQLCall records one GraphQL query sent.
func (c *Calls) graphQLCall() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gqlCalls++
}

func (c *Calls) record(resp *http.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent++
	if resp == nil {
		return
	}
	if resp.StatusCode == http.StatusNotModified {
		c.notModified++
	}
	h := resp.Header
	if h.Get("X-Ratelimit-Limit") == "" {
		return
	}
	atoi := func(k string) int { n, _ := strconv.Atoi(h.Get(k)); return n }
	r := Rate{Limit: atoi("X-Ratelimit-Limit"), Remaining: atoi("X-Ratelimit-Remaining"), Used: atoi("X-Ratelimit-Used"),
		Resource: h.Get("X-Ratelimit-Resource")}
	if reset := atoi("X-Ratelimit-Reset"); reset > 0 {
		r.Reset = time.Unix(int64(reset), 0).UTC()
	}
	// GraphQL has its own bucket (x-ratelimit-resource: graphql): kept apart
	// so the REST limit shown is not overwritten by the points left.
	if r.Resource == "graphql" {
		c.graphql = r
	} else {
		c.rate = r
	}
}

// counting records every request that reached GitHub.
type counting struct {
	next  http.RoundTripper
	calls *Calls
	log   *slog.Logger
}

func (t *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		t.calls.record(resp)
		t.log.Debug("github", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode,
			"ms", time.Since(start).Milliseconds(), "remaining", resp.Header.Get("X-Ratelimit-Remaining"))
	}
	return resp, err
}

// A Cache keeps, per URL, the ETag of the last full answer and its body, so
// the next request can ask "If-None-Match" and a 304 (free of rate limit)
// stands for the same answer. Implementations must be safe for concurrent
// use.
type Cache interface {
	Get(url string) (Entry, bool)
	Put(url string, e Entry)
}

// Entry is one cached answer.
type Entry struct {
	ETag   string
	Header http.Header
	Body   []byte
}

func (e Entry) size() int { return len(e.Body) + len(e.ETag) + 512 }

// DefaultCacheBytes bounds a client's private cache.
const DefaultCacheBytes = 16 << 20

// maxCachedBody is the largest body kept: GitHub's pages of 100 items stay
// under it; anything larger is fetched whole each time.
const maxCachedBody = 2 << 20

// MemoryCache is a Cache bounded in bytes, dropping the least recently used
// entries first.
type MemoryCache struct {
	mu      sync.Mutex
	limit   int
	size    int
	order   *list.List // front: most recent; values are *cacheItem
	entries map[string]*list.Element
}

type cacheItem struct {
	url   string
	entry Entry
}

// NewMemoryCache returns an empty cache of at most limit bytes.
func NewMemoryCache(limit int) *MemoryCache {
	return &MemoryCache{limit: limit, order: list.New(), entries: map[string]*list.Element{}}
}

// Get returns the entry kept for url.
func (m *MemoryCache) Get(url string) (Entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[url]
	if !ok {
		return Entry{}, false
	}
	m.order.MoveToFront(el)
	return el.Value.(*cacheItem).entry, true
}

// Put keeps e for url, evicting the oldest entries over the limit.
func (m *MemoryCache) Put(url string, e Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[url]; ok {
		m.size -= el.Value.(*cacheItem).entry.size()
		m.order.Remove(el)
		delete(m.entries, url)
	}
	if e.size() > m.limit {
		return
	}
	m.entries[url] = m.order.PushFront(&cacheItem{url: url, entry: e})
	m.size += e.size()
	for m.size > m.limit {
		old := m.order.Back()
		it := old.Value.(*cacheItem)
		m.size -= it.entry.size()
		m.order.Remove(old)
		delete(m.entries, it.url)
	}
}

// Len is the number of entries kept.
func (m *MemoryCache) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// conditional asks GitHub "If-None-Match" for a GET it answered before and
// turns a 304 into the answer kept, marked X-From-Cache (go-github then
// leaves its rate-limit state alone: a 304 costs nothing).
type conditional struct {
	next  http.RoundTripper
	cache Cache
}

func (t *conditional) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" {
		return t.next.RoundTrip(req)
	}
	key := req.URL.String()
	kept, ok := t.cache.Get(key)
	if ok {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", kept.ETag)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch {
	case ok && resp.StatusCode == http.StatusNotModified:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		h := kept.Header.Clone()
		for _, k := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Used", "X-Ratelimit-Reset", "X-Ratelimit-Resource", "Date"} {
			if v := resp.Header.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		h.Set("X-From-Cache", "1")
		return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor,
			ProtoMinor: resp.ProtoMinor, Header: h, Body: io.NopCloser(bytes.NewReader(kept.Body)),
			ContentLength: int64(len(kept.Body)), Request: req}, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
		if err != nil {
			resp.Body.Close()
			return nil, err
		}
		if len(body) > maxCachedBody { // too large to keep: hand it on whole
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
			return resp, nil
		}
		resp.Body.Close()
		t.cache.Put(key, Entry{ETag: resp.Header.Get("ETag"), Header: resp.Header.Clone(), Body: body})
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}
