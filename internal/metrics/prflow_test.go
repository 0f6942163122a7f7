package metrics

import (
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestPullRequestFlow(t *testing.T) {
	// Every PR has commits authored at 1h and 2h (first commit 1h), is
	// created at 4h and merged at 10h with merge commit m; a deployment at
	// 12h deploys m.
	commits := []delivery.Commit{
		{RepositoryID: "r1", SHA: "a", AuthoredAt: h(2), Changes: delivery.ChangeCounts{Added: 1, Edited: 2}},
		{RepositoryID: "r1", SHA: "b", AuthoredAt: h(1), Parents: []string{"a"}, Changes: delivery.ChangeCounts{Deleted: 1}},
		{RepositoryID: "r1", SHA: "m", AuthoredAt: h(10), Parents: []string{"b"}},
	}
	base := func(edit func(*delivery.PullRequest)) delivery.PullRequest {
		pr := merged(7, "r1", h(4), h(10), "m", "a", "b")
		edit(&pr)
		return pr
	}
	comment := func(author string, at float64, system bool) delivery.Comment {
		return delivery.Comment{Author: author, At: h(at), System: system}
	}
	type phases struct{ coding, pickup, review, deploy, cycle *time.Duration }
	tests := []struct {
		name      string
		pr        delivery.PullRequest
		reviewed  bool
		want      phases
		comments  int
		reviewers int
		approvals int
		linked    bool
	}{
		{
			name:     "PR without review has no pickup or review phase; cycle time counts",
			pr:       base(func(*delivery.PullRequest) {}),
			reviewed: false,
			want:     phases{coding: dur(hours(3)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name: "first review activity splits pickup and review",
			pr: base(func(p *delivery.PullRequest) {
				p.Comments = []delivery.Comment{comment("bob", 7, false), comment("carol", 6, false)}
			}),
			reviewed: true, comments: 2,
			want: phases{coding: dur(hours(3)), pickup: dur(hours(2)), review: dur(hours(4)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name: "PR created as draft then published: coding ends and pickup starts at publication",
			pr: base(func(p *delivery.PullRequest) {
				p.PublishedAt = h(8)
				p.Comments = []delivery.Comment{comment("bob", 9, false)}
			}),
			reviewed: true, comments: 1,
			want: phases{coding: dur(hours(7)), pickup: dur(hours(1)), review: dur(hours(1)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name: "author's own comments and votes are not review",
			pr: base(func(p *delivery.PullRequest) {
				p.Comments = []delivery.Comment{comment("alice", 5, false)}
				p.Reviewers = []delivery.Reviewer{{ID: "alice", Vote: delivery.VoteApproved, VotedAt: h(6)}}
			}),
			reviewed: false, comments: 1,
			want: phases{coding: dur(hours(3)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name: "system threads are not review",
			pr: base(func(p *delivery.PullRequest) {
				p.Comments = []delivery.Comment{comment("bob", 5, true), comment("Azure DevOps", 6, true)}
			}),
			reviewed: false,
			want:     phases{coding: dur(hours(3)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name: "a vote timed by its vote-update thread is review activity; approvals count 10 and 5",
			pr: base(func(p *delivery.PullRequest) {
				p.Reviewers = []delivery.Reviewer{
					{ID: "bob", Vote: delivery.VoteApprovedWithSuggestions, VotedAt: h(5)},
					{ID: "carol", Vote: delivery.VoteWaitingForAuthor, VotedAt: h(9)},
					{ID: "dan", Vote: delivery.VoteApproved, VotedAt: h(9.5)},
					{ID: "erin"},
				}
				p.Comments = []delivery.Comment{comment("bob", 6, false)}
			}),
			reviewed: true, comments: 1, reviewers: 4, approvals: 2,
			want: phases{coding: dur(hours(3)), pickup: dur(hours(1)), review: dur(hours(5)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name: "review before publication of a draft is clamped to zero pickup",
			pr: base(func(p *delivery.PullRequest) {
				p.PublishedAt = h(8)
				p.Comments = []delivery.Comment{comment("bob", 7, false)}
			}),
			reviewed: true, comments: 1,
			want: phases{coding: dur(hours(7)), pickup: dur(0), review: dur(hours(3)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			// The PR commits API reported a commit authored at 0h, before the
			// stored history (its commit row was never collected): the PR
			// starts there, so coding and cycle time grow by the hour.
			name:     "a first commit authored before the stored history starts the PR",
			pr:       base(func(p *delivery.PullRequest) { p.FirstCommitAt = h(0) }),
			reviewed: false,
			want:     phases{coding: dur(hours(4)), deploy: dur(hours(2)), cycle: dur(hours(10))},
		},
		{
			name:     "a reported first commit later than a stored one changes nothing",
			pr:       base(func(p *delivery.PullRequest) { p.FirstCommitAt = h(3) }),
			reviewed: false,
			want:     phases{coding: dur(hours(3)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name:   "work item ref links the PR",
			pr:     base(func(p *delivery.PullRequest) { p.WorkItemIDs = []int{42} }),
			linked: true,
			want:   phases{coding: dur(hours(3)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name:   "mention of an existing work item in the description links the PR",
			pr:     base(func(p *delivery.PullRequest) { p.Description = "Fixes #42." }),
			linked: true,
			want:   phases{coding: dur(hours(3)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
		{
			name: "mention of an unknown item or inside a URL does not link",
			pr: base(func(p *delivery.PullRequest) {
				p.Title = "Fix #43"
				p.Description = "see https://dev.azure.com/o/p/_workitems/edit/#42 and PR#42"
			}),
			want: phases{coding: dur(hours(3)), deploy: dur(hours(2)), cycle: dur(hours(9))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Analyze(Input{
				Commits:      commits,
				PullRequests: []delivery.PullRequest{tt.pr},
				Deployments:  []delivery.Deployment{success("d1", "r1", "m", h(12))},
				WorkItems:    []delivery.WorkItem{{ID: 42, ProjectID: "p1", Type: "User Story"}},
			})
			flow, list := a.PullRequests(window(0, 24)), a.PullRequestList(window(0, 24))
			if flow.Merged != 1 || len(list) != 1 {
				t.Fatalf("merged = %d, want 1", flow.Merged)
			}
			f := list[0]
			if f.Reviewed != tt.reviewed || (flow.MergedWithoutReview == 1) == tt.reviewed {
				t.Errorf("reviewed = %v, merged without review = %d; want reviewed %v", f.Reviewed, flow.MergedWithoutReview, tt.reviewed)
			}
			got := phases{f.Coding, f.Pickup, f.Review, f.Deploy, f.Cycle}
			for _, p := range []struct {
				name      string
				got, want *time.Duration
			}{{"coding", got.coding, tt.want.coding}, {"pickup", got.pickup, tt.want.pickup}, {"review", got.review, tt.want.review},
				{"deploy", got.deploy, tt.want.deploy}, {"cycle", got.cycle, tt.want.cycle}} {
				if durOrNil(p.got) != durOrNil(p.want) {
					t.Errorf("%s = %v, want %v", p.name, durOrNil(p.got), durOrNil(p.want))
				}
			}
			if f.FilesChanged != 4 || f.Comments != tt.comments || f.Reviewers != tt.reviewers || f.Approvals != tt.approvals || f.WorkItemLinked != tt.linked {
				t.Errorf("size=%d comments=%d reviewers=%d approvals=%d linked=%v; want 4 %d %d %d %v",
					f.FilesChanged, f.Comments, f.Reviewers, f.Approvals, f.WorkItemLinked, tt.comments, tt.reviewers, tt.approvals, tt.linked)
			}
			if tt.want.pickup == nil && flow.Pickup.N != 0 || flow.Cycle.N != 1 {
				t.Errorf("pickup n=%d cycle n=%d", flow.Pickup.N, flow.Cycle.N)
			}
		})
	}
}

func TestPullRequestFlowSelection(t *testing.T) {
	abandoned := merged(2, "r1", h(1), h(5), "")
	abandoned.Status = delivery.PRAbandoned
	active := merged(3, "r1", h(1), time.Time{}, "")
	active.Status = delivery.PRActive
	outside := merged(4, "r1", h(1), h(30), "")
	otherRepo := merged(5, "r2", h(1), h(5), "")
	a := Analyze(Input{PullRequests: []delivery.PullRequest{merged(1, "r1", h(1), h(5), ""), abandoned, active, outside, otherRepo}})

	tests := []struct {
		name string
		w    delivery.Window
		ids  []int
	}{
		{"only completed PRs merged in the window", window(0, 24), []int{1, 5}},
		{"repository filter", delivery.Window{From: h(0), To: h(24), Repository: "r1"}, []int{1}},
		{"empty window is no data", window(100, 124), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow := a.PullRequests(tt.w)
			var ids []int
			for _, f := range a.PullRequestList(tt.w) {
				ids = append(ids, f.ID)
			}
			if len(ids) != len(tt.ids) || flow.Merged != len(tt.ids) {
				t.Fatalf("PRs = %v, want %v", ids, tt.ids)
			}
			for i := range ids {
				if ids[i] != tt.ids[i] {
					t.Fatalf("PRs = %v, want %v", ids, tt.ids)
				}
			}
			if len(tt.ids) == 0 && (flow.Cycle.Median != nil || flow.WorkItemLinked.Value != nil || flow.Size.Median != nil) {
				t.Errorf("empty flow must be no data: %+v", flow)
			}
			// No commits are stored, so no first commit: no coding or cycle.
			if flow.Cycle.N != 0 {
				t.Errorf("cycle n = %d, want 0 without stored commits", flow.Cycle.N)
			}
		})
	}
}
