package cluster

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/fault"
)

// Defaults and limits of Config.
const (
	// DefaultRenew is how often a node renews the lease and reports
	// (--lease-renew).
	DefaultRenew = time.Second
	// DefaultTTL is how long the lease outlives its last renewal
	// (--lease-ttl): the longest a cluster can be without a leader after
	// its leader dies, plus one Renew to notice.
	DefaultTTL = 5 * time.Second
	// RenewMin keeps a mistyped --lease-renew from hammering the database.
	RenewMin = 10 * time.Millisecond
	// NodeMax is the longest node id, in bytes.
	NodeMax = 64
	// AddrMax is the longest advertised address, in bytes.
	AddrMax = 255
)

// ErrConfig means a Config is unusable; the wrapped message says which
// field and why. The operator must fix the flags.
var ErrConfig = fault.New(fault.Invalid, "cluster-config", "invalid cluster configuration")

// Config is one node's part in the cluster. The zero durations mean the
// defaults; Validate says what else is required.
type Config struct {
	// Node names this node (--node-id): unique among the nodes sharing the
	// database, at most NodeMax bytes of printable characters and no
	// spaces, so that it reads unquoted in logs and the members' table.
	Node string
	// Addr is where the other nodes reach this one (--advertise-addr,
	// host:port): followers forward writes to the leader's Addr.
	Addr string
	// Renew is how often the lease is renewed, or watched by a follower,
	// and this node's heartbeat written; zero means DefaultRenew. It also
	// bounds every statement of the lease.
	Renew time.Duration
	// TTL is how long the lease lasts after its last renewal, by the
	// database's clock; zero means DefaultTTL. It must exceed 2×Renew, so
	// that one failed renewal does not cost the leadership.
	TTL time.Duration
	// Log receives transitions at Info and database errors at Warn, each
	// kind of error at most once per warnEvery; nil discards.
	Log *slog.Logger
}

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.Renew == 0 {
		c.Renew = DefaultRenew
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports, as ErrConfig, the first reason c (with its zero fields
// taken as the defaults) cannot run a node.
func (c Config) Validate() error {
	c = c.withDefaults()
	if err := validNode(c.Node); err != nil {
		return fmt.Errorf("%w: node id: %s", ErrConfig, err)
	}
	if err := validAddr(c.Addr); err != nil {
		return fmt.Errorf("%w: advertise address %q: %s", ErrConfig, c.Addr, err)
	}
	if c.Renew < RenewMin {
		return fmt.Errorf("%w: lease renew %v is below %v", ErrConfig, c.Renew, RenewMin)
	}
	if c.TTL <= 2*c.Renew {
		return fmt.Errorf("%w: lease ttl %v must exceed 2×renew (%v)", ErrConfig, c.TTL, 2*c.Renew)
	}
	return nil
}

// validNode explains why id is not a node id, or returns nil.
func validNode(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("required")
	case len(id) > NodeMax:
		return fmt.Errorf("%d bytes, more than %d", len(id), NodeMax)
	case !utf8.ValidString(id):
		return fmt.Errorf("%q is not UTF-8", id)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || r == ' ' {
			return fmt.Errorf("%q has a space or an unprintable character", id)
		}
	}
	return nil
}

// validAddr explains why addr is not a host:port another node can dial,
// or returns nil.
func validAddr(addr string) error {
	if addr == "" {
		return fmt.Errorf("required")
	}
	if len(addr) > AddrMax {
		return fmt.Errorf("%d bytes, more than %d", len(addr), AddrMax)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port")
	}
	if host == "" {
		// ":8080" listens everywhere but tells another node nothing.
		return fmt.Errorf("no host")
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("port %q is not 1–65535", port)
	}
	return nil
}
