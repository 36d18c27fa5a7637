package connector

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// callbackMax bounds a callback's body: a notification of 1,000
// transfers is some 500 kB.
const callbackMax = 4 << 20

// verify checks a Hulian-Signature over body under any of the callback
// secrets, made within SignatureTolerance of now.
func (c *Connector) verify(header string, body []byte) bool {
	now := c.cfg.Now()
	for _, s := range c.cfg.CallbackSecrets {
		if wire.Verify(header, s, body, now, c.cfg.SignatureTolerance) == nil {
			return true
		}
	}
	return false
}

// serveCallback takes the switch's callbacks. The body is read whole and
// bounded, then its signature verified: anything unsigned is refused
// (401) and ignored, since anyone can reach the URL. A signed body that
// is not a callback is refused (400): the switch tries again, and the
// failure shows on both sides.
func (c *Connector) serveCallback(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, callbackMax))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		c.metrics.callback(eventUnknown, resultMalformed)
		writeProblem(w, probTooLarge, "")
		return
	case err != nil:
		c.metrics.callback(eventUnknown, resultMalformed)
		writeProblem(w, probInvalid, "unreadable body")
		return
	}
	if !c.verify(r.Header.Get(wire.SignatureHeader), body) {
		c.stats.badSignatures.Add(1)
		c.metrics.callback(eventUnknown, resultBadSignature)
		writeProblem(w, probSignature, "")
		return
	}
	c.stats.callbacks.Add(1)
	cb, err := parseCallback(body)
	if err != nil {
		c.stats.anomalies.Add(1)
		c.metrics.callback(cmp.Or(cb.Event, eventUnknown), resultMalformed)
		c.log.Error("a signed callback that is not one", "err", err)
		writeProblem(w, probInvalid, err.Error())
		return
	}
	result := resultOK
	switch cb.Event {
	case wire.EventTransfersCommitted:
		result = c.onCommitted(w, r, cb.Transfers)
	case wire.EventTransferConfirm:
		result = c.onConfirm(w, r, cb.Transfer)
	default:
		if _, ok := noticeEvents[cb.Event]; ok {
			result = c.onNotice(w, r, &cb)
			break
		}
		// Liquidity alerts, claims, disputes:
		// the connector does not act on them. Acknowledged, so that they
		// never hold up the stream of payments.
		c.log.Info("callback acknowledged, not acted on", "event", cb.Event)
		w.WriteHeader(http.StatusNoContent)
	}
	c.metrics.callback(cb.Event, result)
}

// parseCallback reads a callback's body: a JSON object with an event;
// a committed notification carries transfers, a confirm request one.
// Members it does not know are ignored: the switch may add some.
func parseCallback(body []byte) (wire.Callback, error) {
	var cb wire.Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return cb, fmt.Errorf("malformed callback: %w", err)
	}
	switch {
	case cb.Event == "":
		return cb, errors.New("malformed callback: no event")
	case cb.Event == wire.EventTransfersCommitted && len(cb.Transfers) == 0:
		return cb, errors.New("malformed callback: transfers.committed without transfers")
	case cb.Event == wire.EventTransferConfirm && cb.Transfer == nil:
		return cb, errors.New("malformed callback: transfer.confirm without a transfer")
	}
	return cb, checkNotice(&cb)
}

// incoming is what the connector POSTs to the backend's /incoming: a
// transfer to one of its users, committed (credit it, once by
// transferId) or to confirm (answer whether to accept it; credit nothing
// yet).
type incoming struct {
	Event        string    `json:"event"` // committed | confirm
	TransferID   string    `json:"transferId"`
	Amount       string    `json:"amount"` // what the payee gets
	Currency     string    `json:"currency"`
	PayeeAccount string    `json:"payeeAccount"`
	Payee        alias     `json:"payee"`
	Payer        string    `json:"payer"`
	Note         string    `json:"note"`
	CreatedAt    time.Time `json:"createdAt,omitzero"`
}

