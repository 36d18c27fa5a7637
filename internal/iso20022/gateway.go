// Package iso20022 is the switch's ISO 20022 gateway: banks send the
// messages their payment hubs already produce, and the payment flow
// answers them. A pacs.008.001.09 of 1 to 1,000 credit transfers is paid
// as one batch of native payments and answered with a pacs.002.001.11,
// one status per transaction.
//
// Mapping of a CdtTrfTxInf:
//
//	PmtId/TxId             the transfer id (idempotent as in the native API)
//	DbtrAgt/…/Othr/Id      must be the sending participant
//	CdtrAcct/Prxy          the payee alias: Tp/Prtry its type, Id its value
//	CdtrAcct/Id/Othr/Id    without Prxy, the payee alias's value, with
//	  + SchmeNm/Prtry      its type (MSISDN, EMAIL, NATIONAL_ID, RANDOM, WALLET);
//	                       without SchmeNm, an account of the participant
//	                       CdtrAgt/FinInstnId/Othr/Id names (payee type
//	                       ACCOUNT, value participant/account)
//	IntrBkSttlmAmt @Ccy    the amount and its currency
//	RmtInf/Ustrd           the note
//
// TxSts: ACSC committed; PDNG held for review or waiting for a
// confirm-mode payee; RJCT with StsRsnInf/Rsn/Cd AM04 (insufficient
// funds), AC01 (unknown payee), AG01 (participant suspended, not allowed,
// or the payee refused), AM02 (amount above a limit: a risk rule declined
// it with a reason code that begins or ends with "limit"), AM03 (currency
// not enabled), RR04 (declined by other risk rules), AB05 (the payee did not
// answer in time), DUPL (the id used for another transfer), FF01
// (business-invalid content).
package iso20022

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/transfer"
)

// Payments is what the gateway needs of the payment flow.
type Payments interface {
	CreateMany(ctx context.Context, payer participant.Participant, reqs []transfer.Request) []transfer.Outcome
	Return(ctx context.Context, payee participant.Participant, originalID string, amount money.Amount, c money.Currency,
		note string) (transfer.Transfer, bool, error)
}

// Gateway answers banks' ISO 20022 messages.
type Gateway struct {
	Payments Payments
	// Now is the clock (time.Now).
	Now func() time.Time
}

// The transaction statuses and reason codes the gateway answers with.
const (
	StatusAccepted = "ACSC"
	StatusPending  = "PDNG"
	StatusRejected = "RJCT"

	ReasonFunds     = "AM04"
	ReasonPayee     = "AC01"
	ReasonNotAllow  = "AG01"
	ReasonLimit     = "AM02"
	ReasonCurrency  = "AM03"
	ReasonRisk      = "RR04"
	ReasonTimeout   = "AB05"
	ReasonDuplicate = "DUPL"
	ReasonInvalid   = "FF01"
)

// CreditTransfer pays the transactions of a pacs.008 from payer and
// returns the pacs.002 that answers it. A transaction the gateway cannot
// map is rejected on its own (FF01, AG01, AC01); the others go to the
// payment flow as one batch.
func (g *Gateway) CreditTransfer(ctx context.Context, payer participant.Participant, ct *msg.CreditTransfer) *msg.StatusReport {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	out := make([]msg.TxStatus, len(ct.Transactions))
	var reqs []transfer.Request
	var at []int // index in out of each request
	for i := range ct.Transactions {
		tx := &ct.Transactions[i]
		out[i] = msg.TxStatus{OrigInstrID: tx.InstrID, OrigEndToEndID: tx.EndToEndID, OrigTxID: tx.TxID}
		req, reason, info := request(payer, tx)
		if reason != "" {
			out[i].Status, out[i].Reason, out[i].Info = StatusRejected, reason, info
			continue
		}
		reqs = append(reqs, req)
		at = append(at, i)
	}
	if len(reqs) > 0 {
		for k, o := range g.Payments.CreateMany(ctx, payer, reqs) {
			out[at[k]].Status, out[at[k]].Reason, out[at[k]].Info = status(o)
		}
	}
	return &msg.StatusReport{MsgID: messageID(now()), Created: now().UTC(),
		Originals:    []msg.OriginalGroup{{MsgID: ct.MsgID, Type: msg.TypeCreditTransfer}},
		Transactions: out}
}

// PaymentReturn returns, from payee, the payments a pacs.004.001.10 names
// (OrgnlTxId, RtrdIntrBkSttlmAmt at most the payment, RtrRsnInf the
// reason) and answers its pacs.002.001.11: ACSC when returned (a new
// transfer "return:" + the original's id, to the original payer), RJCT
// with AM02 (more than the payment), AC01 (no such payment of the
// payee's), DUPL (returned before, otherwise), AM04 (funds) or FF01.
func (g *Gateway) PaymentReturn(ctx context.Context, payee participant.Participant, pr *msg.PaymentReturn) *msg.StatusReport {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	out := make([]msg.TxStatus, len(pr.Transactions))
	for i := range pr.Transactions {
		tx := &pr.Transactions[i]
		st := &out[i]
		st.OrigInstrID, st.OrigEndToEndID, st.OrigTxID = tx.OrigInstrID, tx.OrigEndToEndID, tx.ReturnID
		if st.OrigTxID == "" {
			st.OrigTxID = tx.OrigTxID
		}
		if tx.OrigTxID == "" {
			st.Status, st.Reason, st.Info = StatusRejected, ReasonInvalid, "OrgnlTxId, the returned transfer, is required"
			continue
		}
		note := strings.TrimSpace(tx.Reason + " " + tx.Info)
		if _, _, err := g.Payments.Return(ctx, payee, tx.OrigTxID, tx.Amount, tx.Currency, note); err != nil {
			st.Status, st.Reason, st.Info = StatusRejected, returnReason(err), info(err.Error())
			continue
		}
		st.Status = StatusAccepted
	}
	return &msg.StatusReport{MsgID: messageID(now()), Created: now().UTC(),
		Originals:    []msg.OriginalGroup{{MsgID: pr.MsgID, Type: msg.TypePaymentReturn}},
		Transactions: out}
}

