package collect

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestJobErrorShowsTokenProblems: a token that stopped working is shown on
// the integration and the job waits (snoozes) for "Update token" instead of
// failing; other errors are retried as they are.
func TestJobErrorShowsTokenProblems(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	ws, err := db.EnsureWorkspace(ctx, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	in, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: ws.ID, Provider: "azure-devops", OrgURL: "https://dev.azure.com/acme",
		TokenSealed: "s", WebhookSecretSealed: "s", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	expired := &delivery.Error{Kind: delivery.KindUnauthorized, Message: "The personal access token has expired", Hint: "Update the token"}
	err = c.jobError(ctx, in.ID, expired)
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) {
		t.Fatalf("want a snooze, got %v", err)
	}
	got, err := db.GetIntegrationByID(ctx, in.ID)
	if err != nil || got.ErrorMessage != expired.Message || got.ErrorHint != expired.Hint {
		t.Fatalf("integration error not shown: %+v %v", got, err)
	}
	other := &delivery.Error{Kind: delivery.KindUpstream, Message: "boom"}
	if err := c.jobError(ctx, in.ID, other); !errors.Is(err, other) {
		t.Fatalf("other errors are returned for a retry, got %v", err)
	}
	if err := c.jobError(ctx, in.ID, nil); err != nil {
		t.Fatal(err)
	}
}

// TestJobErrorWaitsOutRateLimits: a spent rate limit snoozes the job until
// the provider's retry-after (a snooze is not an attempt, so waiting never
// uses up the retries) and shows nothing on the integration.
func TestJobErrorWaitsOutRateLimits(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	ws, err := db.EnsureWorkspace(ctx, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	in, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: ws.ID, Provider: "github", OrgURL: "https://github.com",
		TokenSealed: "s", WebhookSecretSealed: "s", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c := New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	for _, tc := range []struct {
		retryAfter time.Duration
		want       time.Duration
	}{
		{90 * time.Second, 91 * time.Second},
		{0, time.Minute},
		{5 * time.Hour, maxRateLimitWait},
	} {
		limited := &delivery.Error{Kind: delivery.KindRateLimited, Message: "GitHub's rate limit for this token is spent"}
		if tc.retryAfter > 0 {
			limited = limited.WithRetryAfter(tc.retryAfter)
		}
		var snooze *river.JobSnoozeError
		if err := c.jobError(ctx, in.ID, limited); !errors.As(err, &snooze) || snooze.Duration != tc.want {
			t.Fatalf("retry-after %s: %v, want a snooze of %s", tc.retryAfter, err, tc.want)
		}
	}
	if got, err := db.GetIntegrationByID(ctx, in.ID); err != nil || got.ErrorMessage != "" {
		t.Fatalf("a rate limit is not an integration error: %+v %v", got, err)
	}
}
