package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubapi"
	"github.com/pandev-metrics/pandev/internal/store"
)

// githubHookEvent is the event_type a repository webhook is recorded under
// (one hook per repository carries every event).
const githubHookEvent = "repository webhook"

// RegisterGitHubHookArgs registers a selected repository's webhook.
type RegisterGitHubHookArgs struct {
	IntegrationID string `json:"integration_id"`
	ProjectID     string `json:"project_id"` // the repository's id
}

// Kind names the job.
func (RegisterGitHubHookArgs) Kind() string { return "github_register_hook" }

// RemoveGitHubHookArgs removes a deselected repository's webhook.
type RemoveGitHubHookArgs struct {
	IntegrationID string `json:"integration_id"`
	ProjectID     string `json:"project_id"`
}

// Kind names the job.
func (RemoveGitHubHookArgs) Kind() string { return "github_remove_hook" }

// GitHubHookHealthArgs checks the webhooks of one GitHub integration, or of
// every one when IntegrationID is empty (the periodic job).
type GitHubHookHealthArgs struct {
	IntegrationID string `json:"integration_id,omitempty"`
}

// Kind names the job.
func (GitHubHookHealthArgs) Kind() string { return "github_hook_health" }

// GitHubHookHealthSchedule checks every GitHub integration's webhooks each
// interval (on the leader).
func GitHubHookHealthSchedule(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return GitHubHookHealthArgs{}, nil }, nil)
}

// Register adds the GitHub webhook workers.
func (g *GitHub) Register(workers *river.Workers) {
	river.AddWorker(workers, &ghRegisterWorker{g: g})
	river.AddWorker(workers, &ghRemoveWorker{g: g})
	river.AddWorker(workers, &ghHealthWorker{g: g})
}

type ghRegisterWorker struct {
	river.WorkerDefaults[RegisterGitHubHookArgs]
	g *GitHub
}

func (w *ghRegisterWorker) Work(ctx context.Context, job *river.Job[RegisterGitHubHookArgs]) error {
	return w.g.jobError(ctx, job.Args.IntegrationID, w.g.RegisterHook(ctx, job.Args.IntegrationID, job.Args.ProjectID))
}

type ghRemoveWorker struct {
	river.WorkerDefaults[RemoveGitHubHookArgs]
	g *GitHub
}

func (w *ghRemoveWorker) Work(ctx context.Context, job *river.Job[RemoveGitHubHookArgs]) error {
	return w.g.jobError(ctx, job.Args.IntegrationID, w.g.RemoveHook(ctx, job.Args.IntegrationID, job.Args.ProjectID))
}

type ghHealthWorker struct {
	river.WorkerDefaults[GitHubHookHealthArgs]
	g *GitHub
}

