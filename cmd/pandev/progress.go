package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// showBackfill draws the backfill's progress in the terminal — one bar for
// all selected projects, items collected and an estimate of the time left —
// until every project's backfill has finished or ctx ends.
func showBackfill(ctx context.Context, a *app, workspaceID string, out io.Writer) {
	ins, err := a.db.ListIntegrations(ctx, workspaceID, integration.Provider)
	if err != nil || len(ins) == 0 {
		return
	}
	key := store.Key{IntegrationID: ins[0].ID, WorkspaceID: workspaceID}
	selected, err := a.db.ListProjects(ctx, key, true)
	if err != nil || len(selected) == 0 {
		return
	}
	start := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		progress, err := collect.Progress(ctx, a.db, key, azure.Resources)
		if err != nil {
			return
		}
		line, done := progressLine(progress, len(selected), time.Since(start))
		fmt.Fprintf(out, "\r%s", line)
		if done {
			fmt.Fprintln(out)
			return
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(out)
			return
		case <-tick.C:
		}
	}
}

// progressLine renders one line: a bar, the share done, projects finished,
// items, and the estimated time left (the slowest project's estimate).
func progressLine(progress []collect.ProjectProgress, projects int, elapsed time.Duration) (string, bool) {
	const width = 30
	var fraction float64
	var items int64
	var left time.Duration
	finished := 0
	for _, p := range progress {
		fraction += p.Fraction
		items += p.ItemsDone
		if p.Finished != nil {
			finished++
		}
		left = max(left, p.Remaining)
	}
	fraction /= float64(projects)
	if finished == projects {
		fraction = 1
	}
	filled := int(fraction * width)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	eta := "estimating…"
	switch {
	case finished == projects:
		eta = fmt.Sprintf("done in %s", elapsed.Round(time.Second))
	case left > 0:
		eta = fmt.Sprintf("about %s left", left.Round(time.Second))
	}
	return fmt.Sprintf("Backfill %s %3.0f%%  %d/%d projects  %d items  %s   ", bar, fraction*100, finished, projects, items, eta),
		finished == projects
}
