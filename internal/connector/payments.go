package connector

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// The states of an outbound payment. PENDING is the only one that
// changes: the others are final.
const (
	// statePending: stored, no final answer yet; it is being driven, or
	// will be again (the background loop, or the backend's retry).
	statePending = "PENDING"
	// stateCommitted: the switch committed it; the payer was charged
	// amount + fee.
	stateCommitted = "COMMITTED"
	// stateAborted: the switch created it and aborted it (the payee
	// rejected it or did not answer in time); nothing moved.
	stateAborted = "ABORTED"
	// stateRefused: the switch refused it before any money moved; the
	// problem says why.
	stateRefused = "REFUSED"
)

// Bounds of a payment request's fields, the switch's own where it has
// one (transfer ids, notes and payer accounts).
const (
	keyMax       = 128
	aliasTypeMax = 32
	aliasMax     = 256
	accountMax   = 128
	referenceMax = 256
	purposeMax   = 35
	factorsMax   = 8
	factorMax    = 32
)

// alias names a payee: an alias type and value.
type alias struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// paymentRequest is the body of POST /payments.
type paymentRequest struct {
	// ID is the backend's own id of the payment (or the Idempotency-Key
	// header): the same id again is the same payment.
	ID           string   `json:"id,omitempty"`
	To           alias    `json:"to"`
	Amount       string   `json:"amount"`
	Currency     string   `json:"currency"`
	PayerAccount string   `json:"payerAccount,omitempty"`
	Reference    string   `json:"reference,omitempty"`
	Purpose      string   `json:"purpose,omitempty"`
	Factors      []string `json:"factors,omitempty"`
}

// payment is an outbound payment as the record holds it.
type payment struct {
	id, key                          string
	to                               alias
	amount                           money.Amount
	currency                         money.Currency
	payerAccount, reference, purpose string
	factors                          []string
	state                            string
	sent                             bool
	quoteID                          string
	fee                              sql.NullInt64
	fx                               string // the committed transfer's FX, as JSON
	payeeParticipant, payeeName      string
	reason                           string
	problem                          wire.Problem
	attempts                         int
	createdAt, updatedAt             time.Time
	// requestID is the request to pay that the payment accepts, if it
	// is one (POST /requests/{id}/accept): the switch makes its
	// transfer, to the requester's account.
	requestID string
}

// newPayment checks a request and returns its payment, or what is wrong
// with it.
func newPayment(req paymentRequest) (payment, string) {
	p := payment{to: req.To, payerAccount: req.PayerAccount, reference: req.Reference, purpose: req.Purpose, factors: req.Factors}
	cur, err := money.ParseCurrency(req.Currency)
	if err != nil {
		return p, "currency: " + err.Error()
	}
	p.currency = cur
	switch amt, err := money.Parse(req.Amount, cur); {
	case err != nil:
		return p, "amount: " + err.Error()
	case amt <= 0:
		return p, "amount: must be positive"
	default:
		p.amount = amt
	}
	switch {
	case req.To.Type == "" || !text(req.To.Type, aliasTypeMax):
		return p, fmt.Sprintf("to.type: 1 to %d printable characters", aliasTypeMax)
	case req.To.Value == "" || !text(req.To.Value, aliasMax):
		return p, fmt.Sprintf("to.value: 1 to %d bytes of printable text", aliasMax)
	case !text(req.PayerAccount, accountMax):
		return p, fmt.Sprintf("payerAccount: at most %d bytes of printable text", accountMax)
	case !text(req.Reference, referenceMax):
		return p, fmt.Sprintf("reference: at most %d bytes of printable text", referenceMax)
	case !text(req.Purpose, purposeMax) || strings.Contains(req.Purpose, " "):
		return p, "purpose: an ISO 20022 purpose code (SALA, GDDS, FAMI, …)"
	case len(req.Factors) > factorsMax:
		return p, fmt.Sprintf("factors: at most %d", factorsMax)
	}
	for _, f := range req.Factors {
		if f == "" || !text(f, factorMax) || strings.ContainsAny(f, ", ") {
			return p, "factors: pin, password, biometric, otp or device"
		}
	}
	return p, ""
}

