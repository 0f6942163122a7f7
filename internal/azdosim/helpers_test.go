package azdosim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// fixedNow anchors every test organization so generated data is identical across runs.
var fixedNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func newTestSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// call does one HTTP request with the PAT (empty = none) and returns status, headers, body.
func call(t testing.TB, c *http.Client, method, url, pat string, body any, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if pat != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(":"+pat)))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

var suppress = map[string]string{"X-TFS-FedAuthRedirect": "Suppress"}

func mustJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return m
}

// hookReceiver is a consumer endpoint whose answers a test scripts and whose requests it awaits.
type hookReceiver struct {
	mu       sync.Mutex
	statuses []int // answered in order; the last one repeats
	got      []receivedHook
	notify   chan struct{}
	url      string
}

type receivedHook struct {
	header http.Header
	body   map[string]any
}

func newHookReceiver(t testing.TB, statuses ...int) *hookReceiver {
	h := &hookReceiver{statuses: statuses, notify: make(chan struct{}, 1000)}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		h.mu.Lock()
		h.got = append(h.got, receivedHook{header: r.Header.Clone(), body: m})
		st := 200
		if len(h.statuses) > 0 {
			st = h.statuses[0]
			if len(h.statuses) > 1 {
				h.statuses = h.statuses[1:]
			}
		}
		h.mu.Unlock()
		w.WriteHeader(st)
		h.notify <- struct{}{}
	})
	srvT := newLocalServer(t, mux)
	h.url = srvT
	return h
}

// waitN blocks until n deliveries in total have arrived.
func (h *hookReceiver) waitN(t testing.TB, n int) []receivedHook {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		h.mu.Lock()
		if len(h.got) >= n {
			out := append([]receivedHook(nil), h.got...)
			h.mu.Unlock()
			return out
		}
		h.mu.Unlock()
		select {
		case <-h.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %d deliveries (got %d)", n, len(h.got))
		}
	}
}

func (h *hookReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

func newLocalServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/hook"
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
