package sim

import (
	"context"
	crand "crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// Config describes a simulated participant.
type Config struct {
	// ID is the participant's id at the switch ("peony-pay").
	ID string
	// Name is its display name.
	Name string
	// Kind is "wallet", "bank" or "fxp" (an FX provider).
	Kind string
	// Currency is the currency of its books: its users' money.
	Currency money.Currency
	// Others are the other currencies it holds at the switch, each with
	// books of its own (BooksIn): an FX provider's.
	Others []money.Currency
	// Acceptance is "notify" (transfers to it commit at once and it is
	// told) or "confirm" (the switch asks it first).
	Acceptance string
	// ChargeFees passes the scheme fee on to the paying user, as banks
	// do; otherwise the participant absorbs it, as wallets competing for
	// users do. A participant that charges its users quotes every single
	// payment first, so that the user sees the fee before paying.
	ChargeFees bool
	// FeeHold is what it holds for the fee of a payment sent without a
	// quote (in a batch) when it charges its users: the schedule's
	// maximum fee; the user is charged the actual fee.
	FeeHold money.Amount
	// RejectRate is the fraction (0…1) of incoming transfers that a
	// confirm-mode participant rejects for its own reasons (a fraud
	// screen, a limit), besides those to closed accounts.
	RejectRate float64
	// LoseAnswers is the fraction (0…1) of notifications the participant
	// books and then answers 503, as if it crashed between booking and
	// answering: the switch delivers them again, and the participant
	// must not credit them twice. It tests at-least-once delivery.
	LoseAnswers float64
	// SignatureTolerance is how old a callback's signature may be (default
	// 5 minutes); it bounds replays of captured callbacks.
	SignatureTolerance time.Duration
}

// Participant simulates one wallet or bank connected to the switch: its
// books (its users' money), its API client, and its callback server,
// which verifies every callback's signature, credits incoming transfers
// exactly once, and answers confirmations.
type Participant struct {
	cfg    Config
	books  *Books
	others map[money.Currency]*Books // never written after NewParticipant
	api    *Client

	secret atomic.Pointer[string] // the callback secret, once connected
	ln     net.Listener
	srv    *http.Server
	tag    string // makes this run's transfer ids unique
	seq    atomic.Uint64

	callbacks     atomic.Int64
	notified      atomic.Int64
	duplicates    atomic.Int64
	badSignatures atomic.Int64
	accepted      atomic.Int64
	rejected      atomic.Int64
	unknownEvents atomic.Int64
	anomalies     atomic.Int64
	lostAnswers   atomic.Int64
	notices       atomic.Int64
	anomalyMu     sync.Mutex
	lastAnomaly   string

	// What the participant remembers to serve the payment experiences:
	// which user holds each of its aliases (a request to pay or a
	// mandate names the payer by alias), which user sent each of its
	// requests to pay or proposed each of its mandates (their payments
	// name the request or the mandate, not a user), the requests,
	// mandates and disputes waiting for an answer, the mandates it pays
	// and since when the switch may debit it unasked (see mandates.go).
	mu           sync.Mutex
	aliases      map[string]string // "type:value" → user
	requested    map[string]string // request or mandate id → requesting user
	bills        []wire.PaymentRequest
	billSeen     map[string]bool
	mandates     map[string]payerMandate // approved mandates it pays, by id
	mandateInbox []wire.Mandate
	mandateSeen  map[string]bool
	disputeInbox []wire.Dispute
	disputeSeen  map[string]bool
	unsentSince  time.Time
	persons      map[string]*Person // users who use the app in person, by account (person.go)

	fx fxFollow // an FX provider's place in its listing
}

// callbackPath is where the participant takes callbacks.
const callbackPath = "/hulian/callbacks"

// callbackMax bounds a callback body: a notification of 100 transfers is
// some 50 kB.
const callbackMax = 4 << 20

// NewParticipant starts a participant's callback server on a free
// loopback port. It is not connected to the switch yet: the operator
// creates it there with CallbackURL, then Connect gives it its
// credentials.
func NewParticipant(cfg Config) (*Participant, error) {
	switch {
	case cfg.ID == "" || cfg.Name == "":
		return nil, errors.New("sim: participant needs an id and a name")
	case cfg.Kind != "wallet" && cfg.Kind != "bank" && cfg.Kind != "fxp":
		return nil, fmt.Errorf("sim: participant %s: kind %q", cfg.ID, cfg.Kind)
	case cfg.Acceptance != "notify" && cfg.Acceptance != "confirm":
		return nil, fmt.Errorf("sim: participant %s: acceptance %q", cfg.ID, cfg.Acceptance)
	case !cfg.Currency.Valid():
		return nil, fmt.Errorf("sim: participant %s: no currency", cfg.ID)
	case cfg.RejectRate < 0 || cfg.RejectRate > 1 || cfg.LoseAnswers < 0 || cfg.LoseAnswers > 1:
		return nil, fmt.Errorf("sim: participant %s: rates must be 0 to 1", cfg.ID)
	}
	others := map[money.Currency]*Books{}
	for _, c := range cfg.Others {
		if !c.Valid() || c == cfg.Currency || others[c] != nil {
			return nil, fmt.Errorf("sim: participant %s: other currency %q", cfg.ID, c)
		}
		others[c] = NewBooks(c)
	}
	if cfg.SignatureTolerance <= 0 {
		cfg.SignatureTolerance = 5 * time.Minute
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sim: participant %s: %w", cfg.ID, err)
	}
	var tag [5]byte
	crand.Read(tag[:])
	p := &Participant{cfg: cfg, books: NewBooks(cfg.Currency), others: others, ln: ln,
		tag:     base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(tag[:]),
		aliases: map[string]string{}, requested: map[string]string{}, billSeen: map[string]bool{},
		mandates: map[string]payerMandate{}, mandateSeen: map[string]bool{}, disputeSeen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.Handle(callbackPath, p)
	mux.HandleFunc(probePattern, p.serveProbe) // the conformance probe (probe.go)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go p.srv.Serve(ln)
	return p, nil
}

// ID is the participant's id.
func (p *Participant) ID() string { return p.cfg.ID }

// Config returns the participant's configuration.
func (p *Participant) Config() Config { return p.cfg }

// Books are the participant's own books, of Config.Currency.
func (p *Participant) Books() *Books { return p.books }

// BooksIn returns the participant's books of currency c, or nil if it
// holds no c.
func (p *Participant) BooksIn(c money.Currency) *Books {
	if c == p.cfg.Currency {
		return p.books
	}
	return p.others[c]
}

// Currencies returns the currencies the participant holds: Config.Currency
// first, then Config.Others.
func (p *Participant) Currencies() []money.Currency {
	return append([]money.Currency{p.cfg.Currency}, p.cfg.Others...)
}

// API is the participant's client of the switch (nil until Connect).
func (p *Participant) API() *Client { return p.api }

// CallbackURL is where the switch must send the participant's callbacks.
func (p *Participant) CallbackURL() string { return "http://" + p.ln.Addr().String() + callbackPath }

// Connect gives the participant what the switch answered at its
// creation: an API client with its API key, and its callback secret.
// Until then every callback is refused, since none can be verified.
func (p *Participant) Connect(api *Client, callbackSecret string) {
	p.api = api
	if callbackSecret != "" {
		p.secret.Store(&callbackSecret)
	}
}

// Close stops the callback server. It waits at most a second for
// callbacks in progress: http.Server.Shutdown waits up to 5 s for a
// connection the switch opened but has not used yet, which is common
// (a transport dials spare connections under load) and not worth the
// wait; such connections are closed.
func (p *Participant) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		return p.srv.Close()
	}
	return nil
}

