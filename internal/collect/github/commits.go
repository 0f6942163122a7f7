package github

import (
	"context"
	"strconv"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
)

// commits lists the default branch's commits since the window's start
// (GitHub's list without sha is the default branch's), newest first, a
// page per write. Cursor: the next page. An empty repository (409) has
// none.
func (s *syncer) commits(ctx context.Context, cp *collect.Checkpoint) error {
	since := s.since()
	return eachPage(ctx, s, resCommits, cp, 409, // "Git Repository is empty."
		func(ctx context.Context, owner, name string, page int) ([]*gh.RepositoryCommit, *gh.Response, error) {
			return s.c.GitHub().Repositories.ListCommits(ctx, owner, name, &gh.CommitsListOptions{Since: since,
				ListOptions: gh.ListOptions{PerPage: pageSize, Page: page}})
		},
		func(list []*gh.RepositoryCommit) ([]collect.Fingerprinted, func(*store.Tx) error) {
			items := make([]collect.Fingerprinted, len(list))
			rows := make([]store.Commit, len(list))
			for i, c := range list {
				rows[i] = commitRow(s.Key, s.Project.ProjectID, c)
				items[i] = collect.Fingerprinted{Kind: store.SyncCommit, Key: s.Project.ProjectID + ":" + c.GetSHA(), FP: "1"}
			}
			return items, func(tx *store.Tx) error {
				resolve := containers(tx, s.Key, s.Project.ProjectID, s.Project.Name)
				for _, row := range rows {
					if err := tx.UpsertCommit(ctx, row); err != nil {
						return err
					}
					if err := linkCommit(ctx, tx, s.Key, resolve, row.RepoID, row.SHA, row.Message); err != nil {
						return err
					}
				}
				return nil
			}
		})
}

// eachPage walks a repository's list from the cursor's page (cp.Pos: the
// next page), a page per write: list reads a page, rows turns it into the
// items reconciliation compares and the write that stores them. A
// response with status gone means nothing to read.
func eachPage[T any](ctx context.Context, s *syncer, res string, cp *collect.Checkpoint, gone int,
	list func(ctx context.Context, owner, name string, page int) ([]T, *gh.Response, error),
	rows func([]T) ([]collect.Fingerprinted, func(*store.Tx) error)) error {
	owner, name, err := s.ownerName()
	if err != nil {
		return err
	}
	page := 1
	if p, ok := pageOf(cp.Pos); ok {
		page = p
	}
	for page != 0 {
		got, resp, err := call(ctx, cp, func(ctx context.Context) ([]T, *gh.Response, error) { return list(ctx, owner, name, page) })
		if resp != nil && resp.StatusCode == gone {
			return nil
		}
		if err != nil {
			return err
		}
		page = resp.NextPage
		cp.Pos = pagePos(page)
		items, write := rows(got)
		if err := s.Write(ctx, res, cp, items, write); err != nil {
			return err
		}
	}
	return nil
}

// commitRow is a listed commit as the store keeps it: git's author name
// and e-mail, the GitHub account of the author when GitHub knows one, the
// author and committer dates, the message and parents.
func commitRow(k store.Key, repo string, c *gh.RepositoryCommit) store.Commit {
	author, committer := c.GetCommit().GetAuthor(), c.GetCommit().GetCommitter()
	row := store.Commit{Key: k, RepoID: repo, SHA: c.GetSHA(), ProjectID: repo,
		AuthorName: author.GetName(), AuthorEmail: author.GetEmail(), AuthorDate: author.GetDate().Time,
		CommitterDate: committer.GetDate().Time, Message: c.GetCommit().GetMessage()}
	if u := c.GetAuthor(); u.GetID() != 0 { // the GitHub account the author e-mail belongs to
		row.AuthorID, row.AuthorLogin = strconv.FormatInt(u.GetID(), 10), u.GetLogin()
	}
	if row.CommitterDate.IsZero() {
		row.CommitterDate = row.AuthorDate
	}
	for _, p := range c.Parents {
		row.Parents = append(row.Parents, p.GetSHA())
	}
	return row
}

// pushCommit is a commit of a push delivery (no parents, no counts: the
// next reconciliation's list brings them).
type pushCommit struct {
	ID        string    `json:"id"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
	Author    struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Username string `json:"username"` // the GitHub login, when the e-mail is an account's
	} `json:"author"`
}

// pagePos and pageOf keep the commits walk's next page in the cursor.
func pagePos(page int) string { return strconv.Itoa(page) }

func pageOf(pos string) (int, bool) {
	n, err := strconv.Atoi(pos)
	return n, err == nil && n > 0
}
