package storetest

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(
		NewCase("dashboard: workspace and project reads with children, isolated", testDashboardReads),
		NewCase("dashboard: data version and project parts move with the data", testDashboardVersion),
		NewCase("dashboard: scopes name their integration's provider", testDashboardScopeProviders),
	)
}

// dashboardRows writes one of everything into f's workspace.
func dashboardRows(t *testing.T, db *store.DB, f fixture, prefix string) {
	t.Helper()
	must(t, db.UpsertProject(ctx, store.Project{Key: f.key, ProjectID: prefix + "p1", Name: prefix + "Shop"}))
	must(t, db.SetProjectSelected(ctx, f.key, prefix+"p1", true, t0))
	must(t, db.UpsertRepository(ctx, store.Repository{Key: f.key, RepoID: prefix + "r1", ProjectID: prefix + "p1", Name: "web"}))
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: prefix + "r1", SHA: "a", ProjectID: prefix + "p1",
		AuthorEmail: "ann@x", AuthorDate: t0, CommitterDate: t0, Message: "first", Edits: 1}))
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: prefix + "r1", SHA: "m", ProjectID: prefix + "p1",
		AuthorEmail: "ann@x", AuthorDate: t0.Add(time.Hour), CommitterDate: t0.Add(time.Hour), Message: "merge #7",
		Parents: []string{"a", "b"}}))
	_, err := db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: 11, ProjectID: prefix + "p1", RepoID: prefix + "r1",
		Title: "Fix checkout", Status: "completed", AuthorID: "ann", CreatedAt: t0, ClosedAt: ptr(t0.Add(2 * time.Hour)), MergeCommit: "m",
		ProviderUpdatedAt: t0})
	must(t, err)
	must(t, db.UpsertReviewer(ctx, f.pr(prefix+"r1", 11), store.Reviewer{ReviewerID: "bob", Vote: 10, VotedAt: ptr(t0.Add(time.Hour))}))
	must(t, db.UpsertComment(ctx, f.pr(prefix+"r1", 11), store.Comment{ThreadID: 1, CommentID: 1, AuthorID: "bob",
		PublishedAt: t0.Add(30 * time.Minute), UpdatedAt: t0.Add(30 * time.Minute)}))
	must(t, db.AddPRCommit(ctx, f.pr(prefix+"r1", 11), "a", nil))
	must(t, db.AddPRWorkItem(ctx, f.pr(prefix+"r1", 11), store.WorkItemRef{ID: 7}))
	must(t, db.UpsertPipelineRun(ctx, store.PipelineRun{Key: f.key, RunID: 5, ProjectID: prefix + "p1",
		DefinitionName: "web-deploy", RepoID: prefix + "r1", Tags: "release,prod", Result: "succeeded",
		FinishedAt: ptr(t0.Add(3 * time.Hour)), Stages: []store.Stage{{RecordID: "s1", Name: "Build", StartedAt: ptr(t0)},
			{RecordID: "s2", Name: "Deploy prod", StartedAt: ptr(t0.Add(time.Hour))}}}))
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "build:5", ProjectID: prefix + "p1",
		Source: "build", RepoID: prefix + "r1", Environment: "Deploy prod", IsProduction: true, Result: "succeeded",
		RunID: 5, SHA: "m", FinishedAt: ptr(t0.Add(3 * time.Hour))}))
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "release:1:2:1", ProjectID: prefix + "p1",
		Source: "release", Environment: "Production", IsProduction: true, Result: "failed",
		FinishedAt: ptr(t0.Add(4 * time.Hour))}))
	_, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, WorkItemID: 7, ProjectID: prefix + "p1", Rev: 1,
		Type: "Bug", Tags: "incident", CreatedAt: t0, ChangedAt: t0})
	must(t, err)
	_, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, WorkItemID: 8, ProjectID: prefix + "p1", Rev: 1,
		Type: "Bug", CreatedAt: t0, ChangedAt: t0, IsDeleted: true})
	must(t, err)
	must(t, db.AddWorkItemLink(ctx, store.WorkItemLink{Key: f.key, WorkItemID: 7, TargetKind: "commit",
		TargetID: prefix + "r1:m", Origin: "mention"}))
}

