package msg

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/hulian/hulian/internal/fault"
)

// Limits of Parse. They bound what an untrusted peer can make the switch
// hold or walk.
const (
	// MaxTransactions is the most transactions a message may carry.
	MaxTransactions = 1000
	// MaxDepth is the deepest nesting of elements Parse accepts; the
	// deepest element of the four messages is under 20.
	MaxDepth = 64
	// MaxAttrBytes bounds an attribute's value; the longest legitimate one
	// is an xsi:schemaLocation.
	MaxAttrBytes = 1024
)

// The refusals of Parse and Marshal. All are fault.Invalid with the code
// "invalid-request": the sender must fix the document; sending it again
// unchanged is refused again.
var (
	// ErrMalformed means the input is not well-formed XML (or not UTF-8).
	ErrMalformed = fault.New(fault.Invalid, "", "iso20022: not well-formed XML")
	// ErrDTD means the input declares a DOCTYPE, a DTD or an entity; the
	// switch never expands entities, so it refuses them all.
	ErrDTD = fault.New(fault.Invalid, "", "iso20022: DOCTYPE or entity declarations are not allowed")
	// ErrTooLarge means the input is larger than the caller's bound.
	ErrTooLarge = fault.New(fault.Invalid, "", "iso20022: document too large")
	// ErrTooDeep means elements nest deeper than MaxDepth, or an
	// attribute is longer than MaxAttrBytes.
	ErrTooDeep = fault.New(fault.Invalid, "", "iso20022: document nested too deeply or attribute too long")
	// ErrUnknownMessage means the root is not a Document in the namespace
	// of one of the message versions the switch speaks, or an element is
	// in another namespace.
	ErrUnknownMessage = fault.New(fault.Invalid, "", "iso20022: unknown message or namespace")
	// ErrSchema means the message breaks its XSD in an element the switch
	// uses: a required element missing, a single element repeated, a text
	// too long, a code outside its list, a bad date or number.
	ErrSchema = fault.New(fault.Invalid, "", "iso20022: message does not follow its schema")
	// ErrTxCount means the message carries no transaction, more than
	// MaxTransactions, or a number other than its NbOfTxs says.
	ErrTxCount = fault.New(fault.Invalid, "", "iso20022: wrong number of transactions")
	// ErrAmount means an amount is not positive, has more decimals than
	// its currency's exponent or more than 18 digits, or does not fit.
	ErrAmount = fault.New(fault.Invalid, "", "iso20022: invalid amount")
	// ErrCurrency means a currency code is not an active ISO 4217 code.
	ErrCurrency = fault.New(fault.Invalid, "", "iso20022: invalid currency")
)

// xsiNS is XML Schema's instance namespace: Document often carries an
// xsi:schemaLocation, which is allowed and ignored.
const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

// Parse reads one message of at most max bytes from r and returns it as
// *CreditTransfer, *StatusReport, *PaymentReturn or *BankStatement, by the
// namespace of its root Document. Every refusal wraps one of the errors
// above; a read error of r is returned wrapped as it is. The input is
// read in one streaming pass, never more than max+1 bytes of it; what
// Parse holds is the decoded message.
func Parse(r io.Reader, max int64) (Document, error) {
	if max <= 0 {
		return nil, fmt.Errorf("parse: bound %d: %w", max, ErrTooLarge)
	}
	g := &guard{in: xml.NewDecoder(&bounded{r: r, left: max})}
	t, err := g.root()
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var w interface{ doc() (Document, error) }
	switch t {
	case TypeCreditTransfer:
		w = &pacs008{}
	case TypeStatusReport:
		w = &pacs002{}
	case TypePaymentReturn:
		w = &pacs004{}
	case TypeBankStatement:
		w = &camt053{}
	}
	if err := xml.NewTokenDecoder(g).Decode(w); err != nil {
		if g.err != nil {
			return nil, fmt.Errorf("parse: %w", g.err)
		}
		return nil, fmt.Errorf("parse: %v: %w", err, ErrSchema)
	}
	if err := g.end(); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	doc, err := w.doc()
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", t, err)
	}
	return doc, nil
}

// bounded reads at most left bytes of r and fails with ErrTooLarge if r
// has more.
type bounded struct {
	r    io.Reader
	left int64
	err  error
}

func (b *bounded) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		b.err = ErrTooLarge
		return 0, b.err
	}
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		b.err = &readError{err}
		return n, b.err
	}
	return n, err
}

// readError marks a failure of the caller's reader, which is not the
// sender's fault and is returned as it is.
type readError struct{ err error }

