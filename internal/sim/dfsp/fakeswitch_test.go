package dfsp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hulian/hulian/internal/fspiop/ilp"
	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/money"
)

// fakeSwitch is the smallest FSPIOP switch the simulator's tests need: it
// checks each request's bearer and headers, answers 202/200, and then
// relays by FSPIOP-Destination (headers and body as they came), answers
// GET /parties from its own map of registered parties, registers parties,
// keeps transfers and positions (reserve on prepare, commit on a fulfilment
// that matches the condition), answers RESERVED with PUT COMMITTED to the
// payer and PATCH to the payee, repeats and 3106 on duplicate prepares,
// and answers GET /transfers.
type fakeSwitch struct {
	t      testing.TB
	name   string
	srv    *httptest.Server
	signer *jws.Signer
	client *http.Client

	mu        sync.Mutex
	endpoints map[string]string // FSP id → base URL
	apiKeys   map[string]string // FSP id → bearer
	parties   map[string]string // "TYPE/ID" (MSISDN without '+') → FSP id
	transfers map[string]*fakeTransfer
	positions map[string]int64 // FSP id → committed net position, minor units
	errs      []string
	// tamper, if set, may change a relayed body (to break a signature).
	tamper func(method, path string, body []byte) []byte
	// drop, if set, drops a request after answering it.
	drop func(method, path string) bool
	wg   sync.WaitGroup
}

type fakeTransfer struct {
	payer, payee string
	amount       int64
	currency     string
	condition    string
	body         []byte
	state        string
	fulfilment   string
	completed    string
}

func newFakeSwitch(t testing.TB, signer *jws.Signer) *fakeSwitch {
	s := &fakeSwitch{t: t, name: "switch", signer: signer, client: &http.Client{Timeout: 5 * time.Second},
		endpoints: map[string]string{}, apiKeys: map[string]string{}, parties: map[string]string{},
		transfers: map[string]*fakeTransfer{}, positions: map[string]int64{}}
	s.srv = httptest.NewServer(s)
	t.Cleanup(func() {
		s.srv.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeSwitch) join(id, url, apiKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints[id], s.apiKeys[id] = url, apiKey
}

func (s *fakeSwitch) addParty(typ, id, fsp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parties[partyKey(typ, id)] = fsp
}

func partyKey(typ, id string) string {
	if typ == msg.MSISDN {
		id = strings.TrimPrefix(id, "+")
	}
	return typ + "/" + id
}

func (s *fakeSwitch) errorf(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, a...))
}

func (s *fakeSwitch) problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}

func (s *fakeSwitch) position(fsp string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.positions[fsp]
}

func (s *fakeSwitch) fail(w http.ResponseWriter, status int, code msg.Code, detail string) {
	e := msg.NewError(code, detail)
	b, _ := json.Marshal(e.Body())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	s.errorf("refused: %d %s", status, e.Info().ErrorDescription)
}

func (s *fakeSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	src := r.Header.Get(msg.HeaderSource)
	s.mu.Lock()
	key, known := s.apiKeys[src]
	s.mu.Unlock()
	if !known || r.Header.Get("Authorization") != "Bearer "+key {
		s.fail(w, 401, msg.ClientError, "Unauthorized")
		return
	}
	res := msg.Resource(r.URL.Path)
	if _, err := msg.ParseContentType(r.Header.Get(msg.HeaderContentType), res); err != nil {
		s.fail(w, 400, msg.MalformedSyntax, "content-type "+r.Header.Get(msg.HeaderContentType))
		return
	}
	if _, err := msg.ParseDate(r.Header.Get(msg.HeaderDate)); err != nil {
		s.fail(w, 400, msg.MalformedSyntax, "date")
		return
	}
	accept := r.Header.Get(msg.HeaderAccept)
	if r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if accept != "" {
			s.fail(w, 400, msg.MalformedSyntax, "accept on "+r.Method)
			return
		}
	} else if _, err := msg.NegotiateAccept(accept, res); err != nil {
		s.fail(w, 400, msg.MalformedSyntax, "accept")
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPut {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	if s.drop != nil && s.drop(r.Method, r.URL.Path) {
		return
	}
	h := r.Header.Clone()
	path := r.URL.EscapedPath()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.process(r.Method, path, h, body)
	}()
}

