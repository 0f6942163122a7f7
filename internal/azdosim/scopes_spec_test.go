package azdosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// specDir is Microsoft's published REST descriptions beside the repository
// (../shared/azure-devops/specs); CI always has them.
func specDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "azure-devops", "specs")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("PANDEV_TEST_SAMPLES") == "1" {
			t.Fatalf("the shared Azure DevOps specs are required but missing at %s", dir)
		}
		t.Skipf("the shared Azure DevOps specs are not beside the repository (%s); skipping", dir)
	}
	return dir
}

// specOp is one operation of a Swagger document: its path split in
// segments (after the organization/collection) and the scopes its security
// accepts (nil when the document lists none).
type specOp struct {
	method string
	segs   []string
	scopes []string
}

func loadSpecOps(t *testing.T, dir string) []specOp {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no specs in %s: %v", dir, err)
	}
	var out []specOp
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for p, ops := range doc.Paths {
			segs := strings.Split(strings.Trim(p, "/"), "/")
			if len(segs) > 0 && (segs[0] == "{organization}" || segs[0] == "{collection}") {
				segs = segs[1:]
			}
			for m, rawOp := range ops {
				if m == "parameters" {
					continue
				}
				var op struct {
					Security []map[string][]string `json:"security"`
				}
				if err := json.Unmarshal(rawOp, &op); err != nil {
					t.Fatalf("%s %s %s: %v", f, m, p, err)
				}
				var scopes []string
				for _, s := range op.Security {
					scopes = append(scopes, s["oauth2"]...)
				}
				out = append(out, specOp{method: strings.ToUpper(m), segs: segs, scopes: scopes})
			}
		}
	}
	return out
}

// segsMatch compares a route's segments with a spec path's: literals case-
// insensitively, any {parameter} with any {parameter}.
func segsMatch(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		pa, pb := strings.HasPrefix(a[i], "{"), strings.HasPrefix(b[i], "{")
		if pa != pb || !pa && !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// specScopesFor finds the scopes the specs of one folder accept for a route.
// Found is false when no operation of the folder has the route's path; a
// found operation without security gives nil scopes.
func specScopesFor(ops []specOp, method, pattern string) (scopes []string, found bool) {
	candidates := [][]string{strings.Split(pattern, "/")}
	if rest, ok := strings.CutPrefix(pattern, "{project?}/"); ok {
		// The spec describes the project-scoped form; the service accepts both.
		candidates = [][]string{append([]string{"{project}"}, strings.Split(rest, "/")...), strings.Split(rest, "/")}
	}
	for _, segs := range candidates {
		for _, op := range ops {
			if op.method == method && segsMatch(segs, op.segs) {
				s := append([]string(nil), op.scopes...)
				sort.Strings(s)
				return s, true
			}
		}
	}
	return nil, false
}

// TestScopeTableFromSpecs checks that scopes_spec.go is what the specs say:
// for every route of the simulator and every spec folder, the scopes the
// operation's security accepts. PANDEV_UPDATE_SCOPES=1 writes it anew.
func TestScopeTableFromSpecs(t *testing.T) {
	dir := specDir(t)
	want := map[string]map[string][]string{}
	for _, folder := range []string{"7.1", "server-5.0", "server-6.0", "server-7.0"} {
		ops := loadSpecOps(t, filepath.Join(dir, folder))
		m := map[string][]string{}
		for _, r := range routeTable() {
			scopes, found := specScopesFor(ops, r.method, r.pattern)
			if !found {
				continue
			}
			if scopes == nil {
				scopes = []string{}
			}
			m[r.method+" "+r.pattern] = scopes
		}
		want[folder] = m
	}
	if os.Getenv("PANDEV_UPDATE_SCOPES") == "1" {
		if err := os.WriteFile("scopes_spec.go", renderScopeTable(t, want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for folder, m := range want {
		for k, v := range m {
			got, ok := specScopes[folder][k]
			if !ok || strings.Join(got, ",") != strings.Join(v, ",") {
				t.Errorf("%s %s: the specs accept %q, scopes_spec.go has %q (run PANDEV_UPDATE_SCOPES=1 go test -run TestScopeTableFromSpecs ./internal/azdosim/)", folder, k, v, got)
			}
		}
		for k := range specScopes[folder] {
			if _, ok := m[k]; !ok {
				t.Errorf("%s %s: in scopes_spec.go but not in the specs (regenerate)", folder, k)
			}
		}
	}
}

func renderScopeTable(t *testing.T, m map[string]map[string][]string) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("// Code generated by TestScopeTableFromSpecs from ../shared/azure-devops/specs; DO NOT EDIT.\n")
	b.WriteString("// Regenerate: PANDEV_UPDATE_SCOPES=1 go test -run TestScopeTableFromSpecs ./internal/azdosim/\n\n")
	b.WriteString("package azdosim\n\n")
	b.WriteString("// specScopes holds, per spec folder (7.1 = Services; server-5.0, -6.0, -7.0 = Server 2019,\n")
	b.WriteString("// 2020, 2022) and per route (\"METHOD pattern\"), the PAT scopes the operation's `security`\n")
	b.WriteString("// accepts. An empty list: the operation lists no security. A missing route: not in the specs.\n")
	b.WriteString("var specScopes = map[string]map[string][]string{\n")
	folders := make([]string, 0, len(m))
	for f := range m {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	for _, f := range folders {
		fmt.Fprintf(&b, "\t%q: {\n", f)
		keys := make([]string, 0, len(m[f]))
		for k := range m[f] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "\t\t%q: {", k)
			for i, s := range m[f][k] {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%q", s)
			}
			b.WriteString("},\n")
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return out
}
