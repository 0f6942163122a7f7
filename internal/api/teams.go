package api

import (
	"net/http"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// Team is a team as the API shows it (docs/guide/teams.md).
type Team struct {
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
	Members      []TeamMember     `json:"members"`
	Repositories []TeamRepository `json:"repositories"`
}

// TeamMember is a person of a team: an identity seen in the data.
type TeamMember struct {
	IntegrationID string `json:"integration_id"`
	ID            string `json:"id"`
	DisplayName   string `json:"display_name"`
	UniqueName    string `json:"unique_name,omitempty"`
}

// TeamRepository is a repository of a team.
type TeamRepository struct {
	IntegrationID string `json:"integration_id"`
	ID            string `json:"id"`
	ProjectID     string `json:"project_id"`
	Name          string `json:"name"`
}

// Person is an identity seen in the workspace's data, that a team can hold.
type Person struct {
	IntegrationID string    `json:"integration_id"`
	ID            string    `json:"id"`
	DisplayName   string    `json:"display_name"`
	PullRequests  int       `json:"pull_requests"`
	LastSeen      time.Time `json:"last_seen"`
}

func teamOf(t store.Team) Team {
	out := Team{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		Members: []TeamMember{}, Repositories: []TeamRepository{}}
	for _, m := range t.Members {
		out.Members = append(out.Members, TeamMember{IntegrationID: m.IntegrationID, ID: m.IdentityID,
			DisplayName: m.DisplayName, UniqueName: m.UniqueName})
	}
	for _, r := range t.Repositories {
		out.Repositories = append(out.Repositories, TeamRepository{IntegrationID: r.IntegrationID, ID: r.RepoID,
			ProjectID: r.ProjectID, Name: r.Name})
	}
	return out
}

// teamBody is the body of POST and PUT: absent fields are kept by PUT.
type teamBody struct {
	Name         *string          `json:"name"`
	Members      *[]store.TeamRef `json:"members"`
	Repositories *[]store.TeamRef `json:"repositories"`
}

func (b teamBody) change() store.TeamChange {
	return store.TeamChange{Name: b.Name, Members: b.Members, Repositories: b.Repositories}
}

// ListTeams answers GET /api/v1/teams: the workspace's teams by name.
func (h *Handlers) ListTeams(w http.ResponseWriter, r *http.Request) error {
	teams, err := h.DB.ListTeams(r.Context(), principal(r).WorkspaceID())
	if err != nil {
		return err
	}
	out := make([]Team, 0, len(teams))
	for _, t := range teams {
		out = append(out, teamOf(t))
	}
	return write(w, http.StatusOK, map[string]any{"teams": out})
}

// ListPeople answers GET /api/v1/teams/people: the identities a team can
// hold (the authors of the workspace's pull requests), by name.
func (h *Handlers) ListPeople(w http.ResponseWriter, r *http.Request) error {
	people, err := h.DB.ListIdentities(r.Context(), principal(r).WorkspaceID())
	if err != nil {
		return err
	}
	out := make([]Person, 0, len(people))
	for _, p := range people {
		out = append(out, Person{IntegrationID: p.IntegrationID, ID: p.IdentityID, DisplayName: p.DisplayName,
			PullRequests: p.PullRequests, LastSeen: p.LastSeen})
	}
	return write(w, http.StatusOK, map[string]any{"people": out})
}

// CreateTeam answers POST /api/v1/teams {"name", "members", "repositories"}.
func (h *Handlers) CreateTeam(w http.ResponseWriter, r *http.Request) error {
	var req teamBody
	if err := decode(r, &req); err != nil {
		return err
	}
	t, err := h.DB.CreateTeam(r.Context(), principal(r).WorkspaceID(), req.change(), time.Now())
	if err != nil {
		return err
	}
	return write(w, http.StatusCreated, teamOf(t))
}

// GetTeam answers GET /api/v1/teams/{id}; another workspace's team is 404.
func (h *Handlers) GetTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := h.DB.GetTeam(r.Context(), principal(r).WorkspaceID(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, teamOf(t))
}

// PutTeam answers PUT /api/v1/teams/{id}: renames the team and replaces
// its members or repositories, each when given.
func (h *Handlers) PutTeam(w http.ResponseWriter, r *http.Request) error {
	var req teamBody
	if err := decode(r, &req); err != nil {
		return err
	}
	t, err := h.DB.UpdateTeam(r.Context(), principal(r).WorkspaceID(), r.PathValue("id"), req.change(), time.Now())
	if err != nil {
		return err
	}
	return write(w, http.StatusOK, teamOf(t))
}

// DeleteTeam answers DELETE /api/v1/teams/{id} with 204.
func (h *Handlers) DeleteTeam(w http.ResponseWriter, r *http.Request) error {
	if err := h.DB.DeleteTeam(r.Context(), principal(r).WorkspaceID(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
