package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/console/users"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// parse parses each page of assets/pages with the layout: page "x" is
// assets/pages/x.html, which defines "content".
func (c *Console) parse() error {
	names, err := fs.Glob(assets, "assets/pages/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, f := range names {
		name := strings.TrimSuffix(path.Base(f), ".html")
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html", "assets/parts.html", f)
		if err != nil {
			return fmt.Errorf("console: page %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

// funcs are the templates' functions besides Page's methods: a path
// segment and a query value escaped for a URL, and the page with other
// data, for a template that shows a part of it.
var funcs = template.FuncMap{
	"path":  url.PathEscape,
	"query": url.QueryEscape,
	"page": func(p *Page, data any) *Page {
		q := *p
		q.Data = data
		return &q
	},
	"list": func(s ...string) []string { return s },
	"inc":  func(n int) int { return n + 1 },
	"dec":  func(n int) int { return n - 1 },
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
}

// nav is one link of the layout's navigation.
type nav struct {
	Key, Path string
	Current   bool
}

// navigation are the console's sections, as the layout links them; who
// sees which is decided by role (Users is the operator-admin's).
var navigation = []struct {
	key, path string
	only      users.Role
}{
	{"nav.dashboard", Prefix + "/", ""},
	{"nav.participants", Prefix + "/participants", ""},
	{"nav.transfers", Prefix + "/transfers", ""},
	{"nav.settlement", Prefix + "/settlement", ""},
	{"nav.audit", Prefix + "/audit", ""},
	{"nav.risk", Prefix + "/risk", ""},
	{"nav.users", Prefix + "/users", users.OperatorAdmin},
}

// Page is what a page's template is given: the visit (the user, the
// language: {{.T "key"}}, {{.Amount "12.30" "CNY"}}), the page's title
// key and its own data.
type Page struct {
	V *Visit
	// Title is the message key of the page's title.
	Title string
	// Data is the page's own.
	Data any
	// Message is a message key shown above the content (an error of a
	// form, a confirmation), "" for none.
	Message string
	// Status is the answer's status, for pages that show it.
	Status int
	// Problem is the API's refusal of what the user asked, shown with
	// the page; nil for none.
	Problem *wire.Problem

	now time.Time
}

// T is the message of key in the page's language.
func (p *Page) T(key string) string { return p.V.Lang.T(key) }

// Signed reports whether a user is signed in (the layout shows its
// navigation then).
func (p *Page) Signed() bool { return p.V.token != "" }

// CSRF is the session's token, for the hidden csrf input of every
// state-changing form.
func (p *Page) CSRF() string { return p.V.User.CSRF }

// RoleName is the user's role in the page's language.
func (p *Page) RoleName() string { return p.T("role." + string(p.V.User.Role)) }

// Nav is the navigation the user sees.
func (p *Page) Nav() []nav {
	var out []nav
	cur := p.V.url.Path
	for _, n := range navigation {
		if n.only != "" && p.V.User.Role != n.only {
			continue
		}
		current := cur == n.path || n.path != Prefix+"/" && strings.HasPrefix(cur, n.path+"/")
		out = append(out, nav{Key: n.key, Path: n.path, Current: current})
	}
	return out
}

// LangLink is a language's link: this page with ?lang= set.
type LangLink struct {
	Lang    Lang
	URL     string
	Current bool
}

// Langs are the links to this page in each language.
func (p *Page) Langs() []LangLink {
	var out []LangLink
	for _, l := range Langs() {
		u := *p.V.url
		q := u.Query()
		q.Set("lang", string(l))
		u.RawQuery = q.Encode()
		out = append(out, LangLink{Lang: l, URL: (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String(), Current: l == p.V.Lang})
	}
	return out
}

// Amount formats an amount for the page's language: a decimal string
// as the API writes amounts ("1234.50"), a money.Amount or an int64 of
// minor units, in the currency code cur. What it cannot read it writes
// as it is.
func (p *Page) Amount(v any, cur string) string {
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return fmt.Sprint(v)
	}
	var a money.Amount
	switch x := v.(type) {
	case string:
		if a, err = money.Parse(x, c); err != nil {
			return x
		}
	case money.Amount:
		a = x
	case int64:
		a = money.Amount(x)
	default:
		return fmt.Sprint(v)
	}
	return FormatAmount(p.V.Lang, a, c)
}

// Time writes t for people: UTC, to the second.
func (p *Page) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Render answers with page name (assets/pages/name.html) in the layout,
// with status. Pages are never cached.
func (c *Console) Render(w http.ResponseWriter, r *http.Request, v *Visit, status int, name string, p Page) {
	t, ok := c.pages[name]
	if !ok {
		c.Log.ErrorContext(r.Context(), "console: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.V = v
	if p.Status == 0 {
		p.Status = status
	}
	p.now = c.Now()
	if p.Message == "" && status < 300 {
		// A form that succeeded sends the user back to its page with
		// ?done=<message key>: shown if it is one.
		if k := r.URL.Query().Get("done"); strings.HasPrefix(k, "done.") && v.Lang.Has(k) {
			p.Message = k
		}
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", &p); err != nil {
		c.Log.ErrorContext(r.Context(), "console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", v.Lang.Tag())
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// Error answers with the error page: status and the message of key. v
// may be nil (no session, or not known yet).
func (c *Console) Error(w http.ResponseWriter, r *http.Request, v *Visit, status int, key string) {
	if v == nil {
		v = &Visit{Lang: c.language(w, r), url: r.URL}
	}
	c.Render(w, r, v, status, "error", Page{Title: "error.title", Message: key})
}
