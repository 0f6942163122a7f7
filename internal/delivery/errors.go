package delivery

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it. The server
// maps each kind to one HTTP status in a single place.
type Kind string

// Error kinds. Their string values appear in API error bodies as "code".
const (
	KindInvalid      Kind = "invalid"      // bad input; the message names the field and the fix
	KindUnauthorized Kind = "unauthorized" // missing or wrong credentials
	KindForbidden    Kind = "forbidden"    // authenticated but not allowed
	KindNotFound     Kind = "not_found"    // absent, or belongs to another workspace
	KindConflict     Kind = "conflict"     // clashes with existing state
	KindTooLarge     Kind = "too_large"    // request body over the limit
	KindRateLimited  Kind = "rate_limited" // slow down; retry later
	KindUnavailable  Kind = "unavailable"  // a dependency is down; retry later
	KindInternal     Kind = "internal"     // a bug or an unexpected failure
	KindUpstream     Kind = "upstream"     // the provider (Azure DevOps) refused or failed
	KindPrecondition Kind = "precondition" // state does not allow this yet
)

// Error is an error with a kind, a message safe to show to the user, a hint
// saying how to fix it, and an optional internal cause that is logged but
// never shown.
type Error struct {
	Kind    Kind
	Message string
	Hint    string
	Err     error
	// RetryAfter, when set on a rate-limited answer, is how long the
	// caller should wait (the Retry-After header).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of kind k with a formatted user message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// WithHint returns a copy of e carrying hint.
func (e *Error) WithHint(hint string) *Error {
	c := *e
	c.Hint = hint
	return &c
}

// WithRetryAfter returns a copy of e that tells the caller how long to wait.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// RetryAfterSeconds is the Retry-After value of err, in whole seconds
// (at least 1); 0 when err says nothing about waiting.
func RetryAfterSeconds(err error) int {
	var de *Error
	if !errors.As(err, &de) || de.RetryAfter <= 0 {
		return 0
	}
	return max(1, int((de.RetryAfter+time.Second-1)/time.Second))
}

// Wrap returns a copy of e with cause as its internal detail.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// ErrNotFound is the generic not-found error; stores return it (wrapped or
// as an *Error of KindNotFound) instead of (nil, nil).
var ErrNotFound = &Error{Kind: KindNotFound, Message: "not found"}

// KindOf returns the kind of err: the Kind of the first *Error in its chain,
// or KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsNotFound reports whether err is of KindNotFound.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == KindNotFound }