// NewTransferID returns a fresh transfer id. Ids are global at the
// switch, so a participant prefixes its own id, and a per-process tag
// keeps a restarted simulator from reusing the ids of an earlier run.
func (p *Participant) NewTransferID() string {
	return p.cfg.ID + "." + p.tag + "." + strconv.FormatUint(p.seq.Add(1), 10)
}

// ServeHTTP takes the switch's callbacks. Every one must carry a valid
// signature of its exact body under the callback secret, made recently:
// anything else is answered 401 and ignored, since anyone can reach the
// URL. The body is read whole before it is verified, and bounded.
func (p *Participant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, callbackMax))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	secret := p.secret.Load()
	if secret == nil || wire.Verify(r.Header.Get(wire.SignatureHeader), *secret, body, time.Now(), p.cfg.SignatureTolerance) != nil {
		p.badSignatures.Add(1)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	p.callbacks.Add(1)
	var cb wire.Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		// Signed by the switch yet unreadable: a bug on one side. 400
		// makes the switch retry, and the failure visible to both.
		p.anomaly("unreadable callback: " + err.Error())
		http.Error(w, "malformed callback", http.StatusBadRequest)
		return
	}
	switch cb.Event {
	case wire.EventTransfersCommitted:
		p.onCommitted(w, cb.Transfers)
	case wire.EventTransferConfirm:
		p.onConfirm(w, cb.Transfer, *secret)
	case eventRequestCreated, eventRequestPaid, eventRequestDeclined, eventRequestExpired:
		p.onRequest(w, cb.Event, cb.PaymentRequest)
	default:
		switch {
		case strings.HasPrefix(cb.Event, "mandate."):
			p.onMandate(w, r, cb.Event, &cb)
			return
		case strings.HasPrefix(cb.Event, "dispute."):
			p.onDispute(w, cb.Event, cb.Dispute)
			return
		}
		// An event this participant does not know: acknowledge it, so
		// that a new kind of event never blocks the stream of those it
		// knows.
		p.unknownEvents.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}
}

