// Package transfer owns the payment flow, from a payer participant's
// request to a committed or aborted transfer on the ledger, with its fee;
// and the operator's deposits and withdrawals. It speaks no protocol: the
// HTTP API (and later ISO 20022 or FSPIOP front ends) call it.
//
// A payment is a linked chain on the ledger: payer → payee for the
// amount and payer → hub fee account for the fee, applied together or not
// at all. For a payee in notify mode the chain is posted at once; for a
// payee in confirm mode it is reserved, the payee is asked, and the
// reservation is committed on accept and aborted on reject or silence.
// If the switch dies in between, the reservation expires by itself.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
)

// State is a transfer's state as participants see it.
type State string

// The states.
const (
	Committed State = "COMMITTED"
	Reserved  State = "RESERVED"
	Aborted   State = "ABORTED"
)

// Payee is where a transfer goes.
type Payee struct {
	Type        string
	Value       string
	Participant string
	Account     string // the payee participant's own reference of its user
}

// Transfer is a payment as participants see it.
type Transfer struct {
	ID        string
	State     State
	Payer     string
	Payee     Payee
	Amount    money.Amount
	Fee       money.Amount
	Currency  money.Currency
	QuoteID   string
	Note      string
	CreatedAt time.Time
	// Reason says why an ABORTED transfer was aborted: "rejected: …" (the
	// payee's reason), "timeout", "payee unreachable" or "expired".
	Reason string
	// seq orders transfers in listings: the timestamp of the payment
	// event.
	seq int64
}

// Errors of the payment flow. The API maps each to a problem type.
var (
	// ErrInvalid means the request is malformed; the message says how.
	ErrInvalid = errors.New("invalid request")
	// ErrUnknownParty means the payee alias is not registered.
	ErrUnknownParty = errors.New("unknown party")
	// ErrConflict means the id was used before for another request.
	ErrConflict = errors.New("transfer id used with different content")
	// ErrInsufficientFunds means the payer's available balance (with its
	// net debit cap) does not cover amount and fee.
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrSuspended means the payer or the payee participant is suspended.
	ErrSuspended = errors.New("participant suspended")
	// ErrCurrency means a participant is not enabled for the currency, or
	// the payee's alias is held in another currency.
	ErrCurrency = errors.New("currency not enabled")
	// ErrSameParticipant means payer and payee are one participant: an
	// on-us payment, which the participant settles in its own books.
	ErrSameParticipant = errors.New("payer and payee are the same participant")
	// ErrQuoteExpired means the quote's validity ended: ask for a new one.
	ErrQuoteExpired = errors.New("quote expired")
	// ErrQuoteMismatch means the quote is for another payer, payee,
	// amount or currency, or is not a quote of this switch.
	ErrQuoteMismatch = errors.New("quote does not match the transfer")
	// ErrNotFound means there is no such transfer visible to the caller.
	ErrNotFound = errors.New("transfer not found")
	// ErrLimitBelowPosition means a net debit cap lower than what the
	// participant already uses.
	ErrLimitBelowPosition = errors.New("participant's position exceeds the new net debit cap")
)

// Journal is what the flow needs of the ledger.
type Journal interface {
	Submit(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, error)
	Transfer(ctx context.Context, id ledger.ID) (journal.Transfer, error)
	Known(ids []ledger.ID) []bool
	Account(ctx context.Context, id ledger.AccountID) (ledger.Account, error)
	AccountEvents(ctx context.Context, account ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error)
}

// Directory resolves aliases.
type Directory interface {
	Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error)
}

// Confirmer asks a payee participant in confirm mode whether it accepts
// a transfer. An error (including a timeout) counts as a refusal.
type Confirmer interface {
	Confirm(ctx context.Context, payee participant.Participant, t Transfer) (accept bool, reason string, err error)
}

// Notifier is told that a participant has new incoming transfers to be
// notified of, so that delivery does not wait for its next poll.
type Notifier interface {
	Wake(participant string)
}

