// Package rtp owns requests to pay: a payee participant asks the
// participant of a payer alias to pay an amount before a time (a bill,
// a split, a collect request as UPI has them). The payer's participant,
// once its user agrees, accepts it with a transfer id, and the request
// is paid by an ordinary payment through the transfer flow — screened,
// fee'd and settled like any other — to the requesting participant's
// account named by the request (payee type ACCOUNT, value
// "<payee>/<request id>"); or it declines it; or it expires.
//
// Every step is a ledger mark (internal/mark), so that requests take
// their place in the ledger's order and in the audit log; the request's
// row and the callback announcing it (internal/notice) are written in
// one database transaction after it. A request being paid is ACCEPTING
// until its payment's outcome is known: a crash in between is settled
// the next time the request is read, accepted again or swept.
package rtp

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/keylock"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/transfer"
)

// State is where a request stands.
type State string

// The states.
const (
	Pending   State = "PENDING"
	Accepting State = "ACCEPTING" // its payment is being made
	Paid      State = "PAID"
	Declined  State = "DECLINED"
	Expired   State = "EXPIRED"
)

// ParseState returns the state named s.
func ParseState(s string) (State, bool) {
	switch st := State(s); st {
	case Pending, Accepting, Paid, Declined, Expired:
		return st, true
	}
	return "", false
}

// Request is a request to pay.
type Request struct {
	ID string
	// Payee is the requesting participant, which the payment credits.
	Payee string
	// PayerType and PayerValue are the payer's alias (normalized); Payer
	// its participant, asked to pay.
	PayerType, PayerValue string
	Payer                 string
	Amount                money.Amount
	Currency              money.Currency
	Message               string
	ExpiresAt             time.Time
	State                 State
	// TransferID is the payment's id, once accepted.
	TransferID string
	// Reason says why it was declined, or why its last payment failed.
	Reason               string
	CreatedAt, UpdatedAt time.Time
}

// New is a payee participant's request.
type New struct {
	ID                    string
	PayerType, PayerValue string
	Amount                money.Amount
	Currency              money.Currency
	Message               string
	ExpiresAt             time.Time
}

// Limits.
const (
	// MessageMax bounds a request's message, in characters.
	MessageMax = 140
	// ReasonMax bounds a decline's reason, in characters.
	ReasonMax = 140
	// ExpiryMax is the farthest expiry a request may have.
	ExpiryMax = 30 * 24 * time.Hour
	// PendingPerPayer bounds the requests pending for one payer alias:
	// more is a requester spamming a user.
	PendingPerPayer = 20
	// PendingPerRequester bounds one requester's share of them, so that
	// one cannot fill a user's 20 and shut every other biller out.
	PendingPerRequester = 10
	// ListMax is the largest page List returns.
	ListMax = 1000
)

// Errors.
var (
	// ErrInvalid means a malformed request.
	ErrInvalid = fault.New(fault.Invalid, "", "invalid payment request")
	// ErrNotFound means no such request, or none the caller may see.
	ErrNotFound = fault.New(fault.NotFound, "", "payment request not found")
	// ErrForbidden means the caller sees the request but may not act on
	// it so: the payee accepting its own request.
	ErrForbidden = fault.New(fault.Forbidden, "", "only the payer's participant accepts or declines a payment request")
	// ErrConflict means the id was used for another request.
	ErrConflict = fault.New(fault.Conflict, "duplicate-conflict", "the id was used for another payment request")
	// ErrNotPending means the request was paid, declined or expired, or
	// is being paid with another transfer.
	ErrNotPending = fault.New(fault.Conflict, "payment-request-not-pending", "the payment request is not pending")
	// ErrExpired means the request expired before it was accepted.
	ErrExpired = fault.New(fault.Refused, "payment-request-expired", "the payment request has expired")
	// ErrAborted means the request's payment was aborted (its payee, in
	// confirm mode, refused it, or did not answer): it is pending again.
	ErrAborted = fault.New(fault.Refused, "payment-aborted", "the payment was aborted: the request is pending again")
	// ErrTooMany means the payer alias has PendingPerPayer requests
	// pending already.
	ErrTooMany = fault.New(fault.Conflict, "payment-request-limit", "too many payment requests pending for this payer")
)

