package prcomment_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/prcomment"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestPreviewNamesThePRByRepository: a PR number alone names the one PR of
// the integration with it (Azure DevOps numbers per organization); where
// two repositories have the number, the preview asks for the repository
// and builds each PR's own comment once it has it.
func TestPreviewNamesThePRByRepository(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		ws, err := db.EnsureWorkspace(ctx, "acme", t0)
		must(t, err)
		in, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: ws.ID, Provider: "azure-devops",
			OrgURL: "https://dev.azure.com/acme", TokenSealed: "t", WebhookSecretSealed: "s", CreatedAt: t0, UpdatedAt: t0})
		must(t, err)
		key := store.Key{IntegrationID: in.ID, WorkspaceID: ws.ID}
		s := prcomment.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return t0 }, 0)
		add := func(repo string, commits int) {
			_, err := db.UpsertPullRequest(ctx, store.PullRequest{Key: key, PRID: 1, ProjectID: "p", RepoID: repo,
				Status: "active", AuthorID: "ann", CreatedAt: t0, ProviderUpdatedAt: t0})
			must(t, err)
			for i := range commits {
				sha := repo + string(rune('a'+i))
				must(t, db.UpsertCommit(ctx, store.Commit{Key: key, RepoID: repo, SHA: sha, ProjectID: "p",
					AuthorDate: t0, CommitterDate: t0, Edits: 1}))
				must(t, db.AddPRCommit(ctx, store.PRRef{IntegrationID: in.ID, RepoID: repo, PRID: 1}, sha, nil))
			}
		}
		add("rA", 1)
		byNumber, _, err := s.Preview(ctx, ws.ID, store.PRRef{IntegrationID: in.ID, PRID: 1})
		must(t, err)
		if !strings.Contains(byNumber, "in 1 commit") {
			t.Fatalf("the one PR #1 by its number: %s", byNumber)
		}
		add("rB", 3)
		_, _, err = s.Preview(ctx, ws.ID, store.PRRef{IntegrationID: in.ID, PRID: 1})
		if delivery.KindOf(err) != delivery.KindInvalid || !strings.Contains(err.Error(), "in 2 repositories") {
			t.Fatalf("a number in two repositories: %v", err)
		}
		b, _, err := s.Preview(ctx, ws.ID, store.PRRef{IntegrationID: in.ID, RepoID: "rB", PRID: 1})
		must(t, err)
		if !strings.Contains(b, "3 files changed in 3 commits") {
			t.Fatalf("rB's PR #1: %s", b)
		}
		_, _, err = s.Preview(ctx, ws.ID, store.PRRef{IntegrationID: in.ID, PRID: 2})
		if !delivery.IsNotFound(err) {
			t.Fatalf("an unknown number: %v", err)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
