package recon

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
)

// CSVHeader is the first line of a participant's upload: these four
// names in this order, each of them maybe quoted.
const CSVHeader = "transferId,amount,direction,status"

// BreaksCSVHeader is the first line of a break report in CSV.
const BreaksCSVHeader = "transferId,kind,switchAmount,switchDirection,switchStatus,participantAmount,participantDirection,participantStatus"

// CSVLineMax is the longest line an upload may have, in bytes, line end
// included. The longest valid line (a 128-character id, a 20-digit
// amount, both fields quoted) is far shorter; a longer one is refused
// before it is buffered.
const CSVLineMax = 512

// Refusals of an upload. Each is wrapped with the line number and what
// was found, so that the participant can fix its file; front ends answer
// them as invalid requests.
var (
	// ErrHeader: the first line is not CSVHeader.
	ErrHeader = fault.New(fault.Invalid, "", "the header is not "+CSVHeader)
	// ErrColumns: a line does not have exactly four fields.
	ErrColumns = fault.New(fault.Invalid, "", "not four fields")
	// ErrLineTooLong: a line is longer than CSVLineMax.
	ErrLineTooLong = fault.New(fault.Invalid, "", "line too long")
	// ErrQuote: a field's quotes do not follow RFC 4180, or a quoted
	// field spans lines (no valid field holds a line break).
	ErrQuote = fault.New(fault.Invalid, "", "bad quoting")
	// ErrEmptyLine: a blank line, which RFC 4180 does not allow.
	ErrEmptyLine = fault.New(fault.Invalid, "", "empty line")
	// ErrEncoding: the upload holds a NUL byte or a lone carriage return.
	ErrEncoding = fault.New(fault.Invalid, "", "not a text line")
	// ErrID: a transfer id is not 1 to 128 letters, digits and ". _ : -".
	ErrID = fault.New(fault.Invalid, "", "not a transfer id")
	// ErrAmount: an amount is not a positive decimal in the currency's
	// major unit with at most its number of decimals.
	ErrAmount = fault.New(fault.Invalid, "", "not a positive amount")
	// ErrDirection: a direction is not "debit" or "credit".
	ErrDirection = fault.New(fault.Invalid, "", `direction is not "debit" or "credit"`)
	// ErrStatus: a status is not "COMMITTED" or "ABORTED".
	ErrStatus = fault.New(fault.Invalid, "", `status is not "COMMITTED" or "ABORTED"`)
)

// CSVReader reads a participant's upload: the header CSVHeader, then one
// transfer per line. It is strict, because a reconciliation that guessed
// would prove nothing: lines end in CRLF or LF, the last one may lack
// it; fields may be quoted as RFC 4180 allows but no valid field needs
// it; a UTF-8 byte order mark before the header is skipped (spreadsheets
// write one). It is a Source in the upload's order; Sort orders it.
type CSVReader struct {
	r    *bufio.Reader
	cur  money.Currency
	line int64
	err  error
	f    [4][]byte
	buf  []byte
}

// NewCSVReader returns a reader of an upload whose amounts are in cur.
func NewCSVReader(r io.Reader, cur money.Currency) *CSVReader {
	return &CSVReader{r: bufio.NewReaderSize(r, 64<<10), cur: cur}
}

// Line returns the number of the last line read (the header is line 1).
func (c *CSVReader) Line() int64 { return c.line }

// Next returns the next line's record. Errors name the line; after one,
// Next returns it again.
func (c *CSVReader) Next() (Record, bool, error) {
	if c.err != nil {
		return Record{}, false, c.err
	}
	r, ok, err := c.next()
	if err != nil {
		c.err = fmt.Errorf("line %d: %w", c.line, err)
		return Record{}, false, c.err
	}
	return r, ok, nil
}

func (c *CSVReader) next() (Record, bool, error) {
	if c.line == 0 {
		if !c.cur.Valid() {
			return Record{}, false, money.ErrUnknownCurrency
		}
		line, eof, err := c.readLine()
		if err != nil {
			return Record{}, false, err
		}
		if eof && line == nil {
			c.line = 1
			return Record{}, false, fmt.Errorf("empty upload: %w", ErrHeader)
		}
		line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		if err := c.split(line); err != nil || !slices.Equal(c.header(), csvColumns) {
			return Record{}, false, fmt.Errorf("%.80q: %w", line, ErrHeader)
		}
	}
	line, eof, err := c.readLine()
	if err != nil || (eof && line == nil) {
		return Record{}, false, err
	}
	if err := c.split(line); err != nil {
		return Record{}, false, err
	}
	id := c.f[0]
	if !ValidID(string(id)) {
		return Record{}, false, fmt.Errorf("transfer id %.140q: %w", id, ErrID)
	}
	amount, err := money.Parse(string(c.f[1]), c.cur)
	if err != nil {
		return Record{}, false, fmt.Errorf("amount %.40q (%s): %w: %w", c.f[1], c.cur, ErrAmount, err)
	}
	if amount <= 0 {
		return Record{}, false, fmt.Errorf("amount %.40q: %w", c.f[1], ErrAmount)
	}
	d, err := ParseDirection(string(c.f[2]))
	if err != nil {
		return Record{}, false, err
	}
	s, err := ParseStatus(string(c.f[3]))
	if err != nil {
		return Record{}, false, err
	}
	return Record{TransferID: string(id), Amount: int64(amount), Direction: d, Status: s}, true, nil
}

var csvColumns = strings.Split(CSVHeader, ",")

func (c *CSVReader) header() []string {
	return []string{string(c.f[0]), string(c.f[1]), string(c.f[2]), string(c.f[3])}
}

