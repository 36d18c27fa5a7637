package connector

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// Requests to pay, as the backend API has them (docs/connector.md):
// POST /requests sends one to someone's alias; a request to one of the
// wallet's users arrives as the notice "request" and is paid by POST
// /requests/{id}/accept — a payment in the payments table, driven like
// one — or declined.

// stateUnsent is an outbound request stored and not known to the switch
// yet: the switch did not answer. Sending it again (the same POST, or
// GET) is safe: the switch's create is idempotent by id.
const stateUnsent = "UNSENT"

// Bounds of a request's fields, the switch's (package rtp's).
const (
	messageMax     = 140 // characters
	defaultExpiry  = 24 * time.Hour
	requestExpiryM = 30 * 24 * time.Hour
)

// requestRequest is the body of POST /requests.
type requestRequest struct {
	ID       string `json:"id,omitempty"`
	To       alias  `json:"to"` // the payer's alias
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	// PayeeAccount is the user the payment credits, in the core
	// system: told back in the request's notices.
	PayeeAccount string    `json:"payeeAccount,omitempty"`
	Message      string    `json:"message,omitempty"`
	ExpiresAt    time.Time `json:"expiresAt,omitzero"`
}

// same reports whether q asks for the same request as r: a retry. The
// expiry is compared as an instant, whatever its zone.
func (r *requestRequest) same(q *requestRequest) bool {
	return r.To == q.To && r.Amount == q.Amount && r.Currency == q.Currency && r.PayeeAccount == q.PayeeAccount &&
		r.Message == q.Message && r.ExpiresAt.Equal(q.ExpiresAt)
}

// asked is what an outbound request's record keeps of its asking: the
// backend's body (without id), to recognise a retry, and the switch's
// request made of it, to send the same again.
type asked struct {
	Body requestRequest         `json:"body"`
	New  wire.NewPaymentRequest `json:"new"`
}

// requestView is a request to pay as the backend API shows it.
type requestView struct {
	ID             string         `json:"id"`
	IdempotencyKey string         `json:"idempotencyKey,omitempty"`
	Direction      string         `json:"direction"` // outbound | inbound
	State          string         `json:"state"`
	Amount         string         `json:"amount"`
	Currency       string         `json:"currency"`
	PayerAlias     *wire.PayeeRef `json:"payerAlias,omitempty"` // the alias asked to pay
	Requester      string         `json:"requester,omitempty"`  // the requesting participant
	PayeeAccount   string         `json:"payeeAccount,omitempty"`
	Message        string         `json:"message,omitempty"`
	ExpiresAt      time.Time      `json:"expiresAt,omitzero"`
	TransferID     string         `json:"transferId,omitempty"`
	Reason         string         `json:"reason,omitempty"`
	Problem        *wire.Problem  `json:"problem,omitempty"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt,omitzero"`
}

// requestRow is a request as the record holds it.
type requestRow struct {
	id, key, direction, account, state string
	asked                              asked
	doc                                *wire.PaymentRequest
	problem                            *wire.Problem
	createdAt, updatedAt               time.Time
}

// requestBy returns the request whose column col (id or idem_key) is v.
func (c *Connector) requestBy(ctx context.Context, col, v string) (requestRow, bool, error) {
	var r requestRow
	var key sql.NullString
	var ask, doc, prob string
	var created, updated int64
	err := c.db.QueryRowContext(ctx, `SELECT id, idem_key, direction, account, state, asked, doc, problem, created_at, updated_at
		FROM requests WHERE `+col+` = ?`, v).Scan(&r.id, &key, &r.direction, &r.account, &r.state, &ask, &doc, &prob, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("request %s: %w", v, err)
	}
	r.key = key.String
	r.createdAt, r.updatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if ask != "" {
		if err := json.Unmarshal([]byte(ask), &r.asked); err != nil {
			return r, false, fmt.Errorf("request %s: %w", v, err)
		}
	}
	if doc != "" {
		r.doc = new(wire.PaymentRequest)
		if err := json.Unmarshal([]byte(doc), r.doc); err != nil {
			return r, false, fmt.Errorf("request %s: %w", v, err)
		}
	}
	if prob != "" {
		r.problem = new(wire.Problem)
		if err := json.Unmarshal([]byte(prob), r.problem); err != nil {
			return r, false, fmt.Errorf("request %s: %w", v, err)
		}
	}
	return r, true, nil
}

