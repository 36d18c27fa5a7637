package app

import (
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/directory"
)

// TestConfigDefaults: the zero configuration is valid once its defaults
// are filled, and each default is the owning component's.
func TestConfigDefaults(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	switch {
	case c.DataDir != "hulian-data", c.Addr != "127.0.0.1:8080", c.Region != directory.DefaultRegion,
		c.RateLimit != 20000, c.RateBurst != 5000, c.ConfirmTimeout != 5*time.Second, c.QuoteTTL != time.Minute,
		c.DirectoryCache != directory.DefaultCacheEntries, c.Callback.BatchMax != 100, c.Log == nil, c.Out == nil, c.Now == nil:
		t.Errorf("defaults %+v", c)
	}
	// What is set is kept.
	c = Config{Region: "HK", RateLimit: 5, ConfirmTimeout: time.Second}
	c.EnsureDefaults()
	if c.Region != "HK" || c.RateLimit != 5 || c.ConfirmTimeout != time.Second {
		t.Errorf("settings replaced: %+v", c)
	}
}

// TestConfigValidate: an invalid setting is refused with its name, not
// replaced by a default.
func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"store", func(c *Config) { c.Store = "mysql://x" }, "store"},
		{"tls", func(c *Config) { c.TLSCert = "cert.pem" }, "TLS"},
		{"tokens", func(c *Config) { c.AdminToken, c.RegulatorToken = "same", "same" }, "regulator token"},
		{"region", func(c *Config) { c.Region = "XX" }, "region"},
		{"region word", func(c *Config) { c.Region = "China" }, "region"},
		{"rate", func(c *Config) { c.RateLimit = -1 }, "rate limit"},
		{"burst", func(c *Config) { c.RateBurst = -5 }, "rate burst"},
		{"confirm timeout", func(c *Config) { c.ConfirmTimeout = -time.Second }, "confirm timeout"},
		{"confirm timeout too long", func(c *Config) { c.ConfirmTimeout = 8 * 24 * time.Hour }, "confirm timeout"},
		{"quote ttl", func(c *Config) { c.QuoteTTL = 48 * time.Hour }, "quote TTL"},
		{"cache", func(c *Config) { c.DirectoryCache = -2 }, "directory cache"},
		{"interval", func(c *Config) { c.SettlementInterval = -time.Minute }, "settlement interval"},
		{"cutoff", func(c *Config) { c.SettlementCutoff = "25:00" }, "settlement cut-off"},
		{"callback batch", func(c *Config) { c.Callback.BatchMax = 5000 }, "callback batch"},
		{"cluster CA without a node", func(c *Config) { c.TLSCert, c.TLSKey, c.ClusterCA = "c.pem", "k.pem", "ca.pem" }, "--cluster-ca"},
		{"cluster CA without TLS", func(c *Config) { c.NodeID, c.Store, c.ClusterCA = "a", "postgres://x/y", "ca.pem" }, "--cluster-ca"},
	} {
		var cfg Config
		c.mod(&cfg)
		cfg.EnsureDefaults()
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
	for _, ok := range []string{"", "none", "00:00", "23:59"} {
		cfg := Config{SettlementCutoff: ok}
		cfg.EnsureDefaults()
		if err := cfg.Validate(); err != nil {
			t.Errorf("cut-off %q: %v", ok, err)
		}
	}
}
