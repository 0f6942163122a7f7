package azure

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Page sizes of the commit walks: the default branch reads whole pages; any
// other branch usually ends after its own few commits (the rest of its
// history is the default branch's), so its first page is small.
const (
	branchFirstPage = 100
	pushCommitPage  = 1000
	pushPageSize    = 1000
)

// pendingCommit is a listed commit and the parent inferred for it.
type pendingCommit struct {
	c      azdo.Commit
	parent string
}

// commitCursor is the commits step's position: a repository, a branch of it
// ("" is the default branch, which goes first; the others follow by name)
// and, inside the branch, the committer date the next page starts at
// (committedPos) or "done". Checkpoints written before branches were walked
// have no branch part: "<repo id>|<pos>".
type commitCursor struct {
	repo, branch, pos string
}

func parseCommitCursor(s string) (commitCursor, bool) {
	parts := strings.Split(s, "|")
	switch len(parts) {
	case 2:
		return commitCursor{repo: parts[0], pos: parts[1]}, true
	case 3:
		return commitCursor{repo: parts[0], branch: parts[1], pos: parts[2]}, true
	}
	return commitCursor{}, false
}

func (c commitCursor) String() string { return c.repo + "|" + c.branch + "|" + c.pos }

// committedPrefix marks a cursor position that is a committer date. The
// commits list's fromDate and toDate filter on the committer date
// (MicrosoftDocs/azure-devops-docs#3909) and the list is in committer
// order, so a resumed walk starts at the committer date of the commit it
// stopped at: an author date can be days earlier (a rebase or cherry-pick
// keeps it), and toDate set to it skips every commit committed in between.
// Cursors written before held an author date, unmarked: a resumed walk
// reads that branch again from its head rather than trust one.
const committedPrefix = "committed:"

func committedPos(t time.Time) string { return committedPrefix + t.UTC().Format(time.RFC3339Nano) }

func parseCommittedPos(pos string) (time.Time, bool) {
	v, ok := strings.CutPrefix(pos, committedPrefix)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// commits collects, in a backfill, each repository's commits committed in
// the window (the list's date filter is on the committer date; a commit
// authored in the window was committed in it too) on every branch: the default branch first, whole, then every
// other branch newest first until its history reaches commits already
// collected (a branch whose head was collected is not read at all). A
// commit on several branches is stored once. In a reconciliation it reads
// what was pushed instead (see pushedCommits).
//
// The lists carry no parents (PROTOCOL §4): each commit's first parent is
// taken to be the next, older commit of the branch's list (exact for a
// linear history; a branch's first own commit gets the commit it forked
// from); merge commits get their real parents from the pull request that
// made them (see writePR). Cursor: see commitCursor.
func (s *syncer) commits(ctx context.Context, cp *collect.Checkpoint) error {
	if s.Reconcile {
		return s.pushedCommits(ctx, cp)
	}
	repos, err := s.activeRepos(ctx)
	if err != nil {
		return err
	}
	cur, resumed := parseCommitCursor(cp.Pos)
	start := 0
	if resumed {
		resumed = false
		for i, r := range repos {
			if r.RepoID == cur.repo {
				start, resumed = i, true // a repository gone since: start over, nothing is lost
			}
		}
	}
	for i := start; i < len(repos); i++ {
		at := commitCursor{repo: repos[i].RepoID}
		if resumed && i == start {
			at = cur
		}
		s.repoShare = [2]float64{float64(i) / float64(len(repos)), 1 / float64(len(repos))}
		if err := s.repoCommits(ctx, cp, repos[i], at); err != nil {
			if !s.repoGone(repos[i], err) {
				return err
			}
		}
	}
	return nil
}

// commitsShare estimates the commits step's part done: the repositories
// walked, and of the current one the part of the window its default
// branch has reached (newest first), which is most of a repository's
// commits; its other branches fill the last tenth.
func (s *syncer) commitsShare(branch string, reached time.Time) float64 {
	base, slot := s.repoShare[0], s.repoShare[1]
	if branch != "" {
		return base + slot*0.9
	}
	return base + slot*0.9*s.windowShare(reached, s.Started)
}

// repoGone reports whether err says Azure DevOps does not know the
// repository (deleted, or only ever named by a webhook delivery): it is
// skipped, not retried forever, and the rest of the project is collected.
func (s *syncer) repoGone(repo store.Repository, err error) bool {
	if !delivery.IsNotFound(err) {
		return false
	}
	s.Logger().Info("repository skipped: Azure DevOps does not know it", "project", s.Project.ProjectID,
		"repository", repo.RepoID, "error", err)
	return true
}

// repoCommits walks one repository's branches from the cursor on.
func (s *syncer) repoCommits(ctx context.Context, cp *collect.Checkpoint, repo store.Repository, at commitCursor) error {
	refs, err := s.client.Branches(ctx, s.Project.ProjectID, repo.RepoID)
	if err != nil {
		return err
	}
	cp.Pages += int64(len(refs)/azdo.MaxRefsPerPage + 1)
	var others []azdo.Ref
	for _, r := range refs {
		if !strings.EqualFold(r.Name, repo.DefaultBranch) {
			others = append(others, r)
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].Name < others[j].Name })
	seen := map[string]bool{}
	if at.branch == "" {
		if at.pos != "done" {
			if err := s.branchCommits(ctx, cp, repo, "", at.pos, seen); err != nil {
				return err
			}
		}
		at.pos = ""
	}
	for _, r := range others {
		if r.Name < at.branch || r.Name == at.branch && at.pos == "done" {
			continue // done in an earlier run
		}
		pos := ""
		if r.Name == at.branch {
			pos = at.pos
		}
		if seen[r.ObjectID] {
			// Its head, hence its history in the window, was collected from
			// a branch before it.
			cp.Pos = commitCursor{repo.RepoID, r.Name, "done"}.String()
			continue
		}
		if err := s.branchCommits(ctx, cp, repo, r.Name, pos, seen); err != nil {
			return err
		}
	}
	return nil
}

