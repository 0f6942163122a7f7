// Package netguard decides where an outgoing request that carries a
// credential (the Azure DevOps PAT) may go: which hosts are allowed over
// plain http, and which addresses are never dialed — loopback, link-local,
// unspecified, multicast and the cloud metadata services — unless the
// operator listed the host in PANDEV_ALLOW_HOSTS. The address check runs
// at connect time, on the address actually dialed after DNS resolution, so
// a name that resolves (or re-resolves) to a forbidden address is refused.
// Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) stay allowed:
// Azure DevOps Server runs there. Standard library only.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Policy is the operator's allow list (PANDEV_ALLOW_HOSTS). The zero value
// lists nothing: https only, and no forbidden address.
type Policy struct {
	patterns []pattern
	raw      []string
}

// pattern is one entry: a host name (optionally "*." + suffix), an address,
// or a CIDR; with a port, "*" or none (any port).
type pattern struct {
	name     string // lower-case host name; "*.x" matches any subdomain of x
	prefix   netip.Prefix
	isPrefix bool
	port     string // "" = any port
}

// Parse reads a comma-separated list of host patterns: "tfs.corp.example",
// "tfs.corp.example:8080", "*.corp.example", "127.0.0.1:*", "[::1]:8080",
// "10.1.0.0/16". A pattern without a port (or with ":*") matches any port.
// The error names the bad entry and the accepted forms.
func Parse(s string) (Policy, error) {
	var p Policy
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		pt, err := parsePattern(f)
		if err != nil {
			return Policy{}, err
		}
		p.patterns = append(p.patterns, pt)
		p.raw = append(p.raw, f)
	}
	return p, nil
}

// MustParse is Parse for constants (tests, the demo); it panics on error.
func MustParse(s string) Policy {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

const forms = "use host, host:port, host:*, *.domain, an IP address or a CIDR (e.g. tfs.corp.example:8080, *.corp.example, 10.0.0.0/8)"

func parsePattern(f string) (pattern, error) {
	bad := func(why string) (pattern, error) {
		return pattern{}, fmt.Errorf("%q %s; %s", f, why, forms)
	}
	if strings.Contains(f, "://") || strings.ContainsAny(f, " @?#") {
		return bad("is not a host pattern")
	}
	if pr, err := netip.ParsePrefix(f); err == nil {
		return pattern{prefix: pr.Masked(), isPrefix: true}, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(f, "[]")); err == nil {
		return pattern{prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), isPrefix: true}, nil
	}
	host, port := f, ""
	if h, pt, err := net.SplitHostPort(f); err == nil {
		host, port = h, pt
		if port == "*" {
			port = ""
		} else if !ValidPort(port) {
			return bad("has an invalid port")
		}
	} else if strings.Count(f, ":") == 1 {
		return bad("has an invalid port")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return pattern{prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), isPrefix: true, port: port}, nil
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	name := strings.TrimPrefix(host, "*.")
	if name == "" || name == "*" || strings.Contains(name, "*") || strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		return bad("is not a host name")
	}
	return pattern{name: host, port: port}, nil
}

// ValidPort reports whether s is a port number as a URL writes it: one to
// five digits.
func ValidPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// With returns a copy of p that also lists the comma-separated patterns
// (the demo adds its simulator's exact host:port this way).
func (p Policy) With(patterns string) (Policy, error) {
	more, err := Parse(patterns)
	if err != nil {
		return p, err
	}
	out := Policy{patterns: append(append([]pattern(nil), p.patterns...), more.patterns...),
		raw: append(append([]string(nil), p.raw...), more.raw...)}
	return out, nil
}

// String is the list as given (normalized separators).
func (p Policy) String() string { return strings.Join(p.raw, ",") }

// IsZero reports an empty list.
func (p Policy) IsZero() bool { return len(p.patterns) == 0 }

// Listed reports whether the operator listed host (a name or an address
// literal, without brackets) on port ("" = the scheme's default, which the
// caller should fill in).
func (p Policy) Listed(host, port string) bool {
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	a, aerr := netip.ParseAddr(host)
	for _, pt := range p.patterns {
		if pt.port != "" && pt.port != port {
			continue
		}
		switch {
		case pt.isPrefix:
			if aerr == nil && pt.prefix.Contains(a.Unmap()) {
				return true
			}
		case strings.HasPrefix(pt.name, "*."):
			if aerr != nil && strings.HasSuffix(host, pt.name[1:]) {
				return true
			}
		default:
			if aerr != nil && host == pt.name {
				return true
			}
		}
	}
	return false
}

