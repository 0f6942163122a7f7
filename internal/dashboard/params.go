package dashboard

import (
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Limits of a window: long enough for a year-over-year view, short enough
// that a day series stays a readable size.
const (
	DefaultWindow = 30 * 24 * time.Hour
	MaxWindow     = 731 * 24 * time.Hour
	MaxDayPoints  = 400
)

// query is a parsed, validated dashboard request.
type query struct {
	Window   delivery.Window
	Interval metrics.Interval
	View     string
	// Raw keeps the filters as given (dates as typed), for links and forms.
	From, To, Project, Repository, Team, Source string
}

// parseQuery reads from, to, project, repository, team, source (and interval and
// view where allowed) the same way for every endpoint and the page.
// Unknown parameters are refused so a typo ("repo=") cannot silently widen
// a figure.
func parseQuery(v url.Values, now time.Time, scopes []store.Scope, teams []store.Team, allowed ...string) (query, error) {
	known := append([]string{"from", "to", "project", "repository", "team", "source"}, allowed...)
	var unknown []string
	for k := range v {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return query{}, delivery.Errorf(delivery.KindInvalid, "unknown parameter %q", unknown[0]).
			WithHint("use only " + strings.Join(known, ", "))
	}
	q := query{From: v.Get("from"), To: v.Get("to"), Project: v.Get("project"), Repository: v.Get("repository"), Team: v.Get("team"), Source: v.Get("source")}
	to, err := delivery.ParseTimeParam("to", q.To)
	if err != nil {
		return q, err
	}
	if to.IsZero() {
		// The default window ends with today (UTC) included.
		y, m, d := now.UTC().Date()
		to = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	}
	from, err := delivery.ParseTimeParam("from", q.From)
	if err != nil {
		return q, err
	}
	if from.IsZero() {
		from = to.Add(-DefaultWindow)
	}
	if !from.Before(to) {
		return q, delivery.Errorf(delivery.KindInvalid, "from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339)).
			WithHint("the window is [from, to): pick a later to or an earlier from")
	}
	if to.Sub(from) > MaxWindow {
		return q, delivery.Errorf(delivery.KindInvalid, "the window from %s to %s is longer than two years", from.Format("2006-01-02"), to.Format("2006-01-02")).
			WithHint("narrow from and to to at most 731 days")
	}
	q.Window = delivery.Window{From: from, To: to}
	if q.Window.Source, err = resolveSource(q.Source, scopes); err != nil {
		return q, err
	}
	if q.Window.Project, q.Window.Repository, err = resolveScope(q.Project, q.Repository, scopes); err != nil {
		return q, err
	}
	if src := q.Window.Source; src != nil && q.Window.Project != "" && !src.Projects[q.Window.Project] {
		return q, delivery.Errorf(delivery.KindInvalid, "project %q is not a project of source %q", q.Project, q.Source).
			WithHint("pick a project of that source, or leave project empty for all of its projects")
	}
	if src := q.Window.Source; src != nil && q.Window.Repository != "" && !src.Projects[projectOf(q.Window.Repository, scopes)] {
		return q, delivery.Errorf(delivery.KindInvalid, "repository %q is not a repository of source %q", q.Repository, q.Source).
			WithHint("pick a repository of that source, or leave repository empty for all of its repositories")
	}
	if q.Window.Team, err = resolveTeam(q.Team, teams); err != nil {
		return q, err
	}
	if slices.Contains(allowed, "interval") {
		switch iv := v.Get("interval"); iv {
		case "", "week":
			q.Interval = metrics.Week
		case "day":
			q.Interval = metrics.Day
			if to.Sub(from) > MaxDayPoints*24*time.Hour {
				return q, delivery.Errorf(delivery.KindInvalid, "interval=day over more than %d days", MaxDayPoints).
					WithHint("use interval=week, or narrow from and to")
			}
		default:
			return q, delivery.Errorf(delivery.KindInvalid, "interval %q is not day or week", iv).
				WithHint("use interval=day or interval=week")
		}
	}
	q.View = v.Get("view")
	return q, nil
}

// resolveScope accepts a project and a repository by id or by name (names
// compare case-insensitively) and checks that they exist in the workspace
// and that the repository belongs to the project.
func resolveScope(project, repository string, scopes []store.Scope) (string, string, error) {
	projectID := ""
	if project != "" {
		for _, s := range scopes {
			if s.ProjectID == project || strings.EqualFold(s.Name, project) {
				projectID = s.ProjectID
				break
			}
		}
		if projectID == "" {
			return "", "", delivery.Errorf(delivery.KindInvalid, "project %q is not a project of this workspace", project).
				WithHint("use a project id or name from the dashboard's project filter, or leave project empty for all")
		}
	}
	if repository == "" {
		return projectID, "", nil
	}
	for _, s := range scopes {
		for _, r := range s.Repositories {
			if r.RepoID != repository && !strings.EqualFold(r.Name, repository) {
				continue
			}
			if projectID != "" && r.ProjectID != projectID {
				continue // a same-named repository of another project
			}
			return projectID, r.RepoID, nil
		}
	}
	if projectID != "" {
		return "", "", delivery.Errorf(delivery.KindInvalid, "repository %q is not a repository of project %q", repository, project).
			WithHint("pick a repository of that project, or leave repository empty")
	}
	return "", "", delivery.Errorf(delivery.KindInvalid, "repository %q is not a repository of this workspace", repository).
		WithHint("use a repository id or name from the dashboard's repository filter, or leave repository empty for all")
}

// Source is a value of the source filter: a provider name and how people
// call it.
type Source struct {
	Provider, Label string
}

// Sources are the providers the source filter accepts, in the order the
// dashboard shows them.
var Sources = []Source{{"azure-devops", "Azure DevOps"}, {"github", "GitHub"}}

// sourceLabel is a provider's name for people; the provider itself when
// unknown.
func sourceLabel(provider string) string {
	for _, s := range Sources {
		if s.Provider == provider {
			return s.Label
		}
	}
	return provider
}

// resolveSource accepts a provider name and returns what its filter keeps:
// the projects of that provider's integrations; nil for "". A provider the
// workspace has not connected keeps nothing (empty figures, not an error),
// so a saved link stays valid while an integration is away.
func resolveSource(source string, scopes []store.Scope) (*delivery.SourceScope, error) {
	if source == "" {
		return nil, nil
	}
	names := make([]string, len(Sources))
	for i, s := range Sources {
		names[i] = s.Provider
	}
	if !slices.Contains(names, source) {
		return nil, delivery.Errorf(delivery.KindInvalid, "source %q is not a known source", source).
			WithHint("use source=" + strings.Join(names, " or source=") + ", or leave source out for every source combined")
	}
	scope := &delivery.SourceScope{Provider: source, Projects: map[string]bool{}}
	for _, s := range scopes {
		if s.Provider == source {
			scope.Projects[s.ProjectID] = true
		}
	}
	return scope, nil
}

// projectOf is the project of a repository id; "" when unknown.
func projectOf(repo string, scopes []store.Scope) string {
	for _, s := range scopes {
		for _, r := range s.Repositories {
			if r.RepoID == repo {
				return r.ProjectID
			}
		}
	}
	return ""
}

// resolveTeam accepts a team by id or by name (names compare
// case-insensitively) and returns what its filter keeps; nil for "".
func resolveTeam(team string, teams []store.Team) (*delivery.TeamScope, error) {
	if team == "" {
		return nil, nil
	}
	for _, t := range teams {
		if t.ID != team && !strings.EqualFold(t.Name, team) {
			continue
		}
		scope := &delivery.TeamScope{ID: t.ID, Name: t.Name, Repositories: map[string]bool{}, Authors: map[string]bool{}}
		for _, r := range t.Repositories {
			scope.Repositories[r.RepoID] = true
		}
		for _, m := range t.Members {
			scope.Authors[m.IdentityID] = true
		}
		return scope, nil
	}
	return nil, delivery.Errorf(delivery.KindInvalid, "team %q is not a team of this workspace", team).
		WithHint("use a team id or name from GET /api/v1/teams or the dashboard's team filter, or leave team empty for all")
}

// previous is the window of the same length just before w, for trends.
func previous(w delivery.Window) delivery.Window {
	p := w
	p.From, p.To = w.From.Add(-w.Duration()), w.From
	return p
}
