// Package settlement owns deferred net settlement: windows per currency,
// the multilateral net positions of each closed window, the instructions
// for the settlement bank, and the record of their execution.
//
// A window is a range of the ledger's event order. Closing one submits a
// mark to the ledger: every event before the mark belongs to the closing
// window, every event after it to the next, which is open from that very
// point. The single writer's order decides, so a transfer committing
// while a window closes lands in exactly one window, and traffic never
// pauses. Positions are computed from the ledger's own events, and
// settling a position is itself a ledger transfer, so the books and the
// settlement record cannot disagree.
package settlement

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
)

// State is where a window stands.
type State string

// The states of a window: OPEN → CLOSED → SETTLING → SETTLED.
const (
	Open     State = "OPEN"
	Closed   State = "CLOSED"   // positions fixed, nothing settled yet
	Settling State = "SETTLING" // some instructions carried out
	Settled  State = "SETTLED"  // all instructions carried out
)

// Hub names the hub's own line in positions and instructions: its fee
// revenue, paid out to it by the settlement bank.
const Hub = "hub"

// Window is a settlement window.
type Window struct {
	ID       string
	Currency money.Currency
	Number   int64
	State    State
	OpenedAt time.Time
	ClosedAt time.Time // zero while open
	// Next is the id of the window that opened when this one closed.
	Next string

	openTS, closeTS int64
}

// Position is one participant's result in a closed window.
type Position struct {
	Participant string
	Sent        money.Amount // payments it sent
	Received    money.Amount // payments it received
	Fees        money.Amount // fees it paid
	Net         money.Amount // Received − Sent − Fees
	Transfers   int64        // payments it sent or received
}

// Direction says which way an instruction moves money at the settlement bank.
type Direction string

// The directions.
const (
	Pay     Direction = "pay"     // the participant pays the settlement bank
	Receive Direction = "receive" // the settlement bank pays the participant
)

// Instruction is what the settlement bank must do for one participant.
type Instruction struct {
	Participant string
	Direction   Direction
	Amount      money.Amount
	Confirmed   bool
	ConfirmedAt time.Time
}

// Report is a closed window's settlement report.
type Report struct {
	Window       Window
	Positions    []Position // participants, then the hub
	HubFees      money.Amount
	Transfers    int64        // payments committed in the window
	Volume       money.Amount // their amounts
	Instructions []Instruction
}

// Errors of settlement. The API maps each to a problem type.
var (
	// ErrNotFound means there is no such window, or no instruction for
	// that participant in it.
	ErrNotFound = fault.New(fault.NotFound, "", "settlement window not found")
	// ErrOpen means the window is still open: close it first.
	ErrOpen = fault.New(fault.Conflict, "window-open", "settlement window is open")
	// ErrAmount means a confirmation's amount is not the instruction's:
	// settling more (or less) than owed is refused.
	ErrAmount = fault.New(fault.Refused, "settlement-amount-mismatch", "amount differs from the settlement instruction")
	// ErrInsufficientFunds means a participant to be paid out no longer
	// has the funds at the hub (it spent them in a later window).
	ErrInsufficientFunds = fault.New(fault.Refused, "insufficient-funds", "insufficient funds to pay out")
)

// Journal is what settlement needs of the ledger.
type Journal interface {
	Submit(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, error)
	Transfer(ctx context.Context, id ledger.ID) (journal.Transfer, error)
	Scan(ctx context.Context, from, to int64, fn func(ledger.Event) error) error
	Account(ctx context.Context, id ledger.AccountID) (ledger.Account, error)
}

// Participants is what settlement needs of the participant registry.
type Participants interface {
	Get(id string) (participant.Participant, bool)
	ByNumber(n uint32) (participant.Participant, bool)
	List() []participant.Participant
}

// Deps are what settlement is built on; a nil Now is time.Now.
type Deps struct {
	Journal      Journal
	Participants Participants
	DB           *sqldb.DB
	Now          func() time.Time
}

// Service runs settlement.
type Service struct {
	journal      Journal
	participants Participants
	db           *sqldb.DB
	now          func() time.Time

	mu      sync.Mutex // serialises closing and confirming
	windows map[money.Currency][]*Window
	// lastOpen is what OpenWindows returned last, for a look while a
	// close holds mu.
	lastOpen atomic.Pointer[[]Window]
}

