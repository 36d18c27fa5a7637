package api_test

// These tests keep openapi.json true to the server: the document is
// valid OpenAPI 3.1 with resolvable references and valid schemas; its
// operations are exactly the server's routes; and a real switch,
// exercised over HTTP, answers every operation only with statuses,
// media types, headers and bodies the document declares.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	stdjson "encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/auth"
	isomsg "github.com/hulian/hulian/internal/iso20022/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// docURL is where the document is registered with the schema compiler;
// nothing is fetched from it.
const docURL = "https://hulian.test/openapi.json"

// spec is the document, with a schema compiler over it.
type spec struct {
	raw []byte
	doc map[string]any

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

var (
	specOnce sync.Once
	specVal  *spec
	specErr  error
)

// loadSpec reads openapi.json once per test binary.
func loadSpec(t testing.TB) *spec {
	t.Helper()
	specOnce.Do(func() { specVal, specErr = readSpec("openapi.json") })
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specVal
}

func readSpec(path string) (*spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// The strict decoder refuses duplicate names and invalid UTF-8,
	// which encoding/json would let through.
	var strict any
	if err := json.Unmarshal(raw, &strict); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object", path)
	}
	// The compiler gets its own copy, with every object schema closed
	// (see closeObjects).
	closed, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	closeObjects(closed, false)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, closed); err != nil {
		return nil, err
	}
	return &spec{raw: raw, doc: doc, compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
}

// closeObjects adds "additionalProperties": false to every object schema
// that lists its properties and says nothing of others, so that the
// tests catch members the server sends but the document does not
// declare. The document itself leaves answers open, so that clients
// accept members added later. Members of allOf are left alone: closing
// them would refuse their siblings' properties.
func closeObjects(v any, inAllOf bool) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["properties"].(map[string]any); ok && v["type"] == "object" && !inAllOf {
			_, a := v["additionalProperties"]
			_, u := v["unevaluatedProperties"]
			if !a && !u {
				v["additionalProperties"] = false
			}
		}
		for k, x := range v {
			if a, ok := x.([]any); ok && k == "allOf" {
				for _, e := range a {
					closeObjects(e, true)
				}
				continue
			}
			closeObjects(x, false)
		}
	case []any:
		for _, x := range v {
			closeObjects(x, false)
		}
	}
}

// ptrEscape escapes a JSON pointer token.
func ptrEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// at returns the value at a JSON pointer ("/paths/~1healthz/get").
func (s *spec) at(ptr string) (any, bool) {
	var v any = s.doc
	if ptr == "" {
		return v, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func (s *spec) obj(ptr string) map[string]any {
	v, _ := s.at(ptr)
	m, _ := v.(map[string]any)
	return m
}

// deref follows the $ref of a response, parameter, header or request
// body object and returns where the object really is.
func (s *spec) deref(ptr string) (string, map[string]any) {
	for range 8 {
		m := s.obj(ptr)
		r, ok := m["$ref"].(string)
		if !ok {
			return ptr, m
		}
		ptr = strings.TrimPrefix(r, "#")
	}
	return ptr, nil
}

// schema compiles the schema at ptr.
func (s *spec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.compiled[ptr]; ok {
		return sch, nil
	}
	// The compiler takes the fragment percent-encoded, token by token.
	toks := strings.Split(ptr, "/")
	for i, tok := range toks {
		toks[i] = url.PathEscape(tok)
	}
	sch, err := s.compiler.Compile(docURL + "#" + strings.Join(toks, "/"))
	if err != nil {
		return nil, err
	}
	s.compiled[ptr] = sch
	return sch, nil
}

// validate checks JSON text against the schema at ptr.
func (s *spec) validate(ptr string, body []byte) error {
	sch, err := s.schema(ptr)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %v: %q", err, truncate(body))
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%v\nbody: %s", err, truncate(body))
	}
	return nil
}

func truncate(b []byte) []byte {
	if len(b) > 2000 {
		return append(b[:2000:2000], "…"...)
	}
	return b
}

// operation is one operation of the document.
type operation struct {
	method, path string // "POST", "/v1/participants"
	ptr          string // JSON pointer of the operation object
	obj          map[string]any
}

func (o operation) key() string { return o.method + " " + o.path }

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations lists the document's operations, sorted.
func (s *spec) operations() []operation {
	var out []operation
	paths, _ := s.doc["paths"].(map[string]any)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[p].(map[string]any)
		for _, m := range httpMethods {
			if o, ok := item[m].(map[string]any); ok {
				out = append(out, operation{strings.ToUpper(m), p, "/paths/" + ptrEscape(p) + "/" + m, o})
			}
		}
	}
	return out
}

func (s *spec) operation(key string) (operation, bool) {
	for _, o := range s.operations() {
		if o.key() == key {
			return o, true
		}
	}
	return operation{}, false
}

// checkResponse reports how an answer departs from what the document
// declares for the operation at opPtr: an undeclared status or media
// type, a missing declared header, a body that fails the schema, or an
// answer that may be cached (the document promises Cache-Control:
// no-store on every answer).
func (s *spec) checkResponse(opPtr string, status int, h http.Header, body []byte) []string {
	var errs []string
	code := strconv.Itoa(status)
	if _, ok := s.at(opPtr + "/responses/" + code); !ok {
		return []string{fmt.Sprintf("status %d is not declared (body %s)", status, truncate(body))}
	}
	if cc := h.Get("Cache-Control"); cc != "no-store" {
		errs = append(errs, fmt.Sprintf("status %d: Cache-Control %q, want no-store", status, cc))
	}
	rptr, r := s.deref(opPtr + "/responses/" + code)
	headers, _ := r["headers"].(map[string]any)
	for name := range headers {
		if h.Get(name) == "" {
			errs = append(errs, fmt.Sprintf("status %d: declared header %s missing", status, name))
		}
	}
	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) != 0 {
			errs = append(errs, fmt.Sprintf("status %d declares no body, got %q", status, truncate(body)))
		}
		return errs
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return append(errs, fmt.Sprintf("status %d: Content-Type %q: %v", status, h.Get("Content-Type"), err))
	}
	if _, ok := content[mt]; !ok {
		return append(errs, fmt.Sprintf("status %d: media type %s is not declared (declared: %v)", status, mt, slices.Sorted(maps.Keys(content))))
	}
	sptr := rptr + "/content/" + ptrEscape(mt) + "/schema"
	if err := s.validateBody(sptr, mt, body); err != nil {
		errs = append(errs, fmt.Sprintf("status %d: %v", status, err))
	}
	return errs
}

// isJSON reports whether a media type is JSON.
func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// validateBody checks a body of media type mt against the schema at
// sptr. A body that is not JSON is text: its schema must be a string
// schema, which the text must satisfy as a string (its pattern, its
// length).
func (s *spec) validateBody(sptr, mt string, body []byte) error {
	if isJSON(mt) {
		return s.validate(sptr, body)
	}
	_, sch := s.deref(sptr)
	if sch["type"] != "string" {
		return fmt.Errorf("%s is declared with a schema that is not a string", mt)
	}
	if sch["format"] == "binary" {
		// An image: it must be one of its media type.
		if got := http.DetectContentType(body); got != mt {
			return fmt.Errorf("%s body sniffs as %s", mt, got)
		}
		return nil
	}
	if !utf8.Valid(body) {
		return fmt.Errorf("%s body is not UTF-8: %q", mt, truncate(body))
	}
	asJSON, _ := stdjson.Marshal(string(body))
	if err := s.validate(sptr, asJSON); err != nil {
		return fmt.Errorf("%s body: %v", mt, err)
	}
	return nil
}

// accessNames maps the access levels of api.go to the values of
// x-hulian-access.
var accessNames = map[string]string{
	"public":        "public",
	"operator":      "operator",
	"anyone":        "any",
	"participantOn": "participant",
	"auditor":       "auditor",
	"cosigner":      "cosigner",
}

// routedRoutes reads the route table of the real server from api.go:
// the method and path of each element of the slice routes() returns,
// which New registers one by one, and who may call each (its access
// level, as named by x-hulian-access). The server's Routes reports the
// same, but reads names from a table of its own; the source is the
// truth.
func routedRoutes(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "api.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	access := map[string]string{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "routes" || fn.Recv == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			list, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if at, ok := list.Type.(*ast.ArrayType); !ok || fmt.Sprint(at.Elt) != "route" {
				return true
			}
			for _, e := range list.Elts {
				lit, ok := e.(*ast.CompositeLit)
				if !ok || len(lit.Elts) < 3 {
					t.Fatalf("%v: a route that is not a literal", fset.Position(e.Pos()))
				}
				var mp [2]string
				for i := range mp {
					b, ok := lit.Elts[i].(*ast.BasicLit)
					if !ok || b.Kind != token.STRING {
						t.Fatalf("%v: route method and path must be string literals", fset.Position(lit.Pos()))
					}
					mp[i], _ = strconv.Unquote(b.Value)
				}
				key := mp[0] + " " + mp[1]
				out = append(out, key)
				id, ok := lit.Elts[2].(*ast.Ident)
				if !ok {
					t.Fatalf("%v: route access must be one of the access constants", fset.Position(lit.Pos()))
				}
				if access[key], ok = accessNames[id.Name]; !ok {
					t.Errorf("%v: access level %s has no x-hulian-access name: add it to accessNames, the document and its tests", fset.Position(id.Pos()), id.Name)
				}
			}
			return false
		})
	}
	if len(out) == 0 {
		t.Fatal("api.go: found no routes in (*Server).routes")
	}
	return out, access
}

// serverKinds reads the problem types of problem.go: name → statuses.
func serverKinds(t *testing.T) map[string][]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "problem.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "kind" || len(lit.Elts) != 3 {
			return true
		}
		st, ok1 := lit.Elts[0].(*ast.BasicLit)
		nm, ok2 := lit.Elts[1].(*ast.BasicLit)
		if ok1 && ok2 {
			status, _ := strconv.Atoi(st.Value)
			name, _ := strconv.Unquote(nm.Value)
			out[name] = append(out[name], status)
		}
		return false
	})
	if len(out) == 0 {
		t.Fatal("problem.go: found no problem kinds")
	}
	return out
}

// placeholder is a value for each path parameter when probing.
var placeholder = map[string]string{"id": "wallet-a", "currency": "CNY", "type": "MSISDN", "value": "+8613800138000",
	"name": "blocked-payees", "item": "MSISDN:+8613800138000", "source": "CNY", "target": "HKD",
	"aliasType": "MSISDN", "prefix": "+852", "username": "alice"}

var paramRE = regexp.MustCompile(`\{([^}]+)\}`)

// fill replaces the path template's parameters with args, in order, or
// with placeholders when args run out.
func fill(tmpl string, args ...string) string {
	i := 0
	return paramRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		if i < len(args) {
			i++
			return url.PathEscape(args[i-1])
		}
		return url.PathEscape(placeholder[m[1:len(m)-1]])
	})
}

// regulatorMayCall reports whether the regulator's read-only token opens
// an operation: the GETs of operator and any operations, and the
// auditor and cosigner operations.
func regulatorMayCall(access, method string) bool {
	switch access {
	case "auditor", "cosigner":
		return true
	case "operator", "any":
		return method == http.MethodGet
	}
	return false
}

// participantMayCall reports whether a participant's API key opens an
// operation of this access level.
func participantMayCall(access string) bool {
	return access == "any" || access == "participant" || access == "cosigner"
}

