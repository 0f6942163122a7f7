package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func TestParse(t *testing.T) {
	p, err := Parse(" 127.0.0.1:* , *.corp.example, tfs.internal:8080, 10.1.0.0/16, [::1]:9000, fd00::7 ")
	if err != nil {
		t.Fatal(err)
	}
	yes := [][2]string{{"127.0.0.1", "1"}, {"127.0.0.1", "65535"}, {"tfs.corp.example", "443"}, {"A.B.Corp.Example", "80"},
		{"tfs.internal", "8080"}, {"TFS.internal.", "8080"}, {"10.1.200.3", "80"}, {"::1", "9000"}, {"[::1]", "9000"}, {"fd00::7", "443"}}
	for _, hp := range yes {
		if !p.Listed(hp[0], hp[1]) {
			t.Errorf("%s port %s not listed", hp[0], hp[1])
		}
	}
	no := [][2]string{{"127.0.0.2", "80"}, {"corp.example", "443"}, {"evilcorp.example", "443"}, {"tfs.internal", "8081"},
		{"10.2.0.1", "80"}, {"::1", "9001"}, {"localhost", "80"}, {"tfs.internal.evil", "8080"}}
	for _, hp := range no {
		if p.Listed(hp[0], hp[1]) {
			t.Errorf("%s port %s listed", hp[0], hp[1])
		}
	}
	for _, bad := range []string{"*", "http://x", "user@host", "host:port", "h:123456", "*.", "a*b.example", "10.0.0.0/33"} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "e.g.") {
			t.Errorf("Parse(%q) = %v, want an error showing the forms", bad, err)
		}
	}
	if !(Policy{}).IsZero() || MustParse("").String() != "" {
		t.Error("an empty list must be the zero policy")
	}
}

func TestForbidden(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "127.9.9.9", "::1", "169.254.169.254", "169.254.1.1", "fe80::1", "0.0.0.0", "::",
		"0.1.2.3", "fd00:ec2::254", "100.100.100.200", "::ffff:127.0.0.1", "224.0.0.1", "255.255.255.255"} {
		if Forbidden(netip.MustParseAddr(a)) == "" {
			t.Errorf("%s is not forbidden", a)
		}
	}
	// Azure DevOps Server lives on private and public addresses.
	for _, a := range []string{"10.0.0.5", "192.168.1.10", "172.16.4.4", "fd12::5", "13.107.6.183", "100.100.100.1"} {
		if why := Forbidden(netip.MustParseAddr(a)); why != "" {
			t.Errorf("%s is forbidden: %s", a, why)
		}
	}
}

func TestCheckURL(t *testing.T) {
	strict := Policy{}
	listed := MustParse("tfs.corp.example:8080,127.0.0.1:*")
	cases := []struct {
		p    Policy
		url  string
		want string // "" = allowed; else a substring of the error
	}{
		{strict, "https://dev.azure.com/acme", ""},
		{strict, "https://10.0.0.5/DefaultCollection", ""},
		{strict, "http://tfs.corp.example:8080/tfs/DefaultCollection", "not encrypted"},
		{listed, "http://tfs.corp.example:8080/tfs/DefaultCollection", ""},
		{listed, "http://tfs.corp.example/tfs/DefaultCollection", "add tfs.corp.example:80 to PANDEV_ALLOW_HOSTS"},
		{strict, "https://127.0.0.1:8443/acme", "loopback"},
		{listed, "https://127.0.0.1:8443/acme", ""},
		{strict, "https://[::1]/acme", "loopback"},
		{strict, "https://169.254.169.254/latest", "metadata"},
		{strict, "https://[fe80::1]/x", "link-local"},
		{strict, "https://metadata.google.internal/computeMetadata", "metadata"},
		{strict, "https://localhost:8443/acme", ""}, // a name: checked when dialed
		{strict, "https://0.0.0.0/acme", "unspecified"},
		{strict, "ftp://dev.azure.com/acme", "scheme"},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.url)
		err := c.p.CheckURL(u)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s with %q: %v", c.url, c.p, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s with %q: %v, want %q", c.url, c.p, err, c.want)
		}
	}
}

// recorder is a server that counts what reached it.
func recorder(t *testing.T, tls bool) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) })
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s, &n
}

// TestDialTimeRefusal: a name that resolves to loopback passes every check
// on the URL (it is https and not an address) and is refused when dialed,
// on the resolved address — for the default transport, a caller's
// *http.Transport, and one with its own dial function.
func TestDialTimeRefusal(t *testing.T) {
	srv, hits := recorder(t, true)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	target := "https://localhost:" + port + "/acme"
	// localhost passes the checks of the URL; only the dialer, after
	// resolution, can refuse it.
	p := MustParse("localhost-other:1")
	ownDial := srv.Client().Transport.(*http.Transport).Clone()
	ownDial.DialContext = (&net.Dialer{}).DialContext
	transports := map[string]http.RoundTripper{
		"default":        p.Transport(nil, nil),
		"caller's":       p.Transport(srv.Client().Transport, nil),
		"own dial":       p.Transport(ownDial, nil),
		"other (checks)": p.Transport(roundTripper(srv.Client().Transport.RoundTrip), nil),
	}
	for name, rt := range transports {
		t.Run(name, func(t *testing.T) {
			g := rt.(*guard)
			if g.pinned {
				// Skip the by-name check so only the dialer can refuse.
				req, _ := http.NewRequestWithContext(context.Background(), "GET", target, nil)
				_, err := g.next.RoundTrip(req)
				var be *BlockedError
				if !errors.As(err, &be) || be.Addr == "" || !strings.Contains(be.Reason, "loopback") {
					t.Fatalf("err = %v, want a BlockedError naming the resolved loopback address", err)
				}
			}
			// Through the guard as callers use it.
			req, _ := http.NewRequestWithContext(context.Background(), "GET", target, nil)
			if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "PANDEV_ALLOW_HOSTS") {
				t.Fatalf("err = %v, want a refusal naming PANDEV_ALLOW_HOSTS", err)
			}
		})
	}
	if hits.Load() != 0 {
		t.Fatalf("the loopback server got %d requests", hits.Load())
	}
	// Listed, the same address is reached.
	ok := MustParse("127.0.0.1:"+port).Transport(srv.Client().Transport, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/acme", nil)
	res, err := ok.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("the listed server got %d requests, want 1", hits.Load())
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestProxy: the operator's proxy may be on loopback; the target still
// may not.
func TestProxy(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		w.WriteHeader(204)
	}))
	t.Cleanup(proxy.Close)
	pu, _ := url.Parse(proxy.URL)
	tr := &http.Transport{Proxy: http.ProxyURL(pu)}
	rt := MustParse("dev.azure.com:80").Transport(tr, nil)
	req, _ := http.NewRequest("GET", "http://dev.azure.com/acme", nil)
	res, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("through a loopback proxy: %v", err)
	}
	res.Body.Close()
	req, _ = http.NewRequest("GET", "https://localhost/acme", nil)
	if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("loopback target through the proxy: %v", err)
	}
	if proxied.Load() != 1 {
		t.Fatalf("proxy got %d requests, want 1", proxied.Load())
	}
}
