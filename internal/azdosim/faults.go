package azdosim

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultRule injects one kind of failure into matching REST requests (PUT /_sim/faults).
type FaultRule struct {
	// Match is a case-insensitive substring of the request path; empty matches every request.
	Match string `json:"match,omitempty"`
	// Method restricts the rule to one HTTP method.
	Method string `json:"method,omitempty"`
	// Rate is the probability (0..1] that a matching request is affected; 0 means 1.
	Rate float64 `json:"rate,omitempty"`
	// Count limits the rule to the next N affected requests (a burst); 0 means unlimited.
	Count int `json:"count,omitempty"`
	// Status answers with this HTTP status and the service's error body (500, 503, 429, …).
	Status int `json:"status,omitempty"`
	// RetryAfter is the Retry-After seconds sent with 429/503.
	RetryAfter int `json:"retry_after,omitempty"`
	// Latency delays the response, e.g. "250ms".
	Latency string `json:"latency,omitempty"`
	// Reset closes the connection without an answer.
	Reset bool `json:"reset,omitempty"`
	// Truncate sends the headers and half of the body, then closes the connection.
	Truncate bool `json:"truncate,omitempty"`
	// Slow stretches writing the body over this duration, e.g. "3s".
	Slow string `json:"slow,omitempty"`
}

// FaultConfig is the body of PUT /_sim/faults. An empty object clears every fault.
type FaultConfig struct {
	// Latency is added to every REST request, e.g. "20ms".
	Latency string      `json:"latency,omitempty"`
	Rules   []FaultRule `json:"rules,omitempty"`
	// RateLimit replaces the TSTU budget settings; omitted keeps the defaults.
	RateLimit *RateLimitConfig `json:"rate_limit,omitempty"`
}

type faultInjector struct {
	mu      sync.Mutex
	cfg     FaultConfig
	latency time.Duration
	rng     *rand.Rand
	used    []int
}

func newFaultInjector(seed int64) *faultInjector {
	return &faultInjector{rng: rand.New(rand.NewPCG(uint64(seed), 0xfa17))}
}

func (f *faultInjector) set(cfg FaultConfig) error {
	var lat time.Duration
	if cfg.Latency != "" {
		d, err := time.ParseDuration(cfg.Latency)
		if err != nil {
			return err
		}
		lat = d
	}
	for _, r := range cfg.Rules {
		for _, d := range []string{r.Latency, r.Slow} {
			if d != "" {
				if _, err := time.ParseDuration(d); err != nil {
					return err
				}
			}
		}
	}
	f.mu.Lock()
	f.cfg, f.latency, f.used = cfg, lat, make([]int, len(cfg.Rules))
	f.mu.Unlock()
	return nil
}

func (f *faultInjector) get() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// pick returns the first rule that fires for r.
func (f *faultInjector) pick(r *http.Request) (FaultRule, time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.ToLower(r.URL.Path)
	for i, rule := range f.cfg.Rules {
		if rule.Match != "" && !strings.Contains(path, strings.ToLower(rule.Match)) {
			continue
		}
		if rule.Method != "" && !strings.EqualFold(rule.Method, r.Method) {
			continue
		}
		if rule.Count > 0 && f.used[i] >= rule.Count {
			continue
		}
		if rule.Rate > 0 && rule.Rate < 1 && f.rng.Float64() >= rule.Rate {
			continue
		}
		f.used[i]++
		return rule, f.latency, true
	}
	return FaultRule{}, f.latency, false
}

// apply runs before routing. It either answers (done) or returns the writer the REST handler
// should use (wrapped for truncation or slow bodies).
func (f *faultInjector) apply(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, bool) {
	rule, lat, ok := f.pick(r)
	if lat > 0 {
		time.Sleep(lat)
	}
	if !ok {
		return w, false
	}
	if rule.Latency != "" {
		d, _ := time.ParseDuration(rule.Latency)
		time.Sleep(d)
	}
	switch {
	case rule.Reset:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
				tc.SetLinger(0) // RST rather than FIN
			}
			conn.Close()
			return nil, true
		}
		panic(http.ErrAbortHandler)
	case rule.Status != 0:
		e := &vssError{status: rule.Status, typeKey: "InternalServerErrorException", typeName: "System.Exception, mscorlib",
			message: "TF400898: An Internal Error Occurred. Activity Id: " + guid(uint64(time.Now().UnixNano()), "activity", 1) + "."}
		switch rule.Status {
		case 429:
			e.typeKey, e.typeName = "RequestBlockedException", "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server"
			e.message = "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'ATCPU' in namespace 'User'."
		case 503:
			e.typeKey, e.typeName = "ServiceUnavailableException", "Microsoft.VisualStudio.Services.WebApi.ServiceUnavailableException, Microsoft.VisualStudio.Services.WebApi"
			e.message = "TF400898: The service is temporarily unavailable. Please try again later."
		}
		if rule.Status == 429 || rule.Status == 503 {
			ra := rule.RetryAfter
			if ra == 0 {
				ra = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(ra))
		}
		writeVSS(w, e, "")
		return nil, true
	case rule.Truncate || rule.Slow != "":
		bw := &bufferedWriter{ResponseWriter: w, truncate: rule.Truncate}
		if rule.Slow != "" {
			bw.slow, _ = time.ParseDuration(rule.Slow)
		}
		return bw, false
	}
	return w, false
}

