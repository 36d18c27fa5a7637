package dfsp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/sim/dfsp"
)

// TestGoldenILP checks the payee's quote and fulfilment against the vector
// that sdk-standard-components 19.19.1 made for the same quote (testdata/
// ilp-v1.json): the same ilpPacket and condition, then the same fulfilment.
func TestGoldenILP(t *testing.T) {
	raw, err := os.ReadFile("testdata/ilp-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Secret        string          `json:"secret"`
		QuoteRequest  json.RawMessage `json:"quoteRequest"`
		QuoteResponse msg.QuotesPut   `json:"quoteResponse"`
		V1            struct{ Fulfilment, Condition, IlpPacket string }
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer sink.Close()
	var mu sync.Mutex
	sent := map[string][]byte{}
	exp, _ := msg.ParseDateTime(v.QuoteResponse.Expiration)
	d, err := dfsp.New(dfsp.Config{ID: "payeefsp", SwitchURL: sink.URL, ILPSecret: []byte(v.Secret), Currency: "USD",
		Now: func() time.Time { return exp.Add(-dfsp.DefaultExpiry) },
		Check: func(dir, method, path string, _ http.Header, body []byte) error {
			mu.Lock()
			defer mu.Unlock()
			sent[method+" "+path] = body
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.AddParty(msg.MSISDN, "27713803912", "Bob")
	// The vector's payee charged a fee (amount 100, transferAmount 100.5);
	// this payee charges none, so it is asked for 100.5.
	var qr map[string]any
	if err := json.Unmarshal(v.QuoteRequest, &qr); err != nil {
		t.Fatal(err)
	}
	qr["amount"] = v.QuoteResponse.TransferAmount
	req, _ := json.Marshal(qr)
	post := func(resource, body string) {
		r := httptest.NewRequest(http.MethodPost, "/"+resource, strings.NewReader(body))
		r.Header.Set("Content-Type", msg.ContentType(resource, msg.Version10))
		r.Header.Set("Accept", msg.Accept(resource))
		r.Header.Set("Date", msg.FormatDate(time.Now()))
		r.Header.Set("FSPIOP-Source", "payerfsp")
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted || w.Body.Len() != 0 {
			t.Fatalf("POST /%s: %d %s", resource, w.Code, w.Body)
		}
	}
	got := func(key string) []byte {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			mu.Lock()
			b, ok := sent[key]
			mu.Unlock()
			if ok {
				return b
			}
		}
		t.Fatalf("no %s sent", key)
		return nil
	}
	post("quotes", string(req))
	var q msg.QuotesPut
	if err := json.Unmarshal(got("PUT /quotes/7c23e80c-d078-4077-8263-2c047876fcf6"), &q); err != nil {
		t.Fatal(err)
	}
	if q.ILPPacket != v.V1.IlpPacket || q.Condition != v.V1.Condition || q.Expiration != v.QuoteResponse.Expiration ||
		q.TransferAmount != v.QuoteResponse.TransferAmount {
		t.Fatalf("quote %+v\nwant packet %s\ncondition %s", q, v.V1.IlpPacket, v.V1.Condition)
	}
	prepare, _ := json.Marshal(msg.TransfersPost{TransferID: "85feac2f-39b2-491b-817e-4a03203d4f14", PayeeFSP: "payeefsp",
		PayerFSP: "payerfsp", Amount: q.TransferAmount, ILPPacket: q.ILPPacket, Condition: q.Condition,
		Expiration: q.Expiration})
	post("transfers", string(prepare))
	var f msg.TransfersPut
	if err := json.Unmarshal(got("PUT /transfers/85feac2f-39b2-491b-817e-4a03203d4f14"), &f); err != nil {
		t.Fatal(err)
	}
	if f.Fulfilment != v.V1.Fulfilment || f.TransferState != msg.StateCommitted {
		t.Errorf("fulfil %+v, want fulfilment %s", f, v.V1.Fulfilment)
	}
	if ps := d.Problems(); len(ps) != 0 {
		t.Errorf("problems %v", ps)
	}
}
