package ilp

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"
)

// vectorFile is the shape of testdata/ilp-vectors*.json, written by
// testdata/gen-vectors*.js with SSC 19.19.1.
type vectorFile struct {
	Secret        string                     `json:"secret"`
	QuoteRequest  map[string]json.RawMessage `json:"quoteRequest"`
	QuoteResponse map[string]json.RawMessage `json:"quoteResponse"`
	V1            vector                     `json:"v1"`
	V4            vector                     `json:"v4"`
}

type vector struct {
	Fulfilment string `json:"fulfilment"`
	Condition  string `json:"condition"`
	IlpPacket  string `json:"ilpPacket"`
	PacketHex  string `json:"packetHex"`
	TxnJSON    string `json:"transactionObjectJSON"`
	Amount     string `json:"amount"`    // extra vectors only
	Address    string `json:"address"`   // extra vectors only
	ExpiresAt  string `json:"expiresAt"` // extra vectors only
}

func loadVectors(t testing.TB, name string) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// dto is SSC's transactionObjectDto over the raw JSON of the quote request
// and response: the transaction object a payee's agent puts in the packet.
func (v vectorFile) dto() map[string]json.RawMessage {
	txn := map[string]json.RawMessage{
		"quoteId":         v.QuoteRequest["quoteId"],
		"transactionId":   v.QuoteRequest["transactionId"],
		"transactionType": v.QuoteRequest["transactionType"],
		"payee":           v.QuoteRequest["payee"],
		"payer":           v.QuoteRequest["payer"],
		"expiration":      v.QuoteResponse["expiration"],
		"amount":          v.QuoteResponse["transferAmount"],
	}
	if n, ok := v.QuoteResponse["note"]; ok {
		txn["note"] = n
	}
	return txn
}

type partyIDInfo struct {
	PartyIDType      string `json:"partyIdType"`
	PartyIdentifier  string `json:"partyIdentifier"`
	PartySubIDOrType string `json:"partySubIdOrType,omitempty"`
	FspID            string `json:"fspId,omitempty"`
}

type party struct {
	PartyIDInfo partyIDInfo `json:"partyIdInfo"`
	Name        string      `json:"name,omitempty"`
}

type money struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

type transactionType struct {
	Scenario      string `json:"scenario"`
	Initiator     string `json:"initiator"`
	InitiatorType string `json:"initiatorType"`
}

// transaction is a typed transaction object with its fields in another
// order than the canonical one, as the switch will build it.
type transaction struct {
	TransactionID   string          `json:"transactionId"`
	QuoteID         string          `json:"quoteId"`
	Payer           party           `json:"payer"`
	Payee           party           `json:"payee"`
	Amount          money           `json:"amount"`
	TransactionType transactionType `json:"transactionType"`
	Expiration      string          `json:"expiration"`
	Note            string          `json:"note,omitempty"`
}

