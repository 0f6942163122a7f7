package azdo

import (
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Comment is one comment of a PR thread.
type Comment struct {
	ID              int           `json:"id"`
	ParentCommentID int           `json:"parentCommentId"`
	Author          IdentityRef   `json:"author"`
	Content         string        `json:"content"`
	PublishedDate   Time          `json:"publishedDate"`
	LastUpdatedDate Time          `json:"lastUpdatedDate"`
	CommentType     string        `json:"commentType"` // text | system | codeChange
	IsDeleted       bool          `json:"isDeleted"`
	UsersLiked      []IdentityRef `json:"usersLiked,omitempty"`
}

// Thread is a PR comment thread. System threads (votes, reviewer changes,
// pushes, merges) carry properties.CodeReviewThreadType; their
// PublishedDate is when the vote or update happened.
type Thread struct {
	ID              int                      `json:"id"`
	PublishedDate   Time                     `json:"publishedDate"`
	LastUpdatedDate Time                     `json:"lastUpdatedDate"`
	Status          string                   `json:"status"`
	ThreadContext   *ThreadContext           `json:"threadContext"`
	Properties      map[string]PropertyValue `json:"properties"`
	IsDeleted       bool                     `json:"isDeleted"`
	Comments        []Comment                `json:"comments"`
}

// ThreadContext places a thread on a file.
type ThreadContext struct {
	FilePath string `json:"filePath"`
}

// Type returns properties.CodeReviewThreadType ("VoteUpdate",
// "ReviewersUpdate", "RefUpdate", "MergeAttempt", …), "" for human threads.
func (t Thread) Type() string { return t.Properties["CodeReviewThreadType"].String() }

// Property returns one property's value as text, "" when absent.
func (t Thread) Property(name string) string { return t.Properties[name].String() }

// PullRequestThreads lists a PR's threads (not paged).
func (c *Client) PullRequestThreads(ctx context.Context, project, repo string, prID int) ([]Thread, error) {
	return getList[Thread](ctx, c, call{ep: epThreads, method: http.MethodGet, path: prPath(project, repo, prID) + "/threads"})
}

// Service limits on comments (PROTOCOL §7).
const (
	MaxCommentLength     = 150000
	MaxCommentsPerThread = 500
)

// NewThread is a thread to post: one markdown comment, and optional
// properties (string values) that tag it so it can be found again.
type NewThread struct {
	Content string
	// Status is the thread status name; empty means "active".
	Status     string
	Properties map[string]string
}

type commentBody struct {
	ParentCommentID int    `json:"parentCommentId"`
	Content         string `json:"content"`
	CommentType     int    `json:"commentType"`
}

type threadBody struct {
	Comments   []commentBody            `json:"comments"`
	Status     string                   `json:"status"`
	Properties map[string]PropertyValue `json:"properties,omitempty"`
}

// CreateThread posts a new comment thread on a PR. Like every POST that
// creates, it is not repeated after an ambiguous failure (5xx, reset,
// timeout): that could post the comment twice.
func (c *Client) CreateThread(ctx context.Context, project, repo string, prID int, t NewThread) (Thread, error) {
	if err := checkComment(t.Content); err != nil {
		return Thread{}, err
	}
	b := threadBody{Comments: []commentBody{{Content: t.Content, CommentType: 1}}, Status: t.Status}
	if b.Status == "" {
		b.Status = "active"
	}
	if len(t.Properties) > 0 {
		b.Properties = map[string]PropertyValue{}
		for k, v := range t.Properties {
			b.Properties[k] = PropertyValue{Type: "System.String", Value: v}
		}
	}
	var out Thread
	_, err := c.send(ctx, &call{ep: epThreadCreate, method: http.MethodPost, path: prPath(project, repo, prID) + "/threads", body: b}, &out)
	return out, err
}

// UpdateComment replaces a comment's text. It is idempotent and retried.
func (c *Client) UpdateComment(ctx context.Context, project, repo string, prID, threadID, commentID int, content string) (Comment, error) {
	if err := checkComment(content); err != nil {
		return Comment{}, err
	}
	var out Comment
	path := fmt.Sprintf("%s/threads/%d/comments/%d", prPath(project, repo, prID), threadID, commentID)
	_, err := c.send(ctx, &call{ep: epCommentUpdate, method: http.MethodPatch, path: path,
		body: map[string]string{"content": content}, idempotent: true}, &out)
	return out, err
}

func checkComment(content string) error {
	if content == "" {
		return &delivery.Error{Kind: delivery.KindInvalid, Message: "A pull request comment cannot be empty"}
	}
	if n := utf8.RuneCountInString(content); n > MaxCommentLength {
		return &delivery.Error{Kind: delivery.KindInvalid,
			Message: fmt.Sprintf("A pull request comment can have at most %d characters; this one has %d", MaxCommentLength, n)}
	}
	return nil
}
