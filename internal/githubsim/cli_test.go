package githubsim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCLIRefusesBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--profile", "huge"}, "use --profile small, medium or large"},
		{[]string{"--addr", "localhost"}, "has no port"},
		{[]string{"extra"}, "flags only"},
		{[]string{"--nope"}, "pandev github-sim -h"},
	} {
		err := RunCLI(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while RunCLI writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestCLIServesAndPrintsToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- RunCLI(ctx, []string{"--print-token", "--seed", "3"}, out, io.Discard) }()
	re := regexp.MustCompile(`(?m)^URL:\s+(\S+).*\n(?s:.*)^Token:\s+(\S+)`)
	var m []string
	deadline := time.Now().Add(10 * time.Second)
	for m == nil && time.Now().Before(deadline) {
		m = re.FindStringSubmatch(out.String())
		if m == nil {
			time.Sleep(10 * time.Millisecond) // polling a cheap read of the banner
		}
	}
	if m == nil {
		t.Fatalf("no URL and token printed: %s", out.String())
	}
	req, _ := http.NewRequest("GET", m[1]+"/api/v3/user", nil)
	req.Header.Set("Authorization", "token "+m[2])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /api/v3/user with the printed token: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
