package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// RulesPage is Settings → Rules: the workspace's rules and the projects
// that have their own.
type RulesPage struct {
	Chrome
	Set         integration.RuleSet
	Form        store.RuleSettings // the workspace form, as saved or as typed
	ProjectForm store.RuleSettings
	Projects    []integration.ProjectStatus // projects that can get their own rules
	Preview     *integration.RulesPreview
	Notice      string
	Error       *Problem
}

// IntegrationsPage is Settings → Integrations: every source and its state.
type IntegrationsPage struct {
	Chrome
	Providers []ProviderEntry
}

// ProviderEntry is one source on the Integrations page.
type ProviderEntry struct {
	Provider, Name       string
	Available, Connected bool
	State, StateLabel    string
	OrgURL               string
}

const rulesPath = "/settings/rules"

var rulesNotices = map[string]string{
	"saved":   "Workspace rules saved. The figures follow at once.",
	"project": "Project rules saved. The figures of that project follow at once.",
	"cleared": "The project follows the workspace rules again.",
}

// IntegrationsIndex renders Settings → Integrations.
func (h *Pages) IntegrationsIndex(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	st, err := h.Integrations.Status(r.Context(), p.WorkspaceID())
	if err != nil {
		return err
	}
	azure := ProviderEntry{Provider: "azure-devops", Name: "Azure DevOps", Available: true, Connected: st.Connected,
		State: st.State, OrgURL: st.OrgURL}
	azure.StateLabel = stateLabel(st.State)
	gh := ProviderEntry{Provider: "github", Name: "GitHub", Available: h.GitHub != nil}
	if h.GitHub != nil {
		gst, err := h.GitHub.Status(r.Context(), p.WorkspaceID())
		if err != nil {
			return err
		}
		gh.Connected, gh.State, gh.OrgURL = gst.Connected, gst.State, gst.OrgURL
		gh.StateLabel = stateLabel(gst.State)
	}
	return render(w, http.StatusOK, "integrations.html", IntegrationsPage{Chrome: chrome("Integrations", p), Providers: []ProviderEntry{
		azure,
		gh,
		{Provider: "gitlab", Name: "GitLab"},
		{Provider: "bitbucket", Name: "Bitbucket"},
	}})
}

// stateLabel is how the index names an integration's state.
func stateLabel(state string) string {
	if l := map[string]string{"connected": "Connected", "limited": "Connected — limited"}[state]; l != "" {
		return l
	}
	return "Error"
}

// Rules renders Settings → Rules.
func (h *Pages) Rules(w http.ResponseWriter, r *http.Request) error {
	return h.renderRules(w, r, http.StatusOK, RulesPage{Notice: rulesNotices[r.URL.Query().Get("saved")]}, true)
}

func (h *Pages) renderRules(w http.ResponseWriter, r *http.Request, status int, data RulesPage, fillForm bool) error {
	p, _ := auth.FromContext(r.Context())
	set, err := h.Integrations.Rules(r.Context(), p.WorkspaceID())
	if err != nil {
		return err
	}
	data.Chrome, data.Set = chrome("Rules", p), set
	if fillForm {
		data.Form = set.Default
	}
	if st, err := h.Integrations.Status(r.Context(), p.WorkspaceID()); err == nil {
		data.Projects = st.Projects
	} else if !delivery.IsNotFound(err) {
		return err
	}
	return render(w, status, "rules.html", data)
}

// ruleForm reads the rule fields of a form.
func ruleForm(r *http.Request) (store.RuleSettings, error) {
	rs := store.RuleSettings{
		DeploymentRule: strings.TrimSpace(r.PostFormValue("deployment_rule")),
		ProductionRule: strings.TrimSpace(r.PostFormValue("production_rule")),
		IncidentTag:    strings.TrimSpace(r.PostFormValue("incident_tag")),
	}
	for _, t := range strings.Split(r.PostFormValue("incident_types"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			rs.IncidentTypes = append(rs.IncidentTypes, t)
		}
	}
	if v := strings.TrimSpace(r.PostFormValue("attribution_hours")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return rs, delivery.Errorf(delivery.KindInvalid, "the attribution window %q is not a number of hours", v).WithHint("e.g. 72")
		}
		rs.AttributionHours = n
	}
	return rs, nil
}

// rulesError shows a refused form again with what was typed and why.
func (h *Pages) rulesError(w http.ResponseWriter, r *http.Request, err error, data RulesPage) error {
	var de *delivery.Error
	if !errors.As(err, &de) || de.Kind != delivery.KindInvalid && de.Kind != delivery.KindNotFound {
		return err
	}
	data.Error = &Problem{Message: de.Message, Hint: de.Hint}
	status := http.StatusBadRequest
	if de.Kind == delivery.KindNotFound {
		status = http.StatusNotFound
	}
	return h.renderRules(w, r, status, data, false)
}

// SaveRules handles the workspace form: Preview matches or Save.
func (h *Pages) SaveRules(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	rs, err := ruleForm(r)
	if err != nil {
		return h.rulesError(w, r, err, RulesPage{Form: rs})
	}
	if r.PostFormValue("action") == "preview" {
		preview, err := h.Integrations.PreviewRules(r.Context(), p.WorkspaceID(), store.Settings{RuleSettings: rs})
		if err != nil {
			return h.rulesError(w, r, err, RulesPage{Form: rs})
		}
		return h.renderRules(w, r, http.StatusOK, RulesPage{Form: rs, Preview: &preview}, false)
	}
	if _, err := h.Integrations.SetRules(r.Context(), p.WorkspaceID(), "", rs); err != nil {
		return h.rulesError(w, r, err, RulesPage{Form: rs})
	}
	http.Redirect(w, r, rulesPath+"?saved=saved", http.StatusSeeOther)
	return nil
}

// SaveProjectRules gives a project its own rules.
func (h *Pages) SaveProjectRules(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	rs, err := ruleForm(r)
	if err == nil {
		_, err = h.Integrations.SetRules(r.Context(), p.WorkspaceID(), strings.TrimSpace(r.PostFormValue("project_id")), rs)
	}
	if err != nil {
		return h.rulesError(w, r, err, RulesPage{ProjectForm: rs})
	}
	http.Redirect(w, r, rulesPath+"?saved=project", http.StatusSeeOther)
	return nil
}

// ClearProjectRules puts a project back on the workspace rules.
func (h *Pages) ClearProjectRules(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	if _, err := h.Integrations.ClearProjectRules(r.Context(), p.WorkspaceID(), r.PathValue("id")); err != nil {
		return h.rulesError(w, r, err, RulesPage{})
	}
	http.Redirect(w, r, rulesPath+"?saved=cleared", http.StatusSeeOther)
	return nil
}
