package azdo

import (
	"context"
	"net/http"
	"strings"
)

// ReleaseAreaID is the resource area of classic Release Management.
const ReleaseAreaID = "efc2f575-36ef-48e9-b672-0c6fb4a48ac5"

// ResourceArea is one entry of _apis/resourceAreas: which host serves an area.
type ResourceArea struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	LocationURL string `json:"locationUrl"`
}

// AreaURL returns the base URL that serves a resource area, found through
// GET {base}/_apis/resourceAreas once and cached (LOCATIONS.md §3). Server
// answers an empty list: every area lives under the collection URL, and so
// does any area missing from the list. An area on a host the token may not
// go to (see Client.areaAllowed) is an error naming it (KindInvalid, cause
// *AreaHostError).
func (c *Client) AreaURL(ctx context.Context, areaID string) (string, error) {
	c.areasMu.Lock()
	defer c.areasMu.Unlock()
	if c.areas == nil {
		d, err := c.Deployment(ctx)
		if err != nil {
			return "", err
		}
		areas := map[string]string{}
		if d.Kind == Services {
			var list struct {
				Value []ResourceArea `json:"value"`
			}
			if _, err := c.send(ctx, &call{ep: epResourceAreas, method: http.MethodGet, path: "_apis/resourceAreas"}, &list); err != nil {
				return "", err
			}
			for _, a := range list.Value {
				if a.ID != "" && a.LocationURL != "" {
					areas[strings.ToLower(a.ID)] = strings.TrimRight(a.LocationURL, "/")
				}
			}
		}
		c.areas = areas
	}
	if u, ok := c.areas[strings.ToLower(areaID)]; ok {
		// The list comes from the other side: an area elsewhere than the
		// organization's host (or Microsoft's, or a listed host) would take
		// the token with it.
		if parsed, ok := c.areaAllowed(u); !ok {
			host := u
			if parsed != nil && parsed.Host != "" {
				host = parsed.Host
			}
			return "", c.areaError(&AreaHostError{Area: areaID, URL: u, Host: host})
		}
		return u, nil
	}
	if strings.EqualFold(areaID, ReleaseAreaID) {
		return c.fallbackReleaseBase(), nil
	}
	return c.org.Base, nil
}

func (c *Client) releaseBase(ctx context.Context) (string, error) {
	return c.AreaURL(ctx, ReleaseAreaID)
}

// fallbackReleaseBase is the well-known release host for a Services URL whose
// resourceAreas lacked the Release entry (PROTOCOL §1).
func (c *Client) fallbackReleaseBase() string {
	switch {
	case c.org.Services && c.org.Legacy:
		return "https://" + c.org.Name + ".vsrm.visualstudio.com"
	case c.org.Services:
		return "https://vsrm.dev.azure.com/" + c.org.Name
	}
	return c.org.Base
}
