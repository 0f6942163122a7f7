package dashboard

import (
	"strconv"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
)

// table is one table view: JSON items and the same rows as CSV. Every view
// the dashboard shows has one, so anything on screen can be exported.
type table struct {
	Name    string
	Columns []string
	Rows    [][]string
	Items   []any
}

func (t *table) add(item any, row ...string) {
	t.Items = append(t.Items, item)
	t.Rows = append(t.Rows, row)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func fmtSeconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

func fmtDurPtr(d *time.Duration) string {
	if d == nil {
		return ""
	}
	return fmtSeconds(*d)
}

func itoa(n int) string { return strconv.Itoa(n) }

func bandString(b *string) string {
	if b == nil {
		return ""
	}
	return *b
}

var figureColumns = []string{"metric", "n", "value", "unit", "median", "p75", "p90", "clamped", "band", "band_year",
	"definition_version", "coverage", "collected_since", "previous_n", "previous_value", "direction", "not_enough_history"}

// figureRow is a summary row: one figure per line.
func figureRow(t *table, name string, f Figure) {
	prevN, prevV, dir, short := "", "", "", ""
	if f.Previous != nil {
		prevN, prevV, dir = itoa(f.Previous.N), fmtFloat(f.Previous.Value), f.Previous.Direction
		short = strconv.FormatBool(f.Previous.NotEnoughHistory)
	}
	since := ""
	if f.CollectedSince != nil {
		since = fmtTime(*f.CollectedSince)
	}
	year := ""
	if f.BandYear != 0 {
		year = itoa(f.BandYear)
	}
	t.add(struct {
		Metric string `json:"metric"`
		Figure
	}{name, f}, name, itoa(f.N), fmtFloat(f.Value), f.Unit, fmtFloat(f.Median), fmtFloat(f.P75), fmtFloat(f.P90),
		itoa(f.Clamped), bandString(f.Band), year, f.DefinitionVersion, fmtFloat(&f.Coverage.Coverage), since, prevN, prevV, dir, short)
}

func doraSummaryTable(r DORAReport) table {
	t := table{Name: "dora", Columns: figureColumns}
	figureRow(&t, "deployment_frequency", r.DeploymentFrequency.Figure)
	figureRow(&t, "lead_time", r.LeadTime)
	figureRow(&t, "change_failure_rate", r.ChangeFailureRate.Figure)
	figureRow(&t, "recovery", r.Recovery.Figure)
	return t
}

// DeploymentRow is a deployment behind a figure.
type DeploymentRow struct {
	ID string `json:"id"`
	// Name is the deployment for people: "<pipeline> #<run>" or "Release <id>".
	Name           string `json:"name"`
	Project        string `json:"project"`
	ProjectName    string `json:"project_name"`
	Repository     string `json:"repository"`
	RepositoryName string `json:"repository_name"`
	// WebURL is the run or release in Azure DevOps; "" when unknown.
	WebURL string `json:"web_url"`
	// Provider is the source the row comes from ("azure-devops", "github").
	Provider    string    `json:"provider"`
	Environment string    `json:"environment"`
	Source      string    `json:"source"`
	Result      string    `json:"result"`
	SHA         string    `json:"sha"`
	FinishedAt  time.Time `json:"finished_at"`
	Changes     int       `json:"changes"`
	Failure     bool      `json:"failure"`
}

// deploymentsTable lists the counted production deployments of the window
// (successes and failures, newest first), the items behind frequency and
// the change failure rate.
func deploymentsTable(a metrics.Set, w delivery.Window, n names) table {
	t := table{Name: "deployments", Columns: []string{"id", "project", "repository", "environment", "source", "result",
		"sha", "finished_at", "changes", "failure", "name", "project_name", "repository_name", "web_url", "provider"}}
	deps := a.DeploymentItems(w)
	for i := len(deps) - 1; i >= 0; i-- {
		dep := deps[i]
		row := DeploymentRow{ID: dep.ID, Name: n.deploymentLabel(dep.ID), Project: dep.ProjectID,
			ProjectName: n.project(dep.ProjectID), Repository: dep.RepositoryID, RepositoryName: n.repository(dep.RepositoryID),
			WebURL: n.deploymentURL(dep.ProjectID, dep.ID), Provider: n.provider(dep.ProjectID), Environment: dep.Environment,
			Source: string(dep.Source), Result: string(dep.Result), SHA: dep.SHA, FinishedAt: dep.FinishedAt,
			Changes: dep.Changes, Failure: dep.Failure}
		t.add(row, row.ID, row.Project, row.Repository, row.Environment, row.Source, row.Result, row.SHA,
			fmtTime(row.FinishedAt), itoa(row.Changes), strconv.FormatBool(row.Failure), row.Name, row.ProjectName,
			row.RepositoryName, row.WebURL, row.Provider)
	}
	return t
}

// LeadTimeRow is a change behind lead time.
type LeadTimeRow struct {
	PullRequest    int    `json:"pull_request,omitempty"`
	Title          string `json:"title,omitempty"` // the PR's title
	Commit         string `json:"commit,omitempty"`
	Repository     string `json:"repository"`
	RepositoryName string `json:"repository_name"`
	// WebURL is the PR (or the commit) on its provider; "" when unknown.
	WebURL string `json:"web_url"`
	// Provider is the source the row comes from ("azure-devops", "github").
	Provider string `json:"provider"`

	Deployment     string    `json:"deployment"`
	DeploymentName string    `json:"deployment_name"`
	FirstCommit    time.Time `json:"first_commit_at"`
	DeployedAt     time.Time `json:"deployed_at"`
	LeadTimeSecs   float64   `json:"lead_time_seconds"`
}

func leadTimeTable(a metrics.Set, w delivery.Window, n names) table {
	t := table{Name: "lead-time", Columns: []string{"pull_request", "commit", "repository", "deployment",
		"first_commit_at", "deployed_at", "lead_time_seconds", "title", "repository_name", "deployment_name", "web_url", "provider"}}
	items := a.LeadTimeItems(w)
	project := map[string]string{} // a deployment's project, for links
	for _, d := range a.DeploymentItems(w) {
		project[d.ID] = d.ProjectID
	}
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		row := LeadTimeRow{PullRequest: it.PullRequestID, Commit: it.CommitSHA, Repository: it.RepositoryID,
			RepositoryName: n.repository(it.RepositoryID), Deployment: it.DeploymentID,
			DeploymentName: n.deploymentLabel(it.DeploymentID), FirstCommit: it.From, DeployedAt: it.To, LeadTimeSecs: it.Span.Seconds(),
			Provider: n.provider(project[it.DeploymentID])}
		pr := ""
		if it.PullRequestID != 0 {
			pr = itoa(it.PullRequestID)
			row.Title = n.pullRequest(it.RepositoryID, it.PullRequestID).Title
			row.WebURL = n.pullRequestURL(project[it.DeploymentID], it.RepositoryID, it.PullRequestID)
		} else {
			row.WebURL = n.commitURL(project[it.DeploymentID], it.RepositoryID, it.CommitSHA)
		}
		t.add(row, pr, row.Commit, row.Repository, row.Deployment, fmtTime(row.FirstCommit), fmtTime(row.DeployedAt),
			fmtSeconds(it.Span), row.Title, row.RepositoryName, row.DeploymentName, row.WebURL, row.Provider)
	}
	return t
}

