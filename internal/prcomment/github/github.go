// Package github writes PanDev's PR comment on GitHub: one comment in the
// pull request's conversation (an issue comment: every pull request is an
// issue), carrying the hidden Marker, edited in place.
package github

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubapi"
	"github.com/pandev-metrics/pandev/internal/prcomment"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Marker opens PanDev's comment: an HTML comment GitHub does not render,
// by which the comment is found again when our record of it was lost.
const Marker = "<!-- pandev-metrics:pr-comment -->"

// Provider is integrations.provider of GitHub.
const Provider = "github"

// RefusedMessage is what the PR comment status and the settings screen
// say when GitHub refuses to let the token write the comment.
const RefusedMessage = "PR comments cannot be posted: the GitHub token may not write pull request comments" +
	" — give it Pull requests: Read and write (fine-grained token) or the repo scope (classic token; public_repo is enough for public repositories)," +
	" then save it with Settings → Integrations → GitHub → Update token: the refused comments are posted then"

// expiredMessage is what they say when GitHub refuses the token itself.
const expiredMessage = "PR comments cannot be posted: GitHub refused the token (expired or revoked)" +
	" — create a new one with Pull requests: Read and write (or the repo scope) and save it with Settings → Integrations → GitHub → Update token"

// ClientSource gives an integration's GitHub client.
type ClientSource interface {
	Client(ctx context.Context, integrationID string) (*githubapi.Client, store.Integration, error)
}

// Comments is GitHub's prcomment.Provider.
type Comments struct {
	db      *store.DB
	clients ClientSource
}

// New returns GitHub's comment writing over the integrations' clients; db
// names a repository (owner/name) by its id.
func New(db *store.DB, clients ClientSource) *Comments { return &Comments{db: db, clients: clients} }

// Provider names the integrations it writes for.
func (*Comments) Provider() string { return Provider }

// SettingsPath is where an admin turns the comments off.
func (*Comments) SettingsPath() string { return "Settings → Integrations → GitHub → PR comments" }

// Writer returns the integration's writer.
func (c *Comments) Writer(ctx context.Context, integrationID string) (prcomment.Writer, store.Integration, error) {
	cl, in, err := c.clients.Client(ctx, integrationID)
	if err != nil {
		return nil, in, err
	}
	return writer{db: c.db, c: cl, in: in}, in, nil
}

type writer struct {
	db *store.DB
	c  *githubapi.Client
	in store.Integration
}

// Write edits the stored comment; without one, or when it was deleted, it
// looks in the conversation for the integration account's comment with the
// marker before creating one.
func (w writer) Write(ctx context.Context, pr store.PullRequest, loc *prcomment.Location, content string) error {
	p, err := w.db.GetProject(ctx, store.Key{IntegrationID: w.in.ID, WorkspaceID: w.in.WorkspaceID}, pr.RepoID)
	if err != nil {
		return err
	}
	owner, name, ok := strings.Cut(p.Name, "/")
	if !ok {
		return fmt.Errorf("repository %s has no owner/name (%q)", p.ProjectID, p.Name)
	}
	body := Marker + "\n" + content
	loc.ThreadID = 0
	if loc.CommentID != 0 {
		_, err := w.c.EditIssueComment(ctx, owner, name, loc.CommentID, body)
		if !delivery.IsNotFound(err) {
			return err
		}
		loc.CommentID = 0 // deleted: look for another of ours, else post anew
	}
	list, err := w.c.IssueComments(ctx, owner, name, int(pr.PRID))
	if err != nil {
		return err
	}
	for _, x := range list {
		if strings.HasPrefix(x.Body, Marker) && (w.in.Account == "" || strings.EqualFold(x.Author, w.in.Account)) {
			if x.Body != body {
				if _, err := w.c.EditIssueComment(ctx, owner, name, x.ID, body); err != nil {
					return err
				}
			}
			loc.CommentID = x.ID
			return nil
		}
	}
	x, err := w.c.CreateIssueComment(ctx, owner, name, int(pr.PRID), body)
	if err != nil {
		return err
	}
	loc.CommentID = x.ID
	return nil
}

// Refused: GitHub answers a fine-grained token without Issues or Pull
// requests: Read and write with 403 and X-Accepted-GitHub-Permissions
// (githubapi.MissingPermission), an expired or revoked token with 401.
func (writer) Refused(err error) string {
	var mp *githubapi.MissingPermission
	switch {
	case errors.As(err, &mp):
		return RefusedMessage
	case githubapi.StatusCode(err) == 401:
		return expiredMessage
	}
	return ""
}
