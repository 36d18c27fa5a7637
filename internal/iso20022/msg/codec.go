package msg

import (
	"bytes"
	"encoding/xml"
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
// above; a read error of r is returned wrapped as it is.
func Parse(r io.Reader, max int64) (Document, error) {
	if max <= 0 {
		return nil, fmt.Errorf("parse: bound %d: %w", max, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("parse: read: %w", err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("parse: more than %d bytes: %w", max, ErrTooLarge)
	}
	t, err := scan(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var doc Document
	switch t {
	case TypeCreditTransfer:
		var w pacs008
		if err := decode(data, &w); err != nil {
			return nil, err
		}
		doc, err = w.doc()
	case TypeStatusReport:
		var w pacs002
		if err := decode(data, &w); err != nil {
			return nil, err
		}
		doc, err = w.doc()
	case TypePaymentReturn:
		var w pacs004
		if err := decode(data, &w); err != nil {
			return nil, err
		}
		doc, err = w.doc()
	case TypeBankStatement:
		var w camt053
		if err := decode(data, &w); err != nil {
			return nil, err
		}
		doc, err = w.doc()
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", t, err)
	}
	return doc, nil
}

// decode is the second pass of Parse, after scan has vetted the input.
func decode(data []byte, w any) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(w); err != nil {
		return fmt.Errorf("parse: %v: %w", err, ErrSchema)
	}
	return nil
}

// scan is the first pass of Parse: it walks every token, refuses what an
// attacker or a broken peer could send (see the package doc) and returns
// the message version named by the root's namespace. Decoding happens in
// a second pass over input scan has accepted, so that encoding/xml never
// sees a directive, a foreign element or a runaway depth.
func scan(data []byte) (Type, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var (
		t     Type
		depth int
		roots int
		// free is the depth of an open SplmtryData/Envlp, whose content
		// is xs:any in any namespace; 0 when outside one.
		free int
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%v: %w", err, ErrMalformed)
		}
		switch tok := tok.(type) {
		case xml.Directive:
			return "", ErrDTD
		case xml.ProcInst:
			if tok.Target != "xml" {
				return "", fmt.Errorf("processing instruction %q: %w", tok.Target, ErrSchema)
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return "", fmt.Errorf("text outside the root: %w", ErrMalformed)
			}
		case xml.StartElement:
			depth++
			if depth > MaxDepth {
				return "", fmt.Errorf("depth above %d: %w", MaxDepth, ErrTooDeep)
			}
			if depth == 1 {
				roots++
				if roots > 1 {
					return "", fmt.Errorf("second root element: %w", ErrMalformed)
				}
			}
			seen := make(map[xml.Name]bool, len(tok.Attr))
			for _, a := range tok.Attr {
				if len(a.Value) > MaxAttrBytes {
					return "", fmt.Errorf("attribute %s of %d bytes: %w", a.Name.Local, len(a.Value), ErrTooDeep)
				}
				if seen[a.Name] {
					return "", fmt.Errorf("attribute %s repeated: %w", a.Name.Local, ErrMalformed)
				}
				seen[a.Name] = true
			}
		case xml.EndElement:
			depth--
		}
	}
	if roots == 0 {
		return "", fmt.Errorf("no root element: %w", ErrMalformed)
	}
	// The raw pass checked well-formedness and the limits cheaply; this
	// pass resolves namespaces, which RawToken does not.
	d = xml.NewDecoder(bytes.NewReader(data))
	depth = 0
	// open[i] records what the open element at depth i+1 holds: no
	// element type of the four messages has mixed content, and
	// encoding/xml would silently glue the text pieces together.
	type content struct{ child, text bool }
	var open []content
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return "", fmt.Errorf("%v: %w", err, ErrMalformed)
		}
		switch tok := tok.(type) {
		case xml.CharData:
			if depth > 0 && len(bytes.TrimSpace(tok)) > 0 {
				open[depth-1].text = true
			}
		case xml.StartElement:
			if depth > 0 {
				open[depth-1].child = true
			}
			open = append(open, content{})
			depth++
			if depth == 1 {
				t = typeOfNamespace(tok.Name.Space)
				if t == "" || tok.Name.Local != "Document" {
					return "", fmt.Errorf("root {%s}%s: %w", tok.Name.Space, tok.Name.Local, ErrUnknownMessage)
				}
			}
			if free > 0 {
				continue
			}
			if tok.Name.Space != t.Namespace() {
				return "", fmt.Errorf("element {%s}%s: %w", tok.Name.Space, tok.Name.Local, ErrUnknownMessage)
			}
			if tok.Name.Local == "Envlp" {
				free = depth
			}
			for _, a := range tok.Attr {
				if !allowedAttr(a.Name) {
					return "", fmt.Errorf("attribute {%s}%s on %s: %w", a.Name.Space, a.Name.Local, tok.Name.Local, ErrSchema)
				}
			}
		case xml.EndElement:
			if c := open[depth-1]; c.child && c.text && free == 0 {
				return "", fmt.Errorf("element %s mixes text and elements: %w", tok.Name.Local, ErrSchema)
			}
			open = open[:depth-1]
			if depth == free {
				free = 0
			}
			depth--
		}
	}
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
