package azdo

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// flaky answers the first n requests with status (and headers), then 200.
func flaky(f *fake, method, suffix string, n int, status int, hdr map[string]string, ok []byte) *atomic.Int32 {
	var calls atomic.Int32
	f.on(method, suffix, func(w http.ResponseWriter, r *http.Request) {
		if int(calls.Add(1)) <= n {
			for k, v := range hdr {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(vssJSON(status, "InternalServerErrorException", "TF400898: An Internal Error Occurred."))
			return
		}
		w.Write(ok)
	})
	return &calls
}

func TestRetryBackoffOn5xx(t *testing.T) {
	f := newFake(t)
	calls := flaky(f, "GET", "/git/repositories", 3, 503, nil, []byte(`{"count":0,"value":[]}`))
	c, clk := newClient(t, f, ServicesDeployment)
	if _, err := c.Repositories(context.Background(), "P"); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}
	if got := clk.Sleeps(); calls.Load() != 4 || !equalDurations(got, want) {
		t.Fatalf("calls = %d, sleeps = %v; want 4 calls, sleeps %v", calls.Load(), got, want)
	}
}

func TestRetryGivesUpAfterMaxRetries(t *testing.T) {
	f := newFake(t)
	calls := flaky(f, "GET", "/git/repositories", 100, 500, nil, nil)
	c, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.Retry.MaxRetries = 2 })
	_, err := c.Repositories(context.Background(), "P")
	var ae *APIError
	if delivery.KindOf(err) != delivery.KindUnavailable || !errors.As(err, &ae) || ae.Status != 500 || calls.Load() != 3 {
		t.Fatalf("err = %v after %d calls; want KindUnavailable HTTP 500 after 3", err, calls.Load())
	}
}

func TestRetryJitterBounds(t *testing.T) {
	p := RetryPolicy{BaseDelay: time.Second, MaxDelay: 8 * time.Second}.withDefaults()
	for attempt := 0; attempt < 10; attempt++ {
		full := min(time.Second<<attempt, 8*time.Second)
		for i := 0; i < 50; i++ {
			if d := p.backoff(attempt); d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, status := range []int{429, 503} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFake(t)
			calls := flaky(f, "GET", "/git/repositories", 1, status, map[string]string{"Retry-After": "7"}, []byte(`{"count":0,"value":[]}`))
			c, clk := newClient(t, f, ServicesDeployment)
			if _, err := c.Repositories(context.Background(), "P"); err != nil {
				t.Fatal(err)
			}
			// 7s once: the retry waits it out, and the pacer's hold has passed by then.
			if calls.Load() != 2 || clk.total() != 7*time.Second {
				t.Fatalf("calls = %d, sleeps = %v; want 2 calls after 7s", calls.Load(), clk.Sleeps())
			}
		})
	}
}

func TestRateLimitedErrorCarriesRetryTime(t *testing.T) {
	f := newFake(t)
	flaky(f, "GET", "/git/repositories", 100, 429, map[string]string{"Retry-After": "600"}, nil)
	c, clk := newClient(t, f, ServicesDeployment)
	start := clk.Now()
	_, err := c.Repositories(context.Background(), "P")
	var de *delivery.Error
	var ae *APIError
	if !errors.As(err, &de) || de.Kind != delivery.KindRateLimited || !errors.As(err, &ae) {
		t.Fatalf("err = %v, want KindRateLimited", err)
	}
	want := start.Add(600 * time.Second)
	if !ae.RetryAt.Equal(want) || de.Message != "Azure DevOps rate limit reached; retry at "+want.Format("2006-01-02 15:04:05 UTC") {
		t.Fatalf("retry at %v, message %q; want %v", ae.RetryAt, de.Message, want)
	}
	if len(clk.Sleeps()) != 0 || f.count("/repositories") != 1 {
		t.Fatalf("a Retry-After over MaxRetryAfter must not be waited out: sleeps %v, calls %d", clk.Sleeps(), f.count("/repositories"))
	}
}

func TestNoBlindRetryOfCreatingPost(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		wantCalls int32
	}{
		{"5xx not retried", 500, 1},
		{"429 retried: the request was not executed", 429, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			calls := flaky(f, "POST", "/_apis/hooks/subscriptions", 1, tt.status, map[string]string{"Retry-After": "1"},
				sample(t, "hooks.subscriptions.create.json"))
			c, _ := newClient(t, f, ServicesDeployment)
			_, err := c.CreateSubscription(context.Background(), SubscriptionInput{PublisherID: "tfs", EventType: "git.push"})
			if calls.Load() != tt.wantCalls || (tt.wantCalls == 1) != (err != nil) {
				t.Fatalf("calls = %d, err = %v; want %d calls", calls.Load(), err, tt.wantCalls)
			}
		})
	}
	t.Run("read-only POST retried", func(t *testing.T) {
		f := newFake(t)
		calls := flaky(f, "POST", "/_apis/wit/wiql", 2, 502, nil, []byte(`{"workItems":[]}`))
		c, _ := newClient(t, f, ServicesDeployment)
		if _, err := c.Wiql(context.Background(), "P", "SELECT [System.Id] FROM WorkItems", 0); err != nil || calls.Load() != 3 {
			t.Fatalf("calls = %d, err = %v", calls.Load(), err)
		}
	})
}

