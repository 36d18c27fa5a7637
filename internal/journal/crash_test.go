package journal_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
)

// The crash test runs this test binary again as a child that commits
// transfers under concurrent load and prints each acknowledged one; the
// parent kills it with SIGKILL at a random moment, recovers from storage
// and checks that every acknowledged transfer is there and the ledger's
// invariants hold. Three rounds on the same storage.
const (
	crashEngineEnv = "HULIAN_CRASH_ENGINE"
	crashLocEnv    = "HULIAN_CRASH_LOCATION"
	crashRoundEnv  = "HULIAN_CRASH_ROUND"
)

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts processes")
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			loc := e.fresh(t)
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
			total := 0
			for round := 1; round <= 3; round++ {
				acked := crashRound(t, e, loc, round, time.Duration(300+rng.IntN(1200))*time.Millisecond)
				total += len(acked)
				// The killed child's database session may take a moment to
				// end and release its lock.
				var s journal.Store
				var err error
				for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
					if s, err = e.open(loc); err == nil || time.Now().After(deadline) {
						break
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				// Open replays and checks the invariants itself.
				j, err := journal.Open(context.Background(), s, journal.Options{})
				if err != nil {
					s.Close()
					t.Fatalf("round %d: recover: %v", round, err)
				}
				for id, kind := range acked {
					tr, err := j.Transfer(context.Background(), id)
					if err != nil {
						t.Errorf("round %d: acknowledged %v %s lost: %v", round, kind, id, err)
						continue
					}
					if tr.Kind != kind {
						t.Errorf("round %d: %s is %v, acknowledged as %v", round, id, tr.Kind, kind)
					}
				}
				if err := j.Check(); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				j.Close()
				s.Close()
				if t.Failed() {
					return
				}
			}
			if total == 0 {
				t.Fatal("the child acknowledged nothing")
			}
			t.Logf("%d acknowledged transfers survived 3 kills", total)
		})
	}
}

// crashRound runs the child for about d, kills it, and returns what it
// acknowledged.
func crashRound(t *testing.T, e engine, loc string, round int, d time.Duration) map[ledger.ID]ledger.Kind {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEngineEnv+"="+e.name, crashLocEnv+"="+loc, crashRoundEnv+"="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[ledger.ID]ledger.Kind{}
	var mu sync.Mutex
	first := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r := bufio.NewReader(out)
		once := sync.Once{}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // a last line without its newline was cut by the kill
			}
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			b, err := hex.DecodeString(f[1])
			if err != nil || len(b) != 16 {
				continue
			}
			k, _ := strconv.Atoi(f[0])
			mu.Lock()
			acked[ledger.ID(b)] = ledger.Kind(k)
			mu.Unlock()
			once.Do(func() { close(first) })
		}
	}()
	select {
	case <-first:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the child acknowledged nothing within a minute")
	}
	time.Sleep(d)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-readDone
	cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	return acked
}

// TestCrashChild is the child's side; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	name := os.Getenv(crashEngineEnv)
	if name == "" {
		t.Skip("only runs as the crash test's child")
	}
	e, ok := engineNamed(name)
	if !ok {
		t.Fatalf("no engine %q", name)
	}
	round, _ := strconv.Atoi(os.Getenv(crashRoundEnv))
	s, err := e.open(os.Getenv(crashLocEnv))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	j, err := journal.Open(ctx, s, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cny := money.MustCurrency("CNY")
	setup := []ledger.Command{{Kind: ledger.KindCreateAccount, Account: 100, Currency: cny, AccountFlags: ledger.AccountUnbounded}}
	for a := ledger.AccountID(1); a <= 10; a++ {
		setup = append(setup, ledger.Command{Kind: ledger.KindCreateAccount, Account: a, Currency: cny, Floor: 5000},
			ledger.Command{Kind: ledger.KindPost, ID: tid(0xee, uint64(a)), Debit: 100, Credit: a, Amount: 100000})
	}
	if _, err := j.Submit(ctx, setup); err != nil {
		t.Fatal(err)
	}
	var outMu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	ack := func(kind ledger.Kind, id ledger.ID) {
		outMu.Lock()
		fmt.Fprintf(w, "%d %s\n", kind, hex.EncodeToString(id[:]))
		w.Flush()
		outMu.Unlock()
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(0); ; n++ {
				seq := uint64(round)<<48 | uint64(g)<<32 | n
				dr, cr := ledger.AccountID(1+(seq%10)), ledger.AccountID(1+((seq/10+1+seq)%10))
				if dr == cr {
					cr = 1 + cr%10
				}
				var cmds []ledger.Command
				if n%3 == 0 {
					// A payment as a linked reservation and commit.
					cmds = []ledger.Command{
						{Kind: ledger.KindReserve, Linked: true, ID: tid(1, seq), Debit: dr, Credit: cr, Amount: 7, Timeout: time.Minute},
						{Kind: ledger.KindCommit, ID: tid(2, seq), Pending: tid(1, seq)},
					}
				} else {
					cmds = []ledger.Command{{Kind: ledger.KindPost, ID: tid(3, seq), Debit: dr, Credit: cr, Amount: money.Amount(1 + n%20)}}
				}
				res, err := j.Submit(ctx, cmds)
				if err != nil {
					fmt.Fprintln(os.Stderr, "submit:", err)
					return
				}
				for i, r := range res {
					if r.Status == ledger.StatusOK {
						ack(cmds[i].Kind, cmds[i].ID)
					}
				}
			}
		}()
	}
	wg.Wait()
	io.WriteString(os.Stderr, "crash child: workers stopped before the kill\n")
	os.Exit(1)
}
