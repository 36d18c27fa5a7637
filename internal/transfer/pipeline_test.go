package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/quote"
)

// TestParse: the first stage refuses malformed requests, each alone,
// and normalises the payee's alias.
func TestParse(t *testing.T) {
	f := newFixture(t, nil)
	ok := req("p.1", "b:1", 100)
	for _, c := range []struct {
		name string
		mod  func(*Request)
		err  error
	}{
		{"valid", func(*Request) {}, nil},
		{"empty id", func(r *Request) { r.ID = "" }, ErrInvalid},
		{"id with a space", func(r *Request) { r.ID = "a b" }, ErrInvalid},
		{"id too long", func(r *Request) { r.ID = strings.Repeat("x", IDMax+1) }, ErrInvalid},
		{"zero amount", func(r *Request) { r.Amount = 0 }, ErrInvalid},
		{"negative amount", func(r *Request) { r.Amount = -1 }, ErrInvalid},
		{"note too long", func(r *Request) { r.Note = strings.Repeat("n", NoteMax+1) }, ErrInvalid},
		{"no currency", func(r *Request) { r.Currency = 0 }, ErrInvalid},
		{"unknown alias type", func(r *Request) { r.PayeeType = "FAX" }, ErrInvalid},
		{"bad phone number", func(r *Request) { r.PayeeType, r.PayeeValue = "MSISDN", "12" }, ErrInvalid},
	} {
		r := ok
		c.mod(&r)
		p := payment{req: &r}
		err := f.s.parseOne(&f.a, &p)
		if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
		if err != nil && fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: kind %v", c.name, fault.KindOf(err))
		}
	}
	// A national number is read in the default region.
	p := payment{req: &Request{ID: "p.2", PayeeType: "MSISDN", PayeeValue: "138 0013 8000", Amount: 1, Currency: cny}}
	if err := f.s.parseOne(&f.a, &p); err != nil || p.rec.PayeeValue != "+8613800138000" || p.id != LedgerID("p.2") {
		t.Errorf("national number: %v, %q", err, p.rec.PayeeValue)
	}
	// The same id twice in one batch: the second is refused, the first
	// goes on.
	for _, n := range []int{2, smallBatch + 4} { // ids compared one by one, and through a map
		reqs := make([]Request, n)
		for i := range reqs {
			reqs[i] = req(fmt.Sprintf("p.%d", i), "b:1", 100)
		}
		reqs[1].ID = "" // refused, and not a duplicate of anything
		reqs[n-1].ID = reqs[0].ID
		b := f.s.newBatch(f.a, reqs, modeByPayee)
		f.s.parse(b)
		for i := range reqs {
			want := i == 1 || i == n-1
			if b.items[i].done != want || (b.out[i].Err != nil) != want {
				t.Errorf("batch of %d: payment %d refused %v (%v)", n, i, b.items[i].done, b.out[i].Err)
			}
		}
	}
}

