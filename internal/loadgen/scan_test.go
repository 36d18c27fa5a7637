package loadgen

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/wire"
)

// batchAnswer is a batch answer as the switch writes it: the same types
// through the same encoder.
func batchAnswer(t *testing.T, n int) ([]byte, []itemResult) {
	t.Helper()
	var res wire.TransferBatchResult
	var want []itemResult
	for i := range n {
		switch i % 4 {
		case 0, 1:
			state := "COMMITTED"
			if i%8 == 1 {
				state = "RESERVED"
			}
			tr := &wire.Transfer{ID: "b1-0-" + strconv.Itoa(i), State: state, Payer: "bench-x-a",
				Payee:  wire.PayeeRef{Type: "MSISDN", Value: "+8613800138000", Participant: "bench-x-b"},
				Amount: "12.34", Fee: "0.11", Currency: "CNY", Note: `quote "}]{[ \\ ,` + "\u00e9", CreatedAt: time.Now()}
			res.Results = append(res.Results, wire.TransferResult{Status: 201, Transfer: tr})
			want = append(want, itemResult{status: 201, state: []byte(state)})
		case 2:
			p := &wire.Problem{Type: wire.ProblemBase + "insufficient-funds", Title: "x", Status: 422, Detail: `a "detail"`}
			res.Results = append(res.Results, wire.TransferResult{Status: 422, Error: p})
			want = append(want, itemResult{status: 422, problem: []byte("insufficient-funds")})
		case 3:
			tr := &wire.Transfer{ID: "x", State: "COMMITTED", Amount: "1.00", Currency: "CNY"}
			res.Results = append(res.Results, wire.TransferResult{Status: 200, Transfer: tr})
			want = append(want, itemResult{status: 200, state: []byte("COMMITTED")})
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b, want
}

func TestScanBatch(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		doc, want := batchAnswer(t, n)
		var got []itemResult
		k, ok := scanBatch(doc, func(it itemResult) { got = append(got, it) })
		if !ok || k != n || len(got) != n {
			t.Fatalf("n=%d: scanBatch = %d, %v (%d items)", n, k, ok, len(got))
		}
		for i := range want {
			if got[i].status != want[i].status || string(got[i].state) != string(want[i].state) ||
				string(got[i].problem) != string(want[i].problem) {
				t.Fatalf("n=%d: item %d = %+v, want %+v", n, i, got[i], want[i])
			}
		}
	}
	// Reordered and spaced members, and unknown ones, are fine.
	doc := []byte(` { "x" : [1, {"a": null}], "results" : [ { "transfer" : { "state" : "COMMITTED", "n": -1.5e3 } , "status" : 201 } ] } `)
	if n, ok := scanBatch(doc, func(itemResult) {}); !ok || n != 1 {
		t.Fatalf("spaced document: %d, %v", n, ok)
	}
}

func TestScanMalformed(t *testing.T) {
	doc, _ := batchAnswer(t, 5)
	// Every truncation is refused, without a panic.
	for i := range len(doc) - 1 {
		if _, ok := scanBatch(doc[:i], func(itemResult) {}); ok {
			t.Fatalf("truncated at %d of %d: accepted", i, len(doc))
		}
		topString(doc[:i], "type")
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"results":{}}`, `{"results":[{}]}`, `{"results":[{"status":"x"}]}`,
		`{"results":[]}x`, `{"results":[{"status":201}{"status":201}]}`, `{"results" [] }`, `{"results":[{"status":201,}]}`} {
		if _, ok := scanBatch([]byte(bad), func(itemResult) {}); ok {
			t.Errorf("scanBatch(%s) accepted", bad)
		}
	}
}

func TestTopString(t *testing.T) {
	b, err := json.Marshal(wire.Problem{Type: wire.ProblemBase + "rate-limited", Title: "Too many requests", Status: 429,
		Detail: `participant "x" {exceeded}`})
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := problemName(b); !ok || string(name) != "rate-limited" {
		t.Fatalf("problemName = %q, %v", name, ok)
	}
	cases := []struct {
		doc, key, want string
		ok             bool
	}{
		{`{"id":"q1","payee":{"id":"no"}}`, "id", "q1", true},
		{`{"payee":{"id":"no"},"id":"q2"}`, "id", "q2", true},
		{`{"payee":{"state":"x"},"n":[1,2,{"state":"y"}]}`, "state", "", false},
		{`{"state":1}`, "state", "", false},
		{`{"state":"COMMITTED"}`, "state", "COMMITTED", true},
		{`not json`, "state", "", false},
	}
	for _, tc := range cases {
		got, ok := topString([]byte(tc.doc), tc.key)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("topString(%s, %s) = %q, %v; want %q, %v", tc.doc, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

// The hand-built bodies must be exactly what the switch's strict decoder
// (no unknown members) takes, with the values meant.
func TestTransferTemplate(t *testing.T) {
	w := &worker{idPrefix: []byte("b0011aabb-3-")}
	a := &alias{num: 912345678}
	for _, fen := range []int64{1, 9, 10, 99, 100, 101, 1234, 10000} {
		b := w.appendTransfer(nil, a, fen, nil)
		var nt wire.NewTransfer
		if err := json.Unmarshal(b, &nt, json.RejectUnknownMembers(true)); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		want := fmt.Sprintf("%d.%02d", fen/100, fen%100)
		if nt.Amount != want || nt.Payee.Value != "+8613912345678" || nt.Payee.Type != "MSISDN" || nt.Currency != "CNY" ||
			nt.ID != "b0011aabb-3-"+strconv.FormatUint(w.seq, 10) || nt.QuoteID != "" {
			t.Fatalf("%s decoded as %+v", b, nt)
		}
	}
	b := w.appendTransfer(nil, a, 500, []byte("qid.abc_-"))
	var nt wire.NewTransfer
	if err := json.Unmarshal(b, &nt, json.RejectUnknownMembers(true)); err != nil || nt.QuoteID != "qid.abc_-" {
		t.Fatalf("%s: %+v, %v", b, nt, err)
	}
	w.accounts = usersOf(10, 1, 2)
	b = w.appendTransfer(nil, a, 500, []byte("q"))
	nt = wire.NewTransfer{}
	if err := json.Unmarshal(b, &nt, json.RejectUnknownMembers(true)); err != nil || !strings.HasPrefix(nt.PayerAccount, "u-") ||
		nt.Authentication == nil || len(nt.Authentication.Factors) != 2 || nt.QuoteID != "q" {
		t.Fatalf("%s: %+v, %v", b, nt, err)
	}
}

// The numbers bench registers are valid Chinese mobile numbers, already
// in the switch's normal form, and safe in a URL path as they are.
func TestAliasNumbers(t *testing.T) {
	for _, n := range []uint32{0, 1, 123456789, 999_999_999, 380013800, 500000000} {
		v := fmt.Sprintf("+8613%09d", n)
		if got := (&alias{num: n}).value(); got != v {
			t.Errorf("alias %d is %s, want %s", n, got, v)
		}
		got, err := directory.Normalize(directory.MSISDN, v, "CN")
		if err != nil || got != v {
			t.Errorf("Normalize(%s) = %q, %v", v, got, err)
		}
		u := &url.URL{Scheme: "http", Host: "h", Path: "/v1/parties/MSISDN/" + v}
		if u.EscapedPath() != u.Path {
			t.Errorf("%s is escaped as %s", u.Path, u.EscapedPath())
		}
	}
}
