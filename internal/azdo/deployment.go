package azdo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// DeploymentKind is Azure DevOps Services or Azure DevOps Server.
type DeploymentKind string

// Deployment kinds.
const (
	Services DeploymentKind = "services"
	Server   DeploymentKind = "server"
)

// Deployment is what Detect found out about the other side: Services or
// Server, the Server release, and the api-version to speak. Store it with the
// integration and pass it back in Options.Deployment so later clients skip
// detection. The zero value means "not detected yet".
type Deployment struct {
	Kind DeploymentKind `json:"kind"`
	// Release is the Server release ("2019", "2020", "2022", or "2022.1"
	// when the server speaks 7.1); empty on Services.
	Release string `json:"release,omitempty"`
	// APIVersion is the highest GA api-version used: "7.1" on Services,
	// "5.0", "6.0", "7.0" or "7.1" on Server (PROTOCOL §3).
	APIVersion string `json:"api_version"`
	// Dir is a Server deployment's virtual directory ("/", "/tfs/",
	// "/devops/"), from connectionData: the collection follows it.
	Dir string `json:"dir,omitempty"`
}

// ServicesDeployment is Azure DevOps Services.
var ServicesDeployment = Deployment{Kind: Services, APIVersion: "7.1"}

// IsZero reports whether the deployment has not been detected.
func (d Deployment) IsZero() bool { return d.Kind == "" || d.APIVersion == "" }

// String names the deployment the way the UI shows it.
func (d Deployment) String() string {
	switch d.Kind {
	case Services:
		return "Azure DevOps Services"
	case Server:
		if d.Release != "" {
			return "Azure DevOps Server " + d.Release
		}
		return "Azure DevOps Server"
	}
	return "unknown"
}

// serverRelease maps the highest api-version a server reports to its release.
func serverRelease(maxVersion string) (Deployment, bool) {
	major, minor, ok := parseMajorMinor(maxVersion)
	if !ok {
		return Deployment{}, false
	}
	switch {
	case major < 5:
		return Deployment{}, false // TFS 2018 and older: not supported
	case major == 5:
		return Deployment{Kind: Server, Release: "2019", APIVersion: "5.0"}, true
	case major == 6:
		return Deployment{Kind: Server, Release: "2020", APIVersion: "6.0"}, true
	case major == 7 && minor == 0:
		return Deployment{Kind: Server, Release: "2022", APIVersion: "7.0"}, true
	default:
		return Deployment{Kind: Server, Release: "2022.1", APIVersion: "7.1"}, true
	}
}

