package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// AzurePage is Settings → Integrations → Azure DevOps: the connect form and
// Check connection results before activation; status, project picker and
// Advanced after.
type AzurePage struct {
	Chrome
	Status integration.Status
	Check  *integration.CheckResult
	// ConfirmLimited: Activate was refused for a token that lacks a scope
	// of Step 1; the form asks to confirm.
	ConfirmLimited bool
	OrgURL         string
	Error          *integration.Problem
	Notice         string
	BackfillDays   int
	PreviewPR      int64
	Preview        string // markdown of the PR comment a PR would get
	PreviewSkip    string
	CanComment     bool // the PAT can write PR threads
	// Jobs are the integration's newest background jobs.
	Jobs []integration.Job
}

const azurePath = "/settings/integrations/azure-devops"

// notices are the confirmations shown after a form post (Post/Redirect/Get).
var notices = map[string]string{
	"activated":               "Azure DevOps is connected. Select the projects to analyse and save.",
	"projects":                "Projects saved. Service hooks are being registered and the backfill has started for new projects.",
	"token":                   "Token updated. Service hooks stay registered; no backfill was started.",
	"unlocked":                "Token updated. Service hooks stay registered; what the new token's scopes unlock is being backfilled (nothing else is read again).",
	"settings":                "Settings saved.",
	"sync":                    "Reconciliation queued.",
	"rerun":                   "Backfill queued: a finished one starts over for a fresh window, a stopped one resumes.",
	"retry":                   "Job queued to run again now.",
	"disconnected-kept":       "Disconnected. The service hooks are removed; the data collected until now stays on the dashboard. Connect again with the same Organization URL to resume.",
	"disconnected-deleted":    "Disconnected. The service hooks are removed and every row collected through Azure DevOps is deleted.",
	"disconnected-hooks-left": "Disconnected, but Azure DevOps did not let some service hooks be deleted: they now fail and Azure DevOps disables them. An Azure DevOps admin can delete them under Project settings → Service hooks.",
}

func (h *Pages) azurePage(r *http.Request, data AzurePage) (AzurePage, error) {
	p, _ := auth.FromContext(r.Context())
	st, err := h.Integrations.Status(r.Context(), p.WorkspaceID())
	if err != nil {
		return data, err
	}
	data.Chrome = chrome("Azure DevOps", p)
	data.Status, data.BackfillDays = st, h.BackfillDays
	for _, sc := range st.Scopes {
		if sc.Scope == "pr_threads_read_write" {
			data.CanComment = sc.OK
		}
	}
	if data.Notice == "" {
		data.Notice = notices[r.URL.Query().Get("saved")]
	}
	if st.Connected {
		if data.Jobs, err = h.Integrations.Jobs(r.Context(), p.WorkspaceID()); err != nil {
			return data, err
		}
	}
	return data, nil
}

func (h *Pages) renderAzure(w http.ResponseWriter, r *http.Request, status int, data AzurePage) error {
	data, err := h.azurePage(r, data)
	if err != nil {
		return err
	}
	return render(w, status, "azure.html", data)
}

// AzureDevOps renders the integration screen (?preview=PR shows the
// comment that PR would get).
func (h *Pages) AzureDevOps(w http.ResponseWriter, r *http.Request) error {
	var data AzurePage
	if s := r.URL.Query().Get("preview"); s != "" {
		pr, err := strconv.ParseInt(s, 10, 64)
		if err != nil || pr <= 0 {
			return h.formError(w, r, delivery.Errorf(delivery.KindInvalid, "%q is not a pull request id", s).WithHint("enter the number shown in Azure DevOps"), data)
		}
		p, _ := auth.FromContext(r.Context())
		ins, err := h.DB.ListIntegrations(r.Context(), p.WorkspaceID(), integration.Provider)
		if err != nil {
			return err
		}
		if len(ins) > 0 {
			data.PreviewPR = pr
			data.Preview, data.PreviewSkip, err = h.Comments.Preview(r.Context(), p.WorkspaceID(), store.PRRef{IntegrationID: ins[0].ID, PRID: pr})
			if delivery.IsNotFound(err) {
				return h.formError(w, r, delivery.Errorf(delivery.KindInvalid, "pull request %d is not collected yet", pr).
					WithHint("check the number; new pull requests arrive within seconds"), data)
			}
			if err != nil {
				return err
			}
		}
	}
	return h.renderAzure(w, r, http.StatusOK, data)
}

