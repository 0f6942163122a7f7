package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

// TestCollectedDataAPI pages through stored rows as JSON with cursors,
// exports them as CSV, filters by window and project, refuses bad
// parameters, and shows nothing of one workspace to another.
func TestCollectedDataAPI(t *testing.T) {
	cfg := testConfig(t, nil)
	mustCreateUser(t, cfg.DB, "a@example.com", pw, "workspace-a", true)
	mustCreateUser(t, cfg.DB, "b@example.com", pw, "workspace-b", true)
	r := startApp(t, cfg, appOptions{})
	ctx := context.Background()
	u, _ := r.db.GetUserByEmail(ctx, "a@example.com")
	in, err := r.db.CreateIntegration(ctx, store.Integration{WorkspaceID: u.WorkspaceID, Provider: "azure-devops",
		OrgURL: "https://dev.azure.com/a", TokenSealed: "x", WebhookSecretSealed: "y", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	k := store.Key{IntegrationID: in.ID, WorkspaceID: u.WorkspaceID}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const n = 25
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Hour)
		project := "p1"
		if i%5 == 0 {
			project = "p2"
		}
		if err := r.db.UpsertCommit(ctx, store.Commit{Key: k, RepoID: "r1", SHA: fmt.Sprintf("%040d", i), ProjectID: project,
			AuthorName: "Ann", AuthorDate: at, CommitterDate: at, Message: "line one, \"quoted\"\nline two #7"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.db.UpsertWorkItem(ctx, store.WorkItem{Key: k, WorkItemID: int64(i + 1), ProjectID: project, Type: "Bug", CreatedAt: at, ChangedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := newBrowser(t, r.URL()), newBrowser(t, r.URL())
	a.login("a@example.com", pw)
	b.login("b@example.com", pw)

	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		_, body := a.do("GET", "/api/v1/commits?limit=10&cursor="+cursor, "", nil, nil)
		var page struct {
			Items []struct {
				SHA     string `json:"sha"`
				Message string `json:"message"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		decodeJSON(t, body, &page)
		for _, c := range page.Items {
			if seen[c.SHA] {
				t.Fatalf("%s on two pages", c.SHA)
			}
			seen[c.SHA] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		if pages > n {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != n {
		t.Fatalf("paged %d commits, want %d", len(seen), n)
	}

	res, body := a.do("GET", "/api/v1/commits?project=p2", "", nil, map[string]string{"Accept": "text/csv"})
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("content type %q", res.Header.Get("Content-Type"))
	}
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(records) != 1+n/5 || records[0][1] != "sha" || !strings.Contains(records[1][11], "line two #7") {
		t.Fatalf("CSV of project p2: %v rows, err %v\n%s", len(records), err, body)
	}

	_, body = a.do("GET", "/api/v1/work-items?from=2026-11-01T10:00:00Z&to=2026-11-01T15:00:00Z", "", nil, nil)
	var items struct{ Items []struct{ ID int64 } }
	decodeJSON(t, body, &items)
	if len(items.Items) != 5 || items.Items[0].ID != 15 {
		t.Fatalf("window [10:00, 15:00) holds items 11..15, newest first: %+v", items.Items)
	}

	for _, q := range []string{"limit=0", "limit=5000", "from=yesterday", "cursor=garbage", "from=2026-11-02&to=2026-11-01"} {
		res, body := a.do("GET", "/api/v1/commits?"+q, "", nil, nil)
		var e errorBody
		decodeJSON(t, body, &e)
		if res.StatusCode != 400 || e.Error.Hint == "" {
			t.Errorf("?%s: %d %s", q, res.StatusCode, body)
		}
	}

	for _, path := range []string{"/api/v1/commits", "/api/v1/work-items", "/api/v1/pull-requests", "/api/v1/deployments", "/api/v1/pipeline-runs"} {
		_, body := b.do("GET", path, "", nil, nil)
		if body != "{\"items\":[]}\n" {
			t.Errorf("workspace B sees %s of A: %s", path, body)
		}
	}
}
