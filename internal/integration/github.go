package integration

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubapi"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

// GitHubProvider is the integrations.provider value of GitHub (github.com
// or one GitHub Enterprise Server).
const GitHubProvider = "github"

// githubName is how screens and messages name GitHub.
const githubName = "GitHub"

// GitHubWebhookPath is where GitHub delivers repository webhooks.
const GitHubWebhookPath = "/v1/github/webhook"

// GitHubEvents are the events each repository webhook subscribes to.
var GitHubEvents = []string{"push", "pull_request", "pull_request_review", "pull_request_review_comment", "issues",
	"issue_comment", "workflow_run", "deployment", "deployment_status"}

// GitHub is the GitHub connection's use cases: Check connection, Activate,
// the repository picker (a repository is the unit of selection: one
// provider_projects row and one repositories row per repository, keyed by
// GitHub's numeric id), repository webhooks, token rotation, settings and
// Disconnect; selecting a repository queues its backfill (collect/github
// collects it).
type GitHub struct {
	opts Options

	mu      sync.Mutex
	clients map[string]githubCached // integration id → client for its current token
}

type githubCached struct {
	sealed string
	client *githubapi.Client
}

// NewGitHub returns the GitHub connection's service; it shares the Azure
// DevOps service's options (store, keys, queue, public URL, allow list).
func NewGitHub(opts Options) *GitHub {
	n := New(opts) // the same defaults
	return &GitHub{opts: n.opts, clients: map[string]githubCached{}}
}

// AttachQueue sets the job queue (it is built after the workers).
func (g *GitHub) AttachQueue(q jobInserter) { g.opts.Queue = q }

// SetPublicURL sets where GitHub delivers webhooks.
func (g *GitHub) SetPublicURL(u string) { g.opts.PublicURL = u }

// githubDeployment is the stored integrations.deployment of a GitHub one.
type githubDeployment struct {
	REST       string `json:"rest"`
	Web        string `json:"web"`
	Enterprise bool   `json:"enterprise"`
	Version    string `json:"version,omitempty"`
	TokenKind  string `json:"token_kind,omitempty"`
}

func (d githubDeployment) api() githubapi.API {
	return githubapi.API{REST: d.REST, Web: d.Web, Enterprise: d.Enterprise}
}

func (d githubDeployment) String() string {
	if !d.Enterprise {
		return "GitHub.com"
	}
	if d.Version != "" {
		return "GitHub Enterprise Server " + d.Version
	}
	return "GitHub Enterprise Server"
}

// githubChecked is what Check connection learnt, for Activate.
type githubChecked struct {
	dep   githubDeployment
	perms map[string]string // permission key → granted or missing
}

func (g *GitHub) newClient(api githubapi.API, token secret.Value) (*githubapi.Client, error) {
	log := g.opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return githubapi.New(githubapi.Options{API: api, Token: token, HTTPClient: g.opts.GitHubHTTPClient, Hosts: g.opts.AllowHosts, Logger: log})
}

// Client returns the client of a GitHub integration, one per integration
// and token so its conditional-request cache and call account hold.
func (g *GitHub) Client(ctx context.Context, integrationID string) (*githubapi.Client, store.Integration, error) {
	in, err := g.opts.DB.GetIntegrationByID(ctx, integrationID)
	if err != nil {
		return nil, in, err
	}
	if in.Provider != GitHubProvider {
		return nil, in, delivery.Errorf(delivery.KindNotFound, "integration %s is not a GitHub one", integrationID)
	}
	if in.DisconnectedAt != nil {
		return nil, in, disconnectedError(githubName)
	}
	g.mu.Lock()
	cached, ok := g.clients[integrationID]
	g.mu.Unlock()
	if ok && cached.sealed == in.TokenSealed {
		return cached.client, in, nil
	}
	tok, err := g.opts.Keys.Open(in.TokenSealed, store.TokenSealContext(in.ID))
	if err != nil {
		return nil, in, delivery.Errorf(delivery.KindInternal, "the stored token cannot be opened").
			WithHint("check PANDEV_SECRET_KEY (or the key file) is the one the token was saved with").Wrap(err)
	}
	c, err := g.newClient(deploymentOf(in).api(), tok)
	if err != nil {
		return nil, in, err
	}
	g.mu.Lock()
	g.clients[integrationID] = githubCached{sealed: in.TokenSealed, client: c}
	g.mu.Unlock()
	return c, in, nil
}

