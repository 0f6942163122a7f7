package main

import (
	"context"
	"io"

	"github.com/pandev-metrics/pandev/internal/azdosim"
)

// simCommand runs the Azure DevOps simulator on its own (docs/simulator.md).
func simCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return azdosim.RunCLI(ctx, args, stdout, stderr)
}
