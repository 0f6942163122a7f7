package guide

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// notShown lists messages a person never reads, with the reason. Everything
// else the source can show — a delivery error, a Problem, a scope's advice,
// a configuration error — must be quoted in troubleshooting.md.
var notShown = map[string]string{
	// Wrapped with a cause and logged; the caller turns them into another message.
	"not found": "the store's bare sentinel; every caller answers with a message naming the item",
	// Programming errors of kind internal: the code never builds such a
	// request, and the screen shows "something went wrong on our side".
	"work items: fields and $expand cannot be combined": "a misuse of the client inside PanDev Metrics",
	"encoding the request failed":                       "a request body that cannot be JSON: a bug, logged with its cause",
	// Causes inside a dial: the screen shows "Could not reach Azure DevOps at
	// <host> while <step>" and the log has these.
	"scheme % is not http or https": "a dial cause (URLs are checked for https before any dial)",
	"no address for ":               "a dial cause: DNS gave no address",
	// Simulator-only and test-only paths are excluded by directory below.
}

// skipDirs hold code whose messages are not the product's: the simulator,
// spec loader, test helpers.
var skipDirs = []string{"internal/azdosim", "internal/githubsim", "internal/azdospec", "internal/browsertest", "internal/samples",
	"internal/store/storetest", "internal/archtest"}

// message is one user-facing message found in the source.
type message struct {
	parts []string // literal text between the values filled in at run time
	at    string   // file:line
}

func (m message) key() string { return strings.Join(m.parts, "%") }

// pattern matches the message in prose: each value filled in at run time
// may be written any way (<date>, <project>, “…”) on the same line.
func (m message) pattern() *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?i)")
	for i, p := range m.parts {
		if i > 0 {
			b.WriteString(`[^\n]*?`)
		}
		b.WriteString(regexp.QuoteMeta(strings.TrimSpace(strings.ReplaceAll(p, "`", ""))))
	}
	return regexp.MustCompile(b.String())
}

// TestTroubleshootingListsEveryError scans the product's source for every
// message a user can be shown and fails for each one troubleshooting.md
// does not quote (with its run-time values written any way).
func TestTroubleshootingListsEveryError(t *testing.T) {
	page, ok := Lookup("troubleshooting")
	if !ok {
		t.Fatal("troubleshooting.md is missing")
	}
	// Code spans and table-escaped pipes are Markdown, not the message.
	md := strings.NewReplacer("`", "", `\|`, "|").Replace(string(page.Markdown))
	text := strings.Join(strings.Fields(md), " ")
	msgs := sourceMessages(t, filepath.Join("..", ".."))
	if len(msgs) < 100 {
		t.Fatalf("found only %d messages in the source: the scanner is broken", len(msgs))
	}
	var missing []string
	for _, m := range msgs {
		if _, ok := notShown[m.key()]; ok {
			continue
		}
		if !m.pattern().MatchString(text) {
			missing = append(missing, m.at+": "+strconv.Quote(m.key()))
		}
	}
	sort.Strings(missing)
	for _, s := range missing {
		t.Errorf("troubleshooting.md does not mention %s", s)
	}
}