func deploymentOf(in store.Integration) githubDeployment {
	var d githubDeployment
	_ = json.Unmarshal([]byte(in.Deployment), &d)
	if d.REST == "" {
		d.REST, d.Web = githubapi.DotCom.REST, githubapi.DotCom.Web
	}
	return d
}

// forWorkspace returns the workspace's connected GitHub integration.
func (g *GitHub) forWorkspace(ctx context.Context, workspaceID string) (store.Integration, error) {
	in, err := g.anyForWorkspace(ctx, workspaceID)
	if err == nil && in.DisconnectedAt != nil {
		return in, disconnectedError(githubName)
	}
	return in, err
}

func (g *GitHub) anyForWorkspace(ctx context.Context, workspaceID string) (store.Integration, error) {
	return integrationFor(ctx, g.opts.DB, workspaceID, GitHubProvider, githubName)
}

// WebhookURL is the hook URL of an integration: GitHub names the
// integration in the query, and signs the body with its secret.
func (g *GitHub) WebhookURL(integrationID string) string { return g.webhookURL(integrationID) }

// webhookURL is the hook URL of an integration: GitHub names the
// integration in the query, and signs the body with its secret.
func (g *GitHub) webhookURL(integrationID string) string {
	return strings.TrimRight(g.opts.PublicURL, "/") + GitHubWebhookPath + "?integration=" + url.QueryEscape(integrationID)
}

