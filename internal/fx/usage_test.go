package fx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
)

// beijing is the scheme's zone in these tests: fixed, so that no tzdata
// is needed.
var beijing = time.FixedZone("CST", 8*3600)

// usageNow is "now" in the usage tests: mid-2026 in Beijing.
var usageNow = time.Date(2026, 6, 1, 12, 0, 0, 0, beijing)

// testTerms reads the test terms "<key number>:<value>" (the key's
// first 8 bytes, little-endian); anything else is unreadable.
func testTerms(meta string) (key [16]byte, value money.Amount, ok bool) {
	k, v, found := strings.Cut(meta, ":")
	kn, err1 := strconv.ParseUint(k, 10, 64)
	vv, err2 := strconv.ParseInt(v, 10, 64)
	if !found || err1 != nil || err2 != nil {
		return key, 0, false
	}
	binary.LittleEndian.PutUint64(key[:], kn)
	return key, money.Amount(vv), true
}

func qkey[N byte | int](n N) [16]byte {
	var k [16]byte
	binary.LittleEndian.PutUint64(k[:], uint64(n))
	return k
}

func lid(n int) ledger.ID { return ledger.ID{0xf0, byte(n >> 16), byte(n >> 8), byte(n)} }

func terms[N byte | int](key N, v money.Amount) string { return fmt.Sprintf("%d:%d", key, v) }

// Event makers; at is a time in Beijing, to the second.
func at(month time.Month, day, hour int) int64 {
	return time.Date(2026, month, day, hour, 0, 0, 0, beijing).UnixNano()
}

func fxLeg(kind ledger.Kind, ts int64, id, key int, v money.Amount) ledger.Event {
	return ledger.Event{Timestamp: ts, Kind: kind, Purpose: purpose.FX, ID: lid(id), Meta: terms(key, v)}
}

func decide(kind ledger.Kind, ts int64, id, pending int) ledger.Event {
	p := purpose.FX
	if kind == ledger.KindExpire {
		p, id = 0, 0 // as the ledger emits it
	}
	return ledger.Event{Timestamp: ts, Kind: kind, Purpose: p, ID: lid(id), Pending: lid(pending)}
}

func batch(events ...ledger.Event) []*ledger.Committed {
	return []*ledger.Committed{{Seq: 1, Events: events}}
}

var usd100 = Quota{Limit: 100_00, Currency: usd}