// FailureRow is a failure behind the change failure rate and recovery.
type FailureRow struct {
	Deployment     string `json:"deployment"`
	DeploymentName string `json:"deployment_name"`
	Environment    string `json:"environment"`
	RepositoryName string `json:"repository_name"`
	// WebURL is the failed deployment's run or release in Azure DevOps.
	WebURL string `json:"web_url"`
	// Provider is the source the row comes from ("azure-devops", "github").
	Provider string `json:"provider"`

	Kind            string     `json:"kind"`
	FailedAt        time.Time  `json:"failed_at"`
	RecoveredAt     *time.Time `json:"recovered_at"`
	RecoveredBy     string     `json:"recovered_by,omitempty"`
	Incidents       []int      `json:"incidents,omitempty"`
	RecoverySeconds *float64   `json:"recovery_seconds"`
	Open            bool       `json:"open"`
}

func failuresTable(a metrics.Set, w delivery.Window, n names) table {
	t := table{Name: "failures", Columns: []string{"deployment", "kind", "failed_at", "recovered_at", "recovered_by",
		"incidents", "recovery_seconds", "open", "deployment_name", "environment", "repository_name", "web_url", "provider"}}
	rec := a.DORA(w).Recovery
	// The failed deployments' facts, for names and links (a failure's time
	// is its deployment's finish).
	deps := map[string]metrics.DeploymentItem{}
	for _, d := range a.DeploymentItems(w) {
		deps[d.ID] = d
	}
	add := func(it metrics.RecoveryItem, open bool) {
		d := deps[it.DeploymentID]
		row := FailureRow{Deployment: it.DeploymentID, DeploymentName: n.deploymentLabel(it.DeploymentID), Environment: d.Environment,
			RepositoryName: n.repository(d.RepositoryID), WebURL: n.deploymentURL(d.ProjectID, it.DeploymentID), Provider: n.provider(d.ProjectID),
			Kind: string(it.Kind), FailedAt: it.FailedAt, RecoveredBy: it.RecoveredBy, Incidents: it.Incidents, Open: open}
		if !open {
			row.RecoveredAt, row.RecoverySeconds = new(it.RecoveredAt), new(it.Span.Seconds())
		}
		incidents := ""
		for i, id := range it.Incidents {
			if i > 0 {
				incidents += " "
			}
			incidents += itoa(id)
		}
		recAt, secs := "", ""
		if !open {
			recAt, secs = fmtTime(it.RecoveredAt), fmtSeconds(it.Span)
		}
		t.add(row, row.Deployment, row.Kind, fmtTime(row.FailedAt), recAt, row.RecoveredBy, incidents, secs,
			strconv.FormatBool(open), row.DeploymentName, row.Environment, row.RepositoryName, row.WebURL, row.Provider)
	}
	for _, it := range rec.Open {
		add(it, true)
	}
	for _, it := range rec.Items {
		add(it, false)
	}
	return t
}

