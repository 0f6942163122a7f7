package azdo

import (
	"context"
	"iter"
	"net/http"
	"net/url"
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
