package participant_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/testbed"
)

var (
	cny = money.MustCurrency("CNY")
	usd = money.MustCurrency("USD")
	eur = money.MustCurrency("EUR")
)

// env is a registry on real parts (see testbed) whose clock moves a
// millisecond at every reading, so that every change and every ledger
// batch has a time of its own, as on a real machine.
type env struct {
	*testbed.Bed
	t   *testing.T
	ctx context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := testbed.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), time.Millisecond)
	return &env{Bed: testbed.Open(t, testbed.Options{Now: clk.Now}), t: t, ctx: context.Background()}
}

// statusMarks returns the Meta of every participant-status mark on the
// ledger, oldest first.
func (e *env) statusMarks() []string {
	e.t.Helper()
	var out []string
	err := e.Journal.Scan(e.ctx, 0, math.MaxInt64, func(ev ledger.Event) error {
		if ev.Kind == ledger.KindMark && ev.Purpose == purpose.Status {
			out = append(out, ev.Meta)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// sameParticipant says how a and b differ, comparing times as instants
// (a time read back from the database has no monotonic reading) and
// everything else, credentials included, exactly.
func sameParticipant(a, b participant.Participant) string {
	if !a.CreatedAt.Equal(b.CreatedAt) || !a.UpdatedAt.Equal(b.UpdatedAt) {
		return fmt.Sprintf("times %v/%v, want %v/%v", a.CreatedAt, a.UpdatedAt, b.CreatedAt, b.UpdatedAt)
	}
	a.CreatedAt, a.UpdatedAt, b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("%+v, want %+v", a, b)
	}
	return ""
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	var seventeen []money.Currency
	for _, code := range strings.Fields("CNY USD EUR GBP JPY HKD SGD AUD CAD CHF SEK NOK DKK NZD KRW INR THB") {
		seventeen = append(seventeen, money.MustCurrency(code))
	}
	sixteen := seventeen[:16]
	longURL := func(n int) string { return "https://example.com/" + strings.Repeat("x", n-len("https://example.com/")) }

	tests := []struct {
		name string
		edit func(*participant.New)
		ok   bool
	}{
		{"minimal", func(n *participant.New) {}, true},
		// ids: the id is the prefix of the API key ("<id>.<secret>"), so
		// anything but a-z, 0-9 and '-' (a '.' above all) must be refused.
		{"id two characters", func(n *participant.New) { n.ID = "w2" }, true},
		{"id 32 characters", func(n *participant.New) { n.ID = strings.Repeat("a", participant.IDMax) }, true},
		{"id with dashes and digits", func(n *participant.New) { n.ID = "0-bank-9" }, true},
		{"id empty", func(n *participant.New) { n.ID = "" }, false},
		{"id one character", func(n *participant.New) { n.ID = "w" }, false},
		{"id 33 characters", func(n *participant.New) { n.ID = strings.Repeat("b", participant.IDMax+1) }, false},
		{"id leading dash", func(n *participant.New) { n.ID = "-bank" }, false},
		{"id upper case", func(n *participant.New) { n.ID = "Bank" }, false},
		{"id with dot", func(n *participant.New) { n.ID = "bank.a" }, false},
		{"id with underscore", func(n *participant.New) { n.ID = "bank_a" }, false},
		{"id with space", func(n *participant.New) { n.ID = "bank a" }, false},
		{"id not ASCII", func(n *participant.New) { n.ID = "bänk" }, false},
		{"id hub is reserved", func(n *participant.New) { n.ID = "hub" }, false},
		{"id starting with hub", func(n *participant.New) { n.ID = "hub-2" }, true},
		// names: 1 to 200 bytes, not blank (the OpenAPI document says bytes).
		{"name empty", func(n *participant.New) { n.Name = "" }, false},
		{"name blank", func(n *participant.New) { n.Name = " \t\n" }, false},
		{"name 200 bytes", func(n *participant.New) { n.Name = strings.Repeat("n", 200) }, true},
		{"name 201 bytes", func(n *participant.New) { n.Name = strings.Repeat("n", 201) }, false},
		{"name 66 CJK characters, 198 bytes", func(n *participant.New) { n.Name = strings.Repeat("汇", 66) }, true},
		{"name 67 CJK characters, 201 bytes", func(n *participant.New) { n.Name = strings.Repeat("汇", 67) }, false},
		// kinds
		{"kind bank", func(n *participant.New) { n.Kind = participant.Bank }, true},
		{"kind fxp", func(n *participant.New) { n.Kind = participant.FXP }, true},
		{"kind scheme without fspiop", func(n *participant.New) { n.Kind = participant.Scheme }, false},
		{"kind empty", func(n *participant.New) { n.Kind = "" }, false},
		{"kind upper case", func(n *participant.New) { n.Kind = "Wallet" }, false},
		{"kind unknown", func(n *participant.New) { n.Kind = "exchange" }, false},
		// currencies
		{"currencies two", func(n *participant.New) { n.Currencies = []money.Currency{cny, usd} }, true},
		{"currencies sixteen", func(n *participant.New) { n.Currencies = sixteen }, true},
		{"currencies none", func(n *participant.New) { n.Currencies = nil }, false},
		{"currencies seventeen", func(n *participant.New) { n.Currencies = seventeen }, false},
		{"currencies duplicate", func(n *participant.New) { n.Currencies = []money.Currency{cny, usd, cny} }, false},
		{"currency zero", func(n *participant.New) { n.Currencies = []money.Currency{cny, 0} }, false},
		{"currency not ISO 4217", func(n *participant.New) { n.Currencies = []money.Currency{1} }, false},
		// acceptance
		{"acceptance notify", func(n *participant.New) { n.Acceptance = participant.Notify }, true},
		{"acceptance confirm with callback", func(n *participant.New) {
			n.Acceptance, n.CallbackURL = participant.Confirm, "https://example.com/cb"
		}, true},
		{"acceptance confirm without callback", func(n *participant.New) { n.Acceptance = participant.Confirm }, false},
		{"acceptance unknown", func(n *participant.New) { n.Acceptance = "auto" }, false},
		// callback URLs: absolute http(s), no credentials, at most 2048 bytes
		{"callback https", func(n *participant.New) { n.CallbackURL = "https://example.com/hulian/cb?x=1" }, true},
		{"callback http with port", func(n *participant.New) { n.CallbackURL = "http://127.0.0.1:8080/cb" }, true},
		{"callback 2048 bytes", func(n *participant.New) { n.CallbackURL = longURL(2048) }, true},
		{"callback 2049 bytes", func(n *participant.New) { n.CallbackURL = longURL(2049) }, false},
		{"callback with user and password", func(n *participant.New) { n.CallbackURL = "https://user:pw@example.com/cb" }, false},
		{"callback with user", func(n *participant.New) { n.CallbackURL = "https://user@example.com/cb" }, false},
		{"callback relative", func(n *participant.New) { n.CallbackURL = "/cb" }, false},
		{"callback without scheme", func(n *participant.New) { n.CallbackURL = "example.com/cb" }, false},
		{"callback ftp", func(n *participant.New) { n.CallbackURL = "ftp://example.com/cb" }, false},
		{"callback without host", func(n *participant.New) { n.CallbackURL = "https:///cb" }, false},
		{"callback unparsable", func(n *participant.New) { n.CallbackURL = "https://[::1/cb" }, false},
		// live FX quotes: FX providers only, asked at their callback URL
		{"fx live quotes", func(n *participant.New) {
			n.Kind, n.Currencies, n.CallbackURL, n.FXLiveQuotes = participant.FXP, []money.Currency{cny, usd}, "https://example.com/cb", true
		}, true},
		{"fx live quotes without callback", func(n *participant.New) {
			n.Kind, n.Currencies, n.FXLiveQuotes = participant.FXP, []money.Currency{cny, usd}, true
		}, false},
		{"fx live quotes of a wallet", func(n *participant.New) { n.CallbackURL, n.FXLiveQuotes = "https://example.com/cb", true }, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := participant.New{ID: fmt.Sprintf("p%02d", i), Name: "Participant", Kind: participant.Wallet, Currencies: []money.Currency{cny}}
			tt.edit(&n)
			before, nAccounts := e.Registry.List(), len(e.Accounts())
			p, cr, err := e.Registry.Create(e.ctx, n)
			if !tt.ok {
				if !errors.Is(err, participant.ErrInvalid) || fault.KindOf(err) != fault.Invalid {
					t.Fatalf("Create(%+v) = %v, want ErrInvalid", n, err)
				}
				// A refused participant leaves no trace: no registry entry,
				// no ledger account, no number used up.
				if got := e.Registry.List(); len(got) != len(before) {
					t.Errorf("registry holds %d participants, want %d", len(got), len(before))
				}
				if got := len(e.Accounts()); got != nAccounts {
					t.Errorf("ledger holds %d accounts, want %d", got, nAccounts)
				}
				return
			}
			if err != nil {
				t.Fatalf("Create(%+v): %v", n, err)
			}
			wantAcceptance := n.Acceptance
			if wantAcceptance == "" {
				wantAcceptance = participant.Notify // the default
			}
			if p.ID != n.ID || p.Name != n.Name || p.Kind != n.Kind || !slices.Equal(p.Currencies, n.Currencies) ||
				p.CallbackURL != n.CallbackURL || p.Acceptance != wantAcceptance || p.Status != participant.Active {
				t.Errorf("created %+v from %+v", p, n)
			}
			if p.Number != uint32(len(before)+1) {
				t.Errorf("number %d, want %d: refusals must not use numbers up", p.Number, len(before)+1)
			}
			if !strings.HasPrefix(cr.APIKey, n.ID+".") || cr.CallbackSecret == "" || cr.CallbackSecret != p.CallbackSecret() {
				t.Errorf("credentials %+v", cr)
			}
		})
	}
}

func TestCreateOpensAccounts(t *testing.T) {
	e := newEnv(t)
	a, _ := e.Create(participant.New{ID: "alpha", Name: "A", Kind: participant.Wallet, Currencies: []money.Currency{cny, usd}})
	b, _ := e.Create(participant.New{ID: "bravo", Name: "B", Kind: participant.Bank, Currencies: []money.Currency{cny}})
	c, _ := e.Create(participant.New{ID: "charlie", Name: "C", Kind: participant.FXP, Currencies: []money.Currency{eur, usd}})

	// Numbers are allocated in order from 1; 0 is the hub.
	if a.Number != 1 || b.Number != 2 || c.Number != 3 {
		t.Fatalf("numbers %d %d %d, want 1 2 3", a.Number, b.Number, c.Number)
	}
	type acct struct {
		id        ledger.AccountID
		currency  money.Currency
		unbounded bool
	}
	want := []acct{
		{a.Account(cny), cny, false}, {a.Account(usd), usd, false},
		{b.Account(cny), cny, false},
		{c.Account(eur), eur, false}, {c.Account(usd), usd, false},
		// The hub's accounts of each currency in use, opened once however
		// many participants use it: fee revenue (prefunded) and the
		// settlement bank's external account (unbounded).
		{participant.FeeAccount(cny), cny, false}, {participant.ExternalAccount(cny), cny, true},
		{participant.FeeAccount(usd), usd, false}, {participant.ExternalAccount(usd), usd, true},
		{participant.FeeAccount(eur), eur, false}, {participant.ExternalAccount(eur), eur, true},
	}
	byID := func(x, y acct) int { return cmp.Compare(x.id, y.id) }
	slices.SortFunc(want, byID)
	var got []acct
	for _, ac := range e.Accounts() {
		if ac.Balance != 0 || ac.Floor != 0 || ac.Reserved != 0 {
			t.Errorf("account %d: balance %d floor %d reserved %d, want a new empty account", ac.ID, ac.Balance, ac.Floor, ac.Reserved)
		}
		got = append(got, acct{ac.ID, ac.Currency, ac.Flags&ledger.AccountUnbounded != 0})
	}
	slices.SortFunc(got, byID)
	if !slices.Equal(got, want) {
		t.Errorf("ledger accounts\n%v\nwant\n%v", got, want)
	}
	for _, p := range []participant.Participant{a, b, c} {
		for _, cur := range p.Currencies {
			if num, cc, kind := participant.SplitAccountID(p.Account(cur)); num != p.Number || cc != cur || kind != participant.Settlement {
				t.Errorf("%s.Account(%s) splits into %d %s %d", p.ID, cur, num, cc, kind)
			}
		}
		if !p.Uses(p.Currencies[0]) || p.Uses(money.MustCurrency("JPY")) {
			t.Errorf("%s.Uses is wrong for %v", p.ID, p.Currencies)
		}
	}
}

func TestCreateDuplicateAndNumbers(t *testing.T) {
	e := newEnv(t)
	base := participant.New{Name: "X", Kind: participant.Wallet, Currencies: []money.Currency{cny}}
	steps := []struct {
		id         string
		restart    bool // restart the process before the step
		wantErr    error
		wantNumber uint32
	}{
		{id: "alpha", wantNumber: 1},
		{id: "alpha", wantErr: participant.ErrExists},
		{id: "bravo", wantNumber: 2}, // the refused duplicate used no number
		{id: "-bad", wantErr: participant.ErrInvalid},
		{id: "charlie", wantNumber: 3},
		{id: "bravo", restart: true, wantErr: participant.ErrExists}, // known after a restart too
		{id: "delta", wantNumber: 4},                                 // numbers go on after a restart
		{id: "echo", restart: true, wantNumber: 5},
	}
	numbers := map[uint32]string{}
	for i, s := range steps {
		if s.restart {
			e.Restart()
		}
		n := base
		n.ID = s.id
		p, _, err := e.Registry.Create(e.ctx, n)
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("step %d: Create(%s) = %v, want %v", i, s.id, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d: Create(%s): %v", i, s.id, err)
		}
		if p.Number != s.wantNumber {
			t.Errorf("step %d: %s got number %d, want %d", i, s.id, p.Number, s.wantNumber)
		}
		if other, ok := numbers[p.Number]; ok {
			t.Errorf("step %d: number %d given to %s and %s", i, p.Number, other, p.ID)
		}
		numbers[p.Number] = p.ID
		if got, ok := e.Registry.ByNumber(p.Number); !ok || got.ID != p.ID {
			t.Errorf("step %d: ByNumber(%d) = %s, %t", i, p.Number, got.ID, ok)
		}
	}
	var ids []string
	for _, p := range e.Registry.List() {
		ids = append(ids, p.ID)
	}
	if want := []string{"alpha", "bravo", "charlie", "delta", "echo"}; !slices.Equal(ids, want) {
		t.Errorf("List = %v, want %v (ordered by id)", ids, want)
	}
	if _, err := e.Registry.Apply(e.ctx, "nobody", participant.Update{}); !errors.Is(err, participant.ErrNotFound) {
		t.Errorf("Apply(nobody) = %v, want ErrNotFound", err)
	}
	if _, ok := e.Registry.Get("nobody"); ok {
		t.Error("Get(nobody) found something")
	}
	if _, ok := e.Registry.ByNumber(participant.Hub); ok {
		t.Error("ByNumber(Hub) found a participant: number 0 is the hub's")
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	a, ca := e.Create(participant.New{ID: "alpha", Name: "A", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	_, cb := e.Create(participant.New{ID: "bravo", Name: "B", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	_, secretA, _ := strings.Cut(ca.APIKey, ".")
	_, secretB, _ := strings.Cut(cb.APIKey, ".")
	if ca.APIKey == cb.APIKey || secretA == secretB || ca.CallbackSecret == cb.CallbackSecret {
		t.Fatal("two participants got the same credentials")
	}

	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"right key", ca.APIKey, true},
		{"wrong secret", "alpha." + secretA[:len(secretA)-1] + "x", false},
		{"secret with a byte more", ca.APIKey + "x", false},
		{"another participant's secret", "alpha." + secretB, false},
		{"unknown id", "zulu." + secretA, false},
		{"id in upper case", "ALPHA." + secretA, false},
		{"malformed: no dot", "nodot", false},
		{"malformed: secret alone", secretA, false},
		{"empty secret", "alpha.", false},
		{"empty id", "." + secretA, false},
		{"empty key", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.Registry.Authenticate(tt.key)
			if !tt.ok {
				if !errors.Is(err, participant.ErrUnauthorized) || fault.KindOf(err) != fault.Unauthorized {
					t.Fatalf("Authenticate(%q) = %s, %v; want ErrUnauthorized", tt.key, p.ID, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate(%q): %v", tt.key, err)
			}
			if d := sameParticipant(p, a); d != "" {
				t.Errorf("Authenticate returned %s", d)
			}
		})
	}
}

func TestApply(t *testing.T) {
	e := newEnv(t)
	_, ca := e.Create(participant.New{ID: "alpha", Name: "A", Kind: participant.Wallet, Currencies: []money.Currency{usd, cny}})
	e.Create(participant.New{ID: "bravo", Name: "B", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	ptr := func(s string) *string { return &s }
	status := func(s participant.Status) *participant.Status { return &s }
	acceptance := func(a participant.Acceptance) *participant.Acceptance { return &a }

	// The steps change one participant in turn; each says what it then
	// is and which status marks the ledger then holds.
	type want struct {
		status     participant.Status
		url        string
		acceptance participant.Acceptance
	}
	steps := []struct {
		name    string
		id      string
		u       participant.Update
		wantErr error
		want    want
		marks   []string
	}{
		{"nothing", "alpha", participant.Update{},
			nil, want{participant.Active, "", participant.Notify}, nil},
		{"callback url", "alpha", participant.Update{CallbackURL: ptr("https://a.example/cb")},
			nil, want{participant.Active, "https://a.example/cb", participant.Notify}, nil},
		{"confirm with a callback url", "alpha", participant.Update{Acceptance: acceptance(participant.Confirm)},
			nil, want{participant.Active, "https://a.example/cb", participant.Confirm}, nil},
		{"confirm needs the callback url", "alpha", participant.Update{CallbackURL: ptr("")},
			participant.ErrInvalid, want{participant.Active, "https://a.example/cb", participant.Confirm}, nil},
		{"callback url ftp", "alpha", participant.Update{CallbackURL: ptr("ftp://a.example/cb")},
			participant.ErrInvalid, want{participant.Active, "https://a.example/cb", participant.Confirm}, nil},
		{"callback url with credentials", "alpha", participant.Update{CallbackURL: ptr("https://u:p@a.example/cb")},
			participant.ErrInvalid, want{participant.Active, "https://a.example/cb", participant.Confirm}, nil},
		{"acceptance unknown", "alpha", participant.Update{Acceptance: acceptance("auto")},
			participant.ErrInvalid, want{participant.Active, "https://a.example/cb", participant.Confirm}, nil},
		{"status unknown", "alpha", participant.Update{Status: status("deleted")},
			participant.ErrInvalid, want{participant.Active, "https://a.example/cb", participant.Confirm}, nil},
		// A refused update changes nothing, even the parts that were valid.
		{"valid status with invalid url", "alpha", participant.Update{Status: status(participant.Suspended), CallbackURL: ptr("/cb")},
			participant.ErrInvalid, want{participant.Active, "https://a.example/cb", participant.Confirm}, nil},
		// A status change is marked on the ledger, in the participant's
		// first currency.
		{"suspend", "alpha", participant.Update{Status: status(participant.Suspended)},
			nil, want{participant.Suspended, "https://a.example/cb", participant.Confirm}, []string{"alpha/suspended"}},
		{"suspend again marks nothing", "alpha", participant.Update{Status: status(participant.Suspended)},
			nil, want{participant.Suspended, "https://a.example/cb", participant.Confirm}, []string{"alpha/suspended"}},
		{"resume, notify and no url at once", "alpha", participant.Update{Status: status(participant.Active), Acceptance: acceptance(participant.Notify), CallbackURL: ptr("")},
			nil, want{participant.Active, "", participant.Notify}, []string{"alpha/suspended", "alpha/active"}},
		{"confirm without a url", "alpha", participant.Update{Acceptance: acceptance(participant.Confirm)},
			participant.ErrInvalid, want{participant.Active, "", participant.Notify}, []string{"alpha/suspended", "alpha/active"}},
		{"suspend once more", "alpha", participant.Update{Status: status(participant.Suspended)},
			nil, want{participant.Suspended, "", participant.Notify}, []string{"alpha/suspended", "alpha/active", "alpha/suspended"}},
		{"unknown participant", "zulu", participant.Update{Status: status(participant.Suspended)},
			participant.ErrNotFound, want{participant.Suspended, "", participant.Notify}, []string{"alpha/suspended", "alpha/active", "alpha/suspended"}},
	}
	for _, s := range steps {
		before, _ := e.Registry.Get("alpha")
		got, err := e.Registry.Apply(e.ctx, s.id, s.u)
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("%s: Apply = %v, want %v", s.name, err, s.wantErr)
			}
		} else if err != nil {
			t.Fatalf("%s: Apply: %v", s.name, err)
		}
		now, _ := e.Registry.Get("alpha")
		if s.wantErr == nil {
			if d := sameParticipant(got, now); d != "" {
				t.Errorf("%s: Apply returned %s", s.name, d)
			}
			if !now.UpdatedAt.After(before.UpdatedAt) {
				t.Errorf("%s: UpdatedAt %v not after %v", s.name, now.UpdatedAt, before.UpdatedAt)
			}
		} else if d := sameParticipant(now, before); d != "" {
			t.Errorf("%s: a refused update changed the participant: %s", s.name, d)
		}
		if g := (want{now.Status, now.CallbackURL, now.Acceptance}); g != s.want {
			t.Errorf("%s: participant is %+v, want %+v", s.name, g, s.want)
		}
		if m := e.statusMarks(); !slices.Equal(m, s.marks) {
			t.Errorf("%s: status marks %q, want %q", s.name, m, s.marks)
		}
	}

	// The marks are in the participant's first currency, and the updates
	// survive a restart; they change neither the credentials nor bravo.
	err := e.Journal.Scan(e.ctx, 0, math.MaxInt64, func(ev ledger.Event) error {
		if ev.Kind == ledger.KindMark && ev.Currency != usd {
			t.Errorf("mark %q in %s, want USD", ev.Meta, ev.Currency)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	alpha, _ := e.Registry.Get("alpha")
	bravo, _ := e.Registry.Get("bravo")
	e.Restart()
	for _, p := range []participant.Participant{alpha, bravo} {
		got, ok := e.Registry.Get(p.ID)
		if !ok {
			t.Fatalf("%s lost in the restart", p.ID)
		}
		if d := sameParticipant(got, p); d != "" {
			t.Errorf("after the restart %s", d)
		}
	}
	if p, err := e.Registry.Authenticate(ca.APIKey); err != nil || p.ID != "alpha" {
		t.Errorf("Authenticate after updates and a restart = %s, %v", p.ID, err)
	}
}

func TestLoadAfterRestart(t *testing.T) {
	e := newEnv(t)
	news := []participant.New{
		{ID: "wallet-a", Name: "Wallet A", Kind: participant.Wallet, Currencies: []money.Currency{cny}},
		{ID: "bank-b", Name: "银行 B", Kind: participant.Bank, Currencies: []money.Currency{cny, usd},
			CallbackURL: "https://b.example/cb", Acceptance: participant.Confirm},
		{ID: "fxp-c", Name: "FX C", Kind: participant.FXP, Currencies: []money.Currency{usd, eur}, CallbackURL: "http://c.example:9000/",
			FXLiveQuotes: true},
	}
	keys := map[string]string{}
	for _, n := range news {
		_, cr := e.Create(n)
		keys[n.ID] = cr.APIKey
	}
	suspended := participant.Suspended
	if _, err := e.Registry.Apply(e.ctx, "fxp-c", participant.Update{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	before := e.Registry.List()

	e.Restart()
	after := e.Registry.List()
	if len(after) != len(before) {
		t.Fatalf("%d participants after the restart, want %d", len(after), len(before))
	}
	for i := range before {
		if d := sameParticipant(after[i], before[i]); d != "" {
			t.Errorf("after the restart: %s", d)
		}
		if p, ok := e.Registry.ByNumber(before[i].Number); !ok || p.ID != before[i].ID {
			t.Errorf("ByNumber(%d) = %s, %t after the restart", before[i].Number, p.ID, ok)
		}
		if p, err := e.Registry.Authenticate(keys[before[i].ID]); err != nil || p.ID != before[i].ID {
			t.Errorf("Authenticate(%s's key) = %s, %v after the restart", before[i].ID, p.ID, err)
		}
	}
	// The ledger accounts came back with the ledger, and a new
	// participant gets a number none has had.
	for _, p := range after {
		for _, c := range p.Currencies {
			if _, err := e.Journal.Account(e.ctx, p.Account(c)); err != nil {
				t.Errorf("%s's %s account: %v", p.ID, c, err)
			}
		}
	}
	d, _ := e.Create(participant.New{ID: "wallet-d", Name: "D", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	if d.Number != 4 {
		t.Errorf("new participant after a restart got number %d, want 4", d.Number)
	}
}

func TestAccountID(t *testing.T) {
	tests := []struct {
		number uint32
		c      money.Currency
		kind   participant.AccountKind
		want   ledger.AccountID // 0: only the round trip is checked
	}{
		// number<<24 | ISO 4217 numeric<<8 | kind: CNY is 156, USD 840.
		{1, cny, participant.Settlement, 1<<24 | 156<<8 | 1},
		{participant.Hub, cny, participant.Fees, 156<<8 | 2},
		{participant.Hub, usd, participant.External, 840<<8 | 3},
		{42, usd, participant.Settlement, 42<<24 | 840<<8 | 1},
		{math.MaxUint32, money.MustCurrency("KWD"), participant.Settlement, 0},
		{math.MaxUint32, math.MaxUint16, math.MaxUint8, 0}, // every bit of every field
		{1 << 31, eur, participant.External, 0},
	}
	seen := map[ledger.AccountID]int{}
	for i, tt := range tests {
		id := participant.AccountID(tt.number, tt.c, tt.kind)
		if tt.want != 0 && id != tt.want {
			t.Errorf("AccountID(%d, %s, %d) = %#x, want %#x", tt.number, tt.c, tt.kind, id, tt.want)
		}
		if n, c, k := participant.SplitAccountID(id); n != tt.number || c != tt.c || k != tt.kind {
			t.Errorf("SplitAccountID(AccountID(%d, %d, %d)) = %d, %d, %d", tt.number, tt.c, tt.kind, n, c, k)
		}
		if j, dup := seen[id]; dup {
			t.Errorf("cases %d and %d share account id %#x", j, i, id)
		}
		seen[id] = i
	}
	if got := participant.FeeAccount(cny); got != participant.AccountID(participant.Hub, cny, participant.Fees) {
		t.Errorf("FeeAccount(CNY) = %#x", got)
	}
	if got := participant.ExternalAccount(cny); got != participant.AccountID(participant.Hub, cny, participant.External) {
		t.Errorf("ExternalAccount(CNY) = %#x", got)
	}
}

func TestErrorKinds(t *testing.T) {
	// The API answers by kind; a sentinel with the wrong kind would turn a
	// caller's mistake into a 500, or a 500 into a caller's mistake.
	tests := []struct {
		err  error
		kind fault.Kind
	}{
		{participant.ErrExists, fault.Conflict},
		{participant.ErrNotFound, fault.NotFound},
		{participant.ErrInvalid, fault.Invalid},
		{participant.ErrUnauthorized, fault.Unauthorized},
		{participant.ValidCallbackURL("ftp://x"), fault.Invalid},
		{fmt.Errorf("create x: %w", participant.ErrExists), fault.Conflict},
	}
	for _, tt := range tests {
		if got := fault.KindOf(tt.err); got != tt.kind {
			t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.kind)
		}
	}
}

// TestStatusMarksOnAFrozenClock: every status change that takes effect
// leaves its own mark, even when the clock does not move between them
// (a coarse clock, or one stepped back): the mark's id comes from the
// change's time, which is kept strictly increasing.
func TestStatusMarksOnAFrozenClock(t *testing.T) {
	e := newEnv(t)
	frozen := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	reg, err := participant.Load(e.ctx, e.DB, e.Journal, func() time.Time { return frozen }, participant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Create(e.ctx, participant.New{ID: "alpha", Name: "Alpha", Kind: participant.Wallet, Currencies: []money.Currency{cny}}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []participant.Status{participant.Suspended, participant.Active, participant.Suspended} {
		if _, err := reg.Apply(e.ctx, "alpha", participant.Update{Status: &st}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := e.statusMarks(), []string{"alpha/suspended", "alpha/active", "alpha/suspended"}; !slices.Equal(got, want) {
		t.Errorf("status marks %v, want %v", got, want)
	}
}

// TestLiveQuoters checks which participants are asked for live FX
// offers on a pair: active FX providers enabled for both currencies that
// opted in, with a callback URL, which the opt-in needs as long as it
// holds; and that the opt-in survives a restart.
func TestLiveQuoters(t *testing.T) {
	e := newEnv(t)
	pair := []money.Currency{cny, usd}
	for _, n := range []participant.New{
		{ID: "fx-live", Kind: participant.FXP, Currencies: pair, CallbackURL: "https://a.example/cb", FXLiveQuotes: true},
		{ID: "fx-published", Kind: participant.FXP, Currencies: pair, CallbackURL: "https://b.example/cb"},
		{ID: "fx-other-pair", Kind: participant.FXP, Currencies: []money.Currency{cny, eur}, CallbackURL: "https://c.example/cb", FXLiveQuotes: true},
		{ID: "fx-suspended", Kind: participant.FXP, Currencies: pair, CallbackURL: "https://d.example/cb", FXLiveQuotes: true},
		{ID: "wallet-w", Kind: participant.Wallet, Currencies: pair, CallbackURL: "https://e.example/cb"},
	} {
		n.Name = n.ID
		e.Create(n)
	}
	suspended := participant.Suspended
	if _, err := e.Registry.Apply(e.ctx, "fx-suspended", participant.Update{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	on, off, none := true, false, ""
	ids := func(c1, c2 money.Currency) []string {
		var out []string
		for _, p := range e.Registry.LiveQuoters(c1, c2) {
			out = append(out, p.ID)
		}
		slices.Sort(out)
		return out
	}
	steps := []struct {
		name    string
		id      string
		u       participant.Update
		wantErr bool
		want    []string // asked for CNY → USD afterwards
	}{
		{"as created", "", participant.Update{}, false, []string{"fx-live"}},
		{"opt in", "fx-published", participant.Update{FXLiveQuotes: &on}, false, []string{"fx-live", "fx-published"}},
		{"the opt-in needs the callback url", "fx-published", participant.Update{CallbackURL: &none}, true, []string{"fx-live", "fx-published"}},
		{"a wallet cannot opt in", "wallet-w", participant.Update{FXLiveQuotes: &on}, true, []string{"fx-live", "fx-published"}},
		{"opt out and drop the url at once", "fx-published", participant.Update{FXLiveQuotes: &off, CallbackURL: &none}, false, []string{"fx-live"}},
		{"opt in without a url", "fx-published", participant.Update{FXLiveQuotes: &on}, true, []string{"fx-live"}},
		{"suspended", "fx-live", participant.Update{Status: &suspended}, false, nil},
	}
	for _, s := range steps {
		if s.id != "" {
			_, err := e.Registry.Apply(e.ctx, s.id, s.u)
			if s.wantErr != errors.Is(err, participant.ErrInvalid) || !s.wantErr && err != nil {
				t.Fatalf("%s: Apply = %v, want error %t", s.name, err, s.wantErr)
			}
		}
		if got := ids(cny, usd); !slices.Equal(got, s.want) {
			t.Errorf("%s: LiveQuoters(CNY, USD) = %q, want %q", s.name, got, s.want)
		}
	}
	if got := ids(usd, cny); got != nil {
		t.Errorf("LiveQuoters(USD, CNY) = %q, want none", got)
	}
	if got := ids(eur, cny); !slices.Equal(got, []string{"fx-other-pair"}) {
		t.Errorf("LiveQuoters(EUR, CNY) = %q, want fx-other-pair", got)
	}
	e.Restart()
	if p, _ := e.Registry.Get("fx-other-pair"); !p.FXLiveQuotes {
		t.Error("the opt-in is lost in a restart")
	}
	if p, _ := e.Registry.Get("fx-published"); p.FXLiveQuotes {
		t.Error("the opt-out is lost in a restart")
	}
}
