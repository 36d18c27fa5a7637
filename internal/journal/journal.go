// Package journal runs the ledger: one writer goroutine applies the
// commands that callers on many goroutines submit, in batches, and a
// syncer makes each batch durable through a Store in one group commit
// before any caller in it is answered.
//
// Batching adapts to load by itself: the writer takes whatever has queued
// since it last looked, so an idle switch applies a batch of one at once,
// and a busy one collects thousands of commands while the previous batch
// is being written. The writer applies batch N+1 while batch N is being
// synced; a caller is answered only when its batch and every batch before
// it are durable.
package journal

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
)

// Errors of the journal.
var (
	// ErrClosed means the journal was closed; nothing more is applied.
	ErrClosed = fault.New(fault.Unavailable, "", "journal: closed")
	// ErrStopped means storage failed: the journal applies nothing more
	// and the process should restart, which recovers the durable state.
	// Whether commands of the failed batch took effect is unknown; their
	// callers retry with the same ids.
	ErrStopped = fault.New(fault.Unavailable, "", "journal: stopped after a storage failure")
	// ErrTooMany means a submission holds more than ledger.BatchMax commands.
	ErrTooMany = fault.New(fault.Internal, "", "journal: too many commands in one submission")
)

// Options tune the journal; the zero value is the default.
type Options struct {
	// Now is the clock that stamps batches; default time.Now. It is read
	// only by the writer, once per batch.
	Now func() time.Time
	// QueueMax bounds submissions waiting for the writer (default 65536);
	// beyond it Submit blocks, which is the backpressure callers feel.
	QueueMax int
	// PipelineMax bounds the applied batches waiting to be made durable
	// (default 4).
	PipelineMax int
	// OnDurable, if set, is called by the syncer with batches as soon as
	// they are durable, before their callers are answered. It must be
	// quick and must not keep the batches: they are reused.
	OnDurable func([]*ledger.Committed)
	// Observer, if set, hears of each batch applied and each group
	// commit (metrics).
	Observer Observer
	// OnSnapshot, if set, hears how saving the ledger's snapshot went
	// at Close (see Close): the snapshot's batch, how long it took, and
	// the error, which Close does not return.
	OnSnapshot func(seq uint64, took time.Duration, err error)
}

// Recovery tells how Open or Follow recovered the ledger.
type Recovery struct {
	// Snapshot is the batch of the snapshot loaded (Snapshotter), 0 if
	// none was.
	Snapshot uint64
	// SnapshotIgnored is why a stored snapshot was not loaded, so that
	// every batch was replayed; nil if none is stored or it was loaded.
	SnapshotIgnored error
	// Replayed is how many batches were replayed, after the snapshot.
	Replayed int
	// Took is how long recovery took, the invariants' check included.
	Took time.Duration
}

// Observer hears of the journal's work, for metrics. Its methods are
// called on the writer's and the syncer's goroutines, once per batch:
// they must be quick and must not block.
type Observer interface {
	// Applied tells of a batch of commands the writer applied.
	Applied(commands int)
	// Committed tells of one group commit that made events durable, and
	// how long the store's write took.
	Committed(events int, took time.Duration)
}

// Journal owns a ledger and its storage.
type Journal struct {
	store      Store
	now        func() time.Time
	onDurable  func([]*ledger.Committed)
	observer   Observer
	onSnapshot func(seq uint64, took time.Duration, err error)
	recovery   Recovery
	// saves says whether Close saves a snapshot: only a journal opened
	// to write (Open), not one that started as a follower (Follow).
	saves    bool
	snapOnce sync.Once

	// mu guards state against readers; the writer holds it while it
	// applies a batch. Readers see applied state and then wait until it
	// is durable before they answer.
	mu    sync.RWMutex
	state *ledger.State

	reqs     chan *request
	toSync   chan *batch
	free     chan *batch
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{} // closed when the syncer has finished

	// A follower's journal applies the batches another process writes
	// (follow.go); mode says what it does now, under modeMu.
	fstore     FollowStore
	following  atomic.Bool
	modeMu     sync.Mutex
	mode       mode
	followStop chan struct{}
	followDone chan struct{}
	followed   atomic.Pointer[followStatus]

	durable  atomic.Uint64 // seq of the last durable batch
	failure  atomic.Pointer[error]
	waitMu   sync.Mutex
	advanced chan struct{} // closed and replaced whenever durable advances
}

