package dispute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// HoldState is where a hold stands, as last seen on the ledger.
type HoldState string

// The hold states.
const (
	HoldReserved  HoldState = "RESERVED"
	HoldCommitted HoldState = "COMMITTED"
	HoldReleased  HoldState = "RELEASED"
	HoldExpired   HoldState = "EXPIRED"
)

// Hold is one of a dispute's holds on the payee.
type Hold struct {
	N         int
	ID        string // the hold's transfer id
	Amount    money.Amount
	State     HoldState
	ExpiresAt time.Time
}

// HoldID is the transfer id of dispute id's n-th hold.
func HoldID(id string, n int) string { return "dispute:" + id + ":" + strconv.Itoa(n) }

// Holds returns dispute id's holds as viewer may see them (see Get).
func (s *Service) Holds(ctx context.Context, viewer, id string) ([]Hold, error) {
	if _, err := s.Get(ctx, viewer, id); err != nil {
		return nil, err
	}
	return s.holds(ctx, id)
}

func (s *Service) holds(ctx context.Context, id string) ([]Hold, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT n, hold_id, amount, state, expires_at FROM dispute_holds WHERE dispute_id = $1 ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("holds of dispute %s: %w", id, err)
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		var h Hold
		var amount, exp int64
		var st string
		if err := rows.Scan(&h.N, &h.ID, &amount, &st, &exp); err != nil {
			return nil, fmt.Errorf("holds of dispute %s: %w", id, err)
		}
		h.Amount, h.State, h.ExpiresAt = money.Amount(amount), HoldState(st), time.Unix(0, exp).UTC()
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("holds of dispute %s: %w", id, err)
	}
	return out, nil
}

// settle brings dispute id up to date with the ledger and the clock,
// under its lock, and returns it: holds made but not recorded are
// adopted, holds recorded as reserved take their ledger state, an open
// dispute past RespondBy is accepted, a decided one's holds are
// committed or released, an open one's holds are renewed before they
// expire, money arrived on the payee is held, and a fraud dispute
// accepted is reported. A step that fails leaves the dispute for the
// sweep to finish.
func (s *Service) settle(ctx context.Context, id string) (Dispute, error) {
	ctx = context.WithoutCancel(ctx) // money moved must be recorded
	d, err := s.load(ctx, id)
	if err != nil {
		return Dispute{}, err
	}
	if err := s.adopt(ctx, &d); err != nil {
		return d, err
	}
	hs, err := s.holds(ctx, id)
	if err != nil {
		return d, err
	}
	for _, h := range hs {
		if h.State != HoldReserved {
			continue
		}
		t, err := s.Transfers.Get(ctx, transfer.Viewer{}, h.ID)
		if err != nil {
			return d, err
		}
		if st := holdState(&t); st != HoldReserved {
			if err := s.record(ctx, &d, h, st); err != nil {
				return d, err
			}
		}
	}
	now := s.Now()
	if d.State == Open && !now.Before(d.RespondBy) {
		if d, err = s.decide(ctx, d, Accepted, BySwitch, ""); err != nil {
			return d, err
		}
	}
	var failed error
	if hs, err = s.holds(ctx, id); err != nil {
		return d, err
	}
	for _, h := range hs {
		if h.State != HoldReserved {
			continue
		}
		switch {
		case d.State == Accepted:
			failed = errors.Join(failed, s.commit(ctx, &d, h))
		case d.State == Rejected:
			failed = errors.Join(failed, s.release(ctx, &d, h, "dispute rejected: "+d.RejectReason))
		case h.ExpiresAt.Sub(now) <= RenewBefore:
			failed = errors.Join(failed, s.renew(ctx, &d, h))
		}
	}
	if d.State != Rejected && failed == nil {
		failed = s.topUp(ctx, &d, now)
	}
	if d.State == Accepted && d.Reason == Fraud && !d.reported && s.Fraud != nil {
		failed = errors.Join(failed, s.report(ctx, &d))
	}
	if err := s.schedule(ctx, &d, now, failed != nil); err != nil {
		return d, err
	}
	if failed != nil {
		return d, failed
	}
	return s.load(ctx, id)
}

// holdState is a hold's state as the ledger has it.
func holdState(t *transfer.Transfer) HoldState {
	switch {
	case t.State == transfer.Committed:
		return HoldCommitted
	case t.State == transfer.Aborted && t.Reason == "expired":
		return HoldExpired
	case t.State == transfer.Aborted:
		return HoldReleased
	}
	return HoldReserved
}

