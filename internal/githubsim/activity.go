package githubsim

import (
	"fmt"
	"strings"
	"time"
)

// ActivityRequest asks the simulator to do what a team does on GitHub; the state changes and
// the repository's webhooks are delivered, as GitHub would.
type ActivityRequest struct {
	// Kind: pull_request_opened, pull_request_synchronize, pull_request_merged,
	// pull_request_closed, push, review, review_comment, issue_opened, issue_closed,
	// issue_comment, workflow_run, deployment,
	// repository_created (Repo names the new repository of the organization).
	Kind string `json:"kind"`
	// Repo is a repository name or full name; empty means the first repository.
	Repo string `json:"repo,omitempty"`
	// Number is the pull request or issue (merge, close, review, comments); 0 means the newest
	// open one.
	Number int `json:"number,omitempty"`
	// Title of an opened pull request or issue.
	Title string `json:"title,omitempty"`
	// Commits is the number of commits of an opened pull request or a push (default 1).
	Commits int `json:"commits,omitempty"`
	// Conclusion of a workflow run: success (default), failure or cancelled.
	Conclusion string `json:"conclusion,omitempty"`
	// Workflow names a workflow run's workflow (default CI): the workflow file's name key,
	// which GitHub sends as the run's name (OpenAPI workflow-run.name).
	Workflow string `json:"workflow,omitempty"`
	// Environment of a deployment (default production) and State its final status: success
	// (default), failure or error.
	Environment string `json:"environment,omitempty"`
	State       string `json:"state,omitempty"`
	// ReviewState of a review: APPROVED (default), CHANGES_REQUESTED or COMMENTED.
	ReviewState string `json:"review_state,omitempty"`
	// Labels of an opened issue, e.g. ["incident"].
	Labels []string `json:"labels,omitempty"`
}

// ActivityResult says what an activity did.
type ActivityResult struct {
	Kind   string `json:"kind"`
	Repo   string `json:"repo"`
	Number int    `json:"number,omitempty"`
	ID     int64  `json:"id,omitempty"`
	SHA    string `json:"sha,omitempty"`
}

