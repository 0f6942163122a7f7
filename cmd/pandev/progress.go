package main

import (
	"context"
	"io"
)

// showBackfill draws the backfill's progress in the terminal until it ends.
func showBackfill(ctx context.Context, a *app, workspaceID string, out io.Writer) {}
