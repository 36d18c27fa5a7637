package sim

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/wire"
)

// ConnectorWallet is a simulated wallet that talks only to its
// connector (`hulian connector`, docs/connector.md), never to the
// switch: it is the connector's backend, the way a small wallet's core
// system joins the scheme. It keeps the same Books as a Participant, and
// the same rules, through the connector's simple synchronous API:
//
//   - Paying (Pay). Hold the user's money, then POST /payments with an id
//     of the wallet's own: the connector looks the payee up, quotes and
//     sends the transfer, and answers the final state. A request without
//     an answer, or answered PENDING, is asked again with the same id,
//     which is the same payment; COMMITTED turns the hold into a debit
//     (the wallet absorbs the fee), REFUSED or ABORTED releases it.
//
//   - Being paid (ServeHTTP on /incoming). The connector POSTs each
//     committed incoming transfer at least once, in order: credit it
//     once by transferId, then answer 2xx. A confirm request (event
//     "confirm") is answered {"accept": true} unless the account cannot
//     receive; it credits nothing: the committed event that follows does.
//
// It imports nothing of the connector: it speaks its HTTP API, as any
// core system would.
type ConnectorWallet struct {
	id    string
	books *Books
	api   atomic.Pointer[string] // the connector's API base URL, once it runs
	token string
	hc    *http.Client
	ln    net.Listener
	srv   *http.Server
	tag   string
	seq   atomic.Uint64
	ids   sync.Map // the connector's payment id → the wallet's

	told, duplicates, asked, accepted, rejected, anomalies atomic.Int64
}

// NewConnectorWallet starts the wallet's backend server (/incoming) on
// a free loopback port, with empty books in currency c. Its connector
// is started with BackendURL and named with SetConnector; apiToken is
// the connector's --api-token, if any.
func NewConnectorWallet(id string, c money.Currency, apiToken string) (*ConnectorWallet, error) {
	if id == "" || !c.Valid() {
		return nil, errors.New("sim: a connector wallet needs an id and a currency")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sim: connector wallet %s: %w", id, err)
	}
	var tag [5]byte
	crand.Read(tag[:])
	w := &ConnectorWallet{id: id, books: NewBooks(c), token: apiToken, hc: &http.Client{Timeout: time.Minute}, ln: ln,
		tag: strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(tag[:]))}
	mux := http.NewServeMux()
	mux.Handle("POST /incoming", w)
	w.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go w.srv.Serve(ln)
	return w, nil
}

// ID is the wallet's participant id.
func (w *ConnectorWallet) ID() string { return w.id }

// Books are the wallet's own books.
func (w *ConnectorWallet) Books() *Books { return w.books }

// BackendURL is the wallet's core system, the connector's --backend.
func (w *ConnectorWallet) BackendURL() string { return "http://" + w.ln.Addr().String() }

// SetConnector names the wallet's connector by its API's base URL.
func (w *ConnectorWallet) SetConnector(url string) {
	url = strings.TrimRight(url, "/")
	w.api.Store(&url)
}

// Close stops the backend server.
func (w *ConnectorWallet) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := w.srv.Shutdown(ctx); err != nil {
		return w.srv.Close()
	}
	return nil
}

// connectorIncoming is the body of the connector's POST /incoming.
type connectorIncoming struct {
	Event        string        `json:"event"`
	TransferID   string        `json:"transferId"`
	Amount       string        `json:"amount"`
	Currency     string        `json:"currency"`
	PayeeAccount string        `json:"payeeAccount"`
	Payee        wire.PayeeRef `json:"payee"`
	Payer        string        `json:"payer"`
	Note         string        `json:"note"`
}

// ServeHTTP takes the connector's POST /incoming. It listens on
// loopback beside its connector only: the connector is the one that
// verified the switch's signature.
func (w *ConnectorWallet) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var in connectorIncoming
	b, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(b, &in)
	}
	c := w.books.Currency()
	amt, aerr := money.Parse(in.Amount, c)
	if err != nil || aerr != nil || in.Currency != c.String() || amt <= 0 || in.TransferID == "" {
		w.anomalies.Add(1)
		http.Error(rw, "bad incoming transfer", http.StatusBadRequest)
		return
	}
	switch in.Event {
	case "committed":
		credited, err := w.books.Credit(in.TransferID, in.PayeeAccount, amt)
		switch {
		case err != nil:
			w.anomalies.Add(1)
			http.Error(rw, err.Error(), http.StatusInternalServerError) // told again
			return
		case credited:
			w.told.Add(1)
		default:
			w.duplicates.Add(1)
		}
		rw.WriteHeader(http.StatusNoContent)
	case "confirm":
		w.asked.Add(1)
		ans := map[string]any{"accept": true}
		if !w.books.CanReceive(in.PayeeAccount) {
			ans = map[string]any{"accept": false, "reason": "account closed"}
			w.rejected.Add(1)
		} else {
			w.accepted.Add(1)
		}
		b, _ := json.Marshal(ans)
		rw.Header().Set("Content-Type", "application/json")
		rw.Write(b)
	default:
		w.anomalies.Add(1)
		http.Error(rw, "unknown event", http.StatusBadRequest)
	}
}

