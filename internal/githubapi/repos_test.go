package githubapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestRepositoriesEveryPageAndByOwner(t *testing.T) {
	s := startSim(t)
	c := client(t, s, s.Token())
	ctx := context.Background()
	all, err := c.Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range all {
		names = append(names, r.FullName)
		if r.ID == 0 || r.Owner != s.Org() || r.FullName != r.Owner+"/"+r.Name || r.Visibility == "" {
			t.Errorf("repository: %+v", r)
		}
	}
	want := slices.Clone(s.Repos())
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("repositories %v, the simulator has %v", names, want)
	}
	byOwner, err := c.OwnerRepositories(ctx, s.Org())
	if err != nil || len(byOwner) != len(all) {
		t.Fatalf("by owner: %d %v, want %d", len(byOwner), err, len(all))
	}
	// A fine-grained token sees only its selection.
	one := s.NewFineGrainedToken(map[string]string{"contents": "read"}, want[0])
	picked, err := client(t, s, one).Repositories(ctx)
	if err != nil || len(picked) != 1 || picked[0].FullName != want[0] {
		t.Fatalf("fine-grained selection: %+v %v", picked, err)
	}
}

// TestHookLifecycle registers a webhook as the product does, receives the
// ping signed with the secret, reads its health, edits it back after a
// change and deletes it.
func TestHookLifecycle(t *testing.T) {
	s := startSim(t)
	c := client(t, s, s.Token())
	ctx := context.Background()
	const secret = "hook-secret"
	got := make(chan http.Header, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if r.Header.Get("X-Hub-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			w.WriteHeader(http.StatusUnauthorized)
		}
		got <- r.Header.Clone()
	}))
	defer recv.Close()
	owner, name, _ := strings.Cut(s.Repos()[0], "/")
	cfg := HookConfig{URL: recv.URL + "/v1/github/webhook?integration=x", Secret: secret, Events: []string{"push", "pull_request"}}
	h, err := c.CreateHook(ctx, owner, name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID == 0 || h.URL != cfg.URL || h.ContentType != "json" || h.InsecureSSL != "0" || !h.Active || !slices.Equal(h.Events, cfg.Events) {
		t.Fatalf("created: %+v", h)
	}
	select {
	case hdr := <-got:
		if hdr.Get("X-GitHub-Event") != "ping" {
			t.Fatalf("first delivery: %s", hdr.Get("X-GitHub-Event"))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ping")
	}
	if _, err := s.WaitDeliveries(ctx, 1); err != nil {
		t.Fatal(err)
	}
	hooks, err := c.Hooks(ctx, owner, name)
	if err != nil || len(hooks) != 1 || hooks[0].LastCode != 200 {
		t.Fatalf("hooks after the ping: %+v %v", hooks, err)
	}
	ds, err := c.HookDeliveries(ctx, owner, name, h.ID, 10)
	if err != nil || len(ds) != 1 || !ds[0].OK() || ds[0].Event != "ping" {
		t.Fatalf("deliveries: %+v %v", ds, err)
	}
	// Someone trims the events: EditHook puts the product's back.
	if _, err := c.EditHook(ctx, owner, name, h.ID, HookConfig{URL: cfg.URL, Secret: secret, Events: []string{"push"}}); err != nil {
		t.Fatal(err)
	}
	if h, err = c.EditHook(ctx, owner, name, h.ID, cfg); err != nil || !slices.Equal(h.Events, cfg.Events) {
		t.Fatalf("edited: %+v %v", h, err)
	}
	if err := c.PingHook(ctx, owner, name, h.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteHook(ctx, owner, name, h.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteHook(ctx, owner, name, h.ID); err != nil {
		t.Fatalf("deleting a deleted hook: %v", err)
	}
	if hooks, _ := c.Hooks(ctx, owner, name); len(hooks) != 0 {
		t.Fatalf("hooks left: %+v", hooks)
	}
	// Without the webhooks permission: a refusal naming it.
	ro := s.NewFineGrainedToken(map[string]string{"contents": "read", "pull_requests": "read"})
	_, err = client(t, s, ro).CreateHook(ctx, owner, name, cfg)
	if StatusCode(err) != http.StatusForbidden || !strings.Contains(err.Error(), "webhooks") && !strings.Contains(errHint(err), "Webhooks") {
		t.Fatalf("without webhooks: %v (%s)", err, errHint(err))
	}
}

func errHint(err error) string {
	var de *delivery.Error
	if errors.As(err, &de) {
		return de.Hint
	}
	return ""
}
