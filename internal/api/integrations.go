package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Connection is what the /api/v1/integrations/{provider} endpoints need of
// one provider's connection (package integration implements it for Azure
// DevOps and GitHub; declared here, where it is used). The result types are
// shared: a GitHub repository is a project of the picker, a permission a
// scope of the check.
type Connection interface {
	Check(ctx context.Context, orgURL, token string) (integration.CheckResult, error)
	Activate(ctx context.Context, workspaceID, orgURL, token string, confirmLimited bool) (integration.Status, error)
	Status(ctx context.Context, workspaceID string) (integration.Status, error)
	RefreshProjects(ctx context.Context, workspaceID string) ([]store.Project, error)
	SelectProjects(ctx context.Context, workspaceID string, selected []string) (integration.Status, error)
	UpdateToken(ctx context.Context, workspaceID, token string) (integration.Status, error)
	Settings(ctx context.Context, workspaceID string) (integration.Settings, error)
	UpdateSettings(ctx context.Context, workspaceID string, st integration.Settings) (integration.Settings, error)
	SyncNow(ctx context.Context, workspaceID string) error
	RerunBackfill(ctx context.Context, workspaceID, projectID string) (integration.Status, error)
	Jobs(ctx context.Context, workspaceID string) ([]integration.Job, error)
	Disconnect(ctx context.Context, workspaceID string, keepData bool) (integration.DisconnectResult, error)
	RetryJob(ctx context.Context, workspaceID string, id int64) (integration.Job, error)
}

// Integrations is the Azure DevOps connection with what only it has (the
// Organization URL change, the rules preview against its data) and the
// workspace's rules.
type Integrations interface {
	Connection
	PreviewRules(ctx context.Context, workspaceID string, st integration.Settings) (integration.RulesPreview, error)
	ChangeOrgURL(ctx context.Context, workspaceID, orgURL, token string) (integration.Status, error)
	Rules(ctx context.Context, workspaceID string) (integration.RuleSet, error)
	SetRules(ctx context.Context, workspaceID, projectID string, r store.RuleSettings) (integration.RuleSet, error)
	ClearProjectRules(ctx context.Context, workspaceID, projectID string) (integration.RuleSet, error)
}

type connectRequest struct {
	OrgURL string `json:"org_url"`
	// APIURL is GitHub's API base (empty: github.com); org_url is read
	// the same way.
	APIURL string `json:"api_url,omitempty"`
	Token  string `json:"token"`
	// ConfirmLimited activates a token that lacks a scope of the manual's
	// Step 1 (Activate answers 409 without it).
	ConfirmLimited bool `json:"confirm_limited,omitempty"`
}

// address is the organization URL or API base the request names.
func (c connectRequest) address() string {
	if c.APIURL != "" {
		return c.APIURL
	}
	return c.OrgURL
}

// CheckConnection answers POST /api/v1/integrations/azure-devops/check.
func (h *Handlers) CheckConnection(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	var req connectRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := prov.Check(r.Context(), req.address(), req.Token)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, res)
}

// Activate answers POST /api/v1/integrations/azure-devops.
func (h *Handlers) Activate(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	var req connectRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	st, err := prov.Activate(r.Context(), principal(r).WorkspaceID(), req.address(), req.Token, req.ConfirmLimited)
	if err != nil {
		return err
	}
	return write(w, http.StatusCreated, st)
}

// IntegrationStatus answers GET /api/v1/integrations/azure-devops.
func (h *Handlers) IntegrationStatus(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	st, err := prov.Status(r.Context(), principal(r).WorkspaceID())
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, st)
}

// ProjectChoice is a project of the picker.
type ProjectChoice struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Selected    bool   `json:"selected"`
}

// ListProjects answers GET /api/v1/integrations/azure-devops/projects.
func (h *Handlers) ListProjects(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.unitProvider(r, "projects")
	if err != nil {
		return err
	}
	ps, err := prov.RefreshProjects(r.Context(), principal(r).WorkspaceID())
	if err != nil {
		return err
	}
	out := make([]ProjectChoice, 0, len(ps))
	for _, p := range ps {
		out = append(out, ProjectChoice{ID: p.ProjectID, Name: p.Name, Description: p.Description, Selected: p.Selected})
	}
	return write(w, http.StatusOK, map[string]any{"projects": out})
}