// Register registers one of the wallet's users under an alias, through
// the connector (POST /aliases).
func (w *ConnectorWallet) Register(ctx context.Context, user, name string, ref wire.PayeeRef) error {
	body := map[string]string{"type": ref.Type, "value": ref.Value, "account": user, "name": name, "currency": w.books.Currency().String()}
	st, b, err := w.call(ctx, http.MethodPost, "/aliases", body)
	if err != nil {
		return err
	}
	if st != http.StatusCreated && st != http.StatusOK {
		return fmt.Errorf("register %s %s: %d %s", ref.Type, ref.Value, st, b)
	}
	return nil
}

// connectorPayment is the connector's answer to POST and GET /payments.
type connectorPayment struct {
	ID      string        `json:"id"`
	State   string        `json:"state"`
	Amount  string        `json:"amount"`
	Fee     string        `json:"fee"`
	Reason  string        `json:"reason"`
	Problem *wire.Problem `json:"problem"`
}

// connectorTries bounds the attempts of one payment: each waits for the
// connector's own (PaymentWait), so a payment still without a final
// state after them stays held, for the books to show.
const connectorTries = 5

// Pay pays amount from user to payee through the connector, as a wallet
// app does: hold, POST /payments (again with the same id when there is
// no final answer), book the outcome. note is the payment's reference.
func (w *ConnectorWallet) Pay(ctx context.Context, user string, payee wire.PayeeRef, amount money.Amount, note string) Result {
	c := w.books.Currency()
	id := w.id + "-" + w.tag + "-" + strconv.FormatUint(w.seq.Add(1), 10)
	res := Result{ID: id, Amount: amount}
	if err := w.books.Hold(id, user, amount, 0); err != nil {
		res.Status, res.Problem = StatusDeclined, "balance"
		if !errors.Is(err, ErrBalance) {
			res.Problem, res.Err = "account", err
		}
		return res
	}
	res.Sent = true
	body := map[string]any{"id": id, "to": map[string]string{"type": payee.Type, "value": payee.Value}, "amount": amount.Format(c),
		"currency": c.String(), "payerAccount": user, "reference": note}
	start := time.Now()
	var p connectorPayment
	var last error
	for try := 1; try <= connectorTries; try++ {
		st, b, err := w.call(ctx, http.MethodPost, "/payments", body)
		switch {
		case err == nil && st == http.StatusOK:
			err = json.Unmarshal(b, &p)
		case err == nil && st == http.StatusAccepted:
			err = errors.New("PENDING")
		case err == nil:
			err = fmt.Errorf("POST /payments: %d %s", st, b)
		}
		if last = err; err == nil || ctx.Err() != nil || st/100 == 4 {
			break
		}
		time.Sleep(time.Duration(try) * 100 * time.Millisecond)
	}
	res.Latency = time.Since(start)
	if last != nil {
		// No final answer: the money stays held; the connector finishes
		// the payment, and GET /payments/{id} tells.
		res.Status, res.Problem, res.Err = StatusUnknown, "no final answer", last
		return res
	}
	res.Transfer = wire.Transfer{ID: p.ID, State: p.State, Amount: p.Amount, Fee: p.Fee, Currency: c.String(), Reason: p.Reason}
	switch p.State {
	case "COMMITTED":
		fee, err := money.Parse(p.Fee, c)
		if err == nil {
			err = w.books.Commit(id, fee, false)
		}
		res.Status, res.Err = StatusCommitted, err
	case "ABORTED", "REFUSED":
		if err := w.books.Release(id); err != nil {
			res.Err = err
		}
		res.Status, res.Problem = StatusAborted, p.Reason
		if p.State == "REFUSED" && p.Problem != nil {
			res.Status, res.Problem = StatusRefused, p.Problem.Type[strings.LastIndexByte(p.Problem.Type, '/')+1:]
		}
	default:
		res.Status, res.Problem = StatusUnknown, "state "+p.State
	}
	// The books know the payment by the wallet's id, the switch by the
	// connector's: Check translates.
	if p.ID != "" {
		w.ids.Store(p.ID, id)
	}
	return res
}