func TestUsageDurable(t *testing.T) {
	lastYear := time.Date(2025, 12, 31, 23, 30, 0, 0, beijing).UnixNano()
	// 16:30 UTC on 31 December is 00:30 on 1 January in Beijing.
	newYearUTC := time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC).UnixNano()
	tests := []struct {
		name     string
		events   []ledger.Event
		want     map[byte]money.Amount // used now, by key
		wantOpen int
	}{
		{"post counts", []ledger.Event{fxLeg(ledger.KindPost, at(3, 1, 9), 1, 7, 30_00)}, map[byte]money.Amount{7: 30_00}, 0},
		{"posts add up by key", []ledger.Event{
			fxLeg(ledger.KindPost, at(3, 1, 9), 1, 7, 30_00),
			fxLeg(ledger.KindPost, at(3, 1, 10), 2, 7, 5_00),
			fxLeg(ledger.KindPost, at(3, 1, 11), 3, 8, 1_00),
		}, map[byte]money.Amount{7: 35_00, 8: 1_00}, 0},
		{"reserve counts", []ledger.Event{fxLeg(ledger.KindReserve, at(3, 1, 9), 1, 7, 30_00)}, map[byte]money.Amount{7: 30_00}, 1},
		{"commit keeps", []ledger.Event{
			fxLeg(ledger.KindReserve, at(3, 1, 9), 1, 7, 30_00),
			decide(ledger.KindCommit, at(3, 1, 10), 2, 1),
		}, map[byte]money.Amount{7: 30_00}, 0},
		{"abort gives back", []ledger.Event{
			fxLeg(ledger.KindReserve, at(3, 1, 9), 1, 7, 30_00),
			fxLeg(ledger.KindPost, at(3, 1, 9)+1, 2, 7, 10_00),
			decide(ledger.KindAbort, at(3, 1, 10), 3, 1),
		}, map[byte]money.Amount{7: 10_00}, 0},
		{"expiry gives back", []ledger.Event{
			fxLeg(ledger.KindReserve, at(3, 1, 9), 1, 7, 30_00),
			decide(ledger.KindExpire, at(3, 1, 10), 0, 1),
		}, map[byte]money.Amount{}, 0},
		{"abort after commit changes nothing", []ledger.Event{
			fxLeg(ledger.KindReserve, at(3, 1, 9), 1, 7, 30_00),
			decide(ledger.KindCommit, at(3, 1, 10), 2, 1),
			decide(ledger.KindAbort, at(3, 1, 11), 3, 1),
		}, map[byte]money.Amount{7: 30_00}, 0},
		{"abort of an unknown id changes nothing", []ledger.Event{
			fxLeg(ledger.KindReserve, at(3, 1, 9), 1, 7, 30_00),
			decide(ledger.KindAbort, at(3, 1, 10), 3, 99),
			decide(ledger.KindExpire, at(3, 1, 11), 0, 98),
		}, map[byte]money.Amount{7: 30_00}, 1},
		{"abort of another purpose is not the fx leg's", []ledger.Event{
			fxLeg(ledger.KindReserve, at(3, 1, 9), 1, 7, 30_00),
			{Timestamp: at(3, 1, 10), Kind: ledger.KindAbort, Purpose: purpose.Payment, ID: lid(2), Pending: lid(1)},
		}, map[byte]money.Amount{7: 30_00}, 1},
		{"other purposes are ignored", []ledger.Event{
			{Timestamp: at(3, 1, 9), Kind: ledger.KindPost, Purpose: purpose.Payment, ID: lid(1), Meta: terms(7, 30_00)},
			{Timestamp: at(3, 1, 10), Kind: ledger.KindReserve, Purpose: purpose.FXFee, ID: lid(2), Meta: terms(7, 30_00)},
			{Timestamp: at(3, 1, 11), Kind: ledger.KindMark, Purpose: purpose.FXQuote, ID: lid(3), Meta: terms(7, 30_00)},
		}, map[byte]money.Amount{}, 0},
		{"zero key, unreadable terms and no value are not counted", []ledger.Event{
			fxLeg(ledger.KindPost, at(3, 1, 9), 1, 0, 30_00),
			{Timestamp: at(3, 1, 10), Kind: ledger.KindReserve, Purpose: purpose.FX, ID: lid(2), Meta: "v1 garbage"},
			fxLeg(ledger.KindPost, at(3, 1, 11), 3, 7, 0),
		}, map[byte]money.Amount{}, 0},
		{"an event dated last year does not count now", []ledger.Event{
			fxLeg(ledger.KindPost, lastYear, 1, 7, 30_00),
			fxLeg(ledger.KindPost, newYearUTC, 2, 7, 2_00),
		}, map[byte]money.Amount{7: 2_00}, 0},
		{"a reservation of last year aborted this year gives back to last year", []ledger.Event{
			fxLeg(ledger.KindReserve, lastYear, 1, 7, 30_00),
			fxLeg(ledger.KindPost, at(1, 2, 9), 2, 7, 2_00),
			decide(ledger.KindAbort, at(1, 2, 10), 3, 1),
		}, map[byte]money.Amount{7: 2_00}, 0},
		{"an event seen twice counts once", []ledger.Event{
			fxLeg(ledger.KindPost, at(3, 1, 9), 1, 7, 30_00),
			fxLeg(ledger.KindPost, at(3, 1, 9), 1, 7, 30_00),
		}, map[byte]money.Amount{7: 30_00}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Fed at once and one event a batch: the same.
			for _, split := range []bool{false, true} {
				u := NewUsage(usd100, beijing, testTerms)
				if split {
					for _, e := range tt.events {
						u.Durable(batch(e))
					}
				} else {
					u.Durable(batch(tt.events...))
				}
				for k := range byte(10) {
					if got := u.Used(qkey(k), usageNow); got != tt.want[k] {
						t.Errorf("split %v: Used(key %d) = %d, want %d", split, k, got, tt.want[k])
					}
					if got, want := u.Remaining(qkey(k), usageNow), max(0, usd100.Limit-tt.want[k]); got != want {
						t.Errorf("split %v: Remaining(key %d) = %d, want %d", split, k, got, want)
					}
				}
				if len(u.open) != tt.wantOpen {
					t.Errorf("split %v: %d open reservations, want %d", split, len(u.open), tt.wantOpen)
				}
				if last := tt.events[len(tt.events)-1].Timestamp; u.Through() != last {
					t.Errorf("split %v: Through() = %d, want %d", split, u.Through(), last)
				}
			}
		})
	}
}

