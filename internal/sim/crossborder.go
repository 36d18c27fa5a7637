package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// Cross-border payments (issue 17). A user of a wallet pays a user of a
// wallet in another currency in one step: the payer's participant asks
// for an FX quote, which fixes both amounts, the rate, the FX provider's
// fee and the scheme fee until it expires; the transfer names the quote,
// a purpose code and the paying user. The switch moves, all or nothing,
// the source amount and the provider's fee from the payer to the
// provider in the payer's currency, and the target amount from the
// provider to the payee in the payee's. So:
//
//   - the payer's participant books an ordinary outgoing payment of the
//     source amount, with the provider's fee on top (its user pays it);
//   - the payee's participant credits fx.targetAmount in fx.targetCurrency
//     — never amount, which is the payer's, in the payer's currency
//     (Participant.incoming);
//   - the FX provider learns of the payments it converted from its own
//     listing (the switch sends it no callback: the payee is the
//     payment's), and books each side in that currency's books
//     (BookExchanges).

// FXPayment is an outgoing payment to a payee in another currency.
type FXPayment struct {
	// ID is the transfer id; empty makes a fresh one.
	ID string
	// From is the paying user's id in the participant's books; it is
	// sent as payerAccount, which the annual FX quota counts by.
	From string
	// Payee is the payee's alias, registered in its own currency.
	Payee wire.PayeeRef
	// Amount is what the payer sends, in the participant's currency; with
	// Receive, what the payee gets, in Target.
	Amount  money.Amount
	Receive bool
	// Target is the payee's currency, which a RECEIVE amount is in.
	Target money.Currency
	// Purpose is the ISO 20022 purpose code (FAMI, SUPP, GDDS, …), which
	// a cross-border payment must name.
	Purpose string
	// Note travels with the transfer to the payee.
	Note string
	// Quote, when set, is an FX quote asked for earlier (the one the user
	// saw): the payment uses it rather than asking for a new one.
	Quote *wire.Quote
}

// fxPlaced are an FX quote's terms in the payer's minor units.
type fxPlaced struct {
	source, fee, fxFee money.Amount
}

// placeFX reads the payer's side of FX quote q, in c.
func placeFX(q *wire.Quote, c money.Currency) (fxPlaced, error) {
	var out fxPlaced
	if q.FX == nil || q.Currency != c.String() || q.FX.SourceCurrency != c.String() || q.FX.SourceAmount != q.Amount {
		return out, fmt.Errorf("quote %s: not an FX quote from %s", q.ID, c)
	}
	var err error
	if out.source, err = money.Parse(q.Amount, c); err != nil {
		return out, fmt.Errorf("quote %s: amount %q: %w", q.ID, q.Amount, err)
	}
	if out.fee, err = money.Parse(q.Fee, c); err != nil {
		return out, fmt.Errorf("quote %s: fee %q: %w", q.ID, q.Fee, err)
	}
	if out.fxFee, err = money.Parse(q.FX.ProviderFee, c); err != nil {
		return out, fmt.Errorf("quote %s: provider fee %q: %w", q.ID, q.FX.ProviderFee, err)
	}
	return out, nil
}

// PayFX runs a cross-border payment as a wallet app does: get an FX quote
// (SEND: the amount the user sends; RECEIVE: what the payee must get),
// which the app shows — both amounts, the rate, the fees; hold the
// source amount, the provider's fee and, if the participant charges it,
// the scheme fee; send the transfer with the quote, the purpose code and
// the paying user as payerAccount (retried with the same id when the
// answer is lost); and book the outcome. A quote pays once: a refusal
// (quote-used, quote-expired, fx-provider-insufficient-funds) moved
// nothing, and the user may ask for a new quote.
func (p *Participant) PayFX(ctx context.Context, pm FXPayment) Result {
	if pm.ID == "" {
		pm.ID = p.NewTransferID()
	}
	c := p.books.Currency()
	res := Result{ID: pm.ID}
	ref := wire.PayeeRef{Type: pm.Payee.Type, Value: pm.Payee.Value}
	q := pm.Quote
	if q == nil {
		nq := wire.NewQuote{Payee: ref, Amount: pm.Amount.Format(c), Currency: c.String(), AmountType: "SEND", PayerAccount: pm.From}
		if pm.Receive {
			nq.Amount, nq.AmountType = pm.Amount.Format(pm.Target), "RECEIVE"
		}
		res.Quoted = true
		got, err := p.api.Quote(ctx, nq)
		if err != nil {
			return refused(res, err)
		}
		q = &got
	}
	terms, err := placeFX(q, c)
	if err != nil {
		res.Status, res.Err = StatusRefused, err
		return res
	}
	res.Amount, res.FX, res.fxFee = terms.source, q.FX, terms.fxFee
	userFee := money.Amount(0)
	if p.cfg.ChargeFees {
		userFee = terms.fee
	}
	nt := wire.NewTransfer{ID: pm.ID, Payee: ref, Amount: q.Amount, Currency: q.Currency, QuoteID: q.ID, Note: pm.Note, Purpose: pm.Purpose}
	riskFields(&nt, &Payment{From: pm.From})
	return p.holdAndSend(ctx, res, pm.From, userFee, func() (wire.Transfer, error) {
		t, _, err := p.api.CreateTransfer(ctx, nt)
		return t, err
	})
}

