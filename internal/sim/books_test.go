package sim

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hulian/hulian/internal/money"
)

var cny = money.MustCurrency("CNY")

func mustVerify(t *testing.T, b *Books) {
	t.Helper()
	if err := b.Verify(); err != nil {
		t.Fatalf("books: %v", err)
	}
}

func TestBooksPayments(t *testing.T) {
	b := NewBooks(cny)
	if err := b.Open("alice", "王伟", 100_00); err != nil {
		t.Fatal(err)
	}
	if err := b.Open("bob", "李娜", 0); err != nil {
		t.Fatal(err)
	}
	b.Deposit(100_00)

	// A hold makes the money unavailable to a second payment.
	if err := b.Hold("t1", "alice", 60_00, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Hold("t2", "alice", 60_00, 0); !errors.Is(err, ErrBalance) {
		t.Fatalf("second hold: %v, want ErrBalance", err)
	}
	if err := b.Hold("t1", "alice", 1_00, 0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("reused id: %v, want ErrDuplicate", err)
	}
	if err := b.Hold("t3", "nobody", 1_00, 0); !errors.Is(err, ErrNoUser) {
		t.Fatalf("unknown user: %v, want ErrNoUser", err)
	}
	mustVerify(t, b)

	// Committed: debited once, with the fee paid by the participant, not
	// charged to the user.
	if err := b.Commit("t1", 16, false); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit("t1", 16, false); err != nil {
		t.Fatalf("second commit: %v", err)
	}
	if err := b.Release("t1"); err == nil {
		t.Fatal("released a committed payment")
	}
	u, _ := b.User("alice")
	if u.Balance != 40_00 || u.Held != 0 {
		t.Fatalf("alice: %+v", u)
	}

	// Refused: the hold is released, nothing debited.
	if err := b.Hold("t4", "alice", 30_00, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Release("t4"); err != nil {
		t.Fatal(err)
	}
	if err := b.Release("t4"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if err := b.Commit("t4", 0, false); err == nil {
		t.Fatal("committed a released payment")
	}
	u, _ = b.User("alice")
	if u.Balance != 40_00 || u.Held != 0 {
		t.Fatalf("alice after release: %+v", u)
	}

	// Incoming: credited once however often notified.
	for range 3 {
		if _, err := b.Credit("in-1", "bob", 25_00); err != nil {
			t.Fatal(err)
		}
	}
	s := b.Summary()
	if s.Received != 25_00 || s.NReceived != 1 || s.Duplicates != 2 {
		t.Fatalf("summary after redelivery: %+v", s)
	}
	u, _ = b.User("bob")
	if u.Balance != 25_00 {
		t.Fatalf("bob: %+v", u)
	}
	mustVerify(t, b)
	// position = 100.00 − 60.00 − 0.16 + 25.00
	if got := s.Position(); got != 64_84 {
		t.Errorf("position %s", got.Format(cny))
	}
	if s.UsersTotal != s.ExpectedUsersTotal() || s.UsersTotal != 65_00 {
		t.Errorf("users total %s, expected %s", s.UsersTotal.Format(cny), s.ExpectedUsersTotal().Format(cny))
	}
}

func TestBooksFeesCharged(t *testing.T) {
	b := NewBooks(cny)
	b.Open("carol", "Zhang Min", 10_00)
	// The hold covers amount and the largest fee; the user is charged the
	// actual fee.
	if err := b.Hold("t1", "carol", 9_00, 5_00); !errors.Is(err, ErrBalance) {
		t.Fatalf("hold beyond the balance: %v", err)
	}
	if err := b.Hold("t1", "carol", 9_00, 1_00); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit("t1", 10, true); err != nil {
		t.Fatal(err)
	}
	u, _ := b.User("carol")
	if u.Balance != 90 || u.Held != 0 {
		t.Fatalf("carol: %+v", u)
	}
	s := b.Summary()
	if s.FeesPaid != 10 || s.FeesCharged != 10 || s.Sent != 9_00 {
		t.Fatalf("summary: %+v", s)
	}
	mustVerify(t, b)
}

func TestBooksClosedAccount(t *testing.T) {
	b := NewBooks(cny)
	b.Open("dave", "赵强", 5_00)
	b.Close("dave")
	if b.CanReceive("dave") || b.CanReceive("nobody") {
		t.Fatal("closed or unknown accounts can receive")
	}
	// A notified transfer to a closed account is received into suspense.
	if ok, err := b.Credit("in-1", "dave", 3_00); !ok || err != nil {
		t.Fatalf("credit: %v %v", ok, err)
	}
	s := b.Summary()
	if s.Suspense != 3_00 || s.UsersTotal != 8_00 {
		t.Fatalf("summary: %+v", s)
	}
	if err := b.Hold("t1", "dave", 1_00, 0); !errors.Is(err, ErrNoUser) {
		t.Fatalf("hold on a closed account: %v", err)
	}
	// Money in suspense is no user's: nobody can refund it.
	if u, a, ok := b.CreditedTo("in-1"); ok {
		t.Fatalf("suspense credited to %q %d", u, a)
	}
	mustVerify(t, b)
}

// TestBooksRefund: a refund is an outgoing payment of the user an
// incoming one credited, without a fee; the other side credits it.
func TestBooksRefund(t *testing.T) {
	shop, payer := NewBooks(cny), NewBooks(cny)
	shop.Open("m-01", "Lanzhou Noodles", 0)
	payer.Open("u-1", "王伟", 100_00)
	if err := payer.Hold("qr-1", "u-1", 68_00, 0); err != nil {
		t.Fatal(err)
	}
	payer.Commit("qr-1", 17, false)
	shop.Credit("qr-1", "m-01", 68_00)
	user, amount, ok := shop.CreditedTo("qr-1")
	if !ok || user != "m-01" || amount != 68_00 {
		t.Fatalf("credited to %q %d %v", user, amount, ok)
	}
	if _, _, ok := shop.CreditedTo("qr-404"); ok {
		t.Fatal("credited a transfer never received")
	}
	if err := shop.Hold("rf-1", user, 20_00, 0); err != nil {
		t.Fatal(err)
	}
	shop.Commit("rf-1", 0, true)
	payer.Credit("rf-1", "u-1", 20_00)
	for name, tc := range map[string]struct {
		b       *Books
		user    string
		balance int64
	}{"merchant": {shop, "m-01", 48_00}, "payer": {payer, "u-1", 52_00}} {
		if u, _ := tc.b.User(tc.user); int64(u.Balance) != tc.balance || u.Held != 0 {
			t.Errorf("%s: %+v, want balance %d", name, u, tc.balance)
		}
		mustVerify(t, tc.b)
	}
}

func TestBooksConcurrent(t *testing.T) {
	// Many goroutines spending the same users' money: holds never let the
	// balances go negative, and the books still add up.
	b := NewBooks(cny)
	for i := range 10 {
		b.Open(fmt.Sprint("u", i), "user", 100_00)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprintf("g%d-%d", g, i)
				user := fmt.Sprint("u", i%10)
				if err := b.Hold(id, user, 7_00, 0); err != nil {
					continue
				}
				if i%3 == 0 {
					b.Release(id)
				} else {
					b.Commit(id, 10, false)
				}
				b.Credit("in-"+id, fmt.Sprint("u", (i+1)%10), 1_00)
			}
		})
	}
	wg.Wait()
	mustVerify(t, b)
	s := b.Summary()
	if s.Open != 0 || s.Held != 0 {
		t.Errorf("open holds: %+v", s)
	}
}

