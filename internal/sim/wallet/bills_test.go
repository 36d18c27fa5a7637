package wallet

import (
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

func TestByMonth(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	ref := func(typ string) wire.PayeeRef { return wire.PayeeRef{Type: typ} }
	// Newest first, as Person.Statement gives them. In Shanghai, the last
	// is in January: 16:30 UTC on 31 December is 00:30 on 1 January.
	st := []sim.Entry{
		{ID: "5", At: at("2027-02-03T10:00:00Z"), Amount: 10_00, Fee: 1_00, Payee: ref("MSISDN")},
		{ID: "4", At: at("2027-01-20T10:00:00Z"), Amount: 500_00, Incoming: true, Payee: ref("MSISDN")},
		{ID: "3", At: at("2027-01-10T10:00:00Z"), Amount: 20_00, Payee: ref("MERCHANT")},
		{ID: "2", At: at("2027-01-05T10:00:00Z"), Amount: 30_00, Payee: ref("ACCOUNT")},
		{ID: "1", At: at("2026-12-31T16:30:00Z"), Amount: 40_00, Payee: ref("MERCHANT")},
	}
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	ms := byMonth(st, sh)
	var got []string
	for _, m := range ms {
		var gs []string
		for _, g := range m.Groups {
			var ids []string
			for _, e := range g.Entries {
				ids = append(ids, e.ID)
			}
			gs = append(gs, string(g.Category)+"="+g.Total.Format(money.MustCurrency("CNY"))+"["+strings.Join(ids, ",")+"]")
		}
		got = append(got, m.Month.key()+" spent "+m.Spent.Format(money.MustCurrency("CNY"))+" received "+
			m.Received.Format(money.MustCurrency("CNY"))+": "+strings.Join(gs, " "))
	}
	want := []string{
		"2027-02 spent 11.00 received 0.00: transfers=11.00[5]",
		"2027-01 spent 90.00 received 500.00: shopping=60.00[3,1] bills=30.00[2] received=500.00[4]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("by month:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sums := spendingIn(st, time.UTC)
	if a := sums[month{2026, time.December}][catShopping]; a != 40_00 {
		t.Errorf("December in UTC: %d", a)
	}
	if a := sums[month{2027, time.January}][catReceived]; a != 0 {
		t.Errorf("money received counted as spending: %d", a)
	}
}

func TestNiceMax(t *testing.T) {
	for _, tc := range []struct {
		max, top, step money.Amount
	}{
		{0, 400, 100},
		{36_00, 40_00, 10_00},
		{122_50, 200_00, 50_00},
		{1_357_06, 2_000_00, 500_00},
		{4_000_00, 4_000_00, 1_000_00},
		{4_000_01, 8_000_00, 2_000_00},
	} {
		top, step := niceMax(tc.max, 100)
		if top != tc.top || step != tc.step || top < tc.max {
			t.Errorf("niceMax(%d) = %d, %d; want %d, %d", tc.max, top, step, tc.top, tc.step)
		}
	}
}

func TestCharts(t *testing.T) {
	l := &locale{lang: en, loc: time.UTC}
	cny := money.MustCurrency("CNY")
	dec, jan := month{2026, time.December}, month{2027, time.January}
	sums := map[month]map[category]money.Amount{
		dec: {catShopping: 100_00, catTransfers: 300_00},
		jan: {catBills: 1},
	}
	ch := buildMonthChart(l, cny, []month{{2026, time.November}, dec, jan}, sums, dec)
	if len(ch.Bars) != 3 || len(ch.Bars[0].Segments) != 0 || len(ch.Bars[1].Segments) != 2 || len(ch.Bars[2].Segments) != 1 {
		t.Fatalf("bars %+v", ch.Bars)
	}
	d := ch.Bars[1]
	if !d.Selected || d.Total != "CN¥400.00" || d.Segments[0].H+d.Segments[1].H != monthChartBase-monthChartTop ||
		d.Segments[1].Y+d.Segments[1].H != d.Segments[0].Y || d.Segments[0].Y+d.Segments[0].H != monthChartBase {
		t.Errorf("December's bar %+v: want the full height, stacked from the baseline", d)
	}
	if h := ch.Bars[2].Segments[0].H; h != 1 {
		t.Errorf("a payment of 0.01 is %d px high, want 1 (visible)", h)
	}
	if ch.Ticks[4].Label != "CN¥400" || ch.Ticks[4].Y != monthChartTop {
		t.Errorf("top tick %+v", ch.Ticks[4])
	}
	cc, total := buildCategoryChart(l, cny, map[category]money.Amount{catShopping: 1_00, catBills: 2_00, catTransfers: 0})
	if total != 3_00 || len(cc.Rows) != 2 || cc.Rows[0].Name != "Bills paid" || cc.Rows[0].W != catChartBarW || cc.Rows[1].W != catChartBarW/2 ||
		cc.Rows[0].Share != "67%" || cc.Rows[1].Share != "33%" {
		t.Errorf("categories %+v, total %d", cc.Rows, total)
	}
}

func TestGuard(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	g := newGuard(func() time.Time { return now })
	post := func(session, tok string) bool {
		r := newFormRequest(session, tok)
		_, ok := g.check(r)
		return ok
	}
	a, b := strings.Repeat("a", 32), strings.Repeat("b", 32)
	t1 := g.issue(a)
	if post(b, t1) {
		t.Errorf("another session's token taken")
	}
	if !post(a, t1) {
		t.Errorf("the token refused")
	}
	if post(a, t1) {
		t.Errorf("a token used twice")
	}
	t2 := g.issue(a)
	now = now.Add(tokenTTL + time.Second)
	if post(a, t2) {
		t.Errorf("an expired token taken")
	}
	// The oldest are forgotten beyond tokensMax.
	first := g.issue(a)
	for range tokensMax {
		g.issue(a)
	}
	if post(a, first) || len(g.tokens) > tokensMax {
		t.Errorf("%d tokens kept, the oldest still valid", len(g.tokens))
	}
}
