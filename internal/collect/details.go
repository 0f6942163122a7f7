package collect

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// DetailsArgs asks for what an event does not carry, right after the event
// is applied, so that the figures it moves are exact without waiting for a
// reconcile:
//   - a push's commits come without parents (samples/events/git.push.json),
//     so the commit graph cannot place them: what a deployment changed, and
//     lead time, need them;
//   - a classic release deployment's event names its release but not the
//     artifacts it deployed (samples/events/ms.vss-release.deployment-
//     completed-event.json): the deployed commit comes from the release;
//   - a completed pull request's event carries its reviewers' votes but not
//     when they voted, nor its comments (review activity) or its commits'
//     author dates: PR flow needs them, and a PR whose earlier events were
//     never delivered (created before the backfill window) has none stored.
//
// One job per push or PR (unique by its arguments); it reads the commits
// through the commits list from the push's new head, or the PR with its
// commits and its threads, as the backfill does. When done it marks the
// event processed again, which moves the dashboard's data version.
type DetailsArgs struct {
	IntegrationID string `json:"integration_id"`
	ProjectID     string `json:"project_id"`
	RepoID        string `json:"repo_id"`
	EventID       string `json:"event_id"`
	// A push: its new head and how many commits it brought.
	Head    string `json:"head,omitempty"`
	Commits int    `json:"commits,omitempty"`
	// A completed pull request.
	PRID int `json:"pr_id,omitempty"`
	// A classic release whose deployment completed.
	ReleaseID int `json:"release_id,omitempty"`
}

// Kind names the job in the queue.
func (DetailsArgs) Kind() string { return "event_details" }

