package connector

import (
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// FuzzParseCallback: whatever a signed body holds, parsing it never
// panics; what it accepts has an event and what that event needs; and
// each transfer it would book has a positive amount in a known currency,
// to this participant, which formats back to what the switch sent.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{
		`{"event":"transfers.committed","transfers":[{"id":"t1","state":"COMMITTED","payer":"p","payee":{"type":"MSISDN","value":"+8613900139001","participant":"tea-wallet","account":"alice"},"amount":"12.34","fee":"0.10","currency":"CNY"}]}`,
		`{"event":"transfer.confirm","transfer":{"id":"t2","state":"RESERVED","payee":{"participant":"tea-wallet"},"amount":"1","currency":"JPY"}}`,
		`{"event":"transfers.committed","transfers":[{"id":"t3","state":"COMMITTED","payee":{"participant":"tea-wallet"},"amount":"5.00","currency":"CNY","fx":{"targetAmount":"5.42","targetCurrency":"HKD"}}]}`,
		`{"event":"liquidity.low","alert":{"seq":1}}`,
		`{"event":""}`, `{}`, `[]`, `null`, `{"event":"transfers.committed","transfers":null}`,
	} {
		f.Add([]byte(s))
	}
	c := &Connector{cfg: Config{Participant: "tea-wallet"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := parseCallback(body)
		if err != nil {
			return
		}
		switch {
		case cb.Event == "":
			t.Fatalf("accepted without an event: %s", body)
		case cb.Event == wire.EventTransfersCommitted && len(cb.Transfers) == 0:
			t.Fatalf("a notification without transfers: %s", body)
		case cb.Event == wire.EventTransferConfirm && cb.Transfer == nil:
			t.Fatalf("a confirm request without a transfer: %s", body)
		}
		for i := range cb.Transfers {
			in, amt, cur, err := c.inboundOf(&cb.Transfers[i], "committed")
			if err != nil {
				continue
			}
			if amt <= 0 || !cur.Valid() || cb.Transfers[i].Payee.Participant != "tea-wallet" || in.TransferID == "" {
				t.Fatalf("would book %+v (%d %v) from %s", in, amt, cur, body)
			}
			if back, err := money.Parse(in.Amount, cur); err != nil || back != amt {
				t.Fatalf("amount %q does not read back as %d", in.Amount, amt)
			}
			if _, err := json.Marshal(in); err != nil {
				t.Fatalf("the delivery does not encode: %v", err)
			}
		}
	})
}
