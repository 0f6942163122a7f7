package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T, db *store.DB) (*auth.Service, *clock) {
	c := &clock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	return auth.NewService(db, slog.New(slog.NewTextHandler(io.Discard, nil)), c.now), c
}

const password = "correct horse battery"

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword(password)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Fatalf("hash %q: %v", h, err)
	}
	if ok, err := auth.CheckPassword(h, password); !ok || err != nil {
		t.Fatal("right password refused")
	}
	if ok, _ := auth.CheckPassword(h, password+"x"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, err := auth.CheckPassword("$2a$10$bcrypt", password); err == nil {
		t.Fatal("a foreign hash must be an error")
	}
}

func TestCreateUserValidation(t *testing.T) {
	svc, _ := newService(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	cases := []struct{ name, email, pw, want string }{
		{"no at sign", "admin", password, "not an email address"},
		{"short password", "a@b.c", "short", "shorter than 10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := svc.CreateUser(ctx, c.email, c.pw, "", store.RoleAdmin)
			if delivery.KindOf(err) != delivery.KindInvalid || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want invalid %q, got %v", c.want, err)
			}
		})
	}
	u, err := svc.CreateUser(ctx, "Admin@Example.com", password, "", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, "admin@example.com", password, "", store.RoleMember); delivery.KindOf(err) != delivery.KindConflict {
		t.Fatalf("duplicate email: %v", err)
	}
	if u.Email != "admin@example.com" {
		t.Fatalf("email %q", u.Email)
	}
}

func TestLoginSessionsAndTokens(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		svc, clk := newService(t, db)
		ctx := context.Background()
		u, err := svc.CreateUser(ctx, "ann@example.com", password, "acme", store.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		_, _, errWrongPw := svc.Login(ctx, "ann@example.com", "wrong password!", "1.2.3.4")
		_, _, errNoUser := svc.Login(ctx, "nobody@example.com", "wrong password!", "1.2.3.4")
		if errWrongPw == nil || errWrongPw.Error() != errNoUser.Error() {
			t.Fatalf("wrong password and unknown user must look alike: %v / %v", errWrongPw, errNoUser)
		}
		cookie, got, err := svc.Login(ctx, "ANN@example.com", password, "1.2.3.4")
		if err != nil || got.ID != u.ID {
			t.Fatalf("login: %v", err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(auth.SessionCookieFor(cookie, true))
		p, err := svc.Authenticate(r)
		if err != nil || p.User.ID != u.ID || !p.IsAdmin() || p.ViaToken {
			t.Fatalf("session auth: %+v %v", p, err)
		}
		clk.add(auth.SessionTTL + time.Hour)
		if _, err := svc.Authenticate(r); delivery.KindOf(err) != delivery.KindUnauthorized {
			t.Fatalf("expired session must be refused: %v", err)
		}

		tok, _, err := svc.CreateToken(ctx, u.ID, "ci")
		if err != nil || !strings.HasPrefix(tok.Reveal(), "pdm_") {
			t.Fatalf("token: %v", err)
		}
		if _, _, err := svc.CreateToken(ctx, u.ID, "ci"); delivery.KindOf(err) != delivery.KindConflict {
			t.Fatalf("duplicate token name: %v", err)
		}
		r = httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok.Reveal())
		if p, err := svc.Authenticate(r); err != nil || !p.ViaToken || p.WorkspaceID() != u.WorkspaceID {
			t.Fatalf("token auth: %+v %v", p, err)
		}
		r.Header.Set("Authorization", "Bearer pdm_forged")
		if _, err := svc.Authenticate(r); delivery.KindOf(err) != delivery.KindUnauthorized {
			t.Fatalf("forged token: %v", err)
		}
		r.Header.Set("Authorization", "Basic abc")
		if _, err := svc.Authenticate(r); delivery.KindOf(err) != delivery.KindUnauthorized {
			t.Fatalf("basic auth: %v", err)
		}
		stored, err := db.ListAPITokens(ctx, u.ID)
		if err != nil || len(stored) != 1 || strings.Contains(stored[0].TokenHash, tok.Reveal()) {
			t.Fatalf("only a hash is stored: %+v %v", stored, err)
		}
	})
}

// TestLoginLanes: guessing slows per account and address with growing
// delays; guesses spread over many addresses fill an account-wide limit
// for addresses the account never signed in from; and none of it locks the
// owner out of the address they sign in from (before lanes, ten wrong
// passwords from anywhere locked the account for everyone).
func TestLoginLanes(t *testing.T) {
	svc, clk := newService(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, "ann@example.com", password, "", store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Login(ctx, "ann@example.com", password, "5.5.5.5"); err != nil {
		t.Fatal(err) // the owner's usual address
	}
	guess := func(addr string) error {
		_, _, err := svc.Login(ctx, "ann@example.com", "a wrong guess", addr)
		return err
	}
	for i := range 5 {
		if err := guess("9.9.9.9"); delivery.KindOf(err) != delivery.KindUnauthorized {
			t.Fatalf("free attempt %d: %v", i+1, err)
		}
	}
	for _, want := range []int{2, 4, 8, 16} { // the wait doubles with each failure
		err := guess("9.9.9.9")
		if delivery.KindOf(err) != delivery.KindRateLimited || delivery.RetryAfterSeconds(err) != want {
			t.Fatalf("want a wait of %d s, got %v (retry after %d)", want, err, delivery.RetryAfterSeconds(err))
		}
		clk.add(time.Duration(want) * time.Second)
		if err := guess("9.9.9.9"); delivery.KindOf(err) != delivery.KindUnauthorized {
			t.Fatalf("after waiting %d s the guess is checked: %v", want, err)
		}
	}
	// The stranger's failures (9 so far, one address) and a spray from
	// new addresses fill the account-wide limit of 10.
	if err := guess("9.9.9.10"); delivery.KindOf(err) != delivery.KindUnauthorized {
		t.Fatal(err)
	}
	_, _, err := svc.Login(ctx, "ann@example.com", password, "7.7.7.7")
	if delivery.KindOf(err) != delivery.KindRateLimited {
		t.Fatalf("a new address waits while the account is under attack: %v", err)
	}
	if _, _, err := svc.Login(ctx, "ann@example.com", password, "5.5.5.5"); err != nil {
		t.Fatalf("the owner's own address is not locked out by a stranger: %v", err)
	}
	clk.add(16 * time.Minute)
	if _, _, err := svc.Login(ctx, "ann@example.com", password, "7.7.7.7"); err != nil {
		t.Fatalf("after the window a new address signs in: %v", err)
	}
}
