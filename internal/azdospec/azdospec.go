// Package azdospec reads Microsoft's published Azure DevOps REST
// descriptions (Swagger 2.0, ../shared/azure-devops/specs beside the
// repository) and finds the operation a request calls: its api-version,
// the PAT scopes its security accepts, its parameters and the schema of its
// 200 response. Tests use it to hold the simulator's answers and the
// client's requests to what Microsoft documents.
//
// One folder of the specs is one Spec: 7.1 (Azure DevOps Services) or
// server-5.0, server-6.0, server-7.0 (Azure DevOps Server 2019, 2020, 2022).
package azdospec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// DefaultDir is the specs folder beside the repository
// (../shared/azure-devops/specs), found from this source file the way
// internal/samples finds the samples. It may not exist: callers check.
func DefaultDir() string {
	_, file, _, _ := runtime.Caller(0) // …/internal/azdospec/azdospec.go
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "azure-devops", "specs")
}

// Folder names the spec folder that describes a deployment: "7.1" for
// Services, "server-X.0" for the Server release whose GA api-version is X.0.
func Folder(server bool, apiVersion string) string {
	if !server {
		return "7.1"
	}
	return "server-" + apiVersion
}

// Spec is the operations of one spec folder.
type Spec struct {
	Folder string
	Ops    []*Operation
	docs   []*openapi3.T
}

// Operation is one operation of a Swagger document, converted to OpenAPI 3
// with every $ref resolved.
type Operation struct {
	File   string // the document, "git.json"
	ID     string // operationId, "Pull Requests_Get Pull Requests"
	Method string // upper case
	// Path is the template as the document writes it, from the
	// {organization} or {collection} segment on, without an x-ms-paths
	// query discriminator.
	Path string
	// Discriminator is the query part of an x-ms-paths key
	// ("includeParent={includeParent}"): the operation is meant when those
	// parameters are sent. Empty for ordinary paths.
	Discriminator string
	// APIVersion is the api-version the operation is described for
	// ("7.1", "6.0-preview.1"), read from its api-version parameter.
	APIVersion string
	// Scopes are the PAT scopes its security accepts (any one is enough);
	// nil when the operation lists none.
	Scopes []string
	// Params are its path, query and header parameters (not the body).
	Params []*openapi3.Parameter
	// Response is the schema of the 200 response; nil when none is given.
	Response *openapi3.Schema
	// Op is the whole converted operation.
	Op *openapi3.Operation

	segs      []string // Path after the organization/collection segment
	required  []string // required query parameters but api-version
	discQuery []string // query parameters the discriminator names
}

func (o *Operation) String() string {
	p := o.Path
	if o.Discriminator != "" {
		p += "?" + o.Discriminator
	}
	return fmt.Sprintf("%s %s %s (%s %q)", o.Method, p, o.APIVersion, o.File, o.ID)
}

var utf8BOM = []byte("\xef\xbb\xbf")

// Load reads every *.json document of one spec folder.
func Load(dir string) (*Spec, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("azdospec: no Swagger documents in %s", dir)
	}
	sort.Strings(files)
	s := &Spec{Folder: filepath.Base(dir)}
	for _, f := range files {
		doc, ops, err := loadFile(f)
		if err != nil {
			return nil, fmt.Errorf("azdospec: %s: %w", f, err)
		}
		s.docs = append(s.docs, doc)
		s.Ops = append(s.Ops, ops...)
	}
	return s, nil
}

