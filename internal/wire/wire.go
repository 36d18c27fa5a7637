// Package wire owns the JSON representation of API v1: the shapes the
// HTTP API returns and accepts, the callbacks the switch sends, and the
// problem documents of refusals. The switch, its callbacks and the
// reference participant implementation (package sim) all use these
// types, so the two sides cannot drift apart.
//
// Amounts are decimal strings in the currency's major unit, currencies
// ISO 4217 codes, times RFC 3339 in UTC.
package wire

import (
	"time"
)

// Participant is a participant as the API shows it.
type Participant struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Currencies  []string `json:"currencies"`
	CallbackURL string   `json:"callbackUrl,omitempty"`
	Acceptance  string   `json:"acceptance"`
	Status      string   `json:"status"`
	// ClientCertSHA256 is the client certificate the participant is
	// bound to (hex SHA-256 of its DER form), if any.
	ClientCertSHA256 string `json:"clientCertSha256,omitempty"`
	// FSPIOP is set for a participant that speaks Mojaloop's FSPIOP API.
	FSPIOP *FSPIOP `json:"fspiop,omitempty"`
	// MessageFormat is how its callbacks are written: json or iso20022.
	MessageFormat string `json:"messageFormat,omitempty"`
	// FXLiveQuotes says that an FX provider answers live FX quote
	// requests (the fx.quote callback).
	FXLiveQuotes bool      `json:"fxLiveQuotes,omitzero"`
	CreatedAt    time.Time `json:"createdAt"`
	// APIKey and CallbackSecret are only in the answer to the creation.
	APIKey         string `json:"apiKey,omitempty"`
	CallbackSecret string `json:"callbackSecret,omitempty"`
}

// NewParticipant is the body of POST /v1/participants.
type NewParticipant struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Currencies  []string `json:"currencies"`
	CallbackURL string   `json:"callbackUrl,omitempty"`
	Acceptance  string   `json:"acceptance,omitempty"`
	// ClientCertSHA256, if set, binds the participant to a client
	// certificate (hex SHA-256 of its DER form).
	ClientCertSHA256 string `json:"clientCertSha256,omitempty"`
	// FSPIOP, if set, makes it an FSPIOP participant.
	FSPIOP *FSPIOP `json:"fspiop,omitempty"`
	// MessageFormat is how its callbacks are written: json (the default)
	// or iso20022 (pacs.008 notices and confirm requests, answered by
	// pacs.002).
	MessageFormat string `json:"messageFormat,omitempty"`
	// FXLiveQuotes makes an FX provider with a callbackUrl answer live FX
	// quote requests (the fx.quote callback).
	FXLiveQuotes bool `json:"fxLiveQuotes,omitzero"`
}

// FSPIOP is where and how the switch reaches a participant that speaks
// Mojaloop's FSPIOP API: its id is its FSP id.
type FSPIOP struct {
	// Endpoint is the base URL of its FSPIOP API.
	Endpoint string `json:"endpoint"`
	// JWSPublicKey is the PEM public key that verifies the
	// FSPIOP-Signature of its requests, if it signs them.
	JWSPublicKey string `json:"jwsPublicKey,omitempty"`
	// LinkID, for a participant of kind scheme, is the FSP id the far
	// scheme knows this switch by.
	LinkID string `json:"linkId,omitempty"`
	// LinkAPIKey, for a participant of kind scheme, is the API key the
	// far scheme issued for LinkID. Only in requests: never shown.
	LinkAPIKey string `json:"linkApiKey,omitempty"`
}

// ParticipantPatch is the body of PATCH /v1/participants/{id}.
type ParticipantPatch struct {
	CallbackURL      *string `json:"callbackUrl,omitempty"`
	Acceptance       *string `json:"acceptance,omitempty"`
	ClientCertSHA256 *string `json:"clientCertSha256,omitempty"`
	// FSPIOP changes how an FSPIOP participant is reached (the operator
	// only); an empty endpoint makes it a native participant.
	FSPIOP *FSPIOP `json:"fspiop,omitempty"`
	// MessageFormat changes how its callbacks are written.
	MessageFormat *string `json:"messageFormat,omitempty"`
	// FXLiveQuotes turns an FX provider's live FX quotes on or off.
	FXLiveQuotes *bool `json:"fxLiveQuotes,omitempty"`
}

// Rotation is the body of POST /v1/participants/{id}/keys and
// /callback-secrets: how many seconds the previous credential keeps
// working (default 86400; 0: it stops at once).
type Rotation struct {
	GraceSeconds *int64 `json:"graceSeconds,omitempty"`
}

// RotatedKey is the answer to POST /v1/participants/{id}/keys.
type RotatedKey struct {
	APIKey               string    `json:"apiKey"`
	PreviousKeyExpiresAt time.Time `json:"previousKeyExpiresAt"`
}

// RotatedSecret is the answer to POST /v1/participants/{id}/callback-secrets.
type RotatedSecret struct {
	CallbackSecret          string    `json:"callbackSecret"`
	PreviousSecretExpiresAt time.Time `json:"previousSecretExpiresAt"`
}