// process does what a request asks, after its answer.
func (s *fakeSwitch) process(method, path string, h http.Header, body []byte) {
	src, dest := h.Get(msg.HeaderSource), h.Get(msg.HeaderDestination)
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case segs[0] == msg.ResourceParties && method == http.MethodGet:
		if dest == "" {
			s.mu.Lock()
			dest = s.parties[partyKey(segs[1], unescape(segs[2]))]
			s.mu.Unlock()
			if dest == "" {
				s.send(src, http.MethodPut, path+"/error", nil, msg.NewError(msg.PartyNotFound, "").Body())
				return
			}
			h.Set(msg.HeaderDestination, dest)
		}
		s.relay(dest, method, path, h, body)
	case segs[0] == msg.ResourceParticipants && method == http.MethodPost && len(segs) == 1:
		var b msg.ParticipantsBulkPost
		json.Unmarshal(body, &b)
		put := msg.ParticipantsBulkPut{Currency: b.Currency}
		for _, p := range b.PartyList {
			r := msg.PartyResult{PartyID: p}
			if p.FSPID != src {
				info := msg.NewError(msg.AddPartyInfoError, "").Info()
				r.ErrorInformation = &info
			} else {
				s.addParty(p.PartyIDType, p.PartyIdentifier, src)
			}
			put.PartyList = append(put.PartyList, r)
		}
		s.send(src, http.MethodPut, "/participants/"+b.RequestID, nil, put)
	case segs[0] == msg.ResourceParticipants && method == http.MethodPost:
		var b msg.ParticipantsPost
		json.Unmarshal(body, &b)
		s.addParty(segs[1], unescape(segs[2]), b.FSPID)
		s.send(src, http.MethodPut, path, nil, msg.ParticipantsPut{FSPID: b.FSPID})
	case segs[0] == msg.ResourceTransfers && method == http.MethodPost:
		s.prepare(h, body)
	case segs[0] == msg.ResourceTransfers && method == http.MethodGet:
		s.mu.Lock()
		t := s.transfers[segs[1]]
		var put msg.TransfersPut
		if t != nil {
			put = msg.TransfersPut{TransferState: t.state, Fulfilment: t.fulfilment, CompletedTimestamp: t.completed}
		}
		s.mu.Unlock()
		if t == nil {
			s.send(src, http.MethodPut, path+"/error", nil, msg.NewError(msg.TransferIDNotFound, "").Body())
			return
		}
		s.send(src, http.MethodPut, path, nil, put)
	case segs[0] == msg.ResourceTransfers && method == http.MethodPut && len(segs) == 2:
		s.fulfil(segs[1], path, h, body)
	case segs[0] == msg.ResourceTransfers && method == http.MethodPut:
		s.mu.Lock()
		if t := s.transfers[segs[1]]; t != nil && t.state == msg.StateReserved {
			t.state = msg.StateAborted
		}
		s.mu.Unlock()
		s.relay(dest, method, path, h, body)
	default:
		s.relay(dest, method, path, h, body)
	}
}

func unescape(s string) string {
	v, _ := url.PathUnescape(s)
	return v
}

func (s *fakeSwitch) prepare(h http.Header, body []byte) {
	var p msg.TransfersPost
	if err := json.Unmarshal(body, &p); err != nil {
		s.errorf("prepare: %v", err)
		return
	}
	src, path := h.Get(msg.HeaderSource), "/transfers/"+p.TransferID
	c, _ := money.ParseCurrency(p.Amount.Currency)
	amount, _ := msg.ParseAmount(p.Amount, c.Exponent())
	s.mu.Lock()
	if t, ok := s.transfers[p.TransferID]; ok {
		s.mu.Unlock()
		if sha256.Sum256(t.body) != sha256.Sum256(body) {
			s.send(src, http.MethodPut, path+"/error", nil, msg.NewError(msg.ModifiedRequest, "").Body())
		} else if t.state == msg.StateCommitted || t.state == msg.StateAborted {
			s.send(src, http.MethodPut, path, nil,
				msg.TransfersPut{TransferState: t.state, Fulfilment: t.fulfilment, CompletedTimestamp: t.completed})
		}
		return
	}
	exp, err := msg.ParseDateTime(p.Expiration)
	if err != nil || exp.Before(time.Now()) {
		s.mu.Unlock()
		s.send(src, http.MethodPut, path+"/error", nil, msg.NewError(msg.ValidationError, "expiration in the past").Body())
		return
	}
	s.transfers[p.TransferID] = &fakeTransfer{payer: src, payee: p.PayeeFSP, amount: amount,
		currency: p.Amount.Currency, condition: p.Condition, body: body, state: msg.StateReserved}
	s.mu.Unlock()
	s.relay(h.Get(msg.HeaderDestination), http.MethodPost, "/transfers", h, body)
}

