package web

import (
	"net/http"
	"net/url"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/integration"
)

// GitHubPage is Settings → Integrations → GitHub: the API base and token
// with Check connection before activation; status, the repository picker
// (grouped by owner, with "whole organization" toggles), permissions,
// Update token and Disconnect after.
type GitHubPage struct {
	Chrome
	Status  integration.Status
	Check   *integration.CheckResult
	APIURL  string
	Error   *integration.Problem
	Notice  string
	Groups  []RepositoryGroup
	Jobs    []integration.Job
	Guide   string // the user guide's page
	Webhook string // where GitHub delivers
}

// RepositoryGroup is one owner's repositories in the picker.
type RepositoryGroup struct {
	Owner        string
	Whole        bool // the owner's new repositories are selected automatically
	Repositories []integration.ProjectStatus
}

const githubPath = "/settings/integrations/github"

var githubNotices = map[string]string{
	"activated":            "GitHub is connected. Select the repositories to analyse (or whole organizations) and save.",
	"repositories":         "Repositories saved. Webhooks are being registered for new ones and removed from deselected ones.",
	"refreshed":            "Repository list read again from GitHub; new repositories of whole organizations are selected.",
	"token":                "Token updated. Webhooks stay registered; refused ones and refused PR comments are tried again.",
	"comments":             "PR comment settings saved.",
	"retry":                "Job queued to run again now.",
	"disconnected-kept":    "Disconnected. The webhooks are removed; the data collected until now stays. Connect again with the same API base to resume.",
	"disconnected-deleted": "Disconnected. The webhooks are removed and every row collected through GitHub is deleted.",
	"disconnected-hooks-left": "Disconnected, but GitHub did not let some webhooks be deleted: they now fail. " +
		"A repository admin can delete them under the repository's Settings → Webhooks.",
}

func (h *Pages) githubPage(r *http.Request, data GitHubPage) (GitHubPage, error) {
	p, _ := auth.FromContext(r.Context())
	st, err := h.GitHub.Status(r.Context(), p.WorkspaceID())
	if err != nil {
		return data, err
	}
	data.Chrome = chrome("GitHub", p)
	data.Status, data.Guide = st, HelpPath+"/connect-github"
	if data.Notice == "" {
		data.Notice = githubNotices[r.URL.Query().Get("saved")]
	}
	if st.Connected {
		whole := map[string]bool{}
		if st.Settings != nil {
			for _, o := range st.Settings.AutoOwners {
				whole[o] = true
			}
		}
		byOwner := map[string]int{}
		for _, repo := range st.Projects {
			i, ok := byOwner[repo.Owner]
			if !ok {
				i = len(data.Groups)
				byOwner[repo.Owner] = i
				data.Groups = append(data.Groups, RepositoryGroup{Owner: repo.Owner, Whole: whole[repo.Owner]})
			}
			data.Groups[i].Repositories = append(data.Groups[i].Repositories, repo)
		}
		if data.Jobs, err = h.GitHub.Jobs(r.Context(), p.WorkspaceID()); err != nil {
			return data, err
		}
	}
	return data, nil
}

func (h *Pages) renderGitHub(w http.ResponseWriter, r *http.Request, status int, data GitHubPage) error {
	data, err := h.githubPage(r, data)
	if err != nil {
		return err
	}
	return render(w, status, "github.html", data)
}

// GitHubPage renders the GitHub integration screen.
func (h *Pages) GitHubPage(w http.ResponseWriter, r *http.Request) error {
	return h.renderGitHub(w, r, http.StatusOK, GitHubPage{})
}

// githubFormError shows what the user can fix on the page itself, with a
// 4xx; anything else goes to the server's error handling.
func (h *Pages) githubFormError(w http.ResponseWriter, r *http.Request, err error, data GitHubPage) error {
	status, problem, ok := formProblem(err)
	if !ok {
		return err
	}
	data.Error = problem
	return h.renderGitHub(w, r, status, data)
}

// ConnectGitHub handles the connect form: Check connection or Activate.
func (h *Pages) ConnectGitHub(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	apiURL, token := r.PostFormValue("api_url"), r.PostFormValue("token")
	data := GitHubPage{APIURL: apiURL}
	if r.PostFormValue("action") == "activate" {
		if _, err := h.GitHub.Activate(r.Context(), p.WorkspaceID(), apiURL, token, false); err != nil {
			return h.githubFormError(w, r, err, data)
		}
		return githubRedirect(w, r, "activated")
	}
	res, err := h.GitHub.Check(r.Context(), apiURL, token)
	if err != nil {
		return h.githubFormError(w, r, err, data)
	}
	data.Check = &res
	return h.renderGitHub(w, r, http.StatusOK, data)
}

// SaveGitHubComments handles the PR comment settings: on or off, drafts,
// and each selected repository's override.
func (h *Pages) SaveGitHubComments(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	st, err := h.GitHub.Settings(r.Context(), p.WorkspaceID())
	if err != nil {
		return err
	}
	readCommentForm(r, &st)
	if _, err := h.GitHub.UpdateSettings(r.Context(), p.WorkspaceID(), st); err != nil {
		return h.githubFormError(w, r, err, GitHubPage{})
	}
	return githubRedirect(w, r, "comments")
}

// SaveRepositories handles the repository picker: the selection and the
// owners chosen as whole organizations.
func (h *Pages) SaveRepositories(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	ws := p.WorkspaceID()
	if _, err := h.GitHub.SelectProjects(r.Context(), ws, r.PostForm["selected"]); err != nil {
		return h.githubFormError(w, r, err, GitHubPage{})
	}
	st, err := h.GitHub.Settings(r.Context(), ws)
	if err != nil {
		return err
	}
	st.AutoOwners = r.PostForm["whole"]
	if _, err := h.GitHub.UpdateSettings(r.Context(), ws, st); err != nil {
		return h.githubFormError(w, r, err, GitHubPage{})
	}
	return githubRedirect(w, r, "repositories")
}

// RefreshGitHub reads the repository list again.
func (h *Pages) RefreshGitHub(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	if _, err := h.GitHub.RefreshProjects(r.Context(), p.WorkspaceID()); err != nil {
		return h.githubFormError(w, r, err, GitHubPage{})
	}
	return githubRedirect(w, r, "refreshed")
}

// UpdateGitHubToken handles Update token.
func (h *Pages) UpdateGitHubToken(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	if _, err := h.GitHub.UpdateToken(r.Context(), p.WorkspaceID(), r.PostFormValue("token")); err != nil {
		return h.githubFormError(w, r, err, GitHubPage{})
	}
	return githubRedirect(w, r, "token")
}

// DisconnectGitHub handles Disconnect: keep or delete, confirmed.
func (h *Pages) DisconnectGitHub(w http.ResponseWriter, r *http.Request) error {
	notice, err := disconnect(r, h.GitHub)
	if err != nil {
		return h.githubFormError(w, r, err, GitHubPage{})
	}
	return githubRedirect(w, r, notice)
}

// RetryGitHubJob handles a job's Retry button.
func (h *Pages) RetryGitHubJob(w http.ResponseWriter, r *http.Request) error {
	if err := retryJob(r, h.GitHub); err != nil {
		return h.githubFormError(w, r, err, GitHubPage{})
	}
	return githubRedirect(w, r, "retry")
}

func githubRedirect(w http.ResponseWriter, r *http.Request, saved string) error {
	http.Redirect(w, r, githubPath+"?saved="+url.QueryEscape(saved), http.StatusSeeOther)
	return nil
}