// Payments is what requests need of the payment flow.
type Payments interface {
	Create(ctx context.Context, payer participant.Participant, req transfer.Request) (transfer.Transfer, bool, error)
	Get(ctx context.Context, v transfer.Viewer, id string) (transfer.Transfer, error)
}

// Directory finds the payer alias's participant.
type Directory interface {
	Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error)
}

// Participants is the participant registry.
type Participants interface {
	Get(id string) (participant.Participant, bool)
}

// Outbox takes the callbacks announcing requests (notice.Outbox).
type Outbox interface {
	Add(ctx context.Context, tx *sql.Tx, participant, event string, body []byte) error
	Raised(participant string)
}

// Service keeps requests to pay.
type Service struct {
	DB           *sqldb.DB
	Ledger       mark.Submitter
	Payments     Payments
	Directory    Directory
	Participants Participants
	Notices      Outbox
	// Render makes the callback document of an event about r.
	Render func(event string, r *Request) ([]byte, error)
	// Screener, when set, screens each request as the payment it asks
	// for, before the payer is asked: a decline refuses the request (its
	// payment is screened again when accepted).
	Screener transfer.Screener
	// Region is the directory's default region, for phone numbers.
	Region string
	Now    func() time.Time
}

// The callback events.
const (
	EventCreated  = "payment-request.created"
	EventPaid     = "payment-request.paid"
	EventDeclined = "payment-request.declined"
	EventExpired  = "payment-request.expired"
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Create records payee's request, and asks the payer alias's
// participant with a payment-request.created callback. The same request
// again answers the first (created false).
func (s *Service) Create(ctx context.Context, payee participant.Participant, n New) (Request, bool, error) {
	now := s.now()
	switch {
	case !transfer.ValidID(n.ID):
		return Request{}, false, fmt.Errorf("%w: id must be 1-%d characters of letters, digits and . _ : -", ErrInvalid, transfer.IDMax)
	case n.Amount <= 0:
		return Request{}, false, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case !validText(n.Message, MessageMax, true):
		return Request{}, false, fmt.Errorf("%w: message must be at most %d characters of printable text", ErrInvalid, MessageMax)
	case !n.ExpiresAt.After(now) || n.ExpiresAt.Sub(now) > ExpiryMax:
		return Request{}, false, fmt.Errorf("%w: expiresAt must be in the next %d days", ErrInvalid, int(ExpiryMax/(24*time.Hour)))
	case payee.Status != participant.Active:
		return Request{}, false, fmt.Errorf("participant %s: %w", payee.ID, transfer.ErrSuspended)
	case !payee.Uses(n.Currency):
		return Request{}, false, fmt.Errorf("%s is not enabled for %s: %w", payee.ID, n.Currency, transfer.ErrCurrency)
	}
	typ, err := directory.ParseType(n.PayerType)
	if err != nil {
		return Request{}, false, fmt.Errorf("%w: payer type: %v", ErrInvalid, err)
	}
	region := s.Region
	if region == "" {
		region = directory.DefaultRegion
	}
	value, err := directory.LookupKey(typ, n.PayerValue, region)
	if err != nil {
		return Request{}, false, fmt.Errorf("%w: payer value: %v", ErrInvalid, err)
	}
	// The same request again: answered before the payer's situation is
	// looked at, as a retry must get what the first got.
	if r, err := s.load(ctx, s.DB, n.ID); err == nil {
		if r.Payee != payee.ID || r.PayerType != string(typ) || r.PayerValue != value || r.Amount != n.Amount ||
			r.Currency != n.Currency || r.Message != n.Message || !r.ExpiresAt.Equal(n.ExpiresAt.UTC().Round(0)) {
			return Request{}, false, fmt.Errorf("payment request %s: %w", n.ID, ErrConflict)
		}
		return r, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Request{}, false, err
	}
	party, err := s.Directory.Lookup(ctx, typ, value)
	if errors.Is(err, directory.ErrNotFound) {
		return Request{}, false, fmt.Errorf("payer %s %s: %w", typ, value, transfer.ErrUnknownParty)
	} else if err != nil {
		return Request{}, false, fmt.Errorf("payer %s %s: %w", typ, value, err)
	}
	payer, ok := s.Participants.Get(party.Participant)
	switch {
	case !ok:
		return Request{}, false, fmt.Errorf("payer %s %s: %w", typ, value, transfer.ErrUnknownParty)
	case payer.ID == payee.ID:
		return Request{}, false, fmt.Errorf("payer %s %s: %w", typ, value, transfer.ErrSameParticipant)
	case payer.Status != participant.Active:
		return Request{}, false, fmt.Errorf("payer participant %s: %w", payer.ID, transfer.ErrSuspended)
	case !payer.Uses(n.Currency) || party.Currency != n.Currency:
		return Request{}, false, fmt.Errorf("payer %s %s does not pay in %s: %w", typ, value, n.Currency, transfer.ErrCurrency)
	}
	// The count and the insert below under one lock per alias, so that
	// racing requests cannot pass the bounds together.
	defer aliasLocks.Lock(string(typ) + ":" + value)()
	var pending, mine int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN payee = $3 THEN 1 ELSE 0 END), 0)
		FROM payment_requests WHERE payer_type = $1 AND payer_value = $2 AND state IN ('PENDING', 'ACCEPTING')`,
		string(typ), value, payee.ID).Scan(&pending, &mine); err != nil {
		return Request{}, false, fmt.Errorf("payment request %s: %w", n.ID, err)
	}
	if pending >= PendingPerPayer || mine >= PendingPerRequester {
		return Request{}, false, fmt.Errorf("payer %s %s: %d pending, %d of them from %s: %w", typ, value, pending, mine, payee.ID, ErrTooMany)
	}
	if s.Screener != nil {
		sc := transfer.Screening{ID: "payment-request/" + n.ID, Payer: &payer, Payee: &payee, PayeeType: transfer.AccountType,
			PayeeValue: transfer.AccountPayee(payee.ID, n.ID), PayeeAccount: n.ID, Amount: n.Amount, Currency: n.Currency,
			Note: n.Message, At: now, Prospective: true}
		if _, err := s.Screener.Screen(ctx, &sc); err != nil {
			return Request{}, false, err
		}
	}
	r := Request{ID: n.ID, Payee: payee.ID, PayerType: string(typ), PayerValue: value, Payer: payer.ID, Amount: n.Amount,
		Currency: n.Currency, Message: n.Message, ExpiresAt: n.ExpiresAt.UTC().Round(0), State: Pending,
		CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	sum := sha256.Sum256([]byte(r.Message))
	if _, err := mark.Record(ctx, s.Ledger, mark.Mark{Purpose: purpose.PaymentRequest, Currency: r.Currency,
		Key: []string{"created", r.ID},
		Fields: []string{"created", r.ID, r.Payee, r.PayerType, r.PayerValue, r.Payer, strconv.FormatInt(int64(r.Amount), 10),
			r.Currency.String(), hex.EncodeToString(sum[:]), strconv.FormatInt(r.ExpiresAt.UnixNano(), 10)},
	}); errors.Is(err, mark.ErrConflict) {
		return Request{}, false, fmt.Errorf("payment request %s: %w", r.ID, ErrConflict)
	} else if err != nil {
		return Request{}, false, fmt.Errorf("payment request %s: %w", r.ID, err)
	}
	err = s.DB.Transact(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO payment_requests (id, payee, payer_type, payer_value, payer, amount, currency,
			message, expires_at, state, transfer_id, reason, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', '', $11, $11)`,
			r.ID, r.Payee, r.PayerType, r.PayerValue, r.Payer, int64(r.Amount), r.Currency.String(), r.Message,
			r.ExpiresAt.UnixNano(), string(r.State), r.CreatedAt.UnixNano()); err != nil {
			return err
		}
		return s.notify(ctx, tx, r.Payer, EventCreated, &r)
	})
	if sqldb.IsUniqueViolation(err) {
		// A concurrent request of the same id won: answer as a retry.
		return s.Create(ctx, payee, n)
	} else if err != nil {
		return Request{}, false, fmt.Errorf("payment request %s: %w", r.ID, err)
	}
	s.Notices.Raised(r.Payer)
	return r, true, nil
}