// inboundOf reads a transfer to the participant: what its payee gets, in
// its own currency. That is the amount, but for an FX payment, whose
// amount is what the payer sent: its payee gets fx.targetAmount in
// fx.targetCurrency.
func (c *Connector) inboundOf(t *wire.Transfer, event string) (incoming, money.Amount, money.Currency, error) {
	amount, currency := t.Amount, t.Currency
	if t.FX != nil {
		amount, currency = t.FX.TargetAmount, t.FX.TargetCurrency
	}
	in := incoming{Event: event, TransferID: t.ID, Currency: currency, PayeeAccount: t.Payee.Account,
		Payee: alias{Type: t.Payee.Type, Value: t.Payee.Value}, Payer: t.Payer, Note: t.Note, CreatedAt: t.CreatedAt}
	cur, err := money.ParseCurrency(currency)
	if err != nil {
		return in, 0, 0, fmt.Errorf("transfer %s: currency %q", t.ID, currency)
	}
	amt, err := money.Parse(amount, cur)
	switch {
	case err != nil || amt <= 0:
		return in, 0, 0, fmt.Errorf("transfer %s: amount %q", t.ID, amount)
	case t.ID == "" || len(t.ID) > keyMax:
		return in, 0, 0, fmt.Errorf("transfer id %q", t.ID)
	case t.Payee.Participant != c.cfg.Participant:
		return in, 0, 0, fmt.Errorf("transfer %s is to %s, not to this participant", t.ID, t.Payee.Participant)
	case !c.holds(cur):
		return in, 0, 0, fmt.Errorf("transfer %s is in %s, which this participant does not hold", t.ID, cur)
	}
	in.Amount = amt.Format(cur)
	return in, amt, cur, nil
}

// holds reports whether the participant holds currency cur at the
// switch (as it last read itself; any, before it has).
func (c *Connector) holds(cur money.Currency) bool {
	p := c.self.Load()
	return p == nil || slices.Contains(p.Currencies, cur.String())
}

