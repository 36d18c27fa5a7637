package console

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/console/users"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/transfer"
)

// TestNegotiate: Accept-Language picks the console's language of the
// highest weight; Chinese when it names neither.
func TestNegotiate(t *testing.T) {
	for _, c := range []struct {
		header string
		want   Lang
	}{
		{"", Chinese},
		{"zh-CN,zh;q=0.9,en;q=0.8", Chinese},
		{"en-US,en;q=0.9", English},
		{"en-GB;q=0.5,zh-Hans;q=0.7", Chinese},
		{"zh-TW,en;q=0.3", English}, // Traditional Chinese is not offered
		{"fr, de;q=0.8", Chinese},
		{"fr, en;q=0.1", English},
		{"en;q=0, zh;q=0.1", Chinese},
		{"en;q=2", Chinese}, // not a weight
		{"EN", English},
	} {
		if got := negotiate(c.header); got != c.want {
			t.Errorf("%q: %s, want %s", c.header, got, c.want)
		}
	}
}

// TestFormatAmount: amounts by currency — its decimals, thousands
// grouped, its sign and code.
func TestFormatAmount(t *testing.T) {
	cny, jpy, bhd := money.MustCurrency("CNY"), money.MustCurrency("JPY"), money.MustCurrency("BHD")
	for _, c := range []struct {
		lang Lang
		a    money.Amount
		cur  money.Currency
		want string
	}{
		{English, 123456789, cny, "CNY 1,234,567.89"},
		{Chinese, 123456789, cny, "¥1,234,567.89"},
		{Chinese, -5, cny, "-¥0.05"},
		{English, 1000, jpy, "JPY 1,000"},
		{Chinese, 1000, jpy, "JPY 1,000"},
		{English, 999, jpy, "JPY 999"},
		{English, 1234567, bhd, "BHD 1,234.567"},
		{English, 0, cny, "CNY 0.00"},
	} {
		if got := FormatAmount(c.lang, c.a, c.cur); got != c.want {
			t.Errorf("%s %d %s: %q, want %q", c.lang, c.a, c.cur, got, c.want)
		}
	}
	p := &Page{V: &Visit{Lang: English}}
	for _, c := range []struct {
		v    any
		cur  string
		want string
	}{
		{"1234.50", "CNY", "CNY 1,234.50"},
		{money.Amount(5), "CNY", "CNY 0.05"},
		{int64(1200), "JPY", "JPY 1,200"},
		{"1.001", "CNY", "1.001"},
		{"12.00", "XYZ", "12.00"},
	} {
		if got := p.Amount(c.v, c.cur); got != c.want {
			t.Errorf("Amount(%v, %s) = %q, want %q", c.v, c.cur, got, c.want)
		}
	}
}

// TestCatalogs: both languages have every message, and every message a
// template or the code asks for exists.
func TestCatalogs(t *testing.T) {
	en, zh := slices.Sorted(maps.Keys(catalogs[English])), slices.Sorted(maps.Keys(catalogs[Chinese]))
	if !slices.Equal(en, zh) {
		t.Errorf("the catalogs' keys differ:\n en %v\n zh %v", en, zh)
	}
	for k, m := range catalogs[Chinese] {
		if m == "" || catalogs[English][k] == "" {
			t.Errorf("%s: an empty message", k)
		}
	}
	used := map[string]string{}
	inTemplate := regexp.MustCompile(`\.T "([a-z0-9.-]+)"`)
	fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, _ := fs.ReadFile(assets, p)
		for _, m := range inTemplate.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
		return nil
	})
	inGo := regexp.MustCompile(`"((?:app|nav|lang|role|login|logout|dashboard|error|done|unit|proof|transfers?|settlement|participants?|audit|risk|users|fees|field|status|state|window|kind|acceptance|direction|pager)\.[a-z0-9.-]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(f)
		for _, m := range inGo.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = f
		}
	}
	for _, r := range users.Roles() {
		used["role."+string(r)] = "users.Roles"
	}
	for _, l := range Langs() {
		used["lang."+string(l)] = "Langs"
	}
	if len(used) < 20 {
		t.Fatalf("found only %d messages in use: is the scan right?", len(used))
	}
	for k, where := range used {
		if _, ok := catalogs[English][k]; !ok {
			t.Errorf("%s asks for %q, which no catalog has", where, k)
		}
	}
}

// TestCatalogsNameValues: the values the pages name through a key made
// of them (state.COMMITTED, kind.wallet …) and the message each form's
// action leaves (done.<action>) are in the catalogs: a test of the
// templates alone would not see them.
func TestCatalogsNameValues(t *testing.T) {
	var keys []string
	for _, s := range []transfer.State{transfer.Committed, transfer.Reserved, transfer.Held, transfer.Aborted} {
		keys = append(keys, "state."+string(s))
	}
	for _, s := range []participant.Status{participant.Active, participant.Suspended, participant.Closed} {
		keys = append(keys, "status."+string(s))
	}
	for _, k := range []participant.Kind{participant.Wallet, participant.Bank, participant.FXP, participant.Scheme} {
		keys = append(keys, "kind."+string(k))
	}
	for _, a := range []participant.Acceptance{participant.Notify, participant.Confirm} {
		keys = append(keys, "acceptance."+string(a))
	}
	for _, s := range []settlement.State{settlement.Open, settlement.Closed, settlement.Settling, settlement.Settled} {
		keys = append(keys, "window."+string(s))
	}
	for _, d := range []settlement.Direction{settlement.Pay, settlement.Receive} {
		keys = append(keys, "direction."+string(d))
	}
	// Every action a form takes: c.act(w, r, v, "<action>", …) and the
	// users' own.
	acts := regexp.MustCompile(`\bc\.act\(w, r, v, "([a-z0-9-]+)"|Act\(r, v, "([a-z0-9-]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range acts.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, "done."+m[1]+m[2])
		}
	}
	keys = append(keys, "done."+users.ActionUserCreate, "done."+users.ActionUserDelete)
	if len(keys) < 30 {
		t.Fatalf("only %d keys: is the scan right?", len(keys))
	}
	for _, k := range keys {
		if !English.Has(k) {
			t.Errorf("no message %q", k)
		}
	}
}
