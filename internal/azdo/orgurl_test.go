package azdo

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestParseOrgURL(t *testing.T) {
	tests := []struct {
		name, in    string
		base, org   string
		services    bool
		legacy      bool
		missingColl bool
		wantErr     string // substring of the message; "" = no error
	}{
		{name: "services", in: "https://dev.azure.com/acme", base: "https://dev.azure.com/acme", org: "acme", services: true},
		{name: "services trailing slash and spaces", in: "  https://dev.azure.com/acme/  ", base: "https://dev.azure.com/acme", org: "acme", services: true},
		{name: "services project and repo dropped", in: "https://dev.azure.com/acme/Web%20Shop/_git/api?path=/x#L1", base: "https://dev.azure.com/acme", org: "acme", services: true},
		{name: "services without scheme", in: "dev.azure.com/acme", base: "https://dev.azure.com/acme", org: "acme", services: true},
		{name: "services http upgraded", in: "http://DEV.AZURE.COM/acme", base: "https://dev.azure.com/acme", org: "acme", services: true},
		{name: "services without org", in: "https://dev.azure.com/", wantErr: "must include the organization"},
		{name: "legacy", in: "https://acme.visualstudio.com", base: "https://acme.visualstudio.com", org: "acme", services: true, legacy: true},
		{name: "legacy DefaultCollection", in: "https://Acme.visualstudio.com/DefaultCollection/Proj", base: "https://acme.visualstudio.com", org: "acme", services: true, legacy: true},
		{name: "legacy release host", in: "https://acme.vsrm.visualstudio.com", base: "https://acme.visualstudio.com", org: "acme", services: true, legacy: true},
		{name: "server collection", in: "https://azuredevops.acme.example/DefaultCollection", base: "https://azuredevops.acme.example/DefaultCollection", org: "DefaultCollection"},
		{name: "server tfs port", in: "http://tfs:8080/tfs/DefaultCollection/", base: "http://tfs:8080/tfs/DefaultCollection", org: "DefaultCollection"},
		{name: "server project dropped", in: "https://tfs.example/tfs/Coll/Proj/_git/repo", base: "https://tfs.example/tfs/Coll", org: "Coll"},
		{name: "server collection with space", in: "https://tfs.example/My%20Coll", base: "https://tfs.example/My%20Coll", org: "My Coll"},
		{name: "server without collection", in: "https://azuredevops.acme.example", base: "https://azuredevops.acme.example", missingColl: true},
		{name: "server tfs without collection", in: "https://azuredevops.acme.example/tfs/", base: "https://azuredevops.acme.example/tfs", missingColl: true},
		{name: "server ipv6", in: "http://[::1]:8080/DefaultCollection", base: "http://[::1]:8080/DefaultCollection", org: "DefaultCollection"},
		{name: "empty", in: "   ", wantErr: "Organization URL is required"},
		{name: "ftp", in: "ftp://dev.azure.com/acme", wantErr: "must start with https://"},
		{name: "javascript", in: "javascript:alert(1)", wantErr: "must start with https://"},
		{name: "file", in: "file:///etc/passwd", wantErr: "must start with https://"},
		{name: "credentials", in: "https://me:hunter2@dev.azure.com/acme", wantErr: "must not contain a user name or password"},
		{name: "user only", in: "https://me@tfs.example/DefaultCollection", wantErr: "must not contain a user name or password"},
		{name: "no host", in: "https:///acme", wantErr: "no host"},
		{name: "bad port", in: "https://tfs.example:http/DefaultCollection", wantErr: "not a valid URL"},
		{name: "garbage", in: "https://%zz/acme", wantErr: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOrgURL(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseOrgURL(%q) = %+v, want error %q", tt.in, got, tt.wantErr)
				}
				if delivery.KindOf(err) != delivery.KindInvalid || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v (kind %s), want KindInvalid containing %q", err, delivery.KindOf(err), tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error repeats the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOrgURL(%q): %v", tt.in, err)
			}
			if got.Base != tt.base || got.Name != tt.org || got.Services != tt.services || got.Legacy != tt.legacy || got.MissingCollection() != tt.missingColl {
				t.Fatalf("ParseOrgURL(%q) = %+v (missing collection %v), want base %q org %q services %v legacy %v missing %v",
					tt.in, got, got.MissingCollection(), tt.base, tt.org, tt.services, tt.legacy, tt.missingColl)
			}
		})
	}
}

func FuzzParseOrgURL(f *testing.F) {
	for _, s := range []string{"https://dev.azure.com/acme", "acme.visualstudio.com/DefaultCollection",
		"http://tfs:8080/tfs/DefaultCollection", "https://u:p@host/x", "ftp://x", "https://h/%20/_apis", "[::1]:80/c",
		"https://dev.azure.com//_git", "http://host:99999/c", "HTTPS://Host/Tfs/Coll/Proj"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseOrgURL(in)
		if err != nil {
			var de *delivery.Error
			if !errors.As(err, &de) || de.Kind != delivery.KindInvalid || de.Message == "" {
				t.Fatalf("error %v is not a KindInvalid *delivery.Error", err)
			}
			if u, perr := url.Parse(in); perr == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) > 3 && strings.Contains(de.Message+de.Hint, p) {
					t.Fatalf("error repeats the password %q: %v", p, err)
				}
			}
			return
		}
		u, perr := url.Parse(got.Base)
		if perr != nil {
			t.Fatalf("Base %q does not parse: %v", got.Base, perr)
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			t.Fatalf("Base %q has scheme %q", got.Base, u.Scheme)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(got.Base, "/") {
			t.Fatalf("Base %q is not normalized", got.Base)
		}
		again, err := ParseOrgURL(got.Base)
		if err != nil || again.Base != got.Base || again.Name != got.Name || again.Host != got.Host ||
			again.Services != got.Services || again.Legacy != got.Legacy {
			t.Fatalf("ParseOrgURL(Base) = %+v, %v; want %+v (idempotent)", again, err, got)
		}
	})
}

// TestInDirectory: a Server deployment under an IIS virtual directory other
// than tfs keeps its collection, which connectionData's
// webApplicationRelativeDirectory places after the directory.
func TestInDirectory(t *testing.T) {
	for _, tc := range []struct{ typed, dir, base, name string }{
		{"https://host/devops/Fabrikam", "/devops/", "https://host/devops/Fabrikam", "Fabrikam"},
		{"https://host/devops/Fabrikam/Project/_git/repo", "/devops/", "https://host/devops/Fabrikam", "Fabrikam"},
		{"https://host/Fabrikam/Project", "/", "https://host/Fabrikam", "Fabrikam"},
		{"https://host/tfs/Fabrikam", "/tfs/", "https://host/tfs/Fabrikam", "Fabrikam"},
		{"https://host/a/b/Coll", "/a/b/", "https://host/a/b/Coll", "Coll"},
		{"https://host/devops", "/devops/", "https://host/devops", ""},             // no collection: 404 names the fix
		{"https://host/Fabrikam", "/devops/", "https://host/Fabrikam", "Fabrikam"}, // not under it: unchanged
		{"https://dev.azure.com/acme", "/", "https://dev.azure.com/acme", "acme"},  // Services: unchanged
	} {
		u, err := ParseOrgURL(tc.typed)
		if err != nil {
			t.Fatal(err)
		}
		got := u.InDirectory(tc.dir)
		if got.Base != tc.base || got.Name != tc.name {
			t.Errorf("%s in %s = %s (%q), want %s (%q)", tc.typed, tc.dir, got.Base, got.Name, tc.base, tc.name)
		}
	}
}
