// Package velocity owns the risk engine's sliding-window memory of
// committed transfers: for the transfer being screened, how many transfers
// and how much money the same payer account sent, and the same payee alias
// received, within the last d (any d up to MaxWindow), and whether the
// payer account has paid the alias before. The transfer being screened is
// not committed yet, so it is never part of the answers.
//
// # Keys and currencies
//
// A payer account is the payer participant id with the participant's own
// opaque payerAccount string; an empty payerAccount is a key of its own,
// which aggregates every transfer that the participant sent without one.
// An alias is its "TYPE:value" string. Counts and sums are kept per
// currency, and amounts of different currencies are never added: a query
// names its currency and sees only the transfers in it. An alias is keyed
// with the currency; a payer account keeps the counts of its first
// currency in its own entry and those of any other currency in an entry
// keyed with that currency. NewPayee ignores the currency.
//
// # Resolution
//
// Each key keeps 3 time slots of one second in its entry; a key that needs
// more borrows a wide record of 12 from its shard's pool, which has one
// for every 24 keys: when it is empty, the least recently active of the
// next 4 borrowers gives its record back if it has been idle for a minute
// (else the newcomer makes do with its 3 slots). A key whose transfers
// within MaxWindow fall in at most 3 distinct seconds (every account that
// pays or is paid up to 3 times a day when MaxWindow is 24 h), or at most
// 12 while it holds a wide record, is answered exactly to the second: the
// window of d before now counts the transfers at or after the second that
// holds now−d, so a transfer in that same second but before now−d is
// counted too. A busier key merges slots (the adjacent pair whose merge
// moves transfers forward by the least time relative to their age), so
// that recent seconds stay exact and older slots grow; a window whose
// start falls inside a merged slot counts the whole slot. Answers are
// therefore never below the truth (unless the key was evicted) and exceed
// it only by transfers older than now−d. With 12 slots spread over 10 s to
// 24 h, for a key with a transfer every 5 s, TestSteadyStream measures
// windows of 10 s to 24 h counting at most 3.95 times the exact count (a
// window of d may reach back about 4d); a busy key without a wide record,
// with 3 slots, counts up to 80 times it (a 10 s window) or 48 times
// (1 h). A velocity rule on a busy key thus errs towards firing, never
// towards letting a burst through. A slot's count saturates at 2²⁴−1 and
// its sum at 2⁴⁰−1 minor units (about 1.1·10¹²): beyond any threshold, so
// a saturated key still fires a rule.
//
// # Memory
//
// A payer account costs a 72-byte entry, an alias (per currency) a 56-byte
// one, and each 4 bytes an index place, with the index kept at most 3/4
// full (5.3 to 10.7 bytes a key), and a 24th of a 152-byte wide record
// (6.3 bytes). The keys of each kind are capped at MaxKeys (default
// 384 Ki = 393,216), split evenly over up to 256 shards, so that a shard may
// evict a little before the table as a whole is full. At the cap a payer
// account and an alias cost about 152 bytes together (measured by
// TestMemoryPerKey, which keeps it at most 160): 57 MiB at the default,
// 157 MiB at 1 Mi keys (whose index is half full). Below the cap, growth
// by doubling may hold up to twice the memory of the keys in use; memory
// is not returned when keys are forgotten. Neither entries nor wide
// records hold pointers, so the garbage collector does not scan them.
//
// A transfer is kept for MaxWindow plus one minute after the newest
// transfer of its key (the minute lets a screening whose clock lags a
// concurrent committer still see all of MaxWindow); older ones are
// ignored by Observe, dropped from their key when it is observed again,
// and never counted. A key idle for that long counts nothing and is
// removed as new keys arrive in its shard (each looks at the next two
// slab positions). When a full shard takes a new key, it evicts the least
// recently active key among the next 8 slab positions, which then starts
// again from nothing: an evicted key is under-counted. Keys are 64-bit
// hashes under a per-process random seed: two keys of a table collide,
// and share their counts, with a probability of about n²/2⁶⁵ (4·10⁻⁷ for
// n = 4 Mi).
//
// # Rebuild and order
//
// Observe takes the transfer's own time, so the caller rebuilds the state
// after a restart by observing the committed transfers of the last
// MaxWindow from the ledger, in time order. Transfers observed out of
// order (concurrent committers) are counted as in order, up to the
// retention above.
//
// # Cost
//
// All methods are safe for concurrent use: each key lives in one of up to
// 256 shards behind its own lock, and readers of a shard share it. Observe
// updates two entries (payer account, alias) and a screening's Payer,
// Alias and NewPayee read two (NewPayee reads the entry that Payer just
// read); none allocates once the tables have grown. With a million keys
// the cost is that of cache and TLB misses, two per entry (index, slab)
// and one more for a key with a wide record: see the benchmarks and BenchmarkBaselineMap, a Go map of the same
// footprint, for the figures on a given machine.
package velocity

