// Package archtest checks the import direction that docs/design.md
// describes: which project packages each package may import, and that the
// production binary links no test helpers.
package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/pandev-metrics/pandev/"

// allowed is docs/design.md's "Dependencies" table: the project packages
// each package may import (test files aside). A package missing here fails
// the test until it is placed in the table and in the document.
var allowed = map[string][]string{
	"internal/delivery":         {},
	"internal/secret":           {},
	"internal/netguard":         {},
	"internal/config":           {"netguard"},
	"internal/csvexport":        {},
	"internal/membudget":        {},
	"internal/samples":          {},
	"internal/browsertest":      {},
	"internal/azdospec":         {},
	"internal/simtls":           {},
	"internal/azdosim":          {"simtls"}, // the simulator knows nothing of the product it tests
	"internal/githubsim":        {"simtls"}, // the GitHub simulator likewise
	"internal/metrics":          {"delivery"},
	"internal/store":            {"delivery"},
	"internal/store/storetest":  {"delivery", "store"},
	"internal/auth":             {"delivery", "secret", "store"},
	"internal/jobs":             {"delivery", "store"},
	"internal/azdo":             {"delivery", "secret", "netguard"},
	"internal/githubapi":        {"delivery", "secret", "netguard"},
	"internal/webhook":          {"delivery", "secret", "store"},
	"internal/collect":          {"delivery", "store", "webhook", "jobs"}, // provider-neutral: no azdo (adr/0016)
	"internal/collect/azure":    {"delivery", "store", "azdo", "webhook", "collect"},
	"internal/collect/github":   {"delivery", "store", "githubapi", "collect"},
	"internal/integration":      {"delivery", "secret", "store", "azdo", "githubapi", "collect", "collect/azure", "collect/github", "netguard"},
	"internal/prcomment":        {"delivery", "store"}, // provider-neutral: no azdo, no githubapi
	"internal/prcomment/azure":  {"delivery", "store", "azdo", "prcomment"},
	"internal/prcomment/github": {"delivery", "store", "githubapi", "prcomment"},
	"internal/web":              {"delivery", "store", "auth", "integration", "prcomment", "docs/guide"},
	"internal/api":              {"delivery", "store", "auth", "integration", "prcomment", "csvexport"},
	"internal/dashboard":        {"delivery", "store", "auth", "metrics", "web", "csvexport"},
	"internal/server":           {"delivery", "store", "auth", "integration", "prcomment", "web", "api", "dashboard"},
	"internal/archtest":         {},
	"docs/guide":                {}, // the user guide's Markdown, embedded
	"cmd/pandev":                {"*"},
}

// testOnly are packages for tests; the production binary must not link
// them (nor, through them, the testing package).
var testOnly = []string{"internal/store/storetest", "internal/browsertest", "internal/azdospec", "internal/samples"}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestImportDirection(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		rule, ok := allowed[pkg]
		if !ok {
			t.Errorf("%s is not in the dependency table: place it in docs/design.md and in archtest's allowed", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "internal/")
			if slices.Contains(rule, "*") {
				if slices.Contains(testOnly, "internal/"+dep) {
					t.Errorf("%s imports the test helper %s: the production binary would link it", pkg, dep)
				}
				continue
			}
			if !slices.Contains(rule, dep) {
				t.Errorf("%s imports %s, against the direction docs/design.md describes (it may import %v)", pkg, dep, rule)
			}
		}
	}
}

// TestBinaryLinksNoTestHelpers: `pandev` links neither the test helpers
// nor the testing package (bench and abuse code once pulled storetest in).
func TestBinaryLinksNoTestHelpers(t *testing.T) {
	deps := goList(t, "-deps", module+"cmd/pandev")
	for _, bad := range append([]string{"testing"}, testOnly...) {
		want := bad
		if bad != "testing" {
			want = module + bad
		}
		if slices.Contains(deps, want) {
			t.Errorf("the pandev binary links %s", bad)
		}
	}
}