func parseMajorMinor(v string) (int, int, bool) {
	v, _, _ = strings.Cut(v, "-")
	a, b, ok := strings.Cut(v, ".")
	if !ok {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	return major, minor, err1 == nil && err2 == nil && major >= 0 && minor >= 0
}

// apiArea groups endpoints that share an api-version rule.
type apiArea int

const (
	areaGA           apiArea = iota // the deployment's GA version (§3 main table)
	areaLocation                    // connectionData, resourceAreas, OPTIONS: released "0.0", preview only
	areaEnvironments                // absent on 2019, 6.0-preview.1 on 2020
)

// locationVersion is accepted by every deployment from Server 2019 on; the
// real connectionData/resourceAreas captures were requested with it.
const locationVersion = "5.0-preview.1"

// ErrUnsupported is the cause of errors for endpoints the deployment does not have.
var ErrUnsupported = errors.New("not supported by this Azure DevOps deployment")

func (d Deployment) apiVersion(a apiArea) (string, error) {
	switch a {
	case areaLocation:
		return locationVersion, nil
	case areaEnvironments:
		if d.Kind == Server {
			switch d.APIVersion {
			case "5.0":
				return "", &delivery.Error{Kind: delivery.KindPrecondition,
					Message: "Pipeline environments need Azure DevOps Server 2020 or later",
					Hint:    "Deployments are read from builds and classic releases on this server.", Err: ErrUnsupported}
			case "6.0":
				return "6.0-preview.1", nil
			}
		}
	}
	return d.APIVersion, nil
}

// Connection is what Detect learned: the deployment, the user the PAT belongs
// to, and the raw connectionData.
type Connection struct {
	Deployment Deployment
	User       Identity
	Data       ConnectionData
}

// anonymousID is the identity Azure DevOps reports for an unauthenticated caller.
const anonymousID = "aa442b8d-cd20-4dbc-9e4b-b5e6e0e4c2a5"

// Detect calls connectionData and works out Services or Server (and which
// release), then checks that the URL reaches a collection by reading one
// project: on Server a connectionData 200 does not prove the collection is in
// the URL (PROTOCOL §2). The result becomes the client's deployment if it had
// none; store Connection.Deployment and pass it back through
// Options.Deployment next time.
func (c *Client) Detect(ctx context.Context) (Connection, error) {
	var cd ConnectionData
	if _, err := c.send(ctx, &call{ep: epConnectionData, method: http.MethodGet, path: "_apis/connectionData", version: locationVersion}, &cd); err != nil {
		return Connection{}, err
	}
	u := cd.AuthenticatedUser
	if u.ID == "" || strings.EqualFold(u.ID, anonymousID) || strings.HasPrefix(u.Descriptor, "System:PublicAccess") {
		return Connection{}, &delivery.Error{Kind: delivery.KindUnauthorized, Message: msgUnauthorized, Hint: hintUnauthorized,
			Err: errors.New("connectionData answered for the anonymous user")}
	}
	dir := ""
	if !strings.EqualFold(cd.DeploymentType, "hosted") && cd.WebApplicationRelativeDirectory != "" {
		// Server under a virtual directory: the collection follows it.
		dir = cd.WebApplicationRelativeDirectory
		c.mu.Lock()
		c.org = c.org.InDirectory(dir)
		c.mu.Unlock()
	}
	var dep Deployment
	switch {
	case strings.EqualFold(cd.DeploymentType, "hosted"):
		dep = ServicesDeployment
	case strings.EqualFold(cd.DeploymentType, "onPremises"), !c.org.Services:
		d, err := c.detectServerRelease(ctx)
		if err != nil {
			return Connection{}, err
		}
		dep = d
		dep.Dir = dir
	default:
		dep = ServicesDeployment
	}
	// Prove the collection: one project, with the version just detected.
	q := map[string][]string{"$top": {"1"}}
	if _, err := c.send(ctx, &call{ep: epProjects, method: http.MethodGet, path: "_apis/projects", query: q, version: dep.APIVersion}, nil); err != nil {
		return Connection{}, err
	}
	c.mu.Lock()
	if c.dep.IsZero() {
		c.dep = dep
	}
	c.mu.Unlock()
	return Connection{Deployment: dep, User: u, Data: cd}, nil
}

// detectServerRelease reads the resource locations (OPTIONS {base}/_apis, the
// same list the official SDK negotiates against) and takes the projects
// resource's maxVersion as the server's capability.
func (c *Client) detectServerRelease(ctx context.Context) (Deployment, error) {
	var locs struct {
		Value []struct {
			ID         string `json:"id"`
			MaxVersion string `json:"maxVersion"`
		} `json:"value"`
	}
	if _, err := c.send(ctx, &call{ep: epLocations, method: http.MethodOptions, path: "_apis"}, &locs); err != nil {
		return Deployment{}, err
	}
	best := ""
	for _, l := range locs.Value {
		if strings.EqualFold(l.ID, projectsLocationID) {
			best = l.MaxVersion
			break
		}
		if cmpVersion(l.MaxVersion, best) > 0 {
			best = l.MaxVersion
		}
	}
	d, ok := serverRelease(best)
	if !ok {
		return Deployment{}, &delivery.Error{Kind: delivery.KindPrecondition,
			Message: fmt.Sprintf("This Azure DevOps Server speaks REST API %q; PanDev Metrics needs Azure DevOps Server 2019 or later", best),
			Hint:    "Upgrade the server, or connect an Azure DevOps Services organization."}
	}
	return d, nil
}

const projectsLocationID = "603fe2ac-9723-48b9-88ad-09305aa6c6e1"

// cmpVersion compares "M.m" versions numerically; unparsable sorts first.
func cmpVersion(a, b string) int {
	am, an, aok := parseMajorMinor(a)
	bm, bn, bok := parseMajorMinor(b)
	switch {
	case !aok && !bok:
		return 0
	case !aok:
		return -1
	case !bok:
		return 1
	case am != bm:
		return am - bm
	}
	return an - bn
}

// Deployment returns the client's deployment, detecting it on first use when
// none was given.
func (c *Client) Deployment(ctx context.Context) (Deployment, error) {
	c.mu.Lock()
	d := c.dep
	c.mu.Unlock()
	if !d.IsZero() {
		return d, nil
	}
	conn, err := c.Detect(ctx)
	if err != nil {
		return Deployment{}, err
	}
	return conn.Deployment, nil
}

func (c *Client) version(ctx context.Context, a apiArea) (string, error) {
	if a == areaLocation {
		return locationVersion, nil
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return "", err
	}
	return d.apiVersion(a)
}
