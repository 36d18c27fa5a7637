package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestServeRefuses: settings that cannot work are refused by name
// before anything listens, not replaced by defaults.
func TestServeRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--settlement-cutoff", ""}, "--settlement-cutoff"},
		{[]string{"--settlement-cutoff", "25:00"}, "settlement cut-off"},
		{[]string{"--region", "XX"}, "region"},
		{[]string{"--rate-limit", "-1"}, "rate limit"},
		{[]string{"--rate-burst", "-5"}, "rate burst"},
		{[]string{"--confirm-timeout", "-1s"}, "confirm timeout"},
		{[]string{"--store", "mysql://db"}, "store"},
		{[]string{"--tls-cert", "cert.pem"}, "TLS"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--log-format", "xml"}, "log format"},
		{[]string{"--log-level", "loud"}, "log level"},
		{[]string{"--otlp-endpoint", "collector:4318"}, "OTLP endpoint"},
		{[]string{"--metrics-addr", "9464"}, "metrics address"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, tc.args...)
		// A refusal returns at once; a switch that started anyway stops
		// when ctx ends, and the test fails instead of hanging.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		code := run(ctx, args, &stdout, &stderr)
		cancel()
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a refusal mentioning %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
