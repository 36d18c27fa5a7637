package spec

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzCheck: whatever a message holds, the validator answers it as
// conforming or not and stays in step: it never dies, hangs or hands one
// caller another's answer (a valid message checked after each fuzzed one
// must still conform).
func FuzzCheck(f *testing.F) {
	for _, name := range sorted(valid) {
		m := valid[name]
		f.Add(m.method, m.path, m.h.Get("Content-Type"), m.h.Get("Date"), []byte(m.body))
	}
	f.Add("PUT", "/parties/%", "", "", []byte(`{"party":{"partyIdInfo":[]}}`))
	f.Add("get", "", "\u2028", "Mon, 07 Dec 2026 00:50:48 GMT\n", []byte(`"\u2028"`))
	f.Add("POST", "/transfers?x=%zz", "application/vnd.interoperability.transfers+json;version=1.1", "", []byte(`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, method, path, contentType, date string, body []byte) {
		v := Start(t)
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set("Date", date)
		h.Set("FSPIOP-Source", "payerfsp")
		if err := v.Check("1.1", method, path, h, body); err != nil && !errors.Is(err, ErrNonconforming) {
			t.Fatalf("Check(%q %q): %v", method, path, err)
		}
		if err := v.CheckResponse("1.1", method, path, 400, body); err != nil && !errors.Is(err, ErrNonconforming) {
			t.Fatalf("CheckResponse(%q %q): %v", method, path, err)
		}
		ok := valid["PUT transfers"]
		if err := ok.check(v); err != nil {
			t.Fatalf("after %q %q, a valid message: %v", method, path, err)
		}
	})
}