// fxAgrees checks that a committed transfer t's FX provider fee is the
// one o held: the quote's, which the switch must not change.
func fxAgrees(t *wire.Transfer, o Outgoing, c money.Currency) error {
	fee := money.Amount(0)
	if t.FX != nil {
		var err error
		if fee, err = money.Parse(t.FX.ProviderFee, c); err != nil {
			return fmt.Errorf("transfer %s: provider fee %q: %w", t.ID, t.FX.ProviderFee, err)
		}
	}
	if fee != o.FXFee {
		return fmt.Errorf("transfer %s: the switch charged a provider fee of %s, the books hold %s", t.ID, fee.Format(c), o.FXFee.Format(c))
	}
	return nil
}

// FXTreasury is an FX provider's own account in each of its books: the
// money it converts from and to. Its opening balance is the provider's
// whole treasury in that currency, of which it prefunds a part at the
// switch.
const FXTreasury = "treasury"

// fxFollow is an FX provider's place in its listing (BookExchanges).
type fxFollow struct {
	mu    sync.Mutex
	since string // where the next listing starts: an RFC 3339 time
}

// BookExchanges books the FX provider's side of every FX payment it
// converted that its books lack, and returns how many it booked: in the
// source currency's books, a credit of the source amount and its fee;
// in the target currency's, a debit of the target amount, made by the
// switch from the provider's account unasked. The switch sends a
// provider no callback of them (the payee is told), so it reads its
// listing (GET /v1/transfers), where each appears once, from where the
// last call left: the last payment seen, or the first not final yet
// (reserved while a confirm-mode payee decides). Booking is by transfer
// id, so reading a payment twice changes nothing.
func (p *Participant) BookExchanges(ctx context.Context) (int, error) {
	p.fx.mu.Lock()
	defer p.fx.mu.Unlock()
	o := ListOptions{Since: p.fx.since, Limit: 1000}
	var pending, last string
	n := 0
	var errs []error
	for {
		page, err := p.api.Transfers(ctx, o)
		if err != nil {
			return n, errors.Join(append(errs, err)...)
		}
		for _, t := range page.Transfers {
			if t.FX == nil || t.FX.Provider != p.cfg.ID {
				continue
			}
			last = t.CreatedAt.UTC().Format(time.RFC3339Nano)
			switch t.State {
			case "COMMITTED":
				booked, err := p.bookExchange(&t)
				if err != nil {
					errs = append(errs, err)
				} else if booked {
					n++
				}
			case "ABORTED":
			default:
				if pending == "" {
					pending = last
				}
			}
		}
		if page.Next == "" || len(page.Transfers) == 0 {
			break
		}
		o.Since = page.Next
	}
	switch {
	case pending != "":
		p.fx.since = pending
	case last != "":
		p.fx.since = last
	}
	return n, errors.Join(errs...)
}

// bookExchange books one committed FX payment t the provider converted;
// booked says whether either side was new to the books.
func (p *Participant) bookExchange(t *wire.Transfer) (booked bool, err error) {
	src, err := money.ParseCurrency(t.FX.SourceCurrency)
	if err != nil {
		return false, fmt.Errorf("exchange %s: %w", t.ID, err)
	}
	tgt, err := money.ParseCurrency(t.FX.TargetCurrency)
	if err != nil {
		return false, fmt.Errorf("exchange %s: %w", t.ID, err)
	}
	in, out := p.BooksIn(src), p.BooksIn(tgt)
	if in == nil || out == nil {
		return false, fmt.Errorf("exchange %s: %s → %s, which the provider does not hold", t.ID, src, tgt)
	}
	var amounts [3]money.Amount
	for i, f := range []struct {
		s string
		c money.Currency
	}{{t.FX.SourceAmount, src}, {t.FX.ProviderFee, src}, {t.FX.TargetAmount, tgt}} {
		if amounts[i], err = money.Parse(f.s, f.c); err != nil {
			return false, fmt.Errorf("exchange %s: amount %q: %w", t.ID, f.s, err)
		}
	}
	credited, err := in.CreditFX(t.ID, FXTreasury, amounts[0], amounts[1])
	if err != nil {
		return false, fmt.Errorf("exchange %s: %w", t.ID, err)
	}
	debited, err := out.Debit(t.ID, FXTreasury, "", amounts[2], 0, false)
	if err != nil {
		return credited, fmt.Errorf("exchange %s: %w", t.ID, err)
	}
	return credited || debited, nil
}
