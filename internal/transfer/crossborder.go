package transfer

import (
	"context"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
)

// CrossBorder is one cross-border payment as the regulator's report
// shows it: committed at CommittedAt, from Payer's user to Payee's, with
// both amounts and currencies, the rate, the FX provider, the fees and
// the purpose.
type CrossBorder struct {
	CommittedAt time.Time
	TransferID  string
	Payer       string
	Payee       string
	// PayerAccount is the payer wallet's reference of its user, as sent
	// (the annual FX quota counts by it).
	PayerAccount string
	FX           FX
	SchemeFee    money.Amount
	// seq is the commit's ledger timestamp: where a page continues.
	seq int64
}

// Seq returns the ledger timestamp of the row's commit, from which the
// next page of the report starts (after it).
func (c *CrossBorder) Seq() int64 { return c.seq }

// CrossBorderWindowMax bounds the window of one cross-border report: a
// month of payments is read in one pass.
const CrossBorderWindowMax = 31 * 24 * time.Hour

// ErrReportWindow means a report's window that is empty, reversed or
// longer than CrossBorderWindowMax.
var ErrReportWindow = fault.New(fault.Invalid, "", "the window must have from before to, at most 31 days apart")

// CrossBorders calls fn, in the ledger's order, with every FX payment
// committed in [from, to) — posted at once, or the commit of a
// reservation — starting after the ledger timestamp after (0: from the
// window's start). Payments reserved and aborted moved nothing and are
// not in it.
func (s *Service) CrossBorders(ctx context.Context, from, to time.Time, after int64, fn func(*CrossBorder) error) error {
	if !from.Before(to) || to.Sub(from) > CrossBorderWindowMax {
		return ErrReportWindow
	}
	start := max(from.UnixNano(), after+1)
	return s.Journal.Scan(ctx, start, to.UnixNano(), func(e ledger.Event) error {
		if e.Purpose != purpose.FX || (e.Kind != ledger.KindPost && e.Kind != ledger.KindCommit) {
			return nil
		}
		row, err := s.crossBorder(ctx, &e)
		if err != nil {
			return fmt.Errorf("cross-border report: %w", err)
		}
		return fn(&row)
	})
}

// crossBorder makes the report's row of the fx leg event e (a post, or
// a commit): the FX terms from the leg, the participants and the scheme
// fee from the payment's record.
func (s *Service) crossBorder(ctx context.Context, e *ledger.Event) (CrossBorder, error) {
	leg := e
	if e.Kind == ledger.KindCommit {
		jt, err := s.Journal.Transfer(ctx, e.Pending)
		if err != nil {
			return CrossBorder{}, fmt.Errorf("fx commit %d: %w", e.Timestamp, err)
		}
		leg = &jt.Event
	}
	terms, err := decodeFXTerms(leg.Meta)
	if err != nil {
		return CrossBorder{}, fmt.Errorf("fx event %d: %w", e.Timestamp, err)
	}
	pay, err := s.Journal.Transfer(ctx, ledgerID(paymentLeg, terms.TransferID))
	if err != nil {
		return CrossBorder{}, fmt.Errorf("payment of fx event %d: %w", e.Timestamp, err)
	}
	rec, err := decodeRecord(pay.Meta)
	if err != nil {
		return CrossBorder{}, fmt.Errorf("payment of fx event %d: %w", e.Timestamp, err)
	}
	return CrossBorder{CommittedAt: time.Unix(0, e.Timestamp).UTC(), TransferID: terms.TransferID, Payer: rec.Payer,
		Payee: rec.PayeeParticipant, PayerAccount: rec.PayerAccount, FX: *fxView(&terms, leg.Amount, leg.Currency),
		SchemeFee: rec.Fee, seq: e.Timestamp}, nil
}
