// Package wallet is the demo end-user wallet: the web page of one person
// (sim.Person) at one simulated wallet, served by `hulian demo` on a
// loopback listener of its own. It is the simulated wallet's own app,
// not the switch's: it talks to the switch only through its wallet's
// client and API key, which stay on the server, like any participant.
//
// The person sees their balance as the wallet's books keep it (not the
// wallet's settlement account at the switch); pays by alias after
// confirmation of payee (GET /v1/parties/{type}/{value} shows the masked
// name, the person confirms, POST /v1/transfers pays); reads their
// payments as bills grouped by month and category, and their spending
// by category and month as charts (inline SVG drawn on the server); and
// pays or declines the requests to pay waiting for them. Every payment
// goes through the wallet's ordinary paths (sim.Person), so that it is
// held, sent and booked in the wallet's books like any simulated user's.
//
// The pages are server-rendered HTML (html/template, assets embedded)
// without script, in Simplified Chinese and English (Accept-Language,
// or a switch link remembered in a cookie), amounts formatted by
// currency. Every form carries a per-page token (see guard), and a
// strict Content-Security-Policy forbids inline script and style.
package wallet

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/wire"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Config configures a wallet's pages.
type Config struct {
	// Person is the wallet's user.
	Person *sim.Person
	// Location is the time zone of dates and months (default time.Local).
	Location *time.Location
	// Now is the clock (default time.Now): the statistics end at its
	// month, and forms expire by it.
	Now func() time.Time
}

// Limits of the pages.
const (
	// noteMax is the longest note, in characters: in UTF-8 it stays
	// within the switch's 256 bytes, Chinese included.
	noteMax = 80
	// aliasMax is the longest alias typed.
	aliasMax = 128
	// pendingMax bounds the payments waiting for their confirmation,
	// and receiptsMax the outcomes kept to show; the oldest go first.
	pendingMax  = 256
	receiptsMax = 256
	// pendingTTL is how long a confirmation page stays usable.
	pendingTTL = 10 * time.Minute
	// statsMonths is how many months the spending chart shows.
	statsMonths = 6
	// recentMax is how many payments the wallet's front page lists.
	recentMax = 5
	// bodyMax bounds a form's body.
	bodyMax = 16 << 10
)

// Timeouts of the calls to the switch a page makes. A payment is not
// abandoned when its browser goes away: it runs to its answer (retries
// included) or payTimeout.
const (
	lookupTimeout = 10 * time.Second
	readTimeout   = 5 * time.Second
	payTimeout    = 45 * time.Second
)

// aliasTypes are the alias types the pay form offers.
var aliasTypes = []string{"MSISDN", "EMAIL", "RANDOM", "MERCHANT"}

// Server serves a wallet's pages. It is an http.Handler; Start serves it
// on a listener of its own.
type Server struct {
	cfg     Config
	person  *sim.Person
	wallet  string // the participant's name
	cur     money.Currency
	pages   map[string]*template.Template
	handler http.Handler
	guard   *guard

	mu       sync.Mutex
	pending  map[string]pendingPayment
	pendingQ []string
	receipts map[string]receipt
	receiptQ []string

	srv *http.Server
}

// pendingPayment is a payment between its payee's confirmation page and
// the person's confirmation.
type pendingPayment struct {
	session    string
	expires    time.Time
	payee      wire.PayeeRef // as the switch normalized it
	name       string        // the masked name shown
	transferID string        // chosen once: a confirmation sent twice pays once
	amount     money.Amount
	note       string
}

// receipt is the outcome of one of the person's actions, kept to show
// after the redirect that follows the form.
type receipt struct {
	session    string
	kind       string // "pay", "bill" or "decline"
	status     sim.Status
	problem    string
	amount     money.Amount
	party      string
	transferID string
}