// branchCommits lists one branch's commits in the window, newest first by
// committer date (from the committer date pos when resuming), and stores
// those not seen yet.
// The default branch ("") is read whole; another branch stops at the end of
// a page whose last commit was already collected: the rest is history
// shared with a branch walked before.
func (s *syncer) branchCommits(ctx context.Context, cp *collect.Checkpoint, repo store.Repository, name, pos string, seen map[string]bool) error {
	q := azdo.CommitQuery{FromDate: s.From, IncludeWorkItems: true, PageSize: commitPageSize}
	if t, ok := parseCommittedPos(pos); ok {
		q.ToDate = t
	}
	if name != "" {
		q.ItemVersion, q.FirstPageSize = name, branchFirstPage
	}
	var held *azdo.Commit
	var buf []pendingCommit
	flush := func(pos string) error {
		items := make([]collect.Fingerprinted, len(buf))
		for k, p := range buf {
			items[k] = collect.Fingerprinted{Kind: store.SyncCommit, Key: repo.RepoID + ":" + p.c.CommitID, FP: "1"}
		}
		batch := buf
		buf = nil
		cp.Pos = commitCursor{repo.RepoID, name, pos}.String()
		if t, ok := parseCommittedPos(pos); ok {
			cp.Share = s.commitsShare(name, t)
		} else if pos == "done" {
			cp.Share = s.commitsShare(name, s.From)
		}
		return s.Write(ctx, resCommits, cp, items, func(tx *store.Tx) error {
			for _, p := range batch {
				if err := s.writeCommit(ctx, tx, repo.RepoID, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	n, pageEnd := 0, q.PageSize // items read, and where the current page ends
	if q.FirstPageSize > 0 {
		pageEnd = q.FirstPageSize
	}
	for c, err := range s.client.Commits(ctx, s.Project.ProjectID, repo.RepoID, q) {
		if err != nil {
			return err
		}
		if n == 0 || n == pageEnd {
			cp.Pages++
			if n > 0 {
				pageEnd += q.PageSize
			}
		}
		n++
		known := seen[c.CommitID]
		if held != nil {
			buf = append(buf, pendingCommit{c: *held, parent: c.CommitID})
			held = nil
		}
		if !known {
			seen[c.CommitID] = true
			held = &c
		}
		if len(buf) >= commitPageSize {
			// A resumed run starts at this commit again; a held one is written
			// with the next batch, once its parent is known.
			if err := flush(committedPos(c.Committer.Date.Time)); err != nil {
				return err
			}
		}
		if n == pageEnd && name != "" {
			stop := known
			if !known {
				key := repo.RepoID + ":" + c.CommitID
				stored, err := s.DB.StoredFingerprints(ctx, store.SyncCommit, s.Key.IntegrationID, []string{key})
				if err != nil {
					return err
				}
				_, stop = stored[key] // stored by an earlier run of this backfill
			}
			if stop {
				break // the page ends in history a branch before this one brought
			}
		}
	}
	if held != nil {
		buf = append(buf, pendingCommit{c: *held})
	}
	return flush("done")
}

// pushedCommits collects, in a reconciliation, every commit pushed to any
// branch since from, whatever its author date (a rebase, a cherry-pick, a
// long-lived branch merged: listing commits by date would miss them): the
// pushes list with ref updates, then each push's commits (one list call
// per push). A push whose new heads are stored with parents already was
// read through the REST lists before (a webhook delivery stores commits
// without parents or change counts, and those pushes are read again).
func (s *syncer) pushedCommits(ctx context.Context, cp *collect.Checkpoint) error {
	repos, err := s.activeRepos(ctx)
	if err != nil {
		return err
	}
	for _, repo := range repos {
		var todo []azdo.Push
		n := 0
		gone := false
		for p, err := range s.client.Pushes(ctx, s.Project.ProjectID, repo.RepoID, azdo.PushQuery{FromDate: s.From,
			IncludeRefUpdates: true, PageSize: pushPageSize}) {
			if err != nil {
				if gone = s.repoGone(repo, err); gone {
					break
				}
				return err
			}
			n++
			need, err := s.pushNeeded(ctx, repo.RepoID, p)
			if err != nil {
				return err
			}
			if need {
				todo = append(todo, p)
			}
		}
		cp.Pages += int64(n/pushPageSize + 1)
		if gone {
			continue
		}
		got := make([][]pendingCommit, len(todo))
		err := parallel(ctx, len(todo), s.Fanout, func(ctx context.Context, i int) error {
			cs, err := azdo.Collect(s.client.PushCommits(ctx, s.Project.ProjectID, repo.RepoID, todo[i].PushID, pushCommitPage))
			if err != nil {
				return err
			}
			old := ""
			if ru := todo[i].RefUpdates; len(ru) == 1 && strings.Trim(ru[0].OldObjectID, "0") != "" {
				old = ru[0].OldObjectID
			}
			for k, c := range cs {
				parent := old
				if k+1 < len(cs) {
					parent = cs[k+1].CommitID
				}
				got[i] = append(got[i], pendingCommit{c: c, parent: parent})
			}
			return nil
		})
		if err != nil {
			return err
		}
		cp.Pages += int64(len(todo))
		var batch []pendingCommit
		var items []collect.Fingerprinted
		dup := map[string]bool{}
		for _, cs := range got {
			for _, p := range cs {
				if !dup[p.c.CommitID] {
					dup[p.c.CommitID] = true
					batch = append(batch, p)
					items = append(items, collect.Fingerprinted{Kind: store.SyncCommit, Key: repo.RepoID + ":" + p.c.CommitID, FP: "1"})
				}
			}
		}
		if err := s.Write(ctx, resCommits, cp, items, func(tx *store.Tx) error {
			for _, p := range batch {
				if err := s.writeCommit(ctx, tx, repo.RepoID, p); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// pushNeeded tells whether a push may have brought commits not read
// through the REST lists yet: one of its new heads is not stored with its
// parents. A push that only deleted refs brought none.
func (s *syncer) pushNeeded(ctx context.Context, repoID string, p azdo.Push) (bool, error) {
	if len(p.RefUpdates) == 0 {
		return true, nil // no ref updates: nothing to judge by
	}
	for _, ru := range p.RefUpdates {
		if strings.Trim(ru.NewObjectID, "0") == "" {
			continue
		}
		parents, err := s.DB.CommitParents(ctx, s.Key.IntegrationID, repoID, ru.NewObjectID)
		if err != nil {
			return false, err
		}
		if len(parents) == 0 {
			return true, nil
		}
	}
	return false, nil
}

func (s *syncer) writeCommit(ctx context.Context, tx *store.Tx, repoID string, p pendingCommit) error {
	raw, err := json.Marshal(p.c)
	if err != nil {
		return err
	}
	var gc gitCommit
	if err := json.Unmarshal(raw, &gc); err != nil {
		return err
	}
	if err := storeCommit(ctx, tx, s.Key, s.Project.ProjectID, repoID, gc); err != nil {
		return err
	}
	switch {
	case len(p.c.Parents) > 0:
		return tx.SetCommitParents(ctx, s.Key.IntegrationID, repoID, p.c.CommitID, p.c.Parents, true)
	case p.parent != "":
		return tx.SetCommitParents(ctx, s.Key.IntegrationID, repoID, p.c.CommitID, []string{p.parent}, false)
	}
	return nil
}
