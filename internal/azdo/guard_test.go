package azdo

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
)

// evil is a server that must never be reached: it records every
// connection and every request, and whether one carried Authorization.
type evil struct {
	srv   *httptest.Server
	conns atomic.Int32
	mu    sync.Mutex
	reqs  []string
	auth  int
}

func newEvil(t *testing.T, useTLS bool) *evil {
	e := &evil{}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.reqs = append(e.reqs, r.Method+" "+r.URL.Path)
		if r.Header.Get("Authorization") != "" {
			e.auth++
		}
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"count":0,"value":[]}`))
	}))
	e.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			e.conns.Add(1)
		}
	}
	if useTLS {
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *evil) port() string { return e.srv.URL[strings.LastIndex(e.srv.URL, ":")+1:] }

func (e *evil) untouched(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if n := e.conns.Load(); n != 0 || len(e.reqs) != 0 || e.auth != 0 {
		t.Fatalf("the server that must not be reached got %d connections, requests %v, %d with Authorization", n, e.reqs, e.auth)
	}
}

func wantRefusal(t *testing.T, err error, kind delivery.Kind, msg, hint string) *delivery.Error {
	t.Helper()
	var de *delivery.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want *delivery.Error", err)
	}
	if de.Kind != kind || !strings.Contains(de.Message, msg) || !strings.Contains(de.Hint, hint) {
		t.Fatalf("got %s %q (hint %q), want %s with %q (hint with %q)", de.Kind, de.Message, de.Hint, kind, msg, hint)
	}
	if strings.Contains(err.Error(), testPAT) {
		t.Fatal("the error holds the token")
	}
	return de
}

// TestPlainHTTPNeedsListing: http only to a host the operator listed.
func TestPlainHTTPNeedsListing(t *testing.T) {
	e := newEvil(t, false)
	_, err := New(Options{OrgURL: e.srv.URL + "/acme", PAT: secret.New(testPAT)})
	wantRefusal(t, err, delivery.KindInvalid, "Organization URL must use https", "PANDEV_ALLOW_HOSTS")
	de := wantRefusal(t, err, delivery.KindInvalid, "http://127.0.0.1:"+e.port(), "add 127.0.0.1:"+e.port()+" to PANDEV_ALLOW_HOSTS")
	if !HostRefused(de) {
		t.Fatal("HostRefused = false")
	}
	// Another host listed is not this one.
	_, err = New(Options{OrgURL: e.srv.URL + "/acme", PAT: secret.New(testPAT), Hosts: netguard.MustParse("tfs.corp.example:" + e.port())})
	wantRefusal(t, err, delivery.KindInvalid, "must use https", "PANDEV_ALLOW_HOSTS")
	e.untouched(t)

	c, err := New(Options{OrgURL: e.srv.URL + "/acme", PAT: secret.New(testPAT), Deployment: ServicesDeployment,
		Hosts: netguard.MustParse("127.0.0.1:" + e.port())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Repositories(context.Background(), "P"); err != nil {
		t.Fatalf("listed host: %v", err)
	}
}

// TestForbiddenAddresses: loopback, link-local and metadata addresses are
// refused — literals before any request, names when dialed, after DNS —
// unless listed.
func TestForbiddenAddresses(t *testing.T) {
	for _, u := range []string{"https://169.254.169.254/latest", "https://[fd00:ec2::254]/x", "https://100.100.100.200/x",
		"https://[fe80::1]/acme", "https://0.0.0.0/acme", "https://[::1]:8443/acme", "https://metadata.google.internal/computeMetadata/v1"} {
		_, err := New(Options{OrgURL: u, PAT: secret.New(testPAT)})
		wantRefusal(t, err, delivery.KindInvalid, "PanDev Metrics does not send the token there", "PANDEV_ALLOW_HOSTS")
	}

	e := newEvil(t, true)
	// 127.0.0.1 as typed: refused up front; listed: reached.
	_, err := New(Options{OrgURL: "https://127.0.0.1:" + e.port() + "/acme", PAT: secret.New(testPAT)})
	wantRefusal(t, err, delivery.KindInvalid, "points at 127.0.0.1, a loopback address", "add 127.0.0.1:"+e.port()+" to PANDEV_ALLOW_HOSTS")

	// localhost is a name: it passes every check of the URL and is refused
	// when dialed, on the address it resolved to — with the default client
	// (its dialer's Control) and with a caller's (the transport is copied).
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for name, hc := range map[string]*http.Client{"default client": nil, "caller's client": insecure} {
		t.Run(name, func(t *testing.T) {
			log, buf := logBuffer()
			c, err := New(Options{OrgURL: "https://localhost:" + e.port() + "/acme", PAT: secret.New(testPAT), Deployment: ServicesDeployment,
				HTTPClient: hc, Logger: log, Hosts: netguard.MustParse("localhost:1")})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_, err = c.Repositories(context.Background(), "P")
			wantRefusal(t, err, delivery.KindInvalid, "host localhost resolves to", "add localhost:"+e.port()+" to PANDEV_ALLOW_HOSTS")
			if strings.Contains(buf.String(), "retrying") {
				t.Fatalf("a refused host was retried:\n%s", buf)
			}
		})
	}
	e.untouched(t)

	c, err := New(Options{OrgURL: "https://localhost:" + e.port() + "/acme", PAT: secret.New(testPAT), Deployment: ServicesDeployment,
		HTTPClient: insecure, Hosts: netguard.MustParse("localhost:" + e.port())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Repositories(context.Background(), "P"); err != nil {
		t.Fatalf("listed localhost: %v", err)
	}
}

// TestRedirectsNotFollowed: a redirect — to another host or the same one —
// is an error naming where it pointed; the Authorization header goes
// nowhere else.
func TestRedirectsNotFollowed(t *testing.T) {
	e := newEvil(t, false)
	for _, tt := range []struct{ name, location, names string }{
		{"other host", e.srv.URL + "/steal", "127.0.0.1:" + e.port()},
		{"same host", "/acme/elsewhere", "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.on("", "/_apis/git/repositories", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.location, http.StatusFound)
			})
			// Everything on 127.0.0.1 is listed: only not following protects.
			c, _ := newClient(t, f, ServicesDeployment)
			_, err := c.Repositories(context.Background(), "P")
			wantRefusal(t, err, delivery.KindInvalid, "Azure DevOps answered with a redirect (HTTP 302) to "+tt.names, "follows no redirect")
			if !HostRefused(err) {
				t.Fatal("HostRefused = false")
			}
			if n := f.count("/elsewhere"); n != 0 {
				t.Fatalf("the same-host redirect was followed %d times", n)
			}
		})
	}
	e.untouched(t)
}

// TestAreaOnForeignHost: an API area a custom host points elsewhere is
// refused, and the token never goes there; a listed host may serve areas.
func TestAreaOnForeignHost(t *testing.T) {
	e := newEvil(t, false)
	f := newFake(t)
	f.json("GET", "/_apis/resourceAreas", 200, []byte(`{"count":1,"value":[{"id":"`+ReleaseAreaID+`","name":"Release","locationUrl":"`+e.srv.URL+`/acme/"}]}`))
	f.json("GET", "/_apis/release/deployments", 200, []byte(`{"count":0,"value":[]}`))
	fport := f.srv.URL[strings.LastIndex(f.srv.URL, ":")+1:]
	// The fake claims to be Services; only its own host:port is listed.
	c, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.Hosts = netguard.MustParse("127.0.0.1:" + fport) })
	for _, err := range c.ReleaseDeployments(context.Background(), "P", ReleaseDeploymentQuery{}) {
		wantRefusal(t, err, delivery.KindInvalid, "named 127.0.0.1:"+e.port()+" as the address of one of its APIs", "add it to PANDEV_ALLOW_HOSTS")
		var ae *AreaHostError
		if !errors.As(err, &ae) || !HostRefused(err) {
			t.Fatalf("err = %v, want an AreaHostError", err)
		}
		break
	}
	e.untouched(t)

	// Listed (as the simulator's release host is in tests and the demo).
	c, _ = newClient(t, f, ServicesDeployment, func(o *Options) { o.Hosts = netguard.MustParse("127.0.0.1:*") })
	for _, err := range c.ReleaseDeployments(context.Background(), "P", ReleaseDeploymentQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(e.reqs) == 0 {
		t.Fatal("the listed release host was not asked")
	}
}

// TestAreaHosts: for a Services URL, Microsoft's hosts over https; else the
// organization's own scheme, host and port.
func TestAreaHosts(t *testing.T) {
	svc, err := New(Options{OrgURL: "https://dev.azure.com/acme", PAT: secret.New(testPAT)})
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := New(Options{OrgURL: "https://acme.visualstudio.com", PAT: secret.New(testPAT)})
	server, _ := New(Options{OrgURL: "https://tfs.corp.example/tfs/DefaultCollection", PAT: secret.New(testPAT)})
	cases := []struct {
		c    *Client
		url  string
		want bool
	}{
		{svc, "https://vsrm.dev.azure.com/acme/", true},
		{svc, "https://vssps.dev.azure.com/acme/", true},
		{svc, "https://dev.azure.com/acme/", true},
		{legacy, "https://acme.vsrm.visualstudio.com/", true},
		{svc, "http://vsrm.dev.azure.com/acme/", false},
		{svc, "https://vsrm.dev.azure.com:8443/acme/", false},
		{svc, "https://dev.azure.com.evil.example/acme/", false},
		{svc, "https://evil.example/acme/", false},
		{server, "https://tfs.corp.example/tfs/DefaultCollection/", true},
		{server, "https://vsrm.dev.azure.com/acme/", false}, // a custom host claiming Services
		{server, "https://tfs.corp.example:8443/tfs/", false},
		{server, "http://tfs.corp.example/tfs/", false},
	}
	for _, tt := range cases {
		if _, got := tt.c.areaAllowed(tt.url); got != tt.want {
			t.Errorf("%s from %s: allowed = %v, want %v", tt.url, tt.c.org.Base, got, tt.want)
		}
	}
}

// TestBodyNeverQuoted: whatever a server that is not Azure DevOps answers,
// its body reaches neither the error nor the log.
func TestBodyNeverQuoted(t *testing.T) {
	const marker = "INTERNAL-SECRET-MARKER-4711"
	for _, tt := range []struct {
		status int
		ctype  string
		body   string
		kind   delivery.Kind
	}{
		{500, "text/html", "<html><body>" + marker + "</body></html>", delivery.KindUnavailable},
		{502, "text/plain", marker, delivery.KindUnavailable},
		{400, "text/plain", marker, delivery.KindUpstream},
		{404, "text/html", "<h1>" + marker + "</h1>", delivery.KindNotFound},
		{409, "application/json", `{"error":"` + marker + `"}`, delivery.KindUpstream},
		{418, "", marker, delivery.KindUpstream},
	} {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			f := newFake(t)
			f.on("", "", func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			log, buf := logBuffer()
			c, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.Logger = log; o.Retry.MaxRetries = 1 })
			_, err := c.Repositories(context.Background(), "P")
			de := wantRefusal(t, err, tt.kind, "", "")
			if strings.Contains(err.Error(), marker) || strings.Contains(buf.String(), marker) {
				t.Fatalf("the body reached the error or the log: %v\n%s", err, buf)
			}
			want := fmt.Sprintf("answered HTTP %d with a page that is not an Azure DevOps response", tt.status)
			if !strings.Contains(de.Message, want) {
				t.Fatalf("message = %q, want it to say %q", de.Message, want)
			}
		})
	}
}

// TestNonHTTPAnswerNotQuoted: a port that answers something other than
// HTTP (a banner) is described; the banner, which net/http quotes in its
// error, reaches neither the error nor the log. A 200 page that is not
// JSON is described too.
func TestNonHTTPAnswerNotQuoted(t *testing.T) {
	const marker = "BANNER-SECRET-0815"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			// Read the request line first: a banner written before the
			// request reaches Go's transport as an "unsolicited response on
			// an idle channel" and the call fails as unreachable instead
			// (a race that failed CI once).
			_, _ = bufio.NewReader(conn).ReadString('\n')
			conn.Write([]byte(marker + " ready\r\n\r\n"))
			conn.Close()
		}
	}()
	log, buf := logBuffer()
	c, err := New(Options{OrgURL: "http://" + ln.Addr().String() + "/acme", PAT: secret.New(testPAT), Deployment: ServicesDeployment,
		Hosts: testHosts, Logger: log, Clock: newFakeClock(), Retry: RetryPolicy{MaxRetries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Repositories(context.Background(), "P")
	wantRefusal(t, err, delivery.KindUnavailable, "did not answer as a web server", "Organization URL's host and port")
	if strings.Contains(err.Error(), marker) || strings.Contains(buf.String(), marker) {
		t.Fatalf("the banner reached the error or the log: %v\n%s", err, buf)
	}

	f := newFake(t)
	f.on("", "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>" + marker + "</html>"))
	})
	c, _ = newClient(t, f, ServicesDeployment)
	_, err = c.Repositories(context.Background(), "P")
	wantRefusal(t, err, delivery.KindUpstream, "answered HTTP 200 with a page that is not an Azure DevOps response", "Check the Organization URL")
	if strings.Contains(err.Error(), marker) {
		t.Fatalf("the page reached the error: %v", err)
	}
}
