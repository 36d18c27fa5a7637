package cluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/cluster"
)

func TestConfigValidate(t *testing.T) {
	ok := cluster.Config{Node: "n1", Addr: "127.0.0.1:8080"}
	with := func(f func(*cluster.Config)) cluster.Config {
		c := ok
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  cluster.Config
		want string // a part of the error; "" for valid
	}{
		{"defaults", ok, ""},
		{"node 64 bytes", with(func(c *cluster.Config) { c.Node = strings.Repeat("n", 64) }), ""},
		{"node unicode", with(func(c *cluster.Config) { c.Node = "nœud-β/1" }), ""},
		{"node empty", with(func(c *cluster.Config) { c.Node = "" }), "node id: required"},
		{"node 65 bytes", with(func(c *cluster.Config) { c.Node = strings.Repeat("n", 65) }), "more than 64"},
		{"node space", with(func(c *cluster.Config) { c.Node = "n 1" }), "space"},
		{"node control", with(func(c *cluster.Config) { c.Node = "n\x01" }), "unprintable"},
		{"node newline", with(func(c *cluster.Config) { c.Node = "n\n1" }), "unprintable"},
		{"node not utf-8", with(func(c *cluster.Config) { c.Node = "n\xff" }), "not UTF-8"},
		{"addr ipv6", with(func(c *cluster.Config) { c.Addr = "[::1]:8080" }), ""},
		{"addr name", with(func(c *cluster.Config) { c.Addr = "node-2.example:443" }), ""},
		{"addr empty", with(func(c *cluster.Config) { c.Addr = "" }), "advertise address \"\": required"},
		{"addr no port", with(func(c *cluster.Config) { c.Addr = "127.0.0.1" }), "not host:port"},
		{"addr no host", with(func(c *cluster.Config) { c.Addr = ":8080" }), "no host"},
		{"addr port 0", with(func(c *cluster.Config) { c.Addr = "h:0" }), "not 1–65535"},
		{"addr port 65536", with(func(c *cluster.Config) { c.Addr = "h:65536" }), "not 1–65535"},
		{"addr port name", with(func(c *cluster.Config) { c.Addr = "h:http" }), "not 1–65535"},
		{"addr too long", with(func(c *cluster.Config) { c.Addr = strings.Repeat("h", 251) + ":8080" }), "more than 255"},
		{"renew short", with(func(c *cluster.Config) { c.Renew = 5 * time.Millisecond }), "below 10ms"},
		{"renew negative", with(func(c *cluster.Config) { c.Renew = -time.Second }), "below"},
		{"renew over default ttl", with(func(c *cluster.Config) { c.Renew = 3 * time.Second }), "must exceed 2×renew (6s)"},
		{"ttl 2×renew", with(func(c *cluster.Config) { c.Renew, c.TTL = 50*time.Millisecond, 100*time.Millisecond }), "must exceed"},
		{"ttl just over 2×renew", with(func(c *cluster.Config) { c.Renew, c.TTL = 50*time.Millisecond, 100*time.Millisecond+1 }), ""},
		{"ttl negative", with(func(c *cluster.Config) { c.TTL = -time.Second }), "must exceed"},
		{"renew alone", with(func(c *cluster.Config) { c.Renew = 2 * time.Second }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tt.want == "":
			case err == nil:
				t.Fatalf("Validate: nil, want an error with %q", tt.want)
			case !errors.Is(err, cluster.ErrConfig) || !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate: %v, want ErrConfig with %q", err, tt.want)
			}
		})
	}
}

// TestOpenValidatesFirst: a bad configuration is refused before any
// connection is tried.
func TestOpenValidatesFirst(t *testing.T) {
	_, err := cluster.Open(context.Background(), "postgres://nobody@192.0.2.1:1/none?connect_timeout=30", cluster.Config{Addr: "h:1"})
	if !errors.Is(err, cluster.ErrConfig) {
		t.Fatalf("Open: %v, want ErrConfig", err)
	}
}
