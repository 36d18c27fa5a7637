package dfsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fspiop/msg"
)

// route is an inbound request's path, parsed.
type route struct {
	resource string
	// ids are the decoded segments after the resource, "error" excluded.
	ids     []string
	isError bool
	// bulk marks PUT /participants/{requestId}.
	bulk bool
}

// key names the exchange a callback answers: the path without "/error";
// a PATCH is waited for apart (AwaitPatch).
func (rt route) key(method string) string {
	if method == http.MethodPatch {
		return "patch/" + rt.ids[0]
	}
	return rt.resource + "/" + strings.Join(rt.ids, "/")
}

func (rt route) path() string {
	p := pathOf(append([]string{rt.resource}, rt.ids...)...)
	if rt.isError {
		p += "/error"
	}
	return p
}

// parseRoute reads the path of a request a DFSP serves and checks its
// method: the payee's GET /parties, POST /quotes, POST /transfers, PATCH
// /transfers/{ID}, and the payer's PUT callbacks and their errors.
func parseRoute(method, escapedPath string) (route, *msg.Error) {
	raw := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" {
			return route{}, msg.NewError(msg.UnknownURI, "")
		}
		segs[i] = v
	}
	rt := route{resource: segs[0], ids: segs[1:]}
	n := len(rt.ids)
	if n > 0 && rt.ids[n-1] == "error" {
		rt.isError, rt.ids, n = true, rt.ids[:n-1], n-1
	}
	allowed := ""
	switch rt.resource {
	case msg.ResourceParties:
		if n == 2 || n == 3 {
			allowed = "GET PUT"
			if rt.isError {
				allowed = "PUT"
			}
		}
	case msg.ResourceParticipants:
		if n == 1 && msg.IsCorrelationID(rt.ids[0]) {
			rt.bulk, allowed = true, "PUT"
		} else if n == 2 || n == 3 {
			allowed = "PUT"
		}
	case msg.ResourceQuotes, msg.ResourceTransfers:
		switch {
		case n == 0 && !rt.isError:
			allowed = "POST"
		case n == 1 && rt.isError:
			allowed = "PUT"
		case n == 1 && rt.resource == msg.ResourceTransfers:
			allowed = "PUT PATCH"
		case n == 1:
			allowed = "PUT"
		}
	}
	if allowed == "" {
		return route{}, msg.NewError(msg.UnknownURI, "")
	}
	if !strings.Contains(" "+allowed+" ", " "+method+" ") {
		return route{}, msg.MethodNotAllowed()
	}
	return rt, nil
}

// checkHeaders checks an inbound message's headers in the order of the
// SDK's header validator.
func checkHeaders(r *http.Request, resource string) *msg.Error {
	if r.Method == http.MethodGet || r.Method == http.MethodPost || r.Method == http.MethodDelete {
		if _, err := msg.NegotiateAccept(r.Header.Get(msg.HeaderAccept), resource); err != nil {
			return asMsgError(err)
		}
	}
	if _, err := msg.ParseDate(r.Header.Get(msg.HeaderDate)); err != nil {
		return asMsgError(err)
	}
	if r.ContentLength > msg.MaxBody {
		return msg.TooLarge()
	}
	if _, err := msg.ParseContentType(r.Header.Get(msg.HeaderContentType), resource); err != nil {
		return asMsgError(err)
	}
	if r.Header.Get(msg.HeaderSource) == "" {
		return msg.NewError(msg.MissingElement, "FSPIOP-Source is required")
	}
	return nil
}

func asMsgError(err error) *msg.Error {
	var e *msg.Error
	if errors.As(err, &e) {
		return e
	}
	return msg.NewError(msg.ValidationError, err.Error())
}

func writeError(w http.ResponseWriter, e *msg.Error) {
	b, _ := json.Marshal(e.Body())
	w.Header().Set(msg.HeaderContentType, "application/json")
	w.WriteHeader(e.HTTPStatus())
	w.Write(b)
}

// ServeHTTP serves the FSPIOP requests and callbacks the switch sends to a
// DFSP, at the root path. A valid message is answered at once, 202 or 200
// with an empty body; a request's answer (PUT /parties, /quotes,
// /transfers) is sent afterwards.
func (d *DFSP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	source := r.Header.Get(msg.HeaderSource)
	rt, e := parseRoute(r.Method, r.URL.EscapedPath())
	if e != nil {
		d.problem(fmt.Errorf("dfsp %s: %s %s from %s: %w", d.cfg.ID, r.Method, r.URL.Path, source, e))
		writeError(w, e)
		return
	}
	// Every refusal is kept as a problem (the switch sent something an SDK
	// refuses) and fails the exchange a refused callback answers.
	fail := func(e *msg.Error, cause error) {
		err := fmt.Errorf("dfsp %s: %s %s from %s: %w", d.cfg.ID, r.Method, r.URL.Path, source, cause)
		d.problem(err)
		writeError(w, e)
		if r.Method == http.MethodPut || r.Method == http.MethodPatch {
			d.deliver(rt.key(r.Method), reply{path: rt.path(), err: fmt.Errorf("%w: %w", ErrMismatch, err)})
		}
	}
	if e := checkHeaders(r, rt.resource); e != nil {
		fail(e, e)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, msg.MaxBody))
	if err != nil {
		fail(msg.TooLarge(), err)
		return
	}
	if dest := r.Header.Get(msg.HeaderDestination); dest != "" && dest != d.cfg.ID {
		d.problem(fmt.Errorf("dfsp %s: %s %s addressed to %s", d.cfg.ID, r.Method, r.URL.Path, dest))
	}
	if d.cfg.Check != nil {
		if err := d.cfg.Check(Received, r.Method, r.URL.EscapedPath(), r.Header, body); err != nil {
			fail(msg.NewError(msg.ValidationError, "check failed"), fmt.Errorf("%w: %w", ErrCheck, err))
			return
		}
	}
	if signs(r.Method, rt.resource) {
		k := d.keys[source]
		if k != nil || d.cfg.RequireJWS {
			if err := jws.Verify(k, r.Header, body); err != nil {
				detail := err.Error()
				var ce *jws.CheckError
				if errors.As(err, &ce) {
					detail = ce.Detail
				}
				fail(msg.NewError(msg.InvalidSignature, detail), err)
				return
			}
		}
	}
	in, e := decodeBody(r.Method, rt, body)
	if e != nil {
		fail(e, e)
		return
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPatch {
		w.WriteHeader(http.StatusOK)
		d.callback(r.Method, rt, r.Header, body, in)
		return
	}
	if !d.startWork() {
		writeError(w, msg.NewError(msg.ServiceUnavailable, ""))
		return
	}
	w.WriteHeader(http.StatusAccepted)
	go func() {
		defer d.endWork()
		ctx := context.Background()
		var err error
		switch v := in.(type) {
		case nil: // GET /parties
			err = d.answerParty(ctx, rt, source)
		case *msg.QuotesPost:
			err = d.answerQuote(ctx, v, body, source)
		case *msg.TransfersPost:
			err = d.answerPrepare(ctx, v, source)
		}
		if err != nil {
			d.problem(fmt.Errorf("dfsp %s: answering %s %s: %w", d.cfg.ID, r.Method, r.URL.Path, err))
		}
	}()
}