// returnReason maps a return's refusal to its reason code.
func returnReason(err error) string {
	switch {
	case errors.Is(err, transfer.ErrReturnAmount), errors.Is(err, transfer.ErrRefundExceeds):
		return ReasonLimit
	case errors.Is(err, transfer.ErrNotFound), errors.Is(err, transfer.ErrNotPayee):
		return ReasonPayee
	case errors.Is(err, transfer.ErrNotReturnable):
		return ReasonInvalid
	}
	return reasonOf(err)
}

// request maps one credit transfer to a native payment request, or says
// why it cannot (a reason code and a short text).
func request(payer participant.Participant, tx *msg.CreditTransaction) (transfer.Request, string, string) {
	switch {
	case tx.TxID == "":
		return transfer.Request{}, ReasonInvalid, "PmtId/TxId, the transfer id, is required"
	case transfer.ReservedID(tx.TxID):
		return transfer.Request{}, ReasonInvalid, "ids beginning return:, mandate or dispute: are the switch's"
	case tx.DebtorAgent != payer.ID:
		return transfer.Request{}, ReasonNotAllow, "DbtrAgt must be the sending participant"
	case tx.CreditorAccount == nil:
		return transfer.Request{}, ReasonPayee, "CdtrAcct is required"
	}
	acct := tx.CreditorAccount
	typ, value := acct.ProxyType, acct.ProxyID
	if value == "" {
		typ, value = acct.Scheme, acct.ID
	}
	if typ == "" {
		// An account without an alias type is the payee participant's
		// own account, the participant named by CdtrAgt.
		if tx.CreditorAgent == "" || acct.ID == "" {
			return transfer.Request{}, ReasonPayee,
				"the payee is an alias (CdtrAcct/Prxy, or Id/Othr with SchmeNm/Prtry) or an account (Id/Othr) at CdtrAgt"
		}
		typ, value = transfer.AccountType, transfer.AccountPayee(tx.CreditorAgent, acct.ID)
	}
	if value == "" {
		return transfer.Request{}, ReasonPayee, "CdtrAcct names no payee"
	}
	return transfer.Request{ID: tx.TxID, PayeeType: typ, PayeeValue: value, Amount: tx.Amount, Currency: tx.Currency,
		Note: tx.Note}, "", ""
}

// status maps a payment's outcome to its TxSts, reason and text.
func status(o transfer.Outcome) (string, string, string) {
	if o.Err != nil {
		return StatusRejected, reasonOf(o.Err), info(o.Err.Error())
	}
	switch o.Transfer.State {
	case transfer.Committed:
		return StatusAccepted, "", ""
	case transfer.Held, transfer.Reserved:
		return StatusPending, "", ""
	}
	// Aborted: by its payee, or for want of an answer.
	r := o.Transfer.Reason
	switch {
	case r == "timeout" || r == "payee unreachable" || r == "expired":
		return StatusRejected, ReasonTimeout, info(r)
	case strings.HasPrefix(r, "risk-rejected"):
		return StatusRejected, ReasonRisk, info(r)
	}
	return StatusRejected, ReasonNotAllow, info(r)
}

// reasonOf maps a refusal of the payment flow to its reason code, once
// for the gateway: by the flow's sentinel errors' codes, then by kind.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, transfer.ErrConflict):
		return ReasonDuplicate
	case errors.Is(err, transfer.ErrInsufficientFunds):
		return ReasonFunds
	}
	switch fault.CodeOf(err) {
	case "unknown-party":
		return ReasonPayee
	case "participant-suspended", "same-participant":
		return ReasonNotAllow
	case "currency-not-enabled":
		return ReasonCurrency
	case "risk-declined", "risk-refused":
		// A rule that declines for a limit says so in its reason code
		// ("limit", "limit-night", "daily-limit"): the bank sees AM02.
		var d interface{ Declined() (rule, reason string) }
		if errors.As(err, &d) {
			if _, r := d.Declined(); strings.HasPrefix(r, "limit") || strings.HasSuffix(r, "limit") {
				return ReasonLimit
			}
		}
		return ReasonRisk
	case "expired":
		return ReasonTimeout
	case "limit-below-position":
		return ReasonLimit
	}
	return ReasonInvalid
}

// info is a refusal's text as AddtlInf carries it: at most 105
// characters.
func info(s string) string {
	r := []rune(s)
	if len(r) > 105 {
		r = r[:105]
	}
	return string(r)
}

// messageID is a new MsgId: the time and random digits, at most 35
// characters as the schema allows.
func messageID(t time.Time) string {
	var b [6]byte
	rand.Read(b[:])
	return "HULIAN" + t.UTC().Format("20060102150405") + hex.EncodeToString(b[:])
}
