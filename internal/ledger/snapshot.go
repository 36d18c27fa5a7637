package ledger

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"slices"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// A snapshot is the whole state in one canonical binary encoding, so that
// a restart can load it and replay only the batches after it instead of
// all of them. The same state always gives the same bytes, whatever the
// idempotency index's seed and layout. Version 1, big-endian:
//
//	header       magic "HULIANLS" (8), version (1), seven zero bytes,
//	             seq (uint64), last timestamp (int64),
//	             account, transfer and reservation counts (uint64 each)
//	accounts     by increasing id, snapshotAccountSize bytes each:
//	             id (uint64), currency (uint16), flags (1), zero (1),
//	             floor, create floor, balance, reserved, created (int64 each)
//	transfers    every entry of the idempotency index, by increasing
//	             timestamp: the timestamp as an unsigned varint of its
//	             distance from the previous one (from math.MinInt64 for
//	             the first), the fingerprint with the
//	             state in its low three bits (uint64), the id (16)
//	reservations in expiry order (deadline, then timestamp),
//	             snapshotReservationSize bytes each: id (16), debit,
//	             credit (uint64 each), amount, reserve timestamp,
//	             deadline (int64 each)
//	trailer      CRC-32C (Castagnoli) of everything before it (uint32)
//
// A snapshot of ten million transfers takes 25 bytes per transfer (250 MB).
const (
	snapshotMagic           = "HULIANLS"
	snapshotVersion         = 1
	snapshotHeaderSize      = 16 + 5*8
	snapshotAccountSize     = 8 + 2 + 1 + 1 + 5*8
	snapshotTransferMax     = binary.MaxVarintLen64 + 8 + 16
	snapshotReservationSize = 16 + 2*8 + 3*8
)

