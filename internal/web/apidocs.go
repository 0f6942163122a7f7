package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/pandev-metrics/pandev/internal/auth"
)

// APIDocsPath is where the readable API reference is served.
const APIDocsPath = "/api/docs"

// APIReference is the OpenAPI document made readable: operations grouped
// by area, each with its parameters, body and responses, $refs resolved.
// It is built once from the embedded document; nothing is fetched.
type APIReference struct {
	Title, Version string
	Description    string
	Areas          []APIArea
	Schemes        []string // how to authenticate
}

// APIArea is one group of operations.
type APIArea struct {
	Name, ID   string
	Operations []APIOperation
}

// APIOperation is one method of one path.
type APIOperation struct {
	Method, Path, ID     string
	Summary, Description string
	Access               string // public, machine, member, admin, operator
	AccessNote           string
	Parameters           []APIParam
	Body                 *APIBody
	Responses            []APIResponse
	Security             string
	OperationID          string
}

// APIParam is one parameter.
type APIParam struct {
	Name, In, Type, Description string
	Required                    bool
}

// APIBody is a request body.
type APIBody struct {
	ContentType string
	Required    bool
	Fields      []APIField
}

// APIResponse is one status with its schema.
type APIResponse struct {
	Status, Description string
	ContentType         string
	Fields              []APIField
}

// APIField is one line of a schema: a property or the schema itself, at a
// depth (nested objects indent).
type APIField struct {
	Name, Type, Description string
	Required                bool
	Depth                   int
}

var accessNotes = map[string]string{
	"public":   "no authentication",
	"machine":  "Azure DevOps service hooks: basic auth with the integration id and its webhook secret",
	"member":   "any signed-in member: session cookie or Bearer token",
	"admin":    "workspace admins: session cookie or a Bearer token of admin scope",
	"operator": "the instance operator only",
}

// areaOf names the group of a path.
func areaOf(path string, tags []string) string {
	switch {
	case len(tags) > 0 && tags[0] == "metrics", strings.HasPrefix(path, "/api/v1/metrics"):
		return "Metrics"
	case strings.HasPrefix(path, "/api/v1/rules"):
		return "Deployment and incident rules"
	case strings.HasPrefix(path, "/api/v1/integrations/"):
		return "Azure DevOps integration"
	case strings.HasPrefix(path, "/v1/azure/webhook/"):
		return "Service hooks (Azure DevOps → PanDev Metrics)"
	case slices.ContainsFunc([]string{"/api/v1/commits", "/api/v1/pull-requests", "/api/v1/pipeline-runs",
		"/api/v1/deployments", "/api/v1/work-items"}, func(p string) bool { return p == path }):
		return "Collected data"
	case strings.HasPrefix(path, "/api/v1/me"), strings.HasPrefix(path, "/api/v1/tokens"), strings.HasPrefix(path, "/api/v1/members"):
		return "Account, members and tokens"
	case len(tags) > 0:
		return strings.ToUpper(tags[0][:1]) + tags[0][1:]
	}
	return "Health and operations"
}

var areaOrder = []string{"Metrics", "Collected data", "Azure DevOps integration", "Deployment and incident rules", "Account, members and tokens",
	"Service hooks (Azure DevOps → PanDev Metrics)", "Health and operations"}

