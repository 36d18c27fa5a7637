package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// Problem types a participant branches on: the last segment of a problem
// document's type URI (wire.ProblemBase + kind). The list is the API's
// contract; a client must treat a kind it does not know by its HTTP
// status.
const (
	ProblemInvalidRequest       = "invalid-request"
	ProblemUnauthorized         = "unauthorized"
	ProblemForbidden            = "forbidden"
	ProblemNotFound             = "not-found"
	ProblemUnknownParty         = "unknown-party"
	ProblemDuplicateConflict    = "duplicate-conflict"
	ProblemInsufficientFunds    = "insufficient-funds"
	ProblemParticipantSuspended = "participant-suspended"
	ProblemCurrencyNotEnabled   = "currency-not-enabled"
	ProblemSameParticipant      = "same-participant"
	ProblemQuoteExpired         = "quote-expired"
	ProblemQuoteMismatch        = "quote-mismatch"
	ProblemRateLimited          = "rate-limited"
	ProblemUnavailable          = "unavailable"
	ProblemInternal             = "internal"
	// The refusals of the payment experiences: a dynamic QR code paid
	// already, a payment request's payment aborted by its payee (the
	// request is pending again), a request no longer pending, refunds
	// beyond the payment.
	ProblemQRAlreadyPaid        = "qr-already-paid"
	ProblemPaymentAborted       = "payment-aborted"
	ProblemRequestNotPending    = "payment-request-not-pending"
	ProblemRefundExceedsPayment = "refund-exceeds-original"
	// The refusals of mandates and disputes: an action the mandate's
	// state does not allow, a pull beyond its terms, too many mandates
	// for a payer alias; a dispute decided the other way already.
	ProblemMandateState     = "mandate-state"
	ProblemMandateNotActive = "mandate-not-active"
	ProblemMandateLimit     = "mandate-limit-exceeded"
	ProblemMandatesMax      = "mandate-limit"
	ProblemDisputeClosed    = "dispute-closed"
	// The refusals of cross-border payments: no provider's sheet offers
	// the exchange now, an FX quote used by another payment already, the
	// provider short of the target currency (nothing moved: ask for a new
	// quote), a purpose code missing, a payment to a payee in another
	// currency without an FX quote.
	ProblemFXUnavailable     = "fx-unavailable"
	ProblemQuoteUsed         = "quote-used"
	ProblemFXLiquidity       = "fx-provider-insufficient-funds"
	ProblemFXPurposeRequired = "fx-purpose-required"
	ProblemFXQuoteRequired   = "fx-quote-required"
)

// Error is a refusal by the switch: the HTTP status and the RFC 9457
// problem document it sent. Branch on Kind (or IsProblem), never on the
// title or detail, which are for people.
type Error struct {
	Method, Path string
	Status       int
	Problem      wire.Problem
	// RetryAfter is the Retry-After of a 429 or 503 answer, if any.
	RetryAfter time.Duration
}

// Error says what was asked and why it was refused.
func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Kind())
	if e.Problem.Detail != "" {
		msg += ": " + e.Problem.Detail
	}
	return msg
}

// Kind returns the problem type's last path segment, such as
// "insufficient-funds".
func (e *Error) Kind() string {
	t := e.Problem.Type
	if i := strings.LastIndexByte(t, '/'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// Temporary reports whether the same request may succeed later
// unchanged: rate limited, unavailable or a server error. Retrying a
// transfer is safe because its id makes it idempotent.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// ProblemKind returns the problem kind of err if it is (or wraps) an
// *Error, else "".
func ProblemKind(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind()
	}
	return ""
}

// IsProblem reports whether err is a refusal of the given kind.
func IsProblem(err error, kind string) bool { return err != nil && ProblemKind(err) == kind }

// Definite reports whether err is the switch's answer that the request
// cannot succeed as it is: an *Error that is not Temporary. Anything
// else (no answer, a 429, a 5xx) may succeed if tried again, and may
// even have been carried out: a caller that retries asks again with the
// same id.
func Definite(err error) bool {
	var e *Error
	return errors.As(err, &e) && !e.Temporary()
}

// Client calls the switch's API v1 with one bearer token: a
// participant's API key, or the operator's token. It is safe for
// concurrent use. It does not retry: whether a retry is safe depends on
// the call, and the caller knows (transfers are idempotent by id; see
// Participant.Pay).
type Client struct {
	// BaseURL is the switch's URL, such as "https://switch.example:8080".
	BaseURL string
	// Token is the bearer token.
	Token string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Timeout bounds each call, reading the answer included; 0 leaves
	// it to the caller's context.
	Timeout time.Duration
	// AnswerMax bounds what is read of one answer, in bytes; 0 means
	// 16 MiB, enough for a page of 1,000 transfers. A longer answer is
	// cut short, and so fails to decode.
	AnswerMax int64
}

// NewClient returns a client of the switch at baseURL.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: hc}
}

