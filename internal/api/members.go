package api

import (
	"net/http"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Member is a user of the workspace as an admin sees it.
type Member struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	Role        string     `json:"role"`
	Disabled    bool       `json:"disabled"`
	DisabledAt  *time.Time `json:"disabled_at"`
	Operator    bool       `json:"operator"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
	Sessions    int        `json:"sessions"`
	Tokens      int        `json:"tokens"`
}

func memberOf(m store.Member) Member {
	return Member{ID: m.ID, Email: m.Email, Role: string(m.Role), Disabled: m.Disabled(), DisabledAt: m.DisabledAt,
		Operator: m.Operator, CreatedAt: m.CreatedAt, LastLoginAt: m.LastLoginAt, Sessions: m.Sessions, Tokens: m.Tokens}
}

// ListMembers answers GET /api/v1/members: the users of the caller's workspace.
func (h *Handlers) ListMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := h.DB.ListMembers(r.Context(), principal(r).WorkspaceID(), time.Now())
	if err != nil {
		return err
	}
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, memberOf(m))
	}
	return write(w, http.StatusOK, map[string]any{"members": out})
}

// CreateMember answers POST /api/v1/members {"email", "password", "role"}:
// an account in the caller's workspace with an initial password.
func (h *Handlers) CreateMember(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = string(store.RoleMember)
	}
	u, err := h.Auth.Invite(r.Context(), principal(r), req.Email, req.Password, store.Role(req.Role))
	if err != nil {
		return err
	}
	return write(w, http.StatusCreated, memberOf(store.Member{User: u}))
}

// PatchMember answers PATCH /api/v1/members/{id} {"role", "disabled"}.
func (h *Handlers) PatchMember(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Role     *string `json:"role"`
		Disabled *bool   `json:"disabled"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	var c auth.MemberChange
	if req.Role != nil {
		role := store.Role(*req.Role)
		c.Role = &role
	}
	c.Disabled = req.Disabled
	if _, err := h.Auth.UpdateMember(r.Context(), principal(r), r.PathValue("id"), c); err != nil {
		return err
	}
	return h.member(w, r, r.PathValue("id"))
}

// member answers with the current listing of one member.
func (h *Handlers) member(w http.ResponseWriter, r *http.Request, id string) error {
	ms, err := h.DB.ListMembers(r.Context(), principal(r).WorkspaceID(), time.Now())
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.ID == id {
			return write(w, http.StatusOK, memberOf(m))
		}
	}
	return delivery.Errorf(delivery.KindNotFound, "there is no user %q in this workspace", id).
		WithHint("list the workspace's users with GET /api/v1/members")
}

// EndMemberSessions answers DELETE /api/v1/members/{id}/sessions: the user
// is signed out everywhere (API tokens are not sessions: they stay).
func (h *Handlers) EndMemberSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := h.Auth.EndSessions(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, map[string]any{"ended": n})
}
