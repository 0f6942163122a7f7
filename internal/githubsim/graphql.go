package githubsim

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	gqlvalidator "github.com/vektah/gqlparser/v2/validator"
)

// GitHub's GraphQL API over the same world: POST /graphql (github.com) and POST /api/graphql
// (Enterprise Server, "Forming calls with GraphQL": "https://HOSTNAME/api/graphql").
//
// Every query is parsed and validated against GitHub's published schema — npm
// @octokit/graphql-schema@15.26.1, schema.graphql, kept here gzipped (graphqlschema/, MIT; the
// spec test checks it equals the npm file) — with gqlparser, so a field, argument or type GitHub
// does not have fails here as it fails there. Then GitHub's limits, from "Rate limits and node
// limits for the GraphQL API" (https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api):
//   - "Clients must supply a first or last argument on any connection"; "Values of first and last
//     must be within 1-100"; "Individual calls cannot request more than 500,000 total nodes"
//     (nodes: each connection's first times its parents' firsts, summed).
//   - The cost: "Add up the number of requests needed to fulfill each unique connection in the
//     call. Assume every request will reach the first or last argument limits. Divide the number
//     by 100 and round the result to the nearest whole number ... Rate limits always have a
//     minimum cost of 1." Charged against the user's graphql bucket (5,000 points an hour,
//     x-ratelimit-resource: graphql), answered by rateLimit { cost remaining resetAt }.
//   - Past the limit: "the response status will still be 200, but you will receive an error
//     message, and the value of the x-ratelimit-remaining header will be 0" (type RATE_LIMITED).
//
// Permissions: a repository the token cannot see answers NOT_FOUND "Could not resolve to a
// Repository with the name 'o/r'." with repository null (as gh and every client report it); a
// fine-grained token without Pull requests: Read gets pullRequests null and a FORBIDDEN error
// "Resource not accessible by personal access token" at repository.pullRequests (reported from
// GitHub in ship-studio/ship-studio#880 and blahgeek/emacs-pr-review#4).
//
// The simulator resolves the fields the product asks for (the pull requests of a repository with
// their reviews, review comments and commits, rateLimit, viewer); any other valid field answers a
// GraphQL error naming it, never a guess.

//go:embed graphqlschema/schema.graphql.gz
var schemaGz []byte

// GraphQLSchemaVersion is the @octokit/graphql-schema release the simulator validates against.
const GraphQLSchemaVersion = "15.26.1"

const (
	gqlDoc       = "https://docs.github.com/graphql"
	gqlMaxNodes  = 500000
	gqlMaxFirst  = 100
	gqlRequestsK = 100 // requests per point
)

var (
	schemaOnce sync.Once
	schemaVal  *ast.Schema
	schemaErr  error
)

// GraphQLSchemaText is the embedded schema.graphql.
func GraphQLSchemaText() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(schemaGz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// GraphQLSchema is GitHub's schema parsed. The published file defines
// EnterpriseOwnerInfo.repositoryDeployKeySetting twice (identical copies); a strict parser
// refuses that, so later copies of a field are dropped before validation.
func GraphQLSchema() (*ast.Schema, error) {
	schemaOnce.Do(func() {
		text, err := GraphQLSchemaText()
		if err != nil {
			schemaErr = err
			return
		}
		doc, err := parser.ParseSchemas(gqlvalidator.Prelude, &ast.Source{Name: "schema.graphql", Input: string(text)})
		if err != nil {
			schemaErr = err
			return
		}
		for _, def := range doc.Definitions {
			seen := map[string]bool{}
			def.Fields = slices.DeleteFunc(def.Fields, func(f *ast.FieldDefinition) bool {
				dup := seen[f.Name]
				seen[f.Name] = true
				return dup
			})
		}
		schemaVal, err = gqlvalidator.ValidateSchemaDocument(doc)
		if err != nil {
			schemaErr = err
		}
	})
	return schemaVal, schemaErr
}

// gqlError is one entry of a GraphQL errors list, as GitHub writes them.
type gqlError struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Locations  []gqlerror.Location
	Message    string `json:"message"`
}

