package api

import (
	"errors"
	"net/http"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/wire"
)

// kind is a problem type: its HTTP status, the last segment of its type
// URI, and a title. Every refusal of the API is one of these.
type kind struct {
	status int
	name   string
	title  string
}

// The problem types. Their names are a contract: clients branch on them.
// A core error's fault code names its problem type, and its fault kind
// gives the status (statusOf); the HTTP layer's own refusals (method,
// media type, size, rate) are the API's alone.
var (
	probInvalid      = kind{400, "invalid-request", "The request is malformed or invalid"}
	probUnauthorized = kind{401, "unauthorized", "Missing or invalid credentials"}
	probForbidden    = kind{403, "forbidden", "Not allowed for these credentials"}
	probNotFound     = kind{404, "not-found", "No such resource"}
	probUnknownParty = kind{404, "unknown-party", "No such alias is registered"}
	probUnknownPayee = kind{422, "unknown-party", "The payee alias is not registered"}
	probMethod       = kind{405, "method-not-allowed", "Method not allowed"}
	probConflict     = kind{409, "duplicate-conflict", "Conflicts with an existing resource"}
	probTooLarge     = kind{413, "payload-too-large", "The request body is too large"}
	probMediaType    = kind{415, "unsupported-media-type", "The body must be application/json"}
	probInsufficient = kind{422, "insufficient-funds", "The payer's available balance does not cover amount and fee"}
	probSuspended    = kind{422, "participant-suspended", "A participant of the transfer is suspended"}
	// probSuspendedAccess refuses a suspended participant's own request.
	probSuspendedAccess = kind{403, "participant-suspended", "The participant is suspended"}
	probClosed          = kind{409, "participant-closed", "The participant is closed"}
	probBalanceNotZero  = kind{409, "balance-not-zero", "The participant's balances are not all zero"}
	probCurrency        = kind{422, "currency-not-enabled", "The currency is not enabled for a participant of the transfer"}
	probSame            = kind{422, "same-participant", "Payer and payee are the same participant"}
	probQuoteExpired    = kind{422, "quote-expired", "The quote has expired"}
	probQuoteMismatch   = kind{422, "quote-mismatch", "The quote does not match the transfer"}
	probLimitPosition   = kind{422, "limit-below-position", "The participant's position exceeds the requested net debit cap"}
	probRateLimited     = kind{429, "rate-limited", "Too many requests"}
	probWindowOpen      = kind{409, "window-open", "The settlement window is still open"}
	probAliasQuota      = kind{409, "alias-quota-exceeded", "The account has as many aliases as it may"}
	probSettleAmount    = kind{422, "settlement-amount-mismatch", "The amount is not the settlement instruction's"}
	probInvalidRule     = kind{400, "invalid-rule", "The risk rule does not compile or does not yield a bool"}
	probRiskDeclined    = kind{422, "risk-declined", "Declined by a risk rule"}
	probAlertClosed     = kind{409, "alert-closed", "The alert is decided already"}
	probNotCommitted    = kind{409, "transfer-not-committed", "Only a committed transfer can be reported"}
	probRiskLimit       = kind{409, "risk-limit", "A risk control limit would be exceeded"}
	probTransferHeld    = kind{409, "transfer-held", "The transfer is held for risk review"}
	probNotHeld         = kind{409, "transfer-not-held", "The transfer is not held for risk review"}
	probStatementLarge  = kind{422, "statement-too-large", "Too many movements for one statement"}
	probRefundExceeds   = kind{422, "refund-exceeds-original", "Refunds and returns would pay back more than the payment"}
	probNotReturnable   = kind{422, "not-returnable", "Only a committed payment, not itself a refund or return, can be paid back"}
	probRequestState    = kind{409, "payment-request-not-pending", "The payment request is paid, declined, expired or being paid"}
	probRequestExpired  = kind{422, "payment-request-expired", "The payment request has expired"}
	probRequestLimit    = kind{409, "payment-request-limit", "Too many payment requests are pending for this payer"}
	probPaymentAborted  = kind{422, "payment-aborted", "The payment was aborted by its payee; the request is pending again"}
	probInvalidQR       = kind{400, "invalid-qr", "The QR payload is malformed, fails its CRC, or is not of this scheme"}
	probAmountMismatch  = kind{422, "amount-mismatch", "The amount is not the dynamic QR code's"}
	probQRExpired       = kind{422, "qr-expired", "The dynamic QR code has expired"}
	probQRPaid          = kind{409, "qr-already-paid", "The dynamic QR code was paid already"}
	probMandateInactive = kind{422, "mandate-not-active", "The mandate is not active, or not valid now"}
	probMandateLimit    = kind{422, "mandate-limit-exceeded", "The execution is above the mandate's limits"}
	probMandateCond     = kind{422, "mandate-condition-failed", "The mandate's condition does not hold for this execution"}
	probMandateState    = kind{409, "mandate-state", "The mandate is not in a state that allows this"}
	probMandatesMax     = kind{409, "mandate-limit", "Too many mandates for this payer"}
	probInvalidCond     = kind{400, "invalid-condition", "The mandate's condition does not compile or does not yield a bool"}
	probDisputeClosed   = kind{409, "dispute-closed", "The dispute is decided already"}
	probDisputeOpen     = kind{409, "dispute-open", "The payment has a dispute open"}
	probDisputeLate     = kind{422, "dispute-window-passed", "The payment is older than the dispute period"}
	probNotDisputable   = kind{422, "not-disputable", "Only a committed payment can be disputed"}
	probPaidBack        = kind{422, "already-paid-back", "All of the payment was paid back already"}
	probFXSheets        = kind{409, "fx-sheets-limit", "The provider keeps as many rate sheets as it may"}
	probDisputeLimit    = kind{409, "dispute-limit", "The payment was disputed as many times as it may be"}
	probFXQuoteRequired = kind{422, "fx-quote-required", "The payee takes another currency: pay with an FX quote"}
	probFXPurpose       = kind{422, "fx-purpose-required", "A payment purpose code is required when the currencies differ"}
	probFXLiquidity     = kind{422, "fx-provider-insufficient-funds", "The FX provider cannot deliver the target currency now"}
	probQuoteUsed       = kind{422, "quote-used", "The FX quote was used by another payment"}
	probFXUnavailable   = kind{422, "fx-unavailable", "No FX provider offers this exchange now"}
	probFXQuota         = kind{422, "fx-quota-exceeded", "The payment exceeds the payer account's annual FX quota"}
	probFXNoValuation   = kind{422, "fx-no-rate", "No valid rate sheet values the payment in the quota's currency"}
	probInternal        = kind{500, "internal", "Internal error"}
	probUnavailable     = kind{503, "unavailable", "The switch is not able to take requests now"}
	probNotLeader       = kind{503, "not-leader", "This node does not lead the cluster now: try again"}
)

