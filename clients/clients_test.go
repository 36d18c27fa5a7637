package clients_test

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app/apptest"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// requireEnv, set to 1 by scripts/test.sh, makes the tests fail rather
// than skip when node or the npm packages of clients/ts are missing.
const requireEnv = "HULIAN_REQUIRE_CLIENTS"

// The directories, relative to this package's.
const (
	goDir = "go"
	tsDir = "ts"
)

// commandTimeout bounds each command a test runs: a cold build of the
// generator or of the Go client takes some seconds on two cores.
const commandTimeout = 3 * time.Minute

// missing skips t, or fails it under requireEnv, for want of what.
func missing(t *testing.T, what string) {
	t.Helper()
	msg := what + " (make test / scripts/test.sh install it)"
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s, and %s=1", msg, requireEnv)
	}
	t.Skip(msg)
}

// nodeReady returns node's path once node and the npm packages of
// clients/ts are installed.
func nodeReady(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(tsDir, "node_modules", ".package-lock.json")); err != nil {
		missing(t, "clients/ts/node_modules is missing (npm ci --prefix clients/ts)")
	}
	return node
}

// goCmd returns the go command that runs this test.
func goCmd(t *testing.T) string {
	t.Helper()
	g, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	return g
}

// run runs name with args in dir, with env added to the test's own, and
// returns its standard output; it fails t with both outputs if the
// command fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := start(t, dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), dir, err, stdout, stderr)
	}
	return stdout
}

// start runs name as run does, and returns its outputs and how it ended.
func start(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	begin := time.Now()
	err = cmd.Run()
	t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(begin).Round(time.Millisecond))
	return out.String(), errOut.String(), err
}

// TestGeneratedUpToDate regenerates both libraries into a temporary
// directory and compares them with the ones in the repository.
func TestGeneratedUpToDate(t *testing.T) {
	nodeReady(t)
	out := t.TempDir()
	run(t, "..", nil, "bash", "scripts/clients.sh", "--out", out)
	for _, f := range []string{"go/hulian.gen.go", "ts/src/schema.ts"} {
		fresh, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		kept, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, kept) {
			t.Errorf("clients/%s is not what internal/api/openapi.json generates: run `make clients` and commit the result\n%s", f, firstDiff(kept, fresh))
		}
	}
}

// firstDiff describes the first line where kept and fresh differ.
func firstDiff(kept, fresh []byte) string {
	k, f := strings.Split(string(kept), "\n"), strings.Split(string(fresh), "\n")
	for i := 0; i < max(len(k), len(f)); i++ {
		var a, b string
		if i < len(k) {
			a = k[i]
		}
		if i < len(f) {
			b = f[i]
		}
		if a != b || i >= len(k) || i >= len(f) {
			return fmt.Sprintf("first difference at line %d:\n  in the repository: %q\n  generated now:     %q", i+1, a, b)
		}
	}
	return "they differ"
}

// floatAllowed are the Go fields that may be floats: model scores and
// ratios, none of them money.
var floatAllowed = map[string]bool{"Ratio": true, "Score": true, "Contribution": true}

// TestNoFloatMoney: amounts are decimal strings in both libraries; the
// only floats of the Go client are the risk model's scores and ratios.
func TestNoFloatMoney(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(goDir, "hulian.gen.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	amountIsString := false
	floats := 0
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.TypeSpec:
			if n.Name.Name == "Amount" {
				id, ok := n.Type.(*ast.Ident)
				amountIsString = ok && id.Name == "string"
			}
		case *ast.Field:
			isFloat := false
			ast.Inspect(n.Type, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && (id.Name == "float32" || id.Name == "float64") {
					isFloat = true
				}
				return true
			})
			for _, name := range n.Names {
				if isFloat {
					floats++
					if !floatAllowed[name.Name] {
						t.Errorf("%s: field %s is a float", fset.Position(name.Pos()), name.Name)
					}
				}
			}
		}
		return true
	})
	if !amountIsString {
		t.Error("clients/go: type Amount is not a string")
	}
	if floats == 0 {
		t.Error("no float field at all: is the walk looking at the right file?")
	}
	ts, err := os.ReadFile(filepath.Join(tsDir, "src", "schema.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\n\s*Amount: string;`).Match(ts) {
		t.Error("clients/ts: Amount is not a string")
	}
}

// TestGoModule vets and tests the Go client, a module of its own that the
// switch's `go test ./...` does not reach.
func TestGoModule(t *testing.T) {
	g := goCmd(t)
	run(t, goDir, nil, g, "vet", "./...")
	run(t, goDir, nil, g, "test", "-count=1", "./...")
}

