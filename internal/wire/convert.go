package wire

import (
	"github.com/hulian/hulian/internal/transfer"
)

// FromTransfer converts a transfer; the payee's account reference is
// included only for those entitled to it (the payee participant and the
// operator).
func FromTransfer(t transfer.Transfer, showAccount bool) Transfer {
	w := Transfer{
		ID: t.ID, State: string(t.State), Payer: t.Payer,
		Payee:  PayeeRef{Type: t.Payee.Type, Value: t.Payee.Value, Participant: t.Payee.Participant},
		Amount: t.Amount.Format(t.Currency), Fee: t.Fee.Format(t.Currency), Currency: t.Currency.String(),
		QuoteID: t.QuoteID, Note: t.Note, Reason: t.Reason, CreatedAt: t.CreatedAt,
	}
	if showAccount {
		w.Payee.Account = t.Payee.Account
	}
	return w
}