// onCommitted credits the payees of committed transfers. Notifications
// come at least once: a transfer already credited is skipped, by id. The
// answer is sent only after every credit is booked, since a 2xx tells
// the switch it may forget them.
func (p *Participant) onCommitted(w http.ResponseWriter, ts []wire.Transfer) {
	for _, t := range ts {
		books, amt, err := p.incoming(&t)
		if err != nil {
			p.anomaly(err.Error())
			continue
		}
		user := p.payeeUser(t.Payee)
		credited, err := books.Credit(t.ID, user, amt)
		switch {
		case err != nil:
			p.anomaly(err.Error())
		case credited:
			p.notified.Add(1)
			if pe := p.personOf(user); pe != nil && books == p.books {
				pe.received(&t, amt)
			}
		default:
			p.duplicates.Add(1)
		}
	}
	if p.cfg.LoseAnswers > 0 && rand.Float64() < p.cfg.LoseAnswers {
		p.lostAnswers.Add(1)
		http.Error(w, "simulated failure after booking", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// incoming returns the books an incoming transfer t is credited in, and
// the amount: what the payee gets, in its own currency. That is the
// transfer's amount, except for an FX payment, whose amount is what the
// payer sent in its currency: its payee is paid fx.targetAmount, in
// fx.targetCurrency. A payee that credited amount would book yuan as
// dollars.
func (p *Participant) incoming(t *wire.Transfer) (*Books, money.Amount, error) {
	amount, currency := t.Amount, t.Currency
	if t.FX != nil {
		amount, currency = t.FX.TargetAmount, t.FX.TargetCurrency
	}
	c, err := money.ParseCurrency(currency)
	books := p.BooksIn(c)
	if err != nil || books == nil || t.Payee.Participant != p.cfg.ID || t.State != "COMMITTED" {
		return nil, 0, fmt.Errorf("notified of transfer %s to %s in state %s and %s", t.ID, t.Payee.Participant, t.State, currency)
	}
	amt, err := money.Parse(amount, c)
	if err != nil || amt <= 0 {
		return nil, 0, fmt.Errorf("transfer %s: amount %q", t.ID, amount)
	}
	return books, amt, nil
}

// onConfirm decides on a transfer to a user: reject when the account is
// closed or unknown, or when the participant's own screen says no;
// otherwise accept. The money is not credited now: only the
// transfers.committed notification that follows an accept says the
// switch committed it. The answer is signed with the callback secret,
// as the switch requires: an unsigned one would count as no answer.
func (p *Participant) onConfirm(w http.ResponseWriter, t *wire.Transfer, secret string) {
	if t == nil {
		p.anomaly("confirmation request without a transfer")
		http.Error(w, "no transfer", http.StatusBadRequest)
		return
	}
	d := wire.Decision{Decision: "accept"}
	currency := t.Currency
	if t.FX != nil {
		currency = t.FX.TargetCurrency
	}
	switch {
	case t.Payee.Participant != p.cfg.ID || currency != p.books.Currency().String():
		d = wire.Decision{Decision: "reject", Reason: "not for this participant"}
	case !p.books.CanReceive(p.payeeUser(t.Payee)):
		d = wire.Decision{Decision: "reject", Reason: "account closed"}
	case p.screened(t.ID):
		d = wire.Decision{Decision: "reject", Reason: "risk check"}
	}
	d.TransferID = t.ID // binds the signed answer to this request
	if d.Decision == "accept" {
		p.accepted.Add(1)
	} else {
		p.rejected.Add(1)
	}
	b, _ := json.Marshal(d)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(wire.SignatureHeader, wire.Sign(secret, time.Now(), b))
	w.Write(b)
}

// screened says whether the participant's own screen rejects transfer
// id. It depends only on the id, so that asking twice gets the same
// answer.
func (p *Participant) screened(id string) bool {
	if p.cfg.RejectRate <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	// FNV's top bits barely move when only the id's last characters do
	// (…-000041, …-000042): mixed as MurmurHash3's finaliser does,
	// consecutive ids are screened independently, so that a payment
	// tried again under the next id is not rejected again.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return float64(x>>11)/float64(1<<53) < p.cfg.RejectRate
}

func (p *Participant) anomaly(msg string) {
	p.anomalies.Add(1)
	p.anomalyMu.Lock()
	p.lastAnomaly = msg
	p.anomalyMu.Unlock()
}

// CallbackStats counts what the participant's callback server saw.
type CallbackStats struct {
	Callbacks     int64  // verified callbacks
	Credited      int64  // transfers credited
	Duplicates    int64  // redelivered transfers skipped
	BadSignatures int64  // callbacks refused for their signature
	Accepted      int64  // confirmations accepted
	Rejected      int64  // confirmations rejected
	UnknownEvents int64  // events ignored
	Notices       int64  // notices of requests to pay, mandates and disputes taken
	LostAnswers   int64  // notifications answered 503 on purpose (Config.LoseAnswers)
	Anomalies     int64  // callbacks that made no sense (a bug somewhere)
	LastAnomaly   string // the last of those
}

// CallbackStats returns the callback server's counters.
func (p *Participant) CallbackStats() CallbackStats {
	p.anomalyMu.Lock()
	last := p.lastAnomaly
	p.anomalyMu.Unlock()
	return CallbackStats{Callbacks: p.callbacks.Load(), Credited: p.notified.Load(), Duplicates: p.duplicates.Load(),
		BadSignatures: p.badSignatures.Load(), Accepted: p.accepted.Load(), Rejected: p.rejected.Load(),
		UnknownEvents: p.unknownEvents.Load(), Notices: p.notices.Load(), LostAnswers: p.lostAnswers.Load(), Anomalies: p.anomalies.Load(), LastAnomaly: last}
}

// Payment is an outgoing payment one of the participant's users asks for.
type Payment struct {
	// ID is the transfer id; empty makes a fresh one.
	ID string
	// From is the paying user's id in the participant's books.
	From string
	// Payee is the payee's alias: type and value.
	Payee wire.PayeeRef
	// Amount is in minor units of the participant's currency.
	Amount money.Amount
	// Note travels with the transfer to the payee.
	Note string
	// Lookup resolves the alias first (confirmation of payee: the app
	// shows the masked name before the user confirms).
	Lookup bool
	// Quote asks for a quote first (always done when the participant
	// charges fees to its users).
	Quote bool
	// Factors are how the wallet authenticated its user for the payment,
	// sent for risk control; nil sends the usual: PIN on a known device.
	Factors []string
}

// usualFactors are the authentication factors of a payment that names
// none: the PIN, on the user's registered device.
var usualFactors = []string{"pin", "device"}

// riskFields sets what a wallet tells risk control of its user: the
// paying user's id in its books as payerAccount (a real wallet may send
// an opaque reference instead), and the authentication factors.
func riskFields(nt *wire.NewTransfer, pm *Payment) {
	nt.PayerAccount = pm.From
	f := pm.Factors
	if f == nil {
		f = usualFactors
	}
	nt.Authentication = &wire.Authentication{Factors: f}
}

// Status is what became of a payment.
type Status string

// The statuses of a payment.
const (
	// StatusCommitted: the switch committed it; the user was debited.
	StatusCommitted Status = "committed"
	// StatusAborted: the switch created it and aborted it (the payee
	// rejected it or did not answer); nothing moved.
	StatusAborted Status = "aborted"
	// StatusRefused: the switch refused the request (Problem says why);
	// nothing was created.
	StatusRefused Status = "refused"
	// StatusDeclined: the participant declined it itself (the user's
	// balance); the switch was not asked.
	StatusDeclined Status = "declined"
	// StatusUnknown: no final answer (network, switch unavailable). The
	// user's money stays held until Reconcile learns the outcome.
	StatusUnknown Status = "unknown"
)

// Result is the outcome of a payment.
type Result struct {
	ID     string
	Status Status
	// Amount is the payment's amount.
	Amount money.Amount
	// Transfer is the switch's answer, when it answered with a transfer.
	Transfer wire.Transfer
	// Problem is the problem kind of a refusal ("insufficient-funds"),
	// the reason of a decline ("balance") or of an abort ("rejected:
	// account closed").
	Problem string
	// Sent is whether a transfer request was made; Looked and Quoted
	// whether a lookup and a quote were.
	Sent, Looked, Quoted bool
	// FX is a cross-border payment's exchange, as its quote fixed it.
	FX *wire.FX
	// fxFee is FX's provider fee, in the payer's minor units.
	fxFee money.Amount
	// Latency is the transfer request's round trip, retries included.
	Latency time.Duration
	// Err is an unexpected error: a transport failure, or an answer that
	// contradicts the books (a bug to look into).
	Err error
}

// Pay runs one outgoing payment as a wallet app does: optionally look
// the payee up and get a quote, hold the user's money, send the
// transfer (retrying with the same id when the answer is lost), and book
// the outcome — debit on COMMITTED, release on a refusal or ABORTED.
func (p *Participant) Pay(ctx context.Context, pm Payment) Result {
	if pm.ID == "" {
		pm.ID = p.NewTransferID()
	}
	c := p.books.Currency()
	res := Result{ID: pm.ID, Amount: pm.Amount}
	ref := wire.PayeeRef{Type: pm.Payee.Type, Value: pm.Payee.Value}
	if pm.Lookup {
		res.Looked = true
		if _, err := p.api.Lookup(ctx, ref.Type, ref.Value); err != nil {
			return refused(res, err)
		}
	}
	var quoteID string
	var userFee money.Amount
	if pm.Quote || p.cfg.ChargeFees {
		res.Quoted = true
		q, err := p.api.Quote(ctx, wire.NewQuote{Payee: ref, Amount: pm.Amount.Format(c), Currency: c.String()})
		if err != nil {
			return refused(res, err)
		}
		fee, err := money.Parse(q.Fee, c)
		if err != nil {
			res.Status, res.Err = StatusRefused, fmt.Errorf("quote %s: fee %q: %w", q.ID, q.Fee, err)
			return res
		}
		quoteID = q.ID
		if p.cfg.ChargeFees {
			userFee = fee
		}
	}
	nt := wire.NewTransfer{ID: pm.ID, Payee: ref, Amount: pm.Amount.Format(c), Currency: c.String(), QuoteID: quoteID, Note: pm.Note}
	riskFields(&nt, &pm)
	return p.holdAndSend(ctx, res, pm.From, userFee, func() (wire.Transfer, error) {
		t, _, err := p.api.CreateTransfer(ctx, nt)
		return t, err
	})
}

// holdAndSend is every outgoing payment's second half, whatever started
// it (Pay, PayQR, PayBill, Refund): hold res.Amount plus userFee of user
// for payment res.ID, make the request that moves it with call (retried
// with the same id, see retry), and book the outcome. A hold the books
// refuse declines the payment without asking the switch.
func (p *Participant) holdAndSend(ctx context.Context, res Result, user string, userFee money.Amount,
	call func() (wire.Transfer, error)) Result {
	if err := p.books.HoldFX(res.ID, user, res.Amount, res.fxFee, userFee); err != nil {
		res.Status, res.Problem = StatusDeclined, "balance"
		if !errors.Is(err, ErrBalance) {
			res.Problem, res.Err = "account", err
		}
		return res
	}
	res.Sent = true
	start := time.Now()
	t, retried, err := retry(ctx, call)
	res.Latency = time.Since(start)
	if err != nil {
		return p.failed(ctx, res, err, retried)
	}
	return p.book(res, t)
}

// retries bounds the attempts of one request that moves money.
const retries = 4

// retry makes a request that moves money, call, retrying what may
// succeed later (a 429, a 5xx, no answer at all). A retry is safe
// because the request carries an id of the participant's making: if the
// first attempt went through and only its answer was lost, the switch
// answers the retry with what it stored. retried says whether an
// attempt before the last had no answer, in which case a refusal of the
// last does not prove that nothing happened (see failed).
func retry[T any](ctx context.Context, call func() (T, error)) (out T, retried bool, err error) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		out, err = call()
		if err == nil {
			return out, attempt > 1, nil
		}
		var e *Error
		if errors.As(err, &e) && !e.Temporary() || attempt == retries || ctx.Err() != nil {
			return out, attempt > 1, err
		}
		wait := backoff
		if e != nil && e.RetryAfter > 0 {
			wait = min(e.RetryAfter, 2*time.Second)
		}
		select {
		case <-ctx.Done():
			return out, true, err
		case <-time.After(wait):
		}
		backoff *= 2
	}
}

// refused is a payment the switch refused before any transfer existed.
func refused(res Result, err error) Result {
	res.Status = StatusRefused
	if res.Problem = ProblemKind(err); res.Problem == "" {
		res.Problem, res.Err = "error", err
	}
	return res
}

// failed books a transfer request that did not get a transfer back. A
// definitive refusal releases the hold, but only if no earlier attempt
// may have gone through: after a lost answer, a refusal of the retry can
// describe the retry alone (its quote expired meanwhile, say), so the
// participant asks the switch for the transfer itself. Anything else
// leaves the outcome unknown and the money held, for Reconcile.
func (p *Participant) failed(ctx context.Context, res Result, err error, retried bool) Result {
	var e *Error
	if errors.As(err, &e) && !e.Temporary() {
		if retried {
			t, gerr := p.api.Transfer(ctx, res.ID)
			switch {
			case gerr == nil:
				return p.book(res, t)
			case !IsProblem(gerr, ProblemNotFound):
				res.Status, res.Problem, res.Err = StatusUnknown, e.Kind(), gerr
				return res
			}
		}
		if rerr := p.books.Release(res.ID); rerr != nil {
			res.Err = rerr
		}
		res.Status, res.Problem = StatusRefused, e.Kind()
		return res
	}
	res.Status, res.Err = StatusUnknown, err
	if res.Problem = ProblemKind(err); res.Problem == "" {
		res.Problem = "error"
	}
	return res
}

// book books the switch's answer with a transfer.
func (p *Participant) book(res Result, t wire.Transfer) Result {
	res.Transfer = t
	c := p.books.Currency()
	switch t.State {
	case "COMMITTED":
		fee, err := money.Parse(t.Fee, c)
		if err != nil {
			res.Status, res.Err = StatusUnknown, fmt.Errorf("transfer %s: fee %q: %w", t.ID, t.Fee, err)
			return res
		}
		if o, ok := p.books.Outgoing(t.ID); ok {
			if amt, err := money.Parse(t.Amount, c); err != nil || amt != o.Amount {
				res.Err = fmt.Errorf("transfer %s: the switch committed %s, the books hold %s", t.ID, t.Amount, o.Amount.Format(c))
			} else if err := fxAgrees(&t, o, c); err != nil {
				res.Err = err
			}
		}
		if err := p.books.Commit(t.ID, fee, p.cfg.ChargeFees); err != nil {
			res.Err = err
		}
		res.Status = StatusCommitted
	case "ABORTED":
		p.books.Aborted(t.ID)
		if err := p.books.Release(t.ID); err != nil {
			res.Err = err
		}
		res.Status, res.Problem = StatusAborted, t.Reason
	default:
		// RESERVED: the switch is still waiting for the payee (or lost
		// its answer); Reconcile finishes it.
		res.Status, res.Problem = StatusUnknown, "state "+t.State
	}
	return res
}

// PayMany sends up to TransferBatchMax payments in one batch request, as
// a bank runs a payroll file: each is held, sent, and booked on its own
// result. Batched payments are not quoted; a participant that charges
// fees to its users holds Config.FeeHold for each.
func (p *Participant) PayMany(ctx context.Context, pms []Payment) []Result {
	c := p.books.Currency()
	out := make([]Result, len(pms))
	var nts []wire.NewTransfer
	var at []int
	for i, pm := range pms {
		if pm.ID == "" {
			pm.ID = p.NewTransferID()
		}
		out[i].ID, out[i].Amount = pm.ID, pm.Amount
		var hold money.Amount
		if p.cfg.ChargeFees {
			hold = p.cfg.FeeHold
		}
		if err := p.books.Hold(pm.ID, pm.From, pm.Amount, hold); err != nil {
			out[i].Status, out[i].Problem = StatusDeclined, "balance"
			if !errors.Is(err, ErrBalance) {
				out[i].Problem, out[i].Err = "account", err
			}
			continue
		}
		out[i].Sent = true
		nts = append(nts, wire.NewTransfer{ID: pm.ID, Payee: wire.PayeeRef{Type: pm.Payee.Type, Value: pm.Payee.Value},
			Amount: pm.Amount.Format(c), Currency: c.String(), Note: pm.Note})
		riskFields(&nts[len(nts)-1], &pm)
		at = append(at, i)
	}
	if len(nts) == 0 {
		return out
	}
	start := time.Now()
	var results []wire.TransferResult
	var err error
	retried := false
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		retried = attempt > 1
		results, err = p.api.CreateTransfers(ctx, nts)
		var e *Error
		if err == nil || errors.As(err, &e) && !e.Temporary() || attempt == retries || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	lat := time.Since(start)
	for k, i := range at {
		out[i].Latency = lat
		switch {
		case err != nil:
			out[i] = p.failed(ctx, out[i], err, retried)
		case results[k].Transfer != nil:
			out[i] = p.book(out[i], *results[k].Transfer)
		case results[k].Error != nil:
			e := &Error{Method: http.MethodPost, Path: "/v1/transfers:batch", Status: results[k].Status, Problem: *results[k].Error}
			out[i] = p.failed(ctx, out[i], e, retried)
		default:
			out[i] = p.failed(ctx, out[i], fmt.Errorf("batch result %d: neither transfer nor error", k), retried)
		}
	}
	return out
}

// Reconcile learns the outcome of every payment still held — those whose
// answer was lost or not final — from the switch, and books it. Call it
// when no payment is in flight: a transfer the switch does not know then
// never happened, and its hold is released. It also books the transfers
// the switch made from the participant unasked (mandates' pulls,
// disputes' paybacks) that no callback brought yet, and an FX provider's
// side of the payments it converted (BookExchanges). It returns how many
// payments remain open (still RESERVED at the switch, or the switch
// unreachable).
func (p *Participant) Reconcile(ctx context.Context) (int, error) {
	open := 0
	var errs []error
	if err := p.reconcileUnsent(ctx); err != nil {
		errs = append(errs, fmt.Errorf("transfers not sent: %w", err))
	}
	if p.cfg.Kind == "fxp" {
		if _, err := p.BookExchanges(ctx); err != nil {
			errs = append(errs, fmt.Errorf("exchanges: %w", err))
		}
	}
	for _, id := range p.books.openPayments() {
		t, err := p.api.Transfer(ctx, id)
		switch {
		case IsProblem(err, ProblemNotFound):
			if err := p.books.Release(id); err != nil {
				errs = append(errs, err)
			}
		case err != nil:
			open++
			errs = append(errs, err)
		default:
			if r := p.book(Result{ID: id}, t); r.Status == StatusUnknown {
				open++
			} else if r.Err != nil {
				errs = append(errs, r.Err)
			}
		}
	}
	return open, errors.Join(errs...)
}
