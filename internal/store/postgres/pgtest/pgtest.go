// Package pgtest gives tests a fresh, empty PostgreSQL database each.
//
// The server is named by the environment variable HULIAN_TEST_POSTGRES,
// a DSN such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
// for a role that may create databases; scripts/test.sh starts a
// throwaway server and sets it. Without it the calling test is skipped,
// unless HULIAN_REQUIRE_POSTGRES=1, as in CI, where it fails instead: CI
// must never pass by skipping PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by DSN.
const (
	// EnvServer names the server: a DSN for a role that may create
	// databases.
	EnvServer = "HULIAN_TEST_POSTGRES"
	// EnvRequire, set to 1, turns a missing EnvServer into a failure.
	EnvRequire = "HULIAN_REQUIRE_POSTGRES"
)

// DSN creates a new, empty database on the server named by
// HULIAN_TEST_POSTGRES and returns a DSN for it. The database is dropped,
// and any connection still using it is ended, when the test finishes.
func DSN(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvServer)
	if server == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set and %s=1: run the tests with scripts/test.sh", EnvServer, EnvRequire)
		}
		t.Skipf("%s is not set: skipping a test that needs PostgreSQL (scripts/test.sh starts one)", EnvServer)
	}
	name := dbName(t.Name())
	if err := exec(server, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s on %s: %v", name, EnvServer, err)
	}
	t.Cleanup(func() {
		if err := exec(server, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvServer, err)
	}
	return dsn
}

// dbName makes a unique database name, within PostgreSQL's 63 bytes,
// that still says which test made it.
func dbName(test string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	var sb strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case sb.Len() >= 36:
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	return "hulian_test_" + sb.String() + "_" + hex.EncodeToString(b[:])
}

// exec runs one statement on the server's maintenance database.
func exec(server, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns server with its database replaced by name, for
// both URL and keyword/value DSNs.
func withDatabase(server, name string) (string, error) {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", err
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	// In keyword/value form the last setting of a keyword wins.
	return server + " dbname=" + name, nil
}
