// Package samples finds the real Azure DevOps payloads that tests use as
// fixtures: ../shared/azure-devops/samples beside the repository (never
// edited, never copied). CI always has them; elsewhere a test without them
// skips with a message, unless PANDEV_TEST_SAMPLES=1 or CI=true.
package samples

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// Dir returns the folder of one kind of sample ("rest" or "events").
func Dir(t testing.TB, kind string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0) // …/internal/samples/samples.go
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "azure-devops", "samples", kind)
	if _, err := os.Stat(root); err != nil {
		if os.Getenv("PANDEV_TEST_SAMPLES") == "1" || os.Getenv("CI") == "true" {
			t.Fatalf("the shared Azure DevOps samples are required but missing at %s", root)
		}
		t.Skipf("the shared Azure DevOps samples are not beside the repository (%s); skipping", root)
	}
	return root
}

// Files lists the sample files of one kind, sorted.
func Files(t testing.TB, kind string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Dir(t, kind), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s samples: %v", kind, err)
	}
	sort.Strings(files)
	return files
}

// Read returns one sample's bytes.
func Read(t testing.TB, kind, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t, kind), name))
	if err != nil {
		t.Fatalf("sample %s/%s: %v", kind, name, err)
	}
	return b
}
