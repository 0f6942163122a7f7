package github

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// IssueRef is an issue a text names: "#123" (the text's own repository),
// "owner/repo#123", either after a closing keyword ("Fixes #123").
type IssueRef struct {
	// Repo is "owner/repo" as written, "" for the text's own repository.
	Repo    string
	Number  int
	Closing bool
}

// issueRefPattern finds references as GitHub links them ("Linking a pull
// request to an issue", docs.github.com/en/issues/tracking-your-work-with-issues/
// using-issues/linking-a-pull-request-to-an-issue): a closing keyword —
// close, closes, closed, fix, fixes, fixed, resolve, resolves, resolved,
// any case, optionally followed by a colon — then "#N" or "OWNER/REPO#N";
// without a keyword the same forms are mentions. Each issue needs its own
// keyword ("Fixes #1 and #2" closes #1 and mentions #2).
var issueRefPattern = regexp.MustCompile(`(?i)(?:\b(close|closes|closed|fix|fixes|fixed|resolve|resolves|resolved)(?::\s*|\s+))?` +
	`(?:([a-z0-9][a-z0-9-]*)/([a-z0-9._-]+))?#([0-9]+)`)

// IssueRefs returns the issues text references, in order of first
// appearance, each once (closing when any of its references closes). As
// with Azure DevOps' #1234 mentions (delivery.Mentions), a reference is
// not preceded by a letter, digit, '&' or '/', does not run on into a
// letter or digit, and does not sit inside a URL; numbers that do not fit
// 32 bits or are zero are not references.
func IssueRefs(text string) []IssueRef {
	var out []IssueRef
	index := map[IssueRef]int{} // by repo and number, Closing false
	for _, m := range issueRefPattern.FindAllStringSubmatchIndex(text, -1) {
		start, end, hash := m[0], m[1], m[8]-1
		refStart := hash
		if m[4] >= 0 {
			refStart = m[4]
		}
		if !refBoundary(text, refStart, end) || delivery.InsideURL(text, hash) {
			continue
		}
		n, ok := issueNumber(text[m[8]:m[9]])
		if !ok {
			continue
		}
		r := IssueRef{Number: n}
		if m[4] >= 0 {
			r.Repo = text[m[4]:m[5]] + "/" + text[m[6]:m[7]]
		}
		closing := m[2] >= 0 && start == m[2]
		key := IssueRef{Repo: strings.ToLower(r.Repo), Number: n}
		if i, seen := index[key]; seen {
			out[i].Closing = out[i].Closing || closing
			continue
		}
		r.Closing = closing
		index[key] = len(out)
		out = append(out, r)
	}
	return out
}

// refBoundary: the boundaries of a #1234 mention (delivery.MentionBoundary),
// and no '/', '.', '-' or '_' before an owner ("a/owner/repo#1",
// "my-org/repo#1" read from "org" would name the wrong repository).
func refBoundary(text string, start, end int) bool {
	if start > 0 && strings.ContainsAny(text[start-1:start], "/.-_") {
		return false
	}
	return delivery.MentionBoundary(text, start, end)
}

func issueNumber(digits string) (int, bool) {
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// Link origins of GitHub references.
const (
	originClosing = "closing" // a closing keyword in the PR's title or description, or a commit message
	originMention = "mention" // a reference without one
)

// refContainer resolves a reference to its issue's container (the
// repository's id): the text's own repository for "#N" and for its own
// full name; another selected repository of the integration by its full
// name; ok false for a repository not collected (its issues are not work
// items here, and its id is unknown).
type refContainer func(ctx context.Context, r IssueRef) (string, bool, error)

// containers resolves references made in repository repo (id, full name),
// reading the integration's repositories only when a text names another.
// A number that is a stored pull request of its repository names no issue
// (PRs and issues share a repository's numbers: "Merge pull request #5"),
// so it resolves to none.
func containers(tx *store.Tx, k store.Key, repo, fullName string) refContainer {
	find := repoOf(tx, k, repo, fullName)
	return func(ctx context.Context, r IssueRef) (string, bool, error) {
		container, ok, err := find(ctx, r)
		if err != nil || !ok {
			return "", false, err
		}
		_, err = tx.GetPullRequest(ctx, k.WorkspaceID, store.PRRef{IntegrationID: k.IntegrationID, RepoID: container, PRID: int64(r.Number)})
		switch {
		case err == nil:
			return "", false, nil
		case delivery.IsNotFound(err):
			return container, true, nil
		}
		return "", false, err
	}
}

// repoOf resolves a reference's repository to its id.
func repoOf(tx *store.Tx, k store.Key, repo, fullName string) refContainer {
	var byName map[string]string
	return func(ctx context.Context, r IssueRef) (string, bool, error) {
		if r.Repo == "" || (fullName != "" && strings.EqualFold(r.Repo, fullName)) {
			return repo, true, nil
		}
		if byName == nil {
			ps, err := tx.ListProjects(ctx, k, false)
			if err != nil {
				return "", false, err
			}
			byName = map[string]string{}
			for _, p := range ps {
				byName[strings.ToLower(p.Name)] = p.ProjectID
				if p.ProjectID == repo && fullName == "" {
					fullName = p.Name
				}
			}
		}
		id, ok := byName[strings.ToLower(r.Repo)]
		return id, ok, nil
	}
}

// writeLinks links the issues a PR's title and description reference to
// the PR (a closing reference is also the PR's work item, as Azure DevOps'
// work item refs are), and those its commits' messages reference to the
// commits. Links only add rows: the same PR written again changes nothing.
func writeLinks(ctx context.Context, tx *store.Tx, k store.Key, ref store.PRRef, f fetchedPR) error {
	resolve := containers(tx, k, ref.RepoID, f.pr.GetBase().GetRepo().GetFullName())
	err := link(ctx, tx, k, resolve, f.pr.GetTitle()+"\n"+f.pr.GetBody(), "pull_request", ref.Target(), func(w store.WorkItemRef) error {
		return tx.AddPRWorkItem(ctx, ref, w)
	})
	if err != nil {
		return err
	}
	for _, c := range f.commits {
		if err := linkCommit(ctx, tx, k, resolve, ref.RepoID, c.GetSHA(), c.GetCommit().GetMessage()); err != nil {
			return err
		}
	}
	return nil
}

// linkCommit links the issues a commit message references to the commit
// ("<repo>:<sha>"), as Azure DevOps' #1234 mentions in commit messages.
func linkCommit(ctx context.Context, tx *store.Tx, k store.Key, resolve refContainer, repo, sha, message string) error {
	return link(ctx, tx, k, resolve, message, "commit", repo+":"+sha, nil)
}

// link stores a link from each issue text references to the target, its
// origin closing or mention; closing, when given, is called for each
// closing reference too.
func link(ctx context.Context, tx *store.Tx, k store.Key, resolve refContainer, text, kind, target string,
	closing func(store.WorkItemRef) error) error {
	for _, r := range IssueRefs(text) {
		container, ok, err := resolve(ctx, r)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		origin := originMention
		if r.Closing {
			origin = originClosing
			if closing != nil {
				if err := closing(store.WorkItemRef{Container: container, ID: int64(r.Number)}); err != nil {
					return err
				}
			}
		}
		if err := tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: k, Container: container, WorkItemID: int64(r.Number),
			TargetKind: kind, TargetID: target, Origin: origin}); err != nil {
			return err
		}
	}
	return nil
}
