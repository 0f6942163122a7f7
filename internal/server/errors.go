package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/web"
)

// statusOf is the one mapping from error kinds to HTTP statuses.
var statusOf = map[delivery.Kind]int{
	delivery.KindInvalid:      http.StatusBadRequest,
	delivery.KindUnauthorized: http.StatusUnauthorized,
	delivery.KindForbidden:    http.StatusForbidden,
	delivery.KindNotFound:     http.StatusNotFound,
	delivery.KindConflict:     http.StatusConflict,
	delivery.KindTooLarge:     http.StatusRequestEntityTooLarge,
	delivery.KindRateLimited:  http.StatusTooManyRequests,
	delivery.KindUnavailable:  http.StatusServiceUnavailable,
	delivery.KindUpstream:     http.StatusBadGateway,
	delivery.KindPrecondition: http.StatusConflict,
	delivery.KindInternal:     http.StatusInternalServerError,
}

// defaultHint is said when an error carries no hint of its own.
var defaultHint = map[delivery.Kind]string{
	delivery.KindInvalid:      "check the request against the API reference at /api/v1/openapi.json",
	delivery.KindUnauthorized: "sign in, or send Authorization: Bearer <token>",
	delivery.KindForbidden:    "ask an admin of your workspace",
	delivery.KindNotFound:     "check the id: it may have been deleted",
	delivery.KindConflict:     "reload and try again",
	delivery.KindRateLimited:  "wait a moment and try again",
	delivery.KindUnavailable:  "try again shortly",
	delivery.KindUpstream:     "check the integration's status page, then try again",
	delivery.KindPrecondition: "complete the earlier step first",
}

// ErrorBody is the JSON shape of every API error.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Hint    string `json:"hint,omitempty"`
	} `json:"error"`
}

// classify returns the status and the user-facing part of err. Internal
// errors show a fixed message: their detail goes to the log only.
func classify(err error) (int, ErrorBody) {
	var body ErrorBody
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = delivery.Errorf(delivery.KindTooLarge, "the request body is larger than %d bytes", mbe.Limit).
			WithHint("send a smaller body")
	}
	if store.Unavailable(err) {
		err = delivery.Errorf(delivery.KindUnavailable, "the database is not answering").
			WithHint("try again in a few seconds; if it persists, check that the database server is running").Wrap(err)
	}
	var de *delivery.Error
	if !errors.As(err, &de) || de.Kind == delivery.KindInternal {
		body.Error.Code = string(delivery.KindInternal)
		body.Error.Message = "something went wrong on our side"
		body.Error.Hint = "try again; if it persists, the server log has the details"
		return http.StatusInternalServerError, body
	}
	status, ok := statusOf[de.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	body.Error.Code, body.Error.Message, body.Error.Hint = string(de.Kind), de.Message, de.Hint
	if body.Error.Hint == "" {
		body.Error.Hint = defaultHint[de.Kind]
	}
	return status, body
}

// writeError answers with err: JSON for API and machine clients, a plain
// page for browsers. Only 5xx are logged, with the internal detail.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	status, body := classify(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if s := delivery.RetryAfterSeconds(err); s > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	if status >= 500 {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized && wantsHTML(r) {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if wantsHTML(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		web.RenderError(w, web.ErrorPage{Status: status, Message: body.Error.Message, Hint: body.Error.Hint})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// wantsHTML tells browser page requests from API calls.
func wantsHTML(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/v1/") {
		return false
	}
	return r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html")
}
