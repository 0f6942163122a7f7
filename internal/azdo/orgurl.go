package azdo

import (
	"net/url"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/netguard"
)

// OrgURL is a validated, normalized organization (Services) or collection
// (Server) URL: the base every REST path is appended to.
type OrgURL struct {
	// Base is scheme://host[:port][/tfs]/{org|collection}, without a trailing slash.
	Base string
	// Host is the lower-cased host name, without the port.
	Host string
	// Name is the organization (Services) or collection (Server). It is
	// empty for a Server URL that lacks the collection.
	Name string
	// Services reports a known Azure DevOps Services host (dev.azure.com or
	// *.visualstudio.com). Any other host is assumed to be Azure DevOps
	// Server until Client.Detect says otherwise.
	Services bool
	// Legacy reports the {org}.visualstudio.com form.
	Legacy bool

	// root is scheme://host[:port] and path the typed path segments joined
	// by "/" (Server): with the deployment's virtual directory, known from
	// connectionData, they say which segment is the collection.
	root, path string
}

// String returns Base.
func (u OrgURL) String() string { return u.Base }

// MissingCollection reports a Server URL without its collection segment,
// which makes every project-scoped API answer 404 (PROTOCOL §1).
func (u OrgURL) MissingCollection() bool { return !u.Services && u.Name == "" }

// ParseOrgURL validates and normalizes the Organization URL an admin typed.
//
// Accepted forms (PROTOCOL §1): https://dev.azure.com/{org},
// https://{org}.visualstudio.com[/DefaultCollection], and for Server
// http(s)://host[:port][/tfs]/{collection}. A URL without a scheme is read as
// https. Anything after the organization or collection (a project, _git/…,
// a query) is dropped, since the API base must end there. Credentials in the
// URL and schemes other than http and https are rejected. The error is a
// *delivery.Error of KindInvalid naming the field, and it never repeats a
// password that was typed into the URL.
func ParseOrgURL(raw string) (OrgURL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return OrgURL{}, invalidURL("Organization URL is required", hintForms)
	}
	if !strings.Contains(raw, "://") {
		if i := strings.IndexAny(raw, ":/"); i >= 0 && raw[i] == ':' && !netguard.ValidPort(strings.SplitN(raw[i+1:], "/", 2)[0]) {
			// "ftp:host" or "mailto:x": a scheme without slashes.
			return OrgURL{}, invalidURL("Organization URL must start with https:// (or http:// for Azure DevOps Server)", hintForms)
		}
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			// url.Error would quote the URL, password included.
			return OrgURL{}, invalidURL("Organization URL must not contain a user name or password", hintNoCredentials)
		}
		return OrgURL{}, invalidURL("Organization URL is not a valid URL", hintForms)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return OrgURL{}, invalidURL("Organization URL must start with https:// (or http:// for Azure DevOps Server)", hintForms)
	}
	if u.User != nil {
		return OrgURL{}, invalidURL("Organization URL must not contain a user name or password", hintNoCredentials)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return OrgURL{}, invalidURL("Organization URL has no host name", hintForms)
	}
	if strings.ContainsAny(host, " %\\") || strings.Trim(host, ".") == "" {
		return OrgURL{}, invalidURL("Organization URL has an invalid host name", hintForms)
	}
	port := u.Port()
	if port != "" && !netguard.ValidPort(port) {
		return OrgURL{}, invalidURL("Organization URL has an invalid port", hintForms)
	}
	segs := pathSegments(u)

	out := OrgURL{Host: host}
	switch {
	case host == "dev.azure.com":
		if len(segs) == 0 {
			return OrgURL{}, invalidURL("Organization URL must include the organization, e.g. https://dev.azure.com/<your-org>", hintForms)
		}
		out.Services, out.Name = true, segs[0]
		out.Base = "https://dev.azure.com/" + url.PathEscape(segs[0])
	case strings.HasSuffix(host, ".visualstudio.com"):
		org := strings.TrimSuffix(host, ".visualstudio.com")
		org = strings.TrimSuffix(org, ".vsrm")
		if org == "" || strings.Contains(org, ".") {
			return OrgURL{}, invalidURL("Organization URL must be https://<your-org>.visualstudio.com or https://dev.azure.com/<your-org>", "")
		}
		out.Services, out.Legacy, out.Name = true, true, org
		out.Base = "https://" + org + ".visualstudio.com"
	default:
		hostport := host
		if strings.Contains(host, ":") {
			hostport = "[" + host + "]" // IPv6 literal
		}
		if port != "" {
			hostport += ":" + port
		}
		base := scheme + "://" + hostport
		out.root, out.path = base, strings.Join(segs, "/")
		if len(segs) > 0 && strings.EqualFold(segs[0], "tfs") {
			base += "/" + url.PathEscape(segs[0])
			segs = segs[1:]
		}
		if len(segs) > 0 {
			out.Name = segs[0]
			base += "/" + url.PathEscape(segs[0])
		}
		out.Base = base
	}
	return out, nil
}

// InDirectory places the collection after a Server deployment's virtual
// directory (connectionData's webApplicationRelativeDirectory: "/",
// "/tfs/", "/devops/"…): https://host/devops/Fabrikam is the collection
// Fabrikam of the deployment at /devops/, where the URL alone reads
// "devops" as the collection. A URL that does not start with the directory
// is returned unchanged; one that ends with it has no collection.
func (u OrgURL) InDirectory(dir string) OrgURL {
	if u.Services || u.root == "" {
		return u
	}
	path := strings.Split(u.path, "/")
	var dirSegs []string
	for _, s := range strings.Split(dir, "/") {
		if s != "" {
			dirSegs = append(dirSegs, s)
		}
	}
	if len(dirSegs) > len(path) {
		return u
	}
	for i, s := range dirSegs {
		if !strings.EqualFold(s, path[i]) {
			return u
		}
	}
	out := u
	out.Base, out.Name = u.root, ""
	for _, s := range dirSegs {
		out.Base += "/" + url.PathEscape(s)
	}
	if len(path) > len(dirSegs) && path[len(dirSegs)] != "" {
		out.Name = path[len(dirSegs)]
		out.Base += "/" + url.PathEscape(out.Name)
	}
	return out
}

const hintNoCredentials = "Remove the user name and password from the URL and paste the token into the Personal access token field."

func invalidURL(msg, hint string) error {
	return &delivery.Error{Kind: delivery.KindInvalid, Message: msg, Hint: hint}
}

// pathSegments returns the unescaped path segments up to the first one
// starting with "_" (_apis, _git, _build…): those are pages under a project,
// never part of the base.
func pathSegments(u *url.URL) []string {
	var segs []string
	for _, s := range strings.Split(u.EscapedPath(), "/") {
		if s == "" {
			continue
		}
		if v, err := url.PathUnescape(s); err == nil {
			s = v
		}
		if strings.HasPrefix(s, "_") {
			break
		}
		segs = append(segs, s)
	}
	return segs
}

// hintForms shows the accepted URL forms.
const hintForms = "Use https://dev.azure.com/<your-org> for Services or https://<host>/<collection> for Server."
