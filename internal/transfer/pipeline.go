package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/telemetry"
)

// The payment pipeline. A batch of one payer's requests goes through
// named stages, each a small function:
//
//	parse → replay → resolve → screen → price → post → confirm | offer → finish
//
// A stage sees only the payments no earlier stage answered, and answers
// (refuses) one payment by returning an error for it, without touching
// the others. post and finish each make one ledger submission for the
// whole batch.

// mode says how a batch is posted.
type mode uint8

const (
	// modeByPayee posts payments to notify-mode payees at once; those to
	// confirm-mode payees are reserved, confirmed synchronously and
	// finished in the same call.
	modeByPayee mode = iota
	// modePrepare reserves every payment until the batch's expiry and
	// offers it to the payee, who answers later with Fulfil or Reject.
	modePrepare
)

// payment is one request on its way through the pipeline.
type payment struct {
	req    *Request // the caller's
	rec    record
	typ    directory.Type
	id     ledger.ID // of its first leg
	digest ledger.ID
	payee  *participant.Participant // shared by the batch's payments to it
	legs   []Leg
	// target is the payee's currency when it is not the payer's: an FX
	// payment, priced by its quote into fx.
	target money.Currency
	fx     *fxPlan
	// pre is how many commands its chain has before its legs (the FX
	// quote's mark), n how many in all.
	pre, n int
	// release ends its FX quota's in-flight count.
	release func()
	// timeout is its reservation's (zero: posted at once).
	timeout time.Duration
	// screening is what the Screener is shown: kept here, so that
	// showing it allocates nothing.
	screening Screening
	// first is the index of its first command in the batch's submission.
	first int
	// decided, ph and reason are the payee's answer to a reservation,
	// for the finish stage; expired says the reservation's deadline
	// passed before it, lost that another answer came first.
	decided bool
	ph      phase
	reason  string
	expired bool
	lost    bool
	done    bool // answered: later stages skip it
}

// batch is one call's payments and their outcomes, index for index.
type batch struct {
	payer    participant.Participant
	mode     mode
	expires  time.Time // modePrepare: the reservations' deadline
	items    []payment
	out      []Outcome
	legSpace []Leg // backing array of the items' legs
	// payees holds the payees met so far, a few, which the batch's
	// payments to them share; its capacity is fixed, so that pointers
	// into it stay valid.
	payees []participant.Participant
}

// newBatch returns a batch of reqs, or nil if there are too many.
func (s *Service) newBatch(payer participant.Participant, reqs []Request, m mode) *batch {
	if len(reqs) > BatchMax {
		return nil
	}
	if len(reqs) == 1 {
		return newSingle(payer, &reqs[0], m)
	}
	b := &batch{payer: payer, mode: m, items: make([]payment, len(reqs)), out: make([]Outcome, len(reqs)),
		legSpace: make([]Leg, 0, legsGuess*len(reqs)), payees: make([]participant.Participant, 0, payeesMax)}
	for i := range reqs {
		b.items[i].req = &reqs[i]
	}
	return b
}

// single is a batch of one payment with its parts in one allocation:
// the most frequent call, one payment per API request.
type single struct {
	b     batch
	req   Request
	items [1]payment
	out   [1]Outcome
	legs  [legsGuess]Leg
	payee [1]participant.Participant
}

// newSingle returns a batch of one request: req, or, if it is nil, the
// batch's own, which the caller fills.
func newSingle(payer participant.Participant, req *Request, m mode) *batch {
	sb := &single{}
	if req == nil {
		req = &sb.req
	}
	sb.items[0].req = req
	sb.b = batch{payer: payer, mode: m, items: sb.items[:], out: sb.out[:], legSpace: sb.legs[:0], payees: sb.payee[:0]}
	return &sb.b
}

// payee returns the participant id from reg. The first payeesMax payees
// are kept in the batch and shared by its payments to them.
func (b *batch) payee(reg Participants, id string) (*participant.Participant, bool) {
	for k := range b.payees {
		if b.payees[k].ID == id {
			return &b.payees[k], true
		}
	}
	if len(b.payees) == cap(b.payees) {
		p, ok := reg.Get(id)
		return &p, ok
	}
	p, ok := reg.Get(id)
	if !ok {
		return nil, false
	}
	b.payees = append(b.payees, p)
	return &b.payees[len(b.payees)-1], true
}