// onCommitted books the committed transfers of a notification, each
// once by its id, and queues the new ones for the backend, in one
// transaction; it answers 2xx only once that is durable, since a 2xx
// lets the switch forget them. A transfer that makes no sense (not to
// this participant, not committed) is logged and skipped: refusing the
// notification would stop every later one with it. It returns the
// result to count: duplicate when the notification changed nothing but
// redelivery counts.
func (c *Connector) onCommitted(w http.ResponseWriter, r *http.Request, ts []wire.Transfer) string {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	if c.depth.Load() >= int64(c.cfg.OutboxMax) {
		// The backend is behind: the switch keeps the notification and
		// delivers it again later. A notification is taken whole while
		// the outbox has room, so the outbox may pass its bound by one
		// notification's transfers (at most 1,000): a batch larger than
		// the room left must not wait for ever.
		c.log.Warn("outbox full: notification refused until the backend catches up", "depth", c.depth.Load())
		writeProblem(w, probBusy, "outbox full")
		return resultBusy
	}
	ctx := context.WithoutCancel(r.Context())
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		c.internal(w, err)
		return resultError
	}
	defer tx.Rollback()
	now := c.cfg.Now().UnixMilli()
	var added, dupes, skipped int64
	for i := range ts {
		t := &ts[i]
		in, amt, cur, err := c.inboundOf(t, "committed")
		if err == nil && t.State != stateCommitted {
			err = fmt.Errorf("transfer %s in state %s", t.ID, t.State)
		}
		if err != nil {
			c.stats.anomalies.Add(1)
			skipped++
			c.log.Error("notified of a transfer that makes no sense; skipped", "err", err)
			continue
		}
		raw, _ := json.Marshal(t)
		res, err := tx.ExecContext(ctx, `INSERT INTO inbound (transfer_id, amount, currency, payee_type, payee_value, payee_account, payer,
			note, transfer, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (transfer_id) DO NOTHING`,
			t.ID, int64(amt), cur.String(), in.Payee.Type, in.Payee.Value, in.PayeeAccount, in.Payer, in.Note, string(raw), now)
		if err != nil {
			c.internal(w, fmt.Errorf("book transfer %s: %w", t.ID, err))
			return resultError
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Booked before: a redelivery changes nothing but its count.
			dupes++
			if _, err := tx.ExecContext(ctx, `UPDATE inbound SET redeliveries = redeliveries + 1 WHERE transfer_id = ?`, t.ID); err != nil {
				c.internal(w, err)
				return resultError
			}
			continue
		}
		seq, _ := res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (kind, ref) VALUES ('transfer', ?)`, seq); err != nil {
			c.internal(w, fmt.Errorf("queue transfer %s: %w", t.ID, err))
			return resultError
		}
		added++
	}
	if err := tx.Commit(); err != nil {
		c.internal(w, fmt.Errorf("book a notification: %w", err))
		return resultError
	}
	c.depth.Add(added)
	c.stats.credited.Add(added)
	c.stats.redelivered.Add(dupes)
	c.metrics.incoming.WithLabelValues("booked").Add(float64(added))
	c.metrics.incoming.WithLabelValues(resultDuplicate).Add(float64(dupes))
	c.metrics.incoming.WithLabelValues("skipped").Add(float64(skipped))
	if added > 0 {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	w.WriteHeader(http.StatusNoContent)
	if added == 0 && dupes > 0 {
		return resultDuplicate
	}
	return resultOK
}

// decision is an answer to a confirm request.
type decision struct {
	accept bool
	reason string
}

// Reasons of the connector's own rejections.
const (
	reasonNotOurs     = "not for this participant"
	reasonNoAnswer    = "the participant's system did not answer in time"
	reasonBadAnswer   = "the participant's system answered without a decision"
	reasonBusy        = "the participant's system is busy"
	reasonBackendDown = "the participant's system is not reachable"
	reasonMax         = 256
)

// onConfirm answers a confirm request: the decision recorded for the
// transfer if it was asked before, else the backend's, asked within
// ConfirmTimeout, recorded durably, then answered signed with the first
// callback secret (the switch counts an unsigned answer as none). A
// backend that does not answer in time, or answers without a decision,
// rejects the transfer: nothing moves, and the payer may try again. It
// returns the result to count: duplicate for a question answered before.
func (c *Connector) onConfirm(w http.ResponseWriter, r *http.Request, t *wire.Transfer) string {
	if t.ID == "" || len(t.ID) > keyMax {
		c.stats.anomalies.Add(1)
		writeProblem(w, probInvalid, "a confirm request without a transfer id")
		return resultMalformed
	}
	ctx := r.Context()
	d, ok, err := c.decided(ctx, t.ID)
	if err != nil {
		c.internal(w, err)
		return resultError
	}
	result := resultDuplicate
	if !ok {
		result = resultOK
		answer := confirmFailed
		in, amt, cur, err := c.inboundOf(t, "confirm")
		if err != nil {
			c.stats.anomalies.Add(1)
			c.log.Error("asked to confirm a transfer that makes no sense; rejected", "err", err)
			d = decision{reason: reasonNotOurs}
		} else {
			d, answer = c.ask(ctx, in)
		}
		if d, err = c.decide(ctx, t, in, amt, cur, d); err != nil {
			c.internal(w, err)
			return resultError
		}
		if d.accept {
			c.stats.accepted.Add(1)
		} else {
			c.stats.rejected.Add(1)
		}
		c.metrics.confirms.WithLabelValues(answer).Inc()
		c.log.Info("confirm answered", "transfer", t.ID, "accept", d.accept, "reason", d.reason)
	}
	ans := wire.Decision{Decision: "reject", Reason: d.reason, TransferID: t.ID}
	if d.accept {
		ans.Decision = "accept"
	}
	b, _ := json.Marshal(ans)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(wire.SignatureHeader, wire.Sign(c.cfg.CallbackSecrets[0], c.cfg.Now(), b))
	w.Write(b)
	return result
}

// decided returns the decision recorded for transfer id, if any.
func (c *Connector) decided(ctx context.Context, id string) (decision, bool, error) {
	var d decision
	err := c.db.QueryRowContext(ctx, "SELECT accept, reason FROM decisions WHERE transfer_id = ?", id).Scan(&d.accept, &d.reason)
	if errors.Is(err, sql.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("decision on %s: %w", id, err)
	}
	return d, true, nil
}

// decide records d for transfer t, unless a decision was recorded
// meanwhile (the same question twice at once), and returns the one
// recorded.
func (c *Connector) decide(ctx context.Context, t *wire.Transfer, in incoming, amt money.Amount, cur money.Currency, d decision) (decision, error) {
	ctx = context.WithoutCancel(ctx)
	curCode := ""
	if cur.Valid() {
		curCode = cur.String()
	}
	if _, err := c.db.ExecContext(ctx, `INSERT INTO decisions (transfer_id, accept, reason, amount, currency, payee_account, payer, note,
		decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (transfer_id) DO NOTHING`, t.ID, d.accept, d.reason, int64(amt), curCode,
		in.PayeeAccount, in.Payer, in.Note, c.cfg.Now().UnixMilli()); err != nil {
		return d, fmt.Errorf("record decision on %s: %w", t.ID, err)
	}
	d, _, err := c.decided(ctx, t.ID)
	return d, err
}

// backendAnswerMax bounds what is read of the backend's answer.
const backendAnswerMax = 64 << 10

// ask asks the backend whether to accept an incoming transfer, within
// ConfirmTimeout; at most ConfirmsMax at once. It returns the decision
// and how it came (confirmAccepted, …).
func (c *Connector) ask(ctx context.Context, in incoming) (decision, string) {
	select {
	case c.confirms <- struct{}{}:
		defer func() { <-c.confirms }()
	default:
		return decision{reason: reasonBusy}, confirmFailed
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConfirmTimeout)
	defer cancel()
	body, err := json.Marshal(in)
	var b []byte
	if err == nil {
		b, err = c.postBackend(ctx, in.Event, in.TransferID, body)
	}
	if err != nil {
		c.log.Warn("the backend did not decide; rejecting", "transfer", in.TransferID, "err", err)
		if ctx.Err() != nil {
			return decision{reason: reasonNoAnswer}, confirmLate
		}
		return decision{reason: reasonBackendDown}, confirmFailed
	}
	var ans struct {
		Accept *bool  `json:"accept"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || ans.Accept == nil {
		c.log.Warn("the backend answered without a decision; rejecting", "transfer", in.TransferID, "answer", truncate(string(b), 200))
		return decision{reason: reasonBadAnswer}, confirmFailed
	}
	if !text(ans.Reason, reasonMax) {
		ans.Reason = "" // the switch would refuse the answer
	}
	if !*ans.Accept && ans.Reason == "" {
		ans.Reason = "rejected by the payee's participant"
	}
	if *ans.Accept {
		return decision{accept: true, reason: ans.Reason}, confirmAccepted
	}
	return decision{reason: ans.Reason}, confirmRejected
}

// postBackend POSTs in to the backend's /incoming and returns the body
// of a 2xx answer; any other answer is an error. With BackendSecrets
// the call carries a SignatureHeader over its exact body, made as the
// switch signs its callbacks, so that the backend can refuse a forged
// credit with the verifier it may already have; with BackendToken, a
// Bearer token. Each attempt is signed anew: a retry after a long outage
// is still within the backend's tolerance.
func (c *Connector) postBackend(ctx context.Context, event, key string, body []byte) ([]byte, error) {
	start := time.Now()
	b, status, err := c.postBackendOnce(ctx, key, body)
	c.metrics.backendCall(event, status, err, time.Since(start))
	if err == nil && status/100 != 2 {
		err = errors.New("status " + strconv.Itoa(status))
	}
	return b, err
}

// postBackendOnce makes the call of postBackend and returns the answer's
// body (at most backendAnswerMax) and status; an error when no answer
// was read.
func (c *Connector) postBackendOnce(ctx context.Context, key string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.backendURL("/incoming"), bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if len(c.cfg.BackendSecrets) > 0 {
		req.Header.Set(wire.SignatureHeader, wire.SignAll(c.cfg.BackendSecrets, c.cfg.Now(), body))
	}
	if c.cfg.BackendToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.BackendToken)
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, 0, withoutURL(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, backendAnswerMax))
	if err != nil && resp.StatusCode/100 == 2 {
		return nil, 0, withoutURL(err)
	}
	return b, resp.StatusCode, nil
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// inboundView returns an incoming transfer by its id: committed and
// booked, or only decided upon (ACCEPTED, waiting for the commit, or
// REJECTED).
func (c *Connector) inboundView(ctx context.Context, id string) (paymentView, bool, error) {
	var v paymentView
	var amt, received int64
	var delivered sql.NullInt64
	err := c.db.QueryRowContext(ctx, `SELECT amount, currency, payee_type, payee_value, payee_account, payer, note, received_at, delivered_at
		FROM inbound WHERE transfer_id = ?`, id).Scan(&amt, &v.Currency, &v.To.Type, &v.To.Value, &v.PayeeAccount, &v.Payer, &v.Note,
		&received, &delivered)
	switch {
	case err == nil:
		v.ID, v.Direction, v.State = id, "inbound", stateCommitted
		v.CreatedAt = time.UnixMilli(received).UTC()
		d := delivered.Valid
		v.Delivered = &d
		if delivered.Valid {
			v.UpdatedAt = time.UnixMilli(delivered.Int64).UTC()
		}
	case errors.Is(err, sql.ErrNoRows):
		var accept bool
		var decided int64
		err = c.db.QueryRowContext(ctx, `SELECT accept, reason, amount, currency, payee_account, payer, note, decided_at FROM decisions
			WHERE transfer_id = ?`, id).Scan(&accept, &v.Reason, &amt, &v.Currency, &v.PayeeAccount, &v.Payer, &v.Note, &decided)
		if errors.Is(err, sql.ErrNoRows) {
			return v, false, nil
		}
		if err != nil {
			return v, false, fmt.Errorf("decision %s: %w", id, err)
		}
		v.ID, v.Direction, v.State = id, "inbound", "REJECTED"
		if accept {
			v.State = "ACCEPTED"
		}
		v.CreatedAt = time.UnixMilli(decided).UTC()
	default:
		return v, false, fmt.Errorf("incoming transfer %s: %w", id, err)
	}
	if cur, err := money.ParseCurrency(v.Currency); err == nil {
		v.Amount = money.Amount(amt).Format(cur)
	}
	return v, true, nil
}

// backendURL is path on the backend.
func (c *Connector) backendURL(path string) string {
	return strings.TrimRight(c.cfg.BackendURL, "/") + path
}

// withoutURL drops the URL net/http names in its errors, which may be
// logged.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
