package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// demoReconcile shows a reconciliation: one simulated participant
// uploads its own books' account of the run's transfers, with one amount
// changed on purpose, and the switch must find exactly that break and
// name it.
func demoReconcile(ctx context.Context, w io.Writer, a *app.App, sc *sim.Scenario, from time.Time) error {
	var p *sim.Participant
	for _, q := range sc.Participants() {
		if p == nil || q.ID() == "lotus-pay" {
			p = q
		}
	}
	var buf bytes.Buffer
	if err := p.Books().Records(&buf); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) < 2 {
		return fmt.Errorf("reconciliation: %s's books hold no transfer", p.ID())
	}
	// The injected break: the first transfer's amount, one cent more.
	f := strings.Split(lines[1], ",")
	c := p.Books().Currency()
	amt, err := money.Parse(f[1], c)
	if err != nil {
		return err
	}
	f[1] = (amt + 1).Format(c)
	lines[1] = strings.Join(f, ",")
	q := url.Values{"currency": {c.String()}, "participant": {p.ID()},
		"from": {from.Add(-time.Minute).UTC().Format(time.RFC3339)}, "to": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}}
	req, err := http.NewRequestWithContext(ctx, "POST", a.URL()+"/v1/reconciliations?"+q.Encode(), strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.AdminToken)
	req.Header.Set("Content-Type", "text/csv")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var rc wire.Reconciliation
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &rc) != nil {
		return fmt.Errorf("reconciliation: %d %s", resp.StatusCode, body)
	}
	fmt.Fprintf(w, "\nReconciliation of %s's own books with the switch (POST /v1/reconciliations, %d records, one amount changed on purpose):\n",
		p.ID(), len(lines)-1)
	fmt.Fprintf(w, "  %d matched, %d break(s) in %s\n", rc.Matched, rc.BreakCount, time.Since(start).Round(time.Millisecond))
	for _, b := range rc.Breaks {
		var theirs, mine string
		if b.Participant != nil {
			theirs = b.Participant.Amount
		}
		if b.Switch != nil {
			mine = b.Switch.Amount
		}
		fmt.Fprintf(w, "    %s  %s: the switch says %s, the books say %s\n", b.Kind, b.TransferID, mine, theirs)
	}
	ok := rc.BreakCount == 1 && len(rc.Breaks) == 1 && rc.Breaks[0].TransferID == f[0] && rc.Breaks[0].Kind == "amount-mismatch"
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "  %s  the injected break, and only it, was found and named (transfer %s)\n", verdict, f[0])
	if !ok {
		return fmt.Errorf("reconciliation: expected one amount-mismatch on %s, got %d breaks", f[0], rc.BreakCount)
	}
	return nil
}