// Options configure the flow.
type Options struct {
	Now func() time.Time
	// Region is the default region for national phone numbers ("CN").
	Region string
	// ConfirmTimeout bounds the wait for a confirm-mode payee (default 5 s).
	ConfirmTimeout time.Duration
	// QuoteTTL is how long a quote is valid (default 60 s).
	QuoteTTL time.Duration
}

// Service runs payments.
type Service struct {
	journal      Journal
	participants *participant.Registry
	directory    Directory
	fees         *quote.Fees
	signer       *quote.Signer
	confirmer    Confirmer
	notifier     Notifier
	opts         Options
}

// NewService wires the flow.
func NewService(j Journal, p *participant.Registry, d Directory, f *quote.Fees, s *quote.Signer, c Confirmer, n Notifier, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Region == "" {
		opts.Region = "CN"
	}
	if opts.ConfirmTimeout <= 0 {
		opts.ConfirmTimeout = 5 * time.Second
	}
	if opts.QuoteTTL <= 0 {
		opts.QuoteTTL = time.Minute
	}
	return &Service{journal: j, participants: p, directory: d, fees: f, signer: s, confirmer: c, notifier: n, opts: opts}
}

// Limits on what a request may hold.
const (
	IDMax   = 128
	NoteMax = 256
	// BatchMax is the most transfers one CreateMany takes: two ledger
	// commands each, well inside one ledger batch.
	BatchMax = 1000
)

// Request is a payer's request to pay.
type Request struct {
	ID         string
	PayeeType  string
	PayeeValue string
	Amount     money.Amount
	Currency   money.Currency
	QuoteID    string
	Note       string
}