// same reports whether q asks for the same payment as p: a retry.
func (p *payment) same(q *payment) bool {
	return p.to == q.to && p.amount == q.amount && p.currency == q.currency && p.payerAccount == q.payerAccount &&
		p.reference == q.reference && p.purpose == q.purpose && slices.Equal(p.factors, q.factors)
}

// newTransfer is the transfer request of p: always the same for the same
// record, so that a retry carries the content of the first attempt.
func (p *payment) newTransfer() wire.NewTransfer {
	nt := wire.NewTransfer{ID: p.id, Payee: wire.PayeeRef{Type: p.to.Type, Value: p.to.Value}, Amount: p.amount.Format(p.currency),
		Currency: p.currency.String(), QuoteID: p.quoteID, Note: p.reference, PayerAccount: p.payerAccount, Purpose: p.purpose}
	if len(p.factors) > 0 {
		nt.Authentication = &wire.Authentication{Factors: p.factors}
	}
	return nt
}

const paymentColumns = `id, idem_key, to_type, to_value, amount, currency, payer_account, reference, purpose, factors, state, sent,
	quote_id, fee, fx, payee_participant, payee_name, reason, problem_type, problem_title, problem_status, problem_detail, attempts,
	created_at, updated_at, request_id`

// scanPayment reads a row of paymentColumns.
func scanPayment(row interface{ Scan(...any) error }) (payment, error) {
	var p payment
	var key sql.NullString
	var cur, factors string
	var created, updated int64
	err := row.Scan(&p.id, &key, &p.to.Type, &p.to.Value, &p.amount, &cur, &p.payerAccount, &p.reference, &p.purpose, &factors,
		&p.state, &p.sent, &p.quoteID, &p.fee, &p.fx, &p.payeeParticipant, &p.payeeName, &p.reason, &p.problem.Type,
		&p.problem.Title, &p.problem.Status, &p.problem.Detail, &p.attempts, &created, &updated, &p.requestID)
	if err != nil {
		return p, err
	}
	p.key = key.String
	if p.currency, err = money.ParseCurrency(cur); err != nil {
		return p, fmt.Errorf("payment %s: %w", p.id, err)
	}
	if factors != "" {
		p.factors = strings.Split(factors, ",")
	}
	p.createdAt, p.updatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return p, nil
}

// paymentBy returns the payment whose column col (id or idem_key) is v.
func (c *Connector) paymentBy(ctx context.Context, col, v string) (payment, bool, error) {
	p, err := scanPayment(c.db.QueryRowContext(ctx, "SELECT "+paymentColumns+" FROM payments WHERE "+col+" = ?", v))
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("payment %s: %w", v, err)
	}
	return p, true, nil
}

