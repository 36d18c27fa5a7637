// Package purpose is the one registry of ledger purposes: the number
// every ledger event carries in its Purpose field to say what the
// movement is for — a payment, its fee, a deposit, a settlement. The
// ledger does not interpret it; settlement, reports, notifications and
// the audit log tell movements apart by it.
//
// Purposes are stored in every event and hashed into the audit log:
// a number, once used, keeps its meaning forever. A new capability adds
// its purpose here, with its name, and to docs/formats.md (a test holds
// the two to each other).
package purpose

// The purposes.
const (
	// Payment is a payment's main leg, payer → payee; its event's Meta
	// is the payment record. Its commit and abort carry it too.
	Payment uint16 = 1
	// Fee is a payment's scheme fee leg, payer → the hub's fee account.
	Fee uint16 = 2
	// Deposit credits a participant with money the settlement bank
	// received for it.
	Deposit uint16 = 3
	// Withdrawal debits a participant for money the settlement bank pays
	// out to it.
	Withdrawal uint16 = 4
	// Settlement moves a settlement window's net position between a
	// participant and the settlement bank's external account.
	Settlement uint16 = 5
	// WindowClose marks where a settlement window closed.
	WindowClose uint16 = 6
	// Status marks a participant's suspension or resumption (Meta
	// "<participant>/suspended" or "/active").
	Status uint16 = 7
	// AuditReinit marks where the audit log began a new history: started
	// with --audit-reinit after its checkpoints were lost or its signing
	// key changed (Meta in docs/formats.md).
	AuditReinit uint16 = 8
	// RiskRule marks a risk rule saved or deleted by the operator (Meta
	// in docs/formats.md, "Risk control marks").
	RiskRule uint16 = 9
	// RiskList marks a change to an operator's risk list.
	RiskList uint16 = 10
	// RiskDecision marks the operator's decision on a risk alert.
	RiskDecision uint16 = 11
	// FraudReport marks a participant's fraud report on a transfer.
	FraudReport uint16 = 12
	// PayBack marks a slot of the money a payment's payee paid back to
	// its payer (a refund or a return), linked to that payback's payment
	// leg: the marks of a payment, numbered from 1, sum what was paid
	// back (Meta in docs/formats.md).
	PayBack uint16 = 13
	// PaymentRequest marks a request to pay made, paid, declined or
	// expired (Meta in docs/formats.md).
	PaymentRequest uint16 = 14
	// Mandate marks a mandate proposed, decided, paused, resumed, ended,
	// or executed (Meta in docs/formats.md).
	Mandate uint16 = 15
	// Dispute marks a fraud dispute opened, accepted or rejected, and
	// each hold of a disputed payment's money (Meta in docs/formats.md).
	Dispute uint16 = 16
	// FXRate marks an FX provider's rate sheet published (Meta in
	// docs/formats.md).
	FXRate uint16 = 17
	// FX is an FX payment's delivery leg, FX provider → payee in the
	// payee's currency; its event's Meta is the FX terms (docs/formats.md).
	FX uint16 = 18
	// FXFee is an FX payment's provider fee leg, payer → FX provider in
	// the payer's currency.
	FXFee uint16 = 19
	// FXQuote marks an FX quote used by a payment: one payment per quote
	// (Ref is the payment request's digest).
	FXQuote uint16 = 20
	// SchemeRoute marks the operator's route of alias prefixes to a
	// scheme link saved or deleted (Meta in docs/formats.md).
	SchemeRoute uint16 = 21
	// ConsoleAction marks a console user's action that changed something
	// — who, in what role, did what to what (Meta in docs/formats.md).
	ConsoleAction uint16 = 22
)

// names are the purposes' names, stable: ledger ids of payment legs are
// derived from them, and people read them in reports. An array, not a
// map: every leg of every payment looks its name up.
var names = [...]string{
	Payment:        "payment",
	Fee:            "fee",
	Deposit:        "deposit",
	Withdrawal:     "withdrawal",
	Settlement:     "settlement",
	WindowClose:    "window-close",
	Status:         "participant-status",
	AuditReinit:    "audit-reinit",
	RiskRule:       "risk-rule",
	RiskList:       "risk-list",
	RiskDecision:   "risk-decision",
	FraudReport:    "fraud-report",
	PayBack:        "payback",
	PaymentRequest: "payment-request",
	Mandate:        "mandate",
	Dispute:        "dispute",
	FXRate:         "fx-rate",
	FX:             "fx",
	FXFee:          "fx-fee",
	FXQuote:        "fx-quote",
	SchemeRoute:    "scheme-route",
	ConsoleAction:  "console-action",
}

// Name returns a purpose's name, and false for a number not registered.
func Name(p uint16) (string, bool) {
	if int(p) < len(names) && names[p] != "" {
		return names[p], true
	}
	return "", false
}

// All returns every registered purpose, in numeric order.
func All() []uint16 {
	var out []uint16
	for p, n := range names {
		if n != "" {
			out = append(out, uint16(p))
		}
	}
	return out
}
