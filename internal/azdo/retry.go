package azdo

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RetryPolicy tunes retries, backoff and pacing. Zero fields take the
// defaults named on each field.
type RetryPolicy struct {
	// MaxRetries is how many times a failed request is repeated (default 4).
	MaxRetries int
	// BaseDelay is the first backoff (default 500ms); each retry doubles it.
	BaseDelay time.Duration
	// MaxDelay caps one backoff (default 30s).
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out inside
	// one call (default 2m); a longer one returns KindRateLimited at once.
	MaxRetryAfter time.Duration
	// AttemptTimeout bounds one HTTP exchange (default 60s).
	AttemptTimeout time.Duration
	// SlowDownBelow is the share of the rate-limit budget
	// (X-RateLimit-Remaining / X-RateLimit-Limit) under which the client
	// starts spacing requests out (default 0.25).
	SlowDownBelow float64
	// MaxSpacing is the gap between requests when the budget is exhausted
	// (default 5s); it shrinks linearly as more budget remains.
	MaxSpacing time.Duration
	// Jitter maps a backoff to the delay actually slept; nil means "equal
	// jitter": a random value between d/2 and d.
	Jitter func(d time.Duration) time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxRetries == 0 {
		p.MaxRetries = 4
	}
	if p.MaxRetries < 0 {
		p.MaxRetries = 0
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 2 * time.Minute
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = 60 * time.Second
	}
	if p.SlowDownBelow <= 0 {
		p.SlowDownBelow = 0.25
	}
	if p.MaxSpacing <= 0 {
		p.MaxSpacing = 5 * time.Second
	}
	if p.Jitter == nil {
		p.Jitter = func(d time.Duration) time.Duration {
			if d <= 1 {
				return d
			}
			return d/2 + rand.N(d/2+1)
		}
	}
	return p
}

// backoff is the jittered exponential delay before retry number attempt+1.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 0; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	return p.Jitter(min(d, p.MaxDelay))
}

// retryAfter reads Retry-After: delta seconds (Azure DevOps' form) or an
// HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// pacer spaces requests out from the rate-limit headers (PROTOCOL §9) so the
// client slows down while budget remains instead of running into 429:
//   - Retry-After on a 429 or a success (a delayed request) holds every
//     request until then: the rate limit is the identity's, not the
//     endpoint's. On a 5xx it only delays the retry of that request (see
//     Client.do): holding everything for each transient server error made a
//     backfill under 20 % faults crawl;
//   - below SlowDownBelow of the budget, requests start at least "spacing"
//     apart, growing linearly to MaxSpacing as Remaining reaches 0, never
//     past X-RateLimit-Reset;
//   - X-RateLimit-Delay (the service is already delaying us) is a floor.
type pacer struct {
	policy RetryPolicy

	mu        sync.Mutex
	holdUntil time.Time
	spacing   time.Duration
	last      time.Time
}

// wait blocks until this request may start.
func (p *pacer) wait(ctx context.Context, clock Clock, m *metrics) error {
	p.mu.Lock()
	now := clock.Now()
	start := now
	if p.holdUntil.After(start) {
		start = p.holdUntil
	}
	if p.spacing > 0 && !p.last.IsZero() {
		if next := p.last.Add(p.spacing); next.After(start) {
			start = next
		}
	}
	p.last = start
	p.mu.Unlock()
	d := start.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	m.paced.Add(d.Seconds())
	return clock.Sleep(ctx, d)
}

// update learns from one response's headers.
func (p *pacer) update(status int, h http.Header, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ra, ok := retryAfter(h, now); ok && status < 500 {
		if t := now.Add(ra); t.After(p.holdUntil) {
			p.holdUntil = t
		}
	}
	limit, errL := strconv.ParseFloat(h.Get("X-RateLimit-Limit"), 64)
	remaining, errR := strconv.ParseFloat(h.Get("X-RateLimit-Remaining"), 64)
	if errL != nil || errR != nil || limit <= 0 {
		// The service sends the headers only once usage is high; their
		// absence on an answer means the budget is fine again.
		if status < 400 {
			p.spacing = 0
		}
		return
	}
	share := remaining / limit
	spacing := time.Duration(0)
	if share < p.policy.SlowDownBelow {
		f := 1 - share/p.policy.SlowDownBelow
		spacing = time.Duration(f * float64(p.policy.MaxSpacing))
	}
	if d, err := strconv.ParseFloat(h.Get("X-RateLimit-Delay"), 64); err == nil && d > 0 {
		spacing = max(spacing, time.Duration(d*float64(time.Second)))
	}
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		if until := time.Unix(reset, 0).Sub(now); until >= 0 && spacing > until {
			spacing = until
		}
	}
	p.spacing = spacing
}

// Spacing reports the current gap the client keeps between requests because
// of the rate-limit budget; zero when it is not slowing down.
func (c *Client) Spacing() time.Duration {
	c.pace.mu.Lock()
	defer c.pace.mu.Unlock()
	return c.pace.spacing
}
