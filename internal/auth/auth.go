package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

// SessionCookie is the browser session cookie's name.
const SessionCookie = "pandev_session"

// SessionTTL is how long an idle session lives; activity slides it forward.
const SessionTTL = 7 * 24 * time.Hour

// tokenPrefix marks PanDev API tokens, so secret scanners can recognise them.
const tokenPrefix = "pdm_"

// DefaultWorkspace is the workspace of `pandev admin create` without --workspace.
const DefaultWorkspace = "default"

// Service signs people in and checks who is calling.
type Service struct {
	db      *store.DB
	logger  *slog.Logger
	now     func() time.Time
	byIP    *limiter
	byEmail *limiter // failures on an account from addresses it never signed in from
	byLane  *lanes   // failures on an account from one address, with growing delays
	known   *known   // account and address pairs that signed in
	// hashing bounds the password checks running at once: each argon2id
	// check takes 19 MiB and a core for a moment, and a flood of sign-ins
	// must not take the memory of the server with it.
	hashing chan struct{}
}

// hashWait is how long a sign-in waits for a free password check before
// it is answered 429 with Retry-After.
const hashWait = 2 * time.Second

// checkPassword is CheckPassword; tests count and slow the checks.
var checkPassword = CheckPassword

// NewService returns a Service; now is the clock (time.Now in production).
func NewService(db *store.DB, logger *slog.Logger, now func() time.Time) *Service {
	return &Service{
		db: db, logger: logger, now: now,
		byIP:    newLimiter(20, 15*time.Minute, now),
		byEmail: newLimiter(10, 15*time.Minute, now),
		byLane:  newLanes(5, 2*time.Second, 15*time.Minute, time.Hour, now),
		known:   newKnown(30*24*time.Hour, now),
		hashing: make(chan struct{}, max(2, runtime.NumCPU())),
	}
}

// Principal is the authenticated caller of a request.
type Principal struct {
	User      store.User
	ViaToken  bool             // API token rather than a browser session
	Scope     store.TokenScope // the token's scope; "" for a browser session
	SessionID string           // hash of the session cookie, for sign-out
}

// IsAdmin reports whether the caller manages the workspace.
func (p Principal) IsAdmin() bool { return p.User.Role == store.RoleAdmin }

// IsOperator reports whether the caller runs the instance (sees the job
// queue every workspace shares).
func (p Principal) IsOperator() bool { return p.User.Operator }

// Permit says whether the caller's credential allows a request of this
// method: a read-scoped token answers GET and HEAD only. What the user's
// role allows is checked separately, per route.
func (p Principal) Permit(method string) error {
	if p.ViaToken && p.Scope == store.ScopeRead && method != http.MethodGet && method != http.MethodHead {
		return delivery.Errorf(delivery.KindForbidden, "this API token has the read scope: it may only GET, not %s", method).
			WithHint("use a token with the admin scope (create one at /settings/tokens or with pandev token create --scope admin)")
	}
	return nil
}

// WorkspaceID is the tenant every query of this caller is scoped to.
func (p Principal) WorkspaceID() string { return p.User.WorkspaceID }

type principalKey struct{}

// WithPrincipal stores the caller in ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, if the request was authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// CreateUser creates a user in the named workspace (created if missing).
func (s *Service) CreateUser(ctx context.Context, email, password, workspace string, role store.Role) (store.User, error) {
	email = store.NormalizeEmail(email)
	if !strings.Contains(email, "@") || strings.ContainsAny(email, " \t\r\n") {
		return store.User{}, delivery.Errorf(delivery.KindInvalid, "%q is not an email address", email).
			WithHint("pass --email with an address such as admin@example.com")
	}
	if len(password) < MinPasswordLength {
		return store.User{}, delivery.Errorf(delivery.KindInvalid, "the password is shorter than %d characters", MinPasswordLength).
			WithHint("choose a longer password, e.g. a passphrase of four words")
	}
	if workspace = strings.TrimSpace(workspace); workspace == "" {
		workspace = DefaultWorkspace
	}
	if role != store.RoleAdmin && role != store.RoleMember {
		return store.User{}, delivery.Errorf(delivery.KindInvalid, "unknown role %q", role).WithHint("use admin or member")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	var u store.User
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ws, err := tx.EnsureWorkspace(ctx, workspace, s.now())
		if err != nil {
			return err
		}
		u, err = tx.CreateUser(ctx, store.User{WorkspaceID: ws.ID, Email: email, PasswordHash: hash, Role: role, CreatedAt: s.now()})
		return err
	})
	if delivery.KindOf(err) == delivery.KindConflict {
		return u, delivery.Errorf(delivery.KindConflict, "a user with email %s already exists", email).
			WithHint("sign in with that account, or choose another email")
	}
	return u, err
}

// ErrBadLogin is the one answer to a wrong email or a wrong password: it
// does not say which.
var ErrBadLogin = &delivery.Error{Kind: delivery.KindUnauthorized, Message: "wrong email or password",
	Hint: "check both and try again"}

