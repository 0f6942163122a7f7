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
