package callback_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/participant"
)

func TestPublic(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.215.14", true},
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001:80b::200e", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true},   // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},    // 6to4 of 8.8.8.8
		{"100.63.255.255", true},     // just below CGNAT
		{"100.128.0.0", true},        // just above CGNAT
		{"172.15.255.255", true},     // just below 172.16/12
		{"172.32.0.0", true},         // just above
		{"169.253.255.255", true},    // just below link-local
		{"223.255.255.255", true},    // last unicast below multicast
		{"127.0.0.1", false},         // loopback
		{"127.255.255.254", false},   // loopback
		{"::1", false},               // loopback
		{"10.0.0.1", false},          // RFC 1918
		{"172.16.0.1", false},        // RFC 1918
		{"172.31.255.255", false},    // RFC 1918
		{"192.168.1.1", false},       // RFC 1918
		{"fc00::1", false},           // RFC 4193
		{"fd12:3456:789a::1", false}, // RFC 4193
		{"169.254.169.254", false},   // link-local: cloud metadata
		{"169.254.0.1", false},       // link-local
		{"fe80::1", false},           // link-local
		{"fe80::1%eth0", false},      // zoned
		{"0.0.0.0", false},           // unspecified
		{"::", false},                // unspecified
		{"0.1.2.3", false},           // this network
		{"100.64.0.1", false},        // CGNAT
		{"100.127.255.255", false},   // CGNAT
		{"224.0.0.1", false},         // multicast
		{"239.255.255.250", false},   // multicast
		{"ff02::1", false},           // multicast
		{"ff0e::1", false},           // multicast
		{"255.255.255.255", false},   // broadcast
		{"240.0.0.1", false},         // reserved
		{"192.0.0.8", false},         // IETF protocol assignments
		{"192.0.2.1", false},         // documentation
		{"198.51.100.1", false},      // documentation
		{"203.0.113.1", false},       // documentation
		{"198.18.0.1", false},        // benchmarking
		{"192.88.99.1", false},       // 6to4 relay anycast
		{"2001:db8::1", false},       // documentation
		{"3fff::1", false},           // documentation
		{"2001::1", false},           // Teredo
		{"fec0::1", false},           // site-local (deprecated)
		{"100::1", false},            // discard
		{"::ffff:127.0.0.1", false},  // IPv4-mapped loopback
		{"::ffff:10.0.0.1", false},   // IPv4-mapped private
		{"::ffff:169.254.169.254", false},
		{"::127.0.0.1", false},        // IPv4-compatible (deprecated)
		{"64:ff9b::7f00:1", false},    // NAT64 of loopback
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of the metadata address
		{"64:ff9b:1::808:808", false}, // local-use NAT64
		{"2002:7f00:1::1", false},     // 6to4 of loopback
		{"2002:c0a8:101::1", false},   // 6to4 of 192.168.1.1
		{"5f00::1", false},            // SRv6 SIDs
	} {
		a, err := netip.ParseAddr(tc.addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		if got := callback.Public(a); got != tc.public {
			t.Errorf("Public(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
	if callback.Public(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

func TestCheckURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", callback.URLMax)
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"", false, true}, // no callbacks
		{"https://wallet.example.com/hulian", false, true},
		{"https://wallet.example.com:8443/hulian?x=1", false, true},
		{"https://8.8.8.8/cb", false, true},
		{"https://[2606:4700:4700::1111]/cb", false, true},
		{"https://WALLET.example.com./cb", false, true},
		{"https://123.example.com/cb", false, true},
		{"http://wallet.example.com/cb", false, false}, // plain http
		{"http://wallet.example.com/cb", true, true},
		{"http://127.0.0.1:8080/cb", false, false},
		{"http://127.0.0.1:8080/cb", true, true},
		{"https://127.0.0.1/cb", false, false},
		{"https://169.254.169.254/", false, false},
		{"https://169.254.169.254/", true, true},
		{"https://10.1.2.3/cb", false, false},
		{"https://192.168.0.10/cb", false, false},
		{"https://100.64.1.1/cb", false, false},
		{"https://0.0.0.0/cb", false, false},
		{"https://[::1]/cb", false, false},
		{"https://[::]/cb", false, false},
		{"https://[fe80::1%25eth0]/cb", false, false},
		{"https://[fd00::1]/cb", false, false},
		{"https://[::ffff:127.0.0.1]/cb", false, false},
		{"https://[::ffff:169.254.169.254]/cb", false, false},
		{"https://localhost/cb", false, false},
		{"https://LocalHost./cb", false, false},
		{"https://api.localhost/cb", false, false},
		{"https://2130706433/cb", false, false}, // 127.0.0.1 to inet_aton
		{"https://127.1/cb", false, false},
		{"https://0x7f000001/cb", false, false},
		{"https://0x7f.0.0.1/cb", false, false},
		{"https://017700000001/cb", false, false},
		{"https://user:pw@wallet.example.com/cb", false, false},
		{"https://user:pw@wallet.example.com/cb", true, false},
		{"ftp://wallet.example.com/cb", true, false},
		{"file:///etc/passwd", true, false},
		{"gopher://wallet.example.com/", true, false},
		{"https:wallet.example.com", true, false}, // opaque
		{"//wallet.example.com/cb", true, false},  // not absolute
		{"/cb", true, false},
		{"https:///cb", true, false}, // no host
		{"https://wallet.example.com/\x7f", true, false},
		{long, true, false},
	} {
		err := callback.CheckURL(tc.url, tc.allowPrivate)
		if tc.ok != (err == nil) {
			t.Errorf("CheckURL(%q, %v) = %v, want ok=%v", tc.url, tc.allowPrivate, err, tc.ok)
		}
		if err != nil && (!errors.Is(err, callback.ErrURL) || fault.KindOf(err) != fault.Invalid) {
			t.Errorf("CheckURL(%q): %v is not an ErrURL of kind invalid", tc.url, err)
		}
	}
}

// TestDialPrivate posts to a loopback server by a name ("localhost")
// that passes registration's IP check: without allowPrivate the dial is
// refused after the name resolves, and the server hears nothing.
func TestDialPrivate(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	for _, host := range []string{"localhost", "127.0.0.1"} {
		// https, so that it is the dialer that refuses (before any TLS).
		p := participant.Participant{ID: "wallet-x", CallbackURL: "https://" + host + ":" + port + "/cb"}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := callback.NewClient(api.Callbacks{}, time.Now, false).Post(ctx, &p, []byte(`{}`))
		cancel()
		if !errors.Is(err, callback.ErrAddress) || !strings.Contains(err.Error(), "dial") {
			t.Errorf("%s without allowPrivate: %v, want ErrAddress from the dialer", host, err)
		}
		// Plain http is not even tried: a URL an older release accepted.
		p.CallbackURL = "http://" + host + ":" + port + "/cb"
		if _, err := callback.NewClient(api.Callbacks{}, time.Now, false).Post(context.Background(), &p, []byte(`{}`)); !errors.Is(err, callback.ErrAddress) {
			t.Errorf("http to %s without allowPrivate: %v, want ErrAddress", host, err)
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("%s: the server got %d requests", host, n)
		}
	}
	p := participant.Participant{ID: "wallet-x", CallbackURL: "http://localhost:" + port + "/cb"}
	if _, err := callback.NewClient(api.Callbacks{}, time.Now, true).Post(context.Background(), &p, []byte(`{}`)); err != nil {
		t.Fatalf("with allowPrivate: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("with allowPrivate: the server got %d requests, want 1", hits.Load())
	}
}

// TestNoRedirect checks that a redirect is a refusal, and that its
// target hears nothing.
func TestNoRedirect(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		from := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", code)
		}))
		p := participant.Participant{ID: "wallet-x", CallbackURL: from.URL}
		_, err := callback.NewClient(api.Callbacks{}, time.Now, true).Post(context.Background(), &p, []byte(`{}`))
		from.Close()
		if !errors.Is(err, callback.ErrRefused) {
			t.Errorf("%d: %v, want ErrRefused", code, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

// TestCheckURLResolves: at registration a host name is resolved, and one
// that resolves to any non-public address is refused; one that does not
// resolve now is left to the dial-time check.
func TestCheckURLResolves(t *testing.T) {
	answers := map[string][]netip.Addr{
		"rebind.example.com": {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")},
		"meta.example.com":   {netip.MustParseAddr("169.254.169.254")},
		"v6.example.com":     {netip.MustParseAddr("::ffff:127.0.0.1")},
		"ok.example.com":     {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("2606:2800:220:1::1")},
	}
	defer callback.SetResolver(func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := answers[host]; ok {
			return a, nil
		}
		return nil, errors.New("no such host")
	})()
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"https://rebind.example.com/cb", false},
		{"https://meta.example.com/cb", false},
		{"https://v6.example.com/cb", false},
		{"https://ok.example.com/cb", true},
		{"https://unknown.example.com/cb", true},
	} {
		err := callback.CheckURL(c.url, false)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, callback.ErrURL) {
			t.Errorf("CheckURL(%s) = %v, want ok %v", c.url, err, c.ok)
		}
		if err := callback.CheckURL(c.url, true); err != nil {
			t.Errorf("CheckURL(%s) with private addresses allowed = %v", c.url, err)
		}
	}
}