// SelectProjects answers PUT /api/v1/integrations/azure-devops/projects.
func (h *Handlers) SelectProjects(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.unitProvider(r, "projects")
	if err != nil {
		return err
	}
	var req struct {
		Selected []string `json:"selected"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	st, err := prov.SelectProjects(r.Context(), principal(r).WorkspaceID(), req.Selected)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, st)
}

// UpdateToken answers PUT /api/v1/integrations/azure-devops/token.
func (h *Handlers) UpdateToken(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	st, err := prov.UpdateToken(r.Context(), principal(r).WorkspaceID(), req.Token)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, st)
}

// PatchSettings answers PATCH /api/v1/integrations/azure-devops/settings:
// the fields sent replace the stored ones, the others stay.
func (h *Handlers) PatchSettings(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	ws := principal(r).WorkspaceID()
	st, err := prov.Settings(r.Context(), ws)
	if err != nil {
		return err
	}
	if err := decode(r, &st); err != nil {
		return err
	}
	st, err = prov.UpdateSettings(r.Context(), ws, st)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, st)
}

// RerunBackfill answers POST /api/v1/integrations/azure-devops/projects/{id}/backfill.
func (h *Handlers) RerunBackfill(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	st, err := prov.RerunBackfill(r.Context(), principal(r).WorkspaceID(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return write(w, http.StatusAccepted, st)
}

// SyncNow answers POST /api/v1/integrations/{provider}/sync: Azure DevOps
// queues a reconciliation; GitHub reads its repository list again
// (selecting new repositories of whole organizations) and queues a check
// of every webhook.
func (h *Handlers) SyncNow(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	if err := prov.SyncNow(r.Context(), principal(r).WorkspaceID()); err != nil {
		return err
	}
	status := "reconcile queued"
	if r.PathValue("provider") == integration.GitHubProvider {
		status = "repositories refreshed; webhook check queued"
	}
	return write(w, http.StatusAccepted, map[string]string{"status": status})
}

// GetSettings answers GET /api/v1/integrations/{provider}/settings.
func (h *Handlers) GetSettings(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	st, err := prov.Settings(r.Context(), principal(r).WorkspaceID())
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, st)
}

// RepositoryChoice is a GitHub repository of the picker, with its webhook.
type RepositoryChoice struct {
	ID       string                 `json:"id"` // GitHub's numeric id
	FullName string                 `json:"full_name"`
	Owner    string                 `json:"owner"`
	Selected bool                   `json:"selected"`
	Hook     integration.HookHealth `json:"hook"`
}

// RepositoryList is the picker: repositories grouped by owner (sorted by
// full name), and the owners whose new repositories are selected.
type RepositoryList struct {
	Repositories []RepositoryChoice `json:"repositories"`
	Owners       []string           `json:"owners"`
	AutoOwners   []string           `json:"auto_owners"`
}

func repositoryList(st integration.Status) RepositoryList {
	out := RepositoryList{Repositories: []RepositoryChoice{}, Owners: st.Owners, AutoOwners: []string{}}
	if out.Owners == nil {
		out.Owners = []string{}
	}
	if st.Settings != nil && st.Settings.AutoOwners != nil {
		out.AutoOwners = st.Settings.AutoOwners
	}
	for _, p := range st.Projects {
		out.Repositories = append(out.Repositories, RepositoryChoice{ID: p.ID, FullName: p.Name, Owner: p.Owner, Selected: p.Selected, Hook: p.Hooks})
	}
	return out
}

// ListRepositories answers GET /api/v1/integrations/github/repositories:
// the stored list with the selection and each webhook's health.
func (h *Handlers) ListRepositories(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.unitProvider(r, "repositories")
	if err != nil {
		return err
	}
	st, err := prov.Status(r.Context(), principal(r).WorkspaceID())
	if err != nil {
		return err
	}
	if !st.Connected {
		return delivery.Errorf(delivery.KindNotFound, "GitHub is not connected").
			WithHint("connect it first: Settings → Integrations → GitHub → Check connection, then Activate")
	}
	return write(w, http.StatusOK, repositoryList(st))
}

// RefreshRepositories answers POST /api/v1/integrations/github/repositories:
// the list read again from GitHub (new repositories of whole organizations
// selected), then as GET.
func (h *Handlers) RefreshRepositories(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.unitProvider(r, "repositories")
	if err != nil {
		return err
	}
	ws := principal(r).WorkspaceID()
	if _, err := prov.RefreshProjects(r.Context(), ws); err != nil {
		return err
	}
	st, err := prov.Status(r.Context(), ws)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, repositoryList(st))
}

// SelectRepositories answers PUT /api/v1/integrations/github/repositories
// {"selected": [ids]}: newly selected repositories get their webhook,
// deselected ones lose it.
func (h *Handlers) SelectRepositories(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.unitProvider(r, "repositories")
	if err != nil {
		return err
	}
	var req struct {
		Selected []string `json:"selected"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	st, err := prov.SelectProjects(r.Context(), principal(r).WorkspaceID(), req.Selected)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, repositoryList(st))
}

