package githubsim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
)

// TestGraphQLSchemaIsOctokits: the schema the simulator validates against is
// @octokit/graphql-schema@15.26.1's schema.graphql, byte for byte.
func TestGraphQLSchemaIsOctokits(t *testing.T) {
	dir := npmDir(t)
	pkg := filepath.Join(dir, "@octokit", "graphql-schema")
	want, err := os.ReadFile(filepath.Join(pkg, "schema.graphql"))
	if err != nil {
		t.Fatalf("@octokit/graphql-schema is not installed in %s (.ci/run installs it): %v", dir, err)
	}
	var meta struct {
		Version string `json:"version"`
	}
	raw, _ := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err := json.Unmarshal(raw, &meta); err != nil || meta.Version != GraphQLSchemaVersion {
		t.Fatalf("@octokit/graphql-schema %q installed, the simulator embeds %s", meta.Version, GraphQLSchemaVersion)
	}
	got, err := GraphQLSchemaText()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("graphqlschema/schema.graphql.gz differs from %s: refresh it (gzip -9 -n)", filepath.Join(pkg, "schema.graphql"))
	}
}

// gql posts a query to path (/graphql or /api/graphql) with token.
func gql(t *testing.T, s *Sim, path, token, query string, vars map[string]any) (answer, map[string]any) {
	t.Helper()
	a := do(t, s, "POST", s.URL()+path, token, map[string]any{"query": query, "variables": vars})
	var out map[string]any
	a.json(t, &out)
	return a, out
}

func errorsOf(out map[string]any) []map[string]any {
	var list []map[string]any
	raw, _ := out["errors"].([]any)
	for _, e := range raw {
		list = append(list, e.(map[string]any))
	}
	return list
}

// TestGraphQLPullRequests: the product's query pages through every pull
// request of a repository, newest update first, by cursor; each page costs
// what GitHub's formula says, charged to the graphql bucket (not core), and
// every field answered has the schema's type. Enterprise Server's
// /api/graphql answers the same.
func TestGraphQLPullRequests(t *testing.T) {
	s := startSim(t, Options{Seed: 1})
	schema, err := GraphQLSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, perr := parser.ParseQuery(&ast.Source{Input: ghcollect.PullsQuery})
	if perr != nil {
		t.Fatal(perr)
	}
	truth := s.Truth()[0]
	owner, name, _ := strings.Cut(truth.FullName, "/")
	for _, path := range []string{"/graphql", "/api/graphql"} {
		var numbers []int
		var last time.Time
		vars := map[string]any{"owner": owner, "name": name}
		remaining := -1
		for pages := 0; ; pages++ {
			a, out := gql(t, s, path, s.Token(), ghcollect.PullsQuery, vars)
			if a.status != 200 || out["errors"] != nil {
				t.Fatalf("%s: %d %s", path, a.status, a.body)
			}
			if a.header.Get("X-RateLimit-Resource") != "graphql" {
				t.Fatalf("%s: x-ratelimit-resource %q", path, a.header.Get("X-RateLimit-Resource"))
			}
			if (path == "/api/graphql") != (a.header.Get("X-GitHub-Enterprise-Version") != "") {
				t.Fatalf("%s: X-GitHub-Enterprise-Version %q", path, a.header.Get("X-GitHub-Enterprise-Version"))
			}
			data := out["data"].(map[string]any)
			checkTypes(t, schema, doc, doc.Operations[0].SelectionSet, "Query", data, "data")
			rl := data["rateLimit"].(map[string]any)
			// (1 pullRequests + 100 reviews + 100 commits + 1,000 review comments) / 100 = 12.
			if rl["cost"].(float64) != 12 {
				t.Fatalf("cost %v, GitHub's formula gives 12", rl["cost"])
			}
			left := int(rl["remaining"].(float64))
			if hdr, _ := strconv.Atoi(a.header.Get("X-RateLimit-Remaining")); hdr != left || (remaining >= 0 && left != remaining-12) {
				t.Fatalf("remaining %d (header %d), before %d", left, hdr, remaining)
			}
			remaining = left
			conn := data["repository"].(map[string]any)["pullRequests"].(map[string]any)
			for _, n := range conn["nodes"].([]any) {
				pr := n.(map[string]any)
				at, _ := time.Parse(time.RFC3339, pr["updatedAt"].(string))
				if !last.IsZero() && at.After(last) {
					t.Fatalf("PR #%v updated %v listed after one updated %v", pr["number"], at, last)
				}
				last = at
				numbers = append(numbers, int(pr["number"].(float64)))
			}
			pi := conn["pageInfo"].(map[string]any)
			if pi["hasNextPage"] != true {
				break
			}
			vars["after"] = pi["endCursor"]
		}
		if len(numbers) != len(truth.Pulls) {
			t.Fatalf("%s: %d PRs listed, the truth has %d", path, len(numbers), len(truth.Pulls))
		}
	}
	// REST's budget is untouched by GraphQL.
	a := do(t, s, "GET", s.URL()+"/rate_limit", s.Token(), nil)
	var rl struct {
		Resources map[string]struct {
			Used int `json:"used"`
		} `json:"resources"`
	}
	a.json(t, &rl)
	if rl.Resources["core"].Used != 0 || rl.Resources["graphql"].Used == 0 {
		t.Fatalf("rate_limit after GraphQL only: %s", a.body)
	}
}

