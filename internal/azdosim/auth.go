package azdosim

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// pat is one personal access token: a scope set, an organization and an expiry.
type pat struct {
	token   string
	scopes  map[string]bool // nil = full access
	org     string
	expires time.Time
	user    int // identity index
}

type authStore struct {
	mu   sync.RWMutex
	o    *org
	pats map[string]*pat
	n    int
}

func newAuthStore(o *org) *authStore { return &authStore{o: o, pats: map[string]*pat{}} }

// AllScopes are the PAT scopes the simulator knows. A token created without scopes has all.
var AllScopes = []string{"vso.project", "vso.profile", "vso.code", "vso.code_write", "vso.code_full",
	"vso.threads_full", "vso.build", "vso.build_execute", "vso.release", "vso.release_execute",
	"vso.work", "vso.work_write", "vso.work_full", "vso.environment_manage", "vso.hooks", "vso.hooks_write"}

// ManualScopes are the four scopes of the user manual's Step 1: Code: Read,
// Pull Request Threads: Read & write, Build: Read, Work Items: Read.
var ManualScopes = []string{"vso.code", "vso.threads_full", "vso.build", "vso.work"}

// Implied scopes: a broader scope grants the narrower one ("Scope
// inheritance: some scopes include others, e.g. vso.code_manage includes
// vso.code_write", Microsoft's OAuth scopes page). No other inheritance is
// assumed: vso.environment_manage does not grant vso.build.
var impliedScopes = map[string][]string{
	"vso.code_write":      {"vso.code"},
	"vso.code_manage":     {"vso.code", "vso.code_write"},
	"vso.code_full":       {"vso.code", "vso.code_write", "vso.code_manage", "vso.threads_full"},
	"vso.build_execute":   {"vso.build"},
	"vso.release_execute": {"vso.release"},
	"vso.release_manage":  {"vso.release", "vso.release_execute"},
	"vso.work_write":      {"vso.work"},
	"vso.work_full":       {"vso.work", "vso.work_write"},
	"vso.project_write":   {"vso.project"},
	"vso.project_manage":  {"vso.project", "vso.project_write"},
	"vso.hooks_write":     {"vso.hooks"},
}

func (a *authStore) add(scopes []string, orgName string, expires time.Time) string {
	var raw [32]byte
	rand.Read(raw[:])
	token := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))[:52]
	p := &pat{token: token, org: orgName, expires: expires}
	if orgName == "" {
		p.org = a.o.name
	}
	p.scopes = expandScopes(scopes)
	a.mu.Lock()
	p.user = a.n % len(a.o.idents)
	a.n++
	a.pats[token] = p
	a.mu.Unlock()
	return token
}

func (a *authStore) setScopes(token string, scopes []string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pats[token]
	if p == nil {
		return fmt.Errorf("azdosim: no such PAT")
	}
	edited := *p // requests in flight keep the scopes they were checked with
	edited.scopes = expandScopes(scopes)
	a.pats[token] = &edited
	return nil
}

// expandScopes is the set a PAT created with scopes has (nil: every scope).
func expandScopes(scopes []string) map[string]bool {
	if scopes == nil {
		return nil
	}
	out := map[string]bool{}
	for _, sc := range scopes {
		out[sc] = true
		for _, imp := range impliedScopes[sc] {
			out[imp] = true
		}
	}
	return out
}

func (p *pat) has(scopes []string) bool {
	if p.scopes == nil || len(scopes) == 0 {
		return true
	}
	for _, s := range scopes {
		if p.scopes[s] {
			return true
		}
	}
	return false
}

// authResult is what authenticate found.
type authResult int

const (
	authOK authResult = iota
	authAnonymous
	authInvalid
	authExpired
	authWrongOrg
)

