// Package api holds the JSON handlers under /api/v1. Handlers return
// errors; the server maps them to statuses and the error body in one place.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/prcomment"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Handlers holds what the API handlers need.
type Handlers struct {
	DB           *store.DB
	Auth         *auth.Service
	Integrations Integrations
	// GitHub is the GitHub connection (nil: answered as not available).
	GitHub   Connection
	Comments *prcomment.Service
}

// decode reads a JSON body into v, refusing unknown fields and trailing data.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body) // the server bounds the body's size
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return delivery.Errorf(delivery.KindInvalid, "the request body is empty").WithHint("send a JSON object")
		case errors.As(err, &syn):
			return delivery.Errorf(delivery.KindInvalid, "the body is not valid JSON (at byte %d)", syn.Offset).WithHint("send a JSON object")
		case errors.As(err, &typ):
			return delivery.Errorf(delivery.KindInvalid, "field %q must be a %s", typ.Field, typ.Type).WithHint("fix the field's type")
		default:
			return delivery.Errorf(delivery.KindInvalid, "the body could not be read: %v", err).WithHint("check the field names in the API reference")
		}
	}
	if dec.More() {
		return delivery.Errorf(delivery.KindInvalid, "the body has data after the JSON object").WithHint("send exactly one JSON object")
	}
	return nil
}

// write answers with v as JSON.
func write(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// Me describes the caller.
type Me struct {
	Email       string `json:"email"`
	Role        string `json:"role"`
	WorkspaceID string `json:"workspace_id"`
	Workspace   string `json:"workspace"`
}

// GetMe answers GET /api/v1/me.
func (h *Handlers) GetMe(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	ws, err := h.DB.GetWorkspace(r.Context(), p.WorkspaceID())
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, Me{Email: p.User.Email, Role: string(p.User.Role), WorkspaceID: ws.ID, Workspace: ws.Name})
}

// Token is an API token as listed (never its value). ExpiresAt is null
// only for a token made before tokens expired.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Expired    bool       `json:"expired"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func tokenOf(t store.APIToken, now time.Time) Token {
	return Token{ID: t.ID, Name: t.Name, Scope: string(t.Scope), CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		Expired: t.Expired(now), LastUsedAt: t.LastUsedAt}
}

// CreatedToken is the answer to creating a token: the value, shown once.
type CreatedToken struct {
	Token
	Value string `json:"token"`
}

// ListTokens answers GET /api/v1/tokens.
func (h *Handlers) ListTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.DB.ListAPITokens(r.Context(), principal(r).User.ID)
	if err != nil {
		return err
	}
	out := make([]Token, 0, len(ts))
	now := time.Now()
	for _, t := range ts {
		out = append(out, tokenOf(t, now))
	}
	return write(w, http.StatusOK, map[string]any{"tokens": out})
}

// CreateToken answers POST /api/v1/tokens {"name": "…", "expires_in_days"
// or "expires_at", "scope"}: without them the token is admin-scoped and
// expires in auth.DefaultTokenDays.
func (h *Handlers) CreateToken(w http.ResponseWriter, r *http.Request) error {
	// A leaked token must not be able to make more of itself (a new one
	// would survive revoking the leaked one).
	if principal(r).ViaToken {
		return delivery.Errorf(delivery.KindForbidden, "an API token cannot create API tokens").
			WithHint("create tokens signed in to PanDev Metrics, or with pandev token create on the server")
	}
	var req struct {
		Name          string     `json:"name"`
		ExpiresInDays int        `json:"expires_in_days"`
		ExpiresAt     *time.Time `json:"expires_at"`
		Scope         string     `json:"scope"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	v, t, err := h.Auth.CreateTokenWith(r.Context(), principal(r).User.ID, auth.TokenRequest{Name: req.Name,
		ExpiresInDays: req.ExpiresInDays, ExpiresAt: req.ExpiresAt, Scope: store.TokenScope(req.Scope)})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return write(w, http.StatusCreated, CreatedToken{Token: tokenOf(t, t.CreatedAt), Value: v.Reveal()})
}

// DeleteToken answers DELETE /api/v1/tokens/{id}.
func (h *Handlers) DeleteToken(w http.ResponseWriter, r *http.Request) error {
	if err := h.DB.DeleteAPIToken(r.Context(), principal(r).User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// NotFound answers API paths that match no route, in the API's error shape.
func NotFound(w http.ResponseWriter, r *http.Request) error {
	return delivery.Errorf(delivery.KindNotFound, "no API endpoint %s %s", r.Method, r.URL.Path).
		WithHint(fmt.Sprintf("see %s for the endpoints", OpenAPIPath))
}