func TestUsageCursorFollowsEveryEvent(t *testing.T) {
	u := NewUsage(usd100, beijing, testTerms)
	u.Durable([]*ledger.Committed{
		{Seq: 1, Events: []ledger.Event{{Timestamp: 10, Kind: ledger.KindPost, Purpose: purpose.Payment}}},
		{Seq: 2},
		{Seq: 3, Events: []ledger.Event{{Timestamp: 20, Kind: ledger.KindMark, Purpose: purpose.FXRate}}},
	})
	if u.Through() != 20 {
		t.Fatalf("Through() = %d, want 20", u.Through())
	}
}

func TestUsageReserve(t *testing.T) {
	tests := []struct {
		name     string
		quota    Quota
		used     money.Amount // posted this year before
		inflight []money.Amount
		key      byte
		value    money.Amount
		wantErr  error
	}{
		{"fits", usd100, 40_00, nil, 7, 60_00, nil},
		{"exceeds", usd100, 40_00, nil, 7, 60_01, ErrQuotaExceeded},
		{"in flight counts", usd100, 40_00, []money.Amount{30_00}, 7, 30_01, ErrQuotaExceeded},
		{"in flight counts, fits", usd100, 40_00, []money.Amount{30_00}, 7, 30_00, nil},
		{"another key is apart", usd100, 40_00, []money.Amount{30_00}, 8, 100_00, nil},
		{"alone too large", usd100, 0, nil, 7, 100_01, ErrQuotaExceeded},
		{"no quota admits everything", Quota{}, 40_00, nil, 7, 1 << 60, nil},
		{"zero key admits everything", usd100, 0, nil, 0, 1 << 60, nil},
		{"value not positive", usd100, 0, nil, 7, 0, ErrAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewUsage(tt.quota, beijing, testTerms)
			if tt.used > 0 {
				u.Durable(batch(fxLeg(ledger.KindPost, at(1, 5, 9), 1, 7, tt.used)))
			}
			for i, v := range tt.inflight {
				if _, err := u.Reserve(lid(100+i), qkey(7), v, usageNow); err != nil {
					t.Fatal(err)
				}
			}
			release, err := u.Reserve(lid(99), qkey(tt.key), tt.value, usageNow)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Reserve = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				release()
				release() // twice is once
			}
			var want money.Amount
			for _, v := range tt.inflight {
				want += v
			}
			if tt.quota.IsZero() {
				want = 0
			}
			if got := u.inflight[qkey(7)]; got != want {
				t.Errorf("in flight for key 7 after release = %d, want %d", got, want)
			}
			if got := u.Used(qkey(7), usageNow); got != tt.used {
				t.Errorf("Used = %d, want %d: in flight is not used", got, tt.used)
			}
		})
	}
}

// TestUsageReserveUntilCounted follows the pipeline: a payment is in
// flight until Durable counts its fx leg, which ends its flight at once —
// never counted twice, so that a payment that fits is not refused — or
// until release (a payment the ledger refused).
func TestUsageReserveUntilCounted(t *testing.T) {
	u := NewUsage(usd100, beijing, testTerms)
	release, err := u.Reserve(lid(1), qkey(7), 60_00, usageNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Reserve(lid(2), qkey(7), 40_01, usageNow); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("second Reserve while the first is in flight = %v, want ErrQuotaExceeded", err)
	}
	if _, err := u.Reserve(lid(1), qkey(7), 1, usageNow); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("the same payment in flight twice = %v, want ErrQuotaExceeded", err)
	}
	u.Durable(batch(fxLeg(ledger.KindPost, usageNow.UnixNano(), 1, 7, 60_00)))
	// Counted: no longer in flight, before the submission returned.
	if len(u.inflight) != 0 || len(u.flying) != 0 {
		t.Fatalf("in flight after its leg was counted: %v %v", u.inflight, u.flying)
	}
	r2, err := u.Reserve(lid(2), qkey(7), 40_00, usageNow)
	if err != nil {
		t.Fatalf("Reserve of the rest while the first submission returns = %v", err)
	}
	release() // the first submission returns: nothing left to end
	if got := u.inflight[qkey(7)]; got != 40_00 {
		t.Errorf("in flight = %d, want the second's 40.00", got)
	}
	r2() // refused by the ledger: released
	if len(u.inflight) != 0 || len(u.flying) != 0 {
		t.Errorf("in flight after every release: %v %v", u.inflight, u.flying)
	}
	if got := u.Used(qkey(7), usageNow); got != 60_00 {
		t.Errorf("used %d, want 60.00", got)
	}
}

