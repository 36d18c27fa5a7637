package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/fspiop/spec"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim/dfsp"
	"github.com/hulian/hulian/internal/wire"
)

// ecKey returns a new P-256 key as PEM: private (PKCS #8) and public
// (SPKI).
func ecKey(t *testing.T) (private, public []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
}

// simDFSP is a simulated Mojaloop DFSP (package sim/dfsp) connected to
// the switch as an FSPIOP participant, everything it sends and receives
// held to FSPIOP's OpenAPI definition.
func simDFSP(t *testing.T, s *sw, v *spec.Validator, id string, signKey, pubKey []byte, switchKeys map[string][]byte, mod func(*dfsp.Config)) (*dfsp.DFSP, string) {
	t.Helper()
	cfg := dfsp.Config{ID: id, SwitchURL: s.app.FSPIOPURL(), ILPSecret: []byte(id + " ILP secret"), Currency: "CNY",
		SigningKey: signKey, SwitchKeys: switchKeys, RequireJWS: switchKeys != nil, Timeout: 10 * time.Second,
		Check: func(dir, method, path string, h http.Header, body []byte) error {
			version, err := msg.ParseContentType(h.Get("Content-Type"), msg.Resource(path))
			if err != nil {
				version = "1.1"
			}
			return v.Check(version, method, path, h, body)
		}}
	if mod != nil {
		mod(&cfg)
	}
	var d *dfsp.DFSP
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	key, _ := s.participant(id, func(n *wire.NewParticipant) {
		n.FSPIOP = &wire.FSPIOP{Endpoint: srv.URL, JWSPublicKey: string(pubKey)}
	})
	cfg.APIKey = key
	var err error
	if d, err = dfsp.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	s.deposit(id, "1000.00")
	return d, key
}

// TestFSPIOPSimulated runs Mojaloop DFSPs as simulated by package
// sim/dfsp — what the SDK scheme adapter does, signatures on both ways —
// through the switch on both engines: payments between two of them
// (COMMITTED, and RESERVED with its PATCH), to and from a native
// participant, a payee's refusal, a wrong fulfilment and a prepare left to
// expire; then every side's books against the switch's positions.
func TestFSPIOPSimulated(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			hubPriv, hubPub := ecKey(t)
			keyFile := filepath.Join(t.TempDir(), "hub.pem")
			if err := os.WriteFile(keyFile, hubPriv, 0o600); err != nil {
				t.Fatal(err)
			}
			s := start(t, e.store(t), func(c *app.Config) { c.FSPIOPAddr, c.FSPIOPJWSKey = "127.0.0.1:0", keyFile })
			v := spec.Start(t)
			bKey, _ := s.participant("wallet-b", nil)
			s.deposit("wallet-b", "1000.00")
			s.party(bKey, "MSISDN", "13800138000", "Zhang San", "u-b1")

			aPriv, aPub := ecKey(t)
			cPriv, cPub := ecKey(t)
			rPriv, rPub := ecKey(t)
			// Each DFSP verifies the others' signatures, and the switch's
			// under the ids it signs for: the hub's and the native wallet's.
			keys := map[string][]byte{"payerfsp": aPub, "payeefsp": cPub, "payeefsp-r": rPub, "hub": hubPub, "wallet-b": hubPub}
			payer, payerKey := simDFSP(t, s, v, "payerfsp", aPriv, aPub, keys, func(c *dfsp.Config) { c.Expiry = 3 * time.Second })
			payee, payeeKey := simDFSP(t, s, v, "payeefsp", cPriv, cPub, keys, func(c *dfsp.Config) { c.ContentVersion = "1.1" })
			payer.AddParty("MSISDN", "4412345678", "Alice Alpha")
			payee.AddParty("MSISDN", "8613700137000", "Li Si")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := payee.Register(ctx, "MSISDN", "8613700137000"); err != nil {
				t.Fatalf("register: %v", err)
			}

			pay := func(d *dfsp.DFSP, to, amount string) dfsp.PayResult {
				t.Helper()
				res, err := d.Pay(ctx, dfsp.PayRequest{IDType: "MSISDN", ID: to, Amount: amount})
				if err != nil && res.State == "" {
					t.Fatalf("pay %s %s: %v (%+v)", to, amount, err, res)
				}
				return res
			}
			// Between two DFSPs, and to a native wallet.
			if r := pay(payer, "8613700137000", "10"); r.State != "COMMITTED" {
				t.Fatalf("DFSP to DFSP: %+v", r)
			}
			if r := pay(payer, "8613800138000", "5.5"); r.State != "COMMITTED" {
				t.Fatalf("DFSP to native: %+v", r)
			}
			// From a native wallet to the DFSP.
			var got wire.Transfer
			s.ok(201, "POST", "/v1/transfers", bKey, pay2("n-1", "+8613700137000", "7.00"), &got)
			if got.State != "COMMITTED" {
				t.Fatalf("native to DFSP: %+v", got)
			}
			// RESERVED: the payee gets its PATCH.
			payee2, _ := simDFSP(t, s, v, "payeefsp-r", rPriv, rPub, keys, func(c *dfsp.Config) {
				c.ContentVersion, c.FulfilState = "1.1", "RESERVED"
			})
			payee2.AddParty("MSISDN", "8613700137001", "Wang Wu")
			if err := payee2.Register(ctx, "MSISDN", "8613700137001"); err != nil {
				t.Fatal(err)
			}
			r := pay(payer, "8613700137001", "1")
			if r.State != "COMMITTED" {
				t.Fatalf("RESERVED payee: %+v", r)
			}
			if p, err := payee2.AwaitPatch(ctx, r.TransferID); err != nil || p.TransferState != "COMMITTED" {
				t.Errorf("PATCH: %+v, %v", p, err)
			}
			// The payee refuses, fulfils wrongly, or says nothing.
			for _, c := range []struct {
				action dfsp.Action
				code   string
			}{{dfsp.Refuse, "5104"}, {dfsp.WrongFulfilment, "3100"}, {dfsp.Ignore, "3303"}} {
				payee.SetOnPrepare(func(msg.TransfersPost) dfsp.Action { return c.action })
				r := pay(payer, "8613700137000", "2")
				if r.State != "ABORTED" || r.Error == nil || r.Error.ErrorCode != c.code {
					t.Errorf("payee action %v: %+v", c.action, r)
				}
			}
			payee.SetOnPrepare(nil)

			// Books: what each DFSP counts agrees with the switch.
			check := func(d *dfsp.DFSP, key, id string) {
				t.Helper()
				b := d.Books()
				want := 100000 - b.Paid["CNY"] + b.Received["CNY"]
				got := s.balance(key, id)
				if got.Balance != wireAmount(want) || got.Reserved != "0.00" {
					t.Errorf("%s: the switch says %+v, its books %+v", id, got, b)
				}
			}
			check(payer, payerKey, "payerfsp")
			check(payee, payeeKey, "payeefsp")
			for _, d := range []*dfsp.DFSP{payer, payee, payee2} {
				for _, p := range d.Problems() {
					if !errors.Is(p, dfsp.ErrTimeout) {
						t.Errorf("%s: %v", d.ID(), p)
					}
				}
			}
		})
	}
}

// pay2 is a native transfer to an MSISDN.
func pay2(id, value, amount string) wire.NewTransfer { return pay(id, "MSISDN", value, amount) }

// wireAmount formats minor units of CNY as the API does.
func wireAmount(minor int64) string {
	return money.Amount(minor).Format(money.MustCurrency("CNY"))
}
