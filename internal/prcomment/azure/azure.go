// Package azure writes PanDev's PR comment on Azure DevOps: a thread
// carrying the property Marker, its first comment updated in place.
package azure

import (
	"context"
	"errors"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/prcomment"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Marker is the thread property that identifies PanDev's thread on a PR,
// so it is found again even if our record of it was lost.
const Marker = "PanDev.Metrics.QualityComment"

// Provider is integrations.provider of Azure DevOps.
const Provider = "azure-devops"

// ClientSource gives an integration's Azure DevOps client.
type ClientSource interface {
	Client(ctx context.Context, integrationID string) (*azdo.Client, store.Integration, error)
}

// Comments is Azure DevOps' prcomment.Provider.
type Comments struct{ clients ClientSource }

// New returns Azure DevOps' comment writing over the integrations' clients.
func New(clients ClientSource) *Comments { return &Comments{clients: clients} }

// Provider names the integrations it writes for.
func (*Comments) Provider() string { return Provider }

// SettingsPath is where an admin turns the comments off.
func (*Comments) SettingsPath() string {
	return "Settings → Integrations → Azure DevOps → Advanced"
}

// Writer returns the integration's writer.
func (c *Comments) Writer(ctx context.Context, integrationID string) (prcomment.Writer, store.Integration, error) {
	cl, in, err := c.clients.Client(ctx, integrationID)
	if err != nil {
		return nil, in, err
	}
	return writer{c: cl}, in, nil
}

type writer struct{ c *azdo.Client }

// Write updates the known comment, or finds our thread by its property, or
// creates it.
func (w writer) Write(ctx context.Context, pr store.PullRequest, loc *prcomment.Location, content string) error {
	c := w.c
	if loc.ThreadID == 0 {
		threads, err := c.PullRequestThreads(ctx, pr.ProjectID, pr.RepoID, int(pr.PRID))
		if err != nil {
			return err
		}
		for _, t := range threads {
			if _, ours := t.Properties[Marker]; ours && !t.IsDeleted && len(t.Comments) > 0 {
				loc.ThreadID, loc.CommentID = int64(t.ID), int64(t.Comments[0].ID)
				break
			}
		}
	}
	if loc.ThreadID != 0 {
		_, err := c.UpdateComment(ctx, pr.ProjectID, pr.RepoID, int(pr.PRID), int(loc.ThreadID), int(loc.CommentID), content)
		if !delivery.IsNotFound(err) {
			return err
		}
		loc.ThreadID, loc.CommentID = 0, 0 // the thread was deleted: post a new one
	}
	t, err := c.CreateThread(ctx, pr.ProjectID, pr.RepoID, int(pr.PRID), azdo.NewThread{Content: content,
		Properties: map[string]string{Marker: "1"}})
	if err != nil {
		return err
	}
	if len(t.Comments) == 0 {
		return errors.New("the created thread has no comment")
	}
	loc.ThreadID, loc.CommentID = int64(t.ID), int64(t.Comments[0].ID)
	return nil
}

// Refused: Azure DevOps answers a PAT without the threads scope, or an
// expired one, with 401 or 403.
func (writer) Refused(err error) string {
	if k := delivery.KindOf(err); k != delivery.KindUnauthorized && k != delivery.KindForbidden {
		return ""
	}
	_, fix := azdo.ScopeAdvice(azdo.ScopeThreadsWrite)
	return "PR comments cannot be posted: the PAT lacks Pull Request Threads: Read & write, or has expired — " + fix
}
