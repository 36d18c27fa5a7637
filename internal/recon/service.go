package recon

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// Transfers is what a reconciliation needs of the payment flow: a
// participant's payments of a window, in the ledger's order, and the
// hub's account of the settlement bank.
type Transfers interface {
	Payments(ctx context.Context, p participant.Participant, c money.Currency, from, to time.Time, fn func(*transfer.Transfer) error) error
	BankStatement(ctx context.Context, c money.Currency, from, to time.Time) (transfer.Statement, error)
}

// SettlementBank is the name a reconciliation of the settlement bank's
// statement goes by.
const SettlementBank = "settlement-bank"

// Service runs reconciliations of participants' records against the
// switch's and keeps their results.
type Service struct {
	DB        *sqldb.DB
	Transfers Transfers
	// TempDir holds the sorted runs of large uploads ("" for the
	// system's).
	TempDir string
	Now     func() time.Time
}

// BreaksKept bounds the breaks a reconciliation keeps and answers; the
// counts by kind cover all of them.
const BreaksKept = 10_000

// WindowMax bounds a reconciliation's time window.
const WindowMax = 31 * 24 * time.Hour

// Errors a caller branches on.
var (
	// ErrNotFound means there is no such reconciliation the caller may see.
	ErrNotFound = fault.New(fault.NotFound, "", "no such reconciliation")
	// ErrWindow means the window is empty, reversed or too long.
	ErrWindow = fault.New(fault.Invalid, "", "the window must be from < to, at most 31 days")
)

// Result is a reconciliation as it is kept and answered.
type Result struct {
	ID          string
	Participant string
	Currency    money.Currency
	From, To    time.Time
	Summary     Summary
	// Breaks are the first BreaksKept, in transfer id order.
	Breaks    []Break
	CreatedAt time.Time
}

// Run reconciles theirs — participant p's records of its transfers in
// currency c created in [from, to), in any order — against the switch's,
// and keeps the result. The switch's side is p's COMMITTED and ABORTED
// payments in the window, as payer (debit) or payee (credit), the amount
// without the scheme fee: a payment still RESERVED or HELD is not final,
// and is left out. Both sides are sorted by id with bounded memory.
func (s *Service) Run(ctx context.Context, p participant.Participant, c money.Currency, from, to time.Time, theirs Source) (Result, error) {
	if !from.Before(to) || to.Sub(from) > WindowMax {
		return Result{}, ErrWindow
	}
	if !p.Uses(c) {
		return Result{}, fmt.Errorf("%w: %s is not enabled for %s", transfer.ErrCurrency, p.ID, c)
	}
	// Whatever stops the run early stops the reading of the switch's side.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return s.reconcile(ctx, p.ID, c, from, to, s.switchSide(ctx, p, c, from, to), theirs)
}