// bufferedWriter holds the response so it can be cut short or dribbled out.
type bufferedWriter struct {
	http.ResponseWriter
	buf      bytes.Buffer
	status   int
	truncate bool
	slow     time.Duration
}

func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

func (b *bufferedWriter) finish() {
	if b.status == 0 {
		b.status = 200
	}
	body := b.buf.Bytes()
	b.ResponseWriter.Header().Set("Content-Length", strconv.Itoa(len(body)))
	b.ResponseWriter.WriteHeader(b.status)
	if b.truncate {
		b.ResponseWriter.Write(body[:len(body)/2])
		http.NewResponseController(b.ResponseWriter).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	const chunks = 10
	step := (len(body) + chunks - 1) / chunks
	for i := 0; i < len(body); i += step {
		end := min(len(body), i+step)
		b.ResponseWriter.Write(body[i:end])
		http.NewResponseController(b.ResponseWriter).Flush()
		time.Sleep(b.slow / chunks)
	}
}

// RateLimitConfig tunes the TSTU budget per identity (PROTOCOL §9).
type RateLimitConfig struct {
	// Limit is the TSTU budget per sliding window; 0 disables rate limiting.
	Limit float64 `json:"limit"`
	// Cost is the TSTUs charged per request.
	Cost float64 `json:"cost"`
	// Window is the sliding window, default "5m".
	Window string `json:"window,omitempty"`
	// Delay is how long requests over the limit are held before answering, default "50ms".
	Delay string `json:"delay,omitempty"`
	// BlockFactor: usage above Limit*BlockFactor is blocked with 429, default 1.5.
	BlockFactor float64 `json:"block_factor,omitempty"`
}

// rateLimiter keeps per-identity usage in one-second buckets of simulated time.
type rateLimiter struct {
	mu     sync.Mutex
	clock  *clock
	cfg    RateLimitConfig
	window time.Duration
	delay  time.Duration
	usage  map[string]map[int64]float64
}

var defaultRateLimit = RateLimitConfig{Limit: 200, Cost: 0.005, Window: "5m", Delay: "50ms", BlockFactor: 1.5}

func newRateLimiter(c *clock) *rateLimiter {
	rl := &rateLimiter{clock: c}
	rl.set(defaultRateLimit)
	return rl
}

func (rl *rateLimiter) set(cfg RateLimitConfig) error {
	w, d := 5*time.Minute, 50*time.Millisecond
	var err error
	if cfg.Window != "" {
		if w, err = time.ParseDuration(cfg.Window); err != nil {
			return err
		}
	}
	if cfg.Delay != "" {
		if d, err = time.ParseDuration(cfg.Delay); err != nil {
			return err
		}
	}
	if cfg.BlockFactor == 0 {
		cfg.BlockFactor = 1.5
	}
	rl.mu.Lock()
	rl.cfg, rl.window, rl.delay, rl.usage = cfg, w, d, map[string]map[int64]float64{}
	rl.mu.Unlock()
	return nil
}

// charge records one request and sets the X-RateLimit-* headers. It returns how long to delay
// the request, or blocked=true for a 429 (with Retry-After set).
func (rl *rateLimiter) charge(w http.ResponseWriter, id string) (time.Duration, bool) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.cfg.Limit <= 0 {
		return 0, false
	}
	now := rl.clock.Now().Unix()
	win := int64(rl.window / time.Second)
	b := rl.usage[id]
	if b == nil {
		b = map[int64]float64{}
		rl.usage[id] = b
	}
	var used float64
	oldest := now
	for sec, u := range b {
		if sec <= now-win {
			delete(b, sec)
			continue
		}
		used += u
		if sec < oldest {
			oldest = sec
		}
	}
	blockAt := rl.cfg.Limit * rl.cfg.BlockFactor
	if used >= blockAt {
		// Blocked requests are not charged; retry once enough usage has left the window.
		retry := oldest + win - now
		if retry < 1 {
			retry = 1
		}
		h := w.Header()
		h.Set("Retry-After", strconv.FormatInt(retry, 10))
		h.Set("X-RateLimit-Resource", "Core")
		h.Set("X-RateLimit-Limit", strconv.FormatFloat(rl.cfg.Limit, 'f', -1, 64))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(oldest+win, 10))
		return 0, true
	}
	b[now] += rl.cfg.Cost
	used += rl.cfg.Cost
	if used < rl.cfg.Limit/2 {
		return 0, false
	}
	h := w.Header()
	h.Set("X-RateLimit-Resource", "Core")
	h.Set("X-RateLimit-Limit", strconv.FormatFloat(rl.cfg.Limit, 'f', -1, 64))
	rem := rl.cfg.Limit - used
	if rem < 0 {
		rem = 0
	}
	h.Set("X-RateLimit-Remaining", strconv.FormatFloat(rem, 'f', 0, 64))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(now+win, 10))
	if used > rl.cfg.Limit {
		h.Set("X-RateLimit-Delay", strconv.FormatFloat(rl.delay.Seconds(), 'f', 3, 64))
		return rl.delay, false
	}
	return 0, false
}