// publicURLWarning says why GitHub may not reach us, or "".
func (g *GitHub) publicURLWarning(dep githubDeployment) string {
	if g.opts.PublicURL == "" {
		return "PANDEV_PUBLIC_URL is not set, so webhooks would point nowhere"
	}
	u, err := url.Parse(g.opts.PublicURL)
	if err != nil {
		return "PANDEV_PUBLIC_URL is not a URL"
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if loopback && !dep.Enterprise && !g.opts.LocalGitHub {
		return "PANDEV_PUBLIC_URL is " + g.opts.PublicURL + ", which github.com cannot reach: webhooks will not arrive"
	}
	return ""
}

// validateGitHubInput checks the form fields; a bad field is a 400 naming it.
func validateGitHubInput(apiBase, token string) (githubapi.API, secret.Value, error) {
	api, err := githubapi.ParseAPI(apiBase)
	if err != nil {
		return api, secret.Value{}, err
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return api, secret.Value{}, delivery.Errorf(delivery.KindInvalid, "token is empty").
			WithHint("paste a fine-grained or classic personal access token (GitHub → Settings → Developer settings → Personal access tokens)")
	}
	if len(token) > 1024 || strings.ContainsAny(token, " \t\r\n") {
		return api, secret.Value{}, delivery.Errorf(delivery.KindInvalid, "token is not a personal access token").
			WithHint("paste the token exactly as GitHub showed it, without spaces")
	}
	return api, secret.New(token), nil
}

// Check connection: the API base (empty = github.com), who the token is,
// its kind, the organizations and how many repositories it sees, and each
// permission the product needs tested with a harmless call, saying what a
// missing one breaks and the fix. Nothing is stored. Malformed input is an
// error; anything GitHub says is a Problem in the result.
func (g *GitHub) Check(ctx context.Context, apiBase, token string) (CheckResult, error) {
	api, tok, err := validateGitHubInput(apiBase, token)
	if err != nil {
		return CheckResult{}, err
	}
	res := CheckResult{OrgURL: api.Web, Level: "error", Scopes: []ScopeResult{}, Problems: []Problem{}, Warnings: []Problem{}}
	c, err := g.newClient(api, tok)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	r, err := c.Check(ctx)
	if err != nil {
		if delivery.KindOf(err) == delivery.KindInvalid {
			return res, err // the host policy refused the address: bad input
		}
		res.Problems = append(res.Problems, githubProblemOf(err))
		return res, nil
	}
	dep := githubDeployment{REST: api.REST, Web: api.Web, Enterprise: api.Enterprise, Version: r.Version, TokenKind: r.TokenKind}
	res.github = &githubChecked{dep: dep, perms: map[string]string{}}
	res.User, res.Deployment, res.ProjectCount = r.Login, dep.String(), r.Repositories
	res.TokenKind, res.Organizations, res.Sample, res.Calls = r.TokenKind, r.Organizations, r.Sample, r.Calls
	if len(res.Organizations) == 0 && r.Repositories > 0 {
		// A fine-grained token lists no organizations (GET /user/orgs
		// answers []): the owners of the repositories it sees are them.
		if repos, err := c.Repositories(ctx); err == nil {
			for _, repo := range repos {
				if repo.Owner != r.Login && !slices.Contains(res.Organizations, repo.Owner) {
					res.Organizations = append(res.Organizations, repo.Owner)
				}
			}
			res.Calls = c.Calls().Snapshot().Counted // a fresh client: the whole check
		}
	}
	if res.Organizations == nil {
		res.Organizations = []string{}
	}
	for _, p := range r.Permissions {
		sr := ScopeResult{Scope: p.Key, Label: p.Label, Required: p.Required, OK: p.OK, Call: p.Call, State: "granted"}
		if !p.OK {
			sr.State, sr.Breaks, sr.Fix = "missing", p.Breaks, permissionFix(p)
			if !p.Required {
				res.Warnings = append(res.Warnings, Problem{Code: "permission_missing", Message: p.Label + ": " + p.Breaks, Hint: sr.Fix})
			}
		}
		res.github.perms[p.Key] = sr.State
		res.Scopes = append(res.Scopes, sr)
	}
	for _, p := range r.Problems {
		res.Problems = append(res.Problems, Problem{Code: "permission_missing", Message: p.Message, Hint: p.Hint})
	}
	if w := g.publicURLWarning(dep); w != "" {
		res.Warnings = append(res.Warnings, Problem{Code: "public_url", Message: w,
			Hint: "set PANDEV_PUBLIC_URL to an https address GitHub can reach, then restart"})
	}
	if r.OK {
		res.OK, res.Level = true, "ok"
	}
	return res, nil
}

// permissionFix is the way to a missing permission, for both token kinds.
func permissionFix(p githubapi.Permission) string {
	fix := "give the token " + p.Label + " (fine-grained) or the " + p.Classic + " scope (classic) and use Update token"
	if p.Key == "webhooks" {
		fix += "; webhooks also need admin rights on the repository"
	}
	return fix
}

// githubProblemOf turns a client error into the user's words.
func githubProblemOf(err error) Problem {
	var de *delivery.Error
	if errors.As(err, &de) {
		return Problem{Code: string(de.Kind), Message: de.Message, Hint: de.Hint}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Problem{Code: string(delivery.KindUnavailable), Message: "GitHub did not answer within 10 seconds",
			Hint: "check the API base and that this server can reach the host on port 443"}
	}
	return Problem{Code: string(delivery.KindUnavailable), Message: "GitHub could not be reached",
		Hint: "check the API base and the network"}
}

// refusedError is Check's first problem as the error Activate and Update
// token answer with.
func refusedError(res CheckResult) error {
	p := res.Problems[0]
	return &delivery.Error{Kind: delivery.KindInvalid, Message: p.Message, Hint: p.Hint}
}

// Activate checks again and creates the integration: the token sealed, a
// fresh webhook secret, the repositories the token sees (none selected).
// One GitHub integration per workspace. A token that lacks a required
// permission is refused with the fix; optional ones missing leave out what
// they break (the status says so).
func (g *GitHub) Activate(ctx context.Context, workspaceID, apiBase, token string, _ bool) (Status, error) {
	existing, err := g.anyForWorkspace(ctx, workspaceID)
	if err == nil && existing.DisconnectedAt == nil {
		return Status{}, delivery.Errorf(delivery.KindConflict, "GitHub is already connected").
			WithHint("to change the token use Update token; repositories are picked on the integration screen")
	} else if err != nil && !delivery.IsNotFound(err) {
		return Status{}, err
	}
	res, err := g.Check(ctx, apiBase, token)
	if err != nil {
		return Status{}, err
	}
	if !res.OK {
		return Status{}, refusedError(res)
	}
	c, err := g.newClient(res.github.dep.api(), secret.New(strings.TrimSpace(token)))
	if err != nil {
		return Status{}, err
	}
	repos, err := c.Repositories(ctx)
	if err != nil {
		return Status{}, err
	}
	if existing.DisconnectedAt != nil {
		return g.reconnect(ctx, existing, res, token, repos)
	}
	tok := secret.New(strings.TrimSpace(token))
	id := store.NewID()
	tokenSealed, err := g.opts.Keys.Seal(tok, store.TokenSealContext(id))
	if err != nil {
		return Status{}, err
	}
	secretSealed, err := g.opts.Keys.Seal(secret.Random(32), store.WebhookSecretSealContext(id))
	if err != nil {
		return Status{}, err
	}
	dep, _ := json.Marshal(res.github.dep)
	scopes, _ := json.Marshal(res.github.perms)
	now := g.opts.Now()
	in := store.Integration{ID: id, WorkspaceID: workspaceID, Provider: GitHubProvider, OrgURL: res.OrgURL,
		Deployment: string(dep), ServerVersion: res.github.dep.Version, TokenSealed: tokenSealed, TokenHint: tok.Hint(),
		WebhookSecretSealed: secretSealed, Settings: "{}", Account: res.User, Scopes: string(scopes), CreatedAt: now, UpdatedAt: now}
	err = g.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateIntegration(ctx, in); err != nil {
			return err
		}
		return storeRepositories(ctx, tx, key(in), repos)
	})
	if delivery.KindOf(err) == delivery.KindConflict {
		return Status{}, delivery.Errorf(delivery.KindConflict, "GitHub is already connected").
			WithHint("to change the token use Update token")
	}
	if err != nil {
		return Status{}, err
	}
	g.opts.Logger.Info("GitHub activated", "workspace", workspaceID, "site", res.OrgURL, "repositories", len(repos))
	return g.Status(ctx, workspaceID)
}

