package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TeamsPage is Settings → Teams: every team of the workspace, and for an
// admin the editor of one team (?team=<id>) and the form to create one.
// Readers see the teams without the forms.
type TeamsPage struct {
	Chrome
	Teams   []store.Team
	Edit    *TeamEditor
	NewName string // the create form, as typed
	Notice  string
	Error   *Problem
}

// TeamEditor is the form of one team: its name and every person and
// repository it can hold, the team's own checked.
type TeamEditor struct {
	Team     store.Team
	Name     string
	People   []TeamOption
	Projects []TeamProject
	// Chosen counts the checked people and repositories.
	ChosenPeople, ChosenRepositories int
}

// TeamOption is a checkbox of the editor: Value is
// "<integration id>/<provider id>".
type TeamOption struct {
	Value, Name, Detail string
	Checked             bool
}

// TeamProject groups a project's repositories in the editor.
type TeamProject struct {
	Name         string
	Repositories []TeamOption
}

const teamsPath = "/settings/teams"

var teamsNotices = map[string]string{
	"created": "Team created. Add its people and repositories below.",
	"saved":   "Team saved. The dashboard's figures for it follow at once.",
	"deleted": "Team deleted.",
}

// Teams renders Settings → Teams.
func (h *Pages) Teams(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	data := TeamsPage{Notice: teamsNotices[r.URL.Query().Get("saved")]}
	status := http.StatusOK
	if id := r.URL.Query().Get("team"); id != "" && p.IsAdmin() {
		t, err := h.DB.GetTeam(r.Context(), p.WorkspaceID(), id)
		if err != nil {
			return h.teamsError(w, r, err, data)
		}
		if data.Edit, err = h.editor(r, t, nil); err != nil {
			return err
		}
	}
	return h.renderTeams(w, r, status, data)
}

func (h *Pages) renderTeams(w http.ResponseWriter, r *http.Request, status int, data TeamsPage) error {
	p, _ := auth.FromContext(r.Context())
	teams, err := h.DB.ListTeams(r.Context(), p.WorkspaceID())
	if err != nil {
		return err
	}
	data.Chrome, data.Teams = chrome("Teams", p), teams
	return render(w, status, "teams.html", data)
}

// editor builds the form of team t; typed, unless nil, is what a refused
// form chose (kept so it can be corrected).
func (h *Pages) editor(r *http.Request, t store.Team, typed *store.TeamChange) (*TeamEditor, error) {
	ws := t.WorkspaceID
	people, err := h.DB.ListIdentities(r.Context(), ws)
	if err != nil {
		return nil, err
	}
	scopes, err := h.DB.ListScopes(r.Context(), ws)
	if err != nil {
		return nil, err
	}
	chosen := map[string]bool{}
	name := t.Name
	if typed != nil {
		name = *typed.Name
		for _, ref := range append(append([]store.TeamRef(nil), *typed.Members...), *typed.Repositories...) {
			chosen[ref.IntegrationID+"/"+ref.ID] = true
		}
	} else {
		for _, m := range t.Members {
			chosen[m.IntegrationID+"/"+m.IdentityID] = true
		}
		for _, rp := range t.Repositories {
			chosen[rp.IntegrationID+"/"+rp.RepoID] = true
		}
	}
	e := &TeamEditor{Team: t, Name: name}
	for _, person := range people {
		v := person.IntegrationID + "/" + person.IdentityID
		detail := "1 pull request"
		if person.PullRequests != 1 {
			detail = strconv.Itoa(person.PullRequests) + " pull requests"
		}
		e.People = append(e.People, TeamOption{Value: v, Name: person.DisplayName, Detail: detail, Checked: chosen[v]})
		if chosen[v] {
			e.ChosenPeople++
		}
	}
	for _, s := range scopes {
		g := TeamProject{Name: s.Name}
		for _, rp := range s.Repositories {
			v := rp.IntegrationID + "/" + rp.RepoID
			g.Repositories = append(g.Repositories, TeamOption{Value: v, Name: rp.Name, Checked: chosen[v]})
			if chosen[v] {
				e.ChosenRepositories++
			}
		}
		if len(g.Repositories) > 0 {
			e.Projects = append(e.Projects, g)
		}
	}
	return e, nil
}

// teamRefs reads the checked boxes of a field ("<integration>/<id>").
func teamRefs(values []string) []store.TeamRef {
	refs := []store.TeamRef{}
	for _, v := range values {
		in, id, ok := strings.Cut(v, "/")
		if !ok {
			in, id = "", v
		}
		refs = append(refs, store.TeamRef{IntegrationID: in, ID: id})
	}
	return refs
}

// teamsError shows a refused form again with why; kinds other than bad
// input, a taken name or a missing team are the server's to map.
func (h *Pages) teamsError(w http.ResponseWriter, r *http.Request, err error, data TeamsPage) error {
	var de *delivery.Error
	if !errors.As(err, &de) || de.Kind != delivery.KindInvalid && de.Kind != delivery.KindNotFound && de.Kind != delivery.KindConflict {
		return err
	}
	data.Error = &Problem{Message: de.Message, Hint: de.Hint}
	status := map[delivery.Kind]int{delivery.KindInvalid: http.StatusBadRequest, delivery.KindNotFound: http.StatusNotFound,
		delivery.KindConflict: http.StatusConflict}[de.Kind]
	return h.renderTeams(w, r, status, data)
}

// CreateTeam handles the create form.
func (h *Pages) CreateTeam(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	name := r.PostFormValue("name")
	t, err := h.DB.CreateTeam(r.Context(), p.WorkspaceID(), store.TeamChange{Name: &name}, time.Now())
	if err != nil {
		return h.teamsError(w, r, err, TeamsPage{NewName: name})
	}
	http.Redirect(w, r, teamsPath+"?team="+url.QueryEscape(t.ID)+"&saved=created#edit", http.StatusSeeOther)
	return nil
}

// SaveTeam handles a team's form: its name, people and repositories.
func (h *Pages) SaveTeam(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	id := r.PathValue("id")
	name := r.PostFormValue("name")
	members, repos := teamRefs(r.PostForm["member"]), teamRefs(r.PostForm["repository"])
	c := store.TeamChange{Name: &name, Members: &members, Repositories: &repos}
	if _, err := h.DB.UpdateTeam(r.Context(), p.WorkspaceID(), id, c, time.Now()); err != nil {
		data := TeamsPage{}
		if t, gerr := h.DB.GetTeam(r.Context(), p.WorkspaceID(), id); gerr == nil {
			if data.Edit, gerr = h.editor(r, t, &c); gerr != nil {
				return gerr
			}
		}
		return h.teamsError(w, r, err, data)
	}
	http.Redirect(w, r, teamsPath+"?team="+url.QueryEscape(id)+"&saved=saved#edit", http.StatusSeeOther)
	return nil
}

// DeleteTeam deletes a team with its members and repositories.
func (h *Pages) DeleteTeam(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	if err := h.DB.DeleteTeam(r.Context(), p.WorkspaceID(), r.PathValue("id")); err != nil {
		return h.teamsError(w, r, err, TeamsPage{})
	}
	http.Redirect(w, r, teamsPath+"?saved=deleted", http.StatusSeeOther)
	return nil
}
