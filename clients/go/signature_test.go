package hulian_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	hulian "github.com/hulian/hulian/clients/go"
)

// hmacHex is the HMAC of ts "." body under secret, written here again so
// that the test does not take Sign's word for it.
func hmacHex(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"transfers.committed"}`)
	good := "t=1800000000,v1=" + hmacHex("new", "1800000000", body)
	both := hulian.Sign([]string{"new", "old"}, at, body)
	if want := good + ",v1=" + hmacHex("old", "1800000000", body); both != want {
		t.Fatalf("Sign = %q, want %q", both, want)
	}
	for _, tc := range []struct {
		name    string
		header  string
		body    []byte
		now     time.Time
		secrets []string
		want    error // nil: accepted
	}{
		{"valid", good, body, at, []string{"new"}, nil},
		{"rotation: the new secret", both, body, at, []string{"new"}, nil},
		{"rotation: the old secret", both, body, at, []string{"old"}, nil},
		{"rotation: receiver holds both", good, body, at, []string{"old", "new"}, nil},
		{"wrong secret", good, body, at, []string{"other"}, hulian.ErrSignatureMismatch},
		{"no secret held", good, body, at, nil, hulian.ErrSignatureMismatch},
		{"an empty secret verifies nothing", hulian.Sign([]string{""}, at, body), body, at, []string{""}, hulian.ErrSignatureMismatch},
		{"changed body", good, []byte(`{"event":"transfers.committed" }`), at, []string{"new"}, hulian.ErrSignatureMismatch},
		{"at the tolerance", good, body, at.Add(5 * time.Minute), []string{"new"}, nil},
		{"stale", good, body, at.Add(5*time.Minute + time.Nanosecond), []string{"new"}, hulian.ErrSignatureStale},
		{"future, at the tolerance", good, body, at.Add(-5 * time.Minute), []string{"new"}, nil},
		{"future", good, body, at.Add(-5*time.Minute - time.Nanosecond), []string{"new"}, hulian.ErrSignatureStale},
		{"stale and wrong: stale first", good, body, at.Add(time.Hour), []string{"other"}, hulian.ErrSignatureStale},
		{"missing", "", body, at, []string{"new"}, hulian.ErrSignatureMissing},
		{"blank", " ", body, at, []string{"new"}, hulian.ErrSignatureMalformed},
		{"no v1", "t=1800000000", body, at, []string{"new"}, hulian.ErrSignatureMalformed},
		{"no t", strings.TrimPrefix(good, "t=1800000000,"), body, at, []string{"new"}, hulian.ErrSignatureMalformed},
		{"t not a number", "t=soon,v1=00", body, at, []string{"new"}, hulian.ErrSignatureMalformed},
		{"two timestamps", "t=1800000000," + good, body, at, []string{"new"}, hulian.ErrSignatureMalformed},
		{"a space after the comma", "t=1800000000, v1=" + hmacHex("new", "1800000000", body), body, at, []string{"new"}, hulian.ErrSignatureMalformed},
		{"too many v1", good + strings.Repeat(",v1=00", hulian.SignaturesMax), body, at, []string{"new"}, hulian.ErrSignatureMalformed},
		{"at the bound of v1", good + strings.Repeat(",v1=00", hulian.SignaturesMax-1), body, at, []string{"new"}, nil},
		{"bad hex before a good entry", "t=1800000000,v1=zz,v1=" + hmacHex("new", "1800000000", body), body, at, []string{"new"}, nil},
		{"upper-case hex", good[:16] + strings.ToUpper(good[16:]), body, at, []string{"new"}, nil},
		{"a valid v1 and one more digit", good + "0", body, at, []string{"new"}, hulian.ErrSignatureMismatch},
		{"empty v1", "t=1800000000,v1=", body, at, []string{"new"}, hulian.ErrSignatureMismatch},
		{"unknown keys are ignored", good + ",v0=00,x", body, at, []string{"new"}, nil},
		{"empty body", hulian.Sign([]string{"new"}, at, nil), nil, at, []string{"new"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := hulian.VerifySignature(tc.header, tc.body, tc.now, hulian.SignatureTolerance, tc.secrets...)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("VerifySignature(%q) = %v, want %v", tc.header, err, tc.want)
			}
			var se *hulian.SignatureError
			if err != nil && !errors.As(err, &se) {
				t.Errorf("%v is not a *SignatureError", err)
			}
		})
	}
}

func TestSignCaps(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	many := make([]string, hulian.SignaturesMax+2)
	for i := range many {
		many[i] = fmt.Sprint("secret-", i)
	}
	h := hulian.Sign(many, at, []byte("{}"))
	if got := strings.Count(h, ",v1="); got != hulian.SignaturesMax {
		t.Fatalf("%d v1 entries, want %d", got, hulian.SignaturesMax)
	}
	for i, s := range many {
		err := hulian.VerifySignature(h, []byte("{}"), at, time.Minute, s)
		if (i < hulian.SignaturesMax) != (err == nil) {
			t.Errorf("secret %d: %v", i, err)
		}
	}
}

func TestVerifyCallbacks(t *testing.T) {
	secrets := []string{"new", "old"}
	var got []byte
	srv := httptest.NewServer(hulian.VerifyCallbacks(func() []string { return secrets }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	})))
	defer srv.Close()
	body := `{"event":"transfers.committed","transfers":[]}`
	probe := "/hooks/conformance/transfers/t-1"
	big := strings.Repeat(" ", hulian.CallbackBytesMax+1)
	for _, tc := range []struct {
		name, method, path, body, header string
		want                             int
	}{
		{"signed", "POST", "/hooks", body, hulian.Sign([]string{"old"}, time.Now(), []byte(body)), http.StatusNoContent},
		{"unsigned", "POST", "/hooks", body, "", http.StatusUnauthorized},
		{"another secret", "POST", "/hooks", body, hulian.Sign([]string{"other"}, time.Now(), []byte(body)), http.StatusUnauthorized},
		{"stale", "POST", "/hooks", body, hulian.Sign(secrets, time.Now().Add(-10*time.Minute), []byte(body)), http.StatusUnauthorized},
		{"another body", "POST", "/hooks", body + " ", hulian.Sign(secrets, time.Now(), []byte(body)), http.StatusUnauthorized},
		{"too large", "POST", "/hooks", big, hulian.Sign(secrets, time.Now(), []byte(big)), http.StatusRequestEntityTooLarge},
		{"probe signed over its path", "GET", probe, "", hulian.Sign(secrets, time.Now(), []byte(probe)), http.StatusNoContent},
		{"probe signed over another path", "GET", probe, "", hulian.Sign(secrets, time.Now(), []byte("/hooks/conformance/transfers/t-2")), http.StatusUnauthorized},
		{"probe signed over an empty body", "GET", probe, "", hulian.Sign(secrets, time.Now(), nil), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				req.Header.Set(hulian.SignatureHeader, tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, answer, tc.want)
			}
			if tc.want != http.StatusNoContent {
				var p struct {
					Type   string
					Status int
				}
				if err := json.Unmarshal(answer, &p); err != nil || p.Status != tc.want || !strings.HasPrefix(p.Type, hulian.ProblemTypeBase) ||
					resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("answer %s (%s, %v), want a problem document", answer, resp.Header.Get("Content-Type"), err)
				}
				if got != nil {
					t.Error("a refused request reached the handler")
				}
				return
			}
			if string(got) != tc.body {
				t.Errorf("the handler read %q, want the body as sent %q", got, tc.body)
			}
		})
	}
}

// ExampleVerifySignature verifies a callback in a handler of one's own.
func ExampleVerifySignature() {
	secrets := []string{os.Getenv("HULIAN_CALLBACK_SECRET")} // two during a rotation
	http.HandleFunc("POST /hulian/callbacks", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, hulian.CallbackBytesMax))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := hulian.VerifySignature(r.Header.Get(hulian.SignatureHeader), body, time.Now(), hulian.SignatureTolerance, secrets...); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized) // errors.Is(err, hulian.ErrSignatureStale): check the clock
			return
		}
		var cb hulian.TransfersCommitted
		if err := json.Unmarshal(body, &cb); err != nil {
			http.Error(w, "not a callback", http.StatusBadRequest)
			return
		}
		// credit cb.Transfers, once each (by transfer id), then answer 2xx
	})
}

// ExampleVerifyCallbacks lets only signed callbacks reach a handler.
func ExampleVerifyCallbacks() {
	secrets := func() []string { return []string{os.Getenv("HULIAN_CALLBACK_SECRET")} }
	callbacks := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// r.Body is the verified body, whole
	})
	http.Handle("/hulian/callbacks/", hulian.VerifyCallbacks(secrets, callbacks))
}

// Environment of TestSignatureCases, which the main module's tests
// (clients/signature_test.go) set to run the headers the switch's own
// code makes through this module.
const (
	casesEnv    = "HULIAN_SIGNATURE_CASES"
	verdictsEnv = "HULIAN_SIGNATURE_VERDICTS"
)

// signatureCase is one header to verify; the main module's tests write
// them with the switch's own signing code and compare the verdicts with
// its own verification's and the TypeScript client's.
type signatureCase struct {
	Name        string   `json:"name"`
	Header      string   `json:"header"`
	Body        string   `json:"body"` // base64
	NowMs       int64    `json:"nowMs"`
	ToleranceMs int64    `json:"toleranceMs"`
	Secrets     []string `json:"secrets"`
	SignAtMs    int64    `json:"signAtMs"`    // with SignSecrets: Sign(SignSecrets, SignAtMs, Body) must be Header
	SignSecrets []string `json:"signSecrets"` // nil: not a case of Sign
}

// TestSignatureCases writes to $HULIAN_SIGNATURE_VERDICTS the verdict of
// VerifySignature ("ok", "missing", "malformed", "stale", "mismatch") and
// what Sign makes, for each case of $HULIAN_SIGNATURE_CASES.
func TestSignatureCases(t *testing.T) {
	in, out := os.Getenv(casesEnv), os.Getenv(verdictsEnv)
	if in == "" || out == "" {
		t.Skipf("run by the main module's clients tests, with %s and %s", casesEnv, verdictsEnv)
	}
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var cases []signatureCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	type verdict struct {
		Name    string `json:"name"`
		Verdict string `json:"verdict"`
		Signed  string `json:"signed,omitempty"`
	}
	verdicts := make([]verdict, len(cases))
	for i, c := range cases {
		body, err := base64.StdEncoding.DecodeString(c.Body)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		v := verdict{Name: c.Name, Verdict: verdictOf(hulian.VerifySignature(c.Header, body, time.UnixMilli(c.NowMs),
			time.Duration(c.ToleranceMs)*time.Millisecond, c.Secrets...))}
		if c.SignSecrets != nil {
			v.Signed = hulian.Sign(c.SignSecrets, time.UnixMilli(c.SignAtMs), body)
		}
		verdicts[i] = v
	}
	b, err = json.Marshal(verdicts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func verdictOf(err error) string {
	for _, e := range []struct {
		err  error
		name string
	}{{nil, "ok"}, {hulian.ErrSignatureMissing, "missing"}, {hulian.ErrSignatureMalformed, "malformed"},
		{hulian.ErrSignatureStale, "stale"}, {hulian.ErrSignatureMismatch, "mismatch"}} {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	return "unexpected: " + err.Error()
}