// resetting closes the connection without an answer for the first n requests.
func resetting(f *fake, suffix string, n int, ok []byte) *atomic.Int32 {
	var calls atomic.Int32
	f.on("", suffix, func(w http.ResponseWriter, r *http.Request) {
		if int(calls.Add(1)) <= n {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				conn.Close()
			}
			return
		}
		w.Write(ok)
	})
	return &calls
}

func TestRetryConnectionReset(t *testing.T) {
	f := newFake(t)
	calls := resetting(f, "/git/repositories", 2, []byte(`{"count":0,"value":[]}`))
	c, _ := newClient(t, f, ServicesDeployment)
	if _, err := c.Repositories(context.Background(), "P"); err != nil || calls.Load() != 3 {
		t.Fatalf("calls = %d, err = %v", calls.Load(), err)
	}

	f2 := newFake(t)
	posts := resetting(f2, "/threads", 1, nil)
	c2, _ := newClient(t, f2, ServicesDeployment)
	_, err := c2.CreateThread(context.Background(), "P", "r", 1, NewThread{Content: "hi"})
	if err == nil || posts.Load() != 1 || delivery.KindOf(err) != delivery.KindUnavailable {
		t.Fatalf("reset POST: calls = %d, err = %v; want one call and KindUnavailable", posts.Load(), err)
	}
}

func TestRetryAttemptTimeout(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.on("GET", "/git/repositories", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // hang until the client gives up on this attempt
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.Write([]byte(`{"count":0,"value":[]}`))
	})
	c, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.Retry.AttemptTimeout = 50 * time.Millisecond })
	if _, err := c.Repositories(context.Background(), "P"); err != nil || calls.Load() != 2 {
		t.Fatalf("calls = %d, err = %v", calls.Load(), err)
	}
}

func TestSlowDownBeforeRateLimit(t *testing.T) {
	f := newFake(t)
	var remaining atomic.Int64
	remaining.Store(200)
	f.on("GET", "/git/repositories", func(w http.ResponseWriter, r *http.Request) {
		rem := remaining.Add(-20)
		h := w.Header()
		h.Set("X-RateLimit-Resource", "Core")
		h.Set("X-RateLimit-Limit", "200")
		h.Set("X-RateLimit-Remaining", strconv.FormatInt(max(rem, 0), 10))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC).Unix(), 10))
		w.Write([]byte(`{"count":0,"value":[]}`))
	})
	c, clk := newClient(t, f, ServicesDeployment, func(o *Options) { o.Retry.MaxSpacing = 4 * time.Second })
	var spacing []time.Duration
	for i := 0; i < 10; i++ {
		if _, err := c.Repositories(context.Background(), "P"); err != nil {
			t.Fatal(err)
		}
		spacing = append(spacing, c.Spacing())
	}
	// Remaining after each call: 180,160,…,0. Spacing starts below 25% (50)
	// and grows to MaxSpacing as it reaches 0.
	for i, rem := range []int{180, 160, 140, 120, 100, 80, 60, 40, 20, 0} {
		share := float64(rem) / 200
		want := time.Duration(0)
		if share < 0.25 {
			want = time.Duration((1 - share/0.25) * float64(4*time.Second))
		}
		if spacing[i] != want {
			t.Fatalf("after call %d (remaining %d): spacing %v, want %v", i+1, rem, spacing[i], want)
		}
	}
	if clk.total() == 0 {
		t.Fatal("the client never slowed down")
	}

	// X-RateLimit-Delay is a floor; spacing never extends past the reset.
	p := &pacer{policy: RetryPolicy{}.withDefaults()}
	now := time.Unix(1000, 0)
	h := http.Header{"X-Ratelimit-Limit": {"200"}, "X-Ratelimit-Remaining": {"150"}, "X-Ratelimit-Delay": {"2.5"}}
	p.update(200, h, now)
	if p.spacing != 2500*time.Millisecond {
		t.Fatalf("delay floor: spacing %v", p.spacing)
	}
	h = http.Header{"X-Ratelimit-Limit": {"200"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1001"}}
	p.update(200, h, now)
	if p.spacing != time.Second {
		t.Fatalf("reset cap: spacing %v", p.spacing)
	}
	p.update(200, http.Header{}, now)
	if p.spacing != 0 {
		t.Fatalf("headers gone: spacing %v", p.spacing)
	}
}

func TestRetryAfterOnSuccessHoldsNextRequest(t *testing.T) {
	f := newFake(t)
	f.on("GET", "/git/repositories", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.Write([]byte(`{"count":0,"value":[]}`))
	})
	c, clk := newClient(t, f, ServicesDeployment)
	for i := 0; i < 2; i++ {
		if _, err := c.Repositories(context.Background(), "P"); err != nil {
			t.Fatal(err)
		}
	}
	if got := clk.Sleeps(); len(got) != 1 || got[0] != 3*time.Second {
		t.Fatalf("sleeps = %v, want one of 3s before the second request", got)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	f := newFake(t)
	var inFlight, peak atomic.Int32
	gate := make(chan struct{})
	f.on("GET", "/git/repositories", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-gate
		inFlight.Add(-1)
		w.Write([]byte(`{"count":0,"value":[]}`))
	})
	c, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.MaxConcurrent = 2 })
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Repositories(context.Background(), "P"); err != nil {
				t.Error(err)
			}
		}()
	}
	// Wait until two are in flight, give the others a chance to (wrongly) join.
	for inFlight.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if p := peak.Load(); p != 2 {
		t.Errorf("peak in flight = %d, want 2", p)
	}
	close(gate)
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Fatalf("peak in flight = %d, want ≤ 2", p)
	}
}

