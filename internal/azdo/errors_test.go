package azdo

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestErrorMapping(t *testing.T) {
	html := []byte(`<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head></html>`)
	tests := []struct {
		name    string
		orgPath string // path of the Organization URL on the fake
		status  int
		ctype   string
		hdr     map[string]string
		body    []byte
		kind    delivery.Kind
		message string // exact, or prefix when it ends with "…"
		hint    string // substring
		typeKey string
		vssMsg  string
	}{
		{name: "401 TF400813", status: 401, body: sample(t, "error.401.TF400813.UnauthorizedRequestException.json"),
			kind: delivery.KindUnauthorized, message: msgUnauthorized, hint: hintUnauthorized,
			typeKey: "UnauthorizedRequestException", vssMsg: "TF400813: The user '' is not authorized to access this resource."},
		{name: "401 expired PAT", status: 401, body: sample(t, "error.401.pat-expired.AccessCheckException.json"),
			kind: delivery.KindUnauthorized, message: msgUnauthorized, hint: hintUnauthorized,
			typeKey: "AccessCheckException", vssMsg: "Access Denied: The Personal Access Token used has expired."},
		{name: "401 without body, service error header", status: 401, body: nil,
			hdr:  map[string]string{"X-TFS-ServiceError": "TF400813%3A+Resource+not+available+for+anonymous+access."},
			kind: delivery.KindUnauthorized, message: msgUnauthorized, vssMsg: "TF400813: Resource not available for anonymous access."},
		{name: "203 sign-in page", status: 203, ctype: "text/html", body: html,
			kind: delivery.KindUnauthorized, message: msgUnauthorized},
		{name: "302 to sign-in", status: 302, hdr: map[string]string{"Location": "/_signin?realm=x", "X-TFS-FedAuthRedirect": "https://app.vssps.visualstudio.com/_signin"},
			kind: delivery.KindUnauthorized, message: msgUnauthorized},
		{name: "AccessCheckException on 400", status: 400, body: vssJSON(400, "AccessCheckException", "Access Denied"),
			kind: delivery.KindUnauthorized, message: msgUnauthorized},
		{name: "403 names the permission", status: 403, body: vssJSON(403, "UnauthorizedRequestException", "TF400813: no"),
			kind: delivery.KindForbidden, message: `Azure DevOps denied listing repositories: the account needs the "Read (Git repositories)" permission`},
		{name: "404 server without collection", orgPath: "", status: 404, ctype: "text/html", body: []byte("<h1>404</h1>"),
			kind: delivery.KindInvalid, message: "For Azure DevOps Server, the Organization URL must include the collection, e.g. http://…",
			hint: "Without the collection segment, the REST API returns 404."},
		{name: "404 with collection", status: 404, body: vssJSON(404, "ProjectDoesNotExistWithNameException", "TF200016: The following project does not exist: P."),
			kind: delivery.KindNotFound, message: "Azure DevOps found nothing at listing repositories: TF200016: The following project does not exist: P.",
			typeKey: "ProjectDoesNotExistWithNameException"},
		{name: "429", status: 429, hdr: map[string]string{"Retry-After": "3600"}, body: vssJSON(429, "RequestBlockedException", "TF400733: The request has been canceled"),
			kind: delivery.KindRateLimited, message: "Azure DevOps rate limit reached; retry at 2026-03-02 11:00:00 UTC"},
		{name: "400 VSS message", status: 400, body: sample(t, "error.400.vss-exception.json"),
			kind: delivery.KindUpstream, message: "Azure DevOps rejected listing repositories (HTTP 400): Input parameter '9b71f216-4c4f-6b74-a911-efb0fa9c777f' is not a valid local id.",
			typeKey: "InvalidGetDescriptorRequestException"},
		{name: "400 BOM and improper value form", status: 400, body: append([]byte{0xEF, 0xBB, 0xBF}, `{"count":1,"value":{"Message":"bad thing"}}`...),
			kind: delivery.KindUpstream, message: "Azure DevOps rejected listing repositories (HTTP 400): bad thing"},
		{name: "409 text/plain is described, not quoted", status: 409, ctype: "text/plain", body: []byte("conflicting thing"),
			kind: delivery.KindUpstream, message: "The server at 127.0.0.1…", hint: "Check the Organization URL"},
		{name: "500 after retries", status: 500, body: vssJSON(500, "InternalServerErrorException", "TF400898: An Internal Error Occurred."),
			kind: delivery.KindUnavailable, message: "Azure DevOps at 127.0.0.1 failed (HTTP 500) while listing repositories: TF400898: An Internal Error Occurred."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.on("", "", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.hdr {
					w.Header().Set(k, v)
				}
				ct := tt.ctype
				if ct == "" {
					ct = "application/json; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(tt.status)
				w.Write(tt.body)
			})
			orgPath := "/acme"
			if tt.name == "404 server without collection" {
				orgPath = tt.orgPath
			}
			c, _ := newClient(t, f, ServicesDeployment, func(o *Options) {
				o.OrgURL = f.url(orgPath)
				o.Retry.MaxRetries = 1
			})
			_, err := c.Repositories(context.Background(), "P")
			var de *delivery.Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *delivery.Error", err)
			}
			if de.Kind != tt.kind {
				t.Fatalf("kind = %s, want %s (%v)", de.Kind, tt.kind, err)
			}
			if p, ok := strings.CutSuffix(tt.message, "…"); ok {
				if !strings.HasPrefix(de.Message, p) {
					t.Fatalf("message = %q, want prefix %q", de.Message, p)
				}
			} else if de.Message != tt.message {
				t.Fatalf("message = %q, want %q", de.Message, tt.message)
			}
			if !strings.Contains(de.Hint, tt.hint) {
				t.Fatalf("hint = %q, want it to contain %q", de.Hint, tt.hint)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || (tt.typeKey != "" && ae.TypeKey != tt.typeKey) || (tt.vssMsg != "" && ae.Message != tt.vssMsg) {
				t.Fatalf("APIError = %+v, want status %d typeKey %q message %q", ae, tt.status, tt.typeKey, tt.vssMsg)
			}
		})
	}
}

