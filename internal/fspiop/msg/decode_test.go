package msg

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the examples")

// bodies names every body type with a constructor, for the tables and
// the golden files (testdata/examples/<name>.json is a peer's message,
// validated against the v1.1 definition with ajv when it was written;
// testdata/golden/<name>.json is what Marshal makes of it).
var bodies = []struct {
	name string
	new  func() interface{ Validate() error }
}{
	{"PartiesPut", func() interface{ Validate() error } { return new(PartiesPut) }},
	{"ParticipantsPost", func() interface{ Validate() error } { return new(ParticipantsPost) }},
	{"ParticipantsPut", func() interface{ Validate() error } { return new(ParticipantsPut) }},
	{"ParticipantsBulkPost", func() interface{ Validate() error } { return new(ParticipantsBulkPost) }},
	{"ParticipantsBulkPut", func() interface{ Validate() error } { return new(ParticipantsBulkPut) }},
	{"QuotesPost", func() interface{ Validate() error } { return new(QuotesPost) }},
	{"QuotesPut", func() interface{ Validate() error } { return new(QuotesPut) }},
	{"TransfersPost", func() interface{ Validate() error } { return new(TransfersPost) }},
	{"TransfersPut", func() interface{ Validate() error } { return new(TransfersPut) }},
	{"TransfersPatch", func() interface{ Validate() error } { return new(TransfersPatch) }},
	{"Transaction", func() interface{ Validate() error } { return new(Transaction) }},
	{"ErrorBody", func() interface{ Validate() error } { return new(ErrorBody) }},
	{"ErrorBody406", func() interface{ Validate() error } { return new(ErrorBody) }},
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden decodes each example, checks that it is valid, and holds
// its marshalled form to the golden file; the golden file must decode to
// the same value (nothing lost in either direction).
func TestGolden(t *testing.T) {
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			in := readFile(t, filepath.Join("testdata", "examples", b.name+".json"))
			v := b.new()
			if err := Decode(in, v); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, '\n')
			golden := filepath.Join("testdata", "golden", b.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, golden); !bytes.Equal(out, want) {
				t.Errorf("Marshal:\n got %s\nwant %s", out, want)
			}
			// Same members as the example, whatever their order.
			var a, c any
			_ = json.Unmarshal(in, &a)
			_ = json.Unmarshal(out, &c)
			ja, _ := json.Marshal(a)
			jc, _ := json.Marshal(c)
			if !bytes.Equal(ja, jc) {
				t.Errorf("round trip lost something:\n in %s\nout %s", ja, jc)
			}
		})
	}
}

// TestErrorInfoGolden: the 406 body the switch sends is byte for byte
// the example (Mojaloop's, with Hulian's versions).
func TestErrorInfoGolden(t *testing.T) {
	_, err := ParseContentType("application/vnd.interoperability.transfers+json;version=2.0", "transfers")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	got, _ := json.Marshal(e.Body())
	want := bytes.TrimSpace(readFile(t, "testdata/golden/ErrorBody406.json"))
	if !bytes.Equal(got, want) || e.HTTPStatus() != 406 {
		t.Errorf("406 body:\n got %d %s\nwant 406 %s", e.HTTPStatus(), got, want)
	}
}

// mutate applies a JSON edit to an example: path "a.b[1].c" set to
// value (raw JSON), or deleted when value is "".
func mutate(t testing.TB, body []byte, path, value string) []byte {
	t.Helper()
	var root any
	if err := json.Unmarshal(body, &root); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, p := range strings.Split(path, ".") {
		name, idx, _ := strings.Cut(p, "[")
		parts = append(parts, name)
		if idx != "" {
			parts = append(parts, "["+idx)
		}
	}
	cur := root
	for i, p := range parts {
		last := i == len(parts)-1
		var v any
		if value != "" {
			if err := json.Unmarshal([]byte(value), &v); err != nil {
				t.Fatalf("value %s: %v", value, err)
			}
		}
		if strings.HasPrefix(p, "[") {
			var n int
			for _, c := range strings.TrimSuffix(p[1:], "]") {
				n = n*10 + int(c-'0')
			}
			arr := cur.([]any)
			if last {
				arr[n] = v
				return marshal(t, root)
			}
			cur = arr[n]
			continue
		}
		obj := cur.(map[string]any)
		if last {
			if value == "" {
				delete(obj, p)
			} else {
				obj[p] = v
			}
			return marshal(t, root)
		}
		cur = obj[p]
	}
	return nil
}

