package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/dashboard"
	"github.com/pandev-metrics/pandev/internal/integration"
)

// TestDemo runs `pandev demo` as a newcomer would (on free ports and a temp
// folder) until it prints the URL and login, then checks that both sources
// run side by side: Azure DevOps and GitHub connected through the admin's
// code path and backfilled, the dashboard's figures per source adding up
// to the combined ones, and GitHub's live activity arriving through its
// webhooks; then stops it with Ctrl+C.
func TestDemo(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	env := map[string]string{
		"PANDEV_ADDR":                 "127.0.0.1:0",
		"PANDEV_DEMO_SIM_ADDR":        "127.0.0.1:0",
		"PANDEV_DEMO_GITHUB_SIM_ADDR": "127.0.0.1:0",
		"PANDEV_DB":                   filepath.Join(t.TempDir(), "demo", "pandev.db"),
	}
	out, errs := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo"}, func(k string) string { return env[k] }, nil, out, errs) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("demo exit %d:\n%s", code, errs.String())
			}
		}
	}
	defer stop()
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(out.String(), "sign in") {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not get ready:\n%s\n%s", out.String(), errs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"✓ Check connection (Azure DevOps)", "✓ Check connection (GitHub)", "Azure DevOps activated",
		"GitHub activated", "GitHub simulator at https://127.0.0.1:", demoEmail, demoPassword, "http://127.0.0.1:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	base := regexp.MustCompile(`open +(http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out.String())
	if base == nil {
		t.Fatalf("no URL in the output:\n%s", out.String())
	}
	b := newBrowser(t, base[1])
	if res := b.login(demoEmail, demoPassword); res.StatusCode != 303 {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	for _, path := range []string{"/api/v1/integrations/azure-devops", "/api/v1/integrations/github"} {
		var st integration.Status
		if code := b.api("GET", path, nil, &st); code != 200 || !st.Connected || len(st.Projects) == 0 {
			t.Errorf("%s: %d, connected %v, %d projects", path, code, st.Connected, len(st.Projects))
		}
	}

	// Side by side: each source has merged PRs; they add up to the
	// combined count, which carries the per-source split.
	prs := func(source string) dashboard.PullRequestReport {
		t.Helper()
		var r dashboard.PullRequestReport
		if code := b.api("GET", "/api/v1/metrics/pull-requests?source="+source, nil, &r); code != 200 {
			t.Fatalf("pull requests of source %q: %d", source, code)
		}
		return r
	}
	all, az, gh := prs(""), prs("azure-devops"), prs("github")
	if az.Merged == 0 || gh.Merged == 0 || az.Merged+gh.Merged != all.Merged || len(all.BySource) != 2 {
		t.Errorf("merged PRs: combined %d (split %+v), Azure DevOps %d, GitHub %d", all.Merged, all.BySource, az.Merged, gh.Merged)
	}

	// Live: the GitHub simulator's next pull request is opened, reviewed
	// and merged through webhooks; the dashboard counts it.
	waitFor(t, "a live GitHub pull request merged through webhooks", func() bool {
		var rows struct {
			Items []dashboard.PullRequestRow `json:"items"`
		}
		b.api("GET", "/api/v1/metrics/pull-requests?source=github&view=pull-requests", nil, &rows)
		for _, r := range rows.Items {
			if r.Title == "Live change" && r.Provider == "github" && strings.HasPrefix(r.WebURL, "https://127.0.0.1:") {
				return true
			}
		}
		return false
	})
	t.Logf("demo output:\n%s", out.String())
	stop()
}
