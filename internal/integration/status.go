package integration

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Status is what the integration screen shows. A workspace without the
// integration gets Connected false and nothing else.
type Status struct {
	Connected bool   `json:"connected"`
	State     string `json:"state,omitempty"` // connected, limited or error
	// Limited names each scope the token lacks (required ones, and optional
	// ones a resource was refused for) with what it leaves out of the
	// figures and the fix; State is "limited" while a required one is in it.
	Limited          []Problem       `json:"limited,omitempty"`
	Error            *Problem        `json:"error,omitempty"`
	OrgURL           string          `json:"org_url,omitempty"`
	Deployment       string          `json:"deployment,omitempty"`
	Account          string          `json:"account,omitempty"`
	Token            string          `json:"token,omitempty"` // masked: the last four characters
	SelectedProjects int             `json:"selected_projects"`
	LastSync         *time.Time      `json:"last_sync"`
	Scopes           []ScopeResult   `json:"scopes,omitempty"`
	Warnings         []Problem       `json:"warnings,omitempty"`
	Projects         []ProjectStatus `json:"projects,omitempty"`
	Settings         *Settings       `json:"settings,omitempty"`
	// Backfill is the progress of each project's backfill.
	Backfill []collect.ProjectProgress `json:"backfill,omitempty"`
	// Runs are the latest backfill and reconciliation runs, newest first.
	Runs []SyncRun `json:"runs,omitempty"`
	// Comments counts PR comments by state, with the latest failure.
	Comments *CommentStatus `json:"pr_comments,omitempty"`
	// Disconnected is when an admin disconnected the integration keeping
	// its data (Connected is false, State "disconnected"): the dashboard
	// still shows what was collected until then.
	Disconnected *time.Time `json:"disconnected_at,omitempty"`
	// TokenKind is a GitHub token's kind: fine-grained or classic.
	TokenKind string `json:"token_kind,omitempty"`
	// Owners are the users and organizations of the repositories (GitHub),
	// for the picker's groups and its "whole organization" toggles.
	Owners []string `json:"owners,omitempty"`
}

// SyncRun is one finished backfill or reconciliation.
type SyncRun struct {
	Kind      string    `json:"kind"`
	Project   string    `json:"project,omitempty"`
	Finished  time.Time `json:"finished"`
	Duration  string    `json:"duration"`
	Fetched   int64     `json:"items_fetched"`
	Recovered int64     `json:"items_recovered"` // missed deliveries found
	Error     string    `json:"error,omitempty"`
}

// CommentStatus summarizes the PR comments.
type CommentStatus struct {
	Counts    map[string]int `json:"counts"`
	LastError string         `json:"last_error,omitempty"`
}

// ProjectStatus is one project of the picker with its hook health.
type ProjectStatus struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Selected bool       `json:"selected"`
	Hooks    HookHealth `json:"hooks"`
	// Owner is a GitHub repository's owner (user or organization).
	Owner string `json:"owner,omitempty"`
	// Backfill is this project's backfill progress, nil before it starts.
	Backfill *collect.ProjectProgress `json:"backfill,omitempty"`
}