// TestUsageReserveRace races goroutines for one key: the quota admits
// exactly k payments of q, whichever they are.
func TestUsageReserveRace(t *testing.T) {
	const q = 7_00
	for _, tt := range []struct{ n, k int }{{32, 5}, {16, 0}, {8, 8}, {64, 1}} {
		t.Run(fmt.Sprintf("n%d_k%d", tt.n, tt.k), func(t *testing.T) {
			u := NewUsage(Quota{Limit: money.Amount(tt.k*q + q - 1), Currency: usd}, beijing, testTerms)
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make(chan error, tt.n)
			for i := range tt.n {
				wg.Go(func() {
					<-start
					_, err := u.Reserve(lid(i), qkey(7), q, usageNow)
					results <- err
				})
			}
			close(start)
			wg.Wait()
			close(results)
			ok := 0
			for err := range results {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, ErrQuotaExceeded):
					t.Errorf("Reserve = %v", err)
				}
			}
			if ok != tt.k {
				t.Errorf("%d of %d succeeded, want %d", ok, tt.n, tt.k)
			}
		})
	}
}

// TestUsageReplayHoldsDurable: Durable given batches while Replay scans
// holds them until the scan ends, and nothing is counted twice or
// missed; Reserve waits for the end.
func TestUsageReplayHoldsDurable(t *testing.T) {
	events := []ledger.Event{
		fxLeg(ledger.KindReserve, at(3, 1, 9), 1, 7, 30_00),
		fxLeg(ledger.KindPost, at(3, 1, 10), 2, 7, 10_00),
		fxLeg(ledger.KindReserve, at(3, 1, 11), 3, 7, 20_00),
		decide(ledger.KindExpire, at(3, 1, 12), 0, 1),
		decide(ledger.KindAbort, at(3, 1, 13), 4, 3),
		fxLeg(ledger.KindPost, at(3, 1, 14), 5, 7, 1_00),
		{Timestamp: at(3, 1, 15), Kind: ledger.KindPost, Purpose: purpose.Payment, ID: lid(6), Meta: terms(7, 1_00)},
	}
	// The scan sees events[:seen]; Durable is given events[from:] during
	// the scan, before its first event.
	for seen := 0; seen <= len(events); seen++ {
		for from := 0; from <= seen; from++ {
			u := NewUsage(usd100, beijing, testTerms)
			scan := func(_ context.Context, lo, hi int64, fn func(ledger.Event) error) error {
				u.Durable(batch(events[from:]...))
				if _, err := u.Reserve(lid(1<<20), qkey(7), 1, usageNow); !errors.Is(err, ErrUsageReplaying) {
					t.Errorf("Reserve during Replay = %v, want ErrUsageReplaying", err)
				}
				for _, e := range events[:seen] {
					if e.Timestamp >= lo && e.Timestamp < hi {
						if err := fn(e); err != nil {
							return err
						}
					}
				}
				return nil
			}
			if err := u.Replay(context.Background(), scan); err != nil {
				t.Fatal(err)
			}
			if got := u.Used(qkey(7), usageNow); got != 11_00 || len(u.open) != 0 || u.Through() != events[len(events)-1].Timestamp {
				t.Errorf("seen %d, from %d: used %d, %d open, through %d; want 1100, 0, %d", seen, from, got, len(u.open),
					u.Through(), events[len(events)-1].Timestamp)
			}
			if _, err := u.Reserve(lid(1<<20), qkey(7), 1, usageNow); err != nil {
				t.Errorf("Reserve after Replay = %v", err)
			}
		}
	}
}