// startWork admits one inbound request's processing, waiting while
// workMax are under way; false once the DFSP is closed.
func (d *DFSP) startWork() bool {
	d.work <- struct{}{}
	d.closeMu.RLock()
	defer d.closeMu.RUnlock()
	if d.closed.Load() {
		<-d.work
		return false
	}
	d.wg.Add(1)
	return true
}

func (d *DFSP) endWork() {
	<-d.work
	d.wg.Done()
}

// decodeBody reads and validates the body of a message on rt.
func decodeBody(method string, rt route, body []byte) (any, *msg.Error) {
	var v interface{ Validate() error }
	switch {
	case method == http.MethodGet:
		return nil, nil
	case rt.isError:
		v = &msg.ErrorBody{}
	case rt.resource == msg.ResourceParties:
		v = &msg.PartiesPut{}
	case rt.resource == msg.ResourceParticipants && rt.bulk:
		v = &msg.ParticipantsBulkPut{}
	case rt.resource == msg.ResourceParticipants:
		v = &msg.ParticipantsPut{}
	case rt.resource == msg.ResourceQuotes && method == http.MethodPost:
		v = &msg.QuotesPost{}
	case rt.resource == msg.ResourceQuotes:
		v = &msg.QuotesPut{}
	case method == http.MethodPost:
		v = &msg.TransfersPost{}
	case method == http.MethodPatch:
		v = &msg.TransfersPatch{}
	default:
		v = &msg.TransfersPut{}
	}
	if err := msg.Decode(body, v); err != nil {
		return nil, asMsgError(err)
	}
	return v, nil
}

// callback takes a valid callback: it updates the books for transfers and
// hands it to the exchange waiting for it.
func (d *DFSP) callback(method string, rt route, h http.Header, body []byte, in any) {
	r := reply{path: rt.path(), header: h, body: body}
	if eb, ok := in.(*msg.ErrorBody); ok {
		info := eb.ErrorInformation
		r.errInfo = &info
	}
	key := rt.key(method)
	known := false
	if rt.resource == msg.ResourceTransfers {
		id := rt.ids[0]
		d.bookMu.Lock()
		out, in2 := d.out[id], d.in[id]
		known = out != nil || in2 != nil
		switch v := in.(type) {
		case *msg.ErrorBody:
			if out != nil {
				d.setState(out, true, msg.StateAborted)
			}
			if in2 != nil {
				d.setState(in2, false, msg.StateAborted)
			}
		case *msg.TransfersPut:
			if out != nil {
				d.payerOutcome(id, out, v)
			}
			if in2 != nil && (v.TransferState == msg.StateCommitted || v.TransferState == msg.StateAborted) {
				d.setState(in2, false, v.TransferState)
			}
		case *msg.TransfersPatch:
			if in2 != nil {
				p := *v
				in2.patch = &p
				d.setState(in2, false, v.TransferState)
			} else {
				d.problem(fmt.Errorf("dfsp %s: PATCH for transfer %s it never took", d.cfg.ID, id))
			}
		}
		d.bookMu.Unlock()
	}
	// A PATCH is a notice, booked above; nobody need wait for it.
	if !d.deliver(key, r) && method != http.MethodPatch {
		d.stats.unsolicited.Add(1)
		if !known {
			d.problem(fmt.Errorf("dfsp %s: unsolicited %s %s", d.cfg.ID, method, rt.path()))
		}
	}
}

// payerOutcome books a PUT /transfers/{ID} of a transfer this DFSP sent:
// COMMITTED counts only with a fulfilment of the condition (CHECK_ILP).
// The caller holds bookMu.
func (d *DFSP) payerOutcome(id string, r *transferRec, v *msg.TransfersPut) {
	switch v.TransferState {
	case msg.StateCommitted:
		if err := checkFulfilment(v.Fulfilment, r.condition); err != nil {
			d.problem(fmt.Errorf("dfsp %s: transfer %s: %w", d.cfg.ID, id, err))
			return
		}
		d.setState(r, true, msg.StateCommitted)
	case msg.StateAborted:
		d.setState(r, true, msg.StateAborted)
	}
}
