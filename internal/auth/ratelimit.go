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

// take reserves an attempt for key before it is checked: it counts as a
// failure at once (so concurrent guesses cannot all pass the check), unless
// key has used up its failures, and then it reports until when.
func (l *limiter) take(key string) (ok bool, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fails := l.prune(key)
	if len(fails) >= l.max {
		return false, fails[0].Add(l.window)
	}
	l.entries[key] = append(fails, l.now())
	l.bound()
	return true, time.Time{}
}

// forgive takes back one reserved attempt of key (it succeeded).
func (l *limiter) forgive(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fails := l.prune(key); len(fails) > 0 {
		l.entries[key] = fails[:len(fails)-1]
	}
}

// bound drops expired keys when there are very many (a spray of keys);
// callers hold mu.
func (l *limiter) bound() {
	if len(l.entries) > 100_000 {
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
