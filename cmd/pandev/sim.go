package main

import (
	"context"
	"io"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/githubsim"
)

// simCommand runs the Azure DevOps simulator on its own (docs/simulator.md).
func simCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return azdosim.RunCLI(ctx, args, stdout, stderr)
}

// githubSimCommand runs the GitHub simulator on its own (docs/simulator.md).
func githubSimCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return githubsim.RunCLI(ctx, args, stdout, stderr)
}
