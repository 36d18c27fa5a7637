// Package recon owns reconciliation: proving that a participant's
// records of its transfers and the switch's agree, or naming each place
// where they do not (a break).
//
// Both sides are streams of Records in strictly increasing TransferID
// order (byte order), joined by a merge: memory stays bounded whatever
// the size of a day. The switch's side comes sorted from its store; a
// participant's upload comes in any order and is put in order by Sort,
// an external merge sort that spills runs to temporary files. A CSV
// upload is read by CSVReader; any other format (a camt.053 statement)
// becomes a Source through SourceFunc over its parsed entries.
//
// The package does no HTTP and keeps no database; it is wired by the
// front end, which also decides where the breaks go (Break is emitted
// one at a time, so that a million of them never sit in memory either).
package recon

import (
	"errors"
	"fmt"

	"github.com/hulian/hulian/internal/fault"
)

// Direction is the way money moved, from the participant's point of
// view: a payment it sent is a Debit, one it received a Credit.
type Direction uint8

// The directions. The zero value is no direction, so that a record
// nobody filled in is refused rather than read as a debit.
const (
	Debit Direction = iota + 1
	Credit
)

// String returns the direction as the CSV writes it ("debit", "credit").
func (d Direction) String() string {
	switch d {
	case Debit:
		return "debit"
	case Credit:
		return "credit"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// ParseDirection reads "debit" or "credit" (lower case, exactly).
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "debit":
		return Debit, nil
	case "credit":
		return Credit, nil
	}
	return 0, fmt.Errorf("direction %.40q: %w", s, ErrDirection)
}

// Status is a transfer's final state. Reconciliation compares finished
// transfers only; one still pending belongs to a later day's run.
type Status uint8

// The statuses; the zero value is none.
const (
	Committed Status = iota + 1
	Aborted
)

