package metrics

import (
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// t0 is Monday 2024-03-04 00:00 UTC; scenarios count hours from it so that
// expected values can be checked by hand.
var t0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

// h returns t0 plus n hours.
func h(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }

// hours is a duration of n hours.
func hours(n float64) time.Duration { return time.Duration(n * float64(time.Hour)) }

func commit(repo, sha string, authored time.Time, parents ...string) delivery.Commit {
	return delivery.Commit{RepositoryID: repo, SHA: sha, Parents: parents, AuthoredAt: authored, CommittedAt: authored}
}

// chain returns commits sha[0] ← sha[1] ← ... authored one hour apart from
// start, the first parented by parent (if any).
func chain(repo string, start time.Time, parent string, shas ...string) []delivery.Commit {
	var out []delivery.Commit
	for i, sha := range shas {
		var ps []string
		if parent != "" {
			ps = []string{parent}
		}
		out = append(out, commit(repo, sha, start.Add(time.Duration(i)*time.Hour), ps...))
		parent = sha
	}
	return out
}

// deploy is a production deployment of project p1 to environment "prod".
func deploy(id, repo, sha string, result delivery.Result, finished time.Time) delivery.Deployment {
	return delivery.Deployment{
		ID: id, Source: delivery.SourceEnvironment, ProjectID: "p1", RepositoryID: repo,
		Environment: "prod", Result: result, StartedAt: finished.Add(-10 * time.Minute),
		FinishedAt: finished, SHA: sha,
	}
}

func success(id, repo, sha string, finished time.Time) delivery.Deployment {
	return deploy(id, repo, sha, delivery.ResultSucceeded, finished)
}

func failure(id, repo, sha string, finished time.Time) delivery.Deployment {
	return deploy(id, repo, sha, delivery.ResultFailed, finished)
}

func incident(id int, opened, resolved time.Time) delivery.WorkItem {
	return delivery.WorkItem{ID: id, ProjectID: "p1", Type: "Incident", CreatedAt: opened, ResolvedAt: resolved}
}

// merged is a completed PR of project p1 with its commits and merge commit.
func merged(id int, repo string, created, closed time.Time, merge string, commits ...string) delivery.PullRequest {
	return delivery.PullRequest{
		ID: id, ProjectID: "p1", RepositoryID: repo, Status: delivery.PRCompleted, Author: "alice",
		CreatedAt: created, ClosedAt: closed, MergeCommitSHA: merge, CommitSHAs: commits,
	}
}

// window is [from, to) in hours from t0, unfiltered.
func window(from, to float64) delivery.Window {
	return delivery.Window{From: h(from), To: h(to)}
}

func dur(d time.Duration) *time.Duration { return &d }

func num(f float64) *float64 { return &f }

func durOrNil(d *time.Duration) any {
	if d == nil {
		return nil
	}
	return *d
}

func numOrNil(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