// adopt records the holds the ledger has past the last one recorded: a
// crash came between a hold and its row.
func (s *Service) adopt(ctx context.Context, d *Dispute) error {
	for {
		t, err := s.Transfers.Get(ctx, transfer.Viewer{}, HoldID(d.ID, d.holds+1))
		if errors.Is(err, transfer.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := s.add(ctx, d, &t); err != nil {
			return err
		}
	}
}

// add records hold t, the dispute's next, in the state the ledger has
// it.
func (s *Service) add(ctx context.Context, d *Dispute, t *transfer.Transfer) error {
	n := d.holds + 1
	h := Hold{N: n, ID: t.ID, Amount: t.Amount, State: holdState(t), ExpiresAt: t.CreatedAt.Add(HoldTimeout)}
	err := s.DB.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dispute_holds (dispute_id, n, hold_id, amount, state, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, d.ID, n, h.ID, int64(h.Amount), string(h.State), h.ExpiresAt.UnixNano()); err != nil {
			return err
		}
		return s.sums(ctx, tx, d)
	})
	if err != nil {
		return fmt.Errorf("dispute %s: hold %d: %w", d.ID, n, err)
	}
	return nil
}

// record sets hold h's state to st, from HoldReserved.
func (s *Service) record(ctx context.Context, d *Dispute, h Hold, st HoldState) error {
	err := s.DB.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE dispute_holds SET state = $1 WHERE dispute_id = $2 AND n = $3 AND state = $4`,
			string(st), d.ID, h.N, string(HoldReserved)); err != nil {
			return err
		}
		return s.sums(ctx, tx, d)
	})
	if err != nil {
		return fmt.Errorf("dispute %s: hold %d: %w", d.ID, h.N, err)
	}
	return nil
}

// sums sets d's held, refunded and holds from its hold rows, in tx, and
// in d.
func (s *Service) sums(ctx context.Context, tx *sql.Tx, d *Dispute) error {
	var held, refunded int64
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN state = 'RESERVED' THEN amount ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'COMMITTED' THEN amount ELSE 0 END), 0), COALESCE(MAX(n), 0)
		FROM dispute_holds WHERE dispute_id = $1`, d.ID).Scan(&held, &refunded, &n); err != nil {
		return err
	}
	now := s.Now().UTC()
	if _, err := tx.ExecContext(ctx, `UPDATE disputes SET held = $1, refunded = $2, holds = $3, updated_at = $4 WHERE id = $5`,
		held, refunded, n, now.UnixNano(), d.ID); err != nil {
		return err
	}
	d.Held, d.Refunded, d.holds, d.UpdatedAt = money.Amount(held), money.Amount(refunded), n, now
	return nil
}

// commit pays hold h back to the payer.
func (s *Service) commit(ctx context.Context, d *Dispute, h Hold) error {
	t, _, err := s.Transfers.CommitPayBack(ctx, h.ID)
	switch {
	case err == nil:
		return s.record(ctx, d, h, HoldCommitted)
	case errors.Is(err, transfer.ErrExpired):
		return s.record(ctx, d, h, HoldExpired) // taken again by a top-up
	case errors.Is(err, transfer.ErrRefundExceeds):
		return s.record(ctx, d, h, HoldReleased) // the payee paid it back itself
	case errors.Is(err, transfer.ErrFinished) && t.ID != "":
		return s.record(ctx, d, h, holdState(&t))
	}
	return err
}

// release releases hold h.
func (s *Service) release(ctx context.Context, d *Dispute, h Hold, reason string) error {
	t, _, err := s.Transfers.ReleasePayBack(ctx, h.ID, reason)
	switch {
	case err == nil:
		return s.record(ctx, d, h, holdState(&t))
	case errors.Is(err, transfer.ErrFinished) && t.ID != "":
		return s.record(ctx, d, h, holdState(&t))
	}
	return err
}