// Participants is a list of participants.
type Participants struct {
	Participants []Participant `json:"participants"`
}

// Funds is the body and answer of POST /v1/participants/{id}/funds; in
// the body, id (optional) makes the request idempotent, participant (if
// given) must be the path's, and createdAt is not accepted.
type Funds struct {
	ID          string    `json:"id,omitempty"`
	Participant string    `json:"participant,omitempty"`
	Currency    string    `json:"currency"`
	Amount      string    `json:"amount"`
	Direction   string    `json:"direction"`
	CreatedAt   time.Time `json:"createdAt,omitzero"`
}

// Limit is the body of PUT /v1/participants/{id}/limits/{currency}.
type Limit struct {
	Currency    string `json:"currency,omitempty"`
	NetDebitCap string `json:"netDebitCap"`
}

// Account is one currency position of a participant.
type Account struct {
	Currency    string `json:"currency"`
	Balance     string `json:"balance"`
	Reserved    string `json:"reserved"`
	NetDebitCap string `json:"netDebitCap"`
	Available   string `json:"available"`
}

// Accounts is the answer of GET /v1/participants/{id}/accounts.
type Accounts struct {
	Accounts []Account `json:"accounts"`
}

// HubAccount is the hub's own position in one currency: the fee revenue
// it collected, and the settlement bank's external account, which mirrors
// the money participants deposited (negative) and withdrew.
type HubAccount struct {
	Currency       string `json:"currency"`
	FeeRevenue     string `json:"feeRevenue"`
	SettlementBank string `json:"settlementBank"`
}

// HubAccounts is the answer of GET /v1/hub/accounts.
type HubAccounts struct {
	Accounts []HubAccount `json:"accounts"`
}

// Fees is a currency's fee schedule: fixed + amount × rate, clamped to
// [min, max]; rate is a decimal percentage string ("0.5" = 0.5 %), max
// "0" means no maximum.
type Fees struct {
	Currency string `json:"currency,omitempty"`
	Fixed    string `json:"fixed"`
	Rate     string `json:"rate"`
	Min      string `json:"min"`
	Max      string `json:"max"`
}

// FeeList lists the fee schedules.
type FeeList struct {
	Fees []Fees `json:"fees"`
}

// NewParty is the body of POST /v1/parties.
type NewParty struct {
	Type     string `json:"type"`
	Value    string `json:"value,omitempty"`
	Name     string `json:"name"`
	Account  string `json:"account"`
	Currency string `json:"currency"`
	// MCC, City and Country are a MERCHANT's, printed in its QR codes
	// (required for that type, refused for others).
	MCC     string `json:"mcc,omitempty"`
	City    string `json:"city,omitempty"`
	Country string `json:"country,omitempty"`
}

// Party is a registered alias as its owner sees it.
type Party struct {
	Type        string    `json:"type"`
	Value       string    `json:"value"`
	Participant string    `json:"participant"`
	Name        string    `json:"name,omitempty"`
	Account     string    `json:"account,omitempty"`
	DisplayName string    `json:"displayName"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"createdAt,omitzero"`
}

// NewQR is the body of POST /v1/qr.
type NewQR struct {
	Merchant  string    `json:"merchant"`
	Amount    string    `json:"amount,omitempty"`
	Currency  string    `json:"currency"`
	Reference string    `json:"reference,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// QR is a merchant QR code made.
type QR struct {
	ID        string    `json:"id"`
	Payload   string    `json:"payload"`
	Image     string    `json:"image"`
	Merchant  string    `json:"merchant"`
	Dynamic   bool      `json:"dynamic"`
	Amount    string    `json:"amount,omitempty"`
	Currency  string    `json:"currency"`
	Reference string    `json:"reference,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	Paid      bool      `json:"paid"`
	CreatedAt time.Time `json:"createdAt"`
}

// QRDecode is the body of POST /v1/qr:decode.
type QRDecode struct {
	Payload string `json:"payload"`
}

// QRDecoded is what any participant learns of a QR payload.
type QRDecoded struct {
	Merchant  QRMerchant `json:"merchant"`
	Dynamic   bool       `json:"dynamic"`
	Amount    string     `json:"amount,omitempty"`
	Currency  string     `json:"currency"`
	Reference string     `json:"reference,omitempty"`
	ExpiresAt time.Time  `json:"expiresAt,omitzero"`
	// Paid says a dynamic code was paid (or is being paid) already.
	Paid bool `json:"paid,omitempty"`
}

// QRMerchant is a QR code's merchant as payers see it.
type QRMerchant struct {
	ID          string `json:"id"`
	Participant string `json:"participant"`
	DisplayName string `json:"displayName"`
	MCC         string `json:"mcc"`
	City        string `json:"city"`
	Country     string `json:"country"`
}

// PartyLookup is the answer of GET /v1/parties/{type}/{value}: what any
// participant may learn of an alias.
type PartyLookup struct {
	Type        string `json:"type"`
	Value       string `json:"value"`
	Participant string `json:"participant"`
	DisplayName string `json:"displayName"`
	Currency    string `json:"currency"`
	// FraudMarks counts the open fraud reports against the alias, so
	// that the payer's wallet can warn its user before paying.
	FraudMarks int `json:"fraudMarks"`
}