// view is r as the backend API shows it.
func (r *requestRow) view() requestView {
	v := requestView{ID: r.id, IdempotencyKey: r.key, Direction: r.direction, State: r.state, PayeeAccount: r.account,
		Problem: r.problem, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt}
	if d := r.doc; d != nil {
		payer := d.Payer
		v.Amount, v.Currency, v.PayerAlias, v.Requester, v.Message, v.ExpiresAt = d.Amount, d.Currency, &payer, d.Payee, d.Message, d.ExpiresAt
		v.TransferID, v.Reason, v.CreatedAt = d.TransferID, d.Reason, d.CreatedAt
	} else {
		n := r.asked.New
		payer := n.Payer
		v.Amount, v.Currency, v.PayerAlias, v.Message, v.ExpiresAt = n.Amount, n.Currency, &payer, n.Message, n.ExpiresAt
	}
	return v
}

// idemKey reads a call's id: the body's, or the Idempotency-Key header
// (equal when both are given). It answers the refusal itself.
func idemKey(w http.ResponseWriter, r *http.Request, id string) (string, bool) {
	key := id
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		if key != "" && key != h {
			writeProblem(w, probInvalid, "id and Idempotency-Key differ")
			return "", false
		}
		key = h
	}
	if !text(key, keyMax) || strings.TrimSpace(key) != key {
		writeProblem(w, probInvalid, fmt.Sprintf("id: at most %d bytes of printable text, no surrounding spaces", keyMax))
		return "", false
	}
	return key, true
}

// postRequest is POST /requests: store the request, send it to the
// switch, and answer its state there (200), REFUSED with the switch's
// problem (200), or UNSENT (202) when the switch did not answer within
// PaymentWait. The same id again answers (and, UNSENT, sends again) the
// same request; with other content it is refused (409).
func (c *Connector) postRequest(w http.ResponseWriter, r *http.Request) {
	var req requestRequest
	if !decode(w, r, apiBodyMax, &req) {
		return
	}
	key, ok := idemKey(w, r, req.ID)
	if !ok {
		return
	}
	req.ID = ""
	amt, cur, msg := "", money.Currency(0), ""
	if a, cu, err := decimal(req.Amount, req.Currency); err != nil {
		msg = err.Error()
	} else {
		amt, cur = a, cu
	}
	now := c.cfg.Now()
	switch {
	case msg != "":
	case req.To.Type == "" || !text(req.To.Type, aliasTypeMax) || req.To.Value == "" || !text(req.To.Value, aliasMax):
		msg = "to: the payer's alias, type and value"
	case !text(req.PayeeAccount, accountMax):
		msg = fmt.Sprintf("payeeAccount: at most %d bytes of printable text", accountMax)
	case !text(req.Message, 4*messageMax) || len([]rune(req.Message)) > messageMax:
		msg = fmt.Sprintf("message: at most %d characters of printable text", messageMax)
	case !req.ExpiresAt.IsZero() && (!req.ExpiresAt.After(now) || req.ExpiresAt.After(now.Add(requestExpiryM))):
		msg = "expiresAt: in the future, within 30 days"
	}
	if msg != "" {
		c.metrics.apiCalls.WithLabelValues("request_create", resultError).Inc()
		writeProblem(w, probInvalid, msg)
		return
	}
	ctx := r.Context()
	var row requestRow
	found := false
	if key != "" {
		old, ok, err := c.requestBy(ctx, "idem_key", key)
		if err != nil {
			c.internal(w, err)
			return
		}
		if ok {
			if !old.asked.Body.same(&req) {
				writeProblem(w, probConflict, "id "+key+" is request "+old.id+", with other content")
				return
			}
			row, found = old, true
		}
	}
	if !found {
		exp := req.ExpiresAt
		if exp.IsZero() {
			exp = now.Add(defaultExpiry)
		}
		row = requestRow{id: c.newID(), key: key, direction: "outbound", account: req.PayeeAccount, state: stateUnsent,
			asked: asked{Body: req, New: wire.NewPaymentRequest{Payer: wire.PayeeRef{Type: req.To.Type, Value: req.To.Value},
				Amount: amt, Currency: cur.String(), Message: req.Message, ExpiresAt: exp.UTC()}},
			createdAt: now.UTC(), updatedAt: now.UTC()}
		row.asked.New.ID = row.id
		ask, _ := json.Marshal(row.asked)
		var k any
		if key != "" {
			k = key
		}
		res, err := c.db.ExecContext(ctx, `INSERT INTO requests (id, idem_key, direction, asked, account, state, created_at, updated_at)
			VALUES (?, ?, 'outbound', ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`, row.id, k, string(ask), row.account, stateUnsent,
			now.UnixMilli(), now.UnixMilli())
		if err != nil {
			c.internal(w, fmt.Errorf("store request: %w", err))
			return
		}
		if n, _ := res.RowsAffected(); n == 0 {
			writeProblem(w, probBusy, "a request with this id is being stored")
			return
		}
	}
	if row.state == stateUnsent {
		row = c.sendRequest(ctx, row)
	}
	c.answerRequest(w, "request_create", row)
}

