package app_test

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxing "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/qr/emv"
	"github.com/hulian/hulian/internal/wire"
)

// scan reads a PNG as a QR reader does.
func scan(t *testing.T, img []byte) string {
	t.Helper()
	im, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(im)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxing.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the PNG does not read as a QR code: %v", err)
	}
	return res.GetText()
}

// TestMerchantQR: through real HTTP on both engines, a wallet registers a
// merchant and makes a static and a dynamic code; the PNG reads back as
// the payload; another wallet decodes them and pays: the static one any
// amount, the dynamic one its amount once; a wrong amount, an expired
// code, a bad CRC, another scheme's code and a code in a batch are
// refused and change nothing.
func TestMerchantQR(t *testing.T) {
	eachEngine(t, nil, func(t *testing.T, s *sw) {
		mKey, _ := s.participant("wallet-m", nil)
		pKey, _ := s.participant("wallet-p", nil)
		s.deposit("wallet-p", "1000.00")
		reg := wire.NewParty{Type: "MERCHANT", Value: "M-00123", Name: "Lao Wang Noodles", Account: "shop-1", Currency: "CNY",
			MCC: "5812", City: "Beijing", Country: "CN"}
		s.ok(201, "POST", "/v1/parties", mKey, reg, nil)
		bad := reg
		bad.Value, bad.MCC = "M-2", "58"
		s.problem(400, "invalid-request", "POST", "/v1/parties", mKey, bad)
		bad = reg
		bad.Value, bad.Name = "M-3", "A name far too long for a QR code"
		s.problem(400, "invalid-request", "POST", "/v1/parties", mKey, bad)
		bad = reg
		bad.Type, bad.Value = "WALLET", "w-1"
		s.problem(400, "invalid-request", "POST", "/v1/parties", mKey, bad)

		var static, dynamic wire.QR
		s.ok(201, "POST", "/v1/qr", mKey, wire.NewQR{Merchant: "M-00123", Currency: "CNY"}, &static)
		if static.Dynamic || !strings.HasPrefix(static.Payload, "000201010211") || !strings.Contains(static.Payload, "0009cn.hulian0107M-00123") ||
			static.Image != "/v1/qr/"+static.ID+".png" {
			t.Fatalf("static: %+v", static)
		}
		s.ok(201, "POST", "/v1/qr", mKey, wire.NewQR{Merchant: "M-00123", Amount: "36.00", Currency: "CNY", Reference: "order-77",
			ExpiresAt: time.Now().Add(10 * time.Minute)}, &dynamic)
		if !dynamic.Dynamic || !strings.Contains(dynamic.Payload, "540536.00") || !strings.Contains(dynamic.Payload, "0108order-77") {
			t.Fatalf("dynamic: %+v", dynamic)
		}
		s.problem(404, "not-found", "POST", "/v1/qr", pKey, wire.NewQR{Merchant: "M-00123", Currency: "CNY"})
		s.problem(400, "invalid-request", "POST", "/v1/qr", mKey, wire.NewQR{Merchant: "M-00123", Currency: "CNY", ExpiresAt: time.Now().Add(time.Hour)})
		// The image reads back as the payload.
		for _, c := range []wire.QR{static, dynamic} {
			r := s.do("GET", c.Image, mKey, nil)
			if r.status != 200 || r.header.Get("Content-Type") != "image/png" {
				t.Fatalf("GET %s: %d %s", c.Image, r.status, r.body)
			}
			if got := scan(t, r.body); got != c.Payload {
				t.Errorf("the PNG reads %q, want %q", got, c.Payload)
			}
		}
		s.problem(404, "not-found", "GET", static.Image, pKey, nil)
		// Decoded by a payer's wallet.
		var d wire.QRDecoded
		s.ok(200, "POST", "/v1/qr:decode", pKey, wire.QRDecode{Payload: dynamic.Payload}, &d)
		if d.Merchant.ID != "M-00123" || d.Merchant.MCC != "5812" || d.Merchant.City != "Beijing" || d.Merchant.DisplayName == reg.Name ||
			d.Amount != "36.00" || d.Reference != "order-77" || d.ExpiresAt.IsZero() || d.Paid {
			t.Errorf("decoded: %+v", d)
		}
		broken := dynamic.Payload[:len(dynamic.Payload)-4] + "0000"
		s.problem(400, "invalid-qr", "POST", "/v1/qr:decode", pKey, wire.QRDecode{Payload: broken})
		other, err := emv.Encode(emv.Code{GUID: "br.gov.bcb.pix", MerchantID: "M-00123", MCC: "5812", Currency: money.MustCurrency("CNY"),
			Country: "CN", Name: "X", City: "Beijing"})
		if err != nil {
			t.Fatal(err)
		}
		s.problem(400, "invalid-qr", "POST", "/v1/qr:decode", pKey, wire.QRDecode{Payload: other})
		s.problem(400, "invalid-qr", "POST", "/v1/transfers", pKey, pay("qr-o1", "QR", other, "1.00"))
		s.problem(400, "invalid-qr", "POST", "/v1/qr:decode", pKey, wire.QRDecode{Payload: "not a code"})
		// Paid.
		qrPay := func(id, payload, amount string) wire.NewTransfer { return pay(id, "QR", payload, amount) }
		var tr wire.Transfer
		s.ok(201, "POST", "/v1/transfers", pKey, qrPay("qr-s1", static.Payload, "12.00"), &tr)
		if tr.State != "COMMITTED" || tr.Payee.Type != "MERCHANT" || tr.Payee.Value != "M-00123" || tr.Payee.Participant != "wallet-m" {
			t.Errorf("paid the static code: %+v", tr)
		}
		s.problem(422, "amount-mismatch", "POST", "/v1/transfers", pKey, qrPay("qr-d0", dynamic.Payload, "35.99"))
		s.ok(201, "POST", "/v1/transfers", pKey, qrPay("qr-d1", dynamic.Payload, "36.00"), &tr)
		if tr.State != "COMMITTED" || tr.Note != "order-77" {
			t.Errorf("paid the dynamic code: %+v", tr)
		}
		s.ok(200, "POST", "/v1/transfers", pKey, qrPay("qr-d1", dynamic.Payload, "36.00"), nil) // a retry
		s.problem(409, "qr-already-paid", "POST", "/v1/transfers", pKey, qrPay("qr-d2", dynamic.Payload, "36.00"))
		s.ok(200, "POST", "/v1/qr:decode", pKey, wire.QRDecode{Payload: dynamic.Payload}, &d)
		if !d.Paid {
			t.Errorf("decoded after payment: %+v", d)
		}
		var batch wire.TransferBatchResult
		s.ok(200, "POST", "/v1/transfers:batch", pKey, wire.TransferBatch{Transfers: []wire.NewTransfer{qrPay("qr-b1", static.Payload, "1.00")}}, &batch)
		if batch.Results[0].Status != 400 {
			t.Errorf("a QR payee in a batch: %+v", batch.Results[0])
		}
		// Expired.
		var short wire.QR
		s.ok(201, "POST", "/v1/qr", mKey, wire.NewQR{Merchant: "M-00123", Amount: "1.00", Currency: "CNY",
			ExpiresAt: time.Now().Add(300 * time.Millisecond)}, &short)
		time.Sleep(400 * time.Millisecond)
		s.problem(422, "qr-expired", "POST", "/v1/transfers", pKey, qrPay("qr-e1", short.Payload, "1.00"))
		s.problem(404, "not-found", "GET", "/v1/transfers/qr-e1", pKey, nil)
		if b := s.balance(mKey, "wallet-m"); b.Balance != "48.00" {
			t.Errorf("wallet-m: %+v", b)
		}
		// Long expired unpaid dynamic codes are pruned; paid and static
		// ones stay.
		if n, err := s.app.QR.Prune(context.Background(), time.Now().Add(31*24*time.Hour)); err != nil || n != 1 {
			t.Errorf("pruned %d: %v", n, err)
		}
		s.problem(404, "not-found", "GET", "/v1/qr/"+short.ID, mKey, nil)
		s.ok(200, "GET", "/v1/qr/"+dynamic.ID, mKey, nil, nil)
		s.ok(200, "GET", "/v1/qr/"+static.ID, mKey, nil, nil)
	})
}
