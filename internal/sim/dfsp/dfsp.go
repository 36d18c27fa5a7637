// Package dfsp is a Mojaloop DFSP in Go: what an unmodified SDK scheme
// adapter and its backend do on the wire, so that Hulian's FSPIOP front end
// can be tested end to end and benchmarked without Node.js.
//
// As a payee it answers GET /parties from its party book, POST /quotes with
// an ILPv1 packet and condition made by internal/fspiop/ilp under its
// secret (the fulfilment kept by transactionId, as the SDK keeps it), and
// POST /transfers with the fulfilment, in state COMMITTED or RESERVED; it
// takes the switch's PATCH commit notice. As a payer it runs the SDK's
// outbound flow (Pay: lookup, quote, prepare, each waiting for its
// callback) and checks the fulfilment against the condition, as CHECK_ILP
// does. Every step is also exposed alone (Lookup, Quote, Prepare,
// GetTransfer), so that tests can send what no SDK sends: a prepare with
// another condition, a repeated or modified prepare, an expired one.
//
// Requests carry the SDK's headers (Content-Type at ContentVersion, Accept
// only on GET and POST, an IMF-fixdate Date, FSPIOP-Source, FSPIOP-
// Destination when known, a bearer token, and a JWS signature on POST, PUT
// and PATCH but PUT /parties when a signing key is set, the body sent in the
// canonical form that was signed). Inbound messages are checked as the SDK's
// middleware checks them (Accept, Date, size, Content-Type, FSPIOP-Source,
// JWS, body schema) and answered 202 or 200 with an empty body; the work
// they ask for is done afterwards. Where the SDK is lenient the simulator is
// stricter in one respect only: the switch's answers to its requests must
// be exactly 202 (GET, POST) or 200 (PUT), with an empty body.
//
// Books count what was paid and received, committed, per currency in minor
// units, so that a test can compare both DFSPs' books with the switch's
// balances.
//
// The package imports the FSPIOP leaf packages (msg, ilp, jws), money and
// fault, never the switch nor anything that links a database.
package dfsp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
)

// Directions of a message given to Config.Check.
const (
	// Sent is a request or callback this DFSP sends.
	Sent = "sent"
	// Received is a request or callback this DFSP receives.
	Received = "received"
)

// Defaults, those of the SDK scheme adapter's configuration.
const (
	// DefaultTimeout is REQUEST_PROCESSING_TIMEOUT_SECONDS: how long each
	// phase of a payment waits for its callback.
	DefaultTimeout = 30 * time.Second
	// DefaultExpiry is EXPIRY_SECONDS: the life of a quote and of a
	// prepare.
	DefaultExpiry = 60 * time.Second
	// ProblemsMax bounds the problems kept (see Problems).
	ProblemsMax = 1000
	// workMax bounds the inbound requests being processed at once.
	workMax = 512
	// sweepEvery is how many records are made between two sweeps of the
	// finished ones.
	sweepEvery = 4096
)

// Errors.
var (
	// ErrConfig means New was given an unusable Config.
	ErrConfig = fault.New(fault.Invalid, "dfsp-config", "dfsp: invalid configuration")
	// ErrTimeout means no callback came within the phase's timeout (or
	// the context ended): the outcome is unknown; GetTransfer asks the
	// switch.
	ErrTimeout = fault.New(fault.Unavailable, "dfsp-timeout", "dfsp: no callback in time")
	// ErrCallback means the exchange ended with an error callback (PUT
	// …/error); the *CallbackError says which.
	ErrCallback = fault.New(fault.Refused, "dfsp-error-callback", "dfsp: error callback")
	// ErrSend means the switch did not take a request: a transport error,
	// a status other than 202 or 200, or a body in the answer.
	ErrSend = fault.New(fault.Unavailable, "dfsp-send", "dfsp: request not accepted")
	// ErrCheck means Config.Check refused a message sent or received.
	ErrCheck = fault.New(fault.Invalid, "dfsp-check", "dfsp: message failed the check")
	// ErrMismatch means a callback does not answer what was asked: a party
	// other than the one looked up, a registration for another FSP, an
	// invalid body.
	ErrMismatch = fault.New(fault.Invalid, "dfsp-mismatch", "dfsp: callback does not match the request")
	// ErrFulfilment means a COMMITTED transfer's fulfilment does not
	// fulfil the condition (the SDK's "Invalid fulfilment received from
	// peer DFSP."): the payer does not book it.
	ErrFulfilment = fault.New(fault.Invalid, "dfsp-bad-fulfilment", "dfsp: fulfilment does not match the condition")
	// ErrNoParty means the payer named in a payment is not in the party
	// book (or the book is empty).
	ErrNoParty = fault.New(fault.Invalid, "dfsp-no-party", "dfsp: no such payer party")
	// ErrClosed means the DFSP was closed.
	ErrClosed = fault.New(fault.Unavailable, "dfsp-closed", "dfsp: closed")
)

