package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/config"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig is a serve configuration on a fresh SQLite file and port 0.
// testAllowHosts is PANDEV_ALLOW_HOSTS of the servers tests start: any
// port of 127.0.0.1, where the simulators listen.
const testAllowHosts = "127.0.0.1:*"

func testConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["PANDEV_DB"]; !ok {
		env["PANDEV_DB"] = filepath.Join(t.TempDir(), "pandev.db")
	}
	env["PANDEV_ADDR"] = "127.0.0.1:0"
	if _, ok := env["PANDEV_ALLOW_HOSTS"]; !ok {
		// The simulators of these tests answer plain http on loopback, on
		// ports known only once started. A test of the guard rails passes
		// PANDEV_ALLOW_HOSTS (empty: the production default) itself.
		env["PANDEV_ALLOW_HOSTS"] = testAllowHosts
	}
	if env["PANDEV_SHUTDOWN_TIMEOUT"] == "" {
		env["PANDEV_SHUTDOWN_TIMEOUT"] = "10s"
	}
	cfg, err := config.Parse("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type running struct {
	*app
	logs *syncBuffer
	stop func() error
}

// startApp runs a server until the test ends (or stop is called).
func startApp(t *testing.T, cfg config.Config, opts appOptions) *running {
	t.Helper()
	logs := &syncBuffer{}
	cfg.LogLevel = "debug"
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, logger, opts)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				t.Error("server did not stop within 30s")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() { // the server's log explains most failures
			if dir := os.Getenv("PANDEV_TEST_LOGS"); dir != "" { // the whole log, for a failure the tail does not explain
				_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".log"), []byte(logs.String()), 0o644)
			}
			t.Logf("server log:\n%s", tail(logs.String(), 6000))
		}
	})
	r := &running{app: a, logs: logs, stop: stop}
	r.waitReady(t)
	return r
}

func (r *running) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(r.URL() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server not ready within 20s")
}

// browser is an HTTP client with cookies that sends the headers a browser
// sends on same-origin requests.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path, contentType string, body io.Reader, headers map[string]string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

func (b *browser) login(email, password string) *http.Response {
	b.t.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	res, _ := b.do("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()),
		map[string]string{"Origin": b.base, "Sec-Fetch-Site": "same-origin"})
	return res
}

// runCLI runs the pandev command with a database and returns exit code and output.
func runCLI(t *testing.T, dbPath string, args ...string) (int, string, string) {
	t.Helper()
	return runCLIInput(t, dbPath, "", args...)
}

// runCLIInput is runCLI with stdin.
func runCLIInput(t *testing.T, dbPath, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"PANDEV_DB": dbPath}
	code := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func mustCreateUser(t *testing.T, dbPath, email, password, workspace string, member bool) {
	t.Helper()
	args := []string{"admin", "create", "--email", email, "--password-stdin", "--workspace", workspace}
	if member {
		args = append(args, "--member")
	}
	if code, _, stderr := runCLIInput(t, dbPath, password+"\n", args...); code != 0 {
		t.Fatalf("admin create: %d %s", code, stderr)
	}
}

func decodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
}

// errorBody is the API's error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Hint    string `json:"hint"`
	} `json:"error"`
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