func (a *authStore) authenticate(r *http.Request, now time.Time) (*pat, authResult) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, authAnonymous
	}
	kind, cred, ok := strings.Cut(h, " ")
	if !ok {
		return nil, authInvalid
	}
	var token string
	switch strings.ToLower(kind) {
	case "basic":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return nil, authInvalid
		}
		_, token, _ = strings.Cut(string(b), ":")
	case "bearer":
		token = strings.TrimSpace(cred)
	default:
		return nil, authInvalid
	}
	a.mu.RLock()
	p := a.pats[token]
	a.mu.RUnlock()
	switch {
	case p == nil:
		return nil, authInvalid
	case !p.expires.IsZero() && now.After(p.expires):
		return p, authExpired
	case !strings.EqualFold(p.org, a.o.name):
		return p, authWrongOrg
	}
	return p, authOK
}

// authFailure renders what the real service answers for a caller it does not accept. Services
// without X-TFS-FedAuthRedirect: Suppress redirects to the sign-in page (which answers 203 HTML);
// with it, and always on Server, the answer is 401 with a VSS JSON body.
func (s *Sim) authFailure(w http.ResponseWriter, r *http.Request, res authResult, p *pat) {
	if !s.isServer() && !strings.EqualFold(r.Header.Get("X-TFS-FedAuthRedirect"), "Suppress") && r.Method != http.MethodPatch {
		signin := s.baseURL + "/_signin?realm=" + url.QueryEscape(r.Host) + "&reply_to=" + url.QueryEscape(s.baseURL+r.URL.RequestURI()) +
			"&redirect=1&hid=" + s.org.hostID
		w.Header().Set("X-TFS-FedAuthRedirect", signin)
		w.Header().Set("X-TFS-ProcessId", s.org.instanceID)
		http.Redirect(w, r, signin, http.StatusFound)
		return
	}
	s.write401(w, unauthorized(res, p, s.org))
}

// write401 sends a 401 with the challenge headers the service adds.
func (s *Sim) write401(w http.ResponseWriter, e *vssError) {
	h := w.Header()
	h.Add("WWW-Authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/common")
	h.Add("WWW-Authenticate", `Basic realm="`+s.baseURL+`/"`)
	if s.isServer() {
		h.Add("WWW-Authenticate", "Negotiate")
		h.Add("WWW-Authenticate", "NTLM")
		h.Set("X-TFS-SoapException", url.QueryEscape(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope><soap:Body><soap:Fault><faultstring>`+e.message+`</faultstring></soap:Fault></soap:Body></soap:Envelope>`))
	}
	h.Set("X-TFS-ServiceError", url.QueryEscape(e.message))
	writeVSS(w, e, "")
}

func unauthorized(res authResult, p *pat, o *org) *vssError {
	switch res {
	case authExpired:
		return &vssError{status: 401, typeKey: "AccessCheckException",
			typeName: "Microsoft.VisualStudio.Services.Security.AccessCheckException, Microsoft.VisualStudio.Services.WebApi",
			message:  "Access Denied: The Personal Access Token used has expired.",
			custom: obj{"Descriptor": nil, "IdentityDisplayName": nil, "Token": nil, "RequestedPermissions": 0,
				"NamespaceId": "00000000-0000-0000-0000-000000000000"}}
	case authWrongOrg:
		// A PAT scoped to another organization is seen as the anonymous user here.
		return tf400813(anonymousUserID)
	default:
		return tf400813("")
	}
}

func tf400813(user string) *vssError {
	return &vssError{status: 401, typeKey: "UnauthorizedRequestException",
		typeName: "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
		message:  "TF400813: The user '" + user + "' is not authorized to access this resource."}
}

// signinPage is where the 302 lands; the real page answers 203 Non-Authoritative Information.
func (s *Sim) signinPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNonAuthoritativeInfo)
	w.Write([]byte(`<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body><form id="signin">Sign in to continue to Azure DevOps</form></body></html>`))
}

// anonymousUserID is the identity the service reports for an anonymous caller (connectionData's
// authenticatedUser; a PAT of another organization is seen as it: PROTOCOL §2).
const anonymousUserID = "aa442b8d-cd20-4dbc-9e4b-b5e6e0e4c2a5"