import (
	"fmt"
	"hash/maphash"
	"math"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

// Default values of Options, applied by New to zero fields.
const (
	DefaultMaxWindow = 24 * time.Hour
	DefaultMaxKeys   = 384 << 10
)

// Bounds of Options that Validate enforces.
const (
	// maxWindowLimit keeps every second of a window in the uint32 slot
	// arithmetic with room to spare; a scheme has no use for longer.
	maxWindowLimit = 366 * 24 * time.Hour
	// maxKeysLimit keeps the slab positions of a shard (at most
	// maxKeysLimit/256 + 1) within posBits.
	maxKeysLimit = 1 << 28
)

// ErrInvalidOptions reports Options that Validate refuses; the caller
// should report it as a configuration error and not start.
var ErrInvalidOptions = fault.New(fault.Invalid, "", "velocity: invalid options")

// Options configures Windows. The zero value is valid and means the
// defaults.
type Options struct {
	// MaxWindow is the longest window a query can ask for and how long a
	// transfer is remembered; zero means DefaultMaxWindow. It is rounded up
	// to whole seconds.
	MaxWindow time.Duration
	// MaxKeys caps the payer accounts (with one more key for each
	// currency beyond an account's first) and the aliases (per currency),
	// each; zero means DefaultMaxKeys.
	MaxKeys int
}

// Validate reports whether o can configure Windows, with ErrInvalidOptions
// naming the field otherwise.
func (o Options) Validate() error {
	if o.MaxWindow < 0 || o.MaxWindow > maxWindowLimit {
		return fmt.Errorf("%w: MaxWindow %v is outside [0, %v]", ErrInvalidOptions, o.MaxWindow, maxWindowLimit)
	}
	if o.MaxKeys < 0 || o.MaxKeys > maxKeysLimit {
		return fmt.Errorf("%w: MaxKeys %d is outside [0, %d]", ErrInvalidOptions, o.MaxKeys, maxKeysLimit)
	}
	return nil
}

// withDefaults returns o with zero fields replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.MaxWindow == 0 {
		o.MaxWindow = DefaultMaxWindow
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	return o
}

// Txn is a committed transfer as Observe records it.
type Txn struct {
	At           time.Time // when the transfer committed
	Payer        string    // the payer participant id
	PayerAccount string    // the payer participant's own reference of its user; may be empty
	PayeeAlias   string    // "TYPE:value"; an empty alias records the payer side only
	Currency     string    // ISO 4217 code
	Amount       int64     // minor units of Currency; negative amounts are ignored
}

// Windows is the sliding-window memory of committed transfers. Build it
// with New.
type Windows struct {
	seed      maphash.Seed
	maxWindow time.Duration
	keep      uint32 // seconds a transfer is kept after the newest of its key: MaxWindow + lagSec
	payers    *table[payer]
	aliases   *table[struct{}]
}

// New returns empty Windows configured by opts. It panics if opts does not
// pass Validate: configuration is checked by the caller before it gets
// here.
func New(opts Options) *Windows {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	sec := (opts.MaxWindow + time.Second - 1) / time.Second
	w := &Windows{
		seed:      maphash.MakeSeed(),
		maxWindow: sec * time.Second,
		keep:      uint32(sec) + lagSec,
	}
	w.payers = newTable[payer](opts.MaxKeys, w.keep)
	w.aliases = newTable[struct{}](opts.MaxKeys, w.keep)
	return w
}

