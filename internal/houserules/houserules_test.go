package houserules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// file is a parsed Go file of the tree, tests excluded.
type file struct {
	path string // relative to the module root, e.g. internal/ledger/state.go
	ast  *ast.File
}

func sources(t *testing.T) []file {
	t.Helper()
	root := "../.."
	var out []file
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, file{filepath.ToSlash(rel), f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("found only %d source files: is the walk rooted right?", len(out))
	}
	return out
}

func under(path string, dirs ...string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// TestNoFloatInMoneyCode: money is int64 minor units; no float type may
// appear in the packages that handle it.
func TestNoFloatInMoneyCode(t *testing.T) {
	money := []string{"internal/money", "internal/ledger", "internal/journal", "internal/transfer",
		"internal/settlement", "internal/quote", "internal/liquidity", "internal/store"}
	// Sizing the ledger's hash table is not money.
	exempt := map[string]bool{"internal/ledger/index.go": true}
	for _, f := range sources(t) {
		if !under(f.path, money...) || exempt[f.path] {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && (id.Name == "float64" || id.Name == "float32") {
				t.Errorf("%s: %s in money code", f.path, id.Name)
			}
			return true
		})
	}
}

// TestLedgerReadsNoClock: the ledger is deterministic; time is an input.
func TestLedgerReadsNoClock(t *testing.T) {
	for _, f := range sources(t) {
		if !under(f.path, "internal/ledger") {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until") {
					t.Errorf("%s: time.%s in the ledger", f.path, sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// TestLedgerImports: the ledger imports nothing of ours but money and
// fault (the names of its refusals), and does no I/O.
func TestLedgerImports(t *testing.T) {
	banned := []string{"os", "net", "net/http", "database/sql", "io/ioutil", "syscall"}
	for _, f := range sources(t) {
		if !under(f.path, "internal/ledger") || under(f.path, "internal/ledger/ledgertest") {
			continue
		}
		for _, imp := range f.ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/hulian/hulian/") && p != "github.com/hulian/hulian/internal/money" && p != "github.com/hulian/hulian/internal/fault" {
				t.Errorf("%s imports %s", f.path, p)
			}
			for _, b := range banned {
				if p == b {
					t.Errorf("%s imports %s: the ledger does no I/O", f.path, p)
				}
			}
		}
	}
}

// TestPgxStaysAtTheEdge: only the PostgreSQL engine and the app database
// talk to pgx; everything else goes through them. The one exception is
// offline verification, which reads the ledger's rows as they are stored,
// on purpose without the engine it is checking, and the cluster's lease,
// which lives in the database beside the ledger but may not depend on it.
func TestPgxStaysAtTheEdge(t *testing.T) {
	exempt := map[string]bool{"internal/audit/source.go": true}
	for _, f := range sources(t) {
		for _, imp := range f.ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/jackc/pgx") && !under(f.path, "internal/store/postgres", "internal/sqldb", "internal/cluster") && !exempt[f.path] {
				t.Errorf("%s imports %s", f.path, p)
			}
		}
	}
}

// imports returns, for each package directory of the tree, the import
// paths its files (tests excluded) import.
func imports(t *testing.T) map[string][]string {
	out := map[string][]string{}
	for _, f := range sources(t) {
		dir := path.Dir(f.path)
		for _, imp := range f.ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[dir] = append(out[dir], p)
		}
	}
	return out
}

const module = "github.com/hulian/hulian/"

// closure returns every import path that the package in dir depends on,
// through the packages of the tree.
func closure(graph map[string][]string, dir string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(d string) {
		for _, p := range graph[d] {
			if seen[p] {
				continue
			}
			seen[p] = true
			if strings.HasPrefix(p, module) {
				walk(strings.TrimPrefix(p, module))
			}
		}
	}
	walk(dir)
	return seen
}

// TestWireDependsOnNothingInside: the JSON contract imports only money
// (which brings fault, its errors' kinds) and libraries outside the
// tree, so that a participant's side can use it without the switch.
func TestWireDependsOnNothingInside(t *testing.T) {
	allowed := map[string]bool{module + "internal/money": true, module + "internal/fault": true}
	for p := range closure(imports(t), "internal/wire") {
		if strings.HasPrefix(p, module) && !allowed[p] {
			t.Errorf("internal/wire depends on %s", p)
		}
	}
}

// TestParticipantSideLinksNoDatabase: the simulated participants and the
// load generator speak to the switch over HTTP only; they link no
// database driver and no storage of the switch.
func TestParticipantSideLinksNoDatabase(t *testing.T) {
	graph := imports(t)
	for _, dir := range []string{"internal/sim", "internal/loadgen"} {
		for p := range closure(graph, dir) {
			if strings.HasPrefix(p, "github.com/jackc/pgx") || strings.HasPrefix(p, "modernc.org/sqlite") ||
				p == "database/sql" || p == module+"internal/sqldb" || strings.HasPrefix(p, module+"internal/store") {
				t.Errorf("%s depends on %s", dir, p)
			}
		}
	}
}

// TestConnectorIsParticipantSide: the connector runs at a participant,
// beside its core system. It keeps its own record in SQLite
// (modernc.org/sqlite through database/sql) but links nothing of the
// switch's: no pgx, no app database, no ledger storage, none of the
// switch's internals. Of the tree it uses the JSON contract and what
// that brings (money, fault), and the reference participant's client of
// the switch's API (sim) with what sim brings (histogram).
func TestConnectorIsParticipantSide(t *testing.T) {
	allowed := map[string]bool{module + "internal/wire": true, module + "internal/money": true, module + "internal/fault": true,
		module + "internal/sim": true, module + "internal/histogram": true}
	deps := closure(imports(t), "internal/connector")
	if !deps["modernc.org/sqlite"] || !deps["database/sql"] {
		t.Errorf("internal/connector no longer keeps its record in SQLite: update this rule")
	}
	for p := range deps {
		switch {
		case strings.HasPrefix(p, "github.com/jackc/pgx"):
			t.Errorf("internal/connector depends on %s", p)
		case strings.HasPrefix(p, module) && !allowed[p]:
			t.Errorf("internal/connector depends on %s: the switch's internals stay at the switch", p)
		}
	}
	// And the participant side's simulators reach the connector over
	// HTTP, like any backend.
	for _, dir := range []string{"internal/sim", "internal/loadgen"} {
		if closure(imports(t), dir)[module+"internal/connector"] {
			t.Errorf("%s depends on internal/connector", dir)
		}
	}
}

// TestSentinelErrorsHaveKinds: every exported sentinel error of the
// switch's own packages is a fault.Error (or another package's), so that
// every refusal reaches a front end with a kind and a code, never as an
// untyped error answered 500.
func TestSentinelErrorsHaveKinds(t *testing.T) {
	// The participant side's packages do not answer requests; the
	// client libraries (clients/, modules of their own) cannot import
	// internal/fault.
	exempt := []string{"internal/sim", "internal/loadgen", "internal/wire", "internal/houserules", "clients"}
	for _, f := range sources(t) {
		if under(f.path, exempt...) {
			continue
		}
		for _, d := range f.ast.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !name.IsExported() || !strings.HasPrefix(name.Name, "Err") || i >= len(vs.Values) {
						continue
					}
					call, ok := vs.Values[i].(*ast.CallExpr)
					if !ok {
						continue // an alias of another sentinel
					}
					if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "New" || !isIdent(sel.X, "fault") {
						t.Errorf("%s: %s is not made by fault.New", f.path, name.Name)
					}
				}
			}
		}
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