func loadFile(file string) (*openapi3.T, []*Operation, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimPrefix(raw, utf8BOM), &top); err != nil {
		return nil, nil, err
	}
	// The Server documents put the collection URL in host, which Swagger
	// (and the converter) refuse; the host plays no part in matching.
	delete(top, "host")
	// Operations whose path differs from another only by a query parameter
	// ("…/commits?" next to …/commits, "…/{repositoryId}?includeParent=…")
	// are under x-ms-paths (AutoRest's extension). Keep them as paths with
	// their "?…" key so that they are converted like the others.
	if xp, ok := top["x-ms-paths"]; ok {
		var paths, extra map[string]json.RawMessage
		if err := json.Unmarshal(top["paths"], &paths); err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(xp, &extra); err != nil {
			return nil, nil, err
		}
		for k, v := range extra {
			if _, dup := paths[k]; dup {
				return nil, nil, fmt.Errorf("x-ms-paths repeats the path %s", k)
			}
			paths[k] = v
		}
		if top["paths"], err = json.Marshal(paths); err != nil {
			return nil, nil, err
		}
		delete(top, "x-ms-paths")
	}
	cleaned, err := json.Marshal(top)
	if err != nil {
		return nil, nil, err
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(cleaned, &doc2); err != nil {
		return nil, nil, err
	}
	doc3, err := openapi2conv.ToV3(&doc2) // resolves every $ref
	if err != nil {
		return nil, nil, err
	}
	var out []*Operation
	for key, item := range doc3.Paths.Map() {
		path, disc, _ := strings.Cut(key, "?")
		for method, op := range item.Operations() {
			o, err := newOperation(filepath.Base(file), method, path, disc, item, op)
			if err != nil {
				return nil, nil, fmt.Errorf("%s %s: %w", method, key, err)
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		if out[i].Discriminator != out[j].Discriminator {
			return out[i].Discriminator < out[j].Discriminator
		}
		return out[i].Method < out[j].Method
	})
	return doc3, out, nil
}

// apiVersionRE reads the version from the api-version parameter's
// description: "… This should be set to '7.1-preview.1' to use this version …".
var apiVersionRE = regexp.MustCompile(`set to '([^']+)'`)

func newOperation(file, method, path, disc string, item *openapi3.PathItem, op *openapi3.Operation) (*Operation, error) {
	o := &Operation{File: file, ID: op.OperationID, Method: strings.ToUpper(method), Path: path, Discriminator: disc, Op: op}
	segs := splitPath(path)
	if len(segs) > 0 && (segs[0] == "{organization}" || segs[0] == "{collection}") {
		segs = segs[1:]
	}
	o.segs = segs
	for _, refs := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range refs {
			p := ref.Value
			if p == nil {
				return nil, fmt.Errorf("parameter %s is not resolved", ref.Ref)
			}
			o.Params = append(o.Params, p)
			if p.In != openapi3.ParameterInQuery {
				continue
			}
			if strings.EqualFold(p.Name, "api-version") {
				if m := apiVersionRE.FindStringSubmatch(p.Description); m != nil {
					o.APIVersion = m[1]
				}
			} else if p.Required {
				o.required = append(o.required, p.Name)
			}
		}
	}
	for _, kv := range strings.Split(disc, "&") {
		if k, _, _ := strings.Cut(kv, "="); k != "" {
			o.discQuery = append(o.discQuery, k)
		}
	}
	if op.Security != nil {
		for _, req := range *op.Security {
			for _, scopes := range req {
				o.Scopes = append(o.Scopes, scopes...)
			}
		}
		sort.Strings(o.Scopes)
		o.Scopes = slices.Compact(o.Scopes)
	}
	if op.Responses != nil {
		if r := op.Responses.Value("200"); r != nil && r.Value != nil {
			mt := r.Value.Content.Get("application/json")
			if mt == nil {
				for _, m := range r.Value.Content {
					mt = m
					break
				}
			}
			if mt != nil && mt.Schema != nil {
				if mt.Schema.Value == nil {
					return nil, fmt.Errorf("response schema %s is not resolved", mt.Schema.Ref)
				}
				o.Response = mt.Schema.Value
			}
		}
	}
	return o, nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// Optional path segments. Swagger 2.0 makes every path parameter required,
// so the documents write these as required although the REST reference
// (and the service) treats them as optional; the real captures in
// ../shared/azure-devops/samples/rest were sent without them:
//   - {project}: git.pullrequest.get.json, git.commits.list.json, … call
//     /_apis/git/repositories/{id}/… without a project;
//   - {team}: wit.wiql.post.links.json calls {project}/_apis/wit/wiql;
//   - {timelineId}: build.timeline.get.json calls …/builds/391/timeline.
var optionalSegments = []string{"{project}", "{team}", "{timelineId}"}

// Find returns the operation a request calls: method, path relative to the
// organization or collection ("myproject/_apis/git/repositories", as the
// client's calls and the simulator's routes write it, escaped or not), and
// the query it sends (nil: none). A path segment written {name} matches only
// a parameter of the template. Literal segments compare case-insensitively.
// The optional segments above may be left out; a template that matches
// without leaving any out wins, then the one with more literal segments,
// then the one whose required query parameters (pushId, an x-ms-paths
// discriminator) are sent. Nil when nothing matches.
func (s *Spec) Find(method, path string, query url.Values) *Operation {
	method = strings.ToUpper(method)
	segs := splitPath(strings.SplitN(path, "?", 2)[0])
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); err == nil {
			segs[i] = u
		}
	}
	type hit struct {
		op                       *Operation
		omitted, literal, wanted int
	}
	var best *hit
	for _, o := range s.Ops {
		if o.Method != method || !hasAll(query, o.discQuery) || !hasAll(query, o.required) {
			continue
		}
		omitted, literal, ok := matchSegs(o.segs, segs)
		if !ok {
			continue
		}
		h := &hit{op: o, omitted: omitted, literal: literal, wanted: len(o.discQuery) + len(o.required)}
		if best == nil || h.omitted < best.omitted ||
			h.omitted == best.omitted && (h.literal > best.literal || h.literal == best.literal && h.wanted > best.wanted) {
			best = h
		}
	}
	if best == nil {
		return nil
	}
	return best.op
}