type request struct {
	cmds    []ledger.Command
	results []ledger.Result
	err     error
	done    chan struct{}
}

// batch is one applied batch on its way to durability.
type batch struct {
	committed ledger.Committed
	seq       uint64 // the ledger's seq after this batch: durable means answered
	reqs      []*request
	cmds      []ledger.Command
	results   []ledger.Result
}

// Open replays the store into a fresh ledger, or into the ledger of the
// store's snapshot if it keeps one (Snapshotter), checks the ledger's
// invariants and starts the writer.
func Open(ctx context.Context, store Store, opts Options) (*Journal, error) {
	j, err := recoverState(ctx, store, opts)
	if err != nil {
		return nil, err
	}
	j.saves = true
	j.startWriter()
	return j, nil
}

// recoverState replays the store into a fresh ledger, or the batches
// after its snapshot into the snapshot's, and checks the ledger's
// invariants: a journal that neither writes nor follows yet.
func recoverState(ctx context.Context, store Store, opts Options) (*Journal, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueueMax <= 0 {
		opts.QueueMax = 1 << 16
	}
	if opts.PipelineMax <= 0 {
		opts.PipelineMax = 4
	}
	start := time.Now()
	state, rec, err := recoverLedger(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if err := state.CheckInvariants(); err != nil {
		return nil, fmt.Errorf("open journal: recovered ledger is inconsistent: %w", err)
	}
	rec.Took = time.Since(start)
	j := &Journal{
		store:      store,
		now:        opts.Now,
		onDurable:  opts.OnDurable,
		observer:   opts.Observer,
		onSnapshot: opts.OnSnapshot,
		recovery:   rec,
		state:      state,
		reqs:       make(chan *request, opts.QueueMax),
		toSync:     make(chan *batch, opts.PipelineMax),
		free:       make(chan *batch, opts.PipelineMax+2),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		advanced:   make(chan struct{}),
	}
	j.durable.Store(state.Seq())
	for i := 0; i < opts.PipelineMax+2; i++ {
		j.free <- &batch{}
	}
	return j, nil
}

// recoverLedger rebuilds the ledger from store: from its snapshot and
// the batches after it if it keeps one that it can use, else from every
// batch.
func recoverLedger(ctx context.Context, store Store) (*ledger.State, Recovery, error) {
	var rec Recovery
	state := ledger.New()
	apply := func(c *ledger.Committed) error {
		rec.Replayed++
		return state.Replay(c)
	}
	ss, ok := store.(Snapshotter)
	if !ok {
		err := store.Replay(ctx, apply)
		return state, rec, err
	}
	load := func(seq uint64, lastTS int64, r io.Reader) error {
		st, err := ledger.ReadSnapshot(r)
		if err != nil {
			return err
		}
		if st.Seq() != seq || st.LastTimestamp() != lastTS {
			return fmt.Errorf("the snapshot holds batch %d at %d, stored as batch %d at %d", st.Seq(), st.LastTimestamp(), seq, lastTS)
		}
		state = st
		return nil
	}
	use, err := ss.ReplaySnapshot(ctx, load, apply)
	rec.Snapshot, rec.SnapshotIgnored = use.Seq, use.Ignored
	return state, rec, err
}

// Recovery tells how the journal recovered the ledger when it opened.
func (j *Journal) Recovery() Recovery { return j.recovery }

// startWriter starts the writer and the syncer, which closes done when
// it has finished.
func (j *Journal) startWriter() {
	j.mode = modeWriting
	go j.write()
	go j.sync()
}

// Close stops taking submissions, finishes what was submitted and waits
// until it is durable; a follower stops following. It does not close the
// store.
//
// Then, if the journal was opened with Open, storage has not failed,
// the store keeps snapshots (Snapshotter) and the ledger changed since
// the snapshot it started from, Close saves a snapshot of the ledger, so
// that the next start replays only the batches after it: a planned
// restart. That takes a few seconds at ten million transfers. A failure
// to save it is not Close's (everything is durable; the next start
// replays more), only OnSnapshot's to hear of.
//
// A journal that started as a follower (Follow) saves none, even once
// promoted: a cluster node's step-down must not hold the lease for the
// seconds it takes, a new leader catches up from its own follower state
// rather than from a snapshot, and a node that starts cold loads the
// snapshot a single-node switch saved, if any, and replays the rest.
func (j *Journal) Close() error {
	j.stopOnce.Do(func() { close(j.stop) })
	j.stopFollowing()
	<-j.done
	if err := j.failure.Load(); err != nil {
		return *err
	}
	if j.saves {
		j.snapOnce.Do(j.saveSnapshot)
	}
	return nil
}

// snapshotWait bounds the saving of a snapshot at Close.
const snapshotWait = 5 * time.Minute

// saveSnapshot saves a snapshot of the ledger if the store keeps them
// and the ledger changed since the snapshot it started from. The writer
// has stopped: the ledger no longer changes.
func (j *Journal) saveSnapshot() {
	ss, ok := j.store.(Snapshotter)
	seq := j.state.Seq()
	if !ok || seq == 0 || seq == j.recovery.Snapshot {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), snapshotWait)
	defer cancel()
	err := ss.SaveSnapshot(ctx, seq, j.state.LastTimestamp(), j.state.WriteSnapshot)
	if err != nil {
		err = fmt.Errorf("journal: snapshot of batch %d: %w", seq, err)
	}
	if j.onSnapshot != nil {
		j.onSnapshot(seq, time.Since(start), err)
	}
}

