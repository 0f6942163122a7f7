package azure

import (
	"context"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
)

// CommitsByBranch counts a project's commits authored from a time on per
// repository name and per branch that first brings them (the default
// branch, then the others by name). The simulator's truth answers it.
type CommitsByBranch func(projectID string, from time.Time) (map[string]map[string]int, error)

// MinimumPages is the fewest calls that can carry what a finished backfill
// of key stored, at the page sizes it uses: per repository the branch list
// and one commits page per 1,000 commits of each branch that brings new
// ones (the default branch always takes one); per project the repository,
// PR (created and closed), build, environment and release lists; what no
// list carries: a PR's details and threads, a completed PR's commits from
// before the window, a run's timeline, work items 200 at a time (those
// linked from commits and PRs too). Benchmarks divide
// the calls made by it.
func MinimumPages(ctx context.Context, db *store.DB, key store.Key, commits CommitsByBranch) (int64, error) {
	pages := func(n, size int) int64 { return int64(max(1, (n+size-1)/size)) }
	progress, err := collect.Progress(ctx, db, key, Resources)
	if err != nil {
		return 0, err
	}
	window := map[string]time.Time{}
	for _, p := range progress {
		if p.From != nil {
			window[p.ProjectID] = *p.From
		}
	}
	projects, err := db.ListProjects(ctx, key, true)
	if err != nil {
		return 0, err
	}
	var total int64
	linked := 0
	for _, p := range projects {
		from := window[p.ProjectID]
		f := store.Filter{WorkspaceID: key.WorkspaceID, ProjectID: p.ProjectID, From: from, Limit: 1 << 30}
		repos, err := db.ListRepositories(ctx, key.WorkspaceID, p.ProjectID)
		if err != nil {
			return 0, err
		}
		byBranch, err := commits(p.ProjectID, from)
		if err != nil {
			return 0, err
		}
		total++ // repositories
		for _, r := range repos {
			if r.IntegrationID != key.IntegrationID || r.IsDisabled {
				continue
			}
			total++ // branches
			total += pages(byBranch[r.Name][r.DefaultBranch], commitPageSize)
			for name, n := range byBranch[r.Name] {
				if name != r.DefaultBranch && n > 0 {
					total += pages(n, commitPageSize)
				}
			}
		}
		all := f
		all.From = time.Time{}
		prs, err := db.ListPullRequests(ctx, all)
		if err != nil {
			return 0, err
		}
		// A completed PR's commits committed before the window: no list of
		// the window carries them, each is read by id (missingPRCommits).
		stored, err := db.ListCommits(ctx, store.Filter{WorkspaceID: key.WorkspaceID, ProjectID: p.ProjectID, Limit: 1 << 30})
		if err != nil {
			return 0, err
		}
		early := map[string]bool{}
		for _, c := range stored {
			if c.IntegrationID == key.IntegrationID && c.CommitterDate.Before(from) {
				early[c.RepoID+":"+c.SHA] = true
			}
		}
		n := 0
		for _, pr := range prs {
			if !pr.CreatedAt.Before(from) || pr.ClosedAt != nil && !pr.ClosedAt.Before(from) {
				n++
				if pr.Status != "completed" || len(early) == 0 {
					continue
				}
				d, err := db.GetPRDetails(ctx, pr.Ref())
				if err != nil {
					return 0, err
				}
				k := 0
				for _, sha := range d.Commits {
					if early[pr.RepoID+":"+sha] && k < maxPRCommitReads {
						k++
					}
				}
				total += int64(k)
			}
		}
		total += pages(n, prPageSize) + 2*int64(n)
		runs, err := db.ListPipelineRuns(ctx, f)
		if err != nil {
			return 0, err
		}
		total += pages(len(runs), buildPageSize) + int64(len(runs))
		total += 1 + 3 // environments and one page of records each
		deps, err := db.ListDeployments(ctx, f, false)
		if err != nil {
			return 0, err
		}
		rel := 0
		for _, d := range deps {
			if d.Source == "release" {
				rel++
			}
		}
		total += pages(rel, releasePageSize)
		wis, err := db.ListWorkItems(ctx, f)
		if err != nil {
			return 0, err
		}
		total += 1 + int64((len(wis)+199)/200)
		everything, err := db.ListWorkItems(ctx, all)
		if err != nil {
			return 0, err
		}
		linked += len(everything) - len(wis) // linked from commits and PRs, changed earlier
	}
	if linked > 0 {
		total += int64((linked + 199) / 200)
	}
	return total, nil
}