func (s *fakeSwitch) fulfil(id, path string, h http.Header, body []byte) {
	var f msg.TransfersPut
	json.Unmarshal(body, &f)
	s.mu.Lock()
	t := s.transfers[id]
	if t == nil || t.state != msg.StateReserved {
		s.mu.Unlock()
		s.errorf("fulfil of %s in no reserved state", id)
		return
	}
	if ilp.Check(f.Fulfilment, t.condition) != nil {
		t.state = msg.StateAborted
		s.mu.Unlock()
		e := msg.NewError(msg.ValidationError, "invalid fulfilment").Body()
		s.send(t.payer, http.MethodPut, path+"/error", nil, e)
		s.send(t.payee, http.MethodPut, path+"/error", nil, e)
		return
	}
	t.state, t.fulfilment, t.completed = msg.StateCommitted, f.Fulfilment, f.CompletedTimestamp
	s.positions[t.payer] -= t.amount
	s.positions[t.payee] += t.amount
	s.mu.Unlock()
	if f.TransferState == msg.StateReserved {
		s.send(t.payer, http.MethodPut, path, nil,
			msg.TransfersPut{TransferState: msg.StateCommitted, Fulfilment: f.Fulfilment, CompletedTimestamp: f.CompletedTimestamp})
		s.send(t.payee, http.MethodPatch, path, nil,
			msg.TransfersPatch{TransferState: msg.StateCommitted, CompletedTimestamp: f.CompletedTimestamp})
		return
	}
	s.relay(t.payer, http.MethodPut, path, h, body)
}

// relay forwards a message to dest with the sender's headers and body.
func (s *fakeSwitch) relay(dest, method, path string, h http.Header, body []byte) {
	if s.tamper != nil {
		body = s.tamper(method, path, body)
	}
	out := http.Header{}
	for _, k := range []string{msg.HeaderContentType, msg.HeaderAccept} {
		if v := h.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	jws.Relay(out, h)
	s.do(dest, method, path, out, body)
}

// send sends the switch's own message, signed when it has a key.
func (s *fakeSwitch) send(dest, method, path string, _ http.Header, v any) {
	body, _ := json.Marshal(v)
	h := http.Header{}
	h.Set(msg.HeaderContentType, msg.ContentType(msg.Resource(path), msg.Version11))
	h.Set(msg.HeaderDate, msg.FormatDate(time.Now()))
	h.Set(msg.HeaderSource, s.name)
	h.Set(msg.HeaderDestination, dest)
	if s.signer != nil && !(method == http.MethodPut && msg.Resource(path) == msg.ResourceParties) {
		var err error
		if body, err = s.signer.Sign(h, method, path, body); err != nil {
			s.errorf("sign: %v", err)
		}
	}
	s.do(dest, method, path, h, body)
}

func (s *fakeSwitch) do(dest, method, path string, h http.Header, body []byte) {
	s.mu.Lock()
	base := s.endpoints[dest]
	s.mu.Unlock()
	if base == "" {
		s.errorf("%s %s: no endpoint for %q", method, path, dest)
		return
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, base+path, bytes.NewReader(body))
	req.Header = h
	res, err := s.client.Do(req)
	if err != nil {
		s.errorf("%s %s to %s: %v", method, path, dest, err)
		return
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	want := http.StatusOK
	if method == http.MethodGet || method == http.MethodPost {
		want = http.StatusAccepted
	}
	if res.StatusCode != want || len(got) > 0 {
		s.errorf("%s %s to %s: answered %d %s", method, path, dest, res.StatusCode, got)
	}
}