// Load reads the windows, finishes any close a crash interrupted, and
// opens a first window for every currency in use.
func Load(ctx context.Context, d Deps) (*Service, error) {
	if d.Journal == nil || d.Participants == nil || d.DB == nil {
		return nil, errors.New("settlement: journal, participants and database are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{journal: d.Journal, participants: d.Participants, db: d.DB, now: d.Now, windows: map[money.Currency][]*Window{}}
	rows, err := s.db.QueryContext(ctx, `SELECT id, currency, number, opened_at, open_ts, close_ts FROM settlement_windows ORDER BY currency, number`)
	if err != nil {
		return nil, fmt.Errorf("load settlement windows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		w := &Window{}
		var code string
		var opened int64
		if err := rows.Scan(&w.ID, &code, &w.Number, &opened, &w.openTS, &w.closeTS); err != nil {
			return nil, fmt.Errorf("load settlement windows: %w", err)
		}
		if w.Currency, err = money.ParseCurrency(code); err != nil {
			return nil, fmt.Errorf("load settlement window %s: %w", w.ID, err)
		}
		w.OpenedAt = time.Unix(0, opened).UTC()
		w.State = Open
		if w.closeTS != 0 {
			w.State, w.ClosedAt = Closed, time.Unix(0, w.closeTS).UTC()
		}
		ws := s.windows[w.Currency]
		if n := len(ws); n > 0 {
			ws[n-1].Next = w.ID
		}
		s.windows[w.Currency] = append(ws, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load settlement windows: %w", err)
	}
	rows.Close()
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Sync opens a first window for currencies new to the switch, and
// finishes a close whose mark reached the ledger but whose result was not
// recorded (the process died in between).
func (s *Service) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.participants.List() {
		for _, c := range p.Currencies {
			if len(s.windows[c]) > 0 {
				continue
			}
			// The first window opened with the currency itself: when the
			// hub's fee account of it was created.
			opened := s.now().UTC()
			if a, err := s.journal.Account(ctx, participant.FeeAccount(c)); err == nil {
				opened = time.Unix(0, a.Created).UTC()
			}
			w := &Window{ID: windowID(c, 1), Currency: c, Number: 1, State: Open, OpenedAt: opened}
			if err := s.insert(ctx, nil, w); err != nil {
				return err
			}
			s.windows[c] = []*Window{w}
		}
	}
	for _, ws := range s.windows {
		w := ws[len(ws)-1]
		jt, err := s.journal.Transfer(ctx, closeID(w.Currency, w.Number))
		if errors.Is(err, journal.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("settlement: recover %s: %w", w.ID, err)
		}
		if err := s.finishClose(ctx, w, jt.Timestamp); err != nil {
			return fmt.Errorf("settlement: recover %s: %w", w.ID, err)
		}
	}
	return nil
}

func windowID(c money.Currency, n int64) string { return c.String() + "-" + strconv.FormatInt(n, 10) }

// ledger ids of a window's close mark and settlement transfers.
func closeID(c money.Currency, n int64) ledger.ID {
	return derive("close", windowID(c, n), "")
}

func settleID(window, who string) ledger.ID { return derive("settle", window, who) }

func derive(what, window, who string) ledger.ID {
	var b []byte
	for _, s := range []string{"hulian/settlement/v1", what, window, who} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	sum := sha256.Sum256(b)
	var id ledger.ID
	copy(id[:], sum[:])
	return id
}

func (s *Service) insert(ctx context.Context, tx *sql.Tx, w *Window) error {
	q := `INSERT INTO settlement_windows (id, currency, number, opened_at, open_ts, close_ts) VALUES ($1, $2, $3, $4, $5, 0)`
	args := []any{w.ID, w.Currency.String(), w.Number, w.OpenedAt.UnixNano(), w.openTS}
	var err error
	if tx == nil {
		_, err = s.db.ExecContext(ctx, q, args...)
	} else {
		_, err = tx.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return fmt.Errorf("settlement: open window %s: %w", w.ID, err)
	}
	return nil
}

// find returns a window by id. The caller holds mu.
func (s *Service) find(id string) (*Window, error) {
	code, num, ok := strings.Cut(id, "-")
	c, err := money.ParseCurrency(code)
	n, err2 := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || err2 != nil {
		return nil, fmt.Errorf("window %q: %w", id, ErrNotFound)
	}
	ws := s.windows[c]
	// Only the canonical spelling names a window ("CNY-01" does not):
	// the id is part of the ledger ids of its settlement transfers.
	if n < 1 || n > int64(len(ws)) || id != windowID(c, n) {
		return nil, fmt.Errorf("window %q: %w", id, ErrNotFound)
	}
	return ws[n-1], nil
}

// Windows lists windows, newest first, optionally only of one currency
// and state.
func (s *Service) Windows(ctx context.Context, c money.Currency, st State) ([]Window, error) {
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Window
	for cur, ws := range s.windows {
		if c != 0 && cur != c {
			continue
		}
		for _, w := range ws {
			x := *w
			if x.State != Open {
				if err := s.settleState(ctx, &x); err != nil {
					return nil, err
				}
			}
			if st == "" || x.State == st {
				out = append(out, x)
			}
		}
	}
	slices.SortFunc(out, func(a, b Window) int {
		if a.Currency != b.Currency {
			return strings.Compare(a.Currency.String(), b.Currency.String())
		}
		return int(b.Number - a.Number)
	})
	return out, nil
}

// OpenWindows returns each currency's open window, from memory: a
// read-only look for metrics, which writes nothing and does not wait for
// a close under way (it returns what it saw last then). A currency in use
// whose first window Sync has not recorded yet is shown as Sync would
// record it: open since the hub's fee account of it was created.
func (s *Service) OpenWindows(ctx context.Context) ([]Window, error) {
	if !s.mu.TryLock() {
		if last := s.lastOpen.Load(); last != nil {
			return slices.Clone(*last), nil
		}
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	out := make([]Window, 0, len(s.windows))
	for _, ws := range s.windows {
		if w := ws[len(ws)-1]; w.State == Open {
			out = append(out, *w)
		}
	}
	for _, p := range s.participants.List() {
		for _, c := range p.Currencies {
			if len(s.windows[c]) > 0 || slices.ContainsFunc(out, func(w Window) bool { return w.Currency == c }) {
				continue
			}
			a, err := s.journal.Account(ctx, participant.FeeAccount(c))
			if errors.Is(err, journal.ErrNotFound) {
				continue // not opened yet
			}
			if err != nil {
				return nil, fmt.Errorf("settlement: open window of %s: %w", c, err)
			}
			out = append(out, Window{ID: windowID(c, 1), Currency: c, Number: 1, State: Open, OpenedAt: time.Unix(0, a.Created).UTC()})
		}
	}
	slices.SortFunc(out, func(a, b Window) int { return strings.Compare(a.Currency.String(), b.Currency.String()) })
	last := slices.Clone(out)
	s.lastOpen.Store(&last)
	return out, nil
}

// Window returns one window.
func (s *Service) Window(ctx context.Context, id string) (Window, error) {
	if err := s.Sync(ctx); err != nil {
		return Window{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.find(id)
	if err != nil {
		return Window{}, err
	}
	x := *w
	if x.State != Open {
		err = s.settleState(ctx, &x)
	}
	return x, err
}

// Close closes the window if it is the open one (closing a closed window
// returns it as it is) and opens the next.
func (s *Service) Close(ctx context.Context, id string) (Window, error) {
	if err := s.Sync(ctx); err != nil {
		return Window{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.find(id)
	if err != nil {
		return Window{}, err
	}
	if w.State == Open {
		if err := s.close(ctx, w); err != nil {
			return Window{}, err
		}
	}
	x := *w
	err = s.settleState(ctx, &x)
	return x, err
}

// CloseAll closes the open window of every currency; the scheduler calls it.
func (s *Service) CloseAll(ctx context.Context) ([]Window, error) {
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Window
	for _, ws := range s.windows {
		w := ws[len(ws)-1]
		if err := s.close(ctx, w); err != nil {
			return out, err
		}
		out = append(out, *w)
	}
	return out, nil
}

// CloseCommand returns the ledger command that closes w: a mark. Close
// submits it; it is exported for tests and tools that need to reproduce
// a close interrupted after the mark.
func CloseCommand(w Window) ledger.Command {
	return ledger.Command{
		Kind: ledger.KindMark, ID: closeID(w.Currency, w.Number), Currency: w.Currency,
		Purpose: purpose.WindowClose, Meta: w.ID,
	}
}

// close submits the window's mark to the ledger and records the result.
// The caller holds mu.
func (s *Service) close(ctx context.Context, w *Window) error {
	res, err := s.journal.Submit(ctx, []ledger.Command{CloseCommand(*w)})
	if err != nil {
		return fmt.Errorf("close %s: %w", w.ID, err)
	}
	if err := res[0].Status.Err(); err != nil {
		return fmt.Errorf("close %s: the mark: %w", w.ID, err)
	}
	return s.finishClose(ctx, w, res[0].Timestamp)
}

// finishClose computes the positions of w, closed by the mark at ts, and
// records them with the next window in one transaction.
func (s *Service) finishClose(ctx context.Context, w *Window, ts int64) error {
	positions, err := s.Positions(ctx, w.Currency, w.openTS, ts)
	if err != nil {
		return fmt.Errorf("close %s: %w", w.ID, err)
	}
	next := &Window{ID: windowID(w.Currency, w.Number+1), Currency: w.Currency, Number: w.Number + 1,
		State: Open, OpenedAt: time.Unix(0, ts).UTC(), openTS: ts}
	err = s.db.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE settlement_windows SET close_ts = $1 WHERE id = $2`, ts, w.ID); err != nil {
			return err
		}
		for _, p := range positions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settlement_positions (window_id, participant, sent, received, fees, net, transfers)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, w.ID, p.Participant, int64(p.Sent), int64(p.Received), int64(p.Fees), int64(p.Net), p.Transfers); err != nil {
				return err
			}
		}
		return s.insert(ctx, tx, next)
	})
	if err != nil {
		return fmt.Errorf("close %s: %w", w.ID, err)
	}
	w.State, w.closeTS, w.ClosedAt, w.Next = Closed, ts, time.Unix(0, ts).UTC(), next.ID
	s.windows[w.Currency] = append(s.windows[w.Currency], next)
	return nil
}

// Positions computes the multilateral net positions of the payments and
// fees of currency c committed with from <= timestamp < to, from the
// ledger's events. The hub's line (participant "hub") holds the fees, so
// the nets sum to zero.
func (s *Service) Positions(ctx context.Context, c money.Currency, from, to int64) ([]Position, error) {
	by := map[string]*Position{}
	get := func(acct ledger.AccountID) *Position {
		num, _, kind := participant.SplitAccountID(acct)
		name := Hub
		if kind == participant.Settlement {
			if p, ok := s.participants.ByNumber(num); ok {
				name = p.ID
			} else {
				name = "#" + strconv.FormatUint(uint64(num), 10)
			}
		}
		p := by[name]
		if p == nil {
			p = &Position{Participant: name}
			by[name] = p
		}
		return p
	}
	err := s.journal.Scan(ctx, from, to, func(e ledger.Event) error {
		if e.Currency != c || (e.Kind != ledger.KindPost && e.Kind != ledger.KindCommit) {
			return nil
		}
		switch e.Purpose {
		// An FX payment moves the payer's currency to the FX provider
		// (payment, fx-fee) and the payee's from the provider (fx): each
		// currency's window sees its own legs, and nets per currency.
		case purpose.Payment, purpose.FX:
			dr, cr := get(e.Debit), get(e.Credit)
			dr.Sent += e.Amount
			cr.Received += e.Amount
			dr.Transfers++
			cr.Transfers++
		case purpose.Fee, purpose.FXFee:
			get(e.Debit).Fees += e.Amount
			get(e.Credit).Received += e.Amount
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Position, 0, len(by))
	for _, p := range by {
		if p.Participant == Hub {
			p.Transfers = 0 // the hub takes part in no payment
		}
		p.Net = p.Received - p.Sent - p.Fees
		out = append(out, *p)
	}
	slices.SortFunc(out, hubLast)
	return out, nil
}

// hubLast orders positions by participant, the hub's line last.
func hubLast(a, b Position) int {
	if (a.Participant == Hub) != (b.Participant == Hub) {
		if a.Participant == Hub {
			return 1
		}
		return -1
	}
	return strings.Compare(a.Participant, b.Participant)
}

// Report returns a closed window's report, with what has been settled.
func (s *Service) Report(ctx context.Context, id string) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.find(id)
	if err != nil {
		return Report{}, err
	}
	return s.report(ctx, w)
}

func (s *Service) report(ctx context.Context, w *Window) (Report, error) {
	if w.State == Open {
		return Report{}, fmt.Errorf("report of %s: %w", w.ID, ErrOpen)
	}
	r := Report{Window: *w}
	rows, err := s.db.QueryContext(ctx, `SELECT participant, sent, received, fees, net, transfers FROM settlement_positions WHERE window_id = $1`, w.ID)
	if err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", w.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Position
		if err := rows.Scan(&p.Participant, &p.Sent, &p.Received, &p.Fees, &p.Net, &p.Transfers); err != nil {
			return Report{}, fmt.Errorf("report of %s: %w", w.ID, err)
		}
		r.Positions = append(r.Positions, p)
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", w.ID, err)
	}
	rows.Close()
	slices.SortFunc(r.Positions, hubLast)
	for _, p := range r.Positions {
		if p.Participant == Hub {
			r.HubFees = p.Net
			continue
		}
		r.Transfers += p.Transfers // each payment counted by payer and payee
		r.Volume += p.Sent
		if p.Net == 0 {
			continue
		}
		in := Instruction{Participant: p.Participant, Direction: Receive, Amount: p.Net}
		if p.Net < 0 {
			in.Direction, in.Amount = Pay, -p.Net
		}
		r.Instructions = append(r.Instructions, in)
	}
	r.Transfers /= 2
	if r.HubFees != 0 {
		r.Instructions = append(r.Instructions, Instruction{Participant: Hub, Direction: Receive, Amount: r.HubFees})
	}
	done := 0
	for i := range r.Instructions {
		in := &r.Instructions[i]
		jt, err := s.journal.Transfer(ctx, settleID(w.ID, in.Participant))
		if errors.Is(err, journal.ErrNotFound) {
			continue
		}
		if err != nil {
			return Report{}, fmt.Errorf("report of %s: %w", w.ID, err)
		}
		in.Confirmed, in.ConfirmedAt = true, time.Unix(0, jt.Timestamp).UTC()
		done++
	}
	r.Window.State = Closed
	switch {
	case done == len(r.Instructions):
		r.Window.State = Settled
	case done > 0:
		r.Window.State = Settling
	}
	return r, nil
}

// settleState sets a closed window's state from its confirmations.
func (s *Service) settleState(ctx context.Context, w *Window) error {
	r, err := s.report(ctx, w)
	if err != nil {
		return err
	}
	w.State = r.Window.State
	return nil
}

// Confirm records that the settlement bank carried out a participant's
// instruction of a closed window: a ledger transfer between the
// participant's account and the settlement bank's external account (the
// hub's fee account for the hub's line), which restores the headroom a
// payer used under its net debit cap. It is idempotent; amount, if not
// zero, must be the instruction's.
func (s *Service) Confirm(ctx context.Context, id, who string, amount money.Amount) (Instruction, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.find(id)
	if err != nil {
		return Instruction{}, false, err
	}
	r, err := s.report(ctx, w)
	if err != nil {
		return Instruction{}, false, err
	}
	i := slices.IndexFunc(r.Instructions, func(in Instruction) bool { return in.Participant == who })
	if i < 0 {
		return Instruction{}, false, fmt.Errorf("no instruction for %q in %s: %w", who, id, ErrNotFound)
	}
	in := r.Instructions[i]
	if amount != 0 && amount != in.Amount {
		return Instruction{}, false, fmt.Errorf("%s in %s: %s to %s: %w", who, id, amount.Format(w.Currency), in.Amount.Format(w.Currency), ErrAmount)
	}
	acct := participant.FeeAccount(w.Currency)
	if who != Hub {
		p, ok := s.participants.Get(who)
		if !ok {
			return Instruction{}, false, fmt.Errorf("participant %s: %w", who, ErrNotFound)
		}
		acct = p.Account(w.Currency)
	}
	cmd := ledger.Command{Kind: ledger.KindPost, ID: settleID(w.ID, who), Amount: in.Amount,
		Purpose: purpose.Settlement, Meta: w.ID + "/" + who}
	if in.Direction == Pay {
		cmd.Debit, cmd.Credit = participant.ExternalAccount(w.Currency), acct
	} else {
		cmd.Debit, cmd.Credit = acct, participant.ExternalAccount(w.Currency)
	}
	res, err := s.journal.Submit(ctx, []ledger.Command{cmd})
	if err != nil {
		return Instruction{}, false, fmt.Errorf("confirm %s in %s: %w", who, id, err)
	}
	if err := res[0].Status.Err(); err != nil {
		if errors.Is(err, ledger.ErrInsufficientFunds) {
			err = ErrInsufficientFunds
		}
		return Instruction{}, false, fmt.Errorf("confirm %s in %s: %w", who, id, err)
	}
	in.Confirmed, in.ConfirmedAt = true, time.Unix(0, res[0].Timestamp).UTC()
	return in, res[0].Status == ledger.StatusOK, nil
}

// Schedule closes every currency's open window every interval (if not
// zero) and at the daily cut-off (if cutoff is not negative: a duration
// after midnight UTC), until ctx ends. Errors are reported to onErr.
func (s *Service) Schedule(ctx context.Context, interval, cutoff time.Duration, onErr func(error)) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		var daily <-chan time.Time
		if cutoff >= 0 {
			now := s.now().UTC()
			at := now.Truncate(24 * time.Hour).Add(cutoff)
			if !at.After(now) {
				at = at.Add(24 * time.Hour)
			}
			daily = time.After(at.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-daily:
		}
		if _, err := s.CloseAll(ctx); err != nil && onErr != nil {
			onErr(err)
		}
	}
}
