package fspiop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/participant"
)

// Limits of request bodies: the spec's 5 MiB for a bulk registration of
// 10,000 parties, far less for everything else (the largest single body,
// a prepare, carries an ILP packet of at most 32 KiB).
const (
	bodyMax     = 64 << 10
	bulkBodyMax = 5 << 20
)

// inbound is one request from an FSPIOP participant, checked.
type inbound struct {
	r        *http.Request
	from     participant.Participant
	resource string
	// version is what the switch answers in: the content version the
	// caller used, or, for a request without a body, the best one it
	// accepts.
	version string
	dest    string // FSPIOP-Destination, "" when absent
	body    []byte
}

// handler serves one route: it checks the request (headers, caller,
// signature, body) and, if fn accepts it, answers 202 (a request) or
// 200 (a callback) with an empty body. fn validates what it can at once
// and hands the rest to async.
type handler struct {
	s        *Server
	callback bool
	max      int64
	fn       func(*inbound) error
	// route is the route's template as FSPIOP's definition writes it
	// ("PUT /transfers/{ID}"), label the Observer's (RequestObserver).
	route, label string
}

func (s *Server) route(pattern string, callback bool, max int64, fn func(*inbound) error) {
	route := templateNames.Replace(pattern)
	s.mux.Handle(pattern, &handler{s: s, callback: callback, max: max, fn: fn, route: route, label: labelPrefix + route})
}

func (s *Server) routes() {
	for _, sub := range []string{"", "/{sub}"} {
		s.route("GET /parties/{type}/{id}"+sub, false, 0, s.getParties)
		s.route("PUT /parties/{type}/{id}"+sub, true, bodyMax, s.putParties)
		s.route("PUT /parties/{type}/{id}"+sub+"/error", true, bodyMax, s.putPartiesError)
		s.route("POST /participants/{type}/{id}"+sub, false, bodyMax, s.postParticipant)
		s.route("GET /participants/{type}/{id}"+sub, false, 0, s.getParticipant)
		s.route("DELETE /participants/{type}/{id}"+sub, false, 0, s.deleteParticipant)
		s.route("PUT /participants/{type}/{id}"+sub, true, bodyMax, s.refuseCallback)
		s.route("PUT /participants/{type}/{id}"+sub+"/error", true, bodyMax, s.refuseCallback)
	}
	s.route("POST /participants", false, bulkBodyMax, s.postParticipants)
	s.route("PUT /participants/{id}/error", true, bodyMax, s.refuseCallback)
	s.route("POST /quotes", false, bodyMax, s.postQuote)
	s.route("GET /quotes/{id}", false, 0, s.getQuote)
	s.route("PUT /quotes/{id}", true, bodyMax, s.putQuote)
	s.route("PUT /quotes/{id}/error", true, bodyMax, s.putQuoteError)
	s.route("POST /transfers", false, bodyMax, s.postTransfer)
	s.route("GET /transfers/{id}", false, 0, s.getTransfer)
	s.route("PUT /transfers/{id}", true, bodyMax, s.putTransfer)
	s.route("PUT /transfers/{id}/error", true, bodyMax, s.putTransferError)
	s.mux.HandleFunc("/", s.unknownURI)
}

// unknownURI answers what no route matches: 3002, or 405 for a known
// path with another method.
func (s *Server) unknownURI(w http.ResponseWriter, r *http.Request) {
	other := *r
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete} {
		other.Method = m
		if _, pattern := s.mux.Handler(&other); pattern != "/" && pattern != "" {
			writeError(w, msg.MethodNotAllowed(), 0)
			return
		}
	}
	writeError(w, msg.NewError(msg.UnknownURI, ""), 0)
}