// Parties is a page of the caller's aliases.
type Parties struct {
	Parties []Party `json:"parties"`
	Next    string  `json:"next,omitempty"`
}

// PartyBatch is the body of POST /v1/parties:batch.
type PartyBatch struct {
	Parties []NewParty `json:"parties"`
}

// PartyBatchResult is the answer of POST /v1/parties:batch: one result
// per party, in order.
type PartyBatchResult struct {
	Results []PartyResult `json:"results"`
}

// PartyResult is one party's outcome in a batch.
type PartyResult struct {
	Status int      `json:"status"`
	Party  *Party   `json:"party,omitempty"`
	Error  *Problem `json:"error,omitempty"`
}

// PayeeRef names a payee by alias. In requests only type and value are
// accepted; answers add the payee participant, and for the payee
// participant and the operator, the payee's account reference.
type PayeeRef struct {
	Type        string `json:"type"`
	Value       string `json:"value"`
	Participant string `json:"participant,omitempty"`
	Account     string `json:"account,omitempty"`
}

// NewQuote is the body of POST /v1/quotes.
type NewQuote struct {
	Payee    PayeeRef `json:"payee"`
	Amount   string   `json:"amount"`
	Currency string   `json:"currency"`
	// AmountType says, for a payee in another currency, which side
	// Amount fixes: "SEND" (the default: what the payer sends, in
	// Currency) or "RECEIVE" (what the payee gets, in its currency).
	AmountType string `json:"amountType,omitempty"`
	// PayerAccount is the paying user's reference, for the annual FX
	// quota: a quote over what remains of it is refused at once.
	PayerAccount string `json:"payerAccount,omitempty"`
}

// FX is the foreign exchange of a payment to a payee in another
// currency, as its quote fixed it: the payer sends SourceAmount (plus
// ProviderFee and the scheme fee) in SourceCurrency to Provider, who
// pays TargetAmount in TargetCurrency to the payee, at Rate (target per
// source). Rounding is the exact remainder, in target major units, that
// rounding in the payer's disfavour left to the provider.
type FX struct {
	Provider       string `json:"provider"`
	SourceAmount   string `json:"sourceAmount"`
	SourceCurrency string `json:"sourceCurrency"`
	TargetAmount   string `json:"targetAmount"`
	TargetCurrency string `json:"targetCurrency"`
	Rate           string `json:"rate"`
	ProviderFee    string `json:"providerFee"`
	AmountType     string `json:"amountType"`
	// Purpose is the payment's ISO 20022 purpose code (a transfer's; a
	// quote has none).
	Purpose  string `json:"purpose,omitempty"`
	Rounding string `json:"rounding"`
}

// Quote is a signed offer.
type Quote struct {
	ID        string    `json:"id"`
	Payee     PayeeRef  `json:"payee"`
	Amount    string    `json:"amount"`
	Fee       string    `json:"fee"`
	Currency  string    `json:"currency"`
	ExpiresAt time.Time `json:"expiresAt"`
	// FX is set for a payee in another currency: Amount and Currency are
	// what the payer sends, before fees; the payee gets FX.TargetAmount.
	FX *FX `json:"fx,omitempty"`
}

// NewTransfer is the body of POST /v1/transfers.
type NewTransfer struct {
	ID       string   `json:"id"`
	Payee    PayeeRef `json:"payee"`
	Amount   string   `json:"amount"`
	Currency string   `json:"currency"`
	QuoteID  string   `json:"quoteId,omitempty"`
	Note     string   `json:"note,omitempty"`
	// PayerAccount is the payer participant's own opaque reference of
	// the paying user, for risk control's per-account windows.
	PayerAccount string `json:"payerAccount,omitempty"`
	// Authentication says how the payer's wallet authenticated its user.
	Authentication *Authentication `json:"authentication,omitempty"`
	// Purpose is the ISO 20022 purpose code (SALA, GDDS, SUPP, FAMI, …),
	// required when the payee takes another currency.
	Purpose string `json:"purpose,omitempty"`
}

// Authentication is how a payer's wallet authenticated its user for a
// payment, as the wallet states it.
type Authentication struct {
	// Factors are among "pin", "password", "biometric", "otp", "device".
	Factors []string `json:"factors"`
}

