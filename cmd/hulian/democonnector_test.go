package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
)

// TestDemoConnector runs the connector section against a switch of its
// own: the wallet's credentials in files, its connector's record beside
// them, payments both ways and a refusal, and its books agreeing with
// the switch.
func TestDemoConnector(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir() // demoConnector keeps the wallet's files beside the switch's data, as the demo does
	a := apptest.Start(t, func(c *app.Config) {
		c.DataDir = dir
		c.AdminToken = "op-token-0123456789abcdef-0123456789"
		c.Callback.AllowPrivate = true
	})
	var out bytes.Buffer
	err := demoConnector(ctx, &out, a, dir, 4)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"4 payments demo-tea-wallet → demo-plum-pay committed",
		"4 payments demo-plum-pay → demo-tea-wallet committed, each confirmed",
		"REFUSED unknown-party, nothing moved",
		"PASS  demo-tea-wallet books agree with the switch: position 9,980.00 = deposits 10,000.00 − sent 40.06 − fees 0.00 + received 20.06; 4 sent, 4 received",
		"asked 4 times (accepted 4), told of 4 payments",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, f := range []string{"demo-tea-wallet/api-key", "demo-tea-wallet/callback-secret", "demo-tea-wallet/data/connector.db"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
