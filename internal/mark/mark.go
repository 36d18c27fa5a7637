// Package mark records events that move no money — a payment request
// made, a mandate approved, a dispute opened — as ledger marks: each
// takes its place in the ledger's one order and becomes a leaf of the
// audit log, in the same durable write as the payments around it. A
// mark's id is derived from what it records, so that recording the same
// event again is recognised, and its Ref from the event's content, so
// that another event under the same id is refused.
package mark

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// Submitter is the ledger's writer: the journal.
type Submitter interface {
	Submit(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, error)
}

// ErrConflict means a mark of the same id records other content.
var ErrConflict = fault.New(fault.Conflict, "duplicate-conflict", "the id was used for different content")

// version is the first byte of a mark's Meta.
const version = 1

// Mark is one event to record.
type Mark struct {
	// Purpose is the event's purpose (internal/purpose).
	Purpose uint16
	// Currency is the mark's currency, which means nothing for it but is
	// every ledger event's.
	Currency money.Currency
	// Key names the event uniquely within its purpose (e.g. "created",
	// request id): the mark's id is derived from it.
	Key []string
	// Fields are the event's content, in Meta (docs/formats.md); the
	// mark's Ref is their digest.
	Fields []string
}

// ID is the mark's ledger id.
func (m *Mark) ID() ledger.ID { return digest("hulian/mark/v1", m.Purpose, m.Key) }

// Meta is the mark's Meta: the version byte, then each field as uvarint
// length and bytes.
func (m *Mark) Meta() string {
	b := make([]byte, 0, 128)
	b = append(b, version)
	for _, f := range m.Fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return string(b)
}

// Command is the mark as a ledger command, to submit alone or linked
// with others.
func (m *Mark) Command() ledger.Command {
	return ledger.Command{Kind: ledger.KindMark, ID: m.ID(), Ref: digest("hulian/mark-content/v1", m.Purpose, m.Fields),
		Currency: m.Currency, Purpose: m.Purpose, Meta: m.Meta()}
}

// Record submits the mark: created is false when the same mark was
// recorded before, ErrConflict when another was under its id.
func Record(ctx context.Context, s Submitter, m Mark) (created bool, err error) {
	cmd := m.Command()
	if len(cmd.Meta) > ledger.MetaMax {
		return false, fmt.Errorf("mark: %d bytes of content, at most %d", len(cmd.Meta), ledger.MetaMax)
	}
	res, err := s.Submit(ctx, []ledger.Command{cmd})
	if err != nil {
		return false, fmt.Errorf("mark: %w", err)
	}
	switch st := res[0].Status; st {
	case ledger.StatusOK:
		return true, nil
	case ledger.StatusExists:
		return false, nil
	case ledger.StatusExistsDifferent:
		return false, ErrConflict
	default:
		return false, fmt.Errorf("mark: %w", st.Err())
	}
}

// Decode splits a mark's Meta into its fields; ok is false if it is not
// one.
func Decode(meta string) (fields []string, ok bool) {
	b := []byte(meta)
	if len(b) == 0 || b[0] != version {
		return nil, false
	}
	b = b[1:]
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, false
		}
		fields = append(fields, string(b[k:k+int(n)]))
		b = b[k+int(n):]
	}
	return fields, true
}

func digest(ns string, p uint16, parts []string) ledger.ID {
	b := append([]byte(ns), byte(p>>8), byte(p))
	for _, s := range parts {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	sum := sha256.Sum256(b)
	return ledger.ID(sum[:len(ledger.ID{})])
}
