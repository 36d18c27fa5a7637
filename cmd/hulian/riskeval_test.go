package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"testing"
)

// TestRiskEval runs the evaluation on a small simulation: it prints
// precision, recall and each scenario's recall, as numbers in [0, 1],
// and refuses a bad flag.
func TestRiskEval(t *testing.T) {
	var out bytes.Buffer
	if err := riskEval(context.Background(), []string{"--transfers", "20000", "--warmup", "20000", "--seed", "3"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`precision (\d\.\d+)  recall (\d\.\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no precision and recall in:\n%s", out.String())
	}
	for _, s := range m[1:] {
		if v, err := strconv.ParseFloat(s, 64); err != nil || v < 0 || v > 1 {
			t.Errorf("%q is not a share", s)
		}
	}
	for _, scenario := range []string{"account-takeover", "mule-fan-in", "night-first-large", "normal"} {
		if !bytes.Contains(out.Bytes(), []byte(scenario)) {
			t.Errorf("no line for %s in:\n%s", scenario, out.String())
		}
	}
	if err := riskEval(context.Background(), []string{"--transfers", "0"}, io.Discard, io.Discard); err == nil {
		t.Error("--transfers 0 was accepted")
	}
}