// Activity applies one ActivityRequest.
func (s *Sim) Activity(req ActivityRequest) (ActivityResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Kind == "repository_created" {
		return s.createRepoLocked(req.Repo)
	}
	r := s.repoNamed(req.Repo)
	if r == nil {
		return ActivityResult{}, fmt.Errorf("no repository %q: use one of %s", req.Repo, strings.Join(s.repoNamesLocked(), ", "))
	}
	w := s.w
	now := s.clock.Now()
	h := s.hooks
	res := ActivityResult{Kind: req.Kind, Repo: r.fullName()}
	pub := func(event, action string, f func(u urls) obj) { h.publishLocked(r, event, action, f) }
	n := max(req.Commits, 1)
	switch req.Kind {
	case "pull_request_opened":
		// Forked from the head of main, its commits authored in the minutes before.
		p := w.newPull(r, now, now.Add(-time.Duration(n+1)*time.Minute), n, r.branches["main"][0].sha, "Live change.")
		if req.Title != "" {
			p.title, p.issue.title = req.Title, req.Title
		}
		res.Number, res.ID = p.number, p.id
		pub("pull_request", "opened", func(u urls) obj { return u.pullRequestEvent(r, p, "opened", p.user) })
	case "pull_request_synchronize":
		// New commits pushed to an open pull request's head branch. GitHub's webhook docs
		// ("pull_request", action synchronize: "A pull request's head branch was updated. For
		// example, the head branch was updated from the base branch or new commits were pushed
		// to the head branch"); @octokit/openapi-webhooks' webhook-pull-request-synchronize
		// requires before and after (the head before and after the push).
		p := s.openPull(r, req.Number)
		if p == nil {
			return res, fmt.Errorf("no open pull request %d in %s", req.Number, r.fullName())
		}
		before := p.commits[len(p.commits)-1].sha
		parent := before
		for i := 0; i < n; i++ {
			c := w.newCommit(r, fmt.Sprintf("Follow-up %d on #%d", i+1, p.number), p.user, now, parent)
			c.branchHint = p.headRef
			parent = c.sha
			p.commits = append(p.commits, c)
			p.additions += c.additions
			p.deletions += c.deletions
		}
		r.branches[p.headRef] = reverse(p.commits)
		p.updated, p.issue.updated = now, now
		res.Number, res.ID, res.SHA = p.number, p.id, parent
		after := parent
		pub("pull_request", "synchronize", func(u urls) obj {
			x := u.pullRequestEvent(r, p, "synchronize", p.user)
			x["before"], x["after"] = before, after
			return x
		})
	case "pull_request_merged", "pull_request_closed":
		p := s.openPull(r, req.Number)
		if p == nil {
			return res, fmt.Errorf("no open pull request %d in %s", req.Number, r.fullName())
		}
		p.state, p.closed, p.updated = "closed", now, now
		if req.Kind == "pull_request_merged" {
			main := r.branches["main"]
			before := main[0].sha
			mc := w.newCommit(r, fmt.Sprintf("Merge pull request #%d from %s", p.number, p.headRef), w.admin, now, before, p.commits[len(p.commits)-1].sha)
			r.branches["main"] = append([]*commit{mc}, append(reverse(p.commits), main...)...)
			sortCommits(r.branches["main"])
			p.merged, p.mergedBy, p.mergeSHA = now, w.admin, mc.sha
			r.pushed, r.updated = now, now
			res.SHA = mc.sha
			pub("push", "", func(u urls) obj { return u.pushEvent(r, "main", before, append(p.commits, mc), w.admin) })
		}
		p.issue.state, p.issue.closed, p.issue.updated = "closed", now, now
		res.Number, res.ID = p.number, p.id
		pub("pull_request", "closed", func(u urls) obj { return u.pullRequestEvent(r, p, "closed", w.admin) })
	case "push":
		main := r.branches["main"]
		before := main[0].sha
		var added []*commit
		parent := before
		for i := 0; i < n; i++ {
			c := w.newCommit(r, fmt.Sprintf("Direct push %d", i+1), w.pick(), now, parent)
			parent = c.sha
			added = append(added, c)
		}
		r.branches["main"] = append(reverse(added), main...)
		r.pushed, r.updated = now, now
		res.SHA = parent
		pub("push", "", func(u urls) obj { return u.pushEvent(r, "main", before, added, added[0].author) })
	case "review":
		p := s.openPull(r, req.Number)
		if p == nil {
			return res, fmt.Errorf("no open pull request %d in %s", req.Number, r.fullName())
		}
		st := req.ReviewState
		if st == "" {
			st = "APPROVED"
		}
		v := &review{id: w.id(), user: w.pick(), state: st, body: "Reviewed", submitted: now, commitID: p.commits[len(p.commits)-1].sha}
		p.reviews = append(p.reviews, v)
		p.updated, p.issue.updated = now, now
		res.Number, res.ID = p.number, v.id
		pub("pull_request_review", "submitted", func(u urls) obj { return u.reviewEvent(r, p, v) })
	case "review_comment":
		p := s.openPull(r, req.Number)
		if p == nil {
			return res, fmt.Errorf("no open pull request %d in %s", req.Number, r.fullName())
		}
		c := &reviewComment{id: w.id(), body: "Why this change?", path: p.commits[0].files[0], line: 3, user: w.pick(), created: now, updated: now, commitID: p.commits[len(p.commits)-1].sha}
		v := &review{id: w.id(), user: c.user, state: "COMMENTED", body: "", submitted: now, commitID: c.commitID}
		c.reviewID = v.id
		p.reviews = append(p.reviews, v)
		p.comments = append(p.comments, c)
		p.updated, p.issue.updated = now, now
		res.Number, res.ID = p.number, c.id
		pub("pull_request_review_comment", "created", func(u urls) obj { return u.reviewCommentEvent(r, p, c) })
	case "issue_opened":
		i := w.genIssue(r, now, now.Add(-time.Hour))
		i.labels = nil
		for _, name := range req.Labels {
			for _, l := range r.labels {
				if l.name == name {
					i.labels = append(i.labels, l)
				}
			}
		}
		if req.Title != "" {
			i.title = req.Title
		}
		res.Number, res.ID = i.number, i.id
		pub("issues", "opened", func(u urls) obj { return u.issuesEvent(r, i, "opened", i.user) })
	case "issue_closed":
		var i *issue
		for _, x := range reverse(r.issues) {
			if x.pull == nil && x.state == "open" && (req.Number == 0 || x.number == req.Number) {
				i = x
				break
			}
		}
		if i == nil {
			return res, fmt.Errorf("no open issue %d in %s", req.Number, r.fullName())
		}
		i.state, i.reason, i.closed, i.updated = "closed", "completed", now, now
		res.Number, res.ID = i.number, i.id
		pub("issues", "closed", func(u urls) obj { return u.issuesEvent(r, i, "closed", w.admin) })
	case "issue_comment":
		var i *issue
		if req.Number != 0 {
			i = r.issueByNumber(req.Number)
		} else if len(r.issues) > 0 {
			i = r.issues[len(r.issues)-1]
		}
		if i == nil {
			return res, fmt.Errorf("no issue %d in %s", req.Number, r.fullName())
		}
		c := &issueComment{id: w.id(), body: "A comment.", user: w.pick(), created: now, updated: now, issue: i}
		i.comments = append(i.comments, c)
		i.updated = now
		if i.pull != nil {
			i.pull.updated = now
		}
		res.Number, res.ID = i.number, c.id
		pub("issue_comment", "created", func(u urls) obj { return u.issueCommentEvent(r, i, c, "created") })
	case "workflow_run":
		head := r.branches["main"][0]
		rn := w.genRun(r, head, "main", "push", now, false)
		rn.number = len(r.runs)
		if req.Workflow != "" {
			rn.name, rn.path = req.Workflow, ".github/workflows/"+strings.ToLower(strings.ReplaceAll(req.Workflow, " ", "-"))+".yml"
			rn.workflowID = w.id()
		}
		pub("workflow_run", "requested", func(u urls) obj { return u.workflowRunEvent(r, rn, "requested") })
		rn.status, rn.conclusion, rn.updated = "completed", req.Conclusion, now
		if rn.conclusion == "" {
			rn.conclusion = "success"
		}
		snapshot := *rn
		pub("workflow_run", "completed", func(u urls) obj { return u.workflowRunEvent(r, &snapshot, "completed") })
		res.ID, res.SHA = rn.id, head.sha
	case "deployment":
		head := r.branches["main"][0]
		env := req.Environment
		if env == "" {
			env = "production"
		}
		state := req.State
		if state == "" {
			state = "success"
		}
		d := w.genDeployment(r, head, env, "", now)
		d.statuses[0].state = "in_progress"
		pub("deployment", "created", func(u urls) obj { return u.deploymentEvent(r, d) })
		first := d.statuses[0]
		pub("deployment_status", "created", func(u urls) obj { return u.deploymentStatusEvent(r, d, first) })
		final := &deploymentStatus{id: w.id(), state: state, environment: env, creator: w.admin, created: now, description: "Deployment " + state}
		d.statuses = append(d.statuses, final)
		d.updated = now
		pub("deployment_status", "created", func(u urls) obj { return u.deploymentStatusEvent(r, d, final) })
		res.ID, res.SHA = d.id, head.sha
	default:
		return res, fmt.Errorf("unknown activity kind %q: use pull_request_opened, pull_request_synchronize, pull_request_merged, pull_request_closed, push, review, review_comment, issue_opened, issue_closed, issue_comment, workflow_run, deployment or repository_created", req.Kind)
	}
	return res, nil
}

