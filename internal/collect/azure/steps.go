package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// syncer collects one project of an integration from a time on: the
// neutral run (checkpoints, counts, rules) with the Azure DevOps client.
type syncer struct {
	*collect.Run
	client *azdo.Client
	// repoShare is the commits step's progress before the repository it
	// walks, and that repository's part of it.
	repoShare [2]float64
}

// Collect runs one resource.
func (s *syncer) Collect(ctx context.Context, res string, cp *collect.Checkpoint) error {
	switch res {
	case resRepositories:
		return s.repositories(ctx, cp)
	case resCommits:
		return s.commits(ctx, cp)
	case resPullRequests:
		return s.pullRequests(ctx, cp)
	case resRuns:
		return s.runs(ctx, cp)
	case resEnvDeploys:
		return s.environmentDeployments(ctx, cp)
	case resReleases:
		return s.releaseDeployments(ctx, cp)
	case resWorkItems:
		return s.workItems(ctx, cp)
	case resDerive:
		return s.derive(ctx, cp)
	}
	return fmt.Errorf("collect: unknown resource %q", res)
}

// parallel runs fn for every index of n with at most limit in flight and
// returns the first error.
func parallel(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	sem := make(chan struct{}, max(1, limit))
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return first
}

// event is the synthetic envelope for rows written by the event helpers:
// the fetch time orders this version against webhook deliveries.
func (s *syncer) event(eventType string, resource any, at time.Time) (event, error) {
	raw, err := json.Marshal(resource)
	if err != nil {
		return event{}, err
	}
	return event{Key: s.Key, ProjectID: s.Project.ProjectID, EventType: eventType, At: at, Resource: raw}, nil
}

// ---- repositories -------------------------------------------------------------------------------

func (s *syncer) repositories(ctx context.Context, cp *collect.Checkpoint) error {
	repos, err := s.client.Repositories(ctx, s.Project.ProjectID)
	if err != nil {
		return err
	}
	cp.Pages++
	cp.Total = int64(len(repos))
	items := make([]collect.Fingerprinted, len(repos))
	return s.Write(ctx, resRepositories, cp, items, func(tx *store.Tx) error {
		for _, r := range repos {
			row := repositoryRow(s.Key, s.Project.ProjectID, gitRepository{ID: r.ID, Name: r.Name,
				DefaultBranch: r.DefaultBranch, RemoteURL: r.RemoteURL, WebURL: r.WebURL, IsDisabled: r.IsDisabled})
			if err := tx.UpsertRepository(ctx, row); err != nil {
				return err
			}
		}
		return nil
	})
}

// activeRepos lists the project's stored repositories that can be read.
func (s *syncer) activeRepos(ctx context.Context) ([]store.Repository, error) {
	all, err := s.DB.ListRepositories(ctx, s.Key.WorkspaceID, s.Project.ProjectID)
	if err != nil {
		return nil, err
	}
	var out []store.Repository
	for _, r := range all {
		if r.IntegrationID == s.Key.IntegrationID && !r.IsDisabled {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RepoID < out[j].RepoID })
	return out, nil
}

// ---- commits ------------------------------------------------------------------------------------

// The commits step is in commits.go.

// ---- pull requests ------------------------------------------------------------------------------

type prRef struct {
	id     int
	repoID string
}

