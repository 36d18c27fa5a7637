package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/mark"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
	"github.com/hulian/hulian/internal/sqldb"
)

func TestCheckSchemePrefix(t *testing.T) {
	for _, c := range []struct {
		t      Type
		prefix string
		ok     bool
	}{
		{MSISDN, "+852", true},
		{MSISDN, "+8", true},
		{MSISDN, "+852123456789012", true},
		{MSISDN, "+8521234567890123", false}, // 16 digits
		{MSISDN, "852", false},
		{MSISDN, "+", false},
		{MSISDN, "+0852", false},
		{MSISDN, "+85 2", false},
		{MSISDN, "+85a", false},
		{EMAIL, "hk.", true},
		{EMAIL, "user@", true},
		{EMAIL, "User@", false}, // e-mail aliases are kept lower-cased
		{NATIONAL_ID, "HK", true},
		{NATIONAL_ID, "hk", false},
		{WALLET, "hk/", false},
		{WALLET, "hk wallet", false},
		{WALLET, "", false},
		{WALLET, string(make([]byte, SchemePrefixMax+1)), false},
		{WALLET, "hk-\u00e9", false},
		{"PHONE", "+852", false},
	} {
		err := CheckSchemePrefix(c.t, c.prefix)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrSchemeRoute) {
			t.Errorf("CheckSchemePrefix(%s, %q) = %v, want ok %v", c.t, c.prefix, err, c.ok)
		}
	}
}

// fakeLinks says which participants are scheme links.
type fakeLinks map[string][]money.Currency

func (f fakeLinks) SchemeLink(id string) ([]money.Currency, bool) {
	c, ok := f[id]
	return c, ok
}

// fakeFar is the far scheme: the aliases it holds, and how often it was
// asked.
type fakeFar struct {
	mu     sync.Mutex
	holds  map[string]string // value → name
	down   bool
	asked  int
	byLink []string
}

func (f *fakeFar) FarParty(_ context.Context, link string, _ Type, value string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	f.byLink = append(f.byLink, link)
	if f.down {
		return "", ErrLinkUnavailable
	}
	name, ok := f.holds[value]
	if !ok {
		return "", fmt.Errorf("%w at the far scheme", ErrNotFound)
	}
	return MaskName(name), nil
}

// marks records the marks submitted.
type marks struct {
	mu   sync.Mutex
	cmds []ledger.Command
}

func (m *marks) Submit(_ context.Context, cmds []ledger.Command) ([]ledger.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cmds = append(m.cmds, cmds...)
	return make([]ledger.Result, len(cmds)), nil
}

var hkd = money.MustCurrency("HKD")