// legsGuess sizes a batch's room for legs up front: a payment and its
// fee. It is a guess, not a limit: pricing appends what it needs.
const legsGuess = 2

// payeesMax bounds the payees a batch keeps to share, and the search.
const payeesMax = 8

// refuse answers payment i with err.
func (b *batch) refuse(i int, err error) {
	b.out[i].Err = err
	b.items[i].done = true
}

// answer answers payment i with t.
func (b *batch) answer(i int, t *Transfer, created bool) {
	b.out[i].Transfer, b.out[i].Created = *t, created
	b.items[i].done = true
}

// each runs fn on every payment not answered yet; an error refuses that
// payment.
func (b *batch) each(fn func(p *payment) error) {
	for i := range b.items {
		if p := &b.items[i]; !p.done {
			if err := fn(p); err != nil {
				b.refuse(i, err)
			}
		}
	}
}

// run takes a batch through the stages, each a span of the request's
// trace when it is traced.
func (s *Service) run(ctx context.Context, b *batch) {
	stage(ctx, "transfer.parse", func(context.Context) { s.parse(b) })
	stage(ctx, "transfer.replay", func(ctx context.Context) { s.replay(ctx, b) })
	stage(ctx, "transfer.resolve", func(ctx context.Context) {
		b.each(func(p *payment) error { return s.resolve(ctx, b, p) })
	})
	stage(ctx, "transfer.screen", func(ctx context.Context) {
		b.each(func(p *payment) error { return s.screen(ctx, &b.payer, p) })
	})
	stage(ctx, "transfer.price", func(context.Context) {
		b.each(func(p *payment) error { return s.price(b, p) })
		b.each(s.reserveQuota)
		if b.mode == modePrepare {
			b.each(func(p *payment) error { return s.reservePrepared(b, p) })
		} else {
			s.confirmDeadlines(b)
		}
	})
	stage(ctx, "transfer.post", func(ctx context.Context) { s.post(ctx, b) })
	b.releaseQuota() // posted or reserved: the durable events count them now
	if !b.anyReserved() {
		return // the usual case: every payment was posted at once
	}
	if b.mode == modePrepare {
		stage(ctx, "transfer.offer", func(ctx context.Context) { s.offer(ctx, b) })
	} else {
		stage(ctx, "transfer.confirm", func(ctx context.Context) { s.confirm(ctx, b) })
	}
	stage(ctx, "transfer.finish", func(ctx context.Context) { s.finish(ctx, b) })
}

// stage runs fn as the pipeline stage name: in a child span of ctx's
// span if that one is recorded, else as it is, at no cost.
func stage(ctx context.Context, name string, fn func(context.Context)) {
	ctx, span := telemetry.Start(ctx, name)
	fn(ctx)
	span.End()
}

// parse validates each request and normalises its payee alias: enough to
// recognise a retry, before anything is looked up. An id twice in one
// batch is refused the second time.
func (s *Service) parse(b *batch) {
	var seen map[string]struct{} // for batches beyond a few
	if len(b.items) > smallBatch {
		seen = make(map[string]struct{}, len(b.items))
	}
	for i := range b.items {
		p := &b.items[i]
		if p.done {
			continue
		}
		err := s.parseOne(&b.payer, p)
		if err == nil && b.seen(seen, i) {
			err = fmt.Errorf("%w: transfer id %q appears twice in the batch", ErrInvalid, p.rec.ID)
		}
		if err != nil {
			b.refuse(i, err)
		}
	}
}

// smallBatch is the size up to which a batch's ids are compared one by
// one rather than through a map.
const smallBatch = 16

// seen reports whether payment i's id came earlier in the batch, and
// notes it in seen, if the batch is large enough to have one.
func (b *batch) seen(seen map[string]struct{}, i int) bool {
	id := b.items[i].rec.ID
	if seen != nil {
		_, dup := seen[id]
		seen[id] = struct{}{}
		return dup
	}
	for k := range i {
		if q := &b.items[k]; !q.done && q.rec.ID == id {
			return true
		}
	}
	return false
}

