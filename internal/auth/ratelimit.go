package auth

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (client address, email) in a sliding
// window. It is per process: with several replicas an attacker gets the
// limit once per replica, which still bounds guessing to a few per minute.
type limiter struct {
	mu      sync.Mutex
	max     int
	window  time.Duration
	now     func() time.Time
	entries map[string][]time.Time
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, entries: map[string][]time.Time{}}
}

// blocked reports whether key has used up its failures, and until when.
func (l *limiter) blocked(key string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fails := l.prune(key)
	if len(fails) < l.max {
		return false, time.Time{}
	}
	return true, fails[0].Add(l.window)
}

func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[key] = append(l.prune(key), l.now())
	if len(l.entries) > 100_000 { // bound memory under a spray of keys
		for k := range l.entries {
			if len(l.prune(k)) == 0 {
				delete(l.entries, k)
			}
		}
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// prune drops failures older than the window; callers hold mu.
func (l *limiter) prune(key string) []time.Time {
	cut := l.now().Add(-l.window)
	fails := l.entries[key]
	i := 0
	for i < len(fails) && !fails[i].After(cut) {
		i++
	}
	fails = fails[i:]
	if len(fails) == 0 {
		delete(l.entries, key)
		return nil
	}
	l.entries[key] = fails
	return fails
}