// TestExamples runs each library's example against a real switch: the
// operator onboards a payer wallet (funded) and a payee wallet (which
// registers an alias) and sets a fee; each example pays the alias, and
// the switch must hold the transfer COMMITTED with its fee, and the
// balances must have moved by exactly the amounts and fees.
func TestExamples(t *testing.T) {
	node := nodeReady(t)
	g := goCmd(t)

	// Build both before starting the switch, so that no build time counts
	// against anything of the switch's.
	bin := t.TempDir()
	run(t, goDir, nil, g, "build", "-o", filepath.Join(bin, "example"), "./example")
	js := t.TempDir()
	run(t, tsDir, nil, node, "node_modules/typescript/bin/tsc", "-p", ".", "--outDir", js)
	// The compiled example is an ES module that imports openapi-fetch.
	if err := os.WriteFile(filepath.Join(js, "package.json"), []byte(`{"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	modules, err := filepath.Abs(filepath.Join(tsDir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(modules, filepath.Join(js, "node_modules")); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	sw := apptest.Start(t, nil)
	op := sim.NewClient(sw.URL(), sw.AdminToken, nil)
	payer, err := op.CreateParticipant(ctx, wire.NewParticipant{ID: "wallet-a", Name: "Wallet A", Kind: "wallet", Currencies: []string{"CNY"}})
	if err != nil {
		t.Fatal(err)
	}
	payee, err := op.CreateParticipant(ctx, wire.NewParticipant{ID: "wallet-b", Name: "Wallet B", Kind: "wallet", Currencies: []string{"CNY"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.SetFees(ctx, wire.Fees{Currency: "CNY", Fixed: "0.50", Rate: "0", Min: "0", Max: "0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := op.MoveFunds(ctx, payer.ID, wire.Funds{ID: "clients-deposit-1", Currency: "CNY", Amount: "1000.00", Direction: "deposit"}); err != nil {
		t.Fatal(err)
	}
	const alias = "+8613800138000"
	if _, err := sim.NewClient(sw.URL(), payee.APIKey, nil).RegisterParty(ctx, wire.NewParty{
		Type: "MSISDN", Value: alias, Name: "Zhang San", Account: "u-1", Currency: "CNY",
	}); err != nil {
		t.Fatal(err)
	}

	env := func(id, to, amount string) []string {
		return []string{"HULIAN_URL=" + sw.URL(), "HULIAN_API_KEY=" + payer.APIKey, "HULIAN_PAYEE_TYPE=MSISDN",
			"HULIAN_PAYEE_VALUE=" + to, "HULIAN_AMOUNT=" + amount, "HULIAN_CURRENCY=CNY", "HULIAN_TRANSFER_ID=" + id}
	}
	for _, ex := range []struct {
		name, id, amount, wantAmount string
		cmd                          []string
	}{
		{"go", "clients-go-1", "10", "10.00", []string{filepath.Join(bin, "example")}},
		{"ts", "clients-ts-1", "7.25", "7.25", []string{node, filepath.Join(js, "example", "pay.js")}},
	} {
		t.Run(ex.name, func(t *testing.T) {
			// A refusal first: an alias nobody registered is the
			// problem unknown-party, and the example exits 1.
			_, stderr, err := start(t, ".", env(ex.id+"-refused", "+8613900139000", ex.amount), ex.cmd[0], ex.cmd[1:]...)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr, "hulian: 404 unknown-party") {
				t.Errorf("%s example paying an unknown alias: %v, stderr %q; want exit status 1 and the problem 404 unknown-party", ex.name, err, stderr)
			}
			t.Logf("%s example, refused: %s", ex.name, stderr)

			out := run(t, ".", env(ex.id, alias, ex.amount), ex.cmd[0], ex.cmd[1:]...)
			t.Logf("%s example:\n%s", ex.name, out)
			want := fmt.Sprintf("final:    %s COMMITTED amount %s CNY fee 0.50 CNY payee wallet-b", ex.id, ex.wantAmount)
			if !strings.Contains(out, want) {
				t.Errorf("%s example printed\n%s\nwant a line %q", ex.name, out, want)
			}
			tr, err := op.Transfer(ctx, ex.id)
			if err != nil {
				t.Fatal(err)
			}
			if tr.State != "COMMITTED" || tr.Payer != "wallet-a" || tr.Payee.Participant != "wallet-b" || tr.Amount != ex.wantAmount || tr.Fee != "0.50" || tr.QuoteID == "" {
				t.Errorf("the switch holds %+v; want COMMITTED from wallet-a to wallet-b, %s CNY, fee 0.50, with a quote", tr, ex.wantAmount)
			}
		})
	}

	// 1000.00 − (10.00 + 0.50) − (7.25 + 0.50); 10.00 + 7.25.
	for _, want := range []struct{ participant, balance string }{{"wallet-a", "981.75"}, {"wallet-b", "17.25"}} {
		accounts, err := op.Accounts(ctx, want.participant)
		if err != nil {
			t.Fatal(err)
		}
		if len(accounts) != 1 || accounts[0].Currency != "CNY" || accounts[0].Balance != want.balance {
			t.Errorf("%s's accounts are %+v; want a balance of %s CNY", want.participant, accounts, want.balance)
		}
	}
}
