package wallet

import (
	"github.com/hulian/hulian/internal/money"
)

// The charts are inline SVG computed here and drawn by the stats page's
// template: no script, no library, nothing to fetch. Their geometry is
// integer pixels; amounts stay int64 minor units, scaled by integer
// arithmetic (an amount times a few hundred pixels cannot overflow for
// any balance a wallet holds).

// monthChart is the stacked bar chart of spending by month.
type monthChart struct {
	Width, Height     int
	Left, Right, Base int // the plot's left and right edges, and its baseline
	Ticks             []tick
	Bars              []monthBar
}

// tick is a horizontal grid line with its amount.
type tick struct {
	Y     int
	Label string
}

// monthBar is one month's bar: its segments, one per category, bottom up.
type monthBar struct {
	X, W     int
	Mid      int // the bar's centre, for its labels
	Month    string
	Key      string // the month's query key: the bar links to its month
	Total    string
	TotalY   int
	Selected bool
	Segments []segment
}

// segment is one category's part of a bar.
type segment struct {
	Y, H   int
	Colour string
	Title  string
}

// Geometry of the month chart.
const (
	monthChartW    = 600
	monthChartH    = 250
	monthChartL    = 84 // room for the axis labels
	monthChartTop  = 24 // room for the totals above the bars
	monthChartBase = 210
)

// niceMax returns an axis maximum at or above max, and its step, so that
// the axis has four steps of 1, 2 or 5 times a power of ten minor units,
// never less than one major unit (unit).
func niceMax(highest, unit money.Amount) (money.Amount, money.Amount) {
	for step := unit; ; step *= 10 {
		for _, f := range []money.Amount{1, 2, 5} {
			if s := step * f; 4*s >= highest {
				return 4 * s, s
			}
		}
	}
}

// buildMonthChart draws the months' spending, oldest on the left; sel is
// the month the page details below it.
func buildMonthChart(l *locale, c money.Currency, months []month, sums map[month]map[category]money.Amount, sel month) monthChart {
	unit := money.Amount(1)
	for range c.Exponent() {
		unit *= 10
	}
	var highest money.Amount
	for _, m := range months {
		var t money.Amount
		for _, a := range sums[m] {
			t += a
		}
		highest = max(highest, t)
	}
	top, step := niceMax(highest, unit)
	ch := monthChart{Width: monthChartW, Height: monthChartH, Left: monthChartL, Right: monthChartW - 8, Base: monthChartBase}
	plotH := monthChartBase - monthChartTop
	for k := 0; k <= 4; k++ {
		a := step * money.Amount(k)
		ch.Ticks = append(ch.Ticks, tick{Y: monthChartBase - int(int64(a)*int64(plotH)/int64(top)), Label: l.Round(a, c)})
	}
	slot := (ch.Right - ch.Left) / max(len(months), 1)
	for i, m := range months {
		b := monthBar{X: ch.Left + i*slot + slot/5, W: slot * 3 / 5, Month: l.ShortMonth(m), Key: m.key(), Selected: m == sel}
		b.Mid = b.X + b.W/2
		y := monthChartBase
		var total money.Amount
		for _, cat := range spending {
			a := sums[m][cat]
			if a <= 0 {
				continue
			}
			total += a
			// The top of the stack so far, from the running total, so
			// that rounding does not add up; a payment, however small,
			// shows a pixel.
			peak := min(monthChartBase-int(int64(total)*int64(plotH)/int64(top)), y-1)
			h := y - peak
			y = peak
			b.Segments = append(b.Segments, segment{Y: y, H: h, Colour: cat.colour(),
				Title: l.T("cat_"+string(cat)) + " · " + l.Money(a, c)})
		}
		if total > 0 {
			b.Total = l.Money(total, c)
		}
		b.TotalY = y - 6
		ch.Bars = append(ch.Bars, b)
	}
	return ch
}

// categoryChart is the horizontal bar chart of one month's spending by
// category.
type categoryChart struct {
	Width, Height int
	BarX          int
	Rows          []categoryRow
}

// categoryRow is one category's bar.
type categoryRow struct {
	Y, W   int
	TextY  int
	ValueX int // where the amount is written, right of the bar
	Name   string
	Colour string
	Amount string
	Share  string
}

// Geometry of the category chart.
const (
	catChartW    = 600
	catChartBarX = 170
	catChartBarW = 300
	catChartRowH = 34
)

// buildCategoryChart draws one month's spending by category, largest
// first; zero categories are left out. Shares are whole percent,
// rounded, of the month's total.
func buildCategoryChart(l *locale, c money.Currency, sums map[category]money.Amount) (categoryChart, money.Amount) {
	type row struct {
		cat category
		a   money.Amount
	}
	var rows []row
	var total, highest money.Amount
	for _, cat := range spending {
		if a := sums[cat]; a > 0 {
			rows = append(rows, row{cat, a})
			total += a
			highest = max(highest, a)
		}
	}
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].a > rows[j-1].a; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	ch := categoryChart{Width: catChartW, Height: 8 + len(rows)*catChartRowH, BarX: catChartBarX}
	for i, r := range rows {
		y := 4 + i*catChartRowH
		w := max(int(int64(r.a)*catChartBarW/int64(highest)), 1)
		share := (int64(r.a)*200/int64(total) + 1) / 2
		ch.Rows = append(ch.Rows, categoryRow{Y: y + 6, W: w, TextY: y + 22, ValueX: catChartBarX + w + 8, Name: l.T("cat_" + string(r.cat)), Colour: r.cat.colour(),
			Amount: l.Money(r.a, c), Share: l.T("share", share)})
	}
	return ch, total
}