func (e gqlError) MarshalJSON() ([]byte, error) {
	m := obj{"message": e.Message}
	if e.Type != "" {
		m["type"] = e.Type
	}
	if len(e.Path) > 0 {
		m["path"] = e.Path
	}
	if len(e.Locations) > 0 {
		m["locations"] = e.Locations
	}
	if len(e.Extensions) > 0 {
		m["extensions"] = e.Extensions
	}
	return json.Marshal(m)
}

// serveGraphQL answers one POST to the GraphQL endpoint.
func (s *Sim) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-GitHub-Media-Type", "github.v4; format=json")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("SIM:%X", requestSeq.Add(1)))
	h.Set("Content-Type", "application/json; charset=utf-8")
	write := func(status int, body any) {
		buf, _ := json.Marshal(body)
		w.WriteHeader(status)
		w.Write(buf)
	}
	if r.Method != http.MethodPost {
		// GitHub's GraphQL endpoint takes POST only; a GET is answered 404.
		write(404, errBody("Not Found", gqlDoc, 404))
		return
	}
	// "Forming calls with GraphQL": "To communicate with the GraphQL server, you'll need a
	// token"; without one GitHub answers 401.
	authz := r.Header.Get("Authorization")
	scheme, raw, _ := strings.Cut(authz, " ")
	if authz == "" {
		write(401, obj{"message": "This endpoint requires you to be authenticated.", "documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"})
		return
	}
	s.mu.Lock()
	tok := s.tokens[strings.TrimSpace(raw)]
	s.mu.Unlock()
	if tok == nil || !(strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer")) {
		write(401, obj{"message": "Bad credentials", "documentation_url": gqlDoc})
		return
	}
	if !tok.fine {
		h.Set("X-OAuth-Scopes", tok.scopeHeader())
		h.Set("X-Accepted-OAuth-Scopes", "repo")
	}
	id := tok.owner.login
	c := &call{s: s, r: r, w: w, hdr: h}
	if e := s.limits.secondaryCost(1, id); e != nil {
		s.limits.headersOf(h, id, "graphql")
		s.writeError(c, e)
		return
	}
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		s.limits.headersOf(h, id, "graphql")
		write(400, obj{"message": "Problems parsing JSON", "documentation_url": gqlDoc})
		return
	}
	status, out := s.runGraphQL(tok, req.Query, req.OperationName, req.Variables, r)
	s.limits.headersOf(h, id, "graphql")
	write(status, out)
}

