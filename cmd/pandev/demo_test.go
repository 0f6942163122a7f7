package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `pandev demo` as a newcomer would (on free ports and a temp
// folder) until it prints the URL and login, then stops it with Ctrl+C.
func TestDemo(t *testing.T) {
	env := map[string]string{
		"PANDEV_ADDR":          "127.0.0.1:0",
		"PANDEV_DEMO_SIM_ADDR": "127.0.0.1:0",
		"PANDEV_DB":            filepath.Join(t.TempDir(), "demo", "pandev.db"),
	}
	out, errs := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo"}, func(k string) string { return env[k] }, nil, out, errs) }()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "sign in") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("demo did not get ready:\n%s\n%s", out.String(), errs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo exit %d:\n%s", code, errs.String())
	}
	for _, want := range []string{"✓ Check connection", "projects selected", demoEmail, demoPassword, "http://127.0.0.1:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
