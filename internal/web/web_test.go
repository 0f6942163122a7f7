package web

import (
	"bytes"
	"time"

	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TestTemplatesExecuteWithTheirPageData type-checks every template against
// its page data type: a field renamed in Go but not in HTML fails here.
func TestTemplatesExecuteWithTheirPageData(t *testing.T) {
	for name, data := range pages {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := templates[name].ExecuteTemplate(&buf, "layout", data); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "<!doctype html>") {
				t.Fatal("layout not rendered")
			}
		})
	}
}

// TestAzurePageVariants executes both halves of the integration screen.
func TestAzurePageVariants(t *testing.T) {
	now := time.Now()
	variants := []AzurePage{
		{Check: &integration.CheckResult{OK: true, Scopes: []integration.ScopeResult{{Label: "Code: Read"}, {Label: "Build: Read", OK: true}},
			Problems: []integration.Problem{{Message: "m", Hint: "h"}}, Warnings: []integration.Problem{{Code: "public_url"}}},
			Error: &integration.Problem{Message: "bad"}},
		{Status: integration.Status{Connected: true, State: "error", Error: &integration.Problem{Message: "The PAT is invalid"},
			Settings: &integration.Settings{}, Projects: []integration.ProjectStatus{
				{ID: "p", Name: "P", Selected: true, Hooks: integration.HookHealth{Registered: true, Enabled: 3, Skipped: []string{"x"}},
					Backfill: &collect.ProjectProgress{Fraction: 0.4, ItemsDone: 10, Remaining: time.Minute}},
				{ID: "q", Name: "Q", Backfill: &collect.ProjectProgress{Finished: &now}}},
			Runs:     []integration.SyncRun{{Kind: "reconcile", Recovered: 2, Error: "boom"}},
			Comments: &integration.CommentStatus{Counts: map[string]int{"posted": 2}, LastError: "no scope"}},
			Preview: "### x", PreviewPR: 5, PreviewSkip: "draft", Rules: integration.Settings{RuleSettings: store.RuleSettings{ProductionRule: "x", AttributionHours: 3}},
			RulesPreview: &integration.RulesPreview{Runs: []integration.RunMatch{{ID: 1, Deployment: true}}, Environments: []integration.EnvironmentMatch{{Name: "prod"}}}},
	}
	for i, v := range variants {
		var buf bytes.Buffer
		if err := templates["azure.html"].ExecuteTemplate(&buf, "layout", v); err != nil {
			t.Fatalf("variant %d: %v", i, err)
		}
	}
}

func TestErrorPageEscapesMessages(t *testing.T) {
	rec := httptest.NewRecorder()
	RenderError(rec, ErrorPage{Status: 404, Message: "<script>alert(1)</script>"})
	if strings.Contains(rec.Body.String(), "<script>alert") {
		t.Fatal("message must be escaped")
	}
}

func TestSafeNext(t *testing.T) {
	cases := map[string]string{
		"":                    "/",
		"/settings":           "/settings",
		"/a?b=c":              "/a?b=c",
		"https://evil.com/":   "/",
		"//evil.com":          "/",
		"/\\evil.com":         "/",
		"javascript:alert(1)": "/",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestClientAddr: sign-in limits count a client by its address. Behind a
// trusted proxy that is the nearest untrusted address in X-Forwarded-For;
// from anyone else the header is ignored (a client cannot pick its own
// address to escape the limit, or to spend someone else's).
func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}
	for _, c := range []struct {
		name, remote, xff, want string
	}{
		{"no proxy", "203.0.113.9:5555", "", "203.0.113.9"},
		{"a client forging the header", "203.0.113.9:5555", "198.51.100.1", "203.0.113.9"},
		{"through a trusted proxy", "10.1.2.3:443", "198.51.100.1", "198.51.100.1"},
		{"through two trusted proxies", "192.168.1.7:443", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"a forged entry left of the real client", "10.1.2.3:443", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"a trusted proxy without the header", "10.1.2.3:443", "", "10.1.2.3"},
		{"garbage in the header", "10.1.2.3:443", "not-an-address", "10.1.2.3"},
		{"IPv6", "[2001:db8::1]:443", "", "2001:db8::1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/login", nil)
			r.RemoteAddr = c.remote
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			if got := ClientAddr(r, trusted); got != c.want {
				t.Fatalf("ClientAddr = %q, want %q", got, c.want)
			}
		})
	}
}
