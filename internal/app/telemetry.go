package app

import (
	"context"
	"errors"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/telemetry"
)

// openTracing builds the tracer provider that exports to the OTLP
// endpoint, if one is configured and no provider was given; it stops
// last, flushing the spans of the requests that finished before.
func (a *App) openTracing(ctx context.Context) error {
	if a.cfg.TracerProvider != nil || a.cfg.OTLPEndpoint == "" {
		return nil
	}
	tp, err := telemetry.NewProvider(ctx, a.cfg.OTLPEndpoint, "hulian", a.cfg.Log)
	if err != nil {
		return err
	}
	a.cfg.TracerProvider = tp
	a.life.onStop("tracing", tp.Shutdown)
	return nil
}

// Reasons the switch does not take traffic, as GET /readyz gives them:
// words for anyone, with no host, file or error of the stores in them
// (those are logged).
var (
	errStarting      = fault.New(fault.Unavailable, "", "starting or stopping")
	errRoutesLoading = fault.New(fault.Unavailable, "", "the directory's routes of phone numbers are loading")
	errAppDB         = fault.New(fault.Unavailable, "", "the app database does not answer")
	errLedgerStore   = fault.New(fault.Unavailable, "", "the ledger store does not answer")
	errJournal       = fault.New(fault.Unavailable, "", "the ledger stopped after a storage failure: restart the switch once the storage is repaired")
)

// readiness reports whether the switch takes traffic: it serves (the
// ledger recovered, everything built), the directory's routes are loaded
// (or failed to load, lookups then going to the database), the journal
// has not stopped after a storage failure, and both stores answer a ping
// within ctx.
func (a *App) readiness(ctx context.Context) error {
	if !a.ready.Load() {
		return errStarting
	}
	if !a.routesLoaded.Load() {
		return errRoutesLoading
	}
	if err := a.Journal.Failure(); err != nil {
		return errJournal
	}
	if err := a.DB.PingContext(ctx); err != nil {
		a.cfg.Log.WarnContext(ctx, "not ready: the app database does not answer", "err", err)
		return errAppDB
	}
	// Event 0 never exists: the store answers ErrNotFound if it is
	// reachable (a query of PostgreSQL, a look at the embedded log's
	// index).
	if _, err := a.ledgerStore.Event(ctx, 0); err != nil && !errors.Is(err, journal.ErrNotFound) {
		a.cfg.Log.WarnContext(ctx, "not ready: the ledger store does not answer", "err", err)
		return errLedgerStore
	}
	return nil
}
