package githubsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// npmDir is where .ci/run installs GitHub's published descriptions and clients
// (PANDEV_GITHUB_NPM=<dir>/node_modules). Without it the fidelity tests skip locally and fail
// in CI (CI=true) or when PANDEV_TEST_GITHUB_SPECS=1.
func npmDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PANDEV_GITHUB_NPM")
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "@octokit", "openapi")); err == nil {
			return dir
		}
	}
	msg := "PANDEV_GITHUB_NPM is not set to a node_modules holding @octokit/openapi, @octokit/openapi-webhooks, @octokit/webhooks-examples and @octokit/rest (see docs/development.md; .ci/run installs them)"
	if os.Getenv("CI") == "true" || os.Getenv("PANDEV_TEST_GITHUB_SPECS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body is not JSON (%v): %.300s", err, a.body)
	}
}

// do sends one request with token (empty: none) and returns the answer.
func do(t testing.TB, s *Sim, method, url, token string, body any, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// linkNext extracts rel="next" from a Link header.
func linkNext(h http.Header) string {
	for _, part := range strings.Split(h.Get("Link"), ",") {
		if strings.Contains(part, `rel="next"`) {
			u := strings.TrimSpace(strings.Split(part, ";")[0])
			return strings.Trim(u, "<>")
		}
	}
	return ""
}