// statusName keys problem types by status and name.
type statusName struct {
	status int
	name   string
}

// faultKinds are the problem types that core errors become.
var faultKinds = func() map[statusName]kind {
	m := map[statusName]kind{}
	for _, k := range []kind{probInvalid, probUnauthorized, probForbidden, probNotFound, probUnknownParty, probUnknownPayee,
		probConflict, probInsufficient, probSuspended, probCurrency, probSame, probQuoteExpired, probQuoteMismatch,
		probLimitPosition, probWindowOpen, probAliasQuota, probClosed, probBalanceNotZero, probSettleAmount, probInternal, probUnavailable,
		probInvalidRule, probRiskDeclined, probAlertClosed, probNotCommitted, probRiskLimit, probTransferHeld, probNotHeld,
		probStatementLarge, probRefundExceeds, probNotReturnable, probRequestState, probRequestExpired, probRequestLimit, probPaymentAborted,
		probInvalidQR, probAmountMismatch, probQRExpired, probQRPaid,
		probMandateInactive, probMandateLimit, probMandateCond, probMandateState, probMandatesMax, probInvalidCond,
		probDisputeClosed, probDisputeOpen, probDisputeLate, probNotDisputable, probPaidBack, probFXSheets, probDisputeLimit,
		probFXQuoteRequired, probFXPurpose, probFXLiquidity, probQuoteUsed, probFXUnavailable, probFXQuota, probFXNoValuation, probNotLeader} {
		m[statusName{k.status, k.name}] = k
	}
	return m
}()

// statusOf is the HTTP status of each fault kind: the one place the JSON
// API maps the core's kinds.
var statusOf = [...]int{
	fault.Internal:     http.StatusInternalServerError,
	fault.Invalid:      http.StatusBadRequest,
	fault.Unauthorized: http.StatusUnauthorized,
	fault.Forbidden:    http.StatusForbidden,
	fault.NotFound:     http.StatusNotFound,
	fault.Conflict:     http.StatusConflict,
	fault.Refused:      http.StatusUnprocessableEntity,
	fault.Unavailable:  http.StatusServiceUnavailable,
}

// kindOf returns the problem type of err: the one its fault code names,
// with the status of its fault kind. A code the API has no problem type
// for yet keeps its name, with the kind's status and a generic title; an
// error of no fault kind is internal.
func kindOf(err error) kind {
	e := fault.Of(err)
	if e == nil || e.Kind() == fault.Internal {
		return probInternal
	}
	status := statusOf[e.Kind()]
	if k, ok := faultKinds[statusName{status, e.Code()}]; ok {
		return k
	}
	return kind{status, e.Code(), http.StatusText(status)}
}

// problemOf builds the problem document for an error. Internal errors
// keep their detail out of the answer: it may name files or hosts.
func problemOf(k kind, detail string) wire.Problem {
	p := wire.Problem{Type: wire.ProblemBase + k.name, Title: k.title, Status: k.status, Detail: detail}
	if k.status >= 500 {
		p.Detail = ""
	}
	return p
}

// declined is an error of a risk rule's refusal, which names the rule
// and its reason code in the problem.
type declined interface {
	Declined() (rule, reason string)
}

// problemFor builds the problem document for err, with the rule and
// reason of a risk rule's refusal.
func problemFor(err error) wire.Problem {
	p := problemOf(kindOf(err), err.Error())
	var d declined
	if errors.As(err, &d) {
		p.Rule, p.Reason = d.Declined()
	}
	return p
}

// writeProblem answers with an RFC 9457 problem document.
func writeProblem(w http.ResponseWriter, k kind, detail string) {
	writeProblemDoc(w, problemOf(k, detail))
}

// writeProblemDoc answers with the problem document p.
func writeProblemDoc(w http.ResponseWriter, p wire.Problem) {
	k := kind{status: p.Status}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if k.status == http.StatusServiceUnavailable {
		// A new leader takes over within seconds; other outages last.
		retry := "5"
		if p.Type == wire.ProblemBase+probNotLeader.name {
			retry = "1"
		}
		w.Header().Set("Retry-After", retry)
	}
	w.WriteHeader(k.status)
	w.Write(b)
}

// writeError answers with the problem type of err.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "err", err)
	}
	writeProblemDoc(w, p)
}

// WriteNotLeader answers a request that a cluster node cannot take now,
// because the cluster's leader is changing or not reachable: 503
// not-leader, to be tried again after a second with the same ids.
func WriteNotLeader(w http.ResponseWriter, detail string) {
	writeProblem(w, probNotLeader, detail)
}
