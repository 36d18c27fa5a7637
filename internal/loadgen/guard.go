package loadgen

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// ErrRemoteTarget means the target is not on this machine and remote
// targets were not allowed. A load test saturates what it hits; pointing
// it at a shared or production switch by a typo must take a deliberate
// flag.
var ErrRemoteTarget = errors.New("target is not a loopback address (pass --allow-remote to load-test another machine)")

// CheckTarget parses a target base URL (http or https, host and optional
// port, no path beyond "/", no credentials) and, unless allowRemote,
// refuses hosts that are not loopback: 127.0.0.0/8, ::1 (also as an
// IPv4-mapped address) and the name "localhost". Other names are refused
// without resolving them: what a name resolves to can change between
// this check and the connection.
func CheckTarget(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("target %q: the scheme must be http or https", raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("target %q: no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("target %q: credentials do not belong in the URL (use --token)", raw)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, fmt.Errorf("target %q: give the switch's base URL only (scheme://host:port)", raw)
	}
	u.Path = ""
	if !allowRemote && !IsLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("target %q: %w", raw, ErrRemoteTarget)
	}
	return u, nil
}

// IsLoopbackHost reports whether host (as url.URL.Hostname returns it:
// no brackets, no port) is a loopback address or "localhost".
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return a.WithZone("").Unmap().IsLoopback()
}
