package azdo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ProjectRef is the project embedded in other resources.
type ProjectRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	URL   string `json:"url,omitempty"`
	State string `json:"state,omitempty"`
}

// Repository is a Git repository.
type Repository struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Project       ProjectRef `json:"project"`
	DefaultBranch string     `json:"defaultBranch"`
	Size          int64      `json:"size"`
	RemoteURL     string     `json:"remoteUrl"`
	SSHURL        string     `json:"sshUrl"`
	WebURL        string     `json:"webUrl"`
	// IsDisabled repositories answer errors on most calls; skip them.
	IsDisabled bool `json:"isDisabled"`
}

// Repositories lists the Git repositories of a project (not paged).
func (c *Client) Repositories(ctx context.Context, project string) ([]Repository, error) {
	return getList[Repository](ctx, c, call{ep: epRepositories, method: http.MethodGet, path: seg(project) + "/_apis/git/repositories"})
}

// GitUserDate is a commit author or committer.
type GitUserDate struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  Time   `json:"date"`
}

// ChangeCounts counts a commit's changed files by kind.
type ChangeCounts struct {
	Add    int `json:"Add"`
	Edit   int `json:"Edit"`
	Delete int `json:"Delete"`
}

// Commit is a GitCommitRef from the commits and PR commits lists.
type Commit struct {
	CommitID         string        `json:"commitId"`
	Author           GitUserDate   `json:"author"`
	Committer        GitUserDate   `json:"committer"`
	Comment          string        `json:"comment"`
	CommentTruncated bool          `json:"commentTruncated"`
	ChangeCounts     *ChangeCounts `json:"changeCounts,omitempty"`
	Parents          []string      `json:"parents,omitempty"`
	URL              string        `json:"url"`
	RemoteURL        string        `json:"remoteUrl"`
	WorkItems        []ResourceRef `json:"workItems,omitempty"`
	Push             *struct {
		PushID   int         `json:"pushId"`
		Date     Time        `json:"date"`
		PushedBy IdentityRef `json:"pushedBy"`
	} `json:"push,omitempty"`
}

// CommitQuery filters the commits list; zero fields are not sent.
type CommitQuery struct {
	// FromDate and ToDate bound the committer date, not the author date
	// (MicrosoftDocs/azure-devops-docs#3909): a rebased or cherry-picked
	// commit authored before FromDate is listed when committed after it.
	// The list is newest first by committer date.
	FromDate, ToDate time.Time
	// ItemVersion is the branch to walk (searchCriteria.itemVersion.version,
	// a name without refs/heads/); empty means the default branch.
	ItemVersion string
	// ItemVersionType is "branch" (the default) or "commit" (ItemVersion is
	// a commit id: its history).
	ItemVersionType  string
	Author           string
	IncludeWorkItems bool
	IncludePushData  bool
	// PageSize is searchCriteria.$top (default DefaultPageSize).
	PageSize int
	// FirstPageSize, when smaller than PageSize, is the first page's $top:
	// a walk that usually ends early (a branch's own commits) reads less.
	FirstPageSize int
}

// Commits iterates over a repository's commits with searchCriteria paging
// ($top/$skip). Every commit carries changeCounts.
func (c *Client) Commits(ctx context.Context, project, repo string, q CommitQuery) iter.Seq2[Commit, error] {
	v := url.Values{}
	setTime(v, "searchCriteria.fromDate", q.FromDate)
	setTime(v, "searchCriteria.toDate", q.ToDate)
	if q.ItemVersion != "" {
		v.Set("searchCriteria.itemVersion.version", strings.TrimPrefix(q.ItemVersion, "refs/heads/"))
		v.Set("searchCriteria.itemVersion.versionType", cmp.Or(q.ItemVersionType, "branch"))
	}
	if q.Author != "" {
		v.Set("searchCriteria.author", q.Author)
	}
	if q.IncludeWorkItems {
		v.Set("searchCriteria.includeWorkItems", "true")
	}
	if q.IncludePushData {
		v.Set("searchCriteria.includePushData", "true")
	}
	r := call{ep: epCommits, method: http.MethodGet, path: repoPath(project, repo) + "/commits", query: v}
	return items(func(fn pageFunc[Commit]) error {
		const top, skip = "searchCriteria.$top", "searchCriteria.$skip"
		size := q.PageSize
		if size <= 0 {
			size = DefaultPageSize
		}
		if q.FirstPageSize <= 0 || q.FirstPageSize >= size {
			return walkTopSkip(ctx, c, r, top, skip, size, 0, fn)
		}
		got := 0
		err := walkTopSkip(ctx, c, r, top, skip, q.FirstPageSize, 0, func(p []Commit) error {
			got = len(p)
			if err := fn(p); err != nil {
				return err
			}
			return errFirstPage
		})
		if !errors.Is(err, errFirstPage) {
			return err // an error, or an empty first page
		}
		// A first page shorter than asked may be the end of the list or a
		// silent cap: the rest of the walk tells (see walkTopSkip).
		return walkTopSkip(ctx, c, r, top, skip, size, got, fn)
	})
}