// TestResolve: the payer must be active and in the currency; the alias
// must lead to another, active participant that takes the currency.
func TestResolve(t *testing.T) {
	f := newFixture(t, nil)
	usd := money.MustCurrency("USD")
	susp := f.participant("wallet-s", participant.Notify)
	if _, _, err := f.dir.Register(f.ctx, directory.Party{Type: directory.WALLET, Value: "s:1", Participant: susp.ID,
		Name: "S", Account: "s", Currency: cny}); err != nil {
		t.Fatal(err)
	}
	status := participant.Suspended
	if _, err := f.reg.Apply(f.ctx, susp.ID, participant.Update{Status: &status}); err != nil {
		t.Fatal(err)
	}
	suspended, _ := f.reg.Get(susp.ID)
	for _, c := range []struct {
		name  string
		payer participant.Participant
		r     Request
		err   error
	}{
		{"valid", f.a, req("r.1", "b:1", 100), nil},
		{"payer suspended", suspended, req("r.2", "b:1", 100), ErrSuspended},
		{"payer not in the currency", f.a, Request{ID: "r.3", PayeeType: "WALLET", PayeeValue: "b:1", Amount: 1, Currency: usd}, ErrCurrency},
		{"unknown alias", f.a, req("r.4", "nobody:1", 100), ErrUnknownParty},
		{"paying oneself", f.a, req("r.5", "a:1", 100), ErrSameParticipant},
		{"payee suspended", f.a, req("r.6", "s:1", 100), ErrSuspended},
	} {
		b := f.s.newBatch(c.payer, []Request{c.r}, modeByPayee)
		p := &b.items[0]
		if err := f.s.parseOne(&c.payer, p); err != nil {
			t.Fatalf("%s: parse: %v", c.name, err)
		}
		err := f.s.resolve(f.ctx, b, p)
		if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
			continue
		}
		if err == nil && (p.payee.ID != "wallet-b" || p.rec.PayeeAccount != "acct-b:1") {
			t.Errorf("%s: payee %s, account %q", c.name, p.payee.ID, p.rec.PayeeAccount)
		}
		if err != nil && fault.KindOf(err) != fault.Refused {
			t.Errorf("%s: kind %v, want refused", c.name, fault.KindOf(err))
		}
	}
}

// TestScreen: the Screener sees each payment with its resolved payee,
// and a refusal stops that payment alone, before anything is posted.
func TestScreen(t *testing.T) {
	var seen []Screening
	f := newFixture(t, func(d *Deps) {
		d.Screener = ScreenerFunc(func(_ context.Context, s *Screening) (Verdict, error) {
			seen = append(seen, *s)
			if s.Amount > 500 {
				return Verdict{}, ErrScreened
			}
			return Verdict{}, nil
		})
	})
	out := f.s.CreateMany(f.ctx, f.a, []Request{req("s.1", "b:1", 100), req("s.2", "b:1", 501), req("s.3", "b:1", 200)})
	if out[0].Err != nil || !errors.Is(out[1].Err, ErrScreened) || out[2].Err != nil {
		t.Fatalf("outcomes: %v, %v, %v", out[0].Err, out[1].Err, out[2].Err)
	}
	if len(seen) != 3 || seen[0].Payee.ID != "wallet-b" || seen[0].Payer.ID != "wallet-a" || seen[1].PayeeAccount != "acct-b:1" {
		t.Fatalf("screened %+v", seen)
	}
	if _, err := f.s.Get(f.ctx, Viewer{}, "s.2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused payment was posted: %v", err)
	}
	f.zeroSum()
}

// TestPrice: the legs come from the fee schedule, or from the quote the
// payer accepted while it holds.
func TestPrice(t *testing.T) {
	f := newFixture(t, nil)
	q := func(amount money.Amount, fee money.Amount, ttl time.Duration) string {
		return f.signer.Issue(quote.Quote{Payer: "wallet-a", PayeeType: "WALLET", PayeeValue: "b:1", PayeeParticipant: "wallet-b",
			Amount: amount, Fee: fee, Currency: cny, ExpiresAt: f.clk.now().Add(ttl)}).ID
	}
	for _, c := range []struct {
		name    string
		amount  money.Amount
		quoteID string
		fee     money.Amount // the fee leg's amount; 0: no fee leg
		err     error
	}{
		{"minimum fee", 100, "", 10, nil},   // 0.10 + 0.1 % of 1.00, at least 0.10
		{"rate", 100000, "", 110, nil},      // 0.10 + 0.1 % of 1,000.00
		{"capped", 100000000, "", 500, nil}, // at most 5.00
		{"quoted fee", 1000, q(1000, 7, time.Minute), 7, nil},
		{"quoted zero fee", 1000, q(1000, 0, time.Minute), 0, nil},
		{"quote for another amount", 1001, q(1000, 7, time.Minute), 0, ErrQuoteMismatch},
		{"expired quote", 1000, q(1000, 7, -time.Second), 0, ErrQuoteExpired},
		{"forged quote", 1000, "not-a-quote", 0, ErrQuoteMismatch},
	} {
		r := req("q.1", "b:1", c.amount)
		r.QuoteID = c.quoteID
		b := f.s.newBatch(f.a, []Request{r}, modeByPayee)
		p := &b.items[0]
		if err := f.s.parseOne(&f.a, p); err != nil {
			t.Fatal(err)
		}
		if err := f.s.resolve(f.ctx, b, p); err != nil {
			t.Fatal(err)
		}
		err := f.s.price(b, p)
		if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		want := []Leg{{Purpose: purpose.Payment, Debit: f.a.Account(cny), Credit: f.b.Account(cny), Amount: c.amount}}
		if c.fee > 0 {
			want = append(want, Leg{Purpose: purpose.Fee, Debit: f.a.Account(cny), Credit: participant.FeeAccount(cny), Amount: c.fee})
		}
		if !slices.Equal(p.legs, want) || p.rec.Fee != c.fee {
			t.Errorf("%s: legs %+v (fee %d), want %+v", c.name, p.legs, p.rec.Fee, want)
		}
	}
}

