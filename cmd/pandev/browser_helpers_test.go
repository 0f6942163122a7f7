package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/browsertest"
)

// page is a headless Chromium tab of a browser test with the steps every
// test takes: run actions, read an element's text, keep a screenshot when
// PANDEV_SCREENSHOTS names a folder, and sign in.
type page struct {
	t   *testing.T
	ctx context.Context
}

func newPage(t *testing.T) *page { return &page{t: t, ctx: browsertest.New(t)} }

// do runs actions, failing the test on the first error.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// text is the text of the first element sel matches.
func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// shot keeps a full-page screenshot named name.png in PANDEV_SCREENSHOTS.
func (p *page) shot(name string) {
	if dir := os.Getenv("PANDEV_SCREENSHOTS"); dir != "" {
		if png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
}

// signIn signs in on the server at base and waits for the home page.
func (p *page) signIn(base, email, password string) {
	p.t.Helper()
	p.do(chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.button`)))
}

// signInAt signs in on the server at base and opens path once the page
// with the navigation shows (a connected workspace's dashboard has no
// empty-state button to wait for).
func (p *page) signInAt(base, email, password, path string) {
	p.t.Helper()
	p.do(chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		// The sign-in page has the header too: wait until it is gone, or
		// the navigation below races the form's and one is aborted.
		chromedp.WaitNotPresent(chromedp.CSS(`input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(`header.top nav`)),
		chromedp.Navigate(base+path))
}
