package connector

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The switch's callbacks of requests to pay and mandates (package rtp's
// and package mandate's events) reach the backend as notices: a POST
// {backend}/incoming through the same outbox as the incoming transfers,
// named in the connector's own vocabulary. Which participant gets which:
//
//	payment-request.created           the payer's (the wallet is asked to pay)
//	payment-request.paid/declined/expired  the payee's (the wallet asked)
//	mandate.proposed, execution-due   the payer's
//	mandate.changed                   the side that did not act
//	mandate.executed/execution-failed both sides

// noticeEvents maps the switch's events to the connector's names.
var noticeEvents = map[string]string{
	"payment-request.created":  "request",
	"payment-request.paid":     "request-paid",
	"payment-request.declined": "request-declined",
	"payment-request.expired":  "request-expired",
	"mandate.proposed":         "mandate-proposed",
	"mandate.changed":          "mandate-changed",
	"mandate.execution-due":    "mandate-due",
	"mandate.executed":         "mandate-executed",
	"mandate.execution-failed": "mandate-failed",
}

// noticeNames are the connector's names, in the order the docs list them:
// the fixed label set of the notice metrics.
var noticeNames = []string{"request", "request-paid", "request-declined", "request-expired", "mandate-proposed", "mandate-changed",
	"mandate-due", "mandate-executed", "mandate-failed"}

// notice is what the connector POSTs to the backend's /incoming for a
// callback of a request to pay or a mandate. EventID is its identity:
// the backend de-duplicates by it (a redelivery carries the same one).
type notice struct {
	Event   string `json:"event"`
	EventID string `json:"eventId"`
	// Role is the participant's side: payer or payee of a request,
	// payer or biller of a mandate.
	Role           string         `json:"role"`
	RequestID      string         `json:"requestId,omitempty"`
	IdempotencyKey string         `json:"idempotencyKey,omitempty"` // the backend's id of a request it sent
	MandateID      string         `json:"mandateId,omitempty"`
	TransferID     string         `json:"transferId,omitempty"` // a paid request's payment, an execution's transfer
	State          string         `json:"state"`                // the request's or the mandate's
	Amount         string         `json:"amount,omitempty"`     // the request's, or the execution's
	MaxAmount      string         `json:"maxAmount,omitempty"`  // a mandate's cap per execution
	Currency       string         `json:"currency"`
	PayerAlias     *wire.PayeeRef `json:"payerAlias,omitempty"`   // the payer's alias and participant
	Requester      string         `json:"requester,omitempty"`    // a request's requesting participant
	PayeeAccount   string         `json:"payeeAccount,omitempty"` // the user a request the backend sent credits
	Biller         string         `json:"biller,omitempty"`       // a mandate's biller participant
	Message        string         `json:"message,omitempty"`      // a request's message, a mandate's description
	Reference      string         `json:"reference,omitempty"`    // an execution's
	Frequency      string         `json:"frequency,omitempty"`
	ValidFrom      time.Time      `json:"validFrom,omitzero"`
	ValidUntil     time.Time      `json:"validUntil,omitzero"`
	ExpiresAt      time.Time      `json:"expiresAt,omitzero"` // a request's
	DueAt          time.Time      `json:"dueAt,omitzero"`     // a mandate's next execution
	Reason         string         `json:"reason,omitempty"`
	CreatedAt      time.Time      `json:"createdAt,omitzero"`
}

// checkNotice reports what is missing from a signed callback of a
// request to pay or a mandate (parseCallback refuses it then).
func checkNotice(cb *wire.Callback) error {
	switch name := noticeEvents[cb.Event]; {
	case name == "":
		return nil
	case strings.HasPrefix(name, "request"):
		if cb.PaymentRequest == nil {
			return fmt.Errorf("malformed callback: %s without a paymentRequest", cb.Event)
		}
	case cb.Mandate == nil:
		return fmt.Errorf("malformed callback: %s without a mandate", cb.Event)
	case (name == "mandate-executed" || name == "mandate-failed") && cb.Execution == nil:
		return fmt.Errorf("malformed callback: %s without an execution", cb.Event)
	}
	return nil
}

