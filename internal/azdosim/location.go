package azdosim

import (
	_ "embed"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
)

// The real OPTIONS {org}/_apis and _apis/ResourceAreas answers captured from dev.azure.com
// (samples/rest/location.*.real.json). Serving the real records keeps the SDK's URL building and
// version negotiation exactly as in production.
//
//go:embed data/locations.json
var locationsJSON []byte

//go:embed data/resourceareas.json
var resourceAreasJSON []byte

// locRecord is an ApiResourceLocation.
type locRecord struct {
	ID              string `json:"id"`
	Area            string `json:"area"`
	ResourceName    string `json:"resourceName"`
	RouteTemplate   string `json:"routeTemplate"`
	ResourceVersion int    `json:"resourceVersion"`
	MinVersion      string `json:"minVersion"`
	MaxVersion      string `json:"maxVersion"`
	ReleasedVersion string `json:"releasedVersion"`
}

// Release locations are not in the dev.azure.com capture (they live on vsrm). These follow the
// spec's paths; the exact vsrm records are unverified (LOCATIONS.md §5).
var releaseRecords = []locRecord{
	{ID: "b005ef73-cddc-448e-9ba2-5193bf36b19f", Area: "Release", ResourceName: "deployments", RouteTemplate: "{project}/_apis/{area}/{resource}", ResourceVersion: 2, MinVersion: "4.1", MaxVersion: "7.2", ReleasedVersion: "7.1"},
	{ID: "a166fde7-27ad-408e-ba75-703c2cc9d500", Area: "Release", ResourceName: "releases", RouteTemplate: "{project}/_apis/{area}/{resource}/{releaseId}", ResourceVersion: 8, MinVersion: "1.0", MaxVersion: "7.2", ReleasedVersion: "7.1"},
	{ID: "d8f96f24-8ea7-4cb6-baab-2df8fc515665", Area: "Release", ResourceName: "definitions", RouteTemplate: "{project}/_apis/{area}/{resource}/{definitionId}", ResourceVersion: 4, MinVersion: "2.0", MaxVersion: "7.2", ReleasedVersion: "7.1"},
}

var (
	locOnce    sync.Once
	allRecords []locRecord
)

func realRecords() []locRecord {
	locOnce.Do(func() {
		var body struct {
			Value []locRecord `json:"value"`
		}
		if err := json.Unmarshal(locationsJSON, &body); err != nil {
			panic("azdosim: embedded locations: " + err.Error())
		}
		allRecords = body.Value
	})
	return allRecords
}

// serverCaps is the highest api-version each Azure DevOps Server release supports (PROTOCOL §3).
var serverCaps = map[string]string{"2019": "5.0", "2020": "6.0", "2022": "7.0"}

// locations holds the records served by one simulator, indexed by id.
type locations struct {
	byID        map[string]locRecord
	mainOptions []byte
	relOptions  []byte
}

func buildLocations(mode, serverVersion string) *locations {
	l := &locations{byID: map[string]locRecord{}}
	var mainList, relList []locRecord
	capV := serverCaps[serverVersion]
	for _, rec := range append(append([]locRecord{}, realRecords()...), releaseRecords...) {
		isRelease := strings.EqualFold(rec.Area, "Release")
		if mode == "server" {
			if cmpVersion(rec.MinVersion, capV) > 0 {
				continue // the resource did not exist in this release
			}
			if serverVersion == "2019" && strings.EqualFold(rec.Area, "distributedtask") && strings.Contains(strings.ToLower(rec.ResourceName), "environment") {
				continue
			}
			if cmpVersion(rec.MaxVersion, capV) > 0 {
				rec.MaxVersion = capV
			}
			if cmpVersion(rec.ReleasedVersion, capV) > 0 {
				rec.ReleasedVersion = capV
			}
			mainList = append(mainList, rec)
		} else if isRelease {
			relList = append(relList, rec)
		} else {
			mainList = append(mainList, rec)
			if strings.EqualFold(rec.Area, "Location") {
				relList = append(relList, rec) // every host answers its own location calls
			}
		}
		l.byID[rec.ID] = rec
	}
	l.mainOptions, _ = json.Marshal(obj{"value": mainList, "count": len(mainList)})
	l.relOptions, _ = json.Marshal(obj{"value": relList, "count": len(relList)})
	return l
}

// resourceAreas renders the ResourceAreas list. Services points every dev.azure.com area at the
// main listener and Release at the release listener; Server returns the empty list as on-prem
// servers do.
func (s *Sim) resourceAreas() obj {
	if s.isServer() {
		return obj{"count": 0, "value": []any{}}
	}
	var body struct {
		Value []struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			LocationURL string `json:"locationUrl"`
		} `json:"value"`
	}
	json.Unmarshal(resourceAreasJSON, &body)
	var out []any
	for _, a := range body.Value {
		host := strings.TrimPrefix(a.LocationURL, "https://")
		host, _, _ = strings.Cut(host, "/")
		var u string
		switch host {
		case "dev.azure.com":
			u = s.baseURL + s.dirPath() + s.org.name + "/"
		case "vsrm.dev.azure.com":
			u = s.releaseURL + s.dirPath() + s.org.name + "/"
		default:
			continue // hosts the simulator does not serve
		}
		out = append(out, obj{"id": a.ID, "name": a.Name, "locationUrl": u})
	}
	return obj{"count": len(out), "value": out}
}

