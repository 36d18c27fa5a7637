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

// TestSchemeLink: a participant of kind scheme needs an FSPIOP endpoint
// and the id the far scheme knows the switch by; its link key is kept
// across a restart and changed with its FSPIOP settings; only scheme
// links carry link credentials, and only active ones may be routed to.
func TestSchemeLink(t *testing.T) {
	e := newEnv(t)
	link := participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b", LinkID: "cn-link", LinkKey: "cn-link.secret"}
	bad := []struct {
		name string
		kind participant.Kind
		f    *participant.FSPIOP
	}{
		{"scheme without fspiop", participant.Scheme, nil},
		{"scheme without endpoint", participant.Scheme, &participant.FSPIOP{LinkID: "cn-link"}},
		{"scheme without link id", participant.Scheme, &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b"}},
		{"link id with a space", participant.Scheme, &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b", LinkID: "cn link"}},
		{"link id too long", participant.Scheme, &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b", LinkID: strings.Repeat("x", participant.LinkIDMax+1)}},
		{"link key with a newline", participant.Scheme, &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b", LinkID: "a", LinkKey: "k\nX-Evil: 1"}},
		{"link key too long", participant.Scheme, &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b", LinkID: "a", LinkKey: strings.Repeat("k", participant.LinkKeyMax+1)}},
		{"wallet with a link id", participant.Wallet, &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b", LinkID: "a"}},
		{"wallet with a link key", participant.Wallet, &participant.FSPIOP{Endpoint: "http://127.0.0.1:9/b", LinkKey: "k"}},
	}
	for _, c := range bad {
		_, _, err := e.Registry.Create(e.ctx, participant.New{ID: "link-bad", Name: "L", Kind: c.kind,
			Currencies: []money.Currency{cny}, FSPIOP: c.f})
		if !errors.Is(err, participant.ErrInvalid) {
			t.Errorf("%s: Create = %v, want ErrInvalid", c.name, err)
		}
	}
	p, _ := e.Create(participant.New{ID: "hk-link", Name: "HK scheme", Kind: participant.Scheme, Currencies: []money.Currency{cny}, FSPIOP: &link})
	if p.FSPIOP == nil || *p.FSPIOP != link || !p.Confirms() {
		t.Fatalf("created with %+v", p.FSPIOP)
	}
	if curs, ok := e.Registry.SchemeLink("hk-link"); !ok || len(curs) != 1 || curs[0] != cny {
		t.Fatalf("SchemeLink = %v, %v", curs, ok)
	}
	e.Create(participant.New{ID: "wallet", Name: "W", Kind: participant.Wallet, Currencies: []money.Currency{cny}})
	if _, ok := e.Registry.SchemeLink("wallet"); ok {
		t.Error("a wallet is a scheme link")
	}
	e.Restart()
	if got, _ := e.Registry.Get("hk-link"); got.FSPIOP == nil || *got.FSPIOP != link {
		t.Fatalf("after a restart %+v, want %+v", got.FSPIOP, link)
	}
	// A scheme link keeps an endpoint; its key changes with its settings.
	if _, err := e.Registry.Apply(e.ctx, "hk-link", participant.Update{FSPIOP: &participant.FSPIOP{}}); !errors.Is(err, participant.ErrInvalid) {
		t.Errorf("endpoint removed: %v", err)
	}
	rotated := link
	rotated.LinkKey = "cn-link.rotated"
	if got, err := e.Registry.Apply(e.ctx, "hk-link", participant.Update{FSPIOP: &rotated}); err != nil || *got.FSPIOP != rotated {
		t.Fatalf("rotate: %+v, %v", got.FSPIOP, err)
	}
	suspended := participant.Suspended
	if _, err := e.Registry.Apply(e.ctx, "hk-link", participant.Update{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Registry.SchemeLink("hk-link"); ok {
		t.Error("a suspended link may be routed to")
	}
	e.Restart()
	if got, _ := e.Registry.Get("hk-link"); got.FSPIOP == nil || *got.FSPIOP != rotated {
		t.Fatalf("after a restart %+v, want %+v", got.FSPIOP, rotated)
	}
}
