package integration

import (
	"context"
	"encoding/json"

	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

// LimitedError is Activate's answer for a token that lacks a scope of the
// manual's Step 1 when the caller did not confirm: the check, to show.
type LimitedError struct {
	Check CheckResult
	Err   *delivery.Error // KindPrecondition: what is missing, how to go on
}

func (e *LimitedError) Error() string { return e.Err.Error() }
func (e *LimitedError) Unwrap() error { return e.Err }

// Activate checks again and creates the integration: the PAT sealed, a
// fresh webhook secret, the projects the PAT sees (none selected yet). One
// Azure DevOps integration per workspace. A token that lacks a scope of the
// manual's Step 1 is activated only when confirmLimited is set (the screen
// asks); otherwise the answer is a *LimitedError naming what is missing.
func (s *Service) Activate(ctx context.Context, workspaceID, orgURL, token string, confirmLimited bool) (Status, error) {
	existing, err := s.anyForWorkspace(ctx, workspaceID)
	if err == nil && existing.DisconnectedAt == nil {
		return Status{}, delivery.Errorf(delivery.KindConflict, "Azure DevOps is already connected").
			WithHint("to change the token use Advanced → Update token; projects are picked on the integration screen")
	} else if err != nil && !delivery.IsNotFound(err) {
		return Status{}, err
	}
	res, err := s.Check(ctx, orgURL, token)
	if err != nil {
		return Status{}, err
	}
	if !res.OK {
		p := res.Problems[0]
		return Status{}, (&delivery.Error{Kind: delivery.KindInvalid, Message: p.Message, Hint: p.Hint})
	}
	if res.Level == "limited" && !confirmLimited {
		var missing []string
		for _, sc := range res.Scopes {
			if sc.Required && !sc.OK {
				missing = append(missing, sc.Label)
			}
		}
		return Status{}, &LimitedError{Check: res, Err: &delivery.Error{Kind: delivery.KindPrecondition,
			Message: "The token lacks " + strings.Join(missing, ", ") + ": activating it leaves that out of the figures",
			Hint:    "Create the PAT with the four scopes of Step 1, or confirm to activate anyway (confirm_limited) and use Update token later"}}
	}
	if existing.DisconnectedAt != nil {
		return s.reconnect(ctx, existing, res, token)
	}
	pat := secret.New(strings.TrimSpace(token))
	id := store.NewID()
	tokenSealed, err := s.opts.Keys.Seal(pat, store.TokenSealContext(id))
	if err != nil {
		return Status{}, err
	}
	secretSealed, err := s.opts.Keys.Seal(secret.Random(32), store.WebhookSecretSealContext(id))
	if err != nil {
		return Status{}, err
	}
	dep, _ := json.Marshal(res.deployment)
	now := s.opts.Now()
	in := store.Integration{ID: id, WorkspaceID: workspaceID, Provider: Provider, OrgURL: res.OrgURL,
		Deployment: string(dep), ServerVersion: res.deployment.Release, TokenSealed: tokenSealed, TokenHint: pat.Hint(),
		WebhookSecretSealed: secretSealed, Settings: "{}", Account: res.account, AccountID: res.accountID, Scopes: res.scopeStates(),
		CreatedAt: now, UpdatedAt: now}
	err = s.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateIntegration(ctx, in); err != nil {
			return err
		}
		for _, p := range res.projects {
			if err := tx.UpsertProject(ctx, projectRow(key(in), p)); err != nil {
				return err
			}
		}
		return nil
	})
	if delivery.KindOf(err) == delivery.KindConflict {
		return Status{}, delivery.Errorf(delivery.KindConflict, "Azure DevOps is already connected").
			WithHint("to change the token use Advanced → Update token")
	}
	if err != nil {
		return Status{}, err
	}
	s.opts.Logger.Info("Azure DevOps activated", "workspace", workspaceID, "org", res.OrgURL, "deployment", res.Deployment,
		"projects", len(res.projects))
	return s.Status(ctx, workspaceID)
}

