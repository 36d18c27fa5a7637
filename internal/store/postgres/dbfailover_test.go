package postgres_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/store/postgres/pgtest"
)

// TestDatabaseFailover is issue 20's database failover on one store: a
// journal on a primary with a synchronous standby, reached through a
// multi-host DSN, takes concurrent submissions; the primary is killed at
// a random moment and the standby promoted. A store opened again on the
// same DSN must reach the promoted server, hold every acknowledged
// command's effects and nothing that was never submitted, keep the
// ledger's invariants, and accept appends.
func TestDatabaseFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL servers")
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 20))
	t.Logf("seed %d", seed)
	defer func() {
		if t.Failed() {
			t.Logf("failed with seed %d", seed)
		}
	}()

	started := time.Now()
	p := pgtest.Replicated(t)
	t.Logf("primary and synchronous standby started in %v", time.Since(started).Round(time.Millisecond))

	ctx := context.Background()
	s := open(t, p.MultiHostDSN)
	j, err := journal.Open(ctx, s, journal.Options{})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	cny := money.MustCurrency("CNY")
	const accounts = 8
	setup := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 100, Currency: cny, AccountFlags: ledger.AccountUnbounded}}
	for a := ledger.AccountID(1); a <= accounts; a++ {
		setup = append(setup,
			ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cny},
			ledger.Command{Kind: ledger.KindPost, ID: failoverID(0xee, uint64(a)), Debit: 100, Credit: a, Amount: 1_000_000_000})
	}
	if res, err := j.Submit(ctx, setup); err != nil || firstRefusal(res) >= 0 {
		t.Fatalf("setup: %v %v", res, err)
	}

	// Workers submit until the journal stops. Every command that Submit
	// acknowledged is recorded; so is every command submitted, so that
	// the recovered ledger can be checked for anything invented.
	var (
		mu        sync.Mutex
		acked     = map[ledger.ID]ledger.Command{}
		submitted = map[ledger.ID]bool{}
		failures  []error
		firstAck  = make(chan struct{})
		ackOnce   sync.Once
		wg        sync.WaitGroup
	)
	for _, c := range setup {
		if c.Kind == ledger.KindPost {
			acked[c.ID], submitted[c.ID] = c, true
		}
	}
	const workers = 16
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(0); ; n++ {
				seq := uint64(g)<<32 | n
				dr := ledger.AccountID(1 + seq%accounts)
				cr := ledger.AccountID(1 + (uint64(dr)+n%(accounts-1))%accounts)
				var cmds []ledger.Command
				if n%3 == 0 {
					// A payment: a linked reservation and its commit.
					cmds = []ledger.Command{
						{Kind: ledger.KindReserve, Linked: true, ID: failoverID(1, seq), Debit: dr, Credit: cr, Amount: 7, Timeout: time.Minute},
						{Kind: ledger.KindCommit, ID: failoverID(2, seq), Pending: failoverID(1, seq)},
					}
				} else {
					cmds = []ledger.Command{{Kind: ledger.KindPost, ID: failoverID(3, seq), Debit: dr, Credit: cr, Amount: money.Amount(1 + n%20)}}
				}
				mu.Lock()
				for _, c := range cmds {
					submitted[c.ID] = true
				}
				mu.Unlock()
				res, err := j.Submit(ctx, cmds)
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
					mu.Unlock()
					return
				}
				if i := firstRefusal(res); i >= 0 {
					mu.Unlock()
					t.Errorf("worker %d: %v refused: %v", g, cmds[i].ID, res[i].Status)
					return
				}
				for _, c := range cmds {
					acked[c.ID] = c
				}
				mu.Unlock()
				ackOnce.Do(func() { close(firstAck) })
			}
		}()
	}
	select {
	case <-firstAck:
	case <-time.After(30 * time.Second):
		t.Fatal("nothing acknowledged within 30 s")
	}
	time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
	killed := time.Now()
	p.KillPrimary()

	// Every submission now fails with the journal's storage error.
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
	case <-time.After(20 * time.Second):
		t.Fatal("workers still submitting 20 s after the primary was killed")
	}
	if err := j.Close(); !errors.Is(err, journal.ErrStopped) {
		t.Errorf("journal close after the kill: %v, want %v", err, journal.ErrStopped)
	}
	if err := s.Close(); err != nil {
		t.Logf("closing the store of the dead primary: %v", err)
	}
	mu.Lock()
	if len(failures) != workers {
		t.Errorf("%d workers failed, want all %d", len(failures), workers)
	}
	for _, err := range failures {
		if !errors.Is(err, journal.ErrStopped) {
			t.Errorf("a submission failed with %v, want %v", err, journal.ErrStopped)
		}
	}
	mu.Unlock()

	// As a leader would, reopen on the multi-host DSN until a server
	// accepts writes, while the standby is being promoted.
	type opened struct {
		s        *postgres.Store
		attempts int
		err      error
	}
	reopened := make(chan opened, 1)
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for attempts := 1; ; attempts++ {
			octx, cancel := context.WithTimeout(ctx, 5*time.Second)
			s, err := postgres.Open(octx, p.MultiHostDSN)
			cancel()
			if err == nil || time.Now().After(deadline) {
				reopened <- opened{s, attempts, err}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	p.Promote()
	promoted := time.Since(killed)
	o := <-reopened
	if o.err != nil {
		t.Fatalf("no store on %s 20 s after the kill (%d attempts): %v", p.MultiHostDSN, o.attempts, o.err)
	}
	s2 := o.s
	defer s2.Close()
	reopenedAt := time.Since(killed)
	j2, err := journal.Open(ctx, s2, journal.Options{}) // replays and checks the invariants
	if err != nil {
		t.Fatalf("recover from the promoted standby: %v", err)
	}
	defer j2.Close()

	mu.Lock()
	defer mu.Unlock()
	for id, c := range acked {
		tr, err := j2.Transfer(ctx, id)
		if err != nil {
			t.Errorf("acknowledged %v %v lost: %v", c.Kind, id, err)
			continue
		}
		if tr.Kind != c.Kind || (c.Kind != ledger.KindCommit && (tr.Debit != c.Debit || tr.Credit != c.Credit || tr.Amount != c.Amount)) {
			t.Errorf("%v is %v %d→%d %d, acknowledged as %v %d→%d %d", id,
				tr.Kind, tr.Debit, tr.Credit, tr.Amount, c.Kind, c.Debit, c.Credit, c.Amount)
		}
	}
	unacked := 0
	err = j2.Scan(ctx, 0, 1<<62, func(e ledger.Event) error {
		switch e.Kind {
		case ledger.KindPost, ledger.KindReserve, ledger.KindCommit:
			if !submitted[e.ID] {
				t.Errorf("recovered %v %v was never submitted", e.Kind, e.ID)
			} else if _, ok := acked[e.ID]; !ok {
				unacked++ // committed by the primary, its answer lost with it
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := j2.Check(); err != nil {
		t.Error(err)
	}
	var sum money.Amount
	all, err := j2.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		sum += a.Balance
	}
	if sum != 0 {
		t.Errorf("balances sum to %d, not 0", sum)
	}

	// The promoted server takes new appends, and a client retrying an
	// acknowledged command with its id learns that it exists.
	retry := setup[2]
	res, err := j2.Submit(ctx, []ledger.Command{
		{Kind: ledger.KindPost, ID: failoverID(4, 1), Debit: 1, Credit: 2, Amount: 5},
		retry,
	})
	if err != nil {
		t.Fatalf("append after promotion: %v", err)
	}
	appended := time.Since(killed)
	if res[0].Status != ledger.StatusOK || res[1].Status != ledger.StatusExists {
		t.Errorf("after promotion: new post %v, retried post %v; want %v, %v", res[0].Status, res[1].Status, ledger.StatusOK, ledger.StatusExists)
	}
	t.Logf("%d commands acknowledged before the kill, all recovered; %d more committed unanswered", len(acked), unacked)
	t.Logf("kill → standby promoted and writable %v; → store reopened on the multi-host DSN %v (%d attempts); → first append %v",
		promoted.Round(time.Millisecond), reopenedAt.Round(time.Millisecond), o.attempts, appended.Round(time.Millisecond))
}

// failoverID makes a transfer id from a prefix, which keeps the test's
// kinds of command apart, and a number.
func failoverID(prefix byte, n uint64) ledger.ID {
	var id ledger.ID
	id[0] = prefix
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// firstRefusal returns the index of the first result that is not
// StatusOK, or -1.
func firstRefusal(res []ledger.Result) int {
	for i, r := range res {
		if r.Status != ledger.StatusOK {
			return i
		}
	}
	return -1
}
