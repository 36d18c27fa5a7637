package wire

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"transfers.committed"}`)
	h := Sign("s3cret", now, body)
	if err := Verify(h, "s3cret", body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	for name, tc := range map[string]struct {
		header, secret string
		body           []byte
		at             time.Time
	}{
		"other secret": {h, "other", body, now},
		"other body":   {h, "s3cret", []byte(`{}`), now},
		"too old":      {h, "s3cret", body, now.Add(6 * time.Minute)},
		"from future":  {h, "s3cret", body, now.Add(-6 * time.Minute)},
		"empty":        {"", "s3cret", body, now},
		"no v1":        {"t=1800000000", "s3cret", body, now},
		"bad hex":      {"t=1800000000,v1=zz", "s3cret", body, now},
		"bad time":     {"t=x,v1=00", "s3cret", body, now},
	} {
		if err := Verify(tc.header, tc.secret, tc.body, tc.at, 5*time.Minute); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSignAll(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"transfer.confirm"}`)
	both := SignAll([]string{"new", "old"}, now, body)
	if got, want := strings.Count(both, ",v1="), 2; got != want {
		t.Fatalf("%q: %d v1 entries, want %d", both, got, want)
	}
	if one := Sign("new", now, body); !strings.HasPrefix(both, one+",v1=") {
		t.Errorf("SignAll %q does not start with Sign's %q", both, one)
	}
	many := make([]string, SignaturesMax+3)
	for i := range many {
		many[i] = strings.Repeat("k", i+1)
	}
	capped := SignAll(many, now, body)
	sig := func(secret string) string { _, v, _ := strings.Cut(Sign(secret, now, body), ",v1="); return v }
	for _, tc := range []struct {
		name, header, secret string
		ok                   bool
	}{
		{"newest", both, "new", true},
		{"previous", both, "old", true},
		{"neither", both, "other", false},
		{"capped: last written", capped, many[SignaturesMax-1], true},
		{"capped: left out", capped, many[SignaturesMax], false},
		{"bad entry before good", "t=1800000000,v1=zz,v1=" + sig("new"), "new", true},
		{"two timestamps", "t=1800000000,t=1800000001,v1=" + sig("new"), "new", false},
		{"too many entries", "t=1800000000" + strings.Repeat(",v1=00", SignaturesMax) + ",v1=" + sig("new"), "new", false},
		{"at the bound", "t=1800000000" + strings.Repeat(",v1=00", SignaturesMax-1) + ",v1=" + sig("new"), "new", true},
	} {
		err := Verify(tc.header, tc.secret, body, now, time.Minute)
		if tc.ok != (err == nil) {
			t.Errorf("%s: Verify = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(Sign("s", now, []byte("{}")), []byte("{}"))
	f.Add("t=,v1=", []byte(""))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		// Never panics; a forged header never verifies under another key.
		if Verify(header, "the real secret", body, now, time.Hour) == nil && header != Sign("the real secret", now, body) {
			// A valid signature at another second within tolerance is fine;
			// check it really is one.
			if Verify(header, "not the secret", body, now, time.Hour) == nil {
				t.Fatalf("header %q verifies under two secrets", header)
			}
		}
	})
}
