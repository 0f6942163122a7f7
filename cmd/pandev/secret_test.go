package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

// TestSecretsNeverLeak stores a known PAT and webhook secret the way the
// integration does (sealed, bound to their row), rotates the sealing key,
// runs the server with debug logging through sign-in, token creation and
// API calls, then scans the logs and every database file for the secrets.
func TestSecretsNeverLeak(t *testing.T) {
	const pat = "knownpat4u7q2x9w3e8r1t6y5u0i4o7p2a9s3d8f1g6h5j0k"
	const hookSecret = "knownhooksecret-c2e8a1f7b3d9"
	oldKey := "old:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	newKey := "new:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))

	cfg := testConfig(t, map[string]string{"PANDEV_SECRET_KEY": oldKey})
	ctx := context.Background()
	db, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	oldRing, _ := secret.ParseKeys(oldKey)
	ws, _ := db.EnsureWorkspace(ctx, "acme", time.Now())
	id := store.NewID()
	tokSealed, _ := oldRing.Seal(secret.New(pat), store.TokenSealContext(id))
	secSealed, _ := oldRing.Seal(secret.New(hookSecret), store.WebhookSecretSealContext(id))
	if _, err := db.CreateIntegration(ctx, store.Integration{ID: id, WorkspaceID: ws.ID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/acme", TokenSealed: tokSealed, TokenHint: secret.New(pat).Hint(),
		WebhookSecretSealed: secSealed, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	mustCreateUser(t, cfg.DB, "ann@example.com", pw, "acme", false)

	cfg.SecretKey = newKey + "," + oldKey // rotate: new key seals, old key opens
	r := startApp(t, cfg, appOptions{})
	// Secrets in memory are secret.Values: logging one, even by mistake, redacts it.
	r.logger.Debug("integration loaded", "token", secret.New(pat), "secret", secret.New(hookSecret))
	b := newBrowser(t, r.URL())
	b.login("ann@example.com", pw)
	same := map[string]string{"Origin": r.URL(), "Sec-Fetch-Site": "same-origin"}
	_, body := b.do("POST", "/api/v1/tokens", "application/json", strings.NewReader(`{"name":"ci"}`), same)
	var created struct{ Token string }
	decodeJSON(t, body, &created)
	b.do("GET", "/api/v1/me", "", nil, map[string]string{"Authorization": "Bearer " + created.Token})
	b.do("GET", "/api/v1/me", "", nil, map[string]string{"Authorization": "Bearer " + created.Token + "x"})
	b.do("POST", "/login", "application/x-www-form-urlencoded", strings.NewReader("email=ann%40example.com&password="+pat), same)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.logs.String(), "secrets re-sealed with the current key") {
		t.Fatal("start-up must re-seal secrets sealed with the old key")
	}

	haystacks := map[string]string{"logs": r.logs.String()}
	files, _ := filepath.Glob(cfg.DB + "*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		haystacks[filepath.Base(f)] = string(data)
	}
	if len(files) == 0 || !strings.Contains(strings.Join(mapValues(haystacks), ""), "v1.new.") {
		t.Fatal("the scan must see the database's content, including the re-sealed values")
	}
	for where, text := range haystacks {
		for name, s := range map[string]string{"PAT": pat, "webhook secret": hookSecret, "API token": created.Token, "password": pw} {
			if strings.Contains(text, s) {
				t.Errorf("%s found in %s", name, where)
			}
		}
	}

	// After rotation the old key can be dropped: the new one alone opens both.
	db, err = openStore(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in, err := db.GetIntegrationByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	newRing, _ := secret.ParseKeys(newKey)
	if v, err := newRing.Open(in.TokenSealed, store.TokenSealContext(id)); err != nil || v.Reveal() != pat {
		t.Fatalf("token must open with the new key alone: %v", err)
	}
	if v, err := newRing.Open(in.WebhookSecretSealed, store.WebhookSecretSealContext(id)); err != nil || v.Reveal() != hookSecret {
		t.Fatalf("webhook secret must open with the new key alone: %v", err)
	}
}

func TestPostgresNeedsASharedKey(t *testing.T) {
	var out strings.Builder
	dsn := newPostgresURL(t)
	code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"},
		func(k string) string { return map[string]string{"PANDEV_DB": dsn}[k] }, nil, &out, &out)
	if code != 2 || !strings.Contains(out.String(), "PANDEV_SECRET_KEY is required with PostgreSQL") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
