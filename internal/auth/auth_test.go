package auth

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/participant"
)

// TestAllow is the access table: who may call what, by role, access
// level and whether the operation only reads.
func TestAllow(t *testing.T) {
	op := &Principal{Role: RoleOperator}
	reg := &Principal{Role: RoleRegulator}
	pa := &Principal{Role: RoleParticipant, Participant: participant.Participant{ID: "wallet-a"}}
	type row struct {
		a                    Access
		read                 bool
		operator, regulator  bool
		participantMayCallIt bool
	}
	for _, c := range []row{
		{Public, false, true, true, true},
		{OperatorOnly, true, true, true, false},
		{OperatorOnly, false, true, false, false},
		{Anyone, true, true, true, true},
		{Anyone, false, true, false, true},
		{ParticipantOnly, true, false, false, true},
		{ParticipantOnly, false, false, false, true},
		{AuditorOnly, true, true, true, false},
		{AuditorOnly, false, true, true, false},
		{Cosigner, false, true, true, true},
	} {
		for _, w := range []struct {
			p    *Principal
			want bool
		}{{op, c.operator}, {reg, c.regulator}, {pa, c.participantMayCallIt}} {
			err := Allow(w.p, c.a, c.read)
			if (err == nil) != w.want {
				t.Errorf("%v on access %d (read %v): %v, want allowed %v", w.p.Role, c.a, c.read, err, w.want)
			}
			if err != nil && (!errors.Is(err, ErrForbidden) || fault.KindOf(err) != fault.Forbidden) {
				t.Errorf("%v: refusal %v is not ErrForbidden", w.p.Role, err)
			}
		}
	}
	if err := Allow(&Principal{}, Anyone, true); err == nil {
		t.Error("a principal without a role was allowed")
	}
}

// TestScope: the operator and the regulator see every participant; a
// participant only itself.
func TestScope(t *testing.T) {
	pa := &Principal{Role: RoleParticipant, Participant: participant.Participant{ID: "wallet-a"}}
	if !pa.Covers("wallet-a") || pa.Covers("wallet-b") || pa.SeesAll() || pa.ParticipantID() != "wallet-a" {
		t.Error("participant scope")
	}
	if none := (&Principal{}); none.SeesAll() || none.Covers("wallet-a") || none.ParticipantID() == "" || participant.ValidID(none.ParticipantID()) {
		t.Error("a principal without a role sees something")
	}
	for _, r := range []Role{RoleOperator, RoleRegulator} {
		p := &Principal{Role: r}
		if !p.Covers("wallet-b") || !p.SeesAll() || p.ParticipantID() != "" {
			t.Errorf("%v scope", r)
		}
	}
}

type keys map[string]participant.Participant

func (k keys) AuthenticateKey(key string) (participant.Participant, bool, error) {
	if p, ok := k[key]; ok {
		return p, false, nil
	}
	return participant.Participant{}, false, participant.ErrUnauthorized
}

func TestAuthenticate(t *testing.T) {
	a, err := NewAuthenticator(sha256.Sum256([]byte("op-secret")), sha256.Sum256([]byte("reg-secret")),
		keys{"wallet-a.k": {ID: "wallet-a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		header string
		role   Role
	}{
		{"Bearer op-secret", RoleOperator},
		{"bearer op-secret", RoleOperator},
		{"Bearer reg-secret", RoleRegulator},
		{"Bearer wallet-a.k", RoleParticipant},
		{"Bearer wallet-a.x", 0},
		{"Bearer ", 0},
		{"Basic op-secret", 0},
		{"op-secret", 0},
		{"", 0},
	} {
		p, err := a.Bearer(c.header)
		if p.Role != c.role || (err == nil) != (c.role != 0) {
			t.Errorf("%q: %v %v, want %v", c.header, p.Role, err, c.role)
		}
		if err != nil && fault.KindOf(err) != fault.Unauthorized {
			t.Errorf("%q: kind %v", c.header, fault.KindOf(err))
		}
	}
	// Without a regulator, no token is the regulator's; the regulator's
	// token may not be the operator's.
	noReg, _ := NewAuthenticator(sha256.Sum256([]byte("op-secret")), [sha256.Size]byte{}, nil)
	if p, err := noReg.Token(""); err == nil {
		t.Errorf("empty token authenticated as %v", p.Role)
	}
	if _, err := NewAuthenticator(sha256.Sum256([]byte("x")), sha256.Sum256([]byte("x")), nil); err == nil {
		t.Error("the regulator's token may equal the operator's")
	}
}
