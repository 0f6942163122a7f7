package server

import (
	"net/http"

	"github.com/pandev-metrics/pandev/internal/api"
	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/dashboard"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/web"
)

type route struct {
	pattern string
	access  access
	h       handlerFunc
}

// routes is every route of the server, in one table.
func (s *Server) routes() []route {
	jobsUI := s.deps.JobsUI
	if jobsUI == nil {
		jobsUI = http.NotFoundHandler()
	}
	webhookHandler := notFound
	if s.deps.Webhook != nil {
		webhookHandler = s.deps.Webhook.ServeHTTP
	}
	githubWebhook := notFound
	if s.deps.GitHubWebhook != nil {
		githubWebhook = s.deps.GitHubWebhook
	}
	return []route{
		// Health and operations.
		{"GET /healthz", public, s.healthz},
		{"GET /readyz", public, s.readyz},
		{"GET /metrics", public, s.metrics()},
		{"/admin/jobs/", operator, serveHTTP(jobsUI)},

		// Azure DevOps service hooks: any path takes any event type.
		{"POST /v1/azure/webhook/project", machine, webhookHandler},
		{"POST /v1/azure/webhook/merge-request", machine, webhookHandler},
		{"POST /v1/azure/webhook/boards", machine, webhookHandler},
		{"POST /v1/azure/webhook/pipeline", machine, webhookHandler},
		// GitHub repository webhooks: ?integration=ID, X-Hub-Signature-256.
		{"POST /v1/github/webhook", machine, githubWebhook},

		// Browser pages.
		{"GET /static/", public, serveHTTP(web.Static())},
		{"GET /login", public, s.pages.ShowLogin},
		{"POST /login", public, s.pages.Login},
		{"POST /logout", member, s.pages.Logout},
		{"GET /{$}", member, s.home},
		{"GET " + dashboard.StaticPrefix, public, dashboard.Static},
		{"GET /settings/integrations", admin, s.pages.IntegrationsIndex},
		{"GET /settings/rules", admin, s.pages.Rules},
		{"POST /settings/rules", admin, s.pages.SaveRules},
		{"POST /settings/rules/projects", admin, s.pages.SaveProjectRules},
		{"POST /settings/rules/projects/{id}/delete", admin, s.pages.ClearProjectRules},
		{"GET /settings/integrations/azure-devops", admin, s.pages.AzureDevOps},
		{"POST /settings/integrations/azure-devops", admin, s.pages.ConnectAzure},
		{"POST /settings/integrations/azure-devops/projects", admin, s.pages.SaveProjects},
		{"POST /settings/integrations/azure-devops/token", admin, s.pages.UpdateAzureToken},
		{"POST /settings/integrations/azure-devops/org-url", admin, s.pages.ChangeAzureOrgURL},
		{"POST /settings/integrations/azure-devops/settings", admin, s.pages.SaveAzureSettings},
		{"POST /settings/integrations/azure-devops/sync", admin, s.pages.SyncAzure},
		{"POST /settings/integrations/azure-devops/disconnect", admin, s.pages.DisconnectAzure},
		{"POST /settings/integrations/azure-devops/projects/{id}/backfill", admin, s.pages.RerunBackfill},
		{"POST /settings/integrations/azure-devops/jobs/{id}/retry", admin, s.pages.RetryJob},
		{"GET /settings/integrations/github", admin, s.pages.GitHubPage},
		{"POST /settings/integrations/github", admin, s.pages.ConnectGitHub},
		{"POST /settings/integrations/github/repositories", admin, s.pages.SaveRepositories},
		{"POST /settings/integrations/github/refresh", admin, s.pages.RefreshGitHub},
		{"POST /settings/integrations/github/token", admin, s.pages.UpdateGitHubToken},
		{"POST /settings/integrations/github/comments", admin, s.pages.SaveGitHubComments},
		{"POST /settings/integrations/github/disconnect", admin, s.pages.DisconnectGitHub},
		{"POST /settings/integrations/github/jobs/{id}/retry", admin, s.pages.RetryGitHubJob},
		{"GET /settings/teams", member, s.pages.Teams},
		{"POST /settings/teams", admin, s.pages.CreateTeam},
		{"POST /settings/teams/{id}", admin, s.pages.SaveTeam},
		{"POST /settings/teams/{id}/delete", admin, s.pages.DeleteTeam},
		{"GET /settings/members", admin, s.pages.Members},
		{"POST /settings/members", admin, s.pages.InviteMember},
		{"POST /settings/members/{id}", admin, s.pages.UpdateMember},
		{"POST /settings/members/{id}/sessions", admin, s.pages.EndMemberSessions},
		{"GET " + web.HelpPath, public, web.Help},
		{"GET " + web.HelpPath + "/{$}", public, web.Help},
		{"GET " + web.HelpPath + "/{page}", public, web.Help},
		{"GET /settings/tokens", member, s.pages.Tokens},
		{"POST /settings/tokens", member, s.pages.CreateToken},
		{"POST /settings/tokens/{id}/revoke", member, s.pages.RevokeToken},

		// JSON API.
		{"GET " + api.OpenAPIPath, public, api.OpenAPI},
		{"GET " + web.APIDocsPath, public, s.apiDocs},
		{"GET /api/v1/me", member, s.api.GetMe},
		{"GET /api/v1/tokens", member, s.api.ListTokens},
		{"POST /api/v1/tokens", member, s.api.CreateToken},
		{"DELETE /api/v1/tokens/{id}", member, s.api.DeleteToken},
		{"GET /api/v1/members", admin, s.api.ListMembers},
		{"POST /api/v1/members", admin, s.api.CreateMember},
		{"PATCH /api/v1/members/{id}", admin, s.api.PatchMember},
		{"DELETE /api/v1/members/{id}/sessions", admin, s.api.EndMemberSessions},
		{"POST /api/v1/integrations/{provider}/check", admin, s.api.CheckConnection},
		{"POST /api/v1/integrations/{provider}", admin, s.api.Activate},
		{"GET /api/v1/integrations/{provider}", admin, s.api.IntegrationStatus},
		{"DELETE /api/v1/integrations/{provider}", admin, s.api.Disconnect},
		{"GET /api/v1/integrations/{provider}/projects", admin, s.api.ListProjects},
		{"PUT /api/v1/integrations/{provider}/projects", admin, s.api.SelectProjects},
		{"PUT /api/v1/integrations/{provider}/token", admin, s.api.UpdateToken},
		{"PUT /api/v1/integrations/{provider}/org-url", admin, s.api.ChangeOrgURL},
		{"GET /api/v1/integrations/{provider}/repositories", admin, s.api.ListRepositories},
		{"PUT /api/v1/integrations/{provider}/repositories", admin, s.api.SelectRepositories},
		{"POST /api/v1/integrations/{provider}/repositories", admin, s.api.RefreshRepositories},
		{"GET /api/v1/integrations/{provider}/settings", admin, s.api.GetSettings},
		{"PATCH /api/v1/integrations/{provider}/settings", admin, s.api.PatchSettings},
		{"POST /api/v1/integrations/{provider}/sync", admin, s.api.SyncNow},
		{"POST /api/v1/integrations/{provider}/projects/{id}/backfill", admin, s.api.RerunBackfill},
		{"GET /api/v1/teams", member, s.api.ListTeams},
		{"POST /api/v1/teams", admin, s.api.CreateTeam},
		{"GET /api/v1/teams/people", member, s.api.ListPeople},
		{"GET /api/v1/teams/{id}", member, s.api.GetTeam},
		{"PUT /api/v1/teams/{id}", admin, s.api.PutTeam},
		{"DELETE /api/v1/teams/{id}", admin, s.api.DeleteTeam},
		{"GET /api/v1/rules", member, s.api.GetRules},
		{"PUT /api/v1/rules", admin, s.api.PutDefaultRules},
		{"PUT /api/v1/rules/projects/{id}", admin, s.api.PutProjectRules},
		{"DELETE /api/v1/rules/projects/{id}", admin, s.api.DeleteProjectRules},
		{"GET /api/v1/integrations/{provider}/jobs", admin, s.api.ListJobs},
		{"POST /api/v1/integrations/{provider}/jobs/{id}/retry", admin, s.api.RetryJob},
		{"GET /api/v1/integrations/{provider}/pr-comments/preview", admin, s.api.PreviewPRComment},
		{"POST /api/v1/integrations/{provider}/rules/preview", admin, s.api.PreviewRules},
		{"GET /api/v1/metrics/dora", member, s.deps.Dashboard.DORA},
		{"GET /api/v1/metrics/pull-requests", member, s.deps.Dashboard.PullRequests},
		{"GET /api/v1/metrics/work-items", member, s.deps.Dashboard.WorkItems},
		{"GET /api/v1/metrics/{kind}/series", member, s.deps.Dashboard.Series},
		{"GET " + dashboard.EventsPath, member, s.deps.Dashboard.Events},
		{"GET " + dashboard.DefinitionsPath, member, s.deps.Dashboard.Definitions},
		{"GET /api/v1/commits", member, s.api.ListCommits},
		{"GET /api/v1/pull-requests", member, s.api.ListPullRequests},
		{"GET /api/v1/pipeline-runs", member, s.api.ListPipelineRuns},
		{"GET /api/v1/deployments", member, s.api.ListDeployments},
		{"GET /api/v1/work-items", member, s.api.ListWorkItems},
		{"/api/", public, api.NotFound},

		// Anything else.
		{"/", public, notFound},
	}
}

