package risk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/transfer"
)

// Report is a participant's fraud report on a committed transfer: an
// open report counts in the payee alias's fraudMarks for the TTL.
type Report struct {
	ID         int64
	TransferID string
	Reporter   string
	Alias      string // the payee alias, "TYPE:value"
	Reason     string
	Detail     string
	Status     string
	CreatedAt  time.Time
}

// ReportReasons are the reasons a report may give.
var ReportReasons = []string{"scam", "account-takeover", "mule", "other"}

// DetailMax bounds a report's detail.
const DetailMax = 1000

// Report files a fraud report by reporter, the payer or payee participant
// of the committed transfer transferID (anyone else learns nothing of
// it). The same reporter reporting the same transfer again gets its
// first report back (created false).
func (e *Engine) Report(ctx context.Context, reporter, transferID, reason, detail string) (Report, bool, error) {
	if !slices.Contains(ReportReasons, reason) {
		return Report{}, false, fmt.Errorf("%w: reason must be scam, account-takeover, mule or other", ErrInvalid)
	}
	if !validText(detail, DetailMax) {
		return Report{}, false, fmt.Errorf("%w: detail must be at most %d bytes of printable UTF-8", ErrInvalid, DetailMax)
	}
	tr, err := e.transfers()
	if err != nil {
		return Report{}, false, err
	}
	t, err := tr.Get(ctx, transfer.Viewer{Participant: reporter}, transferID)
	if errors.Is(err, transfer.ErrNotFound) {
		return Report{}, false, fmt.Errorf("transfer %q: %w", transferID, ErrNotFound)
	} else if err != nil {
		return Report{}, false, err
	}
	if t.State != transfer.Committed {
		return Report{}, false, fmt.Errorf("transfer %s is %s: %w", transferID, t.State, ErrNotCommitted)
	}
	e.mu.Lock() // one report of a transfer by a reporter at a time
	defer e.mu.Unlock()
	if r, err := e.report(ctx, transferID, reporter); err == nil {
		return r, false, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Report{}, false, fmt.Errorf("fraud report: %w", err)
	}
	r := Report{TransferID: transferID, Reporter: reporter, Alias: aliasOf(t.Payee.Type, t.Payee.Value), Reason: reason,
		Detail: detail, Status: StatusOpen, CreatedAt: e.now().UTC()}
	if err := e.mark(ctx, purpose.FraudReport, transferID, encodeMeta("report", transferID, reporter, r.Alias, reason, digest(detail))); err != nil {
		return Report{}, false, err
	}
	if err := e.db.QueryRowContext(ctx, `INSERT INTO fraud_reports (transfer_id, reporter, alias, reason, detail, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`,
		r.TransferID, r.Reporter, r.Alias, r.Reason, r.Detail, r.Status, r.CreatedAt.UnixNano()).Scan(&r.ID); err != nil {
		return Report{}, false, fmt.Errorf("fraud report: %w", err)
	}
	e.marks.add(r.Alias, r.CreatedAt.UnixNano())
	return r, true, nil
}

// report returns reporter's report of transferID, or sql.ErrNoRows.
func (e *Engine) report(ctx context.Context, transferID, reporter string) (Report, error) {
	var r Report
	var at int64
	err := e.db.QueryRowContext(ctx, `SELECT seq, transfer_id, reporter, alias, reason, detail, status, created_at FROM fraud_reports
		WHERE transfer_id = $1 AND reporter = $2`, transferID, reporter).Scan(&r.ID, &r.TransferID, &r.Reporter, &r.Alias,
		&r.Reason, &r.Detail, &r.Status, &at)
	r.CreatedAt = time.Unix(0, at).UTC()
	return r, err
}

// FraudMarks returns the open fraud reports against an alias younger
// than the TTL.
func (e *Engine) FraudMarks(typ, value string) int {
	if e.marks.empty() {
		return 0
	}
	return e.marks.count(aliasOf(typ, value), e.now())
}

// Prune forgets the fraud reports older than the TTL; the switch calls
// it now and then.
func (e *Engine) Prune() { e.marks.prune(e.now().Add(-e.cfg.FraudMarkTTL).UnixNano()) }
