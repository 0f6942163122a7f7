package delivery

import "time"

// Window is the period and filter a figure is computed over: [From, To) in
// UTC, optionally narrowed to one provider project and one repository. An
// item belongs to the window by the timestamp its metric definition names.
type Window struct {
	From time.Time // inclusive
	To   time.Time // exclusive

	// Project and Repository are provider ids; empty means "all".
	Project    string
	Repository string
	// Team, unless nil, narrows the window to a team's items (TeamScope).
	Team *TeamScope
	// Source, unless nil, narrows the window to the projects of one
	// provider's integrations (SourceScope).
	Source *SourceScope
}

// SourceScope is what a source filter keeps (docs/guide/metrics.md
// "Sources"): the items of the projects whose integration is of Provider
// ("azure-devops", "github"). It is a filter on the project, so it holds
// for every kind of item a project has.
type SourceScope struct {
	Provider string
	Projects map[string]bool // project ids
}

// TeamScope is what a team filter keeps (docs/guide/metrics.md "Teams"):
// a pull request of one of the team's repositories or authored by one of
// its members; a deployment, its lead time items and its failures, an
// incident attributed to it and a work item it delivered, of one of the
// team's repositories. Keys are provider ids, as in the rows.
type TeamScope struct {
	ID           string
	Name         string
	Repositories map[string]bool // repository ids
	Authors      map[string]bool // provider identity ids of the members
}

// Contains reports whether t lies in [From, To).
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.From) && t.Before(w.To)
}

// Matches reports whether an item of the given project and repository passes
// the window's filters. An empty filter matches everything.
func (w Window) Matches(project, repository string) bool {
	return w.MatchesProject(project) && w.MatchesRepository(repository)
}

// MatchesRepository reports whether an item of the given repository passes
// the repository and team filters.
func (w Window) MatchesRepository(repository string) bool {
	return (w.Repository == "" || w.Repository == repository) &&
		(w.Team == nil || w.Team.Repositories[repository])
}

// MatchesPullRequest reports whether a pull request passes the window's
// filters: the project and repository filters as for any item, and the
// team filter by its repository or its author.
func (w Window) MatchesPullRequest(project, repository, author string) bool {
	if !w.MatchesProject(project) || (w.Repository != "" && w.Repository != repository) {
		return false
	}
	return w.Team == nil || w.Team.Repositories[repository] || (author != "" && w.Team.Authors[author])
}

// MatchesProject reports whether an item of the given project passes the
// project and source filters; for items that belong to no repository, such as work items.
func (w Window) MatchesProject(project string) bool {
	return (w.Project == "" || w.Project == project) && (w.Source == nil || w.Source.Projects[project])
}

// Duration is the length of the window.
func (w Window) Duration() time.Duration {
	return w.To.Sub(w.From)
}

// ParseTimeParam reads a window bound given by a person or a URL: RFC 3339
// or a UTC day (2026-11-01), from 1970 to 9999. Empty means unset (the zero
// time). name is the parameter, for the error.
func ParseTimeParam(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				// 0001-01-01 is the zero time, which means "unset": a
				// sentinel like it must not stand for "no limit".
				return time.Time{}, Errorf(KindInvalid, "%s %q is not a date this server keeps data for", name, s).
					WithHint("use a date from 1970 on, or leave it out for the default window")
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, Errorf(KindInvalid, "%s %q is not a date", name, s).
		WithHint("use RFC 3339 (2026-11-01T00:00:00Z) or a UTC day (2026-11-01)")
}