// New makes a wallet's pages.
func New(cfg Config) (*Server, error) {
	if cfg.Person == nil {
		return nil, errors.New("wallet: no person")
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, person: cfg.Person, wallet: cfg.Person.Participant().Config().Name, cur: cfg.Person.Currency(),
		pages: map[string]*template.Template{}, guard: newGuard(cfg.Now), pending: map[string]pendingPayment{}, receipts: map[string]receipt{}}
	for _, name := range []string{"home", "confirm", "receipt", "bills", "stats", "forbidden"} {
		t, err := template.New("layout.html").ParseFS(assets, "templates/layout.html", "templates/entries.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("wallet: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("POST /pay", s.pay)
	mux.HandleFunc("POST /pay/confirm", s.confirm)
	mux.HandleFunc("GET /receipts/{id}", s.receipt)
	mux.HandleFunc("POST /requests/{id}/pay", s.payRequest)
	mux.HandleFunc("POST /requests/{id}/decline", s.declineRequest)
	mux.HandleFunc("GET /bills", s.bills)
	mux.HandleFunc("GET /stats", s.stats)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.handler = headers(http.NewCrossOriginProtection().Handler(mux))
	return s, nil
}

// headers sets what every answer carries: a Content-Security-Policy that
// allows the pages' own stylesheet and nothing else (no script at all,
// forms posted only here, no framing), and no caching of pages that show
// a balance.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, bodyMax)
		}
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the pages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Start serves the pages on addr (a loopback address: "127.0.0.1:0"
// picks a free port) until Close, and returns their URL.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("wallet: %w", err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: payTimeout + 15*time.Second, IdleTimeout: 2 * time.Minute}
	go s.srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", nil
}

// Close stops serving, waiting (bounded by ctx) for the pages being
// answered: a payment in flight finishes.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// page is what every page's template gets.
type page struct {
	L      *locale
	Nav    string // the navigation's current page
	Path   string // the page's path, for the language link
	Title  string
	Wallet string
	Name   string
	Cur    money.Currency
	Token  string // the forms' token
	Error  string
	Data   any
}

// render writes page name with status; the page is executed before
// anything is written, so that a template failure answers 500 alone.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	l := p.L
	if p.Path == "" {
		p.Path = r.URL.Path
	}
	p.Wallet, p.Cur = s.wallet, s.cur
	p.Name = s.person.Account().Name
	if q := r.URL.Query().Get("lang"); q != "" {
		if _, ok := parseLang(q); ok {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", SameSite: http.SameSiteStrictMode, MaxAge: 365 * 24 * 3600})
		}
	}
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		http.Error(w, l.T("err_unreachable"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l.Code())
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// locale returns the request's language and the wallet's time zone.
func (s *Server) locale(r *http.Request) *locale {
	return &locale{lang: pickLang(r), loc: s.cfg.Location}
}

// payForm is what the pay form holds.
type payForm struct {
	Type, Alias, Amount, Note string
}

// option is one of a select's options.
type option struct {
	Value, Label string
	Selected     bool
}

// aliasView is an alias as the pages show it.
type aliasView struct {
	Type, Label, Value string
}

// contactView is a phone book entry.
type contactView struct {
	Name string
	aliasView
}

// billView is a request to pay waiting for the person.
type billView struct {
	ID, From, Amount, Message, Expires string
}

// entryView is a statement entry as the lists show it.
type entryView struct {
	ID, When, Title, Detail, Amount, Fee, Category, Colour string
	Incoming                                               bool
}

// homeData is the front page's.
type homeData struct {
	Available, Held money.Amount
	Balance         money.Amount
	Aliases         []aliasView
	Contacts        []contactView
	Types           []option
	Form            payForm
	Bills           []billView
	Recent          []entryView
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.showHome(w, r, http.StatusOK, payForm{Type: q.Get("type"), Alias: q.Get("alias")}, "")
}

// showHome renders the front page, with the pay form holding f and an
// error above it, if any.
func (s *Server) showHome(w http.ResponseWriter, r *http.Request, status int, f payForm, errText string) {
	l := s.locale(r)
	session := s.guard.session(w, r)
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	acct := s.person.Account()
	d := homeData{Balance: acct.Balance, Available: acct.Available(), Held: acct.Held, Form: f}
	if f.Type == "" {
		f.Type = "MSISDN"
	}
	for _, t := range aliasTypes {
		d.Types = append(d.Types, option{Value: t, Label: l.T("type_" + t), Selected: t == f.Type})
	}
	for _, a := range s.person.Aliases() {
		d.Aliases = append(d.Aliases, aliasView{Type: a.Type, Label: l.T("type_" + a.Type), Value: a.Value})
	}
	for _, c := range s.person.Contacts() {
		d.Contacts = append(d.Contacts, contactView{Name: c.Name, aliasView: aliasView{Type: c.Alias.Type, Label: l.T("type_" + c.Alias.Type), Value: c.Alias.Value}})
	}
	for _, b := range s.person.Bills(ctx) {
		d.Bills = append(d.Bills, s.billView(l, b))
	}
	st := s.person.Statement()
	for _, e := range st[:min(len(st), recentMax)] {
		d.Recent = append(d.Recent, s.entryView(l, e))
	}
	s.render(w, r, status, "home", page{L: l, Nav: "home", Title: l.T("nav_home"), Token: s.guard.issue(session), Error: errText, Data: d})
}

// billView shows request to pay b.
func (s *Server) billView(l *locale, b wire.PaymentRequest) billView {
	v := billView{ID: b.ID, From: b.Payee, Amount: b.Amount + " " + b.Currency, Message: b.Message, Expires: l.When(b.ExpiresAt)}
	if c, err := money.ParseCurrency(b.Currency); err == nil {
		if a, err := money.Parse(b.Amount, c); err == nil {
			v.Amount = l.Money(a, c)
		}
	}
	return v
}

// entryView shows statement entry e.
func (s *Server) entryView(l *locale, e sim.Entry) entryView {
	c := categoryOf(e)
	v := entryView{ID: e.ID, When: l.Day(e.At), Amount: l.Signed(e.Amount, s.cur, e.Incoming), Category: l.T("cat_" + string(c)),
		Colour: c.colour(), Incoming: e.Incoming, Detail: e.Note}
	switch c {
	case catReceived:
		v.Title = l.T("entry_from", e.Party)
	case catRequested:
		v.Title = l.T("entry_requested", e.Party)
	case catRefunds:
		v.Title = l.T("entry_refund", e.Party)
	case catBills:
		v.Title = l.T("entry_request", e.Party)
	default:
		v.Title = e.Party
		if v.Title == "" {
			v.Title = e.Payee.Value
		}
		alias := l.T("type_"+e.Payee.Type) + " " + e.Payee.Value
		if v.Detail == "" {
			v.Detail = alias
		} else {
			v.Detail = alias + " · " + v.Detail
		}
	}
	if e.Fee > 0 {
		v.Fee = l.T("fee", l.Money(e.Fee, s.cur))
	}
	return v
}

// confirmData is the confirmation page's.
type confirmData struct {
	ID          string
	Alias       aliasView
	Name        string
	Participant string
	Amount      string
	Note        string
	FraudMarks  int
}

// pay reads the pay form, looks the payee up at the switch and shows
// the masked name for the person to confirm.
func (s *Server) pay(w http.ResponseWriter, r *http.Request) {
	session, ok := s.guard.check(r)
	if !ok {
		s.forbidden(w, r)
		return
	}
	l := s.locale(r)
	f := payForm{Type: r.PostFormValue("type"), Alias: strings.TrimSpace(r.PostFormValue("alias")),
		Amount: strings.TrimSpace(r.PostFormValue("amount")), Note: strings.TrimSpace(r.PostFormValue("note"))}
	amount, errText := s.readForm(l, f)
	if errText != "" {
		s.showHome(w, r, http.StatusUnprocessableEntity, f, errText)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	defer cancel()
	found, err := s.person.Lookup(ctx, wire.PayeeRef{Type: f.Type, Value: f.Alias})
	switch {
	case err != nil:
		s.showHome(w, r, statusOf(err), f, s.failure(l, sim.StatusRefused, problemOf(err)))
		return
	case found.Participant == s.person.Participant().ID():
		s.showHome(w, r, http.StatusUnprocessableEntity, f, l.T("err_own_wallet", found.DisplayName, s.wallet))
		return
	case found.Currency != "" && found.Currency != s.cur.String():
		s.showHome(w, r, http.StatusUnprocessableEntity, f, l.T("err_other_currency", found.Currency))
		return
	}
	pp := pendingPayment{session: session, expires: s.cfg.Now().Add(pendingTTL), payee: wire.PayeeRef{Type: found.Type, Value: found.Value},
		name: found.DisplayName, transferID: s.person.Participant().NewTransferID(), amount: amount, note: f.Note}
	id := random()
	s.mu.Lock()
	s.pending[id] = pp
	s.pendingQ = keep(s.pendingQ, id, pendingMax, func(old string) { delete(s.pending, old) })
	s.mu.Unlock()
	s.render(w, r, http.StatusOK, "confirm", page{L: l, Nav: "home", Path: "/", Title: l.T("confirm_title"), Token: s.guard.issue(session),
		Data: confirmData{ID: id, Alias: aliasView{Type: found.Type, Label: l.T("type_" + found.Type), Value: found.Value},
			Name: found.DisplayName, Participant: found.Participant, Amount: l.Money(amount, s.cur), Note: f.Note, FraudMarks: found.FraudMarks}})
}

// readForm checks the pay form and returns its amount, or the text of
// what is wrong with it.
func (s *Server) readForm(l *locale, f payForm) (money.Amount, string) {
	switch {
	case !slices.Contains(aliasTypes, f.Type):
		return 0, l.T("err_type")
	case f.Alias == "" || len(f.Alias) > aliasMax:
		return 0, l.T("err_alias")
	case utf8.RuneCountInString(f.Note) > noteMax || !utf8.ValidString(f.Note):
		return 0, l.T("err_note", noteMax)
	}
	// People type thousands separators and full-width digits; the
	// amount is otherwise money.Parse's strict decimal.
	typed := strings.Map(func(r rune) rune {
		switch {
		case r == ',' || r == '，' || r == ' ':
			return -1
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '．' || r == '。':
			return '.'
		}
		return r
	}, f.Amount)
	a, err := money.Parse(typed, s.cur)
	if err != nil || a <= 0 {
		return 0, l.T("err_amount", s.cur.Exponent())
	}
	return a, ""
}

// keep appends id to a queue of at most n, dropping (and telling drop
// of) the oldest.
func keep(q []string, id string, n int, drop func(string)) []string {
	q = append(q, id)
	for len(q) > n {
		drop(q[0])
		q = q[1:]
	}
	return q
}

// confirm pays a payment the person confirmed, then shows its receipt.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	session, ok := s.guard.check(r)
	if !ok {
		s.forbidden(w, r)
		return
	}
	id := r.PostFormValue("payment")
	s.mu.Lock()
	pp, found := s.pending[id]
	delete(s.pending, id) // one confirmation pays once
	s.mu.Unlock()
	if !found || pp.session != session || pp.expires.Before(s.cfg.Now()) {
		l := s.locale(r)
		s.showHome(w, r, http.StatusConflict, payForm{}, l.T("err_expired"))
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), payTimeout)
	defer cancel()
	res := s.person.Pay(ctx, sim.Payment{ID: pp.transferID, Payee: pp.payee, Amount: pp.amount, Note: pp.note}, pp.name)
	s.redirect(w, r, receipt{session: session, kind: "pay", status: res.Status, problem: res.Problem, amount: pp.amount,
		party: pp.name, transferID: res.ID})
}

// payRequest pays a request to pay waiting for the person.
func (s *Server) payRequest(w http.ResponseWriter, r *http.Request) {
	session, ok := s.guard.check(r)
	if !ok {
		s.forbidden(w, r)
		return
	}
	id := r.PathValue("id")
	party := s.requester(id)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), payTimeout)
	defer cancel()
	res, err := s.person.PayBill(ctx, id)
	rc := receipt{session: session, kind: "bill", status: res.Status, problem: res.Problem, amount: res.Amount, party: party, transferID: res.ID}
	if err != nil {
		rc.status, rc.problem = sim.StatusRefused, "no-bill"
	}
	s.redirect(w, r, rc)
}

