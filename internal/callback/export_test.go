package callback

import (
	"context"
	"net/netip"
)

// SetResolver replaces the resolver of CheckURL until the returned
// function restores it.
func SetResolver(f func(ctx context.Context, host string) ([]netip.Addr, error)) (restore func()) {
	old := resolve
	resolve = f
	return func() { resolve = old }
}