// listedAddr reports an address (resolved) inside a listed address or CIDR.
func (p Policy) listedAddr(a netip.Addr, port string) bool {
	a = a.Unmap()
	for _, pt := range p.patterns {
		if pt.isPrefix && (pt.port == "" || pt.port == port) && pt.prefix.Contains(a) {
			return true
		}
	}
	return false
}

// metadataAddrs are the cloud instance-metadata services (AWS, GCP, Azure:
// 169.254.169.254; AWS over IPv6: fd00:ec2::254; Alibaba: 100.100.100.200).
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// metadataNames resolve to a metadata service inside the clouds.
var metadataNames = []string{"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}

// Forbidden says why an address is never dialed unless listed ("" = it may be).
func Forbidden(a netip.Addr) string {
	a = a.Unmap()
	for _, m := range metadataAddrs {
		if a == m {
			return "a cloud metadata service address"
		}
	}
	switch {
	case !a.IsValid():
		return "not an address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "a link-local address"
	case a.IsUnspecified(), a.Is4() && a.As4()[0] == 0:
		return "an unspecified address"
	case a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "a multicast or broadcast address"
	}
	return ""
}

// BlockedError is a request the policy refused: Host is as written in the
// URL, Addr the address it resolved to (empty for a refused name), Reason
// what is wrong with it.
type BlockedError struct {
	Host, Port, Addr, Reason string
}

func (e *BlockedError) Error() string {
	if e.Addr != "" && e.Addr != e.Host {
		return fmt.Sprintf("%s resolves to %s, %s; add %s to PANDEV_ALLOW_HOSTS if it is really the Azure DevOps server", e.Host, e.Addr, e.Reason, e.Pattern())
	}
	return fmt.Sprintf("%s is %s; add %s to PANDEV_ALLOW_HOSTS if it is really the Azure DevOps server", e.Host, e.Reason, e.Pattern())
}

// Pattern is the PANDEV_ALLOW_HOSTS entry that would allow the host.
func (e *BlockedError) Pattern() string {
	h := e.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if e.Port == "" {
		return h
	}
	return h + ":" + e.Port
}

// CheckHost is the check before any connection: a listed host passes; a
// metadata host name or an address literal that is forbidden does not.
// Other names (localhost included) are checked when dialed, on the
// addresses they resolve to.
func (p Policy) CheckHost(host, port string) error {
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if p.Listed(host, port) {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if why := Forbidden(a); why != "" {
			return &BlockedError{Host: host, Port: port, Addr: a.String(), Reason: why}
		}
		return nil
	}
	for _, m := range metadataNames {
		if host == m {
			return &BlockedError{Host: host, Port: port, Reason: "a cloud metadata service name"}
		}
	}
	return nil
}

// CheckURL checks a request URL: https, or http to a listed host; then
// CheckHost. ErrPlainHTTP is the cause of an http URL that is not listed.
func (p Policy) CheckURL(u *url.URL) error {
	host, port := u.Hostname(), EffectivePort(u)
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !p.Listed(host, port) {
			return &PlainHTTPError{Host: strings.ToLower(host), Port: port}
		}
	default:
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	return p.CheckHost(host, port)
}

// PlainHTTPError is an http:// URL to a host the operator did not list.
type PlainHTTPError struct{ Host, Port string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("http://%s is not encrypted; use https or add %s to PANDEV_ALLOW_HOSTS", e.Host, e.Pattern())
}

// Pattern is the PANDEV_ALLOW_HOSTS entry that would allow the host.
func (e *PlainHTTPError) Pattern() string {
	return (&BlockedError{Host: e.Host, Port: e.Port}).Pattern()
}

// EffectivePort is the URL's port, or its scheme's default.
func EffectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// Transport returns a RoundTripper that sends through next (nil means a
// fresh transport with sane timeouts and the environment's proxy) only
// what the policy allows:
//   - every request's URL passes CheckURL (scheme, listed host, literal
//     address, metadata names);
//   - when next is an *http.Transport, a copy of it whose dialer refuses a
//     forbidden address at connect time, after DNS resolution, so a name
//     that resolves to loopback or re-resolves there (DNS rebinding) is
//     refused. Its proxy (HTTP_PROXY/HTTPS_PROXY, the operator's setting)
//     is dialed as configured; the target's name is then resolved and
//     checked before the request, and the proxy does the connecting;
//   - any other RoundTripper (tests, benchmarks) gets the same resolve-and-
//     check before each request, without the connect-time pinning.
func (p Policy) Transport(next http.RoundTripper, dialer *net.Dialer) http.RoundTripper {
	g := &guard{p: p, resolver: net.DefaultResolver}
	if dialer != nil && dialer.Resolver != nil {
		g.resolver = dialer.Resolver
	}
	switch t := next.(type) {
	case nil:
		if dialer == nil {
			dialer = &net.Dialer{}
		}
		g.next = &http.Transport{
			Proxy:                 g.proxy(http.ProxyFromEnvironment),
			DialContext:           g.dial(dialer),
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 90 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   8,
			ForceAttemptHTTP2:     true,
		}
		g.pinned = true
	case *http.Transport:
		c := t.Clone()
		if c.Proxy != nil {
			c.Proxy = g.proxy(c.Proxy)
		}
		//lint:ignore SA1019 the deprecated Dial is read so a custom one is not bypassed
		dial := c.Dial
		switch {
		case c.DialContext == nil && dial == nil:
			if dialer == nil {
				dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
			}
			c.DialContext = g.dial(dialer)
		default:
			c.DialContext = g.pin(c.DialContext, dial)
			//lint:ignore SA1019 cleared: DialContext (pinned) replaces it
			c.Dial = nil
		}
		g.next, g.pinned = c, true
	default:
		g.next = next
	}
	return g
}

type guard struct {
	p        Policy
	next     http.RoundTripper
	pinned   bool // the dialer checks addresses at connect time
	resolver *net.Resolver

	proxies sync.Map // host:port of a proxy in use → true: dialed as configured
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.p.CheckURL(req.URL); err != nil {
		closeBody(req)
		return nil, err
	}
	if !g.pinned {
		if err := g.resolveCheck(req.Context(), req.URL.Hostname(), EffectivePort(req.URL)); err != nil {
			closeBody(req)
			return nil, err
		}
	}
	return g.next.RoundTrip(req)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// resolveCheck resolves host and refuses it when any address is forbidden.
func (g *guard) resolveCheck(ctx context.Context, host, port string) error {
	if g.p.Listed(host, port) {
		return nil
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return g.p.CheckHost(host, port)
	}
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil // the connection will fail on its own, naming the DNS error
	}
	for _, a := range addrs {
		if why := Forbidden(a); why != "" && !g.p.listedAddr(a, port) {
			return &BlockedError{Host: strings.ToLower(host), Port: port, Addr: a.Unmap().String(), Reason: why}
		}
	}
	return nil
}

// proxy wraps the proxy choice: a proxy in use is remembered (its address
// is the operator's and is dialed as configured), and the target is
// resolved and checked here, since the proxy will do the connecting.
func (g *guard) proxy(next func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		u, err := next(req)
		if err != nil || u == nil {
			return u, err
		}
		if err := g.resolveCheck(req.Context(), req.URL.Hostname(), EffectivePort(req.URL)); err != nil {
			return nil, err
		}
		g.proxies.Store(net.JoinHostPort(u.Hostname(), EffectivePort(u)), true)
		return u, nil
	}
}