// reconnect resumes an integration disconnected with its data kept: the
// same organization only (the kept data is of it). Its selected projects
// get their hooks again and a reconciliation collects what changed while
// it was disconnected.
func (s *Service) reconnect(ctx context.Context, in store.Integration, res CheckResult, token string) (Status, error) {
	if res.OrgURL != in.OrgURL {
		return Status{}, delivery.Errorf(delivery.KindConflict, "the data of %s is kept from an earlier connection", in.OrgURL).
			WithHint("connect " + in.OrgURL + " again, or delete the kept data first (Disconnect → delete the data)")
	}
	pat := secret.New(strings.TrimSpace(token))
	sealed, err := s.opts.Keys.Seal(pat, store.TokenSealContext(in.ID))
	if err != nil {
		return Status{}, err
	}
	err = s.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ReconnectIntegration(ctx, in.WorkspaceID, in.ID, store.TokenUpdate{Sealed: sealed, Hint: pat.Hint(),
			Account: res.account, AccountID: res.accountID, Scopes: res.scopeStates()}, s.opts.Now()); err != nil {
			return err
		}
		for _, p := range res.projects {
			if err := tx.UpsertProject(ctx, projectRow(key(in), p)); err != nil {
				return err
			}
		}
		selected, err := tx.ListProjects(ctx, key(in), true)
		if err != nil {
			return err
		}
		for _, p := range selected {
			if s.opts.Queue != nil {
				if err := s.opts.Queue.InsertTx(ctx, tx, RegisterHooksArgs{IntegrationID: in.ID, ProjectID: p.ProjectID}, nil); err != nil {
					return err
				}
			}
		}
		if s.opts.StartReconcile != nil {
			return s.opts.StartReconcile(ctx, tx, in.ID)
		}
		return nil
	})
	if err != nil {
		return Status{}, err
	}
	s.opts.Logger.Info("Azure DevOps connected again", "workspace", in.WorkspaceID, "org", in.OrgURL)
	return s.Status(ctx, in.WorkspaceID)
}

// UpdateToken checks a new PAT against the connected organization and
// replaces the sealed one. Hooks stay registered (they authenticate with
// the webhook secret, not the PAT) and no backfill starts.
func (s *Service) UpdateToken(ctx context.Context, workspaceID, token string) (Status, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Status{}, err
	}
	res, err := s.Check(ctx, in.OrgURL, token)
	if err != nil {
		return Status{}, err
	}
	if !res.OK {
		p := res.Problems[0]
		return Status{}, (&delivery.Error{Kind: delivery.KindInvalid, Message: p.Message, Hint: p.Hint})
	}
	pat := secret.New(strings.TrimSpace(token))
	sealed, err := s.opts.Keys.Seal(pat, store.TokenSealContext(in.ID))
	if err != nil {
		return Status{}, err
	}
	if err := s.opts.DB.UpdateIntegrationToken(ctx, workspaceID, in.ID, store.TokenUpdate{Sealed: sealed, Hint: pat.Hint(),
		Account: res.account, AccountID: res.accountID, Scopes: res.scopeStates()}, s.opts.Now()); err != nil {
		return Status{}, err
	}
	if err := s.afterNewToken(ctx, in, res); err != nil {
		return Status{}, err
	}
	s.opts.Logger.Info("Azure DevOps token updated", "workspace", workspaceID, "integration", in.ID)
	return s.Status(ctx, workspaceID)
}

// afterNewToken reads what the new token unlocks, and nothing else: the
// resources Azure DevOps refused before and whose scope the token now has
// are backfilled (in the original window), and refused service hooks are
// tried again. A rotation with the same scopes backfills nothing.
func (s *Service) afterNewToken(ctx context.Context, in store.Integration, res CheckResult) error {
	granted := map[azdo.Scope]bool{}
	for _, r := range res.Scopes {
		if r.OK {
			granted[azdo.Scope(r.Scope)] = true
		}
	}
	projects, err := s.opts.DB.ListProjects(ctx, key(in), true)
	if err != nil {
		return err
	}
	hooks, err := s.opts.DB.ListHookSubscriptions(ctx, key(in), "")
	if err != nil {
		return err
	}
	refused := map[string]bool{}
	for _, h := range hooks {
		if h.Status == store.HookUnavailable {
			refused[h.ProjectID] = true
		}
	}
	progress, err := collect.Progress(ctx, s.opts.DB, key(in), azure.Resources)
	if err != nil {
		return err
	}
	stopped := map[string]bool{} // backfills that have not finished: they waited for a working token
	for _, p := range progress {
		if p.Finished == nil && p.Started != nil {
			stopped[p.ProjectID] = true
		}
	}
	return s.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteRefusedHooks(ctx, in.ID); err != nil {
			return err
		}
		reopen, err := collect.Unblock(ctx, tx, key(in), azure.Resources, func(sc string) bool { return granted[azdo.Scope(sc)] })
		if err != nil {
			return err
		}
		again := map[string]bool{}
		for _, id := range reopen {
			again[id] = true
		}
		for _, p := range projects {
			if again[p.ProjectID] || stopped[p.ProjectID] {
				// Resume now (a snoozed job is made available), from the checkpoints.
				if err := s.startBackfill(ctx, tx, in, p.ProjectID); err != nil {
					return err
				}
			}
			if refused[p.ProjectID] && s.opts.Queue != nil {
				if err := s.opts.Queue.InsertTx(ctx, tx, RegisterHooksArgs{IntegrationID: in.ID, ProjectID: p.ProjectID}, nil); err != nil {
					return err
				}
			}
		}
		if in.ErrorMessage != "" && s.opts.StartReconcile != nil {
			// The token had stopped working: catch up now rather than at the next schedule.
			return s.opts.StartReconcile(ctx, tx, in.ID)
		}
		return nil
	})
}

