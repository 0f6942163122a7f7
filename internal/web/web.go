// Package web serves the server-rendered pages: typed page data, templates
// and static files embedded in the binary (nothing fetched at run time).
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/prcomment"
	"github.com/pandev-metrics/pandev/internal/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Static serves /static/ from the binary.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	return NoListing(http.StripPrefix("/static/", http.FileServerFS(sub)))
}

// NoListing answers 404 for a directory instead of listing its files.
func NoListing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// page names a template and the type of data it takes; the templates test
// executes each with a zero value of its type.
var pages = map[string]any{
	"login.html": LoginPage{},
	"home.html":  HomePage{},
	"error.html": ErrorPage{},
	"azure.html": AzurePage{Status: integration.Status{Connected: true, Settings: &integration.Settings{}}},
	"github.html": GitHubPage{Status: integration.Status{Connected: true, Settings: &integration.Settings{}},
		Groups: []RepositoryGroup{{Repositories: []integration.ProjectStatus{{}}}}, Check: &integration.CheckResult{OK: true},
		Jobs: []integration.Job{{}}, Error: &integration.Problem{}},
	"members.html": MembersPage{Members: []store.Member{{}}, Error: &Problem{}},
	"tokens.html":  TokensPage{Tokens: []store.APIToken{{}}, Created: "pdm_x", Error: &Problem{}},
	"rules.html": RulesPage{Set: integration.RuleSet{Projects: []integration.ProjectRules{{}}}, Projects: []integration.ProjectStatus{{}},
		Preview: &integration.RulesPreview{Runs: []integration.RunMatch{{}}, Environments: []integration.EnvironmentMatch{{}}}, Error: &Problem{}},
	"teams.html": TeamsPage{Teams: []store.Team{{Members: []store.TeamMember{{}}, Repositories: []store.TeamRepository{{}}}},
		Edit: &TeamEditor{People: []TeamOption{{}}, Projects: []TeamProject{{Repositories: []TeamOption{{}}}}}, Error: &Problem{}},
	"integrations.html": IntegrationsPage{Providers: []ProviderEntry{{Available: true, Connected: true}, {}}},
	"help.html":         HelpPage{Pages: []HelpLink{{}}},
	"apidocs.html": APIDocsPage{Ref: &APIReference{Areas: []APIArea{{Operations: []APIOperation{{Parameters: []APIParam{{}},
		Body: &APIBody{Fields: []APIField{{}}}, Responses: []APIResponse{{Fields: []APIField{{}}}}}}}}}},
}

// dateFormat is how every page writes an instant.
const dateFormat = "2006-01-02 15:04 UTC"

// funcs are the template helpers every page may use.
var funcs = template.FuncMap{
	"hasOverride": func(st *integration.Settings, project string) bool {
		if st == nil {
			return false
		}
		_, ok := st.ProjectComments[project]
		return ok
	},
	"overrideIs": func(st *integration.Settings, project string, on bool) bool {
		if st == nil {
			return false
		}
		v, ok := st.ProjectComments[project]
		return ok && v == on
	},
	"when": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format(dateFormat)
	},
	// at is the one date format of every page (UTC, to the minute).
	"at":      func(t time.Time) string { return t.UTC().Format(dateFormat) },
	"join":    strings.Join,
	"percent": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	// inlineMarkdown renders `code`, **bold** and links of a short text,
	// every piece escaped first (see Markdown).
	"inlineMarkdown": func(s string) template.HTML { return template.HTML(inline(s)) },
	"duration": func(d time.Duration) string {
		switch {
		case d < time.Minute:
			return "a minute"
		case d < time.Hour:
			return fmt.Sprintf("%d min", int(d.Minutes()+0.5))
		}
		return fmt.Sprintf("%.1f h", d.Hours())
	},
}

var templates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for name := range pages {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name))
	}
	return out
}()

// Page is a page template of another package rendered inside the common
// layout (header, navigation, styles).
type Page struct{ t *template.Template }

// NewPage parses the named content template from fsys (it must define
// "content") together with the layout. It panics on a parse error, like
// template.Must: templates are embedded, so that is a programming error.
func NewPage(fsys fs.FS, name string, funcs template.FuncMap) *Page {
	t := template.New(name).Funcs(funcs)
	t = template.Must(t.ParseFS(templateFiles, "templates/layout.html"))
	return &Page{t: template.Must(t.ParseFS(fsys, name))}
}