// lagSec is how far behind the newest transfer of a key a query's now may
// lag and still see all of MaxWindow: screenings take their time before
// concurrent committers record theirs.
const lagSec = 60

// MaxWindow returns the longest window a query answers, as configured
// (rounded up to whole seconds).
func (w *Windows) MaxWindow() time.Duration { return w.maxWindow }

// Kinds of key, the first input of every key hash.
const (
	kindPayer   byte = 1 + iota // (payer, payerAccount, ""): the account's entry
	kindPayerIn                 // (payer, payerAccount, currency): its counts in a currency other than the entry's
	kindAlias                   // (alias, currency)
	kindPayee                   // (alias): the fingerprint that NewPayee remembers
)

// payer is what a payer account's entry keeps besides its counts, which
// are those of its first currency (most accounts have only one): that
// currency and the aliases it paid. Counts in any other currency live in
// an entry of their own, keyed with the currency (kindPayerIn), whose
// payer stays unused.
type payer struct {
	currency uint32 // code of the currency of counts; 0 until the first transfer sets it
	payees   payees
}

// currencyCode packs a currency code of 1 to 4 bytes (ISO 4217 codes have
// 3) into a distinct non-zero uint32, and returns 0 for any other, whose
// counts then always live in a kindPayerIn entry.
func currencyCode(c string) uint32 {
	if len(c) == 0 || len(c) > 4 {
		return 0
	}
	var v uint32
	for i := range len(c) {
		v = v<<8 | uint32(c[i])
	}
	return v<<3 | uint32(len(c)) // the length keeps "\x00A" and "A" apart
}

// hash returns the key hash of kind over the given strings. Each string
// is hashed on its own under the seed (so its length bounds it: no two
// different tuples share an input) and folded in with a bijective mix. It
// is never 0, the index's empty mark.
func (w *Windows) hash(kind byte, a, b, c string) uint64 {
	h := mix(uint64(kind) ^ maphash.String(w.seed, a))
	h = mix(h ^ maphash.String(w.seed, b))
	h = mix(h ^ maphash.String(w.seed, c))
	if h == 0 {
		return 1
	}
	return h
}

// mix is the finalizer of MurmurHash3 (a bijection of uint64), so that
// folding in the next string's hash cannot cancel the previous ones.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// second returns t as a Unix second that the slot arithmetic can hold, and
// false for a time before 1970 or too close to 2106.
func (w *Windows) second(t time.Time) (uint32, bool) {
	u := t.Unix()
	if u < 0 || u > int64(math.MaxUint32-2*w.keep) {
		return 0, false
	}
	return uint32(u), true
}

// Observe records a committed transfer. It may be called with times in
// the past (a rebuild) or slightly out of order; see the package doc.
// Transfers with a negative amount or a time outside 1970–2106 are
// ignored. It reports what NewPayee would have answered just before:
// whether the payer account had not paid the alias yet (the committer
// learns it without a second look-up of the account).
func (w *Windows) Observe(t Txn) (newPayee bool) {
	sec, ok := w.second(t.At)
	if !ok || t.Amount < 0 {
		return w.NewPayee(t.Payer, t.PayerAccount, t.PayeeAlias)
	}
	key := w.hash(kindPayer, t.Payer, t.PayerAccount, "")
	code := currencyCode(t.Currency)
	s := w.payers.shardOf(key)
	s.mu.Lock()
	p := s.upsert(key, sec)
	e := &s.slab[p]
	if e.val.currency == 0 {
		e.val.currency = code
	}
	own := code != 0 && e.val.currency == code
	if own {
		s.add(p, sec, t.Amount)
	}
	newPayee = true
	if t.PayeeAlias != "" {
		fp := fingerprint(w.hash(kindPayee, t.PayeeAlias, "", ""))
		newPayee = !e.val.payees.has(fp)
		e.val.payees.add(fp)
	}
	s.mu.Unlock()
	if !own {
		key := w.hash(kindPayerIn, t.Payer, t.PayerAccount, t.Currency)
		s := w.payers.shardOf(key)
		s.mu.Lock()
		s.add(s.upsert(key, sec), sec, t.Amount)
		s.mu.Unlock()
	}
	if t.PayeeAlias != "" {
		key := w.hash(kindAlias, t.PayeeAlias, t.Currency, "")
		s := w.aliases.shardOf(key)
		s.mu.Lock()
		s.add(s.upsert(key, sec), sec, t.Amount)
		s.mu.Unlock()
	}
	return newPayee
}