// TestOpenAPIDocument checks the document on its own: OpenAPI 3.1,
// references that resolve, schemas and examples that are valid, and
// operations that are complete.
func TestOpenAPIDocument(t *testing.T) {
	s := loadSpec(t)
	if v, _ := s.doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	for _, k := range []string{"title", "version", "description"} {
		if v, _ := s.obj("/info")[k].(string); v == "" {
			t.Errorf("info.%s is missing", k)
		}
	}
	if bearer := s.obj("/components/securitySchemes/bearerAuth"); bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("components.securitySchemes.bearerAuth = %v, want HTTP bearer", bearer)
	} else if desc, _ := bearer["description"].(string); !strings.Contains(desc, "HULIAN_REGULATOR_TOKEN") || !strings.Contains(desc, "regulator") {
		t.Errorf("components.securitySchemes.bearerAuth does not describe the regulator's token: %q", desc)
	}

	// Every $ref resolves, inside the document.
	var refs func(v any, at string)
	refs = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if !strings.HasPrefix(r, "#") {
					t.Errorf("%s: $ref %q leaves the document", at, r)
				} else if _, ok := s.at(strings.TrimPrefix(r, "#")); !ok {
					t.Errorf("%s: $ref %q does not resolve", at, r)
				}
			}
			for k, x := range v {
				refs(x, at+"/"+ptrEscape(k))
			}
		case []any:
			for i, x := range v {
				refs(x, at+"/"+strconv.Itoa(i))
			}
		}
	}
	refs(s.doc, "")

	// Every schema compiles (which validates it against the draft
	// 2020-12 meta-schema) and its examples are valid; so are the
	// examples of media types and parameters.
	var schemas func(v any, at string)
	checkExample := func(schemaPtr, at string, example any) {
		b, _ := stdjson.Marshal(example)
		if err := s.validate(schemaPtr, b); err != nil {
			t.Errorf("%s: example does not match its schema: %v", at, err)
		}
	}
	schemas = func(v any, at string) {
		m, ok := v.(map[string]any)
		if !ok {
			if a, ok := v.([]any); ok {
				for i, x := range a {
					schemas(x, at+"/"+strconv.Itoa(i))
				}
			}
			return
		}
		if _, ok := m["schema"].(map[string]any); ok {
			if _, err := s.schema(at + "/schema"); err != nil {
				t.Errorf("%s/schema: %v", at, err)
			}
			if ex, ok := m["example"]; ok {
				checkExample(at+"/schema", at+"/example", ex)
			}
			if exs, ok := m["examples"].(map[string]any); ok {
				for name, ex := range exs {
					if val, ok := ex.(map[string]any)["value"]; ok {
						checkExample(at+"/schema", at+"/examples/"+name, val)
					}
				}
			}
		}
		for k, x := range m {
			if k != "schema" && k != "schemas" {
				schemas(x, at+"/"+ptrEscape(k))
			}
		}
	}
	schemas(s.doc["paths"], "/paths")
	schemas(s.doc["webhooks"], "/webhooks")
	schemas(s.obj("/components"), "/components")
	for name, sch := range s.obj("/components/schemas") {
		ptr := "/components/schemas/" + ptrEscape(name)
		if _, err := s.schema(ptr); err != nil {
			t.Errorf("%s: %v", ptr, err)
			continue
		}
		if exs, ok := sch.(map[string]any)["examples"].([]any); ok {
			for i, ex := range exs {
				checkExample(ptr, fmt.Sprintf("%s/examples/%d", ptr, i), ex)
			}
		}
	}

	// Operations: unique ids, documented, with their parameters and
	// the answers every operation of their kind has.
	ids := map[string]string{}
	for _, op := range s.operations() {
		if id, _ := op.obj["operationId"].(string); id == "" {
			t.Errorf("%s: no operationId", op.key())
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q already used by %s", op.key(), id, prev)
		} else {
			ids[id] = op.key()
		}
		for _, k := range []string{"summary", "description"} {
			if v, _ := op.obj[k].(string); v == "" {
				t.Errorf("%s: no %s", op.key(), k)
			}
		}
		// Path parameters match the template.
		want := map[string]bool{}
		for _, m := range paramRE.FindAllStringSubmatch(op.path, -1) {
			want[m[1]] = true
		}
		got := map[string]bool{}
		params, _ := op.obj["parameters"].([]any)
		for i := range params {
			_, p := s.deref(fmt.Sprintf("%s/parameters/%d", op.ptr, i))
			if p["in"] == "path" {
				got[p["name"].(string)] = true
				if p["required"] != true {
					t.Errorf("%s: path parameter %v is not required", op.key(), p["name"])
				}
			}
		}
		if !maps.Equal(want, got) {
			t.Errorf("%s: path parameters %v, template has %v", op.key(), slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		// Access and security agree; refusals are declared.
		access, _ := op.obj["x-hulian-access"].(string)
		sec, hasSec := op.obj["security"].([]any)
		responses, _ := op.obj["responses"].(map[string]any)
		need := []string{}
		switch access {
		case "public":
			if !hasSec || len(sec) != 0 {
				t.Errorf("%s: public, but security is not []", op.key())
			}
		case "operator", "participant", "any", "auditor", "cosigner":
			if hasSec {
				t.Errorf("%s: authenticated, but overrides the document's security", op.key())
			}
			need = append(need, "401", "500")
			// Participants are rate-limited; the operator and the
			// regulator are not.
			if participantMayCall(access) {
				need = append(need, "429")
			} else if _, ok := responses["429"]; ok {
				t.Errorf("%s: only the operator or the regulator may call it, yet it declares 429", op.key())
			}
			// A participant where only the operator (and the regulator)
			// may go, the reverse, or the regulator where its read-only
			// token may not go.
			if access == "operator" || access == "participant" || access == "auditor" || !regulatorMayCall(access, op.method) {
				need = append(need, "403")
			}
			// The regulator's part is said wherever it may knock.
			who := regexp.MustCompile(`\*\*Who:\*\*[^\n]*`).FindString(op.obj["description"].(string))
			if !strings.Contains(who, "regulator") {
				t.Errorf("%s: the description's **Who:** line does not say what of the regulator: %q", op.key(), who)
			}
		default:
			t.Errorf("%s: x-hulian-access = %q", op.key(), access)
		}
		if !regexp.MustCompile("\\| `" + regexp.QuoteMeta(access) + "` \\| [^|\n]+ \\|").MatchString(s.obj("/info")["description"].(string)) {
			t.Errorf("%s: access %q is not described in info.description's table", op.key(), access)
		}
		if _, ok := op.obj["requestBody"]; ok {
			need = append(need, "400", "413", "415")
			rbPtr, rb := s.deref(op.ptr + "/requestBody")
			if rb["required"] != true {
				t.Errorf("%s: request body not required", op.key())
			}
			content, _ := rb["content"].(map[string]any)
			if len(content) == 0 {
				t.Errorf("%s: request body without content", op.key())
			}
			for mt := range content {
				if !isJSON(mt) {
					// Text: a string schema (see validateBody).
					if _, sch := s.deref(rbPtr + "/content/" + ptrEscape(mt) + "/schema"); sch["type"] != "string" {
						t.Errorf("%s: request body %s with a schema that is not a string", op.key(), mt)
					}
					continue
				}
				sptr, _ := get(content, mt, "schema", "$ref").(string)
				if body := s.obj(strings.TrimPrefix(sptr, "#")); body["additionalProperties"] != false {
					t.Errorf("%s: request body schema %q does not refuse unknown members", op.key(), sptr)
				}
			}
		}
		for _, code := range need {
			if _, ok := responses[code]; !ok {
				t.Errorf("%s: no %s answer", op.key(), code)
			}
		}
		// The description lists the problem types of the answers.
		desc, _ := op.obj["description"].(string)
		for code := range responses {
			_, r := s.deref(op.ptr + "/responses/" + code)
			types, _ := r["x-problem-types"].([]any)
			for _, n := range types {
				if !strings.Contains(desc, fmt.Sprintf("`%s` (%s)", n, code)) {
					t.Errorf("%s: description does not list problem type %s (%s)", op.key(), n, code)
				}
			}
		}
	}
}

// TestOpenAPIProblemTypes checks that the document names exactly the
// server's problem types, with their statuses.
func TestOpenAPIProblemTypes(t *testing.T) {
	s := loadSpec(t)
	kinds := serverKinds(t)
	used := map[string]bool{}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		m, ok := v.(map[string]any)
		if !ok {
			if a, ok := v.([]any); ok {
				for i, x := range a {
					walk(x, at+"/"+strconv.Itoa(i))
				}
			}
			return
		}
		if names, ok := m["x-problem-types"].([]any); ok {
			// A response: its schema fixes the status, which is its
			// key unless it is a component.
			sch := s.obj(at + "/content/application~1problem+json/schema")
			code, _ := strconv.Atoi(fmt.Sprint(get(sch, "properties", "status", "const")))
			if key := at[strings.LastIndex(at, "/")+1:]; !strings.HasPrefix(at, "/components/") && key != strconv.Itoa(code) {
				t.Errorf("%s: problem status %d", at, code)
			}
			var want []any
			for _, n := range names {
				name := n.(string)
				used[name] = true
				if !slices.Contains(kinds[name], code) {
					t.Errorf("%s: problem type %s with status %d is not one of the server's (%v)", at, name, code, kinds[name])
				}
				want = append(want, wire.ProblemBase+name)
			}
			if got, _ := get(sch, "properties", "type", "enum").([]any); !slices.Equal(got, want) {
				t.Errorf("%s: schema allows types %v, x-problem-types says %v", at, got, want)
			}
		}
		if typ, ok := m["type"].(map[string]any); ok {
			if enum, ok := typ["enum"].([]any); ok {
				for _, e := range enum {
					if u, ok := e.(string); ok && strings.HasPrefix(u, wire.ProblemBase) {
						if name := strings.TrimPrefix(u, wire.ProblemBase); kinds[name] == nil {
							t.Errorf("%s: unknown problem type %s", at, name)
						}
					}
				}
			}
		}
		for k, x := range m {
			walk(x, at+"/"+ptrEscape(k))
		}
	}
	walk(s.doc, "")
	table, _ := s.obj("/components/schemas/Problem")["description"].(string)
	for name, statuses := range kinds {
		for _, st := range statuses {
			if !strings.Contains(table, fmt.Sprintf("| `%s` | %d |", name, st)) {
				t.Errorf("the Problem schema's table lacks %s (%d)", name, st)
			}
		}
		if !used[name] {
			t.Errorf("problem type %s is not declared by any answer", name)
		}
	}
}

// TestOpenAPIRoutes checks that the document's operations are exactly
// the routes of the server: the route table of api.go, and what a
// server built by api.New routes when probed.
func TestOpenAPIRoutes(t *testing.T) {
	s := loadSpec(t)
	var documented []string
	byPath := map[string][]string{}
	for _, op := range s.operations() {
		documented = append(documented, op.key())
		byPath[op.path] = append(byPath[op.path], op.method)
	}
	routed, access := routedRoutes(t)
	slices.Sort(routed)
	for _, r := range routed {
		op, ok := s.operation(r)
		if !ok {
			t.Errorf("route %s is not in the document", r)
			continue
		}
		if got := op.obj["x-hulian-access"]; got != access[r] {
			t.Errorf("%s: x-hulian-access %v, the route's access is %s", r, got, access[r])
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("operation %s is not a route of the server", d)
		}
	}

	// Probe a server: each documented path, with a method no route
	// has, is answered 405 with the methods the server has for it in
	// Allow (HEAD comes with GET); and each documented operation is
	// routed, not answered as an unknown path or method.
	ts := httptest.NewServer(routingServer(t, "operator"))
	defer ts.Close()
	probe := func(method, path string) (*http.Response, []byte) {
		req, err := http.NewRequest(method, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	probed := 0
	for path, methods := range byPath {
		resp, body := probe("BREW", fill(path))
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("BREW %s: status %d, want 405: %s", path, resp.StatusCode, body)
			continue
		}
		var allowed []string
		for m := range strings.SplitSeq(resp.Header.Get("Allow"), ",") {
			if m = strings.TrimSpace(m); m != "HEAD" && m != "" {
				allowed = append(allowed, m)
			}
		}
		probed += len(allowed)
		slices.Sort(allowed)
		slices.Sort(methods)
		if !slices.Equal(allowed, methods) {
			t.Errorf("%s: the server has methods %v, the document %v", path, allowed, methods)
		}
	}
	if probed != len(routed) || len(routed) != len(documented) {
		t.Errorf("the server routes %d operations by probing and %d in api.go; the document has %d", probed, len(routed), len(documented))
	}
	for _, op := range s.operations() {
		resp, body := probe(op.method, fill(op.path))
		var p wire.Problem
		stdjson.Unmarshal(body, &p)
		if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotFound && strings.HasPrefix(p.Detail, "no route") {
			t.Errorf("%s: not routed: %d %s", op.key(), resp.StatusCode, body)
			continue
		}
		if errs := s.checkResponse(op.ptr, resp.StatusCode, resp.Header, body); len(errs) > 0 {
			t.Errorf("%s without credentials: %s", op.key(), strings.Join(errs, "; "))
		}
	}
	// Paths that are not routed get problems of the shapes the
	// document describes for any request.
	for _, c := range []struct{ method, path, resp string }{
		{"GET", "/v1", "NoRoute"},
		{"GET", "/v1/participants/wallet-a/nothing", "NoRoute"},
		{"DELETE", "/v1/transfers", "MethodNotAllowed"},
	} {
		resp, body := probe(c.method, c.path)
		ptr := "/components/responses/" + c.resp
		want, _ := s.at(ptr + "/content/application~1problem+json/schema/properties/status/const")
		if fmt.Sprint(want) != strconv.Itoa(resp.StatusCode) {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, want)
		}
		if err := s.validate(ptr+"/content/application~1problem+json/schema", body); err != nil {
			t.Errorf("%s %s: %v", c.method, c.path, err)
		}
	}
}

// clock is the switch's clock, which the test can move forward.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

// client calls a switch and checks every answer against the document.
type client struct {
	t    *testing.T
	spec *spec
	base string
	http *http.Client

	mu   sync.Mutex
	seen map[string]map[int]bool // operation → statuses answered
}

// call is one request: who, which operation, the path values in order,
// the query and the body (marshaled to JSON unless []byte or string).
type call struct {
	tok    string
	op     string
	args   []string
	query  url.Values
	body   any
	ctype  string // Content-Type; application/json when there is a body
	accept string
}

// answer is a checked answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
	v      any // the decoded body
}

