package app_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/recon"
	"github.com/hulian/hulian/internal/transfer"
)

var reconN = flag.Int("recon-n", 1_000_000, "BenchmarkReconcile: payments reconciled")

// BenchmarkReconcile reconciles a participant's records of N payments
// (-recon-n, default 1,000,000) with the switch's through the service
// the API calls: the switch's side read from the ledger and sorted, the
// upload parsed from CSV and sorted, both merged. Setup (the payments)
// is not timed. Run it alone:
//
//	go test ./internal/app -run XXX -bench Reconcile -benchtime 1x -timeout 30m
func BenchmarkReconcile(b *testing.B) {
	n := *reconN
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: b.TempDir(), Addr: "127.0.0.1:0", AdminToken: opToken, RateLimit: 1e9, RateBurst: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(ctx)
	cny := money.MustCurrency("CNY")
	newP := func(id string) participant.New {
		return participant.New{ID: id, Name: id, Kind: participant.Wallet, Currencies: []money.Currency{cny}}
	}
	pa, creds, err := a.Participants.Create(ctx, newP("wallet-a"))
	if err != nil {
		b.Fatal(err)
	}
	pb, _, err := a.Participants.Create(ctx, newP("wallet-b"))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := a.Transfers.MoveFunds(ctx, pa, transfer.Funds{ID: "d1", Currency: cny, Amount: money.Amount(1) << 50, Direction: transfer.Deposit}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := a.Directory.Register(ctx, directory.Party{Type: directory.MSISDN, Value: "+8613800138000", Participant: pb.ID,
		Name: "Zhang San", Account: "u-1", Currency: cny}); err != nil {
		b.Fatal(err)
	}
	from := time.Now().Add(-time.Second)
	var csv bytes.Buffer
	csv.WriteString("transferId,amount,direction,status\n")
	setup := time.Now()
	for done := 0; done < n; done += transfer.BatchMax {
		reqs := make([]transfer.Request, min(transfer.BatchMax, n-done))
		for i := range reqs {
			reqs[i] = transfer.Request{ID: fmt.Sprintf("rb-%08d", done+i), PayeeType: "MSISDN", PayeeValue: "+8613800138000", Amount: 100, Currency: cny}
			fmt.Fprintf(&csv, "rb-%08d,1.00,debit,COMMITTED\n", done+i)
		}
		for _, o := range a.Transfers.CreateMany(ctx, pa, reqs) {
			if o.Err != nil {
				b.Fatal(o.Err)
			}
		}
	}
	b.Logf("%d payments set up in %s", n, time.Since(setup).Round(time.Millisecond))
	to := time.Now().Add(time.Second)
	if err := a.Serve(ctx); err != nil {
		b.Fatal(err)
	}
	svc := &recon.Service{DB: a.DB, Transfers: a.Transfers}
	b.ResetTimer()
	for range b.N {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		res, err := svc.Run(ctx, pa, cny, from, to, recon.NewCSVReader(bytes.NewReader(csv.Bytes()), cny))
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		runtime.ReadMemStats(&ms1)
		if res.Summary.Matched != int64(n) || res.Summary.Breaks != 0 {
			b.Fatalf("%+v", res.Summary)
		}
		b.ReportMetric(took.Seconds(), "s/reconciliation")
		b.ReportMetric(float64(n)/took.Seconds(), "records/s")
		b.Logf("%d records per side reconciled in %s; allocated %d MB", n, took.Round(time.Millisecond), (ms1.TotalAlloc-ms0.TotalAlloc)>>20)

		// The same through the API, as a participant uploads it.
		start = time.Now()
		q := url.Values{"currency": {"CNY"}, "from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}
		req, _ := http.NewRequest("POST", a.URL()+"/v1/reconciliations?"+q.Encode(), bytes.NewReader(csv.Bytes()))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+creds.APIKey)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusCreated || !bytes.Contains(body, []byte(`"breakCount":0`)) {
			b.Fatalf("POST /v1/reconciliations: %d %.300s", r.StatusCode, body)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/upload")
		b.Logf("%d records (%d MB of CSV) reconciled through the API in %s", n, csv.Len()>>20, time.Since(start).Round(time.Millisecond))
	}
}
