package store

import (
	"bytes"
	"io"
	"testing"

	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/store/frame"
)

// FuzzFrames feeds arbitrary bytes to the frame reader and decoder that
// replay uses: they must never panic, and a frame they accept must
// re-encode to exactly the bytes it came from.
func FuzzFrames(f *testing.F) {
	cny := money.MustCurrency("CNY")
	c := ledger.Committed{Seq: 1, Now: 5, Events: []ledger.Event{
		{Timestamp: 5, Kind: ledger.KindCreateAccount, Account: 1, Currency: cny},
		{Timestamp: 6, Kind: ledger.KindPost, ID: ledger.ID{1}, Debit: 1, Credit: 2, Amount: 3, Currency: cny},
	}}
	valid := appendFrame(nil, &c)
	f.Add(valid)
	f.Add(append(bytes.Clone(valid), valid[:50]...))
	f.Add([]byte(frame.Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		hdr := make([]byte, frame.HeaderSize)
		var body []byte
		var c ledger.Committed
		for {
			h, err := readFrame(r, hdr, &body)
			if err == io.EOF || err != nil {
				return
			}
			if err := decodeBody(h, body, &c); err != nil {
				return
			}
			if got := appendFrame(nil, &c); !bytes.Equal(got, append(bytes.Clone(hdr), body...)) {
				t.Fatalf("accepted frame re-encodes differently")
			}
		}
	})
}
