package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/quote"
)

// An FX payment pays a payee whose alias is held in another currency than
// the payer's, through an FX provider, at the terms of an FX quote
// (docs/design/cross-border.md). Its chain, posted or reserved as one:
//
//	mark    fx-quote  —                      the quote is used (Ref: the request's digest)
//	payment payment   payer → provider       source amount, in the payer's currency (the record)
//	fee     fee       payer → hub fees       the scheme fee, if any
//	fx-fee  fx-fee    payer → provider       the provider's fee, if any
//	fx      fx        provider → payee       target amount, in the payee's currency (the FX terms)
//
// The payment leg still holds the record and is still the transfer's
// ledger id; the payee is paid by the fx leg, which the record's FX flag
// says.

// fxPlan is an FX payment's exchange on its way through the pipeline.
type fxPlan struct {
	provider participant.Participant
	target   money.Amount
	tgt      money.Currency
	terms    fxTerms
}

// fxLegName is the name of an FX payment's fx leg, from which its ledger
// id derives (legName of its purpose, met once).
const fxLegName = "fx"

// LegID returns the ledger id of a payment's leg: "payment" (its first
// leg, LedgerID) or "fx" (the fx leg of an FX payment, which pays the
// payee). The audit log proves each by its id.
func LegID(clientID, leg string) ledger.ID { return ledgerID(leg, clientID) }

// fxQuoteMarkID returns the id of the mark that an FX quote was used: the
// first 16 bytes of SHA-256 over a versioned, length-prefixed quote id.
// One id per quote is what makes a quote pay once.
func fxQuoteMarkID(quoteID string) ledger.ID {
	b := make([]byte, 0, 32+len(quoteID))
	b = append(b, "hulian/fx-quote/v1"...)
	b = binary.AppendUvarint(b, uint64(len(quoteID)))
	b = append(b, quoteID...)
	sum := sha256.Sum256(b)
	return ledger.ID(sum[:len(ledger.ID{})])
}

// fxLegs prices an FX payment: the source amount and the provider's fee
// to the provider and the scheme fee to the hub, in the payer's currency,
// and the target amount from the provider to the payee in the payee's.
// It appends to legs; the fx leg is last.
func fxLegs(legs []Leg, payer, provider, payee *participant.Participant, src money.Currency, source, fee, providerFee money.Amount,
	tgt money.Currency, target money.Amount) []Leg {
	legs = append(legs, Leg{Purpose: purpose.Payment, Debit: payer.Account(src), Credit: provider.Account(src), Amount: source})
	if fee > 0 {
		legs = append(legs, Leg{Purpose: purpose.Fee, Debit: payer.Account(src), Credit: participant.FeeAccount(src), Amount: fee})
	}
	if providerFee > 0 {
		legs = append(legs, Leg{Purpose: purpose.FXFee, Debit: payer.Account(src), Credit: provider.Account(src), Amount: providerFee})
	}
	return append(legs, Leg{Purpose: purpose.FX, Debit: provider.Account(tgt), Credit: payee.Account(tgt), Amount: target})
}

// fxQuoted checks an FX quote q against the payment it is used for, and
// plans the exchange: the quote's provider must still be active and
// enabled for both currencies, the payee must still take the quote's
// target currency, and the payment must name its purpose.
func (s *Service) fxQuoted(payer *participant.Participant, p *payment, q *quote.Quote) error {
	switch {
	case q.FX == nil || p.target != q.FX.TargetCurrency:
		return fmt.Errorf("quote is for another exchange: %w", ErrQuoteMismatch)
	case p.req.Purpose == "":
		return fmt.Errorf("transfer %s: %w", p.rec.ID, ErrFXPurposeRequired)
	}
	prov, ok := s.Participants.Get(q.FX.Provider)
	if !ok || prov.Status != participant.Active || !prov.Uses(q.Currency) || !prov.Uses(q.FX.TargetCurrency) {
		return fmt.Errorf("FX provider %s: %w", q.FX.Provider, ErrSuspended)
	}
	p.fx = &fxPlan{provider: prov, target: q.FX.TargetAmount, tgt: q.FX.TargetCurrency, terms: fxTerms{
		TransferID: p.rec.ID, Payer: payer.ID, Provider: prov.ID, Rate: q.FX.Rate, Purpose: p.req.Purpose,
		Rounding: q.FX.Rounding, Mode: q.FX.Mode, Source: q.Amount, ProviderFee: q.FX.ProviderFee,
		SourceCurrency: q.Currency, QuotaValue: q.FX.QuotaValue, QuotaCurrency: q.FX.QuotaCurrency,
	}}
	if qc := s.cfg.FXQuota.Currency; !s.cfg.FXQuota.IsZero() {
		switch {
		case q.FX.QuotaCurrency != qc:
			return fmt.Errorf("the quote was made without the annual FX quota: %w", ErrQuoteMismatch)
		case strings.TrimSpace(p.rec.PayerAccount) == "":
			// Spaces name nobody: each spelling would be a fresh quota.
			return fmt.Errorf("%w: payerAccount is required for an FX payment, not only spaces: the annual FX quota counts by it", ErrInvalid)
		}
		p.fx.terms.QuotaKey = QuotaKey(payer.ID, p.rec.PayerAccount)
	}
	p.rec.FX = true
	return nil
}

