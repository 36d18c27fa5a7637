package journal_test

import (
	"context"
	"testing"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// The PostgreSQL engine runs every journal test too, on a fresh database
// per test (pgtest skips it only where no server is configured, and never
// in CI).
func init() {
	engines = append(engines, engine{
		name:  "postgres",
		fresh: func(t testing.TB) string { return pgtest.DSN(t) },
		open: func(dsn string) (journal.Store, error) {
			return postgres.Open(context.Background(), dsn)
		},
	})
}