// runGraphQL validates, prices and runs a query; the answer is GitHub's {data, errors}.
func (s *Sim) runGraphQL(tok *token, query, opName string, vars map[string]any, r *http.Request) (int, obj) {
	schema, err := GraphQLSchema()
	if err != nil {
		return 500, obj{"errors": []gqlError{{Message: "simulator: GitHub's schema did not load: " + err.Error()}}}
	}
	doc, gerrs := parser.ParseQuery(&ast.Source{Input: query})
	if gerrs != nil {
		return 200, obj{"errors": fromGQL(gqlerror.List{asGQL(gerrs)})}
	}
	if errs := gqlvalidator.ValidateWithRules(schema, doc, nil); len(errs) > 0 {
		return 200, obj{"errors": fromGQL(errs)}
	}
	var op *ast.OperationDefinition
	if opName != "" {
		op = doc.Operations.ForName(opName)
	} else if len(doc.Operations) == 1 {
		op = doc.Operations[0]
	}
	if op == nil {
		return 200, obj{"errors": []gqlError{{Message: "An operation name is required"}}}
	}
	if op.Operation != ast.Query {
		return 200, obj{"errors": []gqlError{{Message: "simulator: only queries are simulated, not " + string(op.Operation)}}}
	}
	coerced, err := gqlvalidator.VariableValues(schema, op, vars)
	if err != nil {
		return 200, obj{"errors": fromGQL(gqlerror.List{asGQL(err)})}
	}
	// Limits, before anything runs.
	p := pricer{vars: coerced, doc: doc}
	p.walk(op.SelectionSet, nil, 1)
	if len(p.errs) > 0 {
		return 200, obj{"errors": p.errs}
	}
	if p.nodes > gqlMaxNodes {
		return 200, obj{"errors": []gqlError{{Type: "MAX_NODE_LIMIT_EXCEEDED", Message: fmt.Sprintf(
			"This query requests up to %d possible nodes which exceeds the maximum limit of %d.", p.nodes, gqlMaxNodes)}}}
	}
	cost := max(1, int(math.Round(float64(p.requests)/gqlRequestsK)))
	id := tok.owner.login
	remaining, ok := s.limits.chargePoints(id, cost)
	if !ok {
		return 200, obj{"errors": []gqlError{{Type: "RATE_LIMITED", Message: "API rate limit exceeded for user ID " + strconv.FormatInt(tok.owner.id, 10) + "."}}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := &gqlExec{s: s, tok: tok, vars: coerced, doc: doc, u: urlsFrom(r.Context()),
		rate: rateInfo{cost: cost, remaining: remaining, limit: s.limits.get().Limit, reset: s.limits.pointsReset(id), nodes: p.nodes}}
	data := x.selection(op.SelectionSet, "Query", gqlRoot{}, nil)
	out := obj{"data": data}
	if len(x.errs) > 0 {
		out["errors"] = x.errs
	}
	return 200, out
}

func asGQL(err error) *gqlerror.Error {
	if e, ok := err.(*gqlerror.Error); ok {
		return e
	}
	return gqlerror.Wrap(err)
}

// fromGQL writes gqlparser's errors as GitHub shapes them: message, locations, path and
// extensions.code. (The wording is the reference implementation's, graphql-js, which gqlparser
// follows; GitHub's own wording differs, e.g. "Field 'x' doesn't exist on type 'Y'": clients
// key on the presence of errors, not the text.)
func fromGQL(errs gqlerror.List) []gqlError {
	out := make([]gqlError, 0, len(errs))
	for _, e := range errs {
		ge := gqlError{Message: e.Message, Locations: e.Locations}
		for _, p := range e.Path {
			ge.Path = append(ge.Path, p)
		}
		if e.Rule != "" {
			ge.Extensions = map[string]any{"code": e.Rule}
		}
		out = append(out, ge)
	}
	return out
}

// fields flattens a selection set for a concrete type: fields, inline fragments and fragment
// spreads whose condition the type meets (itself, or an interface or union it belongs to).
func fields(set ast.SelectionSet, typ string, doc *ast.QueryDocument) []*ast.Field {
	var out []*ast.Field
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			out = append(out, x)
		case *ast.InlineFragment:
			if typeMeets(typ, x.TypeCondition) {
				out = append(out, fields(x.SelectionSet, typ, doc)...)
			}
		case *ast.FragmentSpread:
			if def := doc.Fragments.ForName(x.Name); def != nil && typeMeets(typ, def.TypeCondition) {
				out = append(out, fields(def.SelectionSet, typ, doc)...)
			}
		}
	}
	return out
}

func typeMeets(typ, cond string) bool {
	if cond == "" || cond == typ || typ == "" {
		return true
	}
	schema, _ := GraphQLSchema()
	for _, impl := range schema.GetImplements(schema.Types[typ]) {
		if impl.Name == cond {
			return true
		}
	}
	for _, pt := range schema.GetPossibleTypes(schema.Types[cond]) {
		if pt.Name == typ {
			return true
		}
	}
	return false
}

// pricer computes a query's node count and the requests its connections need.
type pricer struct {
	vars     map[string]any
	doc      *ast.QueryDocument
	nodes    int
	requests int
	errs     []gqlError
}

