package azdo

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/netguard"
)

// The guard rails of the Organization URL (adr/0013): the PAT goes only
// over https (http to a host the operator listed in PANDEV_ALLOW_HOSTS),
// never to loopback, link-local or metadata addresses (checked when
// dialing, after DNS), never along a redirect, and API areas stay on the
// organization's host, on Microsoft's hosts for Services, or on a listed
// host.

const allowHostsVar = "PANDEV_ALLOW_HOSTS"

// checkOrgURL refuses an Organization URL the policy does not allow before
// any request is made.
func checkOrgURL(org OrgURL, p netguard.Policy) error {
	u, err := url.Parse(org.Base)
	if err != nil {
		return invalidURL("Organization URL is not a valid URL", hintForms)
	}
	if err := p.CheckURL(u); err != nil {
		if de := hostError(err, true); de != nil {
			return de
		}
		return invalidURL("Organization URL must start with https://", hintForms)
	}
	return nil
}

// hostError maps a refusal of the policy to the user's words; nil when err
// is not one. atURL says the Organization URL itself is at fault.
func hostError(err error, atURL bool) *delivery.Error {
	var plain *netguard.PlainHTTPError
	var blocked *netguard.BlockedError
	switch {
	case errors.As(err, &plain):
		return &delivery.Error{Kind: delivery.KindInvalid, Err: err,
			Message: fmt.Sprintf("Organization URL must use https — http://%s would send the token unencrypted", hostPort(plain.Host, plain.Port)),
			Hint: "Use the https:// address of the server. If this Azure DevOps Server answers only on http inside your network, ask the operator to add " +
				plain.Pattern() + " to " + allowHostsVar + "."}
	case errors.As(err, &blocked):
		msg := fmt.Sprintf("Organization URL points at %s, %s: PanDev Metrics does not send the token there", blocked.Host, blocked.Reason)
		if blocked.Addr != "" && blocked.Addr != blocked.Host {
			msg = fmt.Sprintf("Organization URL's host %s resolves to %s, %s: PanDev Metrics does not send the token there", blocked.Host, blocked.Addr, blocked.Reason)
		}
		if !atURL {
			msg = strings.Replace(msg, "Organization URL points at", "Azure DevOps sent PanDev Metrics to", 1)
			msg = strings.Replace(msg, "Organization URL's host", "The host", 1)
		}
		return &delivery.Error{Kind: delivery.KindInvalid, Err: err, Message: msg,
			Hint: "Use the address of the Azure DevOps server. If it really runs at that address (e.g. on this machine), ask the operator to add " +
				blocked.Pattern() + " to " + allowHostsVar + "."}
	}
	return nil
}

// HostRefused reports an error of the guard rails (an http, loopback,
// link-local or metadata Organization URL, a redirect, an API area on a
// foreign host): the URL is at fault, not Azure DevOps, so callers report
// it as bad input.
func HostRefused(err error) bool {
	var plain *netguard.PlainHTTPError
	var blocked *netguard.BlockedError
	var area *AreaHostError
	var redir *RedirectError
	return errors.As(err, &plain) || errors.As(err, &blocked) || errors.As(err, &area) || errors.As(err, &redir)
}

func hostPort(host, port string) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" {
		return host
	}
	return host + ":" + port
}

// AreaHostError is an API area (resourceAreas) that points at a host the
// client does not send the token to. Reach it with errors.As.
type AreaHostError struct {
	Area string // area id
	URL  string // the locationUrl Azure DevOps gave
	Host string // its host[:port]
}

func (e *AreaHostError) Error() string {
	return fmt.Sprintf("resource area %s points at %s, outside the organization's hosts", e.Area, e.URL)
}

// RedirectError is a redirect the client did not follow. Reach it with
// errors.As.
type RedirectError struct {
	Status   int
	Location string // host[:port] it pointed at
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("HTTP %d redirect to %s not followed", e.Status, e.Location)
}

// microsoftHost is a host of Azure DevOps Services.
func microsoftHost(host string) bool {
	host = strings.ToLower(host)
	return host == "dev.azure.com" || strings.HasSuffix(host, ".dev.azure.com") || strings.HasSuffix(host, ".visualstudio.com")
}

// areaAllowed says whether an area's base URL may receive the token: the
// organization's own scheme, host and port; for an Organization URL on
// Services, Microsoft's hosts over https; or a host the operator listed.
func (c *Client) areaAllowed(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return u, false
	}
	org, err := url.Parse(c.org.Base)
	if err != nil {
		return u, false
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == strings.ToLower(org.Scheme) && strings.EqualFold(u.Hostname(), org.Hostname()) &&
		netguard.EffectivePort(u) == netguard.EffectivePort(org):
		return u, true
	case c.org.Services && scheme == "https" && microsoftHost(u.Hostname()) && netguard.EffectivePort(u) == "443":
		return u, true
	case (scheme == "https" || scheme == "http") && c.hosts.Listed(u.Hostname(), netguard.EffectivePort(u)):
		return u, true
	}
	return u, false
}

// areaError is the refusal of an area whose URL is on a foreign host.
func (c *Client) areaError(e *AreaHostError) error {
	return &delivery.Error{Kind: delivery.KindInvalid, Err: e,
		Message: fmt.Sprintf("Azure DevOps at %s named %s as the address of one of its APIs; that is neither the organization's host nor an Azure DevOps Services host, so PanDev Metrics did not send the token there",
			c.org.Host, e.Host),
		Hint: "Check the Organization URL: it must be the address of your Azure DevOps. If " + e.Host +
			" really serves this Azure DevOps Server, ask the operator to add it to " + allowHostsVar + "."}
}
