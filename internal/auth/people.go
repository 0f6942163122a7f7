package auth

import (
	"context"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// CreateAdmin is `pandev admin create`: CreateUser, and the user is made
// the instance operator when asked, or when it is the first user of a
// fresh install (someone must be able to see the shared job queue).
func (s *Service) CreateAdmin(ctx context.Context, email, password, workspace string, role store.Role, operator bool) (store.User, error) {
	n, err := s.db.CountOperators(ctx)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.CreateUser(ctx, email, password, workspace, role)
	if err != nil {
		return u, err
	}
	if operator || n == 0 && role == store.RoleAdmin { // the first admin runs the server
		if err := s.db.SetUserOperator(ctx, u.ID, true); err != nil {
			return u, err
		}
		u.Operator = true
	}
	return u, nil
}

// SetOperator grants (on) or revokes the instance operator flag of the
// user with that email.
func (s *Service) SetOperator(ctx context.Context, email string, on bool) (store.User, error) {
	u, err := s.db.GetUserByEmail(ctx, email)
	if delivery.IsNotFound(err) {
		return u, delivery.Errorf(delivery.KindNotFound, "no user with email %s", store.NormalizeEmail(email)).
			WithHint("create one with pandev admin create")
	}
	if err != nil {
		return u, err
	}
	if err := s.db.SetUserOperator(ctx, u.ID, on); err != nil {
		return u, err
	}
	u.Operator = on
	return u, nil
}

// Invite creates an account in the caller's workspace (an admin adding
// someone on the Members screen); the new user signs in with the initial
// password.
func (s *Service) Invite(ctx context.Context, by Principal, email, password string, role store.Role) (store.User, error) {
	ws, err := s.db.GetWorkspace(ctx, by.WorkspaceID())
	if err != nil {
		return store.User{}, err
	}
	u, err := s.CreateUser(ctx, email, password, ws.Name, role)
	if delivery.KindOf(err) == delivery.KindConflict {
		// The email may belong to another workspace: say no more than that it is taken.
		return u, delivery.Errorf(delivery.KindConflict, "the email %s is already in use", store.NormalizeEmail(email)).
			WithHint("each person has one account on this server: use another address")
	}
	return u, err
}

// MemberChange is what an admin changes about a user; nil fields stay.
type MemberChange struct {
	Role     *store.Role
	Disabled *bool
}

// UpdateMember applies an admin's change to a user of the same workspace.
// An admin cannot demote or disable themself, and a workspace keeps at
// least one active admin. Disabling ends the user's sessions; its API
// tokens stop authenticating while it is disabled.
func (s *Service) UpdateMember(ctx context.Context, by Principal, userID string, c MemberChange) (store.User, error) {
	if c.Role != nil && *c.Role != store.RoleAdmin && *c.Role != store.RoleMember {
		return store.User{}, delivery.Errorf(delivery.KindInvalid, "unknown role %q", *c.Role).WithHint("use admin or member")
	}
	if userID == by.User.ID {
		if c.Role != nil && *c.Role != store.RoleAdmin {
			return store.User{}, delivery.Errorf(delivery.KindInvalid, "you cannot remove your own admin role").
				WithHint("ask another admin of the workspace to do it")
		}
		if c.Disabled != nil && *c.Disabled {
			return store.User{}, delivery.Errorf(delivery.KindInvalid, "you cannot disable your own account").
				WithHint("ask another admin of the workspace to do it")
		}
	}
	ws := by.WorkspaceID()
	var u store.User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockWorkspace(ctx, ws); err != nil {
			return err
		}
		var err error
		if u, err = tx.GetWorkspaceUser(ctx, ws, userID); err != nil {
			return err
		}
		stillAdmin := (c.Role == nil || *c.Role == store.RoleAdmin) && (c.Disabled == nil || !*c.Disabled)
		if u.Role == store.RoleAdmin && !u.Disabled() && !stillAdmin {
			n, err := tx.CountActiveAdmins(ctx, ws, u.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return delivery.Errorf(delivery.KindConflict, "%s is the last active admin of this workspace", u.Email).
					WithHint("make another member an admin first, then change this one")
			}
		}
		if c.Role != nil && *c.Role != u.Role {
			if err := tx.SetUserRole(ctx, ws, u.ID, *c.Role); err != nil {
				return err
			}
			u.Role = *c.Role
		}
		if c.Disabled != nil {
			if *c.Disabled {
				now := s.now()
				if err := tx.SetUserDisabled(ctx, ws, u.ID, &now); err != nil {
					return err
				}
				if err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
					return err
				}
				if u.DisabledAt == nil {
					u.DisabledAt = &now
				}
			} else {
				if err := tx.SetUserDisabled(ctx, ws, u.ID, nil); err != nil {
					return err
				}
				u.DisabledAt = nil
			}
		}
		return nil
	})
	if delivery.IsNotFound(err) {
		return u, noMember(userID)
	}
	return u, err
}

// EndSessions signs a user of the caller's workspace out everywhere and
// says how many sessions ended.
func (s *Service) EndSessions(ctx context.Context, by Principal, userID string) (int64, error) {
	n, err := s.db.EndMemberSessions(ctx, by.WorkspaceID(), userID)
	if delivery.IsNotFound(err) {
		return 0, noMember(userID)
	}
	return n, err
}

func noMember(id string) error {
	return delivery.Errorf(delivery.KindNotFound, "there is no user %q in this workspace", id).
		WithHint("list the workspace's users with GET /api/v1/members or on /settings/members")
}
