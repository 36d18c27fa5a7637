package velocity

import (
	"testing"
)

// FuzzSlots feeds one key's slots, wide or inline by the parity of the
// input's length, a sequence of transfers (a step forward or back in time
// and an amount each) and checks after every one the invariants of view
// and that no window under-counts, nor over-counts while the key is
// sparse.
func FuzzSlots(f *testing.F) {
	f.Add([]byte{0, 1, 0, 5, 0, 9, 0, 3})
	f.Add([]byte{0, 1, 0, 5, 0, 9, 0, 3, 9, 2, 200, 4, 1})
	f.Add([]byte("a steady stream of transfers with some going back in time"))
	f.Add(make([]byte, 200))
	f.Add(make([]byte, 201))
	f.Fuzz(func(t *testing.T, ops []byte) {
		const window = 600
		var sm small
		var wd wide
		s := wd.view()
		capacity := wideMax
		if len(ops)%2 == 1 {
			s, capacity = sm.view(), inlineMax
		}
		type ev struct {
			sec    uint32
			amount int64
		}
		var evs []ev
		clock := uint32(1_000_000)
		var ref uint32
		dense := false
		for len(ops) >= 2 {
			step, amount := int(int8(ops[0])), int64(ops[1])
			ops = ops[2:]
			if step >= 0 {
				clock += uint32(step) * uint32(step) // up to ~4.5 h a step
			}
			sec := clock
			if step < 0 {
				sec = clock - uint32(-step)%200 // out of order, within the window
			}
			ref = max(ref, sec)
			s.add(sec, ref, window, amount)
			if sec+window >= ref {
				evs = append(evs, ev{sec, amount})
			}
			distinct := map[uint32]bool{}
			for _, e := range evs {
				if e.sec+window >= ref {
					distinct[e.sec] = true
				}
			}
			dense = dense || len(distinct) > capacity

			n := s.n()
			if n > capacity || s.merged()>>n != 0 {
				t.Fatalf("n %d, merged %b", n, s.merged())
			}
			for i := range n {
				if i > 0 && s.last[i-1] >= s.last[i] {
					t.Fatalf("slots not sorted: %v", s.last[:n])
				}
				if s.lo(i) > s.last[i] {
					t.Fatalf("slot %d: lo %d after last %d", i, s.lo(i), s.last[i])
				}
			}
			for _, back := range []uint32{0, 1, 7, 60, 300, window} {
				from := ref - back
				c, sum := s.since(from)
				var wc, ws int64
				for _, e := range evs {
					if e.sec >= from {
						wc++
						ws += e.amount
					}
				}
				if c < wc || sum < ws || (!dense && (c != wc || sum != ws)) {
					t.Fatalf("since(ref-%d) = (%d, %d), exact (%d, %d), dense %v", back, c, sum, wc, ws, dense)
				}
			}
		}
	})
}