// decimal checks amount in currency cur and formats it back the
// connector's way.
func decimal(amount, cur string) (string, money.Currency, error) {
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return "", c, fmt.Errorf("currency %q", cur)
	}
	a, err := money.Parse(amount, c)
	if err != nil || a <= 0 {
		return "", c, fmt.Errorf("amount %q", amount)
	}
	return a.Format(c), c, nil
}

// id reports whether s may be a record's key.
func validID(s string) bool { return s != "" && len(s) <= keyMax && text(s, keyMax) }

// noticeOf reads a callback of a request to pay or a mandate as the
// backend is told it: its notice, and its identity (the eventId), which
// is the same for a redelivery and different for every other callback.
func (c *Connector) noticeOf(cb *wire.Callback) (notice, error) {
	n := notice{Event: noticeEvents[cb.Event]}
	if r := cb.PaymentRequest; r != nil && strings.HasPrefix(n.Event, "request") {
		if !validID(r.ID) {
			return n, fmt.Errorf("%s: request id %q", cb.Event, r.ID)
		}
		amt, _, err := decimal(r.Amount, r.Currency)
		if err != nil {
			return n, fmt.Errorf("%s %s: %w", cb.Event, r.ID, err)
		}
		n.Role = "payee"
		if r.Payer.Participant == c.cfg.Participant {
			n.Role = "payer"
		} else if r.Payee != c.cfg.Participant {
			return n, fmt.Errorf("%s %s: neither payer nor payee", cb.Event, r.ID)
		}
		payer := r.Payer
		n.EventID, n.RequestID, n.TransferID, n.State = n.Event+":"+r.ID, r.ID, r.TransferID, r.State
		n.Amount, n.Currency, n.PayerAlias, n.Requester, n.Message = amt, r.Currency, &payer, r.Payee, r.Message
		n.ExpiresAt, n.Reason, n.CreatedAt = r.ExpiresAt, r.Reason, r.CreatedAt
		return n, nil
	}
	m := cb.Mandate
	if m == nil || !validID(m.ID) {
		return n, fmt.Errorf("%s: no mandate id", cb.Event)
	}
	maxAmt, _, err := decimal(m.MaxAmount, m.Currency)
	if err != nil {
		return n, fmt.Errorf("%s %s: %w", cb.Event, m.ID, err)
	}
	n.Role = "biller"
	if m.Payer.Participant == c.cfg.Participant {
		n.Role = "payer"
	} else if m.Biller != c.cfg.Participant {
		return n, fmt.Errorf("%s %s: neither payer nor biller", cb.Event, m.ID)
	}
	payer := m.Payer
	n.MandateID, n.State, n.MaxAmount, n.Currency, n.PayerAlias, n.Biller = m.ID, m.State, maxAmt, m.Currency, &payer, m.Biller
	n.Message, n.Frequency, n.ValidFrom, n.ValidUntil, n.DueAt, n.CreatedAt = m.Description, m.Frequency, m.ValidFrom, m.ValidUntil,
		m.NextExecution, m.CreatedAt
	switch n.Event {
	case "mandate-proposed":
		n.EventID = n.Event + ":" + m.ID
	case "mandate-changed":
		n.EventID = n.Event + ":" + m.ID + ":" + m.State + ":" + strconv.FormatInt(m.UpdatedAt.UnixNano(), 10)
	case "mandate-due":
		n.EventID = n.Event + ":" + m.ID + ":" + strconv.FormatInt(m.NextExecution.UnixNano(), 10)
	default: // executed, failed
		e := cb.Execution
		if e == nil || !validID(e.ID) {
			return n, fmt.Errorf("%s %s: no execution id", cb.Event, m.ID)
		}
		amt, _, err := decimal(e.Amount, e.Currency)
		if err != nil {
			return n, fmt.Errorf("%s %s: %w", cb.Event, e.ID, err)
		}
		n.EventID, n.TransferID, n.Amount, n.Reference, n.Reason = n.Event+":"+e.ID, e.ID, amt, e.Reference, e.Reason
		n.CreatedAt = e.CreatedAt
	}
	return n, nil
}