// formError shows what the user can fix on the page itself, with a 4xx;
// anything else goes to the server's error handling.
func (h *Pages) formError(w http.ResponseWriter, r *http.Request, err error, data AzurePage) error {
	status, problem, ok := formProblem(err)
	if !ok {
		return err
	}
	data.Error = problem
	return h.renderAzure(w, r, status, data)
}

// formProblem is an error the user can fix on the page itself (bad input,
// a conflict, an earlier step missing): the status and what to show. ok is
// false for anything else.
func formProblem(err error) (int, *integration.Problem, bool) {
	var de *delivery.Error
	if !errors.As(err, &de) {
		return 0, nil, false
	}
	status := http.StatusBadRequest
	switch de.Kind {
	case delivery.KindConflict, delivery.KindPrecondition:
		status = http.StatusConflict
	case delivery.KindInvalid:
	default:
		return 0, nil, false
	}
	return status, &integration.Problem{Code: string(de.Kind), Message: de.Message, Hint: de.Hint}, true
}

// connection is what the integration pages' shared forms need of a
// provider's service.
type connection interface {
	Disconnect(ctx context.Context, workspaceID string, keepData bool) (integration.DisconnectResult, error)
	RetryJob(ctx context.Context, workspaceID string, id int64) (integration.Job, error)
}

// disconnect handles a Disconnect form: the admin chose keep or delete and
// confirmed. It returns the notice to show.
func disconnect(r *http.Request, c connection) (string, error) {
	if err := parseForm(r); err != nil {
		return "", err
	}
	p, _ := auth.FromContext(r.Context())
	data := r.PostFormValue("data")
	if data != "keep" && data != "delete" || r.PostFormValue("confirm") != "on" {
		return "", delivery.Errorf(delivery.KindInvalid, "Disconnect needs a choice and a confirmation").
			WithHint("choose whether to keep or delete the collected data, tick the box, and press Disconnect again")
	}
	res, err := c.Disconnect(r.Context(), p.WorkspaceID(), data == "keep")
	if err != nil {
		return "", err
	}
	if len(res.HooksLeft) > 0 {
		return "disconnected-hooks-left", nil
	}
	return "disconnected-" + res.Data, nil
}

// retryJob handles a job's Retry button.
func retryJob(r *http.Request, c connection) error {
	p, _ := auth.FromContext(r.Context())
	id, err := integration.ParseJobID(r.PathValue("id"))
	if err == nil {
		_, err = c.RetryJob(r.Context(), p.WorkspaceID(), id)
	}
	return err
}

// ConnectAzure handles the connect form: Check connection or Activate.
func (h *Pages) ConnectAzure(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	org, token := r.PostFormValue("org_url"), r.PostFormValue("token")
	data := AzurePage{OrgURL: org}
	if r.PostFormValue("action") == "activate" {
		_, err := h.Integrations.Activate(r.Context(), p.WorkspaceID(), org, token, r.PostFormValue("confirm_limited") == "on")
		var le *integration.LimitedError
		if errors.As(err, &le) {
			// Ask: the check in amber, and a box to tick to activate anyway.
			data.Check, data.ConfirmLimited = &le.Check, true
			data.Error = &integration.Problem{Code: string(le.Err.Kind), Message: le.Err.Message, Hint: le.Err.Hint}
			return h.renderAzure(w, r, http.StatusConflict, data)
		}
		if err != nil {
			return h.formError(w, r, err, data)
		}
		return redirect(w, r, "activated")
	}
	res, err := h.Integrations.Check(r.Context(), org, token)
	if err != nil {
		return h.formError(w, r, err, data)
	}
	data.Check = &res
	if res.OrgURL != "" {
		data.OrgURL = res.OrgURL
	}
	return h.renderAzure(w, r, http.StatusOK, data)
}

// SaveProjects handles the project picker.
func (h *Pages) SaveProjects(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	if _, err := h.Integrations.SelectProjects(r.Context(), p.WorkspaceID(), r.PostForm["selected"]); err != nil {
		return h.formError(w, r, err, AzurePage{})
	}
	return redirect(w, r, "projects")
}

