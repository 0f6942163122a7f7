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

// lanes slow guessing on one account from one client address: the first
// few failures are free, then each attempt must wait twice as long as the
// one before (1 s, 2 s, 4 s, … at most maxDelay) after the last failure.
// A lane belongs to an account and an address together, so a stranger
// guessing from elsewhere never slows the owner's own lane.
type lanes struct {
	mu       sync.Mutex
	free     int
	base     time.Duration
	maxDelay time.Duration
	window   time.Duration // a lane quiet this long starts over
	now      func() time.Time
	entries  map[string]laneState
}

type laneState struct {
	fails int
	last  time.Time
}

func newLanes(free int, base, maxDelay, window time.Duration, now func() time.Time) *lanes {
	return &lanes{free: free, base: base, maxDelay: maxDelay, window: window, now: now, entries: map[string]laneState{}}
}

// delay is how long after its last failure a lane with fails failures
// waits before the next attempt.
func (l *lanes) delay(fails int) time.Duration {
	if fails < l.free {
		return 0
	}
	d := l.base
	for range fails - l.free {
		if d *= 2; d >= l.maxDelay {
			return l.maxDelay
		}
	}
	return d
}

// take reserves an attempt on key, counted as a failure at once (see
// limiter.take), unless the lane must still wait, and then until when.
func (l *lanes) take(key string) (ok bool, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	st := l.entries[key]
	if !st.last.IsZero() && now.Sub(st.last) > l.window {
		st = laneState{}
	}
	if next := st.last.Add(l.delay(st.fails)); st.fails >= l.free && now.Before(next) {
		return false, next
	}
	l.entries[key] = laneState{fails: st.fails + 1, last: now}
	if len(l.entries) > 100_000 { // a spray of keys: drop the quiet ones
		for k, s := range l.entries {
			if now.Sub(s.last) > l.window {
				delete(l.entries, k)
			}
		}
	}
	return true, time.Time{}
}

// forgive takes back one reserved attempt of key.
func (l *lanes) forgive(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, ok := l.entries[key]; ok && st.fails > 0 {
		st.fails--
		l.entries[key] = st
	}
}

// reset clears a lane (its owner signed in).
func (l *lanes) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// known remembers the lanes (account and address) that signed in
// successfully, for a while: an attempt from such a lane is the owner's
// usual place, and the account-wide limit that strangers' guesses fill
// does not apply to it (its own lane still does).
type known struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time
	entries map[string]time.Time
}

func newKnown(ttl time.Duration, now func() time.Time) *known {
	return &known{ttl: ttl, now: now, entries: map[string]time.Time{}}
}

func (k *known) has(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.entries[key]
	return ok && k.now().Sub(at) < k.ttl
}

func (k *known) add(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	k.entries[key] = now
	if len(k.entries) > 100_000 {
		for key, at := range k.entries {
			if now.Sub(at) >= k.ttl {
				delete(k.entries, key)
			}
		}
	}
}
