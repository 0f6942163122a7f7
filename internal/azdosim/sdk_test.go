package azdosim

import (
	"context"
	"strings"
	"testing"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"
	bclient "github.com/microsoft/azure-devops-go-api/azuredevops/v7/build"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/core"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/location"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/pipelines"
	rmclient "github.com/microsoft/azure-devops-go-api/azuredevops/v7/release"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/servicehooks"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/workitemtracking"
)

func ptr[T any](v T) *T { return &v }

// TestSDKConformance drives the official Go SDK, unchanged, against the simulator in every URL form.
func TestSDKConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"services", Options{Mode: "services"}},
		{"server2022", Options{Mode: "server", ServerVersion: "2022"}},
		{"server2020", Options{Mode: "server", ServerVersion: "2020"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := newTestSim(t, tc.opts)
			sdkSuite(t, sim)
		})
	}
}

func sdkSuite(t *testing.T, sim *Sim) {
	ctx := context.Background()
	conn := azuredevops.NewPatConnection(sim.OrgURL(), sim.FullPAT())

	// location
	loc := location.NewClient(ctx, conn)
	cd, err := loc.GetConnectionData(ctx, location.GetConnectionDataArgs{})
	if err != nil {
		t.Fatalf("GetConnectionData: %v", err)
	}
	if cd.AuthenticatedUser == nil || cd.AuthenticatedUser.Id == nil {
		t.Fatalf("connectionData without user: %+v", cd)
	}

	// core
	coreC, err := core.NewClient(ctx, conn)
	if err != nil {
		t.Fatalf("core.NewClient: %v", err)
	}
	page, err := coreC.GetProjects(ctx, core.GetProjectsArgs{Top: ptr(2)})
	if err != nil {
		t.Fatalf("GetProjects: %v", err)
	}
	if len(page.Value) != 2 || page.ContinuationToken == "" {
		t.Fatalf("GetProjects page: %d items, token %q", len(page.Value), page.ContinuationToken)
	}
	ct := 0
	for _, c := range page.ContinuationToken {
		ct = ct*10 + int(c-'0')
	}
	page2, err := coreC.GetProjects(ctx, core.GetProjectsArgs{Top: ptr(100), ContinuationToken: &ct})
	if err != nil {
		t.Fatalf("GetProjects page 2: %v", err)
	}
	if len(page2.Value) != len(sim.org.projects)-2 {
		t.Fatalf("GetProjects page 2: %d", len(page2.Value))
	}
	proj := *page.Value[0].Name

	// git
	gitC, err := git.NewClient(ctx, conn)
	if err != nil {
		t.Fatalf("git.NewClient: %v", err)
	}
	repos, err := gitC.GetRepositories(ctx, git.GetRepositoriesArgs{Project: &proj})
	if err != nil || len(*repos) == 0 {
		t.Fatalf("GetRepositories: %v", err)
	}
	repoID := (*repos)[0].Id.String()
	commits, err := gitC.GetCommits(ctx, git.GetCommitsArgs{Project: &proj, RepositoryId: &repoID,
		SearchCriteria: &git.GitQueryCommitsCriteria{Top: ptr(10), IncludeWorkItems: ptr(true)}})
	if err != nil || len(*commits) != 10 {
		t.Fatalf("GetCommits: %v (%v)", err, commits)
	}
	one := *(*commits)[3].CommitId
	byID, err := gitC.GetCommits(ctx, git.GetCommitsArgs{Project: &proj, RepositoryId: &repoID,
		SearchCriteria: &git.GitQueryCommitsCriteria{Ids: &[]string{one}}})
	if err != nil || len(*byID) != 1 || *(*byID)[0].CommitId != one {
		t.Fatalf("GetCommits by id: %v", err)
	}
	// Branches: refs two at a time through the continuation token, then a
	// branch's commits by name and a push's commits by id.
	var branches []git.GitRef
	for token := ""; ; {
		args := git.GetRefsArgs{Project: &proj, RepositoryId: &repoID, Filter: ptr("heads/"), Top: ptr(2)}
		if token != "" {
			args.ContinuationToken = &token
		}
		refs, err := gitC.GetRefs(ctx, args)
		if err != nil {
			t.Fatalf("GetRefs: %v", err)
		}
		branches = append(branches, refs.Value...)
		if token = refs.ContinuationToken; token == "" {
			break
		}
	}
	if len(branches) < 3 {
		t.Fatalf("GetRefs: %d branches, want main and the others", len(branches))
	}
	feature := ""
	for _, b := range branches {
		if strings.HasPrefix(*b.Name, "refs/heads/feature/") {
			feature = strings.TrimPrefix(*b.Name, "refs/heads/")
		}
	}
	onBranch, err := gitC.GetCommits(ctx, git.GetCommitsArgs{Project: &proj, RepositoryId: &repoID,
		SearchCriteria: &git.GitQueryCommitsCriteria{Top: ptr(5), ItemVersion: &git.GitVersionDescriptor{Version: &feature, VersionType: &git.GitVersionTypeValues.Branch}}})
	if err != nil || len(*onBranch) == 0 {
		t.Fatalf("GetCommits on %s: %v", feature, err)
	}
	pushes, err := gitC.GetPushes(ctx, git.GetPushesArgs{Project: &proj, RepositoryId: &repoID, Top: ptr(1),
		SearchCriteria: &git.GitPushSearchCriteria{IncludeRefUpdates: ptr(true)}})
	if err != nil || len(*pushes) != 1 || len(*(*pushes)[0].RefUpdates) != 1 {
		t.Fatalf("GetPushes: %v", err)
	}
	pushCommits, err := gitC.GetPushCommits(ctx, git.GetPushCommitsArgs{Project: &proj, RepositoryId: &repoID, PushId: (*pushes)[0].PushId})
	if err != nil || len(*pushCommits) == 0 || *(*pushCommits)[0].CommitId != *(*(*pushes)[0].RefUpdates)[0].NewObjectId {
		t.Fatalf("GetPushCommits: %v", err)
	}
	prs, err := gitC.GetPullRequests(ctx, git.GetPullRequestsArgs{Project: &proj, RepositoryId: &repoID,
		SearchCriteria: &git.GitPullRequestSearchCriteria{Status: &git.PullRequestStatusValues.All}, Top: ptr(100)})
	if err != nil || len(*prs) == 0 {
		t.Fatalf("GetPullRequests: %v", err)
	}
	states := map[string]bool{}
	for _, pr := range *prs {
		states[string(*pr.Status)] = true
	}
	if !states["completed"] || !states["active"] {
		t.Errorf("pull request states %v, want completed and active", states)
	}
	byProject, err := gitC.GetPullRequestsByProject(ctx, git.GetPullRequestsByProjectArgs{Project: &proj,
		SearchCriteria: &git.GitPullRequestSearchCriteria{Status: &git.PullRequestStatusValues.Completed}})
	if err != nil || len(*byProject) == 0 {
		t.Fatalf("GetPullRequestsByProject: %v", err)
	}
	prID := *(*byProject)[0].PullRequestId
	prRepo := (*byProject)[0].Repository.Id.String()
	pr, err := gitC.GetPullRequest(ctx, git.GetPullRequestArgs{Project: &proj, RepositoryId: &prRepo, PullRequestId: &prID, IncludeWorkItemRefs: ptr(true)})
	if err != nil || *pr.PullRequestId != prID || pr.ClosedDate == nil {
		t.Fatalf("GetPullRequest: %v", err)
	}
	threads, err := gitC.GetThreads(ctx, git.GetThreadsArgs{Project: &proj, RepositoryId: &prRepo, PullRequestId: &prID})
	if err != nil {
		t.Fatalf("GetThreads: %v", err)
	}
	foundVote := false
	for _, th := range *threads {
		props, _ := th.Properties.(map[string]any)
		if p, ok := props["CodeReviewThreadType"].(map[string]any); ok && p["$value"] == "VoteUpdate" {
			foundVote = true
		}
	}
	if !foundVote {
		t.Errorf("completed PR %d has no VoteUpdate thread", prID)
	}
	created, err := gitC.CreateThread(ctx, git.CreateThreadArgs{Project: &proj, RepositoryId: &prRepo, PullRequestId: &prID,
		CommentThread: &git.GitPullRequestCommentThread{Status: &git.CommentThreadStatusValues.Active,
			Comments: &[]git.Comment{{Content: ptr("PanDev summary"), CommentType: &git.CommentTypeValues.Text, ParentCommentId: ptr(0)}}}})
	if err != nil || created.Id == nil {
		t.Fatalf("CreateThread: %v", err)
	}
	upd, err := gitC.UpdateComment(ctx, git.UpdateCommentArgs{Project: &proj, RepositoryId: &prRepo, PullRequestId: &prID,
		ThreadId: created.Id, CommentId: ptr(1), Comment: &git.Comment{Content: ptr("PanDev summary v2")}})
	if err != nil || *upd.Content != "PanDev summary v2" {
		t.Fatalf("UpdateComment: %v", err)
	}
	revs, err := gitC.GetPullRequestReviewers(ctx, git.GetPullRequestReviewersArgs{Project: &proj, RepositoryId: &prRepo, PullRequestId: &prID})
	if err != nil || len(*revs) == 0 {
		t.Fatalf("GetPullRequestReviewers: %v", err)
	}
	if _, err := gitC.GetPullRequestWorkItemRefs(ctx, git.GetPullRequestWorkItemRefsArgs{Project: &proj, RepositoryId: &prRepo, PullRequestId: &prID}); err != nil {
		t.Fatalf("GetPullRequestWorkItemRefs: %v", err)
	}
	prc, err := gitC.GetPullRequestCommits(ctx, git.GetPullRequestCommitsArgs{Project: &proj, RepositoryId: &prRepo, PullRequestId: &prID})
	if err != nil || len(prc.Value) == 0 {
		t.Fatalf("GetPullRequestCommits: %v", err)
	}

	// build
	buildC, err := bclient.NewClient(ctx, conn)
	if err != nil {
		t.Fatalf("bclient.NewClient: %v", err)
	}
	bp, err := buildC.GetBuilds(ctx, bclient.GetBuildsArgs{Project: &proj, Top: ptr(5), QueryOrder: &bclient.BuildQueryOrderValues.FinishTimeDescending})
	if err != nil || len(bp.Value) != 5 || bp.ContinuationToken == "" {
		t.Fatalf("GetBuilds: %v (token %q)", err, bp.ContinuationToken)
	}
	bp2, err := buildC.GetBuilds(ctx, bclient.GetBuildsArgs{Project: &proj, Top: ptr(5), QueryOrder: &bclient.BuildQueryOrderValues.FinishTimeDescending, ContinuationToken: &bp.ContinuationToken})
	if err != nil || len(bp2.Value) == 0 || *bp2.Value[0].Id == *bp.Value[4].Id {
		t.Fatalf("GetBuilds page 2: %v", err)
	}
	tl, err := buildC.GetBuildTimeline(ctx, bclient.GetBuildTimelineArgs{Project: &proj, BuildId: bp.Value[0].Id})
	if err != nil || len(*tl.Records) == 0 {
		t.Fatalf("GetBuildTimeline: %v", err)
	}
	if _, err := buildC.GetBuildWorkItemsRefs(ctx, bclient.GetBuildWorkItemsRefsArgs{Project: &proj, BuildId: bp.Value[0].Id}); err != nil {
		t.Fatalf("GetBuildWorkItemsRefs: %v", err)
	}

	// pipelines exist from Server 2020 on.
	if sim.opts.ServerVersion != "2019" {
		pc := pipelines.NewClient(ctx, conn)
		runs, err := pc.ListRuns(ctx, pipelines.ListRunsArgs{Project: &proj, PipelineId: ptr(sim.org.project(proj).pipelines[0].ID)})
		if err != nil || len(*runs) == 0 {
			t.Fatalf("ListRuns: %v", err)
		}
	}

	// release: Services resolves the separate release host through resourceAreas.
	relC, err := rmclient.NewClient(ctx, conn)
	if err != nil {
		t.Fatalf("release.NewClient: %v", err)
	}
	deps, err := relC.GetDeployments(ctx, rmclient.GetDeploymentsArgs{Project: &proj, Top: ptr(3)})
	if err != nil || len(deps.Value) != 3 || deps.ContinuationToken == "" {
		t.Fatalf("GetDeployments: %v", err)
	}
	next := atoiT(t, deps.ContinuationToken)
	deps2, err := relC.GetDeployments(ctx, rmclient.GetDeploymentsArgs{Project: &proj, Top: ptr(3), ContinuationToken: &next})
	if err != nil || len(deps2.Value) == 0 || *deps2.Value[0].Id >= *deps.Value[2].Id {
		t.Fatalf("GetDeployments page 2: %v", err)
	}

	// work item tracking
	witC, err := workitemtracking.NewClient(ctx, conn)
	if err != nil {
		t.Fatalf("workitemtracking.NewClient: %v", err)
	}
	res, err := witC.QueryByWiql(ctx, workitemtracking.QueryByWiqlArgs{Project: &proj, Wiql: &workitemtracking.Wiql{
		Query: ptr("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.ChangedDate] >= @Today - 30 ORDER BY [System.ChangedDate] DESC")}})
	if err != nil || len(*res.WorkItems) == 0 {
		t.Fatalf("QueryByWiql: %v", err)
	}
	var ids []int
	for _, w := range (*res.WorkItems)[:min(len(*res.WorkItems), 200)] {
		ids = append(ids, *w.Id)
	}
	items, err := witC.GetWorkItemsBatch(ctx, workitemtracking.GetWorkItemsBatchArgs{Project: &proj,
		WorkItemGetRequest: &workitemtracking.WorkItemBatchGetRequest{Ids: &ids, Expand: &workitemtracking.WorkItemExpandValues.Relations}})
	if err != nil || len(*items) != len(ids) {
		t.Fatalf("GetWorkItemsBatch: %v", err)
	}
	if (*(*items)[0].Fields)["System.TeamProject"] != proj {
		t.Errorf("work item project %v, want %s", (*(*items)[0].Fields)["System.TeamProject"], proj)
	}
	if _, err := witC.GetWorkItems(ctx, workitemtracking.GetWorkItemsArgs{Ids: &ids}); err != nil {
		t.Fatalf("GetWorkItems: %v", err)
	}
	r0 := sim.org.project(proj).repos[0]
	var uri string
	for i := range r0.commits {
		if r0.commits[i].wi != 0 {
			uri = "vstfs:///Git/Commit/" + r0.proj.ID + "%2F" + r0.ID + "%2F" + sim.org.sha(r0, int32(i))
			break
		}
	}
	aq, err := witC.QueryWorkItemsForArtifactUris(ctx, workitemtracking.QueryWorkItemsForArtifactUrisArgs{
		ArtifactUriQuery: &workitemtracking.ArtifactUriQuery{ArtifactUris: &[]string{uri}}})
	if err != nil || len((*aq.ArtifactUrisQueryResult)[uri]) == 0 {
		t.Fatalf("QueryWorkItemsForArtifactUris: %v", err)
	}

	// service hooks
	hooks := servicehooks.NewClient(ctx, conn)
	p := sim.org.project(proj)
	sub, err := hooks.CreateSubscription(ctx, servicehooks.CreateSubscriptionArgs{Subscription: &servicehooks.Subscription{
		PublisherId: ptr("tfs"), EventType: ptr("git.pullrequest.updated"), ResourceVersion: ptr("1.0"),
		ConsumerId: ptr("webHooks"), ConsumerActionId: ptr("httpRequest"),
		PublisherInputs: &map[string]string{"projectId": p.ID},
		ConsumerInputs:  &map[string]string{"url": "https://ingest.example/azdo", "basicAuthUsername": "pandev", "basicAuthPassword": "s3cret"}}})
	if err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	if (*sub.ConsumerInputs)["basicAuthPassword"] != "********" {
		t.Errorf("password not masked: %v", *sub.ConsumerInputs)
	}
	list, err := hooks.ListSubscriptions(ctx, servicehooks.ListSubscriptionsArgs{EventType: ptr("git.pullrequest.updated")})
	if err != nil || len(*list) != 1 {
		t.Fatalf("ListSubscriptions: %v", err)
	}
	got, err := hooks.GetSubscription(ctx, servicehooks.GetSubscriptionArgs{SubscriptionId: sub.Id})
	if err != nil || *got.Status != servicehooks.SubscriptionStatusValues.Enabled {
		t.Fatalf("GetSubscription: %v", err)
	}
	got.EventType = ptr("git.push")
	rep, err := hooks.ReplaceSubscription(ctx, servicehooks.ReplaceSubscriptionArgs{SubscriptionId: sub.Id, Subscription: got})
	if err != nil || *rep.EventType != "git.push" {
		t.Fatalf("ReplaceSubscription: %v", err)
	}
	full := sim.subscriptionsFull().(obj)["value"].([]any)[0].(obj)
	if full["consumerInputs"].(obj)["basicAuthPassword"] != "s3cret" {
		t.Errorf("replace with the masked value lost the stored password: %v", full["consumerInputs"])
	}
	if err := hooks.DeleteSubscription(ctx, servicehooks.DeleteSubscriptionArgs{SubscriptionId: sub.Id}); err != nil {
		t.Fatalf("DeleteSubscription: %v", err)
	}
	if _, err := hooks.GetSubscription(ctx, servicehooks.GetSubscriptionArgs{SubscriptionId: sub.Id}); err == nil || !strings.Contains(err.Error(), "could not be found") {
		t.Fatalf("GetSubscription after delete: %v", err)
	}
}

// TestSDKServer2019 checks the oldest release: capped versions, no pipelines API.
func TestSDKServer2019(t *testing.T) {
	t.Parallel()
	sim := newTestSim(t, Options{Mode: "server", ServerVersion: "2019"})
	ctx := context.Background()
	conn := azuredevops.NewPatConnection(sim.OrgURL(), sim.FullPAT())
	coreC, err := core.NewClient(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coreC.GetProjects(ctx, core.GetProjectsArgs{}); err != nil {
		t.Fatalf("GetProjects on 2019: %v", err)
	}
	pc := pipelines.NewClient(ctx, conn)
	if _, err := pc.ListRuns(ctx, pipelines.ListRunsArgs{Project: ptr(sim.org.projects[0].Name), PipelineId: ptr(1)}); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("ListRuns on 2019 should fail as unregistered, got %v", err)
	}
}