func hasAll(q url.Values, names []string) bool {
	for _, n := range names {
		found := false
		for k := range q {
			if strings.EqualFold(k, n) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// matchSegs matches a template's segments against a path's, letting the
// optional segments go; it returns how many were left out and how many
// literal segments matched.
func matchSegs(tmpl, path []string) (omitted, literal int, ok bool) {
	if len(tmpl) == len(path) {
		for i := range tmpl {
			if !segMatch(tmpl[i], path[i]) {
				return 0, 0, false
			}
			if !isParam(tmpl[i]) {
				literal++
			}
		}
		return 0, literal, true
	}
	if len(tmpl) < len(path) || len(tmpl) == 0 {
		return 0, 0, false
	}
	if slices.Contains(optionalSegments, tmpl[0]) {
		if om, lit, ok := matchSegs(tmpl[1:], path); ok {
			return om + 1, lit, true
		}
	}
	if len(path) == 0 || !segMatch(tmpl[0], path[0]) {
		return 0, 0, false
	}
	om, lit, ok := matchSegs(tmpl[1:], path[1:])
	if !ok {
		return 0, 0, false
	}
	if !isParam(tmpl[0]) {
		lit++
	}
	return om, lit, true
}

func segMatch(tmpl, seg string) bool {
	if isParam(tmpl) {
		return seg != ""
	}
	return !isParam(seg) && strings.EqualFold(tmpl, seg)
}

// Relax changes, in every document of the spec that defines it, the schema
// of one property of a definition (the one that declares it, not one that
// inherits it through allOf): change gets a copy of the property's schema,
// so a definition used elsewhere through $ref is left alone. It returns how
// many documents had the property. For differences between the documents
// and the real service, each with its evidence (see the conformance test).
func (s *Spec) Relax(definition, property string, change func(*openapi3.Schema)) int {
	n := 0
	for _, doc := range s.docs {
		def := doc.Components.Schemas[definition]
		if def == nil || def.Value == nil || def.Value.Properties[property] == nil {
			continue
		}
		prop := def.Value.Properties[property]
		if prop.Value == nil {
			continue
		}
		cp := *prop.Value
		change(&cp)
		def.Value.Properties[property] = &openapi3.SchemaRef{Value: &cp}
		n++
	}
	return n
}

// Param returns the operation's parameter of that name and place (path,
// query, header), compared case-insensitively; nil when it has none.
func (o *Operation) Param(in, name string) *openapi3.Parameter {
	for _, p := range o.Params {
		if p.In == in && strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// UnknownQuery lists the query parameters of q the operation does not
// declare, sorted.
func (o *Operation) UnknownQuery(q url.Values) []string {
	var out []string
	for k := range q {
		if o.Param(openapi3.ParameterInQuery, k) == nil {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// ErrNotAList is returned for a list operation whose body is not the
// {"count": n, "value": [...]} wrapper.
var ErrNotAList = errors.New(`a list answers {"count": n, "value": [...]}`)

// ValidateResponse checks a 200 body against the operation's response
// schema: every property typed and formatted as described (dates are
// RFC 3339 strings), required ones present. Properties the schema does not
// list are allowed, as the documents allow them: the service sends more
// than it documents.
//
// The documents describe a list as the plain array of its items, while the
// service wraps every JSON array in {"count": n, "value": [...]} (PROTOCOL
// §5 and every list sample). For an array schema the body must be that
// wrapper, with nothing else in it and count equal to the length of value;
// value is then validated against the array schema.
//
// An operation without a response schema accepts any body.
func (o *Operation) ValidateResponse(body []byte) error {
	if o.Response == nil {
		return nil
	}
	body = bytes.TrimPrefix(body, utf8BOM)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	if o.Response.Type.Is(openapi3.TypeArray) {
		m, ok := v.(map[string]any)
		if !ok {
			return ErrNotAList
		}
		list, ok := m["value"].([]any)
		if !ok {
			return fmt.Errorf("%w: value is %T", ErrNotAList, m["value"])
		}
		count, ok := m["count"].(float64)
		if !ok || int(count) != len(list) {
			return fmt.Errorf("%w: count is %v for %d items", ErrNotAList, m["count"], len(list))
		}
		for k := range m {
			if k != "count" && k != "value" {
				return fmt.Errorf("%w: unexpected %q beside them", ErrNotAList, k)
			}
		}
		v = list
	}
	return o.Response.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails())
}
