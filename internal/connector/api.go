package connector

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

// problemType is one of the connector's own refusals: the last segment
// of its type URI (wire.ProblemBase + kind), its status and title. The
// kinds are a contract: the backend branches on them.
type problemType struct {
	kind   string
	status int
	title  string
}

// The connector's refusals. A refusal by the switch is passed on with
// the switch's own type and status instead (see writeRefusal).
var (
	probInvalid      = problemType{"invalid-request", http.StatusBadRequest, "The request is invalid"}
	probUnauthorized = problemType{"unauthorized", http.StatusUnauthorized, "A valid Bearer token is required"}
	probSignature    = problemType{"unauthorized", http.StatusUnauthorized, "The Hulian-Signature is missing, wrong or too old"}
	probNotFound     = problemType{"not-found", http.StatusNotFound, "No such resource"}
	probMethod       = problemType{"method-not-allowed", http.StatusMethodNotAllowed, "Method not allowed"}
	probConflict     = problemType{"duplicate-conflict", http.StatusConflict, "The id was used before for another request"}
	probTooLarge     = problemType{"payload-too-large", http.StatusRequestEntityTooLarge, "The body is too large"}
	probMediaType    = problemType{"unsupported-media-type", http.StatusUnsupportedMediaType, "The body must be application/json"}
	probBusy         = problemType{"unavailable", http.StatusServiceUnavailable, "The connector is busy: try again shortly"}
	probSwitch       = problemType{"switch-unreachable", http.StatusBadGateway, "The switch did not answer"}
	probInternal     = problemType{"internal", http.StatusInternalServerError, "Internal error"}
)

// apiBodyMax bounds a request body of the backend API: a payment or an
// alias is well under 2 kB.
const apiBodyMax = 64 << 10

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, probInternal, "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeProblem answers one of the connector's refusals as an RFC 9457
// problem document. A 503 says when to try again.
func writeProblem(w http.ResponseWriter, p problemType, detail string) {
	if p.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeDoc(w, wire.Problem{Type: wire.ProblemBase + p.kind, Title: p.title, Status: p.status, Detail: detail})
}

// writeRefusal answers a refusal of the switch as the switch made it:
// its type, title, status and detail.
func writeRefusal(w http.ResponseWriter, r *sim.Error) {
	pr := r.Problem
	pr.Instance = ""
	if r.Status == http.StatusServiceUnavailable || r.Status == http.StatusTooManyRequests {
		secs := max(int(r.RetryAfter.Seconds()), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeDoc(w, pr)
}

func writeDoc(w http.ResponseWriter, pr wire.Problem) {
	b, _ := json.Marshal(pr)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(pr.Status)
	w.Write(append(b, '\n'))
}

// decode reads a JSON body of at most limit bytes into v, refusing
// members v does not have (a misspelt field fails loudly rather than
// being ignored). It answers the refusal itself and reports whether the
// body was read.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeProblem(w, probMediaType, "")
			return false
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeProblem(w, probTooLarge, "at most "+strconv.FormatInt(limit, 10)+" bytes")
		return false
	case err != nil:
		writeProblem(w, probInvalid, "unreadable body")
		return false
	}
	if err := json.Unmarshal(b, v, json.RejectUnknownMembers(true)); err != nil {
		writeProblem(w, probInvalid, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// text reports whether s is at most max bytes of printable UTF-8
// without control characters.
func text(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// routes returns the handlers of the backend API and of the callbacks.
func (c *Connector) routes() (api, callbacks *http.ServeMux) {
	callbacks = http.NewServeMux()
	callbacks.HandleFunc("POST "+CallbackPath, c.serveCallback)
	callbacks.HandleFunc("GET "+CallbackPath+"/conformance/transfers/{id}", c.serveProbe)
	callbacks.HandleFunc(CallbackPath, methodNotAllowed("POST"))
	callbacks.HandleFunc("GET /healthz", c.serveHealth)

	api = http.NewServeMux()
	guard := func(h http.HandlerFunc) http.Handler { return c.limit(c.authorize(h)) }
	api.Handle("POST /payments", guard(c.postPayment))
	api.Handle("GET /payments/{id}", guard(c.getPayment))
	api.Handle("POST /aliases", guard(c.postAlias))
	api.Handle("DELETE /aliases/{type}/{value}", guard(c.deleteAlias))
	api.Handle("POST /requests", guard(c.postRequest))
	api.Handle("GET /requests/{id}", guard(c.getRequest))
	api.Handle("POST /requests/{id}/accept", guard(c.postAccept))
	api.Handle("POST /requests/{id}/decline", guard(c.postDecline))
	api.Handle("GET /mandates/{id}", guard(c.getMandate))
	api.Handle("POST /mandates/{id}/{action}", guard(c.postMandateAction))
	api.Handle("GET /status", guard(c.serveStatus))
	// The metrics want the token as /status does, but not a place among
	// RequestsMax: a scrape must get through when the API is saturated,
	// which is when it matters. The handler bounds its own (4 at once).
	api.Handle("GET /metrics", c.authorize(c.metrics.handler(c).ServeHTTP))
	api.HandleFunc("/payments", methodNotAllowed("POST"))
	api.HandleFunc("/payments/{id}", methodNotAllowed("GET"))
	api.HandleFunc("/aliases", methodNotAllowed("POST"))
	api.HandleFunc("/aliases/{type}/{value}", methodNotAllowed("DELETE"))
	api.HandleFunc("/requests", methodNotAllowed("POST"))
	api.HandleFunc("/requests/{id}", methodNotAllowed("GET"))
	api.HandleFunc("/requests/{id}/{action}", methodNotAllowed("POST"))
	api.HandleFunc("/mandates/{id}", methodNotAllowed("GET"))
	api.HandleFunc("/mandates/{id}/{action}", methodNotAllowed("POST"))
	api.HandleFunc("/metrics", methodNotAllowed("GET"))
	api.HandleFunc("GET /healthz", c.serveHealth)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeProblem(w, probNotFound, "") })
	return api, callbacks
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeProblem(w, probMethod, "")
	}
}

// authorize requires the API token, when there is one, as a Bearer
// token. The comparison takes the same time whatever the token.
func (c *Connector) authorize(h http.HandlerFunc) http.HandlerFunc {
	if c.cfg.APIToken == "" {
		return h
	}
	want := sha256.Sum256([]byte(c.cfg.APIToken))
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hulian-connector"`)
			writeProblem(w, probUnauthorized, "")
			return
		}
		h(w, r)
	}
}

// limit bounds the backend API requests served at once: beyond
// RequestsMax it answers 503 at once rather than queue without end.
func (c *Connector) limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case c.requests <- struct{}{}:
			defer func() { <-c.requests }()
			h.ServeHTTP(w, r)
		default:
			writeProblem(w, probBusy, "too many requests in progress")
		}
	})
}

// serveHealth answers 200 while the connector serves: for a load
// balancer's or a supervisor's probe. It says nothing of the switch.
func (c *Connector) serveHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