// pullRequests finds the PRs created or closed since from with two list
// walks (a PR created earlier and completed since is only in the second),
// then reads each one's details (commits, work item refs, full description)
// and threads, the two things no list carries. Cursor: the last PR id done;
// PRs are done in descending id order.
func (s *syncer) pullRequests(ctx context.Context, cp *collect.Checkpoint) error {
	seen := map[int]bool{}
	var refs []prRef
	for _, rng := range []string{"created", "closed"} {
		n := 0
		for pr, err := range s.client.PullRequests(ctx, s.Project.ProjectID, "", azdo.PullRequestQuery{
			Status: "all", MinTime: s.From, TimeRangeType: rng, PageSize: prPageSize}) {
			if err != nil {
				return err
			}
			n++
			if !seen[pr.PullRequestID] {
				seen[pr.PullRequestID] = true
				refs = append(refs, prRef{pr.PullRequestID, pr.Repository.ID})
			}
		}
		cp.Pages += int64(n/prPageSize + 1)
	}
	if s.Reconcile {
		active, err := s.changedActivePRs(ctx, seen)
		if err != nil {
			return err
		}
		refs = append(refs, active...)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].id > refs[j].id })
	cp.Total = int64(len(refs))
	if last, err := strconv.Atoi(cp.Pos); err == nil && cp.Pos != "" {
		k := sort.Search(len(refs), func(i int) bool { return refs[i].id < last })
		refs = refs[k:]
	}
	for start := 0; start < len(refs); start += prChunk {
		chunk := refs[start:min(start+prChunk, len(refs))]
		type fetched struct {
			pr      azdo.PullRequest
			threads []azdo.Thread
			at      time.Time
			commits []azdo.Commit // its commits no list of the window brought
		}
		got := make([]fetched, len(chunk))
		err := parallel(ctx, len(chunk), s.Fanout, func(ctx context.Context, i int) error {
			at := s.Now()
			pr, err := s.client.PullRequest(ctx, s.Project.ProjectID, chunk[i].repoID, chunk[i].id,
				azdo.PullRequestOptions{IncludeCommits: true, IncludeWorkItemRefs: true})
			if err != nil {
				return err
			}
			threads, err := s.client.PullRequestThreads(ctx, s.Project.ProjectID, chunk[i].repoID, chunk[i].id)
			if err != nil {
				return err
			}
			commits, err := s.missingPRCommits(ctx, chunk[i].repoID, pr)
			if err != nil {
				return err
			}
			got[i] = fetched{pr, threads, at, commits}
			return nil
		})
		if err != nil {
			return err
		}
		items := make([]collect.Fingerprinted, len(got))
		for i, f := range got {
			items[i] = collect.Fingerprinted{Kind: store.SyncPullRequest, Key: azurePR(s.Key.IntegrationID, f.pr).Target(), FP: prFingerprint(f.pr, f.threads)}
		}
		cp.Pos = strconv.Itoa(chunk[len(chunk)-1].id)
		cp.Pages += int64(2 * len(chunk))
		if err := s.Write(ctx, resPullRequests, cp, items, func(tx *store.Tx) error {
			for i, f := range got {
				for _, c := range f.commits {
					if err := s.writeCommit(ctx, tx, chunk[i].repoID, pendingCommit{c: c}); err != nil {
						return err
					}
				}
				if err := s.writePR(ctx, tx, f.pr, f.threads, f.at); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// changedActivePRs finds active PRs created before the window whose status,
// votes or source commit differ from the stored ones (a vote or a push whose
// delivery was lost). A lost comment on such a PR shows in no list; the next vote, update or
// completion brings it.
func (s *syncer) changedActivePRs(ctx context.Context, seen map[int]bool) ([]prRef, error) {
	var cands []azdo.PullRequest
	for pr, err := range s.client.PullRequests(ctx, s.Project.ProjectID, "", azdo.PullRequestQuery{Status: "active", PageSize: prPageSize}) {
		if err != nil {
			return nil, err
		}
		if !seen[pr.PullRequestID] {
			cands = append(cands, pr)
		}
	}
	keys := make([]string, len(cands))
	for i, pr := range cands {
		keys[i] = azurePR(s.Key.IntegrationID, pr).Target()
	}
	stored, err := s.DB.StoredFingerprints(ctx, store.SyncPullRequest, s.Key.IntegrationID, keys)
	if err != nil {
		return nil, err
	}
	var out []prRef
	for _, pr := range cands {
		have, ok := stored[azurePR(s.Key.IntegrationID, pr).Target()]
		if !ok {
			continue // created before the window and still open: collected once it closes
		}
		fp := strings.Split(have, "|")
		list := strings.Split(prFingerprint(pr, nil), "|")
		changed := len(fp) != 4 || fp[0] != list[0] || fp[3] != list[3]
		if !changed && pr.LastMergeSourceCommit != nil {
			// A push to the source branch shows as a new source commit.
			d, err := s.DB.GetPRDetails(ctx, azurePR(s.Key.IntegrationID, pr))
			if err != nil {
				return nil, err
			}
			changed = !slices.Contains(d.Commits, pr.LastMergeSourceCommit.CommitID)
		}
		if changed {
			out = append(out, prRef{pr.PullRequestID, pr.Repository.ID})
		}
	}
	return out, nil
}

// maxPRCommitReads bounds the commits read one by one for one PR.
const maxPRCommitReads = 50

// missingPRCommits reads, for a completed PR, those of its commits that are
// not stored with their details: committed before the window (the commits
// step reads from its start on), or stored from a push event, which carries
// neither parents nor change counts. Without them the PR's size (METRICS.md:
// files changed, from its commits' change counts) would read 0 files. One
// call per such commit, at most maxPRCommitReads; a commit Azure DevOps no
// longer has is skipped.
func (s *syncer) missingPRCommits(ctx context.Context, repoID string, pr azdo.PullRequest) ([]azdo.Commit, error) {
	if pr.Status != "completed" {
		return nil, nil
	}
	var out []azdo.Commit
	for k, c := range pr.Commits {
		if k >= maxPRCommitReads {
			break
		}
		parents, err := s.DB.CommitParents(ctx, s.Key.IntegrationID, repoID, c.CommitID)
		if err != nil {
			return nil, err
		}
		if len(parents) > 0 {
			continue // stored from a list, with its change counts
		}
		full, err := s.client.Commit(ctx, s.Project.ProjectID, repoID, c.CommitID)
		if delivery.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// prFingerprint is StoredFingerprints' value for the PR as fetched.
func prFingerprint(pr azdo.PullRequest, threads []azdo.Thread) string {
	merge := ""
	if pr.Status == "completed" && pr.LastMergeCommit != nil {
		merge = pr.LastMergeCommit.CommitID
	}
	comments, votes := 0, 0
	for _, t := range threads {
		comments += len(t.Comments)
	}
	for _, r := range pr.Reviewers {
		votes += r.Vote
	}
	return fmt.Sprintf("%s|%s|%d|%d", pr.Status, merge, comments, votes)
}

// writePR stores a fetched PR through the webhook path (row, commits, work
// item refs, #mentions), then what only the REST reads have: vote times
// from the VoteUpdate system threads, every comment's metadata, and the
// parents of its merge commit (target, source).
func (s *syncer) writePR(ctx context.Context, tx *store.Tx, pr azdo.PullRequest, threads []azdo.Thread, at time.Time) error {
	ev, err := s.event("git.pullrequest.updated", pr, at)
	if err != nil {
		return err
	}
	var p pullRequest
	if err := json.Unmarshal(ev.Resource, &p); err != nil {
		return err
	}
	p.Reviewers = nil // written below, with the vote times
	ignored, err := storePullRequest(ctx, tx, ev, p)
	if err != nil || ignored != "" {
		return err // ignored: a webhook already stored a newer version
	}
	ref := azurePR(s.Key.IntegrationID, pr)
	votedAt := voteTimes(threads)
	for _, r := range pr.Reviewers {
		if r.IsContainer && r.Vote == 0 {
			continue
		}
		rv := store.Reviewer{ReviewerID: r.ID, DisplayName: r.DisplayName, Vote: r.Vote, IsRequired: r.IsRequired}
		if r.Vote != 0 {
			rv.VotedAt = votedAt.at(r.ID, r.Vote)
		}
		if err := tx.UpsertReviewer(ctx, ref, rv); err != nil {
			return err
		}
	}
	for _, t := range threads {
		for _, c := range t.Comments {
			published := c.PublishedDate.Time
			if published.IsZero() {
				published = t.PublishedDate.Time
			}
			updated := c.LastUpdatedDate.Time
			if updated.IsZero() {
				updated = published
			}
			if err := tx.UpsertComment(ctx, ref, store.Comment{ThreadID: int64(t.ID), CommentID: int64(c.ID),
				AuthorID: c.Author.ID, AuthorName: c.Author.DisplayName, CommentType: c.CommentType,
				IsSystem: c.CommentType == "system", IsDeleted: c.IsDeleted || t.IsDeleted,
				PublishedAt: published.UTC(), UpdatedAt: updated.UTC()}); err != nil {
				return err
			}
		}
	}
	if pr.Status == "completed" && pr.LastMergeCommit != nil && pr.LastMergeTargetCommit != nil && pr.LastMergeSourceCommit != nil {
		parents := []string{pr.LastMergeTargetCommit.CommitID, pr.LastMergeSourceCommit.CommitID}
		if err := tx.SetCommitParents(ctx, s.Key.IntegrationID, pr.Repository.ID, pr.LastMergeCommit.CommitID, parents, true); err != nil {
			return err
		}
	}
	return nil
}

// votes holds, per reviewer, the VoteUpdate threads' times by vote.
type votes map[string][]struct {
	vote int
	at   time.Time
}

// voteTimes reads the VoteUpdate system threads: their publishedDate is
// when the vote was cast (PROTOCOL §4). Voters are keyed by identityKey:
// the threads' ...TfId ids come with or without dashes.
func voteTimes(threads []azdo.Thread) votes {
	out := votes{}
	for _, t := range threads {
		if t.Type() != "VoteUpdate" {
			continue
		}
		who := identityKey(t.Property("CodeReviewVotedByTfId"))
		v, err := strconv.Atoi(t.Property("CodeReviewVoteResult"))
		if who == "" || err != nil || t.PublishedDate.IsZero() {
			continue
		}
		out[who] = append(out[who], struct {
			vote int
			at   time.Time
		}{v, t.PublishedDate.UTC()})
	}
	return out
}

// identityKey normalises an identity id for matching: the service writes
// the ids of its system threads' ...TfId properties with or without dashes
// (samples/rest/git.pullrequest.threads.list.json has both) while the
// reviewers list's ids are dashed; braces and case vary in GUID spellings.
func identityKey(id string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "{", "", "}", "").Replace(strings.TrimSpace(id)))
}

// at is when reviewer cast the current vote: the latest thread with that
// vote, else the latest vote thread, else unknown.
func (v votes) at(reviewer string, vote int) *time.Time {
	var best, any time.Time
	for _, x := range v[identityKey(reviewer)] {
		if x.vote == vote && x.at.After(best) {
			best = x.at
		}
		if x.at.After(any) {
			any = x.at
		}
	}
	switch {
	case !best.IsZero():
		return &best
	case !any.IsZero():
		return &any
	}
	return nil
}

// ---- builds and runs ----------------------------------------------------------------------------

// runs lists builds (YAML runs included) finished since from, oldest
// first, deleted ones too (they ran), and reads each one's timeline for its
// stages. Cursor: the finish time the next run starts from.
func (s *syncer) runs(ctx context.Context, cp *collect.Checkpoint) error {
	minTime := s.From
	if t, err := time.Parse(time.RFC3339Nano, cp.Pos); err == nil {
		minTime = t
	}
	var chunk []azdo.Build
	n := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		stages := make([][]store.Stage, len(chunk))
		err := parallel(ctx, len(chunk), s.Fanout, func(ctx context.Context, i int) error {
			b := chunk[i]
			if b.Deleted {
				return nil // its timeline is gone (404)
			}
			tl, err := s.client.BuildTimeline(ctx, s.Project.ProjectID, b.ID)
			if delivery.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			stages[i] = timelineStages(tl)
			return nil
		})
		if err != nil {
			return err
		}
		rows := make([]store.PipelineRun, len(chunk))
		items := make([]collect.Fingerprinted, len(chunk))
		for i, b := range chunk {
			rows[i] = s.runRow(b, stages[i])
			items[i] = collect.Fingerprinted{Kind: store.SyncPipelineRun, Key: strconv.Itoa(b.ID),
				FP: fmt.Sprintf("%s|%s|%d", rows[i].Status, rows[i].Result, len(rows[i].Stages))}
		}
		cp.Pos = chunk[len(chunk)-1].FinishTime.UTC().Format(time.RFC3339Nano)
		cp.Share = s.windowShare(s.From, chunk[len(chunk)-1].FinishTime.UTC()) // runs come oldest first
		cp.Pages += int64(len(chunk))
		chunk = nil
		return s.Write(ctx, resRuns, cp, items, func(tx *store.Tx) error {
			for _, r := range rows {
				if err := tx.UpsertPipelineRun(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for b, err := range s.client.Builds(ctx, s.Project.ProjectID, azdo.BuildQuery{MinTime: minTime,
		QueryOrder: "finishTimeAscending", DeletedFilter: "includeDeleted", PageSize: buildPageSize}) {
		if err != nil {
			return err
		}
		if n%buildPageSize == 0 {
			cp.Pages++
		}
		n++
		chunk = append(chunk, b)
		if len(chunk) >= buildChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// windowShare is the part of the collection window [from, started]
// between a and b, for the progress of a walk through it by time.
func (s *syncer) windowShare(a, b time.Time) float64 {
	span := s.Started.Sub(s.From)
	if span <= 0 {
		return 0
	}
	return min(1, max(0, float64(b.Sub(a))/float64(span)))
}

func (s *syncer) runRow(b azdo.Build, stages []store.Stage) store.PipelineRun {
	repoID := ""
	if strings.EqualFold(b.Repository.Type, "TfsGit") {
		repoID = b.Repository.ID
	}
	return store.PipelineRun{Key: s.Key, RunID: int64(b.ID), ProjectID: s.Project.ProjectID, DefinitionID: int64(b.Definition.ID),
		DefinitionName: b.Definition.Name, RepoID: repoID, SourceBranch: b.SourceBranch, SourceVersion: b.SourceVersion,
		Tags: strings.Join(b.Tags, ","), Status: b.Status, Result: b.Result, QueuedAt: timePtr(b.QueueTime),
		StartedAt: timePtr(b.StartTime), FinishedAt: timePtr(b.FinishTime), Stages: stages}
}

// timelineStages keeps the Stage records of a timeline.
func timelineStages(tl azdo.Timeline) []store.Stage {
	var out []store.Stage
	for _, r := range tl.Records {
		if !strings.EqualFold(r.Type, "Stage") || r.ID == "" || r.Name == "__default" {
			continue
		}
		out = append(out, store.Stage{RecordID: r.ID, Name: r.Name, State: r.State, Result: r.Result,
			StartedAt: timePtr(r.StartTime), FinishedAt: timePtr(r.FinishTime)})
	}
	return out
}

func timePtr(t azdo.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// ---- environment deployments --------------------------------------------------------------------

// environmentDeployments reads every environment's deployment records
// (newest first) back to the window, as deployments "env:<record id>".
// Their repository and commit come from the run (see derive). Cursor: the
// environment ids done.
func (s *syncer) environmentDeployments(ctx context.Context, cp *collect.Checkpoint) error {
	envs, err := s.client.Environments(ctx, s.Project.ProjectID)
	if delivery.KindOf(err) == delivery.KindPrecondition {
		return nil // Server 2019: no environments; runs and stages still give deployments
	}
	if err != nil {
		return err
	}
	cp.Pages++
	sort.Slice(envs, func(i, j int) bool { return envs[i].ID < envs[j].ID })
	done := map[string]bool{}
	for _, id := range strings.Split(cp.Pos, ",") {
		done[id] = true
	}
	for _, env := range envs {
		if done[strconv.Itoa(env.ID)] {
			continue
		}
		var recs []azdo.EnvironmentDeploymentRecord
		for r, err := range s.client.EnvironmentDeployments(ctx, s.Project.ProjectID, env.ID) {
			if err != nil {
				return err
			}
			if len(recs)%envPageSize == 0 {
				cp.Pages++
			}
			if !r.QueueTime.IsZero() && r.QueueTime.Before(s.From.Add(-envSlack)) {
				break
			}
			recs = append(recs, r)
		}
		rows := make([]store.Deployment, 0, len(recs))
		items := make([]collect.Fingerprinted, 0, len(recs))
		for _, r := range recs {
			d := s.envDeployment(env, r)
			rows = append(rows, d)
			items = append(items, collect.Fingerprinted{Kind: store.SyncDeployment, Key: d.DeploymentKey, FP: d.Result})
		}
		if cp.Pos != "" {
			cp.Pos += ","
		}
		cp.Pos += strconv.Itoa(env.ID)
		if err := s.Write(ctx, resEnvDeploys, cp, items, func(tx *store.Tx) error {
			for _, d := range rows {
				if err := tx.UpsertDeployment(ctx, d); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func (s *syncer) envDeployment(env azdo.Environment, r azdo.EnvironmentDeploymentRecord) store.Deployment {
	return store.Deployment{Key: s.Key, DeploymentKey: fmt.Sprintf("env:%d", r.ID), ProjectID: s.Project.ProjectID,
		Source: "environment", Environment: env.Name, IsProduction: toProduction(s.Rules, env.Name),
		Result: r.Result, RunID: int64(r.Owner.ID), StartedAt: timePtr(r.StartTime), FinishedAt: timePtr(r.FinishTime)}
}

// ---- classic releases ---------------------------------------------------------------------------

// releaseDeployments reads classic release deployments modified since from
// (a deployment completed in the window was modified in it) and stores
// the finished ones (azdo.ReleaseDeployment.FinishedOn: completedOn is
// often absent) through the webhook path, so both produce the same
// deployment key. Running ones are left to the next reconciliation.
func (s *syncer) releaseDeployments(ctx context.Context, cp *collect.Checkpoint) error {
	// A resumed run reads the list again (a few pages) and writes it all:
	// deployments that completed meanwhile would shift any prefix to skip.
	var batch []azdo.ReleaseDeployment
	n := int64(0)
	flush := func() error {
		versions, err := s.releaseVersions(ctx, batch)
		if err != nil {
			return err
		}
		items := make([]collect.Fingerprinted, 0, len(batch))
		evs := make([]event, 0, len(batch))
		for _, d := range batch {
			ev, key, err := s.releaseEvent(d)
			if err != nil {
				return err
			}
			evs = append(evs, ev)
			items = append(items, collect.Fingerprinted{Kind: store.SyncDeployment, Key: key, FP: releaseResult(d.DeploymentStatus)})
		}
		batch = nil
		return s.Write(ctx, resReleases, cp, items, func(tx *store.Tx) error {
			for _, ev := range evs {
				if _, err := applyReleaseDeployment(ctx, tx, ev); err != nil {
					return err
				}
			}
			for id, v := range versions {
				if err := tx.SetReleaseVersion(ctx, s.Key.IntegrationID, int64(id), v.repo, v.sha); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for d, err := range s.client.ReleaseDeployments(ctx, s.Project.ProjectID, azdo.ReleaseDeploymentQuery{
		MinModifiedTime: s.From, DeploymentStatus: "all", QueryOrder: "ascending", PageSize: releasePageSize}) {
		if err != nil {
			return err
		}
		if n%releasePageSize == 0 {
			cp.Pages++
		}
		n++
		if _, done := d.FinishedOn(); !done {
			continue
		}
		batch = append(batch, d)
		if len(batch) >= releasePageSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// releaseEvent shapes a listed release deployment as the resource of
// ms.vss-release.deployment-completed-event.
func (s *syncer) releaseEvent(d azdo.ReleaseDeployment) (event, string, error) {
	finished, _ := d.FinishedOn() // completedOn, else lastModifiedOn
	res := map[string]any{
		"environment": map[string]any{"id": d.ReleaseEnvironment.ID, "releaseId": d.Release.ID, "name": d.ReleaseEnvironment.Name,
			"status": d.DeploymentStatus, "modifiedOn": d.LastModifiedOn, "release": map[string]any{"id": d.Release.ID}},
		"deployment": map[string]any{"id": d.ID, "attempt": d.Attempt, "deploymentStatus": d.DeploymentStatus,
			"startedOn": d.StartedOn, "completedOn": azdo.Time{Time: finished}},
	}
	ev, err := s.event("ms.vss-release.deployment-completed-event", res, finished.UTC())
	attempt := max(d.Attempt, 1)
	return ev, fmt.Sprintf("release:%d:%d:%d", d.Release.ID, d.ReleaseEnvironment.ID, attempt), err
}

// ---- work items ---------------------------------------------------------------------------------

// workItems lists the items of the project changed since from with WIQL
// (split by change time past the service's result cap, see
// changedWorkItemIDs) and reads them in batches of 200 with their
// relations; then the items that stored commits and PRs link to but that
// are not stored yet (changed earlier, or in another project). Cursor: the
// last id done.
func (s *syncer) workItems(ctx context.Context, cp *collect.Checkpoint) error {
	ids, err := s.changedWorkItemIDs(ctx, cp)
	if err != nil {
		return err
	}
	cp.Total = int64(len(ids))
	if last, err := strconv.Atoi(cp.Pos); err == nil {
		ids = ids[sort.SearchInts(ids, last+1):]
	}
	if err := s.readWorkItems(ctx, cp, s.Project.ProjectID, ids, true); err != nil {
		return err
	}
	linked, err := s.DB.UnstoredLinkedWorkItems(ctx, s.Key.IntegrationID, azureContainer)
	if err != nil {
		return err
	}
	more := make([]int, len(linked))
	for i, id := range linked {
		more[i] = int(id)
	}
	return s.readWorkItems(ctx, cp, "", more, false)
}

func (s *syncer) readWorkItems(ctx context.Context, cp *collect.Checkpoint, project string, ids []int, advance bool) error {
	var names map[string]string
	if project == "" && len(ids) > 0 {
		ps, err := s.DB.ListProjects(ctx, s.Key, false)
		if err != nil {
			return err
		}
		names = map[string]string{}
		for _, p := range ps {
			names[strings.ToLower(p.Name)] = p.ProjectID
		}
	}
	const batch = azdo.MaxWorkItemsPerBatch
	for start := 0; start < len(ids); start += batch * wiChunk {
		group := ids[start:min(start+batch*wiChunk, len(ids))]
		nb := (len(group) + batch - 1) / batch
		got := make([][]azdo.WorkItem, nb)
		err := parallel(ctx, nb, s.Fanout, func(ctx context.Context, i int) error {
			part := group[i*batch : min((i+1)*batch, len(group))]
			w, err := s.client.WorkItems(ctx, project, part, azdo.WorkItemsOptions{Expand: "relations"})
			got[i] = w
			return err
		})
		if err != nil {
			return err
		}
		cp.Pages += int64(nb)
		var read []*azdo.WorkItem
		for _, ws := range got {
			for i := range ws {
				read = append(read, &ws[i])
			}
		}
		if err := s.resolveFromUpdates(ctx, read); err != nil {
			return err
		}
		var evs []event
		var items []collect.Fingerprinted
		at := s.Now()
		for _, ws := range got {
			for _, w := range ws {
				ev, err := s.event("workitem.created", map[string]any{"id": w.ID, "rev": w.Rev, "fields": w.Fields, "relations": w.Relations}, at)
				if err != nil {
					return err
				}
				if names != nil {
					ev.ProjectID = firstNonEmpty(names[strings.ToLower(w.Field("System.TeamProject"))], s.Project.ProjectID)
				}
				evs = append(evs, ev)
				items = append(items, collect.Fingerprinted{Kind: store.SyncWorkItem, Key: strconv.Itoa(w.ID), FP: strconv.Itoa(w.Rev)})
			}
		}
		if advance {
			cp.Pos = strconv.Itoa(group[len(group)-1])
		}
		if err := s.Write(ctx, resWorkItems, cp, items, func(tx *store.Tx) error {
			for _, ev := range evs {
				if _, err := applyWorkItem(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