// sendRequest sends an UNSENT request to the switch, retrying what may
// succeed later within PaymentWait, and records the outcome: the
// switch's request, or its refusal (REFUSED). It returns the row as
// recorded; still UNSENT when the switch did not answer.
func (c *Connector) sendRequest(ctx context.Context, row requestRow) requestRow {
	pr, _, err := retrying(ctx, c.cfg.Now().Add(c.cfg.PaymentWait), c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now,
		func(ctx context.Context) (wire.PaymentRequest, error) { return c.sw.RequestPayment(ctx, row.asked.New) })
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	now := c.cfg.Now()
	switch {
	case err == nil:
		if rerr := recordRequest(wctx, c.db, "outbound", &pr, now.UnixMilli()); rerr != nil {
			c.log.Error("recording a request", "id", row.id, "err", rerr)
			return row
		}
	case sim.Definite(err):
		r, _ := refusalOf(err)
		pb, _ := json.Marshal(r.Problem)
		if _, rerr := c.db.ExecContext(wctx, `UPDATE requests SET state = ?, problem = ?, updated_at = ? WHERE id = ? AND state = ?`,
			stateRefused, string(pb), now.UnixMilli(), row.id, stateUnsent); rerr != nil {
			c.log.Error("recording a request", "id", row.id, "err", rerr)
			return row
		}
	default:
		c.log.Warn("the switch did not take a request to pay; it stays unsent", "id", row.id, "err", err)
		return row
	}
	if got, ok, rerr := c.requestBy(wctx, "id", row.id); rerr == nil && ok {
		return got
	}
	return row
}

// answerRequest answers row: 202 while UNSENT, else 200; it counts the
// call.
func (c *Connector) answerRequest(w http.ResponseWriter, call string, row requestRow) {
	st, res := http.StatusOK, resultOK
	switch row.state {
	case stateUnsent:
		st, res = http.StatusAccepted, resultPending
	case stateRefused:
		res = resultRefused
	}
	c.metrics.apiCalls.WithLabelValues(call, res).Inc()
	writeJSON(w, st, row.view())
}

// lookupRequest returns request id (the connector's or an outbound
// request's idempotency key) from the record, brought up to date from
// the switch unless final; one the record lacks is read from the switch
// (a request to one of the wallet's users whose notice has not come
// yet). A switch that does not answer leaves the record as it is; ok is
// false when neither has it, with the switch's refusal, if any, in err.
func (c *Connector) lookupRequest(ctx context.Context, id string) (requestRow, bool, error) {
	row, ok, err := c.requestBy(ctx, "id", id)
	if err == nil && !ok {
		row, ok, err = c.requestBy(ctx, "idem_key", id)
	}
	if err != nil {
		return row, false, recordError{err}
	}
	if ok && row.state == stateUnsent {
		return c.sendRequest(ctx, row), true, nil
	}
	if ok && finalRequest(row.state) {
		return row, true, nil
	}
	if !ok {
		row.id = id
	}
	pr, _, serr := retrying(ctx, c.cfg.Now().Add(aliasWait), c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now,
		func(ctx context.Context) (wire.PaymentRequest, error) { return c.sw.PaymentRequest(ctx, row.id) })
	if serr != nil {
		if ok {
			return row, true, nil
		}
		return row, false, serr
	}
	dir := "outbound"
	if pr.Payer.Participant == c.cfg.Participant {
		dir = "inbound"
	}
	if err := recordRequest(context.WithoutCancel(ctx), c.db, dir, &pr, c.cfg.Now().UnixMilli()); err != nil {
		return row, false, recordError{err}
	}
	row, ok, err = c.requestBy(ctx, "id", pr.ID)
	if err != nil {
		return row, false, recordError{err}
	}
	return row, ok, nil
}

