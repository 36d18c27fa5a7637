// Command gospec prepares Hulian's OpenAPI document for oapi-codegen, the
// generator of the Go client (clients/go). scripts/clients.sh runs it; it
// writes a copy of the document that oapi-codegen v2.8.2 turns into code
// that compiles and reads well, and refuses a document whose money is not
// decimal strings.
//
//	go run ./clients/gospec -o OUT.json internal/api/openapi.json
//
// oapi-codegen reads the OpenAPI 3.1 document as it is (kin-openapi
// v0.142 loads 3.1: const, examples, webhooks), so there is no conversion
// to 3.0. What it gets wrong is worked around here, never by editing the
// generated code:
//
//   - An anyOf or oneOf whose every branch is a string (a timestamp or a
//     cursor; an amount or "") becomes a plain string: oapi-codegen would
//     make a union type of it, and for the parameter Since one whose
//     accessors name a type it never declares (N1), which does not compile.
//   - The webhooks are dropped: for them oapi-codegen writes a
//     WebhookInitiator, the switch's side of a callback, which a
//     participant never sends; their bodies' schemas stay in the
//     components, and the generator keeps every component (skip-prune in
//     clients/go/oapi-codegen.yaml) — with pruning it drops them and then
//     names them in the initiator, which does not compile.
//   - A number without a format gets format double, so that a model's
//     score is a float64 rather than a float32. No money is a number: a
//     member named as money (amount, fee, balance, …) must be a string,
//     else gospec fails and names it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gospec:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gospec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the prepared document to `FILE` (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 1 {
		return errors.New("usage: gospec -o OUT.json openapi.json")
	}
	in, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	prepared, err := Prepare(in)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	return os.WriteFile(*out, prepared, 0o644)
}

// moneyNames are the members that carry money in Hulian's API: each must
// be a decimal string, never a JSON number.
var moneyNames = []string{
	"amount", "fee", "fees", "balance", "available", "reserved", "netDebitCap", "fixed", "min", "max",
	"minAmount", "maxAmount", "sourceAmount", "targetAmount", "threshold", "volume", "hubFees", "refunded",
	"net", "debits", "credits",
}

// Prepare returns the document doc (OpenAPI JSON) prepared for
// oapi-codegen, as the package doc describes, in indented JSON. It fails on
// a document that is not JSON, on a reference it cannot follow, and on
// money that is not a string.
func Prepare(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // integers (limits, enums of statuses) stay exact
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	delete(root, "webhooks")
	p := preparer{root: root}
	p.walk(root, "#")
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type preparer struct {
	root map[string]any
	errs []error
}

// walk rewrites every object under v, whose location is at (a JSON
// pointer, for the errors), children first.
func (p *preparer) walk(v any, at string) {
	switch v := v.(type) {
	case []any:
		for i, x := range v {
			p.walk(x, fmt.Sprintf("%s/%d", at, i))
		}
	case map[string]any:
		for k, x := range v {
			p.walk(x, at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"))
		}
		p.rewrite(v, at)
	}
}

// rewrite applies the rules to one object, if it is a schema.
func (p *preparer) rewrite(s map[string]any, at string) {
	for _, k := range []string{"anyOf", "oneOf"} {
		branches, ok := s[k].([]any)
		if !ok || len(branches) == 0 {
			continue
		}
		allStrings := true
		for _, b := range branches {
			if !p.isString(b, 0) {
				allStrings = false
			}
		}
		if allStrings {
			delete(s, k)
			s["type"] = "string"
		}
	}
	if s["type"] == "number" && s["format"] == nil {
		s["format"] = "double"
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, prop := range props {
			if slices.Contains(moneyNames, name) && p.isNumber(prop, 0) {
				p.errs = append(p.errs, fmt.Errorf("%s/properties/%s: money must be a decimal string, not a number", at, name))
			}
		}
	}
}

// maxDepth bounds the references followed from one schema, against a
// cycle of references.
const maxDepth = 32

// resolve follows a local $ref of s, if it has one.
func (p *preparer) resolve(s map[string]any, depth int) (map[string]any, bool) {
	ref, ok := s["$ref"].(string)
	if !ok {
		return s, true
	}
	if depth >= maxDepth || !strings.HasPrefix(ref, "#/") {
		p.errs = append(p.errs, fmt.Errorf("cannot follow $ref %q", ref))
		return nil, false
	}
	var cur any = p.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			cur = nil
			break
		}
		cur = m[part]
	}
	target, ok := cur.(map[string]any)
	if !ok {
		p.errs = append(p.errs, fmt.Errorf("$ref %q names nothing", ref))
		return nil, false
	}
	return p.resolve(target, depth+1)
}

// isString reports whether the schema v takes only strings: its type is
// string, or its const or every member of its enum is one.
func (p *preparer) isString(v any, depth int) bool {
	s, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if s, ok = p.resolve(s, depth); !ok {
		return false
	}
	if t, ok := s["type"]; ok {
		return t == "string"
	}
	if c, ok := s["const"]; ok {
		_, str := c.(string)
		return str
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		for _, x := range e {
			if _, str := x.(string); !str {
				return false
			}
		}
		return true
	}
	return false
}

// isNumber reports whether the schema v may be a JSON number.
func (p *preparer) isNumber(v any, depth int) bool {
	s, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if s, ok = p.resolve(s, depth); !ok {
		return false
	}
	switch t := s["type"].(type) {
	case string:
		return t == "number" || t == "integer"
	case []any:
		return slices.Contains(t, any("number")) || slices.Contains(t, any("integer"))
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if bs, ok := s[k].([]any); ok {
			for _, b := range bs {
				if p.isNumber(b, depth+1) {
					return true
				}
			}
		}
	}
	return false
}
