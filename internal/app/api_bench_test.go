package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/wire"
)

// benchSwitch is a switch whose API handler a benchmark calls directly:
// what a request costs inside the switch, without the network and
// net/http's connection handling (which the wrk runs of BENCHMARKS.md
// include).
type benchSwitch struct {
	b      *testing.B
	a      *app.App
	payer  string
	payee  string
	values []string
}

func newBenchSwitch(b *testing.B, aliases int) *benchSwitch {
	b.Helper()
	a, err := app.Open(context.Background(), app.Config{DataDir: b.TempDir(), Addr: "127.0.0.1:0", AdminToken: opToken,
		RateLimit: 1e9, RateBurst: 1 << 30, LookupRate: 1e9, LookupBurst: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(context.Background()) })
	s := &benchSwitch{b: b, a: a}
	keys := map[string]string{}
	for _, id := range []string{"wallet-a", "wallet-b"} {
		var p wire.Participant
		s.call(http.StatusCreated, "POST", "/v1/participants", opToken, wire.NewParticipant{ID: id, Name: id, Kind: "wallet", Currencies: []string{"CNY"}}, &p)
		keys[id] = p.APIKey
	}
	s.payer, s.payee = keys["wallet-a"], keys["wallet-b"]
	s.call(http.StatusCreated, "POST", "/v1/participants/wallet-a/funds", opToken, wire.Funds{Currency: "CNY", Amount: "100000000.00", Direction: "deposit"}, nil)
	for i := 0; i < aliases; i += 1000 {
		var batch wire.PartyBatch
		for j := i; j < min(i+1000, aliases); j++ {
			v := fmt.Sprintf("+86139%08d", j)
			s.values = append(s.values, v)
			batch.Parties = append(batch.Parties, wire.NewParty{Type: "MSISDN", Value: v, Name: "Li Lei", Account: "u-" + strconv.Itoa(j), Currency: "CNY"})
		}
		s.call(http.StatusOK, "POST", "/v1/parties:batch", s.payee, batch, nil)
	}
	return s
}

func (s *benchSwitch) call(status int, method, path, token string, in, out any) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			s.b.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.a.API.ServeHTTP(rec, req)
	if rec.Code != status {
		s.b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			s.b.Fatal(err)
		}
	}
}

// BenchmarkAPILookup: GET /v1/parties/MSISDN/{value} through the API
// handler, among 10,000 aliases; allocs/op is the allocations per lookup
// inside the switch.
func BenchmarkAPILookup(b *testing.B) {
	s := newBenchSwitch(b, 10_000)
	auth := "Bearer " + s.payer
	reqs := make([]*http.Request, len(s.values))
	for i, v := range s.values {
		reqs[i] = httptest.NewRequest("GET", "/v1/parties/MSISDN/"+v, nil)
		reqs[i].Header.Set("Authorization", auth)
	}
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.reset()
		s.a.API.ServeHTTP(w, reqs[i%len(reqs)])
		i++
	}
	if w.code != http.StatusOK {
		b.Fatalf("lookup: %d %s", w.code, w.body)
	}
}

// BenchmarkAPITransfer: POST /v1/transfers through the API handler, each
// a new payment to one of 10,000 aliases, 64 requests in flight per CPU
// so that the journal makes them durable in batches as it does under
// load; allocs/op is the allocations per payment inside the switch.
func BenchmarkAPITransfer(b *testing.B) {
	s := newBenchSwitch(b, 10_000)
	auth := "Bearer " + s.payer
	var next atomic.Int64
	var failed atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		w := &benchWriter{h: http.Header{}}
		for pb.Next() {
			n := next.Add(1)
			body := `{"id":"b-` + strconv.FormatInt(n, 10) + `","payee":{"type":"MSISDN","value":"` +
				s.values[n%int64(len(s.values))] + `"},"amount":"0.01","currency":"CNY"}`
			req := httptest.NewRequest("POST", "/v1/transfers", strings.NewReader(body))
			req.Header.Set("Authorization", auth)
			req.Header.Set("Content-Type", "application/json")
			w.reset()
			s.a.API.ServeHTTP(w, req)
			if w.code != http.StatusCreated && failed.Add(1) == 1 {
				b.Logf("payment %d: %d %s", n, w.code, w.body)
			}
		}
	})
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d payments failed", n)
	}
}

// benchWriter is a ResponseWriter a benchmark reuses, so that its own
// allocations do not count as the switch's.
type benchWriter struct {
	h    http.Header
	code int
	body []byte
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, b...)
	return len(b), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.code, w.body = 0, w.body[:0]
}