// Transfer is a transfer.
type Transfer struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	Payer     string    `json:"payer"`
	Payee     PayeeRef  `json:"payee"`
	Amount    string    `json:"amount"`
	Fee       string    `json:"fee"`
	Currency  string    `json:"currency"`
	QuoteID   string    `json:"quoteId,omitempty"`
	Note      string    `json:"note,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// PayerAccount and Authentication are shown to the payer and the
	// operator only: they are the payer wallet's own records.
	PayerAccount   string          `json:"payerAccount,omitempty"`
	Authentication *Authentication `json:"authentication,omitempty"`
	// Refunded is what was paid back of a committed payment by refunds
	// and returns; shown when one transfer is read.
	Refunded string `json:"refunded,omitempty"`
	// FX is the exchange of a payment to a payee in another currency:
	// Amount and Currency are what the payer sent, FX.TargetAmount what
	// the payee got.
	FX *FX `json:"fx,omitempty"`
}

// NewRefund is the body of POST /v1/transfers/{id}/refunds.
type NewRefund struct {
	ID     string `json:"id"`
	Amount string `json:"amount"`
	Reason string `json:"reason,omitempty"`
}

// Transfers is a page of transfers; Next, when present, is the value of
// since for the next page.
type Transfers struct {
	Transfers []Transfer `json:"transfers"`
	Next      string     `json:"next,omitempty"`
}

// TransferBatch is the body of POST /v1/transfers:batch.
type TransferBatch struct {
	Transfers []NewTransfer `json:"transfers"`
}

// TransferBatchResult is the answer of POST /v1/transfers:batch: one
// result per transfer, in order, each with the status the single
// endpoint would have answered.
type TransferBatchResult struct {
	Results []TransferResult `json:"results"`
}

// TransferResult is one transfer's outcome in a batch.
type TransferResult struct {
	Status   int       `json:"status"`
	Transfer *Transfer `json:"transfer,omitempty"`
	Error    *Problem  `json:"error,omitempty"`
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Rule and Reason name the risk rule that declined a transfer
	// (type risk-declined) and its reason code.
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ProblemBase is the prefix of every problem type; the last path segment
// names the case.
const ProblemBase = "https://hulian.dev/problems/"

// SettlementWindow is a settlement window.
type SettlementWindow struct {
	ID       string    `json:"id"`
	Currency string    `json:"currency"`
	State    string    `json:"state"`
	OpenedAt time.Time `json:"openedAt"`
	ClosedAt time.Time `json:"closedAt,omitzero"`
	// Next is the window that opened when this one closed.
	Next string `json:"next,omitempty"`
}

// SettlementWindows is the answer of GET /v1/settlement-windows.
type SettlementWindows struct {
	Windows []SettlementWindow `json:"windows"`
}

// Position is a participant's multilateral net position in a window.
type Position struct {
	Participant string `json:"participant"`
	Sent        string `json:"sent"`
	Received    string `json:"received"`
	Fees        string `json:"fees"`
	Net         string `json:"net"`
	Transfers   int64  `json:"transfers"`
}

// Instruction is what the settlement bank does for one participant.
type Instruction struct {
	Participant string    `json:"participant"`
	Direction   string    `json:"direction"` // pay | receive
	Amount      string    `json:"amount"`
	Confirmed   bool      `json:"confirmed"`
	ConfirmedAt time.Time `json:"confirmedAt,omitzero"`
}

// SettlementReport is the answer of GET /v1/settlement-windows/{id}/report.
// The scheme-wide totals (HubFees, Transfers, Volume) are only in the
// operator's view.
type SettlementReport struct {
	Window       SettlementWindow `json:"window"`
	Positions    []Position       `json:"positions"`
	HubFees      string           `json:"hubFees,omitempty"`
	Transfers    *int64           `json:"transfers,omitempty"`
	Volume       string           `json:"volume,omitempty"`
	Instructions []Instruction    `json:"instructions"`
}

// Confirmation is the body of POST /v1/settlement-windows/{id}/confirmations.
type Confirmation struct {
	Participant string `json:"participant"`
	Amount      string `json:"amount,omitempty"`
}

// NewLiquidityThreshold is the body of
// PUT /v1/participants/{id}/liquidity/{currency}: warn when the available
// balance falls below Threshold ("0" turns the alert off).
type NewLiquidityThreshold struct {
	Currency  string `json:"currency,omitempty"` // if given, the path's
	Threshold string `json:"threshold"`
}

// LiquidityThreshold is a participant's threshold and whether its
// available balance is below it now.
type LiquidityThreshold struct {
	Currency  string `json:"currency,omitempty"`
	Threshold string `json:"threshold"`
	Below     bool   `json:"below"`
}

// LiquidityAlert is one crossing of a liquidity threshold.
type LiquidityAlert struct {
	Seq         int64     `json:"seq"`
	Participant string    `json:"participant"`
	Currency    string    `json:"currency"`
	Kind        string    `json:"kind"` // low | restored
	Available   string    `json:"available"`
	Threshold   string    `json:"threshold"`
	At          time.Time `json:"at"`
}

// LiquidityAlerts is the answer of GET /v1/liquidity-alerts; Next, when
// present, is the value of after for the next page.
type LiquidityAlerts struct {
	Alerts []LiquidityAlert `json:"alerts"`
	Next   string           `json:"next,omitempty"`
}

// Callback events.
const (
	// EventTransfersCommitted tells a payee participant that transfers to
	// it are committed: credit the users. At least once, in order.
	EventTransfersCommitted = "transfers.committed"
	// EventTransferConfirm asks a confirm-mode payee to accept or reject.
	EventTransferConfirm = "transfer.confirm"
	// EventLiquidityLow tells a participant its available balance fell
	// below its threshold; EventLiquidityRestored that it is back.
	EventLiquidityLow      = "liquidity.low"
	EventLiquidityRestored = "liquidity.restored"
)

// Callback is the body the switch POSTs to a participant's callbackUrl.
// A committed-notification carries Transfers (one or more, oldest
// first); a confirmation request carries Transfer.
type Callback struct {
	Event     string          `json:"event"`
	Transfer  *Transfer       `json:"transfer,omitempty"`
	Transfers []Transfer      `json:"transfers,omitempty"`
	Alert     *LiquidityAlert `json:"alert,omitempty"`
	Claim     *Claim          `json:"claim,omitempty"`
	// PaymentRequest is the request of the payment-request.* events.
	PaymentRequest *PaymentRequest `json:"paymentRequest,omitempty"`
	// Mandate is the mandate of the mandate.* events; Execution the
	// execution of mandate.executed and mandate.execution-failed.
	Mandate   *Mandate          `json:"mandate,omitempty"`
	Execution *MandateExecution `json:"execution,omitempty"`
	// Dispute is the dispute of the dispute.* events.
	Dispute *Dispute `json:"dispute,omitempty"`
}

// FXFee is an FX provider's fee: a fixed part in the source currency and
// basis points of the source amount.
type FXFee struct {
	Fixed string `json:"fixed,omitempty"`
	BPS   int64  `json:"bps,omitempty"`
}

// NewFXRate is the body of PUT /v1/fx/rates/{source}/{target}.
type NewFXRate struct {
	Rate       string    `json:"rate"`
	ValidUntil time.Time `json:"validUntil"`
	MinAmount  string    `json:"minAmount,omitempty"`
	MaxAmount  string    `json:"maxAmount,omitempty"`
	Fee        *FXFee    `json:"fee,omitempty"`
}

// FXRate is a published rate sheet; Provider is shown to the operator,
// the regulator and the provider itself.
type FXRate struct {
	Provider   string    `json:"provider,omitempty"`
	Source     string    `json:"source"`
	Target     string    `json:"target"`
	Rate       string    `json:"rate"`
	ValidUntil time.Time `json:"validUntil"`
	MinAmount  string    `json:"minAmount"`
	MaxAmount  string    `json:"maxAmount,omitempty"`
	Fee        FXFee     `json:"fee"`
}

// FXRates lists the valid rate sheets.
type FXRates struct {
	Rates []FXRate `json:"rates"`
}

// EventFXQuote asks an FX provider that quotes live for an offer on one
// exchange, answered synchronously (FXQuoteRequest, FXOffer).
const EventFXQuote = "fx.quote"

// FXQuoteRequest is the body of the fx.quote callback: the exchange and
// the amount of an FX quote being priced — Amount in Source when
// AmountType is SEND (what the payer sends), in Target when RECEIVE
// (what the payee gets) —, to be answered by ExpiresAt. It names no
// participant: the provider does not learn who pays whom.
type FXQuoteRequest struct {
	Event      string    `json:"event"`
	ID         string    `json:"id"`
	Source     string    `json:"source"`
	Target     string    `json:"target"`
	Amount     string    `json:"amount"`
	AmountType string    `json:"amountType"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// FXOffer is an FX provider's answer to the fx.quote callback: a rate
