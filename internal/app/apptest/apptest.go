// Package apptest starts a whole switch in-process for tests: a fresh
// embedded store in the test's temporary directory, the API on
// loopback, closed when the test ends. It is for tests only; nothing
// that ships imports it.
package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
)

// Token is the operator's token of a switch from Start whose edit sets
// none; it is as long as Config.Validate asks (app.TokenMin).
const Token = "op-apptest-token-0123456789abcdef-0123"

// closeTimeout bounds closing the switch at the end of a test, so that a
// worker that does not stop fails the test rather than hanging it.
const closeTimeout = 30 * time.Second

// Start opens and serves a switch with its data in a fresh t.TempDir(),
// listening on 127.0.0.1:0 (any free port; URL tells which), with Token
// as the operator's token. edit, if not nil, changes the config last, so
// a test keeps its own tweaks (a token, callbacks to loopback, an
// FSPIOP address, a clock) and may override any of these. A failure to
// open or serve ends the test; the switch is closed when the test and
// its subtests end, and an error closing it fails the test.
func Start(t testing.TB, edit func(*app.Config)) *app.App {
	t.Helper()
	cfg := app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", AdminToken: Token}
	if edit != nil {
		edit(&cfg)
	}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("opening the switch: %v", err)
	}
	// Registered before Serve, so that a switch that opened but failed
	// to serve is closed too. It runs before t.TempDir's own clean-up
	// (clean-ups run last registered first), so the stores close before
	// their files are removed.
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := a.Close(cctx); err != nil {
			t.Errorf("closing the switch: %v", err)
		}
	})
	if err := a.Serve(ctx); err != nil {
		t.Fatalf("serving the switch: %v", err)
	}
	return a
}
