package fspiop

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/sqldb"
)

// The states of a payment as the front end last told its participants,
// in FSPIOP's words.
const (
	stateReserved  = "RESERVED"
	stateCommitted = "COMMITTED"
	stateAborted   = "ABORTED"
)

// payment is what the front end keeps of an FSPIOP payment beyond the
// ledger (table fspiop_transfers).
type payment struct {
	ID         string // the FSPIOP transferId
	TransferID string // the switch's transfer id
	Payer      string
	Payee      string
	Digest     []byte // of the request that created it
	Condition  string
	Expires    time.Time
	State      string
	Fulfilment string
	Completed  time.Time
	// Patch says the payee fulfilled in state RESERVED and is told of the
	// commit by a PATCH.
	Patch bool
}

// store keeps payments and the quotes the switch answered. Its writes
// go through one writer that commits what queued up meanwhile in one
// transaction (group commit): a payment writes its row two or three
// times, each durable before the payment goes on, and one fsync per
// write would bound the front end at what the disk syncs a second.
type store struct {
	db     *sqldb.DB
	writes chan *write
	// mu guards running against the writer stopping between a check and
	// a send: writes are queued under its read lock.
	mu      sync.RWMutex
	running bool
	// inflight caches the payments still RESERVED that this process stored
	// or read, by FSPIOP id: their callbacks then read no row. A copy;
	// the table stays the truth after a restart.
	openMu   sync.Mutex
	inflight map[string]payment
}

// openMax bounds the payments inflight caches; beyond it they are read from
// the table.
const openMax = 1 << 20

func (s *store) cache(p *payment) {
	s.openMu.Lock()
	if p.State == stateReserved && len(s.inflight) < openMax {
		s.inflight[p.ID] = *p
	} else {
		delete(s.inflight, p.ID)
	}
	s.openMu.Unlock()
}

func (s *store) cached(id string) (payment, bool) {
	s.openMu.Lock()
	p, ok := s.inflight[id]
	s.openMu.Unlock()
	return p, ok
}

func (s *store) uncache(id string) {
	s.openMu.Lock()
	delete(s.inflight, id)
	s.openMu.Unlock()
}

// write is one statement waiting for the writer: done gets the rows it
// affected, or the batch's error.
type write struct {
	query string
	args  []any
	n     int64
	done  chan error
}

// writeBatchMax bounds the statements of one group commit.
const writeBatchMax = 256

func newStore(db *sqldb.DB) *store {
	return &store{db: db, writes: make(chan *write, 4*writeBatchMax), inflight: map[string]payment{}}
}

// run commits the queued writes until ctx ends.
func (s *store) run(ctx context.Context) {
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	defer s.stop()
	batch := make([]*write, 0, writeBatchMax)
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-s.writes:
			batch = append(batch[:0], w)
		}
	fill:
		for len(batch) < writeBatchMax {
			select {
			case w := <-s.writes:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		err := s.db.Transact(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
			for _, w := range batch {
				res, err := tx.ExecContext(ctx, w.query, w.args...)
				if err != nil {
					return err
				}
				if w.n, err = res.RowsAffected(); err != nil {
					return err
				}
			}
			return nil
		})
		for _, w := range batch {
			w.done <- err
		}
	}
}

// stop ends group commits: what is queued is written one by one, and
// later writes go straight to the database.
func (s *store) stop() {
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
	for {
		select {
		case w := <-s.writes:
			res, err := s.db.ExecContext(context.Background(), w.query, w.args...)
			if err == nil {
				w.n, err = res.RowsAffected()
			}
			w.done <- err
		default:
			return
		}
	}
}

// exec runs a write durably and returns the rows it affected: through
// the writer when it runs, on its own otherwise (a front end built but
// not served, as in tests of its handlers).
func (s *store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	w := &write{query: query, args: args, done: make(chan error, 1)}
	s.mu.RLock()
	if !s.running {
		s.mu.RUnlock()
		res, err := s.db.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	select {
	case s.writes <- w:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return 0, ctx.Err()
	}
	select {
	case err := <-w.done:
		return w.n, err
	case <-ctx.Done():
		// The write may still commit: callers treat this as unknown.
		return 0, ctx.Err()
	}
}

// errExists means a payment with the id is stored already.
var errExists = errors.New("fspiop: payment exists")

// insert stores a new payment, or errExists.
func (s *store) insert(ctx context.Context, p *payment, now time.Time) error {
	// ON CONFLICT DO NOTHING rather than a unique violation, which would
	// fail the whole group commit it is in.
	n, err := s.exec(ctx, `INSERT INTO fspiop_transfers (id, transfer_id, payer, payee, digest, condition,
		expires, state, fulfilment, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		p.ID, p.TransferID, p.Payer, p.Payee, p.Digest, p.Condition, p.Expires.UnixNano(), p.State, p.Fulfilment, now.UnixNano())
	if err != nil {
		return fmt.Errorf("fspiop: store payment %s: %w", p.ID, err)
	}
	if n == 0 {
		return errExists
	}
	s.cache(p)
	return nil
}

const paymentColumns = `id, transfer_id, payer, payee, digest, condition, expires, state, fulfilment, completed, patch`

func scanPayment(row interface{ Scan(...any) error }) (payment, error) {
	var p payment
	var expires, completed int64
	var patch int
	if err := row.Scan(&p.ID, &p.TransferID, &p.Payer, &p.Payee, &p.Digest, &p.Condition, &expires, &p.State,
		&p.Fulfilment, &completed, &patch); err != nil {
		return payment{}, err
	}
	p.Expires = time.Unix(0, expires).UTC()
	if completed != 0 {
		p.Completed = time.Unix(0, completed).UTC()
	}
	p.Patch = patch != 0
	return p, nil
}

// get returns the payment with FSPIOP id, or false.
func (s *store) get(ctx context.Context, id string) (payment, bool, error) {
	if p, ok := s.cached(id); ok {
		return p, true, nil
	}
	p, err := scanPayment(s.db.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM fspiop_transfers WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return payment{}, false, nil
	}
	if err != nil {
		return payment{}, false, fmt.Errorf("fspiop: read payment %s: %w", id, err)
	}
	return p, true, nil
}

// byTransfer returns the payment of the switch's transfer id, or false.
func (s *store) byTransfer(ctx context.Context, transferID string) (payment, bool, error) {
	p, err := scanPayment(s.db.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM fspiop_transfers WHERE transfer_id = $1`, transferID))
	if errors.Is(err, sql.ErrNoRows) {
		return payment{}, false, nil
	}
	if err != nil {
		return payment{}, false, fmt.Errorf("fspiop: read payment of transfer %s: %w", transferID, err)
	}
	return p, true, nil
}