// Submit applies cmds, in order and in one batch (so a linked chain
// stays whole), and returns their results once they are durable. A
// submission with no commands applies an empty batch: it expires what is
// due and returns when everything submitted before it is durable.
//
// If ctx ends first, Submit returns ctx's error, but the commands may
// still be applied: retry with the same ids to learn the outcome.
func (j *Journal) Submit(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, error) {
	if len(cmds) > ledger.BatchMax {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooMany, len(cmds), ledger.BatchMax)
	}
	if err := j.failure.Load(); err != nil {
		return nil, *err
	}
	if j.following.Load() {
		return nil, ErrNotLeader
	}
	r := &request{cmds: cmds, done: make(chan struct{})}
	select {
	case <-j.stop:
		return nil, ErrClosed
	default:
	}
	select {
	case j.reqs <- r:
	case <-j.stop:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-r.done:
		return r.results, r.err
	case <-j.done:
		// Closed: the writer answered everything it took; a request it
		// did not take was never applied.
		select {
		case <-r.done:
			return r.results, r.err
		default:
			return nil, ErrClosed
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// write is the writer goroutine: it owns the ledger's mutations.
func (j *Journal) write() {
	defer close(j.toSync)
	var carry *request
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		first := carry
		carry = nil
		if first == nil {
			// Idle: wait for work, for the next reservation deadline, or
			// for Close.
			var wake <-chan time.Time
			if d, ok := j.state.NextDeadline(); ok {
				timer.Reset(max(time.Duration(d-j.now().UnixNano()), time.Millisecond))
				wake = timer.C
			}
			select {
			case first = <-j.reqs:
			case <-wake:
				first = &request{done: make(chan struct{})} // an empty batch, to expire what is due
			case <-j.stop:
				j.drain()
				return
			}
		}
		b := <-j.free
		b.reqs = append(b.reqs[:0], first)
		b.cmds = append(b.cmds[:0], first.cmds...)
	collect:
		for len(b.cmds) < ledger.BatchMax {
			select {
			case r := <-j.reqs:
				if len(b.cmds)+len(r.cmds) > ledger.BatchMax {
					carry = r
					break collect
				}
				b.reqs = append(b.reqs, r)
				b.cmds = append(b.cmds, r.cmds...)
			default:
				break collect
			}
		}
		j.apply(b)
	}
}

// drain answers what is still queued at Close: applied, if storage is
// still good, so that nothing accepted is dropped.
func (j *Journal) drain() {
	for {
		select {
		case r := <-j.reqs:
			b := <-j.free
			b.reqs = append(b.reqs[:0], r)
			b.cmds = append(b.cmds[:0], r.cmds...)
			j.apply(b)
		default:
			return
		}
	}
}

func (j *Journal) apply(b *batch) {
	now := j.now().UnixNano()
	if j.failure.Load() != nil {
		// Storage failed: nothing more is applied.
		b.committed.Seq = 0
		j.toSync <- b
		return
	}
	j.mu.Lock()
	b.results = j.state.Apply(now, b.cmds, b.results, &b.committed)
	b.seq = j.state.Seq()
	j.mu.Unlock()
	if j.observer != nil {
		j.observer.Applied(len(b.cmds))
	}
	j.toSync <- b
}

// sync is the syncer goroutine: it makes batches durable, in order, and
// answers their callers. When several batches wait, it stores them in one
// Append, one more level of group commit.
func (j *Journal) sync() {
	defer close(j.done)
	ctx := context.Background()
	var group []*batch
	var toStore []*ledger.Committed
	for b := range j.toSync {
		group = append(group[:0], b)
	more:
		for len(group) < cap(j.toSync) {
			select {
			case nb, ok := <-j.toSync:
				if !ok {
					break more
				}
				group = append(group, nb)
			default:
				break more
			}
		}
		toStore = toStore[:0]
		for _, g := range group {
			if g.committed.Seq != 0 {
				toStore = append(toStore, &g.committed)
			}
		}
		var err error
		if f := j.failure.Load(); f != nil {
			err = *f
		} else if len(toStore) > 0 {
			start := time.Now()
			if err = j.store.Append(ctx, toStore); err != nil {
				err = fmt.Errorf("%w: %w", ErrStopped, err)
				j.failure.Store(&err)
			} else {
				if j.observer != nil {
					j.observer.Committed(countEvents(toStore), time.Since(start))
				}
				if j.onDurable != nil {
					j.onDurable(toStore)
				}
			}
		}
		for _, g := range group {
			if err == nil {
				j.advance(g.seq)
			}
			j.answer(g, err)
			j.free <- g
		}
		if err != nil {
			j.wakeAll()
		}
	}
}

// countEvents returns how many events the batches hold.
func countEvents(bs []*ledger.Committed) int {
	n := 0
	for _, b := range bs {
		n += len(b.Events)
	}
	return n
}

func (j *Journal) answer(b *batch, err error) {
	k := 0
	for _, r := range b.reqs {
		if err != nil {
			r.err = err
		} else {
			r.results = append([]ledger.Result(nil), b.results[k:k+len(r.cmds)]...)
		}
		k += len(r.cmds)
		close(r.done)
	}
	b.reqs = b.reqs[:0]
}

func (j *Journal) advance(seq uint64) {
	if seq <= j.durable.Load() {
		return
	}
	j.durable.Store(seq)
	j.wakeAll()
}

func (j *Journal) wakeAll() {
	j.waitMu.Lock()
	close(j.advanced)
	j.advanced = make(chan struct{})
	j.waitMu.Unlock()
}

// waitDurable waits until batch seq is durable, so that a reader never
// returns state that a crash could still take back.
func (j *Journal) waitDurable(ctx context.Context, seq uint64) error {
	for {
		if j.durable.Load() >= seq {
			return nil
		}
		if err := j.failure.Load(); err != nil {
			return *err
		}
		j.waitMu.Lock()
		ch := j.advanced
		j.waitMu.Unlock()
		if j.durable.Load() >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-j.done:
			if j.durable.Load() >= seq {
				return nil
			}
			return ErrClosed
		}
	}
}

