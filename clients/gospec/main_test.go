package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    string // the prepared document, compared as JSON values
		wantErr string
	}{
		{
			name: "webhooks dropped, components kept",
			in:   `{"openapi":"3.1.1","webhooks":{"x":{}},"components":{"schemas":{"A":{"type":"string"}}}}`,
			want: `{"openapi":"3.1.1","components":{"schemas":{"A":{"type":"string"}}}}`,
		},
		{
			name: "anyOf of a reference and a string is a string",
			in: `{"components":{"schemas":{"T":{"type":"string","format":"date-time"},
				"S":{"description":"d","anyOf":[{"$ref":"#/components/schemas/T"},{"type":"string","pattern":"^x$"}]}}}}`,
			want: `{"components":{"schemas":{"T":{"type":"string","format":"date-time"},"S":{"description":"d","type":"string"}}}}`,
		},
		{
			name: "oneOf of an amount and the empty const is a string",
			in: `{"components":{"schemas":{"Amount":{"type":"string"},
				"R":{"properties":{"volume":{"oneOf":[{"$ref":"#/components/schemas/Amount"},{"const":""}]}}}}}}`,
			want: `{"components":{"schemas":{"Amount":{"type":"string"},"R":{"properties":{"volume":{"type":"string"}}}}}}`,
		},
		{
			name: "a string enum counts as a string",
			in:   `{"s":{"anyOf":[{"enum":["a","b"]},{"type":"string"}]}}`,
			want: `{"s":{"type":"string"}}`,
		},
		{
			name: "a union with an object stays a union",
			in:   `{"s":{"oneOf":[{"type":"object"},{"type":"string"}]}}`,
			want: `{"s":{"oneOf":[{"type":"object"},{"type":"string"}]}}`,
		},
		{
			name: "a union with a number enum stays a union",
			in:   `{"s":{"anyOf":[{"enum":["a",1]},{"type":"string"}]}}`,
			want: `{"s":{"anyOf":[{"enum":["a",1]},{"type":"string"}]}}`,
		},
		{
			name: "a number without format is a double; integers and formats are kept",
			in:   `{"s":{"properties":{"score":{"type":"number"},"r":{"type":"number","format":"float"},"n":{"type":"integer","minimum":400}}}}`,
			want: `{"s":{"properties":{"score":{"type":"number","format":"double"},"r":{"type":"number","format":"float"},"n":{"type":"integer","minimum":400}}}}`,
		},
		{
			name:    "money as a number is refused",
			in:      `{"components":{"schemas":{"T":{"properties":{"fee":{"type":"number"},"id":{"type":"integer"}}}}}}`,
			wantErr: "#/components/schemas/T/properties/fee: money must be a decimal string",
		},
		{
			name: "money as a referenced number is refused",
			in: `{"components":{"schemas":{"Amount":{"type":"number"},
				"T":{"properties":{"amount":{"$ref":"#/components/schemas/Amount"}}}}}}`,
			wantErr: "properties/amount: money must be a decimal string",
		},
		{
			name:    "money as a 3.1 type list with a number is refused",
			in:      `{"T":{"properties":{"balance":{"type":["string","number"]}}}}`,
			wantErr: "properties/balance: money must be a decimal string",
		},
		{
			name:    "a reference to nothing is refused",
			in:      `{"s":{"anyOf":[{"$ref":"#/components/schemas/Nope"},{"type":"string"}]}}`,
			wantErr: `$ref "#/components/schemas/Nope" names nothing`,
		},
		{
			name:    "a cycle of references is refused",
			in:      `{"components":{"schemas":{"A":{"$ref":"#/components/schemas/B"},"B":{"$ref":"#/components/schemas/A"}}},"s":{"anyOf":[{"$ref":"#/components/schemas/A"}]}}`,
			wantErr: "cannot follow $ref",
		},
		{
			name:    "not JSON",
			in:      `openapi: 3.1.1`,
			wantErr: "decode",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Prepare([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestPrepareAPI prepares the switch's own document: what the generator
// stumbles on is gone, and the money stays decimal strings.
func TestPrepareAPI(t *testing.T) {
	in, err := os.ReadFile("../../internal/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["webhooks"]; ok {
		t.Error("webhooks kept")
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"Amount", "TransferConfirm", "TransfersCommitted", "Decision"} {
		if schemas[name] == nil {
			t.Errorf("schema %s lost", name)
		}
	}
	if typ := schemas["Amount"].(map[string]any)["type"]; typ != "string" {
		t.Errorf("Amount is a %v; want string", typ)
	}
	since := doc["components"].(map[string]any)["parameters"].(map[string]any)["Since"].(map[string]any)["schema"].(map[string]any)
	if since["type"] != "string" || since["anyOf"] != nil {
		t.Errorf("parameter Since's schema is %v; want a plain string", since)
	}
	volume := schemas["SettlementReport"].(map[string]any)["properties"].(map[string]any)["volume"].(map[string]any)
	if volume["type"] != "string" {
		t.Errorf("SettlementReport.volume is %v; want a string", volume)
	}
	// Integers stay integers (json.Number, not 400.0).
	if !strings.Contains(string(out), `"const": 400`) {
		t.Error(`no "const": 400 in the prepared document: integers were not kept exact`)
	}
}

// TestRun: the command writes the file, and says how it is used when
// called wrong.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	out := filepath.Join(dir, "out.json")
	if err := os.WriteFile(in, []byte(`{"openapi":"3.1.1","webhooks":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-o", out, in}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || strings.Contains(string(b), "webhooks") {
		t.Errorf("wrote %q, %v", b, err)
	}
	for _, args := range [][]string{{in}, {"-o", out}, {"-o", out, in, in}} {
		if err := run(args, io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v; want the usage", args, err)
		}
	}
	if err := run([]string{"-o", out, filepath.Join(dir, "missing.json")}, io.Discard); err == nil {
		t.Error("a missing input was not refused")
	}
}