// SelectProjects saves the selection: newly selected projects get their
// hooks registered and their backfill started; deselected ones get their
// hooks removed (their data stays, hidden from dashboards). Jobs are
// inserted in the transaction that saves the selection.
func (s *Service) SelectProjects(ctx context.Context, workspaceID string, selected []string) (Status, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Status{}, err
	}
	projects, err := s.opts.DB.ListProjects(ctx, key(in), false)
	if err != nil {
		return Status{}, err
	}
	known := map[string]store.Project{}
	for _, p := range projects {
		known[p.ProjectID] = p
	}
	want := map[string]bool{}
	for _, id := range selected {
		p, ok := known[id]
		if !ok {
			return Status{}, delivery.Errorf(delivery.KindInvalid, "selected: %q is not a project of this organization", id).
				WithHint("use the ids from GET /api/v1/integrations/azure-devops/projects")
		}
		want[p.ProjectID] = true
	}
	now := s.opts.Now()
	err = s.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		for _, p := range projects {
			switch {
			case want[p.ProjectID] && !p.Selected:
				if err := tx.SetProjectSelected(ctx, key(in), p.ProjectID, true, now); err != nil {
					return err
				}
				if err := s.opts.Queue.InsertTx(ctx, tx, RegisterHooksArgs{IntegrationID: in.ID, ProjectID: p.ProjectID}, nil); err != nil {
					return err
				}
				if err := s.startBackfill(ctx, tx, in, p.ProjectID); err != nil {
					return err
				}
			case !want[p.ProjectID] && p.Selected:
				if err := tx.SetProjectSelected(ctx, key(in), p.ProjectID, false, now); err != nil {
					return err
				}
				if err := s.opts.Queue.InsertTx(ctx, tx, RemoveHooksArgs{IntegrationID: in.ID, ProjectID: p.ProjectID}, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return Status{}, err
	}
	return s.Status(ctx, workspaceID)
}

// RefreshProjects lists the projects the PAT sees now (every page) and
// stores them, keeping the selection.
func (s *Service) RefreshProjects(ctx context.Context, workspaceID string) ([]store.Project, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	c, _, err := s.Client(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	ps, err := c.ListProjects(ctx)
	if err != nil {
		stored, serr := s.opts.DB.ListProjects(ctx, key(in), false)
		if serr == nil && len(stored) > 0 {
			s.opts.Logger.Warn("project list from Azure DevOps failed; showing the stored list", "err", err)
			return stored, nil
		}
		return nil, err
	}
	for _, p := range ps {
		if err := s.opts.DB.UpsertProject(ctx, projectRow(key(in), p)); err != nil {
			return nil, err
		}
	}
	return s.opts.DB.ListProjects(ctx, key(in), false)
}

// UpdateSettings replaces the settings after checking them.
func (s *Service) UpdateSettings(ctx context.Context, workspaceID string, st Settings) (Settings, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return st, err
	}
	if err := checkRules(st); err != nil {
		return st, err
	}
	if st.PostPRComments || slices.Contains(mapValues(st.ProjectComments), true) {
		var scopes map[string]string
		_ = json.Unmarshal([]byte(in.Scopes), &scopes)
		if scopes["pr_threads_read_write"] != "granted" {
			return st, delivery.Errorf(delivery.KindPrecondition, "PR comments cannot be enabled: the PAT lacks Pull Request Threads: Read & write").
				WithHint("re-create the PAT with that scope and update it under Advanced → Update token")
		}
	}
	// The PR comment settings are the integration's; the rules are the
	// workspace's default (workspace_rules), stored together.
	own := st
	own.RuleSettings = store.RuleSettings{}
	b, _ := json.Marshal(own)
	err = s.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateIntegrationSettings(ctx, workspaceID, in.ID, string(b), s.opts.Now()); err != nil {
			return err
		}
		return tx.PutRuleSettings(ctx, workspaceID, "", st.RuleSettings, s.opts.Now())
	})
	return st, err
}

// settingsOf is an integration's PR comment settings with the workspace's
// default rules.
func (s *Service) settingsOf(ctx context.Context, in store.Integration) (Settings, error) {
	st := store.ParseSettings(in.Settings)
	rules, err := s.opts.DB.GetWorkspaceRules(ctx, in.WorkspaceID)
	st.RuleSettings = rules.Default
	return st, err
}

