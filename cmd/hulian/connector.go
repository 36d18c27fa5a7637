package main

import (
	"context"
	"errors"
	"io"
)

// connector is being built (issue 23).
func connector(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("connector: not built yet")
}
