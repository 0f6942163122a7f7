package collect_test

import (
	"context"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestPRFirstCommitFromAllItsCommits: a pull request starts at its earliest
// commit (METRICS.md), which the PR commits API reports with its author
// date even when it was authored before the backfill window (the commit walk
// does not store it). After a backfill every PR's first commit time equals
// the earliest author date the API lists for it, and some PRs of the window
// start before it.
func TestPRFirstCommitFromAllItsCommits(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		e := newEnv(t, db, sim, "firstcommit", azdo.ServicesDeployment, nil)
		if err := e.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		from := e.window()
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
		before, checked := 0, 0
		for _, pr := range prs {
			var want time.Time
			for c, err := range e.client.PullRequestCommits(ctx, repoProject[pr.RepoID], pr.RepoID, int(pr.PRID)) {
				if err != nil {
					t.Fatal(err)
				}
				if at := c.Author.Date.Time; !at.IsZero() && (want.IsZero() || at.Before(want)) {
					want = at
				}
			}
			if want.IsZero() {
				continue
			}
			d, err := db.GetPRDetails(ctx, pr.Ref())
			if err != nil {
				t.Fatal(err)
			}
			checked++
			if d.FirstCommitAt == nil || !d.FirstCommitAt.Equal(want.UTC()) {
				t.Errorf("PR %d: first commit %v, the API says %v", pr.PRID, d.FirstCommitAt, want)
			}
			if want.Before(from) {
				before++
			}
		}
		if checked == 0 || before == 0 {
			t.Fatalf("%d PRs checked, %d starting before the window: the generator must make some", checked, before)
		}
		t.Logf("%d PRs, %d of them started before the window", checked, before)
	})
}