// ErrSnapshot means bytes are not a snapshot that WriteSnapshot wrote:
// damaged, cut short, of another version, or of an inconsistent state.
// The caller must not use it; replaying the stored batches from the
// first recovers the same state.
var ErrSnapshot = fault.New(fault.Internal, "", "ledger: invalid snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteSnapshot writes the whole state to w in its canonical encoding:
// sequence number and last timestamp, every account (with the floor it
// was created with), every entry of the idempotency index and every
// pending reservation in expiry order, followed by a CRC-32C of it all.
// Call it between batches. It sorts a copy of the index, so it holds
// about 32 more bytes per transfer while it runs.
func (s *State) WriteSnapshot(w io.Writer) error {
	h := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<16)
	var b []byte
	b = append(b, snapshotMagic...)
	b = append(b, snapshotVersion, 0, 0, 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, s.seq)
	b = binary.BigEndian.AppendUint64(b, uint64(s.lastTS))
	b = binary.BigEndian.AppendUint64(b, uint64(len(s.accounts)))
	b = binary.BigEndian.AppendUint64(b, uint64(s.transfers.len()))
	b = binary.BigEndian.AppendUint64(b, uint64(len(s.expiry)))
	if _, err := bw.Write(b); err != nil {
		return err
	}

	accounts := make([]*account, 0, len(s.accounts))
	for _, a := range s.accounts {
		accounts = append(accounts, a)
	}
	slices.SortFunc(accounts, func(a, b *account) int { return cmpID(a.ID, b.ID) })
	for _, a := range accounts {
		b = binary.BigEndian.AppendUint64(b[:0], uint64(a.ID))
		b = binary.BigEndian.AppendUint16(b, uint16(a.Currency))
		b = append(b, byte(a.Flags), 0)
		b = binary.BigEndian.AppendUint64(b, uint64(a.Floor))
		b = binary.BigEndian.AppendUint64(b, uint64(a.createFloor))
		b = binary.BigEndian.AppendUint64(b, uint64(a.Balance))
		b = binary.BigEndian.AppendUint64(b, uint64(a.Reserved))
		b = binary.BigEndian.AppendUint64(b, uint64(a.Created))
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}

	// Timestamps are unique, one event per transfer: ordering by them
	// makes the encoding independent of the index's layout, and their
	// distances short.
	transfers := s.transfers.byTimestamp()
	prev := uint64(0) // math.MinInt64, in orderedTS's order
	for i := range transfers {
		t := &transfers[i]
		ts := orderedTS(t.e.ts)
		if i > 0 && ts == prev {
			return fmt.Errorf("ledger: snapshot: transfers %s and %s have the same timestamp %d", transfers[i-1].id, t.id, t.e.ts)
		}
		b = binary.AppendUvarint(b[:0], ts-prev)
		b = binary.BigEndian.AppendUint64(b, t.e.sum)
		b = append(b, t.id[:]...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
		prev = ts
	}
	transfers = nil

	rs := slices.Clone(s.expiry)
	slices.SortFunc(rs, func(a, b *reservation) int {
		if a.deadline != b.deadline {
			return cmpID(a.deadline, b.deadline)
		}
		return cmpID(a.ts, b.ts)
	})
	for _, r := range rs {
		b = append(b[:0], r.id[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(r.debit.ID))
		b = binary.BigEndian.AppendUint64(b, uint64(r.credit.ID))
		b = binary.BigEndian.AppendUint64(b, uint64(r.amount))
		b = binary.BigEndian.AppendUint64(b, uint64(r.ts))
		b = binary.BigEndian.AppendUint64(b, uint64(r.deadline))
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.BigEndian.AppendUint32(nil, h.Sum32()))
	return err
}

// ReadSnapshot reads a state that WriteSnapshot wrote, which must be all
// that r holds. It refuses, with an error wrapping ErrSnapshot, anything
// else: a wrong magic, version or checksum, bytes cut short or left
// over, values no state can have (accounts out of order or unknown to
// a reservation, repeated ids, timestamps out of order or after the
// last, a reservation unknown to the index or the other way round), and
// a state whose invariants do not hold (CheckInvariants). It builds the
// idempotency index in bulk, straight into its frozen tier, which is
// several times faster than inserting the transfers one by one.
func ReadSnapshot(r io.Reader) (*State, error) {
	s, err := readSnapshot(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	return s, nil
}

func readSnapshot(r io.Reader) (*State, error) {
	sr := &snapReader{r: r, buf: make([]byte, 1<<16)}
	b, err := sr.take(snapshotHeaderSize)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if string(b[:8]) != snapshotMagic {
		return nil, fmt.Errorf("not a snapshot")
	}
	if b[8] != snapshotVersion {
		return nil, fmt.Errorf("version %d", b[8])
	}
	if string(b[9:16]) != "\x00\x00\x00\x00\x00\x00\x00" {
		return nil, fmt.Errorf("reserved header bytes are not zero")
	}
	s := New()
	s.seq = binary.BigEndian.Uint64(b[16:])
	s.lastTS = int64(binary.BigEndian.Uint64(b[24:]))
	nAccounts := binary.BigEndian.Uint64(b[32:])
	nTransfers := binary.BigEndian.Uint64(b[40:])
	nReservations := binary.BigEndian.Uint64(b[48:])
	if s.seq == 0 && (s.lastTS != 0 || nAccounts != 0 || nTransfers != 0 || nReservations != 0) {
		return nil, fmt.Errorf("batch 0 with a state")
	}
	// Counts are checked against the bytes that follow, not trusted for
	// allocation: a damaged count must not allocate what it says.
	const preallocMax = 1 << 16

	var last AccountID
	for i := uint64(0); i < nAccounts; i++ {
		b, err := sr.take(snapshotAccountSize)
		if err != nil {
			return nil, fmt.Errorf("account %d of %d: %w", i, nAccounts, err)
		}
		a := &account{Account: Account{
			ID:       AccountID(binary.BigEndian.Uint64(b)),
			Currency: money.Currency(binary.BigEndian.Uint16(b[8:])),
			Flags:    AccountFlags(b[10]),
			Floor:    money.Amount(binary.BigEndian.Uint64(b[12:])),
			Balance:  money.Amount(binary.BigEndian.Uint64(b[28:])),
			Reserved: money.Amount(binary.BigEndian.Uint64(b[36:])),
			Created:  int64(binary.BigEndian.Uint64(b[44:])),
		}, createFloor: money.Amount(binary.BigEndian.Uint64(b[20:]))}
		switch {
		case a.ID <= last:
			return nil, fmt.Errorf("account %d follows account %d", a.ID, last)
		case !a.Currency.Valid():
			return nil, fmt.Errorf("account %d: currency %d", a.ID, a.Currency)
		case a.Flags&^accountFlagsAll != 0 || b[11] != 0:
			return nil, fmt.Errorf("account %d: flags %#x %#x", a.ID, b[10], b[11])
		case a.Floor < 0 || a.createFloor < 0 || a.Reserved < 0:
			return nil, fmt.Errorf("account %d: negative floor or reservations", a.ID)
		case a.Created > s.lastTS:
			return nil, fmt.Errorf("account %d: created at %d, after the last event %d", a.ID, a.Created, s.lastTS)
		}
		s.accounts[a.ID] = a
		last = a.ID
	}

	var load indexLoader
	pendingEntries := uint64(0)
	prev := uint64(0)
	for i := uint64(0); i < nTransfers; i++ {
		b, err := sr.peek(snapshotTransferMax)
		if err != nil {
			return nil, fmt.Errorf("transfer %d of %d: %w", i, nTransfers, err)
		}
		d, n := binary.Uvarint(b)
		if n <= 0 || (n > 1 && b[n-1] == 0) || len(b) < n+24 {
			// A longer varint than needed would decode, but then the
			// same state would have two encodings.
			return nil, fmt.Errorf("transfer %d of %d: cut short or a bad varint", i, nTransfers)
		}
		if (i > 0 && d == 0) || d > math.MaxUint64-prev {
			return nil, fmt.Errorf("transfer %d of %d: timestamps out of order", i, nTransfers)
		}
		prev += d
		e := entry{sum: binary.BigEndian.Uint64(b[n:]), ts: int64(prev ^ 1<<63)} // orderedTS undone
		var id ID
		copy(id[:], b[n+8:n+24])
		sr.skip(n + 24)
		switch st := e.state(); {
		case id.IsZero():
			return nil, fmt.Errorf("transfer %d of %d: zero id", i, nTransfers)
		case e.ts > s.lastTS:
			return nil, fmt.Errorf("transfer %s at %d, after the last event %d", id, e.ts, s.lastTS)
		case st > StateExpired:
			return nil, fmt.Errorf("transfer %s: state %d", id, st)
		case st == StatePending:
			pendingEntries++
		}
		load.add(&s.transfers, id, e)
	}
	if err := load.build(&s.transfers); err != nil {
		return nil, err
	}
	if pendingEntries != nReservations {
		return nil, fmt.Errorf("%d pending transfers but %d reservations", pendingEntries, nReservations)
	}

	s.expiry = make(expiryHeap, 0, min(nReservations, preallocMax))
	for i := uint64(0); i < nReservations; i++ {
		b, err := sr.take(snapshotReservationSize)
		if err != nil {
			return nil, fmt.Errorf("reservation %d of %d: %w", i, nReservations, err)
		}
		r := &reservation{
			amount:   money.Amount(binary.BigEndian.Uint64(b[32:])),
			ts:       int64(binary.BigEndian.Uint64(b[40:])),
			deadline: int64(binary.BigEndian.Uint64(b[48:])),
			index:    len(s.expiry),
		}
		copy(r.id[:], b[:16])
		dr, cr := AccountID(binary.BigEndian.Uint64(b[16:])), AccountID(binary.BigEndian.Uint64(b[24:]))
		r.debit, r.credit = s.accounts[dr], s.accounts[cr]
		e, ok := s.transfers.get(r.id)
		switch {
		case r.debit == nil || r.credit == nil || dr == cr || r.debit.Currency != r.credit.Currency:
			return nil, fmt.Errorf("reservation %s: accounts %d and %d", r.id, dr, cr)
		case r.amount <= 0:
			return nil, fmt.Errorf("reservation %s: amount %d", r.id, r.amount)
		case r.deadline <= r.ts || uint64(r.deadline)-uint64(r.ts) > uint64(TimeoutMax):
			return nil, fmt.Errorf("reservation %s: made at %d, deadline %d", r.id, r.ts, r.deadline)
		case !ok || e.state() != StatePending || e.ts != r.ts:
			return nil, fmt.Errorf("reservation %s: the index has %+v (found %v)", r.id, e, ok)
		case s.pending[r.id] != nil:
			return nil, fmt.Errorf("reservation %s twice", r.id)
		}
		if n := len(s.expiry); n > 0 {
			p := s.expiry[n-1]
			if p.deadline > r.deadline || p.deadline == r.deadline && p.ts >= r.ts {
				return nil, fmt.Errorf("reservation %s out of expiry order", r.id)
			}
		}
		// A sorted array is a heap; expiry order is total (deadline,
		// then the unique reserve timestamp), so it does not depend on
		// the heap's shape.
		s.expiry = append(s.expiry, r)
		s.pending[r.id] = r
	}

	sum := sr.crc()
	b, err = sr.take(4)
	if err != nil {
		return nil, fmt.Errorf("checksum: %w", err)
	}
	if got := binary.BigEndian.Uint32(b); got != sum {
		return nil, fmt.Errorf("checksum %08x, computed %08x", got, sum)
	}
	if err := sr.atEnd(); err != nil {
		return nil, err
	}
	if err := s.CheckInvariants(); err != nil {
		return nil, err
	}
	return s, nil
}

// byTimestamp returns every entry of the index, by increasing timestamp.
// It sorts in two steps, because one sort of millions of entries waits
// for memory: it places the entries into buckets by their timestamp's
// top bits, about sortBucket per bucket were timestamps spread evenly,
// in one pass, then sorts each bucket, mostly in the cache. (They are
// not spread evenly, a batch's in a run of nanoseconds: the buckets of
// BenchmarkSnapshot hold whole batches, and it still took 40% off.)
func (x *idIndex) byTimestamp() []slot {
	n := x.len()
	if n == 0 {
		return nil
	}
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for _, e := range x.all() {
		t := orderedTS(e.ts)
		lo, hi = min(lo, t), max(hi, t)
	}
	// Bucket k takes the timestamps in [lo + k<<shift, lo + (k+1)<<shift).
	buckets := max(1, n/sortBucket)
	shift := max(0, bits.Len64(hi-lo)-bits.Len(uint(buckets)))
	buckets = int((hi-lo)>>shift) + 1
	ends := make([]int, buckets+1) // first the counts, then where each bucket's next entry goes
	for _, e := range x.all() {
		ends[(orderedTS(e.ts)-lo)>>shift+1]++
	}
	for k := 1; k <= buckets; k++ {
		ends[k] += ends[k-1]
	}
	out := make([]slot, n)
	next := slices.Clone(ends[:buckets])
	for id, e := range x.all() {
		k := (orderedTS(e.ts) - lo) >> shift
		out[next[k]] = slot{id, e}
		next[k]++
	}
	for k := range buckets {
		slices.SortFunc(out[ends[k]:ends[k+1]], func(a, b slot) int { return cmpID(a.e.ts, b.e.ts) })
	}
	return out
}

// sortBucket is how many entries a bucket of byTimestamp would hold
// were timestamps spread evenly: 128 KiB of them. 1 << 8 to 1 << 14
// measured the same.
const sortBucket = 1 << 12

// orderedTS maps timestamps to uint64 in the same order, math.MinInt64
// to 0: distances between them are their differences.
func orderedTS(ts int64) uint64 { return uint64(ts) ^ 1<<63 }

// snapReader reads a snapshot through a buffer of its own, keeping the
// CRC-32C of what it has consumed.
type snapReader struct {
	r        io.Reader
	buf      []byte
	pos, end int    // buf[pos:end] is read but not consumed
	sum      uint32 // CRC-32C of the consumed bytes before buf[summed:]
	summed   int
	eof      bool
}

// fill tries to have n bytes unconsumed, fewer only at the end of r.
func (sr *snapReader) fill(n int) error {
	if sr.end-sr.pos >= n || sr.eof {
		return nil
	}
	sr.sum = crc32.Update(sr.sum, castagnoli, sr.buf[sr.summed:sr.pos])
	sr.end = copy(sr.buf, sr.buf[sr.pos:sr.end])
	sr.pos, sr.summed = 0, 0
	for sr.end < n {
		k, err := sr.r.Read(sr.buf[sr.end:])
		sr.end += k
		if err == io.EOF {
			sr.eof = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// peek returns up to n unconsumed bytes, fewer only at the end.
func (sr *snapReader) peek(n int) ([]byte, error) {
	if err := sr.fill(n); err != nil {
		return nil, err
	}
	return sr.buf[sr.pos:min(sr.end, sr.pos+n)], nil
}

// skip consumes n bytes that peek returned.
func (sr *snapReader) skip(n int) { sr.pos += n }

// take consumes n bytes, n at most len(buf).
func (sr *snapReader) take(n int) ([]byte, error) {
	b, err := sr.peek(n)
	if err != nil {
		return nil, err
	}
	if len(b) < n {
		return nil, io.ErrUnexpectedEOF
	}
	sr.pos += n
	return b, nil
}

// crc returns the CRC-32C of every byte consumed.
func (sr *snapReader) crc() uint32 {
	sr.sum = crc32.Update(sr.sum, castagnoli, sr.buf[sr.summed:sr.pos])
	sr.summed = sr.pos
	return sr.sum
}

// atEnd checks that nothing follows what was consumed.
func (sr *snapReader) atEnd() error {
	if err := sr.fill(1); err != nil {
		return err
	}
	if sr.end > sr.pos {
		return fmt.Errorf("bytes after the checksum")
	}
	return nil
}

// indexLoader builds an idempotency index in bulk: it gathers the
// entries per frozen segment, in blocks so that gathering never copies,
// then merges each segment's at once, as a migration does, with no live
// tier and no growth on the way.
type indexLoader struct {
	blocks [segs][]*[loadBlock]slot
	n      [segs]int
}

// loadBlock is how many entries a block of indexLoader holds.
const loadBlock = 1 << 10

// add takes an entry for the index x.
func (l *indexLoader) add(x *idIndex, id ID, e entry) {
	g := x.hash(id) >> (64 - segBits)
	k := l.n[g] & (loadBlock - 1)
	if k == 0 {
		l.blocks[g] = append(l.blocks[g], new([loadBlock]slot))
	}
	l.blocks[g][len(l.blocks[g])-1][k] = slot{id, e}
	l.n[g]++
}

// build puts the entries into x, which must be empty, refusing an id
// that came twice.
func (l *indexLoader) build(x *idIndex) error {
	var moving []slot
	var hs []uint64
	for g := range segs {
		n := l.n[g]
		if n == 0 {
			continue
		}
		moving, hs = grow(moving, n)[:0], grow(hs, n)[:0]
		for i, b := range l.blocks[g] {
			moving = append(moving, b[:min(loadBlock, n-i*loadBlock)]...)
		}
		l.blocks[g] = nil
		for i := range moving {
			hs = append(hs, x.hash(moving[i].id))
		}
		sg := &x.frozen[g]
		x.rebucket(sg, bucketCount(n, g))
		for !x.merge(sg, moving, hs) {
			x.rebucket(sg, 2*sg.buckets())
		}
		x.n += n
		// The same id has the same hash, so the same bucket and tag.
		for b := range sg.buckets() {
			lo, hi := sg.bounds(b)
			for i := lo; i < hi; i++ {
				for k := i + 1; k < hi; k++ {
					if *sg.tag(i) == *sg.tag(k) && *sg.id(i) == *sg.id(k) {
						return fmt.Errorf("transfer %s twice", *sg.id(i))
					}
				}
			}
		}
	}
	x.moving, x.hashes, x.bk, x.sorted, x.stags, x.starts = nil, nil, nil, nil, nil, nil
	x.gen++
	return nil
}
