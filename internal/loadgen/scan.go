package loadgen

import (
	"bytes"
)

// reader walks a JSON document from the switch without decoding it into
// values: the generator shares the machine with the switch, and a
// reflective decode of a 1000-transfer batch answer (≈ 300 KB) would cost
// it about as much CPU as the switch spends producing it. reader checks
// the structure it walks through but is no validator: what it skips, it
// skips by brackets and quotes. Strings are returned raw, escapes left
// in; the values it is asked for (states, problem types, ids) have none.
type reader struct {
	b   []byte
	i   int
	bad bool
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

// eat consumes c if it is next.
func (r *reader) eat(c byte) bool {
	if r.peek() != c {
		return false
	}
	r.i++
	return true
}

// str reads a string and returns its raw content.
func (r *reader) str() []byte {
	if !r.eat('"') {
		r.bad = true
		return nil
	}
	start := r.i
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case '"':
			s := r.b[start:r.i]
			r.i++
			return s
		case '\\':
			r.i += 2
		default:
			r.i++
		}
	}
	r.bad = true
	return nil
}

// int reads a non-negative integer.
func (r *reader) int() int {
	r.ws()
	start, n := r.i, 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' && r.i-start < 9 {
		n = n*10 + int(r.b[r.i]-'0')
		r.i++
	}
	if r.i == start {
		r.bad = true
	}
	return n
}

// skip skips one value of any kind.
func (r *reader) skip() {
	switch r.peek() {
	case '"':
		r.str()
		return
	case '{', '[':
	case 0:
		r.bad = true
		return
	default: // a number or literal runs to the next delimiter
		start := r.i
		for r.i < len(r.b) {
			switch r.b[r.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				r.bad = r.bad || r.i == start
				return
			}
			r.i++
		}
		return
	}
	depth := 0
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case '"':
			r.str()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				r.i++
				return
			}
		}
		r.i++
	}
	r.bad = true
}

// key reads the next member name of an object whose '{' was consumed,
// and its ':'; ok is false at the object's end (its '}' consumed) or on
// malformed input. first says whether no member was read yet.
func (r *reader) key(first bool) (name []byte, ok bool) {
	if r.bad || r.eat('}') {
		return nil, false
	}
	if !first && !r.eat(',') {
		r.bad = true
		return nil, false
	}
	name = r.str()
	if !r.eat(':') {
		r.bad = true
	}
	return name, !r.bad
}

// topString returns the string value of a top-level member of an object.
func topString(doc []byte, name string) ([]byte, bool) {
	r := reader{b: doc}
	if !r.eat('{') {
		return nil, false
	}
	for first := true; ; first = false {
		k, ok := r.key(first)
		if !ok {
			return nil, false
		}
		if string(k) == name {
			if r.peek() != '"' {
				return nil, false
			}
			v := r.str()
			return v, !r.bad
		}
		r.skip()
	}
}

// problemName returns the case of a problem document: the last segment
// of its type URI ("insufficient-funds").
func problemName(doc []byte) ([]byte, bool) {
	t, ok := topString(doc, "type")
	if !ok {
		return nil, false
	}
	return t[bytes.LastIndexByte(t, '/')+1:], true
}

// itemResult is one entry of a batch answer.
type itemResult struct {
	status  int
	state   []byte // transfer.state, when there is a transfer
	problem []byte // the case of error.type, when there is an error
}

// scanBatch calls fn for each entry of {"results":[{"status":…,
// "transfer":{…,"state":…}|"error":{…,"type":…}}…]} and returns how many
// there were; ok is false if the document is not of that shape.
func scanBatch(doc []byte, fn func(itemResult)) (n int, ok bool) {
	r := reader{b: doc}
	if !r.eat('{') {
		return 0, false
	}
	found := false
	for first := true; ; first = false {
		k, ok := r.key(first)
		if !ok {
			break
		}
		if string(k) != "results" {
			r.skip()
			continue
		}
		found = true
		if !r.eat('[') {
			return n, false
		}
		for i := 0; !r.bad; i++ {
			if r.eat(']') {
				break
			}
			if i > 0 && !r.eat(',') {
				return n, false
			}
			it, ok := r.item()
			if !ok {
				return n, false
			}
			fn(it)
			n++
		}
	}
	return n, found && !r.bad && r.peek() == 0
}

// item reads one batch entry.
func (r *reader) item() (it itemResult, ok bool) {
	if !r.eat('{') {
		return it, false
	}
	for first := true; ; first = false {
		k, ok := r.key(first)
		if !ok {
			break
		}
		switch string(k) {
		case "status":
			it.status = r.int()
		case "transfer":
			it.state = r.member("state")
		case "error":
			it.problem = r.member("type")
			it.problem = it.problem[bytes.LastIndexByte(it.problem, '/')+1:]
		default:
			r.skip()
		}
	}
	return it, !r.bad && it.status != 0
}

// member reads an object and returns the string value of one of its
// members (nil if absent).
func (r *reader) member(name string) []byte {
	if !r.eat('{') {
		r.bad = true
		return nil
	}
	var v []byte
	for first := true; ; first = false {
		k, ok := r.key(first)
		if !ok {
			return v
		}
		if string(k) == name && r.peek() == '"' {
			v = r.str()
		} else {
			r.skip()
		}
	}
}

// payAnswer is what a quote's or a transfer's answer tells the
// generator: the top-level id, state, amount and fee, and whether there
// is an fx object, with its provider, targetAmount and providerFee.
type payAnswer struct {
	id, state, amount, fee []byte
	fx                     bool
	provider, target       []byte
	providerFee            []byte
}

// scanPayment reads a quote or transfer answer; ok is false if it is
// not a JSON object.
func scanPayment(doc []byte) (a payAnswer, ok bool) {
	r := reader{b: doc}
	if !r.eat('{') {
		return a, false
	}
	for first := true; ; first = false {
		k, ok := r.key(first)
		if !ok {
			break
		}
		switch string(k) {
		case "id":
			a.id = r.strValue()
		case "state":
			a.state = r.strValue()
		case "amount":
			a.amount = r.strValue()
		case "fee":
			a.fee = r.strValue()
		case "fx":
			if r.peek() != '{' {
				r.skip() // null
				continue
			}
			a.fx = true
			r.eat('{')
			for first := true; ; first = false {
				k, ok := r.key(first)
				if !ok {
					break
				}
				switch string(k) {
				case "provider":
					a.provider = r.strValue()
				case "targetAmount":
					a.target = r.strValue()
				case "providerFee":
					a.providerFee = r.strValue()
				default:
					r.skip()
				}
			}
		default:
			r.skip()
		}
	}
	return a, !r.bad && r.peek() == 0
}

// strValue reads a string value, or skips a value of another kind and
// returns nil.
func (r *reader) strValue() []byte {
	if r.peek() != '"' {
		r.skip()
		return nil
	}
	return r.str()
}
