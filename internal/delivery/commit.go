package delivery

import "time"

// Commit is what PanDev keeps of a Git commit: never source code, only the
// identity, graph edges, times, message and change counts (METRICS.md,
// "What is not a metric").
type Commit struct {
	RepositoryID string
	SHA          string
	// Parents are the parent SHAs; the commit graph used to find the changes
	// of a deployment is built from them.
	Parents     []string
	Author      string // author identity (e-mail or provider id)
	AuthoredAt  time.Time
	CommittedAt time.Time
	Message     string
	Changes     ChangeCounts
	// WorkItemIDs are the work items the provider lists for the commit.
	WorkItemIDs []int
}

// ChangeCounts are the per-commit file change counts the provider reports.
type ChangeCounts struct {
	Added, Edited, Deleted int
}

// Files is the number of files the commit touched.
func (c ChangeCounts) Files() int {
	return c.Added + c.Edited + c.Deleted
}
