package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Problem is an error the user can fix on the page, with the fix.
type Problem struct {
	Message string
	Hint    string
}

// MembersPage is Settings → Members: the workspace's users, invite, role,
// disable / enable, end sessions. Admins only.
type MembersPage struct {
	Chrome
	Members []store.Member
	Self    string // the caller's user id: their own row offers no demote or disable
	Notice  string
	Error   *Problem
	// Invite keeps what was typed when an invitation was refused.
	InviteEmail string
	InviteRole  string
}

// TokensPage is Settings → API tokens: the caller's own tokens.
type TokensPage struct {
	Chrome
	Tokens      []store.APIToken
	Now         time.Time
	Created     string // the new token's value, shown once
	CreatedName string
	Notice      string
	Error       *Problem
	DefaultDays int
	MaxDays     int
	Name        string
	Days        int
	Scope       string
}

const (
	membersPath = "/settings/members"
	tokensPath  = "/settings/tokens"
)

var memberNotices = map[string]string{
	"invited":  "Account created. Give the person the initial password; they sign in at /login.",
	"role":     "Role changed.",
	"disabled": "User disabled: their sessions ended and their API tokens no longer work.",
	"enabled":  "User enabled again: they can sign in, and their unexpired API tokens work again.",
	"sessions": "Sessions ended: the user is signed out everywhere.",
}

// Members renders the Members screen.
func (h *Pages) Members(w http.ResponseWriter, r *http.Request) error {
	return h.renderMembers(w, r, http.StatusOK, MembersPage{Notice: memberNotices[r.URL.Query().Get("saved")], InviteRole: string(store.RoleMember)})
}

func (h *Pages) renderMembers(w http.ResponseWriter, r *http.Request, status int, data MembersPage) error {
	p, _ := auth.FromContext(r.Context())
	ms, err := h.DB.ListMembers(r.Context(), p.WorkspaceID(), time.Now())
	if err != nil {
		return err
	}
	data.Chrome, data.Members, data.Self = chrome("Members", p), ms, p.User.ID
	return render(w, status, "members.html", data)
}

// problemOf turns an error the user can fix into a Problem and its status;
// ok is false for anything else (the server's error handling takes it).
func problemOf(err error) (*Problem, int, bool) {
	var de *delivery.Error
	if !errors.As(err, &de) {
		return nil, 0, false
	}
	switch de.Kind {
	case delivery.KindInvalid:
		return &Problem{Message: de.Message, Hint: de.Hint}, http.StatusBadRequest, true
	case delivery.KindConflict, delivery.KindPrecondition:
		return &Problem{Message: de.Message, Hint: de.Hint}, http.StatusConflict, true
	}
	return nil, 0, false
}

// InviteMember creates an account in the admin's workspace.
func (h *Pages) InviteMember(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	email, role := r.PostFormValue("email"), r.PostFormValue("role")
	_, err := h.Auth.Invite(r.Context(), p, email, r.PostFormValue("password"), store.Role(role))
	if prob, status, ok := problemOf(err); ok {
		return h.renderMembers(w, r, status, MembersPage{Error: prob, InviteEmail: email, InviteRole: role})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, membersPath+"?saved=invited", http.StatusSeeOther)
	return nil
}

// UpdateMember changes a user's role (action=role) or disables / enables
// them (action=disable / enable).
func (h *Pages) UpdateMember(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	var c auth.MemberChange
	var saved string
	switch a := r.PostFormValue("action"); a {
	case "role":
		role := store.Role(r.PostFormValue("role"))
		c.Role, saved = &role, "role"
	case "disable", "enable":
		on := a == "disable"
		c.Disabled, saved = &on, a+"d"
	default:
		return delivery.Errorf(delivery.KindInvalid, "unknown action %q", a).WithHint("use the buttons of the Members screen")
	}
	_, err := h.Auth.UpdateMember(r.Context(), p, r.PathValue("id"), c)
	if prob, status, ok := problemOf(err); ok {
		return h.renderMembers(w, r, status, MembersPage{Error: prob, InviteRole: string(store.RoleMember)})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, membersPath+"?saved="+saved, http.StatusSeeOther)
	return nil
}

// EndMemberSessions signs a user out everywhere.
func (h *Pages) EndMemberSessions(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	if _, err := h.Auth.EndSessions(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	if r.PathValue("id") == p.User.ID {
		http.Redirect(w, r, "/login", http.StatusSeeOther) // that was this session too
		return nil
	}
	http.Redirect(w, r, membersPath+"?saved=sessions", http.StatusSeeOther)
	return nil
}

var tokenNotices = map[string]string{"revoked": "Token revoked: it no longer works."}

// Tokens renders the caller's API tokens.
func (h *Pages) Tokens(w http.ResponseWriter, r *http.Request) error {
	return h.renderTokens(w, r, http.StatusOK, TokensPage{Notice: tokenNotices[r.URL.Query().Get("saved")]})
}

func (h *Pages) renderTokens(w http.ResponseWriter, r *http.Request, status int, data TokensPage) error {
	p, _ := auth.FromContext(r.Context())
	ts, err := h.DB.ListAPITokens(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	data.Chrome, data.Tokens, data.Now = chrome("API tokens", p), ts, time.Now()
	data.DefaultDays, data.MaxDays = auth.DefaultTokenDays, auth.MaxTokenDays
	if data.Days == 0 {
		data.Days = auth.DefaultTokenDays
	}
	if data.Scope == "" {
		data.Scope = string(store.ScopeRead)
	}
	if data.Created != "" {
		w.Header().Set("Cache-Control", "no-store") // the token's value is on this page
	}
	return render(w, status, "tokens.html", data)
}

// CreateToken makes a token of the caller and shows its value once.
func (h *Pages) CreateToken(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	if p.ViaToken { // as POST /api/v1/tokens: a leaked token must not make more of itself
		return delivery.Errorf(delivery.KindForbidden, "an API token cannot create API tokens").
			WithHint("create tokens signed in to PanDev Metrics, or with pandev token create on the server")
	}
	name, scope := r.PostFormValue("name"), r.PostFormValue("scope")
	days, err := strconv.Atoi(r.PostFormValue("expires_in_days"))
	if err != nil || days <= 0 {
		return h.renderTokens(w, r, http.StatusBadRequest, TokensPage{Name: name, Scope: scope, Days: auth.DefaultTokenDays,
			Error: &Problem{Message: "the lifetime must be a number of days", Hint: "choose 1 to 365 days"}})
	}
	v, t, err := h.Auth.CreateTokenWith(r.Context(), p.User.ID, auth.TokenRequest{Name: name, ExpiresInDays: days, Scope: store.TokenScope(scope)})
	if prob, status, ok := problemOf(err); ok {
		return h.renderTokens(w, r, status, TokensPage{Error: prob, Name: name, Scope: scope, Days: days})
	}
	if err != nil {
		return err
	}
	return h.renderTokens(w, r, http.StatusCreated, TokensPage{Created: v.Reveal(), CreatedName: t.Name})
}

// RevokeToken deletes one of the caller's tokens.
func (h *Pages) RevokeToken(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	if err := h.DB.DeleteAPIToken(r.Context(), p.User.ID, r.PathValue("id")); err != nil {
		if delivery.IsNotFound(err) {
			return delivery.Errorf(delivery.KindNotFound, "you have no such API token").
				WithHint("it may have been revoked already; see " + tokensPath)
		}
		return err
	}
	http.Redirect(w, r, tokensPath+"?saved=revoked", http.StatusSeeOther)
	return nil
}
