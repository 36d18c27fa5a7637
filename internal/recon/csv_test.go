package recon

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

var cny = money.MustCurrency("CNY")

func readAll(src Source) ([]Record, error) {
	var out []Record
	for {
		r, ok, err := src.Next()
		if err != nil || !ok {
			return out, err
		}
		out = append(out, r)
	}
}

func TestCSVReads(t *testing.T) {
	for _, c := range []struct {
		name, in string
		cur      money.Currency
		want     []Record
	}{
		{"empty body after header", "transferId,amount,direction,status\n", cny, nil},
		{"header without line end", "transferId,amount,direction,status", cny, nil},
		{"LF", "transferId,amount,direction,status\nt-1,100.00,debit,COMMITTED\nt-2,0.05,credit,ABORTED\n", cny,
			[]Record{rec("t-1", 10000, Debit, Committed), rec("t-2", 5, Credit, Aborted)}},
		{"CRLF, last line without end", "transferId,amount,direction,status\r\nt.1:a_B,3,debit,COMMITTED\r\nt2,1.5,credit,ABORTED", cny,
			[]Record{rec("t.1:a_B", 300, Debit, Committed), rec("t2", 150, Credit, Aborted)}},
		{"quoted fields", "\"transferId\",amount,direction,status\n", cny, nil},
		{"quoted values", "transferId,amount,direction,status\n\"t1\",\"1.00\",\"debit\",\"COMMITTED\"\n", cny,
			[]Record{rec("t1", 100, Debit, Committed)}},
		{"byte order mark", "\uFEFFtransferId,amount,direction,status\nt1,1,debit,COMMITTED\n", cny,
			[]Record{rec("t1", 100, Debit, Committed)}},
		{"JPY has no decimals", "transferId,amount,direction,status\nt1,1000,debit,COMMITTED\n", money.MustCurrency("JPY"),
			[]Record{rec("t1", 1000, Debit, Committed)}},
		{"KWD has three", "transferId,amount,direction,status\nt1,1.234,credit,COMMITTED\n", money.MustCurrency("KWD"),
			[]Record{rec("t1", 1234, Credit, Committed)}},
		{"longest id", "transferId,amount,direction,status\n" + strings.Repeat("x", 128) + ",1,debit,COMMITTED\n", cny,
			[]Record{rec(strings.Repeat("x", 128), 100, Debit, Committed)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(NewCSVReader(strings.NewReader(c.in), c.cur))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestCSVRefusals(t *testing.T) {
	const h = "transferId,amount,direction,status\n"
	for _, c := range []struct {
		name, in string
		want     error
		line     int64
	}{
		{"empty upload", "", ErrHeader, 1},
		{"wrong header", "id,amount,direction,status\n", ErrHeader, 1},
		{"header in another case", "transferid,amount,direction,status\n", ErrHeader, 1},
		{"header with a fifth column", "transferId,amount,direction,status,x\n", ErrHeader, 1},
		{"header with spaces", "transferId, amount,direction,status\n", ErrHeader, 1},
		{"three fields", h + "t1,1.00,debit\n", ErrColumns, 2},
		{"five fields", h + "t1,1.00,debit,COMMITTED,x\n", ErrColumns, 2},
		{"trailing comma", h + "t1,1.00,debit,COMMITTED,\n", ErrColumns, 2},
		{"empty line", h + "t1,1.00,debit,COMMITTED\n\nt2,1.00,debit,COMMITTED\n", ErrEmptyLine, 3},
		{"blank last line", h + "t1,1.00,debit,COMMITTED\n\n", ErrEmptyLine, 3},
		{"line too long", h + strings.Repeat("x", CSVLineMax) + ",1,debit,COMMITTED\n", ErrLineTooLong, 2},
		{"line far too long", h + strings.Repeat("x", 1<<20), ErrLineTooLong, 2},
		{"unclosed quote", h + "\"t1,1.00,debit,COMMITTED\n", ErrQuote, 2},
		{"quoted line break", h + "\"t\n1\",1.00,debit,COMMITTED\n", ErrQuote, 2},
		{"text after quote", h + "\"t1\"x,1.00,debit,COMMITTED\n", ErrQuote, 2},
		{"quote inside a field", h + "t\"1,1.00,debit,COMMITTED\n", ErrQuote, 2},
		{"escaped quote in an id", h + "\"t\"\"1\",1.00,debit,COMMITTED\n", ErrID, 2},
		{"lone carriage return", h + "t1,1.00,debit,COMM\rITTED\n", ErrEncoding, 2},
		{"NUL", h + "t1,1.00,debit,COMMITTED\x00\n", ErrEncoding, 2},
		{"empty id", h + ",1.00,debit,COMMITTED\n", ErrID, 2},
		{"id too long", h + strings.Repeat("x", 129) + ",1.00,debit,COMMITTED\n", ErrID, 2},
		{"id with a space", h + "t 1,1.00,debit,COMMITTED\n", ErrID, 2},
		{"id with a slash", h + "t/1,1.00,debit,COMMITTED\n", ErrID, 2},
		{"id not ASCII", h + "tö,1.00,debit,COMMITTED\n", ErrID, 2},
		{"empty amount", h + "t1,,debit,COMMITTED\n", ErrAmount, 2},
		{"zero amount", h + "t1,0.00,debit,COMMITTED\n", ErrAmount, 2},
		{"negative amount", h + "t1,-1.00,debit,COMMITTED\n", ErrAmount, 2},
		{"plus sign", h + "t1,+1.00,debit,COMMITTED\n", ErrAmount, 2},
		{"too many decimals", h + "t1,1.001,debit,COMMITTED\n", ErrAmount, 2},
		{"exponent", h + "t1,1e2,debit,COMMITTED\n", ErrAmount, 2},
		{"thousands separator", h + "t1,\"1,000.00\",debit,COMMITTED\n", ErrAmount, 2},
		{"leading zero", h + "t1,01.00,debit,COMMITTED\n", ErrAmount, 2},
		{"space in amount", h + "t1, 1.00,debit,COMMITTED\n", ErrAmount, 2},
		{"amount overflow", h + "t1,99999999999999999999,debit,COMMITTED\n", ErrAmount, 2},
		{"direction upper case", h + "t1,1.00,DEBIT,COMMITTED\n", ErrDirection, 2},
		{"unknown direction", h + "t1,1.00,in,COMMITTED\n", ErrDirection, 2},
		{"status lower case", h + "t1,1.00,debit,committed\n", ErrStatus, 2},
		{"pending status", h + "t1,1.00,debit,RESERVED\n", ErrStatus, 2},
		{"third line", h + "t1,1.00,debit,COMMITTED\nt2,1.00,debit,ABORTED\nt3,1.00,debit,X\n", ErrStatus, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewCSVReader(strings.NewReader(c.in), cny)
			_, err := readAll(r)
			if !errors.Is(err, c.want) || fault.KindOf(err) != fault.Invalid {
				t.Fatalf("error %v (%v), want %v (invalid)", err, fault.KindOf(err), c.want)
			}
			if prefix := fmt.Sprintf("line %d: ", c.line); !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("error %q does not start %q", err, prefix)
			}
			if _, _, again := r.Next(); again == nil || again.Error() != err.Error() {
				t.Fatalf("Next after an error: %v", again)
			}
		})
	}
}

func TestCSVUnknownCurrency(t *testing.T) {
	_, err := readAll(NewCSVReader(strings.NewReader(CSVHeader+"\n"), 0))
	if !errors.Is(err, money.ErrUnknownCurrency) {
		t.Fatalf("error %v", err)
	}
}

func TestRecordWriterRoundTrip(t *testing.T) {
	records := []Record{rec("a", 1, Debit, Committed), rec("b-2", 123456, Credit, Aborted)}
	var buf bytes.Buffer
	w := NewRecordWriter(&buf, cny)
	for _, r := range records {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := CSVHeader + "\na,0.01,debit,COMMITTED\nb-2,1234.56,credit,ABORTED\n"
	if buf.String() != want {
		t.Fatalf("wrote %q, want %q", buf.String(), want)
	}
	got, err := readAll(NewCSVReader(&buf, cny))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(records) {
		t.Fatalf("read back %v %v", got, err)
	}
	buf.Reset()
	if err := NewRecordWriter(&buf, cny).Flush(); err != nil || buf.String() != CSVHeader+"\n" {
		t.Fatalf("empty upload %q %v", buf.String(), err)
	}
}

func TestBreakWriter(t *testing.T) {
	s, p := rec("t1", 100, Debit, Committed), rec("t1", 150, Debit, Committed)
	for _, c := range []struct {
		name   string
		breaks []Break
		want   string
	}{
		{"none", nil, BreaksCSVHeader + "\n"},
		{"each shape", []Break{
			{TransferID: "t0", Kind: MissingAtParticipant, Switch: &s},
			{TransferID: "t1", Kind: AmountMismatch, Switch: &s, Participant: &p},
			{TransferID: "t2", Kind: MissingAtSwitch, Participant: &p},
		}, BreaksCSVHeader + "\n" +
			"t0,missing-at-participant,1.00,debit,COMMITTED,,,\n" +
			"t1,amount-mismatch,1.00,debit,COMMITTED,1.50,debit,COMMITTED\n" +
			"t2,missing-at-switch,,,,1.50,debit,COMMITTED\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewBreakWriter(&buf, cny)
			for _, b := range c.breaks {
				if err := w.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != c.want {
				t.Fatalf("wrote\n%s\nwant\n%s", buf.String(), c.want)
			}
		})
	}
}

// FuzzCSV: whatever the input, the reader either refuses it with an
// Invalid error naming a line, or yields valid records that write back
// and read again to the same records.
func FuzzCSV(f *testing.F) {
	f.Add([]byte(CSVHeader + "\nt1,1.00,debit,COMMITTED\n"))
	f.Add([]byte(CSVHeader + "\r\n\"t1\",\"0.01\",credit,ABORTED"))
	f.Add([]byte("\uFEFF" + CSVHeader + "\nt1,1,debit,COMMITTED\nt1,1,debit,COMMITTED\n"))
	f.Add([]byte(CSVHeader + "\n\"t\"\"1\",1.00,debit,COMMITTED\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := readAll(NewCSVReader(bytes.NewReader(in), cny))
		if err != nil {
			if fault.KindOf(err) != fault.Invalid || !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %v (%v)", err, fault.KindOf(err))
			}
			return
		}
		var buf bytes.Buffer
		w := NewRecordWriter(&buf, cny)
		for _, r := range got {
			if err := r.Validate(); err != nil {
				t.Fatalf("read an invalid record: %v", err)
			}
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		again, err := readAll(NewCSVReader(&buf, cny))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("round trip: %v %v, want %v", again, err, got)
		}
	})
}
