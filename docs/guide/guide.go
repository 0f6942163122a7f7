// Package guide holds the user guide: Markdown pages embedded in the
// binary, served as HTML at /help (internal/web renders them). The pages
// are plain Markdown so they read the same on GitHub and in the product.
package guide

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed *.md
var files embed.FS

// Page is one page of the guide.
type Page struct {
	Name     string // file name without .md: "connect"; "index" is the contents
	Title    string // its first heading
	Markdown []byte
}

// Order is the reading order of the pages; the contents page comes first.
var Order = []string{"index", "connect", "connect-github", "scopes", "collected", "metrics", "troubleshooting"}

// Lookup returns the page called name ("connect", "troubleshooting"…).
func Lookup(name string) (Page, bool) {
	if name == "" {
		name = "index"
	}
	if strings.ContainsAny(name, "/\\.") {
		return Page{}, false
	}
	b, err := fs.ReadFile(files, name+".md")
	if err != nil {
		return Page{}, false
	}
	return Page{Name: name, Title: title(b), Markdown: b}, true
}

// Pages returns every page in reading order.
func Pages() []Page {
	out := make([]Page, 0, len(Order))
	for _, n := range Order {
		if p, ok := Lookup(n); ok {
			out = append(out, p)
		}
	}
	return out
}

// title is the text of the first "# " heading.
func title(md []byte) string {
	for _, line := range strings.Split(string(md), "\n") {
		if t, ok := strings.CutPrefix(line, "# "); ok {
			return strings.TrimSpace(t)
		}
	}
	return "PanDev Metrics guide"
}