func TestRequestHeaders(t *testing.T) {
	f := newFake(t)
	f.json("", "", 200, []byte(`{"count":0,"value":[]}`))
	c, _ := newClient(t, f, ServicesDeployment)
	ctx := context.Background()
	c.Repositories(ctx, "P")
	c.Wiql(ctx, "P", "SELECT [System.Id] FROM WorkItems", 1)
	c.DeleteSubscription(ctx, "x")
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+testPAT))
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	session := reqs[0].Header.Get("X-TFS-Session")
	for _, r := range reqs {
		if r.Header.Get("Authorization") != want {
			t.Errorf("%s %s: Authorization is not Basic with an empty user", r.Method, r.Path)
		}
		if r.Header.Get("X-TFS-FedAuthRedirect") != "Suppress" {
			t.Errorf("%s %s: X-TFS-FedAuthRedirect = %q", r.Method, r.Path, r.Header.Get("X-TFS-FedAuthRedirect"))
		}
		if r.Header.Get("X-TFS-Session") != session || len(session) != 36 {
			t.Errorf("%s %s: session %q, want one fixed GUID", r.Method, r.Path, r.Header.Get("X-TFS-Session"))
		}
	}
	if ct := reqs[1].Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("POST Content-Type = %q", ct)
	}
}

// TestPATNeverLeaks drives every failure path with a logger at debug level
// and checks neither the PAT nor its Basic encoding shows up anywhere.
func TestPATNeverLeaks(t *testing.T) {
	encoded := base64.StdEncoding.EncodeToString([]byte(":" + testPAT))
	log, buf := logBuffer()
	var errs []error
	for _, status := range []int{203, 302, 400, 401, 403, 404, 429, 500} {
		f := newFake(t)
		f.on("", "", func(w http.ResponseWriter, r *http.Request) {
			// A hostile server echoing the credentials back must not leak them either… through our messages.
			w.Header().Set("Location", "/_signin")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(status)
			w.Write(vssJSON(status, "X", "error for "+r.Method))
		})
		c, _ := newClient(t, f, ServicesDeployment, func(o *Options) { o.Logger = log; o.Retry.MaxRetries = 1 })
		_, err := c.Repositories(context.Background(), "P")
		errs = append(errs, err)
		_, err = c.CreateThread(context.Background(), "P", "r", 1, NewThread{Content: "x"})
		errs = append(errs, err)
		_, err = c.Detect(context.Background())
		errs = append(errs, err)
	}
	// Transport failures: nothing listening.
	c, err := New(Options{OrgURL: "http://127.0.0.1:1/acme", PAT: secretPAT(), Hosts: testHosts, Logger: log, Deployment: ServicesDeployment,
		Clock: newFakeClock(), Retry: RetryPolicy{MaxRetries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Repositories(context.Background(), "P")
	errs = append(errs, err)
	_, err = New(Options{OrgURL: "https://user:" + testPAT + "@dev.azure.com/acme", PAT: secretPAT()})
	errs = append(errs, err)

	for _, e := range errs {
		if e == nil {
			t.Fatal("expected an error")
		}
		for _, s := range []string{e.Error(), formatAll(e)} {
			if strings.Contains(s, testPAT) || strings.Contains(s, encoded) {
				t.Fatalf("error leaks the PAT: %s", s)
			}
		}
	}
	if out := buf.String(); strings.Contains(out, testPAT) || strings.Contains(out, encoded) || out == "" {
		t.Fatalf("logs leak the PAT (or are empty): %s", out)
	}
}

func formatAll(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		b.WriteString(e.Error())
		var de *delivery.Error
		if errors.As(e, &de) {
			b.WriteString(de.Message + de.Hint)
		}
	}
	return b.String()
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New(Options{OrgURL: "https://dev.azure.com/acme"}); delivery.KindOf(err) != delivery.KindInvalid ||
		!strings.Contains(err.Error(), "Personal access token") {
		t.Fatalf("empty PAT: %v", err)
	}
	if _, err := New(Options{OrgURL: "ftp://x", PAT: secretPAT()}); delivery.KindOf(err) != delivery.KindInvalid {
		t.Fatalf("bad URL: %v", err)
	}
}