// reconnect resumes an integration disconnected with its data kept: the
// same GitHub only. Its selected repositories get their webhooks again.
func (g *GitHub) reconnect(ctx context.Context, in store.Integration, res CheckResult, token string, repos []githubapi.Repository) (Status, error) {
	if res.OrgURL != in.OrgURL {
		return Status{}, delivery.Errorf(delivery.KindConflict, "the data of %s is kept from an earlier connection", in.OrgURL).
			WithHint("connect " + in.OrgURL + " again, or delete the kept data first (Disconnect → delete the data)")
	}
	tok := secret.New(strings.TrimSpace(token))
	sealed, err := g.opts.Keys.Seal(tok, store.TokenSealContext(in.ID))
	if err != nil {
		return Status{}, err
	}
	scopes, _ := json.Marshal(res.github.perms)
	err = g.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ReconnectIntegration(ctx, in.WorkspaceID, in.ID, store.TokenUpdate{Sealed: sealed, Hint: tok.Hint(),
			Account: res.User, Scopes: string(scopes)}, g.opts.Now()); err != nil {
			return err
		}
		if err := storeRepositories(ctx, tx, key(in), repos); err != nil {
			return err
		}
		return g.queueHooks(ctx, tx, in)
	})
	if err != nil {
		return Status{}, err
	}
	g.opts.Logger.Info("GitHub connected again", "workspace", in.WorkspaceID, "site", in.OrgURL)
	return g.Status(ctx, in.WorkspaceID)
}