// TestBooksUnsent: a mandate's pulls and a dispute's paybacks are debits
// the participant did not send. They draw on the earmark first, are
// booked once by id, and one beyond the user's money is an overdraft,
// with the books still adding up.
func TestBooksUnsent(t *testing.T) {
	type debit struct {
		id, key      string
		amount, fee  money.Amount
		chargeUser   bool
		wantBooked   bool
		wantErr      error
		wantBalance  money.Amount
		wantHeld     money.Amount
		wantOverdraw money.Amount
	}
	for _, tc := range []struct {
		name       string
		opening    money.Amount
		earmark    money.Amount
		spend      money.Amount // held by a payment in flight after the earmark
		debits     []debit
		replenish  bool
		wantFull   bool
		overdrafts int
	}{
		{name: "pull from the earmark, replenished", opening: 100_00, earmark: 30_00, replenish: true, wantFull: true,
			debits: []debit{{id: "p1", key: "mandate/m1", amount: 20_00, fee: 13, wantBooked: true, wantBalance: 80_00, wantHeld: 10_00}}},
		{name: "redelivered", opening: 100_00, earmark: 30_00,
			debits: []debit{
				{id: "p1", key: "mandate/m1", amount: 20_00, wantBooked: true, wantBalance: 80_00, wantHeld: 10_00},
				{id: "p1", key: "mandate/m1", amount: 20_00, wantBalance: 80_00, wantHeld: 10_00}}},
		{name: "same id, other amount", opening: 100_00, earmark: 30_00,
			debits: []debit{
				{id: "p1", key: "mandate/m1", amount: 20_00, wantBooked: true, wantBalance: 80_00, wantHeld: 10_00},
				{id: "p1", key: "mandate/m1", amount: 21_00, wantErr: ErrDuplicate, wantBalance: 80_00, wantHeld: 10_00}}},
		{name: "fee charged to the user", opening: 100_00, earmark: 35_00,
			debits: []debit{{id: "p1", key: "mandate/m1", amount: 30_00, fee: 5_00, chargeUser: true, wantBooked: true,
				wantBalance: 65_00, wantHeld: 0}}},
		{name: "no earmark: from the available balance", opening: 100_00,
			debits: []debit{{id: "d1", amount: 40_00, wantBooked: true, wantBalance: 60_00}}},
		{name: "spent meanwhile: replenished in part", opening: 100_00, earmark: 30_00, spend: 65_00, replenish: true,
			debits: []debit{{id: "p1", key: "mandate/m1", amount: 30_00, wantBooked: true, wantBalance: 70_00, wantHeld: 65_00}}},
		{name: "beyond the earmark and the balance: overdraft", opening: 50_00, earmark: 30_00, spend: 20_00, overdrafts: 1,
			debits: []debit{
				{id: "p1", key: "mandate/m1", amount: 30_00, wantBooked: true, wantBalance: 20_00, wantHeld: 20_00},
				{id: "p2", key: "mandate/m1", amount: 30_00, wantBooked: true, wantBalance: -10_00, wantHeld: 20_00, wantOverdraw: 30_00}}},
		{name: "unknown user", opening: 100_00,
			debits: []debit{{id: "p1", amount: 1_00, wantErr: ErrNoUser, wantBalance: 100_00}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBooks(cny)
			b.Open("alice", "王伟", tc.opening)
			b.Deposit(tc.opening)
			if tc.earmark > 0 {
				if err := b.Earmark("mandate/m1", "alice", tc.earmark); err != nil {
					t.Fatal(err)
				}
			}
			if tc.spend > 0 {
				if err := b.Hold("pay1", "alice", tc.spend, 0); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range tc.debits {
				user := "alice"
				if errors.Is(d.wantErr, ErrNoUser) {
					user = "nobody"
				}
				booked, err := b.Debit(d.id, user, d.key, d.amount, d.fee, d.chargeUser)
				if booked != d.wantBooked || !errors.Is(err, d.wantErr) {
					t.Fatalf("debit %s: %v %v, want %v %v", d.id, booked, err, d.wantBooked, d.wantErr)
				}
				u, _ := b.User("alice")
				if u.Balance != d.wantBalance || u.Held != d.wantHeld || u.Overdraft != d.wantOverdraw {
					t.Fatalf("after %s: %+v, want balance %d held %d overdraft %d", d.id, u, d.wantBalance, d.wantHeld, d.wantOverdraw)
				}
				mustVerify(t, b)
			}
			if tc.replenish {
				if full := b.Replenish("mandate/m1"); full != tc.wantFull {
					t.Errorf("replenished full %v, want %v", full, tc.wantFull)
				}
				if u, _ := b.User("alice"); u.Held > u.Balance {
					t.Errorf("replenished beyond the balance: %+v", u)
				}
				mustVerify(t, b)
			}
			b.Unmark("mandate/m1")
			s := b.Summary()
			if s.Earmarked != 0 || s.Overdrafts != tc.overdrafts || s.UsersTotal != s.ExpectedUsersTotal() {
				t.Errorf("summary %+v, want %d overdrafts", s, tc.overdrafts)
			}
			mustVerify(t, b)
		})
	}
}

func TestBooksEarmark(t *testing.T) {
	b := NewBooks(cny)
	b.Open("alice", "王伟", 100_00)
	b.Open("gone", "李娜", 100_00)
	b.Close("gone")
	for _, tc := range []struct {
		key, user string
		amount    money.Amount
		want      error
	}{
		{"mandate/m1", "alice", 60_00, nil},
		{"mandate/m1", "alice", 1_00, ErrDuplicate},
		{"mandate/m2", "alice", 40_01, ErrBalance},
		{"mandate/m3", "gone", 1_00, ErrNoUser},
		{"mandate/m4", "nobody", 1_00, ErrNoUser},
	} {
		if err := b.Earmark(tc.key, tc.user, tc.amount); !errors.Is(err, tc.want) {
			t.Errorf("earmark %s of %s for %d: %v, want %v", tc.key, tc.user, tc.amount, err, tc.want)
		}
	}
	// The earmark leaves the user less to spend.
	if err := b.Hold("t1", "alice", 40_01, 0); !errors.Is(err, ErrBalance) {
		t.Errorf("hold beyond the earmark: %v", err)
	}
	mustVerify(t, b)
	if got := b.Unmark("mandate/m1"); got != 60_00 {
		t.Errorf("unmarked %d", got)
	}
	if u, _ := b.User("alice"); u.Held != 0 {
		t.Errorf("after unmark: %+v", u)
	}
	mustVerify(t, b)
}

// TestBooksFX: an FX payment in the books of its three participants. The
// payer's user pays the source amount and the provider's fee (and the
// scheme fee if the participant charges it); the payee credits the
// target amount in its currency; the provider credits the source amount
// and its fee in the source currency and is debited the target amount in
// the target currency. Each book's equations hold, and a redelivery or a
// second reading changes nothing.
func TestBooksFX(t *testing.T) {
	hkd := money.MustCurrency("HKD")
	const (
		source money.Amount = 100_00 // CNY
		fee    money.Amount = 20     // the scheme fee, CNY
		fxFee  money.Amount = 35     // the provider's, CNY
		target money.Amount = 108_50 // HKD
	)
	for _, tc := range []struct {
		name        string
		chargeUser  bool
		wantBalance money.Amount // the paying user's, from 200.00
	}{
		{"wallet absorbs the scheme fee", false, 200_00 - source - fxFee},
		{"bank charges the scheme fee", true, 200_00 - source - fxFee - fee},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payer := NewBooks(cny)
			payer.Open("alice", "王伟", 200_00)
			payer.Deposit(200_00)
			// The hold covers the amount and both fees: what is left is
			// too little for the same payment again.
			if err := payer.HoldFX("fx-1", "alice", source, fxFee, fee); err != nil {
				t.Fatal(err)
			}
			if err := payer.HoldFX("fx-2", "alice", source, fxFee, fee); !errors.Is(err, ErrBalance) {
				t.Fatalf("second hold: %v, want ErrBalance", err)
			}
			if o, _ := payer.Outgoing("fx-1"); o.Hold != source+fxFee+fee || o.FXFee != fxFee {
				t.Fatalf("held %+v", o)
			}
			for range 2 {
				if err := payer.Commit("fx-1", fee, tc.chargeUser); err != nil {
					t.Fatal(err)
				}
			}
			u, _ := payer.User("alice")
			s := payer.Summary()
			if u.Balance != tc.wantBalance || u.Held != 0 || s.Sent != source || s.FeesPaid != fee || s.FXFeesPaid != fxFee {
				t.Fatalf("payer: %+v, %+v", u, s)
			}
			// The participant's position pays all three: amount, scheme
			// fee and provider fee.
			if got := s.Position(); got != 200_00-source-fee-fxFee {
				t.Errorf("payer's position %s", got.Format(cny))
			}
			if s.UsersTotal != s.ExpectedUsersTotal() {
				t.Errorf("payer's users %s, expected %s", s.UsersTotal.Format(cny), s.ExpectedUsersTotal().Format(cny))
			}
			mustVerify(t, payer)

			payee := NewBooks(hkd)
			payee.Open("hk-1", "Chan Tai Man", 0)
			for range 2 {
				payee.Credit("fx-1", "hk-1", target)
			}
			if u, _ := payee.User("hk-1"); u.Balance != target {
				t.Errorf("payee: %+v", u)
			}
			mustVerify(t, payee)

			in, out := NewBooks(cny), NewBooks(hkd)
			for _, b := range []*Books{in, out} {
				b.Open(FXTreasury, "treasury", 1_000_000_00)
				b.Deposit(500_00)
			}
			for range 2 {
				if _, err := in.CreditFX("fx-1", FXTreasury, source, fxFee); err != nil {
					t.Fatal(err)
				}
				if _, err := out.Debit("fx-1", FXTreasury, "", target, 0, false); err != nil {
					t.Fatal(err)
				}
			}
			si, so := in.Summary(), out.Summary()
			if si.Position() != 500_00+source+fxFee || so.Position() != 500_00-target || si.NReceived != 1 || so.NSent != 1 ||
				si.Duplicates != 1 || si.FXFeesEarned != fxFee {
				t.Errorf("provider: CNY %+v, HKD %+v", si, so)
			}
			for _, b := range []*Books{in, out} {
				mustVerify(t, b)
				if s := b.Summary(); s.UsersTotal != s.ExpectedUsersTotal() {
					t.Errorf("%s users %d, expected %d", b.Currency(), s.UsersTotal, s.ExpectedUsersTotal())
				}
			}

			// The reconciliation uploads say what the switch's lines say:
			// the payer sent the source amount, the provider received it
			// in CNY and sent the target in HKD, the payee received that.
			for _, c := range []struct {
				b    *Books
				want string
			}{
				{payer, "fx-1,100.00,debit,COMMITTED"},
				{in, "fx-1,100.00,credit,COMMITTED"},
				{out, "fx-1,108.50,debit,COMMITTED"},
				{payee, "fx-1,108.50,credit,COMMITTED"},
			} {
				var sb strings.Builder
				c.b.Records(&sb)
				if got := strings.Split(strings.TrimSpace(sb.String()), "\n"); len(got) != 2 || got[1] != c.want {
					t.Errorf("%s records %q, want %q", c.b.Currency(), got, c.want)
				}
			}
		})
	}
	// An FX provider's fee is never negative; an FX hold's amount positive.
	b := NewBooks(cny)
	b.Open("alice", "王伟", 10_00)
	if err := b.HoldFX("x", "alice", 1_00, -1, 0); err == nil {
		t.Error("negative FX fee held")
	}
	if _, err := b.CreditFX("y", "alice", 1_00, -1); err == nil {
		t.Error("negative FX fee credited")
	}
}
