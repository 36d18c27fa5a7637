package msg

import (
	"time"

	"github.com/hulian/hulian/internal/money"
)

// Type names a message definition and its version, as in OrgnlMsgNmId.
type Type string

// The message versions the switch speaks.
const (
	TypeCreditTransfer Type = "pacs.008.001.09"
	TypeStatusReport   Type = "pacs.002.001.11"
	TypePaymentReturn  Type = "pacs.004.001.10"
	TypeBankStatement  Type = "camt.053.001.08"
)

// Namespace returns the XML namespace of the message version, which is the
// default namespace of its Document.
func (t Type) Namespace() string { return "urn:iso:std:iso:20022:tech:xsd:" + string(t) }

// Document is one of *CreditTransfer, *StatusReport, *PaymentReturn and
// *BankStatement.
type Document interface {
	// Type names the message version.
	Type() Type
	wire() (any, error)
}

// CreditDebit is ISO 20022's CreditDebitCode: the direction of a balance
// or an entry from the account owner's point of view.
type CreditDebit string

// The two directions.
const (
	Credit CreditDebit = "CRDT"
	Debit  CreditDebit = "DBIT"
)

// CreditTransfer is a pacs.008.001.09 FIToFICustomerCreditTransferV09.
// NbOfTxs is not a field: Marshal writes len(Transactions) and Parse
// checks it.
type CreditTransfer struct {
	MsgID   string    // GrpHdr/MsgId
	Created time.Time // GrpHdr/CreDtTm
	// SettlementMethod is GrpHdr/SttlmInf/SttlmMtd: INDA, INGA, COVE or
	// CLRG (Marshal writes CLRG when it is empty).
	SettlementMethod string
	Transactions     []CreditTransaction // CdtTrfTxInf, 1 to MaxTransactions
}

// CreditTransaction is one CdtTrfTxInf of a pacs.008.
type CreditTransaction struct {
	InstrID    string // PmtId/InstrId, optional
	EndToEndID string // PmtId/EndToEndId, required ("NOTPROVIDED" by convention)
	TxID       string // PmtId/TxId: Hulian's transfer id (optional in the XSD)
	// Amount and Currency are IntrBkSttlmAmt in minor units and its @Ccy.
	Amount   money.Amount
	Currency money.Currency
	// ChargeBearer is ChrgBr: DEBT, CRED, SHAR or SLEV (Marshal writes
	// SLEV when it is empty).
	ChargeBearer    string
	DebtorName      string   // Dbtr/Nm, optional
	DebtorAgent     string   // DbtrAgt/FinInstnId/Othr/Id: the paying participant
	CreditorAgent   string   // CdtrAgt/FinInstnId/Othr/Id: the payee participant
	CreditorName    string   // Cdtr/Nm, optional
	CreditorAccount *Account // CdtrAcct, optional
	// Note is RmtInf/Ustrd. Marshal cuts it into Ustrd lines of at most
	// 140 characters and Parse joins the lines back without a separator.
	Note string
	// InstructedAmount and InstructedCurrency are InstdAmt, optional:
	// what the debtor instructed in its own currency when it differs
	// from the settlement's (an FX payment's source amount); zero
	// currency: absent.
	InstructedAmount   money.Amount
	InstructedCurrency money.Currency
	// ExchangeRate is XchgRate, optional: units of the settlement
	// currency per unit of the instructed one, a BaseOneRate (at most 11
	// digits, 10 after the point).
	ExchangeRate string
	// Purpose is Purp/Cd, optional: an ISO 20022 external purpose code
	// of 1 to 4 characters.
	Purpose string
}

// Account is a CashAccount's identification: Id/Othr/Id with its scheme
// name (or an IBAN), and the proxy (an alias) when there is one. The XSD
// requires Id even when Prxy is present.
type Account struct {
	IBAN      string // Id/IBAN; when set, ID and Scheme are empty
	ID        string // Id/Othr/Id
	Scheme    string // Id/Othr/SchmeNm/Prtry, optional (an alias type such as MSISDN)
	ProxyType string // Prxy/Tp/Prtry, optional
	ProxyID   string // Prxy/Id; empty means no Prxy
}

// StatusReport is a pacs.002.001.11 FIToFIPaymentStatusReportV11.
type StatusReport struct {
	MsgID        string          // GrpHdr/MsgId
	Created      time.Time       // GrpHdr/CreDtTm
	Originals    []OriginalGroup // OrgnlGrpInfAndSts
	Transactions []TxStatus      // TxInfAndSts, at most MaxTransactions
}

// OriginalGroup is an OrgnlGrpInfAndSts: the message the report answers.
type OriginalGroup struct {
	MsgID  string // OrgnlMsgId
	Type   Type   // OrgnlMsgNmId, such as "pacs.008.001.09"
	Status string // GrpSts, optional
}

