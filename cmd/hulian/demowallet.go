package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/sim/wallet"
)

// The demo wallet's user: a person at Peony Pay (issue 19). The
// simulators' traffic leaves the person alone; whoever opens the wallet's
// page pays, and answers bills, in the person's name, through Peony
// Pay's own paths and books, which the demo's checks hold to the switch.
var demoPerson = sim.PersonConfig{
	Participant: "peony-pay",
	ID:          "p-li-xiaoming",
	Name:        "李晓明",
	Opening:     8_000_00,
	Phone:       "+8613712345678",
	Email:       "xiaoming@peony.example",
}

// demoWallet opens the demo wallet's person after the scenario's setup,
// gives it a short past (sim.Scenario.Welcome), and serves its page on a
// loopback listener of its own, at addr. The page lives until stop.
func demoWallet(ctx context.Context, w io.Writer, sc *sim.Scenario, addr string) (stop func(), err error) {
	pe, err := sc.OpenPerson(ctx, demoPerson)
	if err != nil {
		return nil, fmt.Errorf("demo wallet: %w", err)
	}
	if err := sc.Welcome(ctx, pe); err != nil {
		return nil, fmt.Errorf("demo wallet: %w", err)
	}
	srv, err := wallet.New(wallet.Config{Person: pe})
	if err != nil {
		return nil, err
	}
	url, err := srv.Start(addr)
	if err != nil {
		return nil, err
	}
	acct := pe.Account()
	fmt.Fprintf(w, "\nDemo wallet: %s\n", url)
	fmt.Fprintf(w, "  %s at %s: balance %s %s, %d requests to pay waiting. Pay by alias after the masked name, bills by month and\n",
		acct.Name, pe.Participant().Config().Name, pe.Currency(), sim.Grouped(acct.Balance, pe.Currency()), len(pe.Bills(ctx)))
	fmt.Fprintf(w, "  category, spending charts; 中文 / English. The page is %s's own: it talks to the switch with %s's API key, kept\n",
		pe.Participant().Config().Name, pe.Participant().ID())
	fmt.Fprintf(w, "  server side. Up while the demo runs; --stay keeps it up afterwards.\n")
	return func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(cctx)
	}, nil
}

// demoStay keeps the switch, the simulated participants and the demo
// wallet up after the demo, until ctx ends (Ctrl-C), for whoever is
// still using the wallet.
func demoStay(ctx context.Context, w io.Writer) {
	if ctx.Err() != nil {
		return
	}
	fmt.Fprintln(w, "\nThe switch and the demo wallet stay up (--stay): Ctrl-C stops them.")
	<-ctx.Done()
}