// getRequest is GET /requests/{id}.
func (c *Connector) getRequest(w http.ResponseWriter, r *http.Request) {
	row, ok, err := c.lookupRequest(r.Context(), r.PathValue("id"))
	if !ok {
		c.requestFailed(w, "request_get", err)
		return
	}
	c.answerRequest(w, "request_get", row)
}

// requestFailed answers a request the connector could not find or act
// on: 404 when the switch does not know it either, the switch's refusal,
// 502 when the switch did not answer, 500 when the record failed.
func (c *Connector) requestFailed(w http.ResponseWriter, call string, err error) {
	switch _, refused := refusalOf(err); {
	case err == nil:
		c.metrics.apiCalls.WithLabelValues(call, resultRefused).Inc()
		writeProblem(w, probNotFound, "no such request")
	case refused:
		c.metrics.apiCalls.WithLabelValues(call, resultRefused).Inc()
		c.switchFailed(w, err)
	case errors.Is(err, context.Canceled):
	default:
		c.metrics.apiCalls.WithLabelValues(call, resultError).Inc()
		var re recordError
		if errors.As(err, &re) {
			c.internal(w, err)
			return
		}
		c.switchFailed(w, err)
	}
}

// recordError is a failure of the record, not of the switch.
type recordError struct{ error }

func (e recordError) Unwrap() error { return e.error }

// acceptRequest is the body of POST /requests/{id}/accept.
type acceptRequest struct {
	// ID is the backend's id of the payment (or Idempotency-Key): the
	// same id again is the same payment.
	ID           string `json:"id,omitempty"`
	PayerAccount string `json:"payerAccount,omitempty"`
}

// postAccept is POST /requests/{id}/accept: pay a request to one of the
// wallet's users. The payment is stored first, under a transfer id of
// the connector's own, then the switch is asked to accept the request
// with it (the switch makes the transfer); it answers as POST /payments
// does: COMMITTED with the fee, ABORTED, REFUSED with the switch's
// problem, or PENDING (202), finished in the background.
func (c *Connector) postAccept(w http.ResponseWriter, r *http.Request) {
	var req acceptRequest
	if !decode(w, r, apiBodyMax, &req) {
		return
	}
	key, ok := idemKey(w, r, req.ID)
	if !ok {
		return
	}
	if !text(req.PayerAccount, accountMax) {
		writeProblem(w, probInvalid, fmt.Sprintf("payerAccount: at most %d bytes of printable text", accountMax))
		return
	}
	id := r.PathValue("id")
	ctx := r.Context()
	if key != "" {
		old, ok, err := c.paymentBy(ctx, "idem_key", key)
		if err != nil {
			c.internal(w, err)
			return
		}
		if ok {
			if old.requestID == "" || old.requestID != id || old.payerAccount != req.PayerAccount {
				writeProblem(w, probConflict, "id "+key+" is payment "+old.id+", with other content")
				return
			}
			c.awaitCounted(w, r, old.id)
			return
		}
	}
	row, ok, err := c.lookupRequest(ctx, id)
	switch {
	case !ok:
		c.requestFailed(w, "request_accept", err)
		return
	case row.doc == nil || row.direction != "inbound":
		c.metrics.apiCalls.WithLabelValues("request_accept", resultRefused).Inc()
		writeProblem(w, probNotFound, "no request "+id+" to one of this participant's users")
		return
	}
	pr := row.doc
	amt, cur, err := decimal(pr.Amount, pr.Currency)
	if err != nil {
		c.internal(w, fmt.Errorf("request %s: %w", pr.ID, err))
		return
	}
	a, _ := money.Parse(amt, cur)
	if len(c.slots) == cap(c.slots) {
		writeProblem(w, probBusy, "too many payments in progress")
		return
	}
	p := payment{id: c.newID(), key: key, to: alias{Type: "ACCOUNT", Value: pr.Payee + "/" + pr.ID}, amount: a, currency: cur,
		payerAccount: req.PayerAccount, requestID: pr.ID, payeeParticipant: pr.Payee}
	inserted, err := c.insertPayment(ctx, &p)
	if err != nil {
		c.internal(w, err)
		return
	}
	if !inserted {
		writeProblem(w, probBusy, "a payment with this id is being stored")
		return
	}
	c.awaitCounted(w, r, p.id)
}

