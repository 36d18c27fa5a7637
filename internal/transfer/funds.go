package transfer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/quote"
)

// Direction is a movement of a participant's funds at the hub.
type Direction string

// The directions.
const (
	Deposit    Direction = "deposit"    // the settlement bank received money for the participant
	Withdrawal Direction = "withdrawal" // the participant takes money out through the settlement bank
)

// Funds is a deposit or withdrawal.
type Funds struct {
	ID          string
	Participant string
	Currency    money.Currency
	Amount      money.Amount
	Direction   Direction
	CreatedAt   time.Time
}

// MoveFunds records a deposit or withdrawal between the participant's
// settlement account and the settlement bank's external account. id makes
// it idempotent; empty means a fresh random id. A withdrawal beyond the
// available balance is ErrInsufficientFunds.
func (s *Service) MoveFunds(ctx context.Context, p participant.Participant, f Funds) (Funds, bool, error) {
	if f.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return Funds{}, false, err
		}
		f.ID = hex.EncodeToString(b[:])
	}
	switch {
	case !ValidID(f.ID):
		return Funds{}, false, fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, IDMax)
	case f.Amount <= 0:
		return Funds{}, false, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case f.Direction != Deposit && f.Direction != Withdrawal:
		return Funds{}, false, fmt.Errorf("%w: direction must be deposit or withdrawal", ErrInvalid)
	case !p.Uses(f.Currency):
		return Funds{}, false, fmt.Errorf("participant %s is not enabled for %s: %w", p.ID, f.Currency, ErrCurrency)
	}
	f.Participant = p.ID
	cmd := ledger.Command{Kind: ledger.KindPost, Amount: f.Amount, Meta: p.ID + "/" + f.ID,
		Debit: participant.ExternalAccount(f.Currency), Credit: p.Account(f.Currency), Purpose: purpose.Deposit}
	if f.Direction == Withdrawal {
		cmd.Debit, cmd.Credit, cmd.Purpose = cmd.Credit, cmd.Debit, purpose.Withdrawal
	}
	name, _ := purpose.Name(cmd.Purpose)
	cmd.ID = ledgerID(name, f.ID)
	res, err := s.Journal.Submit(ctx, []ledger.Command{cmd})
	if err != nil {
		return Funds{}, false, fmt.Errorf("%s %s: %w", f.Direction, f.ID, err)
	}
	if err := res[0].Status.Err(); err != nil {
		return Funds{}, false, fmt.Errorf("%s %s: %w", f.Direction, f.ID, err)
	}
	f.CreatedAt = time.Unix(0, res[0].Timestamp).UTC()
	return f, res[0].Status == ledger.StatusOK, nil
}

// SetNetDebitCap sets how far below zero the participant's balance in a
// currency may go. Lowering it below what the participant already uses
// is ErrLimitBelowPosition.
func (s *Service) SetNetDebitCap(ctx context.Context, p participant.Participant, c money.Currency, cap money.Amount) error {
	if cap < 0 {
		return fmt.Errorf("%w: netDebitCap must not be negative", ErrInvalid)
	}
	if !p.Uses(c) {
		return fmt.Errorf("participant %s is not enabled for %s: %w", p.ID, c, ErrCurrency)
	}
	res, err := s.Journal.Submit(ctx, []ledger.Command{{Kind: ledger.KindSetFloor, Account: p.Account(c), Floor: cap}})
	if err != nil {
		return fmt.Errorf("net debit cap of %s: %w", p.ID, err)
	}
	if err := res[0].Status.Err(); err != nil {
		return fmt.Errorf("net debit cap of %s in %s: %w", p.ID, c, err)
	}
	return nil
}

// Balance is a participant's position in one currency.
type Balance struct {
	Currency    money.Currency
	Balance     money.Amount
	Reserved    money.Amount
	NetDebitCap money.Amount
	Available   money.Amount
}

// Balances returns the participant's positions, one per currency.
func (s *Service) Balances(ctx context.Context, p participant.Participant) ([]Balance, error) {
	out := make([]Balance, 0, len(p.Currencies))
	for _, c := range p.Currencies {
		a, err := s.Journal.Account(ctx, p.Account(c))
		if errors.Is(err, journal.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("balances of %s: %w", p.ID, err)
		}
		out = append(out, Balance{Currency: c, Balance: a.Balance, Reserved: a.Reserved, NetDebitCap: a.Floor, Available: a.Available()})
	}
	return out, nil
}