// walk visits a selection set reached by mult parent requests (the product of the firsts above).
func (p *pricer) walk(set ast.SelectionSet, path []any, mult int) {
	for _, f := range fields(set, "", p.doc) {
		fp := append(slices.Clone(path), f.Alias)
		if f.Definition == nil {
			continue
		}
		next := mult
		if isConnection(f.Definition) {
			args := f.ArgumentMap(p.vars)
			first, hasFirst := intArg(args, "first")
			last, hasLast := intArg(args, "last")
			n := first
			if !hasFirst {
				n = last
			}
			switch {
			case !hasFirst && !hasLast:
				p.errs = append(p.errs, gqlError{Type: "MISSING_PAGINATION_BOUNDARIES", Path: fp, Locations: loc(f),
					Message: "You must provide a `first` or `last` value to properly paginate the `" + f.Name + "` connection."})
				continue
			case first > gqlMaxFirst || last > gqlMaxFirst:
				which := "first"
				if last > gqlMaxFirst {
					which, n = "last", last
				}
				p.errs = append(p.errs, gqlError{Type: "EXCESSIVE_PAGINATION", Path: fp, Locations: loc(f),
					Message: fmt.Sprintf("Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.", n, f.Name, which, gqlMaxFirst)})
				continue
			case (hasFirst && first < 0) || (hasLast && last < 0):
				p.errs = append(p.errs, gqlError{Path: fp, Locations: loc(f), Message: "`first` and `last` must be nonnegative"})
				continue
			}
			p.requests += mult
			next = mult * n
			p.nodes += next
		}
		p.walk(f.SelectionSet, fp, next)
	}
}

// isConnection: a field whose type is a *Connection taking first/last.
func isConnection(def *ast.FieldDefinition) bool {
	return strings.HasSuffix(def.Type.Name(), "Connection") && def.Arguments.ForName("first") != nil
}

func intArg(args map[string]any, name string) (int, bool) {
	switch v := args[name].(type) {
	case int64:
		return int(v), true
	case int:
		return v, true
	case float64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}

func loc(f *ast.Field) []gqlerror.Location {
	if f.Position == nil {
		return nil
	}
	return []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
}

// Values the executor resolves.
type (
	gqlRoot  struct{}
	rateInfo struct {
		cost, remaining, limit, nodes int
		reset                         time.Time
	}
	// conn is one page of a connection.
	conn struct {
		items            []any
		total            int
		from             int // index of items[0] in the whole list
		hasNext, hasPrev bool
	}
	pageInfo struct{ c conn }
	prCommit struct {
		p *pull
		c *commit
	}
	gqlReview struct {
		p *pull
		v *review
	}
	gqlPull struct {
		r *repo
		p *pull
	}
)

// gqlExec runs one validated query over the world (s.mu held).
type gqlExec struct {
	s    *Sim
	tok  *token
	vars map[string]any
	doc  *ast.QueryDocument
	u    urls
	rate rateInfo
	errs []gqlError
}

// selection resolves a selection set on a value of a concrete type.
func (x *gqlExec) selection(set ast.SelectionSet, typ string, v any, path []any) obj {
	out := obj{}
	for _, f := range fields(set, typ, x.doc) {
		fp := append(slices.Clone(path), f.Alias)
		if f.Name == "__typename" {
			out[f.Alias] = typ
			continue
		}
		val, err := x.resolve(typ, f, v, fp)
		if err != nil {
			err.Path, err.Locations = fp, loc(f)
			x.errs = append(x.errs, *err)
			out[f.Alias] = nil
			continue
		}
		out[f.Alias] = x.complete(f, f.Definition.Type, val, fp)
	}
	return out
}

// complete turns a resolved value into JSON by the field's type: lists, objects (their
// concrete type), scalars as they are.
func (x *gqlExec) complete(f *ast.Field, t *ast.Type, val any, path []any) any {
	if val == nil {
		return nil
	}
	if t.Elem != nil {
		items := val.([]any)
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = x.complete(f, t.Elem, it, append(slices.Clone(path), i))
		}
		return out
	}
	if len(f.SelectionSet) == 0 {
		return val
	}
	return x.selection(f.SelectionSet, concreteType(t.Name(), val), val, path)
}

// concreteType is the object type of a value where the field's type is an interface or union.
func concreteType(declared string, v any) string {
	if u, ok := v.(*user); ok && declared != "User" {
		if u.bot {
			return "Bot"
		}
		return "User"
	}
	return declared
}

