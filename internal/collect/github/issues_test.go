package github_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// storedIssue is a work item row of a GitHub issue.
type storedIssue struct {
	typ, tags, state, category string
	rev                        int
	deleted                    bool
	closed                     bool
}

func readIssue(t *testing.T, db *store.DB, k store.Key, repo string, number int) (storedIssue, bool) {
	t.Helper()
	var w storedIssue
	var closed *time.Time
	err := db.SQL().QueryRowContext(context.Background(), `SELECT item_type, tags, state, state_category, rev, is_deleted, closed_at
		FROM work_items WHERE integration_id = $1 AND container = $2 AND work_item_id = $3`, k.IntegrationID, repo, number).
		Scan(&w.typ, &w.tags, &w.state, &w.category, &w.rev, &w.deleted, &closed)
	if err != nil {
		return w, false
	}
	w.closed = closed != nil
	return w, true
}

// TestIssuesExamples applies every published example of the issues event
// in order, on both engines: an issue is a work item keyed by its
// repository and number (type Issue, labels as tags); an issues event of a
// pull request (GitHub sends milestone changes of PRs as issues events) is
// ignored with the reason; deleted and transferred mark the item deleted,
// and a version of the same update time delivered after the deletion
// (the examples' reopened) does not bring it back.
func TestIssuesExamples(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		k := newGitHubIntegration(t, db)
		type ex struct {
			Action string `json:"action"`
			Issue  struct {
				Number      int              `json:"number"`
				PullRequest *json.RawMessage `json:"pull_request"`
			} `json:"issue"`
			Repository struct {
				ID int64 `json:"id"`
			} `json:"repository"`
		}
		for n, p := range examples(t, "issues") {
			var e ex
			_ = json.Unmarshal(p, &e)
			ev, done, err := apply(t, db, k, "issues", n, p)
			if err != nil {
				t.Fatalf("issues example %d (%s): %v", n, e.Action, err)
			}
			if e.Issue.PullRequest != nil {
				if !strings.Contains(done.Ignored, "pull request") {
					t.Fatalf("issues example %d of a pull request: %+v", n, done)
				}
				continue
			}
			if done.Ignored != "" && !strings.Contains(done.Ignored, "older") {
				t.Fatalf("issues example %d (%s) ignored: %s", n, e.Action, done.Ignored)
			}
			if ev.ProjectID == "" || ev.At.IsZero() {
				t.Fatalf("issues example %d read as %+v", n, ev)
			}
			if _, ok := readIssue(t, db, k, ev.ProjectID, e.Issue.Number); !ok {
				t.Fatalf("issues example %d (%s): no work item %s:%d", n, e.Action, ev.ProjectID, e.Issue.Number)
			}
		}
		w, _ := readIssue(t, db, k, "186853002", 1)
		if !w.deleted || w.typ != "Issue" || w.tags != "bug" || w.state != "closed" || w.category != "Completed" {
			t.Fatalf("issue 186853002:1 after the examples (deleted, then reopened at the same time): %+v", w)
		}
		if w, _ := readIssue(t, db, k, "17273051", 1); !w.deleted {
			t.Fatalf("transferred issue 17273051:1: %+v", w)
		}
		// The same issue number in another repository is another work item.
		var items int
		if err := db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM work_items WHERE integration_id = $1 AND work_item_id = 1`,
			k.IntegrationID).Scan(&items); err != nil || items != 2 {
			t.Fatalf("%d work items numbered 1 (%v), want one per repository", items, err)
		}
	})
}

// TestIssueVersions: a closed issue is Completed with its close time, one
// closed as not planned is Removed (and closed); labels become tags; an
// older delivery arriving late changes nothing; a GitHub issue type names
// the work item type.
func TestIssueVersions(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		k := newGitHubIntegration(t, db)
		issue := func(updated, state, reason, typ string, labels ...string) json.RawMessage {
			ls := []map[string]any{}
			for _, l := range labels {
				ls = append(ls, map[string]any{"id": 1, "name": l})
			}
			i := map[string]any{"number": 7, "title": "Checkout down", "state": state, "labels": ls,
				"created_at": "2026-01-01T10:00:00Z", "updated_at": updated}
			if state == "closed" {
				i["closed_at"] = updated
				i["state_reason"] = reason
			}
			if typ != "" {
				i["type"] = map[string]any{"id": 3, "name": typ}
			}
			b, _ := json.Marshal(map[string]any{"action": "edited", "issue": i, "repository": map[string]any{"id": 42, "full_name": "o/r"}})
			return b
		}
		step := func(n int, p json.RawMessage, want storedIssue) {
			t.Helper()
			if _, _, err := apply(t, db, k, "issues", n, p); err != nil {
				t.Fatal(err)
			}
			got, _ := readIssue(t, db, k, "42", 7)
			got.rev = 0
			if got != want {
				t.Fatalf("step %d: stored %+v, want %+v", n, got, want)
			}
		}
		step(1, issue("2026-01-01T10:00:00Z", "open", "", "", "Incident", "sev1"), storedIssue{typ: "Issue", tags: "Incident; sev1", state: "open", category: "Proposed"})
		step(2, issue("2026-01-01T12:00:00Z", "closed", "completed", ""), storedIssue{typ: "Issue", state: "closed", category: "Completed", closed: true})
		step(3, issue("2026-01-01T11:00:00Z", "open", "", "", "late"), storedIssue{typ: "Issue", state: "closed", category: "Completed", closed: true})
		step(4, issue("2026-01-01T13:00:00Z", "closed", "not_planned", "Bug", "incident"), storedIssue{typ: "Bug", tags: "incident", state: "closed", category: "Removed", closed: true})
		step(5, issue("2026-01-01T14:00:00Z", "open", "", "Bug"), storedIssue{typ: "Bug", state: "open", category: "Proposed"})
	})
}

// TestReviewCommentExamples applies the published pull_request_review_comment
// examples: the comment is stored on its PR as the backfill stores review
// comments (its review as the thread), the same delivery again is still
// one row, and a deletion marks it deleted.
func TestReviewCommentExamples(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		k := newGitHubIntegration(t, db)
		ctx := context.Background()
		var deleted json.RawMessage
		for n, p := range examples(t, "pull_request_review_comment") {
			_, done, err := apply(t, db, k, "pull_request_review_comment", n, p)
			if err != nil || done.PR == nil {
				t.Fatalf("pull_request_review_comment example %d: %+v %v", n, done, err)
			}
			var a struct {
				Action string `json:"action"`
			}
			_ = json.Unmarshal(p, &a)
			if a.Action == "deleted" {
				deleted = p
			}
		}
		var rows int
		var thread int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*), MIN(thread_id) FROM pr_comments WHERE integration_id = $1 AND repo_id = '186853002' AND pr_id = 2`,
			k.IntegrationID).Scan(&rows, &thread); err != nil || rows != 1 || thread != 237895671 {
			t.Fatalf("%d review comments stored in thread %d (%v); the examples are one comment of review 237895671", rows, thread, err)
		}
		if _, _, err := apply(t, db, k, "pull_request_review_comment", 99, deleted); err != nil {
			t.Fatal(err)
		}
		var isDeleted bool
		if err := db.SQL().QueryRowContext(ctx, `SELECT is_deleted FROM pr_comments WHERE integration_id = $1 AND comment_id = 284312630`,
			k.IntegrationID).Scan(&isDeleted); err != nil || !isDeleted {
			t.Fatalf("the deleted comment: is_deleted %v (%v)", isDeleted, err)
		}
	})
}