// awaitCounted is await, counting the call by the state answered.
func (c *Connector) awaitCounted(w http.ResponseWriter, r *http.Request, id string) {
	rec := &statusRecorder{ResponseWriter: w}
	c.await(rec, r, id)
	res := resultOK
	switch {
	case rec.status == http.StatusAccepted:
		res = resultPending
	case rec.status >= 300:
		res = resultError
	default:
		if p, ok, err := c.paymentBy(r.Context(), "id", id); err == nil && ok && p.state != stateCommitted {
			res = resultRefused
		}
	}
	c.metrics.apiCalls.WithLabelValues("request_accept", res).Inc()
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// payRequest pays p, the acceptance of a request to pay: the switch is
// asked to accept the request with p's transfer id, again with the same
// id until until (accepting again answers the request as it stands), and
// the transfer's outcome is recorded as p's final state. It returns why
// the outcome is not known yet, as pay does.
func (c *Connector) payRequest(ctx context.Context, p *payment, until time.Time) error {
	pr, _, err := retrying(ctx, until, c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now, func(ctx context.Context) (wire.PaymentRequest, error) {
		return c.sw.AcceptPaymentRequest(ctx, p.requestID, p.id)
	})
	switch {
	case err == nil:
		if rerr := recordRequest(context.WithoutCancel(ctx), c.db, "inbound", &pr, c.cfg.Now().UnixMilli()); rerr != nil {
			c.log.Error("recording a request", "id", pr.ID, "err", rerr)
		}
		if pr.TransferID != p.id {
			return fmt.Errorf("request %s is %s with transfer %q", pr.ID, pr.State, pr.TransferID)
		}
	case !sim.Definite(err):
		return err
	case sim.IsProblem(err, sim.ProblemPaymentAborted):
		// The transfer was made and aborted: the request is pending
		// again. The transfer says why.
	default:
		return c.refuse(p, err)
	}
	t, err := c.sw.Transfer(ctx, p.id)
	if err != nil {
		return err
	}
	return c.settle(ctx, p, t, until)
}

// declineRequest is the body of POST /requests/{id}/decline.
type declineRequest struct {
	Reason string `json:"reason,omitempty"`
}

// postDecline is POST /requests/{id}/decline: decline a request to one
// of the wallet's users, with a reason its requester is told. Declining
// again answers the request as it stands; a refusal is the switch's.
func (c *Connector) postDecline(w http.ResponseWriter, r *http.Request) {
	var req declineRequest
	if !decode(w, r, apiBodyMax, &req) {
		return
	}
	if !text(req.Reason, 4*messageMax) || len([]rune(req.Reason)) > messageMax {
		writeProblem(w, probInvalid, fmt.Sprintf("reason: at most %d characters of printable text", messageMax))
		return
	}
	id := r.PathValue("id")
	if row, ok, err := c.requestBy(r.Context(), "id", id); err != nil {
		c.internal(w, err)
		return
	} else if ok && row.direction != "inbound" {
		writeProblem(w, probNotFound, "no request "+id+" to one of this participant's users")
		return
	}
	pr, _, err := retrying(r.Context(), c.cfg.Now().Add(aliasWait), c.cfg.RetryMin, c.cfg.RetryMax, c.cfg.Now,
		func(ctx context.Context) (wire.PaymentRequest, error) {
			return c.sw.DeclinePaymentRequest(ctx, id, req.Reason)
		})
	if err != nil {
		c.requestFailed(w, "request_decline", err)
		return
	}
	if err := recordRequest(context.WithoutCancel(r.Context()), c.db, "inbound", &pr, c.cfg.Now().UnixMilli()); err != nil {
		c.internal(w, err)
		return
	}
	row, ok, err := c.requestBy(r.Context(), "id", pr.ID)
	if err != nil || !ok {
		c.internal(w, fmt.Errorf("request %s: %v", pr.ID, err))
		return
	}
	c.answerRequest(w, "request_decline", row)
}
