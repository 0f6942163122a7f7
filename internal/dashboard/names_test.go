package dashboard

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestNamesAndWebURLs: each kind of deployment key gets a name for people
// and the Azure DevOps page of what made it; unknown parts give no link
// rather than a wrong one.
func TestNamesAndWebURLs(t *testing.T) {
	n := names{orgURL: "https://dev.azure.com/acme", projects: map[string]string{"p1": "Shop & Co"},
		repos: map[string]string{"r1": "web app"},
		deps:  map[string]deploymentName{"env:1744": {RunID: 812, Pipeline: "web-release"}, "build:9": {RunID: 9}}}
	for _, c := range []struct{ key, label, url string }{
		{"env:1744", "web-release #812", "https://dev.azure.com/acme/Shop%20&%20Co/_build/results?buildId=812"},
		{"build:9", "Run #9", "https://dev.azure.com/acme/Shop%20&%20Co/_build/results?buildId=9"},
		{"release:31:4:1", "Release 31", "https://dev.azure.com/acme/Shop%20&%20Co/_release?releaseId=31&_a=release-summary"},
		{"stage:5:abc", "stage:5:abc", ""}, // not stored with a run: the key, no link
	} {
		if got := n.deploymentLabel(c.key); got != c.label {
			t.Errorf("label of %s: %q, want %q", c.key, got, c.label)
		}
		if got := n.deploymentURL("p1", c.key); got != c.url {
			t.Errorf("URL of %s: %q, want %q", c.key, got, c.url)
		}
	}
	if got := n.pullRequestURL("p1", "r1", 7); got != "https://dev.azure.com/acme/Shop%20&%20Co/_git/web%20app/pullrequest/7" {
		t.Errorf("PR URL %q", got)
	}
	if got := n.workItemURL("p1", 101); got != "https://dev.azure.com/acme/Shop%20&%20Co/_workitems/edit/101" {
		t.Errorf("work item URL %q", got)
	}
	if got := n.pullRequestURL("p2", "r1", 7); got != "" {
		t.Errorf("a PR of an unknown project links to %q", got)
	}
	if got := (names{}).deploymentURL("p1", "env:1744"); got != "" {
		t.Errorf("without an organization URL: %q", got)
	}
	// A long title is cut at a rune boundary.
	if got := shortTitle("a" + strings.Repeat("é", 100)); len(got) > titleMax+len("…") || !utf8.ValidString(got) ||
		!strings.HasSuffix(got, "…") {
		t.Errorf("shortTitle: %q (%d bytes)", got, len(got))
	}
}
