package quote

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sqldb"
)

var cny = money.MustCurrency("CNY")

func TestScheduleFee(t *testing.T) {
	tests := []struct {
		s      Schedule
		amount money.Amount
		want   money.Amount
	}{
		{Schedule{Currency: cny}, 10000, 0},
		{Schedule{Currency: cny, Fixed: 100}, 10000, 100},
		{Schedule{Currency: cny, RateBPS: 50}, 10000, 50}, // 0.5 % of 100.00 = 0.50
		{Schedule{Currency: cny, RateBPS: 50}, 333, 2},    // 1.665 fen rounds to 2
		{Schedule{Currency: cny, Fixed: 10, RateBPS: 10}, 100000, 110},
		{Schedule{Currency: cny, RateBPS: 10, Min: 50}, 100, 50},        // clamped up
		{Schedule{Currency: cny, RateBPS: 100, Max: 500}, 1000000, 500}, // clamped down
		{Schedule{Currency: cny, RateBPS: 10000}, 7, 7},
	}
	for _, tt := range tests {
		got, err := tt.s.Fee(tt.amount)
		if err != nil || got != tt.want {
			t.Errorf("%+v.Fee(%d) = %d, %v; want %d", tt.s, tt.amount, got, err, tt.want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	bad := []Schedule{
		{Currency: 1},
		{Currency: cny, Fixed: -1},
		{Currency: cny, Min: -1},
		{Currency: cny, RateBPS: -1},
		{Currency: cny, RateBPS: 10001},
		{Currency: cny, Min: 10, Max: 5},
	}
	for _, s := range bad {
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v accepted", s)
		}
	}
	if err := (Schedule{Currency: cny, Fixed: 1, RateBPS: 10, Min: 1, Max: 0}).Validate(); err != nil {
		t.Errorf("valid schedule refused: %v", err)
	}
}

func TestFeesPersist(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "app.db")
	db, err := sqldb.OpenSQLite(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Unix(1, 0) }
	f, err := LoadFees(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Schedule(cny); s.Fixed != 0 || s.RateBPS != 0 {
		t.Fatalf("default schedule %+v", s)
	}
	want := Schedule{Currency: cny, Fixed: 100, RateBPS: 25, Min: 100, Max: 2000}
	if err := f.Set(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := f.Set(ctx, Schedule{Currency: cny, RateBPS: -4}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid schedule stored: %v", err)
	}
	db.Close()
	db, err = sqldb.OpenSQLite(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err = LoadFees(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Schedule(cny); got != want {
		t.Fatalf("reloaded %+v, want %+v", got, want)
	}
}

func TestQuotes(t *testing.T) {
	s, err := NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0).UTC()
	q := s.Issue(Quote{Payer: "wallet-a", PayeeType: "MSISDN", PayeeValue: "+8613800138000", PayeeParticipant: "wallet-b",
		Amount: 10000, Fee: 50, Currency: cny, ExpiresAt: t0.Add(time.Minute)})
	got, err := s.Verify(q.ID, t0)
	if err != nil || got != q {
		t.Fatalf("verify: %+v, %v; want %+v", got, err, q)
	}
	if _, err := s.Verify(q.ID, t0.Add(time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired quote: %v", err)
	}
	// Any change to the token, or another key, is refused.
	b := []byte(q.ID)
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 1
		if _, err := s.Verify(string(c), t0); err == nil {
			t.Fatalf("altered quote (byte %d) accepted", i)
		}
	}
	other, _ := NewSigner([]byte(strings.Repeat("x", 32)))
	if _, err := other.Verify(q.ID, t0); !errors.Is(err, ErrUnknown) {
		t.Fatalf("quote of another key: %v", err)
	}
	for _, bad := range []string{"", "!!!", "AAAA", strings.Repeat("A", 5000)} {
		if _, err := s.Verify(bad, t0); !errors.Is(err, ErrUnknown) {
			t.Errorf("Verify(%.10q): %v", bad, err)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func FuzzVerify(f *testing.F) {
	s, _ := NewSigner([]byte(strings.Repeat("k", 32)))
	q := s.Issue(Quote{Payer: "a", PayeeType: "EMAIL", PayeeValue: "x@y.cn", PayeeParticipant: "b", Amount: 1, Currency: cny, ExpiresAt: time.Unix(2e9, 0)})
	f.Add(q.ID)
	f.Add("")
	f.Fuzz(func(t *testing.T, id string) {
		got, err := s.Verify(id, time.Unix(1e9, 0))
		if err == nil && s.Issue(got).ID != id {
			t.Fatalf("accepted %q which re-issues differently", id)
		}
	})
}