// parseOne validates one request.
func (s *Service) parseOne(payer *participant.Participant, p *payment) error {
	req := p.req
	switch {
	case !ValidID(req.ID):
		return fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, IDMax)
	case req.Amount <= 0:
		return fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case len(req.Note) > NoteMax:
		return fmt.Errorf("%w: note must be at most %d bytes", ErrInvalid, NoteMax)
	case !req.Currency.Valid():
		return fmt.Errorf("%w: unknown currency", ErrInvalid)
	case req.Purpose != "" && !fx.ValidPurpose(req.Purpose):
		return fmt.Errorf("%w: purpose %q is not an ISO 20022 external purpose code", ErrInvalid, req.Purpose)
	}
	typ, value, err := s.payeeKey(req.PayeeType, req.PayeeValue)
	if err != nil {
		return err
	}
	if err := validPayerAccount(req.PayerAccount); err != nil {
		return err
	}
	factors, err := ParseFactors(req.Factors)
	if err != nil {
		return err
	}
	p.typ = typ
	p.rec = record{ID: req.ID, Payer: payer.ID, PayeeType: payeeType(typ), PayeeValue: value, QuoteID: req.QuoteID, Note: req.Note,
		PayerAccount: req.PayerAccount, Factors: factors, Purpose: req.Purpose}
	p.digest = p.rec.digest(req.Amount, req.Currency)
	p.id = ledgerID(paymentLeg, req.ID)
	return nil
}

// replay answers the retries: a request whose id the ledger knows is
// answered from the ledger before anything else is checked, since what
// was true then is what the client gets again. One read lock for the
// whole batch.
func (s *Service) replay(ctx context.Context, b *batch) {
	ids := make([]ledger.ID, 0, len(b.items))
	for i := range b.items {
		if p := &b.items[i]; !p.done {
			ids = append(ids, p.id)
		}
	}
	if len(ids) == 0 {
		return
	}
	known := s.Journal.Known(ids)
	k := 0
	for i := range b.items {
		if b.items[i].done {
			continue
		}
		if k++; !known[k-1] {
			continue
		}
		if t, found, err := s.existing(ctx, &b.items[i]); err != nil {
			b.refuse(i, err)
		} else if found {
			b.answer(i, &t, false)
		}
	}
}

// existing answers a request whose id is taken: the stored transfer if
// it is the same request, ErrConflict if not; found is false if the id
// is not taken after all.
func (s *Service) existing(ctx context.Context, p *payment) (t Transfer, found bool, err error) {
	jt, err := s.Journal.Transfer(ctx, p.id)
	if errors.Is(err, journal.ErrNotFound) {
		return Transfer{}, false, nil
	}
	if err != nil {
		return Transfer{}, true, fmt.Errorf("transfer %s: %w", p.rec.ID, err)
	}
	if jt.Ref != p.digest {
		return Transfer{}, true, fmt.Errorf("transfer %s: %w", p.rec.ID, ErrConflict)
	}
	t, err = s.fromLedger(ctx, jt)
	return t, true, err
}

// resolve checks that the payer may pay, and finds the payee participant
// and its account reference from the alias.
func (s *Service) resolve(ctx context.Context, b *batch, p *payment) error {
	payer := &b.payer
	c := p.req.Currency
	switch {
	case payer.Status != participant.Active:
		return fmt.Errorf("payer %s: %w", payer.ID, ErrSuspended)
	case !payer.Uses(c):
		return fmt.Errorf("payer %s is not enabled for %s: %w", payer.ID, c, ErrCurrency)
	}
	typ, value := p.rec.PayeeType, p.rec.PayeeValue
	party, err := s.payeeParty(ctx, p.typ, value, c)
	if err != nil {
		if k := fault.KindOf(err); k == fault.Internal || k == fault.Unavailable {
			// A failure of the switch is logged, not shown to the
			// payer: the alias stays out of the logs.
			return fmt.Errorf("payee %s: %w", typ, err)
		}
		return fmt.Errorf("payee %s %s: %w", typ, value, err)
	}
	payee, ok := b.payee(s.Participants, party.Participant)
	switch {
	case !ok:
		return fmt.Errorf("payee %s %s: %w", typ, value, ErrUnknownParty)
	case payee.ID == payer.ID:
		return fmt.Errorf("payee %s %s: %w", typ, value, ErrSameParticipant)
	case payee.Status != participant.Active:
		return fmt.Errorf("payee participant %s: %w", payee.ID, ErrSuspended)
	case party.Currency != c && s.Rates != nil && party.Currency.Valid() && payee.Uses(party.Currency):
		p.target = party.Currency // an FX payment: its quote prices the exchange
	case !payee.Uses(c) || party.Currency != c:
		return fmt.Errorf("payee %s %s does not take %s: %w", typ, value, c, ErrCurrency)
	case p.req.Purpose != "":
		return fmt.Errorf("%w: purpose is for payments to a payee in another currency", ErrInvalid)
	}
	p.payee = payee
	p.rec.PayeeParticipant, p.rec.PayeeAccount = payee.ID, party.Account
	return nil
}

