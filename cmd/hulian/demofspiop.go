package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim/dfsp"
	"github.com/hulian/hulian/internal/wire"
)

// demoFSPIOP shows the switch's second front end: two simulated Mojaloop
// DFSPs (what Mojaloop's SDK scheme adapter does, package sim/dfsp) join
// as FSPIOP participants, one registers its user's phone number, and the
// other pays it, each payment a lookup, a quote and a transfer with every
// callback; then both DFSPs' books are held to the switch's accounts.
func demoFSPIOP(ctx context.Context, w io.Writer, a *app.App, payments int) error {
	fmt.Fprintf(w, "\nMojaloop FSPIOP front end at %s: two simulated DFSPs join and pay each other…\n", a.FSPIOPURL())
	op := demoOperator{base: a.URL(), token: a.AdminToken}
	var ds [2]*dfsp.DFSP
	for i, id := range []string{"mojaloop-a", "mojaloop-b"} {
		d, stop, err := op.dfsp(ctx, a.FSPIOPURL(), id)
		if err != nil {
			return err
		}
		defer stop()
		ds[i] = d
	}
	ds[0].AddParty("MSISDN", "8613900000001", "Chen Yi")
	ds[1].AddParty("MSISDN", "8613900000002", "Wang Er")
	if err := ds[1].Register(ctx, "MSISDN", "8613900000002"); err != nil {
		return fmt.Errorf("fspiop: register a party: %w", err)
	}
	start := time.Now()
	var worst time.Duration
	var fees int64 // the scheme's, which the payer FSP pays besides the amount
	for range payments {
		t0 := time.Now()
		res, err := ds[0].Pay(ctx, dfsp.PayRequest{IDType: "MSISDN", ID: "8613900000002", Amount: "12.5"})
		if err != nil || res.State != "COMMITTED" {
			return fmt.Errorf("fspiop: payment %s: %s, %v", res.TransferID, res.State, err)
		}
		worst = max(worst, time.Since(t0))
		var t wire.Transfer
		if err := op.call(ctx, "GET", "/v1/transfers/"+res.TransferID, nil, &t); err != nil {
			return err
		}
		fee, err := money.Parse(t.Fee, money.MustCurrency("CNY"))
		if err != nil {
			return err
		}
		fees += int64(fee)
	}
	took := time.Since(start)
	fmt.Fprintf(w, "  %d payments mojaloop-a → mojaloop-b committed in %s (slowest %s, each lookup + quote + transfer); the scheme's fees on mojaloop-a %d.%02d\n",
		payments, took.Round(time.Millisecond), worst.Round(100*time.Microsecond), fees/100, fees%100)
	for i, d := range ds {
		b := d.Books()
		acct, err := op.account(ctx, d.ID())
		if err != nil {
			return err
		}
		want := demoDeposit - b.Paid["CNY"] + b.Received["CNY"]
		if i == 0 {
			want -= fees
		}
		ok := acct.Balance == fmt.Sprintf("%d.%02d", want/100, want%100)
		verdict := "PASS"
		if !ok {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s books agree with the switch (paid %d, received %d; balance %s)\n",
			verdict, d.ID(), b.PaidCount, b.ReceivedCount, acct.Balance)
		if !ok {
			return fmt.Errorf("fspiop: %s's books disagree with the switch", ds[i].ID())
		}
	}
	return nil
}

// demoDeposit is each DFSP's funding, in minor units (10,000.00 CNY).
const demoDeposit = 1_000_000

// demoOperator calls the switch's native API as its operator.
type demoOperator struct {
	base, token string
}

// call sends a request and decodes its answer into out.
func (o demoOperator) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// dfsp starts a simulated DFSP on a loopback port, registers it as an
// FSPIOP participant and funds it.
func (o demoOperator) dfsp(ctx context.Context, fspiopURL, id string) (*dfsp.DFSP, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	var d *dfsp.DFSP
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second}
	var p wire.Participant
	if err := o.call(ctx, "POST", "/v1/participants", wire.NewParticipant{ID: id, Name: id, Kind: "wallet", Currencies: []string{"CNY"},
		FSPIOP: &wire.FSPIOP{Endpoint: "http://" + ln.Addr().String()}}, &p); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("fspiop: create %s: %w", id, err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	if d, err = dfsp.New(dfsp.Config{ID: id, SwitchURL: fspiopURL, APIKey: p.APIKey, ILPSecret: secret, Currency: "CNY"}); err != nil {
		ln.Close()
		return nil, nil, err
	}
	go srv.Serve(ln)
	stop := func() {
		d.Close()
		srv.Close()
	}
	if err := o.call(ctx, "POST", "/v1/participants/"+id+"/funds", wire.Funds{Currency: "CNY", Amount: "10000.00", Direction: "deposit"}, nil); err != nil {
		stop()
		return nil, nil, fmt.Errorf("fspiop: fund %s: %w", id, err)
	}
	return d, stop, nil
}

// account returns a participant's CNY account at the switch.
func (o demoOperator) account(ctx context.Context, id string) (wire.Account, error) {
	var as wire.Accounts
	if err := o.call(ctx, "GET", "/v1/participants/"+id+"/accounts", nil, &as); err != nil {
		return wire.Account{}, err
	}
	if len(as.Accounts) != 1 {
		return wire.Account{}, errors.New("fspiop: " + id + " has no single account")
	}
	return as.Accounts[0], nil
}
