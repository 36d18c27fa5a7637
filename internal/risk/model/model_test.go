package model_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/risk/model"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o  model.Options
		ok bool
	}{
		{model.Options{}, true},
		{model.Options{Threshold: 0.7, MaxEntities: 10}, true},
		{model.Options{Threshold: 1}, true},
		{model.Options{Threshold: -0.1}, false},
		{model.Options{Threshold: 1.5}, false},
		{model.Options{Threshold: math.NaN()}, false},
		{model.Options{MaxEntities: -1}, false},
		{model.Options{MaxEntities: 1 << 40}, false},
	} {
		err := tc.o.Validate()
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, model.ErrInvalidOptions) {
			t.Errorf("%+v: Validate = %v, want ok %v", tc.o, err, tc.ok)
		}
	}
	if got := model.New(model.Options{}).Threshold(); got != model.DefaultThreshold {
		t.Errorf("default threshold %v, want %v", got, model.DefaultThreshold)
	}
	if got := model.New(model.Options{Threshold: 0.3}).Threshold(); got != 0.3 {
		t.Errorf("threshold %v, want 0.3", got)
	}
}

// history teaches m an account that pays 100.00 to a few payees in the
// daytime, twice a day for 20 days.
func history(m *model.Model) {
	for d := range 20 {
		for k := range 2 {
			m.Observe(&model.Txn{
				At: t0.Add(time.Duration(d)*24*time.Hour + time.Duration(k)*5*time.Hour), Hour: 10 + 5*k,
				Payer: "p", PayerAccount: "u1", Alias: fmt.Sprintf("MSISDN:+86130000000%d", k),
				Currency: "CNY", Amount: 10000 + int64(d*100), Factors: 2,
			})
		}
	}
}

func TestScoreIsBoundedAndFinite(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 1))
	m := model.New(model.Options{MaxEntities: 64})
	history(m)
	amounts := []int64{math.MinInt64, -1, 0, 1, 2, 100, 1 << 40, math.MaxInt64}
	texts := []string{"", "p", "u1", "MSISDN:+861300000000", string(make([]byte, 300))}
	times := []time.Time{{}, time.Unix(-1<<40, 0), t0, t0.Add(-time.Hour), time.Unix(1<<33, 0), time.Unix(math.MaxInt64/2, 0)}
	for i := range 20_000 {
		tx := model.Txn{
			At: times[r.IntN(len(times))], Hour: r.IntN(30) - 3,
			Payer: texts[r.IntN(len(texts))], PayerAccount: texts[r.IntN(len(texts))], Alias: texts[r.IntN(len(texts))],
			Currency: []string{"", "CNY", "USD", "TOOLONG"}[r.IntN(4)], Amount: amounts[r.IntN(len(amounts))],
			NewPayee: r.IntN(2) == 0, Factors: r.IntN(8) - 1,
		}
		s := m.Score(&tx)
		if !(s.Value >= 0 && s.Value <= 1) || math.IsNaN(s.Logit()) {
			t.Fatalf("seed %d, step %d: %+v scored %v (logit %v)", seed, i, tx, s.Value, s.Logit())
		}
		if r.IntN(2) == 0 {
			m.Observe(&tx)
		}
	}
}

func TestTopExplainsScore(t *testing.T) {
	m := model.New(model.Options{})
	history(m)
	at := t0.Add(21 * 24 * time.Hour).Add(-7 * time.Hour) // 03:00
	for _, tc := range []struct {
		name  string
		tx    model.Txn
		first []string // the acceptable top features, none for none
		high  bool
	}{
		{"habit", model.Txn{At: at.Add(8 * time.Hour), Hour: 11, Alias: "MSISDN:+861300000000", Amount: 11000, Factors: 2}, nil, false},
		{"big at night to a new payee", model.Txn{At: at, Hour: 3, Alias: "MSISDN:+869999", Amount: 5_000_000, NewPayee: true, Factors: 1}, []string{model.FeatureNewPayeeLarge, model.FeatureOddHourLarge, model.FeatureHour}, true},
		{"weak auth only", model.Txn{At: at.Add(8 * time.Hour), Hour: 11, Alias: "MSISDN:+861300000000", Amount: 10000, Factors: 1}, []string{model.FeatureWeakAuth}, false},
	} {
		tc.tx.Payer, tc.tx.PayerAccount, tc.tx.Currency = "p", "u1", "CNY"
		s := m.Score(&tc.tx)
		names, cs := s.Contributions()
		sum := model.Bias
		for _, c := range cs {
			sum += c
		}
		if math.Abs(sum-s.Logit()) > 1e-9 || math.Abs(1/(1+math.Exp(-sum))-s.Value) > 1e-9 {
			t.Errorf("%s: contributions sum to %v, logit %v, value %v", tc.name, sum, s.Logit(), s.Value)
		}
		for i := 1; i < s.N; i++ {
			if s.Top[i].Contribution > s.Top[i-1].Contribution {
				t.Errorf("%s: Top not sorted: %+v", tc.name, s.Top)
			}
		}
		// Top holds the largest positive contributions.
		for i, c := range cs {
			if c > 0 && (s.N < 3 && !inTop(s, names[i]) || s.N == 3 && c > s.Top[2].Contribution && !inTop(s, names[i])) {
				t.Errorf("%s: %s contributes %v but is not in Top %+v", tc.name, names[i], c, s.Top)
			}
		}
		if len(tc.first) == 0 && s.N != 0 || len(tc.first) > 0 && (s.N == 0 || !slices.Contains(tc.first, s.Top[0].Name)) {
			t.Errorf("%s: Top %+v (N %d), want first %q", tc.name, s.Top, s.N, tc.first)
		}
		if got := s.Value >= m.Threshold(); got != tc.high {
			t.Errorf("%s: score %v, flagged %v, want %v", tc.name, s.Value, got, tc.high)
		}
		fs := s.Features()
		if len(fs) != s.N {
			t.Errorf("%s: Features %d, want %d", tc.name, len(fs), s.N)
		}
		for _, f := range fs {
			if f.Detail == "" {
				t.Errorf("%s: feature %s without detail", tc.name, f.Name)
			}
		}
		t.Logf("%s: %.3f %+v", tc.name, s.Value, fs)
	}
}

