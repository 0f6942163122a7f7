package azdo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// The manual's Troubleshooting wording ("Check connection returns TF400813
// or 401 Unauthorized").
const (
	msgUnauthorized  = "The PAT is invalid, expired, or scoped to the wrong organization"
	hintUnauthorized = "Re-generate the PAT (Step 1) and make sure Organization matches the org you're connecting from PanDev Metrics"
)

// APIError is the HTTP detail of a failed Azure DevOps call. It is the Err of
// the *delivery.Error the client returns; reach it with errors.As. It holds
// no credentials.
type APIError struct {
	Method   string
	Endpoint string // metric name of the endpoint, e.g. "git.pullrequests"
	URL      string // request URL without credentials
	Status   int    // HTTP status; 0 when no response arrived
	TypeKey  string // VSS exception type, e.g. "UnauthorizedRequestException"
	Message  string // VSS exception message, e.g. "TF400813: …"
	RetryAt  time.Time
	// NotVSS reports a body that is not an Azure DevOps error (an HTML
	// page, plain text): it is never quoted, only described.
	NotVSS bool
}

// Error describes the failed request; it never contains the token.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.TypeKey != "" {
		b.WriteString(" " + e.TypeKey)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// WiqlLimitError is the Err of the *delivery.Error for a WIQL query the
// service refused because its result would exceed the most work items one
// query may return (VS402337; 20,000 on Services, PROTOCOL §4). The query
// is not wrong: narrower queries (a shorter ChangedDate window) succeed.
// Reach it with errors.As; it wraps the *APIError.
type WiqlLimitError struct {
	// Limit is the cap the service named, e.g. 20000; 0 if it named none.
	Limit int
	API   *APIError
}

func (e *WiqlLimitError) Error() string { return e.API.Error() }
func (e *WiqlLimitError) Unwrap() error { return e.API }

// wiqlLimitCode starts the message of the result-cap refusal.
const wiqlLimitCode = "VS402337"

var wiqlLimitRe = regexp.MustCompile(`(?i)limit of ([0-9][0-9,]*)`)

// wiqlLimit recognizes the result-cap refusal by its code and reads the cap
// from its message ("… exceeds the size limit of 20000. …").
func wiqlLimit(ae *APIError) (*WiqlLimitError, bool) {
	if ae.Status != http.StatusBadRequest || !strings.HasPrefix(strings.TrimSpace(ae.Message), wiqlLimitCode) {
		return nil, false
	}
	e := &WiqlLimitError{API: ae}
	if m := wiqlLimitRe.FindStringSubmatch(ae.Message); m != nil {
		e.Limit, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	}
	return e, true
}

// vssBody is the VSS exception body (PROTOCOL §2), plus the "improper"
// {"value":{"Message":…}} form some endpoints send.
type vssBody struct {
	Message string          `json:"message"`
	TypeKey string          `json:"typeKey"`
	Value   json.RawMessage `json:"value"`
}

// maxVSSMessage caps the quoted VSS message.
const maxVSSMessage = 500

// parseVSS fills the type key and message from an error response. Only an
// Azure DevOps error is read: the message of a VSS JSON body (or the
// X-TFS-ServiceError header). Any other body — an HTML page, plain text,
// whatever a host that is not Azure DevOps answers — is never quoted;
// NotVSS records that there was one.
func parseVSS(e *APIError, h http.Header, body []byte) {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, utf8BOM))
	ct := strings.ToLower(h.Get("Content-Type"))
	parsed := false
	if strings.Contains(ct, "json") || bytes.HasPrefix(body, []byte("{")) {
		var v vssBody
		if json.Unmarshal(body, &v) == nil {
			parsed = v.Message != "" || v.TypeKey != "" || len(v.Value) > 0
			e.Message, e.TypeKey = truncate(v.Message, maxVSSMessage), v.TypeKey
			if e.Message == "" && len(v.Value) > 0 {
				var inner struct {
					Message string `json:"Message"`
				}
				if json.Unmarshal(v.Value, &inner) == nil {
					e.Message = truncate(inner.Message, maxVSSMessage)
				}
			}
		}
	}
	if e.Message == "" {
		if s, err := url.QueryUnescape(h.Get("X-TFS-ServiceError")); err == nil && s != "" {
			e.Message, parsed = truncate(s, maxVSSMessage), true
		}
	}
	e.NotVSS = len(body) > 0 && !parsed
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// notAzureDevOps describes an answer that is not an Azure DevOps response.
func (c *Client) notAzureDevOps(ae *APIError) string {
	host := c.org.Host
	if u, err := url.Parse(ae.URL); err == nil && u.Host != "" {
		host = u.Host
	}
	return fmt.Sprintf("The server at %s answered HTTP %d with a page that is not an Azure DevOps response", host, ae.Status)
}