var errFirstPage = errors.New("azdo: first page read")

// PushCommits iterates over the commits a push brought, newest first
// (Commits - Get Push Commits: GET …/commits?pushId=, paged with top/skip).
// Unlike GET …/pushes/{id}?includeCommits, it is a list and pages.
func (c *Client) PushCommits(ctx context.Context, project, repo string, pushID, pageSize int) iter.Seq2[Commit, error] {
	v := url.Values{}
	v.Set("pushId", strconv.Itoa(pushID))
	r := call{ep: epPushCommits, method: http.MethodGet, path: repoPath(project, repo) + "/commits", query: v}
	return items(func(fn pageFunc[Commit]) error {
		return walkTopSkip(ctx, c, r, "top", "skip", pageSize, 0, fn)
	})
}

// Ref is a GitRef: a branch or tag and the commit it points at.
type Ref struct {
	Name     string      `json:"name"`
	ObjectID string      `json:"objectId"`
	Creator  IdentityRef `json:"creator"`
	URL      string      `json:"url"`
}

// MaxRefsPerPage is the largest $top the refs list accepts.
const MaxRefsPerPage = 1000

// Refs iterates over a repository's refs whose name after "refs/" starts
// with filter ("heads/" for branches), sorted by name, with the
// continuation token header.
func (c *Client) Refs(ctx context.Context, project, repo, filter string) iter.Seq2[Ref, error] {
	v := url.Values{}
	if filter != "" {
		v.Set("filter", filter)
	}
	r := call{ep: epRefs, method: http.MethodGet, path: repoPath(project, repo) + "/refs", query: v}
	return items(func(fn pageFunc[Ref]) error {
		return walkContinuation(ctx, c, r, "$top", MaxRefsPerPage, "", fn)
	})
}

// Branches lists a repository's branches (refs/heads/…), default one included.
func (c *Client) Branches(ctx context.Context, project, repo string) ([]Ref, error) {
	return Collect(c.Refs(ctx, project, repo, "heads/"))
}

// RefUpdate is one ref moved by a push.
type RefUpdate struct {
	Name        string `json:"name"`
	OldObjectID string `json:"oldObjectId"`
	NewObjectID string `json:"newObjectId"`
}

// Push is one git push.
type Push struct {
	PushID     int         `json:"pushId"`
	Date       Time        `json:"date"`
	PushedBy   IdentityRef `json:"pushedBy"`
	RefUpdates []RefUpdate `json:"refUpdates,omitempty"`
	Commits    []Commit    `json:"commits,omitempty"`
	Repository Repository  `json:"repository"`
	URL        string      `json:"url"`
}

// PushQuery filters the pushes list; zero fields are not sent.
type PushQuery struct {
	FromDate, ToDate  time.Time
	RefName           string
	PusherID          string
	IncludeRefUpdates bool
	PageSize          int
}

// Pushes iterates over a repository's pushes ($top/$skip).
func (c *Client) Pushes(ctx context.Context, project, repo string, q PushQuery) iter.Seq2[Push, error] {
	v := url.Values{}
	setTime(v, "searchCriteria.fromDate", q.FromDate)
	setTime(v, "searchCriteria.toDate", q.ToDate)
	if q.RefName != "" {
		v.Set("searchCriteria.refName", q.RefName)
	}
	if q.PusherID != "" {
		v.Set("searchCriteria.pusherId", q.PusherID)
	}
	if q.IncludeRefUpdates {
		v.Set("searchCriteria.includeRefUpdates", "true")
	}
	r := call{ep: epPushes, method: http.MethodGet, path: repoPath(project, repo) + "/pushes", query: v}
	return items(func(fn pageFunc[Push]) error {
		return walkTopSkip(ctx, c, r, "$top", "$skip", q.PageSize, 0, fn)
	})
}

// CommitRef is {commitId, url}.
type CommitRef struct {
	CommitID string `json:"commitId"`
	URL      string `json:"url,omitempty"`
}