// CallbackError is an error callback received in answer to a request.
// It wraps ErrCallback and the msg sentinel of its code's category
// (msg.ErrNotFound for 3204, msg.ErrRefused for 5104, …).
type CallbackError struct {
	// Path is the callback's path ("/transfers/…/error").
	Path string
	// Info is its errorInformation.
	Info msg.ErrorInformation
}

// Error returns "dfsp: error callback /path: 3204 Party not found".
func (e *CallbackError) Error() string {
	return fmt.Sprintf("dfsp: error callback %s: %s %s", e.Path, e.Info.ErrorCode, e.Info.ErrorDescription)
}

// Unwrap returns ErrCallback and the sentinel of the code's category.
func (e *CallbackError) Unwrap() []error {
	return []error{ErrCallback, (&msg.Error{Code: e.Info.Code()}).Unwrap()}
}

// Action is what the payee does with a prepare (see Config.OnPrepare).
type Action int

// The actions.
const (
	// Fulfil answers PUT /transfers/{ID} with the fulfilment, in state
	// FulfilState: what an SDK whose backend accepts does.
	Fulfil Action = iota
	// Refuse answers PUT /transfers/{ID}/error 5104 "Payee rejected
	// transaction", as the SDK does when its backend refuses.
	Refuse
	// Ignore answers nothing, so that the transfer expires at the switch.
	Ignore
	// WrongFulfilment answers a COMMITTED fulfilment that does not match
	// the condition, which no SDK does: for the switch's tests.
	WrongFulfilment
)