// HubBalance is the hub's position in one currency.
type HubBalance struct {
	Currency       money.Currency
	FeeRevenue     money.Amount
	SettlementBank money.Amount
}

// HubBalances returns the hub's fee revenue and the settlement bank's
// external balance for every currency the switch has accounts in.
func (s *Service) HubBalances(ctx context.Context) ([]HubBalance, error) {
	seen := map[money.Currency]bool{}
	var out []HubBalance
	for _, p := range s.Participants.List() {
		for _, c := range p.Currencies {
			if seen[c] {
				continue
			}
			seen[c] = true
			fees, err := s.Journal.Account(ctx, participant.FeeAccount(c))
			if err != nil {
				return nil, fmt.Errorf("hub fee account %s: %w", c, err)
			}
			ext, err := s.Journal.Account(ctx, participant.ExternalAccount(c))
			if err != nil {
				return nil, fmt.Errorf("settlement bank account %s: %w", c, err)
			}
			out = append(out, HubBalance{Currency: c, FeeRevenue: fees.Balance, SettlementBank: ext.Balance})
		}
	}
	slices.SortFunc(out, func(a, b HubBalance) int { return strings.Compare(a.Currency.String(), b.Currency.String()) })
	return out, nil
}

// Quote prices a payment for a payer: it runs the pipeline's parse,
// resolve and price stages, and signs an offer valid for the quote TTL.
func (s *Service) Quote(ctx context.Context, payer participant.Participant, req Request) (QuoteOffer, error) {
	req.ID = "quote"
	req.QuoteID = ""
	text := req.AmountText
	if text != "" {
		req.Amount = 1 // read below, in the currency it is in
	}
	b := newSingle(payer, &req, modeByPayee)
	p := &b.items[0]
	if err := s.parseOne(&payer, p); err != nil {
		return QuoteOffer{}, err
	}
	if err := s.resolve(ctx, b, p); err != nil {
		return QuoteOffer{}, err
	}
	if text != "" {
		c := req.Currency
		if p.target != 0 && req.AmountType == fx.Receive.String() {
			c = p.target
		}
		amt, err := money.Parse(text, c)
		if err != nil || amt <= 0 {
			return QuoteOffer{}, fmt.Errorf("%w: amount %q in %s: must be positive, with at most its minor units", ErrInvalid, text, c)
		}
		req.Amount = amt
	}
	var q quote.Quote
	if p.target != 0 {
		var err error
		if q, err = s.quoteFX(ctx, &payer, p); err != nil {
			return QuoteOffer{}, err
		}
	} else {
		if _, err := fx.ParseMode(req.AmountType); err != nil {
			return QuoteOffer{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if err := s.price(b, p); err != nil {
			return QuoteOffer{}, err
		}
		q = quoteOf(p, s.Now().Add(s.cfg.QuoteTTL))
	}
	q = s.Signer.Issue(q)
	o := QuoteOffer{ID: q.ID, Payee: Payee{Type: p.rec.PayeeType, Value: p.rec.PayeeValue, Participant: p.payee.ID},
		Amount: q.Amount, Fee: q.Fee, Currency: q.Currency, ExpiresAt: q.ExpiresAt}
	if f := q.FX; f != nil {
		o.FX = &FX{Provider: f.Provider, SourceAmount: q.Amount, SourceCurrency: q.Currency, TargetAmount: f.TargetAmount,
			TargetCurrency: f.TargetCurrency, Rate: f.Rate, ProviderFee: f.ProviderFee, Mode: f.Mode, Rounding: f.Rounding}
	}
	return o, nil
}

// QuoteOffer is a signed price for a payment.
type QuoteOffer struct {
	ID        string
	Payee     Payee
	Amount    money.Amount
	Fee       money.Amount
	Currency  money.Currency
	ExpiresAt time.Time
	// FX is set for a payee in another currency: Amount and Currency are
	// then what the payer sends (without fees), FX what the payee gets.
	FX *FX
}

func quoteOf(p *payment, expires time.Time) quote.Quote {
	return quote.Quote{
		Payer: p.rec.Payer, PayeeType: p.rec.PayeeType, PayeeValue: p.rec.PayeeValue, PayeeParticipant: p.rec.PayeeParticipant,
		Amount: p.req.Amount, Fee: p.rec.Fee, Currency: p.req.Currency, ExpiresAt: expires.UTC(),
	}
}