// dial returns a DialContext whose connections are checked after
// resolution, on the address actually connected to.
func (g *guard) dial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if _, ok := g.proxies.Load(addr); ok || g.p.Listed(host, port) {
			return d.DialContext(ctx, network, addr)
		}
		dd := *d
		inner := d.Control
		dd.Control = func(network, address string, c syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if why := Forbidden(ap.Addr()); why != "" && !g.p.listedAddr(ap.Addr(), port) {
				return &BlockedError{Host: strings.ToLower(host), Port: port, Addr: ap.Addr().Unmap().String(), Reason: why}
			}
			if inner != nil {
				return inner(network, address, c)
			}
			return nil
		}
		return dd.DialContext(ctx, network, addr)
	}
}

// pin wraps a custom dial function: the name is resolved and checked here
// and the checked address is what is dialed, so it cannot re-resolve.
func (g *guard) pin(dc func(ctx context.Context, network, addr string) (net.Conn, error),
	d func(network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dc == nil {
		dc = func(_ context.Context, network, addr string) (net.Conn, error) { return d(network, addr) }
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if _, ok := g.proxies.Load(addr); ok || g.p.Listed(host, port) {
			return dc(ctx, network, addr)
		}
		addrs := []netip.Addr{}
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = append(addrs, a)
		} else if addrs, err = g.resolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
		var firstErr error
		for _, a := range addrs {
			if why := Forbidden(a); why != "" && !g.p.listedAddr(a, port) {
				return nil, &BlockedError{Host: strings.ToLower(host), Port: port, Addr: a.Unmap().String(), Reason: why}
			}
		}
		for _, a := range addrs {
			c, err := dc(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		if firstErr == nil {
			firstErr = errors.New("no address for " + host)
		}
		return nil, firstErr
	}
}