// screen asks the Screener whether the payment may go ahead, and holds
// it for review if the Screener says so: reserved for the review
// timeout, whatever the payee's acceptance mode.
func (s *Service) screen(ctx context.Context, payer *participant.Participant, p *payment) error {
	p.screening = Screening{
		ID: p.rec.ID, Payer: payer, Payee: p.payee, PayeeType: p.rec.PayeeType, PayeeValue: p.rec.PayeeValue,
		PayeeAccount: p.rec.PayeeAccount, Amount: p.req.Amount, Currency: p.req.Currency, Note: p.req.Note,
		PayerAccount: p.rec.PayerAccount, Factors: p.rec.Factors, At: s.Now(),
	}
	v, err := s.Screener.Screen(ctx, &p.screening)
	if err != nil {
		return err
	}
	if v.Hold {
		p.rec.Held, p.timeout = true, s.cfg.ReviewTimeout
	}
	return nil
}

// price works out the payment's legs: from the quote the payer accepted,
// or from the fee schedule.
func (s *Service) price(b *batch, p *payment) error {
	fee, err := s.fee(&b.payer, p)
	if err != nil {
		return err
	}
	p.rec.Fee = fee
	start := len(b.legSpace)
	if f := p.fx; f != nil {
		b.legSpace = fxLegs(b.legSpace, &b.payer, &f.provider, p.payee, p.req.Currency, p.req.Amount, fee, f.terms.ProviderFee, f.tgt, f.target)
		p.pre = 1
	} else {
		b.legSpace = schemeLegs(b.legSpace, &b.payer, p.payee, p.req.Currency, p.req.Amount, fee)
	}
	p.legs = b.legSpace[start:len(b.legSpace):len(b.legSpace)]
	return nil
}

// confirmDeadlines reserves, rather than posts, the payments to
// confirm-mode payees, for as long as asking all of them takes: they are
// asked confirmMax at a time, each for at most the confirm timeout, and
// the reservation outlives the last answer by a margin, so that only a
// switch that died in between leaves it to expire.
func (s *Service) confirmDeadlines(b *batch) {
	n := 0
	for i := range b.items {
		if p := &b.items[i]; !p.done && !p.rec.Held && p.payee.Confirms() {
			n++
		}
	}
	if n == 0 {
		return
	}
	waves := time.Duration((n + confirmMax - 1) / confirmMax)
	timeout := min(s.cfg.ConfirmTimeout*waves+reservationMargin, ledger.TimeoutMax)
	for i := range b.items {
		if p := &b.items[i]; !p.done && !p.rec.Held && p.payee.Confirms() {
			p.timeout = timeout
		}
	}
}

