package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/browsertest"
)

// TestBrowserSignIn signs in through the real form in Chromium and lands on
// the dashboard's empty state, which tells an admin what to do next.
func TestBrowserSignIn(t *testing.T) {
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "ann@example.com", pw, "acme", false)
	r := startApp(t, cfg, appOptions{})
	ctx := browsertest.New(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(r.URL()+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "wrong password"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.error`)))
	if err != nil || !strings.Contains(msg, "wrong email or password") {
		t.Fatalf("error shown: %q %v", msg, err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), pw),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !strings.Contains(text, "No data yet") || !strings.Contains(text, "Connect Azure DevOps") ||
		!strings.Contains(text, "Connect GitHub") {
		t.Fatalf("dashboard: %q %v", text, err)
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		if dir := os.Getenv("PANDEV_SCREENSHOTS"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "dashboard-empty.png"), png, 0o644)
		}
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
}