// Get returns request id as viewer (a participant id, or "" for the
// operator and the regulator) may see it: its payee and payer only.
func (s *Service) Get(ctx context.Context, viewer, id string) (Request, error) {
	r, err := s.load(ctx, s.DB, id)
	if err != nil {
		return Request{}, err
	}
	if viewer != "" && viewer != r.Payee && viewer != r.Payer {
		return Request{}, fmt.Errorf("payment request %s: %w", id, ErrNotFound)
	}
	if r.State == Accepting || r.State == Pending && !s.now().Before(r.ExpiresAt) {
		defer lock(id)()
		return s.settle(ctx, id)
	}
	return r, nil
}

// Accept pays request id from payer, the payer alias's participant,
// with a transfer of id transferID: a payment of exactly the requested
// amount to the requester. The request is PAID when the payment
// commits; a payment refused or aborted leaves it PENDING, with the
// reason, for another try; one held for review leaves it ACCEPTING. The
// same acceptance again answers the request as it stands.
func (s *Service) Accept(ctx context.Context, payer participant.Participant, id, transferID string) (Request, error) {
	if !transfer.ValidID(transferID) || transfer.ReservedID(transferID) {
		return Request{}, fmt.Errorf("%w: transferId must be 1-%d characters of letters, digits and . _ : -, not beginning %q",
			ErrInvalid, transfer.IDMax, transfer.SwitchPrefixes)
	}
	defer lock(id)()
	r, err := s.actor(ctx, payer.ID, id)
	if err != nil {
		return Request{}, err
	}
	switch {
	case (r.State == Paid || r.State == Accepting) && r.TransferID == transferID:
		return r, nil
	case r.State == Expired:
		return r, fmt.Errorf("payment request %s: %w", id, ErrExpired)
	case r.State != Pending:
		return r, fmt.Errorf("payment request %s is %s: %w", id, r.State, ErrNotPending)
	}
	now := s.now().UTC()
	if _, err := s.DB.ExecContext(ctx, `UPDATE payment_requests SET state = $1, transfer_id = $2, reason = '', updated_at = $3
		WHERE id = $4 AND state = $5`, string(Accepting), transferID, now.UnixNano(), id, string(Pending)); err != nil {
		return Request{}, fmt.Errorf("payment request %s: %w", id, err)
	}
	r.State, r.TransferID = Accepting, transferID
	t, _, err := s.Payments.Create(ctx, payer, transfer.Request{ID: transferID, PayeeType: transfer.AccountType,
		PayeeValue: transfer.AccountPayee(r.Payee, r.ID), Amount: r.Amount, Currency: r.Currency, Note: r.Message})
	if err != nil {
		// Refused: nothing moved, and the id was not used for it.
		if _, uerr := s.DB.ExecContext(ctx, `UPDATE payment_requests SET state = $1, transfer_id = '', reason = $2, updated_at = $3
			WHERE id = $4 AND state = $5`, string(Pending), clip(err.Error(), ReasonMax), now.UnixNano(), id, string(Accepting)); uerr != nil {
			return Request{}, fmt.Errorf("payment request %s: %w", id, uerr)
		}
		return Request{}, err
	}
	r, err = s.outcome(ctx, r, &t)
	if err == nil && r.State == Pending {
		err = fmt.Errorf("payment request %s: the payment %s was aborted (%s): %w", id, t.ID, t.Reason, ErrAborted)
	}
	return r, err
}