// view returns the exchange as participants see it.
func (f *fxPlan) view() *FX {
	return fxView(&f.terms, f.target, f.tgt)
}

// fxView returns an FX payment's exchange from its terms and its fx leg's
// amount and currency.
func fxView(t *fxTerms, target money.Amount, tgt money.Currency) *FX {
	return &FX{Provider: t.Provider, SourceAmount: t.Source, SourceCurrency: t.SourceCurrency, TargetAmount: target,
		TargetCurrency: tgt, Rate: t.Rate, ProviderFee: t.ProviderFee, Mode: t.Mode, Purpose: t.Purpose, Rounding: t.Rounding}
}

// fxMark is the mark that the payment's FX quote is used, linked before
// its legs.
func (p *payment) fxMark() ledger.Command {
	return ledger.Command{Kind: ledger.KindMark, Linked: true, ID: fxQuoteMarkID(p.rec.QuoteID), Ref: p.digest,
		Currency: p.req.Currency, Purpose: purpose.FXQuote}
}

// chainErr names why a payment's chain failed, from the member that
// failed: the FX quote's mark (used by another payment), the fx leg (the
// provider short of the target currency), or a leg the payer pays.
func (p *payment) chainErr(idx int, st ledger.Status) error {
	switch {
	case p.fx != nil && idx == 0:
		if st == ledger.StatusExistsDifferent {
			return fmt.Errorf("transfer %s: %w", p.rec.ID, ErrQuoteUsed)
		}
	case p.fx != nil && idx == p.pre+len(p.legs)-1 && st == ledger.StatusInsufficientFunds:
		return fmt.Errorf("transfer %s: %w", p.rec.ID, ErrFXLiquidity)
	}
	return fmt.Errorf("transfer %s: %w", p.rec.ID, st.Err())
}

// fxOf reads an FX payment's exchange from its fx leg.
func (s *Service) fxOf(ctx context.Context, id string) (*FX, error) {
	jt, err := s.Journal.Transfer(ctx, ledgerID(fxLegName, id))
	if err != nil {
		return nil, fmt.Errorf("fx leg of %s: %w", id, err)
	}
	terms, err := decodeFXTerms(jt.Meta)
	if err != nil {
		return nil, fmt.Errorf("fx leg of %s: %w", id, err)
	}
	return fxView(&terms, jt.Amount, jt.Currency), nil
}