// fee is the payment's scheme fee: the quote's, if it names one that
// holds, or the schedule's.
func (s *Service) fee(payer *participant.Participant, p *payment) (money.Amount, error) {
	req := p.req
	if req.QuoteID == "" && p.target != 0 {
		return 0, fmt.Errorf("payee %s %s takes %s: %w", p.rec.PayeeType, p.rec.PayeeValue, p.target, ErrFXQuoteRequired)
	}
	if req.QuoteID == "" {
		fee, err := s.Fees.Schedule(req.Currency).Fee(req.Amount)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return fee, nil
	}
	q, err := s.Signer.Verify(req.QuoteID, s.Now())
	switch {
	case errors.Is(err, quote.ErrExpired):
		return 0, fmt.Errorf("quote: %w", ErrQuoteExpired)
	case err != nil:
		return 0, fmt.Errorf("quote: %w", ErrQuoteMismatch)
	case q.Payer != payer.ID || q.PayeeType != p.rec.PayeeType || q.PayeeValue != p.rec.PayeeValue ||
		q.PayeeParticipant != p.payee.ID || q.Amount != req.Amount || q.Currency != req.Currency:
		return 0, fmt.Errorf("quote is for another transfer: %w", ErrQuoteMismatch)
	case p.target != 0 || q.FX != nil:
		if err := s.fxQuoted(payer, p, &q); err != nil {
			return 0, err
		}
	}
	return q.Fee, nil
}

// post submits every payment's legs in one ledger submission: posted at
// once, or reserved, and answers each with the ledger's result.
func (s *Service) post(ctx context.Context, b *batch) {
	s.submit(ctx, b, "", func(p *payment) bool { return !p.done },
		func(cmds []ledger.Command, p *payment) []ledger.Command {
			if p.fx == nil {
				return firstPhase(cmds, p.legs, p.rec.ID, p.digest, s.meta(&p.rec), p.timeout)
			}
			cmds = firstPhase(append(cmds, p.fxMark()), p.legs, p.rec.ID, p.digest, s.meta(&p.rec), p.timeout)
			cmds[len(cmds)-1].Meta = p.fx.terms.encode() // the fx leg, last
			return cmds
		},
		func(i int, res []ledger.Result) { s.posted(ctx, b, i, res) })
}

// submit makes one ledger submission of the commands build appends for
// each payment include selects, and hands each its own results, or
// refuses each with the submission's error (step names it).
func (s *Service) submit(ctx context.Context, b *batch, step string, include func(*payment) bool,
	build func([]ledger.Command, *payment) []ledger.Command, answer func(i int, res []ledger.Result)) {
	var cmds []ledger.Command
	for i := range b.items {
		p := &b.items[i]
		p.first = -1
		if !include(p) {
			continue
		}
		if cmds == nil {
			cmds = make([]ledger.Command, 0, max(len(b.legSpace), len(p.legs)))
		}
		p.first = len(cmds)
		cmds = build(cmds, p)
		p.n = len(cmds) - p.first
	}
	if len(cmds) == 0 {
		return
	}
	res, err := s.commit(ctx, cmds)
	for i := range b.items {
		p := &b.items[i]
		if p.first < 0 {
			continue
		}
		if err != nil {
			b.refuse(i, fmt.Errorf("transfer %s: %s%w", p.rec.ID, step, err))
			continue
		}
		answer(i, res[p.first:p.first+p.n])
	}
}

// commit submits cmds to the ledger and waits for them to be durable:
// the span of the journal's group commit, in a traced request.
func (s *Service) commit(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, error) {
	ctx, span := telemetry.Start(ctx, "ledger.submit")
	res, err := s.Journal.Submit(ctx, cmds)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("ledger.commands", len(cmds)))
		if err != nil {
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
	return res, err
}

// posted answers payment i from the results of its legs' chain. A
// reservation stays unanswered for the stages that decide it.
func (s *Service) posted(ctx context.Context, b *batch, i int, res []ledger.Result) {
	p := &b.items[i]
	idx, st := ledger.ChainFailure(res)
	switch {
	case st == ledger.StatusOK:
		o := &b.out[i]
		p.fill(&o.Transfer, res[p.pre].Timestamp)
		o.Transfer.State, o.Created = Committed, true
		if p.rec.Held {
			o.Transfer.State, p.done = Held, true // the operator decides
			return
		}
		if p.timeout > 0 {
			o.Transfer.State = Reserved // answered once decided
			return
		}
		p.done = true
		s.committed(&o.Transfer)
	case st == ledger.StatusExists || st == ledger.StatusExistsDifferent:
		// The same id came in a concurrent request: the same request if
		// it has the same digest (a prepare's reservation timeout, which
		// the ledger compares, differs between two of them), a conflict
		// if not. An FX quote's mark taken by another id: the quote is
		// used.
		t, found, err := s.existing(ctx, p)
		if err == nil && !found {
			err = p.chainErr(idx, st)
		}
		if err != nil {
			b.refuse(i, err)
			return
		}
		b.answer(i, &t, false)
	default:
		b.refuse(i, p.chainErr(idx, st))
	}
}

