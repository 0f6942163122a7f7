package githubapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
)

// startSim runs a seeded GitHub Enterprise Server over TLS on loopback.
func startSim(t *testing.T) *githubsim.Sim {
	t.Helper()
	s, err := githubsim.New(githubsim.Options{Seed: 7, TLS: true, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client connects to the simulator as an admin would: its address as the
// API base, the operator having listed the loopback host.
func client(t *testing.T, s *githubsim.Sim, token string) *Client {
	t.Helper()
	api, err := ParseAPI(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{API: api, Token: secret.New(token), HTTPClient: s.HTTPClient(), Hosts: netguard.MustParse(s.Host())})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func permissionByKey(res CheckResult) map[string]Permission {
	out := map[string]Permission{}
	for _, p := range res.Permissions {
		out[p.Key] = p
	}
	return out
}

func TestCheckConnectionClassicToken(t *testing.T) {
	s := startSim(t)
	c := client(t, s, s.Token())
	res, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Login == "" || res.TokenKind != "classic" || len(res.Scopes) == 0 || !res.Enterprise {
		t.Fatalf("check: %+v", res)
	}
	if res.Repositories != len(s.Repos()) {
		t.Errorf("repositories: %d, the simulator has %d", res.Repositories, len(s.Repos()))
	}
	if len(res.Organizations) != 1 || res.Organizations[0] != s.Org() {
		t.Errorf("organizations: %v, want [%s]", res.Organizations, s.Org())
	}
	for _, p := range res.Permissions {
		if !p.OK {
			t.Errorf("%s: %s", p.Label, p.Detail)
		}
		if strings.Contains(p.Call, "{") {
			t.Errorf("%s: call not filled in: %s", p.Label, p.Call)
		}
	}
	// /user, /user/orgs, /user/repos and one call per permission.
	if want := 3 + len(permissions); res.Calls != want {
		t.Errorf("the check spent %d calls, want %d", res.Calls, want)
	}
}

func TestCheckConnectionFineGrainedPermissions(t *testing.T) {
	s := startSim(t)
	ctx := context.Background()

	// The required three only: Activate may go on; the rest says what it leaves out.
	minimal := s.NewFineGrainedToken(map[string]string{"contents": "read", "pull_requests": "read"})
	res, err := client(t, s, minimal).Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.TokenKind != "fine-grained" || len(res.Problems) != 0 {
		t.Fatalf("minimal token: %+v", res)
	}
	got := permissionByKey(res)
	for _, k := range []string{"metadata", "contents", "pull_requests"} {
		if !got[k].OK {
			t.Errorf("%s refused: %s", k, got[k].Detail)
		}
	}
	for _, k := range []string{"issues", "actions", "deployments", "webhooks"} {
		if got[k].OK || got[k].Breaks == "" || got[k].Detail == "" {
			t.Errorf("%s: %+v, want refused with what it breaks", k, got[k])
		}
	}

	// Without Pull requests: a problem naming the permission and the fix.
	noPRs := s.NewFineGrainedToken(map[string]string{"contents": "read", "issues": "read"})
	res, err = client(t, s, noPRs).Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Message, "Pull requests: Read") ||
		!strings.Contains(res.Problems[0].Hint, "Pull requests: Read") {
		t.Fatalf("token without pull requests: %+v", res.Problems)
	}
	// The fix the hint names: a token with it passes.
	fixed := s.NewFineGrainedToken(map[string]string{"contents": "read", "issues": "read", "pull_requests": "read"})
	if res, err = client(t, s, fixed).Check(ctx); err != nil || !res.OK {
		t.Fatalf("after the fix: %v %+v", err, res.Problems)
	}
}

func TestCheckConnectionRevokedToken(t *testing.T) {
	s := startSim(t)
	tok := s.NewClassicToken("repo")
	s.RevokeToken(tok)
	_, err := client(t, s, tok).Check(context.Background())
	var de *delivery.Error
	if !errors.As(err, &de) || !strings.Contains(de.Message, "401") || !strings.Contains(de.Hint, "Update token") {
		t.Fatalf("revoked token: %v", err)
	}
	if strings.Contains(err.Error(), tok) || strings.Contains(de.Hint, tok) {
		t.Fatal("the error shows the token")
	}
}

func TestLoopbackRefusedUntilListed(t *testing.T) {
	s := startSim(t)
	api, _ := ParseAPI(s.URL())
	_, err := New(Options{API: api, Token: secret.New(s.Token()), HTTPClient: s.HTTPClient()})
	var de *delivery.Error
	if !errors.As(err, &de) || !strings.Contains(de.Hint, "PANDEV_ALLOW_HOSTS") {
		t.Fatalf("loopback without a listing: %v", err)
	}
	// The hint's fix: the operator lists the host.
	c := client(t, s, s.Token())
	if _, err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestConditionalRequestsCostNothing(t *testing.T) {
	s := startSim(t)
	c := client(t, s, s.Token())
	ctx := context.Background()
	owner, name, _ := strings.Cut(s.Repos()[0], "/")
	list := func() ([]*github.PullRequest, *github.Response) {
		prs, resp, err := c.GitHub().PullRequests.List(ctx, owner, name, &github.PullRequestListOptions{State: "all",
			ListOptions: github.ListOptions{PerPage: 100}})
		if err != nil {
			t.Fatal(err)
		}
		return prs, resp
	}
	first, _ := list()
	before := c.Calls().Snapshot()
	again, resp := list()
	after := c.Calls().Snapshot()
	if len(again) != len(first) || len(first) == 0 {
		t.Fatalf("the cached answer has %d PRs, the first %d", len(again), len(first))
	}
	if after.Sent != before.Sent+1 || after.NotModified != before.NotModified+1 || after.Counted != before.Counted {
		t.Fatalf("calls before %+v after %+v: want one request answered 304, nothing counted", before, after)
	}
	if after.Rate.Used != before.Rate.Used || resp.Header.Get("X-From-Cache") == "" {
		t.Fatalf("rate used %d → %d; from cache %q", before.Rate.Used, after.Rate.Used, resp.Header.Get("X-From-Cache"))
	}
	// A change makes GitHub answer in full again.
	if _, err := s.Activity(githubsim.ActivityRequest{Kind: "pull_request_opened", Repo: s.Repos()[0]}); err != nil {
		t.Fatal(err)
	}
	fresh, _ := list()
	if len(fresh) != len(first)+1 {
		t.Fatalf("after a new PR: %d, want %d", len(fresh), len(first)+1)
	}
}

func TestRateLimitsBecomeErrorsWithTheWait(t *testing.T) {
	s := startSim(t)
	ctx := context.Background()
	zero := 0
	s.SetRateLimits(githubsim.RateLimits{Remaining: &zero})
	_, err := client(t, s, s.Token()).Check(ctx)
	var rl *RateLimited
	if delivery.KindOf(err) != delivery.KindRateLimited || !errors.As(err, &rl) || rl.Secondary || rl.Until.IsZero() ||
		delivery.RetryAfterSeconds(err) <= 0 {
		t.Fatalf("primary limit: %v", err)
	}
	full := 5000
	s.SetRateLimits(githubsim.RateLimits{Remaining: &full, SecondaryNext: 1, RetryAfter: 30})
	_, err = client(t, s, s.Token()).Check(ctx)
	if !errors.As(err, &rl) || !rl.Secondary || delivery.RetryAfterSeconds(err) < 29 {
		t.Fatalf("secondary limit: %v", err)
	}
}