// TestCreateMany: a batch's payments are answered each on its own:
// posted, refused by the ledger, retried, or in conflict; the ledger
// sums to zero throughout.
func TestCreateMany(t *testing.T) {
	f := newFixture(t, nil)
	out := f.s.CreateMany(f.ctx, f.a, []Request{
		req("m.1", "b:1", 1000),
		req("m.2", "b:1", 100000000), // more than wallet-a holds
		req("m.3", "nobody:1", 1),
		req("m.4", "b:1", 2000),
	})
	if out[0].Err != nil || !out[0].Created || out[0].Transfer.State != Committed || out[0].Transfer.Fee != 11 {
		t.Errorf("m.1: %+v", out[0])
	}
	if !errors.Is(out[1].Err, ErrInsufficientFunds) || fault.CodeOf(out[1].Err) != "insufficient-funds" {
		t.Errorf("m.2: %v", out[1].Err)
	}
	if !errors.Is(out[2].Err, ErrUnknownParty) {
		t.Errorf("m.3: %v", out[2].Err)
	}
	if out[3].Err != nil || out[3].Transfer.Amount != 2000 {
		t.Errorf("m.4: %+v", out[3])
	}
	if got := f.legEvents("m.1"); !slices.Equal(got, paymentAndFee) {
		t.Errorf("m.1's legs on the ledger: %v", got)
	}
	// wallet-a paid 10.00 + 20.00 and two fees (0.11, 0.12).
	if a := f.account(f.a.Account(cny)); a.Balance != 100000-1000-2000-11-12 {
		t.Errorf("wallet-a's balance %d", a.Balance)
	}
	if fees := f.account(participant.FeeAccount(cny)); fees.Balance != 23 {
		t.Errorf("hub fees %d", fees.Balance)
	}
	// A retry is answered from the ledger, unchanged, even if the payee
	// was since suspended; other content under the same id conflicts.
	status := participant.Suspended
	if _, err := f.reg.Apply(f.ctx, f.b.ID, participant.Update{Status: &status}); err != nil {
		t.Fatal(err)
	}
	retry := req("m.1", "b:1", 1000)
	other := req("m.4", "b:1", 2001)
	again := f.s.CreateMany(f.ctx, f.a, []Request{retry, other})
	if again[0].Err != nil || again[0].Created || again[0].Transfer != out[0].Transfer {
		t.Errorf("retry: %+v, want %+v", again[0], out[0])
	}
	if !errors.Is(again[1].Err, ErrConflict) || fault.KindOf(again[1].Err) != fault.Conflict {
		t.Errorf("conflict: %v", again[1].Err)
	}
	if too := f.s.CreateMany(f.ctx, f.a, make([]Request, BatchMax+1)); !errors.Is(too[BatchMax].Err, ErrInvalid) {
		t.Errorf("oversized batch: %v", too[BatchMax].Err)
	}
	f.zeroSum()
}