func inTop(s model.Score, name string) bool {
	for _, f := range s.Top[:s.N] {
		if f.Name == name {
			return true
		}
	}
	return false
}

func TestLearns(t *testing.T) {
	// The same payment scores lower once it is a habit.
	m := model.New(model.Options{})
	tx := model.Txn{At: t0, Hour: 2, Payer: "p", PayerAccount: "u", Alias: "EMAIL:a@b", Currency: "CNY", Amount: 10000, Factors: 2}
	for i := range 200 { // the population
		m.Observe(&model.Txn{At: t0.Add(-time.Duration(i) * time.Minute), Hour: 14, Payer: "p", PayerAccount: fmt.Sprint("o", i),
			Alias: fmt.Sprint("EMAIL:", i), Currency: "CNY", Amount: 100 + int64(i), Factors: 2})
	}
	first := m.Score(&tx)
	for d := range 30 {
		tx.At = t0.Add(time.Duration(d) * 24 * time.Hour)
		m.Observe(&tx)
	}
	tx.At = t0.Add(30 * 24 * time.Hour)
	if later := m.Score(&tx); later.Value >= first.Value {
		t.Errorf("habit scores %v, first time %v: want lower", later.Value, first.Value)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []float64 {
		m := model.New(model.Options{MaxEntities: 500})
		r := rand.New(rand.NewPCG(7, 7))
		var out []float64
		for i := range 5000 {
			tx := model.Txn{At: t0.Add(time.Duration(i) * time.Minute), Hour: (i / 60) % 24, Payer: "p",
				PayerAccount: fmt.Sprint(r.IntN(800)), Alias: fmt.Sprint("A:", r.IntN(900)), Currency: "CNY",
				Amount: 1 + r.Int64N(100000), NewPayee: r.IntN(3) == 0, Factors: 1 + r.IntN(2)}
			out = append(out, m.Score(&tx).Value)
			m.Observe(&tx)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("transfer %d scored %v then %v", i, a[i], b[i])
		}
	}
}

func TestBoundedMemory(t *testing.T) {
	for _, bound := range []int{1, 100, 5000, 20_000} {
		m := model.New(model.Options{MaxEntities: bound})
		for i := range 3 * bound {
			m.Observe(&model.Txn{At: t0.Add(time.Duration(i) * time.Second), Hour: 12, Payer: "p",
				PayerAccount: fmt.Sprint(i), Alias: fmt.Sprint("A:", i), Currency: "CNY", Amount: 100})
		}
		st := m.Stats()
		if st.Accounts > bound || st.Aliases > bound || st.Accounts < bound*3/4 || st.Aliases < bound*3/4 {
			t.Errorf("bound %d: holds %+v", bound, st)
		}
		if bound >= 5000 {
			per := float64(st.Bytes) / float64(st.Accounts+st.Aliases)
			t.Logf("bound %d: %+v, %.1f bytes per entity", bound, st, per)
			if per > 60 {
				t.Errorf("bound %d: %.1f bytes per entity", bound, per)
			}
		}
	}
}

func TestScoreAllocatesNothing(t *testing.T) {
	m := model.New(model.Options{})
	history(m)
	tx := model.Txn{At: t0.Add(30 * 24 * time.Hour), Hour: 3, Payer: "p", PayerAccount: "u1", Alias: "MSISDN:+869999",
		Currency: "CNY", Amount: 5_000_000, NewPayee: true, Factors: 1}
	if n := testing.AllocsPerRun(100, func() { m.Score(&tx) }); n != 0 {
		t.Errorf("Score allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { m.Observe(&tx) }); n != 0 {
		t.Errorf("Observe allocates %v times", n)
	}
}

func TestConcurrent(t *testing.T) {
	m := model.New(model.Options{MaxEntities: 2000})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 3))
			for i := range 20_000 {
				tx := model.Txn{At: t0.Add(time.Duration(i) * time.Second), Hour: i % 24, Payer: "p",
					PayerAccount: fmt.Sprint(r.IntN(3000)), Alias: fmt.Sprint("A:", r.IntN(3000)),
					Currency: []string{"CNY", "USD"}[r.IntN(2)], Amount: 1 + r.Int64N(1e6), NewPayee: r.IntN(2) == 0, Factors: 2}
				if s := m.Score(&tx); !(s.Value >= 0 && s.Value <= 1) {
					t.Errorf("score %v", s.Value)
					return
				}
				m.Observe(&tx)
				if i%5000 == 0 {
					m.Stats()
				}
			}
		}()
	}
	wg.Wait()
	if st := m.Stats(); st.Accounts > 2000 || st.Aliases > 2000 {
		t.Errorf("holds %+v, bound 2000", st)
	}
}