// do sends c and checks the answer against the document.
func (cl *client) do(c call) answer {
	t := cl.t
	t.Helper()
	op, ok := cl.spec.operation(c.op)
	if !ok {
		t.Fatalf("%s: no such operation in the document", c.op)
	}
	var body io.Reader
	var sent []byte
	switch b := c.body.(type) {
	case nil:
	case []byte:
		sent = b
	case string:
		sent = []byte(b)
	default:
		var err error
		if sent, err = stdjson.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	if c.body != nil {
		body = bytes.NewReader(sent)
	}
	u := cl.base + fill(op.path, c.args...)
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	req, err := http.NewRequest(op.method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	if c.accept != "" {
		req.Header.Set("Accept", c.accept)
	}
	ct := c.ctype
	if c.body != nil {
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", op.method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		stdjson.Unmarshal(raw, &a.v)
	}
	for _, e := range cl.spec.checkResponse(op.ptr, resp.StatusCode, resp.Header, raw) {
		t.Errorf("%s %s: %s", op.method, u, e)
	}
	// A body the server accepted must be one the document accepts;
	// for a batch, the entries it accepted.
	if resp.StatusCode < 300 && c.body != nil {
		sent = acceptedEntries(sent, a.v)
		mt, _, _ := mime.ParseMediaType(ct)
		rbPtr, rb := cl.spec.deref(op.ptr + "/requestBody")
		if rb == nil {
			t.Errorf("%s: the server accepted a body, the document declares none", c.op)
		} else if get(rb, "content", mt) == nil {
			t.Errorf("%s %s: the server accepted a body of type %s, which the document does not declare", op.method, u, mt)
		} else if err := cl.spec.validateBody(rbPtr+"/content/"+ptrEscape(mt)+"/schema", mt, sent); err != nil {
			t.Errorf("%s %s: the server accepted a body the document refuses: %v", op.method, u, err)
		}
	}
	cl.mu.Lock()
	if cl.seen[c.op] == nil {
		cl.seen[c.op] = map[int]bool{}
	}
	cl.seen[c.op][resp.StatusCode] = true
	cl.mu.Unlock()
	return a
}

// acceptedEntries returns a batch request without the entries its
// answer refused (results with a status of 300 or more); other requests
// as they are.
func acceptedEntries(sent []byte, answer any) []byte {
	results, ok := get(answer, "results").([]any)
	if !ok {
		return sent
	}
	var req map[string]any
	if stdjson.Unmarshal(sent, &req) != nil {
		return sent
	}
	for k, v := range req {
		entries, ok := v.([]any)
		if !ok || len(entries) != len(results) {
			continue
		}
		var kept []any
		for i, e := range entries {
			if st, _ := get(results[i], "status").(float64); st < 300 {
				kept = append(kept, e)
			}
		}
		req[k] = kept
	}
	b, _ := stdjson.Marshal(req)
	return b
}

// expect sends c and requires the status and, for a problem, its type.
func (cl *client) expect(c call, status int, problem string) answer {
	cl.t.Helper()
	a := cl.do(c)
	if a.status != status {
		cl.t.Errorf("%s %v: status %d, want %d: %s", c.op, c.args, a.status, status, truncate(a.raw))
		return a
	}
	if problem != "" {
		if got := str(a.v, "type"); got != wire.ProblemBase+problem {
			cl.t.Errorf("%s %v: problem %s, want %s", c.op, c.args, got, problem)
		}
	}
	return a
}

// get walks decoded JSON by member names and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func length(v any, path ...any) int {
	a, _ := get(v, path...).([]any)
	return len(a)
}

// receiver is a participant's callback endpoint: it checks each
// callback's signature and body against the document, records it, and
// answers confirmations (rejecting transfers whose note is "reject").
type receiver struct {
	spec *spec
	now  func() time.Time
	srv  *httptest.Server

	mu        sync.Mutex
	secrets   map[string]string   // path → callback secret
	committed map[string][]string // path → committed transfer ids
	confirms  map[string][]string // path → transfer ids asked about
	alerts    map[string][]string // path → liquidity events
	errs      []string
}

func newReceiver(s *spec, now func() time.Time) *receiver {
	r := &receiver{spec: s, now: now, secrets: map[string]string{}, committed: map[string][]string{}, confirms: map[string][]string{}, alerts: map[string][]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

func (r *receiver) fail(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret, ok := r.secrets[req.URL.Path]
	r.mu.Unlock()
	if !ok {
		r.fail("callback to %s, which has no participant", req.URL.Path)
		http.Error(w, "who?", http.StatusNotFound)
		return
	}
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); req.Method != http.MethodPost || mt != "application/json" {
		r.fail("callback %s %s with Content-Type %q", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	sig := req.Header.Get(wire.SignatureHeader)
	if err := wire.Verify(sig, secret, body, r.now(), 5*time.Minute); err != nil {
		r.fail("callback to %s: signature %q: %v", req.URL.Path, sig, err)
	}
	var cb wire.Callback
	if err := stdjson.Unmarshal(body, &cb); err != nil {
		r.fail("callback to %s: %v", req.URL.Path, err)
		return
	}
	hook := "/webhooks/" + ptrEscape(cb.Event) + "/post"
	if r.spec.obj(hook) == nil {
		r.fail("callback to %s: event %q is not a webhook of the document", req.URL.Path, cb.Event)
		return
	}
	params, _ := r.spec.obj(hook)["parameters"].([]any)
	for i := range params {
		name, _ := get(params[i], "name").(string)
		pattern, _ := get(params[i], "schema", "pattern").(string)
		if get(params[i], "in") == "header" && !regexp.MustCompile(pattern).MatchString(req.Header.Get(name)) {
			r.fail("callback to %s: header %s = %q does not match the document", req.URL.Path, name, req.Header.Get(name))
		}
	}
	if err := r.spec.validate(hook+"/requestBody/content/application~1json/schema", body); err != nil {
		r.fail("callback %s to %s: %v", cb.Event, req.URL.Path, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch cb.Event {
	case wire.EventTransfersCommitted:
		for _, t := range cb.Transfers {
			r.committed[req.URL.Path] = append(r.committed[req.URL.Path], t.ID)
		}
		w.WriteHeader(http.StatusNoContent)
	case wire.EventTransferConfirm:
		if cb.Transfer == nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.confirms[req.URL.Path] = append(r.confirms[req.URL.Path], cb.Transfer.ID)
		d := wire.Decision{Decision: "accept"}
		if cb.Transfer.Note == "reject" {
			d = wire.Decision{Decision: "reject", Reason: "no thanks"}
		}
		b, _ := stdjson.Marshal(d)
		if err := r.spec.validate(hook+"/responses/200/content/application~1json/schema", b); err != nil {
			r.errs = append(r.errs, fmt.Sprintf("the Decision schema refuses %s: %v", b, err))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(wire.SignatureHeader, wire.Sign(secret, r.now(), b)) // the switch takes only signed answers
		w.Write(b)
	default:
		r.alerts[req.URL.Path] = append(r.alerts[req.URL.Path], cb.Event)
		w.WriteHeader(http.StatusOK)
	}
}

// startSwitch starts a switch on a temporary data directory with cfg's
// settings, the operator token these tests use, and callbacks allowed to
// loopback; it is closed when the test ends.
func startSwitch(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	return apptest.Start(t, func(c *app.Config) {
		cfg.DataDir, cfg.Addr = c.DataDir, c.Addr
		cfg.AdminToken = "test-op-0123456789abcdef-0123456789ab"
		cfg.Callback.AllowPrivate = true // the receiver listens on loopback
		*c = cfg
	})
}

// waitReady waits until the switch at base answers GET /readyz 200.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := http.Get(base + "/readyz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz: not ready after 10 s (%v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newClient(t *testing.T, s *spec, base string) *client {
	return &client{t: t, spec: s, base: base, http: &http.Client{Timeout: 30 * time.Second}, seen: map[string]map[int]bool{}}
}

// paymentOf reads a leaf of the audit log as docs/formats.md lays it
// out and returns the transfer id of its payment record, if it is a
// payment's first event: version 1, kind post (3) or reserve (4),
// purpose payment (1) at byte 6, the meta's length at byte 112 and the
// meta from byte 114 — version 1, then the id, uvarint-length-prefixed.
func paymentOf(leaf []byte) (string, bool) {
	if len(leaf) < 116 || leaf[0] != 1 || leaf[1] != 3 && leaf[1] != 4 || binary.BigEndian.Uint16(leaf[6:]) != 1 {
		return "", false
	}
	meta := leaf[114:]
	if int(binary.BigEndian.Uint16(leaf[112:])) != len(meta) || meta[0] != 1 && meta[0] != 2 {
		return "", false
	}
	n, k := binary.Uvarint(meta[1:])
	if k <= 0 || n > uint64(len(meta)-1-k) {
		return "", false
	}
	return string(meta[1+k : 1+k+int(n)]), true
}

// TestOpenAPIEndToEnd runs a switch, exercises every operation over
// HTTP, successes and refusals, and checks every answer and callback
// against the document.
func TestOpenAPIEndToEnd(t *testing.T) {
	s := loadSpec(t)
	clk := &clock{}
	recv := newReceiver(s, clk.now)
	defer recv.srv.Close()
	const reg = "test-regulator-0123456789abcdef-012345"
	a := startSwitch(t, app.Config{Now: clk.now, ConfirmTimeout: 3 * time.Second, RegulatorToken: reg})
	var closeOnce sync.Once
	closeApp := func() { closeOnce.Do(func() { a.Close(context.Background()) }) }
	defer closeApp()
	cl := newClient(t, s, a.URL())
	const op = "test-op-0123456789abcdef-0123456789ab"
	type M = map[string]any

	// Service. The directory's routes load in the background: ready
	// within moments on an empty switch.
	cl.expect(call{op: "GET /healthz"}, 200, "")
	waitReady(t, a.URL())
	cl.expect(call{op: "GET /readyz"}, 200, "")
	if got := cl.expect(call{op: "GET /openapi.json"}, 200, ""); !bytes.Equal(got.raw, s.raw) {
		t.Errorf("GET /openapi.json does not serve openapi.json")
	}

	// Participants.
	create := func(body M) answer {
		return cl.expect(call{tok: op, op: "POST /v1/participants", body: body}, 201, "")
	}
	pa := create(M{"id": "wallet-a", "name": "Wallet A", "kind": "wallet", "currencies": []string{"CNY", "JPY"}})
	pb := create(M{"id": "wallet-b", "name": "Wallet B", "kind": "wallet", "currencies": []string{"CNY"}, "callbackUrl": recv.srv.URL + "/b"})
	pc := create(M{"id": "bank-c", "name": "Bank C", "kind": "bank", "currencies": []string{"CNY"}, "callbackUrl": recv.srv.URL + "/c", "acceptance": "confirm"})
	keyA, keyB, keyC := str(pa.v, "apiKey"), str(pb.v, "apiKey"), str(pc.v, "apiKey")
	if keyA == "" || keyB == "" || keyC == "" {
		t.Fatal("no API keys")
	}
	recv.mu.Lock()
	recv.secrets["/b"], recv.secrets["/c"] = str(pb.v, "callbackSecret"), str(pc.v, "callbackSecret")
	recv.mu.Unlock()
	if loc := pa.header.Get("Location"); loc != "/v1/participants/wallet-a" {
		t.Errorf("Location = %q", loc)
	}
	cl.expect(call{tok: op, op: "POST /v1/participants", body: M{"id": "wallet-a", "name": "Again", "kind": "wallet", "currencies": []string{"CNY"}}}, 409, "duplicate-conflict")
	cl.expect(call{tok: op, op: "POST /v1/participants", body: M{"id": "X", "name": "Bad", "kind": "wallet", "currencies": []string{"CNY"}}}, 400, "invalid-request")
	cl.expect(call{tok: op, op: "POST /v1/participants", body: M{"id": "w-x", "name": "X", "kind": "wallet", "currencies": []string{"CNY"}, "colour": "red"}}, 400, "invalid-request")
	cl.expect(call{tok: op, op: "POST /v1/participants", body: `{"id":"w-x"}`, ctype: "text/plain"}, 415, "unsupported-media-type")
	cl.expect(call{tok: op, op: "POST /v1/participants", body: `{"name":"` + strings.Repeat("x", 70<<10) + `"}`}, 413, "payload-too-large")
	cl.expect(call{op: "GET /v1/participants"}, 401, "unauthorized")
	cl.expect(call{tok: "wallet-a.wrong", op: "GET /v1/participants"}, 401, "unauthorized")
	cl.expect(call{tok: keyA, op: "POST /v1/participants", body: M{}}, 403, "forbidden")
	if l := cl.expect(call{tok: op, op: "GET /v1/participants"}, 200, ""); length(l.v, "participants") != 3 {
		t.Errorf("GET /v1/participants: %s", l.raw)
	}
	cl.expect(call{tok: keyA, op: "GET /v1/participants/{id}", args: []string{"wallet-a"}}, 200, "")
	cl.expect(call{tok: op, op: "GET /v1/participants/{id}", args: []string{"bank-c"}}, 200, "")
	cl.expect(call{tok: keyB, op: "GET /v1/participants/{id}", args: []string{"wallet-a"}}, 404, "not-found")
	cl.expect(call{tok: op, op: "GET /v1/participants/{id}", args: []string{"nobody"}}, 404, "not-found")
	cl.expect(call{tok: keyA, op: "PATCH /v1/participants/{id}", args: []string{"wallet-a"}, body: M{"acceptance": "confirm"}}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "PATCH /v1/participants/{id}", args: []string{"wallet-a"}, body: M{"colour": "red"}}, 400, "invalid-request")
	cl.expect(call{tok: keyB, op: "PATCH /v1/participants/{id}", args: []string{"wallet-a"}, body: M{}}, 404, "not-found")
	cl.expect(call{tok: keyB, op: "PATCH /v1/participants/{id}", args: []string{"wallet-b"}, body: M{"callbackUrl": recv.srv.URL + "/b"}}, 200, "")
	cl.expect(call{tok: op, op: "PATCH /v1/participants/{id}", args: []string{"wallet-a"}, body: M{"acceptance": "notify"}}, 200, "")

	// Funds, limits, accounts.
	funds := func(tok, id string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/participants/{id}/funds", args: []string{id}, body: body}, status, problem)
	}
	dep := M{"id": "dep-a-1", "currency": "CNY", "amount": "100000.00", "direction": "deposit"}
	funds(op, "wallet-a", dep, 201, "")
	funds(op, "wallet-a", dep, 200, "")
	funds(op, "wallet-a", M{"id": "dep-a-1", "currency": "CNY", "amount": "1.00", "direction": "deposit"}, 409, "duplicate-conflict")
	funds(op, "wallet-a", M{"currency": "JPY", "amount": "50000", "direction": "deposit", "participant": "wallet-a"}, 201, "")
	funds(op, "wallet-a", M{"currency": "EUR", "amount": "1.00", "direction": "deposit"}, 422, "currency-not-enabled")
	funds(op, "wallet-b", M{"currency": "CNY", "amount": "1.00", "direction": "withdrawal"}, 422, "insufficient-funds")
	funds(op, "wallet-a", M{"currency": "CNY", "amount": "1.001", "direction": "deposit"}, 400, "invalid-request")
	funds(op, "wallet-a", M{"participant": "wallet-b", "currency": "CNY", "amount": "1.00", "direction": "deposit"}, 400, "invalid-request")
	funds(op, "nobody", M{"currency": "CNY", "amount": "1.00", "direction": "deposit"}, 404, "not-found")
	funds(keyA, "wallet-a", M{"currency": "CNY", "amount": "1.00", "direction": "deposit"}, 403, "forbidden")
	limit := func(id, cur string, body any, status int, problem string) answer {
		return cl.expect(call{tok: op, op: "PUT /v1/participants/{id}/limits/{currency}", args: []string{id, cur}, body: body}, status, problem)
	}
	limit("wallet-a", "CNY", M{"netDebitCap": "500.00"}, 200, "")
	limit("wallet-b", "CNY", M{"currency": "CNY", "netDebitCap": "100"}, 200, "")
	limit("wallet-a", "CNY", M{"currency": "USD", "netDebitCap": "1.00"}, 400, "invalid-request")
	limit("wallet-a", "XYZ", M{"netDebitCap": "1.00"}, 400, "invalid-request")
	limit("wallet-b", "JPY", M{"netDebitCap": "100"}, 422, "currency-not-enabled")
	limit("nobody", "CNY", M{"netDebitCap": "1.00"}, 404, "not-found")
	if acc := cl.expect(call{tok: keyA, op: "GET /v1/participants/{id}/accounts", args: []string{"wallet-a"}}, 200, ""); length(acc.v, "accounts") != 2 {
		t.Errorf("accounts of wallet-a: %s", acc.raw)
	}
	cl.expect(call{tok: op, op: "GET /v1/participants/{id}/accounts", args: []string{"wallet-b"}}, 200, "")
	cl.expect(call{tok: keyB, op: "GET /v1/participants/{id}/accounts", args: []string{"wallet-a"}}, 404, "not-found")

	// Fees.
	fees := func(tok, cur string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "PUT /v1/fees/{currency}", args: []string{cur}, body: body}, status, problem)
	}
	fees(op, "CNY", M{"fixed": "0.10", "rate": "0.10", "min": "0.10", "max": "5.00"}, 200, "")
	fees(op, "JPY", M{"currency": "JPY", "fixed": "0", "rate": "0", "min": "0", "max": "0"}, 200, "")
	fees(op, "CNY", M{"fixed": "0", "rate": "0", "min": "2.00", "max": "1.00"}, 400, "invalid-request")
	fees(op, "CNY", M{"fixed": "0", "rate": "0.001", "min": "0", "max": "0"}, 400, "invalid-request")
	fees(op, "XYZ", M{"fixed": "0", "rate": "0", "min": "0", "max": "0"}, 400, "invalid-request")
	fees(keyA, "CNY", M{"fixed": "0", "rate": "0", "min": "0", "max": "0"}, 403, "forbidden")
	if f := cl.expect(call{tok: keyA, op: "GET /v1/fees"}, 200, ""); length(f.v, "fees") != 2 {
		t.Errorf("GET /v1/fees: %s", f.raw)
	}

	// Parties.
	party := func(tok string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/parties", body: body}, status, problem)
	}
	zhang := M{"type": "MSISDN", "value": "+86 138 0013 8000", "name": "Zhang San", "account": "u-123", "currency": "CNY"}
	if p := party(keyB, zhang, 201, ""); str(p.v, "value") != "+8613800138000" || str(p.v, "displayName") != "Z**** S**" {
		t.Errorf("registered %s", p.raw)
	}
	party(keyB, zhang, 200, "")
	party(keyA, zhang, 409, "duplicate-conflict")
	party(keyB, M{"type": "PHONE", "value": "1", "name": "X", "account": "x", "currency": "CNY"}, 400, "invalid-request")
	party(keyB, M{"type": "EMAIL", "value": "x@example.com", "name": "X", "account": "x", "currency": "JPY"}, 400, "invalid-request")
	random := str(party(keyB, M{"type": "RANDOM", "name": "Li Si", "account": "u-456", "currency": "CNY"}, 201, "").v, "value")
	party(keyC, M{"type": "EMAIL", "value": "Zhang.San@Example.com", "name": "张三", "account": "c-1", "currency": "CNY"}, 201, "")
	party(keyA, M{"type": "WALLET", "value": "alice", "name": "Alice", "account": "a-1", "currency": "CNY"}, 201, "")
	party(op, zhang, 403, "forbidden")
	batch := cl.expect(call{tok: keyB, op: "POST /v1/parties:batch", body: M{"parties": []M{
		{"type": "NATIONAL_ID", "value": "11010519491231002x", "name": "Wang Wu", "account": "u-789", "currency": "CNY"},
		{"type": "EMAIL", "value": "not-an-email", "name": "Wang Wu", "account": "u-789", "currency": "CNY"},
		{"type": "WALLET", "value": "alice", "name": "Not Alice", "account": "u-000", "currency": "CNY"},
	}}}, 200, "")
	for i, want := range []float64{201, 400, 409} {
		if got, _ := get(batch.v, "results", i, "status").(float64); got != want {
			t.Errorf("parties:batch result %d: status %v, want %v", i, got, want)
		}
	}
	cl.expect(call{tok: keyB, op: "POST /v1/parties:batch", body: M{"parties": []M{}}}, 400, "invalid-request")
	cl.expect(call{tok: op, op: "POST /v1/parties:batch", body: M{"parties": []M{}}}, 403, "forbidden")
	var listed []string
	q := url.Values{"limit": {"1"}}
	for range 10 {
		page := cl.expect(call{tok: keyB, op: "GET /v1/parties", query: q}, 200, "")
		for i := range length(page.v, "parties") {
			listed = append(listed, str(page.v, "parties", i, "value"))
		}
		next := str(page.v, "next")
		if next == "" {
			break
		}
		q = url.Values{"limit": {"1"}, "after": {next}}
	}
	if len(listed) != 3 {
		t.Errorf("wallet-b's parties, a page at a time: %v, want 3", listed)
	}
	cl.expect(call{tok: keyB, op: "GET /v1/parties", query: url.Values{"limit": {"0"}}}, 400, "invalid-request")
	cl.expect(call{tok: keyB, op: "GET /v1/parties", query: url.Values{"after": {"!!"}}}, 400, "invalid-request")
	cl.expect(call{tok: op, op: "GET /v1/parties"}, 403, "forbidden")
	lookup := func(tok, typ, value string, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "GET /v1/parties/{type}/{value}", args: []string{typ, value}}, status, problem)
	}
	if l := lookup(keyA, "MSISDN", "+8613800138000", 200, ""); str(l.v, "participant") != "wallet-b" || get(l.v, "name") != nil {
		t.Errorf("lookup: %s", l.raw)
	}
	lookup(keyA, "MSISDN", "138 0013 8000", 200, "")
	lookup(op, "EMAIL", "zhang.san@example.com", 200, "")
	lookup(keyA, "MSISDN", "+8613900139000", 404, "unknown-party")
	lookup(keyA, "PHONE", "1", 400, "invalid-request")
	// The counts of lookups and the operator's alerts (a scan that
	// raises one is tested in internal/app).
	if st := cl.expect(call{tok: op, op: "GET /v1/directory/lookup-stats"}, 200, ""); str(st.v, "participants", 0, "participant") != "wallet-a" ||
		get(st.v, "participants", 0, "found") != 2.0 || get(st.v, "participants", 0, "notFound") != 1.0 {
		t.Errorf("lookup stats: %s", st.raw)
	}
	cl.expect(call{tok: reg, op: "GET /v1/directory/lookup-stats"}, 200, "")
	cl.expect(call{tok: keyA, op: "GET /v1/directory/lookup-stats"}, 403, "forbidden")
	cl.expect(call{tok: op, op: "GET /v1/operator-alerts"}, 200, "")
	cl.expect(call{tok: reg, op: "GET /v1/operator-alerts", query: url.Values{"limit": {"1"}}}, 200, "")
	cl.expect(call{tok: op, op: "GET /v1/operator-alerts", query: url.Values{"before": {"x"}}}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "GET /v1/operator-alerts"}, 403, "forbidden")
	del := func(tok, typ, value string, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "DELETE /v1/parties/{type}/{value}", args: []string{typ, value}}, status, problem)
	}
	del(keyB, "RANDOM", random, 204, "")
	del(keyB, "RANDOM", random, 404, "unknown-party")
	del(keyA, "MSISDN", "+8613800138000", 403, "forbidden")
	del(op, "MSISDN", "+8613800138000", 400, "invalid-request") // the operator must give a reason
	del(keyB, "EMAIL", "not-an-email", 400, "invalid-request")
	// The operator removes any alias, with a reason; the regulator only reads.
	remove := func(tok, typ, value string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "DELETE /v1/parties/{type}/{value}", args: []string{typ, value}, body: body}, status, problem)
	}
	party(keyC, M{"type": "WALLET", "value": "to-remove", "name": "Zhao Liu", "account": "c-9", "currency": "CNY"}, 201, "")
	remove(reg, "WALLET", "to-remove", M{"reason": "curious"}, 403, "forbidden")
	remove(op, "WALLET", "to-remove", M{"reason": ""}, 400, "invalid-request")
	remove(op, "WALLET", "to-remove", M{"reason": "fraud report 42"}, 204, "")
	remove(op, "WALLET", "to-remove", M{"reason": "fraud report 42"}, 404, "unknown-party")

	// Portability: wallet-a claims bank-c's alias; bank-c cancels, then
	// confirms a second claim.
	party(keyC, M{"type": "WALLET", "value": "carol", "name": "Carol", "account": "c-2", "currency": "CNY"}, 201, "")
	claim := func(tok, typ, value string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/parties/{type}/{value}/claims", args: []string{typ, value}, body: body}, status, problem)
	}
	answerClaim := func(tok, verb, id string, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/claims/{id}/" + verb, args: []string{id}}, status, problem)
	}
	carol := M{"account": "a-9", "name": "Carol"}
	c1 := claim(keyA, "WALLET", "carol", carol, 202, "")
	if str(c1.v, "status") != "pending" || str(c1.v, "owner") != "bank-c" || str(c1.v, "claimant") != "wallet-a" {
		t.Errorf("claim: %s", c1.raw)
	}
	claim(keyA, "WALLET", "carol", carol, 409, "duplicate-conflict")
	claim(keyC, "WALLET", "carol", carol, 409, "duplicate-conflict")
	claim(keyA, "WALLET", "nobody", carol, 404, "unknown-party")
	claim(keyA, "WALLET", "carol", M{"account": "a-9"}, 400, "invalid-request")
	claim(op, "WALLET", "carol", carol, 403, "forbidden")
	for _, tok := range []string{keyA, keyC, op, reg} {
		cl.expect(call{tok: tok, op: "GET /v1/claims/{id}", args: []string{str(c1.v, "id")}}, 200, "")
	}
	cl.expect(call{tok: keyB, op: "GET /v1/claims/{id}", args: []string{str(c1.v, "id")}}, 404, "not-found")
	answerClaim(keyA, "confirm", str(c1.v, "id"), 403, "forbidden")
	answerClaim(keyB, "confirm", str(c1.v, "id"), 404, "not-found")
	answerClaim(keyC, "cancel", str(c1.v, "id"), 200, "")
	answerClaim(keyC, "cancel", str(c1.v, "id"), 409, "duplicate-conflict")
	c2 := claim(keyA, "WALLET", "carol", carol, 202, "")
	if a := answerClaim(keyC, "confirm", str(c2.v, "id"), 200, ""); str(a.v, "status") != "confirmed" || get(a.v, "moved") != true {
		t.Errorf("confirmed claim: %s", a.raw)
	}
	answerClaim(keyC, "confirm", str(c2.v, "id"), 409, "duplicate-conflict")
	if l := cl.expect(call{tok: keyA, op: "GET /v1/parties/{type}/{value}", args: []string{"WALLET", "carol"}}, 200, ""); str(l.v, "participant") != "wallet-a" {
		t.Errorf("carol after the claim: %s", l.raw)
	}

	// Quotes.
	msisdn := M{"type": "MSISDN", "value": "+8613800138000"}
	email := M{"type": "EMAIL", "value": "zhang.san@example.com"}
	quote := func(tok string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/quotes", body: body}, status, problem)
	}
	q1 := quote(keyA, M{"payee": msisdn, "amount": "100.00", "currency": "CNY"}, 201, "")
	if str(q1.v, "fee") != "0.20" || str(q1.v, "payee", "participant") != "wallet-b" {
		t.Errorf("quote: %s", q1.raw)
	}
	quote(keyA, M{"payee": M{"type": "MSISDN", "value": "+8613900139000"}, "amount": "1.00", "currency": "CNY"}, 422, "unknown-party")
	quote(keyA, M{"payee": msisdn, "amount": "1.001", "currency": "CNY"}, 400, "invalid-request")
	quote(keyA, M{"payee": msisdn, "amount": "100", "currency": "JPY"}, 422, "fx-unavailable") // the payee takes CNY: no JPY → CNY sheet
	quote(keyA, M{"payee": M{"type": "WALLET", "value": "alice"}, "amount": "1.00", "currency": "CNY"}, 422, "same-participant")
	quote(op, M{"payee": msisdn, "amount": "1.00", "currency": "CNY"}, 403, "forbidden")

	// Suspension.
	setStatus := func(verb, tok, id string, code int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/participants/{id}/" + verb, args: []string{id}}, code, problem)
	}
	if p := setStatus("suspend", op, "wallet-b", 200, ""); str(p.v, "status") != "suspended" {
		t.Errorf("suspend: %s", p.raw)
	}
	quote(keyA, M{"payee": msisdn, "amount": "1.00", "currency": "CNY"}, 422, "participant-suspended")
	cl.expect(call{tok: keyA, op: "POST /v1/transfers", body: M{"id": "a-susp", "payee": msisdn, "amount": "1.00", "currency": "CNY"}}, 422, "participant-suspended")
	setStatus("suspend", keyA, "wallet-b", 403, "forbidden")
	setStatus("suspend", op, "nobody", 404, "not-found")
	setStatus("resume", keyB, "wallet-b", 403, "forbidden")
	setStatus("resume", op, "nobody", 404, "not-found")
	if p := setStatus("resume", op, "wallet-b", 200, ""); str(p.v, "status") != "active" {
		t.Errorf("resume: %s", p.raw)
	}

	// Credentials and closing.
	z := cl.expect(call{tok: op, op: "POST /v1/participants", body: M{"id": "wallet-z", "name": "Wallet Z", "kind": "wallet", "currencies": []string{"CNY"}}}, 201, "")
	keyZ := str(z.v, "apiKey")
	rotated := cl.expect(call{tok: keyZ, op: "POST /v1/participants/{id}/keys", args: []string{"wallet-z"}, body: M{"graceSeconds": 0}}, 201, "")
	cl.expect(call{tok: keyZ, op: "GET /v1/participants/{id}", args: []string{"wallet-z"}}, 401, "unauthorized")
	keyZ = str(rotated.v, "apiKey")
	cl.expect(call{tok: keyZ, op: "POST /v1/participants/{id}/keys", args: []string{"wallet-z"}, body: M{"graceSeconds": -1}}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "POST /v1/participants/{id}/keys", args: []string{"wallet-z"}, body: M{}}, 404, "not-found")
	cl.expect(call{tok: keyZ, op: "POST /v1/participants/{id}/callback-secrets", args: []string{"wallet-z"}, body: M{"graceSeconds": 60}}, 201, "")
	setStatus("suspend", op, "wallet-z", 200, "")
	cl.expect(call{tok: keyZ, op: "POST /v1/participants/{id}/callback-secrets", args: []string{"wallet-z"}, body: M{}}, 403, "participant-suspended")
	cl.expect(call{tok: keyZ, op: "POST /v1/participants/{id}/close", args: []string{"wallet-z"}}, 403, "forbidden")
	if p := cl.expect(call{tok: op, op: "POST /v1/participants/{id}/close", args: []string{"wallet-z"}}, 200, ""); str(p.v, "status") != "closed" {
		t.Errorf("close: %s", p.raw)
	}
	cl.expect(call{tok: op, op: "POST /v1/participants/{id}/keys", args: []string{"wallet-z"}, body: M{}}, 409, "participant-closed")

	// Transfers.
	pay := func(tok string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/transfers", body: body}, status, problem)
	}
	t1 := M{"id": "a-0001", "payee": msisdn, "amount": "100.00", "currency": "CNY", "quoteId": str(q1.v, "id"), "note": "dinner"}
	if tr := pay(keyA, t1, 201, ""); str(tr.v, "state") != "COMMITTED" || str(tr.v, "fee") != "0.20" || tr.header.Get("Location") != "/v1/transfers/a-0001" {
		t.Errorf("transfer: %s", tr.raw)
	}
	pay(keyA, t1, 200, "")
	pay(keyA, M{"id": "a-0001", "payee": msisdn, "amount": "99.00", "currency": "CNY"}, 409, "duplicate-conflict")
	pay(keyA, M{"id": "a-0002", "payee": msisdn, "amount": "99.00", "currency": "CNY", "quoteId": str(q1.v, "id")}, 422, "quote-mismatch")
	if tr := pay(keyA, M{"id": "a-0003", "payee": email, "amount": "50.00", "currency": "CNY"}, 201, ""); str(tr.v, "state") != "COMMITTED" {
		t.Errorf("transfer to a confirm-mode payee that accepts: %s", tr.raw)
	}
	if tr := pay(keyA, M{"id": "a-0004", "payee": email, "amount": "10.00", "currency": "CNY", "note": "reject"}, 201, ""); str(tr.v, "state") != "ABORTED" || str(tr.v, "reason") != "rejected: no thanks" {
		t.Errorf("transfer to a confirm-mode payee that rejects: %s", tr.raw)
	}
	pay(keyA, M{"id": "a-0005", "payee": msisdn, "amount": "1000000.00", "currency": "CNY"}, 422, "insufficient-funds")
	pay(keyA, M{"id": "bad id", "payee": msisdn, "amount": "1.00", "currency": "CNY"}, 400, "invalid-request")
	pay(keyA, M{"id": "a-0007", "payee": M{"type": "WALLET", "value": "alice"}, "amount": "1.00", "currency": "CNY"}, 422, "same-participant")
	pay(op, M{"id": "op-1", "payee": msisdn, "amount": "1.00", "currency": "CNY"}, 403, "forbidden")
	q2 := quote(keyA, M{"payee": msisdn, "amount": "1.00", "currency": "CNY"}, 201, "")
	clk.advance(2 * time.Minute)
	pay(keyA, M{"id": "a-0006", "payee": msisdn, "amount": "1.00", "currency": "CNY", "quoteId": str(q2.v, "id")}, 422, "quote-expired")
	// wallet-b pays wallet-a more than it has: it uses its net debit
	// cap, below which the cap cannot then be lowered.
	pay(keyB, M{"id": "b-0001", "payee": M{"type": "WALLET", "value": "alice"}, "amount": "120.00", "currency": "CNY"}, 201, "")
	limit("wallet-b", "CNY", M{"netDebitCap": "10.00"}, 422, "limit-below-position")
	tb := cl.expect(call{tok: keyA, op: "POST /v1/transfers:batch", body: M{"transfers": []M{
		{"id": "a-0010", "payee": msisdn, "amount": "1.00", "currency": "CNY"},
		{"id": "a-0003", "payee": email, "amount": "50.00", "currency": "CNY"},
		{"id": "a-0011", "payee": msisdn, "amount": "abc", "currency": "CNY"},
		{"id": "a-0012", "payee": M{"type": "MSISDN", "value": "+8613900139000"}, "amount": "1.00", "currency": "CNY"},
	}}}, 200, "")
	for i, want := range []float64{201, 200, 400, 422} {
		if got, _ := get(tb.v, "results", i, "status").(float64); got != want {
			t.Errorf("transfers:batch result %d: status %v, want %v", i, got, want)
		}
	}
	cl.expect(call{tok: keyA, op: "POST /v1/transfers:batch", body: M{"transfers": []M{}}}, 400, "invalid-request")
	cl.expect(call{tok: op, op: "POST /v1/transfers:batch", body: M{"transfers": []M{}}}, 403, "forbidden")

	list := func(tok string, q url.Values, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "GET /v1/transfers", query: q}, status, problem)
	}
	var ids []string
	q = url.Values{"limit": {"2"}}
	for range 10 {
		page := list(keyA, q, 200, "")
		for i := range length(page.v, "transfers") {
			ids = append(ids, str(page.v, "transfers", i, "id"))
		}
		next := str(page.v, "next")
		if next == "" {
			break
		}
		q = url.Values{"limit": {"2"}, "since": {next}}
	}
	if want := []string{"a-0001", "a-0003", "a-0004", "b-0001", "a-0010"}; !slices.Equal(ids, want) {
		t.Errorf("wallet-a's transfers, a page at a time: %v, want %v", ids, want)
	}
	list(keyB, url.Values{"since": {"2000-01-01T00:00:00Z"}}, 200, "")
	list(op, url.Values{"participant": {"wallet-b"}}, 200, "")
	list(keyA, url.Values{"since": {"yesterday"}}, 400, "invalid-request")
	list(keyA, url.Values{"limit": {"5000"}}, 400, "invalid-request")
	list(op, nil, 400, "invalid-request")
	list(op, url.Values{"participant": {"nobody"}}, 404, "not-found")
	getT := func(tok, id string, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "GET /v1/transfers/{id}", args: []string{id}}, status, problem)
	}
	if tr := getT(keyA, "a-0001", 200, ""); get(tr.v, "payee", "account") != nil {
		t.Errorf("the payer sees the payee's account: %s", tr.raw)
	}
	if tr := getT(keyB, "a-0001", 200, ""); str(tr.v, "payee", "account") != "u-123" {
		t.Errorf("the payee does not see its account: %s", tr.raw)
	}
	getT(op, "a-0004", 200, "")
	getT(keyC, "a-0001", 404, "not-found")
	getT(keyA, "nothing", 404, "not-found")

	// Liquidity alerts: wallet-b, which used its net debit cap, asks to
	// be warned below 1000.00, which it is at once; then turns it off.
	liq := func(tok, id, cur string, body any, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "PUT /v1/participants/{id}/liquidity/{currency}", args: []string{id, cur}, body: body}, status, problem)
	}
	getLiq := func(tok, id, cur string, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "GET /v1/participants/{id}/liquidity/{currency}", args: []string{id, cur}}, status, problem)
	}
	alerts := func(tok string, q url.Values, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "GET /v1/liquidity-alerts", query: q}, status, problem)
	}
	liq(keyB, "wallet-b", "CNY", M{"threshold": "1000.00"}, 200, "")
	liq(op, "wallet-a", "CNY", M{"currency": "CNY", "threshold": "0"}, 200, "")
	liq(keyB, "wallet-b", "JPY", M{"threshold": "1"}, 422, "currency-not-enabled")
	liq(keyB, "wallet-b", "CNY", M{"threshold": "-1.00"}, 400, "invalid-request")
	liq(keyB, "wallet-b", "CNY", M{"currency": "USD", "threshold": "1.00"}, 400, "invalid-request")
	liq(keyA, "wallet-b", "CNY", M{"threshold": "1.00"}, 404, "not-found")
	getLiq(keyA, "wallet-a", "CNY", 200, "")
	getLiq(keyA, "wallet-a", "JPY", 404, "not-found")
	getLiq(keyA, "wallet-a", "XYZ", 400, "invalid-request")
	getLiq(keyA, "wallet-b", "CNY", 404, "not-found")
	// The monitor checks asynchronously.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s", what)
			}
		}
	}
	eventually("wallet-b's low alert", func() bool {
		return length(alerts(keyB, nil, 200, "").v, "alerts") == 1 && get(getLiq(op, "wallet-b", "CNY", 200, "").v, "below") == true
	})
	liq(keyB, "wallet-b", "CNY", M{"threshold": "0"}, 200, "")
	eventually("wallet-b's restored alert", func() bool {
		return length(alerts(keyB, nil, 200, "").v, "alerts") == 2 && get(getLiq(keyB, "wallet-b", "CNY", 200, "").v, "below") == false
	})
	if page := alerts(op, url.Values{"limit": {"1"}}, 200, ""); str(page.v, "next") == "" {
		t.Errorf("a page of one alert of two has no next: %s", page.raw)
	} else {
		alerts(op, url.Values{"limit": {"1"}, "after": {str(page.v, "next")}}, 200, "")
	}
	alerts(keyA, url.Values{"after": {"-1"}}, 400, "invalid-request")
	alerts(keyA, url.Values{"limit": {"0"}}, 400, "invalid-request")

	// The hub's accounts.
	if h := cl.expect(call{tok: op, op: "GET /v1/hub/accounts"}, 200, ""); length(h.v, "accounts") != 2 {
		t.Errorf("hub accounts: %s", h.raw)
	}
	cl.expect(call{tok: keyA, op: "GET /v1/hub/accounts"}, 403, "forbidden")

	// Settlement: close the CNY window, read its report, confirm the
	// instructions.
	windows := func(tok string, q url.Values, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "GET /v1/settlement-windows", query: q}, status, problem)
	}
	window := func(tok, id string, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "GET /v1/settlement-windows/{id}", args: []string{id}}, status, problem)
	}
	closeW := func(tok, id string, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "POST /v1/settlement-windows/{id}/close", args: []string{id}}, status, problem)
	}
	report := func(tok, id, accept string, status int, problem string) answer {
		return cl.expect(call{tok: tok, op: "GET /v1/settlement-windows/{id}/report", args: []string{id}, accept: accept}, status, problem)
	}
	confirm := func(id string, body any, status int, problem string) answer {
		return cl.expect(call{tok: op, op: "POST /v1/settlement-windows/{id}/confirmations", args: []string{id}, body: body}, status, problem)
	}
	windows(keyA, url.Values{"currency": {"CNY"}}, 200, "")
	if w := window(keyA, "CNY-1", 200, ""); str(w.v, "state") != "OPEN" {
		t.Errorf("window CNY-1: %s", w.raw)
	}
	window(keyA, "CNY-99", 404, "not-found")
	report(op, "CNY-1", "", 409, "window-open")
	confirm("CNY-1", M{"participant": "wallet-a"}, 409, "window-open")
	closeW(keyA, "CNY-1", 403, "forbidden")
	closeW(op, "XYZ-1", 404, "not-found")
	if w := closeW(op, "CNY-1", 200, ""); str(w.v, "state") != "CLOSED" || str(w.v, "next") != "CNY-2" {
		t.Errorf("closed CNY-1: %s", w.raw)
	}
	closeW(op, "CNY-1", 200, "")
	full := report(op, "CNY-1", "", 200, "")
	if csv := report(op, "CNY-1", "text/csv", 200, ""); !strings.HasPrefix(string(csv.raw), "window,currency,participant,") {
		t.Errorf("CSV report: %q", csv.raw)
	}
	if own := report(keyA, "CNY-1", "application/json", 200, ""); length(own.v, "positions") != 1 || str(own.v, "hubFees") != "" {
		t.Errorf("wallet-a's report: %s", own.raw)
	}
	owed := map[string]string{}
	for i := range length(full.v, "instructions") {
		owed[str(full.v, "instructions", i, "participant")] = str(full.v, "instructions", i, "amount")
	}
	if len(owed) != 4 || owed["bank-c"] != "50.00" {
		t.Fatalf("instructions of CNY-1: %s", full.raw)
	}
	// bank-c spends, in the next window, what it is to be paid out.
	pay(keyC, M{"id": "c-0001", "payee": msisdn, "amount": "40.00", "currency": "CNY"}, 201, "")
	confirm("CNY-1", M{"participant": "bank-c"}, 422, "insufficient-funds")
	confirm("CNY-1", M{"participant": "wallet-a", "amount": "0.01"}, 422, "settlement-amount-mismatch")
	confirm("CNY-1", M{"participant": "wallet-a", "amount": "abc"}, 400, "invalid-request")
	confirm("CNY-1", M{"participant": "nobody"}, 404, "not-found")
	confirm("CNY-9", M{"participant": "wallet-a"}, 404, "not-found")
	confirm("CNY-1", M{"participant": "wallet-a", "amount": owed["wallet-a"]}, 201, "")
	confirm("CNY-1", M{"participant": "wallet-a"}, 200, "")
	cl.expect(call{tok: keyA, op: "POST /v1/settlement-windows/{id}/confirmations", args: []string{"CNY-1"}, body: M{"participant": "wallet-a"}}, 403, "forbidden")
	if l := windows(op, url.Values{"state": {"SETTLING"}}, 200, ""); str(l.v, "windows", 0, "id") != "CNY-1" {
		t.Errorf("settling windows: %s", l.raw)
	}
	windows(keyA, url.Values{"state": {"DONE"}}, 400, "invalid-request")
	windows(keyA, url.Values{"currency": {"XYZ"}}, 400, "invalid-request")

	riskControl(t, cl, op, reg, keyA, keyB, keyC)
	consoleUsers(t, cl, op, reg, keyA)

	// The audit log, checked as a wallet, a regulator or a witness
	// would: with note and tlog, the documented formats, and nothing
	// else of the switch's.
	vk := cl.expect(call{op: "GET /v1/audit/verifier"}, 200, "")
	verifier, err := note.NewVerifier(strings.TrimSuffix(string(vk.raw), "\n"))
	if err != nil {
		t.Fatalf("verifier key %q: %v", vk.raw, err)
	}
	cl.expect(call{tok: reg, op: "GET /v1/audit/verifier"}, 200, "")
	// The key of the payee account MACs in leaves: any participant, the
	// operator and the regulator may have it.
	for _, tok := range []string{keyB, op, reg} {
		if k := cl.expect(call{tok: tok, op: "GET /v1/audit/account-mac-key"}, 200, ""); str(k.v, "algorithm") != "HMAC-SHA256" {
			t.Errorf("GET /v1/audit/account-mac-key: %s", k.raw)
		}
	}
	// openCheckpoint verifies a checkpoint note with the switch's key
	// (and the given witnesses') and reads its size and root.
	type checkpoint struct {
		note *note.Note
		size int64
		root tlog.Hash
	}
	openCheckpoint := func(msg []byte, witnesses ...note.Verifier) checkpoint {
		t.Helper()
		n, err := note.Open(msg, note.VerifierList(append([]note.Verifier{verifier}, witnesses...)...))
		if err != nil {
			t.Fatalf("checkpoint %q: %v", msg, err)
		}
		lines := strings.Split(n.Text, "\n")
		if len(lines) != 4 || lines[0] != verifier.Name() || lines[3] != "" {
			t.Fatalf("checkpoint text %q: want <origin %s>, size, root", n.Text, verifier.Name())
		}
		size, err := strconv.ParseInt(lines[1], 10, 64)
		root, err2 := base64.StdEncoding.DecodeString(lines[2])
		if err != nil || err2 != nil || len(root) != tlog.HashSize {
			t.Fatalf("checkpoint text %q: size or root", n.Text)
		}
		c := checkpoint{note: n, size: size}
		copy(c.root[:], root)
		return c
	}
	getCheckpoint := func(tok string) checkpoint {
		t.Helper()
		return openCheckpoint(cl.expect(call{tok: tok, op: "GET /v1/audit/checkpoint"}, 200, "").raw)
	}
	hashes := func(ss []string) []tlog.Hash {
		t.Helper()
		out := make([]tlog.Hash, len(ss))
		for i, s := range ss {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil || copy(out[i][:], b) != tlog.HashSize {
				t.Fatalf("hash %q", s)
			}
		}
		return out
	}
	before := getCheckpoint(keyA)
	for _, tok := range []string{op, reg, keyC} {
		getCheckpoint(tok)
	}

	// Inclusion proofs, for the payer, the payee participant, the
	// operator and the regulator.
	proof := func(tok, id string, status int, problem string) (wire.AuditProof, []byte, checkpoint) {
		t.Helper()
		a := cl.expect(call{tok: tok, op: "GET /v1/audit/transfers/{id}/proof", args: []string{id}}, status, problem)
		var p wire.AuditProof
		if status != 200 || a.status != 200 {
			return p, nil, checkpoint{}
		}
		if err := stdjson.Unmarshal(a.raw, &p); err != nil {
			t.Fatal(err)
		}
		cp := openCheckpoint([]byte(p.Checkpoint))
		leaf, err := base64.StdEncoding.DecodeString(p.Leaf)
		if err != nil || cp.size != p.TreeSize || p.Index >= p.TreeSize {
			t.Fatalf("proof of %s: leaf %v, index %d, tree %d, checkpoint of %d", id, err, p.Index, p.TreeSize, cp.size)
		}
		if err := tlog.CheckRecord(hashes(p.Proof), p.TreeSize, cp.root, p.Index, tlog.RecordHash(leaf)); err != nil {
			t.Errorf("proof of %s does not verify: %v", id, err)
		}
		if got, ok := paymentOf(leaf); !ok || got != id {
			t.Errorf("proof of %s: the leaf is not its payment: %x", id, leaf)
		}
		return p, leaf, cp
	}
	p1, leaf1, _ := proof(keyA, "a-0001", 200, "")
	proof(keyB, "a-0001", 200, "")
	proof(op, "a-0003", 200, "")
	proof(reg, "b-0001", 200, "")
	if _, leaf, _ := proof(keyC, "a-0004", 200, ""); len(leaf) > 1 && leaf[1] != 4 {
		t.Errorf("a-0004 went to a payee that confirms: its payment is a reservation, not kind %d", leaf[1])
	}
	proof(keyC, "a-0001", 404, "not-found")
	proof(keyA, "nothing", 404, "not-found")

	// A new payment: the proof's checkpoint, newer than the one read
	// before, extends it.
	pay(keyA, M{"id": "a-0020", "payee": msisdn, "amount": "2.00", "currency": "CNY"}, 201, "")
	_, _, after := proof(keyA, "a-0020", 200, "")
	if after.size <= before.size {
		t.Fatalf("checkpoint of size %d after one of %d", after.size, before.size)
	}
	consistency := func(tok string, q url.Values, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "GET /v1/audit/consistency", query: q}, status, problem)
	}
	sizes := func(from, to int64) url.Values {
		return url.Values{"from": {strconv.FormatInt(from, 10)}, "to": {strconv.FormatInt(to, 10)}}
	}
	var cons wire.AuditConsistency
	if err := stdjson.Unmarshal(consistency(keyB, sizes(before.size, after.size), 200, "").raw, &cons); err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(hashes(cons.Proof), after.size, after.root, before.size, before.root); err != nil || cons.From != before.size || cons.To != after.size {
		t.Errorf("consistency %d..%d (%d..%d): %v", before.size, after.size, cons.From, cons.To, err)
	}
	if same := consistency(reg, sizes(after.size, after.size), 200, ""); length(same.v, "proof") != 0 {
		t.Errorf("consistency of a tree with itself: %s", same.raw)
	}
	consistency(op, sizes(1, after.size), 200, "")
	consistency(keyA, sizes(0, 1), 400, "invalid-request")
	consistency(keyA, sizes(5, 2), 400, "invalid-request")
	consistency(keyA, url.Values{"from": {"1"}}, 400, "invalid-request")
	consistency(keyA, url.Values{"from": {"1"}, "to": {"many"}}, 400, "invalid-request")
	consistency(keyA, sizes(1, after.size+1_000_000), 404, "not-found")

	// The leaves: the operator reads them all and recomputes the root
	// of the checkpoint; the regulator reads one.
	leaves := func(tok string, q url.Values, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "GET /v1/audit/leaves", query: q}, status, problem)
	}
	span := func(start, end int64) url.Values {
		return url.Values{"start": {strconv.FormatInt(start, 10)}, "end": {strconv.FormatInt(end, 10)}}
	}
	var all wire.AuditLeaves
	if err := stdjson.Unmarshal(leaves(op, span(0, after.size), 200, "").raw, &all); err != nil {
		t.Fatal(err)
	}
	var rootOf func(hs []tlog.Hash) tlog.Hash // RFC 6962
	rootOf = func(hs []tlog.Hash) tlog.Hash {
		if len(hs) == 1 {
			return hs[0]
		}
		k := 1
		for 2*k < len(hs) {
			k *= 2
		}
		return tlog.NodeHash(rootOf(hs[:k]), rootOf(hs[k:]))
	}
	if int64(len(all.Leaves)) != after.size || all.Start != 0 || all.End != after.size {
		t.Fatalf("leaves [0, %d): start %d, end %d, %d leaves", after.size, all.Start, all.End, len(all.Leaves))
	}
	var leafHashes []tlog.Hash
	for _, l := range all.Leaves {
		b, err := base64.StdEncoding.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		leafHashes = append(leafHashes, tlog.RecordHash(b))
	}
	if rootOf(leafHashes) != after.root {
		t.Errorf("the leaves do not hash to the checkpoint's root")
	}
	if rootOf(leafHashes[:before.size]) != before.root {
		t.Errorf("the first %d leaves do not hash to the older checkpoint's root", before.size)
	}
	if one := leaves(reg, span(p1.Index, p1.Index+1), 200, ""); str(one.v, "leaves", 0) != base64.StdEncoding.EncodeToString(leaf1) {
		t.Errorf("leaf %d is not a-0001's payment: %s", p1.Index, one.raw)
	}
	leaves(keyA, span(0, 1), 403, "forbidden")
	leaves(op, span(0, 10_001), 400, "invalid-request")
	leaves(reg, span(3, 3), 400, "invalid-request")
	leaves(op, url.Values{"end": {"3"}}, 400, "invalid-request")
	leaves(op, span(1<<40, 1<<40+1), 404, "not-found")

	// Witnesses: registered by the operator.
	wskey, wvkey, err := note.GenerateKey(rand.Reader, "witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	wsigner, _ := note.NewSigner(wskey)
	wverifier, _ := note.NewVerifier(wvkey)
	witness := func(tok string, body any, ctype string, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "POST /v1/audit/witnesses", body: body, ctype: ctype}, status, problem)
	}
	if w := witness(op, M{"name": "witness.example/w1", "key": wvkey}, "", 201, ""); str(w.v, "name") != "witness.example/w1" || str(w.v, "key") != wvkey {
		t.Errorf("registered %s", w.raw)
	}
	witness(op, M{"name": "witness.example/w1", "key": wvkey}, "", 200, "")
	_, otherKey, _ := note.GenerateKey(rand.Reader, "witness.example/w1")
	witness(op, M{"name": "witness.example/w1", "key": otherKey}, "", 409, "duplicate-conflict")
	witness(op, M{"name": "witness.example/w2", "key": wvkey}, "", 400, "invalid-request")
	witness(op, M{"name": "w", "key": "not a key"}, "", 400, "invalid-request")
	_, switchNamed, _ := note.GenerateKey(rand.Reader, verifier.Name())
	witness(op, M{"name": verifier.Name(), "key": switchNamed}, "", 400, "invalid-request")
	witness(op, M{"name": "witness.example/w1", "key": wvkey, "colour": "red"}, "", 400, "invalid-request")
	witness(op, `{"name":"witness.example/w1"}`, "text/plain", 415, "unsupported-media-type")
	witness(op, `{"name":"`+strings.Repeat("x", 70<<10)+`"}`, "", 413, "payload-too-large")
	witness(keyA, M{"name": "witness.example/w1", "key": wvkey}, "", 403, "forbidden")
	witness(reg, M{"name": "witness.example/w1", "key": wvkey}, "", 403, "forbidden")

	// Co-signatures: the witness signs the checkpoint's text and anyone
	// authenticated posts it; the switch publishes it.
	cosign := func(tok string, body []byte, ctype string, status int, problem string) answer {
		t.Helper()
		if ctype == "" {
			ctype = "text/plain; charset=utf-8"
		}
		return cl.expect(call{tok: tok, op: "POST /v1/audit/cosignatures", body: body, ctype: ctype}, status, problem)
	}
	latest := getCheckpoint(reg)
	cosigned, err := note.Sign(latest.note, wsigner)
	if err != nil {
		t.Fatal(err)
	}
	if c := cosign(keyB, cosigned, "", 200, ""); get(c.v, "treeSize") != float64(latest.size) || get(c.v, "added") != 1.0 {
		t.Errorf("co-signed %d: %s", latest.size, c.raw)
	}
	if c := cosign(reg, cosigned, "text/plain", 200, ""); get(c.v, "added") != 0.0 {
		t.Errorf("co-signed again: %s", c.raw)
	}
	cosign(op, cosigned, "", 200, "")
	published := cl.expect(call{tok: keyA, op: "GET /v1/audit/checkpoint"}, 200, "")
	if pub := openCheckpoint(published.raw, wverifier); pub.size != latest.size {
		t.Logf("a checkpoint of size %d was signed since the co-signed one of %d", pub.size, latest.size)
	} else if len(pub.note.Sigs) != 2 {
		t.Errorf("the checkpoint of size %d is published without its co-signature: %q", pub.size, published.raw)
	}
	if p, _, cp := proof(keyA, "a-0020", 200, ""); cp.size == latest.size {
		if n, err := note.Open([]byte(p.Checkpoint), note.VerifierList(verifier, wverifier)); err != nil || len(n.Sigs) != 2 {
			t.Errorf("a proof's checkpoint of size %d is without its co-signature: %q", cp.size, p.Checkpoint)
		}
	}
	strangerKey, _, _ := note.GenerateKey(rand.Reader, "stranger.example/w")
	stranger, _ := note.NewSigner(strangerKey)
	byStranger, _ := note.Sign(latest.note, stranger)
	cosign(reg, byStranger, "", 403, "forbidden")
	cosign(keyA, byStranger, "", 403, "forbidden")
	onlySwitch, _ := note.Sign(latest.note)
	cosign(keyA, onlySwitch, "", 400, "invalid-request")
	onlyWitness, _ := note.Sign(&note.Note{Text: latest.note.Text}, wsigner)
	cosign(keyA, onlyWitness, "", 400, "invalid-request")
	sizeLine := "\n" + strconv.FormatInt(latest.size, 10) + "\n"
	tampered := bytes.Replace(cosigned, []byte(sizeLine), []byte("\n"+strconv.FormatInt(latest.size+1, 10)+"\n"), 1)
	cosign(keyA, tampered, "", 400, "invalid-request")
	cosign(keyA, []byte("not a note\n"), "", 400, "invalid-request")
	cosign(keyA, cosigned, "application/json", 415, "unsupported-media-type")
	cosign(keyA, bytes.Repeat([]byte("x"), 17<<10), "", 413, "payload-too-large")

	// Who may call what, as each operation says: without credentials,
	// with the wrong kind of credentials, and as the regulator.
	for _, o := range s.operations() {
		access, _ := o.obj["x-hulian-access"].(string)
		c := call{op: o.key()}
		if access == "public" {
			if a := cl.do(c); a.status != 200 {
				t.Errorf("%s without credentials: %d", o.key(), a.status)
			}
			// Credentials are not looked at.
			if a := cl.do(call{tok: reg, op: o.key()}); a.status != 200 {
				t.Errorf("%s as the regulator: %d", o.key(), a.status)
			}
			continue
		}
		cl.expect(c, 401, "unauthorized")
		switch access {
		case "operator", "auditor":
			cl.expect(call{tok: keyA, op: o.key()}, 403, "forbidden")
		case "participant":
			cl.expect(call{tok: op, op: o.key()}, 403, "forbidden")
		case "cosigner":
			if a := cl.do(call{tok: keyA, op: o.key()}); a.status == 401 || a.status == 403 {
				t.Errorf("%s as a participant: %d %s", o.key(), a.status, a.raw)
			}
		}
		// The regulator is answered as the operator where its token
		// may go, and refused elsewhere before anything is read.
		if regulatorMayCall(access, o.method) {
			r, byOp := cl.do(call{tok: reg, op: o.key()}), cl.do(call{tok: op, op: o.key()})
			if r.status == 401 || r.status == 403 || r.status != byOp.status {
				t.Errorf("%s as the regulator: %d %s; as the operator: %d", o.key(), r.status, r.raw, byOp.status)
			}
		} else {
			cl.expect(call{tok: reg, op: o.key()}, 403, "forbidden")
		}
	}
	// HEAD is accepted wherever GET is, for the regulator too.
	for tok, want := range map[string]int{op: 200, reg: 200} {
		req, _ := http.NewRequest(http.MethodHead, a.URL()+"/v1/participants", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := cl.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("HEAD /v1/participants with %s: %d, want %d", tok, resp.StatusCode, want)
		}
	}

	// Callbacks: wallet-b was notified of its incoming transfers and
	// bank-c asked about its own, then notified of the accepted one.
	deadline := time.Now().Add(15 * time.Second)
	for {
		recv.mu.Lock()
		b, c := slices.Clone(recv.committed["/b"]), slices.Clone(recv.committed["/c"])
		confirms := slices.Clone(recv.confirms["/c"])
		recv.mu.Unlock()
		liquidity := slices.Clone(recv.alerts["/b"])
		if slices.Contains(b, "a-0001") && slices.Contains(b, "a-0010") && slices.Contains(c, "a-0003") &&
			slices.Contains(liquidity, "liquidity.low") && slices.Contains(liquidity, "liquidity.restored") {
			if !slices.Equal(confirms, []string{"a-0003", "a-0004"}) {
				t.Errorf("bank-c was asked about %v, want a-0003 and a-0004", confirms)
			}
			if slices.Contains(c, "a-0004") {
				t.Errorf("bank-c was notified of the rejected a-0004")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("callbacks: wallet-b notified of %v and %v, bank-c of %v; want a-0001, a-0010, liquidity.low and .restored, and a-0003", b, liquidity, c)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	recv.mu.Lock()
	for _, e := range recv.errs {
		t.Error(e)
	}
	recv.mu.Unlock()

	// Every operation was called, and every success it declares seen.
	for _, o := range s.operations() {
		seen := cl.seen[o.key()]
		if len(seen) == 0 {
			t.Errorf("%s was not exercised", o.key())
		}
		for code := range o.obj["responses"].(map[string]any) {
			if n, _ := strconv.Atoi(code); n < 300 && !seen[n] {
				t.Errorf("%s: success %s was not exercised", o.key(), code)
			}
		}
		t.Logf("%-45s %v", o.key(), slices.Sorted(maps.Keys(seen)))
	}

	// A stopping switch: not ready, its ledger takes no writes, its
	// database is closed. Its answers still match the document.
	closeApp()
	for _, c := range []struct {
		call   call
		status int
	}{
		{call{op: "GET /healthz"}, 200},
		{call{op: "GET /readyz"}, 503},
		{call{tok: op, op: "POST /v1/participants/{id}/funds", args: []string{"wallet-a"}, body: M{"currency": "CNY", "amount": "1.00", "direction": "deposit"}}, 503},
		{call{tok: keyB, op: "GET /v1/parties"}, 500},
		// The audit log's key and newest checkpoint are still served;
		// its closed files are an internal error (audit.ErrClosed is
		// not mapped to unavailable).
		{call{op: "GET /v1/audit/verifier"}, 200},
		{call{tok: keyA, op: "GET /v1/audit/checkpoint"}, 200},
		{call{tok: reg, op: "GET /v1/audit/consistency", query: url.Values{"from": {"1"}, "to": {"3"}}}, 500},
	} {
		o, _ := s.operation(c.call.op)
		var body io.Reader
		if c.call.body != nil {
			b, _ := stdjson.Marshal(c.call.body)
			body = bytes.NewReader(b)
		}
		u := fill(o.path, c.call.args...)
		if len(c.call.query) > 0 {
			u += "?" + c.call.query.Encode()
		}
		req := httptest.NewRequest(o.method, u, body)
		if c.call.tok != "" {
			req.Header.Set("Authorization", "Bearer "+c.call.tok)
		}
		rec := httptest.NewRecorder()
		a.API.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("%s on a closed switch: %d, want %d: %s", c.call.op, rec.Code, c.status, rec.Body.Bytes())
		}
		for _, e := range s.checkResponse(o.ptr, rec.Code, rec.Header(), rec.Body.Bytes()) {
			t.Errorf("%s on a closed switch: %s", c.call.op, e)
		}
	}
}

// riskControl exercises risk control's operations over HTTP, successes
// and refusals: rules (and rules refused), lists, a payment
// declined, two held for review and decided, alerts, fraud reports and
// the lookup that counts them. wallet-a pays wallet-b's MSISDN alias;
// the rules match only the payer accounts named here, so that the rest
// of the test's payments pass, and are deleted at the end.
func riskControl(t *testing.T, cl *client, op, reg, keyA, keyB, keyC string) {
	type M = map[string]any
	msisdn := M{"type": "MSISDN", "value": "+8613800138000"}
	strs := func(v any, path ...any) []string {
		var out []string
		for i := range length(v, path...) {
			out = append(out, str(v, append(path, i)...))
		}
		return out
	}

	// Rules.
	putRule := func(tok, id string, body any, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "PUT /v1/risk/rules/{id}", args: []string{id}, body: body}, status, problem)
	}
	mallory := M{"expression": `payerAccount == "mallory"`, "action": "decline", "reason": "known-fraudster", "mode": "enforce"}
	first := putRule(op, "mallory", mallory, 201, "")
	mallory["description"] = "A payer account the wallets warned us of."
	if again := putRule(op, "mallory", mallory, 200, ""); str(again.v, "createdAt") != str(first.v, "createdAt") ||
		str(again.v, "description") != mallory["description"] {
		t.Errorf("replaced rule %s, first saved as %s", again.raw, first.raw)
	}
	putRule(op, "mallory-shadow", M{"id": "mallory-shadow", "expression": `payerAccount == "mallory"`, "action": "review",
		"reason": "known-fraudster", "mode": "shadow"}, 201, "")
	putRule(op, "watch-list", M{"expression": `inList("suspects", payerAccount) && size(factors) < 2`, "action": "review",
		"reason": "watch-list", "mode": "enforce"}, 201, "")
	valid := M{"expression": "amount > 100", "action": "alert", "reason": "big", "mode": "shadow"}
	with := func(k string, v any) M {
		m := maps.Clone(valid)
		m[k] = v
		return m
	}
	for _, c := range []struct {
		id      string
		body    M
		problem string
	}{
		{"bad", with("expression", "amount >"), "invalid-rule"},                        // does not parse
		{"bad", with("expression", "amount + 1"), "invalid-rule"},                      // not a bool
		{"bad", with("expression", `payerCount(duration("48h")) > 1`), "invalid-rule"}, // beyond the max window
		{"bad", with("expression", strings.Repeat(" ", 4097)), "invalid-rule"},
		{"bad", with("action", "block"), "invalid-rule"},
		{"bad", with("reason", "Big"), "invalid-rule"},
		{"Bad_Id", valid, "invalid-rule"},
		{"bad", with("id", "other"), "invalid-request"},
		{"bad", with("expression", `payeeAlias != "`+strings.Repeat("x", 2000)+`"`), "invalid-rule"}, // over 1,024 bytes
		{"bad", with("createdAt", "2026-01-01T00:00:00Z"), "invalid-request"},
		{"bad", with("colour", "red"), "invalid-request"},
	} {
		if a := putRule(op, c.id, c.body, 400, c.problem); a.status == 400 && str(a.v, "detail") == "" {
			t.Errorf("rule %v refused without a detail: %s", c.body, a.raw)
		}
	}
	putRule(keyA, "bad", valid, 403, "forbidden")
	putRule(reg, "bad", valid, 403, "forbidden")
	ruleIDs := func(tok string) []string {
		t.Helper()
		l := cl.expect(call{tok: tok, op: "GET /v1/risk/rules"}, 200, "")
		var ids []string
		for i := range length(l.v, "rules") {
			ids = append(ids, str(l.v, "rules", i, "id"))
		}
		return ids
	}
	if ids := ruleIDs(keyB); !slices.Equal(ids, []string{"mallory", "mallory-shadow", "watch-list"}) {
		t.Errorf("rules %v, want mallory, mallory-shadow and watch-list, by id", ids)
	}
	ruleIDs(reg)
	cl.expect(call{tok: keyA, op: "GET /v1/risk/rules/{id}", args: []string{"watch-list"}}, 200, "")
	cl.expect(call{tok: op, op: "GET /v1/risk/rules/{id}", args: []string{"nobody"}}, 404, "not-found")

	// Lists.
	putList := func(tok, name string, body any, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "PUT /v1/risk/lists/{name}", args: []string{name}, body: body}, status, problem)
	}
	addItems := func(tok, name string, body any, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "POST /v1/risk/lists/{name}/items", args: []string{name}, body: body}, status, problem)
	}
	removeItem := func(tok, name, item string, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "DELETE /v1/risk/lists/{name}/items/{item}", args: []string{name, item}}, status, problem)
	}
	for _, c := range []struct {
		got  answer
		want []string
	}{
		{putList(op, "suspects", M{"items": []string{"sly", "dodgy", "sly"}}, 200, ""), []string{"dodgy", "sly"}},
		{addItems(op, "suspects", M{"items": []string{"shady"}}, 200, ""), []string{"dodgy", "shady", "sly"}},
		{removeItem(op, "suspects", "sly", 200, ""), []string{"dodgy", "shady"}},
		{addItems(op, "scratch", M{"items": []string{"MSISDN:+8613900139000"}}, 200, ""), []string{"MSISDN:+8613900139000"}},
		{removeItem(op, "scratch", "MSISDN:+8613900139000", 200, ""), nil}, // the last item: the list is gone
		{putList(op, "scratch", M{"items": []string{"x"}}, 200, ""), []string{"x"}},
		{putList(op, "scratch", M{"items": []string{}}, 200, ""), nil},
	} {
		if got := strs(c.got.v, "items"); !slices.Equal(got, c.want) {
			t.Errorf("list items %q, want %q: %s", got, c.want, c.got.raw)
		}
	}
	removeItem(op, "suspects", "sly", 404, "not-found")
	removeItem(op, "nothing", "sly", 404, "not-found")
	removeItem(op, "Bad Name", "sly", 400, "invalid-request")
	putList(op, "Bad Name", M{"items": []string{"x"}}, 400, "invalid-request")
	putList(op, "suspects", M{}, 400, "invalid-request")
	putList(op, "suspects", M{"items": []string{"bell\a"}}, 400, "invalid-request")
	putList(op, "suspects", M{"items": []string{strings.Repeat("x", 257)}}, 400, "invalid-request")
	addItems(op, "suspects", M{"items": slices.Repeat([]string{"x"}, 10_001)}, 400, "invalid-request")
	addItems(op, "suspects", M{"items": []string{"x"}, "colour": "red"}, 400, "invalid-request")
	putList(keyA, "suspects", M{"items": []string{"x"}}, 403, "forbidden")
	putList(reg, "suspects", M{"items": []string{"x"}}, 403, "forbidden")
	if l := cl.expect(call{tok: op, op: "GET /v1/risk/lists"}, 200, ""); !slices.Equal(strs(l.v, "lists"), []string{"suspects"}) {
		t.Errorf("lists: %s", l.raw)
	}
	cl.expect(call{tok: reg, op: "GET /v1/risk/lists"}, 200, "")
	cl.expect(call{tok: keyA, op: "GET /v1/risk/lists"}, 403, "forbidden")
	cl.expect(call{tok: reg, op: "GET /v1/risk/lists/{name}", args: []string{"suspects"}}, 200, "")
	cl.expect(call{tok: op, op: "GET /v1/risk/lists/{name}", args: []string{"scratch"}}, 404, "not-found")

	// A payment declined, whole and in a batch; requests that name the
	// paying user wrongly.
	pay := func(body any, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: keyA, op: "POST /v1/transfers", body: body}, status, problem)
	}
	payment := func(id, account string, factors ...string) M {
		m := M{"id": id, "payee": msisdn, "amount": "3.00", "currency": "CNY", "payerAccount": account}
		if factors != nil {
			m["authentication"] = M{"factors": factors}
		}
		return m
	}
	for range 2 { // nothing was recorded: the same request is declined again
		if d := pay(payment("a-0030", "mallory", "pin", "device"), 422, "risk-declined"); str(d.v, "rule") != "mallory" || str(d.v, "reason") != "known-fraudster" {
			t.Errorf("declined: %s", d.raw)
		}
	}
	cl.expect(call{tok: keyA, op: "GET /v1/transfers/{id}", args: []string{"a-0030"}}, 404, "not-found")
	pay(payment("a-0033", "u-33", "pin", "pin"), 400, "invalid-request")
	pay(payment("a-0033", "u-33", "face"), 400, "invalid-request")
	pay(payment("a-0033", "u-33", "pin", "password", "biometric", "otp", "device", "pin"), 400, "invalid-request")
	pay(payment("a-0033", strings.Repeat("u", 129)), 400, "invalid-request")
	pay(payment("a-0033", "tab\there"), 400, "invalid-request")
	odd := payment("a-0033", "u-33")
	odd["authentication"] = M{"factors": []string{"pin"}, "colour": "red"}
	pay(odd, 400, "invalid-request")
	b := cl.expect(call{tok: keyA, op: "POST /v1/transfers:batch", body: M{"transfers": []M{
		payment("a-0034", "mallory"), payment("a-0035", "u-35", "biometric", "pin"),
	}}}, 200, "")
	if get(b.v, "results", 0, "status") != 422.0 || str(b.v, "results", 0, "error", "rule") != "mallory" ||
		get(b.v, "results", 1, "status") != 201.0 || str(b.v, "results", 1, "transfer", "payerAccount") != "u-35" ||
		!slices.Equal(strs(b.v, "results", 1, "transfer", "authentication", "factors"), []string{"pin", "biometric"}) {
		t.Errorf("batch with a declined payment: %s", b.raw)
	}

	// Two payments held for review: the payer and the operator see the
	// paying user, the payee does not.
	for _, id := range []string{"a-0031", "a-0032"} {
		account := map[string]string{"a-0031": "dodgy", "a-0032": "shady"}[id]
		for _, status := range []int{201, 200} {
			if h := pay(payment(id, account, "pin"), status, ""); str(h.v, "state") != "HELD" || str(h.v, "payerAccount") != account ||
				!slices.Equal(strs(h.v, "authentication", "factors"), []string{"pin"}) {
				t.Errorf("held %s: %s", id, h.raw)
			}
		}
	}
	if h := cl.expect(call{tok: keyB, op: "GET /v1/transfers/{id}", args: []string{"a-0031"}}, 200, ""); str(h.v, "state") != "HELD" ||
		get(h.v, "payerAccount") != nil || get(h.v, "authentication") != nil {
		t.Errorf("the payee's view of a held transfer: %s", h.raw)
	}
	if h := cl.expect(call{tok: reg, op: "GET /v1/transfers/{id}", args: []string{"a-0031"}}, 200, ""); str(h.v, "payerAccount") != "dodgy" {
		t.Errorf("the regulator's view of a held transfer: %s", h.raw)
	}

	// Alerts: the held ones are written before the payment is answered,
	// the others soon after.
	alerts := func(tok string, q url.Values, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "GET /v1/risk/alerts", query: q}, status, problem)
	}
	held := map[string]string{} // transfer id → the id of the alert that holds it
	var declined []string       // alerts on a-0030
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		page := alerts(op, url.Values{"status": {"open"}, "limit": {"1000"}}, 200, "")
		declined = declined[:0]
		for i := range length(page.v, "alerts") {
			id, tr := str(page.v, "alerts", i, "id"), str(page.v, "alerts", i, "transferId")
			if get(page.v, "alerts", i, "held") == true {
				held[tr] = id
			}
			if tr == "a-0030" {
				declined = append(declined, id)
			}
		}
		if len(declined) >= 4 || time.Now().After(deadline) { // two rules, two requests
			break
		}
	}
	if held["a-0031"] == "" || held["a-0032"] == "" || len(declined) < 4 {
		t.Fatalf("open alerts: held %v, on the declined a-0030 %v", held, declined)
	}
	page := alerts(op, url.Values{"limit": {"1"}}, 200, "")
	if next := str(page.v, "next"); next == "" {
		t.Errorf("a page of one alert of many has no next: %s", page.raw)
	} else if more := alerts(reg, url.Values{"limit": {"1"}, "since": {next}}, 200, ""); str(more.v, "alerts", 0, "id") == str(page.v, "alerts", 0, "id") {
		t.Errorf("the next page repeats the first: %s", more.raw)
	}
	// A participant sees the alerts of its own payments only.
	for tok, who := range map[string]string{keyA: "wallet-a", keyB: "wallet-b", keyC: "bank-c"} {
		own := alerts(tok, url.Values{"limit": {"1000"}}, 200, "")
		var on []string
		for i := range length(own.v, "alerts") {
			if str(own.v, "alerts", i, "payer") != who && str(own.v, "alerts", i, "payee") != who {
				t.Errorf("%s sees an alert of others' payments: %s", who, own.raw)
			}
			on = append(on, str(own.v, "alerts", i, "transferId"))
		}
		if want := who != "bank-c"; slices.Contains(on, "a-0031") != want {
			t.Errorf("%s sees alerts on %v", who, on)
		}
	}
	alerts(keyA, url.Values{"limit": {"0"}}, 400, "invalid-request")
	alerts(keyA, url.Values{"since": {"x"}}, 400, "invalid-request")
	alerts(op, url.Values{"status": {"pending"}}, 400, "invalid-request")

	// Decisions: a-0031 released, a-0032 rejected, an alert that holds
	// nothing closed.
	decide := func(tok, id string, body any, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "POST /v1/risk/alerts/{id}/decision", args: []string{id}, body: body}, status, problem)
	}
	decide(op, held["a-0031"], M{"decision": "maybe"}, 400, "invalid-request")
	decide(op, held["a-0031"], M{"decision": "release", "note": strings.Repeat("n", 501)}, 400, "invalid-request")
	decide(keyA, held["a-0031"], M{"decision": "release"}, 403, "forbidden")
	decide(reg, held["a-0031"], M{"decision": "release"}, 403, "forbidden")
	if d := decide(op, held["a-0031"], M{"decision": "release", "note": "the user confirmed by phone"}, 200, ""); str(d.v, "alert", "status") != "closed" ||
		str(d.v, "alert", "decision") != "release" || str(d.v, "transfer", "state") != "COMMITTED" {
		t.Errorf("released: %s", d.raw)
	}
	decide(op, held["a-0031"], M{"decision": "reject"}, 409, "alert-closed")
	if d := decide(op, held["a-0032"], M{"decision": "reject", "note": "mule"}, 200, ""); str(d.v, "transfer", "state") != "ABORTED" ||
		str(d.v, "transfer", "reason") != "risk-rejected: mule" {
		t.Errorf("rejected: %s", d.raw)
	}
	if d := decide(op, declined[0], M{"decision": "reject"}, 200, ""); get(d.v, "transfer") != nil || str(d.v, "alert", "status") != "closed" {
		t.Errorf("decided an alert that holds nothing: %s", d.raw)
	}
	decide(op, "999999", M{"decision": "release"}, 404, "not-found")
	decide(op, "first", M{"decision": "release"}, 404, "not-found")
	if tr := cl.expect(call{tok: keyA, op: "GET /v1/transfers/{id}", args: []string{"a-0031"}}, 200, ""); str(tr.v, "state") != "COMMITTED" {
		t.Errorf("a-0031 after its release: %s", tr.raw)
	}

	// Refunds: the payee pays back part of a-0031, twice the same; the
	// payer sees what was refunded.
	refund := func(tok string, body any, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "POST /v1/transfers/{id}/refunds", args: []string{"a-0031"}, body: body}, status, problem)
	}
	if rf := refund(keyB, M{"id": "rf-0031", "amount": "1.00", "reason": "goods returned"}, 201, ""); str(rf.v, "payee", "type") != "REFUND" ||
		str(rf.v, "payee", "value") != "a-0031" {
		t.Errorf("refund: %s", rf.raw)
	}
	refund(keyB, M{"id": "rf-0031", "amount": "1.00", "reason": "goods returned"}, 200, "")
	refund(keyB, M{"id": "rf-0031", "amount": "2.00"}, 409, "duplicate-conflict")
	refund(keyB, M{"id": "rf-0032", "amount": "1000000.00"}, 422, "refund-exceeds-original")
	refund(keyB, M{"id": "rf-0033", "amount": "-1"}, 400, "invalid-request")
	refund(keyA, M{"id": "rf-0034", "amount": "1.00"}, 404, "not-found")
	refund(op, M{"id": "rf-0035", "amount": "1.00"}, 403, "forbidden")
	if tr := cl.expect(call{tok: keyA, op: "GET /v1/transfers/{id}", args: []string{"a-0031"}}, 200, ""); str(tr.v, "refunded") != "1.00" {
		t.Errorf("a-0031 after its refund: %s", tr.raw)
	}
	cl.expect(call{tok: keyB, op: "POST /v1/transfers/{id}/refunds", args: []string{"rf-0031"}, body: M{"id": "rf-0036", "amount": "1.00"}}, 404, "not-found")

	// Payment requests: wallet-a asks wallet-b's user to pay; wallet-b
	// pays one and declines another.
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	ask := func(id string, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: keyA, op: "POST /v1/payment-requests", body: M{"id": id, "payer": M{"type": "MSISDN", "value": "+8613800138000"},
			"amount": "0.50", "currency": "CNY", "message": "lunch", "expiresAt": exp}}, status, problem)
	}
	if pr := ask("pr-1", 201, ""); str(pr.v, "state") != "PENDING" {
		t.Errorf("payment request: %s", pr.raw)
	}
	ask("pr-1", 200, "")
	ask("pr-2", 201, "")
	cl.expect(call{tok: keyA, op: "POST /v1/payment-requests", body: M{"id": "pr-3", "payer": M{"type": "MSISDN", "value": "+8613800138000"},
		"amount": "0.50", "currency": "CNY", "expiresAt": "2000-01-01T00:00:00Z"}}, 400, "invalid-request")
	cl.expect(call{tok: keyB, op: "GET /v1/payment-requests/{id}", args: []string{"pr-1"}}, 200, "")
	cl.expect(call{tok: keyA, op: "POST /v1/payment-requests/{id}/accept", args: []string{"pr-1"}, body: M{"transferId": "pr-1-pay"}}, 403, "forbidden")
	if pr := cl.expect(call{tok: keyB, op: "POST /v1/payment-requests/{id}/accept", args: []string{"pr-1"}, body: M{"transferId": "pr-1-pay"}}, 200, ""); str(pr.v, "state") != "PAID" {
		t.Errorf("paid: %s", pr.raw)
	}
	cl.expect(call{tok: keyB, op: "POST /v1/payment-requests/{id}/accept", args: []string{"pr-1"}, body: M{"transferId": "pr-1-other"}}, 409, "payment-request-not-pending")
	if pr := cl.expect(call{tok: keyB, op: "POST /v1/payment-requests/{id}/decline", args: []string{"pr-2"}, body: M{"reason": "no"}}, 200, ""); str(pr.v, "state") != "DECLINED" {
		t.Errorf("declined: %s", pr.raw)
	}
	cl.expect(call{tok: keyB, op: "GET /v1/payment-requests", query: url.Values{"role": {"payer"}}}, 200, "")
	cl.expect(call{tok: keyB, op: "GET /v1/payment-requests/{id}", args: []string{"nope"}}, 404, "not-found")

	// Mandates: wallet-a (a biller) proposes one to wallet-b's user,
	// which approves; wallet-a pulls once; pause, resume, then revoke.
	mexp := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	propose := M{"id": "md-1", "payer": M{"type": "MSISDN", "value": "+8613800138000"}, "maxAmount": "1.00", "currency": "CNY",
		"frequency": "monthly", "validFrom": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "validUntil": mexp}
	cl.expect(call{tok: keyA, op: "POST /v1/mandates", body: propose}, 201, "")
	cl.expect(call{tok: keyA, op: "POST /v1/mandates", body: propose}, 200, "")
	propose["id"], propose["condition"] = "md-2", "amount <"
	cl.expect(call{tok: keyA, op: "POST /v1/mandates", body: propose}, 400, "invalid-condition")
	cl.expect(call{tok: keyB, op: "GET /v1/mandates/{id}", args: []string{"md-1"}}, 200, "")
	cl.expect(call{tok: keyA, op: "POST /v1/mandates/{id}/approve", args: []string{"md-1"}}, 403, "forbidden")
	cl.expect(call{tok: keyA, op: "POST /v1/mandates/{id}/executions", args: []string{"md-1"}, body: M{"id": "md-1-x", "amount": "0.10"}}, 422, "mandate-not-active")
	cl.expect(call{tok: keyB, op: "POST /v1/mandates/{id}/approve", args: []string{"md-1"}}, 200, "")
	cl.expect(call{tok: keyA, op: "POST /v1/mandates/{id}/executions", args: []string{"md-1"}, body: M{"id": "md-1-1", "amount": "0.10"}}, 201, "")
	cl.expect(call{tok: keyA, op: "POST /v1/mandates/{id}/executions", args: []string{"md-1"}, body: M{"id": "md-1-1", "amount": "0.10"}}, 200, "")
	cl.expect(call{tok: keyA, op: "POST /v1/mandates/{id}/executions", args: []string{"md-1"}, body: M{"id": "md-1-2", "amount": "0.10"}}, 422, "mandate-limit-exceeded")
	cl.expect(call{tok: keyB, op: "GET /v1/mandates/{id}/executions", args: []string{"md-1"}}, 200, "")
	cl.expect(call{tok: keyB, op: "POST /v1/mandates/{id}/pause", args: []string{"md-1"}}, 200, "")
	cl.expect(call{tok: keyB, op: "POST /v1/mandates/{id}/resume", args: []string{"md-1"}}, 200, "")
	cl.expect(call{tok: keyB, op: "POST /v1/mandates/{id}/revoke", args: []string{"md-1"}}, 200, "")
	cl.expect(call{tok: keyB, op: "POST /v1/mandates/{id}/resume", args: []string{"md-1"}}, 409, "mandate-state")
	propose["id"], propose["condition"] = "md-3", ""
	cl.expect(call{tok: keyA, op: "POST /v1/mandates", body: propose}, 201, "")
	cl.expect(call{tok: keyB, op: "POST /v1/mandates/{id}/reject", args: []string{"md-3"}}, 200, "")
	cl.expect(call{tok: keyA, op: "GET /v1/mandates", query: url.Values{"role": {"payee"}}}, 200, "")

	// Disputes: wallet-b disputes its payment of pr-1-pay to wallet-a
	// and wallet-a rejects; it disputes md-1-1 too and wallet-a accepts.
	dsp := cl.expect(call{tok: keyB, op: "POST /v1/disputes", body: M{"transferId": "pr-1-pay", "reason": "error", "detail": "wrong bill"}}, 201, "")
	cl.expect(call{tok: keyB, op: "POST /v1/disputes", body: M{"transferId": "pr-1-pay", "reason": "error", "detail": "wrong bill"}}, 200, "")
	cl.expect(call{tok: keyB, op: "POST /v1/disputes", body: M{"transferId": "pr-1-pay", "reason": "fraud"}}, 409, "dispute-open")
	cl.expect(call{tok: keyA, op: "POST /v1/disputes", body: M{"transferId": "pr-1-pay", "reason": "fraud"}}, 403, "forbidden")
	cl.expect(call{tok: keyB, op: "GET /v1/disputes/{id}", args: []string{str(dsp.v, "id")}}, 200, "")
	cl.expect(call{tok: keyB, op: "POST /v1/disputes/{id}/accept", args: []string{str(dsp.v, "id")}}, 403, "forbidden")
	cl.expect(call{tok: keyA, op: "POST /v1/disputes/{id}/reject", args: []string{str(dsp.v, "id")}, body: M{"reason": "paid as billed"}}, 200, "")
	cl.expect(call{tok: keyA, op: "POST /v1/disputes/{id}/accept", args: []string{str(dsp.v, "id")}}, 409, "dispute-closed")
	dsp2 := cl.expect(call{tok: keyB, op: "POST /v1/disputes", body: M{"transferId": "md-1-1", "reason": "fraud"}}, 201, "")
	cl.expect(call{tok: keyA, op: "POST /v1/disputes/{id}/accept", args: []string{str(dsp2.v, "id")}}, 200, "")
	cl.expect(call{tok: keyA, op: "GET /v1/disputes", query: url.Values{"role": {"payee"}}}, 200, "")
	cl.expect(call{tok: keyB, op: "POST /v1/disputes", body: M{"transferId": "nope", "reason": "fraud"}}, 404, "not-found")

	// FX rates: an FX provider publishes, replaces, and withdraws.
	fxKey := str(cl.expect(call{tok: op, op: "POST /v1/participants", body: M{"id": "fx-one", "name": "FX One", "kind": "fxp",
		"currencies": []string{"CNY", "HKD"}}}, 201, "").v, "apiKey")
	fxUntil := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	cl.expect(call{tok: fxKey, op: "PUT /v1/fx/rates/{source}/{target}", args: []string{"CNY", "HKD"}, body: M{"rate": "1.0913", "validUntil": fxUntil}}, 201, "")
	cl.expect(call{tok: fxKey, op: "PUT /v1/fx/rates/{source}/{target}", args: []string{"CNY", "HKD"}, body: M{"rate": "1.0920", "validUntil": fxUntil,
		"fee": M{"fixed": "0.50", "bps": 10}}}, 200, "")
	cl.expect(call{tok: fxKey, op: "PUT /v1/fx/rates/{source}/{target}", args: []string{"CNY", "HKD"}, body: M{"rate": "0", "validUntil": fxUntil}}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "PUT /v1/fx/rates/{source}/{target}", args: []string{"CNY", "HKD"}, body: M{"rate": "1.09", "validUntil": fxUntil}}, 403, "forbidden")
	cl.expect(call{tok: keyA, op: "GET /v1/fx/rates"}, 200, "")
	cl.expect(call{tok: fxKey, op: "DELETE /v1/fx/rates/{source}/{target}", args: []string{"CNY", "HKD"}}, 204, "")
	cl.expect(call{tok: fxKey, op: "DELETE /v1/fx/rates/{source}/{target}", args: []string{"CNY", "HKD"}}, 404, "not-found")
	// The cross-border report: the regulator's and the operator's.
	xbWindow := url.Values{"from": {time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, "to": {time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}
	cl.expect(call{tok: reg, op: "GET /v1/reports/cross-border", query: xbWindow}, 200, "")
	cl.expect(call{tok: op, op: "GET /v1/reports/cross-border", query: url.Values{"from": {"2026-01-01T00:00:00Z"}, "to": {"2026-06-01T00:00:00Z"}}}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "GET /v1/reports/cross-border", query: xbWindow}, 403, "forbidden")

	// Links between schemes: the operator routes Hong Kong phone numbers
	// to a scheme link; the regulator reads the routes.
	cl.expect(call{tok: op, op: "POST /v1/participants", body: M{"id": "hk-link", "name": "HK scheme", "kind": "scheme",
		"currencies": []string{"HKD"}, "fspiop": M{"endpoint": "http://127.0.0.1:9/hk", "linkId": "cn-link", "linkApiKey": "cn-link.key"}}}, 201, "")
	cl.expect(call{tok: op, op: "POST /v1/participants", body: M{"id": "hk-bad", "name": "HK", "kind": "scheme", "currencies": []string{"HKD"}}}, 400, "invalid-request")
	cl.expect(call{tok: op, op: "PUT /v1/routes/{aliasType}/{prefix}", args: []string{"MSISDN", "+852"}, body: M{"participant": "hk-link"}}, 201, "")
	cl.expect(call{tok: op, op: "PUT /v1/routes/{aliasType}/{prefix}", args: []string{"MSISDN", "+852"}, body: M{"participant": "hk-link", "currency": "HKD"}}, 200, "")
	cl.expect(call{tok: op, op: "PUT /v1/routes/{aliasType}/{prefix}", args: []string{"MSISDN", "+853"}, body: M{"participant": "wallet-a"}}, 400, "invalid-request")
	cl.expect(call{tok: op, op: "PUT /v1/routes/{aliasType}/{prefix}", args: []string{"MSISDN", "852"}, body: M{"participant": "hk-link"}}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "PUT /v1/routes/{aliasType}/{prefix}", args: []string{"MSISDN", "+853"}, body: M{"participant": "hk-link"}}, 403, "forbidden")
	if l := cl.expect(call{tok: op, op: "GET /v1/routes"}, 200, ""); length(l.v, "routes") != 1 {
		t.Errorf("GET /v1/routes: %s", l.raw)
	}
	cl.expect(call{tok: reg, op: "GET /v1/routes"}, 200, "")
	cl.expect(call{tok: keyA, op: "GET /v1/routes"}, 403, "forbidden")
	cl.expect(call{tok: reg, op: "DELETE /v1/routes/{aliasType}/{prefix}", args: []string{"MSISDN", "+852"}}, 403, "forbidden")
	cl.expect(call{tok: op, op: "DELETE /v1/routes/{aliasType}/{prefix}", args: []string{"MSISDN", "+852"}}, 204, "")
	cl.expect(call{tok: op, op: "DELETE /v1/routes/{aliasType}/{prefix}", args: []string{"MSISDN", "+852"}}, 404, "not-found")

	// Merchant QR: wallet-a registers a merchant and makes a dynamic
	// code; wallet-b reads it and pays it.
	cl.expect(call{tok: keyA, op: "POST /v1/parties", body: M{"type": "MERCHANT", "value": "M-1", "name": "Noodles", "account": "shop",
		"currency": "CNY", "mcc": "5812", "city": "Beijing", "country": "CN"}}, 201, "")
	code := cl.expect(call{tok: keyA, op: "POST /v1/qr", body: M{"merchant": "M-1", "amount": "0.10", "currency": "CNY"}}, 201, "")
	cl.expect(call{tok: keyA, op: "POST /v1/qr", body: M{"merchant": "M-2", "currency": "CNY"}}, 404, "not-found")
	cl.expect(call{tok: keyA, op: "GET /v1/qr/{id}", args: []string{str(code.v, "id")}}, 200, "")
	cl.expect(call{tok: keyA, op: "GET /v1/qr/{id}", args: []string{str(code.v, "id") + ".png"}}, 200, "")
	cl.expect(call{tok: keyB, op: "GET /v1/qr/{id}", args: []string{str(code.v, "id")}}, 404, "not-found")
	cl.expect(call{tok: keyB, op: "POST /v1/qr:decode", body: M{"payload": str(code.v, "payload")}}, 200, "")
	cl.expect(call{tok: keyB, op: "POST /v1/qr:decode", body: M{"payload": "000201"}}, 400, "invalid-qr")
	cl.expect(call{tok: keyB, op: "POST /v1/transfers", body: M{"id": "qr-pay-1", "payee": M{"type": "QR", "value": str(code.v, "payload")},
		"amount": "0.20", "currency": "CNY"}}, 422, "amount-mismatch")
	cl.expect(call{tok: keyB, op: "POST /v1/transfers", body: M{"id": "qr-pay-1", "payee": M{"type": "QR", "value": str(code.v, "payload")},
		"amount": "0.10", "currency": "CNY"}}, 201, "")
	cl.expect(call{tok: keyB, op: "POST /v1/transfers", body: M{"id": "qr-pay-2", "payee": M{"type": "QR", "value": str(code.v, "payload")},
		"amount": "0.10", "currency": "CNY"}}, 409, "qr-already-paid")

	// ISO 20022: a bank's pacs.008 of two credit transfers, one to an
	// alias and one to nobody, answered with a pacs.002.
	pacs008, err := isomsg.Marshal(&isomsg.CreditTransfer{MsgID: "MSG-1", Created: time.Now(), Transactions: []isomsg.CreditTransaction{
		{EndToEndID: "E2E-1", TxID: "iso-1", Amount: 1000, Currency: money.MustCurrency("CNY"), DebtorAgent: "wallet-a", CreditorAgent: "wallet-b",
			CreditorAccount: &isomsg.Account{ID: "+8613800138000", Scheme: "MSISDN"}},
		{EndToEndID: "E2E-2", TxID: "iso-2", Amount: 1000, Currency: money.MustCurrency("CNY"), DebtorAgent: "wallet-a", CreditorAgent: "wallet-b",
			CreditorAccount: &isomsg.Account{ID: "+8613999999999", Scheme: "MSISDN"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	iso := func(tok string, body []byte, ctype string, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "POST /v1/iso20022/messages", body: body, ctype: ctype}, status, problem)
	}
	if a := iso(keyA, pacs008, "application/xml", 200, ""); !bytes.Contains(a.raw, []byte("<TxSts>ACSC</TxSts>")) ||
		!bytes.Contains(a.raw, []byte("<Cd>AC01</Cd>")) {
		t.Errorf("pacs.002: %s", a.raw)
	}
	iso(keyA, []byte("<Document"), "application/xml", 400, "invalid-request")
	iso(keyA, pacs008, "application/json", 415, "unsupported-media-type")
	iso(op, pacs008, "application/xml", 403, "forbidden")

	// Reconciliation: wallet-a's records of the last day against the
	// switch's; kept, read back as JSON and as CSV.
	rq := url.Values{"currency": {"CNY"}, "from": {time.Now().Add(-24 * time.Hour).Format(time.RFC3339)},
		"to": {time.Now().Add(time.Hour).Format(time.RFC3339)}}
	rc := cl.expect(call{tok: keyA, op: "POST /v1/reconciliations", query: rq, ctype: "text/csv",
		body: "transferId,amount,direction,status\niso-1,10.00,debit,COMMITTED\nno-such,1.00,debit,COMMITTED\n"}, 201, "")
	if str(rc.v, "id") == "" || get(rc.v, "breakCount") == nil {
		t.Errorf("reconciliation: %s", rc.raw)
	}
	cl.expect(call{tok: keyA, op: "GET /v1/reconciliations/{id}", args: []string{str(rc.v, "id")}}, 200, "")
	cl.expect(call{tok: keyA, op: "GET /v1/reconciliations/{id}", args: []string{str(rc.v, "id")}, accept: "text/csv"}, 200, "")
	cl.expect(call{tok: keyB, op: "GET /v1/reconciliations/{id}", args: []string{str(rc.v, "id")}}, 404, "not-found")
	cl.expect(call{tok: keyA, op: "POST /v1/reconciliations", query: rq, ctype: "text/csv", body: "nonsense"}, 400, "invalid-request")
	cl.expect(call{tok: keyA, op: "POST /v1/reconciliations", query: rq, body: "{}"}, 415, "unsupported-media-type")

	// wallet-a's statement of today, in JSON and as camt.053.
	sq := url.Values{"currency": {"CNY"}, "date": {time.Now().In(time.UTC).Format(time.DateOnly)}}
	if st := cl.expect(call{tok: keyA, op: "GET /v1/participants/{id}/statements", args: []string{"wallet-a"}, query: sq}, 200, ""); get(st.v, "closing") == nil {
		t.Errorf("statement: %s", st.raw)
	}
	cl.expect(call{tok: keyA, op: "GET /v1/participants/{id}/statements", args: []string{"wallet-a"}, query: sq, accept: "application/xml"}, 200, "")
	cl.expect(call{tok: keyA, op: "GET /v1/participants/{id}/statements", args: []string{"wallet-a"},
		query: url.Values{"currency": {"CNY"}, "date": {"today"}}}, 400, "invalid-request")
	cl.expect(call{tok: keyB, op: "GET /v1/participants/{id}/statements", args: []string{"wallet-a"}, query: sq}, 404, "not-found")

	// Fraud reports, by the payer and the payee of a-0031, mark the
	// payee's alias.
	report := func(tok string, body any, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "POST /v1/risk/fraud-reports", body: body}, status, problem)
	}
	scam := M{"transferId": "a-0031", "reason": "scam", "detail": "the user was told to pay a customs fee"}
	r1 := report(keyA, scam, 201, "")
	if str(r1.v, "reporter") != "wallet-a" || str(r1.v, "alias", "value") != "+8613800138000" || str(r1.v, "status") != "open" {
		t.Errorf("fraud report: %s", r1.raw)
	}
	if r2 := report(keyA, scam, 200, ""); str(r2.v, "id") != str(r1.v, "id") {
		t.Errorf("the same report again: %s, first %s", r2.raw, r1.raw)
	}
	report(keyB, M{"transferId": "a-0031", "reason": "mule"}, 201, "")
	report(keyC, M{"transferId": "a-0031", "reason": "scam"}, 404, "not-found")
	report(keyA, M{"transferId": "nothing", "reason": "scam"}, 404, "not-found")
	report(keyA, M{"transferId": "a-0032", "reason": "scam"}, 409, "transfer-not-committed")
	report(keyA, M{"transferId": "a-0031", "reason": "spam"}, 400, "invalid-request")
	report(keyA, M{"transferId": "a-0031", "reason": "scam", "detail": "bell\a"}, 400, "invalid-request")
	report(op, scam, 403, "forbidden")
	lookup := func(typ, value string) answer {
		t.Helper()
		return cl.expect(call{tok: keyA, op: "GET /v1/parties/{type}/{value}", args: []string{typ, value}}, 200, "")
	}
	if l := lookup("MSISDN", "+8613800138000"); get(l.v, "fraudMarks") != 2.0 {
		t.Errorf("lookup of a reported alias: %s", l.raw)
	}
	if l := lookup("EMAIL", "zhang.san@example.com"); get(l.v, "fraudMarks") != 0.0 {
		t.Errorf("lookup of an alias never reported: %s", l.raw)
	}

	// Without its rules, mallory pays.
	deleteRule := func(tok, id string, status int, problem string) answer {
		t.Helper()
		return cl.expect(call{tok: tok, op: "DELETE /v1/risk/rules/{id}", args: []string{id}}, status, problem)
	}
	deleteRule(keyA, "mallory", 403, "forbidden")
	for _, id := range []string{"mallory", "mallory-shadow", "watch-list"} {
		deleteRule(op, id, 204, "")
	}
	deleteRule(op, "mallory", 404, "not-found")
	if l := cl.expect(call{tok: op, op: "GET /v1/risk/rules"}, 200, ""); length(l.v, "rules") != 0 {
		t.Errorf("rules after deleting them all: %s", l.raw)
	}
	if tr := pay(payment("a-0036", "mallory"), 201, ""); str(tr.v, "state") != "COMMITTED" {
		t.Errorf("paid without rules: %s", tr.raw)
	}
}

