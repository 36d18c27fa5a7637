package main

import (
	"context"
	"errors"
	"io"
)

// demo is being built (issue 4).
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("demo: not built yet")
}