// ErrDisabled answers a sign-in with the right password to a disabled
// account.
var ErrDisabled = &delivery.Error{Kind: delivery.KindUnauthorized, Message: "this account is disabled",
	Hint: "ask an admin of your workspace to enable it again"}

// Login checks a password and opens a session; it returns the cookie value.
// clientKey identifies the client (its address) for the rate limit.
func (s *Service) Login(ctx context.Context, email, password, clientKey string) (string, store.User, error) {
	email = store.NormalizeEmail(email)
	// Each attempt is counted before the password is checked, so a burst
	// of concurrent guesses gets no more checks than the limits allow:
	// per address; per account and address (growing delays); and per
	// account across addresses it never signed in from, so guesses spread
	// over many addresses stay bounded while a stranger cannot lock the
	// owner out of the place they usually sign in from.
	lane := email + "\x00" + clientKey
	if ok, until := s.byIP.take(clientKey); !ok {
		return "", store.User{}, tooMany("too many failed sign-ins from your address", until, s.now())
	}
	if ok, until := s.byLane.take(lane); !ok {
		s.byIP.forgive(clientKey)
		return "", store.User{}, tooMany("too many failed sign-ins to this account from your address", until, s.now())
	}
	viaAccount := !s.known.has(lane)
	if viaAccount {
		if ok, until := s.byEmail.take(email); !ok {
			s.byIP.forgive(clientKey)
			s.byLane.forgive(lane)
			return "", store.User{}, tooMany("too many failed sign-ins to this account from new addresses", until, s.now())
		}
	}
	forgive := func() {
		s.byIP.forgive(clientKey)
		s.byLane.forgive(lane)
		if viaAccount {
			s.byEmail.forgive(email)
		}
	}
	// At most a few checks at once; the others wait briefly, then are
	// told to come back.
	wait := time.NewTimer(hashWait)
	defer wait.Stop()
	select {
	case s.hashing <- struct{}{}:
		defer func() { <-s.hashing }()
	case <-wait.C:
		forgive()
		return "", store.User{}, delivery.Errorf(delivery.KindRateLimited, "the server is busy checking other sign-ins").
			WithHint("try again in a few seconds").WithRetryAfter(time.Second)
	case <-ctx.Done():
		return "", store.User{}, ctx.Err()
	}
	u, err := s.db.GetUserByEmail(ctx, email)
	hash := u.PasswordHash
	if err != nil {
		if !delivery.IsNotFound(err) {
			return "", u, err
		}
		hash = dummyHash
	}
	ok, herr := checkPassword(hash, password)
	if err != nil || herr != nil || !ok {
		return "", store.User{}, ErrBadLogin // the reserved attempts stay counted
	}
	// Only someone who knows the password learns the account is disabled;
	// the attempt stays counted, as a wrong one.
	if u.Disabled() {
		return "", store.User{}, ErrDisabled
	}
	forgive()
	s.byLane.reset(lane)
	s.known.add(lane)
	raw := secret.Random(32).Reveal()
	now := s.now()
	if err := s.db.CreateSession(ctx, store.Session{TokenHash: hashToken(raw), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(SessionTTL), LastSeenAt: now}); err != nil {
		return "", u, err
	}
	if err := s.db.RecordLogin(ctx, u.ID, now); err != nil {
		s.logger.Warn("record sign-in", "err", err)
	}
	return raw, u, nil
}

// tooMany is the answer once a client or an account used up its attempts.
func tooMany(what string, until, now time.Time) error {
	return delivery.Errorf(delivery.KindRateLimited, "%s", what).
		WithHint(fmt.Sprintf("wait until %s and try again", until.UTC().Format(time.RFC3339))).
		WithRetryAfter(until.Sub(now))
}

// Logout ends the session with the given hash.
func (s *Service) Logout(ctx context.Context, sessionHash string) error {
	return s.db.DeleteSession(ctx, sessionHash)
}

// CreateToken creates an API token with the defaults (admin scope, expiring
// in DefaultTokenDays) and returns it; only its hash is stored, so it is
// shown once.
func (s *Service) CreateToken(ctx context.Context, userID, name string) (secret.Value, store.APIToken, error) {
	return s.CreateTokenWith(ctx, userID, TokenRequest{Name: name})
}

// DefaultTokenDays is how long a token lives unless asked otherwise;
// MaxTokenDays is the longest it may. No new token lives forever.
const (
	DefaultTokenDays = 90
	MaxTokenDays     = 365
)

// TokenRequest is what a new token should be. At most one of ExpiresInDays
// and ExpiresAt is set; neither means DefaultTokenDays. Scope "" is admin.
type TokenRequest struct {
	Name          string
	ExpiresInDays int
	ExpiresAt     *time.Time
	Scope         store.TokenScope
}

