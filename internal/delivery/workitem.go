package delivery

import (
	"slices"
	"strings"
	"time"
)

// StateCategory is the provider's category of a work item state, which is
// stable across process templates where state names are not.
type StateCategory string

// State categories.
const (
	CategoryProposed   StateCategory = "Proposed"
	CategoryInProgress StateCategory = "InProgress"
	CategoryResolved   StateCategory = "Resolved"
	CategoryCompleted  StateCategory = "Completed"
	CategoryRemoved    StateCategory = "Removed"
)

// WorkItem is a board item (user story, bug, incident, ...).
type WorkItem struct {
	ID            int // unique in the organization
	ProjectID     string
	Type          string // System.WorkItemType, e.g. "Bug"
	Title         string
	State         string
	StateCategory StateCategory
	Tags          []string
	AreaPath      string // e.g. `Shop\Payments`
	CreatedAt     time.Time
	// ResolvedAt and ClosedAt are Microsoft.VSTS.Common.ResolvedDate and
	// ClosedDate, or the first transition into a Resolved or Completed state
	// category where those fields are absent; zero when not reached.
	ResolvedAt time.Time
	ClosedAt   time.Time
	Links      []Link
}

// Resolved is when the item was first resolved: the earlier of ResolvedAt
// and ClosedAt that is set, or the zero time.
func (w WorkItem) Resolved() time.Time {
	switch {
	case w.ResolvedAt.IsZero():
		return w.ClosedAt
	case w.ClosedAt.IsZero() || w.ResolvedAt.Before(w.ClosedAt):
		return w.ResolvedAt
	default:
		return w.ClosedAt
	}
}

// HasTag reports whether the item carries tag; tags compare
// case-insensitively, as in Azure Boards.
func (w WorkItem) HasTag(tag string) bool {
	return slices.ContainsFunc(w.Tags, func(t string) bool {
		return strings.EqualFold(strings.TrimSpace(t), tag)
	})
}

// LinkKind is the kind of a work item relation.
type LinkKind string

// Link kinds.
const (
	LinkCommit      LinkKind = "commit"
	LinkPullRequest LinkKind = "pullRequest"
	LinkWorkItem    LinkKind = "workItem"
)

// Link is a relation of a work item as the provider reports it. Metrics link
// work items through commits and pull requests (METRICS.md, "Linking"); the
// links are kept for drill-down and reconciliation.
type Link struct {
	Kind   LinkKind
	Target string // commit SHA, pull request id or work item id
}

// Incident is a work item that matches the incident rule.
type Incident struct {
	WorkItemID int
	ProjectID  string
	Title      string
	OpenedAt   time.Time // System.CreatedDate
	ResolvedAt time.Time // zero while unresolved
}

// Resolved reports whether the incident has been resolved.
func (i Incident) Resolved() bool {
	return !i.ResolvedAt.IsZero()
}
