package azdo

import (
	"context"
	"net/http"
	"strconv"
	"testing"
)

// cappedServer serves n items with $top/$skip under the given keys, but
// never more than limit per page, whatever $top asks: the service's silent
// cap (the pull request lists answer at most 1000, 101 without $top:
// MicrosoftDocs/vsts-rest-api-specs#405, #539, rfennell/AzurePipelines#843).
func cappedServer(f *fake, suffix, topKey, skipKey, idKey string, n, limit int) {
	f.on("GET", suffix, func(w http.ResponseWriter, r *http.Request) {
		top, err := strconv.Atoi(r.URL.Query().Get(topKey))
		if err != nil {
			top = 101
		}
		skip, _ := strconv.Atoi(r.URL.Query().Get(skipKey))
		w.Write(pageOf(idKey, skip, min(skip+min(top, limit), n)))
	})
}

// TestPagingTopSkipSilentCap: a $top/$skip walk reaches every item when the
// service returns fewer items per page than asked, and pays at most one
// call more than a walk that knew the cap.
func TestPagingTopSkipSilentCap(t *testing.T) {
	for _, tt := range []struct {
		name         string
		n, limit     int
		top          int
		calls        int
		whyThisCalls string
	}{
		{"capped below the page size", 130, 30, 100, 5, "30, 30, 30, 30, 10"},
		{"capped, exact multiple", 90, 30, 100, 4, "30, 30, 30, then an empty page"},
		{"one short page, no cap", 7, 1000, 100, 2, "7, then an empty page: the one extra call"},
		{"full pages, no cap", 250, 1000, 100, 3, "100, 100, 50"},
		{"empty", 0, 1000, 100, 1, "an empty first page ends the walk"},
		{"cap equal to the list", 30, 30, 100, 2, "30, then an empty page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			cappedServer(f, "/pullrequests", "$top", "$skip", "pullRequestId", tt.n, tt.limit)
			c, _ := newClient(t, f, ServicesDeployment)
			got, err := Collect(c.PullRequests(context.Background(), "P", "r", PullRequestQuery{PageSize: tt.top}))
			if err != nil || len(got) != tt.n {
				t.Fatalf("got %d pull requests of %d, %v", len(got), tt.n, err)
			}
			for i, pr := range got {
				if pr.PullRequestID != i {
					t.Fatalf("pull request %d has id %d: pages repeated or skipped", i, pr.PullRequestID)
				}
			}
			if n := f.count("/pullrequests"); n != tt.calls {
				t.Fatalf("%d calls, want %d (%s)", n, tt.calls, tt.whyThisCalls)
			}
		})
	}
	// The commit list has no documented cap: a short first page is the whole
	// list, and a quiet reconciliation reads each repository in one call.
	t.Run("commits: a short first page is the whole list", func(t *testing.T) {
		f := newFake(t)
		cappedServer(f, "/commits", "searchCriteria.$top", "searchCriteria.$skip", "commitId", 7, 1000)
		c, _ := newClient(t, f, ServicesDeployment)
		got, err := Collect(c.Commits(context.Background(), "P", "r", CommitQuery{PageSize: 100}))
		if err != nil || len(got) != 7 {
			t.Fatalf("got %d commits of 7, %v", len(got), err)
		}
		if n := f.count("/commits"); n != 1 {
			t.Fatalf("%d calls, want 1", n)
		}
	})
}

// TestPagingTopSkipIgnoredSkip: a server that ignores $skip answers the
// same page again; the walk stops there instead of looping forever.
func TestPagingTopSkipIgnoredSkip(t *testing.T) {
	f := newFake(t)
	f.json("GET", "/pullrequests", 200, pageOf("pullRequestId", 0, 3))
	c, _ := newClient(t, f, ServicesDeployment)
	got, err := Collect(c.PullRequests(context.Background(), "P", "r", PullRequestQuery{}))
	if err != nil || len(got) != 3 {
		t.Fatalf("got %d pull requests, %v", len(got), err)
	}
	if n := f.count("/pullrequests"); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}