// insertPayment stores a new payment, PENDING, durably. It reports false
// when its key is taken: a concurrent request with the same key won.
func (c *Connector) insertPayment(ctx context.Context, p *payment) (bool, error) {
	now := c.cfg.Now()
	p.state, p.createdAt, p.updatedAt = statePending, now.UTC(), now.UTC()
	var key any
	if p.key != "" {
		key = p.key
	}
	res, err := c.db.ExecContext(ctx, `INSERT INTO payments (id, idem_key, to_type, to_value, amount, currency, payer_account, reference,
		purpose, factors, state, created_at, updated_at, request_id, payee_participant) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (idem_key) DO NOTHING`,
		p.id, key, p.to.Type, p.to.Value, int64(p.amount), p.currency.String(), p.payerAccount, p.reference, p.purpose,
		strings.Join(p.factors, ","), statePending, now.UnixMilli(), now.UnixMilli(), p.requestID, p.payeeParticipant)
	if err != nil {
		return false, fmt.Errorf("store payment %s: %w", p.id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// postPayment is POST /payments: store the payment, drive it, and answer
// its state once final (200), or PENDING (202) when PaymentWait passes
// first. The same id again answers the same payment; with other content
// it is refused (409).
func (c *Connector) postPayment(w http.ResponseWriter, r *http.Request) {
	var req paymentRequest
	if !decode(w, r, apiBodyMax, &req) {
		return
	}
	key := req.ID
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		if key != "" && key != h {
			writeProblem(w, probInvalid, "id and Idempotency-Key differ")
			return
		}
		key = h
	}
	if !text(key, keyMax) || strings.TrimSpace(key) != key {
		writeProblem(w, probInvalid, fmt.Sprintf("id: at most %d bytes of printable text, no surrounding spaces", keyMax))
		return
	}
	p, msg := newPayment(req)
	if msg != "" {
		writeProblem(w, probInvalid, msg)
		return
	}
	p.key = key
	ctx := r.Context()
	for range 2 {
		if key != "" {
			old, ok, err := c.paymentBy(ctx, "idem_key", key)
			if err != nil {
				c.internal(w, err)
				return
			}
			if ok {
				if !old.same(&p) {
					writeProblem(w, probConflict, "id "+key+" is payment "+old.id+", with other content")
					return
				}
				c.await(w, r, old.id)
				return
			}
		}
		if len(c.slots) == cap(c.slots) {
			// Nothing is stored: the backend may try again.
			writeProblem(w, probBusy, "too many payments in progress")
			return
		}
		p.id = c.newID()
		inserted, err := c.insertPayment(ctx, &p)
		if err != nil {
			c.internal(w, err)
			return
		}
		if inserted {
			c.log.Debug("payment stored", "id", p.id, "key", key)
			c.await(w, r, p.id)
			return
		}
		// A request with the same key was stored meanwhile: answer as
		// its retry.
	}
	c.internal(w, errors.New("payment key race"))
}

// await drives payment id, if it is not being driven already, waits for
// its final state at most PaymentWait, and answers it.
func (c *Connector) await(w http.ResponseWriter, r *http.Request, id string) {
	if f := c.fly(id); f != nil {
		t := time.NewTimer(c.cfg.PaymentWait)
		defer t.Stop()
		select {
		case <-f.done:
		case <-t.C:
		case <-r.Context().Done():
			return // the backend went away; the payment goes on
		}
	}
	p, ok, err := c.paymentBy(r.Context(), "id", id)
	if err != nil || !ok {
		c.internal(w, fmt.Errorf("payment %s: %v", id, err))
		return
	}
	st := http.StatusOK
	if p.state == statePending {
		st = http.StatusAccepted
	}
	writeJSON(w, st, viewOf(&p))
}

// internal answers 500 and logs why; the backend is not told internals.
func (c *Connector) internal(w http.ResponseWriter, err error) {
	c.log.Error("internal error", "err", err)
	writeProblem(w, probInternal, "")
}

// flight is a payment being driven; done is closed when it stops.
type flight struct{ done chan struct{} }

// fly starts driving payment id unless it is driven already, and returns
// its flight; nil when PaymentsMax payments are driven already or the
// connector is stopping (the background loop tries again later).
func (c *Connector) fly(id string) *flight {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	if f := c.flights[id]; f != nil {
		return f
	}
	if c.ctx.Err() != nil {
		return nil
	}
	select {
	case c.slots <- struct{}{}:
	default:
		return nil
	}
	f := &flight{done: make(chan struct{})}
	c.flights[id] = f
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.drive(c.ctx, id)
		c.flightMu.Lock()
		delete(c.flights, id)
		c.flightMu.Unlock()
		<-c.slots
		close(f.done)
	}()
	return f
}

// drive takes payment id as far as it goes within PaymentWait: to a
// final state, recorded, or to a postponement, recorded too.
func (c *Connector) drive(ctx context.Context, id string) {
	p, ok, err := c.paymentBy(ctx, "id", id)
	if err != nil {
		c.log.Error("reading a payment", "id", id, "err", err)
		return
	}
	if !ok || p.state != statePending {
		return
	}
	pay := c.pay
	if p.requestID != "" {
		pay = c.payRequest
	}
	if err := pay(ctx, &p, c.cfg.Now().Add(c.cfg.PaymentWait)); err != nil {
		c.postpone(&p, err)
	}
}

// pay runs the payment's steps: lookup and quote (unless a transfer
// request was sent already: its content is fixed), then the transfer,
// retried with the same id until until. It records a final state and
// returns nil, or returns why the outcome is not known yet.
func (c *Connector) pay(ctx context.Context, p *payment, until time.Time) error {
	// resumed: an earlier flight sent a transfer request whose answer
	// it did not record.
	resumed := p.sent
	for requotes := 0; ; requotes++ {
		if !p.sent {
			if err := c.prepare(ctx, p, until); err != nil {
				if sim.Definite(err) {
					return c.refuse(p, err)
				}
				return err
			}
		}
		t, tried, err := retrying(ctx, until, c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now, func(ctx context.Context) (wire.Transfer, error) {
			t, _, err := c.sw.CreateTransfer(ctx, p.newTransfer())
			return t, err
		})
		if err == nil {
			return c.settle(ctx, p, t, until)
		}
		if !sim.Definite(err) {
			return err
		}
		if tried || resumed {
			// An attempt without an answer may have gone through: the
			// refusal may describe the retry alone (its quote expired
			// meanwhile). The switch knows.
			t, gerr := c.sw.Transfer(ctx, p.id)
			switch {
			case gerr == nil:
				return c.settle(ctx, p, t, until)
			case !sim.IsProblem(gerr, sim.ProblemNotFound):
				return gerr
			}
		}
		// Nothing went through. A quote that expired before the
		// transfer reached the switch is asked for again, with the same
		// transfer id.
		if sim.IsProblem(err, sim.ProblemQuoteExpired) && requotes < 2 && c.cfg.Now().Before(until) {
			p.sent, resumed = false, false
			continue
		}
		return c.refuse(p, err)
	}
}

// prepare looks the payee up (its masked name is the payment's
// confirmation of payee) and gets a quote, then records both and that
// the transfer is about to be sent, durably, before it is.
func (c *Connector) prepare(ctx context.Context, p *payment, until time.Time) error {
	lk, _, err := retrying(ctx, until, c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now, func(ctx context.Context) (wire.PartyLookup, error) {
		return c.sw.Lookup(ctx, p.to.Type, p.to.Value)
	})
	if err != nil {
		return err
	}
	q, _, err := retrying(ctx, until, c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now, func(ctx context.Context) (wire.Quote, error) {
		return c.sw.Quote(ctx, wire.NewQuote{Payee: wire.PayeeRef{Type: p.to.Type, Value: p.to.Value}, Amount: p.amount.Format(p.currency),
			Currency: p.currency.String(), PayerAccount: p.payerAccount})
	})
	if err != nil {
		return err
	}
	p.payeeParticipant, p.payeeName, p.quoteID, p.sent = lk.Participant, lk.DisplayName, q.ID, true
	_, err = c.db.ExecContext(context.WithoutCancel(ctx), `UPDATE payments SET payee_participant = ?, payee_name = ?, quote_id = ?, sent = 1,
		updated_at = ? WHERE id = ? AND state = 'PENDING'`, p.payeeParticipant, p.payeeName, p.quoteID, c.cfg.Now().UnixMilli(), p.id)
	if err != nil {
		// Not a refusal: the payment stays PENDING, and is prepared
		// again (a new quote) next time.
		p.sent = false
		return fmt.Errorf("record payment %s: %w", p.id, err)
	}
	return nil
}

// settle records the switch's transfer t as p's final state, waiting
// (until until) for a transfer still RESERVED: a confirm-mode payee
// deciding, or risk control's review.
func (c *Connector) settle(ctx context.Context, p *payment, t wire.Transfer, until time.Time) error {
	for n := 1; ; n++ {
		if t.ID != p.id {
			return fmt.Errorf("the switch answered transfer %q for %s", t.ID, p.id)
		}
		switch t.State {
		case stateCommitted:
			fee, err := money.Parse(t.Fee, p.currency)
			if err != nil {
				return fmt.Errorf("transfer %s: fee %q: %w", t.ID, t.Fee, err)
			}
			if amt, err := money.Parse(t.Amount, p.currency); err != nil || amt != p.amount || t.Currency != p.currency.String() {
				c.stats.anomalies.Add(1)
				c.log.Error("the switch committed another amount than the record's", "id", p.id, "switch", t.Amount+" "+t.Currency,
					"record", p.amount.Format(p.currency)+" "+p.currency.String())
			}
			var fx []byte
			if t.FX != nil {
				fx, _ = json.Marshal(t.FX)
			}
			return c.finish(p, stateCommitted, `fee = ?, fx = ?`, fee, string(fx))
		case stateAborted:
			return c.finish(p, stateAborted, `reason = ?`, t.Reason)
		}
		wait := backoff(n, c.cfg.RetryMin, c.cfg.RetryMax, nil)
		if c.cfg.Now().Add(wait).After(until) {
			return fmt.Errorf("transfer %s is %s at the switch", t.ID, t.State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		var err error
		if t, err = c.sw.Transfer(ctx, p.id); err != nil {
			return err
		}
	}
}

// refuse records p as refused by the switch's definite refusal err.
func (c *Connector) refuse(p *payment, err error) error {
	r, _ := refusalOf(err)
	pr := r.Problem
	return c.finish(p, stateRefused, `problem_type = ?, problem_title = ?, problem_status = ?, problem_detail = ?`,
		pr.Type, pr.Title, pr.Status, pr.Detail)
}

// finish records p's final state with the columns set (an UPDATE's SET
// list with placeholders) and their args. It never replaces a final
// state: a PENDING payment becomes final once. The write is not
// cancelled with the connector's lifetime: an answer the switch gave is
// worth recording.
func (c *Connector) finish(p *payment, state, set string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	now := c.cfg.Now()
	args = append([]any{state, now.UnixMilli()}, args...)
	args = append(args, p.id)
	res, err := c.db.ExecContext(ctx, `UPDATE payments SET state = ?, updated_at = ?, `+set+` WHERE id = ? AND state = 'PENDING'`, args...)
	if err != nil {
		return fmt.Errorf("record payment %s %s: %w", p.id, state, err)
	}
	p.state = state
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		// Counted by the flight that made it final, once.
		c.metrics.finished(state, p.createdAt, now)
	}
	c.log.Info("payment final", "id", p.id, "state", state)
	return nil
}

// postpone records that p's outcome is not known yet (why) and when the
// background loop tries again: later each time, at most every 5 minutes.
func (c *Connector) postpone(p *payment, why error) {
	c.metrics.postponed.Inc()
	p.attempts++
	next := c.cfg.Now().Add(backoff(p.attempts, time.Second, 5*time.Minute, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	msg := why.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if _, err := c.db.ExecContext(ctx, `UPDATE payments SET attempts = ?, next_at = ?, last_error = ?, updated_at = ?
		WHERE id = ? AND state = 'PENDING'`, p.attempts, next.UnixMilli(), msg, c.cfg.Now().UnixMilli(), p.id); err != nil {
		c.log.Error("recording a pending payment", "id", p.id, "err", err)
	}
	c.log.Warn("payment pending", "id", p.id, "attempts", p.attempts, "why", why, "next", next)
}

// resolveLoop finishes the payments left PENDING — by a crash, a switch
// that did not answer, a transfer still reserved — every ResolveEvery,
// at once at start.
func (c *Connector) resolveLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.ResolveEvery)
	defer t.Stop()
	for {
		c.resolve(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Connector) resolve(ctx context.Context) {
	rows, err := c.db.QueryContext(ctx, `SELECT id FROM payments WHERE state = 'PENDING' AND next_at <= ? ORDER BY next_at LIMIT ?`,
		c.cfg.Now().UnixMilli(), c.cfg.PaymentsMax)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Error("listing pending payments", "err", err)
		}
		return
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		if c.fly(id) == nil {
			return // busy, or stopping
		}
	}
}

// getPayment is GET /payments/{id}: an outbound payment by the
// connector's id or the backend's, or an incoming transfer by its id.
func (c *Connector) getPayment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, col := range []string{"id", "idem_key"} {
		p, ok, err := c.paymentBy(r.Context(), col, id)
		if err != nil {
			c.internal(w, err)
			return
		}
		if ok {
			writeJSON(w, http.StatusOK, viewOf(&p))
			return
		}
	}
	v, ok, err := c.inboundView(r.Context(), id)
	if err != nil {
		c.internal(w, err)
		return
	}
	if !ok {
		writeProblem(w, probNotFound, "no payment "+id)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// paymentView is a payment as the backend API shows it, outbound or
// inbound (docs/connector.md).
type paymentView struct {
	ID             string        `json:"id"`
	IdempotencyKey string        `json:"idempotencyKey,omitempty"`
	Request        string        `json:"request,omitempty"` // the request to pay it accepts
	Direction      string        `json:"direction"`         // outbound | inbound
	State          string        `json:"state"`
	Amount         string        `json:"amount"`
	Currency       string        `json:"currency"`
	Fee            string        `json:"fee,omitempty"`
	FX             *wire.FX      `json:"fx,omitempty"`
	To             alias         `json:"to"`
	Payee          *payeeView    `json:"payee,omitempty"`
	PayerAccount   string        `json:"payerAccount,omitempty"`
	Reference      string        `json:"reference,omitempty"`
	Purpose        string        `json:"purpose,omitempty"`
	Reason         string        `json:"reason,omitempty"`
	Problem        *wire.Problem `json:"problem,omitempty"`
	PayeeAccount   string        `json:"payeeAccount,omitempty"`
	Payer          string        `json:"payer,omitempty"`
	Note           string        `json:"note,omitempty"`
	Delivered      *bool         `json:"delivered,omitempty"`
	CreatedAt      time.Time     `json:"createdAt"`
	UpdatedAt      time.Time     `json:"updatedAt,omitzero"`
}

// payeeView is whom an outbound payment pays, as the lookup showed it.
type payeeView struct {
	Participant string `json:"participant"`
	Name        string `json:"name"`
}

func viewOf(p *payment) paymentView {
	v := paymentView{ID: p.id, IdempotencyKey: p.key, Direction: "outbound", State: p.state, Amount: p.amount.Format(p.currency),
		Currency: p.currency.String(), To: p.to, PayerAccount: p.payerAccount, Reference: p.reference, Purpose: p.purpose,
		CreatedAt: p.createdAt, UpdatedAt: p.updatedAt, Request: p.requestID}
	if p.payeeParticipant != "" {
		v.Payee = &payeeView{Participant: p.payeeParticipant, Name: p.payeeName}
	}
	switch p.state {
	case stateCommitted:
		if p.fee.Valid {
			v.Fee = money.Amount(p.fee.Int64).Format(p.currency)
		}
		if p.fx != "" {
			var fx wire.FX
			if json.Unmarshal([]byte(p.fx), &fx) == nil {
				v.FX = &fx
			}
		}
	case stateAborted:
		v.Reason = p.reason
	case stateRefused:
		pr := p.problem
		v.Problem = &pr
	}
	return v
}