// renew replaces hold h, close to its expiry, by the dispute's next.
func (s *Service) renew(ctx context.Context, d *Dispute, h Hold) error {
	nt, _, err := s.Transfers.RenewPayBack(ctx, h.ID, HoldID(d.ID, d.holds+1), HoldTimeout)
	if err != nil {
		if t, gerr := s.Transfers.Get(ctx, transfer.Viewer{}, h.ID); gerr == nil && holdState(&t) != HoldReserved {
			return s.record(ctx, d, h, holdState(&t)) // it expired first: a top-up takes the money again
		}
		return err
	}
	if err := s.add(ctx, d, &nt); err != nil {
		return err
	}
	return s.record(ctx, d, h, HoldReleased)
}

// topUp holds what the payee has of what the dispute may still take,
// while the dispute period lasts, at most every TopUpInterval; an
// accepted dispute pays it back at once.
func (s *Service) topUp(ctx context.Context, d *Dispute, now time.Time) error {
	if d.Outstanding() <= 0 || !now.Before(d.HoldUntil) || now.UnixNano() < d.holdAt || d.holds >= TopUpsMax {
		return nil
	}
	payee, ok := s.Participants.Get(d.Payee)
	if !ok {
		return fmt.Errorf("dispute %s: payee participant %s: %w", d.ID, d.Payee, transfer.ErrUnknownParty)
	}
	left, err := s.Transfers.Refundable(ctx, d.TransferID)
	if err != nil {
		return err
	}
	avail, err := s.Transfers.Available(ctx, payee, d.Currency)
	if err != nil {
		return err
	}
	amount := min(d.Outstanding(), left, avail)
	if amount > 0 {
		t, _, err := s.Transfers.HoldPayBack(ctx, payee, d.TransferID, HoldID(d.ID, d.holds+1), amount, HoldTimeout, "dispute "+d.ID)
		switch k := fault.KindOf(err); {
		case err == nil:
			if err := s.add(ctx, d, &t); err != nil {
				return err
			}
			if d.State == Accepted {
				hs, err := s.holds(ctx, d.ID)
				if err != nil {
					return err
				}
				if err := s.commit(ctx, d, hs[len(hs)-1]); err != nil {
					return err
				}
			}
		case k != fault.Refused && k != fault.Conflict:
			return err
		}
		// Refused (funds gone meanwhile, risk control) or a conflict:
		// tried again after the interval.
	}
	d.holdAt = now.Add(s.cfg.TopUpInterval).UnixNano()
	return nil
}

// report files the fraud report of an accepted fraud dispute: the
// payer's participant reports the payment, and risk control marks its
// payee alias. A report refused for good (not a fault of the switch's)
// is not tried again.
func (s *Service) report(ctx context.Context, d *Dispute) error {
	detail := d.Detail
	if len(detail) > risk.DetailMax {
		cut := risk.DetailMax
		for cut > 0 && !utf8.RuneStart(detail[cut]) {
			cut--
		}
		detail = detail[:cut]
	}
	_, _, err := s.Fraud.Report(ctx, d.Payer, d.TransferID, FraudReason, detail)
	if k := fault.KindOf(err); err != nil && (k == fault.Internal || k == fault.Unavailable) {
		return err
	}
	if _, err := s.DB.ExecContext(ctx, `UPDATE disputes SET reported = 1 WHERE id = $1`, d.ID); err != nil {
		return fmt.Errorf("dispute %s: %w", d.ID, err)
	}
	d.reported = true
	return nil
}

// schedule stores when the sweep next looks at d: the first of its
// response deadline, its holds' renewals and its next top-up; soon after
// a failure, or while a decided dispute has holds or a report left.
func (s *Service) schedule(ctx context.Context, d *Dispute, now time.Time, failed bool) error {
	hs, err := s.holds(ctx, d.ID)
	if err != nil {
		return err
	}
	at := int64(never)
	soon := now.Add(retryAfter).UnixNano()
	if d.State == Open {
		at = d.RespondBy.UnixNano()
	}
	for _, h := range hs {
		if h.State != HoldReserved {
			continue
		}
		if d.State == Open {
			at = min(at, h.ExpiresAt.Add(-RenewBefore).UnixNano())
		} else {
			at = min(at, soon)
		}
	}
	if d.State != Rejected && d.Outstanding() > 0 && d.holdAt < d.HoldUntil.UnixNano() && d.holds < TopUpsMax {
		at = min(at, max(d.holdAt, now.UnixNano()))
	}
	if failed || d.State == Accepted && d.Reason == Fraud && !d.reported && s.Fraud != nil {
		at = min(at, soon)
	}
	if _, err := s.DB.ExecContext(ctx, `UPDATE disputes SET hold_at = $1, check_at = $2 WHERE id = $3`, d.holdAt, at, d.ID); err != nil {
		return fmt.Errorf("dispute %s: %w", d.ID, err)
	}
	return nil
}

