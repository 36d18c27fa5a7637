package msg

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/hulian/hulian/internal/fault"
)

// FuzzParse checks that Parse never panics, refuses only with kind
// Invalid, and that whatever it accepts and Marshal can render comes back
// identical through Marshal and Parse. Seeds: testdata/fuzz/FuzzParse
// (the golden messages and hostile variants).
func FuzzParse(f *testing.F) {
	for _, d := range samples() {
		b, err := Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(bytes.NewReader(data), 1<<20)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid {
				t.Fatalf("Parse refused with kind %v: %v", k, err)
			}
			return
		}
		out, err := Marshal(doc)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid {
				t.Fatalf("Marshal refused with kind %v: %v", k, err)
			}
			return
		}
		back, err := Parse(bytes.NewReader(out), 1<<20)
		if err != nil {
			t.Fatalf("Parse(Marshal(doc)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, doc) {
			t.Fatalf("round trip changed the document:\n%+v\n%+v", doc, back)
		}
		again, err := Marshal(back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Marshal is not stable (err %v)", err)
		}
	})
}