// TestOpenAPIRiskWithoutEngine checks the answers of risk control's
// operations of a server built without it.
func TestOpenAPIRiskWithoutEngine(t *testing.T) {
	s := loadSpec(t)
	const opTok = "test-op-0123456789abcdef-0123456789ab"
	srv := routingServer(t, opTok)
	n := 0
	for _, o := range s.operations() {
		// The participants' operation refuses the operator first.
		if !strings.HasPrefix(o.path, "/v1/risk/") || o.obj["x-hulian-access"] == "participant" {
			continue
		}
		n++
		req := httptest.NewRequest(o.method, fill(o.path), nil)
		req.Header.Set("Authorization", "Bearer "+opTok)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s without risk control: %d, want 503: %s", o.key(), rec.Code, rec.Body.Bytes())
		}
		for _, e := range s.checkResponse(o.ptr, rec.Code, rec.Header(), rec.Body.Bytes()) {
			t.Errorf("%s without risk control: %s", o.key(), e)
		}
	}
	if n == 0 {
		t.Error("the document has no risk operations")
	}
}

// TestOpenAPIAuditWithoutLog checks the answers of the audit operations
// of a server built without an audit log.
func TestOpenAPIAuditWithoutLog(t *testing.T) {
	s := loadSpec(t)
	srv := routingServer(t, "test-op-0123456789abcdef-0123456789ab")
	n := 0
	for _, o := range s.operations() {
		if !strings.HasPrefix(o.path, "/v1/audit/") {
			continue
		}
		n++
		req := httptest.NewRequest(o.method, fill(o.path), nil)
		req.Header.Set("Authorization", "Bearer test-op-0123456789abcdef-0123456789ab")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s without an audit log: %d, want 503: %s", o.key(), rec.Code, rec.Body.Bytes())
		}
		for _, e := range s.checkResponse(o.ptr, rec.Code, rec.Header(), rec.Body.Bytes()) {
			t.Errorf("%s without an audit log: %s", o.key(), e)
		}
	}
	if n == 0 {
		t.Error("the document has no audit operations")
	}
}

