package audit

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/purpose"
)

// BenchmarkAppend measures appending leaves: encoding a payment-sized
// event, tlog.RecordHash, tlog's stored hashes and the buffered write to
// the hash file (flushed every 8192 leaves, as the tailer does per scan).
func BenchmarkAppend(b *testing.B) {
	s, err := openHashStore(filepath.Join(b.TempDir(), HashesFile), 1<<62)
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	e := ledger.Event{Kind: ledger.KindPost, Purpose: purpose.Payment, Currency: money.MustCurrency("CNY"),
		Debit: 1, Credit: 2, Amount: 12345, Meta: string(make([]byte, 80))}
	var buf [ledger.EventFixedSize + ledger.MetaMax]byte
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e.Timestamp = int64(i)
		if err := s.appendLeaf(tlog.RecordHash(e.AppendBinary(buf[:0]))); err != nil {
			b.Fatal(err)
		}
		if i%8192 == 8191 {
			if err := s.flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.sync(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "leaves/s")
}
