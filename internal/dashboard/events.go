package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// hub watches the figures of each workspace that has an open event stream
// — one poller per workspace, however many pages are open — and tells the
// streams when newer ones are built: its polls start the builds, so a page
// that refetches on the news finds them ready.
type hub struct {
	cache    *cache
	interval time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	watches map[string]*watch
	closed  bool
}

type watch struct {
	subs    map[chan string]struct{}
	cancel  context.CancelFunc
	version string
}

func newHub(c *cache, interval time.Duration, logger *slog.Logger) *hub {
	return &hub{cache: c, interval: interval, logger: logger, watches: map[string]*watch{}}
}

// subscribe returns a channel that receives the new version each time the
// workspace's data changes, and the version at subscription. The channel
// holds only the latest news: a slow reader skips versions, not changes.
func (h *hub) subscribe(ws string) (chan string, string, func()) {
	ch := make(chan string, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watches[ws]
	if w == nil {
		ctx, cancel := context.WithCancel(context.Background())
		// What the cache holds now; the first poll builds newer figures.
		w = &watch{subs: map[chan string]struct{}{}, cancel: cancel, version: h.cache.current(ws)}
		h.watches[ws] = w
		if !h.closed {
			go h.poll(ctx, ws, w)
		}
	}
	w.subs[ch] = struct{}{}
	version := w.version
	return ch, version, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(w.subs, ch)
		if len(w.subs) == 0 && h.watches[ws] == w {
			w.cancel()
			delete(h.watches, ws)
		}
	}
}

func (h *hub) poll(ctx context.Context, ws string, w *watch) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		snap, err := h.cache.Get(ctx, ws)
		var v string
		if err == nil {
			v = snap.Version
		}
		if err != nil {
			if ctx.Err() == nil {
				h.logger.Warn("dashboard: data version check failed", "workspace", ws, "err", err)
			}
			continue
		}
		h.mu.Lock()
		if v != w.version {
			w.version = v
			for ch := range w.subs {
				select {
				case ch <- v:
				default:
					select { // replace the unread older version
					case <-ch:
					default:
					}
					ch <- v
				}
			}
		}
		h.mu.Unlock()
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ws, w := range h.watches {
		w.cancel()
		for ch := range w.subs {
			close(ch)
		}
		delete(h.watches, ws)
	}
}

// keepAlive is how often an idle stream sends a comment, so proxies do not
// close it.
const keepAlive = 15 * time.Second

// Events answers GET /api/v1/metrics/events (any path works) with a
// server-sent event stream: an "version" event on connect and a "change"
// event each time the workspace's data version moves. The data is the
// opaque version. Pages refetch their figures on "change".
func (h *Handlers) Events(w http.ResponseWriter, r *http.Request) error {
	ws, err := workspaceOf(r)
	if err != nil {
		return err
	}
	// The stream outlives the server's write timeout; middleware that wraps
	// the writer is seen through by the ResponseController (Unwrap).
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	ch, version, unsubscribe := h.hub.subscribe(ws)
	defer unsubscribe()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\nevent: version\ndata: %s\n\n", version)
	// A page rendered from older figures than the stream knows of (data
	// changed between the page and its stream) refetches at once.
	if seen := r.URL.Query().Get("v"); seen != "" && version != "" && seen != version {
		fmt.Fprintf(w, "event: change\ndata: %s\n\n", version)
	}
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("dashboard events: cannot stream: %w", err)
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case v, ok := <-ch:
			if !ok {
				return nil
			}
			if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", v); err != nil {
				return nil
			}
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}