// onNotice books a callback of a request to pay or a mandate, once by
// its identity, and queues its notice for the backend, in one
// transaction with the connector's record of the request or mandate;
// it answers 2xx only once that is durable. One that makes no sense
// (not this participant's, an amount that is none) is logged and
// acknowledged: refusing it would hold up every later callback.
func (c *Connector) onNotice(w http.ResponseWriter, r *http.Request, cb *wire.Callback) string {
	n, err := c.noticeOf(cb)
	if err != nil {
		c.stats.anomalies.Add(1)
		c.log.Error("a notice that makes no sense; acknowledged, not delivered", "event", cb.Event, "err", err)
		w.WriteHeader(http.StatusNoContent)
		return resultMalformed
	}
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	if c.depth.Load() >= int64(c.cfg.OutboxMax) {
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
	if pr := cb.PaymentRequest; pr != nil && n.RequestID != "" {
		dir := "outbound"
		if n.Role == "payer" {
			dir = "inbound"
		}
		if err := recordRequest(ctx, tx, dir, pr, now); err != nil {
			c.internal(w, err)
			return resultError
		}
		var key sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT idem_key, account FROM requests WHERE id = ?", pr.ID).Scan(&key,
			&n.PayeeAccount); err != nil {
			c.internal(w, fmt.Errorf("request %s: %w", pr.ID, err))
			return resultError
		}
		n.IdempotencyKey = key.String
	} else if cb.Mandate != nil {
		if err := recordMandate(ctx, tx, cb.Mandate, now); err != nil {
			c.internal(w, err)
			return resultError
		}
	}
	body, err := json.Marshal(n)
	if err != nil {
		c.internal(w, err)
		return resultError
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO notices (key, event, body, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		n.EventID, n.Event, string(body), now)
	if err != nil {
		c.internal(w, fmt.Errorf("book notice %s: %w", n.EventID, err))
		return resultError
	}
	added := false
	if k, _ := res.RowsAffected(); k == 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE notices SET redeliveries = redeliveries + 1 WHERE key = ?`, n.EventID); err != nil {
			c.internal(w, err)
			return resultError
		}
	} else {
		seq, _ := res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (kind, ref) VALUES ('notice', ?)`, seq); err != nil {
			c.internal(w, fmt.Errorf("queue notice %s: %w", n.EventID, err))
			return resultError
		}
		added = true
	}
	if err := tx.Commit(); err != nil {
		c.internal(w, fmt.Errorf("book notice %s: %w", n.EventID, err))
		return resultError
	}
	w.WriteHeader(http.StatusNoContent)
	if !added {
		c.stats.redelivered.Add(1)
		c.metrics.notices.WithLabelValues(n.Event, resultDuplicate).Inc()
		return resultDuplicate
	}
	c.depth.Add(1)
	c.metrics.notices.WithLabelValues(n.Event, "booked").Inc()
	c.log.Info("notice booked", "event", n.Event, "id", n.EventID)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return resultOK
}

// finalRequest reports whether a request in state st changes no more.
func finalRequest(st string) bool {
	switch st {
	case "PAID", "DECLINED", "EXPIRED", stateRefused:
		return true
	}
	return false
}

// execer is a database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// recordRequest records the switch's view of request pr (direction when
// new), unless the record holds a final state already: a late answer
// does not take a request back.
func recordRequest(ctx context.Context, db execer, dir string, pr *wire.PaymentRequest, now int64) error {
	doc, err := json.Marshal(pr)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO requests (id, direction, state, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, doc = excluded.doc, problem = '', updated_at = excluded.updated_at
		WHERE requests.state NOT IN ('PAID', 'DECLINED', 'EXPIRED', 'REFUSED')`, pr.ID, dir, pr.State, string(doc), now, now)
	if err != nil {
		return fmt.Errorf("record request %s: %w", pr.ID, err)
	}
	return nil
}

// recordMandate records the switch's view of mandate m, unless the
// record holds a newer one.
func recordMandate(ctx context.Context, db execer, m *wire.Mandate, now int64) error {
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	at := m.UpdatedAt.UnixNano()
	_, err = db.ExecContext(ctx, `INSERT INTO mandates (id, state, doc, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, doc = excluded.doc, updated_at = excluded.updated_at
		WHERE excluded.updated_at >= mandates.updated_at`, m.ID, m.State, string(doc), at)
	if err != nil {
		return fmt.Errorf("record mandate %s: %w", m.ID, err)
	}
	return nil
}