// RouteInfo is one route of the table and who may call it, for tests
// and the abuse report that try every route with the wrong caller.
type RouteInfo struct {
	Pattern string // "METHOD /path" as registered ("" method: any)
	Access  string // public, machine, member, admin or operator
}

// Routes lists the route table.
func (s *Server) Routes() []RouteInfo {
	names := map[access]string{public: "public", machine: "machine", member: "member", admin: "admin", operator: "operator"}
	var out []RouteInfo
	for _, r := range s.routes() {
		out = append(out, RouteInfo{Pattern: r.pattern, Access: names[r.access]})
	}
	return out
}

// home is the dashboard once Azure DevOps is connected, and before that
// the empty state that says what to do next.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	ins, err := s.deps.DB.ListIntegrations(r.Context(), p.WorkspaceID(), "azure-devops")
	if err != nil {
		return err
	}
	if len(ins) == 0 || s.deps.Dashboard == nil {
		return s.pages.Home(w, r)
	}
	return s.deps.Dashboard.Page(w, r)
}

// apiDocs serves the OpenAPI document as a readable page, each operation
// with the access level the route table gives it (built once).
func (s *Server) apiDocs(w http.ResponseWriter, r *http.Request) error {
	s.apiRefOnce.Do(func() {
		access := map[string]string{}
		for _, ri := range s.Routes() {
			access[ri.Pattern] = ri.Access
		}
		s.apiRef, s.apiRefErr = web.NewAPIReference(api.OpenAPIDocument(), access)
	})
	if s.apiRefErr != nil {
		return s.apiRefErr
	}
	return web.APIDocs(w, r, s.apiRef)
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return delivery.Errorf(delivery.KindNotFound, "there is no page at %s", r.URL.Path).WithHint("check the address")
}