// ScopeError is the cause of a 401 that names the authenticated user
// (TF400813: The user '<id>' is not authorized…): the token is valid, the
// call needs a scope it lacks. Reach it with errors.As.
type ScopeError struct{ *APIError }

func (e *ScopeError) Unwrap() error { return e.APIError }

var tf400813User = regexp.MustCompile(`TF400813: The user '([^']*)'`)

// namesRealUser reports a TF400813 message naming a user that is neither
// empty (an unknown token) nor the anonymous identity (a PAT of another
// organization, PROTOCOL §2).
func namesRealUser(msg string) bool {
	m := tf400813User.FindStringSubmatch(msg)
	return m != nil && m[1] != "" && !strings.EqualFold(m[1], anonymousID)
}

// isSignIn reports a response that is the sign-in page or a redirect to it:
// what Services does for a bad token when the redirect is not suppressed.
func isSignIn(status int, h http.Header) bool {
	if status == http.StatusNonAuthoritativeInfo {
		return true
	}
	if status >= 300 && status < 400 {
		return h.Get("X-TFS-FedAuthRedirect") != "" || strings.Contains(strings.ToLower(h.Get("Location")), "_signin")
	}
	return false
}

// mapHTTPError turns a non-success response into the manual's error kinds.
func (c *Client) mapHTTPError(r *call, ae *APIError, h http.Header) error {
	e := &delivery.Error{Err: ae}
	authKey := ae.TypeKey == "AccessCheckException" || ae.TypeKey == "UnauthorizedRequestException"
	limitErr, overLimit := wiqlLimit(ae)
	switch {
	case ae.Status == http.StatusForbidden:
		// Authenticated, but the account lacks a permission. Checked before the
		// TF400813 rule: a 403 can carry UnauthorizedRequestException too.
		e.Kind = delivery.KindForbidden
		e.Message = fmt.Sprintf("Azure DevOps denied %s: the account needs the %q permission", r.ep.what, r.ep.permission)
		e.Hint = "Grant the service account that permission in Azure DevOps (or add it to a group that has it), then retry."
	case ae.Status == http.StatusUnauthorized && namesRealUser(ae.Message):
		// TF400813 naming the caller: the token works, it lacks this
		// resource's scope (or the account a permission). Not a bad token.
		e.Kind, e.Err = delivery.KindForbidden, &ScopeError{APIError: ae}
		e.Message = fmt.Sprintf("Azure DevOps refused %s: the PAT lacks the scope for it", r.ep.what)
		e.Hint = "Add the scope to the PAT (or grant the service account the " + strconv.Quote(r.ep.permission) +
			" permission) and update it under Settings → Integrations → Azure DevOps → Advanced → Update token."
	case ae.Status == http.StatusUnauthorized, isSignIn(ae.Status, h), authKey, strings.Contains(ae.Message, "TF400813"):
		e.Kind, e.Message, e.Hint = delivery.KindUnauthorized, msgUnauthorized, hintUnauthorized
	case overLimit:
		e.Err, e.Kind = limitErr, delivery.KindUpstream
		limit := "its limit"
		if limitErr.Limit > 0 {
			limit = fmt.Sprintf("its limit of %d", limitErr.Limit)
		}
		e.Message = fmt.Sprintf("Azure DevOps refused %s: the query matches more work items than %s (%s)", r.ep.what, limit, wiqlLimitCode)
		e.Hint = "Narrow the query so it matches fewer work items, e.g. a shorter [System.ChangedDate] range; PanDev Metrics splits its own queries this way."
	case ae.Status == http.StatusNotFound && c.org.MissingCollection():
		e.Kind = delivery.KindInvalid
		e.Message = "For Azure DevOps Server, the Organization URL must include the collection, e.g. " + c.org.Base + "/DefaultCollection"
		e.Hint = "Without the collection segment, the REST API returns 404. Update the URL in Settings → Integrations → Azure DevOps."
	case ae.Status == http.StatusTooManyRequests:
		e.Kind = delivery.KindRateLimited
		at := ae.RetryAt
		if at.IsZero() {
			at = c.clock.Now().Add(time.Minute)
			ae.RetryAt = at
		}
		e.Message = "Azure DevOps rate limit reached; retry at " + at.UTC().Format("2006-01-02 15:04:05 UTC")
		e.Hint = "PanDev Metrics slows down on its own and resumes after that time. Identities with the Basic + Test Plans access level get higher limits."
	case ae.Status == http.StatusNotFound:
		e.Kind = delivery.KindNotFound
		e.Message = "Azure DevOps found nothing at " + r.ep.what
		if ae.Message != "" {
			e.Message += ": " + ae.Message
		}
		if ae.NotVSS {
			e.Message = c.notAzureDevOps(ae) + " while " + r.ep.what
			e.Hint = "Check the Organization URL: it must be the address of your Azure DevOps organization or collection."
		}
	case ae.Status >= 500:
		e.Kind = delivery.KindUnavailable
		e.Message = fmt.Sprintf("Azure DevOps at %s failed (HTTP %d) while %s", c.org.Host, ae.Status, r.ep.what)
		if ae.Message != "" {
			e.Message += ": " + ae.Message
		}
		if ae.NotVSS {
			e.Message = c.notAzureDevOps(ae) + " while " + r.ep.what
		}
		e.Hint = "This is usually temporary; PanDev Metrics retries on its own."
	case ae.Status >= 300 && ae.Status < 400:
		// Redirects are never followed: the token goes to no other URL.
		to := c.org.Host
		if loc, err := url.Parse(h.Get("Location")); err == nil && loc.Host != "" {
			to = loc.Host
		}
		e.Kind, e.Err = delivery.KindInvalid, fmt.Errorf("%w: %w", &RedirectError{Status: ae.Status, Location: to}, ae)
		e.Message = fmt.Sprintf("Azure DevOps answered with a redirect (HTTP %d) to %s while %s — check the Organization URL", ae.Status, to, r.ep.what)
		e.Hint = "Use the address the REST API answers on, as the browser shows it after signing in (https://dev.azure.com/<org> or https://<server>/<collection>). PanDev Metrics follows no redirect, so the token is never sent elsewhere."
	default:
		e.Kind = delivery.KindUpstream
		e.Message = fmt.Sprintf("Azure DevOps rejected %s (HTTP %d)", r.ep.what, ae.Status)
		if ae.Message != "" {
			e.Message += ": " + ae.Message
		}
		if ae.NotVSS {
			e.Message = c.notAzureDevOps(ae) + " while " + r.ep.what
			e.Hint = "Check the Organization URL: it must be the address of your Azure DevOps organization or collection."
		}
	}
	return e
}