// declineRequest declines a request to pay waiting for the person.
func (s *Server) declineRequest(w http.ResponseWriter, r *http.Request) {
	session, ok := s.guard.check(r)
	if !ok {
		s.forbidden(w, r)
		return
	}
	id := r.PathValue("id")
	party := s.requester(id)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), payTimeout)
	defer cancel()
	rc := receipt{session: session, kind: "decline", status: sim.StatusCommitted, party: party}
	if err := s.person.DeclineBill(ctx, id, "declined by the payer"); err != nil {
		rc.status, rc.problem = sim.StatusRefused, problemOf(err)
		if errors.Is(err, sim.ErrNoBill) {
			rc.problem = "no-bill"
		}
	}
	s.redirect(w, r, rc)
}

// requester returns the participant that sent request to pay id, if it
// waits for the person.
func (s *Server) requester(id string) string {
	r, _ := s.person.Bill(id)
	return r.Payee
}

// redirect keeps receipt rc and sends the browser to it (303): a reload
// of the receipt shows it again rather than sending the form again.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, rc receipt) {
	id := random()
	s.mu.Lock()
	s.receipts[id] = rc
	s.receiptQ = keep(s.receiptQ, id, receiptsMax, func(old string) { delete(s.receipts, old) })
	s.mu.Unlock()
	http.Redirect(w, r, "/receipts/"+id, http.StatusSeeOther)
}

