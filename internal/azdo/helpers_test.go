package azdo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/samples"

	"github.com/pandev-metrics/pandev/internal/secret"
)

// testHosts lists the loopback address the fakes and the simulator
// listen on (over http): without it the client refuses them (guard.go).
var testHosts = netguard.MustParse("127.0.0.1:*")

// testPAT is recognisable in any output it might leak into.
const testPAT = "pat-SECRET-0123456789abcdefghijklmnop"

// sample returns a saved response body, unwrapped from the httpExamples
// ({responses:{"200":{body}}}) or legacy docs ({responseBody}) wrapper.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b := samples.Read(t, "rest", name)
	var w struct {
		Responses    map[string]struct{ Body json.RawMessage } `json:"responses"`
		ResponseBody json.RawMessage                           `json:"responseBody"`
	}
	if json.Unmarshal(b, &w) == nil {
		for _, code := range []string{"200", "201", "202", "204", "400", "401"} {
			if r, ok := w.Responses[code]; ok {
				return r.Body
			}
		}
		if len(w.ResponseBody) > 0 {
			return w.ResponseBody
		}
	}
	return b
}

// fakeClock advances only when slept on; it records every sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	if d > 0 {
		f.now = f.now.Add(d)
	}
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

func (f *fakeClock) total() time.Duration {
	var t time.Duration
	for _, d := range f.Sleeps() {
		t += d
	}
	return t
}

// fake is an Azure DevOps stand-in: handlers matched by method and a
// case-insensitive path suffix, every request recorded.
type fake struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	routes []route
	reqs   []*recorded
}

type route struct {
	method, suffix string
	h              http.HandlerFunc
}

type recorded struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
}

func newFake(t testing.TB) *fake {
	f := &fake{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	f.reqs = append(f.reqs, &recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	routes := append([]route(nil), f.routes...)
	f.mu.Unlock()
	p := strings.ToLower(r.URL.Path)
	for i := len(routes) - 1; i >= 0; i-- { // later registrations win
		rt := routes[i]
		if (rt.method == "" || rt.method == r.Method) && strings.HasSuffix(p, strings.ToLower(rt.suffix)) {
			rt.h(w, r)
			return
		}
	}
	w.WriteHeader(http.StatusTeapot)
	io.WriteString(w, "no fake route for "+r.Method+" "+r.URL.Path)
}

func (f *fake) on(method, suffix string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = append(f.routes, route{method, suffix, h})
}

// json answers a fixed JSON body.
func (f *fake) json(method, suffix string, status int, body []byte) {
	f.on(method, suffix, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		w.Write(body)
	})
}

func (f *fake) requests() []*recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*recorded(nil), f.reqs...)
}

func (f *fake) count(suffix string) int {
	n := 0
	for _, r := range f.requests() {
		if strings.HasSuffix(strings.ToLower(r.Path), strings.ToLower(suffix)) {
			n++
		}
	}
	return n
}

func (f *fake) url(path string) string { return f.srv.URL + path }

// newClient builds a client against the fake at {fake}/acme with a fake
// clock, no jitter and the given deployment (zero = detect).
func newClient(t testing.TB, f *fake, dep Deployment, mod ...func(*Options)) (*Client, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	o := Options{
		OrgURL:     f.url("/acme"),
		PAT:        secret.New(testPAT),
		Deployment: dep,
		Clock:      clk,
		Retry:      RetryPolicy{Jitter: func(d time.Duration) time.Duration { return d }},
		Hosts:      testHosts,
	}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, clk
}

// logBuffer captures every log line at debug level.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func vssJSON(status int, typeKey, message string) []byte {
	b, _ := json.Marshal(map[string]any{"$id": "1", "innerException": nil, "message": message,
		"typeName": "Microsoft.VisualStudio.Services.X." + typeKey + ", Microsoft.VisualStudio.Services.WebApi",
		"typeKey":  typeKey, "errorCode": 0, "eventId": 3000})
	return b
}

func secretPAT() secret.Value { return secret.New(testPAT) }