func (e *readError) Error() string { return "read: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// guard stands between the tokenizer and encoding/xml's decoder: every
// token passes its checks (see the package doc) before the decoder sees
// it, so that the decoder never meets a directive, a foreign element or a
// runaway depth. Its first error is kept, because the decoder reports it
// without its sentinel.
type guard struct {
	in      *xml.Decoder
	t       Type
	depth   int
	roots   int
	pending *xml.StartElement // the root, read by root and not yet handed on
	// free is the depth of an open SplmtryData/Envlp, whose content is
	// xs:any in any namespace; 0 when outside one.
	free int
	// open records what each open element holds: no element type of the
	// four messages has mixed content, and encoding/xml would silently
	// glue the pieces of text together.
	open []content
	err  error
}

type content struct{ child, text bool }

// root reads up to the root element and returns the message version its
// namespace names.
func (g *guard) root() (Type, error) {
	for {
		tok, err := g.Token()
		if err != nil {
			if err == io.EOF {
				return "", fmt.Errorf("no root element: %w", ErrMalformed)
			}
			return "", err
		}
		if s, ok := tok.(xml.StartElement); ok {
			g.pending = &s
			return g.t, nil
		}
	}
}

// end reads what follows the root: only comments, whitespace and the
// end of input may.
func (g *guard) end() error {
	for {
		if _, err := g.Token(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// Token returns the next token that passed the checks.
func (g *guard) Token() (xml.Token, error) {
	if g.err != nil {
		return nil, g.err
	}
	if g.pending != nil {
		s := *g.pending
		g.pending = nil
		return s, nil
	}
	tok, err := g.in.Token()
	if err == nil {
		err = g.check(tok)
	} else if err != io.EOF {
		var re *readError
		switch {
		case errors.Is(err, ErrTooLarge), errors.As(err, &re):
		default:
			err = fmt.Errorf("%v: %w", err, ErrMalformed)
		}
	}
	if err != nil {
		if err != io.EOF {
			g.err = err
		}
		return nil, err
	}
	return xml.CopyToken(tok), nil
}

func (g *guard) check(tok xml.Token) error {
	switch tok := tok.(type) {
	case xml.Directive:
		return ErrDTD
	case xml.ProcInst:
		if tok.Target != "xml" {
			return fmt.Errorf("processing instruction %q: %w", tok.Target, ErrSchema)
		}
	case xml.CharData:
		if len(bytes.TrimSpace(tok)) == 0 {
			return nil
		}
		if g.depth == 0 {
			return fmt.Errorf("text outside the root: %w", ErrMalformed)
		}
		g.open[g.depth-1].text = true
	case xml.StartElement:
		if g.depth > 0 {
			g.open[g.depth-1].child = true
		}
		g.depth++
		g.open = append(g.open, content{})
		if g.depth > MaxDepth {
			return fmt.Errorf("depth above %d: %w", MaxDepth, ErrTooDeep)
		}
		if g.depth == 1 {
			if g.roots++; g.roots > 1 {
				return fmt.Errorf("second root element: %w", ErrMalformed)
			}
			g.t = typeOfNamespace(tok.Name.Space)
			if g.t == "" || tok.Name.Local != "Document" {
				return fmt.Errorf("root {%s}%s: %w", tok.Name.Space, tok.Name.Local, ErrUnknownMessage)
			}
		}
		seen := make(map[xml.Name]bool, len(tok.Attr))
		for _, a := range tok.Attr {
			if len(a.Value) > MaxAttrBytes {
				return fmt.Errorf("attribute %s of %d bytes: %w", a.Name.Local, len(a.Value), ErrTooDeep)
			}
			if seen[a.Name] {
				return fmt.Errorf("attribute %s repeated: %w", a.Name.Local, ErrMalformed)
			}
			seen[a.Name] = true
			if g.free == 0 && !allowedAttr(a.Name) {
				return fmt.Errorf("attribute {%s}%s on %s: %w", a.Name.Space, a.Name.Local, tok.Name.Local, ErrSchema)
			}
		}
		if g.free > 0 {
			return nil
		}
		if tok.Name.Space != g.t.Namespace() {
			return fmt.Errorf("element {%s}%s: %w", tok.Name.Space, tok.Name.Local, ErrUnknownMessage)
		}
		if tok.Name.Local == "Envlp" {
			g.free = g.depth
		}
	case xml.EndElement:
		if c := g.open[g.depth-1]; c.child && c.text && g.free == 0 {
			return fmt.Errorf("element %s mixes text and elements: %w", tok.Name.Local, ErrSchema)
		}
		g.open = g.open[:g.depth-1]
		if g.depth == g.free {
			g.free = 0
		}
		g.depth--
	}
	return nil
}

// allowedAttr reports whether an attribute may appear on an element of
// the message: namespace declarations, xsi attributes and the Ccy of an
// amount.
func allowedAttr(n xml.Name) bool {
	switch {
	case n.Space == "xmlns", n.Space == "" && n.Local == "xmlns":
		return true
	case n.Space == xsiNS:
		return true
	case n.Space == "" && n.Local == "Ccy":
		return true
	}
	return false
}

func typeOfNamespace(ns string) Type {
	for _, t := range []Type{TypeCreditTransfer, TypeStatusReport, TypePaymentReturn, TypeBankStatement} {
		if ns == t.Namespace() {
			return t
		}
	}
	return ""
}

// Marshal renders d as a complete XML document: the XML declaration, then
// Document with the version's namespace as its default namespace,
// indented by two spaces. It refuses content the XSD would refuse (with
// the errors of Parse), so that the switch never sends an invalid message.
func Marshal(d Document) ([]byte, error) {
	if d == nil {
		return nil, fmt.Errorf("marshal: nil document: %w", ErrSchema)
	}
	w, err := d.wire()
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", d.Type(), err)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e := xml.NewEncoder(&b)
	e.Indent("", "  ")
	if err := e.Encode(w); err != nil {
		return nil, fmt.Errorf("marshal %s: %w", d.Type(), err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
