package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

const (
	checkPath    = "/api/v1/integrations/azure-devops/check"
	activatePath = "/api/v1/integrations/azure-devops"
)

// abuseOrgURL points Check connection and Activate at addresses the token
// must never reach (issue #16, finding 5; adr/0013): a recording server on
// loopback (typed as an address, as a name that resolves to it, over http
// and https), link-local and cloud metadata addresses. The server under
// test must run without PANDEV_ALLOW_HOSTS listing loopback (production's
// default). Each request must answer 400 and change nothing, and the
// recording server must see no connection at all — so no Authorization
// header either.
func abuseOrgURL(ctx context.Context, a *app, adminToken string) ([]abuseResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var conns atomic.Int32
	var mu sync.Mutex
	var authSeen []string
	rec := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				mu.Lock()
				authSeen = append(authSeen, r.Method+" "+r.URL.Path)
				mu.Unlock()
			}
			// What an attacker would want repeated to the admin.
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "internal-service-secret")
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go rec.Serve(ln)
	defer rec.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)

	// Activate in a workspace with no integration yet (the bench workspace
	// has one, and would answer 409 before looking at the URL).
	fresh, err := a.auth.CreateUser(ctx, "orgurl@abuse.example", "correct horse battery staple", "orgurl-abuse", store.RoleAdmin)
	if err != nil {
		return nil, err
	}
	freshTok, _, err := a.auth.CreateToken(ctx, fresh.ID, "orgurl")
	if err != nil {
		return nil, err
	}

	hc := &http.Client{Timeout: 30 * time.Second}
	var out []abuseResult
	send := func(path, name, orgURL string) error {
		bearer := adminToken
		if path == activatePath {
			bearer = freshTok.Reveal()
		}
		before, err := fingerprint(ctx, a.db)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"org_url": orgURL, "token": "abuse-pat-0123456789abcdefghijklmnopqrstuvwxyz"})
		req, _ := http.NewRequestWithContext(ctx, "POST", a.URL()+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bearer)
		res, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		after, err := fingerprint(ctx, a.db)
		if err != nil {
			return err
		}
		problem := ""
		switch {
		case strings.Contains(string(answer), "internal-service-secret"):
			problem = "the answer repeats the target's body"
		case res.StatusCode == http.StatusBadRequest && !strings.Contains(string(answer), "PANDEV_ALLOW_HOSTS"):
			problem = "the answer does not name PANDEV_ALLOW_HOSTS as the way out: " + string(answer)
		}
		out = append(out, abuseResult{Group: "orgurl", Case: name, Want: []int{http.StatusBadRequest}, Got: res.StatusCode,
			Changed: before != after, Problem: problem})
		return nil
	}

	cases := []struct{ path, name, url string }{
		{checkPath, "check: http to loopback", "http://127.0.0.1:" + port + "/acme"},
		{checkPath, "check: https to a loopback address", "https://127.0.0.1:" + port + "/acme"},
		{checkPath, "check: https to a name resolving to loopback (refused when dialed)", "https://localhost:" + port + "/acme"},
		{checkPath, "check: http to a name resolving to loopback", "http://localhost:" + port + "/acme"},
		{checkPath, "check: IPv6 loopback", "https://[::1]:" + port + "/acme"},
		{checkPath, "check: IPv4-mapped loopback", "https://[::ffff:127.0.0.1]:" + port + "/acme"},
		{checkPath, "check: unspecified address", "https://0.0.0.0:" + port + "/acme"},
		{checkPath, "check: http to the metadata service", "http://169.254.169.254/latest/meta-data"},
		{checkPath, "check: https to the metadata service", "https://169.254.169.254/latest/meta-data"},
		{checkPath, "check: AWS metadata over IPv6", "https://[fd00:ec2::254]/latest"},
		{checkPath, "check: Alibaba metadata", "https://100.100.100.200/latest"},
		{checkPath, "check: GCP metadata name", "https://metadata.google.internal/computeMetadata"},
		{checkPath, "check: link-local", "https://169.254.10.10/acme"},
		{activatePath, "activate: http to loopback", "http://127.0.0.1:" + port + "/acme"},
		{activatePath, "activate: a name resolving to loopback", "https://localhost:" + port + "/acme"},
	}
	for _, c := range cases {
		if err := send(c.path, c.name, c.url); err != nil {
			return nil, err
		}
	}
	mu.Lock()
	problem := ""
	if len(authSeen) > 0 {
		problem = "the token reached the recording server: " + strings.Join(authSeen, ", ")
	}
	mu.Unlock()
	out = append(out, abuseResult{Group: "orgurl", Case: "the loopback recording server got no connection (connections counted as the answer)",
		Want: []int{0}, Got: int(conns.Load()), Problem: problem})
	return out, nil
}
