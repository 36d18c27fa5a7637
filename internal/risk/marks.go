package risk

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/sqldb"
)

// markVersion is the first byte of a risk mark's Meta.
const markVersion = 1

// encodeMeta is the Meta of a risk control mark (docs/formats.md, "Risk
// control marks"): the version byte, then each field as uvarint length
// and bytes.
func encodeMeta(fields ...string) string {
	b := make([]byte, 0, 128)
	b = append(b, markVersion)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return string(b)
}

// mark submits a ledger mark of purpose p with meta; subject names what
// changed, for the mark's id, which the time makes unique.
func (e *Engine) mark(ctx context.Context, p uint16, subject, meta string) error {
	if len(meta) > ledger.MetaMax {
		return fmt.Errorf("%w: the change is too large to record", ErrInvalid)
	}
	b := []byte("hulian/risk-mark/v1")
	b = binary.BigEndian.AppendUint16(b, p)
	b = binary.AppendUvarint(b, uint64(len(subject)))
	b = append(b, subject...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.now().UnixNano()))
	b = append(b, meta...)
	sum := sha256.Sum256(b)
	var id ledger.ID
	copy(id[:], sum[:])
	res, err := e.ledger.Submit(ctx, []ledger.Command{{Kind: ledger.KindMark, ID: id, Currency: e.cfg.MarkCurrency, Purpose: p, Meta: meta}})
	if err != nil {
		return fmt.Errorf("risk: record the change: %w", err)
	}
	if err := res[0].Status.Err(); err != nil {
		return fmt.Errorf("risk: record the change: %w", err)
	}
	return nil
}

// marks counts the open fraud reports against each payee alias that are
// younger than the TTL: what screening and lookups show as fraudMarks.
type marks struct {
	mu      sync.RWMutex
	byAlias map[string][]int64 // report times, unix ns, ascending
	// n counts the reports held; atomic, so that lookups, which ask for
	// every alias and almost always find no report at all, take no lock.
	n   atomic.Int64
	ttl time.Duration
}

// marksMax bounds the reports held in memory. Reports beyond it are
// stored but not counted until Prune, hourly, makes room by forgetting
// the expired ones: each report needs a committed payment of its
// reporter's, so a million open ones is far beyond honest use.
const marksMax = 1 << 20

func loadMarks(ctx context.Context, db *sqldb.DB, now time.Time, ttl time.Duration) (*marks, error) {
	m := &marks{byAlias: map[string][]int64{}, ttl: ttl}
	since := now.Add(-ttl)
	rows, err := db.QueryContext(ctx, `SELECT alias, created_at FROM fraud_reports WHERE status = 'open' AND created_at > $1
		ORDER BY created_at`, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("risk: load fraud reports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var alias string
		var at int64
		if err := rows.Scan(&alias, &at); err != nil {
			return nil, fmt.Errorf("risk: load fraud reports: %w", err)
		}
		m.add(alias, at)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("risk: load fraud reports: %w", err)
	}
	return m, nil
}

// add counts a report at time at (unix ns) against alias.
func (m *marks) add(alias string, at int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n.Load() >= marksMax {
		return
	}
	ts := m.byAlias[alias]
	i := len(ts)
	for i > 0 && ts[i-1] > at {
		i--
	}
	ts = append(ts, 0)
	copy(ts[i+1:], ts[i:])
	ts[i] = at
	m.byAlias[alias] = ts
	m.n.Add(1)
}

// empty reports whether there is no report at all: the usual case,
// which lookups check without building the alias's key.
func (m *marks) empty() bool { return m.n.Load() == 0 }

// count returns the reports against alias younger than ttl at now.
func (m *marks) count(alias string, now time.Time) int {
	return m.countSince(alias, now.UnixNano()-int64(m.ttl))
}

func (m *marks) countSince(alias string, from int64) int {
	if m.empty() {
		return 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	ts := m.byAlias[alias]
	n := 0
	for i := len(ts) - 1; i >= 0 && ts[i] > from; i-- {
		n++
	}
	return n
}

// prune forgets the reports older than from.
func (m *marks) prune(from int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for alias, ts := range m.byAlias {
		k := 0
		for k < len(ts) && ts[k] <= from {
			k++
		}
		if k == len(ts) {
			delete(m.byAlias, alias)
		} else if k > 0 {
			m.byAlias[alias] = append(ts[:0:0], ts[k:]...)
		}
		m.n.Add(int64(-k))
	}
}