func testDashboardReads(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	dashboardRows(t, db, f, "")
	dashboardRows(t, db, other, "o-")

	repoCommits := func(ws, project, repo string) ([]store.GraphCommit, error) {
		var out []store.GraphCommit
		err := db.EachCommit(ctx, ws, project, repo, func(c store.GraphCommit) error { out = append(out, c); return nil })
		return out, err
	}
	allCommits := func(ws, project string) ([]store.GraphCommit, error) { return repoCommits(ws, project, "") }
	commits, err := allCommits(f.ws.ID, "")
	must(t, err)
	eq(t, "commits", len(commits), 2)
	slices.SortFunc(commits, func(a, b store.GraphCommit) int { return a.AuthorDate.Compare(b.AuthorDate) })
	eq(t, "merge parents in order", slices.Equal(commits[1].Parents, []string{"a", "b"}), true)
	eq(t, "root has no parents", len(commits[0].Parents), 0)
	eq(t, "time is UTC", commits[0].AuthorDate.Equal(t0), true)

	prs, err := db.AllPullRequests(ctx, f.ws.ID, "", "", nil)
	must(t, err)
	eq(t, "prs", len(prs), 1)
	p := prs[0]
	eq(t, "reviewers", len(p.Reviewers), 1)
	eq(t, "vote", p.Reviewers[0].Vote, 10)
	eq(t, "vote time", p.Reviewers[0].VotedAt.Equal(t0.Add(time.Hour)), true)
	eq(t, "comments", len(p.Comments), 1)
	eq(t, "commits", slices.Equal(p.Commits, []string{"a"}), true)
	eq(t, "work items", slices.Equal(p.WorkItems, []store.WorkItemRef{{ID: 7}}), true)
	eq(t, "title", p.Title, "Fix checkout")
	eq(t, "no first commit reported", p.FirstCommitAt == nil, true)
	// The earliest author date the PR commits API reported reaches the
	// dashboard's read too (it used to be dropped there: #15's end-to-end
	// comparison found PRs whose cycle time started at a later commit).
	must(t, db.AddPRCommit(ctx, f.pr("r1", 11), "b", ptr(t0.Add(-48*time.Hour))))
	must(t, db.AddPRCommit(ctx, f.pr("r1", 11), "c", ptr(t0.Add(-24*time.Hour))))
	withFirst, err := db.AllPullRequests(ctx, f.ws.ID, "", "", nil)
	must(t, err)
	eq(t, "first commit", withFirst[0].FirstCommitAt != nil && withFirst[0].FirstCommitAt.Equal(t0.Add(-48*time.Hour)), true)
	eq(t, "commits", len(withFirst[0].Commits), 3)
	// A reader that needs less reduces each row as it is read; the children
	// still come.
	reduced, err := db.AllPullRequests(ctx, f.ws.ID, "", "", func(p *store.PullRequestDetail) {
		p.Title, p.WorkItems = "", append(p.WorkItems, store.WorkItemRef{ID: 99})
	})
	must(t, err)
	eq(t, "reduced PR", len(reduced) == 1 && reduced[0].Title == "" && len(reduced[0].Reviewers) == 1 &&
		slices.Equal(reduced[0].WorkItems, []store.WorkItemRef{{ID: 99}, {ID: 7}}), true)

	deps, err := db.AllDeployments(ctx, f.ws.ID, "")
	must(t, err)
	eq(t, "deployments", len(deps), 2)
	eq(t, "ordered by key", deps[0].DeploymentKey, "build:5")
	eq(t, "definition of the run", deps[0].DefinitionName, "web-deploy")
	eq(t, "tags of the run", deps[0].Tags, "release,prod")
	eq(t, "stages in order", slices.Equal(deps[0].Stages, []string{"Build", "Deploy prod"}), true)
	eq(t, "release has no run", deps[1].DefinitionName, "")

	items, err := db.AllWorkItems(ctx, f.ws.ID, "")
	must(t, err)
	eq(t, "deleted items left out", len(items), 1)
	eq(t, "links", len(items[0].Links), 1)
	eq(t, "link target", items[0].Links[0].TargetID, "r1:m")

	// A project filter keeps that project's rows and their children only.
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r2", SHA: "z", ProjectID: "p2", AuthorDate: t0, CommitterDate: t0}))
	_, err = db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: 12, ProjectID: "p2", RepoID: "r2", Status: "active",
		CreatedAt: t0, ProviderUpdatedAt: t0})
	must(t, err)
	must(t, db.AddPRCommit(ctx, f.pr("r2", 12), "z", nil))
	_, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, WorkItemID: 9, ProjectID: "p2", Rev: 1, Type: "Bug", CreatedAt: t0, ChangedAt: t0})
	must(t, err)
	must(t, db.AddWorkItemLink(ctx, store.WorkItemLink{Key: f.key, WorkItemID: 9, TargetKind: "commit", TargetID: "r2:z", Origin: "mention"}))
	p1Commits, err := allCommits(f.ws.ID, "p1")
	must(t, err)
	eq(t, "p1 commits", len(p1Commits), 2)
	p2Commits, err := allCommits(f.ws.ID, "p2")
	must(t, err)
	eq(t, "p2 commits", len(p2Commits), 1)
	p1PRs, err := db.AllPullRequests(ctx, f.ws.ID, "p1", "", nil)
	must(t, err)
	eq(t, "p1 PRs", len(p1PRs), 1)
	eq(t, "p1 PR commits", slices.Equal(p1PRs[0].Commits, []string{"a", "b", "c"}), true)
	p2PRs, err := db.AllPullRequests(ctx, f.ws.ID, "p2", "", nil)
	must(t, err)
	eq(t, "p2 PR commits", len(p2PRs) == 1 && slices.Equal(p2PRs[0].Commits, []string{"z"}) && len(p2PRs[0].Reviewers) == 0, true)
	p2Items, err := db.AllWorkItems(ctx, f.ws.ID, "p2")
	must(t, err)
	eq(t, "p2 work item links", len(p2Items) == 1 && len(p2Items[0].Links) == 1 && p2Items[0].Links[0].TargetID == "r2:z", true)
	p2Deps, err := db.AllDeployments(ctx, f.ws.ID, "p2")
	must(t, err)
	eq(t, "p2 deployments", len(p2Deps), 0)
	p2Commits, err = allCommits(f.ws.ID, "")
	must(t, err)
	eq(t, "a repository's commits come one after another", slices.IsSortedFunc(p2Commits, func(a, b store.GraphCommit) int {
		return strings.Compare(a.RepoID, b.RepoID)
	}), true)

	// A repository filter keeps that repository's rows; the repositories of
	// a project are those with commits or PRs.
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r3", SHA: "y", ProjectID: "p2", AuthorDate: t0, CommitterDate: t0}))
	r2Commits, err := repoCommits(f.ws.ID, "p2", "r2")
	must(t, err)
	eq(t, "r2 commits", len(r2Commits) == 1 && r2Commits[0].SHA == "z", true)
	r3Commits, err := repoCommits(f.ws.ID, "", "r3")
	must(t, err)
	eq(t, "r3 commits in any project", len(r3Commits) == 1 && r3Commits[0].SHA == "y", true)
	r3PRs, err := db.AllPullRequests(ctx, f.ws.ID, "p2", "r3", nil)
	must(t, err)
	eq(t, "r3 has no PRs", len(r3PRs), 0)
	r2PRs, err := db.AllPullRequests(ctx, f.ws.ID, "p2", "r2", nil)
	must(t, err)
	eq(t, "r2 PRs with their commits", len(r2PRs) == 1 && r2PRs[0].PRID == 12 && slices.Equal(r2PRs[0].Commits, []string{"z"}), true)
	_, err = db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: 13, ProjectID: "p2", RepoID: "r4", Status: "active",
		CreatedAt: t0, ProviderUpdatedAt: t0})
	must(t, err)
	repos, err := db.ProjectRepositories(ctx, f.ws.ID, "p2")
	must(t, err)
	eq(t, "p2 repositories", strings.Join(repos, ","), "r2,r3,r4")
	repos, err = db.ProjectRepositories(ctx, f.ws.ID, "p9")
	must(t, err)
	eq(t, "unknown project's repositories", len(repos), 0)

	scopes, err := db.ListScopes(ctx, f.ws.ID)
	must(t, err)
	eq(t, "scopes", len(scopes), 1)
	eq(t, "project name", scopes[0].Name, "Shop")
	eq(t, "repositories", len(scopes[0].Repositories), 1)

	empty, err := db.EnsureWorkspace(ctx, "empty", t0)
	must(t, err)
	for what, n := range map[string]func() (int, error){
		"commits": func() (int, error) { v, err := allCommits(empty.ID, ""); return len(v), err },
		"prs":     func() (int, error) { v, err := db.AllPullRequests(ctx, empty.ID, "", "", nil); return len(v), err },
		"deps":    func() (int, error) { v, err := db.AllDeployments(ctx, empty.ID, ""); return len(v), err },
		"items":   func() (int, error) { v, err := db.AllWorkItems(ctx, empty.ID, ""); return len(v), err },
		"parts":   func() (int, error) { v, err := db.ProjectParts(ctx, empty.ID); return len(v), err },
		"scopes":  func() (int, error) { v, err := db.ListScopes(ctx, empty.ID); return len(v), err },
	} {
		got, err := n()
		must(t, err)
		eq(t, "empty workspace "+what, got, 0)
	}
}

