package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pandev-metrics/pandev/internal/api"
	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

func newServer(t *testing.T, db *store.DB) *Server {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Deps{DB: db, Auth: auth.NewService(db, logger, time.Now), Logger: logger, Registry: prometheus.NewRegistry()})
}

func TestReadyzIs503UntilMigrated(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := newServer(t, db)
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 503 || !strings.Contains(body, "migrations are not applied") {
		t.Fatalf("before migration: %d %s", code, body)
	}
	if err := db.Migrate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(); code != 200 {
		t.Fatalf("after migration: %d", code)
	}
	db.Close()
	if code, body := get(); code != 503 || !strings.Contains(body, "database does not answer") {
		t.Fatalf("closed database: %d %s", code, body)
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		secret string
	}{
		{"invalid", delivery.Errorf(delivery.KindInvalid, "bad field"), 400, "invalid", ""},
		{"not found", delivery.ErrNotFound, 404, "not_found", ""},
		{"rate limited", delivery.Errorf(delivery.KindRateLimited, "slow"), 429, "rate_limited", ""},
		{"upstream", delivery.Errorf(delivery.KindUpstream, "azure said no"), 502, "upstream", ""},
		{"internal detail hidden", delivery.Errorf(delivery.KindInternal, "boom").Wrap(io.ErrUnexpectedEOF), 500, "internal", "boom"},
		{"plain error hidden", io.ErrClosedPipe, 500, "internal", "closed pipe"},
		{"body too large", &http.MaxBytesError{Limit: 10}, 413, "too_large", ""},
		{"database restarting", fmt.Errorf("begin: %w", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}), 503, "unavailable", "starting up"},
		{"database shut down", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, 503, "unavailable", "administrator"},
		{"other database error stays internal", &pgconn.PgError{Code: "42P01", Message: "relation missing"}, 500, "internal", "relation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := classify(c.err)
			if status != c.status || body.Error.Code != c.code || body.Error.Hint == "" {
				t.Fatalf("got %d %+v", status, body)
			}
			if c.secret != "" && strings.Contains(body.Error.Message, c.secret) {
				t.Fatalf("internal detail leaked: %+v", body)
			}
		})
	}
	for k := range statusOf {
		if k != delivery.KindInternal && k != delivery.KindTooLarge && defaultHint[k] == "" {
			t.Errorf("kind %s has no default hint", k)
		}
	}
}

// TestOpenAPIDocumentsEveryAPIRoute keeps the API reference true: every
// route of the table under /api/v1 (and health) is in the document, and
// the document names no route the table lacks.
func TestOpenAPIDocumentsEveryAPIRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, storetest.OpenSQLite(t))
	inTable := map[string]bool{}
	for _, rt := range s.routes() {
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok || !(strings.HasPrefix(path, "/api/v1/") || strings.HasPrefix(path, "/v1/") || path == "/healthz" || path == "/readyz" || path == "/metrics") {
			continue
		}
		key := strings.ToLower(method) + " " + path
		inTable[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in openapi.json", rt.pattern)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !inTable[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which the route table lacks", method, path)
			}
		}
	}
}

func TestPanicsBecome500WithoutDetail(t *testing.T) {
	s := newServer(t, storetest.OpenSQLite(t))
	h := s.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("pat=supersecret") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/me", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "supersecret") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}

// TestMetricsToken: /metrics is open unless PANDEV_METRICS_TOKEN is set;
// then a scrape without the token, or with another, gets 401 with the fix,
// and one with it gets the figures.
func TestMetricsToken(t *testing.T) {
	db := storetest.OpenSQLite(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(Deps{DB: db, Auth: auth.NewService(db, logger, time.Now), Logger: logger, Registry: prometheus.NewRegistry(),
		MetricsToken: "scrape-me-please"})
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer guess", 401}, {"scrape-me-please", 401}, {"Bearer scrape-me-please", 200}} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, rec.Code, c.want)
		}
		if c.want == 401 && !strings.Contains(rec.Body.String(), "PANDEV_METRICS_TOKEN") {
			t.Errorf("a refused scrape does not name the fix: %s", rec.Body.String())
		}
	}
}