// UpdateAzureToken handles Advanced → Update token.
func (h *Pages) UpdateAzureToken(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	before, err := h.Integrations.Status(r.Context(), p.WorkspaceID())
	if err != nil {
		return err
	}
	after, err := h.Integrations.UpdateToken(r.Context(), p.WorkspaceID(), r.PostFormValue("token"))
	if err != nil {
		return h.formError(w, r, err, AzurePage{})
	}
	if blockedCount(after) < blockedCount(before) {
		return redirect(w, r, "unlocked")
	}
	return redirect(w, r, "token")
}

// SaveAzureSettings handles the settings form.
func (h *Pages) SaveAzureSettings(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	st, err := h.Integrations.Settings(r.Context(), p.WorkspaceID())
	if err != nil {
		return err
	}
	readCommentForm(r, &st)
	if _, err := h.Integrations.UpdateSettings(r.Context(), p.WorkspaceID(), st); err != nil {
		return h.formError(w, r, err, AzurePage{})
	}
	return redirect(w, r, "settings")
}

// readCommentForm reads the PR comment settings of a settings form: the
// toggles and each project's (repository's) override.
func readCommentForm(r *http.Request, st *integration.Settings) {
	st.PostPRComments = r.PostFormValue("post_pr_comments") == "on"
	st.CommentOnDrafts = r.PostFormValue("comment_on_drafts") == "on"
	st.ProjectComments = map[string]bool{}
	for name, values := range r.PostForm {
		project, ok := strings.CutPrefix(name, "comments_")
		if !ok || len(values) == 0 {
			continue
		}
		switch values[0] {
		case "on":
			st.ProjectComments[project] = true
		case "off":
			st.ProjectComments[project] = false
		}
	}
}

// SyncAzure handles Sync now.
func (h *Pages) SyncAzure(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	if err := h.Integrations.SyncNow(r.Context(), p.WorkspaceID()); err != nil {
		return h.formError(w, r, err, AzurePage{})
	}
	return redirect(w, r, "sync")
}

// RerunBackfill handles a project's "Re-run backfill" button.
func (h *Pages) RerunBackfill(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	if _, err := h.Integrations.RerunBackfill(r.Context(), p.WorkspaceID(), r.PathValue("id")); err != nil {
		return h.formError(w, r, err, AzurePage{})
	}
	return redirect(w, r, "rerun")
}

// ChangeAzureOrgURL handles Change Organization URL.
func (h *Pages) ChangeAzureOrgURL(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	if _, err := h.Integrations.ChangeOrgURL(r.Context(), p.WorkspaceID(), r.PostFormValue("org_url"), r.PostFormValue("token")); err != nil {
		return h.formError(w, r, err, AzurePage{})
	}
	return redirect(w, r, "org-url")
}

// DisconnectAzure handles Disconnect: the form says whether the data is
// kept or deleted, and the admin confirmed.
func (h *Pages) DisconnectAzure(w http.ResponseWriter, r *http.Request) error {
	notice, err := disconnect(r, h.Integrations)
	if err != nil {
		return h.formError(w, r, err, AzurePage{})
	}
	return redirect(w, r, notice)
}

// RetryJob handles a failed job's Retry button in Background work.
func (h *Pages) RetryJob(w http.ResponseWriter, r *http.Request) error {
	if err := retryJob(r, h.Integrations); err != nil {
		return h.formError(w, r, err, AzurePage{})
	}
	return redirect(w, r, "retry")
}

func redirect(w http.ResponseWriter, r *http.Request, saved string) error {
	http.Redirect(w, r, azurePath+"?saved="+url.QueryEscape(saved), http.StatusSeeOther)
	return nil
}

// parseForm reads a form post; a body over the limit stays a 413.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return delivery.Errorf(delivery.KindInvalid, "the form could not be read").Wrap(err)
	}
	return nil
}

// blockedCount counts the resources Azure DevOps refused, over all projects.
func blockedCount(st integration.Status) int {
	n := 0
	for _, p := range st.Backfill {
		n += len(p.Blocked)
	}
	return n
}
