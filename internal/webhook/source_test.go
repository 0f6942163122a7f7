package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

type countingEnqueuer struct{ n int }

func (c *countingEnqueuer) EnqueueEvents(ctx context.Context, tx *store.Tx, events []EventRef) error {
	c.n += len(events)
	return nil
}

func TestSourcesShareTheIngest(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		keys, err := secret.ParseKeys(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
		if err != nil {
			t.Fatal(err)
		}
		ws, err := db.EnsureWorkspace(ctx, "acme", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		integration := func(provider string) (string, string) {
			id, sec := store.NewID(), secret.Random(24)
			sealed, _ := keys.Seal(sec, store.WebhookSecretSealContext(id))
			if _, err := db.CreateIntegration(ctx, store.Integration{ID: id, WorkspaceID: ws.ID, Provider: provider,
				OrgURL: "https://example.com/" + provider, TokenSealed: "x", WebhookSecretSealed: sealed,
				CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			return id, sec.Reveal()
		}
		signedID, signedSecret := integration("github")
		azureID, azureSecret := integration("azure-devops")
		enq := &countingEnqueuer{}
		h := New(db, keys, enq, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
		post := func(serve func(http.ResponseWriter, *http.Request) error, target, body string, header map[string]string, user, pass string) int {
			req := httptest.NewRequest("POST", target, strings.NewReader(body))
			for k, v := range header {
				req.Header.Set(k, v)
			}
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			rec := httptest.NewRecorder()
			if err := serve(rec, req); err != nil {
				return map[delivery.Kind]int{delivery.KindUnauthorized: 401, delivery.KindInvalid: 400}[delivery.KindOf(err)]
			}
			return rec.Code
		}
		sign := func(secret, body string) string {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(body))
			return "sha256=" + hex.EncodeToString(mac.Sum(nil))
		}
		body := `{"action":"opened"}`
		signed := h.Serve(GitHub)
		hdr := func(id, event, sig string) map[string]string {
			return map[string]string{"X-GitHub-Delivery": id, "X-GitHub-Event": event, "X-Hub-Signature-256": sig,
				"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/abc"}
		}
		good := hdr("d-1", "pull_request", sign(signedSecret, body))
		form := hdr("d-4", "push", sign(signedSecret, body))
		form["Content-Type"] = "application/x-www-form-urlencoded"
		sha1Only := map[string]string{"X-GitHub-Delivery": "d-5", "X-GitHub-Event": "push", "X-Hub-Signature": "sha1=00"}
		cases := []struct {
			what   string
			serve  func(http.ResponseWriter, *http.Request) error
			target string
			header map[string]string
			user   string
			pass   string
			want   int
		}{
			{"signed delivery", signed, "/hook?integration=" + signedID, good, "", "", 200},
			{"the same delivery again (duplicate)", signed, "/hook?integration=" + signedID, good, "", "", 200},
			{"wrong signature", signed, "/hook?integration=" + signedID, hdr("d-2", "push", sign("guess", body)), "", "", 401},
			{"signature not hex", signed, "/hook?integration=" + signedID, hdr("d-2", "push", "sha256=zz"), "", "", 401},
			{"only the SHA-1 signature", signed, "/hook?integration=" + signedID, sha1Only, "", "", 401},
			{"no integration", signed, "/hook", good, "", "", 401},
			{"signed for another provider's integration", signed, "/hook?integration=" + azureID, hdr("d-3", "push", sign(azureSecret, body)), "", "", 401},
			{"form-encoded payload", signed, "/hook?integration=" + signedID, form, "", "", 400},
			{"no event header", signed, "/hook?integration=" + signedID, hdr("d-6", "", sign(signedSecret, body)), "", "", 400},
			{"azure credentials of a signed integration", h.ServeHTTP, "/v1/azure/webhook/project", nil, signedID, signedSecret, 401},
			{"azure delivery", h.ServeHTTP, "/v1/azure/webhook/project", nil, azureID, azureSecret, 200},
		}
		for _, c := range cases {
			b := body
			if c.serve == nil || strings.HasPrefix(c.target, "/v1/azure") {
				b = `{"id":"a-1","eventType":"git.push","resource":{}}`
			}
			if got := post(c.serve, c.target, b, c.header, c.user, c.pass); got != c.want {
				t.Errorf("%s: %d, want %d", c.what, got, c.want)
			}
		}
		var stored int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_inbox`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != 2 || enq.n != 2 {
			t.Fatalf("stored %d deliveries (queued %d), want the signed one once and the Azure one", stored, enq.n)
		}
	})
}