// TxStatus is a TxInfAndSts: the status of one original transaction.
type TxStatus struct {
	OrigInstrID    string // OrgnlInstrId, optional
	OrigEndToEndID string // OrgnlEndToEndId, optional
	OrigTxID       string // OrgnlTxId, optional
	Status         string // TxSts (ACSC, PDNG, RJCT, …), optional in the XSD
	Reason         string // StsRsnInf/Rsn/Cd, optional (AM04, AC01, …)
	Info           string // StsRsnInf/AddtlInf, optional, at most 105 characters
}

// PaymentReturn is a pacs.004.001.10 PaymentReturnV10.
type PaymentReturn struct {
	MsgID   string    // GrpHdr/MsgId
	Created time.Time // GrpHdr/CreDtTm
	// SettlementMethod is GrpHdr/SttlmInf/SttlmMtd (CLRG when empty).
	SettlementMethod string
	Transactions     []ReturnTransaction // TxInf, 1 to MaxTransactions
}

// ReturnTransaction is one TxInf of a pacs.004.
type ReturnTransaction struct {
	ReturnID       string // RtrId, optional in the XSD
	OrigInstrID    string // OrgnlInstrId, optional
	OrigEndToEndID string // OrgnlEndToEndId, optional
	OrigTxID       string // OrgnlTxId: the returned transfer (optional in the XSD)
	// Amount and Currency are RtrdIntrBkSttlmAmt in minor units and its @Ccy.
	Amount   money.Amount
	Currency money.Currency
	Reason   string // RtrRsnInf/Rsn/Cd, optional (AC04, MD06, …)
	Info     string // RtrRsnInf/AddtlInf, optional, at most 105 characters
}

// BankStatement is a camt.053.001.08 BankToCustomerStatementV08.
type BankStatement struct {
	MsgID      string             // GrpHdr/MsgId
	Created    time.Time          // GrpHdr/CreDtTm
	Statements []AccountStatement // Stmt, at least one
}

// AccountStatement is one Stmt: an account's balances and entries.
type AccountStatement struct {
	ID string // Id
	// Page is StmtPgntn/PgNb, from 1 (0: no StmtPgntn); LastPage its
	// LastPgInd.
	Page     int
	LastPage bool
	Created  time.Time      // CreDtTm; the zero time means absent
	Account  Account        // Acct/Id/Othr and Acct/Prxy
	Currency money.Currency // Acct/Ccy; zero means absent
	Balances []Balance      // Bal, at least one
	Entries  []Entry        // Ntry
}

// Balance is a Bal: a balance of a type (OPBD, CLBD, …) on a date.
type Balance struct {
	Type      string // Tp/CdOrPrtry/Cd
	Amount    money.Amount
	Currency  money.Currency
	Indicator CreditDebit // CdtDbtInd: Debit for a negative balance
	Date      DateOrTime  // Dt
}

// Signed returns the balance as a signed amount: negative when Debit.
func (b Balance) Signed() money.Amount {
	if b.Indicator == Debit {
		return -b.Amount
	}
	return b.Amount
}

// Entry is an Ntry: one movement on the account.
type Entry struct {
	Ref       string // NtryRef, optional
	Amount    money.Amount
	Currency  money.Currency
	Indicator CreditDebit // CdtDbtInd
	Status    string      // Sts/Cd: BOOK, PDNG or INFO
	Booked    DateOrTime  // BookgDt; the zero value means absent
	Value     DateOrTime  // ValDt; the zero value means absent
	// Code is BkTxCd/Prtry/Cd, the switch's kind of movement (payment,
	// fee, deposit, …); empty writes an empty BkTxCd, which the XSD allows.
	Code       string
	InstrID    string // NtryDtls/TxDtls/Refs/InstrId, optional
	EndToEndID string // NtryDtls/TxDtls/Refs/EndToEndId, optional
	TxID       string // NtryDtls/TxDtls/Refs/TxId: the transfer id, optional
	Info       string // AddtlNtryInf, optional, at most 500 characters
}

// DateOrTime is ISO 20022's DateAndDateTime2Choice: a calendar date (Dt)
// or an instant (DtTm).
type DateOrTime struct {
	// Time is the instant, in UTC; for a date, its midnight in UTC.
	Time time.Time
	// DateOnly says the value is a date (Dt). A date's time zone, which
	// the XSD allows, is dropped when parsing.
	DateOnly bool
}

// Date returns the calendar date y-m-d as a DateOrTime.
func Date(y int, m time.Month, d int) DateOrTime {
	return DateOrTime{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), DateOnly: true}
}

// IsZero reports whether the value is absent.
func (d DateOrTime) IsZero() bool { return d.Time.IsZero() }

// Type returns TypeCreditTransfer.
func (*CreditTransfer) Type() Type { return TypeCreditTransfer }

// Type returns TypeStatusReport.
func (*StatusReport) Type() Type { return TypeStatusReport }

// Type returns TypePaymentReturn.
func (*PaymentReturn) Type() Type { return TypePaymentReturn }

// Type returns TypeBankStatement.
func (*BankStatement) Type() Type { return TypeBankStatement }
