package console

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/console/users"
)

// What the pages' templates ask of the visit and how they write
// numbers. Numbers are the same in both languages (Arabic digits,
// thousands grouped by commas, as Chinese financial pages write them);
// units come from the catalogs.

// Admin reports whether the user is the operator's administrator.
func (p *Page) Admin() bool { return p.V.User.Role == users.OperatorAdmin }

// Scheme reports whether the user reads the whole scheme (the
// operator's roles and the regulator) rather than one participant.
func (p *Page) Scheme() bool { return !p.V.User.Role.OfParticipant() }

// ActsOn reports whether the user may change participant id's own
// settings (callback, liquidity threshold): the operator's
// administrator, or the administrator of that participant.
func (p *Page) ActsOn(id string) bool {
	r := p.V.User.Role
	return r == users.OperatorAdmin || r == users.ParticipantAdmin && p.V.User.Participant == id
}

// Role names a role in the page's language: a console role, or the API
// role of a token ("operator") that acted without the console; one the
// catalogs do not know is written as it is.
func (p *Page) Role(role string) string {
	if p.V.Lang.Has("role." + role) {
		return p.T("role." + role)
	}
	return role
}

// Q is the value of the request's query parameter name, to fill a
// search form again.
func (p *Page) Q(name string) string { return p.V.url.Query().Get(name) }

// With is the request's query with name set to value (a pager's
// link).
func (p *Page) With(name, value string) string {
	q := p.V.url.Query()
	q.Set(name, value)
	q.Del("done")
	return q.Encode()
}

// Num writes an integer with its thousands grouped.
func (p *Page) Num(v any) string {
	var s string
	switch x := v.(type) {
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case uint64:
		s = strconv.FormatUint(x, 10)
	default:
		return fmt.Sprint(v)
	}
	return group(s)
}

// group puts commas between the thousands of a decimal integer.
func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Rate writes a rate a second with one decimal.
func (p *Page) Rate(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	whole, frac, _ := strings.Cut(strconv.FormatFloat(f, 'f', 1, 64), ".")
	return group(whole) + "." + frac
}

// Pct writes a share (0.25) as a percentage with one decimal ("25.0%").
func (p *Page) Pct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return p.Rate(f*100) + "%"
}

// Ms writes a time in seconds as milliseconds, with two significant
// decimals below 10 ms.
func (p *Page) Ms(sec float64) string {
	ms := sec * 1000
	if ms < 10 {
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
}

// Age writes how long ago t was by the switch's clock, in the largest
// whole unit: "12 s", "3 min", "5 h", "2 d" (秒, 分钟, 小时, 天).
func (p *Page) Age(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	d := max(p.now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf(p.T("unit.s"), int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf(p.T("unit.min"), int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf(p.T("unit.h"), int(d/time.Hour))
	}
	return fmt.Sprintf(p.T("unit.d"), int(d/(24*time.Hour)))
}

// Share writes a share for a <meter>'s value: 0 to 1, three decimals.
// (The console's CSP allows no inline styles; a meter needs none.)
func (p *Page) Share(f float64) string {
	if math.IsNaN(f) {
		f = 0
	}
	return strconv.FormatFloat(min(max(f, 0), 1), 'f', 3, 64)
}