// ValidID reports whether s can be a transfer id: 1 to IDMax characters
// of letters, digits and . _ : -
func ValidID(s string) bool {
	if s == "" || len(s) > IDMax {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// Outcome is one transfer's answer: the transfer, whether this request
// created it (false: it existed and is returned unchanged), or an error.
type Outcome struct {
	Transfer Transfer
	Created  bool
	Err      error
}

// Create runs one payment.
func (s *Service) Create(ctx context.Context, payer participant.Participant, req Request) (Transfer, bool, error) {
	out := s.CreateMany(ctx, payer, []Request{req})
	return out[0].Transfer, out[0].Created, out[0].Err
}

// pending is a payment being prepared.
type pending struct {
	i      int
	rec    record
	req    Request
	payee  participant.Participant
	digest ledger.ID
	id     ledger.ID // of the payment leg
	first  int       // index of its first command in the submission
}

// CreateMany runs up to BatchMax payments of one payer in one ledger
// submission; each gets its own outcome.
func (s *Service) CreateMany(ctx context.Context, payer participant.Participant, reqs []Request) []Outcome {
	out := make([]Outcome, len(reqs))
	if len(reqs) > BatchMax {
		for i := range out {
			out[i].Err = fmt.Errorf("%w: at most %d transfers per batch", ErrInvalid, BatchMax)
		}
		return out
	}
	var ps []*pending
	cmds := make([]ledger.Command, 0, 2*len(reqs))
	seen := make(map[string]int, len(reqs))
	parsed := make([]*pending, len(reqs))
	types := make([]directory.Type, len(reqs))
	ids := make([]ledger.ID, 0, len(reqs))
	for i := range reqs {
		p, typ, err := s.parse(payer, &reqs[i])
		if err == nil {
			if _, dup := seen[p.rec.ID]; dup {
				err = fmt.Errorf("%w: transfer id %q appears twice in the batch", ErrInvalid, p.rec.ID)
			}
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		seen[p.rec.ID] = i
		parsed[i], types[i] = p, typ
		ids = append(ids, p.id)
	}
	known := s.journal.Known(ids)
	k := 0
	for i, p := range parsed {
		if p == nil {
			continue
		}
		isKnown, typ := known[k], types[i]
		k++
		// A retry is answered from the ledger before anything else is
		// checked: what was true then is what the client gets again.
		if isKnown {
			if t, found, err := s.existing(ctx, p); found || err != nil {
				out[i] = Outcome{Transfer: t, Err: err}
				continue
			}
		}
		if err := s.resolve(ctx, payer, p, typ); err != nil {
			out[i].Err = err
			continue
		}
		p.i = i
		p.first = len(cmds)
		cmds = s.commands(cmds, p, payer)
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return out
	}
	res, err := s.journal.Submit(ctx, cmds)
	if err != nil {
		for _, p := range ps {
			out[p.i].Err = fmt.Errorf("transfer %s: %w", p.rec.ID, err)
		}
		return out
	}
	var confirm []*pending
	for _, p := range ps {
		st := res[p.first].Status
		var fee ledger.Status
		if p.rec.Fee > 0 {
			fee = res[p.first+1].Status
		}
		switch {
		case st == ledger.StatusOK:
			t := p.transfer(res[p.first].Timestamp)
			t.State = Committed
			if p.payee.Acceptance == participant.Confirm {
				t.State = Reserved
				confirm = append(confirm, p)
			} else {
				s.wake(p.payee.ID)
			}
			out[p.i] = Outcome{Transfer: t, Created: true}
		case st == ledger.StatusExists:
			t, _, err := s.existing(ctx, p)
			out[p.i] = Outcome{Transfer: t, Err: err}
		case st == ledger.StatusExistsDifferent:
			out[p.i].Err = fmt.Errorf("transfer %s: %w", p.rec.ID, ErrConflict)
		case st == ledger.StatusInsufficientFunds || fee == ledger.StatusInsufficientFunds:
			out[p.i].Err = fmt.Errorf("transfer %s: %w", p.rec.ID, ErrInsufficientFunds)
		default:
			out[p.i].Err = fmt.Errorf("transfer %s: ledger refused: payment %v, fee %v", p.rec.ID, st, fee)
		}
	}
	if len(confirm) > 0 {
		s.confirm(ctx, confirm, out)
	}
	return out
}

// parse validates a request and normalises its payee alias: enough to
// recognise a retry, before anything is looked up.
func (s *Service) parse(payer participant.Participant, req *Request) (*pending, directory.Type, error) {
	switch {
	case !ValidID(req.ID):
		return nil, "", fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, IDMax)
	case req.Amount <= 0:
		return nil, "", fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case len(req.Note) > NoteMax:
		return nil, "", fmt.Errorf("%w: note must be at most %d bytes", ErrInvalid, NoteMax)
	case !req.Currency.Valid():
		return nil, "", fmt.Errorf("%w: unknown currency", ErrInvalid)
	}
	typ, err := directory.ParseType(req.PayeeType)
	if err != nil {
		return nil, "", fmt.Errorf("%w: payee type: %v", ErrInvalid, err)
	}
	value, err := directory.LookupKey(typ, req.PayeeValue, s.opts.Region)
	if err != nil {
		return nil, "", fmt.Errorf("%w: payee value: %v", ErrInvalid, err)
	}
	p := &pending{req: *req, rec: record{
		ID: req.ID, Payer: payer.ID, PayeeType: string(typ), PayeeValue: value, QuoteID: req.QuoteID, Note: req.Note,
	}}
	p.digest = p.rec.digest(req.Amount, req.Currency)
	p.id = ledgerID(legPayment, req.ID)
	return p, typ, nil
}

// resolve checks that the payer may pay, finds the payee and works out
// the fee.
func (s *Service) resolve(ctx context.Context, payer participant.Participant, p *pending, typ directory.Type) error {
	req := &p.req
	switch {
	case payer.Status != participant.Active:
		return fmt.Errorf("payer %s: %w", payer.ID, ErrSuspended)
	case !payer.Uses(req.Currency):
		return fmt.Errorf("payer %s is not enabled for %s: %w", payer.ID, req.Currency, ErrCurrency)
	}
	value := p.rec.PayeeValue
	party, err := s.directory.Lookup(ctx, typ, value)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("payee %s %s: %w", typ, value, ErrUnknownParty)
	} else if err != nil {
		return fmt.Errorf("payee %s %s: %w", typ, value, err)
	}
	payee, ok := s.participants.Get(party.Participant)
	switch {
	case !ok:
		return fmt.Errorf("payee %s %s: %w", typ, value, ErrUnknownParty)
	case payee.ID == payer.ID:
		return fmt.Errorf("payee %s %s: %w", typ, value, ErrSameParticipant)
	case payee.Status != participant.Active:
		return fmt.Errorf("payee participant %s: %w", payee.ID, ErrSuspended)
	case !payee.Uses(req.Currency) || party.Currency != req.Currency:
		return fmt.Errorf("payee %s %s does not take %s: %w", typ, value, req.Currency, ErrCurrency)
	}
	p.payee = payee
	p.rec.PayeeParticipant, p.rec.PayeeAccount = payee.ID, party.Account
	if req.QuoteID != "" {
		q, err := s.signer.Verify(req.QuoteID, s.opts.Now())
		switch {
		case errors.Is(err, quote.ErrExpired):
			return fmt.Errorf("quote: %w", ErrQuoteExpired)
		case err != nil:
			return fmt.Errorf("quote: %w", ErrQuoteMismatch)
		case q.Payer != payer.ID || q.PayeeType != string(typ) || q.PayeeValue != value ||
			q.PayeeParticipant != payee.ID || q.Amount != req.Amount || q.Currency != req.Currency:
			return fmt.Errorf("quote is for another transfer: %w", ErrQuoteMismatch)
		}
		p.rec.Fee = q.Fee
		return nil
	}
	fee, err := s.fees.Schedule(req.Currency).Fee(req.Amount)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	p.rec.Fee = fee
	return nil
}

// existing answers a request whose id is taken: the stored transfer if
// it is the same request, ErrConflict if not.
func (s *Service) existing(ctx context.Context, p *pending) (Transfer, bool, error) {
	jt, err := s.journal.Transfer(ctx, p.id)
	if errors.Is(err, journal.ErrNotFound) {
		return Transfer{}, false, nil
	}
	if err != nil {
		return Transfer{}, true, fmt.Errorf("transfer %s: %w", p.rec.ID, err)
	}
	if jt.Ref != p.digest {
		return Transfer{}, true, fmt.Errorf("transfer %s: %w", p.rec.ID, ErrConflict)
	}
	t, err := s.fromLedger(ctx, jt)
	return t, true, err
}

// commands returns a payment's ledger chain.
func (s *Service) commands(cmds []ledger.Command, p *pending, payer participant.Participant) []ledger.Command {
	kind, timeout := ledger.KindPost, time.Duration(0)
	if p.payee.Acceptance == participant.Confirm {
		// The reservation outlives the confirmation by a margin, so that
		// only a switch that died in between leaves it to expire.
		kind, timeout = ledger.KindReserve, s.opts.ConfirmTimeout+30*time.Second
	}
	c := p.req.Currency
	cmds = append(cmds, ledger.Command{
		Kind: kind, ID: p.id, Debit: payer.Account(c), Credit: p.payee.Account(c),
		Amount: p.req.Amount, Timeout: timeout, Purpose: PurposePayment, Ref: p.digest, Meta: p.rec.encode(),
	})
	if p.rec.Fee > 0 {
		cmds[len(cmds)-1].Linked = true
		cmds = append(cmds, ledger.Command{
			Kind: kind, ID: ledgerID(legFee, p.rec.ID), Debit: payer.Account(c), Credit: participant.FeeAccount(c),
			Amount: p.rec.Fee, Timeout: timeout, Purpose: PurposeFee, Ref: p.digest,
		})
	}
	return cmds
}

func (p *pending) transfer(ts int64) Transfer {
	return Transfer{
		ID: p.rec.ID, Payer: p.rec.Payer,
		Payee:  Payee{Type: p.rec.PayeeType, Value: p.rec.PayeeValue, Participant: p.rec.PayeeParticipant, Account: p.rec.PayeeAccount},
		Amount: p.req.Amount, Fee: p.rec.Fee, Currency: p.req.Currency, QuoteID: p.rec.QuoteID, Note: p.rec.Note,
		CreatedAt: time.Unix(0, ts).UTC(), seq: ts,
	}
}

// confirm asks confirm-mode payees, concurrently, and commits or aborts
// each reservation accordingly, in one ledger submission.
func (s *Service) confirm(ctx context.Context, ps []*pending, out []Outcome) {
	type answer struct {
		accept bool
		reason string
	}
	answers := make([]answer, len(ps))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for k, p := range ps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, s.opts.ConfirmTimeout)
			defer cancel()
			accept, reason, err := s.confirmer.Confirm(cctx, p.payee, out[p.i].Transfer)
			switch {
			case err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
				answers[k] = answer{false, "timeout"}
			case err != nil:
				// Not the payee's decision, and the error may name its
				// internal address: the payer only learns it failed.
				answers[k] = answer{false, "payee unreachable"}
			case !accept:
				answers[k] = answer{false, "rejected: " + reason}
			default:
				answers[k] = answer{true, ""}
			}
		}()
	}
	wg.Wait()
	var cmds []ledger.Command
	for k, p := range ps {
		cmds = append(cmds, secondPhase(p.rec.ID, p.rec.Fee > 0, answers[k].accept, answers[k].reason)...)
	}
	// The second phase must not be lost to a caller who hung up.
	res, err := s.journal.Submit(context.WithoutCancel(ctx), cmds)
	k := 0
	for j, p := range ps {
		n := 1
		if p.rec.Fee > 0 {
			n = 2
		}
		t := &out[p.i].Transfer
		switch {
		case err != nil:
			out[p.i].Err = fmt.Errorf("transfer %s: second phase: %w", p.rec.ID, err)
		case res[k].Status == ledger.StatusPendingExpired:
			t.State, t.Reason = Aborted, "expired"
		case !res[k].Status.Succeeded():
			out[p.i].Err = fmt.Errorf("transfer %s: second phase refused: %v", p.rec.ID, res[k].Status)
		case answers[j].accept:
			t.State = Committed
			s.wake(p.payee.ID)
		default:
			t.State, t.Reason = Aborted, answers[j].reason
		}
		k += n
	}
}