// CommentPreview is the comment a PR would get now.
type CommentPreview struct {
	PullRequest int64  `json:"pull_request"`
	Content     string `json:"content"`     // markdown
	Skipped     string `json:"skip_reason"` // why it would not be posted, "" if it would
}

// PreviewPRComment answers GET /api/v1/integrations/{provider}/pr-comments/preview?pr=ID[&repository=ID]:
// a dry run. Azure DevOps numbers PRs per collection, so the number alone
// names one; repository is needed only where numbers repeat per repository
// (GitHub numbers per repository: a number in several needs it).
func (h *Handlers) PreviewPRComment(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.provider(r); err != nil {
		return err
	}
	prID, err := strconv.ParseInt(r.URL.Query().Get("pr"), 10, 64)
	if err != nil || prID <= 0 {
		return delivery.Errorf(delivery.KindInvalid, "pr must be a pull request id").WithHint("e.g. ?pr=1234")
	}
	ws := principal(r).WorkspaceID()
	ins, err := h.DB.ListIntegrations(r.Context(), ws, r.PathValue("provider"))
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		name := "Azure DevOps"
		if r.PathValue("provider") == integration.GitHubProvider {
			name = "GitHub"
		}
		return delivery.Errorf(delivery.KindNotFound, "%s is not connected", name).WithHint("connect it first")
	}
	content, skip, err := h.Comments.Preview(r.Context(), ws,
		store.PRRef{IntegrationID: ins[0].ID, RepoID: r.URL.Query().Get("repository"), PRID: prID})
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, CommentPreview{PullRequest: prID, Content: content, Skipped: skip})
}

// PreviewRules answers POST /api/v1/integrations/azure-devops/rules/preview
// with what candidate rules would match, before they are saved.
func (h *Handlers) PreviewRules(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.azureOnly(r, "a rules preview")
	if err != nil {
		return err
	}
	var st integration.Settings
	if err := decode(r, &st); err != nil {
		return err
	}
	p, err := prov.PreviewRules(r.Context(), principal(r).WorkspaceID(), st)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, p)
}

// ChangeOrgURL answers PUT /api/v1/integrations/{provider}/org-url: another
// URL of the same organization (token optional: the stored one is used).
func (h *Handlers) ChangeOrgURL(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.azureOnly(r, "an Organization URL to change")
	if err != nil {
		return err
	}
	var req connectRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	st, err := prov.ChangeOrgURL(r.Context(), principal(r).WorkspaceID(), req.OrgURL, req.Token)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, st)
}

// Disconnect answers DELETE /api/v1/integrations/{provider}?data=keep|delete:
// the service hooks are removed and the collected data kept (the dashboard
// still shows it; Activate with the same URL connects again) or deleted.
func (h *Handlers) Disconnect(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	keep, err := dataChoice(r.URL.Query().Get("data"))
	if err != nil {
		return err
	}
	res, err := prov.Disconnect(r.Context(), principal(r).WorkspaceID(), keep)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, res)
}

// dataChoice reads what Disconnect does with the collected data: the
// caller must say, nothing is deleted by default.
func dataChoice(v string) (keep bool, err error) {
	switch v {
	case "keep":
		return true, nil
	case "delete":
		return false, nil
	}
	return false, delivery.Errorf(delivery.KindInvalid, "say what to do with the collected data: data=keep or data=delete").
		WithHint("keep shows it on the dashboard until you delete it; delete removes every row collected through the integration")
}