// Sweep brings up to limit disputes due up to date: accepts those
// unanswered past their deadline, renews holds, holds money arrived,
// finishes what a crash cut short. It returns how many it looked at and
// the first error, after trying them all.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	now := s.Now()
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM disputes WHERE check_at <= $1 ORDER BY check_at LIMIT $2`, now.UnixNano(), limit)
	if err != nil {
		return 0, fmt.Errorf("disputes: sweep: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("disputes: sweep: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("disputes: sweep: %w", err)
	}
	var first error
	for _, id := range ids {
		unlock := lock(id)
		_, err := s.settle(ctx, id)
		unlock()
		if err != nil && first == nil {
			first = err
		}
	}
	return len(ids), first
}

// Filter selects disputes to list.
type Filter struct {
	// Participant, when set, lists its disputes as Role says: as the
	// payer (disputes it opened), or as the payee. Empty lists everyone's
	// (the operator).
	Participant string
	Role        string // "payer" or "payee"
	State       State  // empty for every state
	// TransferID, when set, lists that payment's disputes only.
	TransferID string
	// After continues a listing: the Cursor of the last dispute seen.
	After string
	Limit int
}

// Cursor returns the listing position after d.
func (d *Dispute) Cursor() string { return sqldb.PageCursor(d.CreatedAt, d.ID) }

// List returns disputes as f asks, oldest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Dispute, error) {
	eqs, ok := sqldb.RoleEq(f.Participant, f.Role, "payee")
	switch {
	case f.Limit <= 0 || f.Limit > ListMax:
		return nil, fmt.Errorf("%w: limit must be 1 to %d", ErrInvalid, ListMax)
	case !ok:
		return nil, fmt.Errorf("%w: role must be payer or payee", ErrInvalid)
	}
	if f.State != "" {
		if _, ok := ParseState(string(f.State)); !ok {
			return nil, fmt.Errorf("%w: state must be OPEN, ACCEPTED or REJECTED", ErrInvalid)
		}
		eqs = append(eqs, sqldb.Eq{Column: "state", Value: string(f.State)})
	}
	if f.TransferID != "" {
		eqs = append(eqs, sqldb.Eq{Column: "transfer_id", Value: f.TransferID})
	}
	out, err := sqldb.List(ctx, s.DB, `SELECT `+columns+` FROM disputes`, f.After, eqs, f.Limit, s.scanOne)
	if err != nil {
		return nil, fmt.Errorf("disputes: %w", err)
	}
	return out, nil
}

const columns = `id, transfer_id, payer, payee, reason, detail, amount, currency, held, refunded, state, decided_by, reject_reason,
	respond_by, hold_until, holds, hold_at, reported, created_at, updated_at`

func (s *Service) load(ctx context.Context, id string) (Dispute, error) {
	d, err := s.scanOne(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM disputes WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Dispute{}, fmt.Errorf("dispute %.140q: %w", id, ErrNotFound)
	} else if err != nil {
		return Dispute{}, fmt.Errorf("dispute %s: %w", id, err)
	}
	return d, nil
}

func (s *Service) scanOne(row sqldb.Row) (Dispute, error) {
	var d Dispute
	var amount, held, refunded, respond, until, created, updated, reported int64
	var cur, st string
	if err := row.Scan(&d.ID, &d.TransferID, &d.Payer, &d.Payee, &d.Reason, &d.Detail, &amount, &cur, &held, &refunded, &st,
		&d.DecidedBy, &d.RejectReason, &respond, &until, &d.holds, &d.holdAt, &reported, &created, &updated); err != nil {
		return Dispute{}, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return Dispute{}, err
	}
	d.Amount, d.Currency, d.Held, d.Refunded, d.State = money.Amount(amount), c, money.Amount(held), money.Amount(refunded), State(st)
	d.RespondBy, d.HoldUntil = time.Unix(0, respond).UTC(), time.Unix(0, until).UTC()
	d.CreatedAt, d.UpdatedAt, d.reported = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC(), reported != 0
	return d, nil
}
