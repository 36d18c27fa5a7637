package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hulian/hulian/internal/wire"
)

// The settlement pages: the windows (newest first, paged here), closing
// an open one, a closed window's report with each participant's net
// position and the settlement bank's instructions, its CSV as the API
// writes it, and recording that an instruction was carried out.

// settlementView is the windows' page.
type settlementView struct {
	Windows     []wire.SettlementWindow
	Page, Pages int
}

// settlement lists the windows, filtered by ?state= and ?currency=.
func (c *Console) settlement(w http.ResponseWriter, r *http.Request, v *Visit) {
	q := r.URL.Query()
	api := url.Values{}
	for _, k := range []string{"state", "currency"} {
		if x := strings.TrimSpace(q.Get(k)); x != "" {
			api.Set(k, strings.ToUpper(x))
		}
	}
	path := "/v1/settlement-windows"
	if len(api) > 0 {
		path += "?" + api.Encode()
	}
	var ws wire.SettlementWindows
	a := c.Call(r, v, "GET", path, nil)
	if !a.OK() || a.Decode(&ws) != nil {
		c.refused(w, r, v, "nav.settlement", a)
		return
	}
	slices.SortFunc(ws.Windows, func(a, b wire.SettlementWindow) int {
		return cmp.Or(b.OpenedAt.Compare(a.OpenedAt), cmp.Compare(a.ID, b.ID))
	})
	d := &settlementView{Pages: max((len(ws.Windows)+pageSize-1)/pageSize, 1)}
	d.Page = min(max(atoi(q.Get("page")), 1), d.Pages)
	d.Windows = ws.Windows[(d.Page-1)*pageSize : min(d.Page*pageSize, len(ws.Windows))]
	c.Render(w, r, v, http.StatusOK, "settlement", Page{Title: "nav.settlement", Data: d})
}

// windowView is a window's page.
type windowView struct {
	W wire.SettlementWindow
	// Report is the closed window's report, nil while it is open.
	Report *wire.SettlementReport
	// Direction of each participant's instruction, to show with its
	// position.
	Instructions map[string]wire.Instruction
}

// window shows a window and, once it is closed, its report.
func (c *Console) window(w http.ResponseWriter, r *http.Request, v *Visit) {
	id := r.PathValue("id")
	var d windowView
	a := c.Call(r, v, "GET", "/v1/settlement-windows/"+url.PathEscape(id), nil)
	if !a.OK() || a.Decode(&d.W) != nil {
		c.refused(w, r, v, "nav.settlement", a)
		return
	}
	if d.W.State != "OPEN" {
		var rep wire.SettlementReport
		if x := c.Call(r, v, "GET", "/v1/settlement-windows/"+url.PathEscape(id)+"/report", nil); x.OK() && x.Decode(&rep) == nil {
			d.Report = &rep
			d.Instructions = map[string]wire.Instruction{}
			for _, in := range rep.Instructions {
				d.Instructions[in.Participant] = in
			}
		}
	}
	c.Render(w, r, v, http.StatusOK, "window", Page{Title: "settlement.window.title", Data: &d})
}

// windowCSV answers the window's report as the API writes it in CSV,
// as a download.
func (c *Console) windowCSV(w http.ResponseWriter, r *http.Request, v *Visit) {
	a := c.call(r, v, "GET", "/v1/settlement-windows/"+url.PathEscape(r.PathValue("id"))+"/report", nil, "text/csv")
	if !a.OK() {
		c.refused(w, r, v, "nav.settlement", a)
		return
	}
	for _, k := range []string{"Content-Type", "Content-Disposition"} {
		w.Header().Set(k, a.Header.Get(k))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(a.Body)
}

// windowAct closes a window, or records that a participant's
// instruction was carried out (participant, and the amount if it
// differs).
func (c *Console) windowAct(w http.ResponseWriter, r *http.Request, v *Visit) {
	id := r.PathValue("id")
	base := "/v1/settlement-windows/" + url.PathEscape(id)
	next := Prefix + "/settlement/" + url.PathEscape(id)
	switch r.PathValue("what") {
	case "close":
		c.act(w, r, v, "window-close", id, "POST", base+"/close", nil, "nav.settlement", next)
	case "confirm":
		f := r.PostForm
		p := strings.TrimSpace(f.Get("participant"))
		c.act(w, r, v, "settlement-confirm", id+" "+p, "POST", base+"/confirmations",
			wire.Confirmation{Participant: p, Amount: strings.TrimSpace(f.Get("amount"))}, "nav.settlement", next)
	default:
		c.notFound(w, r)
	}
}
