package github

import (
	"context"
	"fmt"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
)

// PullsPath is how the pull-request resource's backfill reads (adr/0020).
type PullsPath int

const (
	// PullsGraphQL (the default): a backfill reads a page of 100 pull
	// requests with their reviews, review comments and commits in one
	// GraphQL query; a reconciliation reads by REST, whose conditional
	// requests cost nothing when nothing changed.
	PullsGraphQL PullsPath = iota
	// PullsREST: backfills read by REST too (a list page, then each PR's
	// reviews, review comments and commits).
	PullsREST
	// PullsGraphQLAlways: reconciliations read by GraphQL too (measured in
	// adr/0020: without conditional requests an unchanged repository still
	// costs a point a query).
	PullsGraphQLAlways
)

// String names the path.
func (p PullsPath) String() string {
	switch p {
	case PullsREST:
		return "rest"
	case PullsGraphQLAlways:
		return "graphql-always"
	}
	return "graphql"
}

// byGraphQL says whether this run reads pull requests by GraphQL.
func (p PullsPath) byGraphQL(reconcile bool) bool {
	return p == PullsGraphQLAlways || (p == PullsGraphQL && !reconcile)
}

// The page of the GraphQL query: GitHub's cost is the sum over connections
// of the requests they need (pullRequests 1, reviews and commits one per PR,
// review comments one per review) / 100, so 100 PRs × 10 reviews cost
// (1 + 100 + 100 + 1000)/100 = 12 points; nodes: 100 + 1,000 + 10,000 +
// 10,000 = 21,100 of the 500,000 allowed. A PR with more reviews, review
// comments or commits than a page holds is completed by REST (readPR).
const (
	gqlPulls    = 100
	gqlReviews  = 10
	gqlComments = 10
	gqlCommits  = 100
)

// PullsQuery reads one page of a repository's pull requests, most recently
// updated first, with what the store keeps of each. Every field is in
// GitHub's schema (@octokit/graphql-schema; the simulator validates it).
var PullsQuery = fmt.Sprintf(`query PullRequests($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: %d, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number title body state isDraft createdAt updatedAt closedAt mergedAt
        mergeCommit { oid }
        headRefName baseRefName
        author { ...actor }
        reviews(first: %d) {
          totalCount
          nodes {
            databaseId state submittedAt
            author { ...actor }
            comments(first: %d) { totalCount nodes { databaseId createdAt updatedAt author { ...actor } } }
          }
        }
        commits(first: %d) { totalCount nodes { commit { oid authoredDate } } }
      }
    }
  }
  rateLimit { cost remaining resetAt }
}
fragment actor on Actor { login ... on User { databaseId } ... on Bot { databaseId } }`, gqlPulls, gqlReviews, gqlComments, gqlCommits)

type gqlActor struct {
	Login      string `json:"login"`
	DatabaseID int64  `json:"databaseId"`
}

func (a *gqlActor) user() *gh.User {
	if a == nil {
		return nil
	}
	return &gh.User{ID: gh.Ptr(a.DatabaseID), Login: gh.Ptr(a.Login)}
}

type gqlPullsPage struct {
	Repository *struct {
		PullRequests struct {
			PageInfo struct {
				HasNextPage bool   `json:"hasNextPage"`
				EndCursor   string `json:"endCursor"`
			} `json:"pageInfo"`
			Nodes []gqlPR `json:"nodes"`
		} `json:"pullRequests"`
	} `json:"repository"`
}