// sheet for that one request, with the members of NewFXRate. ID, when
// given, must be the request's: it binds a signed answer to its request,
// so that it cannot be replayed as the answer to another. Providers
// should send it.
type FXOffer struct {
	ID         string    `json:"id,omitempty"`
	Rate       string    `json:"rate"`
	ValidUntil time.Time `json:"validUntil"`
	MinAmount  string    `json:"minAmount,omitempty"`
	MaxAmount  string    `json:"maxAmount,omitempty"`
	Fee        *FXFee    `json:"fee,omitempty"`
}

// NewDispute is the body of POST /v1/disputes.
type NewDispute struct {
	TransferID string `json:"transferId"`
	Reason     string `json:"reason"`
	Detail     string `json:"detail,omitempty"`
}

// RejectDispute is the body of POST /v1/disputes/{id}/reject.
type RejectDispute struct {
	Reason string `json:"reason"`
}

// Dispute is a payer's dispute of a payment, as both sides see it.
type Dispute struct {
	ID           string        `json:"id"`
	TransferID   string        `json:"transferId"`
	Payer        string        `json:"payer"`
	Payee        string        `json:"payee"`
	Reason       string        `json:"reason"`
	Detail       string        `json:"detail,omitempty"`
	Amount       string        `json:"amount"`
	Currency     string        `json:"currency"`
	Held         string        `json:"held"`
	Refunded     string        `json:"refunded"`
	State        string        `json:"state"`
	DecidedBy    string        `json:"decidedBy,omitempty"`
	RejectReason string        `json:"rejectReason,omitempty"`
	RespondBy    time.Time     `json:"respondBy"`
	HoldUntil    time.Time     `json:"holdUntil"`
	CreatedAt    time.Time     `json:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt"`
	Holds        []DisputeHold `json:"holds,omitempty"`
}

