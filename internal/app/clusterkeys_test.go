package app_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// TestClusterKeyMismatch: a node started without the cluster's keys (a
// data directory of its own, so keys of its own) stops with an error
// naming the key, rather than sign what the other nodes refuse.
func TestClusterKeyMismatch(t *testing.T) {
	dsn := pgtest.DSN(t)
	open := func(id string) *app.Node {
		t.Helper()
		n, err := app.OpenNode(context.Background(), app.Config{DataDir: t.TempDir(), Store: dsn, Addr: "127.0.0.1:0",
			AdvertiseAddr: "127.0.0.1:1", NodeID: id, AdminToken: opToken, LeaseRenew: testLeaseRenew, LeaseTTL: testLeaseTTL,
			Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	a := open("a")
	defer a.Close(context.Background())
	deadline := time.Now().Add(15 * time.Second)
	for role, _ := a.Role(); role != "leader"; role, _ = a.Role() {
		if time.Now().After(deadline) {
			t.Fatalf("node a does not lead: %s", role)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b := open("b")
	select {
	case <-b.Done():
	case <-time.After(15 * time.Second):
		b.Close(context.Background())
		t.Fatal("a node with keys of its own still runs after 15 s")
	}
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), "differs from the one node a recorded") {
		t.Fatalf("node b stopped with %v", err)
	}
	b.Close(context.Background())
	if role, _ := a.Role(); role != "leader" {
		t.Fatalf("node a: %s", role)
	}
}