func sortCommits(list []*commit) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].committed.After(list[j-1].committed); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

func (s *Sim) openPull(r *repo, number int) *pull {
	for _, p := range reverse(r.pulls) {
		if p.state == "open" && (number == 0 || p.number == number) {
			return p
		}
	}
	return nil
}

func (s *Sim) repoNamed(name string) *repo {
	if name == "" {
		return s.w.org.repos[0]
	}
	for _, r := range s.w.org.repos {
		if strings.EqualFold(r.name, name) || strings.EqualFold(r.fullName(), name) {
			return r
		}
	}
	return nil
}

func (s *Sim) repoNamesLocked() []string {
	var out []string
	for _, r := range s.w.org.repos {
		out = append(out, r.name)
	}
	return out
}

// createRepoLocked adds a repository to the organization, as "Create an
// organization repository" (POST /orgs/{org}/repos) and a push of an
// existing history would: a week of pull requests and commits, listed by
// GET /user/repos and GET /orgs/{org}/repos from then on. It has no webhook
// (a repository's webhooks are its own; GitHub sends the organization's
// "repository created" event to organization webhooks only, which the
// product does not register).
func (s *Sim) createRepoLocked(name string) (ActivityResult, error) {
	if name == "" || strings.Contains(name, "/") {
		return ActivityResult{}, fmt.Errorf("repository_created needs repo: the new repository's name, without the owner")
	}
	if s.repoNamed(name) != nil {
		return ActivityResult{}, fmt.Errorf("repository %q already exists", name)
	}
	now := s.clock.Now()
	p := profile{pulls: 6, issues: 2, runs: 3, deployments: 2, days: 7}
	r := s.w.genRepo(name, p, 0, now.AddDate(0, 0, -p.days), now)
	s.w.org.repos = append(s.w.org.repos, r)
	return ActivityResult{Kind: "repository_created", Repo: r.fullName(), ID: r.id}, nil
}