// quoteFX prices a payment to a payee in another currency: the best
// offer of the providers' live sheets for the amount (what the payer
// sends in SEND mode, what the payee gets in RECEIVE), the scheme fee on
// what the payer sends, and a quote valid until the TTL or the sheet's
// end, whichever comes first.
func (s *Service) quoteFX(ctx context.Context, payer *participant.Participant, p *payment) (quote.Quote, error) {
	mode, err := fx.ParseMode(p.req.AmountType)
	if err != nil {
		return quote.Quote{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	src, tgt := p.req.Currency, p.target
	now := s.Now()
	sheets := s.Rates.Live(src, tgt)
	if s.LiveRates != nil {
		sheets = append(sheets, s.LiveRates.Ask(ctx, LiveQuote{Source: src, Target: tgt, Amount: p.req.Amount, Mode: mode,
			Exclude: []string{payer.ID, p.payee.ID}})...)
	}
	usable := sheets[:0:0]
	for _, sh := range sheets {
		// A provider does not exchange with itself: as payer or payee, its
		// own accounts would be both sides of a leg.
		if sh.Provider == payer.ID || sh.Provider == p.payee.ID {
			continue
		}
		if prov, ok := s.Participants.Get(sh.Provider); ok && prov.Status == participant.Active && prov.Uses(src) && prov.Uses(tgt) {
			usable = append(usable, sh)
		}
	}
	offer, ok := fx.Best(usable, src, tgt, p.req.Amount, mode, now)
	if !ok {
		return quote.Quote{}, fmt.Errorf("%s → %s: %w", src, tgt, ErrNoFXOffer)
	}
	fee, err := s.Fees.Schedule(src).Fee(offer.SourceAmount)
	if err != nil {
		return quote.Quote{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := money.Add(offer.Total(), fee); err != nil {
		return quote.Quote{}, fmt.Errorf("%w: the amount is too large", ErrInvalid)
	}
	expires := now.Add(s.cfg.QuoteTTL)
	if offer.ValidUntil.Before(expires) {
		expires = offer.ValidUntil
	}
	var qValue money.Amount
	if !s.cfg.FXQuota.IsZero() {
		if qValue, err = s.quotaValue(&offer, now); err != nil {
			return quote.Quote{}, err
		}
		if p.rec.PayerAccount != "" {
			// A courtesy: the transfer checks again, and binds.
			used := s.Quota.Used(QuotaKey(payer.ID, p.rec.PayerAccount), now)
			if err := s.cfg.FXQuota.Check(used, qValue); err != nil {
				return quote.Quote{}, err
			}
		}
	}
	q := quote.Quote{
		Payer: p.rec.Payer, PayeeType: p.rec.PayeeType, PayeeValue: p.rec.PayeeValue, PayeeParticipant: p.rec.PayeeParticipant,
		Amount: offer.SourceAmount, Fee: fee, Currency: src, ExpiresAt: expires.UTC(),
		FX: &quote.FX{Provider: offer.Provider, Mode: mode, TargetAmount: offer.TargetAmount, TargetCurrency: tgt,
			Rate: offer.Rate, ProviderFee: offer.ProviderFee, Rounding: offer.Rounding},
	}
	if qValue > 0 {
		q.FX.QuotaValue, q.FX.QuotaCurrency = qValue, s.cfg.FXQuota.Currency
	}
	return q, nil
}

// quotaValue is what an offer counts against the annual FX quota: what
// the payer sends, valued in the quota's currency — the offer's own
// amount if it is on either side, else at the providers' rates now
// (fx.Quota.Value). The quote signs it, so that the payment depends on
// no later sheet.
func (s *Service) quotaValue(o *fx.Offer, now time.Time) (money.Amount, error) {
	q := s.cfg.FXQuota
	switch q.Currency {
	case o.TargetCurrency:
		return o.TargetAmount, nil
	case o.SourceCurrency:
		return o.SourceAmount, nil
	}
	sheets := append(s.Rates.Live(o.SourceCurrency, q.Currency), s.Rates.Live(q.Currency, o.SourceCurrency)...)
	return q.Value(o.SourceAmount, o.SourceCurrency, sheets, now)
}

// reserveQuota counts an FX payment against its payer account's annual
// quota, in flight until its submission returns (release): by then the
// ledger's durable events count it.
func (s *Service) reserveQuota(p *payment) error {
	if p.fx == nil || p.fx.terms.QuotaCurrency == 0 {
		return nil
	}
	release, err := s.Quota.Reserve(ledgerID(fxLegName, p.rec.ID), p.fx.terms.QuotaKey, p.fx.terms.QuotaValue, s.Now())
	if err != nil {
		return fmt.Errorf("transfer %s: %w", p.rec.ID, err)
	}
	p.release = release
	return nil
}

// QuotaOf reads what the annual FX quota counts of an fx leg's Meta (its
// FX terms): the payer account's key and the payment's value in the
// quota's currency; ok is false for Meta that is not FX terms or counts
// against no quota. It is fx.Usage's TermsFunc.
func QuotaOf(meta string) (key [16]byte, value money.Amount, ok bool) {
	t, err := decodeFXTerms(meta)
	if err != nil || t.QuotaCurrency == 0 {
		return key, 0, false
	}
	return t.QuotaKey, t.QuotaValue, true
}
