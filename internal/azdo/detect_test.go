package azdo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func onPremisesConnectionData(t *testing.T) []byte {
	return bytes.Replace(sample(t, "location.connectiondata.real.json"), []byte(`"hosted"`), []byte(`"onPremises"`), 1)
}

func locationsWithMax(max string) []byte {
	b, _ := json.Marshal(map[string]any{"count": 2, "value": []map[string]any{
		{"id": "00d9565f-ed9c-4a06-9a50-00e7896ccab4", "area": "Location", "resourceName": "ConnectionData", "minVersion": "1.0", "maxVersion": max, "releasedVersion": "0.0"},
		{"id": projectsLocationID, "area": "core", "resourceName": "projects", "minVersion": "1.0", "maxVersion": max, "releasedVersion": max},
	}})
	return b
}

func TestDetectServices(t *testing.T) {
	f := newFake(t)
	f.json("GET", "/acme/_apis/connectionData", 200, sample(t, "location.connectiondata.real.json"))
	f.json("GET", "/acme/_apis/projects", 200, sample(t, "core.projects.list.real.json"))
	f.json("GET", "/git/repositories", 200, []byte(`{"count":0,"value":[]}`))
	c, _ := newClient(t, f, Deployment{})
	conn, err := c.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if conn.Deployment != ServicesDeployment || conn.User.DisplayName() != "Soujanya Bestala (MINDTREE LIMITED)" ||
		conn.Deployment.String() != "Azure DevOps Services" {
		t.Fatalf("conn = %+v", conn)
	}
	reqs := f.requests()
	if first(reqs[0].Query["api-version"]) != locationVersion || first(reqs[1].Query["$top"]) != "1" || first(reqs[1].Query["api-version"]) != "7.1" {
		t.Fatalf("detect requests: %v / %v", reqs[0].Query, reqs[1].Query)
	}
	// Stored: later calls use it without detecting again.
	if _, err := c.Repositories(context.Background(), "P"); err != nil {
		t.Fatal(err)
	}
	if f.count("/connectionData") != 1 || first(f.requests()[2].Query["api-version"]) != "7.1" {
		t.Fatalf("connectionData calls %d; repo query %v", f.count("/connectionData"), f.requests()[2].Query)
	}
}

func TestDetectServerReleases(t *testing.T) {
	tests := []struct {
		max     string
		want    Deployment
		envVer  string // "" = environments unsupported
		display string
	}{
		{"5.0", Deployment{Kind: Server, Release: "2019", APIVersion: "5.0"}, "", "Azure DevOps Server 2019"},
		{"5.1", Deployment{Kind: Server, Release: "2019", APIVersion: "5.0"}, "", "Azure DevOps Server 2019"},
		{"6.0", Deployment{Kind: Server, Release: "2020", APIVersion: "6.0"}, "6.0-preview.1", "Azure DevOps Server 2020"},
		{"7.0", Deployment{Kind: Server, Release: "2022", APIVersion: "7.0"}, "7.0", "Azure DevOps Server 2022"},
		{"7.1", Deployment{Kind: Server, Release: "2022.1", APIVersion: "7.1"}, "7.1", "Azure DevOps Server 2022.1"},
	}
	for _, tt := range tests {
		t.Run(tt.max, func(t *testing.T) {
			f := newFake(t)
			f.json("GET", "/_apis/connectionData", 200, onPremisesConnectionData(t))
			f.json("OPTIONS", "/DefaultCollection/_apis", 200, locationsWithMax(tt.max))
			f.json("GET", "/_apis/projects", 200, []byte(`{"count":0,"value":[]}`))
			f.json("GET", "/_apis/distributedtask/environments", 200, []byte(`{"count":0,"value":[]}`))
			f.json("GET", "/_apis/release/deployments", 200, []byte(`{"count":0,"value":[]}`))
			c, _ := newClient(t, f, Deployment{}, func(o *Options) { o.OrgURL = f.url("/tfs/DefaultCollection") })
			conn, err := c.Detect(context.Background())
			if err != nil || conn.Deployment != tt.want || conn.Deployment.String() != tt.display {
				t.Fatalf("Detect = %+v, %v; want %+v", conn.Deployment, err, tt.want)
			}
			_, err = c.Environments(context.Background(), "P")
			if tt.envVer == "" {
				if delivery.KindOf(err) != delivery.KindPrecondition || !errors.Is(err, ErrUnsupported) {
					t.Fatalf("environments on %s: %v, want KindPrecondition", tt.display, err)
				}
			} else if err != nil || first(f.requests()[len(f.requests())-1].Query["api-version"]) != tt.envVer {
				t.Fatalf("environments: %v, query %v; want api-version %s", err, f.requests()[len(f.requests())-1].Query, tt.envVer)
			}
			// Release lives under the collection on Server: no resourceAreas call.
			if _, err := Collect(c.ReleaseDeployments(context.Background(), "P", ReleaseDeploymentQuery{})); err != nil {
				t.Fatal(err)
			}
			last := f.requests()[len(f.requests())-1]
			if last.Path != "/tfs/DefaultCollection/P/_apis/release/deployments" || first(last.Query["api-version"]) != tt.want.APIVersion || f.count("/resourceAreas") != 0 {
				t.Fatalf("release call %s %v; resourceAreas calls %d", last.Path, last.Query, f.count("/resourceAreas"))
			}
		})
	}
}

