package connector

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
)

// outboxItem is the oldest item not yet delivered to the backend: an
// incoming transfer (kind "transfer") or a notice of a request to pay or
// a mandate (kind "notice").
type outboxItem struct {
	seq, ref int64
	kind     string
	attempts int
	event    string // what the call's "event" says
	key      string // its Idempotency-Key: the transfer id, or the notice's eventId
	body     []byte
}

// next returns the outbox's oldest item, if any.
func (c *Connector) next(ctx context.Context) (outboxItem, bool, error) {
	var it outboxItem
	err := c.db.QueryRowContext(ctx, `SELECT seq, kind, ref, attempts FROM outbox ORDER BY seq LIMIT 1`).Scan(&it.seq, &it.kind, &it.ref,
		&it.attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return it, false, nil
	}
	if err != nil {
		return it, false, fmt.Errorf("outbox: %w", err)
	}
	if it.kind == "notice" {
		var body string
		if err := c.db.QueryRowContext(ctx, `SELECT key, event, body FROM notices WHERE seq = ?`, it.ref).Scan(&it.key, &it.event,
			&body); err != nil {
			return it, false, fmt.Errorf("outbox %d: notice %d: %w", it.seq, it.ref, err)
		}
		it.body = []byte(body)
		return it, true, nil
	}
	var in incoming
	var amt int64
	var created sql.NullString
	err = c.db.QueryRowContext(ctx, `SELECT transfer_id, amount, currency, payee_type, payee_value, payee_account, payer, note,
		json_extract(transfer, '$.createdAt') FROM inbound WHERE seq = ?`, it.ref).Scan(&in.TransferID, &amt, &in.Currency,
		&in.Payee.Type, &in.Payee.Value, &in.PayeeAccount, &in.Payer, &in.Note, &created)
	if err != nil {
		return it, false, fmt.Errorf("outbox %d: transfer %d: %w", it.seq, it.ref, err)
	}
	if t, err := time.Parse(time.RFC3339Nano, created.String); err == nil {
		in.CreatedAt = t
	}
	cur, err := money.ParseCurrency(in.Currency)
	if err != nil {
		return it, false, fmt.Errorf("outbox %d: %w", it.seq, err)
	}
	in.Event, in.Amount = "committed", money.Amount(amt).Format(cur)
	if it.body, err = json.Marshal(in); err != nil {
		return it, false, err
	}
	it.event, it.key = in.Event, in.TransferID
	return it, true, nil
}

// deliverLoop delivers the outbox to the backend: the oldest item,
// until the backend answers 2xx, then the next — one at a time, in the
// order the switch committed them, at least once (a crash after the
// backend's 2xx and before the record's delete delivers that one
// again). Between failed attempts it waits longer each time, up to
// RetryMax.
func (c *Connector) deliverLoop(ctx context.Context) {
	idle := time.NewTicker(time.Second) // a wake-up lost to a race costs at most this
	defer idle.Stop()
	for ctx.Err() == nil {
		it, ok, err := c.next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Error("reading the outbox", "err", err)
			}
			c.sleep(ctx, c.cfg.RetryMax)
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
			case <-c.wake:
			case <-idle.C:
			}
			continue
		}
		if err := c.deliver(ctx, it); err != nil {
			if ctx.Err() != nil {
				return
			}
			it.attempts++
			c.stats.deliveryFailures.Add(1)
			msg := err.Error()
			c.stats.lastDeliveryError.Store(&msg)
			wait := backoff(it.attempts, c.cfg.RetryMin, c.cfg.RetryMax, nil)
			if it.attempts == 1 || it.attempts%10 == 0 {
				c.log.Warn("the backend did not take an incoming item; trying again", "event", it.event, "id", it.key,
					"attempts", it.attempts, "err", err, "in", wait)
			}
			if _, err := c.db.ExecContext(ctx, "UPDATE outbox SET attempts = ?, last_error = ? WHERE seq = ?", it.attempts,
				truncate(msg, 500), it.seq); err != nil && ctx.Err() == nil {
				c.log.Error("recording a delivery's failure", "err", err)
			}
			c.sleep(ctx, wait)
		}
	}
}

// deliver POSTs one item to the backend and, on 2xx, takes it out of
// the outbox.
func (c *Connector) deliver(ctx context.Context, it outboxItem) error {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.BackendTimeout)
	_, err := c.postBackend(dctx, it.event, it.key, it.body)
	cancel()
	if err != nil {
		return fmt.Errorf("deliver %s: %w", it.key, err)
	}
	// Delivered: recorded even if the connector is stopping, or the
	// next start would deliver it again for nothing.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	tx, err := c.db.BeginTx(wctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(wctx, "DELETE FROM outbox WHERE seq = ?", it.seq); err != nil {
		return err
	}
	table := "inbound"
	if it.kind == "notice" {
		table = "notices"
	}
	if _, err := tx.ExecContext(wctx, "UPDATE "+table+" SET delivered_at = ? WHERE seq = ?", c.cfg.Now().UnixMilli(), it.ref); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	c.depth.Add(-1)
	c.stats.delivered.Add(1)
	c.stats.lastDeliveryError.Store(nil)
	return nil
}

// sleep waits d or until ctx ends.
func (c *Connector) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