// Decline declines request id for payer, with a reason the requester
// is told.
func (s *Service) Decline(ctx context.Context, payer participant.Participant, id, reason string) (Request, error) {
	if !validText(reason, ReasonMax, true) {
		return Request{}, fmt.Errorf("%w: reason must be at most %d characters of printable text", ErrInvalid, ReasonMax)
	}
	defer lock(id)()
	r, err := s.actor(ctx, payer.ID, id)
	if err != nil {
		return Request{}, err
	}
	switch {
	case r.State == Declined:
		return r, nil
	case r.State == Expired:
		return r, fmt.Errorf("payment request %s: %w", id, ErrExpired)
	case r.State != Pending:
		return r, fmt.Errorf("payment request %s is %s: %w", id, r.State, ErrNotPending)
	}
	return s.finish(ctx, r, Declined, reason, EventDeclined)
}

// actor loads request id for its payer participant to act on, settled.
func (s *Service) actor(ctx context.Context, payer, id string) (Request, error) {
	r, err := s.settle(ctx, id)
	switch {
	case err != nil:
		return Request{}, err
	case r.Payee == payer:
		return Request{}, fmt.Errorf("payment request %s: %w", id, ErrForbidden)
	case r.Payer != payer:
		return Request{}, fmt.Errorf("payment request %s: %w", id, ErrNotFound)
	}
	return r, nil
}