// Config describes a DFSP. ID, SwitchURL, ILPSecret and Currency are
// required; the rest have defaults (EnsureDefaults).
type Config struct {
	// ID is the DFSP's FSP id, its FSPIOP-Source.
	ID string
	// SwitchURL is the switch's FSPIOP base URL ("http://127.0.0.1:4000").
	SwitchURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" on every request
	// and callback (the SDK's OIDC_BEARER_TOKEN); none if empty.
	APIKey string
	// SigningKey, a PEM private key, signs POST, PUT and PATCH but PUT
	// /parties (JWS_SIGN=true, JWS_SIGN_PUT_PARTIES=false); nothing is
	// signed without it.
	SigningKey []byte
	// SwitchKeys maps an FSP id to the PEM public key that verifies its
	// FSPIOP-Signature; a POST, PUT or PATCH (but PUT /parties) from a
	// source with a key is verified (VALIDATE_INBOUND_JWS).
	SwitchKeys map[string][]byte
	// RequireJWS refuses, as the SDK with VALIDATE_INBOUND_JWS=true does,
	// a signed-kind message from a source without a key in SwitchKeys.
	RequireJWS bool
	// ILPSecret is the ILP_SECRET under which quotes' fulfilments are made.
	ILPSecret []byte
	// Currency is the currency it pays in and accepts quotes in.
	Currency string
	// ContentVersion is the Content-Type version of everything it sends:
	// "1.0" (the default, as the SDK sends) or "1.1" (needed to answer
	// RESERVED).
	ContentVersion string
	// FulfilState is the state of its fulfilments: "COMMITTED" (default)
	// or "RESERVED" (RESERVE_NOTIFICATION=true: it expects a PATCH).
	FulfilState string
	// Timeout bounds each wait for a callback (DefaultTimeout).
	Timeout time.Duration
	// Expiry is the life of its quotes and prepares (DefaultExpiry).
	Expiry time.Duration
	// Check, if set, is called for every request and callback sent
	// (before sending) and received (before answering), with the path,
	// headers and body as on the wire; an error fails the exchange (a
	// received message is answered 400, 3100) and is kept in Problems.
	Check func(dir, method, path string, h http.Header, body []byte) error
	// OnPrepare, if set, decides what the payee does with each prepare
	// whose condition matches its quote (Fulfil if nil).
	OnPrepare func(p msg.TransfersPost) Action
	// Client sends its requests; nil is a client made for many concurrent
	// requests to one host.
	Client *http.Client
	// Now is the clock (time.Now).
	Now func() time.Time
}

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	if c.ContentVersion == "" {
		c.ContentVersion = msg.Version10
	}
	if c.FulfilState == "" {
		c.FulfilState = msg.StateCommitted
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Expiry == 0 {
		c.Expiry = DefaultExpiry
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Client == nil {
		c.Client = &http.Client{Transport: &http.Transport{
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second,
		}}
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	switch {
	case c.ID == "" || len(c.ID) > 32:
		return fmt.Errorf("%w: the FSP id must have 1 to 32 characters", ErrConfig)
	case !strings.HasPrefix(c.SwitchURL, "http://") && !strings.HasPrefix(c.SwitchURL, "https://"):
		return fmt.Errorf("%w: the switch URL %q is not http(s)", ErrConfig, c.SwitchURL)
	case len(c.ILPSecret) == 0:
		return fmt.Errorf("%w: an ILP secret is required", ErrConfig)
	case !msg.IsCurrency(c.Currency):
		return fmt.Errorf("%w: currency %q", ErrConfig, c.Currency)
	case c.ContentVersion != msg.Version10 && c.ContentVersion != msg.Version11:
		return fmt.Errorf("%w: content version %q is not 1.0 or 1.1", ErrConfig, c.ContentVersion)
	case c.FulfilState != msg.StateCommitted && c.FulfilState != msg.StateReserved:
		return fmt.Errorf("%w: fulfil state %q is not COMMITTED or RESERVED", ErrConfig, c.FulfilState)
	case c.Timeout < 0 || c.Expiry < 0:
		return fmt.Errorf("%w: negative timeout or expiry", ErrConfig)
	}
	if _, err := money.ParseCurrency(c.Currency); err != nil {
		return fmt.Errorf("%w: currency %s: %v", ErrConfig, c.Currency, err)
	}
	return nil
}

// DFSP is one simulated DFSP: an http.Handler for the switch's requests
// and callbacks, and a payer. It is safe for concurrent use.
type DFSP struct {
	cfg    Config
	signer *jws.Signer
	keys   map[string]*jws.Key

	onPrepare atomic.Pointer[func(msg.TransfersPost) Action]

	waitMu sync.Mutex
	waits  map[string][]chan reply

	partyMu sync.RWMutex
	parties map[partyKey]party
	order   []partyKey // in AddParty order: the payer by default

	bookMu   sync.Mutex
	quotes   map[string]*quoteRec // by transactionId, as the SDK keeps them
	out      map[string]*transferRec
	in       map[string]*transferRec
	books    Books
	made     int
	probMu   sync.Mutex
	problems []error

	work    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.RWMutex // orders Close after every startWork's wg.Add
	closed  atomic.Bool
	stats   struct{ unsolicited atomic.Int64 }
}

// New returns a DFSP; cfg is completed with EnsureDefaults and validated.
func New(cfg Config) (*DFSP, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &DFSP{cfg: cfg, keys: map[string]*jws.Key{}, waits: map[string][]chan reply{},
		parties: map[partyKey]party{}, quotes: map[string]*quoteRec{}, out: map[string]*transferRec{},
		in: map[string]*transferRec{}, work: make(chan struct{}, workMax)}
	d.books.Paid, d.books.Received = map[string]int64{}, map[string]int64{}
	if len(cfg.SigningKey) > 0 {
		s, err := jws.NewSigner(cfg.SigningKey)
		if err != nil {
			return nil, fmt.Errorf("%w: signing key: %w", ErrConfig, err)
		}
		d.signer = s
	}
	for id, pem := range cfg.SwitchKeys {
		k, err := jws.ParsePublicKey(pem)
		if err != nil {
			return nil, fmt.Errorf("%w: key of %s: %w", ErrConfig, id, err)
		}
		d.keys[id] = k
	}
	if cfg.OnPrepare != nil {
		d.SetOnPrepare(cfg.OnPrepare)
	}
	return d, nil
}

// ID returns the DFSP's FSP id.
func (d *DFSP) ID() string { return d.cfg.ID }

// SetOnPrepare replaces Config.OnPrepare (nil: fulfil every prepare), so
// that a test can make a running payee refuse or ignore.
func (d *DFSP) SetOnPrepare(fn func(msg.TransfersPost) Action) {
	if fn == nil {
		d.onPrepare.Store(nil)
		return
	}
	d.onPrepare.Store(&fn)
}

// Close stops taking requests and waits for those being processed.
func (d *DFSP) Close() {
	d.closeMu.Lock()
	d.closed.Store(true)
	d.closeMu.Unlock()
	d.wg.Wait()
}

// Problems returns what went wrong that no caller was told of at once:
// messages Check refused or that were invalid, callbacks nobody waited
// for that also matched no record, fulfilments that did not match.
// At most ProblemsMax are kept, the first ones.
func (d *DFSP) Problems() []error {
	d.probMu.Lock()
	defer d.probMu.Unlock()
	return append([]error(nil), d.problems...)
}

func (d *DFSP) problem(err error) {
	d.probMu.Lock()
	if len(d.problems) < ProblemsMax {
		d.problems = append(d.problems, err)
	}
	d.probMu.Unlock()
}

// Pending returns how many exchanges wait for a callback: zero once every
// call has returned, since waits are removed on return.
func (d *DFSP) Pending() int {
	d.waitMu.Lock()
	defer d.waitMu.Unlock()
	n := 0
	for _, ws := range d.waits {
		n += len(ws)
	}
	return n
}

// Unsolicited returns how many callbacks arrived that nobody waited for
// (late ones after a timeout, the switch's repeats).
func (d *DFSP) Unsolicited() int64 { return d.stats.unsolicited.Load() }

// newID returns a random lower-case UUID v4, as the SDK makes quote and
// transaction ids.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("dfsp: no randomness: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// reply is a callback delivered to the exchange waiting for it.
type reply struct {
	path   string
	header http.Header
	body   []byte
	// errInfo is set for an …/error callback.
	errInfo *msg.ErrorInformation
	// err is set when the callback failed its checks.
	err error
}

// expect registers a wait for the callback of key before the request that
// causes it is sent, so that a fast callback is not missed.
func (d *DFSP) expect(key string) (<-chan reply, func()) {
	ch := make(chan reply, 1)
	d.waitMu.Lock()
	d.waits[key] = append(d.waits[key], ch)
	d.waitMu.Unlock()
	return ch, func() {
		d.waitMu.Lock()
		defer d.waitMu.Unlock()
		ws := d.waits[key]
		for i, c := range ws {
			if c == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(d.waits, key)
		} else {
			d.waits[key] = ws
		}
	}
}

// deliver hands r to the oldest exchange waiting for key and reports
// whether there was one: concurrent look-ups of one party each take one
// answer.
func (d *DFSP) deliver(key string, r reply) bool {
	d.waitMu.Lock()
	defer d.waitMu.Unlock()
	ws := d.waits[key]
	if len(ws) == 0 {
		return false
	}
	ws[0] <- r // buffered, and each wait is handed one reply
	if len(ws) == 1 {
		delete(d.waits, key)
	} else {
		d.waits[key] = ws[1:]
	}
	return true
}

// await waits for the callback of an exchange registered with expect.
func (d *DFSP) await(ctx context.Context, ch <-chan reply, what string) (reply, error) {
	t := time.NewTimer(d.cfg.Timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return r, fmt.Errorf("%s: %w", what, r.err)
		}
		if r.errInfo != nil {
			return r, fmt.Errorf("%s: %w", what, &CallbackError{Path: r.path, Info: *r.errInfo})
		}
		return r, nil
	case <-t.C:
		return reply{}, fmt.Errorf("%s: %w after %v", what, ErrTimeout, d.cfg.Timeout)
	case <-ctx.Done():
		return reply{}, fmt.Errorf("%s: %w: %w", what, ErrTimeout, ctx.Err())
	}
}

// errClosed is returned by calls on a closed DFSP.
func (d *DFSP) errClosed() error {
	if d.closed.Load() {
		return ErrClosed
	}
	return nil
}