// Payer returns how many transfers in currency the payer account (payer,
// payerAccount) committed within d before now, and their total in minor
// units. The transfer being screened is not committed, so it is never
// included; transfers committed after now are. d is capped at MaxWindow;
// d ≤ 0 counts nothing.
func (w *Windows) Payer(payer, payerAccount, currency string, now time.Time, d time.Duration) (count, sum int64) {
	var h History
	w.PayerHistory(payer, payerAccount, currency, "", &h)
	return h.Since(now, d)
}

// Alias returns how many transfers in currency the payee alias received,
// from anyone, within d before now, and their total in minor units, as
// Payer does for a payer account.
func (w *Windows) Alias(alias, currency string, now time.Time, d time.Duration) (count, sum int64) {
	var h History
	w.AliasHistory(alias, currency, &h)
	return h.Since(now, d)
}

// from returns the first second of the window of d before now, and false
// when the window is empty.
func (w *Windows) from(now time.Time, d time.Duration) (uint32, bool) {
	if d <= 0 {
		return 0, false
	}
	from := now.Add(-min(d, w.maxWindow)).Unix()
	if from > math.MaxUint32 {
		return 0, false
	}
	return uint32(max(from, 0)), true
}

// payeesMax is how many distinct payee aliases a payer account remembers
// for NewPayee, the most recently first paid ones.
const payeesMax = 4

// payees is a payer account's memory of the aliases it paid: 24-bit
// fingerprints (0 marks an empty place), newest first, split into a low
// and a high part so that the 12 bytes need no alignment of their own.
type payees struct {
	lo [payeesMax]uint16
	hi [payeesMax]uint8
}

// fingerprint returns the 24 bits of an alias's kindPayee hash that
// payees keep, never 0.
func fingerprint(h uint64) uint32 {
	if f := uint32(h) & (1<<24 - 1); f != 0 {
		return f
	}
	return 1
}

func (p *payees) at(i int) uint32 { return uint32(p.hi[i])<<16 | uint32(p.lo[i]) }

func (p *payees) has(f uint32) bool {
	for i := range payeesMax {
		if p.at(i) == f {
			return true
		}
	}
	return false
}

// add remembers f first, forgetting the oldest when full.
func (p *payees) add(f uint32) {
	if p.has(f) {
		return
	}
	copy(p.lo[1:], p.lo[:payeesMax-1])
	copy(p.hi[1:], p.hi[:payeesMax-1])
	p.lo[0], p.hi[0] = uint16(f), uint8(f>>16)
}

// NewPayee reports whether the payer account (payer, payerAccount) has not
// paid alias, in any currency, as far as memory holds. Memory holds the
// last 4 distinct aliases that the account paid and forgets them all when
// the account has made no transfer for MaxWindow plus a minute, or is
// evicted: the same bounds as the counts, so that the replay of MaxWindow
// after a restart rebuilds the same memory. Hence a false true ("new") for
// an alias paid more than 4 other aliases ago or before such a gap, and a
// false false ("paid before") when the alias shares its 24-bit fingerprint
// with one of the 4, with a probability of at most 4/2²⁴ ≈ 2.4·10⁻⁷.
func (w *Windows) NewPayee(payer, payerAccount, alias string) bool {
	fp := fingerprint(w.hash(kindPayee, alias, "", ""))
	key := w.hash(kindPayer, payer, payerAccount, "")
	s := w.payers.shardOf(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.live(s.find(key))
	return e == nil || !e.val.payees.has(fp)
}

// Stats counts the keys that Windows tracks.
type Stats struct {
	PayerKeys int // payer accounts, plus one per currency beyond an account's first
	AliasKeys int // aliases × currencies
}

// Stats returns the number of keys tracked, for metrics and tests; it
// visits every shard.
func (w *Windows) Stats() Stats {
	return Stats{PayerKeys: w.payers.len(), AliasKeys: w.aliases.len()}
}
