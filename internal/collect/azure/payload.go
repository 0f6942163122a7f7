package azure

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// azTime reads Azure DevOps timestamps: RFC 3339, or without a zone (UTC),
// with "0001-01-01…" and null meaning "not set".
type azTime struct{ t time.Time }

var azLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"}

func (a *azTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, layout := range azLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() > 1 {
				a.t = t.UTC()
			}
			return nil
		}
	}
	return nil // an unreadable date is "not set", never a reason to drop an event
}

// ptr returns the time, or nil when not set.
func (a azTime) ptr() *time.Time {
	if a.t.IsZero() {
		return nil
	}
	t := a.t
	return &t
}

// or returns the time, or fallback when not set.
func (a azTime) or(fallback time.Time) time.Time {
	if a.t.IsZero() {
		return fallback
	}
	return a.t
}

type identity struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	UniqueName  string `json:"uniqueName"`
}

type projectRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type gitRepository struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	DefaultBranch string     `json:"defaultBranch"`
	RemoteURL     string     `json:"remoteUrl"`
	WebURL        string     `json:"webUrl"`
	IsDisabled    bool       `json:"isDisabled"`
	Project       projectRef `json:"project"`
}

type gitUserDate struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  azTime `json:"date"`
}

type changeCounts struct {
	Add    int `json:"Add"`
	Edit   int `json:"Edit"`
	Delete int `json:"Delete"`
}

type gitCommit struct {
	CommitID     string        `json:"commitId"`
	Author       gitUserDate   `json:"author"`
	Committer    gitUserDate   `json:"committer"`
	Comment      string        `json:"comment"`
	Parents      []string      `json:"parents"`
	ChangeCounts *changeCounts `json:"changeCounts"`
	WorkItems    []struct {
		ID string `json:"id"`
	} `json:"workItems"`
}

type commitRef struct {
	CommitID string `json:"commitId"`
	// Author is present where the PR was read with its commits (the
	// backfill's includeCommits); webhook payloads list ids only.
	Author struct {
		Date azTime `json:"date"`
	} `json:"author"`
}

type reviewer struct {
	identity
	Vote        int  `json:"vote"`
	IsRequired  bool `json:"isRequired"`
	IsContainer bool `json:"isContainer"`
}

type pullRequest struct {
	Repository      gitRepository `json:"repository"`
	PullRequestID   int64         `json:"pullRequestId"`
	Status          string        `json:"status"`
	IsDraft         bool          `json:"isDraft"`
	CreatedBy       identity      `json:"createdBy"`
	CreationDate    azTime        `json:"creationDate"`
	ClosedDate      azTime        `json:"closedDate"`
	Title           string        `json:"title"`
	Description     string        `json:"description"`
	SourceRefName   string        `json:"sourceRefName"`
	TargetRefName   string        `json:"targetRefName"`
	LastMergeCommit *commitRef    `json:"lastMergeCommit"`
	Reviewers       []reviewer    `json:"reviewers"`
	Commits         []commitRef   `json:"commits"`
	WorkItemRefs    []struct {
		ID string `json:"id"`
	} `json:"workItemRefs"`
}

type prComment struct {
	ID              int64    `json:"id"`
	ParentCommentID int64    `json:"parentCommentId"`
	Author          identity `json:"author"`
	PublishedDate   azTime   `json:"publishedDate"`
	LastUpdatedDate azTime   `json:"lastUpdatedDate"`
	CommentType     string   `json:"commentType"`
	IsDeleted       bool     `json:"isDeleted"`
	Links           struct {
		Threads struct {
			Href string `json:"href"`
		} `json:"threads"`
	} `json:"_links"`
}

// threadID reads the thread id from the comment's threads link
// (…/pullRequests/{pr}/threads/{thread}), the only place the event has it.
func (c prComment) threadID() (int64, bool) {
	href := strings.TrimRight(c.Links.Threads.Href, "/")
	i := strings.LastIndex(href, "/threads/")
	if i < 0 {
		return 0, false
	}
	id, err := strconv.ParseInt(href[i+len("/threads/"):], 10, 64)
	return id, err == nil && id > 0
}

// workItemFields are the fields we keep, by reference name.
type workItemFields map[string]json.RawMessage

func (f workItemFields) str(name string) string {
	var s string
	_ = json.Unmarshal(f[name], &s)
	return s
}

func (f workItemFields) time(name string) azTime {
	var t azTime
	_ = json.Unmarshal(f[name], &t)
	return t
}

type relation struct {
	Rel string `json:"rel"`
	URL string `json:"url"`
}

// stateCategory guesses the state category of a work item state from its
// name: events carry the state, not its category. The names are those of
// the Agile, Scrum, Basic and CMMI processes.
func stateCategory(state string) string {
	switch strings.ToLower(strings.TrimSpace(state)) {
	case "new", "proposed", "to do", "approved":
		return "Proposed"
	case "active", "committed", "in progress", "doing", "open":
		return "InProgress"
	case "resolved":
		return "Resolved"
	case "closed", "done", "completed", "inactive":
		return "Completed"
	case "removed", "cut":
		return "Removed"
	}
	return ""
}