func sourceMessages(t *testing.T, root string) []message {
	t.Helper()
	var out []message
	seen := map[string]bool{}
	for _, dir := range []string{"internal", "cmd/pandev"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				for _, s := range skipDirs {
					if rel == s {
						return filepath.SkipDir
					}
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			for _, m := range fileMessages(t, path, rel) {
				if !seen[m.key()] {
					seen[m.key()] = true
					out = append(out, m)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// fileMessages finds, in one file: delivery.Errorf / config.Errorf formats,
// Message fields of composite literals, the text of invalidURL and of
// userError(fmt.Errorf(…)), configuration checks (fmt.Errorf in
// internal/config), and the breaks text of the scope table (scopeInfo).
func fileMessages(t *testing.T, path, rel string) []message {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := packageConsts(t, filepath.Dir(path))
	var out []message
	add := func(e ast.Expr) {
		parts, ok := literalParts(e, consts)
		if !ok {
			return
		}
		out = append(out, message{parts: parts, at: rel + ":" + strconv.Itoa(fset.Position(e.Pos()).Line)})
	}
	// Configuration and key errors stop the command with their text.
	inConfig := strings.HasPrefix(rel, "internal/config/") || strings.HasPrefix(rel, "internal/secret/") ||
		strings.HasPrefix(rel, "internal/netguard/")
	inCmd := strings.HasPrefix(rel, "cmd/")
	ast.Inspect(f, func(n ast.Node) bool {
		if inCmd {
			// The commands' own messages: configuration and user errors only
			// (bench and abuse reports are not errors a user meets).
			if c, ok := n.(*ast.CallExpr); ok {
				switch callName(c.Fun) {
				case "config.Errorf":
					add(c.Args[0])
				case "userError":
					if e, ok := c.Args[0].(*ast.CallExpr); ok && callName(e.Fun) == "fmt.Errorf" {
						add(e.Args[0])
					}
				}
			}
			return true
		}
		switch n := n.(type) {
		case *ast.FuncDecl:
			// The public URL warning is a string shown as a Problem.
			if n.Name.Name == "publicURLWarning" {
				ast.Inspect(n.Body, func(m ast.Node) bool {
					if r, ok := m.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
						add(r.Results[0])
					}
					return true
				})
			}
		case *ast.AssignStmt:
			// e.Message = …, msg := … (messages built in steps).
			for i, l := range n.Lhs {
				if i >= len(n.Rhs) {
					break
				}
				switch l := l.(type) {
				case *ast.SelectorExpr:
					if l.Sel.Name == "Message" {
						add(n.Rhs[i])
					}
				case *ast.Ident:
					if l.Name == "msg" {
						add(n.Rhs[i])
					}
				}
			}
		case *ast.CallExpr:
			switch name := callName(n.Fun); {
			case name == "delivery.Errorf" && len(n.Args) >= 2:
				add(n.Args[1])
			case name == "config.Errorf" && len(n.Args) >= 1, name == "Errorf" && inConfig && len(n.Args) >= 1:
				add(n.Args[0])
			case (name == "fmt.Errorf" || name == "errors.New") && inConfig && len(n.Args) >= 1:
				add(n.Args[0])
			case (name == "invalidURL" || name == "tooMany") && len(n.Args) >= 1:
				add(n.Args[0])
			case name == "userError" && len(n.Args) == 1:
				if c, ok := n.Args[0].(*ast.CallExpr); ok && callName(c.Fun) == "fmt.Errorf" && len(c.Args) > 0 {
					add(c.Args[0])
				}
			}
		case *ast.CompositeLit:
			if mt, ok := n.Type.(*ast.MapType); ok {
				if id, ok := mt.Value.(*ast.Ident); ok && id.Name == "scopeInfo" {
					for _, el := range n.Elts {
						if v, ok := el.(*ast.KeyValueExpr).Value.(*ast.CompositeLit); ok && len(v.Elts) == 3 {
							add(v.Elts[1]) // what the missing scope breaks
						}
					}
				}
			}
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Message" {
						add(kv.Value)
					}
				}
			}
		}
		return true
	})
	return out
}

func callName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			return x.Name + "." + e.Sel.Name
		}
	}
	return ""
}

var verb = regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z]`)

// literalParts flattens a message expression into its literal pieces: a
// string literal (format verbs become gaps), a constant of the package,
// fmt.Sprintf, and + of those; anything else is a gap. An expression with
// no literal text at all (a message passed along) is not a message here.
func literalParts(e ast.Expr, consts map[string]string) ([]string, bool) {
	var parts []string
	gap := func() {
		if len(parts) == 0 || parts[len(parts)-1] != "" {
			parts = append(parts, "")
		}
	}
	text := func(s string) {
		for i, p := range verb.Split(strings.ReplaceAll(s, "%%", "%"), -1) {
			if i > 0 {
				gap()
			}
			if len(parts) == 0 {
				parts = append(parts, "")
			}
			parts[len(parts)-1] += p
		}
	}
	var walk func(ast.Expr)
	walk = func(e ast.Expr) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
				text(s)
				return
			}
			gap()
		case *ast.Ident:
			if s, ok := consts[e.Name]; ok {
				text(s)
				return
			}
			gap()
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				walk(e.X)
				walk(e.Y)
				return
			}
			gap()
		case *ast.ParenExpr:
			walk(e.X)
		case *ast.CallExpr:
			if callName(e.Fun) == "fmt.Sprintf" && len(e.Args) > 0 {
				walk(e.Args[0])
				return
			}
			gap()
		default:
			gap()
		}
	}
	walk(e)
	var kept []string
	letters := 0
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			kept = append(kept, p)
		}
		for _, r := range p {
			if unicode.IsLetter(r) {
				letters++
			}
		}
	}
	return kept, letters >= 3 // ": " alone joins two messages; it is none
}

var constCache = map[string]map[string]string{}

// packageConsts are the string constants declared in dir's Go files.
func packageConsts(t *testing.T, dir string) map[string]string {
	if c, ok := constCache[dir]; ok {
		return c
	}
	c := map[string]string{}
	constCache[dir] = c
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, path := range matches {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if bl, ok := vs.Values[i].(*ast.BasicLit); ok && bl.Kind == token.STRING {
							if v, err := strconv.Unquote(bl.Value); err == nil {
								c[n.Name] = v
							}
						}
					}
				}
			}
		}
	}
	return c
}

var mdLink = regexp.MustCompile(`\]\(([a-z-]+)\.md(#[^)]*)?\)`)

// TestGuideLinksResolve: every link to another page of the guide names a
// page that exists and is in the reading order.
func TestGuideLinksResolve(t *testing.T) {
	for _, p := range Pages() {
		for _, m := range mdLink.FindAllStringSubmatch(string(p.Markdown), -1) {
			if _, ok := Lookup(m[1]); !ok {
				t.Errorf("%s.md links to %s.md, which does not exist", p.Name, m[1])
			}
		}
	}
	if got := len(Pages()); got != len(Order) {
		t.Errorf("%d of %d pages found", got, len(Order))
	}
}
