package participant_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
)

// TestFSPIOP: an FSPIOP participant's endpoint and key are checked,
// kept across a restart, changed and removed; bad ones change nothing.
func TestFSPIOP(t *testing.T) {
	e := newEnv(t)
	key := "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"
	bad := []struct {
		name string
		f    participant.FSPIOP
	}{
		{"relative endpoint", participant.FSPIOP{Endpoint: "/fsp"}},
		{"ftp endpoint", participant.FSPIOP{Endpoint: "ftp://fsp.example"}},
		{"credentials in the endpoint", participant.FSPIOP{Endpoint: "http://u:p@fsp.example"}},
		{"key without endpoint", participant.FSPIOP{JWSPublicKey: key}},
		{"key too long", participant.FSPIOP{Endpoint: "http://fsp.example", JWSPublicKey: strings.Repeat("k", participant.JWSKeyMax+1)}},
	}
	for _, c := range bad {
		f := c.f
		_, _, err := e.Registry.Create(e.ctx, participant.New{ID: "fsp-bad", Name: "B", Kind: participant.Wallet,
			Currencies: []money.Currency{cny}, FSPIOP: &f})
		if !errors.Is(err, participant.ErrInvalid) {
			t.Errorf("%s: Create = %v, want ErrInvalid", c.name, err)
		}
	}
	if _, ok := e.Registry.Get("fsp-bad"); ok {
		t.Fatal("a refused participant exists")
	}

	p, _ := e.Create(participant.New{ID: "payerfsp", Name: "Payer FSP", Kind: participant.Wallet, Currencies: []money.Currency{cny},
		FSPIOP: &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/fsp/", JWSPublicKey: key}})
	want := participant.FSPIOP{Endpoint: "http://127.0.0.1:9/fsp", JWSPublicKey: key}
	if p.FSPIOP == nil || *p.FSPIOP != want {
		t.Fatalf("created with %+v, want %+v", p.FSPIOP, want)
	}
	native, _ := e.Create(participant.New{ID: "native", Name: "N", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	if native.FSPIOP != nil {
		t.Fatalf("a native participant has %+v", native.FSPIOP)
	}

	e.Restart()
	if got, _ := e.Registry.Get("payerfsp"); got.FSPIOP == nil || *got.FSPIOP != want {
		t.Fatalf("after a restart %+v, want %+v", got.FSPIOP, want)
	}
	if got, _ := e.Registry.Get("native"); got.FSPIOP != nil {
		t.Fatalf("native after a restart: %+v", got.FSPIOP)
	}

	// A refused change leaves it as it was; an empty endpoint makes it
	// native.
	if _, err := e.Registry.Apply(e.ctx, "payerfsp", participant.Update{FSPIOP: &participant.FSPIOP{Endpoint: "nope"}}); !errors.Is(err, participant.ErrInvalid) {
		t.Errorf("bad endpoint: %v", err)
	}
	if got, _ := e.Registry.Get("payerfsp"); *got.FSPIOP != want {
		t.Errorf("after a refused change %+v", got.FSPIOP)
	}
	moved := participant.FSPIOP{Endpoint: "https://fsp.example"}
	if got, err := e.Registry.Apply(e.ctx, "payerfsp", participant.Update{FSPIOP: &moved}); err != nil || *got.FSPIOP != moved {
		t.Fatalf("move: %+v, %v", got.FSPIOP, err)
	}
	if got, err := e.Registry.Apply(e.ctx, "payerfsp", participant.Update{FSPIOP: &participant.FSPIOP{}}); err != nil || got.FSPIOP != nil {
		t.Fatalf("remove: %+v, %v", got.FSPIOP, err)
	}
	e.Restart()
	if got, _ := e.Registry.Get("payerfsp"); got.FSPIOP != nil {
		t.Fatalf("removed, then after a restart: %+v", got.FSPIOP)
	}
}