// read runs fn on the ledger under the read lock and waits until what
// fn saw is durable.
func (j *Journal) read(ctx context.Context, fn func(*ledger.State)) error {
	j.mu.RLock()
	fn(j.state)
	seq := j.state.Seq()
	j.mu.RUnlock()
	return j.waitDurable(ctx, seq)
}

// Account returns an account's durable state.
func (j *Journal) Account(ctx context.Context, id ledger.AccountID) (ledger.Account, error) {
	var a ledger.Account
	var ok bool
	if err := j.read(ctx, func(s *ledger.State) { a, ok = s.Account(id) }); err != nil {
		return ledger.Account{}, err
	}
	if !ok {
		return ledger.Account{}, fmt.Errorf("account %d: %w", id, ErrNotFound)
	}
	return a, nil
}

// Accounts returns every account's durable state, ordered by id.
func (j *Journal) Accounts(ctx context.Context) ([]ledger.Account, error) {
	var out []ledger.Account
	err := j.read(ctx, func(s *ledger.State) { out = s.Accounts() })
	return out, err
}

// Transfer is a transfer's event and where it stands now.
type Transfer struct {
	ledger.Event
	State ledger.TransferState
}

// Transfer returns a durable transfer by id.
func (j *Journal) Transfer(ctx context.Context, id ledger.ID) (Transfer, error) {
	j.mu.RLock()
	st, ts, ok := j.state.Transfer(id)
	seq := j.state.Seq()
	j.mu.RUnlock()
	if !ok {
		// Absence needs no wait: a caller that goes on to submit the id
		// meets whatever was applied meanwhile in the ledger's own check.
		return Transfer{}, fmt.Errorf("transfer %s: %w", id, ErrNotFound)
	}
	if err := j.waitDurable(ctx, seq); err != nil {
		return Transfer{}, err
	}
	e, err := j.store.Event(ctx, ts)
	if err != nil {
		return Transfer{}, fmt.Errorf("transfer %s: %w", id, err)
	}
	return Transfer{Event: e, State: st}, nil
}

