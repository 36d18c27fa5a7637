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
// to this participant, which formats back to what the switch sent; each
// notice of a request to pay or a mandate it would deliver has an
// identity, a side, and amounts that read back.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{
		`{"event":"transfers.committed","transfers":[{"id":"t1","state":"COMMITTED","payer":"p","payee":{"type":"MSISDN","value":"+8613900139001","participant":"tea-wallet","account":"alice"},"amount":"12.34","fee":"0.10","currency":"CNY"}]}`,
		`{"event":"transfer.confirm","transfer":{"id":"t2","state":"RESERVED","payee":{"participant":"tea-wallet"},"amount":"1","currency":"JPY"}}`,
		`{"event":"transfers.committed","transfers":[{"id":"t3","state":"COMMITTED","payee":{"participant":"tea-wallet"},"amount":"5.00","currency":"CNY","fx":{"targetAmount":"5.42","targetCurrency":"HKD"}}]}`,
		`{"event":"liquidity.low","alert":{"seq":1}}`,
		`{"event":"payment-request.created","paymentRequest":{"id":"bill-1","payee":"peony-pay","payer":{"type":"MSISDN","value":"+8613900139001","participant":"tea-wallet"},"amount":"12.34","currency":"CNY","message":"water","expiresAt":"2026-12-08T00:00:00Z","state":"PENDING","createdAt":"2026-12-07T00:00:00Z","updatedAt":"2026-12-07T00:00:00Z"}}`,
		`{"event":"payment-request.paid","paymentRequest":{"id":"tea-wallet.abc","payee":"tea-wallet","payer":{"type":"MSISDN","value":"+8613800138001","participant":"peony-pay"},"amount":"5.00","currency":"CNY","state":"PAID","transferId":"peony-pay.t1"}}`,
		`{"event":"payment-request.declined","paymentRequest":{"id":"x","payee":"tea-wallet","payer":{"participant":"p"},"amount":"-1","currency":"CNY","state":"DECLINED","reason":"no"}}`,
		`{"event":"payment-request.expired"}`,
		`{"event":"mandate.proposed","mandate":{"id":"gym-1","biller":"peony-pay","payer":{"type":"MSISDN","value":"+8613900139001","participant":"tea-wallet"},"maxAmount":"100.00","currency":"CNY","frequency":"adhoc","state":"PENDING","validFrom":"2026-12-07T00:00:00Z","validUntil":"2027-01-07T00:00:00Z"}}`,
		`{"event":"mandate.changed","mandate":{"id":"gym-1","biller":"peony-pay","payer":{"participant":"tea-wallet"},"maxAmount":"100.00","currency":"CNY","state":"REVOKED","updatedAt":"2026-12-07T01:00:00Z"}}`,
		`{"event":"mandate.execution-due","mandate":{"id":"gym-1","biller":"peony-pay","payer":{"participant":"tea-wallet"},"maxAmount":"1","currency":"JPY","state":"ACTIVE","nextExecution":"2026-12-08T01:00:00Z"}}`,
		`{"event":"mandate.executed","mandate":{"id":"gym-1","biller":"peony-pay","payer":{"participant":"tea-wallet"},"maxAmount":"100.00","currency":"CNY","state":"ACTIVE"},"execution":{"id":"peony-pay.e1","mandate":"gym-1","amount":"30.00","currency":"CNY","state":"COMMITTED"}}`,
		`{"event":"mandate.execution-failed","mandate":{"id":"gym-1","biller":"peony-pay","payer":{"participant":"tea-wallet"},"maxAmount":"100.00","currency":"CNY"}}`,
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
		if _, ok := noticeEvents[cb.Event]; ok {
			n, err := c.noticeOf(&cb)
			if err != nil {
				return
			}
			if n.EventID == "" || n.Event != noticeEvents[cb.Event] || (n.Role != "payer" && n.Role != "payee" && n.Role != "biller") {
				t.Fatalf("would deliver %+v from %s", n, body)
			}
			for _, a := range []string{n.Amount, n.MaxAmount} {
				if a == "" {
					continue
				}
				cur, err := money.ParseCurrency(n.Currency)
				if amt, perr := money.Parse(a, cur); err != nil || perr != nil || amt <= 0 || amt.Format(cur) != a {
					t.Fatalf("amount %q in %q does not read back: %s", a, n.Currency, body)
				}
			}
			if _, err := json.Marshal(n); err != nil {
				t.Fatalf("the notice does not encode: %v", err)
			}
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