type gqlPR struct {
	Number      int        `json:"number"`
	Title       string     `json:"title"`
	Body        string     `json:"body"`
	State       string     `json:"state"` // OPEN, CLOSED, MERGED
	IsDraft     bool       `json:"isDraft"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	ClosedAt    *time.Time `json:"closedAt"`
	MergedAt    *time.Time `json:"mergedAt"`
	MergeCommit *struct {
		OID string `json:"oid"`
	} `json:"mergeCommit"`
	HeadRefName string    `json:"headRefName"`
	BaseRefName string    `json:"baseRefName"`
	Author      *gqlActor `json:"author"`
	Reviews     struct {
		TotalCount int `json:"totalCount"`
		Nodes      []struct {
			DatabaseID  int64      `json:"databaseId"`
			State       string     `json:"state"`
			SubmittedAt *time.Time `json:"submittedAt"`
			Author      *gqlActor  `json:"author"`
			Comments    struct {
				TotalCount int `json:"totalCount"`
				Nodes      []struct {
					DatabaseID int64     `json:"databaseId"`
					CreatedAt  time.Time `json:"createdAt"`
					UpdatedAt  time.Time `json:"updatedAt"`
					Author     *gqlActor `json:"author"`
				} `json:"nodes"`
			} `json:"comments"`
		} `json:"nodes"`
	} `json:"reviews"`
	Commits struct {
		TotalCount int `json:"totalCount"`
		Nodes      []struct {
			Commit struct {
				OID          string    `json:"oid"`
				AuthoredDate time.Time `json:"authoredDate"`
			} `json:"commit"`
		} `json:"nodes"`
	} `json:"commits"`
}

func ts(t *time.Time) *gh.Timestamp {
	if t == nil {
		return nil
	}
	return &gh.Timestamp{Time: *t}
}

// pull is the PR as REST would list it (the fields writePR reads).
func (p gqlPR) pull() *gh.PullRequest {
	state := "open"
	if p.State != "OPEN" {
		state = "closed"
	}
	pr := &gh.PullRequest{Number: gh.Ptr(p.Number), Title: gh.Ptr(p.Title), Body: gh.Ptr(p.Body), State: gh.Ptr(state),
		Draft: gh.Ptr(p.IsDraft), CreatedAt: ts(&p.CreatedAt), UpdatedAt: ts(&p.UpdatedAt), ClosedAt: ts(p.ClosedAt),
		MergedAt: ts(p.MergedAt), User: p.Author.user(),
		Head: &gh.PullRequestBranch{Ref: gh.Ptr(p.HeadRefName)}, Base: &gh.PullRequestBranch{Ref: gh.Ptr(p.BaseRefName)}}
	if p.MergeCommit != nil {
		pr.MergeCommitSHA = gh.Ptr(p.MergeCommit.OID)
	}
	return pr
}

// complete says whether the page holds all of the PR's reviews, review
// comments and commits (up to REST's 250).
func (p gqlPR) complete() bool {
	if p.Reviews.TotalCount > len(p.Reviews.Nodes) || p.Commits.TotalCount > len(p.Commits.Nodes) {
		return false
	}
	for _, r := range p.Reviews.Nodes {
		if r.Comments.TotalCount > len(r.Comments.Nodes) {
			return false
		}
	}
	return true
}

// fetched is the PR with its lists as readPR would bring them.
func (p gqlPR) fetched() fetchedPR {
	f := fetchedPR{pr: p.pull(), withCommits: true}
	for _, r := range p.Reviews.Nodes {
		f.reviews = append(f.reviews, &gh.PullRequestReview{ID: gh.Ptr(r.DatabaseID), User: r.Author.user(), State: gh.Ptr(r.State), SubmittedAt: ts(r.SubmittedAt)})
		for _, c := range r.Comments.Nodes {
			f.comments = append(f.comments, &gh.PullRequestComment{ID: gh.Ptr(c.DatabaseID), PullRequestReviewID: gh.Ptr(r.DatabaseID),
				User: c.Author.user(), CreatedAt: ts(&c.CreatedAt), UpdatedAt: ts(&c.UpdatedAt)})
		}
	}
	for _, c := range p.Commits.Nodes {
		f.commits = append(f.commits, &gh.RepositoryCommit{SHA: gh.Ptr(c.Commit.OID),
			Commit: &gh.Commit{Author: &gh.CommitAuthor{Date: ts(&c.Commit.AuthoredDate)}}})
	}
	return f
}

// pullRequestsGraphQL is pullRequests by GraphQL: the same PRs (updated
// since the window's start, newest first), the same rows, the same cursor;
// a page is written as it is read. A resumed backfill reads the pages again
// from the top and skips the PRs up to the cursor.
func (s *syncer) pullRequestsGraphQL(ctx context.Context, cp *collect.Checkpoint) error {
	owner, name, err := s.ownerName()
	if err != nil {
		return err
	}
	since := s.since()
	var seen int64
	vars := map[string]any{"owner": owner, "name": name, "after": nil}
	for more := true; more; {
		var page gqlPullsPage
		err := s.c.GraphQL(ctx, PullsQuery, vars, &page)
		cp.Pages++
		if err != nil {
			return err
		}
		if page.Repository == nil {
			return nil
		}
		conn := page.Repository.PullRequests
		more = conn.PageInfo.HasNextPage
		vars["after"] = conn.PageInfo.EndCursor
		var prs []*gh.PullRequest
		byNumber := map[int]gqlPR{}
		for _, p := range conn.Nodes {
			if p.UpdatedAt.Before(since) {
				more = false
				break
			}
			pr := p.pull()
			prs = append(prs, pr)
			byNumber[p.Number] = p
		}
		seen += int64(len(prs))
		cp.Total = seen
		prs = afterCursor(prs, cp.Pos)
		if len(prs) == 0 {
			continue
		}
		got := make([]fetchedPR, len(prs))
		for i, pr := range prs {
			p := byNumber[pr.GetNumber()]
			if p.complete() {
				got[i] = p.fetched()
				continue
			}
			// More than a page holds: REST reads this one's lists whole.
			if got[i], err = s.readPR(ctx, cp, owner, name, pr); err != nil {
				return err
			}
		}
		items := make([]collect.Fingerprinted, len(got))
		for i, f := range got {
			items[i] = collect.Fingerprinted{Kind: store.SyncPullRequest, Key: f.ref(s.Key.IntegrationID, s.Project.ProjectID).Target(), FP: f.fingerprint()}
		}
		cp.Pos = cursor(prs[len(prs)-1])
		if err := s.Write(ctx, resPullRequests, cp, items, func(tx *store.Tx) error {
			for _, f := range got {
				if _, err := writePR(ctx, tx, s.Key, s.Project.ProjectID, f); err != nil {
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