// fill sets t to the payment as created by the event at ts.
func (p *payment) fill(t *Transfer, ts int64) {
	*t = Transfer{
		ID: p.rec.ID, Payer: p.rec.Payer,
		Payee:  Payee{Type: p.rec.PayeeType, Value: p.rec.PayeeValue, Participant: p.rec.PayeeParticipant, Account: p.rec.PayeeAccount},
		Amount: p.req.Amount, Fee: p.rec.Fee, Currency: p.req.Currency, QuoteID: p.rec.QuoteID, Note: p.rec.Note,
		CreatedAt: time.Unix(0, ts).UTC(), seq: ts, PayerAccount: p.rec.PayerAccount, Factors: p.rec.Factors, held: p.rec.Held,
	}
	if p.fx != nil {
		t.FX = p.fx.view()
	}
}

// confirmMax bounds the confirmations asked at once.
const confirmMax = 64

// confirm asks confirm-mode payees, synchronously and concurrently,
// whether they accept their reserved payments, and records each answer
// for finish. An error or silence is a rejection.
func (s *Service) confirm(ctx context.Context, b *batch) {
	s.decideEach(b, func(p *payment, t Transfer) (phase, string, bool) {
		if s.Confirmer == nil {
			return abort, "payee unreachable", true
		}
		cctx, cancel := context.WithTimeout(ctx, s.cfg.ConfirmTimeout)
		defer cancel()
		accept, reason, err := s.Confirmer.Confirm(cctx, *p.payee, t)
		switch {
		case err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
			return abort, "timeout", true
		case err != nil:
			// Not the payee's decision, and the error may name its
			// internal address: the payer only learns it failed.
			return abort, "payee unreachable", true
		case !accept:
			return abort, rejection(reason), true
		}
		// The payee may have been suspended or closed while it was asked:
		// a closed participant's balances were checked empty, and must
		// stay so.
		if now, ok := s.Participants.Get(p.payee.ID); !ok || now.Status != participant.Active {
			return abort, "payee participant suspended", true
		}
		return commit, bounded(reason), true // an acceptance's note is its proof
	})
}

// offer hands each prepared payment to its payee, concurrently (without
// an Offerer, the caller hands it over itself); a payee that cannot be
// reached has rejected it, which finish records. The others stay
// reserved, and are answered so.
func (s *Service) offer(ctx context.Context, b *batch) {
	if s.Offerer != nil {
		s.decideEach(b, func(p *payment, t Transfer) (phase, string, bool) {
			if err := s.Offerer.Offer(ctx, *p.payee, t, b.expires); err != nil {
				return abort, "payee unreachable", true
			}
			return commit, "", false // the payee decides later
		})
	}
	for i := range b.items {
		if p := &b.items[i]; !p.done && !p.decided {
			p.done = true
		}
	}
}

// releaseQuota ends the FX quota's in-flight counts of the batch's
// payments, once their submission returned.
func (b *batch) releaseQuota() {
	for i := range b.items {
		if r := b.items[i].release; r != nil {
			r()
			b.items[i].release = nil
		}
	}
}

// anyReserved reports whether a payment not answered yet is reserved.
func (b *batch) anyReserved() bool {
	for i := range b.items {
		if p := &b.items[i]; !p.done && p.timeout > 0 {
			return true
		}
	}
	return false
}

// decideEach runs decide, at most confirmMax at once, on every reserved
// payment not answered yet, and records its decision, if it made one.
func (s *Service) decideEach(b *batch, decide func(p *payment, t Transfer) (phase, string, bool)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, confirmMax)
	for i := range b.items {
		p := &b.items[i]
		if p.done || p.timeout == 0 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.ph, p.reason, p.decided = decide(p, b.out[i].Transfer)
		}()
	}
	wg.Wait()
}
