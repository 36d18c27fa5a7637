package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The participants' pages: the list (searched and paged here, over the
// API's list), onboarding, suspension, limits and fees for the
// operator's administrator; a participant's page, where its own
// administrator sets its callback and liquidity thresholds.

// pageSize is how many rows a page of a list shows.
const pageSize = 50

// participantsView is the list's page.
type participantsView struct {
	Rows []wire.Participant
	// Found is how many match the search; Page the page shown (from 1)
	// and Pages how many there are.
	Found, Page, Pages int
	Fees               []wire.Fees
	// Onboarded is the participant just created, with its credentials
	// (shown once).
	Onboarded *wire.Participant
}

// participants lists the participants: a participant's users go to
// their own participant's page.
func (c *Console) participants(w http.ResponseWriter, r *http.Request, v *Visit) {
	if v.User.Role.OfParticipant() {
		http.Redirect(w, r, Prefix+"/participants/"+url.PathEscape(v.User.Participant), http.StatusSeeOther)
		return
	}
	d, a := c.participantsView(r, v)
	if a != nil {
		c.refused(w, r, v, "nav.participants", a)
		return
	}
	c.Render(w, r, v, http.StatusOK, "participants", Page{Title: "nav.participants", Data: d})
}

// participantsView reads the list and the fees, and searches and pages
// the list as the query asks: q (in the id or the name, any case),
// status, page.
func (c *Console) participantsView(r *http.Request, v *Visit) (*participantsView, *Answer) {
	var list wire.Participants
	a := c.Call(r, v, "GET", "/v1/participants", nil)
	if !a.OK() || a.Decode(&list) != nil {
		return nil, a
	}
	q := r.URL.Query()
	needle, status := strings.ToLower(strings.TrimSpace(q.Get("q"))), q.Get("status")
	rows := slices.DeleteFunc(list.Participants, func(p wire.Participant) bool {
		if status != "" && p.Status != status {
			return true
		}
		return needle != "" && !strings.Contains(strings.ToLower(p.ID), needle) && !strings.Contains(strings.ToLower(p.Name), needle)
	})
	d := &participantsView{Found: len(rows)}
	d.Pages = max((len(rows)+pageSize-1)/pageSize, 1)
	d.Page = min(max(atoi(q.Get("page")), 1), d.Pages)
	d.Rows = rows[(d.Page-1)*pageSize : min(d.Page*pageSize, len(rows))]
	var fees wire.FeeList
	if f := c.Call(r, v, "GET", "/v1/fees", nil); f.OK() && f.Decode(&fees) == nil {
		d.Fees = fees.Fees
	}
	return d, nil
}

// atoi reads a small positive integer, 0 if it is not one.
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// onboard creates a participant from the form (id, name, kind,
// currencies separated by commas or spaces, callbackUrl, acceptance)
// and shows its API key and callback secret, once.
func (c *Console) onboard(w http.ResponseWriter, r *http.Request, v *Visit) {
	f := r.PostForm
	np := wire.NewParticipant{ID: strings.TrimSpace(f.Get("id")), Name: strings.TrimSpace(f.Get("name")), Kind: f.Get("kind"),
		Currencies:  strings.FieldsFunc(strings.ToUpper(f.Get("currencies")), func(r rune) bool { return r == ',' || r == ' ' }),
		CallbackURL: strings.TrimSpace(f.Get("callbackUrl")), Acceptance: f.Get("acceptance")}
	a, err := c.Act(r, v, "participant-onboard", np.ID, "POST", "/v1/participants", np)
	if !a.OK() {
		c.refused(w, r, v, "nav.participants", a)
		return
	}
	var created wire.Participant
	if a.Decode(&created) != nil {
		c.Error(w, r, v, http.StatusInternalServerError, "error.internal")
		return
	}
	d, la := c.participantsView(r, v)
	if la != nil {
		d = &participantsView{}
	}
	d.Onboarded = &created
	p := Page{Title: "nav.participants", Data: d, Message: "done.participant-onboard"}
	if err != nil {
		p.Message = "error.unrecorded"
	}
	c.Render(w, r, v, http.StatusCreated, "participants", p)
}

