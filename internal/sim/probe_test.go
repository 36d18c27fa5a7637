package sim

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// probe asks p's conformance probe about transfer id, signed with key at
// time at ("" sends no signature).
func probe(t *testing.T, p *Participant, id, key string, at time.Time) (int, wire.ConformanceProbe) {
	t.Helper()
	u := p.CallbackURL() + "/conformance/transfers/" + id
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if key != "" {
		req.Header.Set(wire.SignatureHeader, wire.Sign(key, at, []byte(req.URL.EscapedPath())))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a wire.ConformanceProbe
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("probe answer %s: %v", b, err)
		}
	} else if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("probe %d answered %q", resp.StatusCode, ct)
	}
	return resp.StatusCode, a
}

func TestProbe(t *testing.T) {
	p := newTestParticipant(t, Config{})
	p.Connect(nil, secret)
	p.Books().Open("u-1", "王伟", 0)
	now := time.Now()
	cb := wire.Callback{Event: wire.EventTransfersCommitted, Transfers: []wire.Transfer{committed("t1", "u-1", "10.00")}}
	for range 2 {
		if st, _ := callback(t, p, cb, secret, now); st != http.StatusNoContent {
			t.Fatalf("signed: %d", st)
		}
	}
	for _, tc := range []struct {
		name, id, key string
		at            time.Time
		status        int
		want          wire.ConformanceProbe
	}{
		{"credited once, delivered twice", "t1", secret, now, http.StatusOK, wire.ConformanceProbe{TransferID: "t1", Credits: 1, Amount: "10.00", Currency: "CNY"}},
		{"never delivered", "t2", secret, now, http.StatusNotFound, wire.ConformanceProbe{}},
		{"unsigned", "t1", "", now, http.StatusUnauthorized, wire.ConformanceProbe{}},
		{"other secret", "t1", "guess", now, http.StatusUnauthorized, wire.ConformanceProbe{}},
		{"stale", "t1", secret, now.Add(-10 * time.Minute), http.StatusUnauthorized, wire.ConformanceProbe{}},
	} {
		st, a := probe(t, p, tc.id, tc.key, tc.at)
		if st != tc.status || a != tc.want {
			t.Errorf("%s: %d %+v, want %d %+v", tc.name, st, a, tc.status, tc.want)
		}
	}
	// The probe is not a callback: it changes no callback counter.
	if cs := p.CallbackStats(); cs.BadSignatures != 0 || cs.Callbacks != 2 {
		t.Errorf("stats: %+v", cs)
	}
}
