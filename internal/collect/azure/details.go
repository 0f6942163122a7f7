package azure

import (
	"context"
	"encoding/json"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
)

// maxPushDetails bounds the commits one push's job reads (one page); a
// larger push is left to the reconcile's commit walk.
const maxPushDetails = 100

// detailsFor says which details an applied event needs, if any.
func detailsFor(ev event) (collect.DetailsArgs, bool) {
	args := collect.DetailsArgs{IntegrationID: ev.IntegrationID, ProjectID: ev.ProjectID, EventID: ev.ID}
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

// Details reads and stores what args asks for.
func (s *syncer) Details(ctx context.Context, args collect.DetailsArgs) error {
	switch {
	case args.Head != "":
		return s.pushDetails(ctx, args)
	case args.PRID != 0:
		return s.prDetails(ctx, args)
	case args.ReleaseID != 0:
		return s.releaseDetails(ctx, args)
	}
	return nil
}

// pushDetails stores the push's commits with their change counts and first
// parents: the commits list walked from the push's new head. The lists
// carry no parents (PROTOCOL §4), so, as the backfill does, each commit's
// first parent is the next, older one of the walk: one more commit than
// the push brought is read. A merge commit's real parents come with its
// pull request (writePR); parents already stored are kept.
func (s *syncer) pushDetails(ctx context.Context, args collect.DetailsArgs) error {
	var walk []azdo.Commit
	q := azdo.CommitQuery{ItemVersion: args.Head, ItemVersionType: "commit", PageSize: args.Commits + 1}
	for cm, err := range s.client.Commits(ctx, s.Project.ProjectID, args.RepoID, q) {
		if err != nil {
			return err
		}
		walk = append(walk, cm)
		if len(walk) > args.Commits {
			break
		}
	}
	return s.DB.InTx(ctx, func(tx *store.Tx) error {
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
func (s *syncer) releaseDetails(ctx context.Context, args collect.DetailsArgs) error {
	rels, err := s.client.Releases(ctx, s.Project.ProjectID, []int{args.ReleaseID})
	if err != nil || len(rels) == 0 {
		return err
	}
	v, err := s.resolveArtifacts(ctx, rels[0].Artifacts)
	if err != nil || v.sha == "" {
		return err
	}
	return s.DB.SetReleaseVersion(ctx, s.Key.IntegrationID, int64(args.ReleaseID), v.repo, v.sha)
}

// prDetails stores a completed PR with its commits, threads and vote times.
func (s *syncer) prDetails(ctx context.Context, args collect.DetailsArgs) error {
	// What the API answers now is no older than the event that asked: its
	// time orders PR versions, and Azure DevOps' clock may run ahead of ours.
	at := s.Now()
	if stored, err := s.DB.GetPullRequest(ctx, s.Key.WorkspaceID,
		store.PRRef{IntegrationID: s.Key.IntegrationID, RepoID: args.RepoID, PRID: int64(args.PRID)}); err == nil &&
		stored.ProviderUpdatedAt.After(at) {
		at = stored.ProviderUpdatedAt
	}
	pr, err := s.client.PullRequest(ctx, s.Project.ProjectID, args.RepoID, args.PRID,
		azdo.PullRequestOptions{IncludeCommits: true, IncludeWorkItemRefs: true})
	if err != nil {
		return err
	}
	threads, err := s.client.PullRequestThreads(ctx, s.Project.ProjectID, args.RepoID, args.PRID)
	if err != nil {
		return err
	}
	commits, err := s.missingPRCommits(ctx, args.RepoID, pr)
	if err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *store.Tx) error {
		for _, c := range commits {
			if err := s.writeCommit(ctx, tx, args.RepoID, pendingCommit{c: c}); err != nil {
				return err
			}
		}
		return s.writePR(ctx, tx, pr, threads, at)
	})
}
