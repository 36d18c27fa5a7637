package fx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
)

// Limits of the rate book.
const (
	// ValidityMax is the farthest a sheet's ValidUntil may be: providers
	// publish for minutes or hours, and a stale sheet left by a provider
	// that went away must lapse.
	ValidityMax = 7 * 24 * time.Hour
	// SheetsMax bounds the sheets a provider keeps (one per pair).
	SheetsMax = 1000
)

// Errors of the rate book.
var (
	// ErrNotProvider means a participant that is not an active FX
	// provider enabled for both currencies publishes a sheet.
	ErrNotProvider = fault.New(fault.Forbidden, "", "only an active FX provider enabled for both currencies publishes rates")
	// ErrTooManySheets means a provider would keep more than SheetsMax.
	ErrTooManySheets = fault.New(fault.Conflict, "fx-sheets-limit", "fx: too many rate sheets for one provider")
	// ErrNoSheet means no sheet of the provider for the pair.
	ErrNoSheet = fault.New(fault.NotFound, "", "fx: no rate sheet for this pair")
)

// Book keeps the providers' rate sheets: in the database, and in memory
// for the quotes that choose among them. Each publication is a ledger
// mark, so that the rate a payment used is on the audit log.
type Book struct {
	DB     *sqldb.DB
	Ledger mark.Submitter
	// Participants, when set, hides the sheets of providers that are not
	// active (suspended or closed): they offer nothing.
	Participants interface {
		Get(id string) (participant.Participant, bool)
	}
	Now func() time.Time

	mu     sync.RWMutex
	sheets map[pairKey][]Sheet // by pair: every provider's
	// write orders Publish and Withdraw.
	write sync.Mutex
}

type pairKey struct{ source, target money.Currency }

