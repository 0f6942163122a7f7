package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeHealthReadinessMetricsAndGracefulStop(t *testing.T) {
	r := startApp(t, testConfig(t, nil), appOptions{})
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		res, err := http.Get(r.URL() + path)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, res, err)
		}
		res.Body.Close()
		_ = want
	}
	b := newBrowser(t, r.URL())
	var metrics string
	for range 200 { // the leader schedules housekeeping on start
		_, metrics = b.do("GET", "/metrics", "", nil, nil)
		if strings.Contains(metrics, `pandev_jobs{kind="housekeeping"`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`pandev_http_requests_total{code="200",route="GET /healthz"} 1`,
		`pandev_jobs{kind="housekeeping",state=`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if !strings.Contains(r.logs.String(), "msg=stopped") {
		t.Fatalf("no stop log:\n%s", r.logs.String())
	}
	if _, err := http.Get(r.URL() + "/healthz"); err == nil {
		t.Fatal("server still answers after stop")
	}
}

func TestGracefulStopDrainsInFlightRequests(t *testing.T) {
	active := make(chan struct{}, 16)
	r := startApp(t, testConfig(t, nil), appOptions{ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateActive {
			active <- struct{}{}
		}
	}})
	drain(active) // the readiness probe's connections
	// A request mid-flight when shutdown begins still gets its answer: send
	// half a sign-in form, start the stop, then send the rest.
	body, w := io.Pipe()
	req, _ := http.NewRequest("POST", r.URL()+"/login", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	got := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Log(err)
			got <- -1
			return
		}
		res.Body.Close()
		got <- res.StatusCode
	}()
	if _, err := w.Write([]byte("email=nobody%40example.com&")); err != nil {
		t.Fatal(err)
	}
	<-active // the server is reading this request
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	w.Write([]byte("password=wrong-password"))
	w.Close()
	if code := <-got; code != http.StatusUnauthorized {
		t.Fatalf("in-flight request got %d, want its normal answer (401: wrong email or password)", code)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestCommandLine(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.db")
	cases := []struct {
		name     string
		args     []string
		code     int
		inOutput string
	}{
		{"no command", nil, 2, "Usage:"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"version", []string{"version"}, 0, "pandev "},
		{"admin without flags", []string{"admin", "create"}, 2, "needs --email and --password"},
		{"admin password from stdin, none piped", []string{"admin", "create", "--email", "x@example.com", "--password-stdin"}, 2, "--password-stdin read no password"},
		{"admin password twice", []string{"admin", "create", "--email", "x@example.com", "--password-stdin", "--password", "long enough password"}, 2, "not both"},
		{"admin short password", []string{"admin", "create", "--email", "a@example.com", "--password", "short"}, 1, "shorter than 10"},
		{"admin (the first: operator)", []string{"admin", "create", "--email", "Ann@Example.com", "--password", "long enough password"}, 0,
			"created admin ann@example.com in workspace \"default\"; sign in at /login\nann@example.com is the instance operator (the first admin"},
		{"operator asked", []string{"admin", "create", "--email", "dan@example.com", "--password", "long enough password", "--operator"}, 0, "dan@example.com is an instance operator"},
		{"operator revoked", []string{"admin", "operator", "--email", "dan@example.com", "--revoke"}, 0, "no longer an instance operator"},
		{"operator of nobody", []string{"admin", "operator", "--email", "nobody@example.com"}, 1, "no user with email nobody@example.com"},
		{"token never expiring", []string{"token", "create", "--email", "ann@example.com", "--name", "x", "--expires-in-days", "0"}, 2, "cannot be made to never expire"},
		{"token too long", []string{"token", "create", "--email", "ann@example.com", "--name", "x", "--expires-in-days", "400"}, 1, "at most 365 days"},
		{"token bad scope", []string{"token", "create", "--email", "ann@example.com", "--name", "x", "--scope", "root"}, 1, "unknown token scope"},
		{"read token", []string{"token", "create", "--email", "ann@example.com", "--name", "grafana", "--scope", "read", "--expires-in-days", "30"}, 0, "(scope read) expires on"},
		{"admin twice", []string{"admin", "create", "--email", "ann@example.com", "--password", "long enough password"}, 1, "already exists"},
		{"token for unknown user", []string{"token", "create", "--email", "bob@example.com", "--name", "ci"}, 1, "no user with email bob@example.com"},
		{"token", []string{"token", "create", "--email", "ann@example.com", "--name", "ci"}, 0, "pdm_"},
		{"migrate", []string{"migrate"}, 0, "migrations applied"},
		{"bad serve config", []string{"serve", "--log-format", "xml"}, 2, "PANDEV_LOG_FORMAT (--log-format)"},
		{"serve help", []string{"serve", "-h"}, 0, "PANDEV_RECONCILE_INTERVAL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, db, c.args...)
			if code != c.code || !strings.Contains(stdout+stderr, c.inOutput) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, c.code, c.inOutput, stdout, stderr)
			}
		})
	}
}

func TestUnusableDatabaseExitsWithTheReason(t *testing.T) {
	cases := map[string]string{
		"unreachable postgres": "postgres://pandev@127.0.0.1:1/none?sslmode=disable&connect_timeout=2",
		"sqlite in a file":     filepath.Join(writeFile(t, "not-a-dir"), "pandev.db"),
	}
	for name, dsn := range cases {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"},
				func(k string) string { return map[string]string{"PANDEV_DB": dsn}[k] }, nil, &out, &out)
			if code != 1 || !strings.Contains(out.String(), "database") {
				t.Fatalf("exit %d, output:\n%s", code, out.String())
			}
		})
	}
}

// drain empties a channel of the signals sent so far.
func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