func (w *ghHealthWorker) Work(ctx context.Context, job *river.Job[GitHubHookHealthArgs]) error {
	if job.Args.IntegrationID != "" {
		return w.g.jobError(ctx, job.Args.IntegrationID, w.g.CheckHooks(ctx, job.Args.IntegrationID))
	}
	ins, err := w.g.opts.DB.ListAllIntegrations(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, in := range ins {
		if in.Provider != GitHubProvider || in.DisconnectedAt != nil {
			continue
		}
		if err := w.g.jobError(ctx, in.ID, w.g.CheckHooks(ctx, in.ID)); err != nil && !isCancel(err) {
			errs = append(errs, fmt.Errorf("integration %s: %w", in.ID, err))
		}
	}
	return errors.Join(errs...)
}

// jobError records a refused token on the integration (shown on the status
// page) and stops retrying; GitHub's rate limits snooze the job until
// GitHub says; other errors are retried.
func (g *GitHub) jobError(ctx context.Context, integrationID string, err error) error {
	if err == nil {
		return nil
	}
	var rl *githubapi.RateLimited
	if errors.As(err, &rl) {
		return river.JobSnooze(max(time.Until(rl.Until), time.Second))
	}
	if githubapi.StatusCode(err) == http.StatusUnauthorized || delivery.KindOf(err) == delivery.KindInvalid {
		var de *delivery.Error
		if errors.As(err, &de) {
			if serr := g.opts.DB.SetIntegrationError(ctx, integrationID, de.Message, de.Hint, g.opts.Now()); serr != nil {
				return serr
			}
		}
		return river.JobCancel(err)
	}
	return err
}

// hookConfig is the product's webhook for an integration.
func (g *GitHub) hookConfig(in store.Integration) (githubapi.HookConfig, error) {
	sec, err := g.opts.Keys.Open(in.WebhookSecretSealed, store.WebhookSecretSealContext(in.ID))
	if err != nil {
		return githubapi.HookConfig{}, err
	}
	return githubapi.HookConfig{URL: g.webhookURL(in.ID), Secret: sec.Reveal(), Events: GitHubEvents}, nil
}

// ours finds the integration's webhook among a repository's.
func ours(hooks []githubapi.Hook, url string) *githubapi.Hook {
	for i := range hooks {
		if hooks[i].URL == url {
			return &hooks[i]
		}
	}
	return nil
}

// conforms reports whether a webhook is the product's as registered.
func conforms(h githubapi.Hook) bool {
	have := slices.Clone(h.Events)
	slices.Sort(have)
	want := slices.Clone(GitHubEvents)
	slices.Sort(want)
	return h.Active && h.ContentType == "json" && h.InsecureSSL == "0" && slices.Equal(have, want)
}

// refused reports a refusal that no retry changes: the token may not
// manage the repository's webhooks (permission, or no admin rights), or
// the repository is gone from its view.
func refused(err error) bool {
	switch githubapi.StatusCode(err) {
	case http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		return delivery.KindOf(err) != delivery.KindRateLimited
	}
	return false
}

// splitName is a repository's owner and name from its stored full name.
func splitName(p store.Project) (string, string) {
	owner, name, _ := strings.Cut(p.Name, "/")
	return owner, name
}

// RegisterHook makes sure the selected repository has the integration's
// webhook, as the product registers it: created when missing, put back
// (events, content type, secret, active) when someone changed it, kept
// otherwise. Running it twice creates nothing twice. A refusal (no
// webhooks permission, no admin rights) is recorded with the fix and not
// retried until the token changes: the repository then goes without live
// updates.
func (g *GitHub) RegisterHook(ctx context.Context, integrationID, repoID string) error {
	c, in, err := g.Client(ctx, integrationID)
	if delivery.IsNotFound(err) {
		return nil // the integration was deleted meanwhile
	}
	if err != nil {
		return err
	}
	p, err := g.opts.DB.GetProject(ctx, key(in), repoID)
	if err != nil || !p.Selected {
		return ignoreNotFound(err) // deselected meanwhile: the removal job takes over
	}
	cfg, err := g.hookConfig(in)
	if err != nil {
		return err
	}
	owner, name := splitName(p)
	hooks, err := c.Hooks(ctx, owner, name)
	var h githubapi.Hook
	if err == nil {
		switch found := ours(hooks, cfg.URL); {
		case found == nil:
			h, err = c.CreateHook(ctx, owner, name, cfg)
		case !conforms(*found):
			h, err = c.EditHook(ctx, owner, name, found.ID, cfg)
		default:
			h = *found
		}
	}
	if refused(err) {
		g.opts.Logger.Warn("webhook refused", "integration", in.ID, "repository", p.Name, "err", err)
		if derr := g.dropRepoHookRecords(ctx, in, repoID); derr != nil {
			return derr
		}
		return g.opts.DB.UpsertHookSubscription(ctx, store.HookSubscription{Key: key(in),
			SubscriptionID: store.RefusedHookID(githubHookEvent, repoID), ProjectID: repoID, EventType: githubHookEvent,
			Status: store.HookUnavailable, Reason: refusalReason(err) + "; without it " + p.Name +
				" has no live updates: give the token Webhooks: Read and write (fine-grained) or admin:repo_hook (classic) with admin rights on the repository, then Update token",
			CheckedAt: g.opts.Now()})
	}
	if err != nil {
		return err
	}
	if err := g.recordHook(ctx, in, repoID, h, nil); err != nil {
		return err
	}
	g.opts.Logger.Info("webhook registered", "integration", in.ID, "repository", p.Name, "hook", h.ID)
	return nil
}

// dropRepoHookRecords forgets every recorded hook of a repository.
func (g *GitHub) dropRepoHookRecords(ctx context.Context, in store.Integration, repoID string) error {
	recorded, err := g.opts.DB.ListHookSubscriptions(ctx, key(in), repoID)
	if err != nil {
		return err
	}
	for _, r := range recorded {
		if err := g.opts.DB.DeleteHookSubscription(ctx, in.ID, r.SubscriptionID); err != nil {
			return err
		}
	}
	return nil
}

// recordHook stores a webhook's state: enabled, failing (its latest
// delivery, or most of the recent ones, failed) or disabled (inactive).
func (g *GitHub) recordHook(ctx context.Context, in store.Integration, repoID string, h githubapi.Hook, recent []githubapi.HookDelivery) error {
	status, reason := "enabled", ""
	switch {
	case !h.Active:
		status, reason = "disabled", "the webhook is inactive on GitHub"
	case h.LastCode != 0 && (h.LastCode < 200 || h.LastCode > 299):
		status = "failing"
		reason = fmt.Sprintf("GitHub's last delivery got %d %s", h.LastCode, h.LastMessage)
	case h.LastCode >= 200 && h.LastCode <= 299:
		reason = fmt.Sprintf("GitHub's last delivery got %d %s", h.LastCode, h.LastMessage)
	default:
		reason = "no delivery yet"
	}
	if len(recent) > 0 {
		failed := 0
		for _, d := range recent {
			if !d.OK() {
				failed++
			}
		}
		reason += fmt.Sprintf("; %d of the last %d deliveries failed", failed, len(recent))
		if failed*2 > len(recent) && status == "enabled" {
			status = "failing"
		}
	}
	id := strconv.FormatInt(h.ID, 10)
	recorded, err := g.opts.DB.ListHookSubscriptions(ctx, key(in), repoID)
	if err != nil {
		return err
	}
	for _, r := range recorded {
		if r.SubscriptionID != id { // a refusal, or a hook GitHub replaced
			if err := g.opts.DB.DeleteHookSubscription(ctx, in.ID, r.SubscriptionID); err != nil {
				return err
			}
		}
	}
	return g.opts.DB.UpsertHookSubscription(ctx, store.HookSubscription{Key: key(in), SubscriptionID: id, ProjectID: repoID,
		EventType: githubHookEvent, Status: status, Reason: reason, CheckedAt: g.opts.Now()})
}

// RemoveHook deletes the integration's webhook of a repository (found
// through the API, not only our records, so none is left behind), unless
// the repository was selected again meanwhile.
func (g *GitHub) RemoveHook(ctx context.Context, integrationID, repoID string) error {
	c, in, err := g.Client(ctx, integrationID)
	if delivery.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	p, err := g.opts.DB.GetProject(ctx, key(in), repoID)
	if err != nil || p.Selected {
		return ignoreNotFound(err)
	}
	if _, err := g.deleteHook(ctx, c, in, p); err != nil && !refused(err) {
		return err
	}
	return g.dropRepoHookRecords(ctx, in, repoID)
}

func ignoreNotFound(err error) error {
	if delivery.IsNotFound(err) {
		return nil
	}
	return err
}

// deleteHook deletes the integration's webhooks of one repository.
func (g *GitHub) deleteHook(ctx context.Context, c *githubapi.Client, in store.Integration, p store.Project) (int, error) {
	owner, name := splitName(p)
	hooks, err := c.Hooks(ctx, owner, name)
	if err != nil {
		return 0, err
	}
	url, n := g.webhookURL(in.ID), 0
	for _, h := range hooks {
		if h.URL != url {
			continue
		}
		if err := c.DeleteHook(ctx, owner, name, h.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// recentDeliveries is how many of a webhook's latest deliveries the health
// check reads.
const recentDeliveries = 10

// CheckHooks reads each selected repository's webhook from GitHub with its
// latest deliveries, records its health, and registers it again when it is
// missing or was changed. Refused repositories wait for a new token.
func (g *GitHub) CheckHooks(ctx context.Context, integrationID string) error {
	c, in, err := g.Client(ctx, integrationID)
	if delivery.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	repos, err := g.opts.DB.ListProjects(ctx, key(in), true)
	if err != nil {
		return err
	}
	url := g.webhookURL(in.ID)
	var errs []error
	for _, p := range repos {
		recorded, err := g.opts.DB.ListHookSubscriptions(ctx, key(in), p.ProjectID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(recorded, func(h store.HookSubscription) bool { return h.Status == store.HookUnavailable }) {
			continue
		}
		owner, name := splitName(p)
		hooks, err := c.Hooks(ctx, owner, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found := ours(hooks, url)
		if found == nil || !conforms(*found) {
			g.opts.Logger.Warn("webhook missing or changed; registering again", "integration", in.ID, "repository", p.Name)
			if err := g.RegisterHook(ctx, in.ID, p.ProjectID); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		recent, err := c.HookDeliveries(ctx, owner, name, found.ID, recentDeliveries)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := g.recordHook(ctx, in, p.ProjectID, *found, recent); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// Disconnect removes the integration's webhooks from GitHub, cancels its
// waiting jobs and either deletes everything collected through it or keeps
// the data (the integration marked disconnected; Activate with the same
// API base connects it again). The order is Azure DevOps': mark, cancel
// and wait for running jobs, then delete the hooks.
func (g *GitHub) Disconnect(ctx context.Context, workspaceID string, keepData bool) (DisconnectResult, error) {
	in, err := g.anyForWorkspace(ctx, workspaceID)
	if err != nil {
		return DisconnectResult{}, err
	}
	res := DisconnectResult{Data: "deleted"}
	if keepData {
		res.Data = "kept"
	}
	var client *githubapi.Client
	if in.DisconnectedAt == nil {
		client, _, err = g.Client(ctx, in.ID)
		if err != nil {
			res.HooksLeft = []string{"none could be deleted: " + githubProblemOf(err).Message}
		}
		if err := g.opts.DB.DisconnectIntegration(ctx, workspaceID, in.ID, g.opts.Now()); err != nil {
			return res, err
		}
		g.mu.Lock()
		delete(g.clients, in.ID)
		g.mu.Unlock()
	}
	if res.JobsCancelled, err = cancelJobs(ctx, g.opts.Queue, in.ID); err != nil {
		return res, err
	}
	if client != nil {
		res.HooksRemoved, res.HooksLeft = g.deleteAllHooks(ctx, client, in)
	}
	if keepData {
		err = dropHookRecords(ctx, g.opts.DB, in)
	} else {
		err = g.opts.DB.DeleteIntegration(ctx, workspaceID, in.ID)
	}
	if err != nil {
		return res, err
	}
	g.opts.Logger.Info("GitHub disconnected", "workspace", workspaceID, "integration", in.ID, "data", res.Data,
		"hooks_removed", res.HooksRemoved, "hooks_left", len(res.HooksLeft), "jobs_cancelled", res.JobsCancelled)
	return res, nil
}

// deleteAllHooks deletes the integration's webhook of every repository it
// selected or recorded one for, within disconnectTimeout.
func (g *GitHub) deleteAllHooks(ctx context.Context, c *githubapi.Client, in store.Integration) (int, []string) {
	ctx, cancel := context.WithTimeout(ctx, disconnectTimeout)
	defer cancel()
	repos, err := g.opts.DB.ListProjects(ctx, key(in), false)
	if err != nil {
		return 0, []string{"none could be listed: " + err.Error()}
	}
	recorded, err := g.opts.DB.ListHookSubscriptions(ctx, key(in), "")
	if err != nil {
		return 0, []string{"none could be listed: " + err.Error()}
	}
	has := map[string]bool{}
	for _, h := range recorded {
		if h.Status != store.HookUnavailable {
			has[h.ProjectID] = true
		}
	}
	removed, left := 0, []string(nil)
	for _, p := range repos {
		if !p.Selected && !has[p.ProjectID] {
			continue
		}
		n, err := g.deleteHook(ctx, c, in, p)
		removed += n
		if err != nil && !(refused(err) && !has[p.ProjectID]) {
			left = append(left, fmt.Sprintf("%s: %s", p.Name, githubProblemOf(err).Message))
		}
	}
	return removed, left
}

// Status reports the workspace's GitHub integration: the token, its
// permissions with what a missing one breaks, the repositories with their
// selection and webhook health.
func (g *GitHub) Status(ctx context.Context, workspaceID string) (Status, error) {
	in, err := g.anyForWorkspace(ctx, workspaceID)
	if delivery.IsNotFound(err) {
		return Status{Connected: false}, nil
	}
	if err != nil {
		return Status{}, err
	}
	if in.DisconnectedAt != nil {
		return Status{State: "disconnected", Disconnected: in.DisconnectedAt, OrgURL: in.OrgURL, LastSync: in.LastSyncAt}, nil
	}
	dep := deploymentOf(in)
	st := Status{Connected: true, State: "connected", OrgURL: in.OrgURL, Account: in.Account, Token: in.TokenHint,
		LastSync: in.LastSyncAt, Deployment: dep.String(), TokenKind: dep.TokenKind}
	if w := g.publicURLWarning(dep); w != "" {
		st.Warnings = append(st.Warnings, Problem{Code: "public_url", Message: w,
			Hint: "set PANDEV_PUBLIC_URL to an https address GitHub can reach, then restart"})
	}
	if in.ErrorMessage != "" {
		st.State = "error"
		st.Error = &Problem{Code: "error", Message: in.ErrorMessage, Hint: in.ErrorHint}
	}
	var perms map[string]string
	_ = json.Unmarshal([]byte(in.Scopes), &perms)
	for _, p := range githubapi.Permissions() {
		state := perms[p.Key]
		if state == "" {
			state = "unknown"
		}
		r := ScopeResult{Scope: p.Key, Label: p.Label, Required: p.Required, State: state, OK: state == "granted"}
		if !r.OK {
			r.Breaks, r.Fix = p.Breaks, permissionFix(p)
			if state == "missing" {
				st.Limited = append(st.Limited, Problem{Code: "permission_missing", Message: p.Label + ": " + p.Breaks, Hint: r.Fix})
			}
		}
		st.Scopes = append(st.Scopes, r)
	}
	settings, err := g.settingsOf(ctx, in)
	if err != nil {
		return st, err
	}
	st.Settings = &settings
	if st.Backfill, err = collect.Progress(ctx, g.opts.DB, key(in), ghcollect.Resources); err != nil {
		return st, err
	}
	progress := map[string]*collect.ProjectProgress{}
	for i := range st.Backfill {
		progress[st.Backfill[i].ProjectID] = &st.Backfill[i]
	}
	if st.Runs, err = syncRuns(ctx, g.opts.DB, key(in)); err != nil {
		return st, err
	}
	counts, lastErr, err := g.opts.DB.CountPRCommentStates(ctx, key(in))
	if err != nil {
		return st, err
	}
	st.Comments = &CommentStatus{Counts: counts, LastError: lastErr}
	repos, err := g.opts.DB.ListProjects(ctx, key(in), false)
	if err != nil {
		return st, err
	}
	hooks, err := g.opts.DB.ListHookSubscriptions(ctx, key(in), "")
	if err != nil {
		return st, err
	}
	byRepo := map[string]*HookHealth{}
	unavailable := 0
	for _, h := range hooks {
		hh := byRepo[h.ProjectID]
		if hh == nil {
			hh = &HookHealth{}
			byRepo[h.ProjectID] = hh
		}
		hh.Detail = h.Reason
		switch h.Status {
		case store.HookUnavailable:
			hh.Unavailable = append(hh.Unavailable, h.Reason)
			continue
		case "enabled":
			hh.Enabled++
		case "failing":
			hh.Failing++
		default:
			hh.Disabled++
		}
		hh.Registered = true
	}
	owners := map[string]bool{}
	for _, p := range repos {
		owner, _ := splitName(p)
		owners[owner] = true
		ps := ProjectStatus{ID: p.ProjectID, Name: p.Name, Owner: owner, Selected: p.Selected, Backfill: progress[p.ProjectID]}
		if hh := byRepo[p.ProjectID]; hh != nil {
			ps.Hooks = *hh
		}
		if p.Selected {
			st.SelectedProjects++
			if len(ps.Hooks.Unavailable) > 0 {
				unavailable++
			}
		}
		st.Projects = append(st.Projects, ps)
	}
	for o := range owners {
		st.Owners = append(st.Owners, o)
	}
	slices.Sort(st.Owners)
	if unavailable > 0 {
		st.Limited = append(st.Limited, Problem{Code: "webhooks_refused",
			Message: fmt.Sprintf("GitHub refused the webhook of %d selected repositories: they have no live updates", unavailable),
			Hint:    "give the token Webhooks: Read and write (fine-grained) or admin:repo_hook (classic) with admin rights on those repositories, then Update token"})
	}
	if st.State == "connected" && len(st.Limited) > 0 {
		st.State = "limited"
	}
	return st, nil
}
