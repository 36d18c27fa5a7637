package msg

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

// oracle says, by JSON member name, which of the definition's patterns
// a string must match; every other string is only held to its length.
var oracle = map[string]func(string) bool{
	"transferId": spec["CorrelationId"].MatchString, "quoteId": spec["CorrelationId"].MatchString,
	"transactionId": spec["CorrelationId"].MatchString, "transactionRequestId": spec["CorrelationId"].MatchString,
	"requestId": spec["CorrelationId"].MatchString, "originalTransactionId": spec["CorrelationId"].MatchString,
	"amount": spec["Amount"].MatchString, "expiration": spec["DateTime"].MatchString,
	"completedTimestamp": spec["DateTime"].MatchString, "condition": spec["IlpCondition"].MatchString,
	"fulfilment": spec["IlpCondition"].MatchString, "ilpPacket": spec["IlpPacket"].MatchString,
	"errorCode": spec["ErrorCode"].MatchString, "dateOfBirth": spec["Date"].MatchString,
	"subScenario": spec["SubScenario"].MatchString, "balanceOfPayments": spec["BoP"].MatchString,
	"merchantClassificationCode": spec["MCC"].MatchString, "currency": func(s string) bool {
		for _, c := range Currencies() {
			if c == s {
				return true
			}
		}
		return false
	},
}

// maxLen is the longest string of each member, 128 for the others.
var maxLen = map[string]int{"fspId": 32, "payerFsp": 32, "payeeFsp": 32, "key": 32, "ilpPacket": 32768}

// checkAccepted walks a decoded body and fails if any string breaks
// the definition: Validate must never accept what the patterns refuse.
func checkAccepted(t *testing.T, v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			checkAccepted(t, v.Elem(), name)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			n := f.Tag.Get("json")
			for j := range n {
				if n[j] == ',' {
					n = n[:j]
					break
				}
			}
			checkAccepted(t, v.Field(i), n)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			checkAccepted(t, v.Index(i), name)
		}
	case reflect.String:
		s := v.String()
		if s == "" {
			return
		}
		if check, ok := oracle[name]; ok && !check(s) {
			t.Fatalf("accepted %s = %q, which the definition refuses", name, s)
		}
		max := 128
		if m, ok := maxLen[name]; ok {
			max = m
		}
		if utf8.RuneCountInString(s) > max {
			t.Fatalf("accepted %s of %d characters", name, utf8.RuneCountInString(s))
		}
	}
}

func fuzzDecode(f *testing.F, name string, newBody func() interface{ Validate() error }) {
	if b, err := os.ReadFile(filepath.Join("testdata", "examples", name+".json")); err == nil {
		f.Add(b)
	}
	for _, c := range validationCases {
		if c.body == name {
			in, err := os.ReadFile(filepath.Join("testdata", "examples", name+".json"))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(mutate(f, in, c.path, c.value))
		}
	}
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		v := newBody()
		err := Decode(body, v)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code != MalformedSyntax && e.Code != MissingElement && e.Code != ValidationError {
				t.Fatalf("Decode error %v is not 3100/3101/3102", err)
			}
			if d := e.Info().ErrorDescription; len(d) > MaxDescription || !utf8.ValidString(d) {
				t.Fatalf("description %q", d)
			}
			return
		}
		checkAccepted(t, reflect.ValueOf(v), "")
		// What the switch would forward decodes again to the same value.
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		w := newBody()
		if err := Decode(out, w); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip changed %+v to %+v", v, w)
		}
	})
}

