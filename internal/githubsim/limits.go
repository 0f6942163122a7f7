package githubsim

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Rate limits, per user as GitHub counts them ("Rate limits for the REST API",
// https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api):
//   - primary: 5,000 requests an hour for a personal access token; every response carries
//     x-ratelimit-limit/remaining/used/reset/resource; past it GitHub answers "403 or 429" with
//     x-ratelimit-remaining: 0 and "API rate limit exceeded for user ID N.".
//   - secondary: "No more than 900 points per minute ... for REST API endpoints"; GET, HEAD and
//     OPTIONS cost 1 point, POST, PATCH, PUT and DELETE 5 ("Calculating points for the secondary
//     rate limit"); past it "403 or 429 ... and an error message that indicates that you exceeded
//     a secondary rate limit", with retry-after when present.

// DefaultRateLimit is the primary limit of a personal access token: 5,000 requests an hour.
const DefaultRateLimit = 5000

// anonymous is the rate-limit bucket of unauthenticated requests.
const anonymous = "anonymous"

// AnonymousRateLimit is the primary limit of unauthenticated requests: "60 requests per hour".
const AnonymousRateLimit = 60

// DefaultSecondaryPoints is the secondary limit: 900 points a minute for REST endpoints.
const DefaultSecondaryPoints = 900

// RateLimits is the rate-limit state a test sets through PUT /_sim/ratelimit or SetRateLimits.
type RateLimits struct {
	// Limit is the primary limit an hour (0 keeps the current one).
	Limit int `json:"limit,omitempty"`
	// Remaining, when set, makes every user's remaining budget this many requests now.
	Remaining *int `json:"remaining,omitempty"`
	// Status is the status of a primary refusal: 403 (default) or 429.
	Status int `json:"status,omitempty"`
	// SecondaryPoints is the points a minute past which the secondary limit trips (0 keeps it).
	SecondaryPoints int `json:"secondary_points,omitempty"`
	// SecondaryNext refuses the next N requests with the secondary limit, whatever their cost.
	SecondaryNext int `json:"secondary_next,omitempty"`
	// RetryAfter is the retry-after of secondary refusals in seconds (default 60).
	RetryAfter int `json:"retry_after,omitempty"`
	// SecondaryStatus is the status of a secondary refusal: 403 (default) or 429.
	SecondaryStatus int `json:"secondary_status,omitempty"`
	// Window is the length of the primary limit's window, an hour on GitHub (its
	// x-ratelimit-reset is "the time at which the current rate limit window resets"): a
	// test shortens it, e.g. "5s", to see a spent limit reset without waiting an hour.
	// Current windows then end at most this long from now. Empty keeps it.
	Window string `json:"window,omitempty"`
}

type bucket struct {
	used      int
	reset     time.Time
	points    int
	minuteEnd time.Time
}

type limiter struct {
	clock  *clock
	window time.Duration // the primary limit's window
	mu     sync.Mutex
	cfg    RateLimits
	users  map[string]*bucket
	ids    map[string]int64
}

func newLimiter(c *clock) *limiter {
	return &limiter{clock: c, window: time.Hour, users: map[string]*bucket{}, ids: map[string]int64{},
		cfg: RateLimits{Limit: DefaultRateLimit, Status: 403, SecondaryPoints: DefaultSecondaryPoints, RetryAfter: 60, SecondaryStatus: 403}}
}

func (l *limiter) set(in RateLimits) error {
	var window time.Duration
	if in.Window != "" {
		d, err := time.ParseDuration(in.Window)
		if err != nil || d <= 0 {
			return fmt.Errorf("window %q is not a positive duration, e.g. 5s or 1h", in.Window)
		}
		window = d
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if window > 0 {
		l.window, l.cfg.Window = window, in.Window
		end := l.clock.Now().Add(window)
		for _, b := range l.users {
			if b.reset.After(end) {
				b.reset = end
			}
		}
	}
	if in.Limit > 0 {
		l.cfg.Limit = in.Limit
	}
	if in.Status == 403 || in.Status == 429 {
		l.cfg.Status = in.Status
	}
	if in.SecondaryStatus == 403 || in.SecondaryStatus == 429 {
		l.cfg.SecondaryStatus = in.SecondaryStatus
	}
	if in.SecondaryPoints > 0 {
		l.cfg.SecondaryPoints = in.SecondaryPoints
	}
	if in.RetryAfter > 0 {
		l.cfg.RetryAfter = in.RetryAfter
	}
	l.cfg.SecondaryNext = in.SecondaryNext
	if in.Remaining != nil {
		for id, b := range l.users {
			b.used = max(0, l.limitFor(id)-*in.Remaining)
		}
		l.cfg.Remaining = in.Remaining
	}
	return nil
}

// limitFor is the primary limit of a user; unauthenticated requests (per address on GitHub,
// one bucket here) get 60 an hour. Called with l.mu held.
func (l *limiter) limitFor(id string) int {
	if id == anonymous {
		return AnonymousRateLimit
	}
	return l.cfg.Limit
}

func (l *limiter) get() RateLimits {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// bucketLocked returns id's bucket, opening a new hour when the last one has reset.
func (l *limiter) bucketLocked(id string) *bucket {
	now := l.clock.Now()
	b := l.users[id]
	if b == nil || !now.Before(b.reset) {
		used := 0
		if b == nil && l.cfg.Remaining != nil {
			used = max(0, l.limitFor(id)-*l.cfg.Remaining)
		}
		b = &bucket{used: used, reset: now.Add(l.window)}
		l.users[id] = b
	}
	if !now.Before(b.minuteEnd) {
		b.points, b.minuteEnd = 0, now.Add(time.Minute)
	}
	return b
}

func (l *limiter) exhausted(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucketLocked(id).used >= l.limitFor(id)
}

func (l *limiter) charge(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucketLocked(id).used++
}

func (l *limiter) headers(h http.Header, id string) {
	l.headersOf(h, id, "core")
}

// headersOf writes the x-ratelimit-* headers of one bucket: core (REST) or graphql.
func (l *limiter) headersOf(h http.Header, id, resource string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := id
	if resource == "graphql" {
		key = graphqlKey(id)
	}
	b := l.bucketLocked(key)
	limit := l.limitFor(id)
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, limit-b.used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(min(b.used, limit)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", resource)
}

// graphqlKey is the bucket of a user's GraphQL points: GitHub keeps them apart from the REST
// requests ("Rate limits and node limits for the GraphQL API": "The GraphQL API has its own
// rate limit that is separate from the primary rate limit for the REST API"; GET /rate_limit
// lists resources.graphql beside core). A personal access token gets 5,000 points an hour.
func graphqlKey(id string) string { return "graphql\x00" + id }

// chargePoints spends cost points of a user's GraphQL bucket; false (nothing spent) when fewer
// are left: GitHub computes a query's cost before running it and refuses one it cannot pay for.
func (l *limiter) chargePoints(id string, cost int) (remaining int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(graphqlKey(id))
	limit := l.limitFor(id)
	if b.used+cost > limit {
		return max(0, limit-b.used), false
	}
	b.used += cost
	return limit - b.used, true
}

// pointsReset is when a user's GraphQL bucket resets.
func (l *limiter) pointsReset(id string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucketLocked(graphqlKey(id)).reset
}

func (l *limiter) primaryError(id string) *apiError {
	l.mu.Lock()
	status := l.cfg.Status
	l.mu.Unlock()
	return &apiError{status: status, body: errBody("API rate limit exceeded for user ID "+id+". If you reach out to GitHub Support for help, please include the request ID.",
		"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", status)}
}

// secondary charges the request's points and refuses it when the minute's budget is spent or
// a test asked for refusals (SecondaryNext).
func (l *limiter) secondary(c *call, id string) *apiError {
	cost := 1
	switch c.r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		cost = 5
	}
	return l.secondaryCost(cost, id)
}

// secondaryCost charges cost secondary points: 1 for a GraphQL query without mutations
// ("Calculating points for the secondary rate limit": "GraphQL requests without mutations: 1").
// GraphQL shares the minute's budget with REST here (GitHub gives it 2,000 points of its own: never
// kinder than GitHub).
func (l *limiter) secondaryCost(cost int, id string) *apiError {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(id)
	refuse := false
	retry := l.cfg.RetryAfter
	if l.cfg.SecondaryNext > 0 {
		l.cfg.SecondaryNext--
		refuse = true
	} else if b.points+cost > l.cfg.SecondaryPoints {
		refuse = true
		retry = max(1, int(b.minuteEnd.Sub(l.clock.Now()).Seconds()))
	} else {
		b.points += cost
	}
	if !refuse {
		return nil
	}
	st := l.cfg.SecondaryStatus
	return &apiError{status: st, hdr: map[string]string{"Retry-After": strconv.Itoa(retry)},
		body: errBody("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits", st)}
}

// overview is GET /rate_limit's body (components/schemas/rate-limit-overview).
func (l *limiter) overview(id string) obj {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(id)
	limit := l.limitFor(id)
	core := obj{"limit": limit, "remaining": max(0, limit-b.used), "used": min(b.used, limit), "reset": b.reset.Unix(), "resource": "core"}
	other := func(name string, limit int) obj {
		return obj{"limit": limit, "remaining": limit, "used": 0, "reset": l.clock.Now().Add(time.Minute).Unix(), "resource": name}
	}
	gb := l.bucketLocked(graphqlKey(id))
	graphql := obj{"limit": limit, "remaining": max(0, limit-gb.used), "used": min(gb.used, limit), "reset": gb.reset.Unix(), "resource": "graphql"}
	return obj{"resources": obj{"core": core, "search": other("search", 30), "graphql": graphql, "integration_manifest": other("integration_manifest", 5000),
		"code_search": other("code_search", 10)}, "rate": core}
}
