package azdosim

import (
	"slices"
	"testing"
)

// TestPullRequestsLookReal: in the demo's organization (profile medium),
// after live activity, every completed pull request's first commit was
// authored before the PR opened (no coding time of 0 or clamped), coding
// times spread from hours to days, and PR sizes (files changed, the sum of
// its commits' change counts) are skewed: mostly a handful, a tail of tens.
func TestPullRequestsLookReal(t *testing.T) {
	s := newTestSim(t, Options{Profile: "medium", Mode: "services"})
	for i := 0; i < 40; i++ {
		if _, err := s.Activity(ActivityRequest{Kind: "pull_request_created"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 40; i++ {
		if _, err := s.Activity(ActivityRequest{Kind: "pull_request_completed"}); err != nil {
			t.Fatal(err)
		}
	}
	o := s.org
	o.mu.Lock()
	defer o.mu.Unlock()
	var coding []int64
	var files []int
	for _, pr := range o.prs {
		if pr.status != prCompleted || pr.srcIdx < 0 {
			continue
		}
		rp := pr.repo
		first, n := int64(0), 0
		for i := pr.srcIdx; i > pr.srcIdx-pr.nCommits && i >= 0; i-- {
			c := &rp.commits[i]
			if at := c.authorAt(); first == 0 || at < first {
				first = at
			}
			n += int(c.add) + int(c.edt) + int(c.del)
		}
		if first >= pr.created {
			t.Errorf("PR %d: first commit authored %d s after the PR opened: coding time would be 0", pr.ID, first-pr.created)
		}
		coding = append(coding, pr.created-first)
		files = append(files, n)
	}
	if len(coding) < 100 {
		t.Fatalf("only %d completed PRs", len(coding))
	}
	slices.Sort(coding)
	slices.Sort(files)
	q := func(p float64) int { return int(p * float64(len(coding)-1)) }
	med, p10, p90 := coding[q(.5)], coding[q(.1)], coding[q(.9)]
	t.Logf("%d completed PRs; coding p10 %.1f h, median %.1f h, p90 %.1f h; files p10 %d, median %d, p90 %d, max %d",
		len(coding), float64(p10)/3600, float64(med)/3600, float64(p90)/3600, files[q(.1)], files[q(.5)], files[q(.9)], files[len(files)-1])
	if med < 5*3600 || med > 3*86400 {
		t.Errorf("median coding time %.1f h: want hours to days", float64(med)/3600)
	}
	if p90 < 4*p10 {
		t.Errorf("coding times barely vary: p10 %d s, p90 %d s", p10, p90)
	}
	if files[0] < 1 {
		t.Errorf("a completed PR changes %d files", files[0])
	}
	if m := files[q(.5)]; m < 3 || m > 20 {
		t.Errorf("median PR size %d files: want a handful", m)
	}
	if files[q(.9)] < 2*files[q(.5)] || files[len(files)-1] < 30 {
		t.Errorf("PR sizes are not skewed: median %d, p90 %d, max %d", files[q(.5)], files[q(.9)], files[len(files)-1])
	}
}