// CreateTokenWith creates an API token as asked and returns it once.
func (s *Service) CreateTokenWith(ctx context.Context, userID string, req TokenRequest) (secret.Value, store.APIToken, error) {
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 100 {
		return secret.Value{}, store.APIToken{}, delivery.Errorf(delivery.KindInvalid, "a token needs a name of 1 to 100 characters").
			WithHint("name it after where it is used, e.g. ci or grafana")
	}
	scope := req.Scope
	if scope == "" {
		scope = store.ScopeAdmin
	}
	if scope != store.ScopeRead && scope != store.ScopeAdmin {
		return secret.Value{}, store.APIToken{}, delivery.Errorf(delivery.KindInvalid, "unknown token scope %q", scope).
			WithHint("use read (GET only) or admin (whatever your role allows)")
	}
	now := s.now()
	var expires time.Time
	switch {
	case req.ExpiresInDays != 0 && req.ExpiresAt != nil:
		return secret.Value{}, store.APIToken{}, delivery.Errorf(delivery.KindInvalid, "give expires_in_days or expires_at, not both").
			WithHint("drop one of the two")
	case req.ExpiresAt != nil:
		expires = req.ExpiresAt.UTC()
		if !expires.After(now) {
			return secret.Value{}, store.APIToken{}, delivery.Errorf(delivery.KindInvalid, "expires_at %s is in the past", expires.Format(time.RFC3339)).
				WithHint("give a future time, at most 365 days ahead")
		}
	case req.ExpiresInDays < 0:
		return secret.Value{}, store.APIToken{}, delivery.Errorf(delivery.KindInvalid, "expires_in_days must be 1 to %d, not %d", MaxTokenDays, req.ExpiresInDays).
			WithHint("tokens cannot be made to never expire: pick a lifetime and make a new token before it ends")
	case req.ExpiresInDays > 0:
		expires = now.AddDate(0, 0, req.ExpiresInDays)
	default:
		expires = now.AddDate(0, 0, DefaultTokenDays)
	}
	if expires.After(now.AddDate(0, 0, MaxTokenDays)) {
		return secret.Value{}, store.APIToken{}, delivery.Errorf(delivery.KindInvalid, "a token may live at most %d days", MaxTokenDays).
			WithHint("choose a shorter lifetime and make a new token before it ends")
	}
	raw := secret.New(tokenPrefix + secret.Random(32).Reveal())
	t, err := s.db.CreateAPIToken(ctx, store.APIToken{UserID: userID, Name: name, TokenHash: hashToken(raw.Reveal()), CreatedAt: now,
		ExpiresAt: &expires, Scope: scope})
	if delivery.KindOf(err) == delivery.KindConflict {
		return secret.Value{}, t, delivery.Errorf(delivery.KindConflict, "you already have a token named %q", name).
			WithHint("choose another name, or revoke the old token first")
	}
	return raw, t, err
}

// Authenticate finds the caller of r: a bearer token, else a session
// cookie. It returns KindUnauthorized when neither is valid.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, raw, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
			return Principal{}, delivery.Errorf(delivery.KindUnauthorized, "unsupported Authorization header").
				WithHint("send Authorization: Bearer <token>, with a token from `pandev token create`")
		}
		t, u, err := s.db.GetAPITokenUser(ctx, hashToken(strings.TrimSpace(raw)))
		if delivery.IsNotFound(err) {
			return Principal{}, delivery.Errorf(delivery.KindUnauthorized, "the API token is invalid or revoked").
				WithHint("create a new one with `pandev token create`")
		}
		if err != nil {
			return Principal{}, err
		}
		if t.Expired(s.now()) {
			return Principal{}, delivery.Errorf(delivery.KindUnauthorized, "the API token expired on %s", t.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")).
				WithHint("create a new token at /settings/tokens (or with pandev token create) and replace this one where it is used")
		}
		if u.Disabled() {
			return Principal{}, delivery.Errorf(delivery.KindUnauthorized, "the account of this API token is disabled").
				WithHint("ask an admin of your workspace to enable the account again")
		}
		if t.LastUsedAt == nil || s.now().Sub(*t.LastUsedAt) > time.Minute { // bound writes on hot tokens
			if err := s.db.TouchAPIToken(ctx, t.ID, s.now()); err != nil {
				s.logger.Warn("record token use", "err", err)
			}
		}
		return Principal{User: u, ViaToken: true, Scope: t.Scope}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return Principal{}, delivery.Errorf(delivery.KindUnauthorized, "not signed in").WithHint("sign in at /login")
	}
	h := hashToken(c.Value)
	sess, u, err := s.db.GetSession(ctx, h, s.now())
	if delivery.IsNotFound(err) {
		return Principal{}, delivery.Errorf(delivery.KindUnauthorized, "your session has expired").WithHint("sign in again at /login")
	}
	if err != nil {
		return Principal{}, err
	}
	if now := s.now(); now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.db.TouchSession(ctx, h, now, now.Add(SessionTTL)); err != nil {
			s.logger.Warn("extend session", "err", err)
		}
	}
	return Principal{User: u, SessionID: h}, nil
}

// SessionCookieFor builds the session cookie: HttpOnly, SameSite=Lax, and
// Secure whenever the server is reached over https.
func SessionCookieFor(value string, secure bool) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(SessionTTL / time.Second)}
}

// ClearedSessionCookie removes the session cookie from the browser.
func ClearedSessionCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1}
}

// hashToken is how session cookies and API tokens are stored: they are
// 256-bit random values, so a fast hash is enough to make a stolen database
// useless for signing in.
func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}
