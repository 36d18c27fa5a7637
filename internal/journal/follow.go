package journal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
)

// ErrNotLeader means the journal follows a ledger that another process
// writes: it takes no submissions. Send them to the leader.
var ErrNotLeader = fault.New(fault.Unavailable, "not-leader", "journal: this node follows the ledger; the leader writes it")

// FollowStore is a store that another process may be writing: a
// follower reads what it appends and, once promoted, appends after it.
type FollowStore interface {
	Store
	// ReadAfter calls fn with the stored batches after batch seq, in
	// order, at most max of them, and returns the last one's Seq (seq
	// when none). Having read to the end, the store appends after it.
	ReadAfter(ctx context.Context, seq uint64, max int, fn func(*ledger.Committed) error) (uint64, error)
	// Appended receives after batches were appended, by any process;
	// notices may be lost, so the follower also polls.
	Appended() <-chan struct{}
}

// mode is what a journal does: follow another process's writes, write
// itself, or neither (a promotion that failed).
type mode uint8

const (
	modeWriting mode = iota
	modeFollowing
	modeIdle
)

// readMax is how many batches a follower reads per query.
const readMax = 512

// followStatus is how following went last.
type followStatus struct {
	at  time.Time // when the follower last read the store to its end
	err error     // the last read's error, nil if it succeeded
}

// FollowOptions tune a follower.
type FollowOptions struct {
	Options
	// Poll is how often the follower reads the store when no notice of
	// an append came (default 250 ms).
	Poll time.Duration
}

// Follow replays the store into a fresh ledger and then keeps applying
// the batches that another process appends to it, until Promote or
// Close. Reads answer from what was applied, all of which is durable;
// Submit fails with ErrNotLeader. OnDurable hears of each batch applied.
func Follow(ctx context.Context, store FollowStore, opts FollowOptions) (*Journal, error) {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	j, err := recoverState(ctx, store, opts.Options)
	if err != nil {
		return nil, err
	}
	j.fstore = store
	j.mode = modeFollowing
	j.following.Store(true)
	j.followed.Store(&followStatus{at: time.Now()})
	j.followStop, j.followDone = make(chan struct{}), make(chan struct{})
	go j.follow(opts.Poll)
	return j, nil
}

// follow is the follower goroutine: it reads what was appended whenever
// told of an append, and every poll.
func (j *Journal) follow(poll time.Duration) {
	defer close(j.followDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-j.followStop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		err := j.catchUp(ctx)
		if ctx.Err() != nil {
			return
		}
		var replayErr *replayError
		if errors.As(err, &replayErr) {
			// The stored batches do not apply to the ledger: nothing
			// more can be followed; a restart replays from the start.
			ferr := fmt.Errorf("%w: follow: %w", ErrStopped, err)
			j.failure.Store(&ferr)
			j.wakeAll()
			return
		}
		st := &followStatus{at: time.Now(), err: err}
		if err != nil {
			st.at = j.followed.Load().at
		}
		j.followed.Store(st)
		select {
		case <-j.followStop:
			return
		case <-j.fstore.Appended():
		case <-t.C:
		}
	}
}

// replayError is a stored batch the ledger refused to apply.
type replayError struct{ err error }

func (e *replayError) Error() string { return e.err.Error() }
func (e *replayError) Unwrap() error { return e.err }

// catchUp applies every batch stored after the ledger's last. Only the
// follower goroutine, or Promote once it has stopped, calls it.
func (j *Journal) catchUp(ctx context.Context) error {
	one := make([]*ledger.Committed, 1)
	for {
		seq := j.state.Seq()
		last, err := j.fstore.ReadAfter(ctx, seq, readMax, func(c *ledger.Committed) error {
			j.mu.Lock()
			err := j.state.Replay(c)
			j.mu.Unlock()
			if err != nil {
				return &replayError{err}
			}
			if j.onDurable != nil {
				one[0] = c
				j.onDurable(one)
			}
			j.advance(c.Seq)
			return nil
		})
		if err != nil {
			return fmt.Errorf("journal: follow: %w", err)
		}
		if last-seq < readMax {
			return nil
		}
	}
}

// Following reports whether the journal follows another process's
// writes, and when it last read the store to its end and with what
// error: a follower whose reads fail answers from an older ledger.
func (j *Journal) Following() (following bool, caughtUp time.Time, err error) {
	if !j.following.Load() {
		return false, time.Time{}, nil
	}
	st := j.followed.Load()
	return true, st.at, st.err
}

// Promote turns a follower into the writer: it stops following, applies
// every batch stored since, checks the ledger's invariants and starts the
// writer, which appends after the last stored batch. Call it only once
// no other process can write the store any more (the caller holds the
// lease that fences the old writer out). On error the journal neither
// follows nor writes: close it.
func (j *Journal) Promote(ctx context.Context) error {
	j.modeMu.Lock()
	defer j.modeMu.Unlock()
	if j.mode != modeFollowing {
		return errors.New("journal: promote: not following")
	}
	close(j.followStop)
	<-j.followDone
	j.mode = modeIdle
	if err := j.Failure(); err != nil {
		return err
	}
	select {
	case <-j.stop:
		return ErrClosed
	default:
	}
	if err := j.catchUp(ctx); err != nil {
		return fmt.Errorf("journal: promote: %w", err)
	}
	j.mu.RLock()
	err := j.state.CheckInvariants()
	j.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("journal: promote: the followed ledger is inconsistent: %w", err)
	}
	j.startWriter()
	j.following.Store(false)
	return nil
}

// stopFollowing stops a follower, or a journal whose promotion failed,
// and marks it done: Close's part for journals that do not write.
func (j *Journal) stopFollowing() {
	j.modeMu.Lock()
	defer j.modeMu.Unlock()
	switch j.mode {
	case modeFollowing:
		close(j.followStop)
		<-j.followDone
	case modeIdle:
	default:
		return
	}
	j.mode = modeIdle
	select {
	case <-j.done:
	default:
		close(j.done)
	}
}