// settle loads request id and brings it up to date, under its lock: an
// ACCEPTING request takes its payment's outcome, a PENDING one past its
// expiry expires.
func (s *Service) settle(ctx context.Context, id string) (Request, error) {
	r, err := s.load(ctx, s.DB, id)
	if err != nil {
		return Request{}, err
	}
	switch {
	case r.State == Accepting:
		t, err := s.Payments.Get(ctx, transfer.Viewer{}, r.TransferID)
		if errors.Is(err, transfer.ErrNotFound) {
			// The switch stopped before the payment was made.
			_, err = s.DB.ExecContext(ctx, `UPDATE payment_requests SET state = $1, transfer_id = '', updated_at = $2
				WHERE id = $3 AND state = $4`, string(Pending), s.now().UnixNano(), id, string(Accepting))
			if err != nil {
				return Request{}, fmt.Errorf("payment request %s: %w", id, err)
			}
			return s.settle(ctx, id)
		} else if err != nil {
			return Request{}, err
		}
		return s.outcome(ctx, r, &t)
	case r.State == Pending && !s.now().Before(r.ExpiresAt):
		return s.finish(ctx, r, Expired, "", EventExpired)
	}
	return r, nil
}

// outcome applies the state of the request's payment t to r: PAID when
// committed, PENDING again when aborted, ACCEPTING meanwhile.
func (s *Service) outcome(ctx context.Context, r Request, t *transfer.Transfer) (Request, error) {
	switch t.State {
	case transfer.Committed:
		return s.finish(ctx, r, Paid, "", EventPaid)
	case transfer.Aborted:
		r.State, r.TransferID, r.Reason, r.UpdatedAt = Pending, "", clip("payment "+t.ID+" aborted: "+t.Reason, ReasonMax), s.now().UTC()
		if _, err := s.DB.ExecContext(ctx, `UPDATE payment_requests SET state = $1, transfer_id = '', reason = $2, updated_at = $3
			WHERE id = $4 AND state = $5`, string(Pending), r.Reason, r.UpdatedAt.UnixNano(), r.ID, string(Accepting)); err != nil {
			return Request{}, fmt.Errorf("payment request %s: %w", r.ID, err)
		}
		if !s.now().Before(r.ExpiresAt) {
			return s.finish(ctx, r, Expired, "", EventExpired)
		}
	}
	return r, nil
}