func unsupported(typ, field string) *gqlError {
	return &gqlError{Message: "simulator: " + typ + "." + field + " is valid in GitHub's schema but not simulated"}
}

// resolve answers one field of one value.
func (x *gqlExec) resolve(typ string, f *ast.Field, v any, path []any) (any, *gqlError) {
	args := f.ArgumentMap(x.vars)
	switch p := v.(type) {
	case gqlRoot:
		switch f.Name {
		case "rateLimit":
			return x.rate, nil
		case "viewer":
			return x.tok.owner, nil
		case "repository":
			owner, _ := args["owner"].(string)
			name, _ := args["name"].(string)
			for _, rp := range x.s.w.org.repos {
				if strings.EqualFold(rp.owner.login, owner) && strings.EqualFold(rp.name, name) && x.tok.seesRepo(rp) {
					return rp, nil
				}
			}
			return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name)}
		}
	case rateInfo:
		switch f.Name {
		case "cost":
			return p.cost, nil
		case "remaining":
			return p.remaining, nil
		case "limit":
			return p.limit, nil
		case "used":
			return p.limit - p.remaining, nil
		case "nodeCount":
			return p.nodes, nil
		case "resetAt":
			return ts(p.reset), nil
		}
	case *user:
		switch f.Name {
		case "login":
			return p.login, nil
		case "databaseId":
			return p.id, nil
		case "name":
			return nilIfEmpty(p.name), nil
		}
	case *repo:
		switch f.Name {
		case "name":
			return p.name, nil
		case "nameWithOwner":
			return p.fullName(), nil
		case "databaseId":
			return p.id, nil
		case "isPrivate":
			return p.private, nil
		case "pullRequests":
			if x.tok.fine && !x.tok.hasPerm([]string{"pull_requests=read"}) {
				return nil, &gqlError{Type: "FORBIDDEN", Message: "Resource not accessible by personal access token"}
			}
			return x.pullRequests(p, args)
		}
	case gqlPull:
		return x.pullField(p, f, args)
	case gqlReview:
		switch f.Name {
		case "databaseId":
			return p.v.id, nil
		case "state":
			return p.v.state, nil
		case "body":
			return p.v.body, nil
		case "submittedAt":
			return ts(p.v.submitted), nil
		case "author":
			return p.v.user, nil
		case "comments":
			var items []any
			for _, c := range p.p.comments {
				if c.reviewID == p.v.id {
					items = append(items, c)
				}
			}
			return page(items, args)
		}
	case *reviewComment:
		switch f.Name {
		case "databaseId":
			return p.id, nil
		case "body":
			return p.body, nil
		case "path":
			return p.path, nil
		case "createdAt":
			return ts(p.created), nil
		case "updatedAt":
			return ts(p.updated), nil
		case "author":
			return p.user, nil
		}
	case prCommit:
		if f.Name == "commit" {
			return p.c, nil
		}
	case *commit:
		switch f.Name {
		case "oid":
			return p.sha, nil
		case "message":
			return p.message, nil
		case "authoredDate":
			return ts(p.authored), nil
		case "committedDate":
			return ts(p.committed), nil
		}
	case conn:
		switch f.Name {
		case "nodes":
			return p.items, nil
		case "totalCount":
			return p.total, nil
		case "pageInfo":
			return pageInfo{p}, nil
		}
	case pageInfo:
		c := p.c
		switch f.Name {
		case "hasNextPage":
			return c.hasNext, nil
		case "hasPreviousPage":
			return c.hasPrev, nil
		case "startCursor":
			if len(c.items) == 0 {
				return nil, nil
			}
			return cursorAt(c.from), nil
		case "endCursor":
			if len(c.items) == 0 {
				return nil, nil
			}
			return cursorAt(c.from + len(c.items) - 1), nil
		}
	}
	return nil, unsupported(typ, f.Name)
}