func (b *Book) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Load reads the stored sheets.
func (b *Book) Load(ctx context.Context) error {
	rows, err := b.DB.QueryContext(ctx, `SELECT provider, source, target, rate, valid_until, min_amount, max_amount, fee_fixed, fee_bps
		FROM fx_sheets`)
	if err != nil {
		return fmt.Errorf("fx: load rate sheets: %w", err)
	}
	defer rows.Close()
	sheets := map[pairKey][]Sheet{}
	for rows.Next() {
		var s Sheet
		var src, dst, rate string
		var until, minA, maxA, fixed int64
		if err := rows.Scan(&s.Provider, &src, &dst, &rate, &until, &minA, &maxA, &fixed, &s.Fee.BPS); err != nil {
			return fmt.Errorf("fx: load rate sheets: %w", err)
		}
		if s.Source, err = money.ParseCurrency(src); err == nil {
			if s.Target, err = money.ParseCurrency(dst); err == nil {
				s.Rate, err = ParseRate(rate)
			}
		}
		if err != nil {
			return fmt.Errorf("fx: load rate sheets: %w", err)
		}
		s.ValidUntil, s.Min, s.Max, s.Fee.Fixed = time.Unix(0, until).UTC(), money.Amount(minA), money.Amount(maxA), money.Amount(fixed)
		k := pairKey{s.Source, s.Target}
		sheets[k] = append(sheets[k], s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fx: load rate sheets: %w", err)
	}
	b.mu.Lock()
	b.sheets = sheets
	b.mu.Unlock()
	return nil
}

// Publish records provider's sheet for its pair, replacing the one
// before; created says there was none. The provider must be an active
// FX provider enabled for both currencies.
func (b *Book) Publish(ctx context.Context, provider participant.Participant, s Sheet) (Sheet, bool, error) {
	now := b.now()
	s.Provider = provider.ID
	s.ValidUntil = s.ValidUntil.UTC().Round(0)
	switch {
	case provider.Kind != participant.FXP || provider.Status != participant.Active || !provider.Uses(s.Source) || !provider.Uses(s.Target):
		return Sheet{}, false, fmt.Errorf("participant %s, %s to %s: %w", provider.ID, s.Source, s.Target, ErrNotProvider)
	case s.ValidUntil.Sub(now) > ValidityMax:
		return Sheet{}, false, fmt.Errorf("%w: validUntil at most %s ahead", ErrSheet, ValidityMax)
	}
	if err := s.Validate(now); err != nil {
		return Sheet{}, false, err
	}
	// One change at a time: the table and the book in memory change in
	// the same order.
	b.write.Lock()
	defer b.write.Unlock()
	var n int
	if err := b.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM fx_sheets WHERE provider = $1`, provider.ID).Scan(&n); err != nil {
		return Sheet{}, false, fmt.Errorf("fx: %w", err)
	}
	k := pairKey{s.Source, s.Target}
	_, had := b.find(k, provider.ID)
	if !had && n >= SheetsMax {
		return Sheet{}, false, fmt.Errorf("provider %s: %w", provider.ID, ErrTooManySheets)
	}
	at := strconv.FormatInt(now.UnixNano(), 10)
	if _, err := mark.Record(ctx, b.Ledger, mark.Mark{Purpose: purpose.FXRate, Currency: s.Source,
		Key: []string{"rate", provider.ID, s.Source.String(), s.Target.String(), at},
		Fields: []string{"rate", provider.ID, s.Source.String(), s.Target.String(), s.Rate.String(), strconv.FormatInt(s.ValidUntil.UnixNano(), 10),
			strconv.FormatInt(int64(s.Min), 10), strconv.FormatInt(int64(s.Max), 10), strconv.FormatInt(int64(s.Fee.Fixed), 10),
			strconv.FormatInt(s.Fee.BPS, 10)}}); err != nil && !errors.Is(err, mark.ErrConflict) {
		return Sheet{}, false, fmt.Errorf("fx: record the rate: %w", err)
	}
	// The mark is durable: the sheet is stored even if the caller hung
	// up meanwhile, so that the audit log names no sheet never offered.
	if _, err := b.DB.ExecContext(context.WithoutCancel(ctx), `INSERT INTO fx_sheets (provider, source, target, rate, valid_until, min_amount, max_amount,
		fee_fixed, fee_bps, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (provider, source, target) DO UPDATE SET rate = excluded.rate, valid_until = excluded.valid_until,
		min_amount = excluded.min_amount, max_amount = excluded.max_amount, fee_fixed = excluded.fee_fixed, fee_bps = excluded.fee_bps,
		updated_at = excluded.updated_at`,
		s.Provider, s.Source.String(), s.Target.String(), s.Rate.String(), s.ValidUntil.UnixNano(), int64(s.Min), int64(s.Max),
		int64(s.Fee.Fixed), s.Fee.BPS, now.UnixNano()); err != nil {
		return Sheet{}, false, fmt.Errorf("fx: store the rate: %w", err)
	}
	b.mu.Lock()
	if b.sheets == nil {
		b.sheets = map[pairKey][]Sheet{}
	}
	list := slices.DeleteFunc(slices.Clone(b.sheets[k]), func(x Sheet) bool { return x.Provider == provider.ID })
	b.sheets[k] = append(list, s)
	b.mu.Unlock()
	return s, !had, nil
}

// Withdraw deletes provider's sheet for a pair.
func (b *Book) Withdraw(ctx context.Context, provider participant.Participant, source, target money.Currency) error {
	if provider.Kind != participant.FXP {
		return fmt.Errorf("participant %s: %w", provider.ID, ErrNotProvider)
	}
	b.write.Lock()
	defer b.write.Unlock()
	k := pairKey{source, target}
	if _, ok := b.find(k, provider.ID); !ok {
		return fmt.Errorf("provider %s, %s to %s: %w", provider.ID, source, target, ErrNoSheet)
	}
	if _, err := b.DB.ExecContext(ctx, `DELETE FROM fx_sheets WHERE provider = $1 AND source = $2 AND target = $3`,
		provider.ID, source.String(), target.String()); err != nil {
		return fmt.Errorf("fx: withdraw the rate: %w", err)
	}
	b.mu.Lock()
	b.sheets[k] = slices.DeleteFunc(slices.Clone(b.sheets[k]), func(x Sheet) bool { return x.Provider == provider.ID })
	b.mu.Unlock()
	return nil
}

// active reports whether provider may offer rates now.
func (b *Book) active(provider string) bool {
	if b.Participants == nil {
		return true
	}
	p, ok := b.Participants.Get(provider)
	return ok && p.Status == participant.Active
}

func (b *Book) find(k pairKey, provider string) (Sheet, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, s := range b.sheets[k] {
		if s.Provider == provider {
			return s, true
		}
	}
	return Sheet{}, false
}

// Live returns the sheets valid at now, by pair and provider; for one
// pair when source and target are given (zero: all).
func (b *Book) Live(source, target money.Currency) []Sheet {
	now := b.now()
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []Sheet
	add := func(list []Sheet) {
		for _, s := range list {
			if s.Live(now) && b.active(s.Provider) {
				out = append(out, s)
			}
		}
	}
	if source != 0 {
		// One pair: every FX quote asks, so it is looked up, not searched.
		add(b.sheets[pairKey{source, target}])
	} else {
		for _, list := range b.sheets {
			add(list)
		}
	}
	slices.SortFunc(out, func(a, b Sheet) int {
		return cmp.Or(cmp.Compare(a.Source.String(), b.Source.String()), cmp.Compare(a.Target.String(), b.Target.String()),
			cmp.Compare(a.Provider, b.Provider))
	})
	return out
}

// Prune deletes the sheets that lapsed before now; it returns how many.
func (b *Book) Prune(ctx context.Context, now time.Time) (int64, error) {
	res, err := b.DB.ExecContext(ctx, `DELETE FROM fx_sheets WHERE valid_until <= $1`, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("fx: prune: %w", err)
	}
	b.mu.Lock()
	for k, list := range b.sheets {
		b.sheets[k] = slices.DeleteFunc(slices.Clone(list), func(x Sheet) bool { return !x.ValidUntil.After(now) })
	}
	b.mu.Unlock()
	return res.RowsAffected()
}
