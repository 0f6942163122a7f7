package githubapi

import (
	"context"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubsim"
)

func TestGraphQLURL(t *testing.T) {
	if got := DotCom.GraphQLURL(); got != "https://api.github.com/graphql" {
		t.Fatalf("github.com: %s", got)
	}
	ghes, err := ParseAPI("https://github.example.com/api/v3")
	if err != nil {
		t.Fatal(err)
	}
	if got := ghes.GraphQLURL(); got != "https://github.example.com/api/graphql" {
		t.Fatalf("Enterprise Server: %s", got)
	}
}

// TestGraphQLAccount: a query's points and the graphql bucket are counted
// apart from the REST limit; a spent bucket (GitHub's 200 with
// RATE_LIMITED) is a rate-limited error with the wait until the reset, and
// a repository the token cannot see is not found.
func TestGraphQLAccount(t *testing.T) {
	s := startSim(t)
	c := client(t, s, s.Token())
	ctx := context.Background()
	if _, _, err := c.GitHub().Users.Get(ctx, ""); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Viewer struct {
			Login string `json:"login"`
		} `json:"viewer"`
	}
	if err := c.GraphQL(ctx, `query { viewer { login } rateLimit { cost remaining } }`, nil, &out); err != nil || out.Viewer.Login == "" {
		t.Fatalf("viewer: %+v %v", out, err)
	}
	snap := c.Calls().Snapshot()
	if snap.Sent != 2 || snap.GraphQLCalls != 1 || snap.Points != 1 || snap.Rate.Resource != "core" || snap.Rate.Used != 1 ||
		snap.GraphQL.Resource != "graphql" || snap.GraphQL.Used != 1 {
		t.Fatalf("account: %+v", snap)
	}
	err := c.GraphQL(ctx, `query { repository(owner: "nobody", name: "nothing") { name } rateLimit { cost } }`, nil, &struct{}{})
	if !delivery.IsNotFound(err) || !strings.Contains(err.Error(), "Could not resolve to a Repository") {
		t.Fatalf("unknown repository: %v", err)
	}
	zero := 0
	s.SetRateLimits(githubsim.RateLimits{Remaining: &zero})
	err = c.GraphQL(ctx, `query { viewer { login } rateLimit { cost } }`, nil, &out)
	if delivery.KindOf(err) != delivery.KindRateLimited || delivery.RetryAfterSeconds(err) < 60 {
		t.Fatalf("spent: %v (%s, retry after %ds)", err, delivery.KindOf(err), delivery.RetryAfterSeconds(err))
	}
}
