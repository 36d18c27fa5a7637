package app_test

import (
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fspiop/ilp"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/wire"
)

// TestFSPIOPPayeeCurrency: FSPIOP 1.1 has no foreign exchange, so an
// FSPIOP payer's quote or prepare in another currency than the native
// payee's alias is held in is refused with 5106 (payee unsupported
// currency), and nothing moves.
func TestFSPIOPPayeeCurrency(t *testing.T) {
	eachEngineFSP(t, func(t *testing.T, fs *fspSwitch) {
		hKey, _ := fs.participant("wallet-h", func(n *wire.NewParticipant) { n.Currencies = []string{"HKD", "CNY"} })
		fs.ok(201, "POST", "/v1/parties", hKey, wire.NewParty{Type: "MSISDN", Value: "+85291234567", Name: "Chan Tai Man", Account: "h-1", Currency: "HKD"}, nil)
		payee := msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "85291234567", FSPID: "wallet-h"}}
		payer := msg.Party{PartyIDInfo: msg.PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FSPID: "payerfsp"}}
		amount := msg.Money{Currency: "CNY", Amount: "10"}
		kind := msg.TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}

		quoteID, txID := "5b1c7a1e-2f44-4f0b-9d6c-0a8e3f2b1c01", "5b1c7a1e-2f44-4f0b-9d6c-0a8e3f2b1c02"
		fs.send("POST", "/quotes", "quotes", msg.QuotesPost{QuoteID: quoteID, TransactionID: txID, Payer: payer, Payee: payee,
			AmountType: "SEND", Amount: amount, TransactionType: kind}, nil)
		if m := fs.ep.next(t); m.path != "/quotes/"+quoteID+"/error" || errorCode(t, m.body) != "5106" {
			t.Errorf("quote in CNY to an HKD alias: %s %s", m.path, m.body)
		}

		// A prepare with a packet of its own making gets no further.
		txn := msg.Transaction{TransactionID: txID, QuoteID: quoteID, Payee: payee, Payer: payer, Amount: amount, TransactionType: kind}
		packet, cond, _, err := ilp.Build([]byte("a payer's own secret"), 1, 1000, "g.wallet-h.msisdn.85291234567", txn, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		fs.send("POST", "/transfers", "transfers", msg.TransfersPost{TransferID: txID, PayerFSP: "payerfsp", PayeeFSP: "wallet-h",
			Amount: amount, ILPPacket: packet, Condition: cond, Expiration: msg.FormatDateTime(time.Now().Add(time.Minute))}, nil)
		if m := fs.ep.next(t); m.path != "/transfers/"+txID+"/error" || errorCode(t, m.body) != "5106" {
			t.Errorf("prepare in CNY to an HKD alias: %s %s", m.path, m.body)
		}
		if b := fs.balance(fs.payerKey, "payerfsp"); b.Balance != "1000.00" || b.Reserved != "0.00" {
			t.Errorf("payer FSP's position %+v", b)
		}
	})
}
