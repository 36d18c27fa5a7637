package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/fspiop/spec"
	"github.com/hulian/hulian/internal/wire"
)

// TestClusterFSPIOP: every node serves FSPIOP. A follower forwards its
// FSPIOP requests to the leader, which answers and calls back; a quote
// the first leader gave is honoured by the next, through a node that
// follows it; and the leader's API port takes forwarded FSPIOP requests
// from its nodes only.
func TestClusterFSPIOP(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster on PostgreSQL")
	}
	open := inProcessCluster(t, func(c *app.Config) { c.FSPIOPAddr = "127.0.0.1:0" })
	n0 := open("node0")
	waitFor(t, "node0 leads", 15*time.Second, hasRole(n0, "leader"))
	n1 := open("node1")
	waitFor(t, "node1 follows", 15*time.Second, hasRole(n1, "follower"))

	v := spec.Start(t)
	op := &sw{t: t, url: n0.URL(), hc: &http.Client{Timeout: 30 * time.Second}}
	fs := &fspSwitch{sw: op, fsp: n1.FSPIOPURL(), ep: newFSPEndpoint(t, v), v: v,
		strict: &http.Client{Timeout: 30 * time.Second, Transport: v.Transport(http.DefaultTransport)}}
	t.Cleanup(func() {
		for _, f := range v.Failures() {
			t.Errorf("not FSPIOP 1.x as its OpenAPI definition says: %s", f)
		}
	})
	fs.payerKey, _ = op.participant("payerfsp", func(n *wire.NewParticipant) { n.FSPIOP = &wire.FSPIOP{Endpoint: fs.ep.srv.URL} })
	fs.bKey, _ = op.participant("wallet-b", nil)
	op.deposit("payerfsp", "1000.00")
	op.party(fs.bKey, "MSISDN", "13800138000", "Zhang San Feng", "u-b1")

	// Through the follower: a look-up and two quotes, answered by the
	// leader's callbacks.
	if r := fs.send("GET", "/parties/MSISDN/8613800138000", "parties", nil, nil); r.status != 202 {
		t.Fatalf("GET /parties at the follower: %d %s", r.status, r.body)
	}
	m := fs.ep.next(t)
	var party msg.PartiesPut
	if m.method != "PUT" || json.Unmarshal(m.body, &party) != nil || party.Party.PartyIDInfo.FSPID != "wallet-b" {
		t.Fatalf("look-up answer %s %s %s", m.method, m.path, m.body)
	}
	quote := func(quoteID, txID string) msg.QuotesPut {
		t.Helper()
		payer := msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FSPID: "payerfsp"}}
		q := msg.QuotesPost{QuoteID: quoteID, TransactionID: txID, Payer: payer, Payee: party.Party, AmountType: "SEND",
			Amount: msg.Money{Currency: "CNY", Amount: "10"}, TransactionType: msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}}
		if r := fs.send("POST", "/quotes", "quotes", q, nil); r.status != 202 {
			t.Fatalf("POST /quotes: %d %s", r.status, r.body)
		}
		m := fs.ep.next(t)
		var quoted msg.QuotesPut
		if m.path != "/quotes/"+quoteID || json.Unmarshal(m.body, &quoted) != nil || quoted.Condition == "" {
			t.Fatalf("quote answer %s %s %s", m.method, m.path, m.body)
		}
		return quoted
	}
	transfer := func(txID string, quoted msg.QuotesPut) {
		t.Helper()
		tr := msg.TransfersPost{TransferID: txID, PayerFSP: "payerfsp", PayeeFSP: "wallet-b", Amount: quoted.TransferAmount,
			ILPPacket: quoted.ILPPacket, Condition: quoted.Condition, Expiration: msg.FormatDateTime(time.Now().Add(time.Minute))}
		if r := fs.send("POST", "/transfers", "transfers", tr, nil); r.status != 202 {
			t.Fatalf("POST /transfers at %s: %d %s", fs.fsp, r.status, r.body)
		}
		m := fs.ep.next(t)
		var done msg.TransfersPut
		if m.path != "/transfers/"+txID || json.Unmarshal(m.body, &done) != nil || done.TransferState != "COMMITTED" {
			t.Fatalf("transfer answer %s %s %s", m.method, m.path, m.body)
		}
	}
	tx1, tx2 := "85feac2f-39b2-491b-817e-4a03203d4f14", "2f6b3f0e-8a4c-4d9e-b1a2-3c4d5e6f7a8b"
	q1 := quote("7c23e80c-d078-4077-8263-2c047876fcf6", tx1)
	q2 := quote("0b5e2c1d-6f7a-4b8c-9d0e-1f2a3b4c5d6e", tx2)
	transfer(tx1, q1)

	// The leader's API port: a forwarded FSPIOP request without a
	// node's proof is no route at all.
	for _, proof := range []string{"", "t=" + strconv.FormatInt(time.Now().Unix(), 10) + ",v1=" + strings.Repeat("0", 64)} {
		req, _ := http.NewRequest("GET", n0.URL()+"/_fspiop/parties/MSISDN/8613800138000", nil)
		req.Header.Set("FSPIOP-Source", "payerfsp")
		req.Header.Set("Authorization", "Bearer "+fs.payerKey)
		req.Header.Set(app.ForwardedHeader, "node1")
		if proof != "" {
			req.Header.Set("Hulian-Forwarded-Proof", proof)
		}
		r, err := op.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("a forwarded FSPIOP request with proof %q at the leader's API: %d, want 404", proof, r.StatusCode)
		}
	}

	// The leader goes; node1 leads, node2 follows it: the second quote,
	// given by node0, is paid through node2.
	if err := n0.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node1 leads", 15*time.Second, hasRole(n1, "leader"))
	n2 := open("node2")
	waitFor(t, "node2 follows", 15*time.Second, hasRole(n2, "follower"))
	fs.fsp = n2.FSPIOPURL()
	transfer(tx2, q2)
	// The new leader answers on its own FSPIOP port from the ledger.
	fs.fsp = n1.FSPIOPURL()
	fs.send("GET", "/transfers/"+tx1, "transfers", nil, nil)
	if m := fs.ep.next(t); m.method != "PUT" || !strings.Contains(string(m.body), `"COMMITTED"`) {
		t.Errorf("GET /transfers at the new leader: %s %s", m.method, m.body)
	}
	fs.sw = &sw{t: t, url: n1.URL(), hc: op.hc}
	if b := fs.balance(fs.bKey, "wallet-b"); b.Balance != "20.00" {
		t.Errorf("payee balance %+v, want 20.00", b)
	}
}
