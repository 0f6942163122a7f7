package github_test

import (
	"reflect"
	"testing"

	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
)

// TestIssueRefs reads references as GitHub's "Linking a pull request to an
// issue" documents them: the nine closing keywords in any case with an
// optional colon, "#N" and "OWNER/REPO#N", one keyword per issue; and
// leaves alone what is not a reference (PR#1, URLs' fragments, HTML
// entities, #12abc, zero and numbers beyond 32 bits).
func TestIssueRefs(t *testing.T) {
	ref := func(repo string, n int, closing bool) ghcollect.IssueRef {
		return ghcollect.IssueRef{Repo: repo, Number: n, Closing: closing}
	}
	for _, c := range []struct {
		text string
		want []ghcollect.IssueRef
	}{
		{"Fixes #12", []ghcollect.IssueRef{ref("", 12, true)}},
		{"close #1 closes #2 closed #3 fix #4 fixes #5 fixed #6 resolve #7 resolves #8 resolved #9", []ghcollect.IssueRef{
			ref("", 1, true), ref("", 2, true), ref("", 3, true), ref("", 4, true), ref("", 5, true), ref("", 6, true),
			ref("", 7, true), ref("", 8, true), ref("", 9, true)}},
		{"CLOSES: #10, Resolves:#11", []ghcollect.IssueRef{ref("", 10, true), ref("", 11, true)}},
		{"Fixes #1 and #2", []ghcollect.IssueRef{ref("", 1, true), ref("", 2, false)}},
		{"see #3, then fixes #3", []ghcollect.IssueRef{ref("", 3, true)}},
		{"Fixes octo-org/octo-repo#100 and relates to octo-org/other#7", []ghcollect.IssueRef{
			ref("octo-org/octo-repo", 100, true), ref("octo-org/other", 7, false)}},
		{"prefix #4 is a mention, not a fix", []ghcollect.IssueRef{ref("", 4, false)}},
		{"PR#1 &#38; #12abc https://example.com/page#5 www.example.com/x#6 #0 #99999999999", nil},
		{"(#8)", []ghcollect.IssueRef{ref("", 8, false)}},
		{"Fixes\n#9", []ghcollect.IssueRef{ref("", 9, true)}},
		{"fixes#9", nil}, // as PR#1: a letter before the #
	} {
		if got := ghcollect.IssueRefs(c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("IssueRefs(%q) = %+v, want %+v", c.text, got, c.want)
		}
	}
}