// DisputeHold is one reservation a dispute holds on the payee.
type DisputeHold struct {
	ID        string    `json:"id"`
	Amount    string    `json:"amount"`
	State     string    `json:"state"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Disputes is a page of disputes; Next, when present, is the value of
// since for the next page.
type Disputes struct {
	Disputes []Dispute `json:"disputes"`
	Next     string    `json:"next,omitempty"`
}

// MandateSchedule asks the switch to execute a mandate itself.
type MandateSchedule struct {
	Month  int    `json:"month,omitempty"`
	Day    int    `json:"day,omitempty"`
	Amount string `json:"amount"`
}

// NewMandate is the body of POST /v1/mandates.
type NewMandate struct {
	ID          string           `json:"id"`
	Payer       PayeeRef         `json:"payer"`
	MaxAmount   string           `json:"maxAmount"`
	Currency    string           `json:"currency"`
	Frequency   string           `json:"frequency"`
	ValidFrom   time.Time        `json:"validFrom"`
	ValidUntil  time.Time        `json:"validUntil"`
	Description string           `json:"description,omitempty"`
	Condition   string           `json:"condition,omitempty"`
	Schedule    *MandateSchedule `json:"schedule,omitempty"`
}

// Mandate is a mandate as its biller and payer see it.
type Mandate struct {
	ID          string           `json:"id"`
	Biller      string           `json:"biller"`
	Payer       PayeeRef         `json:"payer"`
	MaxAmount   string           `json:"maxAmount"`
	Currency    string           `json:"currency"`
	Frequency   string           `json:"frequency"`
	ValidFrom   time.Time        `json:"validFrom"`
	ValidUntil  time.Time        `json:"validUntil"`
	Description string           `json:"description,omitempty"`
	Condition   string           `json:"condition,omitempty"`
	Schedule    *MandateSchedule `json:"schedule,omitempty"`
	State       string           `json:"state"`
	// NextExecution is a scheduled mandate's next execution.
	NextExecution time.Time `json:"nextExecution,omitzero"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Mandates is a page of mandates; Next, when present, is the value of
// since for the next page.
type Mandates struct {
	Mandates []Mandate `json:"mandates"`
	Next     string    `json:"next,omitempty"`
}

// NewMandateExecution is the body of POST /v1/mandates/{id}/executions.
type NewMandateExecution struct {
	ID        string `json:"id"`
	Amount    string `json:"amount"`
	Reference string `json:"reference,omitempty"`
}

// MandateExecution is one pull of a mandate: its transfer.
type MandateExecution struct {
	ID          string    `json:"id"`
	Mandate     string    `json:"mandate"`
	Amount      string    `json:"amount"`
	Currency    string    `json:"currency"`
	Reference   string    `json:"reference,omitempty"`
	PeriodStart time.Time `json:"periodStart"`
	Scheduled   bool      `json:"scheduled"`
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// MandateExecutions lists a mandate's executions, newest first.
type MandateExecutions struct {
	Executions []MandateExecution `json:"executions"`
}

// NewPaymentRequest is the body of POST /v1/payment-requests.
type NewPaymentRequest struct {
	ID        string    `json:"id"`
	Payer     PayeeRef  `json:"payer"`
	Amount    string    `json:"amount"`
	Currency  string    `json:"currency"`
	Message   string    `json:"message,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// PaymentRequest is a request to pay, as its payee and payer see it.
type PaymentRequest struct {
	ID string `json:"id"`
	// Payee is the requesting participant; Payer the payer's alias and
	// its participant.
	Payee      string    `json:"payee"`
	Payer      PayeeRef  `json:"payer"`
	Amount     string    `json:"amount"`
	Currency   string    `json:"currency"`
	Message    string    `json:"message,omitempty"`
	ExpiresAt  time.Time `json:"expiresAt"`
	State      string    `json:"state"`
	TransferID string    `json:"transferId,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// PaymentRequests is a page of payment requests; Next, when present, is
// the value of since for the next page.
type PaymentRequests struct {
	PaymentRequests []PaymentRequest `json:"paymentRequests"`
	Next            string           `json:"next,omitempty"`
}

// AcceptPaymentRequest is the body of POST /v1/payment-requests/{id}/accept.
type AcceptPaymentRequest struct {
	TransferID string `json:"transferId"`
}

// DeclinePaymentRequest is the body of POST /v1/payment-requests/{id}/decline.
type DeclinePaymentRequest struct {
	Reason string `json:"reason,omitempty"`
}

// Decision is a confirm-mode payee's answer to EventTransferConfirm.
type Decision struct {
	Decision string `json:"decision"` // accept | reject
	Reason   string `json:"reason,omitempty"`
	// TransferID, when given, must be the id of the transfer asked
	// about: it binds a signed answer to its request, so that it cannot
	// be replayed as the answer to another. Payees should send it.
	TransferID string `json:"transferId,omitempty"`
}

// SignatureHeader carries a callback's signatures:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under a callback
// secret>", with one v1= per secret valid at t (two during a rotation's
// grace period). A confirm-mode payee signs its answer the same way.
const SignatureHeader = "Hulian-Signature"

// AuditProof is the answer of GET /v1/audit/transfers/{id}/proof: the
// transfer's leaf (its payment event in the canonical encoding of
// docs/formats.md, base64), its index in the audit log, and the proof
// that it is in the tree of TreeSize leaves whose root the signed
// Checkpoint note gives. With golang.org/x/mod/sumdb/tlog:
// CheckRecord(Proof, TreeSize, root, Index, RecordHash(leaf)) == nil.
// Hashes are standard base64.
type AuditProof struct {
	Leaf       string   `json:"leaf"`
	Index      int64    `json:"index"`
	TreeSize   int64    `json:"treeSize"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

// AuditConsistency is the answer of GET /v1/audit/consistency: the proof
// that the tree of From leaves is a prefix of the tree of To leaves
// (tlog.ProveTree(To, From); check it with tlog.CheckTree).
type AuditConsistency struct {
	From  int64    `json:"from"`
	To    int64    `json:"to"`
	Proof []string `json:"proof"`
}

// AuditLeaves is the answer of GET /v1/audit/leaves: leaves Start to
// End-1, base64.
type AuditLeaves struct {
	Start  int64    `json:"start"`
	End    int64    `json:"end"`
	Leaves []string `json:"leaves"`
}

// Witness is the body and answer of POST /v1/audit/witnesses: a witness
// name and its note verifier key (name+hash+key).
type Witness struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Cosigned is the answer of POST /v1/audit/cosignatures.
type Cosigned struct {
	TreeSize int64 `json:"treeSize"`
	Added    int   `json:"added"`
}

// EndUserHeader optionally names, on a lookup, the participant's end
// user it looks up for (an opaque id, 1 to 128 printable ASCII
// characters): each end user has a budget of lookups that find nothing.
const EndUserHeader = "Hulian-End-User"

// OperatorAlert is an alert for the operator and the regulator. Kind
// "lookup-scraping": the participant's lookups missed so often that they
// look like a scan of the directory; Detail says how often.
type OperatorAlert struct {
	ID          string              `json:"id"`
	Kind        string              `json:"kind"`
	Participant string              `json:"participant"`
	RaisedAt    time.Time           `json:"raisedAt"`
	Detail      OperatorAlertDetail `json:"detail"`
}

// OperatorAlertDetail is what a lookup-scraping alert measured: of the
// last Lookups lookups of the participant, Found found an alias and
// NotFound did not (Ratio = NotFound / Lookups).
type OperatorAlertDetail struct {
	Lookups  int64   `json:"lookups"`
	Found    int64   `json:"found"`
	NotFound int64   `json:"notFound"`
	Ratio    float64 `json:"ratio"`
}

// OperatorAlerts is the answer of GET /v1/operator-alerts, newest first;
// Next, when present, is the value of before for the next page.
type OperatorAlerts struct {
	Alerts []OperatorAlert `json:"alerts"`
	Next   string          `json:"next,omitempty"`
}

// LookupStat is a participant's lookups since the switch started.
type LookupStat struct {
	Participant string `json:"participant"`
	Found       int64  `json:"found"`
	NotFound    int64  `json:"notFound"`
}

// LookupStats is the answer of GET /v1/directory/lookup-stats.
type LookupStats struct {
	Participants []LookupStat `json:"participants"`
}

// EventPartyClaim tells an alias's owner that another participant claims
// it (portability): answer POST /v1/claims/{id}/confirm or /cancel before
// expiresAt, or the alias moves when it passes. At least once.
const EventPartyClaim = "party.claim"

// NewClaim is the body of POST /v1/parties/{type}/{value}/claims: the
// claimant's name and account for the end user, as in NewParty. Currency
// is optional: the alias's current currency.
type NewClaim struct {
	Account  string `json:"account"`
	Name     string `json:"name"`
	Currency string `json:"currency,omitempty"`
}

// Claim is a portability claim: the alias, who claims it (claimant) from
// whom (owner), its status (pending, confirmed, cancelled, expired,
// failed) and deadline. Moved tells that the alias moved to the
// claimant; Reason, for a failed claim, the problem type's name of why
// it could not move.
type Claim struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Value     string    `json:"value"`
	Claimant  string    `json:"claimant"`
	Owner     string    `json:"owner"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Moved     bool      `json:"moved,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
}

// PartyRemoval is the body of DELETE /v1/parties/{type}/{value} from the
// operator: why the alias is removed (1 to 200 characters).
type PartyRemoval struct {
	Reason string `json:"reason"`
}

// Claims is a page of GET /v1/claims, newest first; next, when present,
// is the ?after= of the next page.
type Claims struct {
	Claims []Claim `json:"claims"`
	Next   string  `json:"next,omitempty"`
}

// Reconciliation is the answer of POST /v1/reconciliations and GET
// /v1/reconciliations/{id}: what matched, and the breaks (at most the
// first 10,000; byKind counts all of them).
type Reconciliation struct {
	ID                 string                `json:"id"`
	Participant        string                `json:"participant"`
	Currency           string                `json:"currency"`
	From               time.Time             `json:"from"`
	To                 time.Time             `json:"to"`
	SwitchRecords      int64                 `json:"switchRecords"`
	ParticipantRecords int64                 `json:"participantRecords"`
	Matched            int64                 `json:"matched"`
	BreakCount         int64                 `json:"breakCount"`
	ByKind             map[string]int64      `json:"byKind"`
	Breaks             []ReconciliationBreak `json:"breaks"`
	CreatedAt          time.Time             `json:"createdAt"`
}

// ReconciliationBreak is one disagreement: kind is missing-at-switch,
// missing-at-participant, amount-mismatch, direction-mismatch or
// status-mismatch; a side without the transfer is absent.
type ReconciliationBreak struct {
	TransferID  string                `json:"transferId"`
	Kind        string                `json:"kind"`
	Switch      *ReconciliationRecord `json:"switch,omitempty"`
	Participant *ReconciliationRecord `json:"participant,omitempty"`
}

// ReconciliationRecord is one side's account of a transfer: the amount
// in the reconciliation's currency, debit or credit from the
// participant's point of view, COMMITTED or ABORTED.
type ReconciliationRecord struct {
	Amount    string `json:"amount"`
	Direction string `json:"direction"`
	Status    string `json:"status"`
}

// Statement is the answer of GET /v1/participants/{id}/statements in
// JSON: the participant's settlement account on a day of the scheme's
// time zone, its booked balances at the day's start and end and every
// booked movement in between. Closing = opening + credits − debits.
type Statement struct {
	Participant string           `json:"participant"`
	Currency    string           `json:"currency"`
	Date        string           `json:"date"`
	Opening     string           `json:"opening"`
	Closing     string           `json:"closing"`
	Entries     []StatementEntry `json:"entries"`
	// Page is the page's number, from 1; LastPage says none follows. A
	// page's opening and closing are the balances around its entries.
	Page     int  `json:"page"`
	LastPage bool `json:"lastPage"`
}

// StatementEntry is one booked movement: kind payment, fee, deposit,
// withdrawal, settlement or other; ref the transfer id (a fee's is its
// payment's), the deposit's or withdrawal's id, or the settlement's
// window and participant.
type StatementEntry struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Ref       string    `json:"ref"`
	Amount    string    `json:"amount"`
	Direction string    `json:"direction"`
}

// NewSchemeRoute is the body of PUT /v1/routes/{aliasType}/{prefix}: the
// scheme link (a participant of kind scheme) that the aliases starting
// with prefix are paid through, and the currency they are paid in (the
// link's first currency when omitted).
type NewSchemeRoute struct {
	Participant string `json:"participant"`
	Currency    string `json:"currency,omitempty"`
}

// SchemeRoute is a route of alias prefixes to a scheme link.
type SchemeRoute struct {
	AliasType   string    `json:"aliasType"`
	Prefix      string    `json:"prefix"`
	Participant string    `json:"participant"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// SchemeRoutes is the answer to GET /v1/routes.
type SchemeRoutes struct {
	Routes []SchemeRoute `json:"routes"`
}

// CrossBorderPayment is one row of the cross-border report: an FX
// payment committed, with both sides.
type CrossBorderPayment struct {
	CommittedAt  time.Time `json:"committedAt"`
	TransferID   string    `json:"transferId"`
	Payer        string    `json:"payer"`
	Payee        string    `json:"payee"`
	PayerAccount string    `json:"payerAccount,omitempty"`
	FX           FX        `json:"fx"`
	SchemeFee    string    `json:"schemeFee"`
}

// CrossBorderReport is a page of the cross-border report; Next, when
// present, is the value of after for the next page.
type CrossBorderReport struct {
	From      time.Time            `json:"from"`
	To        time.Time            `json:"to"`
	Transfers []CrossBorderPayment `json:"transfers"`
	Next      string               `json:"next,omitempty"`
}

// Cluster describes the switch's nodes (GET /v1/cluster): a single
// switch, or the nodes of a cluster sharing one PostgreSQL database, one
// of which leads.
type Cluster struct {
	// Mode is "single" (one switch process) or "cluster".
	Mode string `json:"mode"`
	// Node is the node that answered.
	Node string `json:"node"`
	// Leader is the lease's holder; empty when the lease has lapsed.
	Leader string `json:"leader"`
	// LeaderAddr is where the leader takes requests (host:port).
	LeaderAddr string `json:"leaderAddr,omitempty"`
	// Epoch is the lease's epoch: it grows at every change of leader.
	Epoch int64 `json:"epoch"`
	// LeaseExpiresInMs is how long the lease runs unless renewed, in
	// milliseconds; negative once it has lapsed.
	LeaseExpiresInMs int64 `json:"leaseExpiresInMs"`
	// Nodes are the nodes that reported, sorted by id.
	Nodes []ClusterNode `json:"nodes"`
}

// ClusterNode is one node of a cluster and how far behind the leader it
// is.
type ClusterNode struct {
	Node string `json:"node"`
	Addr string `json:"addr"`
	// Role is "leader", "follower" or "starting".
	Role string `json:"role"`
	// AppliedSeq is the last ledger batch the node applied.
	AppliedSeq uint64 `json:"appliedSeq"`
	// LagBatches is how many batches it is behind the leader.
	LagBatches uint64 `json:"lagBatches"`
	// SeenMsAgo is how long ago, in milliseconds, it last reported.
	SeenMsAgo int64 `json:"seenMsAgo"`
	// Alive says it reported within three lease lifetimes.
	Alive bool `json:"alive"`
}