func testDashboardVersion(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	since := t0.Add(-24 * time.Hour)
	version := func() string {
		t.Helper()
		v, err := db.DataVersion(ctx, f.ws.ID, since)
		must(t, err)
		return v.String()
	}
	parts := func() store.DataParts {
		t.Helper()
		p, err := db.ProjectParts(ctx, f.ws.ID)
		must(t, err)
		return p["p1"]
	}
	v0, p0 := version(), parts()
	eq(t, "stable", version(), v0)

	// Another workspace's data does not move ours.
	dashboardRows(t, db, other, "o-")
	eq(t, "isolated version", version(), v0)
	eq(t, "isolated parts", parts().Equal(p0), true)

	// A deployment row moves the version and only the deployment part.
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "env:1", ProjectID: "p1",
		Source: "environment", Environment: "prod", Result: "inProgress"}))
	v1, p1 := version(), parts()
	if v1 == v0 {
		t.Fatal("a new deployment must change the version")
	}
	eq(t, "commits part kept", p1.Commits, p0.Commits)
	if p1.Deployments == p0.Deployments {
		t.Fatal("deployment part must change")
	}
	eq(t, "a deployment of no repository is a part of its own", p1.Repositories[""] != "" && p0.Repositories[""] == "", true)
	eq(t, "repositories' parts kept", p1.Repositories["r1"], p0.Repositories["r1"])
	// Finishing it moves them again.
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "env:1", ProjectID: "p1",
		Source: "environment", Environment: "prod", Result: "succeeded", FinishedAt: ptr(t0)}))
	v2, p2 := version(), parts()
	if v2 == v1 || p2.Deployments == p1.Deployments {
		t.Fatal("a finished deployment must change the version and its part")
	}
	// A commit stored from a push event (no parents, no change counts)
	// moves the commits part again when the commits API adds them, and a
	// later event's copy does not take them away.
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r1", SHA: "pushed", ProjectID: "p1", AuthorDate: t0, CommitterDate: t0}))
	before := parts()
	must(t, db.SetCommitParents(ctx, f.in.ID, "r1", "pushed", []string{"m"}, true))
	withParents := parts()
	if withParents.Commits == before.Commits || withParents.Repositories["r1"] == before.Repositories["r1"] {
		t.Fatal("parents added to a stored commit must move its repository's part")
	}
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r1", SHA: "pushed", ProjectID: "p1", AuthorDate: t0, CommitterDate: t0,
		Edits: 3, Parents: []string{"m"}}))
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r1", SHA: "pushed", ProjectID: "p1", AuthorDate: t0, CommitterDate: t0}))
	got, err := db.CommitParents(ctx, f.in.ID, "r1", "pushed")
	must(t, err)
	eq(t, "parents kept", slices.Equal(got, []string{"m"}), true)
	cs, err := db.ListCommits(ctx, store.Filter{WorkspaceID: f.ws.ID, From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Limit: 10})
	must(t, err)
	for _, c := range cs {
		if c.SHA == "pushed" {
			eq(t, "change counts kept", c.Edits, 3)
		}
	}
	p2 = parts()

	// Collected-since is part of the project's fingerprint.
	eq(t, "no collected-since yet", p2.CollectedSince.IsZero(), true)
	must(t, db.UpsertProject(ctx, store.Project{Key: f.key, ProjectID: "p1", Name: "Shop"}))
	must(t, db.SetProjectSelected(ctx, f.key, "p1", true, t0))
	must(t, db.NoteCollectedSince(ctx, f.key, "p1", t0.AddDate(0, 0, -30)))
	eq(t, "collected-since read", parts().CollectedSince.Equal(t0.AddDate(0, 0, -30)), true)
	eq(t, "collected-since moves the parts", parts().Equal(p2), false)
	must(t, db.NoteCollectedSince(ctx, f.key, "p1", t0.AddDate(0, 0, 1))) // later: kept
	eq(t, "collected-since kept", parts().CollectedSince.Equal(t0.AddDate(0, 0, -30)), true)
	p2 = parts()

	// A processed webhook event moves the version.
	_, err = db.InsertInboxEvent(ctx, store.InboxEvent{Key: f.key, EventID: "e1", EventType: "git.push", Payload: "{}", ReceivedAt: t0})
	must(t, err)
	eq(t, "pending event does not count", version(), v2)
	must(t, db.MarkInboxEvent(ctx, f.in.ID, "e1", "processed", "", t0.Add(time.Second)))
	v3 := version()
	if v3 == v2 {
		t.Fatal("a processed event must change the version")
	}

	// A sync and a checkpoint move it.
	must(t, db.MarkIntegrationSynced(ctx, f.in.ID, t0.Add(time.Minute)))
	v4 := version()
	if v4 == v3 {
		t.Fatal("a sync must change the version")
	}
	must(t, db.SaveWatermark(ctx, store.Watermark{Key: f.key, ProjectID: "p1", Resource: "commits", ItemsDone: 10, UpdatedAt: t0}))
	if version() == v4 {
		t.Fatal("a checkpoint must change the version")
	}

	// Each kind of row moves its own part.
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r1", SHA: "a", ProjectID: "p1", AuthorDate: t0, CommitterDate: t0}))
	p3 := parts()
	if p3.Commits == p2.Commits || p3.Repositories["r1"] == p2.Repositories["r1"] {
		t.Fatal("commit part and its repository's must change")
	}
	eq(t, "other repositories' parts kept", p3.Repositories[""], p2.Repositories[""])
	_, err = db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: 1, ProjectID: "p1", RepoID: "r1", Status: "active",
		CreatedAt: t0, ProviderUpdatedAt: t0})
	must(t, err)
	p4 := parts()
	if p4.PullRequests == p3.PullRequests || p4.Commits != p3.Commits || p4.Repositories["r1"] == p3.Repositories["r1"] {
		t.Fatal("PR part (and its repository's) must change alone")
	}
	must(t, db.UpsertReviewer(ctx, f.pr("r1", 1), store.Reviewer{ReviewerID: "bob", Vote: 10}))
	p5 := parts()
	if p5.PullRequests == p4.PullRequests {
		t.Fatal("a vote must change the PR part")
	}
	_, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, WorkItemID: 1, ProjectID: "p1", Rev: 1, CreatedAt: t0, ChangedAt: t0})
	must(t, err)
	p6 := parts()
	if p6.WorkItems == p5.WorkItems || p6.PullRequests != p5.PullRequests || !maps.Equal(p6.Repositories, p5.Repositories) {
		t.Fatal("work item part must change alone")
	}
	_, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, WorkItemID: 1, ProjectID: "p1", Rev: 2, State: "Closed",
		CreatedAt: t0, ChangedAt: t0.Add(time.Hour)})
	must(t, err)
	p7 := parts()
	if p7.WorkItems == p6.WorkItems {
		t.Fatal("a new revision must change the work item part")
	}
	must(t, db.UpsertPipelineRun(ctx, store.PipelineRun{Key: f.key, RunID: 77, ProjectID: "p1", DefinitionName: "deploy"}))
	p8 := parts()
	if p8.Deployments == p7.Deployments || p8.Runs == p7.Runs {
		t.Fatal("a pipeline run must change the deployment part (build rules classify by its names)")
	}

	// Another project's rows move that project's parts, not p1's.
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r2", SHA: "x", ProjectID: "p2", AuthorDate: t0, CommitterDate: t0}))
	_, err = db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: 2, ProjectID: "p2", RepoID: "r2", Status: "active",
		CreatedAt: t0, ProviderUpdatedAt: t0})
	must(t, err)
	must(t, db.AddPRCommit(ctx, f.pr("r2", 2), "x", nil))
	eq(t, "p1 parts kept", parts().Equal(p8), true)
	all, err := db.ProjectParts(ctx, f.ws.ID)
	must(t, err)
	eq(t, "projects with rows", len(all), 2)
}