// Render executes the page with data (which embeds Chrome) into w.
func (p *Page) Render(w http.ResponseWriter, status int, data any) error {
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// ChromeFor is the layout data for a signed-in caller.
func ChromeFor(title string, p auth.Principal) Chrome { return chrome(title, p) }

// Chrome is what every page's layout shows.
type Chrome struct {
	Title      string
	User       string // email of the signed-in user, "" when signed out
	IsAdmin    bool
	IsOperator bool // sees the job queue every workspace shares
}

// LoginPage is the sign-in form.
type LoginPage struct {
	Chrome
	Email   string
	Next    string
	Error   string
	NoUsers bool
}

// HomePage is the dashboard landing page.
type HomePage struct {
	Chrome
	Workspace string
	Connected bool
	// Sources names the connected providers ("Azure DevOps", "GitHub").
	Sources []string
}

// ErrorPage is shown to browsers for failed page requests.
type ErrorPage struct {
	Chrome
	Status  int
	Message string
	Hint    string
}

// render executes a page template into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func render(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := templates[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// RenderError writes an error page.
func RenderError(w http.ResponseWriter, p ErrorPage) {
	if p.Chrome.Title == "" {
		p.Chrome.Title = http.StatusText(p.Status)
	}
	var buf bytes.Buffer
	if err := templates["error.html"].ExecuteTemplate(&buf, "layout", p); err != nil {
		_, _ = w.Write([]byte(p.Message))
		return
	}
	_, _ = buf.WriteTo(w)
}

// Pages holds what the page handlers need.
type Pages struct {
	DB           *store.DB
	Auth         *auth.Service
	Integrations *integration.Service
	GitHub       *integration.GitHub
	Comments     *prcomment.Service
	BackfillDays int
	Secure       bool // set the Secure flag on cookies (https)
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (PANDEV_TRUSTED_PROXIES); from anyone else it is ignored.
	TrustedProxies []netip.Prefix
}

func chrome(title string, p auth.Principal) Chrome {
	return Chrome{Title: title, User: p.User.Email, IsAdmin: p.IsAdmin(), IsOperator: p.IsOperator()}
}

// ShowLogin renders the sign-in form.
func (h *Pages) ShowLogin(w http.ResponseWriter, r *http.Request) error {
	n, err := h.DB.CountUsers(r.Context())
	if err != nil {
		return err
	}
	return render(w, http.StatusOK, "login.html", LoginPage{Chrome: Chrome{Title: "Sign in"},
		Next: safeNext(r.URL.Query().Get("next")), NoUsers: n == 0})
}

// Login checks the form and starts a session.
func (h *Pages) Login(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("next"))
	cookie, _, err := h.Auth.Login(r.Context(), email, r.PostFormValue("password"), ClientAddr(r, h.TrustedProxies))
	if k := delivery.KindOf(err); k == delivery.KindUnauthorized || k == delivery.KindRateLimited {
		status := http.StatusUnauthorized
		if k == delivery.KindRateLimited {
			status = http.StatusTooManyRequests
			if s := delivery.RetryAfterSeconds(err); s > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(s))
			}
		}
		de := err.(*delivery.Error)
		msg := de.Message
		if de.Hint != "" {
			msg += ": " + de.Hint
		}
		return render(w, status, "login.html", LoginPage{Chrome: Chrome{Title: "Sign in"}, Email: email, Next: next, Error: msg})
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, auth.SessionCookieFor(cookie, h.Secure))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// Logout ends the session.
func (h *Pages) Logout(w http.ResponseWriter, r *http.Request) error {
	if p, ok := auth.FromContext(r.Context()); ok && p.SessionID != "" {
		if err := h.Auth.Logout(r.Context(), p.SessionID); err != nil {
			return err
		}
	}
	http.SetCookie(w, auth.ClearedSessionCookie(h.Secure))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// Home renders the landing page of the caller's workspace.
func (h *Pages) Home(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	ws, err := h.DB.GetWorkspace(r.Context(), p.WorkspaceID())
	if err != nil {
		return err
	}
	ins, err := h.DB.ListIntegrations(r.Context(), ws.ID, "")
	if err != nil {
		return err
	}
	page := HomePage{Chrome: chrome("Dashboard", p), Workspace: ws.Name, Connected: len(ins) > 0}
	for _, in := range ins {
		name := map[string]string{"azure-devops": "Azure DevOps", "github": "GitHub"}[in.Provider]
		if name != "" && !slices.Contains(page.Sources, name) {
			page.Sources = append(page.Sources, name)
		}
	}
	return render(w, http.StatusOK, "home.html", page)
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}

// clientAddr is the client's IP, for the login rate limit.
// ClientAddr is the address sign-in limits count a request by: the
// connection's, unless it comes from a trusted proxy; then the nearest
// address in X-Forwarded-For that is not a trusted proxy (walking from the
// right: the entries on the left are whatever the client wrote). Behind a
// proxy without PANDEV_TRUSTED_PROXIES every user shares the proxy's limit.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	host := r.RemoteAddr
	if ap, err := netip.ParseAddrPort(host); err == nil {
		host = ap.Addr().Unmap().String()
	} else if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	if !isTrusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		if !isTrusted(h) {
			if a, err := netip.ParseAddr(h); err == nil {
				return a.Unmap().String()
			}
			return host // not an address: the proxy's own is what we know
		}
	}
	return host
}
