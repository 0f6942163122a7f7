package server

import (
	"encoding/json"
	"html"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/docs/guide"
	"github.com/pandev-metrics/pandev/internal/api"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

func getPage(t *testing.T, s *Server, path string) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept", "text/html")
	s.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
}

var codeSpan = regexp.MustCompile(`(?s)<code>.*?</code>`)

// stripCode drops code spans, which show Markdown-like text on purpose.
func stripCode(s string) string { return codeSpan.ReplaceAllString(s, "") }

var (
	opHeading = regexp.MustCompile(`<span class="method method-([A-Z]+)">[A-Z]+</span> <code>([^<]+)</code>`)
	scriptTag = regexp.MustCompile(`(?i)<script`)
	remoteRef = regexp.MustCompile(`(?i)(src|href)="(https?:)?//`)
)

// TestAPIDocsListEveryPath: /api/docs answers an HTML page, without a
// script or anything fetched from elsewhere, with one heading for every
// operation of openapi.json, and each operation's access level from the
// route table.
func TestAPIDocsListEveryPath(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, storetest.OpenSQLite(t))
	code, ct, body := getPage(t, s, "/api/docs")
	if code != 200 || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET /api/docs: %d %s", code, ct)
	}
	if scriptTag.MatchString(body) || remoteRef.MatchString(body) {
		t.Error("/api/docs has a script or a reference to another site")
	}
	listed := map[string]bool{}
	for _, m := range opHeading.FindAllStringSubmatch(body, -1) {
		listed[m[1]+" "+html.UnescapeString(m[2])] = true
	}
	n := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			n++
			if !listed[strings.ToUpper(method)+" "+path] {
				t.Errorf("/api/docs does not list %s %s", strings.ToUpper(method), path)
			}
		}
	}
	if len(listed) != n {
		t.Errorf("/api/docs lists %d operations, openapi.json has %d", len(listed), n)
	}
	for _, want := range []string{"admin — workspace admins", "member — any signed-in member", "machine — Azure DevOps service hooks",
		"<code>confirm_limited</code>", `id="get-api-v1-metrics-dora"`, `<h2 id="deployment-and-incident-rules">`, "Request body (application/json, required)", `href="/api/v1/openapi.json"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/api/docs lacks %q", want)
		}
	}
}

// TestHelpServesEveryGuidePage: /help and /help/<page> render every page of
// the embedded guide as HTML, escaped, with the contents beside it; links
// between pages point at their served addresses; the layout links Help and
// the API reference on every page.
func TestHelpServesEveryGuidePage(t *testing.T) {
	s := newServer(t, storetest.OpenSQLite(t))
	for _, p := range guide.Pages() {
		path := "/help/" + p.Name
		if p.Name == "index" {
			path = "/help"
		}
		code, ct, body := getPage(t, s, path)
		if code != 200 || !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("GET %s: %d %s", path, code, ct)
		}
		if !strings.Contains(body, "<h1") || !strings.Contains(body, html.EscapeString(p.Title)) {
			t.Errorf("%s lacks its title %q", path, p.Title)
		}
		if strings.Contains(body, ".md\"") || scriptTag.MatchString(body) {
			t.Errorf("%s links a .md file or has a script", path)
		}
		// No Markdown left unrendered: emphasis, links, table rows.
		for _, raw := range []string{"**", "](", "\n|", "|---"} {
			if strings.Contains(stripCode(body), raw) {
				t.Errorf("%s shows raw Markdown %q", path, raw)
			}
		}
		for _, want := range []string{`<a href="/help">Help</a>`, `<a href="/api/docs">API</a>`, `href="/help/troubleshooting"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", path, want)
			}
		}
	}
	_, _, body := getPage(t, s, "/help/troubleshooting")
	// A message with angle brackets is shown as text, not markup.
	if !strings.Contains(body, "<code>there is no page at &lt;path&gt;</code>") {
		t.Error("troubleshooting: a message with <path> is not escaped as text")
	}
	if code, _, _ := getPage(t, s, "/help/..%2fREADME"); code != 404 {
		t.Errorf("/help/..%%2fREADME: %d, want 404", code)
	}
	if code, _, body := getPage(t, s, "/help/"); code != 200 || !strings.Contains(body, "PanDev Metrics user guide") {
		t.Errorf("/help/: %d, want the contents", code)
	}
	if code, _, _ := getPage(t, s, "/help/nope"); code != 404 {
		t.Errorf("/help/nope: %d, want 404", code)
	}
}