// HookHealth counts a project's subscriptions by state.
type HookHealth struct {
	Enabled   int      `json:"enabled"`
	Probation int      `json:"on_probation"`
	Disabled  int      `json:"disabled"`
	Skipped   []string `json:"skipped,omitempty"` // event types not subscribed, with why
	// Unavailable: subscriptions Azure DevOps refused, with the reason; not
	// tried again until the token changes.
	Unavailable []string `json:"unavailable,omitempty"`
	Registered  bool     `json:"registered"`
	// Failing counts hooks whose latest deliveries failed (GitHub's
	// last_response and deliveries); Detail says what GitHub reported.
	Failing int    `json:"failing,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Status reports the workspace's integration.
func (s *Service) Status(ctx context.Context, workspaceID string) (Status, error) {
	in, err := s.anyForWorkspace(ctx, workspaceID)
	if delivery.IsNotFound(err) {
		return Status{Connected: false}, nil
	}
	if err != nil {
		return Status{}, err
	}
	if in.DisconnectedAt != nil {
		return Status{State: "disconnected", Disconnected: in.DisconnectedAt, OrgURL: in.OrgURL, LastSync: in.LastSyncAt}, nil
	}
	st := Status{Connected: true, State: "connected", OrgURL: in.OrgURL, Account: in.Account, Token: in.TokenHint,
		LastSync: in.LastSyncAt}
	var dep azdo.Deployment
	if json.Unmarshal([]byte(in.Deployment), &dep) == nil {
		st.Deployment = dep.String()
		if w := s.publicURLWarning(dep); w != "" {
			st.Warnings = append(st.Warnings, Problem{Code: "public_url", Message: w,
				Hint: "set PANDEV_PUBLIC_URL to an https address Azure DevOps can reach, then restart"})
		}
	}
	if in.ErrorMessage != "" {
		st.State = "error"
		st.Error = &Problem{Code: "error", Message: in.ErrorMessage, Hint: in.ErrorHint}
	}
	var scopes map[string]string
	_ = json.Unmarshal([]byte(in.Scopes), &scopes)
	limited := map[string]bool{}
	requiredMissing := false
	addLimited := func(sc azdo.Scope, message, hint string) {
		if limited[string(sc)] {
			return
		}
		limited[string(sc)] = true
		code := "optional_scope_missing"
		if sc.Required() {
			code, requiredMissing = "scope_missing", true
		}
		st.Limited = append(st.Limited, Problem{Code: code, Message: azdo.ScopeLabel(sc) + ": " + message, Hint: hint})
	}
	for _, sc := range append(append([]azdo.Scope{}, azdo.Scopes...), azdo.OptionalScopes...) {
		state := scopes[string(sc)]
		if state == "" {
			state = string(azdo.ScopeUnknown)
		}
		r := ScopeResult{Scope: string(sc), Label: azdo.ScopeLabel(sc), Required: sc.Required(), State: state, OK: state == string(azdo.ScopeGranted)}
		if !r.OK {
			r.Breaks, r.Fix = azdo.ScopeAdviceFor(sc, dep)
			if r.Required && (state == string(azdo.ScopeMissing) || state == string(azdo.ScopeForbidden)) {
				addLimited(sc, r.Breaks, r.Fix)
			}
		}
		st.Scopes = append(st.Scopes, r)
	}
	settings, err := s.settingsOf(ctx, in)
	if err != nil {
		return st, err
	}
	st.Settings = &settings
	projects, err := s.opts.DB.ListProjects(ctx, key(in), false)
	if err != nil {
		return st, err
	}
	hooks, err := s.opts.DB.ListHookSubscriptions(ctx, key(in), "")
	if err != nil {
		return st, err
	}
	byProject := map[string]*HookHealth{}
	for _, h := range hooks {
		hh := byProject[h.ProjectID]
		if hh == nil {
			hh = &HookHealth{}
			byProject[h.ProjectID] = hh
		}
		if h.Status == store.HookUnavailable {
			hh.Unavailable = append(hh.Unavailable, h.EventType+": "+h.Reason)
			continue
		}
		hh.Registered = true
		switch h.Status {
		case "enabled":
			hh.Enabled++
		case "onProbation":
			hh.Probation++
		default:
			hh.Disabled++
		}
	}
	if st.Backfill, err = collect.Progress(ctx, s.opts.DB, key(in), azure.Resources); err != nil {
		return st, err
	}
	if st.Runs, err = syncRuns(ctx, s.opts.DB, key(in)); err != nil {
		return st, err
	}
	counts, lastErr, err := s.opts.DB.CountPRCommentStates(ctx, key(in))
	if err != nil {
		return st, err
	}
	st.Comments = &CommentStatus{Counts: counts, LastError: lastErr}
	progress := map[string]*collect.ProjectProgress{}
	for i := range st.Backfill {
		progress[st.Backfill[i].ProjectID] = &st.Backfill[i]
	}
	selected := map[string]bool{}
	for _, p := range projects {
		selected[p.ProjectID] = p.Selected
	}
	for _, pp := range st.Backfill {
		if !selected[pp.ProjectID] {
			continue
		}
		for _, b := range pp.Blocked {
			addLimited(azdo.Scope(b.Scope), b.Message, b.Hint)
		}
	}
	if st.State == "connected" && requiredMissing {
		// A scope of the manual's Step 1 is missing (or a resource it reads
		// was refused): never shown as plainly Connected. Optional scopes
		// alone keep "connected" and are listed in Limited.
		st.State = "limited"
	}
	for _, p := range projects {
		ps := ProjectStatus{ID: p.ProjectID, Name: p.Name, Selected: p.Selected, Backfill: progress[p.ProjectID]}
		if hh := byProject[p.ProjectID]; hh != nil {
			ps.Hooks = *hh
		}
		if p.Selected {
			st.SelectedProjects++
			ps.Hooks.Skipped = skippedEvents(scopes, dep)
		}
		st.Projects = append(st.Projects, ps)
	}
	return st, nil
}

// projectRow is a listed project as stored.
func projectRow(k store.Key, p azdo.Project) store.Project {
	return store.Project{Key: k, ProjectID: p.ID, Name: p.Name, Description: p.Description, State: p.State,
		Visibility: p.Visibility, LastUpdateTime: p.LastUpdateTime.Ptr()}
}

// syncRuns are an integration's latest backfill and reconciliation runs.
func syncRuns(ctx context.Context, db *store.DB, k store.Key) ([]SyncRun, error) {
	runs, err := db.ListSyncRuns(ctx, k, 5)
	var out []SyncRun
	for _, r := range runs {
		out = append(out, SyncRun{Kind: string(r.Kind), Project: r.ProjectID, Finished: r.FinishedAt,
			Duration: r.Duration().Round(time.Millisecond).String(), Fetched: r.ItemsFetched, Recovered: r.ItemsRecovered, Error: r.Error})
	}
	return out, err
}