// TestSchemeRoutes: routes are checked, saved, matched by the longest
// prefix, marked on the ledger, kept across a restart and deleted; a
// lookup that misses locally asks the far scheme of the matching route,
// every time, while local registrations win.
func TestSchemeRoutes(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *sqldb.DB
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(db.name, func(t *testing.T) {
			ctx := context.Background()
			sdb := db.open(t)
			addParticipants(t, sdb, "alpha", "hk-link", "hk-two")
			links := fakeLinks{"hk-link": {hkd, cny}, "hk-two": {hkd}}
			led := &marks{}
			clk := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			rs := &SchemeRoutes{DB: sdb, Ledger: led, Links: links, Now: func() time.Time { return clk }}
			if err := rs.Load(ctx); err != nil {
				t.Fatal(err)
			}
			far := &fakeFar{holds: map[string]string{"+85291234567": "Chan Tai Man", "+85261234567": "Lee Siu Lung"}}
			rs.SetFar(far)
			d := New(sdb, Options{Routes: true, SchemeRoutes: rs})
			t.Cleanup(func() { d.Close() })

			// Refusals change nothing.
			for _, bad := range []SchemeRoute{
				{Type: MSISDN, Prefix: "+852", Participant: "alpha"},                 // not a link
				{Type: MSISDN, Prefix: "+852", Participant: "nobody"},                // no such participant
				{Type: MSISDN, Prefix: "+852", Participant: "hk-two", Currency: cny}, // not enabled for CNY
				{Type: MSISDN, Prefix: "852", Participant: "hk-link"},                // not a phone prefix
			} {
				if _, _, err := rs.Put(ctx, bad, "operator"); !errors.Is(err, ErrSchemeRoute) {
					t.Errorf("Put(%+v) = %v, want ErrSchemeRoute", bad, err)
				}
			}
			if len(rs.List()) != 0 || len(led.cmds) != 0 {
				t.Fatalf("refused routes left %v and %d marks", rs.List(), len(led.cmds))
			}

			rt, created, err := rs.Put(ctx, SchemeRoute{Type: MSISDN, Prefix: "+852", Participant: "hk-link"}, "operator")
			if err != nil || !created || rt.Currency != hkd || !rt.CreatedAt.Equal(clk) {
				t.Fatalf("Put = %+v, %v, %v", rt, created, err)
			}
			clk = clk.Add(time.Second)
			if _, created, err := rs.Put(ctx, SchemeRoute{Type: MSISDN, Prefix: "+8526", Participant: "hk-two"}, "operator"); err != nil || !created {
				t.Fatal(created, err)
			}
			if got, ok := rs.Match(MSISDN, "+85261234567"); !ok || got.Participant != "hk-two" {
				t.Errorf("longest prefix: %+v %v", got, ok)
			}
			if got, ok := rs.Match(MSISDN, "+85291234567"); !ok || got.Participant != "hk-link" {
				t.Errorf("shorter prefix: %+v %v", got, ok)
			}
			if _, ok := rs.Match(EMAIL, "+85291234567"); ok {
				t.Error("a phone route matches an e-mail alias")
			}

			// A routed alias resolves to its link, asked each time.
			for range 2 {
				p := mustLookup(t, d, MSISDN, "+85291234567")
				if p.Participant != "hk-link" || p.Currency != hkd || p.Name != "C*** T** M**" || p.Account != "" {
					t.Fatalf("routed lookup: %+v", p)
				}
				r, err := d.Route(ctx, MSISDN, "+85291234567")
				if err != nil || r.Participant != "hk-link" || r.DisplayName != "C*** T** M**" || r.Currency != hkd {
					t.Fatalf("routed Route: %+v %v", r, err)
				}
			}
			if far.asked != 4 {
				t.Errorf("the far scheme was asked %d times, want 4 (never cached)", far.asked)
			}
			if _, err := d.Lookup(ctx, MSISDN, "+85290000000"); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown at the far scheme: %v", err)
			}
			if _, err := d.Route(ctx, MSISDN, "+85290000000"); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown at the far scheme (Route): %v", err)
			}
			if _, err := d.Lookup(ctx, MSISDN, "+8613800138000"); !errors.Is(err, ErrNotFound) || far.asked != 6 {
				t.Errorf("unrouted: %v, far asked %d times", err, far.asked)
			}
			if _, err := d.LookupLocal(ctx, MSISDN, "+85291234567"); !errors.Is(err, ErrNotFound) || far.asked != 6 {
				t.Errorf("LookupLocal: %v, far asked %d times", err, far.asked)
			}
			far.down = true
			if _, err := d.Lookup(ctx, MSISDN, "+85291234567"); !errors.Is(err, ErrLinkUnavailable) {
				t.Errorf("far scheme down: %v", err)
			}
			far.down = false

			// A local registration wins over the route.
			mustRegister(t, d, party("alpha", MSISDN, "+85291234567", "Local User"))
			if p := mustLookup(t, d, MSISDN, "+85291234567"); p.Participant != "alpha" {
				t.Errorf("local registration lost to the route: %+v", p)
			}

			// Every change is a mark of purpose scheme-route.
			if len(led.cmds) != 2 {
				t.Fatalf("%d marks, want 2", len(led.cmds))
			}
			f, ok := mark.Decode(led.cmds[0].Meta)
			if c := led.cmds[0]; c.Kind != ledger.KindMark || c.Purpose != purpose.SchemeRoute || c.Currency != hkd || !ok ||
				!slices.Equal(f, []string{"put", "MSISDN", "+852", "hk-link", "HKD", "operator"}) {
				t.Errorf("mark %+v, fields %q", c, f)
			}

			// Replacing keeps the creation time; a restart keeps all.
			clk = clk.Add(time.Second)
			rt, created, err = rs.Put(ctx, SchemeRoute{Type: MSISDN, Prefix: "+852", Participant: "hk-link", Currency: cny}, "operator")
			if err != nil || created || rt.Currency != cny || !rt.UpdatedAt.Equal(clk) || rt.CreatedAt.Equal(clk) {
				t.Fatalf("replace: %+v %v %v", rt, created, err)
			}
			again := &SchemeRoutes{DB: sdb, Links: links}
			if err := again.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := again.List(), rs.List(); !slices.Equal(got, want) || len(got) != 2 {
				t.Fatalf("after a restart %+v, want %+v", got, want)
			}
			if err := rs.Delete(ctx, MSISDN, "+8526", "operator"); err != nil {
				t.Fatal(err)
			}
			if err := rs.Delete(ctx, MSISDN, "+8526", "operator"); !errors.Is(err, ErrNoSchemeRoute) {
				t.Errorf("delete again: %v", err)
			}
			if got, ok := rs.Match(MSISDN, "+85261234567"); !ok || got.Participant != "hk-link" {
				t.Errorf("after the delete: %+v %v", got, ok)
			}
			if f, _ := mark.Decode(led.cmds[len(led.cmds)-1].Meta); !slices.Equal(f, []string{"delete", "MSISDN", "+8526", "operator"}) {
				t.Errorf("delete mark fields %q", f)
			}
			ids := map[ledger.ID]bool{}
			for _, c := range led.cmds {
				ids[c.ID] = true
			}
			if len(ids) != len(led.cmds) {
				t.Errorf("%d marks share ids", len(led.cmds)-len(ids))
			}
		})
	}
}

// TestSchemeRoutesWithoutFar: a routed alias cannot be confirmed without
// a way to ask the far scheme, nor through a link no longer active.
func TestSchemeRoutesWithoutFar(t *testing.T) {
	ctx := context.Background()
	sdb := openSQLite(t)
	addParticipants(t, sdb, "hk-link")
	links := fakeLinks{"hk-link": {hkd}}
	rs := &SchemeRoutes{DB: sdb, Links: links}
	if err := rs.Load(ctx); err != nil {
		t.Fatal(err)
	}
	d := New(sdb, Options{SchemeRoutes: rs})
	t.Cleanup(func() { d.Close() })
	if _, _, err := rs.Put(ctx, SchemeRoute{Type: MSISDN, Prefix: "+852", Participant: "hk-link"}, "operator"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lookup(ctx, MSISDN, "+85291234567"); !errors.Is(err, ErrLinkUnavailable) {
		t.Errorf("without a far: %v", err)
	}
	rs.SetFar(&fakeFar{holds: map[string]string{"+85291234567": "Chan"}})
	delete(links, "hk-link") // suspended
	if _, err := d.Lookup(ctx, MSISDN, "+85291234567"); !errors.Is(err, ErrLinkUnavailable) {
		t.Errorf("through a suspended link: %v", err)
	}
}