// testDashboardScopeProviders: a workspace with an Azure DevOps and a
// GitHub integration lists each project with its provider, the source
// filter's ground; a repository whose project row is missing still names
// its integration's provider.
func testDashboardScopeProviders(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	gh, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: f.ws.ID, Provider: "github",
		OrgURL: "https://api.github.com", TokenSealed: "sealed-token", TokenHint: "…wxyz",
		WebhookSecretSealed: "sealed-secret", CreatedAt: t0, UpdatedAt: t0})
	must(t, err)
	ghKey := store.Key{IntegrationID: gh.ID, WorkspaceID: f.ws.ID}
	must(t, db.UpsertProject(ctx, store.Project{Key: f.key, ProjectID: "p1", Name: "Shop"}))
	must(t, db.SetProjectSelected(ctx, f.key, "p1", true, t0))
	must(t, db.UpsertRepository(ctx, store.Repository{Key: f.key, RepoID: "r1", ProjectID: "p1", Name: "web"}))
	must(t, db.UpsertProject(ctx, store.Project{Key: ghKey, ProjectID: "101", Name: "acme/api"}))
	must(t, db.SetProjectSelected(ctx, ghKey, "101", true, t0))
	must(t, db.UpsertRepository(ctx, store.Repository{Key: ghKey, RepoID: "101", ProjectID: "101", Name: "acme/api",
		WebURL: "https://github.com/acme/api"}))
	must(t, db.UpsertRepository(ctx, store.Repository{Key: ghKey, RepoID: "102", ProjectID: "102", Name: "acme/lost"}))

	scopes, err := db.ListScopes(ctx, f.ws.ID)
	must(t, err)
	got := map[string]string{}
	for _, s := range scopes {
		got[s.ProjectID] = s.Provider
	}
	eq(t, "providers", len(got), 3)
	eq(t, "Azure DevOps project", got["p1"], "azure-devops")
	eq(t, "GitHub repository", got["101"], "github")
	eq(t, "GitHub repository without its project row", got["102"], "github")
	other := newFixture(t, db, "other")
	scopes, err = db.ListScopes(ctx, other.ws.ID)
	must(t, err)
	eq(t, "another workspace sees none", len(scopes), 0)
}
