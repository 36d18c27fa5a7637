package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/app"
	connect "github.com/hulian/hulian/internal/connector"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// The connector section's participants, its own like the experiences':
// the simulator's books are checked already and stay as they are.
const (
	ctWallet = "demo-tea-wallet" // joins through its connector
	ctPeer   = "demo-plum-pay"   // a simulated participant that talks to the switch itself
	ctPeerU  = "+8613500000001"  // its user's phone number
)

// ctUsers are the connector wallet's users and their phone numbers.
var ctUsers = []struct{ id, name, phone string }{{"alice", "李娜", "+8613500000011"}, {"bob", "张伟", "+8613500000012"}}

// demoConnector shows how a small wallet joins (issue 23): the operator
// onboards it; its credentials go to files; its connector starts on them
// (in this process, as `hulian connector` runs beside a core system) in
// confirm mode; the simulated wallet, which talks only to its connector,
// registers its users, pays a simulated participant's user and is paid
// by it, each payment one call; then its books are held to the switch.
func demoConnector(ctx context.Context, w io.Writer, a *app.App, dir string, payments int) error {
	fmt.Fprintf(w, "\nJoining through the connector (issue 23): %s runs `hulian connector` beside its core system…\n", ctWallet)
	op := sim.NewClient(a.URL(), a.AdminToken, nil)
	peer, err := ctStartPeer(ctx, op, a.URL())
	if err != nil {
		return fmt.Errorf("connector: %w", err)
	}
	defer peer.Close(context.Background())

	// Onboarding: the operator creates the wallet; the answer holds its
	// credentials once, which it keeps in files.
	p, err := op.CreateParticipant(ctx, wire.NewParticipant{ID: ctWallet, Name: "Tea Wallet", Kind: "wallet", Currencies: []string{"CNY"}})
	if err != nil {
		return fmt.Errorf("connector: onboard %s: %w", ctWallet, err)
	}
	if _, err := op.MoveFunds(ctx, ctWallet, wire.Funds{Currency: "CNY", Amount: "10000.00", Direction: "deposit"}); err != nil {
		return fmt.Errorf("connector: fund %s: %w", ctWallet, err)
	}
	home := filepath.Join(dir, ctWallet)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	keyFile, secretFile := filepath.Join(home, "api-key"), filepath.Join(home, "callback-secret")
	for f, s := range map[string]string{keyFile: p.APIKey, secretFile: p.CallbackSecret} {
		if err := os.WriteFile(f, []byte(s+"\n"), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "  onboarded by the operator (POST /v1/participants); its API key and callback secret, shown once, went to files in %s\n", home)

	// The wallet's core system, and its connector started on the files.
	wallet, err := sim.NewConnectorWallet(ctWallet, ctCNY, "")
	if err != nil {
		return err
	}
	defer wallet.Close(context.Background())
	wallet.Books().Deposit(1_000_000)
	key, err := readSecret(keyFile, io.Discard)
	if err != nil {
		return err
	}
	secret, err := readSecret(secretFile, io.Discard)
	if err != nil {
		return err
	}
	c, err := connect.Open(ctx, connect.Config{SwitchURL: a.URL(), APIKey: key, CallbackSecrets: []string{secret},
		BackendURL: wallet.BackendURL(), Listen: "127.0.0.1:0", DataDir: filepath.Join(home, "data"), Acceptance: "confirm"})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	wallet.SetConnector(c.URL())
	fmt.Fprintf(w, "  its connector runs there (in this process) as `hulian connector --switch … --key api-key --callback-secret callback-secret --backend … --data data --acceptance confirm` would:\n")
	fmt.Fprintf(w, "    callbacks at %s (it set the callbackUrl itself) · the wallet's API at %s · the wallet's core system at %s\n",
		c.CallbackURL(), c.URL(), wallet.BackendURL())
	for _, u := range ctUsers {
		if err := wallet.Books().Open(u.id, u.name, 2_000_00); err != nil {
			return err
		}
		if err := wallet.Register(ctx, u.id, u.name, wire.PayeeRef{Type: "MSISDN", Value: u.phone}); err != nil {
			return fmt.Errorf("connector: %w", err)
		}
	}
	fmt.Fprintf(w, "  %d users registered through the connector (POST /aliases)\n", len(ctUsers))

	var out, in int
	var slowest time.Duration
	start := time.Now()
	for i := range payments {
		u := ctUsers[i%len(ctUsers)]
		res := wallet.Pay(ctx, u.id, wire.PayeeRef{Type: "MSISDN", Value: ctPeerU}, money.Amount(10_00+i), "tea")
		if res.Status != sim.StatusCommitted || res.Err != nil {
			return fmt.Errorf("connector: payment %s: %s %s %v", res.ID, res.Status, res.Problem, res.Err)
		}
		out++
		slowest = max(slowest, res.Latency)
		res = peer.Pay(ctx, sim.Payment{From: "u-1", Payee: wire.PayeeRef{Type: "MSISDN", Value: u.phone}, Amount: money.Amount(5_00 + i)})
		if res.Status != sim.StatusCommitted || res.Err != nil {
			return fmt.Errorf("connector: payment %s: %s %s %v", res.ID, res.Status, res.Problem, res.Err)
		}
		in++
	}
	took := time.Since(start).Round(time.Millisecond)
	fmt.Fprintf(w, "  %d payments %s → %s committed, each one POST /payments (lookup, quote, transfer; slowest %s)\n", out, ctWallet, ctPeer,
		slowest.Round(100*time.Microsecond))
	fmt.Fprintf(w, "  %d payments %s → %s committed, each confirmed by the wallet's core system within the deadline (%s for both ways)\n",
		in, ctPeer, ctWallet, took)
	res := wallet.Pay(ctx, "alice", wire.PayeeRef{Type: "MSISDN", Value: "+8613500000099"}, 1_00, "nobody")
	fmt.Fprintf(w, "  a payment to an alias nobody holds: %s %s, nothing moved\n", strings.ToUpper(string(res.Status)), res.Problem)
	if res.Status != sim.StatusRefused {
		return fmt.Errorf("connector: a payment to an unknown alias: %s %s %v", res.Status, res.Problem, res.Err)
	}
	chk := wallet.Check(ctx, op, 10*time.Second)
	st := wallet.Stats()
	fmt.Fprintf(w, "  %s\n  the core system was asked %d times (accepted %d), told of %d payments (%d again after a retry)\n", chk, st.Asked,
		st.Accepted, st.Credited, st.Duplicates)
	if !chk.Pass {
		return fmt.Errorf("connector: %s", chk)
	}
	return nil
}

var ctCNY = money.MustCurrency("CNY")

// ctStartPeer onboards and funds the section's simulated participant,
// with one user holding 5,000.00 under ctPeerU.
func ctStartPeer(ctx context.Context, op *sim.Client, url string) (*sim.Participant, error) {
	p, err := sim.NewParticipant(sim.Config{ID: ctPeer, Name: "Plum Pay", Kind: "wallet", Currency: ctCNY, Acceptance: "notify"})
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			p.Close(context.Background())
		}
	}()
	w, err := op.CreateParticipant(ctx, wire.NewParticipant{ID: ctPeer, Name: "Plum Pay", Kind: "wallet", Currencies: []string{"CNY"},
		CallbackURL: p.CallbackURL(), Acceptance: "notify"})
	if err != nil {
		return nil, fmt.Errorf("onboard %s: %w", ctPeer, err)
	}
	p.Connect(sim.NewClient(url, w.APIKey, nil), w.CallbackSecret)
	if _, err := op.MoveFunds(ctx, ctPeer, wire.Funds{Currency: "CNY", Amount: "10000.00", Direction: "deposit"}); err != nil {
		return nil, fmt.Errorf("fund %s: %w", ctPeer, err)
	}
	p.Books().Deposit(1_000_000)
	if err := p.Books().Open("u-1", "王芳", 5_000_00); err != nil {
		return nil, err
	}
	if _, err := p.API().RegisterParty(ctx, wire.NewParty{Type: "MSISDN", Value: ctPeerU, Name: "王芳", Account: "u-1", Currency: "CNY"}); err != nil {
		return nil, fmt.Errorf("register %s's user: %w", ctPeer, err)
	}
	ok = true
	return p, nil
}