// finish records that a RESERVED payment ended in state, and reports
// whether this call moved it (false: another one did, or it had ended).
func (s *store) finish(ctx context.Context, id, state, fulfilment string, at time.Time) (bool, error) {
	n, err := s.exec(ctx, `UPDATE fspiop_transfers SET state = $1, fulfilment = $2, completed = $3
		WHERE id = $4 AND state = $5`, state, fulfilment, at.UnixNano(), id, stateReserved)
	if err != nil {
		return false, fmt.Errorf("fspiop: finish payment %s: %w", id, err)
	}
	s.uncache(id)
	return n == 1, nil
}

// setFulfilment records the payee's fulfilment of a RESERVED payment,
// and whether it asked for a PATCH, before the ledger commits: a crash
// in between leaves what the sweeper needs to finish it.
func (s *store) setFulfilment(ctx context.Context, id, fulfilment string, patch bool) error {
	p := 0
	if patch {
		p = 1
	}
	_, err := s.exec(ctx, `UPDATE fspiop_transfers SET fulfilment = $1, patch = $2 WHERE id = $3 AND state = $4`,
		fulfilment, p, id, stateReserved)
	if err != nil {
		return fmt.Errorf("fspiop: record the fulfilment of %s: %w", id, err)
	}
	s.openMu.Lock()
	if c, ok := s.inflight[id]; ok {
		c.Fulfilment, c.Patch = fulfilment, patch
		s.inflight[id] = c
	}
	s.openMu.Unlock()
	return nil
}

// open returns up to limit RESERVED payments whose deadline is before
// until, earliest first.
func (s *store) open(ctx context.Context, until time.Time, limit int) ([]payment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+paymentColumns+` FROM fspiop_transfers
		WHERE state = $1 AND expires < $2 ORDER BY expires LIMIT $3`, stateReserved, until.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("fspiop: open payments: %w", err)
	}
	defer rows.Close()
	var out []payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("fspiop: open payments: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// heldPrepare is a prepare between two FSPIOP participants that risk
// control held: relayed as it came once the operator releases it.
type heldPrepare struct {
	Header  http.Header `json:"header"`
	Body    []byte      `json:"body"`
	Version string      `json:"version"`
}

// hold keeps the prepare of a held payment.
func (s *store) hold(ctx context.Context, id string, h heldPrepare) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, `UPDATE fspiop_transfers SET held = $1 WHERE id = $2`, string(b), id); err != nil {
		return fmt.Errorf("fspiop: keep the held prepare of %s: %w", id, err)
	}
	return nil
}

// held returns the kept prepare of a held payment, or false.
func (s *store) held(ctx context.Context, id string) (heldPrepare, bool, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT held FROM fspiop_transfers WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) || err == nil && raw == "" {
		return heldPrepare{}, false, nil
	}
	if err != nil {
		return heldPrepare{}, false, fmt.Errorf("fspiop: read the held prepare of %s: %w", id, err)
	}
	var h heldPrepare
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return heldPrepare{}, false, fmt.Errorf("fspiop: the held prepare of %s: %w", id, err)
	}
	return h, true, nil
}

// storedQuote is a quote the switch answered as a native payee's agent.
type storedQuote struct {
	ID      string
	Payer   string
	Digest  []byte
	Answer  []byte // the PUT /quotes body
	Native  string // the switch's own quote id, which locks the fee
	Expires time.Time
}

// putQuote stores q, or returns errExists.
func (s *store) putQuote(ctx context.Context, q *storedQuote) error {
	n, err := s.exec(ctx, `INSERT INTO fspiop_quotes (id, payer, digest, answer, native, expires) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`, q.ID, q.Payer, q.Digest, string(q.Answer), q.Native, q.Expires.UnixNano())
	if err != nil {
		return fmt.Errorf("fspiop: store quote %s: %w", q.ID, err)
	}
	if n == 0 {
		return errExists
	}
	return nil
}

// getQuote returns the stored quote id, or false.
func (s *store) getQuote(ctx context.Context, id string) (storedQuote, bool, error) {
	var q storedQuote
	var answer string
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT id, payer, digest, answer, native, expires FROM fspiop_quotes WHERE id = $1`, id).
		Scan(&q.ID, &q.Payer, &q.Digest, &answer, &q.Native, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return storedQuote{}, false, nil
	}
	if err != nil {
		return storedQuote{}, false, fmt.Errorf("fspiop: read quote %s: %w", id, err)
	}
	q.Answer, q.Expires = []byte(answer), time.Unix(0, expires).UTC()
	return q, true, nil
}

// pruneQuotes forgets the quotes that expired before t.
func (s *store) pruneQuotes(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM fspiop_quotes WHERE expires < $1`, t.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("fspiop: prune quotes: %w", err)
	}
	return res.RowsAffected()
}