// refuseCallback answers callbacks the switch never asked for: the
// switch is the account-lookup oracle itself and sends no participants
// requests.
func (s *Server) refuseCallback(in *inbound) error {
	return msg.NewError(msg.UnknownURI, "the switch sends no such request")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The body is limited on the connection's own writer, which closes
	// the connection after answering a body too large.
	cw := w
	x := exchangeOf(r)
	if x != nil {
		cw = x.ResponseWriter
	}
	in, err := h.check(cw, r)
	if x != nil {
		x.routed(h, in)
	}
	if err == nil {
		err = h.fn(in)
	}
	if err != nil {
		e := errorOf(err)
		// A DFSP's integrator debugs its connection from this line and
		// the access line after it (same request id): who it claimed to
		// be, and which code it was answered. Not the raw path nor the
		// error's description, which may hold an alias; no header but
		// FSPIOP-Source, cut to an FSP id's length.
		h.s.Log.InfoContext(r.Context(), "fspiop: request refused", "source", cut(r.Header.Get(msg.HeaderSource), fspIDMax),
			"method", r.Method, "route", h.route, "status", e.HTTPStatus(), "code", e.Code.String())
		writeError(w, e, 0)
		return
	}
	if h.callback {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
}

// fspIDMax is the longest FSP id FSPIOP allows (FspId: 1 to 32
// characters).
const fspIDMax = 32

// cut returns s cut to n bytes, whole UTF-8 characters only: a header
// logged as a client sent it is not a way to flood the logs.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// check reads and checks a request in Mojaloop's order: the versions
// (Accept, Content-Type), Date, then the caller (bearer key,
// FSPIOP-Source), its body and its signature.
func (h *handler) check(w http.ResponseWriter, r *http.Request) (*inbound, error) {
	s := h.s
	in := &inbound{r: r, resource: msg.Resource(r.URL.Path), dest: r.Header.Get(msg.HeaderDestination)}
	hasBody := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch
	if !h.callback {
		v, err := msg.NegotiateAccept(r.Header.Get("Accept"), in.resource)
		if err != nil {
			return in, err
		}
		in.version = v
	}
	date := r.Header.Get("Date")
	if date == "" {
		return in, msg.NewError(msg.MissingElement, "Missing required date header")
	}
	if _, err := msg.ParseDate(date); err != nil {
		return in, msg.NewError(msg.MalformedSyntax, "Invalid date header")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" || hasBody {
		if ct == "" {
			return in, msg.NewError(msg.MissingElement, "Content-type is required")
		}
		v, err := msg.ParseContentType(ct, in.resource)
		if err != nil {
			return in, err
		}
		if hasBody {
			in.version = v
		}
	}
	source := r.Header.Get(msg.HeaderSource)
	if source == "" {
		return in, msg.NewError(msg.MissingElement, "FSPIOP-Source is required")
	}
	who, err := s.Auth.Bearer(r.Header.Get("Authorization"))
	if err != nil || who.Role != auth.RoleParticipant {
		return in, &msg.Error{Code: msg.ClientError, Detail: "Unauthorized", Status: http.StatusUnauthorized}
	}
	p := who.Participant
	switch {
	case p.ID != source:
		return in, &msg.Error{Code: msg.ClientError, Detail: "FSPIOP-Source does not match credentials", Status: http.StatusForbidden}
	case p.FSPIOP == nil:
		return in, &msg.Error{Code: msg.ClientError, Detail: "not an FSPIOP participant: register its fspiop endpoint", Status: http.StatusForbidden}
	case p.Status != participant.Active:
		return in, &msg.Error{Code: msg.PayerPermissionError, Detail: "participant suspended", Status: http.StatusForbidden}
	}
	in.from = p
	if s.Rate != nil && !s.Rate.AllowRequest(p.ID) {
		return in, &msg.Error{Code: msg.ServiceUnavailable, Detail: "request rate exceeded", Status: http.StatusServiceUnavailable}
	}
	if hasBody {
		if r.ContentLength > h.max {
			return in, msg.TooLarge()
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.max))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return in, msg.TooLarge()
			}
			return in, msg.NewError(msg.MalformedSyntax, "unreadable body")
		}
		in.body = b
		if err := s.verify(in); err != nil {
			return in, err
		}
	}
	return in, nil
}

// verify checks the FSPIOP-Signature of a participant that registered a
// JWS key. PUT /parties is the exception Mojaloop's SDK makes by default
// (it does not sign it): it is checked when signed.
func (s *Server) verify(in *inbound) error {
	pem := in.from.FSPIOP.JWSPublicKey
	if pem == "" {
		return nil
	}
	if in.r.Method == http.MethodPut && in.resource == "parties" && in.r.Header.Get(msg.HeaderSignature) == "" {
		return nil
	}
	k, err := s.key(pem)
	if err != nil {
		return msg.NewError(msg.InvalidSignature, "the registered key cannot verify")
	}
	if err := jws.Verify(k, in.r.Header, in.body); err != nil {
		return msg.NewError(msg.InvalidSignature, strings.TrimPrefix(err.Error(), "jws: "))
	}
	return nil
}

// key returns the parsed JWS key of a PEM text, parsing each once.
func (s *Server) key(pem string) (*jws.Key, error) {
	if k, ok := s.keys.Load(pem); ok {
		return k.(*jws.Key), nil
	}
	k, err := jws.ParsePublicKey([]byte(pem))
	if err != nil {
		return nil, err
	}
	s.keys.Store(pem, k)
	return k, nil
}

// writeError answers err synchronously with an ErrorInformationResponse,
// as application/json: what the definition declares for error answers,
// and the only type Mojaloop's SDK reads them in.
func writeError(w http.ResponseWriter, e *msg.Error, status int) {
	if status == 0 {
		status = e.HTTPStatus()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(e.Body())
	w.Write(b)
}

// errorOf maps an error to the FSPIOP error that answers it, once for
// the whole front end: the payment flow's sentinel errors by their
// codes, the rest by their fault kinds.
func errorOf(err error) *msg.Error {
	var me *msg.Error
	if errors.As(err, &me) {
		return me
	}
	detail := err.Error()
	switch fault.CodeOf(err) {
	case "insufficient-funds":
		return msg.NewError(msg.PayerFSPInsufficientLiq, "")
	case "unknown-party":
		return msg.NewError(msg.PartyNotFound, "")
	case "currency-not-enabled":
		return msg.NewError(msg.PayeeUnsupportedCurr, "")
	case "quote-expired":
		return msg.NewError(msg.QuoteExpired, "")
	case "expired":
		return msg.NewError(msg.TransferExpired, "")
	case "participant-suspended":
		return msg.NewError(msg.ValidationError, "participant suspended")
	case "risk-declined", "risk-refused":
		return msg.NewError(msg.PayerBlockedError, "refused by risk control")
	}
	switch fault.KindOf(err) {
	case fault.Invalid, fault.Refused:
		return msg.NewError(msg.ValidationError, detail)
	case fault.NotFound:
		return msg.NewError(msg.IDNotFound, "")
	case fault.Conflict:
		return msg.NewError(msg.ModifiedRequest, "")
	case fault.Unauthorized, fault.Forbidden:
		return msg.NewError(msg.ClientError, "")
	case fault.Unavailable:
		return msg.NewError(msg.ServiceUnavailable, "")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return msg.NewError(msg.ServerTimedOut, "")
	}
	return msg.NewError(msg.InternalServerError, "")
}
