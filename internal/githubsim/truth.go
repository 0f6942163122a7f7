package githubsim

import (
	"slices"
	"time"
)

// TruthPull is a pull request as ground truth: what a correct client reads from the API.
type TruthPull struct {
	Number    int        `json:"number"`
	ID        int64      `json:"id"`
	Title     string     `json:"title"`
	State     string     `json:"state"`
	Draft     bool       `json:"draft"`
	Author    string     `json:"author"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	MergedAt  *time.Time `json:"merged_at,omitempty"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Commits   int        `json:"commits"`
	Reviews   int        `json:"reviews"`
	// Reviewers are the logins of those who reviewed it, each once, in the order of their first review.
	Reviewers     []string  `json:"reviewers,omitempty"`
	FirstCommitAt time.Time `json:"first_commit_at"`
	// Comments are the conversation's comments (issue comments on the pull request), oldest
	// first: what a bot that keeps one comment current must leave exactly once.
	Comments []TruthComment `json:"comments,omitempty"`
}

// TruthComment is one issue comment on a pull request.
type TruthComment struct {
	ID        int64     `json:"id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TruthIssue is a plain issue (not a pull request's) as ground truth.
type TruthIssue struct {
	Number      int        `json:"number"`
	ID          int64      `json:"id"`
	Title       string     `json:"title"`
	State       string     `json:"state"`
	StateReason string     `json:"state_reason,omitempty"`
	Labels      []string   `json:"labels"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
}

// TruthRepo is one repository's ground truth.
type TruthRepo struct {
	FullName string      `json:"full_name"`
	ID       int64       `json:"id"`
	Pulls    []TruthPull `json:"pulls"`
	Issues   int         `json:"issues"` // plain issues, without pull requests
	// IssueList are the plain issues in number order.
	IssueList   []TruthIssue `json:"issue_list,omitempty"`
	MainCommits int          `json:"main_commits"`
	// MainCommitDates are the default branch's commits' committer dates, newest first (what
	// the commits list's since filters on).
	MainCommitDates []time.Time `json:"main_commit_dates,omitempty"`
	Runs            int         `json:"workflow_runs"`
	Deployments     int         `json:"deployments"`
	Hooks           int         `json:"hooks"`
	// RunList and DeploymentList are the workflow runs and deployments, oldest first.
	RunList        []TruthRun        `json:"run_list,omitempty"`
	DeploymentList []TruthDeployment `json:"deployment_list,omitempty"`
}

// TruthRun is a workflow run as ground truth.
type TruthRun struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion,omitempty"`
	HeadSHA    string    `json:"head_sha"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// TruthDeployment is a deployment as ground truth: its latest terminal status (success,
// failure, error) decides it, "" while it has none.
type TruthDeployment struct {
	ID          int64      `json:"id"`
	SHA         string     `json:"sha"`
	Environment string     `json:"environment"`
	CreatedAt   time.Time  `json:"created_at"`
	State       string     `json:"state,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

// Truth is the ground truth of every repository, pull requests in number order.
func (s *Sim) Truth() []TruthRepo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []TruthRepo
	for _, r := range s.w.org.repos {
		tr := TruthRepo{FullName: r.fullName(), ID: r.id, MainCommits: len(r.branches["main"]), Runs: len(r.runs), Deployments: len(r.deploys), Hooks: len(r.hooks)}
		for _, c := range r.branches[r.defaultBranch] {
			tr.MainCommitDates = append(tr.MainCommitDates, c.committed)
		}
		for _, x := range r.runs {
			tr.RunList = append(tr.RunList, TruthRun{ID: x.id, Name: x.name, Status: x.status, Conclusion: x.conclusion, HeadSHA: x.headSHA,
				CreatedAt: x.created, UpdatedAt: x.updated})
		}
		for _, d := range r.deploys {
			td := TruthDeployment{ID: d.id, SHA: d.sha, Environment: d.environment, CreatedAt: d.created}
			for _, st := range d.statuses { // oldest first: the last terminal one decides
				if st.state == "success" || st.state == "failure" || st.state == "error" {
					at := st.created
					td.State, td.FinishedAt = st.state, &at
				}
			}
			tr.DeploymentList = append(tr.DeploymentList, td)
		}
		for _, i := range r.issues {
			if i.pull == nil {
				tr.Issues++
				ti := TruthIssue{Number: i.number, ID: i.id, Title: i.title, State: i.state, StateReason: i.reason,
					Labels: []string{}, CreatedAt: i.created, UpdatedAt: i.updated}
				for _, l := range i.labels {
					ti.Labels = append(ti.Labels, l.name)
				}
				if !i.closed.IsZero() {
					c := i.closed
					ti.ClosedAt = &c
				}
				tr.IssueList = append(tr.IssueList, ti)
			}
		}
		for _, p := range r.pulls {
			tp := TruthPull{Number: p.number, ID: p.id, Title: p.title, State: p.state, Draft: p.draft, Author: p.user.login,
				CreatedAt: p.created, UpdatedAt: p.updated, Commits: len(p.commits), Reviews: len(p.reviews), FirstCommitAt: p.commits[0].authored}
			for _, v := range p.reviews {
				if !slices.Contains(tp.Reviewers, v.user.login) {
					tp.Reviewers = append(tp.Reviewers, v.user.login)
				}
			}
			for _, c := range p.issue.comments {
				tp.Comments = append(tp.Comments, TruthComment{ID: c.id, Author: c.user.login, Body: c.body, CreatedAt: c.created, UpdatedAt: c.updated})
			}
			if !p.merged.IsZero() {
				m := p.merged
				tp.MergedAt = &m
			}
			if !p.closed.IsZero() {
				c := p.closed
				tp.ClosedAt = &c
			}
			tr.Pulls = append(tr.Pulls, tp)
		}
		out = append(out, tr)
	}
	return out
}