// setFees sets a currency's fee schedule from the form (currency,
// fixed, rate, min, max).
func (c *Console) setFees(w http.ResponseWriter, r *http.Request, v *Visit) {
	f := r.PostForm
	cur := strings.ToUpper(strings.TrimSpace(f.Get("currency")))
	body := wire.Fees{Currency: cur, Fixed: f.Get("fixed"), Rate: f.Get("rate"), Min: f.Get("min"), Max: f.Get("max")}
	c.act(w, r, v, "fees-set", cur, "PUT", "/v1/fees/"+url.PathEscape(cur), body, "nav.participants", Prefix+"/participants")
}

// participantView is a participant's page.
type participantView struct {
	P          wire.Participant
	Accounts   []position
	Thresholds map[string]wire.LiquidityThreshold
	// Currencies are its currencies, for the forms.
	Currencies []string
}

// participantPage shows a participant: who it is, its positions and
// thresholds, and the forms its role allows.
func (c *Console) participantPage(w http.ResponseWriter, r *http.Request, v *Visit) {
	id := r.PathValue("id")
	base := "/v1/participants/" + url.PathEscape(id)
	var d participantView
	a := c.Call(r, v, "GET", base, nil)
	if !a.OK() || a.Decode(&d.P) != nil {
		c.refused(w, r, v, "nav.participants", a)
		return
	}
	var as wire.Accounts
	if x := c.Call(r, v, "GET", base+"/accounts", nil); x.OK() && x.Decode(&as) == nil {
		for _, acc := range as.Accounts {
			cur, err := money.ParseCurrency(acc.Currency)
			if err != nil {
				continue
			}
			b, _ := money.Parse(acc.Balance, cur)
			res, _ := money.Parse(acc.Reserved, cur)
			cp, _ := money.Parse(acc.NetDebitCap, cur)
			d.Accounts = append(d.Accounts, positionOf(d.P.ID, d.P.Name, acc.Currency, b, res, cp))
		}
	}
	d.Thresholds = map[string]wire.LiquidityThreshold{}
	for _, cur := range d.P.Currencies {
		var t wire.LiquidityThreshold
		if x := c.Call(r, v, "GET", base+"/liquidity/"+url.PathEscape(cur), nil); x.OK() && x.Decode(&t) == nil {
			d.Thresholds[cur] = t
		}
	}
	d.Currencies = d.P.Currencies
	c.Render(w, r, v, http.StatusOK, "participant", Page{Title: "participant.title", Data: &d})
}

// participantAct changes a participant as its form asks: suspend,
// resume (the operator's), limit, liquidity, callback (its own
// administrator's too).
func (c *Console) participantAct(w http.ResponseWriter, r *http.Request, v *Visit) {
	id := r.PathValue("id")
	base := "/v1/participants/" + url.PathEscape(id)
	next := Prefix + "/participants/" + url.PathEscape(id)
	f := r.PostForm
	cur := strings.ToUpper(strings.TrimSpace(f.Get("currency")))
	switch r.PathValue("what") {
	case "suspend":
		c.act(w, r, v, "participant-suspend", id, "POST", base+"/suspend", nil, "participant.title", next)
	case "resume":
		c.act(w, r, v, "participant-resume", id, "POST", base+"/resume", nil, "participant.title", next)
	case "limit":
		c.act(w, r, v, "participant-limit", id+" "+cur, "PUT", base+"/limits/"+url.PathEscape(cur),
			wire.Limit{NetDebitCap: strings.TrimSpace(f.Get("netDebitCap"))}, "participant.title", next)
	case "liquidity":
		c.act(w, r, v, "participant-liquidity", id+" "+cur, "PUT", base+"/liquidity/"+url.PathEscape(cur),
			wire.NewLiquidityThreshold{Threshold: strings.TrimSpace(f.Get("threshold"))}, "participant.title", next)
	case "callback":
		u := strings.TrimSpace(f.Get("callbackUrl"))
		c.act(w, r, v, "participant-callback", id, "PATCH", base, wire.ParticipantPatch{CallbackURL: &u}, "participant.title", next)
	default:
		c.notFound(w, r)
	}
}
