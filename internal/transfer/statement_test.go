package transfer

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
)

// TestStatement: a statement of a window holds every booked movement of
// the account in it — payments out with their fees, payments in,
// commits of reservations at their commit, deposits — named by what
// moved the money, and its balances agree with the account: the closing
// is the opening plus credits minus debits, and the movements after the
// window are not in it.
func TestStatement(t *testing.T) {
	f := newFixture(t, nil)
	f.clk.advance(time.Hour)
	from := f.clk.now()
	f.clk.advance(time.Minute)
	fees := map[string]int64{}
	t1, _, err := f.s.Create(f.ctx, f.a, req("s.1", "b:1", 1000))
	if err != nil {
		t.Fatal(err)
	}
	fees["s.1"] = int64(t1.Fee)
	f.clk.advance(time.Minute)
	if _, _, err := f.s.Create(f.ctx, f.b, req("s.2", "a:1", 300)); err != nil {
		t.Fatal(err)
	}
	f.clk.advance(time.Minute)
	t3, _, err := f.s.Prepare(f.ctx, f.a, req("s.3", "b:1", 200), f.clk.now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	fees["s.3"] = int64(t3.Fee)
	f.clk.advance(time.Minute)
	if _, _, err := f.s.Fulfil(f.ctx, f.b, "s.3"); err != nil {
		t.Fatal(err)
	}
	f.clk.advance(time.Minute)
	f.deposit(f.a, 5000)
	f.clk.advance(time.Minute)
	to := f.clk.now()
	f.clk.advance(time.Minute)
	t4, _, err := f.s.Create(f.ctx, f.a, req("s.4", "b:1", 700))
	if err != nil {
		t.Fatal(err)
	}
	fees["s.4"] = int64(t4.Fee)

	st, err := f.s.Statement(f.ctx, f.a, cny, from, to, 1)
	if err != nil {
		t.Fatal(err)
	}
	type mv struct {
		kind, ref string
		amount    int64
		credit    bool
	}
	var got []mv
	var net int64
	for _, m := range st.Movements {
		got = append(got, mv{m.Kind, m.Ref, int64(m.Amount), m.Credit})
		if m.Credit {
			net += int64(m.Amount)
		} else {
			net -= int64(m.Amount)
		}
		if m.At.Before(from) || !m.At.Before(to) {
			t.Errorf("movement %+v outside the window", m)
		}
	}
	want := []mv{
		{"payment", "s.1", 1000, false}, {"fee", "s.1", fees["s.1"], false},
		{"payment", "s.2", 300, true},
		{"payment", "s.3", 200, false}, {"fee", "s.3", fees["s.3"], false},
	}
	if len(got) < len(want) {
		t.Fatalf("movements %+v, want at least %+v", got, want)
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("movement %d: %+v, want %+v", i, got[i], w)
		}
	}
	if last := got[len(got)-1]; last.kind != "deposit" || last.amount != 5000 || !last.credit {
		t.Errorf("last movement %+v, want the deposit", last)
	}
	if int64(st.Closing)-int64(st.Opening) != net {
		t.Errorf("opening %d + net %d != closing %d", st.Opening, net, st.Closing)
	}
	if st.Page != 1 || !st.LastPage {
		t.Errorf("page %d, last %v: one page", st.Page, st.LastPage)
	}
	if st.Opening != 100000 {
		t.Errorf("opening %d, want the first deposit 100000", st.Opening)
	}
	// The account now: the closing, less what moved after the window.
	if a := f.account(f.a.Account(cny)); int64(a.Balance) != int64(st.Closing)-700-fees["s.4"] {
		t.Errorf("balance %d, closing %d", a.Balance, st.Closing)
	}
}

// TestStatementPages: a window read in pages of a few movements gives
// the same movements as one page, in order; each page opens where the
// one before closed; a fee never starts a page away from its payment;
// past the last page is ErrNoPage.
func TestStatementPages(t *testing.T) {
	f := newFixture(t, nil)
	f.clk.advance(time.Hour)
	from := f.clk.now()
	for i := range 7 {
		f.clk.advance(time.Second)
		if _, _, err := f.s.Create(f.ctx, f.a, req("pg."+string(rune('a'+i)), "b:1", 100+money.Amount(i))); err != nil {
			t.Fatal(err)
		}
	}
	f.clk.advance(time.Second)
	to := f.clk.now()
	acct := f.a.Account(cny)
	whole, err := f.s.statementOf(f.ctx, acct, from, to, 1, StatementPage)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Movements) != 14 { // 7 payments and their fees
		t.Fatalf("%d movements, want 14", len(whole.Movements))
	}
	for _, size := range []int{1, 2, 3, 5, 14, 20} {
		var all []Movement
		opening := whole.Opening
		for page := 1; ; page++ {
			st, err := f.s.statementOf(f.ctx, acct, from, to, page, size)
			if err != nil {
				t.Fatalf("size %d page %d: %v", size, page, err)
			}
			if st.Opening != opening {
				t.Errorf("size %d page %d opens at %d, the page before closed at %d", size, page, st.Opening, opening)
			}
			if len(st.Movements) == 0 || st.Movements[0].Kind == "fee" || len(st.Movements) > size+1 {
				t.Errorf("size %d page %d: %+v", size, page, st.Movements)
			}
			all = append(all, st.Movements...)
			opening = st.Closing
			if st.LastPage {
				if _, err := f.s.statementOf(f.ctx, acct, from, to, page+1, size); !errors.Is(err, ErrNoPage) {
					t.Errorf("size %d: past the last page: %v", size, err)
				}
				break
			}
		}
		if !slices.Equal(all, whole.Movements) || opening != whole.Closing {
			t.Errorf("size %d: the pages differ from the whole", size)
		}
	}
	if _, err := f.s.Statement(f.ctx, f.a, cny, from, to, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("page 0: %v", err)
	}
}
