package azdosim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// obj is a JSON object as the service renders it.
type obj = map[string]any

// rq is one REST request after routing: path variables, lower-cased query, the caller and the
// negotiated api-version.
type rq struct {
	s          *Sim
	w          http.ResponseWriter
	r          *http.Request
	vars       map[string]string
	q          map[string]string
	qs         url.Values
	proj       *project
	pat        *pat
	apiVersion string
	rt         *route
	status     int
	// releaseHost: the request came to the release host (vsrm) of Services mode.
	releaseHost bool
	// dir is the deployment's directory the request came through ("/", "/tfs/", "/<vdir>/").
	dir string
}

// vssError is an error rendered as the VSS exception body the real service sends.
type vssError struct {
	status   int
	typeKey  string
	typeName string
	message  string
	custom   map[string]any
	headers  map[string]string
}

func (e *vssError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.typeKey, e.message) }

func (e *vssError) body() obj {
	b := obj{"$id": "1", "innerException": nil, "message": e.message, "typeName": e.typeName,
		"typeKey": e.typeKey, "errorCode": 0, "eventId": 3000}
	if e.custom != nil {
		b["customProperties"] = e.custom
	}
	return b
}

func notFound(typeKey, assembly, msg string) *vssError {
	return &vssError{status: 404, typeKey: typeKey, typeName: assembly, message: msg}
}

func badRequest(msg string) *vssError {
	return &vssError{status: 400, typeKey: "ArgumentException", typeName: "System.ArgumentException, mscorlib", message: msg}
}

func projectNotFound(name string) *vssError {
	return notFound("ProjectDoesNotExistWithNameException",
		"Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, Microsoft.TeamFoundation.Core.WebApi",
		"TF200016: The following project does not exist: "+name+". Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.")
}

func repoNotFound(name string) *vssError {
	return notFound("GitRepositoryNotFoundException",
		"Microsoft.TeamFoundation.Git.Server.GitRepositoryNotFoundException, Microsoft.TeamFoundation.Git.Server",
		"TF401019: The Git repository with name or identifier "+name+" does not exist or you do not have permissions for the operation you are attempting.")
}

func prNotFound() *vssError {
	return notFound("GitPullRequestNotFoundException",
		"Microsoft.TeamFoundation.Git.Server.GitPullRequestNotFoundException, Microsoft.TeamFoundation.Git.Server",
		"TF401180: The requested pull request was not found.")
}

// writeJSON renders v with the real content type (api-version echoed) and common headers.
func (q *rq) writeJSON(status int, v any) error {
	h := q.w.Header()
	ct := "application/json; charset=utf-8"
	if q.apiVersion != "" {
		ct += "; api-version=" + q.apiVersion
	}
	h.Set("Content-Type", ct)
	q.status = status
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	q.w.WriteHeader(status)
	_, err = q.w.Write(body)
	return err
}

func (q *rq) list(items []any) error {
	if items == nil {
		items = []any{} // an empty list is [], never null
	}
	return q.writeJSON(200, obj{"count": len(items), "value": items})
}

// query returns a query parameter, matching the key case-insensitively and accepting the
// searchCriteria. prefix being absent (as the service does for commits).
func (q *rq) query(keys ...string) string {
	for _, k := range keys {
		if v, ok := q.q[strings.ToLower(k)]; ok {
			return v
		}
	}
	return ""
}

// topSkip reads a list call's page size (default 100) and offset, each
// under the first of prefix+"top" / prefix+"skip" given: list calls spell
// them "$top", "searchCriteria.$top" or "top".
func (q *rq) topSkip(prefixes ...string) (top, skip int, err error) {
	tops, skips := make([]string, len(prefixes)), make([]string, len(prefixes))
	for i, p := range prefixes {
		tops[i], skips[i] = p+"top", p+"skip"
	}
	if top, err = q.queryInt(100, tops...); err != nil {
		return 0, 0, err
	}
	skip, err = q.queryInt(0, skips...)
	return top, skip, err
}

func (q *rq) queryInt(def int, keys ...string) (int, error) {
	v := q.query(keys...)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest(fmt.Sprintf("The value '%s' is not valid for %s.", v, keys[0]))
	}
	return n, nil
}

func (q *rq) queryTime(keys ...string) (int64, bool, error) {
	v := q.query(keys...)
	if v == "" {
		return 0, false, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return 0, false, badRequest(fmt.Sprintf("The value '%s' is not a valid date for %s.", v, keys[0]))
	}
	return t.Unix(), true, nil
}

// parseTime accepts RFC 3339 and the US-style dates the docs examples use.
func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "1/2/2006 3:04:05 PM", "1/2/2006"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", v)
}

func (q *rq) decode(v any) error {
	b, err := io.ReadAll(io.LimitReader(q.r.Body, 8<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &vssError{status: 400, typeKey: "VssPropertyValidationException",
			typeName: "Microsoft.VisualStudio.Services.Common.VssPropertyValidationException, Microsoft.VisualStudio.Services.Common",
			message:  "The request body could not be parsed: " + err.Error()}
	}
	return nil
}

// orgURL is the base URL links are rendered with.
func timeStr(t int64) string {
	if t == 0 {
		return ""
	}
	return time.Unix(t, 0).UTC().Format("2006-01-02T15:04:05Z")
}

func timeNano(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func b64(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

func itoa(n int) string { return strconv.Itoa(n) }