func TestContextCancellation(t *testing.T) {
	t.Run("while waiting for a slot", func(t *testing.T) {
		f := newFake(t)
		gate := make(chan struct{})
		t.Cleanup(func() { close(gate) })
		f.on("GET", "/git/repositories", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		})
		c, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.MaxConcurrent = 1 })
		go c.Repositories(context.Background(), "P") // holds the only slot
		for f.count("/repositories") == 0 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := c.Repositories(ctx, "P")
		if !errors.Is(err, context.DeadlineExceeded) || delivery.KindOf(err) != delivery.KindUnavailable {
			t.Fatalf("err = %v, want DeadlineExceeded as KindUnavailable", err)
		}
	})
	t.Run("during backoff", func(t *testing.T) {
		f := newFake(t)
		flaky(f, "GET", "/git/repositories", 100, 503, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		c, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.Clock = cancelingClock{newFakeClock(), cancel} })
		_, err := c.Repositories(ctx, "P")
		if !errors.Is(err, context.Canceled) || f.count("/repositories") != 1 {
			t.Fatalf("err = %v after %d calls; want Canceled after 1", err, f.count("/repositories"))
		}
	})
	t.Run("already canceled", func(t *testing.T) {
		f := newFake(t)
		c, _ := newClient(t, f, ServicesDeployment)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Repositories(ctx, "P"); !errors.Is(err, context.Canceled) || len(f.requests()) != 0 {
			t.Fatalf("err = %v, requests %d", err, len(f.requests()))
		}
	})
}

// cancelingClock cancels the context on the first sleep, as if the caller
// gave up during a backoff.
type cancelingClock struct {
	*fakeClock
	cancel context.CancelFunc
}

func (c cancelingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	return c.fakeClock.Sleep(ctx, d)
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// budgetServer charges 20 units per request against a 200-unit budget that
// refills 10 units per second of the fake clock, and answers 429 when a
// request would overdraw it.
func budgetServer(f *fake, clk *fakeClock) *atomic.Int32 {
	var mu sync.Mutex
	var used float64
	last := clk.Now()
	var blocked atomic.Int32
	f.on("GET", "/git/repositories", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		now := clk.Now()
		used = max(0, used-10*now.Sub(last).Seconds())
		last = now
		h := w.Header()
		h.Set("X-RateLimit-Limit", "200")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(20*time.Second).Unix(), 10))
		if used+20 > 200 {
			blocked.Add(1)
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		used += 20
		h.Set("X-RateLimit-Remaining", strconv.FormatFloat(200-used, 'f', 0, 64))
		w.Write([]byte(`{"count":0,"value":[]}`))
	})
	return &blocked
}

func TestSlowDownAvoids429(t *testing.T) {
	for _, tt := range []struct {
		name    string
		spacing time.Duration
		want429 bool
	}{
		{"pacing on", 4 * time.Second, false},
		{"pacing off", time.Nanosecond, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			clk := newFakeClock()
			blocked := budgetServer(f, clk)
			c, _ := newClient(t, f, ServicesDeployment, func(o *Options) {
				o.Clock = clk
				o.Retry.MaxSpacing = tt.spacing
			})
			for i := 0; i < 40; i++ {
				if _, err := c.Repositories(context.Background(), "P"); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			if got := blocked.Load() > 0; got != tt.want429 {
				t.Fatalf("429s answered: %d; want any = %v", blocked.Load(), tt.want429)
			}
		})
	}
}

// TestRetryAfterHoldsAllOnlyForRateLimits: a 429's Retry-After (or a
// delayed success's) holds every request; a 503's delays only its own retry.
func TestRetryAfterHoldsAllOnlyForRateLimits(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := http.Header{"Retry-After": []string{"3"}}
	for _, tt := range []struct {
		status int
		holds  bool
	}{{429, true}, {200, true}, {503, false}, {500, false}} {
		p := &pacer{policy: RetryPolicy{}.withDefaults()}
		p.update(tt.status, h, now)
		if got := p.holdUntil.Equal(now.Add(3 * time.Second)); got != tt.holds {
			t.Errorf("status %d: hold until %v, want holding everything = %v", tt.status, p.holdUntil, tt.holds)
		}
	}
}
