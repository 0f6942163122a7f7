package githubapi

import (
	"context"
	"time"

	"github.com/google/go-github/v75/github"
)

// IssueComment is one comment of a pull request's (or issue's)
// conversation.
type IssueComment struct {
	ID        int64
	Body      string
	Author    string // login
	UpdatedAt time.Time
}

func issueCommentOf(c *github.IssueComment) IssueComment {
	return IssueComment{ID: c.GetID(), Body: c.GetBody(), Author: c.GetUser().GetLogin(), UpdatedAt: c.GetUpdatedAt().Time}
}

// IssueComments lists a pull request's conversation comments, oldest first,
// every page (GET /repos/{owner}/{repo}/issues/{number}/comments: "Issue
// comments are ordered by ascending ID"; a pull request is an issue).
func (c *Client) IssueComments(ctx context.Context, owner, repo string, number int) ([]IssueComment, error) {
	var out []IssueComment
	for page := 1; page > 0; {
		list, resp, err := do(ctx, func(ctx context.Context) ([]*github.IssueComment, *github.Response, error) {
			return c.gh.Issues.ListComments(ctx, owner, repo, number, &github.IssueListCommentsOptions{
				ListOptions: github.ListOptions{PerPage: 100, Page: page}})
		})
		if err != nil {
			return nil, err
		}
		for _, x := range list {
			out = append(out, issueCommentOf(x))
		}
		page = resp.NextPage
	}
	return out, nil
}

// CreateIssueComment adds a comment to a pull request's conversation (POST
// /repos/{owner}/{repo}/issues/{number}/comments; fine-grained: Issues or
// Pull requests: Read and write; classic: repo, or public_repo for a public
// repository).
func (c *Client) CreateIssueComment(ctx context.Context, owner, repo string, number int, body string) (IssueComment, error) {
	x, _, err := do(ctx, func(ctx context.Context) (*github.IssueComment, *github.Response, error) {
		return c.gh.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: github.Ptr(body)})
	})
	if err != nil {
		return IssueComment{}, err
	}
	return issueCommentOf(x), nil
}

// EditIssueComment replaces a comment's body (PATCH
// /repos/{owner}/{repo}/issues/comments/{id}); a deleted comment is a
// delivery.KindNotFound error.
func (c *Client) EditIssueComment(ctx context.Context, owner, repo string, id int64, body string) (IssueComment, error) {
	x, _, err := do(ctx, func(ctx context.Context) (*github.IssueComment, *github.Response, error) {
		return c.gh.Issues.EditComment(ctx, owner, repo, id, &github.IssueComment{Body: github.Ptr(body)})
	})
	if err != nil {
		return IssueComment{}, err
	}
	return issueCommentOf(x), nil
}