func marshal(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestValidation: each case edits a valid example and expects the code
// and detail of Mojaloop's switch for it.
func TestValidation(t *testing.T) {
	tests := validationCases
	for _, tt := range tests {
		t.Run(tt.body+"/"+tt.path, func(t *testing.T) {
			testValidation(t, tt.body, tt.path, tt.value, tt.want)
		})
	}
}

var validationCases = []struct {
	body, path, value string // value "" deletes
	want              string
}{
	// Missing elements: 3102 with the path.
	{"TransfersPost", "transferId", "", "3102 Missing mandatory element - transferId"},
	{"TransfersPost", "amount.currency", "", "3102 Missing mandatory element - amount.currency"},
	{"TransfersPost", "amount", "", "3102 Missing mandatory element - amount"},
	{"TransfersPost", "expiration", "", "3102 Missing mandatory element - expiration"},
	{"QuotesPost", "payee.partyIdInfo.partyIdentifier", "", "3102 Missing mandatory element - payee.partyIdInfo.partyIdentifier"},
	// An object left empty reads as absent: Mojaloop would name its
	// first member (payee.partyIdInfo); the code is the same.
	{"QuotesPost", "payee.partyIdInfo", "", "3102 Missing mandatory element - payee"},
	{"QuotesPost", "payee.partyIdInfo.fspId", "", ""},
	{"QuotesPost", "transactionType.initiatorType", "", "3102 Missing mandatory element - transactionType.initiatorType"},
	{"QuotesPost", "geoCode.latitude", "", "3102 Missing mandatory element - geoCode.latitude"},
	{"QuotesPut", "condition", "", "3102 Missing mandatory element - condition"},
	{"PartiesPut", "party", "", "3102 Missing mandatory element - party"},
	{"ParticipantsBulkPost", "partyList", "", "3102 Missing mandatory element - partyList"},
	{"ParticipantsBulkPost", "partyList[1].partyIdType", "", "3102 Missing mandatory element - partyList[1].partyIdType"},
	{"ParticipantsBulkPut", "partyList[1].errorInformation.errorDescription", "", "3102 Missing mandatory element - partyList[1].errorInformation.errorDescription"},
	{"TransfersPut", "transferState", "", "3102 Missing mandatory element - transferState"},
	{"TransfersPatch", "completedTimestamp", "", "3102 Missing mandatory element - completedTimestamp"},
	{"ErrorBody", "errorInformation", "", "3102 Missing mandatory element - errorInformation"},
	{"ParticipantsPost", "fspId", "", "3102 Missing mandatory element - fspId"},
	{"TransfersPost", "extensionList", `{}`, "3102 Missing mandatory element - extensionList.extension"},
	{"TransfersPost", "extensionList", `{"extension":[{"key":"k"}]}`, "3102 Missing mandatory element - extensionList.extension[0].value"},
	// Patterns and enumerations: 3101.
	{"TransfersPost", "transferId", `"85FEAC2F-39B2-491B-817E-4A03203D4F14"`, "3101 Malformed syntax - transferId must be a lower-case UUID (CorrelationId)"},
	{"TransfersPost", "amount.amount", `"100.50"`, "3101 Malformed syntax - amount.amount must match the pattern of Amount"},
	{"TransfersPost", "amount.amount", `"-1"`, "3101 Malformed syntax - amount.amount must match the pattern of Amount"},
	{"TransfersPost", "amount.currency", `"usd"`, "3101 Malformed syntax - amount.currency must be a currency of the Currency enum"},
	{"TransfersPost", "amount.currency", `"XBT"`, "3101 Malformed syntax - amount.currency must be a currency of the Currency enum"},
	{"TransfersPost", "expiration", `"2026-12-07T01:00:00Z"`, "3101 Malformed syntax - expiration must be a DateTime with milliseconds (2006-01-02T15:04:05.000Z)"},
	{"TransfersPost", "expiration", `"2026-02-29T01:00:00.000Z"`, "3101 Malformed syntax - expiration must be a DateTime with milliseconds (2006-01-02T15:04:05.000Z)"},
	{"TransfersPost", "condition", `"DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgx="`, "3101 Malformed syntax - condition must be 43 base64url characters"},
	{"TransfersPost", "ilpPacket", `"AY+C"`, "3101 Malformed syntax - ilpPacket must be base64url (IlpPacket)"},
	{"TransfersPost", "ilpPacket", `"` + strings.Repeat("A", 32769) + `"`, "3100 Generic validation error - ilpPacket must be 1 to 32768 characters"},
	{"TransfersPut", "transferState", `"COMPLETED"`, "3101 Malformed syntax - transferState must be a TransferState"},
	{"QuotesPost", "amountType", `"send"`, "3101 Malformed syntax - amountType must be SEND or RECEIVE"},
	{"QuotesPost", "payer.partyIdInfo.partyIdType", `"PHONE"`, "3101 Malformed syntax - payer.partyIdInfo.partyIdType must be a PartyIdType"},
	{"QuotesPost", "payer.personalInfo.complexName.firstName", `"A*****"`, "3101 Malformed syntax - payer.personalInfo.complexName.firstName must match the pattern of a name"},
	{"QuotesPost", "payer.personalInfo.complexName.lastName", `"   "`, "3101 Malformed syntax - payer.personalInfo.complexName.lastName must match the pattern of a name"},
	{"QuotesPost", "payer.personalInfo.dateOfBirth", `"1990-02-29"`, "3101 Malformed syntax - payer.personalInfo.dateOfBirth must be a Date (2006-01-02)"},
	{"QuotesPost", "geoCode.latitude", `"91"`, "3101 Malformed syntax - geoCode.latitude must match the pattern of Latitude"},
	{"QuotesPost", "transactionType.subScenario", `"cash-out"`, "3101 Malformed syntax - transactionType.subScenario must match ^[A-Z_]{1,32}$"},
	{"QuotesPost", "transactionType.balanceOfPayments", `"012"`, "3101 Malformed syntax - transactionType.balanceOfPayments must match ^[1-9]\\d{2}$"},
	{"PartiesPut", "party.merchantClassificationCode", `"12345"`, "3101 Malformed syntax - party.merchantClassificationCode must match ^[\\d]{1,4}$"},
	{"ErrorBody", "errorInformation.errorCode", `"0204"`, "3101 Malformed syntax - errorInformation.errorCode must match ^[1-9]\\d{3}$"},
	// Wrong JSON types and empty values: 3101 or 3100, from Decode.
	{"TransfersPost", "amount.amount", `100.5`, "3101 Malformed syntax - amount.amount must be string"},
	{"TransfersPost", "amount", `"100.5"`, "3101 Malformed syntax - amount must be object"},
	{"TransfersPost", "payeeFsp", `null`, "3101 Malformed syntax - payeeFsp must be string"},
	{"TransfersPost", "extensionList", `null`, "3101 Malformed syntax - extensionList must be object"},
	{"ParticipantsBulkPost", "partyList", `{}`, "3101 Malformed syntax - partyList must be array"},
	{"TransfersPost", "payeeFsp", `""`, "3100 Generic validation error - payeeFsp must not be empty"},
	{"TransfersPost", "transferId", `""`, "3101 Malformed syntax - transferId must not be empty"},
	{"ParticipantsBulkPost", "partyList", `[]`, "3100 Generic validation error - partyList must not be empty"},
	// Lengths and counts: 3100.
	{"TransfersPost", "payeeFsp", `"` + strings.Repeat("f", 33) + `"`, "3100 Generic validation error - payeeFsp must be 1 to 32 characters"},
	{"QuotesPost", "note", `"` + strings.Repeat("é", 129) + `"`, "3100 Generic validation error - note must be 1 to 128 characters"},
	{"TransfersPost", "extensionList", `{"extension":[` + strings.Repeat(`{"key":"k","value":"v"},`, 16) + `{"key":"k","value":"v"}]}`, "3100 Generic validation error - extensionList.extension must have at most 16 items"},
	// A pattern fault is reported before a missing element, as Mojaloop does.
	{"TransfersPut", "fulfilment", `"x"`, "3101 Malformed syntax - fulfilment must be 43 base64url characters"},
}

func testValidation(t *testing.T, body, path, value, want string) {
	tt := struct{ body, path, value, want string }{body, path, value, want}
	var nb func() interface{ Validate() error }
	for _, b := range bodies {
		if b.name == tt.body {
			nb = b.new
		}
	}
	in := mutate(t, readFile(t, filepath.Join("testdata", "examples", tt.body+".json")), tt.path, tt.value)
	err := Decode(in, nb())
	if tt.want == "" {
		if err != nil {
			t.Errorf("Decode(%s) = %v", in, err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode(%s) = %v, want %s", in, err, tt.want)
	}
	if got := e.Code.String() + " " + e.Info().ErrorDescription; got != tt.want {
		t.Errorf("Decode(%s):\n got %s\nwant %s", in, got, tt.want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("%v does not wrap ErrInvalid", err)
	}
}

// TestSyntaxFirst: a pattern fault wins over a missing element.
func TestSyntaxFirst(t *testing.T) {
	b := TransfersPost{Amount: Money{Currency: "USD", Amount: "1.0"}}
	err := b.Validate()
	if got := err.Error(); got != "3101 Malformed syntax - amount.amount must match the pattern of Amount" {
		t.Errorf("Validate = %q", got)
	}
}

func TestDecodeStrictness(t *testing.T) {
	const put = `{"transferState":"COMMITTED","completedTimestamp":"2026-12-07T00:59:01.123Z"}`
	tests := []struct {
		name, in, want string // want "" means accepted
	}{
		{"ok", put, ""},
		{"not JSON", `{"transferState":`, "3101 Malformed syntax - Invalid request payload JSON format"},
		{"empty", ``, "3101 Malformed syntax - Invalid request payload JSON format"},
		{"array", `[]`, "3101 Malformed syntax - body must be object"},
		{"string", `"x"`, "3101 Malformed syntax - body must be object"},
		{"duplicate key", `{"transferState":"COMMITTED","transferState":"ABORTED"}`, "3101 Malformed syntax - transferState is duplicated"},
		{"duplicate escaped key", `{"transferState":"COMMITTED","transfer\u0053tate":"ABORTED"}`, "3101 Malformed syntax - transferState is duplicated"},
		{"duplicate unknown key", `{"transferState":"COMMITTED","x":1,"x":2}`, "3101 Malformed syntax - x is duplicated"},
		{"duplicate nested key", `{"transferState":"COMMITTED","extensionList":{"extension":[{"key":"a","value":"b","key":"c"}]}}`, "3101 Malformed syntax - extensionList.extension[0].key is duplicated"},
		{"duplicate in a large unknown object", `{"transferState":"COMMITTED","x":{` + manyKeys(40) + `,"k3":0}}`, "3101 Malformed syntax - x.k3 is duplicated"},
		{"empty key", `{"transferState":"COMMITTED","x":[{"":1,"":2}]}`, "3101 Malformed syntax - x[0]. is duplicated"},
		{"invalid UTF-8 key", "{\"transferState\":\"COMMITTED\",\"\x80\":1,\"\x80\":1}", "3101 Malformed syntax - \ufffd is duplicated"},
		{"unknown members tolerated", `{"transferState":"COMMITTED","x":{"y":[1,true,null,"z"]},"n":-1.5e3}`, ""},
		{"wrong case is unknown", `{"TransferState":"COMMITTED"}`, "3102 Missing mandatory element - transferState"},
		{"wrong case beside the right one", `{"transferState":"COMMITTED","TRANSFERSTATE":"bogus"}`, ""},
		{"kelvin sign is not k", `{"transferState":"COMMITTED","extensionList":{"extension":[{"\u212aey":"a","key":"k","value":"v"}]}}`, ""},
		{"whitespace", " \n{ \"transferState\" : \"ABORTED\" } \n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b TransfersPut
			err := Decode([]byte(tt.in), &b)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Decode(%s) = %q, want %q", tt.in, got, tt.want)
			}
			if tt.name == "wrong case beside the right one" && b.TransferState != "COMMITTED" {
				t.Errorf("transferState = %q", b.TransferState)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('0'+i%10)) + string(rune('a'+i/10)) + `":0`)
	}
	b.WriteString(`,"k0a":1`[0:0])
	return strings.ReplaceAll(b.String(), `"k3a"`, `"k3"`)
}

// TestValidateConstructed: bodies the switch builds validate, and
// constructing one without a required element is caught before it is
// sent.
func TestValidateConstructed(t *testing.T) {
	ok := []interface{ Validate() error }{
		&TransfersPatch{CompletedTimestamp: "2026-12-07T00:59:01.456Z", TransferState: StateCommitted},
		&TransfersPut{TransferState: StateReserved},
		&ParticipantsPut{},
		&PartiesPut{Party: Party{PartyIDInfo: PartyIDInfo{PartyIDType: MSISDN, PartyIdentifier: "27713803912", FSPID: "hulian"}, Name: "J*** D***"}},
		&Money{Currency: "JPY", Amount: "100"},
		&PartyIDInfo{PartyIDType: EMAIL, PartyIdentifier: "a@b.example"},
		&Party{PartyIDInfo: PartyIDInfo{PartyIDType: EMAIL, PartyIdentifier: "a@b.example"}},
		&TransactionType{Scenario: ScenarioTransfer, Initiator: InitiatorPayer, InitiatorType: InitiatorConsumer},
		&ErrorInformation{ErrorCode: "3204", ErrorDescription: "Party not found"},
	}
	for _, v := range ok {
		if err := v.Validate(); err != nil {
			t.Errorf("%T.Validate() = %v", v, err)
		}
	}
	bad := map[string]interface{ Validate() error }{
		"3102 Missing mandatory element - transferState":                  &TransfersPut{},
		"3102 Missing mandatory element - party":                          &PartiesPut{},
		"3102 Missing mandatory element - partyIdInfo":                    &Party{Name: "x"},
		"3102 Missing mandatory element - scenario":                       &TransactionType{Initiator: InitiatorPayer, InitiatorType: InitiatorConsumer},
		"3101 Malformed syntax - amount must match the pattern of Amount": &Money{Currency: "USD", Amount: "1."},
		"3102 Missing mandatory element - errorDescription":               &ErrorInformation{ErrorCode: "2001"},
	}
	for want, v := range bad {
		if err := v.Validate(); err == nil || err.Error() != want {
			t.Errorf("%T.Validate() = %v, want %s", v, err, want)
		}
	}
}

// TestDecodeReuse: a value decoded into twice keeps nothing of the first
// body.
func TestDecodeReuse(t *testing.T) {
	var b TransfersPut
	if err := Decode([]byte(`{"transferState":"COMMITTED","fulfilment":"0jHsbrry53c0QMKTbRWRXaOMwU3zOpb6eX_NtbPuPuc"}`), &b); err != nil {
		t.Fatal(err)
	}
	if err := Decode([]byte(`{"transferState":"ABORTED"}`), &b); err != nil || b != (TransfersPut{TransferState: StateAborted}) {
		t.Errorf("second Decode = %+v, %v", b, err)
	}
	if err := Decode([]byte(`null`), &b); errText(err) != "3101 Malformed syntax - body must be object" {
		t.Errorf("Decode(null) = %v", err)
	}
}