func TestDetectRejectsAnonymous(t *testing.T) {
	f := newFake(t)
	f.json("GET", "/_apis/connectionData", 200, []byte(`{"authenticatedUser":{"id":"aa442b8d-cd20-4dbc-9e4b-b5e6e0e4c2a5","descriptor":"System:PublicAccess;aa442b8d-cd20-4dbc-9e4b-b5e6e0e4c2a5"},"deploymentType":"hosted"}`))
	c, _ := newClient(t, f, Deployment{})
	_, err := c.Detect(context.Background())
	var de *delivery.Error
	if !errors.As(err, &de) || de.Kind != delivery.KindUnauthorized || de.Message != msgUnauthorized || de.Hint != hintUnauthorized {
		t.Fatalf("err = %v", err)
	}
}

func TestDetectServerWithoutCollection(t *testing.T) {
	f := newFake(t)
	// The deployment-level connectionData answers even without a collection
	// (PROTOCOL §2); everything else is 404.
	f.json("GET", "/_apis/connectionData", 200, onPremisesConnectionData(t))
	f.on("", "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(404)
		fmt.Fprint(w, "<h1>404 - Page not found</h1>")
	})
	f.json("GET", "/_apis/connectionData", 200, onPremisesConnectionData(t))
	c, _ := newClient(t, f, Deployment{}, func(o *Options) { o.OrgURL = f.url("") })
	_, err := c.Detect(context.Background())
	var de *delivery.Error
	if !errors.As(err, &de) || de.Kind != delivery.KindInvalid ||
		de.Message != "For Azure DevOps Server, the Organization URL must include the collection, e.g. "+f.url("")+"/DefaultCollection" {
		t.Fatalf("err = %v", err)
	}
}

func TestLazyDetectOnFirstCall(t *testing.T) {
	f := newFake(t)
	f.json("GET", "/_apis/connectionData", 200, sample(t, "location.connectiondata.real.json"))
	f.json("GET", "/_apis/projects", 200, []byte(`{"count":0,"value":[]}`))
	f.json("GET", "/git/repositories", 200, []byte(`{"count":0,"value":[]}`))
	c, _ := newClient(t, f, Deployment{})
	for i := 0; i < 2; i++ {
		if _, err := c.Repositories(context.Background(), "P"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count("/connectionData"); n != 1 {
		t.Fatalf("connectionData called %d times, want once", n)
	}
}

func TestReleaseHostDiscovery(t *testing.T) {
	main, vsrm := newFake(t), newFake(t)
	areas, _ := json.Marshal(map[string]any{"count": 3, "value": []map[string]any{
		{"id": "79134c72-4a58-4b42-976c-04e7115f32bf", "name": "core", "locationUrl": main.url("/acme/")},
		{"id": "EFC2F575-36EF-48E9-B672-0C6FB4A48AC5", "name": "Release", "locationUrl": vsrm.url("/acme/")},
		{"id": "965220d5-5bb9-42cf-8d67-9b146df2a5a4", "name": "Build", "locationUrl": main.url("/acme/")},
	}})
	main.json("GET", "/acme/_apis/resourceAreas", 200, areas)
	vsrm.json("GET", "/acme/Proj/_apis/release/deployments", 200, sample(t, "release.deployments.list.by-definition.json"))
	c, _ := newClient(t, main, ServicesDeployment)
	for i := 0; i < 2; i++ {
		ds, err := Collect(c.ReleaseDeployments(context.Background(), "Proj", ReleaseDeploymentQuery{DefinitionID: 1}))
		if err != nil || len(ds) == 0 {
			t.Fatalf("deployments = %+v, %v", ds, err)
		}
	}
	if n := main.count("/resourceAreas"); n != 1 {
		t.Fatalf("resourceAreas called %d times, want once (cached)", n)
	}
	if r := main.requests()[0]; first(r.Query["api-version"]) != locationVersion {
		t.Fatalf("resourceAreas query %v", r.Query)
	}
	if n := vsrm.count("/release/deployments"); n != 2 {
		t.Fatalf("release host got %d calls", n)
	}
	if got, _ := c.AreaURL(context.Background(), "79134c72-4a58-4b42-976c-04e7115f32bf"); got != main.url("/acme") {
		t.Fatalf("core area = %q", got)
	}
}

func TestReleaseHostFallback(t *testing.T) {
	tests := []struct{ org, want string }{
		{"https://dev.azure.com/acme", "https://vsrm.dev.azure.com/acme"},
		{"https://acme.visualstudio.com", "https://acme.vsrm.visualstudio.com"},
	}
	for _, tt := range tests {
		org, err := ParseOrgURL(tt.org)
		if err != nil {
			t.Fatal(err)
		}
		c := &Client{org: org}
		if got := c.fallbackReleaseBase(); got != tt.want {
			t.Errorf("fallback for %s = %s, want %s", tt.org, got, tt.want)
		}
	}
	// An area missing from a non-empty list falls back too.
	f := newFake(t)
	f.json("GET", "/_apis/resourceAreas", 200, []byte(`{"count":1,"value":[{"id":"79134c72-4a58-4b42-976c-04e7115f32bf","name":"core","locationUrl":"https://x/"}]}`))
	c, _ := newClient(t, f, ServicesDeployment)
	if got, err := c.AreaURL(context.Background(), ReleaseAreaID); err != nil || !strings.HasPrefix(got, f.url("/acme")) {
		t.Fatalf("release base = %q, %v", got, err)
	}
}
