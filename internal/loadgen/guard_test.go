package loadgen

import (
	"errors"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	cases := []struct {
		url         string
		allowRemote bool
		remote      bool // refused as not loopback
		invalid     bool // refused as malformed
	}{
		{url: "http://127.0.0.1:8080"},
		{url: "http://127.0.0.2:1"},
		{url: "http://127.255.255.254:1"},
		{url: "http://[::1]:1"},
		{url: "http://[::ffff:127.0.0.1]:1"},
		{url: "http://localhost:1"},
		{url: "https://LOCALHOST:8443/"},
		{url: "http://localhost.:1"},
		{url: "http://10.0.0.1:1", remote: true},
		{url: "http://10.0.0.1:1", allowRemote: true},
		{url: "http://example.com", remote: true},
		{url: "http://example.com", allowRemote: true},
		{url: "http://localhost.example.com:1", remote: true},
		{url: "http://127.0.0.1.example.com:1", remote: true},
		{url: "http://128.0.0.1:1", remote: true},
		{url: "http://0.0.0.0:1", remote: true},
		{url: "http://[::2]:1", remote: true},
		{url: "http://[::ffff:10.0.0.1]:1", remote: true},
		{url: "ftp://127.0.0.1", invalid: true},
		{url: "127.0.0.1:8080", invalid: true},
		{url: "http://", invalid: true},
		{url: "http://user:pw@127.0.0.1:1", invalid: true},
		{url: "http://127.0.0.1:1/v1/transfers", invalid: true},
		{url: "http://127.0.0.1:1?x=1", invalid: true},
	}
	for _, tc := range cases {
		u, err := CheckTarget(tc.url, tc.allowRemote)
		switch {
		case tc.remote:
			if !errors.Is(err, ErrRemoteTarget) {
				t.Errorf("CheckTarget(%q, %v) = %v, want ErrRemoteTarget", tc.url, tc.allowRemote, err)
			}
		case tc.invalid:
			if err == nil || errors.Is(err, ErrRemoteTarget) {
				t.Errorf("CheckTarget(%q, %v) = %v, want a malformed-URL error", tc.url, tc.allowRemote, err)
			}
		case err != nil:
			t.Errorf("CheckTarget(%q, %v) = %v, want accepted", tc.url, tc.allowRemote, err)
		case u.Path != "":
			t.Errorf("CheckTarget(%q): path %q left in the base URL", tc.url, u.Path)
		}
	}
}