// call calls the connector's API.
func (w *ConnectorWallet) call(ctx context.Context, method, path string, body any) (int, []byte, error) {
	base := w.api.Load()
	if base == nil {
		return 0, nil, errors.New("sim: the connector wallet has no connector yet")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, *base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// ConnectorWalletStats count what the wallet's backend was told.
type ConnectorWalletStats struct {
	Credited, Duplicates      int64 // committed transfers credited, and told again
	Asked, Accepted, Rejected int64 // confirm requests
	Anomalies                 int64 // calls that made no sense
}

// Stats returns the backend's counters.
func (w *ConnectorWallet) Stats() ConnectorWalletStats {
	return ConnectorWalletStats{Credited: w.told.Load(), Duplicates: w.duplicates.Load(), Asked: w.asked.Load(),
		Accepted: w.accepted.Load(), Rejected: w.rejected.Load(), Anomalies: w.anomalies.Load()}
}

// Check holds the wallet's books to the switch, as the operator sees it
// (op): the position equals deposits − sent − fees + received from the
// books, the committed payments it sent and received are exactly the
// switch's (none credited twice, none missed), and the books add up. It
// waits up to wait for the connector to deliver what the switch
// committed.
func (w *ConnectorWallet) Check(ctx context.Context, op *Client, wait time.Duration) CheckResult {
	name := w.id + " books agree with the switch"
	c := w.books.Currency()
	deadline := time.Now().Add(wait)
	for {
		sent, received, err := w.switchView(ctx, op)
		if err != nil {
			return CheckResult{Name: name, Detail: err.Error()}
		}
		var p findings
		p.outgoing(w.books.committedOutgoing(), sent, c)
		p.incoming(w.books.creditedIDs(), received, c)
		sum := w.books.Summary()
		accts, err := op.Accounts(ctx, w.id)
		if err != nil || len(accts) != 1 {
			return CheckResult{Name: name, Detail: fmt.Sprintf("accounts: %v", err)}
		}
		pos, err := parseAccount(accts[0])
		switch {
		case err != nil:
			p.add("account: %v", err)
		case pos.Balance != sum.Position():
			p.add("position at the switch %s, books say %s", Grouped(pos.Balance, c), Grouped(sum.Position(), c))
		}
		if sum.Open > 0 {
			p.add("%d payments without a final outcome", sum.Open)
		}
		if err := w.books.Verify(); err != nil {
			p.add("books: %v", err)
		}
		if len(p) == 0 {
			return CheckResult{Name: name, Pass: true, Detail: fmt.Sprintf("position %s = deposits %s − sent %s − fees %s + received %s; %d sent, %d received, %d told twice",
				Grouped(pos.Balance, c), Grouped(sum.Deposits, c), Grouped(sum.Sent, c), Grouped(sum.FeesPaid, c), Grouped(sum.Received, c),
				sum.NSent, sum.NReceived, sum.Duplicates)}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return CheckResult{Name: name, Detail: strings.Join(p, "; ")}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// switchView lists the wallet's committed transfers at the switch,
// those it sent by the wallet's own ids.
func (w *ConnectorWallet) switchView(ctx context.Context, op *Client) (map[string]Outgoing, map[string]inflow, error) {
	c := w.books.Currency()
	sent, received := map[string]Outgoing{}, map[string]inflow{}
	err := op.EachTransfer(ctx, w.id, func(t wire.Transfer) error {
		if t.State != "COMMITTED" {
			return nil
		}
		amt, err := money.Parse(t.Amount, c)
		if err != nil {
			return fmt.Errorf("transfer %s: amount %q", t.ID, t.Amount)
		}
		switch {
		case t.Payer == w.id:
			fee, err := money.Parse(t.Fee, c)
			if err != nil {
				return fmt.Errorf("transfer %s: fee %q", t.ID, t.Fee)
			}
			id := t.ID
			if mine, ok := w.ids.Load(t.ID); ok {
				id = mine.(string)
			}
			sent[id] = Outgoing{ID: id, Amount: amt, Fee: fee}
		case t.Payee.Participant == w.id:
			received[t.ID] = inflow{amount: amt}
		}
		return nil
	})
	return sent, received, err
}