// TestVectors rebuilds SSC's packets, conditions and fulfilments byte for
// byte, from both a raw and a typed transaction object, and decodes them.
func TestVectors(t *testing.T) {
	typed := transaction{
		TransactionID:   "85feac2f-39b2-491b-817e-4a03203d4f14",
		QuoteID:         "7c23e80c-d078-4077-8263-2c047876fcf6",
		Payer:           party{PartyIDInfo: partyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "44123456789", FspID: "payerfsp"}, Name: "Alice Alpha"},
		Payee:           party{PartyIDInfo: partyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "27713803912", FspID: "payeefsp"}},
		Amount:          money{Currency: "USD", Amount: "100.5"},
		TransactionType: transactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"},
		Expiration:      "2026-12-07T01:00:00.000Z",
	}
	basic := loadVectors(t, "ilp-vectors.json")
	extra := loadVectors(t, "ilp-vectors-extra.json")

	type payee struct{ fsp, typ, id, sub string }
	cases := []struct {
		name     string
		file     vectorFile
		txn      any
		minor    int64
		exponent int
		currency string
		payee    payee
		expires  string
	}{
		{"basic/raw", basic, basic.dto(), 10050, 2, "USD", payee{"payeefsp", "MSISDN", "27713803912", ""}, "2026-12-07T01:00:00.000Z"},
		{"basic/typed", basic, typed, 10050, 2, "USD", payee{"payeefsp", "MSISDN", "27713803912", ""}, "2026-12-07T01:00:00.000Z"},
		{"extra/raw", extra, extra.dto(), 1505, 3, "KWD", payee{"HulianBank", "ACCOUNT_ID", "Acc-0042", "Savings"}, "2027-02-28T23:59:59.999+02:00"},
	}
	for _, c := range cases {
		for _, version := range []int{1, 4} {
			want := c.file.V1
			if version == 4 {
				want = c.file.V4
			}
			t.Run(c.name+"/v"+strconv.Itoa(version), func(t *testing.T) {
				amount, err := UnitsOf(c.minor, c.exponent, c.currency)
				if err != nil {
					t.Fatal(err)
				}
				expires, err := time.Parse(time.RFC3339, c.expires)
				if err != nil {
					t.Fatal(err)
				}
				address := Address(c.payee.fsp, c.payee.typ, c.payee.id, c.payee.sub)
				if version == 4 {
					address = MojaloopAddress
				}
				packet, condition, fulfilment, err := Build([]byte(c.file.Secret), version, amount, address, c.txn, expires)
				if err != nil {
					t.Fatal(err)
				}
				if packet != want.IlpPacket {
					t.Errorf("packet\n got %s\nwant %s", packet, want.IlpPacket)
				}
				if condition != want.Condition || fulfilment != want.Fulfilment {
					t.Errorf("condition, fulfilment = %s, %s; want %s, %s", condition, fulfilment, want.Condition, want.Fulfilment)
				}
				raw, err := decodeBase64(packet)
				if err != nil {
					t.Fatal(err)
				}
				if got := hex.EncodeToString(raw); got != want.PacketHex {
					t.Errorf("packet hex\n got %s\nwant %s", got, want.PacketHex)
				}
				if err := Check(want.Fulfilment, want.Condition); err != nil {
					t.Errorf("Check of SSC's own pair: %v", err)
				}

				p, err := Decode(want.IlpPacket)
				if err != nil {
					t.Fatal(err)
				}
				if p.Version != version || p.Amount != amount || p.Address != address {
					t.Errorf("decoded version %d amount %d address %q; want %d %d %q", p.Version, p.Amount, p.Address, version, amount, address)
				}
				if want.Amount != "" && strconv.FormatUint(p.Amount, 10) != want.Amount || want.Address != "" && p.Address != want.Address {
					t.Errorf("decoded amount %d address %q; SSC decoded %s %q", p.Amount, p.Address, want.Amount, want.Address)
				}
				var txn json.RawMessage
				if err := DecodeData(p.Data, &txn); err != nil {
					t.Fatal(err)
				}
				if string(txn) != want.TxnJSON {
					t.Errorf("transaction object\n got %s\nwant %s", txn, want.TxnJSON)
				}
				canon, err := CanonicalJSON(c.txn)
				if err != nil {
					t.Fatal(err)
				}
				if string(canon) != want.TxnJSON {
					t.Errorf("CanonicalJSON\n got %s\nwant %s", canon, want.TxnJSON)
				}
				f, err := Parse32(want.Fulfilment)
				if err != nil {
					t.Fatal(err)
				}
				cond, err := Parse32(want.Condition)
				if err != nil {
					t.Fatal(err)
				}
				if ConditionOf(f) != cond {
					t.Errorf("ConditionOf(fulfilment) = %s, want %s", FormatB64(ConditionOf(f)), want.Condition)
				}
				switch version {
				case 1:
					if got := Fulfil([]byte(c.file.Secret), want.IlpPacket); got != f {
						t.Errorf("Fulfil = %s, want %s", FormatB64(got), want.Fulfilment)
					}
					if !p.ExpiresAt.IsZero() || p.Condition != ([32]byte{}) {
						t.Errorf("v1 packet decoded with expiry %v condition %x", p.ExpiresAt, p.Condition)
					}
				case 4:
					if got := FulfilV4([]byte(c.file.Secret), txn); got != f {
						t.Errorf("FulfilV4 = %s, want %s", FormatB64(got), want.Fulfilment)
					}
					if !p.ExpiresAt.Equal(expires) || p.ExpiresAt.Location() != time.UTC {
						t.Errorf("v4 expiry %v, want %v in UTC", p.ExpiresAt, expires)
					}
					if want.ExpiresAt != "" && p.ExpiresAt.Format("2006-01-02T15:04:05.000Z07:00") != want.ExpiresAt {
						t.Errorf("v4 expiry %v; SSC decoded %s", p.ExpiresAt, want.ExpiresAt)
					}
					if p.Condition != cond {
						t.Errorf("v4 packet condition %s, want %s", FormatB64(p.Condition), want.Condition)
					}
				}
				if got, err := FulfilPacket([]byte(c.file.Secret), want.IlpPacket); err != nil || got != f {
					t.Errorf("FulfilPacket = %s, %v; want %s", FormatB64(got), err, want.Fulfilment)
				}
				again, err := Encode(p)
				if err != nil || again != want.IlpPacket {
					t.Errorf("Encode(Decode(packet)) = %s, %v", again, err)
				}
			})
		}
	}
}

// TestDecodeOtherBase64 accepts what Mojaloop's Buffer.from(s, 'base64')
// reads: padding and the standard alphabet.
func TestDecodeOtherBase64(t *testing.T) {
	v := loadVectors(t, "ilp-vectors.json")
	for _, version := range []vector{v.V1, v.V4} {
		raw, err := hex.DecodeString(version.PacketHex)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Decode(version.IlpPacket)
		if err != nil {
			t.Fatal(err)
		}
		std := stdBase64(raw)
		for _, s := range []string{std, urlPadded(raw), trimPad(std)} {
			got, err := Decode(s)
			if err != nil {
				t.Fatalf("Decode(%.20s…): %v", s, err)
			}
			if !equalPackets(got, want) {
				t.Errorf("Decode(%.20s…) = %+v, want %+v", s, got, want)
			}
		}
	}
}