// NewHTTPClient returns an HTTP client suited to many concurrent calls
// to one switch: it keeps enough idle connections per host that a burst
// does not open (and leave in TIME_WAIT) a new connection per request.
func NewHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = max(conns, 100)
	tr.MaxIdleConnsPerHost = max(conns, 16)
	return &http.Client{Transport: tr}
}

// answerMax is the default AnswerMax: a page of 1,000 transfers is well
// under it.
const answerMax = 16 << 20

// do sends one request and decodes a 2xx answer into out (if not nil);
// any other answer becomes an *Error. It returns the status.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, withoutURL(err))
	}
	defer resp.Body.Close()
	limit := c.AnswerMax
	if limit <= 0 {
		limit = answerMax
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Method: method, Path: path, Status: resp.StatusCode}
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/problem+json" || mt == "application/json" {
			_ = json.Unmarshal(b, &e.Problem)
		}
		if e.Problem.Type == "" {
			// Not a problem document (a proxy's error page): keep the
			// status, which is all that is known.
			e.Problem = wire.Problem{Type: "about:blank", Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode}
		}
		// The answer's status is the one that counts (RFC 9457 3.1.2):
		// whoever passes the problem on answers with it.
		e.Problem.Status = resp.StatusCode
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, e
	}
	if out != nil && len(b) > 0 {
		// Unknown members are ignored: the switch may add fields to an
		// answer without a new API version.
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// withoutURL drops the URL net/http names in its errors: the method
// and path are named already, and the errors may be logged.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func esc(s string) string { return url.PathEscape(s) }

// Operator calls.

// Windows lists settlement windows, optionally of one currency and state.
func (c *Client) Windows(ctx context.Context, currency, state string) ([]wire.SettlementWindow, error) {
	q := url.Values{}
	if currency != "" {
		q.Set("currency", currency)
	}
	if state != "" {
		q.Set("state", state)
	}
	var out wire.SettlementWindows
	_, err := c.do(ctx, http.MethodGet, "/v1/settlement-windows?"+q.Encode(), nil, &out)
	return out.Windows, err
}

// CloseWindow closes a settlement window (operator); the next one opens
// at once.
func (c *Client) CloseWindow(ctx context.Context, id string) (wire.SettlementWindow, error) {
	var out wire.SettlementWindow
	_, err := c.do(ctx, http.MethodPost, "/v1/settlement-windows/"+esc(id)+"/close", nil, &out)
	return out, err
}

// SettlementReport returns a closed window's report.
func (c *Client) SettlementReport(ctx context.Context, id string) (wire.SettlementReport, error) {
	var out wire.SettlementReport
	_, err := c.do(ctx, http.MethodGet, "/v1/settlement-windows/"+esc(id)+"/report", nil, &out)
	return out, err
}

// ConfirmSettlement records that the settlement bank carried out a
// participant's instruction (operator); repeating it changes nothing.
func (c *Client) ConfirmSettlement(ctx context.Context, window, participant string) (wire.Instruction, error) {
	var out wire.Instruction
	_, err := c.do(ctx, http.MethodPost, "/v1/settlement-windows/"+esc(window)+"/confirmations", wire.Confirmation{Participant: participant}, &out)
	return out, err
}

// CreateParticipant onboards a participant (operator). The answer holds
// its API key and callback secret, once: store them.
func (c *Client) CreateParticipant(ctx context.Context, p wire.NewParticipant) (wire.Participant, error) {
	var out wire.Participant
	_, err := c.do(ctx, http.MethodPost, "/v1/participants", p, &out)
	return out, err
}

// Participants lists the participants (operator).
func (c *Client) Participants(ctx context.Context) ([]wire.Participant, error) {
	var out wire.Participants
	_, err := c.do(ctx, http.MethodGet, "/v1/participants", nil, &out)
	return out.Participants, err
}

// Participant returns one participant (the operator, or itself).
func (c *Client) Participant(ctx context.Context, id string) (wire.Participant, error) {
	var out wire.Participant
	_, err := c.do(ctx, http.MethodGet, "/v1/participants/"+esc(id), nil, &out)
	return out, err
}

// UpdateParticipant changes a participant's callback URL or acceptance
// mode (the operator, or itself).
func (c *Client) UpdateParticipant(ctx context.Context, id string, patch wire.ParticipantPatch) (wire.Participant, error) {
	var out wire.Participant
	_, err := c.do(ctx, http.MethodPatch, "/v1/participants/"+esc(id), patch, &out)
	return out, err
}

// MoveFunds records a deposit or withdrawal of a participant (operator).
// Give f an ID: a retry with the same id is answered with the first
// movement, never made twice.
func (c *Client) MoveFunds(ctx context.Context, participant string, f wire.Funds) (wire.Funds, error) {
	var out wire.Funds
	_, err := c.do(ctx, http.MethodPost, "/v1/participants/"+esc(participant)+"/funds", f, &out)
	return out, err
}

// SetNetDebitCap sets how far below zero a participant's position in
// currency may go (operator).
func (c *Client) SetNetDebitCap(ctx context.Context, participant, currency, netDebitCap string) (wire.Limit, error) {
	var out wire.Limit
	_, err := c.do(ctx, http.MethodPut, "/v1/participants/"+esc(participant)+"/limits/"+esc(currency),
		wire.Limit{Currency: currency, NetDebitCap: netDebitCap}, &out)
	return out, err
}

// SetFees sets a currency's fee schedule (operator); f.Currency names it.
func (c *Client) SetFees(ctx context.Context, f wire.Fees) (wire.Fees, error) {
	var out wire.Fees
	_, err := c.do(ctx, http.MethodPut, "/v1/fees/"+esc(f.Currency), f, &out)
	return out, err
}

// HubAccounts returns the hub's own positions (operator): per currency,
// its fee revenue and the settlement bank's external account.
func (c *Client) HubAccounts(ctx context.Context) ([]wire.HubAccount, error) {
	var out wire.HubAccounts
	_, err := c.do(ctx, http.MethodGet, "/v1/hub/accounts", nil, &out)
	return out.Accounts, err
}

// CrossBorderReport returns one page of the cross-border report: the FX
// payments committed in [from, to), at most limit (0: the switch's
// default), after the Next of an earlier page (operator or regulator).
func (c *Client) CrossBorderReport(ctx context.Context, from, to time.Time, after string, limit int) (wire.CrossBorderReport, error) {
	q := url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out wire.CrossBorderReport
	_, err := c.do(ctx, http.MethodGet, "/v1/reports/cross-border?"+q.Encode(), nil, &out)
	return out, err
}

// Calls of anyone.

// FXRates lists the valid FX rate sheets; the operator sees who
// publishes each.
func (c *Client) FXRates(ctx context.Context) ([]wire.FXRate, error) {
	var out wire.FXRates
	_, err := c.do(ctx, http.MethodGet, "/v1/fx/rates", nil, &out)
	return out.Rates, err
}

// Accounts returns a participant's positions, one per currency (the
// operator, or itself).
func (c *Client) Accounts(ctx context.Context, participant string) ([]wire.Account, error) {
	var out wire.Accounts
	_, err := c.do(ctx, http.MethodGet, "/v1/participants/"+esc(participant)+"/accounts", nil, &out)
	return out.Accounts, err
}

// Fees lists the fee schedules.
func (c *Client) Fees(ctx context.Context) ([]wire.Fees, error) {
	var out wire.FeeList
	_, err := c.do(ctx, http.MethodGet, "/v1/fees", nil, &out)
	return out.Fees, err
}

// Lookup resolves an alias: which participant holds it, and the holder's
// masked name for confirmation of payee. An unregistered alias is an
// *Error of kind unknown-party.
func (c *Client) Lookup(ctx context.Context, typ, value string) (wire.PartyLookup, error) {
	var out wire.PartyLookup
	_, err := c.do(ctx, http.MethodGet, "/v1/parties/"+esc(typ)+"/"+esc(value), nil, &out)
	return out, err
}

// Transfer returns a transfer the caller is payer or payee of (or any,
// for the operator).
func (c *Client) Transfer(ctx context.Context, id string) (wire.Transfer, error) {
	var out wire.Transfer
	_, err := c.do(ctx, http.MethodGet, "/v1/transfers/"+esc(id), nil, &out)
	return out, err
}

// ListOptions select a page of transfers.
type ListOptions struct {
	// Participant is whose transfers the operator lists; a participant
	// always lists its own and leaves it empty.
	Participant string
	// Since is an RFC 3339 time or the Next of the previous page.
	Since string
	// Limit is the page size (1 to 1,000; 0: the switch's default).
	Limit int
}

// Transfers returns one page of transfers, oldest first.
func (c *Client) Transfers(ctx context.Context, o ListOptions) (wire.Transfers, error) {
	q := url.Values{}
	if o.Participant != "" {
		q.Set("participant", o.Participant)
	}
	if o.Since != "" {
		q.Set("since", o.Since)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	path := "/v1/transfers"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out wire.Transfers
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// EachTransfer calls fn for every transfer of the participant ("" for
// the caller itself), page by page, oldest first; it stops at fn's first
// error.
func (c *Client) EachTransfer(ctx context.Context, participant string, fn func(wire.Transfer) error) error {
	o := ListOptions{Participant: participant, Limit: 1000}
	for {
		page, err := c.Transfers(ctx, o)
		if err != nil {
			return err
		}
		for _, t := range page.Transfers {
			if err := fn(t); err != nil {
				return err
			}
		}
		if page.Next == "" || len(page.Transfers) == 0 {
			return nil
		}
		o.Since = page.Next
	}
}

// Participant calls.

// RegisterParty registers one of the caller's users under an alias. An
// empty value of type RANDOM asks the switch to make a random key: the
// answer holds it.
func (c *Client) RegisterParty(ctx context.Context, p wire.NewParty) (wire.Party, error) {
	party, _, err := c.RegisterPartyCreated(ctx, p)
	return party, err
}

// RegisterPartyCreated is RegisterParty that also says whether the alias
// is new (201) or replaced the caller's own registration of it (200),
// for a caller that passes the answer on. A retry after a lost answer
// sees false.
func (c *Client) RegisterPartyCreated(ctx context.Context, p wire.NewParty) (party wire.Party, created bool, err error) {
	status, err := c.do(ctx, http.MethodPost, "/v1/parties", p, &party)
	return party, status == http.StatusCreated, err
}

// DeleteParty deletes one of the caller's aliases. An alias not
// registered is an *Error of kind unknown-party: after a retry, the
// first attempt may have deleted it.
func (c *Client) DeleteParty(ctx context.Context, typ, value string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/parties/"+esc(typ)+"/"+esc(value), nil, nil)
	return err
}

// PartyBatchMax is the most parties one RegisterParties takes.
const PartyBatchMax = 1000

// RegisterParties registers up to PartyBatchMax aliases in one call. The
// error is about the whole call; each party's outcome is in its result,
// in order (Status 2xx with Party, or Error).
func (c *Client) RegisterParties(ctx context.Context, ps []wire.NewParty) ([]wire.PartyResult, error) {
	var out wire.PartyBatchResult
	_, err := c.do(ctx, http.MethodPost, "/v1/parties:batch", wire.PartyBatch{Parties: ps}, &out)
	if err == nil && len(out.Results) != len(ps) {
		err = fmt.Errorf("POST /v1/parties:batch: %d results for %d parties", len(out.Results), len(ps))
	}
	return out.Results, err
}

// PublishFXRate publishes, or replaces, the caller's rate sheet from
// source to target (an FX provider): quotes to payees in target from
// payers in source may choose it until r.ValidUntil.
func (c *Client) PublishFXRate(ctx context.Context, source, target string, r wire.NewFXRate) (wire.FXRate, error) {
	var out wire.FXRate
	_, err := c.do(ctx, http.MethodPut, "/v1/fx/rates/"+esc(source)+"/"+esc(target), r, &out)
	return out, err
}

// WithdrawFXRate withdraws the caller's rate sheet from source to target
// (an FX provider): no new quote chooses it; quotes made already keep
// their terms until they expire.
func (c *Client) WithdrawFXRate(ctx context.Context, source, target string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/fx/rates/"+esc(source)+"/"+esc(target), nil, nil)
	return err
}

// Quote asks the switch for a signed price of a payment: it resolves the
// payee and fixes the fee until the quote expires.
func (c *Client) Quote(ctx context.Context, q wire.NewQuote) (wire.Quote, error) {
	var out wire.Quote
	_, err := c.do(ctx, http.MethodPost, "/v1/quotes", q, &out)
	return out, err
}

// CreateTransfer sends a payment. created is false when the id was used
// before for the same request: the answer is then the stored transfer,
// which is how a retry after a lost answer learns the outcome. The state
// is COMMITTED or ABORTED (a confirm-mode payee rejected or did not
// answer); a refusal is an *Error and moved no money.
func (c *Client) CreateTransfer(ctx context.Context, t wire.NewTransfer) (tr wire.Transfer, created bool, err error) {
	status, err := c.do(ctx, http.MethodPost, "/v1/transfers", t, &tr)
	return tr, status == http.StatusCreated, err
}

// TransferBatchMax is the most transfers one CreateTransfers takes.
const TransferBatchMax = 1000

// CreateTransfers sends up to TransferBatchMax payments in one call; each
// has its own result, in order, with the status the single call would
// have answered.
func (c *Client) CreateTransfers(ctx context.Context, ts []wire.NewTransfer) ([]wire.TransferResult, error) {
	var out wire.TransferBatchResult
	_, err := c.do(ctx, http.MethodPost, "/v1/transfers:batch", wire.TransferBatch{Transfers: ts}, &out)
	if err == nil && len(out.Results) != len(ts) {
		err = fmt.Errorf("POST /v1/transfers:batch: %d results for %d transfers", len(out.Results), len(ts))
	}
	return out.Results, err
}

// Merchants, requests to pay and refunds (issue 16's payment
// experiences). Each is an ordinary payment underneath: the switch
// commits it through the transfer flow, and the payee participant learns
// of it from its transfers.committed callbacks, as of any other.

// CreateQR makes a QR code of one of the caller's merchants: static
// (q.Amount empty: the payer types the amount) or dynamic (for one
// payment of q.Amount, until q.ExpiresAt or the switch's default).
func (c *Client) CreateQR(ctx context.Context, q wire.NewQR) (wire.QR, error) {
	var out wire.QR
	_, err := c.do(ctx, http.MethodPost, "/v1/qr", q, &out)
	return out, err
}

// DecodeQR reads a scanned payload as the switch knows it: the merchant's
// printed details and, for a dynamic code, its amount and whether it was
// paid. A wallet shows this to its user before paying.
func (c *Client) DecodeQR(ctx context.Context, payload string) (wire.QRDecoded, error) {
	var out wire.QRDecoded
	_, err := c.do(ctx, http.MethodPost, "/v1/qr:decode", wire.QRDecode{Payload: payload}, &out)
	return out, err
}

// RequestPayment asks the participant of r.Payer (an alias) to pay the
// caller r.Amount: a bill. The same request (id) again answers the first.
func (c *Client) RequestPayment(ctx context.Context, r wire.NewPaymentRequest) (wire.PaymentRequest, error) {
	var out wire.PaymentRequest
	_, err := c.do(ctx, http.MethodPost, "/v1/payment-requests", r, &out)
	return out, err
}

// PaymentRequest returns a request to pay the caller made or is asked to
// pay.
func (c *Client) PaymentRequest(ctx context.Context, id string) (wire.PaymentRequest, error) {
	var out wire.PaymentRequest
	_, err := c.do(ctx, http.MethodGet, "/v1/payment-requests/"+esc(id), nil, &out)
	return out, err
}

// AcceptPaymentRequest pays request id with a transfer of the caller's
// id transferID. Accepting again with the same transferID answers the
// request as it stands, so a lost answer is retried safely; an aborted
// payment is an *Error of kind payment-aborted (the request is pending
// again).
func (c *Client) AcceptPaymentRequest(ctx context.Context, id, transferID string) (wire.PaymentRequest, error) {
	var out wire.PaymentRequest
	_, err := c.do(ctx, http.MethodPost, "/v1/payment-requests/"+esc(id)+"/accept", wire.AcceptPaymentRequest{TransferID: transferID}, &out)
	return out, err
}

// DeclinePaymentRequest declines request id; the requester is told the
// reason.
func (c *Client) DeclinePaymentRequest(ctx context.Context, id, reason string) (wire.PaymentRequest, error) {
	var out wire.PaymentRequest
	_, err := c.do(ctx, http.MethodPost, "/v1/payment-requests/"+esc(id)+"/decline", wire.DeclinePaymentRequest{Reason: reason}, &out)
	return out, err
}

// Refund pays back r.Amount of committed payment original, which the
// caller received, to its payer: a new transfer of id r.ID, without a
// fee. Refunds of one payment never add up to more than it
// (refund-exceeds-original); the same refund again answers the first.
func (c *Client) Refund(ctx context.Context, original string, r wire.NewRefund) (wire.Transfer, error) {
	var out wire.Transfer
	_, err := c.do(ctx, http.MethodPost, "/v1/transfers/"+esc(original)+"/refunds", r, &out)
	return out, err
}

// Mandates and disputes. The money of either moves by transfers the
// switch makes itself: a mandate's pull from the payer's participant to
// the biller, a dispute's payback from the payee's participant to the
// payer. Each side learns of them from its callbacks and its listing.

// ProposeMandate proposes mandate m to the participant of m.Payer (an
// alias), as its biller. The same proposal (id) again answers the first.
func (c *Client) ProposeMandate(ctx context.Context, m wire.NewMandate) (wire.Mandate, error) {
	var out wire.Mandate
	_, err := c.do(ctx, http.MethodPost, "/v1/mandates", m, &out)
	return out, err
}

// Mandate returns a mandate the caller is biller or payer of.
func (c *Client) Mandate(ctx context.Context, id string) (wire.Mandate, error) {
	var out wire.Mandate
	_, err := c.do(ctx, http.MethodGet, "/v1/mandates/"+esc(id), nil, &out)
	return out, err
}

// ActOnMandate takes action ("approve", "reject", "pause", "resume" as
// the payer; "revoke" as either side) on mandate id. Repeating the
// action just taken answers the mandate as it stands.
func (c *Client) ActOnMandate(ctx context.Context, id, action string) (wire.Mandate, error) {
	var out wire.Mandate
	_, err := c.do(ctx, http.MethodPost, "/v1/mandates/"+esc(id)+"/"+esc(action), nil, &out)
	return out, err
}

// ExecuteMandate pulls e.Amount under mandate id, as its biller: a
// transfer of id e.ID from the payer's participant. The same execution
// again answers it as it stands; a refused payment is an *Error (the
// execution is kept, FAILED).
func (c *Client) ExecuteMandate(ctx context.Context, id string, e wire.NewMandateExecution) (wire.MandateExecution, error) {
	var out wire.MandateExecution
	_, err := c.do(ctx, http.MethodPost, "/v1/mandates/"+esc(id)+"/executions", e, &out)
	return out, err
}

// MandateExecutions lists mandate id's executions, newest first.
func (c *Client) MandateExecutions(ctx context.Context, id string) ([]wire.MandateExecution, error) {
	var out wire.MandateExecutions
	_, err := c.do(ctx, http.MethodGet, "/v1/mandates/"+esc(id)+"/executions", nil, &out)
	return out.Executions, err
}

// OpenDispute disputes d.TransferID, a committed payment of the caller.
// The same dispute again while it is open answers it.
func (c *Client) OpenDispute(ctx context.Context, d wire.NewDispute) (wire.Dispute, error) {
	var out wire.Dispute
	_, err := c.do(ctx, http.MethodPost, "/v1/disputes", d, &out)
	return out, err
}

// Dispute returns dispute id with its holds, to its payer or payee.
func (c *Client) Dispute(ctx context.Context, id string) (wire.Dispute, error) {
	var out wire.Dispute
	_, err := c.do(ctx, http.MethodGet, "/v1/disputes/"+esc(id), nil, &out)
	return out, err
}

// Disputes lists the caller's disputes in role ("payer" or "payee") and
// state ("" for any), one page of up to 1,000.
func (c *Client) Disputes(ctx context.Context, role, state string) ([]wire.Dispute, error) {
	q := url.Values{"role": {role}, "limit": {"1000"}}
	if state != "" {
		q.Set("state", state)
	}
	var out wire.Disputes
	_, err := c.do(ctx, http.MethodGet, "/v1/disputes?"+q.Encode(), nil, &out)
	return out.Disputes, err
}

// AcceptDispute accepts dispute id as the payment's payee: what the
// switch holds goes back to the payer. Accepting again answers the
// dispute as it stands; a rejected one is an *Error (dispute-closed).
func (c *Client) AcceptDispute(ctx context.Context, id string) (wire.Dispute, error) {
	var out wire.Dispute
	_, err := c.do(ctx, http.MethodPost, "/v1/disputes/"+esc(id)+"/accept", nil, &out)
	return out, err
}

// RejectDispute rejects dispute id as the payment's payee, with a
// reason the payer is told: what the switch holds is released.
func (c *Client) RejectDispute(ctx context.Context, id, reason string) (wire.Dispute, error) {
	var out wire.Dispute
	_, err := c.do(ctx, http.MethodPost, "/v1/disputes/"+esc(id)+"/reject", wire.RejectDispute{Reason: reason}, &out)
	return out, err
}