// connectionData renders ConnectionData for the caller (shape of location.connectiondata.real.json).
func (s *Sim) connectionData(p *pat, dir string) obj {
	o := s.org
	var user obj
	if p == nil {
		user = obj{"id": anonymousUserID, "descriptor": "System:PublicAccess;" + anonymousUserID,
			"subjectDescriptor": "s-1-0-0", "providerDisplayName": "Anonymous", "customDisplayName": "Anonymous",
			"isActive": true, "properties": obj{}, "resourceVersion": 2, "metaTypeId": 0}
	} else {
		id := o.idents[p.user]
		user = obj{"id": id.ID, "descriptor": "Microsoft.IdentityModel.Claims.ClaimsIdentity;" + o.id + "\\" + id.Email,
			"subjectDescriptor": id.Descriptor, "providerDisplayName": id.Name, "customDisplayName": id.Name,
			"isActive": true, "properties": obj{"Account": obj{"$type": "System.String", "$value": id.Email}},
			"resourceVersion": 2, "metaTypeId": 0}
	}
	kind := "hosted"
	owner := "00025394-6065-48ca-87d9-7f5672854ef7"
	if s.isServer() {
		kind = "onPremises"
	}
	if dir == "" {
		dir = "/"
	}
	return obj{"authenticatedUser": user, "authorizedUser": user, "instanceId": o.instanceID,
		"deploymentId": o.deploymentID, "deploymentType": kind, "webApplicationRelativeDirectory": dir,
		"locationServiceData": obj{"serviceOwner": owner, "defaultAccessMappingMoniker": "PublicAccessMapping",
			"lastChangeId": 424239147, "lastChangeId64": 424239147}}
}

// apiVersion is a parsed api-version value.
type apiVersion struct {
	major, minor int
	preview      bool
	rv           int
}

func parseAPIVersion(v string) (apiVersion, bool) {
	var a apiVersion
	base, rest, hasRest := strings.Cut(v, "-")
	if hasRest {
		rest = strings.ToLower(rest)
		if !strings.HasPrefix(rest, "preview") {
			return a, false
		}
		a.preview = true
		if n := strings.TrimPrefix(rest, "preview"); n != "" {
			x, err := strconv.Atoi(strings.TrimPrefix(n, "."))
			if err != nil || !strings.HasPrefix(n, ".") {
				return a, false
			}
			a.rv = x
		}
	}
	maj, min, ok := strings.Cut(base, ".")
	if !ok {
		return a, false
	}
	var err1, err2 error
	a.major, err1 = strconv.Atoi(maj)
	a.minor, err2 = strconv.Atoi(min)
	return a, err1 == nil && err2 == nil && a.major >= 0 && a.minor >= 0
}

func (a apiVersion) mm() string { return strconv.Itoa(a.major) + "." + strconv.Itoa(a.minor) }

// cmpVersion compares "M.m" strings numerically.
func cmpVersion(a, b string) int {
	pa, _ := parseAPIVersion(a)
	pb, _ := parseAPIVersion(b)
	switch {
	case pa.major != pb.major:
		return pa.major - pb.major
	default:
		return pa.minor - pb.minor
	}
}

// checkVersion applies the service's api-version rules for one location record.
func checkVersion(raw, method string, rec locRecord) (string, *vssError) {
	if raw == "" {
		if method == "GET" {
			return rec.ReleasedVersion, nil
		}
		return "", &vssError{status: 400, typeKey: "VssVersionNotSpecifiedException",
			typeName: "Microsoft.VisualStudio.Services.WebApi.VssVersionNotSpecifiedException, Microsoft.VisualStudio.Services.WebApi",
			message:  `No api-version was supplied for the "` + method + `" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. '?api-version=1.0').`}
	}
	v, ok := parseAPIVersion(raw)
	if !ok {
		return "", &vssError{status: 400, typeKey: "VssInvalidApiVersionException",
			typeName: "Microsoft.VisualStudio.Services.WebApi.VssInvalidApiVersionException, Microsoft.VisualStudio.Services.WebApi",
			message:  "The api-version '" + raw + "' is not valid. The version must be of the format 'major.minor' or 'major.minor-preview', e.g. '7.1' or '7.2-preview'."}
	}
	if cmpVersion(v.mm(), rec.MaxVersion) > 0 || cmpVersion(v.mm(), rec.MinVersion) < 0 {
		return "", &vssError{status: 400, typeKey: "VssVersionOutOfRangeException",
			typeName: "Microsoft.VisualStudio.Services.WebApi.VssVersionOutOfRangeException, Microsoft.VisualStudio.Services.WebApi",
			message:  "The requested REST API version of " + raw + " is out of range for this server. The latest REST API version this server supports is " + rec.MaxVersion + "."}
	}
	if !v.preview && (rec.ReleasedVersion == "0.0" || cmpVersion(v.mm(), rec.ReleasedVersion) > 0) {
		return "", &vssError{status: 400, typeKey: "VssInvalidPreviewVersionException",
			typeName: "Microsoft.VisualStudio.Services.WebApi.VssInvalidPreviewVersionException, Microsoft.VisualStudio.Services.WebApi",
			message:  `The requested version "` + raw + `" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "` + v.mm() + `-preview"`}
	}
	return raw, nil
}

// requestedVersion reads api-version from the query string or the Accept header.
func requestedVersion(q map[string]string, accept string) string {
	if v := q["api-version"]; v != "" {
		return v
	}
	for _, part := range strings.Split(accept, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "api-version") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