// pullRequests: states filter (OPEN, CLOSED, MERGED), orderBy {field: CREATED_AT|UPDATED_AT,
// direction}; without orderBy GitHub lists by creation, oldest first. Ties by number, as REST.
func (x *gqlExec) pullRequests(r *repo, args map[string]any) (any, *gqlError) {
	var states []string
	if v, ok := args["states"].([]any); ok {
		for _, s := range v {
			states = append(states, fmt.Sprint(s))
		}
	}
	var list []*issue
	for _, p := range r.pulls {
		if len(states) == 0 || slices.Contains(states, pullState(p)) {
			list = append(list, p.issue)
		}
	}
	sortKey, dir := "created", "asc"
	if ob, ok := args["orderBy"].(map[string]any); ok {
		if fmt.Sprint(ob["field"]) == "UPDATED_AT" {
			sortKey = "updated"
		}
		dir = strings.ToLower(fmt.Sprint(ob["direction"]))
	}
	sortIssues(list, sortKey, dir)
	items := make([]any, len(list))
	for i, is := range list {
		items[i] = gqlPull{r: r, p: is.pull}
	}
	return page(items, args)
}

// pullState is GraphQL's PullRequestState.
func pullState(p *pull) string {
	switch {
	case !p.merged.IsZero():
		return "MERGED"
	case p.state == "closed":
		return "CLOSED"
	}
	return "OPEN"
}

func (x *gqlExec) pullField(gp gqlPull, f *ast.Field, args map[string]any) (any, *gqlError) {
	p := gp.p
	switch f.Name {
	case "number":
		return p.number, nil
	case "databaseId":
		return p.id, nil
	case "title":
		return p.title, nil
	case "body":
		return p.body, nil
	case "state":
		return pullState(p), nil
	case "isDraft":
		return p.draft, nil
	case "merged":
		return !p.merged.IsZero(), nil
	case "createdAt":
		return ts(p.created), nil
	case "updatedAt":
		return ts(p.updated), nil
	case "closedAt":
		return ts(p.closed), nil
	case "mergedAt":
		return ts(p.merged), nil
	case "mergeCommit":
		if p.merged.IsZero() || p.mergeSHA == "" {
			return nil, nil
		}
		if c := gp.r.commits[p.mergeSHA]; c != nil {
			return c, nil
		}
		return &commit{sha: p.mergeSHA}, nil
	case "headRefName":
		return p.headRef, nil
	case "baseRefName":
		return p.baseRef, nil
	case "author":
		return p.user, nil
	case "reviews":
		items := make([]any, len(p.reviews))
		for i, v := range p.reviews {
			items[i] = gqlReview{p: p, v: v}
		}
		return page(items, args)
	case "commits":
		items := make([]any, len(p.commits))
		for i, c := range p.commits {
			items[i] = prCommit{p: p, c: c}
		}
		return page(items, args)
	}
	return nil, unsupported("PullRequest", f.Name)
}

// cursorAt is an opaque cursor for a position in a list (GitHub's are base64 too: clients
// must treat them as opaque).
func cursorAt(i int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(i)))
}

func cursorPos(c string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "cursor:v2:"))
	return n, err == nil && strings.HasPrefix(string(b), "cursor:v2:")
}

// page cuts a connection's page by first/after or last/before.
func page(items []any, args map[string]any) (any, *gqlError) {
	lo, hi := 0, len(items)
	if a, ok := args["after"].(string); ok {
		n, ok := cursorPos(a)
		if !ok {
			return nil, &gqlError{Message: fmt.Sprintf("`%s` does not appear to be a valid cursor.", a)}
		}
		lo = min(n+1, hi)
	}
	if b, ok := args["before"].(string); ok {
		n, ok := cursorPos(b)
		if !ok {
			return nil, &gqlError{Message: fmt.Sprintf("`%s` does not appear to be a valid cursor.", b)}
		}
		hi = max(lo, min(n, hi))
	}
	from, to := lo, hi
	if n, ok := intArg(args, "first"); ok {
		to = min(hi, lo+n)
	}
	if n, ok := intArg(args, "last"); ok {
		from = max(from, to-n)
	}
	return conn{items: items[from:to], total: len(items), from: from, hasNext: to < len(items), hasPrev: from > 0}, nil
}