// TestGraphQLCostFormula: the examples of "Rate limits and node limits for
// the GraphQL API": 100 repositories × 50 issues × 60 labels cost 51
// points ((1 + 100 + 5,000) / 100); 50 repositories × 10 issues are 550
// nodes. The cost is charged even where the simulator answers an error for
// a field it does not simulate.
func TestGraphQLCostFormula(t *testing.T) {
	s := startSim(t, Options{Seed: 1})
	for _, c := range []struct {
		query       string
		cost, nodes float64
	}{
		{`query { viewer { login repositories(first: 100) { edges { node { id issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } rateLimit { cost nodeCount } }`, 51, 100 + 5000 + 300000},
		{`query { viewer { repositories(first: 50) { edges { repository: node { name issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } } rateLimit { cost nodeCount } }`, 1, 550},
	} {
		_, out := gql(t, s, "/graphql", s.Token(), c.query, nil)
		rl := out["data"].(map[string]any)["rateLimit"].(map[string]any)
		if rl["cost"] != c.cost || rl["nodeCount"] != c.nodes {
			t.Fatalf("rateLimit %v, want cost %v nodes %v", rl, c.cost, c.nodes)
		}
	}
}

// TestGraphQLRefusals: what GitHub refuses, refused as GitHub shapes it.
func TestGraphQLRefusals(t *testing.T) {
	s := startSim(t, Options{Seed: 1})
	repo := strings.Split(s.Repos()[0], "/")
	on := `repository(owner: "` + repo[0] + `", name: "` + repo[1] + `") `
	for _, c := range []struct {
		name, token, query string
		status             int
		typ, msg           string
	}{
		{"a field GitHub does not have", s.Token(), `query { ` + on + `{ pullRequests(first: 1) { nodes { reviewCount } } } }`, 200, "", "reviewCount"},
		{"a syntax error", s.Token(), `query { ` + on + `{ `, 200, "", "Expected"},
		{"no first or last", s.Token(), `query { ` + on + `{ pullRequests { totalCount } } }`, 200, "MISSING_PAGINATION_BOUNDARIES", "first"},
		{"first past 100", s.Token(), `query { ` + on + `{ pullRequests(first: 101) { totalCount } } }`, 200, "EXCESSIVE_PAGINATION", "101"},
		{"past 500,000 nodes", s.Token(), `query { ` + on + `{ pullRequests(first: 100) { nodes { reviews(first: 100) { nodes { comments(first: 100) { totalCount } } } } } } }`, 200, "MAX_NODE_LIMIT_EXCEEDED", "500000"},
		{"a repository the token cannot see", s.Token(), `query { repository(owner: "` + repo[0] + `", name: "nope") { name } }`, 200, "NOT_FOUND", "Could not resolve to a Repository"},
		{"no token", "", `query { viewer { login } }`, 401, "", ""},
		{"a wrong token", "ghp_wrong", `query { viewer { login } }`, 401, "", ""},
	} {
		a, out := gql(t, s, "/graphql", c.token, c.query, nil)
		if a.status != c.status {
			t.Fatalf("%s: %d %s", c.name, a.status, a.body)
		}
		if c.status != 200 {
			if out["message"] == nil {
				t.Fatalf("%s: %s", c.name, a.body)
			}
			continue
		}
		errs := errorsOf(out)
		if len(errs) == 0 || (c.typ != "" && errs[0]["type"] != c.typ) || !strings.Contains(errs[0]["message"].(string), c.msg) {
			t.Fatalf("%s: %s", c.name, a.body)
		}
	}

	// A fine-grained token without Pull requests: Read: FORBIDDEN at
	// repository.pullRequests, the rest of the data answered.
	perms := map[string]string{}
	for k, v := range ProductPermissions {
		if k != "pull_requests" {
			perms[k] = v
		}
	}
	_, out := gql(t, s, "/graphql", s.NewFineGrainedToken(perms), `query { `+on+`{ name pullRequests(first: 1) { totalCount } } }`, nil)
	errs := errorsOf(out)
	r, _ := out["data"].(map[string]any)["repository"].(map[string]any)
	if len(errs) != 1 || errs[0]["type"] != "FORBIDDEN" || r["name"] != repo[1] || r["pullRequests"] != nil ||
		!strings.Contains(string(mustJSON(errs[0]["path"])), `["repository","pullRequests"]`) {
		t.Fatalf("without pull_requests: %v", out)
	}

	// The graphql bucket spent: 200 with RATE_LIMITED and remaining 0.
	zero := 0
	s.SetRateLimits(RateLimits{Remaining: &zero})
	a, out := gql(t, s, "/graphql", s.Token(), `query { viewer { login } }`, nil)
	if errs := errorsOf(out); a.status != 200 || len(errs) != 1 || errs[0]["type"] != "RATE_LIMITED" || a.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("spent: %d %s %v", a.status, a.body, a.header)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

var gitOID = regexp.MustCompile(`^[0-9a-f]{40}$`)

// checkTypes fails unless every field of data is one the selection asked
// for, exists on the type in GitHub's schema, and holds a value of its type
// (null only where the type allows).
func checkTypes(t *testing.T, schema *ast.Schema, doc *ast.QueryDocument, set ast.SelectionSet, typ string, data map[string]any, at string) {
	t.Helper()
	def := schema.Types[typ]
	if def == nil {
		t.Fatalf("%s: no type %s in the schema", at, typ)
	}
	asked := map[string]bool{}
	for _, f := range fields(set, typ, doc) {
		asked[f.Alias] = true
		if f.Name == "__typename" {
			continue
		}
		fd := def.Fields.ForName(f.Name)
		if fd == nil {
			t.Fatalf("%s.%s: %s has no field %s", at, f.Alias, typ, f.Name)
		}
		v, ok := data[f.Alias]
		if !ok {
			t.Fatalf("%s.%s: not answered", at, f.Alias)
		}
		checkValue(t, schema, doc, f, fd.Type, v, at+"."+f.Alias)
	}
	for k := range data {
		if !asked[k] {
			t.Fatalf("%s.%s: answered but not asked", at, k)
		}
	}
}

func checkValue(t *testing.T, schema *ast.Schema, doc *ast.QueryDocument, f *ast.Field, typ *ast.Type, v any, at string) {
	t.Helper()
	if v == nil {
		if typ.NonNull {
			t.Fatalf("%s: null for %s", at, typ)
		}
		return
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			t.Fatalf("%s: %T for %s", at, v, typ)
		}
		for i, it := range list {
			checkValue(t, schema, doc, f, typ.Elem, it, at+"["+strconv.Itoa(i)+"]")
		}
		return
	}
	named := schema.Types[typ.NamedType]
	bad := func() { t.Fatalf("%s: %v (%T) is not a %s", at, v, v, typ.NamedType) }
	switch named.Kind {
	case ast.Scalar:
		switch typ.NamedType {
		case "Int":
			n, ok := v.(float64)
			if !ok || n != float64(int32(n)) {
				bad()
			}
		case "Float":
			if _, ok := v.(float64); !ok {
				bad()
			}
		case "Boolean":
			if _, ok := v.(bool); !ok {
				bad()
			}
		case "DateTime":
			s, ok := v.(string)
			if _, err := time.Parse(time.RFC3339, s); !ok || err != nil {
				bad()
			}
		case "GitObjectID":
			if s, ok := v.(string); !ok || !gitOID.MatchString(s) {
				bad()
			}
		default: // String, ID, URI, HTML, … are strings on the wire
			if _, ok := v.(string); !ok {
				bad()
			}
		}
	case ast.Enum:
		s, _ := v.(string)
		if named.EnumValues.ForName(s) == nil {
			bad()
		}
	case ast.Object:
		m, ok := v.(map[string]any)
		if !ok {
			bad()
		}
		checkTypes(t, schema, doc, f.SelectionSet, named.Name, m, at)
	case ast.Interface, ast.Union:
		m, ok := v.(map[string]any)
		if !ok {
			bad()
		}
		// The concrete type: one of the possible types whose selection is
		// exactly what was answered.
		for _, pt := range schema.GetPossibleTypes(named) {
			fit := len(fields(f.SelectionSet, pt.Name, doc)) == len(m)
			for _, sf := range fields(f.SelectionSet, pt.Name, doc) {
				if _, ok := m[sf.Alias]; !ok || (sf.Name != "__typename" && pt.Fields.ForName(sf.Name) == nil) {
					fit = false
				}
			}
			if fit {
				checkTypes(t, schema, doc, f.SelectionSet, pt.Name, m, at)
				return
			}
		}
		t.Fatalf("%s: %v fits no type of %s", at, m, named.Name)
	default:
		bad()
	}
}
