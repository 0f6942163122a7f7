package azdo

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Project is one entry of GET _apis/projects.
type Project struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	URL            string `json:"url"`
	State          string `json:"state"`
	Revision       int64  `json:"revision"`
	Visibility     string `json:"visibility"`
	LastUpdateTime Time   `json:"lastUpdateTime"`
}

// Projects iterates over every well-formed project the PAT can see, page by
// page ($top/$skip, following the continuation token when one is sent).
func (c *Client) Projects(ctx context.Context) iter.Seq2[Project, error] {
	return items(func(fn pageFunc[Project]) error {
		r := call{ep: epProjects, method: http.MethodGet, path: "_apis/projects", query: url.Values{}}
		return walkTopSkip(ctx, c, r, "$top", "$skip", DefaultPageSize, 0, fn)
	})
}

// ListProjects returns all projects (all pages).
func (c *Client) ListProjects(ctx context.Context) ([]Project, error) {
	return Collect(c.Projects(ctx))
}

// TokenWorks asks connectionData whether the token still authenticates as a
// real user. After a 401 on one resource, nil means the token is fine and
// the resource needs a scope or permission it lacks (PROTOCOL §10: compare
// against a call that worked).
func (c *Client) TokenWorks(ctx context.Context) error {
	var cd ConnectionData
	if _, err := c.send(ctx, &call{ep: epConnectionData, method: http.MethodGet, path: "_apis/connectionData", version: locationVersion}, &cd); err != nil {
		return err
	}
	u := cd.AuthenticatedUser
	if u.ID == "" || strings.EqualFold(u.ID, anonymousID) || strings.HasPrefix(u.Descriptor, "System:PublicAccess") {
		return &delivery.Error{Kind: delivery.KindUnauthorized, Message: msgUnauthorized, Hint: hintUnauthorized,
			Err: errors.New("connectionData answered for the anonymous user")}
	}
	return nil
}