// readLine returns the next line without its end, and whether the input
// ended (a nil line then means there was none). The returned slice is
// valid until the next call.
func (c *CSVReader) readLine() ([]byte, bool, error) {
	line, err := c.r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > CSVLineMax:
		c.line++
		return nil, false, fmt.Errorf("more than %d bytes: %w", CSVLineMax, ErrLineTooLong)
	case err == io.EOF:
		if len(line) == 0 {
			return nil, true, nil
		}
	case err != nil:
		return nil, false, err
	}
	c.line++
	eof := err == io.EOF
	line = bytes.TrimSuffix(line, []byte("\n"))
	if !eof {
		line = bytes.TrimSuffix(line, []byte("\r"))
	}
	if len(line) == 0 {
		return nil, false, ErrEmptyLine
	}
	if bytes.IndexByte(line, 0) >= 0 || bytes.IndexByte(line, '\r') >= 0 {
		return nil, false, ErrEncoding
	}
	return line, eof, nil
}

// split cuts a line into exactly four fields, unquoting RFC 4180 quoted
// ones. A quote inside an unquoted field, text after a closing quote or
// an unclosed quote is refused.
func (c *CSVReader) split(line []byte) error {
	n := 0
	for {
		if n == len(c.f) {
			return fmt.Errorf("more than %d fields: %w", len(c.f), ErrColumns)
		}
		var field []byte
		if len(line) > 0 && line[0] == '"' {
			c.buf = c.buf[:0]
			i := 1
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					return fmt.Errorf("field %d: unclosed quote: %w", n+1, ErrQuote)
				}
				c.buf = append(c.buf, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' { // an escaped quote
					c.buf = append(c.buf, '"')
					i++
					continue
				}
				break
			}
			if i < len(line) && line[i] != ',' {
				return fmt.Errorf("field %d: text after the closing quote: %w", n+1, ErrQuote)
			}
			// The unquoted bytes get their own copy: c.buf is reused by
			// the next quoted field of this line.
			field = append([]byte(nil), c.buf...)
			line = line[i:]
		} else {
			j := bytes.IndexByte(line, ',')
			if j < 0 {
				j = len(line)
			}
			field = line[:j]
			if bytes.IndexByte(field, '"') >= 0 {
				return fmt.Errorf("field %d: quote in an unquoted field: %w", n+1, ErrQuote)
			}
			line = line[j:]
		}
		c.f[n] = field
		n++
		if len(line) == 0 {
			break
		}
		line = line[1:] // the comma
	}
	if n != len(c.f) {
		return fmt.Errorf("%d fields: %w", n, ErrColumns)
	}
	return nil
}

// RecordWriter writes records as an upload in CSVReader's format: what a
// participant (or the simulator) sends. Call Flush at the end.
type RecordWriter struct {
	w      *bufio.Writer
	exp    int
	header bool
	buf    []byte
}

// NewRecordWriter returns a writer of records whose amounts are in cur.
func NewRecordWriter(w io.Writer, cur money.Currency) *RecordWriter {
	return &RecordWriter{w: bufio.NewWriterSize(w, 64<<10), exp: cur.Exponent()}
}

// Write writes one record, after the header on the first call. Records
// are not checked: an invalid one makes an upload that is refused.
func (w *RecordWriter) Write(r Record) error {
	b := w.buf[:0]
	if !w.header {
		b = append(b, CSVHeader+"\n"...)
		w.header = true
	}
	b = append(b, r.TransferID...)
	b = append(b, ',')
	b = money.AppendDecimal(b, r.Amount, w.exp)
	b = append(b, ',')
	b = append(b, r.Direction.String()...)
	b = append(b, ',')
	b = append(b, r.Status.String()...)
	b = append(b, '\n')
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// Flush writes the header if no record was written, then what is
// buffered.
func (w *RecordWriter) Flush() error {
	if !w.header {
		w.header = true
		if _, err := w.w.WriteString(CSVHeader + "\n"); err != nil {
			return err
		}
	}
	return w.w.Flush()
}

// BreakWriter writes breaks as CSV under BreaksCSVHeader, a side's three
// fields empty when it has no record. Its Write can be Reconcile's emit.
// Call Flush at the end.
type BreakWriter struct {
	w      *bufio.Writer
	exp    int
	header bool
	buf    []byte
}

// NewBreakWriter returns a writer of breaks whose amounts are in cur.
func NewBreakWriter(w io.Writer, cur money.Currency) *BreakWriter {
	return &BreakWriter{w: bufio.NewWriterSize(w, 64<<10), exp: cur.Exponent()}
}

// Write writes one break, after the header on the first call.
func (w *BreakWriter) Write(b Break) error {
	out := w.buf[:0]
	if !w.header {
		out = append(out, BreaksCSVHeader+"\n"...)
		w.header = true
	}
	out = append(out, b.TransferID...)
	out = append(out, ',')
	out = append(out, b.Kind.String()...)
	for _, r := range [2]*Record{b.Switch, b.Participant} {
		if r == nil {
			out = append(out, ",,,"...)
			continue
		}
		out = append(out, ',')
		out = money.AppendDecimal(out, r.Amount, w.exp)
		out = append(out, ',')
		out = append(out, r.Direction.String()...)
		out = append(out, ',')
		out = append(out, r.Status.String()...)
	}
	out = append(out, '\n')
	w.buf = out
	_, err := w.w.Write(out)
	return err
}

// Flush writes the header if no break was written (an empty report is
// still a report), then what is buffered.
func (w *BreakWriter) Flush() error {
	if !w.header {
		w.header = true
		if _, err := w.w.WriteString(BreaksCSVHeader + "\n"); err != nil {
			return err
		}
	}
	return w.w.Flush()
}
