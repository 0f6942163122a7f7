package github_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// examples are GitHub's published example deliveries of an event
// (@octokit/webhooks-examples), or a skip when they are not installed
// (a failure in CI, as the simulator's fidelity tests).
func examples(t *testing.T, event string) []json.RawMessage {
	t.Helper()
	dir := os.Getenv("PANDEV_GITHUB_NPM")
	raw, err := os.ReadFile(filepath.Join(dir, "@octokit", "webhooks-examples", "api.github.com", "index.json"))
	if dir == "" || err != nil {
		msg := "PANDEV_GITHUB_NPM is not set to a node_modules holding @octokit/webhooks-examples (see docs/development.md)"
		if os.Getenv("CI") == "true" || os.Getenv("PANDEV_TEST_GITHUB_SPECS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var index []struct {
		Name     string            `json:"name"`
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	for _, e := range index {
		if e.Name == event {
			return e.Examples
		}
	}
	t.Fatalf("no example of %s", event)
	return nil
}

// apply reads and applies one stored delivery as the drain does.
func apply(t *testing.T, db *store.DB, k store.Key, event string, n int, payload json.RawMessage) (collect.Event, collect.Applied, error) {
	t.Helper()
	src := ghcollect.New(nil)
	ev, err := src.Read(store.InboxEvent{Key: k, EventID: event + "-" + strconv.Itoa(n), EventType: event, Payload: string(payload), ReceivedAt: time.Now()})
	if err != nil {
		t.Fatalf("%s example %d: read: %v", event, n, err)
	}
	ev.Key, ev.ID = k, event+"-"+strconv.Itoa(n)
	h, ok := src.Handlers()[event]
	if !ok {
		t.Fatalf("no handler of %s", event)
	}
	var done collect.Applied
	err = db.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		done, err = h.Apply(context.Background(), tx, ev)
		return err
	})
	return ev, done, err
}

// TestHandlersReadGitHubsExamples applies every published example of the
// events collected, on both engines: a pull_request stores its PR (keyed
// by repository id and number) and asks for its details; a review stores
// the PR and, for an approval or a request for changes, the vote; a push
// to the default branch stores its commits and one elsewhere is ignored
// with the reason; a ping is ignored with the reason.
func TestHandlersReadGitHubsExamples(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k := newGitHubIntegration(t, db)
		for n, p := range examples(t, "pull_request") {
			ev, done, err := apply(t, db, k, "pull_request", n, p)
			if err != nil {
				t.Fatalf("pull_request example %d: %v", n, err)
			}
			if done.Ignored != "" {
				continue // an older version of a PR another example stored
			}
			if done.PR == nil || done.Details == nil || done.Details.PRID == 0 || ev.ProjectID == "" {
				t.Fatalf("pull_request example %d: %+v %+v", n, ev, done)
			}
			pr, err := db.GetPullRequest(ctx, k.WorkspaceID, *done.PR)
			if err != nil || pr.RepoID != ev.ProjectID || pr.Status == "" || pr.ProviderUpdatedAt.IsZero() {
				t.Fatalf("pull_request example %d stored %+v, %v", n, pr, err)
			}
		}
		for n, p := range examples(t, "pull_request_review") {
			_, done, err := apply(t, db, k, "pull_request_review", n, p)
			if err != nil || done.PR == nil {
				t.Fatalf("pull_request_review example %d: %+v %v", n, done, err)
			}
			var r struct {
				Action string `json:"action"`
				Review struct {
					State string `json:"state"`
					User  struct {
						ID int64 `json:"id"`
					} `json:"user"`
				} `json:"review"`
			}
			_ = json.Unmarshal(p, &r)
			want := map[string]int{"approved": 10, "changes_requested": -5}[r.Review.State]
			if r.Action == "dismissed" || want == 0 {
				continue
			}
			var vote int
			if err := db.SQL().QueryRowContext(ctx, `SELECT vote FROM pr_reviewers WHERE integration_id = $1 AND repo_id = $2 AND pr_id = $3 AND reviewer_id = $4`,
				k.IntegrationID, done.PR.RepoID, done.PR.PRID, strconv.FormatInt(r.Review.User.ID, 10)).Scan(&vote); err != nil || vote != want {
				t.Fatalf("pull_request_review example %d (%s): vote %d, %v", n, r.Review.State, vote, err)
			}
		}
		pushed := map[string]bool{}
		for n, p := range examples(t, "push") {
			_, done, err := apply(t, db, k, "push", n, p)
			if err != nil {
				t.Fatalf("push example %d: %v", n, err)
			}
			if done.Ignored != "" && !strings.Contains(done.Ignored, "not the default branch") {
				t.Fatalf("push example %d ignored: %s", n, done.Ignored)
			}
			var push struct {
				Ref     string `json:"ref"`
				Deleted bool   `json:"deleted"`
				Commits []struct {
					ID string `json:"id"`
				} `json:"commits"`
				Repository struct {
					ID            int64  `json:"id"`
					DefaultBranch string `json:"default_branch"`
				} `json:"repository"`
			}
			_ = json.Unmarshal(p, &push)
			toDefault := push.Ref == "refs/heads/"+push.Repository.DefaultBranch && !push.Deleted
			if toDefault != (done.Ignored == "") {
				t.Fatalf("push example %d to %s (default %s): ignored %q", n, push.Ref, push.Repository.DefaultBranch, done.Ignored)
			}
			if toDefault {
				for _, c := range push.Commits {
					pushed[strconv.FormatInt(push.Repository.ID, 10)+":"+c.ID] = true
				}
			}
		}
		var commits int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM commits WHERE integration_id = $1`, k.IntegrationID).Scan(&commits); err != nil {
			t.Fatal(err)
		}
		if len(pushed) == 0 || commits != len(pushed) {
			t.Fatalf("%d commits stored; %d pushed to default branches", commits, len(pushed))
		}
		for n, p := range examples(t, "ping") {
			if _, done, err := apply(t, db, k, "ping", n, p); err != nil || !strings.Contains(done.Ignored, "ping") {
				t.Fatalf("ping example %d: %+v %v", n, done, err)
			}
		}
	})
}
