package main

import (
	"context"
	"errors"
	"io"
)

// simCommand runs the Azure DevOps simulator (wired to internal/azdosim).
func simCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("the Azure DevOps simulator is not part of this build yet")
}
