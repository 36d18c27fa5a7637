package wallet

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// TestWallet runs the wallet's pages against a switch in-process, as a
// browser without script would: one fixture, its parts in order, since
// each leaves the person's account as the next expects.
func TestWallet(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	friend := f.person.Contacts()[0].Alias
	shown, err := f.person.Lookup(ctx, friend)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("front page in both languages", func(t *testing.T) {
		for _, tc := range []struct {
			accept string
			want   []string
		}{
			{"en-GB,en;q=0.9", []string{`lang="en"`, "Balance", "CN¥11,797.50", "Requests to pay", "electricity bill", "CN¥158.30",
				"Lanzhou Noodles", "Pay someone", "+8613712345678", "中文"}},
			{"zh-CN,zh;q=0.9,en;q=0.8", []string{`lang="zh-Hans"`, "余额", "¥11,797.50", "待付请求", "转账付款", "English"}},
			{"fr-FR, de;q=0.5", []string{`lang="en"`, "Balance"}},
		} {
			a := f.browser(t, tc.accept).get("/")
			if a.status != http.StatusOK {
				t.Fatalf("%s: %d", tc.accept, a.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(a.body, w) && !strings.Contains(a.body, strings.ReplaceAll(w, "+", "&#43;")) {
					t.Errorf("%s: the page lacks %q", tc.accept, w)
				}
			}
		}
	})

	t.Run("no secret in the pages, strict headers", func(t *testing.T) {
		key := f.person.Participant().API().Token
		b := f.browser(t, "en")
		for _, p := range []string{"/", "/bills", "/stats", "/static/wallet.css"} {
			a := b.get(p)
			if a.status != http.StatusOK {
				t.Errorf("%s: %d", p, a.status)
			}
			if key == "" || strings.Contains(a.body, key) || strings.Contains(a.body, f.app.AdminToken) {
				t.Errorf("%s shows a key", p)
			}
			if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("%s: CSP %q", p, csp)
			}
		}
		a0 := f.browser(t, "en").get("/")
		if c := a0.header.Get("Set-Cookie"); !strings.Contains(c, "wallet_session=") || !strings.Contains(c, "HttpOnly") ||
			!strings.Contains(c, "SameSite=Strict") {
			t.Errorf("session cookie %q", c)
		}
	})

	t.Run("language switch is remembered", func(t *testing.T) {
		b := f.browser(t, "en")
		if a := b.get("/bills?lang=zh"); !strings.Contains(a.body, "按月份与分类的账单") {
			t.Errorf("?lang=zh did not switch")
		}
		if a := b.get("/stats"); !strings.Contains(a.body, "支出统计") {
			t.Errorf("the choice was not remembered")
		}
		if a := b.get("/stats?lang=en"); !strings.Contains(a.body, "Spending statistics") {
			t.Errorf("?lang=en did not switch back")
		}
	})

	t.Run("pay by alias after the masked name", func(t *testing.T) {
		b := f.browser(t, "en")
		home := b.get("/")
		a := b.post("/pay", url.Values{"csrf": {token(t, home)}, "type": {friend.Type}, "alias": {friend.Value}, "amount": {"1,234.56"},
			"note": {"concert tickets"}})
		if a.status != http.StatusOK || !strings.Contains(a.body, shown.DisplayName) || !strings.Contains(a.body, "Pay CN¥1,234.56") ||
			!strings.Contains(a.body, "bamboo-wallet") {
			t.Fatalf("confirmation page %d lacks the masked name %q or the amount:\n%s", a.status, shown.DisplayName, a.body)
		}
		if f.person.Account().Balance != welcomed {
			t.Fatalf("the lookup moved money")
		}
		m := paymentRE.FindStringSubmatch(a.body)
		if m == nil {
			t.Fatal("no payment field")
		}
		confirm := url.Values{"csrf": {token(t, a)}, "payment": {m[1]}}
		rc := b.follow(b.post("/pay/confirm", confirm))
		if !strings.Contains(rc.body, "Paid CN¥1,234.56 to "+shown.DisplayName) {
			t.Fatalf("receipt:\n%s", rc.body)
		}
		want := welcomed - 1_234_56
		if got := f.person.Account(); got.Balance != want || got.Held != 0 {
			t.Errorf("account %+v, want %d", got, want)
		}
		// The same confirmation again: its token is used up.
		if a := b.post("/pay/confirm", confirm); a.status != http.StatusForbidden {
			t.Errorf("confirmation sent twice: %d", a.status)
		}
		// A fresh token with the used confirmation: it pays nothing.
		again := url.Values{"csrf": {token(t, b.get("/"))}, "payment": {m[1]}}
		if a := b.post("/pay/confirm", again); a.status != http.StatusConflict || !strings.Contains(a.body, "expired") {
			t.Errorf("used confirmation: %d", a.status)
		}
		if got := f.person.Account(); got.Balance != want {
			t.Errorf("paid twice: %+v", got)
		}
		bills := b.get("/bills")
		for _, w := range []string{"Transfers to people", "−CN¥1,234.56", "concert tickets", shown.DisplayName} {
			if !strings.Contains(bills.body, w) {
				t.Errorf("bills lack %q", w)
			}
		}
		stats := b.get("/stats")
		if !strings.Contains(stats.body, `id="month-chart"`) || !strings.Contains(stats.body, "CN¥1,357.06") {
			t.Errorf("statistics lack the chart or the month's total (36.00 + 86.50 + 1,234.56)")
		}
	})

	t.Run("refusals, each named", func(t *testing.T) {
		fellow := f.person.Contacts()[3].Alias
		for _, tc := range []struct {
			name         string
			form         url.Values
			status       int
			want         string
			confirmFirst bool
		}{
			{"unknown alias", url.Values{"type": {"MSISDN"}, "alias": {"+8613900000003"}, "amount": {"10"}}, 422, "No one is registered under this alias", false},
			{"a user of the same wallet", url.Values{"type": {"MSISDN"}, "alias": {fellow.Value}, "amount": {"10"}}, 422, "is a user of Peony Pay too", false},
			{"too many decimals", url.Values{"type": {"MSISDN"}, "alias": {friend.Value}, "amount": {"10.005"}}, 422, "at most 2 decimals", false},
			{"zero", url.Values{"type": {"MSISDN"}, "alias": {friend.Value}, "amount": {"0"}}, 422, "above zero", false},
			{"no alias", url.Values{"type": {"MSISDN"}, "alias": {" "}, "amount": {"1"}}, 422, "Enter the payee", false},
			{"unknown type", url.Values{"type": {"ACCOUNT"}, "alias": {"x"}, "amount": {"1"}}, 422, "Choose an alias type", false},
			{"note too long", url.Values{"type": {"MSISDN"}, "alias": {friend.Value}, "amount": {"1"}, "note": {strings.Repeat("长", 81)}}, 422, "too long", false},
			{"beyond the balance", url.Values{"type": {"MSISDN"}, "alias": {friend.Value}, "amount": {"99999"}}, 200, "Your available balance is too low", true},
		} {
			b := f.browser(t, "en")
			before := f.person.Account()
			tc.form.Set("csrf", token(t, b.get("/")))
			a := b.post("/pay", tc.form)
			if tc.confirmFirst {
				m := paymentRE.FindStringSubmatch(a.body)
				if m == nil {
					t.Fatalf("%s: no confirmation (%d)", tc.name, a.status)
				}
				a = b.follow(b.post("/pay/confirm", url.Values{"csrf": {token(t, a)}, "payment": {m[1]}}))
			}
			if a.status != tc.status || !strings.Contains(a.body, tc.want) {
				t.Errorf("%s: %d, want %d with %q", tc.name, a.status, tc.status, tc.want)
			}
			if after := f.person.Account(); after != before {
				t.Errorf("%s moved money: %+v → %+v", tc.name, before, after)
			}
		}
	})

	t.Run("requests to pay, paid and declined", func(t *testing.T) {
		b := f.browser(t, "zh")
		bills := f.person.Bills(ctx)
		if len(bills) != 2 {
			t.Fatalf("bills %+v", bills)
		}
		home := b.get("/")
		tok := token(t, home)
		rc := b.follow(b.post("/requests/"+bills[0].ID+"/pay", url.Values{"csrf": {tok}}))
		if !strings.Contains(rc.body, "已支付请求：向 river-bank 付款 ¥158.30") {
			t.Errorf("bill paid, receipt:\n%s", rc.body)
		}
		// The second form of the same page: its token was used by the first.
		if a := b.post("/requests/"+bills[1].ID+"/decline", url.Values{"csrf": {tok}}); a.status != http.StatusForbidden {
			t.Errorf("a page's token used twice: %d", a.status)
		}
		rc = b.follow(b.post("/requests/"+bills[1].ID+"/decline", url.Values{"csrf": {token(t, b.get("/"))}}))
		if !strings.Contains(rc.body, "已拒绝请求，将通知 bamboo-wallet") {
			t.Errorf("bill declined, receipt:\n%s", rc.body)
		}
		rc = b.follow(b.post("/requests/"+bills[0].ID+"/pay", url.Values{"csrf": {token(t, b.get("/"))}}))
		if !strings.Contains(rc.body, "该请求已不在待付列表中") {
			t.Errorf("a paid bill paid again, receipt:\n%s", rc.body)
		}
		if a := b.get("/"); !strings.Contains(a.body, "暂无待付请求") {
			t.Errorf("bills still listed")
		}
		if a := b.get("/bills"); !strings.Contains(a.body, "账单缴费") || !strings.Contains(a.body, "electricity bill") {
			t.Errorf("the paid bill is not among the bills")
		}
		if pr, err := f.person.Participant().API().PaymentRequest(ctx, bills[1].ID); err != nil || pr.State != "DECLINED" {
			t.Errorf("declined request at the switch: %+v %v", pr, err)
		}
	})

	t.Run("forged forms refused", func(t *testing.T) {
		b := f.browser(t, "en")
		tok := token(t, b.get("/"))
		other := f.browser(t, "en")
		other.get("/") // a session of its own
		form := func(tok string) url.Values {
			return url.Values{"csrf": {tok}, "type": {"MSISDN"}, "alias": {friend.Value}, "amount": {"1"}}
		}
		for _, tc := range []struct {
			name string
			b    *browser
			form url.Values
			hdr  []string
		}{
			{"no token", b, url.Values{"type": {"MSISDN"}, "alias": {friend.Value}, "amount": {"1"}}, nil},
			{"a made-up token", b, form(strings.Repeat("a", 32)), nil},
			{"another browser's token", other, form(tok), nil},
			{"cross-site", b, form(tok), []string{"Sec-Fetch-Site", "cross-site"}},
			{"another origin", b, form(tok), []string{"Origin", "http://evil.example"}},
		} {
			if a := tc.b.post("/pay", tc.form, tc.hdr...); a.status != http.StatusForbidden {
				t.Errorf("%s: %d", tc.name, a.status)
			}
		}
		// Refused cross-site requests did not use the token up: the
		// CrossOriginProtection refused them before the guard looked.
		if a := b.post("/pay", form(tok)); a.status != http.StatusOK {
			t.Errorf("the genuine form: %d", a.status)
		}
	})

	t.Run("statistics by month", func(t *testing.T) {
		real := time.Now()
		paid := monthOf(real, time.Local)
		later := time.Date(real.Year(), real.Month()+2, 1, 12, 0, 0, 0, time.Local) // two months on
		w, err := New(Config{Person: f.person, Now: func() time.Time { return later }})
		if err != nil {
			t.Fatal(err)
		}
		b := f.browser(t, "en")
		b.base = httptestServer(t, w)
		l := &locale{lang: en, loc: time.Local}
		chart := func(a answer) string {
			_, c, _ := strings.Cut(a.body, `id="month-chart"`)
			c, _, _ = strings.Cut(c, "</svg>")
			return c
		}
		bars := func(a answer) int { return strings.Count(chart(a), `<a href="/stats?month=`) }
		for _, tc := range []struct {
			query      string
			want       []string
			last, sel  month
			categories bool
		}{
			{"", []string{"No spending in " + l.Month(monthOf(later, time.Local))}, monthOf(later, time.Local), monthOf(later, time.Local), false},
			{"?month=" + paid.key(), []string{`id="category-chart"`, "Transfers to people"}, monthOf(later, time.Local), paid, true},
			{"?month=" + paid.prev().prev().prev().prev().prev().prev().key(), []string{"No spending in"}, paid.prev().prev().prev().prev().prev().prev(),
				paid.prev().prev().prev().prev().prev().prev(), false},
			{"?month=2999-01", nil, monthOf(later, time.Local), monthOf(later, time.Local), false},
			{"?month=junk", nil, monthOf(later, time.Local), monthOf(later, time.Local), false},
		} {
			a := b.get("/stats" + tc.query)
			if a.status != http.StatusOK || bars(a) != statsMonths {
				t.Errorf("%q: %d, %d bars", tc.query, a.status, bars(a))
			}
			for _, w := range tc.want {
				if !strings.Contains(a.body, w) {
					t.Errorf("%q lacks %q", tc.query, w)
				}
			}
			if !strings.Contains(chart(a), `<a href="/stats?month=`+tc.last.key()+`"`) ||
				strings.Contains(chart(a), `<a href="/stats?month=`+tc.last.next().key()+`"`) {
				t.Errorf("%q: the chart does not end at %s", tc.query, tc.last.key())
			}
			if !strings.Contains(a.body, `<a href="/stats?month=`+tc.sel.key()+`" class="selected">`) {
				t.Errorf("%q: %s not selected", tc.query, tc.sel.key())
			}
			if got := strings.Contains(a.body, `id="category-chart"`); got != tc.categories {
				t.Errorf("%q: category chart %v", tc.query, got)
			}
		}
	})

	// Check, with the person's payments booked like any user's: the
	// wallet's books agree with the switch.
	t.Run("books agree with the switch", func(t *testing.T) {
		rep, err := f.sc.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rep.Checks {
			if !c.Pass {
				t.Error(c)
			}
		}
		if err := f.person.Participant().Books().Verify(); err != nil {
			t.Error(err)
		}
	})
}