func FuzzDecodeTransfersPost(f *testing.F) {
	fuzzDecode(f, "TransfersPost", func() interface{ Validate() error } { return new(TransfersPost) })
}
func FuzzDecodeTransfersPut(f *testing.F) {
	fuzzDecode(f, "TransfersPut", func() interface{ Validate() error } { return new(TransfersPut) })
}
func FuzzDecodeTransfersPatch(f *testing.F) {
	fuzzDecode(f, "TransfersPatch", func() interface{ Validate() error } { return new(TransfersPatch) })
}
func FuzzDecodeQuotesPost(f *testing.F) {
	fuzzDecode(f, "QuotesPost", func() interface{ Validate() error } { return new(QuotesPost) })
}
func FuzzDecodeQuotesPut(f *testing.F) {
	fuzzDecode(f, "QuotesPut", func() interface{ Validate() error } { return new(QuotesPut) })
}
func FuzzDecodePartiesPut(f *testing.F) {
	fuzzDecode(f, "PartiesPut", func() interface{ Validate() error } { return new(PartiesPut) })
}
func FuzzDecodeParticipantsPost(f *testing.F) {
	fuzzDecode(f, "ParticipantsPost", func() interface{ Validate() error } { return new(ParticipantsPost) })
}
func FuzzDecodeParticipantsBulkPost(f *testing.F) {
	fuzzDecode(f, "ParticipantsBulkPost", func() interface{ Validate() error } { return new(ParticipantsBulkPost) })
}
func FuzzDecodeParticipantsBulkPut(f *testing.F) {
	fuzzDecode(f, "ParticipantsBulkPut", func() interface{ Validate() error } { return new(ParticipantsBulkPut) })
}
func FuzzDecodeErrorBody(f *testing.F) {
	fuzzDecode(f, "ErrorBody", func() interface{ Validate() error } { return new(ErrorBody) })
}

// FuzzHeaders: the header parsers never panic, and what they accept
// is a supported version.
func FuzzHeaders(f *testing.F) {
	f.Add("application/vnd.interoperability.transfers+json;version=1.1", "transfers")
	f.Add("application/vnd.interoperability.transfers+json ; version=1,application/vnd.interoperability.transfers+json", "transfers")
	f.Add("Mon, 07 Dec 2026 00:50:48 GMT", "parties")
	f.Fuzz(func(t *testing.T, v, resource string) {
		for _, fn := range []func(string, string) (string, error){ParseContentType, NegotiateAccept} {
			ver, err := fn(v, resource)
			if err == nil && ver != Version10 && ver != Version11 {
				t.Fatalf("%q accepted as version %q", v, ver)
			}
		}
		_, _ = ParseDate(v)
		if _, err := ParseDateTime(v); err == nil && !spec["DateTime"].MatchString(v) {
			t.Fatalf("ParseDateTime accepted %q", v)
		}
		_ = Resource(v)
	})
}

// FuzzAmount: ParseAmount accepts only the pattern's amounts, and
// FormatAmount gives back the same string.
func FuzzAmount(f *testing.F) {
	f.Add("100.5", 2)
	f.Add("0.0001", 4)
	f.Add("92233720368547758.07", 2)
	f.Fuzz(func(t *testing.T, s string, exp int) {
		v, err := ParseAmount(Money{Amount: s}, exp)
		if err != nil {
			return
		}
		if !spec["Amount"].MatchString(s) || v < 0 {
			t.Fatalf("ParseAmount(%q, %d) = %d", s, exp, v)
		}
		if got := FormatAmount(v, exp); got != s {
			t.Fatalf("FormatAmount(ParseAmount(%q, %d)) = %q", s, exp, got)
		}
	})
}

// FuzzAliasOf: a mapped alias maps back to the same party type.
func FuzzAliasOf(f *testing.F) {
	f.Add("MSISDN", "27713803912", "")
	f.Add("PERSONAL_ID", "x", "NATIONAL_ID_CARD")
	f.Fuzz(func(t *testing.T, typ, id, sub string) {
		h, v, err := AliasOf(typ, id, sub)
		if err != nil {
			return
		}
		p, err := PartyOf(h, v)
		if err != nil || p.PartyIDType != typ {
			t.Fatalf("AliasOf(%q, %q, %q) = %q, %q; PartyOf = %+v, %v", typ, id, sub, h, v, p, err)
		}
	})
}