// InsertOpts: at most one job per push or PR waiting or running; a few
// attempts (a reconcile reads the same later anyway).
func (DetailsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

// maxPushDetails bounds the commits one push's job reads (one page); a
// larger push is left to the reconcile's commit walk.
const maxPushDetails = 100

// detailsFor says which details an applied event needs, if any.
func detailsFor(ev event) (DetailsArgs, bool) {
	args := DetailsArgs{IntegrationID: ev.IntegrationID, ProjectID: ev.ProjectID, EventID: ev.ID}
	switch ev.EventType {
	case "git.push":
		var p struct {
			Repository gitRepository `json:"repository"`
			Commits    []gitCommit   `json:"commits"`
			RefUpdates []struct {
				NewObjectID string `json:"newObjectId"`
			} `json:"refUpdates"`
		}
		if json.Unmarshal(ev.Resource, &p) != nil || len(p.RefUpdates) != 1 || len(p.Commits) == 0 ||
			len(p.Commits) > maxPushDetails || p.Repository.ID == "" {
			return args, false
		}
		args.RepoID, args.Head, args.Commits = p.Repository.ID, p.RefUpdates[0].NewObjectID, len(p.Commits)
		return args, args.Head != "" && args.Head != zeroCommit
	case "ms.vss-release.deployment-completed-event":
		var r struct {
			Environment struct {
				ReleaseID int `json:"releaseId"`
				Release   struct {
					ID int `json:"id"`
				} `json:"release"`
			} `json:"environment"`
		}
		if json.Unmarshal(ev.Resource, &r) != nil {
			return args, false
		}
		args.ReleaseID = r.Environment.Release.ID
		if args.ReleaseID == 0 {
			args.ReleaseID = r.Environment.ReleaseID
		}
		return args, args.ReleaseID != 0
	case "git.pullrequest.updated", "git.pullrequest.merged":
		var pr pullRequest
		if json.Unmarshal(ev.Resource, &pr) != nil || pr.Status != "completed" || pr.Repository.ID == "" {
			return args, false
		}
		args.RepoID, args.PRID = pr.Repository.ID, int(pr.PullRequestID)
		return args, true
	}
	return args, false
}

const zeroCommit = "0000000000000000000000000000000000000000"

type detailsWorker struct {
	river.WorkerDefaults[DetailsArgs]
	c *Collector
}

func (w *detailsWorker) Work(ctx context.Context, job *river.Job[DetailsArgs]) error {
	return w.c.Details(ctx, job.Args)
}

// Details reads and stores what args asks for.
func (c *Collector) Details(ctx context.Context, args DetailsArgs) error {
	if c.clients == nil {
		return nil
	}
	client, in, err := c.clients.Client(ctx, args.IntegrationID)
	if delivery.IsNotFound(err) {
		return nil // disconnected since
	}
	if err != nil {
		return err
	}
	key := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
	p, err := c.db.GetProject(ctx, key, args.ProjectID)
	if delivery.IsNotFound(err) || err == nil && !p.Selected {
		return nil
	}
	if err != nil {
		return err
	}
	s := c.newSyncer(client, key, p, time.Time{}, c.now(), true)
	switch {
	case args.Head != "":
		err = s.pushDetails(ctx, args)
	case args.PRID != 0:
		err = s.prDetails(ctx, args)
	case args.ReleaseID != 0:
		err = s.releaseDetails(ctx, args)
	}
	if err != nil {
		return err
	}
	return c.db.MarkInboxEvent(ctx, args.IntegrationID, args.EventID, statusProcessed, "", c.now())
}

// pushDetails stores the push's commits with their change counts and first
// parents: the commits list walked from the push's new head. The lists
// carry no parents (PROTOCOL §4), so, as the backfill does, each commit's
// first parent is the next, older one of the walk: one more commit than
// the push brought is read. A merge commit's real parents come with its
// pull request (writePR); parents already stored are kept.
func (s *syncer) pushDetails(ctx context.Context, args DetailsArgs) error {
	var walk []azdo.Commit
	q := azdo.CommitQuery{ItemVersion: args.Head, ItemVersionType: "commit", PageSize: args.Commits + 1}
	for cm, err := range s.client.Commits(ctx, s.project.ProjectID, args.RepoID, q) {
		if err != nil {
			return err
		}
		walk = append(walk, cm)
		if len(walk) > args.Commits {
			break
		}
	}
	return s.c.db.InTx(ctx, func(tx *store.Tx) error {
		for i := 0; i < len(walk) && i < args.Commits; i++ {
			p := pendingCommit{c: walk[i]}
			if i+1 < len(walk) {
				p.parent = walk[i+1].CommitID
			}
			if err := s.writeCommit(ctx, tx, args.RepoID, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// releaseDetails records the commit a release deployed on its deployments.
func (s *syncer) releaseDetails(ctx context.Context, args DetailsArgs) error {
	rels, err := s.client.Releases(ctx, s.project.ProjectID, []int{args.ReleaseID})
	if err != nil || len(rels) == 0 {
		return err
	}
	v, err := s.resolveArtifacts(ctx, rels[0].Artifacts)
	if err != nil || v.sha == "" {
		return err
	}
	return s.c.db.SetReleaseVersion(ctx, s.key.IntegrationID, int64(args.ReleaseID), v.repo, v.sha)
}

// prDetails stores a completed PR with its commits, threads and vote times.
func (s *syncer) prDetails(ctx context.Context, args DetailsArgs) error {
	// What the API answers now is no older than the event that asked: its
	// time orders PR versions, and Azure DevOps' clock may run ahead of ours.
	at := s.c.now()
	if stored, err := s.c.db.GetPullRequest(ctx, s.key.WorkspaceID,
		store.PRRef{IntegrationID: s.key.IntegrationID, RepoID: args.RepoID, PRID: int64(args.PRID)}); err == nil &&
		stored.ProviderUpdatedAt.After(at) {
		at = stored.ProviderUpdatedAt
	}
	pr, err := s.client.PullRequest(ctx, s.project.ProjectID, args.RepoID, args.PRID,
		azdo.PullRequestOptions{IncludeCommits: true, IncludeWorkItemRefs: true})
	if err != nil {
		return err
	}
	threads, err := s.client.PullRequestThreads(ctx, s.project.ProjectID, args.RepoID, args.PRID)
	if err != nil {
		return err
	}
	commits, err := s.missingPRCommits(ctx, args.RepoID, pr)
	if err != nil {
		return err
	}
	return s.c.db.InTx(ctx, func(tx *store.Tx) error {
		for _, c := range commits {
			if err := s.writeCommit(ctx, tx, args.RepoID, pendingCommit{c: c}); err != nil {
				return err
			}
		}
		return s.writePR(ctx, tx, pr, threads, at)
	})
}
