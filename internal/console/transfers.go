package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// The transfers' pages: a search through the API's listing (a
// participant's transfers from a time on, oldest first, a page at a
// time; the time range's end and the state are applied here to each
// page), a transfer's details, and its audit inclusion proof, which the
// page's script verifies in the browser (proof.js).

// States are the states a transfer may be in, for the search form.
var states = []string{"COMMITTED", "RESERVED", "HELD", "ABORTED"}

// transfersView is the search's page.
type transfersView struct {
	States []string
	// Asked says a search was made: a participant was given (or is the
	// user's own).
	Asked bool
	Rows  []wire.Transfer
	// Next is the query of the next page, "" for none; Scanned how many
	// transfers the API listed for this page, before the state filter.
	Next    string
	Scanned int
}

// timeLayouts are what the search's times may be written as: the
// browser's datetime-local input, or a date; they are UTC.
var timeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02", time.RFC3339}

// parseTime reads a search time; the zero time for "".
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// transfers searches transfers: by id (to its page), or a participant's
// (the user's own for a participant's users) from a time to a time, in
// a state.
func (c *Console) transfers(w http.ResponseWriter, r *http.Request, v *Visit) {
	q := r.URL.Query()
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		http.Redirect(w, r, Prefix+"/transfers/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	d := &transfersView{States: states}
	who := strings.TrimSpace(q.Get("participant"))
	if v.User.Role.OfParticipant() {
		who = v.User.Participant
	}
	if who == "" {
		c.Render(w, r, v, http.StatusOK, "transfers", Page{Title: "nav.transfers", Data: d})
		return
	}
	from, ok1 := parseTime(q.Get("from"))
	to, ok2 := parseTime(q.Get("to"))
	if !ok1 || !ok2 {
		c.Render(w, r, v, http.StatusBadRequest, "transfers", Page{Title: "nav.transfers", Data: d, Message: "transfers.badtime"})
		return
	}
	if len(q.Get("to")) == len("2006-01-02") {
		to = to.Add(24*time.Hour - time.Nanosecond) // the whole day
	}
	d.Asked = true
	api := url.Values{"participant": {who}, "limit": {strconv.Itoa(pageSize)}}
	switch {
	case q.Get("cursor") != "":
		api.Set("since", q.Get("cursor"))
	case !from.IsZero():
		api.Set("since", from.Format(time.RFC3339Nano))
	}
	a := c.Call(r, v, "GET", "/v1/transfers?"+api.Encode(), nil)
	var page wire.Transfers
	if !a.OK() || a.Decode(&page) != nil {
		c.refused(w, r, v, "nav.transfers", a)
		return
	}
	d.Scanned = len(page.Transfers)
	state := q.Get("state")
	past := false
	for _, t := range page.Transfers {
		if !to.IsZero() && t.CreatedAt.After(to) {
			past = true
			break
		}
		if state == "" || t.State == state {
			d.Rows = append(d.Rows, t)
		}
	}
	if page.Next != "" && !past {
		nq := url.Values{}
		for _, k := range []string{"participant", "from", "to", "state"} {
			if q.Get(k) != "" {
				nq.Set(k, q.Get(k))
			}
		}
		nq.Set("cursor", page.Next)
		d.Next = nq.Encode()
	}
	c.Render(w, r, v, http.StatusOK, "transfers", Page{Title: "nav.transfers", Data: d})
}

// transferView is a transfer's page.
type transferView struct {
	Transfer wire.Transfer
	// Payee is the payee participant, when the user may read it (the
	// scheme's roles, or its own users): how its callbacks reach it.
	Payee *wire.Participant
	// Verifier is the switch's note verifier key, which the page's
	// script checks the checkpoint's signature with.
	Verifier string
}

// transferPage shows a transfer and the means to verify its audit
// proof in the browser.
func (c *Console) transferPage(w http.ResponseWriter, r *http.Request, v *Visit) {
	id := r.PathValue("id")
	var d transferView
	a := c.Call(r, v, "GET", "/v1/transfers/"+url.PathEscape(id), nil)
	if !a.OK() || a.Decode(&d.Transfer) != nil {
		c.refused(w, r, v, "nav.transfers", a)
		return
	}
	if p := d.Transfer.Payee.Participant; p != "" {
		var pa wire.Participant
		if x := c.Call(r, v, "GET", "/v1/participants/"+url.PathEscape(p), nil); x.OK() && x.Decode(&pa) == nil {
			d.Payee = &pa
		}
	}
	if x := c.Call(r, v, "GET", "/v1/audit/verifier", nil); x.OK() {
		d.Verifier = strings.TrimSpace(string(x.Body))
	}
	c.Render(w, r, v, http.StatusOK, "transfer", Page{Title: "transfer.title", Data: &d})
}

// transferProof answers the transfer's audit inclusion proof as the API
// answers it to the user (JSON, its status): what the page's script
// verifies.
func (c *Console) transferProof(w http.ResponseWriter, r *http.Request, v *Visit) {
	a := c.Call(r, v, "GET", "/v1/audit/transfers/"+url.PathEscape(r.PathValue("id"))+"/proof", nil)
	ct := a.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(a.Status)
	w.Write(a.Body)
}
