package api

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/transfer"
	"github.com/hulian/hulian/internal/wire"
)

// The audit log's endpoints: its verifier key and checkpoints (signed
// notes, text/plain as transparency logs serve them), inclusion proofs of
// transfers, consistency proofs, bulk leaves, witnesses and their
// co-signatures.

// replyText writes a note or a key as text/plain.
func replyText(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// auditOn answers 503 if the server was built without an audit log.
func (s *Server) auditOn(w http.ResponseWriter) bool {
	if s.Audit == nil {
		writeProblem(w, probUnavailable, "no audit log")
		return false
	}
	return true
}

func hashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func (s *Server) auditVerifier(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.auditOn(w) {
		return
	}
	replyText(w, http.StatusOK, []byte(s.Audit.VerifierKey()+"\n"))
}

func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.auditOn(w) {
		return
	}
	replyText(w, http.StatusOK, s.Audit.Checkpoint())
}

func (s *Server) auditProof(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if !s.auditOn(w) {
		return
	}
	id := r.PathValue("id")
	// Visible to whom the transfer is: its payer, its payee participant,
	// the operator (and the regulator).
	t, err := s.Transfers.Get(r.Context(), transfer.Viewer{Participant: who.ParticipantID()}, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// ?leg= names which of its events: the payment leg, which holds the
	// record, or an FX payment's fx leg, which pays the payee and holds
	// the FX terms.
	leg := r.URL.Query().Get("leg")
	switch {
	case leg == "" || leg == "payment":
		leg = "payment"
	case leg != "fx":
		writeProblem(w, probInvalid, "leg must be payment or fx")
		return
	case t.FX == nil:
		writeProblem(w, probNotFound, "the transfer has no fx leg: it is paid in one currency")
		return
	}
	p, err := s.Audit.ProveTransfer(r.Context(), transfer.LegID(id, leg))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, wire.AuditProof{
		Leaf: base64.StdEncoding.EncodeToString(p.Leaf), Index: p.Index, TreeSize: p.TreeSize,
		Proof: hashes(p.Proof), Checkpoint: string(p.Checkpoint),
	})
}

// accountMACKey is the answer of GET /v1/audit/account-mac-key.
type accountMACKey struct {
	// Key is the key, standard base64: a payee's, which MACs its account
	// references in payment records version 2 and their audit leaves, or
	// the switch's, from which every payee's is derived.
	Key string `json:"key"`
	// Algorithm is how the MAC is made with it: "HMAC-SHA256" over the
	// account reference's bytes.
	Algorithm string `json:"algorithm"`
	// Participant is the payee whose key this is; "" for the switch's.
	Participant string `json:"participant,omitempty"`
}

// auditAccountMACKey serves the keys that MAC payees' account references
// in the audit leaves: a participant gets its own, to check that a leaf
// names its account, and no other's, so that a payer cannot try account
// numbers against the leaf of its payment; the operator and the
// regulator get any payee's (?participant=) or the switch's, from which
// each payee's is derived. They are subkeys of the data key that say
// nothing of the keys that seal.
func (s *Server) auditAccountMACKey(w http.ResponseWriter, r *http.Request, who auth.Principal) {
	if !s.auditOn(w) {
		return
	}
	payee := r.URL.Query().Get("participant")
	if who.Role == auth.RoleParticipant {
		if payee != "" && payee != who.Participant.ID {
			writeProblem(w, probNotFound, "no participant "+strconv.Quote(payee))
			return
		}
		payee = who.Participant.ID
	} else if _, ok := s.Participants.Get(payee); payee != "" && !ok {
		writeProblem(w, probNotFound, "no participant "+strconv.Quote(payee))
		return
	}
	var key []byte
	if s.Transfers != nil {
		key = s.Transfers.AccountMACKey(payee)
	}
	if key == nil {
		writeProblem(w, probUnavailable, "the switch has no data key: its payment records hold no account MACs")
		return
	}
	reply(w, http.StatusOK, accountMACKey{Key: base64.StdEncoding.EncodeToString(key), Algorithm: "HMAC-SHA256", Participant: payee})
}

// int64Param reads a required non-negative integer query parameter.
func int64Param(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	v, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
	if err != nil || v < 0 {
		writeProblem(w, probInvalid, name+" must be a non-negative integer")
		return 0, false
	}
	return v, true
}

func (s *Server) auditConsistency(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.auditOn(w) {
		return
	}
	from, ok := int64Param(w, r, "from")
	if !ok {
		return
	}
	to, ok := int64Param(w, r, "to")
	if !ok {
		return
	}
	p, err := s.Audit.ProveConsistency(from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, wire.AuditConsistency{From: from, To: to, Proof: hashes(p)})
}

func (s *Server) auditLeaves(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.auditOn(w) {
		return
	}
	start, ok := int64Param(w, r, "start")
	if !ok {
		return
	}
	end, ok := int64Param(w, r, "end")
	if !ok {
		return
	}
	leaves, err := s.Audit.Leaves(r.Context(), start, end)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.AuditLeaves{Start: start, End: end, Leaves: make([]string, len(leaves))}
	for i, l := range leaves {
		out.Leaves[i] = base64.StdEncoding.EncodeToString(l)
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) addWitness(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.auditOn(w) {
		return
	}
	var req wire.Witness
	if !decode(w, r, bodyMax, &req) {
		return
	}
	wt, created, err := s.Audit.AddWitness(req.Name, req.Key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	reply(w, status, wire.Witness{Name: wt.Name, Key: wt.Key})
}

// cosignatureMax bounds a co-signed checkpoint note.
const cosignatureMax = 16 << 10

func (s *Server) addCosignature(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if !s.auditOn(w) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/plain" {
			writeProblem(w, probMediaType, "the body must be the co-signed checkpoint note, text/plain")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, cosignatureMax))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeProblem(w, probTooLarge, "the body must be at most "+strconv.Itoa(cosignatureMax)+" bytes")
		return
	}
	if err != nil {
		writeProblem(w, probInvalid, "reading the body: "+err.Error())
		return
	}
	c, added, err := s.Audit.AddCosignature(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, wire.Cosigned{TreeSize: c.Size, Added: added})
}