// Reviewer is a PR reviewer with a vote: 10 approved, 5 approved with
// suggestions, 0 no vote, -5 waiting for author, -10 rejected.
type Reviewer struct {
	IdentityRef
	ReviewerURL string        `json:"reviewerUrl"`
	Vote        int           `json:"vote"`
	IsRequired  bool          `json:"isRequired"`
	HasDeclined bool          `json:"hasDeclined"`
	IsFlagged   bool          `json:"isFlagged"`
	VotedFor    []IdentityRef `json:"votedFor,omitempty"`
}

// Label is a PR tag.
type Label struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// PullRequest is a GitPullRequest. List results truncate Description to 400
// characters; Get returns it whole.
type PullRequest struct {
	PullRequestID         int           `json:"pullRequestId"`
	CodeReviewID          int           `json:"codeReviewId"`
	Status                string        `json:"status"` // active | abandoned | completed
	IsDraft               bool          `json:"isDraft"`
	CreatedBy             IdentityRef   `json:"createdBy"`
	CreationDate          Time          `json:"creationDate"`
	ClosedDate            Time          `json:"closedDate"`
	ClosedBy              *IdentityRef  `json:"closedBy,omitempty"`
	Title                 string        `json:"title"`
	Description           string        `json:"description"`
	SourceRefName         string        `json:"sourceRefName"`
	TargetRefName         string        `json:"targetRefName"`
	MergeStatus           string        `json:"mergeStatus"`
	MergeID               string        `json:"mergeId"`
	LastMergeSourceCommit *CommitRef    `json:"lastMergeSourceCommit,omitempty"`
	LastMergeTargetCommit *CommitRef    `json:"lastMergeTargetCommit,omitempty"`
	LastMergeCommit       *CommitRef    `json:"lastMergeCommit,omitempty"`
	Reviewers             []Reviewer    `json:"reviewers"`
	Labels                []Label       `json:"labels,omitempty"`
	Repository            Repository    `json:"repository"`
	URL                   string        `json:"url"`
	ArtifactID            string        `json:"artifactId,omitempty"`
	Commits               []Commit      `json:"commits,omitempty"`
	WorkItemRefs          []ResourceRef `json:"workItemRefs,omitempty"`
	CompletionOptions     *struct {
		MergeStrategy      string `json:"mergeStrategy"`
		DeleteSourceBranch bool   `json:"deleteSourceBranch"`
		SquashMerge        bool   `json:"squashMerge"`
	} `json:"completionOptions,omitempty"`
}

// PullRequestQuery filters the PR lists.
type PullRequestQuery struct {
	// Status defaults to "all" (the service's own default is "active").
	Status        string
	TargetRefName string
	SourceRefName string
	CreatorID     string
	ReviewerID    string
	// RepositoryID narrows the project-level list to one repository.
	RepositoryID string
	// MinTime/MaxTime bound creation (TimeRangeType "created", the default)
	// or closing ("closed"). The service filters on 7.1 only; on older
	// Server releases the client filters the pages itself, and a walk by
	// creation stops at the first page reaching PRs created before MinTime.
	MinTime, MaxTime time.Time
	TimeRangeType    string
	PageSize         int
}

// PullRequests iterates over pull requests ($top/$skip): of one repository,
// or of the whole project when repo is empty.
func (c *Client) PullRequests(ctx context.Context, project, repo string, q PullRequestQuery) iter.Seq2[PullRequest, error] {
	return items(func(fn pageFunc[PullRequest]) error {
		d, err := c.Deployment(ctx)
		if err != nil {
			return err
		}
		v := url.Values{}
		status := q.Status
		if status == "" {
			status = "all"
		}
		v.Set("searchCriteria.status", status)
		for k, s := range map[string]string{"targetRefName": q.TargetRefName, "sourceRefName": q.SourceRefName,
			"creatorId": q.CreatorID, "reviewerId": q.ReviewerID, "repositoryId": q.RepositoryID} {
			if s != "" {
				v.Set("searchCriteria."+k, s)
			}
		}
		rangeType := q.TimeRangeType
		if rangeType == "" {
			rangeType = "created"
		}
		serverFilters := cmpVersion(d.APIVersion, "7.1") >= 0
		if serverFilters && (!q.MinTime.IsZero() || !q.MaxTime.IsZero()) {
			setTime(v, "searchCriteria.minTime", q.MinTime)
			setTime(v, "searchCriteria.maxTime", q.MaxTime)
			v.Set("searchCriteria.queryTimeRangeType", rangeType)
		}
		path := seg(project) + "/_apis/git/pullrequests"
		if repo != "" {
			path = repoPath(project, repo) + "/pullrequests"
		}
		r := call{ep: epPullRequests, method: http.MethodGet, path: path, query: v}
		page := fn
		if !serverFilters && (!q.MinTime.IsZero() || !q.MaxTime.IsZero()) {
			// The lists are newest first by creation (ids and creationDate
			// descending in samples/rest/git.pullrequests.list*.json): a
			// walk by creation time ends at the first page that reaches a
			// PR created before MinTime. A walk by closing time reads all.
			page = func(prs []PullRequest) error {
				kept := prs[:0:0]
				past := false
				for _, pr := range prs {
					t := pr.CreationDate.Time
					if rangeType == "closed" {
						t = pr.ClosedDate.Time
					} else if !q.MinTime.IsZero() && !t.IsZero() && t.Before(q.MinTime) {
						past = true
					}
					if inRange(t, q.MinTime, q.MaxTime) {
						kept = append(kept, pr)
					}
				}
				if len(kept) > 0 {
					if err := fn(kept); err != nil {
						return err
					}
				}
				if past {
					return errPastMinTime
				}
				return nil
			}
		}
		err = walkTopSkip(ctx, c, r, "$top", "$skip", q.PageSize, 0, page)
		if errors.Is(err, errPastMinTime) {
			return nil
		}
		return err
	})
}