// reconcile sorts both sides, merges them, and keeps the result under
// the name of who was reconciled.
func (s *Service) reconcile(ctx context.Context, who string, c money.Currency, from, to time.Time, switchSide, theirs Source) (Result, error) {
	opts := SortOptions{Dir: s.TempDir}
	mine, err := Sort(switchSide, opts)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrSwitchSide, err)
	}
	defer mine.Close()
	sorted, err := Sort(theirs, opts)
	if err != nil {
		return Result{}, err
	}
	defer sorted.Close()
	r := Result{ID: newID(), Participant: who, Currency: c, From: from.UTC(), To: to.UTC(), CreatedAt: s.now().UTC()}
	r.Summary, err = Reconcile(mine, sorted, func(b Break) error {
		if len(r.Breaks) < BreaksKept {
			r.Breaks = append(r.Breaks, b)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return r, s.store(ctx, &r)
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// RunBank reconciles the settlement bank's records of the scheme's
// account in c over [from, to) — its statement, credits the money it
// received — against the switch's account of the bank: each deposit and
// withdrawal ("participant/id") and each settlement ("window/participant"),
// its direction the bank's. The operator's.
func (s *Service) RunBank(ctx context.Context, c money.Currency, from, to time.Time, theirs Source) (Result, error) {
	if !from.Before(to) || to.Sub(from) > WindowMax {
		return Result{}, ErrWindow
	}
	st, err := s.Transfers.BankStatement(ctx, c, from, to)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrSwitchSide, err)
	}
	ms := st.Movements
	return s.reconcile(ctx, SettlementBank, c, from, to, SourceFunc(func() (Record, bool, error) {
		if len(ms) == 0 {
			return Record{}, false, nil
		}
		m := ms[0]
		ms = ms[1:]
		id := strings.ReplaceAll(m.Ref, "/", ":")
		if m.Participant != "" {
			id = m.Participant + ":" + m.Ref
		}
		// The bank credits the scheme's account with what the hub's
		// account of it is debited.
		r := Record{TransferID: id, Amount: int64(m.Amount), Direction: Credit, Status: Committed}
		if m.Credit {
			r.Direction = Debit
		}
		return r, true, nil
	}), theirs)
}

// switchSide streams p's final payments in c created in [from, to), in
// the ledger's order: a goroutine reads the window's events and hands
// the records over a small channel, so that nothing of the day is held
// but what the sort keeps.
func (s *Service) switchSide(ctx context.Context, p participant.Participant, c money.Currency, from, to time.Time) Source {
	ctx, cancel := context.WithCancel(ctx)
	records := make(chan Record, 1024)
	errc := make(chan error, 1)
	go func() {
		defer close(records)
		errc <- s.Transfers.Payments(ctx, p, c, from, to, func(t *transfer.Transfer) error {
			if t.State != transfer.Committed && t.State != transfer.Aborted {
				return nil // not final yet
			}
			amount, debit := t.Line(p.ID, c)
			r := Record{TransferID: t.ID, Amount: int64(amount), Direction: Credit, Status: Committed}
			if debit {
				r.Direction = Debit
			}
			if t.State == transfer.Aborted {
				r.Status = Aborted
			}
			select {
			case records <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return SourceFunc(func() (Record, bool, error) {
		if r, ok := <-records; ok {
			return r, true, nil
		}
		cancel()
		if err := <-errc; err != nil {
			errc <- err // asked again, the same answer
			return Record{}, false, err
		}
		errc <- nil
		return Record{}, false, nil
	})
}

// Camt053 reads a participant's camt.053 statement as its records: each
// booked entry that names a transfer id (NtryDtls/TxDtls/Refs/TxId), in
// the statement's currency. Entries of the scheme's fees (bank
// transaction code "fee") are left out: the switch's side counts
// payments without their fee.
func Camt053(st *msg.BankStatement, c money.Currency) Source {
	var entries []msg.Entry
	for _, s := range st.Statements {
		entries = append(entries, s.Entries...)
	}
	return SourceFunc(func() (Record, bool, error) {
		for len(entries) > 0 {
			e := entries[0]
			entries = entries[1:]
			if e.TxID == "" || e.Status != "BOOK" || strings.EqualFold(e.Code, "fee") {
				continue
			}
			if e.Currency != c {
				return Record{}, false, fmt.Errorf("%w: entry of transfer %q is in %s, not %s", ErrAmount, e.TxID, e.Currency, c)
			}
			r := Record{TransferID: e.TxID, Amount: int64(e.Amount), Direction: Credit, Status: Committed}
			if e.Indicator == msg.Debit {
				r.Direction = Debit
			}
			return r, true, nil
		}
		return Record{}, false, nil
	})
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return "rc-" + hex.EncodeToString(b[:])
}

// side is a record as a break row keeps it: "amount,direction,status",
// or "" for none.
func side(r *Record) string {
	if r == nil {
		return ""
	}
	return strconv.FormatInt(r.Amount, 10) + "," + r.Direction.String() + "," + r.Status.String()
}

func unside(s string) (*Record, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return nil, fmt.Errorf("break side %q", s)
	}
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return nil, err
	}
	d, err := ParseDirection(parts[1])
	if err != nil {
		return nil, err
	}
	st, err := ParseStatus(parts[2])
	if err != nil {
		return nil, err
	}
	return &Record{Amount: n, Direction: d, Status: st}, nil
}

// store keeps r.
func (s *Service) store(ctx context.Context, r *Result) error {
	byKind := map[string]int64{}
	for _, k := range Kinds() {
		byKind[k.String()] = r.Summary.ByKind[k]
	}
	kinds, _ := json.Marshal(byKind)
	return s.DB.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reconciliations (id, participant, currency, window_from, window_to,
			switch_n, theirs_n, matched, breaks, by_kind, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			r.ID, r.Participant, r.Currency.String(), r.From.UnixNano(), r.To.UnixNano(), r.Summary.SwitchRecords,
			r.Summary.ParticipantRecords, r.Summary.Matched, r.Summary.Breaks, string(kinds), r.CreatedAt.UnixNano()); err != nil {
			return fmt.Errorf("recon: store %s: %w", r.ID, err)
		}
		for i := range r.Breaks {
			b := &r.Breaks[i]
			if _, err := tx.ExecContext(ctx, `INSERT INTO reconciliation_breaks (reconciliation, seq, transfer_id, kind, switch, theirs)
				VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, i, b.TransferID, b.Kind.String(), side(b.Switch), side(b.Participant)); err != nil {
				return fmt.Errorf("recon: store %s: %w", r.ID, err)
			}
		}
		return nil
	})
}

// Get returns reconciliation id, if viewer may see it: its participant,
// or anyone for viewer "" (the operator, the regulator).
func (s *Service) Get(ctx context.Context, id, viewer string) (Result, error) {
	var r Result
	var cur, kinds string
	var from, to, created int64
	err := s.DB.QueryRowContext(ctx, `SELECT participant, currency, window_from, window_to, switch_n, theirs_n, matched,
		breaks, by_kind, created FROM reconciliations WHERE id = $1`, id).Scan(&r.Participant, &cur, &from, &to,
		&r.Summary.SwitchRecords, &r.Summary.ParticipantRecords, &r.Summary.Matched, &r.Summary.Breaks, &kinds, &created)
	if errors.Is(err, sql.ErrNoRows) || err == nil && viewer != "" && viewer != r.Participant {
		return Result{}, fmt.Errorf("reconciliation %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Result{}, fmt.Errorf("recon: read %s: %w", id, err)
	}
	r.ID = id
	if r.Currency, err = money.ParseCurrency(cur); err != nil {
		return Result{}, err
	}
	r.From, r.To, r.CreatedAt = time.Unix(0, from).UTC(), time.Unix(0, to).UTC(), time.Unix(0, created).UTC()
	var byKind map[string]int64
	if err := json.Unmarshal([]byte(kinds), &byKind); err != nil {
		return Result{}, fmt.Errorf("recon: read %s: %w", id, err)
	}
	for _, k := range Kinds() {
		r.Summary.ByKind[k] = byKind[k.String()]
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT transfer_id, kind, switch, theirs FROM reconciliation_breaks
		WHERE reconciliation = $1 ORDER BY seq`, id)
	if err != nil {
		return Result{}, fmt.Errorf("recon: read %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b Break
		var kind, mine, theirs string
		if err := rows.Scan(&b.TransferID, &kind, &mine, &theirs); err != nil {
			return Result{}, err
		}
		for _, k := range Kinds() {
			if k.String() == kind {
				b.Kind = k
			}
		}
		if b.Switch, err = unside(mine); err != nil {
			return Result{}, err
		}
		if b.Participant, err = unside(theirs); err != nil {
			return Result{}, err
		}
		if b.Switch != nil {
			b.Switch.TransferID = b.TransferID
		}
		if b.Participant != nil {
			b.Participant.TransferID = b.TransferID
		}
		r.Breaks = append(r.Breaks, b)
	}
	return r, rows.Err()
}