// receiptData is the receipt page's.
type receiptData struct {
	OK         bool
	Message    string
	TransferID string
}

func (s *Server) receipt(w http.ResponseWriter, r *http.Request) {
	l := s.locale(r)
	session := s.guard.session(w, r)
	s.mu.Lock()
	rc, ok := s.receipts[r.PathValue("id")]
	s.mu.Unlock()
	if !ok || rc.session != session {
		http.NotFound(w, r)
		return
	}
	d := receiptData{OK: rc.status == sim.StatusCommitted, TransferID: rc.transferID}
	switch {
	case rc.kind == "decline" && d.OK:
		d.Message = l.T("bill_declined", rc.party)
	case rc.kind == "bill" && d.OK:
		d.Message = l.T("bill_paid", l.Money(rc.amount, s.cur), rc.party)
	case d.OK:
		d.Message = l.T("paid_ok", l.Money(rc.amount, s.cur), rc.party)
	case rc.problem == "no-bill":
		d.Message = l.T("err_no_bill")
	default:
		d.Message = s.failure(l, rc.status, rc.problem)
	}
	s.render(w, r, http.StatusOK, "receipt", page{L: l, Nav: "home", Title: l.T("receipt_title"), Data: d})
}

// failure says why a payment or a lookup did not go through, from its
// status and problem (a problem type of the switch, or the wallet's own
// reason).
func (s *Server) failure(l *locale, st sim.Status, problem string) string {
	switch {
	case problem == sim.ProblemBusy:
		return l.T("err_busy")
	case st == sim.StatusDeclined && problem == "balance":
		return l.T("err_balance")
	case st == sim.StatusUnknown:
		return l.T("err_unknown")
	case st == sim.StatusAborted:
		return l.T("err_aborted", problem)
	case problem == sim.ProblemInsufficientFunds:
		return l.T("problem_insufficient-funds", s.wallet)
	case l.Has("problem_" + problem):
		return l.T("problem_" + problem)
	case problem == "" || problem == "error":
		return l.T("err_unreachable")
	}
	return l.T("err_problem", problem)
}