// queueHooks queues the webhook registration of every selected repository.
func (g *GitHub) queueHooks(ctx context.Context, tx *store.Tx, in store.Integration) error {
	selected, err := tx.ListProjects(ctx, key(in), true)
	if err != nil || g.opts.Queue == nil {
		return err
	}
	for _, p := range selected {
		if err := g.opts.Queue.InsertTx(ctx, tx, RegisterGitHubHookArgs{IntegrationID: in.ID, ProjectID: p.ProjectID}, nil); err != nil {
			return err
		}
	}
	return nil
}

// storeRepositories stores listed repositories: one provider_projects row
// and one repositories row each, under GitHub's numeric id (a rename keeps
// it); the selection is kept.
func storeRepositories(ctx context.Context, tx *store.Tx, k store.Key, repos []githubapi.Repository) error {
	for _, r := range repos {
		id := strconv.FormatInt(r.ID, 10)
		state := "active"
		if r.Archived {
			state = "archived"
		}
		if err := tx.UpsertProject(ctx, store.Project{Key: k, ProjectID: id, Name: r.FullName, Description: r.Description,
			State: state, Visibility: r.Visibility, LastUpdateTime: r.PushedAt}); err != nil {
			return err
		}
		if err := tx.UpsertRepository(ctx, store.Repository{Key: k, RepoID: id, ProjectID: id, Name: r.FullName,
			DefaultBranch: r.DefaultBranch, WebURL: r.HTMLURL, IsDisabled: r.Archived}); err != nil {
			return err
		}
	}
	return nil
}

// UpdateToken checks a new token against the connected GitHub and replaces
// the sealed one. Webhooks stay (they are signed with the webhook secret,
// not the token); the ones GitHub refused are tried again.
func (g *GitHub) UpdateToken(ctx context.Context, workspaceID, token string) (Status, error) {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Status{}, err
	}
	res, err := g.Check(ctx, deploymentOf(in).REST, token)
	if err != nil {
		return Status{}, err
	}
	if !res.OK {
		return Status{}, refusedError(res)
	}
	tok := secret.New(strings.TrimSpace(token))
	sealed, err := g.opts.Keys.Seal(tok, store.TokenSealContext(in.ID))
	if err != nil {
		return Status{}, err
	}
	dep, _ := json.Marshal(res.github.dep)
	scopes, _ := json.Marshal(res.github.perms)
	progress, err := collect.Progress(ctx, g.opts.DB, key(in), ghcollect.Resources)
	if err != nil {
		return Status{}, err
	}
	err = g.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		// Backfills that stopped (they waited for a working token) resume
		// now, from their checkpoints: a snoozed job is made available.
		for _, p := range progress {
			if p.Finished == nil && p.Started != nil {
				if err := g.startBackfill(ctx, tx, in, p.ProjectID); err != nil {
					return err
				}
			}
		}
		if in.ErrorMessage != "" {
			// The token had stopped working: webhooks whose registration it
			// stopped are registered now (a registered one is kept), and
			// the reconciliation catches up now rather than at the next schedule.
			if err := g.queueHooks(ctx, tx, in); err != nil {
				return err
			}
			if g.opts.StartReconcile != nil {
				if err := g.opts.StartReconcile(ctx, tx, in.ID); err != nil {
					return err
				}
			}
		}
		if err := tx.UpdateIntegrationToken(ctx, workspaceID, in.ID, store.TokenUpdate{Sealed: sealed, Hint: tok.Hint(),
			Account: res.User, Scopes: string(scopes)}, g.opts.Now()); err != nil {
			return err
		}
		if err := tx.UpdateIntegrationDeployment(ctx, in.ID, string(dep), res.github.dep.Version); err != nil {
			return err
		}
		refused, err := tx.ListHookSubscriptions(ctx, key(in), "")
		if err != nil {
			return err
		}
		if err := tx.DeleteRefusedHooks(ctx, in.ID); err != nil {
			return err
		}
		for _, h := range refused {
			if h.Status == store.HookUnavailable && g.opts.Queue != nil {
				if err := g.opts.Queue.InsertTx(ctx, tx, RegisterGitHubHookArgs{IntegrationID: in.ID, ProjectID: h.ProjectID}, nil); err != nil {
					return err
				}
			}
		}
		if g.opts.TokenUpdated != nil {
			return g.opts.TokenUpdated(ctx, tx, in.ID)
		}
		return nil
	})
	if err != nil {
		return Status{}, err
	}
	g.opts.Logger.Info("GitHub token updated", "workspace", workspaceID, "integration", in.ID)
	return g.Status(ctx, workspaceID)
}