// NewAPIReference reads an OpenAPI 3.1 document. access maps "METHOD /path"
// to the route's access level (the route table is the truth; the document
// says nothing of roles).
func NewAPIReference(doc []byte, access map[string]string) (*APIReference, error) {
	var d struct {
		Info struct {
			Title, Version, Description string
		} `json:"info"`
		Components struct {
			Schemas         map[string]json.RawMessage `json:"schemas"`
			Responses       map[string]json.RawMessage `json:"responses"`
			Parameters      map[string]json.RawMessage `json:"parameters"`
			SecuritySchemes map[string]struct {
				Type, Scheme, In, Name string
			} `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	ref := &APIReference{Title: d.Info.Title, Version: d.Info.Version, Description: d.Info.Description}
	names := make([]string, 0, len(d.Components.SecuritySchemes))
	for n := range d.Components.SecuritySchemes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.Components.SecuritySchemes[n]
		switch {
		case s.Type == "http":
			ref.Schemes = append(ref.Schemes, fmt.Sprintf("%s: HTTP %s authentication", n, s.Scheme))
		case s.Type == "apiKey":
			ref.Schemes = append(ref.Schemes, fmt.Sprintf("%s: the %s %s", n, s.In, s.Name))
		}
	}
	r := resolver{schemas: d.Components.Schemas}
	areas := map[string]*APIArea{}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	methods := []string{"get", "post", "put", "patch", "delete"}
	for _, p := range paths {
		for _, m := range methods {
			raw, ok := d.Paths[p][m]
			if !ok {
				continue
			}
			var op struct {
				Summary, Description, OperationID string
				Tags                              []string
				Security                          *[]map[string][]string
				Parameters                        []json.RawMessage
				RequestBody                       json.RawMessage
				Responses                         map[string]json.RawMessage
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("openapi.json %s %s: %w", m, p, err)
			}
			o := APIOperation{Method: strings.ToUpper(m), Path: p, Summary: op.Summary, Description: op.Description}
			o.ID = Slug(m + strings.NewReplacer("/", "-", "{", "", "}", "", ".", "-").Replace(p)) // get-api-v1-metrics-dora
			o.Access = access[o.Method+" "+p]
			if o.Access == "" && op.Security != nil && len(*op.Security) == 0 {
				o.Access = "public"
			}
			o.AccessNote = accessNotes[o.Access]
			for _, pr := range op.Parameters {
				var prm struct {
					Ref                   string `json:"$ref"`
					Name, In, Description string
					Required              bool
					Schema                json.RawMessage
				}
				_ = json.Unmarshal(pr, &prm)
				if prm.Ref != "" {
					_ = json.Unmarshal(d.Components.Parameters[refName(prm.Ref)], &prm)
				}
				o.Parameters = append(o.Parameters, APIParam{Name: prm.Name, In: prm.In, Required: prm.Required || prm.In == "path",
					Description: prm.Description, Type: r.typeOf(prm.Schema)})
			}
			if len(op.RequestBody) > 0 {
				var rb struct {
					Required bool
					Content  map[string]struct{ Schema json.RawMessage }
				}
				_ = json.Unmarshal(op.RequestBody, &rb)
				for _, ct := range sortedKeys(rb.Content) {
					o.Body = &APIBody{ContentType: ct, Required: rb.Required, Fields: r.fields(rb.Content[ct].Schema)}
					break
				}
			}
			for _, status := range sortedKeys(op.Responses) {
				var rs struct {
					Ref         string `json:"$ref"`
					Description string
					Content     map[string]struct{ Schema json.RawMessage }
				}
				_ = json.Unmarshal(op.Responses[status], &rs)
				if rs.Ref != "" {
					_ = json.Unmarshal(d.Components.Responses[refName(rs.Ref)], &rs)
				}
				resp := APIResponse{Status: status, Description: rs.Description}
				var cts []string
				for _, ct := range sortedKeys(rs.Content) {
					cts = append(cts, ct)
					if resp.Fields == nil {
						resp.Fields = r.fields(rs.Content[ct].Schema)
					}
				}
				resp.ContentType = strings.Join(cts, ", ")
				o.Responses = append(o.Responses, resp)
			}
			name := areaOf(p, op.Tags)
			a := areas[name]
			if a == nil {
				a = &APIArea{Name: name, ID: Slug(name)}
				areas[name] = a
			}
			a.Operations = append(a.Operations, o)
		}
	}
	for _, n := range areaOrder {
		if a := areas[n]; a != nil {
			ref.Areas = append(ref.Areas, *a)
			delete(areas, n)
		}
	}
	for _, n := range sortedKeys(areas) {
		ref.Areas = append(ref.Areas, *areas[n])
	}
	return ref, nil
}

// Paths lists every documented "METHOD /path".
func (a *APIReference) Paths() []string {
	var out []string
	for _, ar := range a.Areas {
		for _, o := range ar.Operations {
			out = append(out, o.Method+" "+o.Path)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

// resolver flattens schemas into field lines, following $refs to
// components/schemas (a schema already being expanded is named, not
// expanded again, so recursive schemas end).
type resolver struct {
	schemas map[string]json.RawMessage
}

type schema struct {
	Ref                  string `json:"$ref"`
	Type                 any    `json:"type"`
	Format               string
	Description          string
	Enum                 []any
	Items                json.RawMessage
	Properties           map[string]json.RawMessage
	Required             []string
	OneOf, AllOf, AnyOf  []json.RawMessage
	AdditionalProperties json.RawMessage
	Default              any
}

func (r resolver) parse(raw json.RawMessage) (schema, string) {
	var s schema
	_ = json.Unmarshal(raw, &s)
	name := ""
	for i := 0; s.Ref != "" && i < 8; i++ {
		name = refName(s.Ref)
		s = schema{}
		_ = json.Unmarshal(r.schemas[name], &s)
	}
	return s, name
}

// typeOf is a schema's type in a few words: "string (date-time)",
// "array of Member", "one of DORAReport, MetricView".
func (r resolver) typeOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	s, name := r.parse(raw)
	var t string
	switch v := s.Type.(type) {
	case string:
		t = v
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, fmt.Sprint(x))
		}
		t = strings.Join(parts, " or ")
	}
	switch {
	case len(s.OneOf) > 0 || len(s.AnyOf) > 0:
		var alts []string
		for _, a := range append(s.OneOf, s.AnyOf...) {
			alts = append(alts, r.typeOf(a))
		}
		t = "one of " + strings.Join(alts, ", ")
	case strings.HasPrefix(t, "array"):
		t = "array of " + r.typeOf(s.Items)
	case name != "" && (t == "object" || t == "" || len(s.Properties) > 0):
		t = name
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			vals = append(vals, fmt.Sprint(e))
		}
		t += ": " + strings.Join(vals, " | ")
	}
	if s.Default != nil {
		t += fmt.Sprintf(", default %v", s.Default)
	}
	return t
}

// fields is a schema as lines: its type, then its properties, nested.
func (r resolver) fields(raw json.RawMessage) []APIField {
	if len(raw) == 0 {
		return nil
	}
	out := []APIField{{Name: "", Type: r.typeOf(raw), Description: r.description(raw)}}
	r.props(raw, 1, map[string]bool{}, &out)
	return out
}

func (r resolver) description(raw json.RawMessage) string {
	s, _ := r.parse(raw)
	return s.Description
}

func (r resolver) props(raw json.RawMessage, depth int, seen map[string]bool, out *[]APIField) {
	if depth > 5 {
		return
	}
	s, name := r.parse(raw)
	if name != "" {
		if seen[name] {
			return
		}
		seen = cloneSet(seen)
		seen[name] = true
	}
	for _, a := range s.AllOf {
		r.props(a, depth, seen, out)
	}
	for _, alt := range append(s.OneOf, s.AnyOf...) {
		_, n := r.parse(alt)
		if n == "" {
			n = r.typeOf(alt)
		}
		*out = append(*out, APIField{Name: "(" + n + ")", Type: r.typeOf(alt), Description: r.description(alt), Depth: depth})
		r.props(alt, depth+1, seen, out)
	}
	if t, _ := s.Type.(string); t == "array" {
		r.props(s.Items, depth, seen, out)
		return
	}
	req := map[string]bool{}
	for _, n := range s.Required {
		req[n] = true
	}
	for _, n := range sortedKeys(s.Properties) {
		p := s.Properties[n]
		*out = append(*out, APIField{Name: n, Type: r.typeOf(p), Description: r.description(p), Required: req[n], Depth: depth})
		r.props(p, depth+1, seen, out)
	}
	if len(s.AdditionalProperties) > 0 && string(s.AdditionalProperties) != "false" && string(s.AdditionalProperties) != "true" {
		*out = append(*out, APIField{Name: "<key>", Type: r.typeOf(s.AdditionalProperties), Description: r.description(s.AdditionalProperties), Depth: depth})
		r.props(s.AdditionalProperties, depth+1, seen, out)
	}
}

func cloneSet(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// APIDocsPage is the readable API reference.
type APIDocsPage struct {
	Chrome
	Ref *APIReference
}

// APIDocs renders ref for the caller (signed in or not).
func APIDocs(w http.ResponseWriter, r *http.Request, ref *APIReference) error {
	p, _ := auth.FromContext(r.Context())
	return render(w, http.StatusOK, "apidocs.html", APIDocsPage{Chrome: chrome("API reference", p), Ref: ref})
}
