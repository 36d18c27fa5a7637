// Package auth decides who is calling and what they may do. It owns the
// principals and their roles — the operator who runs the scheme, the
// regulator who oversees it read-only, the participants who transact
// for themselves, and later the console's users —, authentication from
// the credentials a request carries (operator and regulator tokens,
// participants' API keys; later sessions and client certificates), and
// the authorization decisions that front ends ask for.
//
// The regulator is a role of its own, not a reduced operator: it may
// read what the operator reads and co-sign the audit log, and a rule
// here, not a flag in each handler, keeps it from changing anything.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/participant"
)

// Role is what a principal is to the scheme.
type Role uint8

// The roles.
const (
	// RoleOperator runs the scheme: it reads and changes everything.
	RoleOperator Role = iota + 1
	// RoleRegulator oversees the scheme: it reads everything the operator
	// reads, co-signs the audit log, and changes nothing.
	RoleRegulator
	// RoleParticipant is a wallet, bank or FX provider acting for itself.
	RoleParticipant
)

var roleNames = [...]string{"", "operator", "regulator", "participant"}

// String names the role.
func (r Role) String() string {
	if int(r) < len(roleNames) && r != 0 {
		return roleNames[r]
	}
	return "none"
}

// Principal is an authenticated caller.
type Principal struct {
	Role Role
	// Participant is the participant a RoleParticipant principal acts
	// for; zero for the others.
	Participant participant.Participant
	// PreviousKey says the participant authenticated with its previous
	// API key, in a rotation's grace period: it may transact but not
	// change credentials or settings.
	PreviousKey bool
}

// SeesAll reports whether the principal reads scheme-wide: the operator
// and the regulator do.
func (p *Principal) SeesAll() bool { return p.Role == RoleOperator || p.Role == RoleRegulator }

// Covers reports whether the principal may see what concerns participant
// id: the operator and the regulator see every participant, a
// participant only itself. Whether it may also change it is Allow's
// decision, by operation.
func (p *Principal) Covers(id string) bool {
	return p.SeesAll() || p.Role == RoleParticipant && p.Participant.ID == id
}

// ParticipantID is the id of the participant the principal acts for, or
// "" for a principal who sees all. A principal with no role (a public
// route's) gets an id no participant can have, which sees nothing:
// scoping fails closed.
func (p *Principal) ParticipantID() string {
	switch {
	case p.Role == RoleParticipant:
		return p.Participant.ID
	case p.SeesAll():
		return ""
	}
	return noParticipant
}

// noParticipant is not a participant id (participant.ValidID).
const noParticipant = "(none)"

// Access says who may call an operation: the levels that the API
// documents name in x-hulian-access.
type Access uint8

// The access levels.
const (
	// Public operations need no credentials.
	Public Access = iota
	// OperatorOnly operations are the operator's; the regulator may call
	// those that only read.
	OperatorOnly
	// Anyone may call these with credentials; what a participant sees of
	// the answer is scoped to itself. The regulator may call those that
	// only read.
	Anyone
	// ParticipantOnly operations are participants' acting for
	// themselves: payments, aliases, quotes.
	ParticipantOnly
	// AuditorOnly operations are the operator's and the regulator's.
	AuditorOnly
	// Cosigner operations are open to every principal: any of them may
	// witness the audit log.
	Cosigner
)

// Errors of authentication and authorization.
var (
	// ErrUnauthenticated means the credentials are missing or wrong.
	ErrUnauthenticated = fault.New(fault.Unauthorized, "", "missing or invalid credentials")
	// ErrForbidden means the principal may not call the operation.
	ErrForbidden = fault.New(fault.Forbidden, "", "not allowed for these credentials")
)

// denial is Allow's refusal: ErrForbidden, whose message is the reason
// alone (the JSON API's detail).
type denial struct{ reason string }

func (d *denial) Error() string { return d.reason }
func (d *denial) Unwrap() error { return ErrForbidden }

// Allow decides whether p may call an operation of access a; read says
// the operation only reads (an HTTP GET or HEAD). It returns nil, or an
// error that is ErrForbidden and says why.
func Allow(p *Principal, a Access, read bool) error {
	if a == Public || a == Cosigner {
		return nil
	}
	switch p.Role {
	case RoleOperator:
		if a == ParticipantOnly {
			return &denial{"only a participant may do this"}
		}
		return nil
	case RoleRegulator:
		if a == AuditorOnly || read && (a == OperatorOnly || a == Anyone) {
			return nil
		}
		return &denial{"the regulator's token is read-only"}
	case RoleParticipant:
		switch a {
		case Anyone, ParticipantOnly:
			return nil
		case AuditorOnly:
			return &denial{"only the operator or the regulator may do this"}
		}
		return &denial{"only the operator may do this"}
	}
	return &denial{"unknown role"}
}

// sumString is the SHA-256 of s, without the heap copy of s that
// sha256.Sum256([]byte(s)) makes for a token longer than 32 bytes: every
// request hashes its token.
func sumString(s string) [sha256.Size]byte {
	var buf [128]byte
	if len(s) <= len(buf) {
		return sha256.Sum256(append(buf[:0], s...))
	}
	return sha256.Sum256([]byte(s))
}

// Keys authenticates participants' API keys: the participant registry.
type Keys interface {
	AuthenticateKey(key string) (p participant.Participant, previous bool, err error)
}

// Authenticator tells principals from their credentials.
type Authenticator struct {
	operator  [sha256.Size]byte
	regulator [sha256.Size]byte // zero: there is no regulator
	keys      Keys
}

// NewAuthenticator returns an authenticator of the operator's token
// (by its SHA-256), of the regulator's (zero: none) and of participants'
// API keys.
func NewAuthenticator(operatorHash, regulatorHash [sha256.Size]byte, keys Keys) (*Authenticator, error) {
	if operatorHash == ([sha256.Size]byte{}) {
		return nil, errors.New("auth: the operator token's hash is required")
	}
	if regulatorHash == operatorHash {
		return nil, errors.New("auth: the regulator token must differ from the operator token")
	}
	return &Authenticator{operator: operatorHash, regulator: regulatorHash, keys: keys}, nil
}

// Bearer authenticates the value of an Authorization header,
// "Bearer <token>".
func (a *Authenticator) Bearer(header string) (Principal, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Principal{}, ErrUnauthenticated
	}
	return a.Token(token)
}

// Token authenticates a bearer token: the operator's, the regulator's or
// a participant's API key. Tokens are compared by their SHA-256 in
// constant time.
func (a *Authenticator) Token(token string) (Principal, error) {
	sum := sumString(token)
	if subtle.ConstantTimeCompare(sum[:], a.operator[:]) == 1 {
		return Principal{Role: RoleOperator}, nil
	}
	if a.regulator != ([sha256.Size]byte{}) && subtle.ConstantTimeCompare(sum[:], a.regulator[:]) == 1 {
		return Principal{Role: RoleRegulator}, nil
	}
	if a.keys == nil {
		return Principal{}, ErrUnauthenticated
	}
	p, previous, err := a.keys.AuthenticateKey(token)
	if err != nil {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{Role: RoleParticipant, Participant: p, PreviousKey: previous}, nil
}