// RefreshProjects lists the repositories the token sees now, stores them
// (keeping the selection) and selects the new ones of the owners chosen
// as whole organizations.
func (g *GitHub) RefreshProjects(ctx context.Context, workspaceID string) ([]store.Project, error) {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	if err := g.RefreshRepositories(ctx, in.ID); err != nil {
		stored, serr := g.opts.DB.ListProjects(ctx, key(in), false)
		if serr == nil && len(stored) > 0 {
			g.opts.Logger.Warn("repository list from GitHub failed; showing the stored list", "err", err)
			return stored, nil
		}
		return nil, err
	}
	return g.opts.DB.ListProjects(ctx, key(in), false)
}

// RefreshRepositories is the refresh the reconciliation calls for an
// integration: the repository list read again and stored, and every
// repository not seen before whose owner is one of the settings'
// AutoOwners selected (its webhook registered).
func (g *GitHub) RefreshRepositories(ctx context.Context, integrationID string) error {
	c, in, err := g.Client(ctx, integrationID)
	if err != nil {
		return err
	}
	repos, err := c.Repositories(ctx)
	if err != nil {
		return err
	}
	before, err := g.opts.DB.ListProjects(ctx, key(in), false)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, p := range before {
		known[p.ProjectID] = true
	}
	auto := store.ParseSettings(in.Settings).AutoOwners
	now := g.opts.Now()
	return g.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := storeRepositories(ctx, tx, key(in), repos); err != nil {
			return err
		}
		for _, r := range repos {
			id := strconv.FormatInt(r.ID, 10)
			if known[id] || r.Archived || !ownerIn(auto, r.Owner) {
				continue
			}
			if err := g.selectTx(ctx, tx, in, id, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func ownerIn(owners []string, owner string) bool {
	return slices.ContainsFunc(owners, func(o string) bool { return strings.EqualFold(o, owner) })
}

func (g *GitHub) selectTx(ctx context.Context, tx *store.Tx, in store.Integration, repoID string, now time.Time) error {
	if err := tx.SetProjectSelected(ctx, key(in), repoID, true, now); err != nil {
		return err
	}
	if err := g.startBackfill(ctx, tx, in, repoID); err != nil {
		return err
	}
	if g.opts.Queue == nil {
		return nil
	}
	return g.opts.Queue.InsertTx(ctx, tx, RegisterGitHubHookArgs{IntegrationID: in.ID, ProjectID: repoID}, nil)
}

// startBackfill queues a selected repository's backfill in tx (none when
// no backfill is wired).
func (g *GitHub) startBackfill(ctx context.Context, tx *store.Tx, in store.Integration, repoID string) error {
	if g.opts.StartBackfill == nil {
		return nil
	}
	return g.opts.StartBackfill(ctx, tx, in.ID, repoID, g.opts.BackfillDays)
}

// SelectProjects saves the repository selection: newly selected ones get
// their webhook registered, deselected ones get it removed (their data
// stays, hidden from dashboards). Jobs are inserted in the transaction
// that saves the selection.
func (g *GitHub) SelectProjects(ctx context.Context, workspaceID string, selected []string) (Status, error) {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Status{}, err
	}
	repos, err := g.opts.DB.ListProjects(ctx, key(in), false)
	if err != nil {
		return Status{}, err
	}
	known := map[string]store.Project{}
	for _, p := range repos {
		known[p.ProjectID] = p
	}
	want := map[string]bool{}
	for _, id := range selected {
		p, ok := known[id]
		if !ok {
			return Status{}, delivery.Errorf(delivery.KindInvalid, "selected: %q is not a repository the token sees", id).
				WithHint("use the ids from GET /api/v1/integrations/github/repositories (refresh the list with POST)")
		}
		want[p.ProjectID] = true
	}
	now := g.opts.Now()
	err = g.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		for _, p := range repos {
			switch {
			case want[p.ProjectID] && !p.Selected:
				if err := g.selectTx(ctx, tx, in, p.ProjectID, now); err != nil {
					return err
				}
			case !want[p.ProjectID] && p.Selected:
				if err := tx.SetProjectSelected(ctx, key(in), p.ProjectID, false, now); err != nil {
					return err
				}
				if g.opts.Queue != nil {
					if err := g.opts.Queue.InsertTx(ctx, tx, RemoveGitHubHookArgs{IntegrationID: in.ID, ProjectID: p.ProjectID}, nil); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return Status{}, err
	}
	return g.Status(ctx, workspaceID)
}

// Settings returns the stored settings with the workspace's default rules.
func (g *GitHub) Settings(ctx context.Context, workspaceID string) (Settings, error) {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Settings{}, err
	}
	return g.settingsOf(ctx, in)
}

func (g *GitHub) settingsOf(ctx context.Context, in store.Integration) (Settings, error) {
	st := store.ParseSettings(in.Settings)
	rules, err := g.opts.DB.GetWorkspaceRules(ctx, in.WorkspaceID)
	st.RuleSettings = rules.Default
	return st, err
}

// githubLogin is GitHub's rule for user and organization names: letters,
// digits and single hyphens, not at either end, at most 39 characters.
var githubLogin = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

// maxAutoOwners bounds the "whole organization" list.
const maxAutoOwners = 100

// UpdateSettings replaces the GitHub settings: the owners whose new
// repositories are selected automatically (auto_owners), and the PR
// comments (post_pr_comments, comment_on_drafts, project_comments keyed by
// repository id). Choosing an owner also selects its repositories not
// selected yet. The rules are the workspace's (Settings → Rules) and are
// not changed here. Whether the token may write comments shows on the
// first one (Check connection cannot test a write harmlessly).
func (g *GitHub) UpdateSettings(ctx context.Context, workspaceID string, st Settings) (Settings, error) {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return st, err
	}
	if err := checkRules(Settings{ProjectComments: st.ProjectComments}); err != nil {
		return st, err
	}
	if len(st.AutoOwners) > maxAutoOwners {
		return st, delivery.Errorf(delivery.KindInvalid, "auto_owners has %d entries; at most %d", len(st.AutoOwners), maxAutoOwners).
			WithHint("list the organizations whose new repositories should be selected")
	}
	var owners []string
	for _, o := range st.AutoOwners {
		o = strings.TrimSpace(o)
		if !githubLogin.MatchString(o) {
			return st, delivery.Errorf(delivery.KindInvalid, "auto_owners: %q is not a GitHub user or organization name", o).
				WithHint("use the login as GitHub shows it in the repository's address, e.g. acme in github.com/acme/api")
		}
		if !ownerIn(owners, o) {
			owners = append(owners, o)
		}
	}
	sort.Strings(owners)
	stored := store.ParseSettings(in.Settings)
	before := stored.AutoOwners
	stored.AutoOwners = owners
	stored.PostPRComments, stored.CommentOnDrafts, stored.ProjectComments = st.PostPRComments, st.CommentOnDrafts, st.ProjectComments
	b, _ := json.Marshal(stored)
	repos, err := g.opts.DB.ListProjects(ctx, key(in), false)
	if err != nil {
		return st, err
	}
	now := g.opts.Now()
	err = g.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateIntegrationSettings(ctx, workspaceID, in.ID, string(b), now); err != nil {
			return err
		}
		for _, p := range repos {
			if owner, _, _ := strings.Cut(p.Name, "/"); !p.Selected && p.State != "archived" && ownerIn(owners, owner) && !ownerIn(before, owner) {
				if err := g.selectTx(ctx, tx, in, p.ProjectID, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	in.Settings = string(b)
	return g.settingsOf(ctx, in)
}

// SyncNow reads the repository list again (selecting new repositories of
// the whole organizations chosen), checks every webhook and runs a
// reconciliation now (what changed since the last one, with conditional
// requests).
func (g *GitHub) SyncNow(ctx context.Context, workspaceID string) error {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return err
	}
	if err := g.RefreshRepositories(ctx, in.ID); err != nil {
		return err
	}
	if g.opts.Queue == nil {
		return nil
	}
	return g.opts.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := g.opts.Queue.InsertTx(ctx, tx, GitHubHookHealthArgs{IntegrationID: in.ID}, nil); err != nil {
			return err
		}
		if g.opts.StartReconcile == nil {
			return nil
		}
		return g.opts.StartReconcile(ctx, tx, in.ID)
	})
}

// RerunBackfill runs a selected repository's backfill again now: a
// finished one starts over for a fresh window (rows are upserted by
// GitHub's ids, nothing is counted twice), a stopped or failed one resumes
// where it stopped.
func (g *GitHub) RerunBackfill(ctx context.Context, workspaceID, projectID string) (Status, error) {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Status{}, err
	}
	p, err := g.opts.DB.GetProject(ctx, key(in), projectID)
	if delivery.IsNotFound(err) {
		return Status{}, delivery.Errorf(delivery.KindNotFound, "%q is not a repository of this GitHub connection", projectID).
			WithHint("use the ids from GET /api/v1/integrations/github/repositories")
	}
	if err != nil {
		return Status{}, err
	}
	if !p.Selected {
		return Status{}, delivery.Errorf(delivery.KindPrecondition, "repository %s is not selected", p.Name).
			WithHint("select it and save: selecting a repository starts its backfill")
	}
	if g.opts.StartBackfill == nil {
		return Status{}, delivery.Errorf(delivery.KindUnavailable, "backfill is not available in this build").
			WithHint("webhooks keep collecting; try again after upgrading")
	}
	if err := g.opts.DB.InTx(ctx, func(tx *store.Tx) error { return g.startBackfill(ctx, tx, in, projectID) }); err != nil {
		return Status{}, err
	}
	g.opts.Logger.Info("backfill re-run", "integration", in.ID, "repository", p.Name)
	return g.Status(ctx, workspaceID)
}

// Jobs lists the GitHub integration's newest background jobs.
func (g *GitHub) Jobs(ctx context.Context, workspaceID string) ([]Job, error) {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return integrationJobs(ctx, g.opts.DB, g.opts.Queue, in)
}

// RetryJob runs one of the GitHub integration's jobs again now.
func (g *GitHub) RetryJob(ctx context.Context, workspaceID string, id int64) (Job, error) {
	in, err := g.forWorkspace(ctx, workspaceID)
	if err != nil {
		return Job{}, err
	}
	return retryIntegrationJob(ctx, g.opts.Queue, g.opts.Logger, in, id)
}
