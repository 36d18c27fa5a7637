package callback

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hulian/hulian/internal/fault"
)

// URLMax bounds a callback URL, in bytes.
const URLMax = 2048

// ErrURL means a callback URL was refused at registration: not an
// absolute https URL (http only where private addresses are allowed),
// credentials in it, too long, or a host that is not a public address.
// The caller fixes the URL; the message says what is wrong.
var ErrURL = fault.New(fault.Invalid, "", "callback URL refused")

// ErrAddress means a callback was not sent because its host resolved to
// an address that is not public (loopback, private, link-local, …): the
// participant must register a URL that reaches it on the internet. A
// delivery that meets it fails and is retried like any other.
var ErrAddress = fault.New(fault.Unavailable, "", "callback address not public")

// CheckURL checks a callback URL when a participant registers it: empty
// (no callbacks), or an absolute https URL of at most URLMax bytes
// without credentials whose host is, or resolves to, public addresses
// only. With allowPrivate (development, tests, the demo), http is
// accepted and any address. A host name is resolved here (within
// ResolveTimeout) and again at dial time, where the answer may differ
// (DNS rebinding): here a name that resolves to a private address is
// refused, one that does not resolve now is let through to the dial-time
// check. Names that can only mean this machine (localhost) or a numeric
// address in a form that some resolvers read as an IP (2130706433,
// 0x7f.1) are refused without asking. Errors wrap ErrURL.
func CheckURL(raw string, allowPrivate bool) error {
	if raw == "" {
		return nil
	}
	if len(raw) > URLMax {
		return fmt.Errorf("%w: callbackUrl is longer than %d bytes", ErrURL, URLMax)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("%w: callbackUrl must be an absolute https URL", ErrURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: callbackUrl must not carry credentials", ErrURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	case u.Scheme == "http":
		return fmt.Errorf("%w: callbackUrl must be https (http only on a switch started with --callback-allow-private)", ErrURL)
	default:
		return fmt.Errorf("%w: callbackUrl must be an absolute https URL", ErrURL)
	}
	if allowPrivate {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		if !Public(a) {
			return fmt.Errorf("%w: callbackUrl host %s is not a public address", ErrURL, a)
		}
		return nil
	}
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("%w: callbackUrl host %q is not a public address", ErrURL, host)
	}
	if numeric(host) {
		return fmt.Errorf("%w: callbackUrl host %q looks like an IP address in a non-standard form", ErrURL, host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ResolveTimeout)
	defer cancel()
	addrs, err := resolve(ctx, host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if !Public(a) {
			return fmt.Errorf("%w: callbackUrl host %q resolves to %s, which is not a public address", ErrURL, host, a)
		}
	}
	return nil
}

// ResolveTimeout bounds the resolution of a callback URL's host at
// registration.
const ResolveTimeout = 2 * time.Second

// resolve looks a host name up; tests replace it.
var resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// numeric reports whether a host's last label is a number (decimal, or
// hex with 0x): no DNS name ends so, but inet_aton-style resolvers read
// "2130706433", "127.1" or "0x7f.0.0.1" as an IPv4 address.
func numeric(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = rest, "0123456789abcdef"
	}
	return strings.Trim(last, digits) == ""
}

// Public reports whether a is an address a callback may go to: a
// globally routable unicast address. Loopback, private (RFC 1918, RFC
// 4193), link-local (incl. the cloud metadata address 169.254.169.254),
// unspecified, multicast, broadcast, shared (CGNAT), documentation,
// benchmarking and reserved ranges are not, nor IPv6 addresses that
// embed or map such an IPv4 address.
func Public(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return false // a zone only means something on a local link
	}
	a = a.Unmap()
	if a.Is4() {
		return public4(a)
	}
	switch {
	case nat64.Contains(a):
		// The well-known NAT64 prefix carries an IPv4 address in its last
		// 32 bits, and the translator would reach that address.
		b := a.As16()
		return public4(netip.AddrFrom4([4]byte(b[12:])))
	case sixToFour.Contains(a):
		b := a.As16()
		return public4(netip.AddrFrom4([4]byte(b[2:6])))
	case !globalUnicast6.Contains(a): // ::/8 (incl. IPv4-compatible), fc00::/7, fe80::/10, ff00::/8, …
		return false
	}
	for _, p := range special6 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func public4(a netip.Addr) bool {
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() {
		return false
	}
	for _, p := range special4 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
)

// special4 are IPv4 ranges that are not globally reachable (IANA's
// special-purpose registry) beyond those netip names.
var special4 = prefixes(
	"0.0.0.0/8",       // this network
	"100.64.0.0/10",   // shared address space (CGNAT)
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"240.0.0.0/4",     // reserved, and the broadcast address
)

// special6 are ranges inside 2000::/3 that are not globally reachable.
var special6 = prefixes(
	"2001::/23",     // IETF protocol assignments, incl. Teredo
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation (RFC 9637)
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// dialer returns the dialer of callbacks. Unless allowPrivate, its
// Control hook refuses any address that is not Public: it runs on the
// address actually dialled, after DNS resolution, so a name that
// resolves (or is rebound) to an internal address is refused too.
func dialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: dialTimeout}
	if !allowPrivate {
		d.ControlContext = func(_ context.Context, network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s %q", ErrAddress, network, address)
			}
			if !Public(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrAddress, ap.Addr())
			}
			return nil
		}
	}
	return d
}