// IncidentRow is an incident opened in the window.
type IncidentRow struct {
	WorkItem    int    `json:"work_item"`
	Project     string `json:"project"`
	ProjectName string `json:"project_name"`
	// WebURL is the work item (a GitHub issue) on its provider; "" when unknown.
	WebURL string `json:"web_url"`
	// Provider is the source the row comes from ("azure-devops", "github").
	Provider string `json:"provider"`

	Title      string     `json:"title"`
	OpenedAt   time.Time  `json:"opened_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	Deployment string     `json:"deployment,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}

// incidentsTable lists unattributed incidents first: they are the ones a
// reader needs explained.
func incidentsTable(a metrics.Set, w delivery.Window, n names) table {
	t := table{Name: "incidents", Columns: []string{"work_item", "project", "title", "opened_at", "resolved_at",
		"deployment", "reason", "project_name", "web_url", "provider"}}
	inc := a.Incidents(w)
	for _, at := range append(inc.Unattributed, inc.Attributed...) {
		row := IncidentRow{WorkItem: at.Incident.WorkItemID, Project: at.Incident.ProjectID, Title: at.Incident.Title,
			ProjectName: n.project(at.Incident.ProjectID), WebURL: n.workItemURL(at.Incident.ProjectID, at.Incident.WorkItemID),
			OpenedAt: at.Incident.OpenedAt, Deployment: at.DeploymentID, Reason: string(at.Reason), Provider: n.provider(at.Incident.ProjectID)}
		if at.Incident.Resolved() {
			row.ResolvedAt = new(at.Incident.ResolvedAt)
		}
		t.add(row, itoa(row.WorkItem), row.Project, row.Title, fmtTime(row.OpenedAt), fmtTime(at.Incident.ResolvedAt),
			row.Deployment, row.Reason, row.ProjectName, row.WebURL, row.Provider)
	}
	return t
}

func pullRequestSummaryTable(r PullRequestReport) table {
	t := table{Name: "pull-requests-summary", Columns: figureColumns}
	for _, f := range []struct {
		name string
		f    Figure
	}{{"coding", r.Coding}, {"pickup", r.Pickup}, {"review", r.Review}, {"deploy", r.Deploy}, {"cycle", r.Cycle},
		{"size", r.Size}, {"comments", r.Comments}, {"reviewers", r.Reviewers}, {"approvals", r.Approvals},
		{"work_item_linked", r.WorkItemLinked}} {
		figureRow(&t, f.name, f.f)
	}
	return t
}

// PullRequestRow is a merged PR behind the flow figures.
type PullRequestRow struct {
	ID             int    `json:"id"`
	Title          string `json:"title"`
	Author         string `json:"author"`
	Project        string `json:"project"`
	Repository     string `json:"repository"`
	RepositoryName string `json:"repository_name"`
	// WebURL is the PR on its provider; "" when unknown.
	WebURL string `json:"web_url"`
	// Provider is the source the row comes from ("azure-devops", "github").
	Provider string `json:"provider"`

	MergedAt       time.Time  `json:"merged_at"`
	Reviewed       bool       `json:"reviewed"`
	CodingSeconds  *float64   `json:"coding_seconds"`
	PickupSeconds  *float64   `json:"pickup_seconds"`
	ReviewSeconds  *float64   `json:"review_seconds"`
	DeploySeconds  *float64   `json:"deploy_seconds"`
	CycleSeconds   *float64   `json:"cycle_seconds"`
	DeployedBy     string     `json:"deployed_by,omitempty"`
	DeployedAt     *time.Time `json:"deployed_at"`
	FilesChanged   int        `json:"files_changed"`
	Comments       int        `json:"comments"`
	Reviewers      int        `json:"reviewers"`
	Approvals      int        `json:"approvals"`
	WorkItemLinked bool       `json:"work_item_linked"`
}

func pullRequestsTable(a metrics.Set, w delivery.Window, n names) table {
	t := table{Name: "pull-requests", Columns: []string{"id", "project", "repository", "merged_at", "reviewed",
		"coding_seconds", "pickup_seconds", "review_seconds", "deploy_seconds", "cycle_seconds", "deployed_by",
		"deployed_at", "files_changed", "comments", "reviewers", "approvals", "work_item_linked", "title", "author",
		"repository_name", "web_url", "provider"}}
	prs := a.PullRequestList(w)
	for i := len(prs) - 1; i >= 0; i-- {
		p := prs[i]
		name := n.pullRequest(p.RepositoryID, p.ID)
		row := PullRequestRow{ID: p.ID, Title: name.Title, Author: name.Author, Project: p.ProjectID, Repository: p.RepositoryID,
			RepositoryName: n.repository(p.RepositoryID), WebURL: n.pullRequestURL(p.ProjectID, p.RepositoryID, p.ID), MergedAt: p.MergedAt,
			Reviewed: p.Reviewed, CodingSeconds: seconds(p.Coding), PickupSeconds: seconds(p.Pickup),
			ReviewSeconds: seconds(p.Review), DeploySeconds: seconds(p.Deploy), CycleSeconds: seconds(p.Cycle),
			DeployedBy: p.DeploymentID, FilesChanged: p.FilesChanged, Comments: p.Comments, Reviewers: p.Reviewers,
			Approvals: p.Approvals, WorkItemLinked: p.WorkItemLinked, Provider: n.provider(p.ProjectID)}
		if !p.DeployedAt.IsZero() {
			row.DeployedAt = new(p.DeployedAt)
		}
		t.add(row, itoa(p.ID), p.ProjectID, p.RepositoryID, fmtTime(p.MergedAt), strconv.FormatBool(p.Reviewed),
			fmtDurPtr(p.Coding), fmtDurPtr(p.Pickup), fmtDurPtr(p.Review), fmtDurPtr(p.Deploy), fmtDurPtr(p.Cycle),
			p.DeploymentID, fmtTime(p.DeployedAt), itoa(p.FilesChanged), itoa(p.Comments), itoa(p.Reviewers),
			itoa(p.Approvals), strconv.FormatBool(p.WorkItemLinked), row.Title, row.Author, row.RepositoryName, row.WebURL, row.Provider)
	}
	return t
}

// WorkItemRow is a work item behind work item lead time.
type WorkItemRow struct {
	ID           int       `json:"id"`
	Project      string    `json:"project"`
	Type         string    `json:"type"`
	AreaPath     string    `json:"area_path"`
	CreatedAt    time.Time `json:"created_at"`
	Deployment   string    `json:"deployment"`
	DeployedAt   time.Time `json:"deployed_at"`
	Repository   string    `json:"repository"`
	LeadTimeSecs float64   `json:"lead_time_seconds"`
}

func workItemsTable(a metrics.Set, w delivery.Window, f metrics.WorkItemFilter) table {
	t := table{Name: "work-items", Columns: []string{"id", "project", "type", "area_path", "created_at", "deployment",
		"deployed_at", "repository", "lead_time_seconds"}}
	items := a.WorkItems(w, f).Items
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		row := WorkItemRow{ID: it.ID, Project: it.ProjectID, Type: it.Type, AreaPath: it.AreaPath, CreatedAt: it.CreatedAt,
			Deployment: it.DeploymentID, DeployedAt: it.DeployedAt, Repository: it.RepositoryID, LeadTimeSecs: it.LeadTime.Seconds()}
		t.add(row, itoa(it.ID), it.ProjectID, it.Type, it.AreaPath, fmtTime(it.CreatedAt), it.DeploymentID,
			fmtTime(it.DeployedAt), it.RepositoryID, fmtSeconds(it.LeadTime))
	}
	return t
}

func workItemSummaryTable(r WorkItemReport) table {
	t := table{Name: "work-items-summary", Columns: figureColumns}
	figureRow(&t, "work_item_lead_time", r.LeadTime)
	return t
}