// String returns the status as the CSV writes it ("COMMITTED", "ABORTED").
func (s Status) String() string {
	switch s {
	case Committed:
		return "COMMITTED"
	case Aborted:
		return "ABORTED"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// ParseStatus reads "COMMITTED" or "ABORTED" (upper case, exactly).
func ParseStatus(s string) (Status, error) {
	switch s {
	case "COMMITTED":
		return Committed, nil
	case "ABORTED":
		return Aborted, nil
	}
	return 0, fmt.Errorf("status %.40q: %w", s, ErrStatus)
}

// Record is one side's account of one transfer. Amount is in minor units
// of the reconciliation's currency and positive: the sign is Direction.
type Record struct {
	TransferID string
	Amount     int64
	Direction  Direction
	Status     Status
}

// IDMax is the longest transfer id, as transfer.ValidID has it.
const IDMax = 128

// ValidID reports whether s can be a transfer id: 1 to IDMax letters,
// digits and ". _ : -" (the rule of transfer.ValidID, restated here so
// that reading an upload links nothing of the payment flow).
func ValidID(s string) bool {
	if s == "" || len(s) > IDMax {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// Validate reports what is wrong with r, if anything.
func (r Record) Validate() error {
	switch {
	case !ValidID(r.TransferID):
		return fmt.Errorf("transfer id %.140q: %w", r.TransferID, ErrID)
	case r.Amount <= 0:
		return fmt.Errorf("transfer %s: amount %d: %w", r.TransferID, r.Amount, ErrAmount)
	case r.Direction != Debit && r.Direction != Credit:
		return fmt.Errorf("transfer %s: %w", r.TransferID, ErrDirection)
	case r.Status != Committed && r.Status != Aborted:
		return fmt.Errorf("transfer %s: %w", r.TransferID, ErrStatus)
	}
	return nil
}

// Source is a stream of records. Next returns the next record and true,
// or false at the end; after an error or the end it is not called again.
type Source interface {
	Next() (Record, bool, error)
}

// SourceFunc adapts a function to Source: the way any parsed upload (a
// camt.053 statement's entries, a database cursor) becomes one.
type SourceFunc func() (Record, bool, error)

// Next calls f.
func (f SourceFunc) Next() (Record, bool, error) { return f() }

// SliceSource returns a Source over records, in their order.
func SliceSource(records []Record) Source {
	i := 0
	return SourceFunc(func() (Record, bool, error) {
		if i == len(records) {
			return Record{}, false, nil
		}
		i++
		return records[i-1], true, nil
	})
}

// Kind names a break.
type Kind uint8

// The kinds of break. When the two sides disagree on several fields of
// one transfer, one break is reported, of the first kind in this order
// of consequence: a status decides whether money moved at all, the
// direction which way, the amount how much.
const (
	// MissingAtSwitch: the participant has a transfer the switch has not.
	MissingAtSwitch Kind = iota + 1
	// MissingAtParticipant: the switch has a transfer the participant has not.
	MissingAtParticipant
	// StatusMismatch: committed on one side, aborted on the other.
	StatusMismatch
	// DirectionMismatch: a debit on one side, a credit on the other.
	DirectionMismatch
	// AmountMismatch: the same transfer with different amounts.
	AmountMismatch
	kindEnd
)

var kindNames = [...]string{"", "missing-at-switch", "missing-at-participant", "status-mismatch", "direction-mismatch", "amount-mismatch"}

// String returns the kind's stable name ("amount-mismatch", …), which
// front ends show as is.
func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText encodes the kind as its name.
func (k Kind) MarshalText() ([]byte, error) {
	if k == 0 || k >= kindEnd {
		return nil, fmt.Errorf("recon: %v has no name", k)
	}
	return []byte(kindNames[k]), nil
}

// Kinds lists every kind of break, in order of consequence.
func Kinds() []Kind {
	return []Kind{MissingAtSwitch, MissingAtParticipant, StatusMismatch, DirectionMismatch, AmountMismatch}
}

// Break is one disagreement. Switch and Participant are the two sides'
// records, nil on the side that has none.
type Break struct {
	TransferID  string
	Kind        Kind
	Switch      *Record
	Participant *Record
}

// Summary counts what a reconciliation saw.
type Summary struct {
	SwitchRecords      int64          // records read from the switch's side
	ParticipantRecords int64          // records read from the participant's side
	Matched            int64          // transfers on both sides that agree in every field
	Breaks             int64          // breaks emitted
	ByKind             [kindEnd]int64 // breaks by Kind; index 0 is unused
}

// Errors of reconciliation. The Invalid ones are the participant's to
// fix (its upload); ErrSwitchSide marks a fault of the switch's own
// records, which the participant cannot fix.
var (
	// ErrDuplicate: one side lists a transfer id twice. The wrapping
	// error names the side and the id.
	ErrDuplicate = fault.New(fault.Invalid, "", "duplicate transfer id")
	// ErrUnsorted: a source is not in increasing transfer id order.
	ErrUnsorted = fault.New(fault.Invalid, "", "records not in transfer id order")
	// ErrSwitchSide wraps an error of the switch's own records (a store
	// that broke its ordering contract): an internal fault, logged and
	// answered 500, never blamed on the participant.
	ErrSwitchSide = fault.New(fault.Internal, "", "switch records")
)

// Reconcile joins the two sorted sides by transfer id, calls emit with
// each break in id order and returns the counts. Memory is one record per
// side whatever the input. Both sources must be in strictly increasing id
// order (byte order) with valid records; a duplicate id, an out-of-order
// id or an invalid record stops it with an error naming the side and the
// id. An error of emit stops it and is returned as is.
func Reconcile(switchSide, participantSide Source, emit func(Break) error) (Summary, error) {
	var sum Summary
	sw := cursor{src: switchSide, side: "switch"}
	pt := cursor{src: participantSide, side: "participant"}
	if err := sw.advance(); err != nil {
		return sum, err
	}
	if err := pt.advance(); err != nil {
		return sum, err
	}
	for sw.ok || pt.ok {
		var b Break
		switch {
		case !pt.ok || sw.ok && sw.rec.TransferID < pt.rec.TransferID:
			r := sw.rec
			b = Break{TransferID: r.TransferID, Kind: MissingAtParticipant, Switch: &r}
			if err := sw.advance(); err != nil {
				return sum, err
			}
		case !sw.ok || pt.rec.TransferID < sw.rec.TransferID:
			r := pt.rec
			b = Break{TransferID: r.TransferID, Kind: MissingAtSwitch, Participant: &r}
			if err := pt.advance(); err != nil {
				return sum, err
			}
		default:
			s, p := sw.rec, pt.rec
			if k := compare(s, p); k != 0 {
				b = Break{TransferID: s.TransferID, Kind: k, Switch: &s, Participant: &p}
			} else {
				sum.Matched++
			}
			if err := sw.advance(); err != nil {
				return sum, err
			}
			if err := pt.advance(); err != nil {
				return sum, err
			}
		}
		if b.Kind != 0 {
			sum.Breaks++
			sum.ByKind[b.Kind]++
			if err := emit(b); err != nil {
				return sum, err
			}
		}
	}
	sum.SwitchRecords, sum.ParticipantRecords = sw.n, pt.n
	return sum, nil
}

// compare returns the kind of break between two records of one id, or 0.
func compare(s, p Record) Kind {
	switch {
	case s.Status != p.Status:
		return StatusMismatch
	case s.Direction != p.Direction:
		return DirectionMismatch
	case s.Amount != p.Amount:
		return AmountMismatch
	}
	return 0
}

// cursor holds one side's current record and checks its order.
type cursor struct {
	src  Source
	side string
	rec  Record
	ok   bool
	n    int64
}

func (c *cursor) advance() error {
	prev, had := c.rec.TransferID, c.n > 0
	r, ok, err := c.src.Next()
	if err != nil {
		return c.fail(fmt.Errorf("%s side after %d records: %w", c.side, c.n, err))
	}
	c.rec, c.ok = r, ok
	if !ok {
		return nil
	}
	c.n++
	switch {
	case had && r.TransferID == prev:
		return c.fail(fmt.Errorf("%s side: transfer %s: %w", c.side, r.TransferID, ErrDuplicate))
	case had && r.TransferID < prev:
		return c.fail(fmt.Errorf("%s side: transfer %s after %s: %w", c.side, r.TransferID, prev, ErrUnsorted))
	}
	if err := r.Validate(); err != nil {
		return c.fail(fmt.Errorf("%s side, record %d: %w", c.side, c.n, err))
	}
	return nil
}

// fail marks errors of the switch's side as the switch's own fault while
// keeping them matchable (errors.Is ErrDuplicate still holds).
func (c *cursor) fail(err error) error {
	if c.side == "switch" && !errors.Is(err, ErrSwitchSide) {
		return fmt.Errorf("%w: %w", ErrSwitchSide, err)
	}
	return err
}
