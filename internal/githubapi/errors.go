package githubapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// RateLimited is GitHub saying "not now": the primary limit is spent until
// Until, or a secondary limit asks to wait until Until. Jobs snooze until
// then (River does not count a snooze as an attempt); screens say when.
type RateLimited struct {
	Until     time.Time
	Secondary bool
	Err       error
}

func (e *RateLimited) Error() string {
	if e.Secondary {
		return "GitHub's secondary rate limit asks to wait until " + e.Until.UTC().Format(time.RFC3339)
	}
	return "GitHub's rate limit for this token is spent until " + e.Until.UTC().Format(time.RFC3339)
}

func (e *RateLimited) Unwrap() error { return e.Err }

// MissingPermission is a 403 naming what the token lacks: GitHub sends
// X-Accepted-GitHub-Permissions to a fine-grained token and
// X-Accepted-OAuth-Scopes to a classic one.
type MissingPermission struct {
	// Accepted is GitHub's list as sent, e.g. "pull_requests=read" or "repo".
	Accepted string
	Status   int
	Message  string
}

func (e *MissingPermission) Error() string {
	return fmt.Sprintf("GitHub refused: %s (accepted: %s)", e.Message, e.Accepted)
}

// Classify maps a go-github error to the product's: a *delivery.Error with a
// kind and a hint (the cause kept for errors.As, so *RateLimited and
// *MissingPermission can be found in it). nil stays nil.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var de *delivery.Error
	if errors.As(err, &de) {
		return err
	}
	var primary *github.RateLimitError
	if errors.As(err, &primary) {
		rl := &RateLimited{Until: primary.Rate.Reset.Time, Err: err}
		return (&delivery.Error{Kind: delivery.KindRateLimited, Err: rl,
			Message: rl.Error(),
			Hint:    "PanDev Metrics waits and resumes by itself; a token of its own (not shared with scripts) leaves it the whole 5,000 calls an hour"}).
			WithRetryAfter(time.Until(rl.Until))
	}
	var secondary *github.AbuseRateLimitError
	if errors.As(err, &secondary) {
		wait := time.Minute // GitHub: without retry-after, wait at least a minute
		if secondary.RetryAfter != nil {
			wait = *secondary.RetryAfter
		}
		rl := &RateLimited{Until: time.Now().Add(wait), Secondary: true, Err: err}
		return (&delivery.Error{Kind: delivery.KindRateLimited, Err: rl, Message: rl.Error(),
			Hint: "PanDev Metrics waits and resumes by itself"}).WithRetryAfter(wait)
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return classifyResponse(er)
	}
	return (&delivery.Error{Kind: delivery.KindUnavailable, Err: err,
		Message: "GitHub could not be reached: " + sanitized(err),
		Hint:    "Check the API base and that this server can reach it (proxy, firewall); PanDev Metrics retries by itself"})
}

func classifyResponse(er *github.ErrorResponse) error {
	resp := er.Response
	msg := er.Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		// The token's own refusal, as Azure DevOps' 401 (azdo): jobs show it
		// on the integration and wait for Update token instead of retrying.
		return &delivery.Error{Kind: delivery.KindUnauthorized, Err: er,
			Message: "GitHub refused the token (401 " + msg + ")",
			Hint:    "The token is wrong, expired or revoked: create a new one and use Update token"}
	case http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		accepted, words := resp.Header.Get("X-Accepted-GitHub-Permissions"), ""
		if accepted != "" {
			words = permissionWords(accepted)
		} else if accepted = resp.Header.Get("X-Accepted-OAuth-Scopes"); accepted != "" {
			words = scopeWords(accepted)
		}
		if resp.StatusCode == http.StatusForbidden && accepted != "" {
			mp := &MissingPermission{Accepted: accepted, Status: resp.StatusCode, Message: msg}
			return &delivery.Error{Kind: delivery.KindUpstream, Err: mp,
				Message: fmt.Sprintf("The token may not %s %s (GitHub: %s)", verb(resp.Request), resp.Request.URL.Path, msg),
				Hint:    "Give the token " + words + ", then Check connection again"}
		}
		if resp.StatusCode == http.StatusNotFound {
			return &delivery.Error{Kind: delivery.KindNotFound, Err: er,
				Message: "GitHub has no " + resp.Request.URL.Path + " the token can see",
				Hint:    "A fine-grained token sees only the repositories picked under Repository access: add it there, or pick another repository"}
		}
	}
	return &delivery.Error{Kind: delivery.KindUpstream, Err: er,
		Message: fmt.Sprintf("GitHub answered %d to %s %s: %s", resp.StatusCode, resp.Request.Method, resp.Request.URL.Path, msg),
		Hint:    "PanDev Metrics retries by itself; if it persists, see GitHub's status page"}
}

func verb(r *http.Request) string {
	if r.Method == http.MethodGet {
		return "read"
	}
	return "change"
}

// permissionWords says X-Accepted-GitHub-Permissions in the words of
// GitHub's token page: sets separated by ";" (any one set will do), the
// permissions of a set by "," (all of them): "pull_requests=read" →
// "Pull requests: Read".
func permissionWords(accepted string) string {
	var out []string
	for _, alt := range strings.Split(accepted, ";") {
		var parts []string
		for _, p := range strings.Split(alt, ",") {
			name, level, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || name == "" || level == "" {
				continue
			}
			words := strings.ReplaceAll(name, "_", " ")
			parts = append(parts, strings.ToUpper(words[:1])+words[1:]+": "+strings.ToUpper(level[:1])+level[1:])
		}
		if len(parts) > 0 {
			out = append(out, strings.Join(parts, " and "))
		}
	}
	if len(out) == 0 {
		return "the permission GitHub names"
	}
	return strings.Join(out, ", or ")
}

// scopeWords says X-Accepted-OAuth-Scopes (a classic token's: any one of
// the scopes listed will do).
func scopeWords(accepted string) string {
	var out []string
	for _, s := range strings.Split(accepted, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, "the "+s+" scope")
		}
	}
	if len(out) == 0 {
		return "the scope GitHub names"
	}
	return strings.Join(out, " or ")
}

// sanitized is an error's text without a URL's query (go-github already
// strips tokens from URLs; the query may still carry names).
func sanitized(err error) string {
	s := err.Error()
	if i := strings.Index(s, "?"); i >= 0 {
		if j := strings.IndexAny(s[i:], " \":"); j > 0 {
			s = s[:i] + s[i+j:]
		} else {
			s = s[:i]
		}
	}
	return s
}