// Bounds of the free-text settings: generous for any real organization,
// small enough that a hostile form cannot bloat every rebuild that reads
// the settings.
const (
	maxSettingText   = 100  // an incident tag, an incident work item type
	maxIncidentTypes = 20   // incident work item types
	maxProjectFlags  = 2000 // per-project PR comment overrides
)

func checkRules(st Settings) error {
	if len(st.ProjectComments) > maxProjectFlags {
		return delivery.Errorf(delivery.KindInvalid, "project_comments has %d entries; at most %d", len(st.ProjectComments), maxProjectFlags).
			WithHint("set post_pr_comments for all projects and list only the exceptions")
	}
	for id := range st.ProjectComments {
		if err := checkText("a project id in project_comments", id); err != nil {
			return err
		}
	}
	return checkRuleSettings(st.RuleSettings)
}

// checkRuleSettings refuses rules that are out of bounds or do not compile.
func checkRuleSettings(st store.RuleSettings) error {
	if err := checkText("incident_tag", st.IncidentTag); err != nil {
		return err
	}
	if len(st.IncidentTypes) > maxIncidentTypes {
		return delivery.Errorf(delivery.KindInvalid, "incident_types has %d entries; at most %d", len(st.IncidentTypes), maxIncidentTypes).
			WithHint("list the work item types your incidents use, e.g. Bug, Incident")
	}
	for _, t := range st.IncidentTypes {
		if strings.TrimSpace(t) == "" {
			return delivery.Errorf(delivery.KindInvalid, "incident_types has an empty entry").WithHint("remove it, or name a work item type such as Incident")
		}
		if err := checkText("an incident work item type", t); err != nil {
			return err
		}
	}
	if st.AttributionHours < 0 || st.AttributionHours > 24*90 {
		return delivery.Errorf(delivery.KindInvalid, "attribution_hours must be from 0 to %d", 24*90).WithHint("the default is 72")
	}
	if _, err := st.Rules(); err != nil {
		return (err.(*delivery.Error)).WithHint(`use Go regular expressions, e.g. (?i)deploy|release and (?i)\bprod(uction)?\b`)
	}
	return nil
}

// checkText refuses a free-text setting that is too long or holds control
// characters.
func checkText(what, v string) error {
	if n := utf8.RuneCountInString(v); n > maxSettingText {
		return delivery.Errorf(delivery.KindInvalid, "%s is %d characters long; at most %d", what, n, maxSettingText).
			WithHint("shorten it: it is matched against names Azure DevOps shows, which are short")
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return delivery.Errorf(delivery.KindInvalid, "%s contains a control character (a line break or tab)", what).
			WithHint("type it on one line, as Azure DevOps shows it")
	}
	return nil
}

func mapValues(m map[string]bool) []bool {
	out := make([]bool, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Settings returns the stored settings.
func (s *Service) Settings(ctx context.Context, workspaceID string) (Settings, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Settings{}, err
	}
	return s.settingsOf(ctx, in)
}

// SyncNow queues a reconciliation of the workspace's integration.
func (s *Service) SyncNow(ctx context.Context, workspaceID string) error {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return err
	}
	if s.opts.StartReconcile == nil {
		return delivery.Errorf(delivery.KindUnavailable, "reconciliation is not available in this build").
			WithHint("webhooks keep collecting; try again after upgrading")
	}
	return s.opts.DB.InTx(ctx, func(tx *store.Tx) error { return s.opts.StartReconcile(ctx, tx, in.ID) })
}

// RerunBackfill runs a selected project's backfill again now: a finished one
// starts over for a fresh window (rows are upserted by their Azure DevOps
// ids, nothing is counted twice), a stopped or failed one resumes where it
// stopped without waiting for its retry.
func (s *Service) RerunBackfill(ctx context.Context, workspaceID, projectID string) (Status, error) {
	in, err := s.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Status{}, err
	}
	p, err := s.opts.DB.GetProject(ctx, key(in), projectID)
	if delivery.IsNotFound(err) {
		return Status{}, delivery.Errorf(delivery.KindNotFound, "%q is not a project of this organization", projectID).
			WithHint("use the ids from GET /api/v1/integrations/azure-devops/projects")
	}
	if err != nil {
		return Status{}, err
	}
	if !p.Selected {
		return Status{}, delivery.Errorf(delivery.KindPrecondition, "project %s is not selected", p.Name).
			WithHint("select it and save: selecting a project starts its backfill")
	}
	if err := s.opts.DB.InTx(ctx, func(tx *store.Tx) error { return s.startBackfill(ctx, tx, in, projectID) }); err != nil {
		return Status{}, err
	}
	s.opts.Logger.Info("backfill re-run", "integration", in.ID, "project", p.Name)
	return s.Status(ctx, workspaceID)
}
