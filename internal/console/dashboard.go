package console

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// The dashboard: the scheme live, updated every second by server-sent
// events. The operator's roles and the regulator see the scheme's
// throughput and positions, read in process (Live); a participant's
// users see their own positions, through the API. Everyone sees the
// open settlement windows, the open risk alerts they may see (through
// the API) and the audit log's progress.

// dashView is what the dashboard shows a visit.
type dashView struct {
	At time.Time
	// Scheme is the scheme-wide view, nil for a participant's users.
	Scheme *schemeView
	// Mine are a participant's users' own positions; MineErr a message
	// key if they could not be read.
	Mine    []position
	MineErr string
	// Windows are the open settlement windows.
	Windows    []wire.SettlementWindow
	WindowsErr string
	// Risk are the first open risk alerts (oldest first), RiskMore
	// whether there are more.
	Risk     []wire.RiskAlert
	RiskMore bool
	RiskErr  string
	Audit    *auditView

	read time.Time // monotonic, when it was read
}

// riskShown is how many open risk alerts the dashboard lists.
const riskShown = 5

// view returns what the dashboard shows v: read anew at most once a
// tick for all who watch the same scope (the scheme, or one
// participant), so that the API is asked a few times a second however
// many watch.
func (c *Console) view(r *http.Request, v *Visit) *dashView {
	key := "scheme"
	if v.User.Role.OfParticipant() {
		key = "participant " + v.User.Participant
	}
	b := c.board
	b.viewsMu.Lock()
	defer b.viewsMu.Unlock()
	now := time.Now()
	if d, ok := b.views[key]; ok && now.Sub(d.read) < tick-50*time.Millisecond {
		return d
	}
	for k, d := range b.views {
		if now.Sub(d.read) > time.Minute {
			delete(b.views, k)
		}
	}
	d := c.read(r, v)
	d.read = now
	b.views[key] = d
	return d
}

// read reads what the dashboard shows v now: the scheme's view or v's
// participant's positions, and through the API as v, the open windows
// and risk alerts.
func (c *Console) read(r *http.Request, v *Visit) *dashView {
	d := &dashView{At: c.Now()}
	if v.User.Role.OfParticipant() {
		d.Mine, d.MineErr = c.ownPositions(r, v)
		if c.Live.Audit != nil {
			d.Audit = auditOf(c.Live.Audit)
		}
	} else {
		d.Scheme = c.scheme(r.Context())
		d.Audit = d.Scheme.Audit
	}
	var ws wire.SettlementWindows
	if a := c.Call(r, v, "GET", "/v1/settlement-windows?state=OPEN", nil); !a.OK() || a.Decode(&ws) != nil {
		d.WindowsErr = "dashboard.unavailable"
	}
	d.Windows = ws.Windows
	var ra wire.RiskAlerts
	if a := c.Call(r, v, "GET", "/v1/risk/alerts?status=open&limit="+strconv.Itoa(riskShown), nil); !a.OK() || a.Decode(&ra) != nil {
		d.RiskErr = "dashboard.unavailable"
	}
	d.Risk, d.RiskMore = ra.Alerts, ra.Next != ""
	return d
}

// auditOf is the audit log's progress now.
func auditOf(l AuditLog) *auditView {
	st := l.Status()
	a := &auditView{TreeSize: st.Size, CheckpointSize: st.Checkpoint.Size, SignedAt: st.SignedAt}
	for _, w := range st.Witnessed {
		a.Witnesses = append(a.Witnesses, witnessView{Name: w.Name, Size: w.Size, Lag: max(st.Checkpoint.Size-w.Size, 0)})
	}
	return a
}

// ownPositions reads a participant's users' own positions through the
// API.
func (c *Console) ownPositions(r *http.Request, v *Visit) ([]position, string) {
	var as wire.Accounts
	a := c.Call(r, v, "GET", "/v1/participants/"+url.PathEscape(v.User.Participant)+"/accounts", nil)
	if !a.OK() || a.Decode(&as) != nil {
		return nil, "dashboard.unavailable"
	}
	var out []position
	for _, x := range as.Accounts {
		cur, err := money.ParseCurrency(x.Currency)
		if err != nil {
			continue
		}
		var amt [3]money.Amount
		for i, s := range []string{x.Balance, x.Reserved, x.NetDebitCap} {
			if amt[i], err = money.Parse(s, cur); err != nil {
				break
			}
		}
		if err != nil {
			continue
		}
		out = append(out, positionOf(v.User.Participant, "", x.Currency, amt[0], amt[1], amt[2]))
	}
	return out, ""
}

