package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// tap carries FSPIOP messages from one switch's front end to the
// other's; a test makes it drop or alter what passes, as a network that
// fails or a far scheme that lies would.
type tap struct {
	to  string
	url string
	mu  sync.Mutex
	// alter, if set, sees each message: it drops it (answered 503), or
	// returns the path and body to send on.
	alter func(method, path string, body []byte) (string, []byte, bool)
}

func newTap(t *testing.T) *tap {
	p := &tap{}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *tap) set(f func(method, path string, body []byte) (string, []byte, bool)) {
	p.mu.Lock()
	p.alter = f
	p.mu.Unlock()
}

func (p *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	f, to := p.alter, p.to
	p.mu.Unlock()
	path := r.URL.EscapedPath()
	if f != nil {
		var drop bool
		if path, b, drop = f(r.Method, path, b); drop {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	}
	var body io.Reader
	if len(b) > 0 {
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(r.Method, to+path, body)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	for k, v := range r.Header {
		if k != "Content-Length" {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

const linkRegulator = "test-regulator-0123456789abcdef-012345"

// linked is two switches, A (a CNY scheme) and B (an HKD scheme), each
// the other's participant through a scheme link: A knows B as hk-link,
// B knows A as cn-link. A's a1 holds CNY and HKD; B's b1 holds HKD (and
// CNY). Messages between them pass taps.
type linked struct {
	a, b             *sw
	a1, b1, hk, cn   string // API keys
	toB, toA         *tap
	aliceHK, aliceCN string // B's user's number, A's user's number
}

func newLinked(t *testing.T, store func(testing.TB) string) *linked {
	mod := func(c *app.Config) { c.FSPIOPAddr, c.RegulatorToken = "127.0.0.1:0", linkRegulator }
	l := &linked{a: start(t, store(t), mod), b: start(t, store(t), mod), toB: newTap(t), toA: newTap(t),
		aliceHK: "+85291234567", aliceCN: "+8613800138000"}
	l.toB.to, l.toA.to = l.b.app.FSPIOPURL(), l.a.app.FSPIOPURL()
	hkd := func(n *wire.NewParticipant) { n.Currencies = []string{"HKD", "CNY"} }
	l.a1, _ = l.a.participant("a1", func(n *wire.NewParticipant) { n.Currencies = []string{"CNY", "HKD"} })
	l.b1, _ = l.b.participant("b1", hkd)
	// Each link is created knowing the other's key for it: A's first with
	// a key to be replaced once B issued it.
	link := func(endpoint, linkID, key string) func(*wire.NewParticipant) {
		return func(n *wire.NewParticipant) {
			n.Kind, n.Currencies = "scheme", []string{"HKD"}
			n.FSPIOP = &wire.FSPIOP{Endpoint: endpoint, LinkID: linkID, LinkAPIKey: key}
		}
	}
	l.hk, _ = l.a.participant("hk-link", link(l.toB.url, "cn-link", "not-yet"))
	l.cn, _ = l.b.participant("cn-link", link(l.toA.url, "hk-link", l.hk))
	l.a.ok(200, "PATCH", "/v1/participants/hk-link", opToken, wire.ParticipantPatch{FSPIOP: &wire.FSPIOP{Endpoint: l.toB.url,
		LinkID: "cn-link", LinkAPIKey: l.cn}}, nil)
	for _, f := range []struct {
		s  *sw
		id string
	}{{l.a, "a1"}, {l.a, "hk-link"}, {l.b, "b1"}, {l.b, "cn-link"}} {
		f.s.ok(201, "POST", "/v1/participants/"+f.id+"/funds", opToken, wire.Funds{Currency: "HKD", Amount: "1000.00", Direction: "deposit"}, nil)
	}
	l.b.ok(201, "POST", "/v1/parties", l.b1, wire.NewParty{Type: "MSISDN", Value: l.aliceHK, Name: "Chan Tai Man", Account: "b-u1", Currency: "HKD"}, nil)
	l.a.ok(201, "POST", "/v1/parties", l.a1, wire.NewParty{Type: "MSISDN", Value: l.aliceCN, Name: "Li Si", Account: "a-u1", Currency: "HKD"}, nil)
	l.a.ok(201, "PUT", "/v1/routes/MSISDN/+852", opToken, wire.NewSchemeRoute{Participant: "hk-link"}, nil)
	l.b.ok(201, "PUT", "/v1/routes/MSISDN/+86", opToken, wire.NewSchemeRoute{Participant: "cn-link", Currency: "HKD"}, nil)
	// A charges its payers a fee in HKD; B charges none.
	l.a.ok(200, "PUT", "/v1/fees/HKD", opToken, wire.Fees{Fixed: "1.00", Rate: "0", Min: "0", Max: "0"}, nil)
	return l
}

// hkd returns participant id's HKD balance and reserved amount.
func (s *sw) hkd(id string) (string, string) {
	s.t.Helper()
	var as wire.Accounts
	s.ok(200, "GET", "/v1/participants/"+id+"/accounts", opToken, nil, &as)
	for _, a := range as.Accounts {
		if a.Currency == "HKD" {
			return a.Balance, a.Reserved
		}
	}
	s.t.Fatalf("%s has no HKD account: %+v", id, as)
	return "", ""
}

// books checks HKD balances (none reserved), and that every currency
// sums to zero over all participants and the hub.
func (s *sw) books(want map[string]string) {
	s.t.Helper()
	for id, w := range want {
		if got, reserved := s.hkd(id); got != w || reserved != "0.00" {
			s.t.Errorf("%s's HKD: balance %s reserved %s, want %s and nothing reserved", id, got, reserved, w)
		}
	}
	sums := map[string]money.Amount{}
	add := func(cur, v string) {
		c, err := money.ParseCurrency(cur)
		if err != nil {
			s.t.Fatal(err)
		}
		a, err := money.Parse(v, c)
		if err != nil {
			s.t.Fatalf("%s %s: %v", v, cur, err)
		}
		sums[cur] += a
	}
	var ps wire.Participants
	s.ok(200, "GET", "/v1/participants", opToken, nil, &ps)
	for _, p := range ps.Participants {
		var as wire.Accounts
		s.ok(200, "GET", "/v1/participants/"+p.ID+"/accounts", opToken, nil, &as)
		for _, a := range as.Accounts {
			add(a.Currency, a.Balance)
		}
	}
	var h wire.HubAccounts
	s.ok(200, "GET", "/v1/hub/accounts", opToken, nil, &h)
	for _, a := range h.Accounts {
		add(a.Currency, a.FeeRevenue)
		add(a.Currency, a.SettlementBank)
	}
	for c, v := range sums {
		if v != 0 {
			s.t.Errorf("%s sums to %d minor units, not zero", c, v)
		}
	}
}

func payHKD(id, value, amount string) wire.NewTransfer {
	return wire.NewTransfer{ID: id, Payee: wire.PayeeRef{Type: "MSISDN", Value: value}, Amount: amount, Currency: "HKD"}
}

var transferPathRE = regexp.MustCompile(`^/transfers/[0-9a-f-]{36}$`)

// TestSchemeLink: two switches in one process, each the other's
// participant through a scheme link over FSPIOP. A's a1 pays a B user's
// +852 number in HKD through the link and B's b1 pays an A user's +86
// number back; look-ups show the far scheme's masked name; each switch
// books the link as one participant, every currency sums to zero; an
// alias unknown at the far scheme, a far scheme that refuses, that
// cannot be reached, or that lies about the amount or the transfer
// moves nothing at the payer's switch; a lost fulfilment is recovered
// by asking the transfer's state. Only the operator manages routes.
func TestSchemeLink(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			l := newLinked(t, e.store)
			a, b := l.a, l.b

			// Look-up through the link: B's masked name, the link as
			// participant.
			var found wire.PartyLookup
			a.ok(200, "GET", "/v1/parties/MSISDN/"+l.aliceHK, l.a1, nil, &found)
			if found.Participant != "hk-link" || found.DisplayName != "C*** T** M**" || found.Currency != "HKD" {
				t.Fatalf("look-up through the link: %+v", found)
			}

			// A pays B.
			var tr wire.Transfer
			a.ok(201, "POST", "/v1/transfers", l.a1, payHKD("x-1", l.aliceHK, "100.00"), &tr)
			if tr.State != "COMMITTED" || tr.Fee != "1.00" || tr.Payee.Participant != "hk-link" {
				t.Fatalf("payment through the link: %+v", tr)
			}
			a.books(map[string]string{"a1": "899.00", "hk-link": "1100.00"})
			b.books(map[string]string{"cn-link": "900.00", "b1": "1100.00"})

			// B pays A back; at A the link is the payer, and pays A's fee.
			b.ok(200, "GET", "/v1/parties/MSISDN/"+l.aliceCN, l.b1, nil, &found)
			if found.Participant != "cn-link" || found.DisplayName != "L* S*" || found.Currency != "HKD" {
				t.Fatalf("look-up through the link, back: %+v", found)
			}
			b.ok(201, "POST", "/v1/transfers", l.b1, payHKD("y-1", l.aliceCN, "50.00"), &tr)
			if tr.State != "COMMITTED" || tr.Payee.Participant != "cn-link" {
				t.Fatalf("payment back through the link: %+v", tr)
			}
			a.books(map[string]string{"a1": "949.00", "hk-link": "1049.00"})
			b.books(map[string]string{"cn-link": "950.00", "b1": "1050.00"})
			steady := func() {
				t.Helper()
				a.books(map[string]string{"a1": "949.00", "hk-link": "1049.00"})
				b.books(map[string]string{"cn-link": "950.00", "b1": "1050.00"})
			}

			// Unknown at B: unknown at A, nothing moves.
			a.problem(404, "unknown-party", "GET", "/v1/parties/MSISDN/+85261234567", l.a1, nil)
			a.problem(422, "unknown-party", "POST", "/v1/transfers", l.a1, payHKD("x-2", "+85261234567", "10.00"))
			steady()
			// Requests to pay concern the aliases registered here: a routed
			// alias is unknown to them, not the link's.
			a.problem(422, "unknown-party", "POST", "/v1/payment-requests", l.a1, wire.NewPaymentRequest{ID: "rq-1",
				Payer: wire.PayeeRef{Type: "MSISDN", Value: l.aliceHK}, Amount: "10.00", Currency: "HKD", ExpiresAt: time.Now().Add(time.Hour)})

			// B refuses: its user's alias takes CNY, and FSPIOP has no
			// exchange (5106); A aborts.
			b.ok(201, "POST", "/v1/parties", l.b1, wire.NewParty{Type: "MSISDN", Value: "+85251234567", Name: "Ho Ka Yan", Account: "b-u2", Currency: "CNY"}, nil)
			a.ok(201, "POST", "/v1/transfers", l.a1, payHKD("x-3", "+85251234567", "10.00"), &tr)
			if tr.State != "ABORTED" || !strings.Contains(tr.Reason, "5106") {
				t.Errorf("B refused: %+v", tr)
			}
			steady()

			// A far scheme that quotes another amount is refused.
			l.toA.set(func(method, path string, body []byte) (string, []byte, bool) {
				if method == "PUT" && strings.HasPrefix(path, "/quotes/") && !strings.HasSuffix(path, "/error") {
					var q map[string]any
					if json.Unmarshal(body, &q) == nil {
						q["transferAmount"] = map[string]any{"currency": "HKD", "amount": "1"}
						body, _ = json.Marshal(q)
					}
				}
				return path, body, false
			})
			a.ok(201, "POST", "/v1/transfers", l.a1, payHKD("x-4", l.aliceHK, "10.00"), &tr)
			if tr.State != "ABORTED" || !strings.Contains(tr.Reason, "amount differs") {
				t.Errorf("B quoted another amount: %+v", tr)
			}
			steady()

			// A far scheme that fulfils another transfer is refused: A
			// aborts; what B booked is B's own doing.
			l.toA.set(func(method, path string, body []byte) (string, []byte, bool) {
				if method == "PUT" && transferPathRE.MatchString(path) {
					path = "/transfers/00000000-0000-4000-8000-000000000000"
				}
				return path, body, false
			})
			a.ok(201, "POST", "/v1/transfers", l.a1, payHKD("x-5", l.aliceHK, "10.00"), &tr)
			if tr.State != "ABORTED" {
				t.Errorf("B fulfilled another transfer: %+v", tr)
			}
			a.books(map[string]string{"a1": "949.00", "hk-link": "1049.00"})
			b.books(map[string]string{"cn-link": "940.00", "b1": "1060.00"})

			// A lost fulfilment: A asks the transfer's state, and commits.
			var lost sync.Once
			l.toA.set(func(method, path string, body []byte) (string, []byte, bool) {
				drop := false
				if method == "PUT" && transferPathRE.MatchString(path) {
					lost.Do(func() { drop = true })
				}
				return path, body, drop
			})
			a.ok(201, "POST", "/v1/transfers", l.a1, payHKD("x-6", l.aliceHK, "20.00"), &tr)
			if tr.State != "COMMITTED" {
				t.Errorf("a lost fulfilment: %+v", tr)
			}
			l.toA.set(nil)
			a.books(map[string]string{"a1": "928.00", "hk-link": "1069.00"})
			b.books(map[string]string{"cn-link": "920.00", "b1": "1080.00"})

			// B cannot be reached for the prepare: A aborts, nothing moves.
			l.toB.set(func(method, path string, body []byte) (string, []byte, bool) {
				return path, body, method == "POST" && path == "/transfers"
			})
			a.ok(201, "POST", "/v1/transfers", l.a1, payHKD("x-7", l.aliceHK, "10.00"), &tr)
			if tr.State != "ABORTED" {
				t.Errorf("B unreachable for the prepare: %+v", tr)
			}
			// Nor at all: the look-up and the payment are refused.
			l.toB.set(func(method, path string, body []byte) (string, []byte, bool) { return path, body, true })
			a.problem(503, "unavailable", "GET", "/v1/parties/MSISDN/"+l.aliceHK, l.a1, nil)
			a.problem(503, "unavailable", "POST", "/v1/transfers", l.a1, payHKD("x-8", l.aliceHK, "10.00"))
			l.toB.set(nil)
			a.books(map[string]string{"a1": "928.00", "hk-link": "1069.00"})
			b.books(map[string]string{"cn-link": "920.00", "b1": "1080.00"})

			// Only the operator manages routes; the regulator reads them.
			a.problem(403, "forbidden", "PUT", "/v1/routes/MSISDN/+853", l.a1, wire.NewSchemeRoute{Participant: "hk-link"})
			a.problem(403, "forbidden", "PUT", "/v1/routes/MSISDN/+853", linkRegulator, wire.NewSchemeRoute{Participant: "hk-link"})
			a.problem(403, "forbidden", "DELETE", "/v1/routes/MSISDN/+852", l.hk, nil)
			a.problem(403, "forbidden", "GET", "/v1/routes", l.a1, nil)
			var routes wire.SchemeRoutes
			a.ok(200, "GET", "/v1/routes", linkRegulator, nil, &routes)
			if len(routes.Routes) != 1 || routes.Routes[0].Prefix != "+852" || routes.Routes[0].Participant != "hk-link" || routes.Routes[0].Currency != "HKD" {
				t.Errorf("routes as the regulator sees them: %+v", routes)
			}
			a.problem(400, "invalid-request", "PUT", "/v1/routes/MSISDN/+853", opToken, wire.NewSchemeRoute{Participant: "a1"})
			a.problem(400, "invalid-request", "PUT", "/v1/routes/MSISDN/+853", opToken, wire.NewSchemeRoute{Participant: "hk-link", Currency: "CNY"})
			// A local registration wins over the route.
			a.ok(201, "POST", "/v1/parties", l.a1, wire.NewParty{Type: "MSISDN", Value: "+85298765432", Name: "Local User", Account: "a-u2", Currency: "HKD"}, nil)
			a.ok(200, "GET", "/v1/parties/MSISDN/+85298765432", l.hk, nil, &found)
			if found.Participant != "a1" {
				t.Errorf("a local registration lost to the route: %+v", found)
			}

			// A link registers no parties here: its users are routed.
			req, _ := http.NewRequest("POST", a.app.FSPIOPURL()+"/participants/MSISDN/85211111111",
				strings.NewReader(`{"fspId":"hk-link","currency":"HKD"}`))
			req.Header.Set("Content-Type", msg.ContentType("participants", "1.1"))
			req.Header.Set("Accept", msg.ContentType("participants", "1.1"))
			req.Header.Set("Date", msg.FormatDate(time.Now()))
			req.Header.Set("FSPIOP-Source", "hk-link")
			req.Header.Set("Authorization", "Bearer "+l.hk)
			if r, err := http.DefaultClient.Do(req); err != nil {
				t.Fatal(err)
			} else {
				body, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if r.StatusCode/100 == 2 || errorCode(t, body) != "3003" {
					t.Errorf("a link registers a party: %d %s", r.StatusCode, body)
				}
			}

			// The link's key for the far scheme is never shown.
			var p wire.Participant
			a.ok(200, "GET", "/v1/participants/hk-link", opToken, nil, &p)
			if p.FSPIOP == nil || p.FSPIOP.LinkID != "cn-link" || p.FSPIOP.LinkAPIKey != "" {
				t.Errorf("hk-link as shown: %+v", p.FSPIOP)
			}
			raw := a.do("GET", "/v1/participants/hk-link", opToken, nil)
			if bytes.Contains(raw.body, []byte(l.cn)) || bytes.Contains(raw.body, []byte("linkApiKey")) {
				t.Errorf("the link key is shown: %s", raw.body)
			}
		})
	}
}