// secondPhase returns the commands that commit or abort a reserved
// payment (and its fee), linked.
func secondPhase(id string, fee, accept bool, reason string) []ledger.Command {
	kind, l, fl := ledger.KindCommit, legCommit, legFeeCommit
	if !accept {
		kind, l, fl = ledger.KindAbort, legAbort, legFeeAbort
	}
	cmds := []ledger.Command{{Kind: kind, ID: ledgerID(l, id), Pending: ledgerID(legPayment, id), Purpose: PurposePayment, Meta: reason}}
	if fee {
		cmds[0].Linked = true
		cmds = append(cmds, ledger.Command{Kind: kind, ID: ledgerID(fl, id), Pending: ledgerID(legFee, id), Purpose: PurposeFee})
	}
	return cmds
}

func (s *Service) wake(p string) {
	if s.notifier != nil {
		s.notifier.Wake(p)
	}
}

// fromLedger rebuilds a transfer from its payment event.
func (s *Service) fromLedger(ctx context.Context, jt journal.Transfer) (Transfer, error) {
	rec, err := decodeRecord(jt.Meta)
	if err != nil {
		return Transfer{}, fmt.Errorf("transfer event %d: %w", jt.Timestamp, err)
	}
	t := Transfer{
		ID: rec.ID, Payer: rec.Payer,
		Payee:  Payee{Type: rec.PayeeType, Value: rec.PayeeValue, Participant: rec.PayeeParticipant, Account: rec.PayeeAccount},
		Amount: jt.Amount, Fee: rec.Fee, Currency: jt.Currency, QuoteID: rec.QuoteID, Note: rec.Note,
		CreatedAt: time.Unix(0, jt.Timestamp).UTC(), seq: jt.Timestamp,
	}
	switch jt.State {
	case ledger.StatePosted, ledger.StateCommitted:
		t.State = Committed
	case ledger.StatePending:
		t.State = Reserved
	case ledger.StateExpired:
		t.State, t.Reason = Aborted, "expired"
	case ledger.StateAborted:
		t.State = Aborted
		if ab, err := s.journal.Transfer(ctx, ledgerID(legAbort, rec.ID)); err == nil {
			t.Reason = ab.Meta
		}
	}
	return t, nil
}

