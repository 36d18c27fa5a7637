package iso20022

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/transfer"
)

// Alerts renders what ISO 20022 has no message for here: liquidity
// alerts, which banks receive as the native API writes them.
type Alerts interface {
	LiquidityAlert(a *liquidity.Alert) ([]byte, error)
}

// Callbacks writes the callbacks of a participant whose messageFormat is
// iso20022: its incoming payments as a pacs.008.001.09 (notices and
// confirm requests alike), and reads its answer to a confirm request as a
// pacs.002.001.11 (ACSC accepts; RJCT refuses, its reason code and text
// the reason). Liquidity alerts go to Alerts.
//
// In a pacs.008 callback the transfer id is PmtId/TxId and EndToEndId;
// ISO 20022 allows 35 characters there, so a longer id is written as
// "H" and 34 hex digits of its SHA-256, and in full in RmtInf/Ustrd as
// "transfer <id>", before the payer's note. DbtrAgt names the payer,
// CdtrAgt the payee, CdtrAcct/Id/Othr the payee's own account reference
// of the user, and CdtrAcct/Prxy the alias paid.
type Callbacks struct {
	Alerts Alerts
	Now    func() time.Time
}

// TransfersCommitted renders a notice of committed incoming transfers.
func (c Callbacks) TransfersCommitted(ts []transfer.Transfer) ([]byte, error) {
	ct := &msg.CreditTransfer{MsgID: messageID(c.now()), Created: c.now().UTC()}
	for i := range ts {
		ct.Transactions = append(ct.Transactions, creditOf(&ts[i]))
	}
	return msg.Marshal(ct)
}

// TransferConfirm renders the request to accept or reject t.
func (c Callbacks) TransferConfirm(t *transfer.Transfer) ([]byte, error) {
	return msg.Marshal(&msg.CreditTransfer{MsgID: messageID(c.now()), Created: c.now().UTC(),
		Transactions: []msg.CreditTransaction{creditOf(t)}})
}

// errDecision means a confirm answer is not a pacs.002 that decides t.
var errDecision = errors.New("iso20022: the answer is not a pacs.002 accepting or rejecting the transfer")

// Decision reads a pacs.002 answering the confirm request of t.
func (c Callbacks) Decision(t *transfer.Transfer, body []byte) (bool, string, error) {
	doc, err := msg.Parse(bytes.NewReader(body), 1<<20)
	if err != nil {
		return false, "", fmt.Errorf("%w: %w", errDecision, err)
	}
	rep, ok := doc.(*msg.StatusReport)
	if !ok {
		return false, "", fmt.Errorf("%w: a %s", errDecision, doc.Type())
	}
	id := TxID(t.ID)
	for _, tx := range rep.Transactions {
		if tx.OrigTxID != id {
			continue
		}
		switch tx.Status {
		case StatusAccepted:
			return true, "", nil
		case StatusRejected:
			reason := tx.Reason
			if tx.Info != "" {
				reason += " " + tx.Info
			}
			return false, reason, nil
		}
		return false, "", fmt.Errorf("%w: TxSts %q", errDecision, tx.Status)
	}
	return false, "", fmt.Errorf("%w: no TxInfAndSts of %s", errDecision, id)
}

// LiquidityAlert renders a liquidity alert through Alerts.
func (c Callbacks) LiquidityAlert(a *liquidity.Alert) ([]byte, error) {
	return c.Alerts.LiquidityAlert(a)
}

func (c Callbacks) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// TxID is how a transfer id is written where ISO 20022 allows 35
// characters: as it is, or "H" and 34 hex digits of its SHA-256.
func TxID(id string) string {
	if len(id) <= 35 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "H" + hex.EncodeToString(sum[:17])
}

// creditOf is a transfer as a pacs.008 credit transfer.
func creditOf(t *transfer.Transfer) msg.CreditTransaction {
	id := TxID(t.ID)
	note := t.Note
	if id != t.ID {
		note = "transfer " + t.ID + " " + note
	}
	acct := &msg.Account{ID: t.Payee.Account, ProxyType: t.Payee.Type, ProxyID: t.Payee.Value}
	switch {
	case t.Payee.Type == transfer.AccountType:
		// Paid to the account itself: no proxy.
		acct.ProxyType, acct.ProxyID = "", ""
	case acct.ID == "":
		acct.ID = t.Payee.Value
	}
	amount, cur := t.Received()
	c := msg.CreditTransaction{EndToEndID: id, TxID: id, Amount: amount, Currency: cur, DebtorAgent: t.Payer,
		CreditorAgent: t.Payee.Participant, CreditorAccount: acct, Note: note}
	if f := t.FX; f != nil {
		// The payee settles the target amount; what the payer instructed,
		// the rate and the purpose are told as pacs.008 tells them.
		c.InstructedAmount, c.InstructedCurrency, c.Purpose = t.Amount, t.Currency, f.Purpose
		if r := f.Rate.String(); msg.FitsBaseOneRate(r) {
			c.ExchangeRate = r
		}
	}
	return c
}
