package collect_test

import (
	"context"
	"testing"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestCompletedPRCommitsHaveChangeCounts: a PR's size is the sum of its
// commits' change counts (METRICS.md), so every commit of a completed PR of
// the window is stored with them — also one committed before the window,
// which the commit walk never lists (the backfill reads it by id). Without
// it a PR merged early in the window would read "0 files".
func TestCompletedPRCommitsHaveChangeCounts(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		e := newEnv(t, db, sim, "prsize", azdo.ServicesDeployment, nil)
		if err := e.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		from := e.window()
		commits, err := db.ListCommits(ctx, store.Filter{WorkspaceID: e.key.WorkspaceID, Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]store.Commit{}
		for _, c := range commits {
			stored[c.RepoID+":"+c.SHA] = c
		}
		prs, err := db.ListPullRequests(ctx, store.Filter{WorkspaceID: e.key.WorkspaceID, From: from, Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		repoProject := map[string]string{}
		for _, p := range e.projects {
			rs, err := e.client.Repositories(ctx, p.ProjectID)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				repoProject[r.ID] = p.ProjectID
			}
		}
		checked, early := 0, 0
		for _, pr := range prs {
			if pr.Status != "completed" {
				continue
			}
			for c, err := range e.client.PullRequestCommits(ctx, repoProject[pr.RepoID], pr.RepoID, int(pr.PRID)) {
				if err != nil {
					t.Fatal(err)
				}
				want, err := e.client.Commit(ctx, repoProject[pr.RepoID], pr.RepoID, c.CommitID)
				if err != nil {
					t.Fatal(err)
				}
				checked++
				if want.Committer.Date.Before(from) {
					early++
				}
				got, ok := stored[pr.RepoID+":"+c.CommitID]
				switch {
				case !ok:
					t.Errorf("PR %d: commit %s is not stored", pr.PRID, c.CommitID)
				case want.ChangeCounts != nil && (got.Adds != want.ChangeCounts.Add || got.Edits != want.ChangeCounts.Edit || got.Deletes != want.ChangeCounts.Delete):
					t.Errorf("PR %d: commit %s stored with %d/%d/%d changes, Azure DevOps says %+v", pr.PRID, c.CommitID,
						got.Adds, got.Edits, got.Deletes, *want.ChangeCounts)
				}
			}
		}
		if checked == 0 || early == 0 {
			t.Fatalf("%d PR commits checked, %d committed before the window: the generator must make some", checked, early)
		}
		t.Logf("%d PR commits checked, %d committed before the window", checked, early)
	})
}
