package auth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// slowChecks replaces the password check with one that takes a while and
// records how many ran and how many ran at once.
func slowChecks(t *testing.T, d time.Duration) (ran, peak *atomic.Int64) {
	ran, peak = &atomic.Int64{}, &atomic.Int64{}
	var running atomic.Int64
	orig := checkPassword
	checkPassword = func(hash, password string) (bool, error) {
		ran.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(d)
		return orig(hash, password)
	}
	t.Cleanup(func() { checkPassword = orig })
	return ran, peak
}

// TestConcurrentGuessesCountedBeforeChecking: 40 guesses at one account
// at once, from 40 addresses. The limit of 10 holds: each attempt is
// counted before its password is checked, so no more than 10 are checked
// and the rest are refused with 429 and a Retry-After; the right password
// among the refused ones gets no session.
func TestConcurrentGuessesCountedBeforeChecking(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := NewService(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, "ann@example.com", "correct horse battery", "", store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	ran, _ := slowChecks(t, 20*time.Millisecond)
	var wg sync.WaitGroup
	var checked, limited, sessions atomic.Int64
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := fmt.Sprint("guess ", i)
			if i == 39 {
				pw = "correct horse battery"
			}
			_, _, err := svc.Login(ctx, "ann@example.com", pw, fmt.Sprint("10.0.0.", i))
			switch {
			case err == nil:
				sessions.Add(1)
				checked.Add(1)
			case delivery.KindOf(err) == delivery.KindUnauthorized:
				checked.Add(1)
			case delivery.KindOf(err) == delivery.KindRateLimited:
				limited.Add(1)
				if delivery.RetryAfterSeconds(err) == 0 {
					t.Errorf("a refused sign-in says nothing about when to retry: %v", err)
				}
			default:
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if checked.Load() > 10 || ran.Load() > 10 || limited.Load() < 30 {
		t.Fatalf("%d checked (%d password checks), %d refused: want at most 10 checked", checked.Load(), ran.Load(), limited.Load())
	}
	t.Logf("%d checked, %d refused, %d signed in", checked.Load(), limited.Load(), sessions.Load())
}

// TestHashChecksBounded: a flood of sign-ins for different accounts from
// different addresses never runs more password checks at once than the
// pool allows (memory stays flat: each argon2id check takes 19 MiB); the
// ones that wait too long are told to come back (429, Retry-After).
func TestHashChecksBounded(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := NewService(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	_, peak := slowChecks(t, 300*time.Millisecond)
	ctx := context.Background()
	var wg sync.WaitGroup
	var busy atomic.Int64
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := svc.Login(ctx, fmt.Sprintf("user%d@example.com", i), "some password here", fmt.Sprint("10.1.0.", i))
			if delivery.KindOf(err) == delivery.KindRateLimited {
				busy.Add(1)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > int64(cap(svc.hashing)) {
		t.Fatalf("%d password checks ran at once; the pool has %d", p, cap(svc.hashing))
	}
	if busy.Load() == 0 {
		t.Fatalf("60 sign-ins of 300 ms each on %d slots within %s: some should have been told to come back", cap(svc.hashing), hashWait)
	}
	t.Logf("peak %d checks at once (pool %d), %d told to retry", peak.Load(), cap(svc.hashing), busy.Load())
}