// Viewer is who asks to see transfers: a participant, or the operator
// (Participant empty).
type Viewer struct {
	Participant string
}

func (v Viewer) sees(t *Transfer) bool {
	return v.Participant == "" || v.Participant == t.Payer || v.Participant == t.Payee.Participant
}

// Get returns a transfer if the viewer may see it: its payer, its payee
// participant or the operator. Anyone else gets ErrNotFound, as if it did
// not exist.
func (s *Service) Get(ctx context.Context, v Viewer, id string) (Transfer, error) {
	if !ValidID(id) {
		return Transfer{}, fmt.Errorf("transfer %q: %w", id, ErrNotFound)
	}
	jt, err := s.journal.Transfer(ctx, ledgerID(legPayment, id))
	if errors.Is(err, journal.ErrNotFound) {
		return Transfer{}, fmt.Errorf("transfer %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Transfer{}, fmt.Errorf("transfer %s: %w", id, err)
	}
	t, err := s.fromLedger(ctx, jt)
	if err != nil {
		return Transfer{}, err
	}
	if !v.sees(&t) {
		return Transfer{}, fmt.Errorf("transfer %s: %w", id, ErrNotFound)
	}
	return t, nil
}

// ListMax bounds a page of List.
const ListMax = 1000

// List returns up to limit of the participant's transfers, as payer or
// payee, created at or after since (nanoseconds), oldest first, and the
// position to continue from (0 when there is no more).
func (s *Service) List(ctx context.Context, p participant.Participant, since int64, limit int) ([]Transfer, int64, error) {
	limit = min(max(limit, 1), ListMax)
	var all []ledger.Event
	for _, c := range p.Currencies {
		from := since
		acct := p.Account(c)
		var got []ledger.Event
		for len(got) < limit+1 {
			evs, err := s.journal.AccountEvents(ctx, acct, from, 1<<63-1, 4*limit)
			if err != nil {
				return nil, 0, fmt.Errorf("list transfers of %s: %w", p.ID, err)
			}
			for _, e := range evs {
				if e.Purpose == PurposePayment && (e.Kind == ledger.KindPost || e.Kind == ledger.KindReserve) {
					got = append(got, e)
				}
			}
			if len(evs) < 4*limit {
				break
			}
			from = evs[len(evs)-1].Timestamp + 1
		}
		all = append(all, got...)
	}
	sortEvents(all)
	next := int64(0)
	if len(all) > limit {
		all = all[:limit]
		next = all[limit-1].Timestamp + 1
	}
	out := make([]Transfer, 0, len(all))
	for _, e := range all {
		jt, err := s.journal.Transfer(ctx, e.ID)
		if err != nil {
			return nil, 0, fmt.Errorf("list transfers of %s: %w", p.ID, err)
		}
		t, err := s.fromLedger(ctx, jt)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, next, nil
}

func sortEvents(evs []ledger.Event) {
	// Few currencies: an insertion sort of already sorted runs is enough.
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Timestamp < evs[j-1].Timestamp; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

// Credit returns the payment that event e commits to the credit of
// account, if it does: a one-phase payment to it, or the commit of a
// reserved one. Delivery of notifications uses it.
func (s *Service) Credit(ctx context.Context, account ledger.AccountID, e ledger.Event) (Transfer, bool, error) {
	if e.Purpose != PurposePayment || e.Credit != account {
		return Transfer{}, false, nil
	}
	var jt journal.Transfer
	switch e.Kind {
	case ledger.KindPost:
		jt = journal.Transfer{Event: e, State: ledger.StatePosted}
	case ledger.KindCommit:
		var err error
		if jt, err = s.journal.Transfer(ctx, e.Pending); err != nil {
			return Transfer{}, false, fmt.Errorf("credit event %d: %w", e.Timestamp, err)
		}
		jt.State = ledger.StateCommitted
	default:
		return Transfer{}, false, nil
	}
	t, err := s.fromLedger(ctx, jt)
	return t, err == nil, err
}

// SetNotifier sets who is told of new incoming transfers. It is set once,
// before the service takes requests (the notifier reads the service).
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// SetClock replaces the clock that quotes are issued and checked with;
// tests use it to let a quote expire. Not for use while serving.
func (s *Service) SetClock(now func() time.Time) { s.opts.Now = now }
