package integration

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

// ChangeOrgURL points the integration at another URL of the same
// organization — the manual's fix for a Server URL without its collection,
// or a renamed host. The URL is checked like Check connection (with the
// stored token, or a new one given with it); it must reach the same
// organization: at least one of the projects already known must be there
// (another organization is connected after Disconnect). Hooks stay (they
// deliver to this server, not to the URL) and a reconciliation catches up.
func (s *Service) ChangeOrgURL(ctx context.Context, workspaceID, orgURL, token string) (Status, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Status{}, err
	}
	if strings.TrimSpace(token) == "" {
		pat, err := s.opts.Keys.Open(in.TokenSealed, store.TokenSealContext(in.ID))
		if err != nil {
			return Status{}, delivery.Errorf(delivery.KindInternal, "the stored token cannot be opened").Wrap(err)
		}
		token = pat.Reveal()
	}
	res, err := s.Check(ctx, orgURL, token)
	if err != nil {
		return Status{}, err
	}
	if !res.OK {
		p := res.Problems[0]
		return Status{}, &delivery.Error{Kind: delivery.KindInvalid, Message: p.Message, Hint: p.Hint}
	}
	if res.OrgURL == in.OrgURL {
		return s.Status(ctx, workspaceID) // nothing to change
	}
	known, err := s.opts.DB.ListProjects(ctx, key(in), false)
	if err != nil {
		return Status{}, err
	}
	seen := map[string]bool{}
	for _, p := range res.projects {
		seen[p.ID] = true
	}
	same := len(known) == 0
	for _, p := range known {
		same = same || seen[p.ProjectID]
	}
	if !same {
		return Status{}, delivery.Errorf(delivery.KindConflict, "%s is another organization: none of the %d projects collected so far is there", res.OrgURL, len(known)).
			WithHint("to connect another organization, Disconnect this one (keep or delete its data) and connect the new one")
	}
	dep, _ := json.Marshal(res.deployment)
	err = s.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateIntegrationOrgURL(ctx, workspaceID, in.ID, res.OrgURL, string(dep), res.deployment.Release, s.opts.Now()); err != nil {
			return err
		}
		pat := secret.New(strings.TrimSpace(token))
		sealed, err := s.opts.Keys.Seal(pat, store.TokenSealContext(in.ID))
		if err != nil {
			return err
		}
		if err := tx.UpdateIntegrationToken(ctx, workspaceID, in.ID, store.TokenUpdate{Sealed: sealed, Hint: pat.Hint(),
			Account: res.account, AccountID: res.accountID, Scopes: res.scopeStates()}, s.opts.Now()); err != nil {
			return err
		}
		for _, p := range res.projects {
			if err := tx.UpsertProject(ctx, projectRow(key(in), p)); err != nil {
				return err
			}
		}
		if s.opts.StartReconcile != nil {
			return s.opts.StartReconcile(ctx, tx, in.ID)
		}
		return nil
	})
	if delivery.KindOf(err) == delivery.KindConflict {
		return Status{}, delivery.Errorf(delivery.KindConflict, "this workspace already has an integration at %s", res.OrgURL).
			WithHint("use that one, or Disconnect it first")
	}
	if err != nil {
		return Status{}, err
	}
	s.mu.Lock()
	delete(s.clients, in.ID)
	s.mu.Unlock()
	s.opts.Logger.Info("Azure DevOps Organization URL changed", "workspace", workspaceID, "from", in.OrgURL, "to", res.OrgURL)
	return s.Status(ctx, workspaceID)
}