// errPastMinTime ends a walk by creation time on a Server release that
// cannot filter by time: the rest of the list was created earlier still.
var errPastMinTime = errors.New("azdo: pull requests created before the time range")

func inRange(t, from, to time.Time) bool {
	if t.IsZero() {
		return false
	}
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || !t.After(to))
}

// PullRequestOptions asks for extra data on Get.
type PullRequestOptions struct {
	IncludeCommits      bool
	IncludeWorkItemRefs bool
}

// PullRequest reads one pull request, by repository or (repo empty) by
// project.
func (c *Client) PullRequest(ctx context.Context, project, repo string, id int, o PullRequestOptions) (PullRequest, error) {
	v := url.Values{}
	if o.IncludeCommits {
		v.Set("includeCommits", "true")
	}
	if o.IncludeWorkItemRefs {
		v.Set("includeWorkItemRefs", "true")
	}
	path := seg(project) + "/_apis/git/pullrequests/" + strconv.Itoa(id)
	if repo != "" {
		path = prPath(project, repo, id)
	}
	var pr PullRequest
	_, err := c.send(ctx, &call{ep: epPullRequest, method: http.MethodGet, path: path, query: v}, &pr)
	return pr, err
}

// PullRequestReviewers lists a PR's reviewers and votes (not paged).
func (c *Client) PullRequestReviewers(ctx context.Context, project, repo string, id int) ([]Reviewer, error) {
	return getList[Reviewer](ctx, c, call{ep: epReviewers, method: http.MethodGet, path: prPath(project, repo, id) + "/reviewers"})
}

// PullRequestWorkItems lists the work items linked to a PR (not paged).
func (c *Client) PullRequestWorkItems(ctx context.Context, project, repo string, id int) ([]ResourceRef, error) {
	return getList[ResourceRef](ctx, c, call{ep: epPRWorkItems, method: http.MethodGet, path: prPath(project, repo, id) + "/workitems"})
}

// Commit reads one commit with its parents and change counts (Commits -
// Get: GET …/commits/{commitId}). A PR's commits list carries neither, so a
// PR commit that no list of the window brought is read this way.
func (c *Client) Commit(ctx context.Context, project, repo, sha string) (Commit, error) {
	var out Commit
	_, err := c.send(ctx, &call{ep: epCommit, method: http.MethodGet, path: repoPath(project, repo) + "/commits/" + seg(sha)}, &out)
	return out, err
}

// PullRequestCommits iterates over a PR's commits (continuation token).
func (c *Client) PullRequestCommits(ctx context.Context, project, repo string, id int) iter.Seq2[Commit, error] {
	r := call{ep: epPRCommits, method: http.MethodGet, path: prPath(project, repo, id) + "/commits"}
	return items(func(fn pageFunc[Commit]) error {
		return walkContinuation(ctx, c, r, "$top", DefaultPageSize, "", fn)
	})
}

func repoPath(project, repo string) string {
	return seg(project) + "/_apis/git/repositories/" + seg(repo)
}

func prPath(project, repo string, id int) string {
	return fmt.Sprintf("%s/pullRequests/%d", repoPath(project, repo), id)
}

func setTime(v url.Values, key string, t time.Time) {
	if !t.IsZero() {
		v.Set(key, t.UTC().Format(time.RFC3339))
	}
}