// transportError describes a request that got no usable answer.
func (c *Client) transportError(r *call, ae *APIError, cause error) error {
	if de := hostError(cause, true); de != nil {
		de.Err = fmt.Errorf("%s %s: %w", ae.Method, ae.URL, cause)
		return de
	}
	if strings.Contains(cause.Error(), "malformed HTTP") {
		// net/http quotes the first bytes of a non-HTTP answer (a banner of
		// whatever listens there): never repeat them.
		return &delivery.Error{Kind: delivery.KindUnavailable,
			Message: fmt.Sprintf("The server at %s did not answer as a web server while %s", c.org.Host, r.ep.what),
			Hint:    "Check the Organization URL's host and port: they must be those of your Azure DevOps.",
			Err:     fmt.Errorf("%s %s: the answer is not HTTP", ae.Method, ae.URL)}
	}
	return &delivery.Error{Kind: delivery.KindUnavailable,
		Message: fmt.Sprintf("Could not reach Azure DevOps at %s while %s", c.org.Host, r.ep.what),
		Hint:    "Check that the host name is right and that PanDev Metrics can reach it (proxy, firewall, DNS).",
		Err:     fmt.Errorf("%s %s: %w", ae.Method, ae.URL, cause)}
}

// contextError reports a call given up because its context ended; the
// context's error stays reachable with errors.Is.
func (c *Client) contextError(ctx context.Context, r *call, ae *APIError) error {
	msg := fmt.Sprintf("Azure DevOps at %s did not answer in time while %s", c.org.Host, r.ep.what)
	if errors.Is(ctx.Err(), context.Canceled) {
		msg = fmt.Sprintf("Stopped %s at %s: the request was canceled", r.ep.what, c.org.Host)
	}
	return &delivery.Error{Kind: delivery.KindUnavailable, Message: msg,
		Err: fmt.Errorf("%s %s: %w", ae.Method, ae.URL, context.Cause(ctx))}
}