// problemOf is err's problem type, "" when the switch did not answer.
func problemOf(err error) string { return sim.ProblemKind(err) }

// statusOf is the page's status for a failed call to the switch: 422 for
// a refusal, 502 when the switch did not answer.
func statusOf(err error) int {
	if sim.ProblemKind(err) == "" {
		return http.StatusBadGateway
	}
	return http.StatusUnprocessableEntity
}

// forbidden answers a form whose token is missing, used up or expired.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request) {
	l := s.locale(r)
	s.render(w, r, http.StatusForbidden, "forbidden", page{L: l, Nav: "home", Path: "/", Title: l.T("forbidden_title"), Error: l.T("err_csrf")})
}

// monthView is one month of bills.
type monthView struct {
	Title, Spent, Received string
	Groups                 []groupView
}

// groupView is one category of a month's bills.
type groupView struct {
	Name, Colour, Total string
	Incoming            bool
	Entries             []entryView
}

func (s *Server) bills(w http.ResponseWriter, r *http.Request) {
	l := s.locale(r)
	var months []monthView
	for _, mb := range byMonth(s.person.Statement(), s.cfg.Location) {
		mv := monthView{Title: l.Month(mb.Month), Spent: l.Money(mb.Spent, s.cur), Received: l.Money(mb.Received, s.cur)}
		for _, g := range mb.Groups {
			gv := groupView{Name: l.T(g.Name()), Colour: g.Colour(), Total: l.Money(g.Total, s.cur), Incoming: g.Incoming()}
			for _, e := range g.Entries {
				gv.Entries = append(gv.Entries, s.entryView(l, e))
			}
			mv.Groups = append(mv.Groups, gv)
		}
		months = append(months, mv)
	}
	s.render(w, r, http.StatusOK, "bills", page{L: l, Nav: "bills", Title: l.T("history_title"), Data: months})
}

