package githubapi

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/google/go-github/v75/github"
)

// Repository is one repository a token sees, as the picker shows it.
type Repository struct {
	ID            int64
	Owner         string // the login of the user or organization
	Name          string
	FullName      string // owner/name
	Description   string
	Private       bool
	Visibility    string // public, private or internal
	Archived      bool
	DefaultBranch string
	HTMLURL       string
	PushedAt      *time.Time
	// Admin says the token's user administers it: repository webhooks
	// need that besides the token's permission.
	Admin bool
}

func repositoryOf(r *github.Repository) Repository {
	out := Repository{ID: r.GetID(), Owner: r.GetOwner().GetLogin(), Name: r.GetName(), FullName: r.GetFullName(),
		Description: r.GetDescription(), Private: r.GetPrivate(), Visibility: r.GetVisibility(), Archived: r.GetArchived(),
		DefaultBranch: r.GetDefaultBranch(), HTMLURL: r.GetHTMLURL(), Admin: r.GetPermissions()["admin"]}
	if out.Visibility == "" {
		out.Visibility = "public"
		if out.Private {
			out.Visibility = "private"
		}
	}
	if r.PushedAt != nil {
		t := r.PushedAt.UTC()
		out.PushedAt = &t
	}
	return out
}

// maxRepositoryPages bounds a listing: 100 pages of 100 repositories.
const maxRepositoryPages = 100

// Repositories lists every repository the token sees (GET /user/repos,
// every page): a fine-grained token's selection, a classic token's own,
// collaborator and organization repositories. Sorted by full name.
func (c *Client) Repositories(ctx context.Context) ([]Repository, error) {
	return c.pages(ctx, func(ctx context.Context, page int) ([]*github.Repository, *github.Response, error) {
		return c.gh.Repositories.ListByAuthenticatedUser(ctx, &github.RepositoryListByAuthenticatedUserOptions{
			Sort: "full_name", ListOptions: github.ListOptions{PerPage: 100, Page: page}})
	})
}

// OwnerRepositories lists an organization's repositories the token sees
// (GET /orgs/{org}/repos, every page), sorted by full name.
func (c *Client) OwnerRepositories(ctx context.Context, org string) ([]Repository, error) {
	return c.pages(ctx, func(ctx context.Context, page int) ([]*github.Repository, *github.Response, error) {
		return c.gh.Repositories.ListByOrg(ctx, org, &github.RepositoryListByOrgOptions{
			Sort: "full_name", ListOptions: github.ListOptions{PerPage: 100, Page: page}})
	})
}

func (c *Client) pages(ctx context.Context, list func(context.Context, int) ([]*github.Repository, *github.Response, error)) ([]Repository, error) {
	var out []Repository
	for page, n := 1, 0; page != 0 && n < maxRepositoryPages; n++ {
		rs, resp, err := do(ctx, func(ctx context.Context) ([]*github.Repository, *github.Response, error) { return list(ctx, page) })
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, repositoryOf(r))
		}
		page = resp.NextPage
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName < out[j].FullName })
	return out, nil
}

// HookConfig is a repository webhook as the product registers it.
type HookConfig struct {
	URL    string
	Secret string
	Events []string
}

// Hook is a repository webhook as GitHub reports it (the secret masked).
type Hook struct {
	ID          int64
	URL         string // config.url
	ContentType string
	InsecureSSL string
	Events      []string
	Active      bool
	// LastCode, LastStatus and LastMessage are GitHub's last_response: the
	// latest delivery's HTTP status (0 before any), "active", "unused" or
	// a failure, and its message.
	LastCode    int
	LastStatus  string
	LastMessage string
}

func hookOf(h *github.Hook) Hook {
	out := Hook{ID: h.GetID(), Events: h.Events, Active: h.GetActive()}
	if cfg := h.GetConfig(); cfg != nil {
		out.URL, out.ContentType, out.InsecureSSL = cfg.GetURL(), cfg.GetContentType(), cfg.GetInsecureSSL()
	}
	if code, ok := h.LastResponse["code"].(float64); ok {
		out.LastCode = int(code)
	}
	out.LastStatus, _ = h.LastResponse["status"].(string)
	out.LastMessage, _ = h.LastResponse["message"].(string)
	return out
}

