package ledger

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// EventFixedSize is the length of an event's binary encoding without its
// Meta; the whole encoding is EventFixedSize+len(Meta) bytes.
const EventFixedSize = 114

// eventVersion is the first byte of every encoded event. A change of
// layout gets a new version; decoders keep reading the old ones.
const eventVersion = 1

// ErrEncoding means bytes are not a valid encoded event.
var ErrEncoding = fault.New(fault.Internal, "", "ledger: invalid event encoding")

// AppendBinary appends the canonical encoding of e to b, big-endian at
// fixed offsets, documented in docs/formats.md:
//
//	0  version (1)        1  kind            2  flags        3  zero
//	4  currency (uint16)  6  purpose (uint16)
//	8  timestamp (int64)
//	16 id [16]            32 pending [16]    48 ref [16]
//	64 debit (uint64)     72 credit (uint64) 80 account (uint64)
//	88 amount (int64)     96 timeout ns (int64)  104 floor (int64)
//	112 meta length (uint16)  114 meta bytes
//
// It is the form in which events are stored and the leaf the audit log
// hashes, so it must never change for version 1.
func (e *Event) AppendBinary(b []byte) []byte {
	var buf [EventFixedSize]byte
	buf[0] = eventVersion
	buf[1] = byte(e.Kind)
	buf[2] = byte(e.Flags)
	binary.BigEndian.PutUint16(buf[4:], uint16(e.Currency))
	binary.BigEndian.PutUint16(buf[6:], e.Purpose)
	binary.BigEndian.PutUint64(buf[8:], uint64(e.Timestamp))
	copy(buf[16:32], e.ID[:])
	copy(buf[32:48], e.Pending[:])
	copy(buf[48:64], e.Ref[:])
	binary.BigEndian.PutUint64(buf[64:], uint64(e.Debit))
	binary.BigEndian.PutUint64(buf[72:], uint64(e.Credit))
	binary.BigEndian.PutUint64(buf[80:], uint64(e.Account))
	binary.BigEndian.PutUint64(buf[88:], uint64(e.Amount))
	binary.BigEndian.PutUint64(buf[96:], uint64(e.Timeout))
	binary.BigEndian.PutUint64(buf[104:], uint64(e.Floor))
	binary.BigEndian.PutUint16(buf[112:], uint16(len(e.Meta)))
	return append(append(b, buf[:]...), e.Meta...)
}

// EncodedSize returns the length of e's encoding.
func (e *Event) EncodedSize() int { return EventFixedSize + len(e.Meta) }

// DecodeEvent decodes the event at the start of b and returns it with
// the length of its encoding. It checks the version, the kind, the flags,
// the reserved byte and the meta length, so that garbage is refused
// rather than replayed.
func DecodeEvent(b []byte) (Event, int, error) {
	if len(b) < EventFixedSize {
		return Event{}, 0, fmt.Errorf("%w: %d bytes, need %d", ErrEncoding, len(b), EventFixedSize)
	}
	if b[0] != eventVersion {
		return Event{}, 0, fmt.Errorf("%w: version %d", ErrEncoding, b[0])
	}
	e := Event{
		Kind:      Kind(b[1]),
		Flags:     EventFlags(b[2]),
		Currency:  money.Currency(binary.BigEndian.Uint16(b[4:])),
		Purpose:   binary.BigEndian.Uint16(b[6:]),
		Timestamp: int64(binary.BigEndian.Uint64(b[8:])),
		Debit:     AccountID(binary.BigEndian.Uint64(b[64:])),
		Credit:    AccountID(binary.BigEndian.Uint64(b[72:])),
		Account:   AccountID(binary.BigEndian.Uint64(b[80:])),
		Amount:    money.Amount(binary.BigEndian.Uint64(b[88:])),
		Timeout:   time.Duration(binary.BigEndian.Uint64(b[96:])),
		Floor:     money.Amount(binary.BigEndian.Uint64(b[104:])),
	}
	copy(e.ID[:], b[16:32])
	copy(e.Pending[:], b[32:48])
	copy(e.Ref[:], b[48:64])
	n := int(binary.BigEndian.Uint16(b[112:]))
	switch {
	case e.Kind == 0 || e.Kind >= kindEnd:
		return Event{}, 0, fmt.Errorf("%w: kind %d", ErrEncoding, b[1])
	case e.Flags&^eventFlagsAll != 0:
		return Event{}, 0, fmt.Errorf("%w: flags %#x", ErrEncoding, b[2])
	case b[3] != 0:
		return Event{}, 0, fmt.Errorf("%w: reserved byte %#x", ErrEncoding, b[3])
	case n > MetaMax || len(b) < EventFixedSize+n:
		return Event{}, 0, fmt.Errorf("%w: meta of %d bytes", ErrEncoding, n)
	}
	if n > 0 {
		e.Meta = string(b[EventFixedSize : EventFixedSize+n])
	}
	return e, EventFixedSize + n, nil
}

// EventAccounts reads the debit, credit and account of the encoded event
// at the start of b without decoding the rest, for scans that filter.
func EventAccounts(b []byte) (debit, credit, account AccountID) {
	return AccountID(binary.BigEndian.Uint64(b[64:])), AccountID(binary.BigEndian.Uint64(b[72:])), AccountID(binary.BigEndian.Uint64(b[80:]))
}

// EventTimestamp reads the timestamp of the encoded event at the start of b.
func EventTimestamp(b []byte) int64 { return int64(binary.BigEndian.Uint64(b[8:])) }

// EventLen returns the length of the encoded event at the start of b,
// which must hold at least EventFixedSize bytes.
func EventLen(b []byte) int { return EventFixedSize + int(binary.BigEndian.Uint16(b[112:])) }

// EventKindPurpose reads the kind and purpose of the encoded event at the
// start of b (at least EventFixedSize bytes).
func EventKindPurpose(b []byte) (Kind, uint16) {
	return Kind(b[1]), binary.BigEndian.Uint16(b[6:])
}