// statsData is the statistics page's.
type statsData struct {
	Month      string
	Months     monthChart
	Categories categoryChart
	Total      string
	Legend     []groupView
	Prev, Next string // month keys, "" at the ends
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	l := s.locale(r)
	now := monthOf(s.cfg.Now(), s.cfg.Location)
	sel := now
	if m, ok := parseMonth(r.URL.Query().Get("month")); ok && !now.before(m) {
		sel = m
	}
	// The chart ends at this month, or at the selected one when that is
	// older than the chart reaches.
	months := make([]month, statsMonths)
	m := now
	if sel.before(firstMonth(now)) {
		m = sel
	}
	for i := statsMonths - 1; i >= 0; i-- {
		months[i] = m
		m = m.prev()
	}
	sums := spendingIn(s.person.Statement(), s.cfg.Location)
	d := statsData{Month: l.Month(sel), Months: buildMonthChart(l, s.cur, months, sums, sel)}
	var total money.Amount
	d.Categories, total = buildCategoryChart(l, s.cur, sums[sel])
	if total > 0 {
		d.Total = l.Money(total, s.cur)
	}
	for _, c := range spending {
		d.Legend = append(d.Legend, groupView{Name: l.T("cat_" + string(c)), Colour: c.colour()})
	}
	d.Prev = sel.prev().key()
	if sel.before(now) {
		d.Next = sel.next().key()
	}
	s.render(w, r, http.StatusOK, "stats", page{L: l, Nav: "stats", Title: l.T("stats_title"), Data: d})
}

// firstMonth is the first month of a chart that ends at end.
func firstMonth(end month) month {
	for range statsMonths - 1 {
		end = end.prev()
	}
	return end
}