// Known reports, for each id, whether the ledger has a transfer with it
// (applied, durable or about to be), under one read lock: a batch checks
// its ids for retries at the cost of one.
func (j *Journal) Known(ids []ledger.ID) []bool {
	out := make([]bool, len(ids))
	j.mu.RLock()
	for i, id := range ids {
		_, _, out[i] = j.state.Transfer(id)
	}
	j.mu.RUnlock()
	return out
}

// AccountEvents returns up to limit durable events of an account with
// from <= Timestamp < to, oldest first.
func (j *Journal) AccountEvents(ctx context.Context, account ledger.AccountID, from, to int64, limit int) ([]ledger.Event, error) {
	return j.store.AccountEvents(ctx, account, from, to, limit)
}

// Scan calls fn with every durable event with from <= Timestamp < to,
// oldest first.
func (j *Journal) Scan(ctx context.Context, from, to int64, fn func(ledger.Event) error) error {
	return j.store.Scan(ctx, from, to, fn)
}

// encodedScanner is a store that can hand out events as stored, without
// decoding them (the embedded engine).
type encodedScanner interface {
	ScanEncoded(ctx context.Context, from, to int64, fn func(raw []byte) error) error
}

// ScanEncoded is Scan with each event in its canonical encoding
// (ledger.Event.AppendBinary), valid only during the call. The embedded
// engine passes its stored bytes; other engines' events are encoded.
func (j *Journal) ScanEncoded(ctx context.Context, from, to int64, fn func(raw []byte) error) error {
	if s, ok := j.store.(encodedScanner); ok {
		return s.ScanEncoded(ctx, from, to, fn)
	}
	var buf [ledger.EventFixedSize + ledger.MetaMax]byte
	return j.store.Scan(ctx, from, to, func(e ledger.Event) error {
		return fn(e.AppendBinary(buf[:0]))
	})
}

// Seq returns the sequence number of the last durable batch.
func (j *Journal) Seq() uint64 { return j.durable.Load() }

// Check verifies the ledger's invariants on its current state; for tests
// and diagnostics.
func (j *Journal) Check() error {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.state.CheckInvariants()
}

// View runs fn with the ledger under the read lock, for tests that
// compare it with a model. fn must not keep the state.
func (j *Journal) View(fn func(*ledger.State)) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	fn(j.state)
}

// Failure returns the storage failure that stopped the journal (wrapping
// ErrStopped), or nil while it runs: what a readiness probe reports.
func (j *Journal) Failure() error {
	if f := j.failure.Load(); f != nil {
		return *f
	}
	return nil
}
