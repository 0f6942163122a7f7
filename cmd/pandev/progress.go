package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/store"
)

// showBackfill draws the backfill's progress in the terminal — one bar for
// all selected projects of every source (a GitHub repository is a project), items collected and an estimate of the time left —
// until every project's backfill has finished or ctx ends.
func showBackfill(ctx context.Context, a *app, workspaceID string, out io.Writer) {
	// Every source's integration, with the resources its projects walk.
	type source struct {
		key       store.Key
		resources []collect.Resource
	}
	var sources []source
	projects := 0
	for _, s := range []struct {
		provider  string
		resources []collect.Resource
	}{{integration.Provider, azure.Resources}, {integration.GitHubProvider, ghcollect.Resources}} {
		ins, err := a.db.ListIntegrations(ctx, workspaceID, s.provider)
		if err != nil || len(ins) == 0 {
			continue
		}
		key := store.Key{IntegrationID: ins[0].ID, WorkspaceID: workspaceID}
		selected, err := a.db.ListProjects(ctx, key, true)
		if err != nil || len(selected) == 0 {
			continue
		}
		projects += len(selected)
		sources = append(sources, source{key, s.resources})
	}
	if projects == 0 {
		return
	}
	start := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var progress []collect.ProjectProgress
		for _, s := range sources {
			p, err := collect.Progress(ctx, a.db, s.key, s.resources)
			if err != nil {
				return
			}
			progress = append(progress, p...)
		}
		line, done := progressLine(progress, projects, time.Since(start))
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
