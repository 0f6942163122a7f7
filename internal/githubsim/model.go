package githubsim

import (
	"sort"
	"strings"
	"time"
)

// The simulated world. Everything is guarded by Sim.mu; renderers read it under the lock.

type user struct {
	id      int64
	login   string
	name    string
	email   string
	created time.Time
	bot     bool
}

type org struct {
	id      int64
	login   string
	name    string
	created time.Time
	members []*user
	repos   []*repo
}

type repo struct {
	id            int64
	name          string
	owner         *org
	private       bool
	description   string
	defaultBranch string
	created       time.Time
	pushed        time.Time
	updated       time.Time
	// branches maps a branch name to its commits, newest first (a linear history per branch).
	branches map[string][]*commit
	commits  map[string]*commit // every commit by sha
	pulls    []*pull            // by number order
	issues   []*issue           // every issue and pull request's issue, by number
	nextNum  int
	runs     []*run
	deploys  []*deployment
	envs     []*environment
	hooks    []*hook
	labels   []*label
}

type label struct {
	id    int64
	name  string
	color string
	desc  string
}

type commit struct {
	sha        string
	tree       string
	message    string
	author     *user
	authored   time.Time
	committed  time.Time
	parents    []string
	additions  int
	deletions  int
	files      []string
	branchHint string
}

type pull struct {
	id           int64
	number       int
	title        string
	body         string
	user         *user
	state        string // open, closed
	draft        bool
	created      time.Time
	updated      time.Time
	closed       time.Time
	merged       time.Time
	mergedBy     *user
	mergeSHA     string
	headRef      string
	baseRef      string
	commits      []*commit // oldest first
	reviews      []*review
	comments     []*reviewComment
	issue        *issue
	additions    int
	deletions    int
	changedFiles int
}

type issue struct {
	id       int64
	number   int
	title    string
	body     string
	user     *user
	state    string // open, closed
	reason   string // completed, not_planned, "" when open
	labels   []*label
	created  time.Time
	updated  time.Time
	closed   time.Time
	comments []*issueComment
	pull     *pull // non-nil when the issue is a pull request's
}

type issueComment struct {
	id      int64
	body    string
	user    *user
	created time.Time
	updated time.Time
	issue   *issue
}

type review struct {
	id        int64
	user      *user
	state     string // APPROVED, CHANGES_REQUESTED, COMMENTED
	body      string
	submitted time.Time
	commitID  string
}

type reviewComment struct {
	id       int64
	reviewID int64
	body     string
	path     string
	line     int
	user     *user
	created  time.Time
	updated  time.Time
	commitID string
}

type run struct {
	id         int64
	number     int
	attempt    int
	name       string
	path       string
	workflowID int64
	event      string
	status     string // queued, in_progress, completed
	conclusion string // success, failure, cancelled, "" until completed
	headBranch string
	headSHA    string
	actor      *user
	created    time.Time
	updated    time.Time
	started    time.Time
}

type deployment struct {
	id          int64
	sha         string
	ref         string
	task        string
	environment string
	description string
	creator     *user
	created     time.Time
	updated     time.Time
	statuses    []*deploymentStatus // oldest first; the API lists newest first
}

type deploymentStatus struct {
	id          int64
	state       string // queued, in_progress, success, failure, error, inactive
	description string
	environment string
	creator     *user
	created     time.Time
}

type environment struct {
	id      int64
	name    string
	created time.Time
	updated time.Time
}

type hook struct {
	id          int64
	active      bool
	events      []string
	url         string
	contentType string // json or form
	secret      string
	insecureSSL string
	created     time.Time
	updated     time.Time
	lastCode    int
	lastStatus  string
	lastMessage string
	deliveries  []*delivery // oldest first
	urls        urls        // the API style the hook was created through; its payloads' links use it
}

// byUpdated sorts newest first.
func sortIssues(list []*issue, sortKey, dir string) {
	key := func(i *issue) time.Time {
		switch sortKey {
		case "updated":
			return i.updated
		case "comments":
			return time.Unix(int64(len(i.comments)), 0)
		}
		return i.created
	}
	sort.SliceStable(list, func(a, b int) bool {
		ka, kb := key(list[a]), key(list[b])
		if ka.Equal(kb) {
			if dir == "asc" {
				return list[a].number < list[b].number
			}
			return list[a].number > list[b].number
		}
		if dir == "asc" {
			return ka.Before(kb)
		}
		return ka.After(kb)
	})
}

func (r *repo) fullName() string { return r.owner.login + "/" + r.name }

func (r *repo) pullByNumber(n int) *pull {
	for _, p := range r.pulls {
		if p.number == n {
			return p
		}
	}
	return nil
}

func (r *repo) issueByNumber(n int) *issue {
	for _, i := range r.issues {
		if i.number == n {
			return i
		}
	}
	return nil
}

func (r *repo) hookByID(id int64) *hook {
	for _, h := range r.hooks {
		if h.id == id {
			return h
		}
	}
	return nil
}

// commitByRef resolves a branch name, a full sha or a sha prefix of at least 7 characters.
func (r *repo) commitByRef(ref string) *commit {
	if list, ok := r.branches[ref]; ok && len(list) > 0 {
		return list[0]
	}
	if c, ok := r.commits[ref]; ok {
		return c
	}
	if len(ref) >= 7 {
		for sha, c := range r.commits {
			if strings.HasPrefix(sha, ref) {
				return c
			}
		}
	}
	return nil
}