// dashboard is the dashboard's page: what the stream then updates.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, v *Visit) {
	c.Render(w, r, v, http.StatusOK, "dashboard", Page{Title: "dashboard.title", Data: c.view(r, v)})
}

// events is the dashboard's stream: every tick, a "tick" event whose
// data is the dashboard's live part as HTML (the page's script puts it
// in place); an "end" event when the session has ended, after which the
// script stops. It ends when the user leaves, the session ends or the
// console closes.
func (c *Console) events(w http.ResponseWriter, r *http.Request, v *Visit) {
	if !c.takeUserStream(v) {
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many live streams of this user; close some of its pages", http.StatusTooManyRequests)
		return
	}
	defer c.giveUserStream(v)
	if c.streams.Add(1) > streamsMax {
		c.streams.Add(-1)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many live streams; retry later", http.StatusServiceUnavailable)
		return
	}
	defer c.streams.Add(-1)
	err := stream(w, r, tick, c.done, func() (string, []byte, bool) {
		if !c.Users.Alive(v.token) {
			return "end", []byte("session"), false
		}
		var b bytes.Buffer
		p := &Page{V: v, Data: c.view(r, v), now: c.Now()}
		if err := c.pages["dashboard"].ExecuteTemplate(&b, "live", p); err != nil {
			c.Log.ErrorContext(r.Context(), "console: render the dashboard", "err", err)
			return "end", []byte("error"), false
		}
		return "tick", b.Bytes(), true
	})
	if err != nil && r.Context().Err() == nil {
		c.Log.InfoContext(r.Context(), "console: live stream ended", "err", err)
	}
}

// takeUserStream counts a stream of v's user, if it has fewer than
// streamsPerUser.
func (c *Console) takeUserStream(v *Visit) bool {
	k := strings.ToLower(v.User.Username)
	c.streamsMu.Lock()
	defer c.streamsMu.Unlock()
	if c.userStreams[k] >= streamsPerUser {
		return false
	}
	c.userStreams[k]++
	return true
}

// giveUserStream uncounts a stream of v's user.
func (c *Console) giveUserStream(v *Visit) {
	k := strings.ToLower(v.User.Username)
	c.streamsMu.Lock()
	defer c.streamsMu.Unlock()
	if c.userStreams[k]--; c.userStreams[k] <= 0 {
		delete(c.userStreams, k)
	}
}

// streamWriteMax bounds each write of a stream: a client that takes
// longer to take an event is gone.
const streamWriteMax = 10 * time.Second

// stream answers r with server-sent events: first one at once, then one
// every interval, each the event next returns, until next says it was
// the last, the client goes or done closes. A stream reads nothing after
// its request, so it lifts the server's read deadline (which would
// otherwise end it), and it extends the write deadline before each
// write, so that the server's timeouts bound each event rather than the
// stream.
func stream(w http.ResponseWriter, r *http.Request, interval time.Duration, done <-chan struct{},
	next func() (event string, data []byte, more bool)) error {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(interval)
	defer t.Stop()
	first := true
	for {
		event, data, more := next()
		var b bytes.Buffer
		if first {
			// Reconnect after 3 s if the stream breaks.
			b.WriteString("retry: 3000\n")
			first = false
		}
		b.WriteString("event: " + event + "\n")
		for line := range bytes.Lines(data) {
			b.WriteString("data: ")
			b.Write(bytes.TrimRight(line, "\r\n"))
			b.WriteByte('\n')
		}
		if len(data) == 0 {
			b.WriteString("data:\n")
		}
		b.WriteByte('\n')
		if err := rc.SetWriteDeadline(time.Now().Add(streamWriteMax)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil {
			return err
		}
		if !more {
			return nil
		}
		select {
		case <-r.Context().Done():
			return r.Context().Err()
		case <-done:
			return nil
		case <-t.C:
		}
	}
}