// finish records r's final state — its mark, then its row and the
// payee's callback in one transaction.
func (s *Service) finish(ctx context.Context, r Request, st State, reason, event string) (Request, error) {
	word := strings.ToLower(string(st))
	fields := []string{word, r.ID}
	switch st {
	case Paid:
		fields = append(fields, r.TransferID)
	case Declined:
		fields = append(fields, reason)
	}
	if _, err := mark.Record(ctx, s.Ledger, mark.Mark{Purpose: purpose.PaymentRequest, Currency: r.Currency,
		Key: []string{word, r.ID}, Fields: fields}); err != nil && !errors.Is(err, mark.ErrConflict) {
		return Request{}, fmt.Errorf("payment request %s: %w", r.ID, err)
	}
	from := r.State
	r.State, r.UpdatedAt = st, s.now().UTC()
	if st == Declined || st == Expired {
		r.Reason = reason
	}
	err := s.DB.Transact(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payment_requests SET state = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state = $5`,
			string(st), r.Reason, r.UpdatedAt.UnixNano(), r.ID, string(from))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // moved on meanwhile: no second notice
		}
		return s.notify(ctx, tx, r.Payee, event, &r)
	})
	if err != nil {
		return Request{}, fmt.Errorf("payment request %s: %w", r.ID, err)
	}
	s.Notices.Raised(r.Payee)
	return s.load(ctx, s.DB, r.ID)
}

// notify adds the callback of event about r to participant, in tx.
func (s *Service) notify(ctx context.Context, tx *sql.Tx, to, event string, r *Request) error {
	body, err := s.Render(event, r)
	if err != nil {
		return err
	}
	return s.Notices.Add(ctx, tx, to, event, body)
}

// Sweep expires the pending requests past their expiry and settles
// those left ACCEPTING for over a minute (a crash, or a payment held for
// review), at most limit of each; it returns how many it looked at.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	now := s.now()
	var ids []string
	for _, q := range []struct {
		state State
		at    int64
		col   string
	}{{Pending, now.UnixNano(), "expires_at"}, {Accepting, now.Add(-time.Minute).UnixNano(), "updated_at"}} {
		rows, err := s.DB.QueryContext(ctx, `SELECT id FROM payment_requests WHERE state = $1 AND `+q.col+` <= $2 ORDER BY `+q.col+` LIMIT $3`,
			string(q.state), q.at, limit)
		if err != nil {
			return 0, fmt.Errorf("payment requests: sweep: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, fmt.Errorf("payment requests: sweep: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("payment requests: sweep: %w", err)
		}
	}
	for _, id := range ids {
		unlock := lock(id)
		_, err := s.settle(ctx, id)
		unlock()
		if err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Filter selects requests to list.
type Filter struct {
	// Participant, when set, lists its requests as Role says: as the
	// payer, or as the payee. Empty lists everyone's (the operator).
	Participant string
	Role        string // "payer" or "payee"
	State       State  // empty for every state
	// After continues a listing: the Cursor of the last request seen.
	After string
	Limit int
}

// Cursor returns the listing position after r.
func (r *Request) Cursor() string {
	return sqldb.PageCursor(r.CreatedAt, r.ID)
}

// List returns requests as f asks, oldest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Request, error) {
	eqs, ok := sqldb.RoleEq(f.Participant, f.Role, "payee")
	switch {
	case f.Limit <= 0 || f.Limit > ListMax:
		return nil, fmt.Errorf("%w: limit must be 1 to %d", ErrInvalid, ListMax)
	case !ok:
		return nil, fmt.Errorf("%w: role must be payer or payee", ErrInvalid)
	case f.State != "":
		eqs = append(eqs, sqldb.Eq{Column: "state", Value: string(f.State)})
	}
	out, err := sqldb.List(ctx, s.DB, `SELECT `+columns+` FROM payment_requests`, f.After, eqs, f.Limit, scan)
	if err != nil {
		return nil, fmt.Errorf("payment requests: %w", err)
	}
	return out, nil
}

const columns = `id, payee, payer_type, payer_value, payer, amount, currency, message, expires_at, state, transfer_id, reason,
	created_at, updated_at`

// querier is a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Service) load(ctx context.Context, db querier, id string) (Request, error) {
	r, err := scan(db.QueryRowContext(ctx, `SELECT `+columns+` FROM payment_requests WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fmt.Errorf("payment request %.140q: %w", id, ErrNotFound)
	} else if err != nil {
		return Request{}, fmt.Errorf("payment request %s: %w", id, err)
	}
	return r, nil
}

func scan(row sqldb.Row) (Request, error) {
	var r Request
	var amount, expires, created, updated int64
	var cur, st string
	if err := row.Scan(&r.ID, &r.Payee, &r.PayerType, &r.PayerValue, &r.Payer, &amount, &cur, &r.Message, &expires, &st,
		&r.TransferID, &r.Reason, &created, &updated); err != nil {
		return Request{}, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return Request{}, err
	}
	r.Amount, r.Currency, r.State = money.Amount(amount), c, State(st)
	r.ExpiresAt, r.CreatedAt, r.UpdatedAt = time.Unix(0, expires).UTC(), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return r, nil
}

// validText reports whether s is at most max characters of printable
// UTF-8 (empty allowed when empty is).
func validText(s string, max int, empty bool) bool {
	if s == "" {
		return empty
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// locks order what is done to one request: its payment may wait for a
// confirm-mode payee, so they are not shared.
var locks keylock.Locks

// aliasLocks order the creation of requests to one payer alias.
var aliasLocks keylock.Locks

func lock(id string) func() { return locks.Lock(id) }