// TestOpenAPIRateLimited checks the answer to a participant over its
// request rate.
func TestOpenAPIRateLimited(t *testing.T) {
	s := loadSpec(t)
	a := startSwitch(t, app.Config{RateLimit: 0.001, RateBurst: 1, RegulatorToken: "test-regulator-0123456789abcdef-012345"})
	cl := newClient(t, s, a.URL())
	p := cl.expect(call{tok: "test-op-0123456789abcdef-0123456789ab", op: "POST /v1/participants", body: map[string]any{"id": "wallet-a", "name": "Wallet A", "kind": "wallet", "currencies": []string{"CNY"}}}, 201, "")
	key := str(p.v, "apiKey")
	cl.expect(call{tok: key, op: "GET /v1/participants/{id}", args: []string{"wallet-a"}}, 200, "")
	cl.expect(call{tok: key, op: "GET /v1/participants/{id}", args: []string{"wallet-a"}}, 429, "rate-limited")
	cl.expect(call{tok: key, op: "GET /v1/transfers"}, 429, "rate-limited")
	cl.expect(call{tok: key, op: "GET /v1/audit/checkpoint"}, 429, "rate-limited")
	cl.expect(call{tok: key, op: "POST /v1/audit/cosignatures", body: "not a note\n", ctype: "text/plain"}, 429, "rate-limited")
	// The operator is not limited; the regulator has a bucket of its own,
	// which the participant's use did not touch.
	for range 3 {
		cl.expect(call{tok: "test-op-0123456789abcdef-0123456789ab", op: "GET /v1/participants/{id}", args: []string{"wallet-a"}}, 200, "")
	}
	const reg = "test-regulator-0123456789abcdef-012345"
	cl.expect(call{tok: reg, op: "GET /v1/participants/{id}", args: []string{"wallet-a"}}, 200, "")
	cl.expect(call{tok: reg, op: "GET /v1/participants/{id}", args: []string{"wallet-a"}}, 429, "rate-limited")
}

// routingServer is a server with no core behind it, for tests of its
// routing and its refusals before any handler's work; opToken is the
// operator's token.
func routingServer(t *testing.T, opToken string) *api.Server {
	t.Helper()
	authn, err := auth.NewAuthenticator(sha256.Sum256([]byte(opToken)), [sha256.Size]byte{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg api.Config
	cfg.EnsureDefaults()
	s, err := api.New(cfg, api.Deps{Auth: authn})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
