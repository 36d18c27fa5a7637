package sim

import (
	"net/http"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// probePattern is where the participant serves the conformance probe
// (docs/conformance.md): under its callback URL, so that whoever knows
// the callback URL and secret — the switch's operator, a homologation
// suite — can ask without another address or credential.
const probePattern = "GET " + callbackPath + "/conformance/transfers/{id}"

// serveProbe answers the conformance probe of one transfer. The request
// carries a Hulian-Signature over its URL path under the callback
// secret, as recent as a callback's must be: the answer tells who was
// paid what, which only the switch's side may learn. It answers 401 to
// anything else, 404 when the transfer was never credited, and 200 with
// a wire.ConformanceProbe when it was. The books credit a transfer at most once
// (Books.Credit), so Credits is 1.
func (p *Participant) serveProbe(w http.ResponseWriter, r *http.Request) {
	secret := p.secret.Load()
	if secret == nil || wire.Verify(r.Header.Get(wire.SignatureHeader), *secret, []byte(r.URL.Path), time.Now(), p.cfg.SignatureTolerance) != nil {
		writeProbeProblem(w, http.StatusUnauthorized, "unauthorized", "the probe must be signed with the callback secret")
		return
	}
	id := r.PathValue("id")
	for _, c := range p.Currencies() {
		b := p.BooksIn(c)
		if amt, ok := b.Credited(id); ok {
			out, _ := json.Marshal(wire.ConformanceProbe{TransferID: id, Credits: 1, Amount: amt.Format(c), Currency: c.String()})
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.Write(out)
			return
		}
	}
	writeProbeProblem(w, http.StatusNotFound, "not-found", "no credit of this transfer")
}

// writeProbeProblem answers a problem document of the switch's kinds.
func writeProbeProblem(w http.ResponseWriter, status int, kind, detail string) {
	b, _ := json.Marshal(wire.Problem{Type: wire.ProblemBase + kind, Title: http.StatusText(status), Status: status, Detail: detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