func (cfg HookConfig) hook() *github.Hook {
	json, insecure := "json", "0"
	return &github.Hook{Name: github.Ptr("web"), Active: github.Ptr(true), Events: cfg.Events,
		Config: &github.HookConfig{URL: github.Ptr(cfg.URL), ContentType: &json, InsecureSSL: &insecure, Secret: github.Ptr(cfg.Secret)}}
}

// Hooks lists a repository's webhooks (every page).
func (c *Client) Hooks(ctx context.Context, owner, repo string) ([]Hook, error) {
	var out []Hook
	for page, n := 1, 0; page != 0 && n < maxRepositoryPages; n++ {
		hs, resp, err := do(ctx, func(ctx context.Context) ([]*github.Hook, *github.Response, error) {
			return c.gh.Repositories.ListHooks(ctx, owner, repo, &github.ListOptions{PerPage: 100, Page: page})
		})
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			out = append(out, hookOf(h))
		}
		page = resp.NextPage
	}
	return out, nil
}

// CreateHook registers a repository webhook: content type json, TLS
// verified (insecure_ssl "0"), active, with the secret GitHub signs each
// delivery with. GitHub sends it a ping.
func (c *Client) CreateHook(ctx context.Context, owner, repo string, cfg HookConfig) (Hook, error) {
	h, _, err := do(ctx, func(ctx context.Context) (*github.Hook, *github.Response, error) {
		return c.gh.Repositories.CreateHook(ctx, owner, repo, cfg.hook())
	})
	if err != nil {
		return Hook{}, err
	}
	return hookOf(h), nil
}

// EditHook puts a webhook back to the product's configuration (events,
// content type, secret, active).
func (c *Client) EditHook(ctx context.Context, owner, repo string, id int64, cfg HookConfig) (Hook, error) {
	h, _, err := do(ctx, func(ctx context.Context) (*github.Hook, *github.Response, error) {
		return c.gh.Repositories.EditHook(ctx, owner, repo, id, cfg.hook())
	})
	if err != nil {
		return Hook{}, err
	}
	return hookOf(h), nil
}

// DeleteHook removes a webhook; one already gone is not an error.
func (c *Client) DeleteHook(ctx context.Context, owner, repo string, id int64) error {
	resp, err := c.gh.Repositories.DeleteHook(ctx, owner, repo, id)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return Classify(err)
}

// PingHook asks GitHub to send the webhook a ping event.
func (c *Client) PingHook(ctx context.Context, owner, repo string, id int64) error {
	_, err := c.gh.Repositories.PingHook(ctx, owner, repo, id)
	return Classify(err)
}

// HookDelivery is one recent delivery of a webhook.
type HookDelivery struct {
	GUID        string
	Event       string
	DeliveredAt time.Time
	StatusCode  int
	Status      string
	Redelivery  bool
}

// OK reports a delivery the receiver accepted (2xx).
func (d HookDelivery) OK() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// HookDeliveries lists a webhook's latest deliveries, newest first (at
// most n, one page).
func (c *Client) HookDeliveries(ctx context.Context, owner, repo string, id int64, n int) ([]HookDelivery, error) {
	ds, _, err := do(ctx, func(ctx context.Context) ([]*github.HookDelivery, *github.Response, error) {
		return c.gh.Repositories.ListHookDeliveries(ctx, owner, repo, id, &github.ListCursorOptions{PerPage: n})
	})
	if err != nil {
		return nil, err
	}
	out := make([]HookDelivery, 0, len(ds))
	for _, d := range ds {
		out = append(out, HookDelivery{GUID: d.GetGUID(), Event: d.GetEvent(), DeliveredAt: d.GetDeliveredAt().UTC(),
			StatusCode: d.GetStatusCode(), Status: d.GetStatus(), Redelivery: d.GetRedelivery()})
	}
	return out, nil
}

// StatusCode is the HTTP status GitHub answered with, found in an error
// of this package (0 when there was none: unreachable, or no error).
func StatusCode(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var mp *MissingPermission
	if errors.As(err, &mp) {
		return mp.Status
	}
	return 0
}