// ListJobs answers GET /api/v1/integrations/azure-devops/jobs: the
// integration's newest background jobs (syncs, hook registrations, …) with
// their state and last error.
func (h *Handlers) ListJobs(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	js, err := prov.Jobs(r.Context(), principal(r).WorkspaceID())
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, map[string]any{"jobs": js})
}

// RetryJob answers POST /api/v1/integrations/azure-devops/jobs/{id}/retry.
func (h *Handlers) RetryJob(w http.ResponseWriter, r *http.Request) error {
	prov, err := h.provider(r)
	if err != nil {
		return err
	}
	id, err := integration.ParseJobID(r.PathValue("id"))
	if err != nil {
		return err
	}
	j, err := prov.RetryJob(r.Context(), principal(r).WorkspaceID(), id)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, j)
}

// GetRules answers GET /api/v1/rules: the workspace's default rules and the
// projects that have their own.
func (h *Handlers) GetRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := h.Integrations.Rules(r.Context(), principal(r).WorkspaceID())
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, rs)
}

// PutDefaultRules answers PUT /api/v1/rules: the workspace's default rules.
func (h *Handlers) PutDefaultRules(w http.ResponseWriter, r *http.Request) error {
	return h.putRules(w, r, "")
}

// PutProjectRules answers PUT /api/v1/rules/projects/{id}: a project's own
// rules, replacing the workspace's default for it.
func (h *Handlers) PutProjectRules(w http.ResponseWriter, r *http.Request) error {
	return h.putRules(w, r, r.PathValue("id"))
}

func (h *Handlers) putRules(w http.ResponseWriter, r *http.Request, projectID string) error {
	var req store.RuleSettings
	if err := decode(r, &req); err != nil {
		return err
	}
	rs, err := h.Integrations.SetRules(r.Context(), principal(r).WorkspaceID(), projectID, req)
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, rs)
}

// DeleteProjectRules answers DELETE /api/v1/rules/projects/{id}: the project
// follows the workspace's default rules again.
func (h *Handlers) DeleteProjectRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := h.Integrations.ClearProjectRules(r.Context(), principal(r).WorkspaceID(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, rs)
}

// Providers are the sources a workspace connects; each is a path segment of
// /api/v1/integrations/{provider} and /settings/integrations/{provider}.
// Planned ones answer 404 saying so.
var (
	Providers = []string{integration.Provider, integration.GitHubProvider}
	planned   = map[string]string{"gitlab": "GitLab", "bitbucket": "Bitbucket"}
)

const hintProviders = "use /api/v1/integrations/azure-devops or /api/v1/integrations/github"

// provider is the connection service of the route's {provider}.
func (h *Handlers) provider(r *http.Request) (Connection, error) {
	switch p := r.PathValue("provider"); {
	case p == integration.Provider && h.Integrations != nil:
		return h.Integrations, nil
	case p == integration.GitHubProvider && h.GitHub != nil:
		return h.GitHub, nil
	case planned[p] != "":
		return nil, delivery.Errorf(delivery.KindNotFound, "%s integrations are not available in this version", planned[p]).
			WithHint("connect Azure DevOps or GitHub; the others are planned")
	default:
		return nil, delivery.Errorf(delivery.KindNotFound, "there is no %q integration", p).WithHint(hintProviders)
	}
}

// unitProvider is provider for the routes of one unit of selection: Azure
// DevOps picks projects, GitHub repositories.
func (h *Handlers) unitProvider(r *http.Request, unit string) (Connection, error) {
	prov, err := h.provider(r)
	if err != nil {
		return nil, err
	}
	p := r.PathValue("provider")
	want := "projects"
	if p == integration.GitHubProvider {
		want = "repositories"
	}
	if unit != want {
		return nil, delivery.Errorf(delivery.KindNotFound, "%s integrations select %s, not %s", p, want, unit).
			WithHint("use /api/v1/integrations/" + p + "/" + want)
	}
	return prov, nil
}

// azureOnly is the Azure DevOps service for the routes only it has.
func (h *Handlers) azureOnly(r *http.Request, what string) (Integrations, error) {
	if _, err := h.provider(r); err != nil {
		return nil, err
	}
	if p := r.PathValue("provider"); p != integration.Provider {
		return nil, delivery.Errorf(delivery.KindNotFound, "the %s integration has no %s", p, what).
			WithHint("it is an Azure DevOps route: /api/v1/integrations/azure-devops/…")
	}
	return h.Integrations, nil
}