// TestInsufficientFunds: a person of the wallet that prefunded too
// little is refused by the switch, by name, and keeps its money.
func TestInsufficientFunds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pe, err := f.sc.OpenPerson(ctx, sim.PersonConfig{Participant: "lotus-pay", ID: "p-zhou", Name: "周杰", Opening: 20_000_00, Phone: "+8613712340000"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Person: pe})
	if err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "en")
	b.base = httptestServer(t, w)
	a := b.post("/pay", url.Values{"csrf": {token(t, b.get("/"))}, "type": {"MSISDN"}, "alias": {personPhone}, "amount": {"15000"}})
	m := paymentRE.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no confirmation: %d\n%s", a.status, a.body)
	}
	rc := b.follow(b.post("/pay/confirm", url.Values{"csrf": {token(t, a)}, "payment": {m[1]}}))
	if !strings.Contains(rc.body, "Lotus Pay&#39;s settlement account at the switch cannot cover this payment") {
		t.Errorf("receipt:\n%s", rc.body)
	}
	if got := pe.Account(); got.Balance != 20_000_00 || got.Held != 0 {
		t.Errorf("account %+v", got)
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   lang
	}{
		{"", en},
		{"zh", zh},
		{"zh-CN,zh;q=0.9,en;q=0.8", zh},
		{"en-US,en;q=0.9,zh-CN;q=0.8", en},
		{"en;q=0.5, zh-Hans;q=0.7", zh},
		{"zh-TW", zh},
		{"fr, de", en},
		{"zh;q=0, en;q=0.1", en},
		{"zh;q=1.5, en;q=0.3", en},
		{"ZH-cn;q=0.900, EN;q=0.899", zh},
		{"*", en},
	} {
		if got := negotiate(tc.header); got != tc.want {
			t.Errorf("negotiate(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestMoney(t *testing.T) {
	cny, hkd, jpy := money.MustCurrency("CNY"), money.MustCurrency("HKD"), money.MustCurrency("JPY")
	for _, tc := range []struct {
		l    lang
		a    money.Amount
		c    money.Currency
		want string
	}{
		{en, 123456789, cny, "CN¥1,234,567.89"},
		{zh, 123456789, cny, "¥1,234,567.89"},
		{en, -5, cny, "−CN¥0.05"},
		{en, 300, hkd, "HK$3.00"},
		{zh, 300, hkd, "港元 3.00"},
		{en, 1500, jpy, "JP¥1,500"},
		{en, 1, money.MustCurrency("GBP"), "GBP 0.01"},
	} {
		l := &locale{lang: tc.l}
		if got := l.Money(tc.a, tc.c); got != tc.want {
			t.Errorf("Money(%d %s) = %q, want %q", tc.a, tc.c, got, tc.want)
		}
	}
	l := &locale{lang: en}
	if got := l.Round(100000, cny); got != "CN¥1,000" {
		t.Errorf("Round = %q", got)
	}
}

func TestCategory(t *testing.T) {
	for _, tc := range []struct {
		incoming bool
		typ      string
		want     category
	}{
		{false, "MERCHANT", catShopping},
		{false, "QR", catShopping},
		{false, "ACCOUNT", catBills},
		{false, "MSISDN", catTransfers},
		{false, "EMAIL", catTransfers},
		{false, "RANDOM", catTransfers},
		{false, "SOMETHING-NEW", catOther},
		{true, "MSISDN", catReceived},
		{true, "ACCOUNT", catRequested},
		{true, "REFUND", catRefunds},
		{true, "DISPUTE", catRefunds},
	} {
		if got := categoryOf(sim.Entry{Incoming: tc.incoming, Payee: wire.PayeeRef{Type: tc.typ}}); got != tc.want {
			t.Errorf("%v %s: %s, want %s", tc.incoming, tc.typ, got, tc.want)
		}
	}
}
