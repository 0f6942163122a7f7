package githubapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestParseAPI(t *testing.T) {
	ghes := API{REST: "https://ghe.example.com/api/v3/", Web: "https://ghe.example.com", Enterprise: true}
	for in, want := range map[string]API{
		"":                                DotCom,
		"github.com":                      DotCom,
		"https://github.com/":             DotCom,
		"https://api.github.com":          DotCom,
		"HTTPS://GitHub.com":              DotCom,
		"ghe.example.com":                 ghes,
		"https://ghe.example.com/":        ghes,
		"https://GHE.example.com/api/v3":  ghes,
		"https://ghe.example.com/api/v3/": ghes,
		"http://10.0.0.5:8080":            {REST: "http://10.0.0.5:8080/api/v3/", Web: "http://10.0.0.5:8080", Enterprise: true},
	} {
		got, err := ParseAPI(in)
		if err != nil || got != want {
			t.Errorf("ParseAPI(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, part := range map[string]string{
		"https://github.com/acme":          "has a path",
		"http://github.com":                "https only",
		"https://ghe.example.com/acme":     "other than /api/v3",
		"ftp://ghe.example.com":            "not a web address",
		"https://user:pw@ghe.example.com":  "not a web address",
		"https://ghe.example.com/?x=1":     "not a web address",
		"https://ghe.example.com/api/v3/x": "other than /api/v3",
	} {
		_, err := ParseAPI(in)
		if err == nil || !strings.Contains(err.Error(), part) || delivery.KindOf(err) != delivery.KindInvalid {
			t.Errorf("ParseAPI(%q) = %v; want an invalid-input error with %q", in, err, part)
		}
		var de *delivery.Error
		if err != nil && (!asDelivery(err, &de) || de.Hint == "") {
			t.Errorf("ParseAPI(%q): no hint", in)
		}
	}
}

func asDelivery(err error, de **delivery.Error) bool {
	e, ok := err.(*delivery.Error)
	*de = e
	return ok
}

func TestPermissionWords(t *testing.T) {
	for in, want := range map[string]string{
		"pull_requests=read":                "Pull requests: Read",
		"contents=read,pull_requests=write": "Contents: Read and Pull requests: Write",
		"issues=write; pull_requests=write": "Issues: Write, or Pull requests: Write",
		"repository_hooks=write":            "Repository hooks: Write",
		"":                                  "the permission GitHub names",
		" ; contents=read":                  "Contents: Read",
	} {
		if got := permissionWords(in); got != want {
			t.Errorf("permissionWords(%q) = %q; want %q", in, got, want)
		}
	}
	if got := scopeWords("repo, public_repo"); got != "the repo scope or the public_repo scope" {
		t.Errorf("scopeWords = %q", got)
	}
}

func TestTokenKind(t *testing.T) {
	classic := &http.Response{Header: http.Header{"X-Oauth-Scopes": {"repo, read:org,admin:repo_hook"}}}
	if kind, scopes := tokenKind(classic); kind != "classic" || strings.Join(scopes, " ") != "admin:repo_hook read:org repo" {
		t.Errorf("classic: %s %v", kind, scopes)
	}
	// A classic token with no scope at all still sends the (empty) header.
	if kind, scopes := tokenKind(&http.Response{Header: http.Header{"X-Oauth-Scopes": {""}}}); kind != "classic" || len(scopes) != 0 {
		t.Errorf("classic without scopes: %s %v", kind, scopes)
	}
	if kind, _ := tokenKind(&http.Response{Header: http.Header{}}); kind != "fine-grained" {
		t.Errorf("fine-grained: %s", kind)
	}
}

func TestMemoryCacheEvictsOldestFirst(t *testing.T) {
	entry := func(n int) Entry { return Entry{ETag: `"x"`, Body: make([]byte, n)} }
	c := NewMemoryCache(3 * entry(1000).size())
	c.Put("a", entry(1000))
	c.Put("b", entry(1000))
	c.Put("c", entry(1000))
	if _, ok := c.Get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Put("d", entry(1000)) // evicts b, the least recently used
	if _, ok := c.Get("b"); ok {
		t.Error("b kept past the limit")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	c.Put("huge", entry(10_000)) // larger than the whole cache: not kept, nothing evicted
	if _, ok := c.Get("huge"); ok || c.Len() != 3 {
		t.Errorf("huge entry: kept=%v len=%d", ok, c.Len())
	}
	c.Put("a", entry(10)) // replacing frees the old size
	if c.Len() != 3 {
		t.Errorf("len after replace = %d", c.Len())
	}
}