// confirmer answers confirm-mode requests as told, by the transfer id's
// last character: a accept, r reject, s silence, e an error.
type confirmer struct{}

func (confirmer) Confirm(ctx context.Context, _ participant.Participant, t Transfer) (bool, string, error) {
	switch t.ID[len(t.ID)-1] {
	case 'a':
		return true, "", nil
	case 'r':
		return false, "no such account", nil
	case 's':
		<-ctx.Done()
		return false, "", ctx.Err()
	}
	return false, "", errors.New("dial tcp 10.0.0.7:443: connection refused")
}

// TestConfirm: a confirm-mode payee's answer commits or aborts every leg
// of its reserved payment together; silence and errors abort.
func TestConfirm(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.Confirmer = confirmer{} })
	out := f.s.CreateMany(f.ctx, f.a, []Request{req("c.a", "c:1", 1000), req("c.r", "c:1", 1000), req("c.s", "c:1", 1000), req("c.e", "c:1", 1000)})
	for i, want := range []struct {
		state  State
		reason string
	}{{Committed, ""}, {Aborted, "rejected: no such account"}, {Aborted, "timeout"}, {Aborted, "payee unreachable"}} {
		o := out[i]
		if o.Err != nil || !o.Created || o.Transfer.State != want.state || o.Transfer.Reason != want.reason {
			t.Errorf("%s: %+v, want %s %q", o.Transfer.ID, o, want.state, want.reason)
		}
		got, err := f.s.Get(f.ctx, Viewer{}, o.Transfer.ID)
		if err != nil || got.State != want.state || got.Reason != want.reason {
			t.Errorf("%s as stored: %+v, %v", o.Transfer.ID, got, err)
		}
	}
	// One payment and its fee moved; nothing stays reserved.
	if a := f.account(f.a.Account(cny)); a.Balance != 100000-1000-11 || a.Reserved != 0 {
		t.Errorf("wallet-a: %+v", a)
	}
	if c := f.account(f.c.Account(cny)); c.Balance != 100000+1000 {
		t.Errorf("bank-c: %+v", c)
	}
	f.zeroSum()
}

// TestQuote: a quote is priced by the same stages as a payment, and a
// payment naming it gets its fee.
func TestQuote(t *testing.T) {
	f := newFixture(t, nil)
	q, err := f.s.Quote(f.ctx, f.a, req("", "b:1", 1000))
	if err != nil || q.Fee != 11 || q.Payee.Participant != "wallet-b" || !q.ExpiresAt.Equal(f.clk.now().Add(time.Minute)) {
		t.Fatalf("quote %+v, %v", q, err)
	}
	if err := f.fees.Set(f.ctx, quote.Schedule{Currency: cny, Fixed: 99}); err != nil {
		t.Fatal(err)
	}
	r := req("qq.1", "b:1", 1000)
	r.QuoteID = q.ID
	tr, _, err := f.s.Create(f.ctx, f.a, r)
	if err != nil || tr.Fee != 11 || tr.QuoteID != q.ID {
		t.Fatalf("paid with the quote: %+v, %v", tr, err)
	}
	if _, err := f.s.Quote(f.ctx, f.a, req("", "a:1", 1000)); !errors.Is(err, ErrSameParticipant) {
		t.Errorf("quote to oneself: %v", err)
	}
}

// confirmFunc answers confirm requests with a function.
type confirmFunc func(ctx context.Context, payee participant.Participant, t Transfer) (bool, string, error)

func (f confirmFunc) Confirm(ctx context.Context, payee participant.Participant, t Transfer) (bool, string, error) {
	return f(ctx, payee, t)
}

// TestConfirmPayeeSuspendedMeanwhile: a payee suspended (or closed)
// while it is asked does not receive the money, even if it accepts.
func TestConfirmPayeeSuspendedMeanwhile(t *testing.T) {
	var f *fixture
	f = newFixture(t, func(d *Deps) {
		d.Confirmer = confirmFunc(func(ctx context.Context, payee participant.Participant, _ Transfer) (bool, string, error) {
			st := participant.Suspended
			if _, err := f.reg.Apply(ctx, payee.ID, participant.Update{Status: &st}); err != nil {
				t.Error(err)
			}
			return true, "", nil
		})
	})
	out := f.s.CreateMany(f.ctx, f.a, []Request{req("cs.1", "c:1", 1000)})
	if o := out[0]; o.Err != nil || o.Transfer.State != Aborted {
		t.Fatalf("payment to a payee suspended while asked: %+v", o)
	}
	if c := f.account(f.c.Account(cny)); c.Balance != 100000 {
		t.Errorf("bank-c received money while suspended: %+v", c)
	}
	f.zeroSum()
}

// TestAccountPayee: an ACCOUNT payee names a participant and its own
// account: well-formed or refused as invalid, resolved without the
// directory, and refused like an alias when the participant is unknown,
// the payer, suspended or not in the currency.
func TestAccountPayee(t *testing.T) {
	f := newFixture(t, nil)
	acct := func(id, value string) Request {
		return Request{ID: id, PayeeType: AccountType, PayeeValue: value, Amount: 100, Currency: cny}
	}
	usd := acct("x.usd", "wallet-b/1")
	usd.Currency = money.MustCurrency("USD")
	long := strings.Repeat("9", AccountMax+1)
	for _, c := range []struct {
		name     string
		r        Request
		parseErr error
		err      error
	}{
		{"valid", acct("x.1", "wallet-b/6222 0001/77"), nil, nil},
		{"no slash", acct("x.2", "wallet-b"), ErrInvalid, nil},
		{"no account", acct("x.3", "wallet-b/"), ErrInvalid, nil},
		{"blank account", acct("x.4", "wallet-b/  "), ErrInvalid, nil},
		{"control character", acct("x.5", "wallet-b/12\n3"), ErrInvalid, nil},
		{"too long", acct("x.6", "wallet-b/"+long), ErrInvalid, nil},
		{"bad participant", acct("x.7", "Wallet B/1"), ErrInvalid, nil},
		{"unknown participant", acct("x.8", "wallet-zz/1"), nil, ErrUnknownParty},
		{"paying oneself", acct("x.9", "wallet-a/1"), nil, ErrSameParticipant},
		{"another currency", usd, nil, ErrCurrency},
	} {
		b := f.s.newBatch(f.a, []Request{c.r}, modeByPayee)
		p := &b.items[0]
		err := f.s.parseOne(&f.a, p)
		if !errors.Is(err, c.parseErr) || (c.parseErr == nil) != (err == nil) {
			t.Errorf("%s: parse: %v, want %v", c.name, err, c.parseErr)
			continue
		}
		if err != nil {
			continue
		}
		err = f.s.resolve(f.ctx, b, p)
		if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
			continue
		}
		if err == nil && (p.payee.ID != "wallet-b" || p.rec.PayeeAccount != "6222 0001/77" || p.rec.PayeeType != AccountType) {
			t.Errorf("%s: payee %s, account %q, type %q", c.name, p.payee.ID, p.rec.PayeeAccount, p.rec.PayeeType)
		}
	}
	// Paid end to end: the payee sees the account.
	out := f.s.CreateMany(f.ctx, f.a, []Request{acct("x.paid", "wallet-b/6222")})
	if out[0].Err != nil || out[0].Transfer.State != Committed || out[0].Transfer.Payee.Account != "6222" {
		t.Fatalf("paid to an account: %+v %v", out[0].Transfer, out[0].Err)
	}
}
