package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hulian/hulian/internal/histogram"
)

// gen is the generator's HTTP side.
type gen struct {
	cfg    Config
	base   string
	tr     *http.Transport
	client *http.Client
}

func newGen(cfg Config) *gen {
	tr := &http.Transport{
		Proxy:       nil, // a load test goes straight to its target
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		// One idle connection per worker, or the Transport would close
		// and reopen connections between requests and measure dialling.
		MaxIdleConns:          cfg.Concurrency + 16,
		MaxIdleConnsPerHost:   cfg.Concurrency + 16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		DisableCompression:    true, // no gzip: the switch does not compress, and inflating costs CPU
		// HTTP/1.1 only, also over TLS: what wallets' clients speak, and
		// one connection per worker rather than multiplexed streams.
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12},
		WriteBufferSize: 64 << 10,
		ReadBufferSize:  64 << 10,
	}
	return &gen{cfg: cfg, base: cfg.Target.String(), tr: tr, client: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
}

// Run sets up a fleet on the target and runs the load. An interrupted
// run (ctx cancelled after setup) still returns the figures so far, with
// Interrupted set.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	g := newGen(cfg)
	defer g.tr.CloseIdleConnections() // the setup's connections
	p := newProgress(&cfg)
	setupStart := time.Now()
	f, err := g.fleet(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, rule := range cfg.RiskRules {
		if err := g.call(ctx, "PUT", "/v1/risk/rules/"+url.PathEscape(rule.ID), "Bearer "+g.cfg.Token, rule, nil); err != nil {
			return nil, fmt.Errorf("risk rule %s: %w", rule.ID, err)
		}
	}
	setup := time.Since(setupStart)
	if f.dropped > 0 {
		p.say("%d of %d aliases were taken by earlier runs; using %d", f.dropped, cfg.Aliases, len(f.aliases))
	}
	p.say("set up in %.1fs (participants bench-%s-*)", setup.Seconds(), f.runID)
	aliases := len(f.aliases)
	if x := f.fx; x != nil {
		defer g.withdrawFX(x, p)
		aliases += len(x.hk)
		p.say("FX: the %d %s participants pay %d +852 aliases of %s in %s through %s (%s→%s at %s, fee %s + %d bp, until %s)",
			len(f.parties), currency, len(x.hk), x.wallet.id, fxCurrency, x.provider.id,
			currency, fxCurrency, fxRate, fxFeeFixed, fxFeeBPS, x.validUntil.Format(time.RFC3339))
	}
	var before map[acctKey]balance
	if cfg.Mode == Quoted || cfg.Mode == CrossBorder {
		// The books start from the balances after the setup: a reused
		// fleet's participants have paid before.
		if before, err = g.balances(ctx, f.booked()); err != nil {
			return nil, fmt.Errorf("books: %w", err)
		}
	}
	r := &runner{g: g, f: f, cfg: &g.cfg, nonce: randomTag()}
	res := r.run(ctx, p)
	res.SetupSeconds = round(setup.Seconds(), 3)
	res.Aliases = aliases
	if before != nil {
		r.checkBooks(ctx, res, before, p)
	}
	return res, nil
}

// fleet sets up the run's participants and aliases, or takes them from
// cfg.Fleet when that file exists (and saves them there when not).
func (g *gen) fleet(ctx context.Context, p *progress) (*fleet, error) {
	if path := g.cfg.Fleet; path != "" {
		f, err := loadFleet(path, g.base)
		switch {
		case err == nil:
			p.say("using the %d participants and %d aliases of %s (not setting up)", len(f.parties), len(f.aliases), path)
			if err := g.checkFleet(ctx, f); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return f, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	p.say("setting up %d participants and %d aliases on %s", g.cfg.Participants, g.cfg.Aliases, g.base)
	f, err := g.setup(ctx)
	if err != nil {
		return nil, err
	}
	if g.cfg.Fleet != "" {
		if err := saveFleet(g.cfg.Fleet, g.base, f); err != nil {
			return nil, err
		}
		p.say("saved the participants and aliases to %s", g.cfg.Fleet)
	}
	return f, nil
}

// runner is one run's load phase.
type runner struct {
	g   *gen
	f   *fleet
	cfg *Config
	// nonce tells this run's transfer ids from those of earlier runs
	// that used the same fleet against the same switch.
	nonce string

	measuring atomic.Bool  // the warm-up is over: record and count
	stopped   atomic.Bool  // a bound was reached: send nothing more
	tickets   atomic.Int64 // measured requests begun, against cfg.Requests
	workers   []*worker
}

func (r *runner) run(ctx context.Context, p *progress) *Result {
	sys := &systemSampler{} // in process, the switch's CPU is the process's own
	if !r.cfg.InProcess {
		sys = newSystemSampler(r.cfg.Target.Hostname(), targetPort(r.cfg.Target))
	}
	var wg sync.WaitGroup
	for i := range r.cfg.Concurrency {
		w := newWorker(ctx, r, i)
		r.workers = append(r.workers, w)
		wg.Go(w.loop)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	interrupted := false
	if r.cfg.Warmup > 0 {
		p.phase("warmup", time.Now(), r.cfg.Warmup, 0)
		select {
		case <-time.After(r.cfg.Warmup):
		case <-ctx.Done():
			interrupted = true
		case <-done:
		}
	}
	runtime.GC() // start the measured phase with the warm-up's garbage gone
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, sys0 := cpuTime(), sys.sample()
	start := time.Now()
	r.measuring.Store(true)
	p.phase("bench", start, r.cfg.Duration, r.cfg.Requests)
	stopProgress := p.start(r)
	var deadline <-chan time.Time
	if r.cfg.Duration > 0 {
		t := time.NewTimer(r.cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	if !interrupted {
		select {
		case <-deadline:
		case <-ctx.Done():
			interrupted = true
		case <-done:
		}
	}
	r.stopped.Store(true)
	<-done
	cpu1, sys1 := cpuTime(), sys.sample()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	stopProgress()

	res := r.merge(start)
	res.Interrupted = interrupted || ctx.Err() != nil
	if cpu1 > 0 {
		c := &res.CPU
		c.ProcessSeconds = (cpu1 - cpu0).Seconds()
		c.IncludesSwitch = r.cfg.InProcess
		if res.ElapsedSeconds > 0 {
			c.Utilisation = round(c.ProcessSeconds/res.ElapsedSeconds/float64(runtime.NumCPU()), 3)
		}
		if res.Requests > 0 {
			c.MicrosPerRequest = round(c.ProcessSeconds*1e6/float64(res.Requests), 2)
		}
		if res.Transfers > 0 {
			c.MicrosPerTransfer = round(c.ProcessSeconds*1e6/float64(res.Transfers), 2)
		}
		c.ProcessSeconds = round(c.ProcessSeconds, 3)
	}
	res.CPU.addSystem(sys, sys0, sys1, res)
	res.CPU.GCCycles = ms1.NumGC - ms0.NumGC
	res.CPU.AllocatedMB = round(float64(ms1.TotalAlloc-ms0.TotalAlloc)/(1<<20), 1)
	if res.Requests > 0 {
		res.CPU.AllocsPerRequest = round(float64(ms1.Mallocs-ms0.Mallocs)/float64(res.Requests), 1)
	}
	return res
}

// merge adds up the workers' figures.
func (r *runner) merge(start time.Time) *Result {
	cfg := r.cfg
	res := &Result{
		Command: cfg.Command, Mode: cfg.Mode, Target: r.g.base, Switch: cfg.Switch,
		Concurrency: cfg.Concurrency, Participants: len(r.f.parties),
		Duration: cfg.Duration.String(), RequestLimit: cfg.Requests, Warmup: cfg.Warmup.String(),
		Machine: machine(), Start: start.UTC(),
		Operations: map[string]Operation{}, TransferStatuses: map[string]int64{}, Errors: map[string]int64{},
	}
	if cfg.Mode == Batch {
		res.BatchSize = cfg.BatchSize
	}
	all := new(histogram.Histogram)
	end := start
	var ops [numOps]*histogram.Histogram
	var statuses [numOps]map[string]int64
	var requests [numOps]int64
	for _, w := range r.workers {
		if w.last.After(end) {
			end = w.last
		}
		res.Transfers += w.transfers
		res.Committed += w.committed.Load()
		for o := range numOps {
			if w.hist[o] == nil {
				continue
			}
			if ops[o] == nil {
				ops[o], statuses[o] = new(histogram.Histogram), map[string]int64{}
			}
			ops[o].Merge(w.hist[o])
			all.Merge(w.hist[o])
			requests[o] += w.opRequests[o]
			for st, n := range w.statuses[o] {
				if n > 0 {
					statuses[o][strconv.Itoa(st)] += n
				}
			}
			if n := w.transportFailures[o]; n > 0 {
				statuses[o]["transport"] += n
			}
		}
		for st, n := range w.transferStatuses {
			if n > 0 {
				res.TransferStatuses[strconv.Itoa(st)] += n
			}
		}
		if w.transferTransport > 0 {
			res.TransferStatuses["transport"] += w.transferTransport
		}
		for k, n := range w.errs {
			res.Errors[k] += n
			res.ErrorCount += n
		}
	}
	for o := range numOps {
		if ops[o] != nil {
			res.Operations[opNames[o]] = Operation{Requests: requests[o], Statuses: statuses[o], Latency: latencyOf(ops[o])}
		}
	}
	res.Requests = int64(all.Count())
	res.Latency = latencyOf(all)
	elapsed := end.Sub(start)
	if res.Requests == 0 {
		elapsed = time.Since(start)
	}
	res.ElapsedSeconds = round(elapsed.Seconds(), 3)
	if elapsed > 0 {
		res.RequestsPerSecond = round(float64(res.Requests)/elapsed.Seconds(), 1)
		res.TransfersPerSecond = round(float64(res.Committed)/elapsed.Seconds(), 1)
	}
	return res
}

func latencyOf(h *histogram.Histogram) Latency {
	ms := func(ns int64) float64 { return round(float64(ns)/1e6, 3) }
	return Latency{Min: ms(h.Min()), Mean: round(h.Mean()/1e6, 3), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max())}
}

// round rounds a reported statistic (never money) to digits decimals.
func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if v >= 0 {
		return float64(int64(v*p+0.5)) / p
	}
	return -float64(int64(-v*p+0.5)) / p
}

// The operations a worker records separately.
type op int

const (
	opTransfer op = iota // POST /v1/transfers (also with a quote)
	opBatch              // POST /v1/transfers:batch
	opLookup             // GET /v1/parties/{type}/{value}
	opQuote              // POST /v1/quotes
	numOps
)

var opNames = [numOps]string{"transfer", "batch", "lookup", "quote"}

// maxStatus bounds the status codes counted by value.
const maxStatus = 600

// worker sends one request at a time and keeps its own figures, so that
// the hot path shares no lock and no counter with other workers; the
// progress display reads only the atomics.
type worker struct {
	r        *runner
	n        int
	payer    int
	ctx      context.Context
	conn     *conn
	hdrPost  []byte // header lines of a POST, Content-Length aside
	hdrGet   []byte
	path     []byte // a lookup's path, rebuilt per request
	idPrefix []byte
	seq      uint64
	// accounts is the range of this worker's payer's users: Config.
	// PayerAccounts split over the participants, so that they are that
	// many users in all, each a user of one participant.
	accounts    [2]int
	resp        []byte // the last answer's body
	body        []byte // the request body being sent
	quoteID     []byte
	quoteAmount []byte // an FX quote's amount, what the payer sends
	measured    bool   // the current request counts
	// books adds up what the payments moved, in the modes that check
	// the books (books.go); nil in the others.
	books *tally

	requests  atomic.Int64 // for the progress display
	committed atomic.Int64
	failures  atomic.Int64

	last              time.Time
	hist              [numOps]*histogram.Histogram
	opRequests        [numOps]int64
	statuses          [numOps][]int64 // by HTTP status, allocated on use
	transportFailures [numOps]int64
	transfers         int64
	transferStatuses  []int64
	transferTransport int64
	errs              map[string]int64
}

func newWorker(ctx context.Context, r *runner, n int) *worker {
	payer := r.f.parties[n%len(r.f.parties)]
	t := r.cfg.Target
	hdrGet := []byte("Host: " + t.Host + "\r\nAuthorization: " + payer.auth + "\r\nUser-Agent: hulian-bench\r\n")
	w := &worker{
		r: r, n: n, payer: n % len(r.f.parties), ctx: ctx,
		conn:             newConn(t.Host, t.Scheme == "https", t.Hostname(), r.cfg.Timeout),
		hdrGet:           hdrGet,
		hdrPost:          append(hdrGet[:len(hdrGet):len(hdrGet)], "Content-Type: application/json\r\n"...),
		idPrefix:         fmt.Appendf(nil, "b%s-%s-%d-", r.f.runID, r.nonce, n),
		transferStatuses: make([]int64, maxStatus),
		errs:             map[string]int64{},
		accounts:         usersOf(r.cfg.PayerAccounts, n%len(r.f.parties), len(r.f.parties)),
	}
	if r.cfg.Mode == Quoted || r.cfg.Mode == CrossBorder {
		w.books = newTally(len(r.f.parties))
	}
	if r.cfg.Mode == Batch {
		w.resp = make([]byte, 0, 512<<10)
	} else {
		w.resp = make([]byte, 0, 4<<10)
	}
	return w
}

func (w *worker) loop() {
	defer w.conn.close()
	ctx := w.ctx
	for !w.r.stopped.Load() && ctx.Err() == nil {
		switch w.r.cfg.Mode {
		case Single:
			w.transfer(nil)
		case Batch:
			w.batch()
		case Lookup:
			w.lookup()
		case Mix:
			// Cheap per-call randomness (math/rand/v2's runtime source).
			switch x := randN(100); {
			case x < 70:
				w.transfer(nil)
			case x < 95:
				w.lookup()
			default:
				w.quoted()
			}
		case Quoted:
			w.quoted()
		case CrossBorder:
			w.crossborder()
		}
	}
}

// begin decides whether the next request may go and whether it counts.
func (w *worker) begin() bool {
	r := w.r
	if r.stopped.Load() {
		return false
	}
	w.measured = r.measuring.Load()
	if w.measured && r.cfg.Requests > 0 && r.tickets.Add(1) > r.cfg.Requests {
		r.stopped.Store(true)
		return false
	}
	return true
}

// The paths the workers send to.
var (
	pathTransfers = []byte("/v1/transfers")
	pathBatch     = []byte("/v1/transfers:batch")
	pathQuotes    = []byte("/v1/quotes")
)

// send runs one request on the worker's connection and reads the whole
// answer into w.resp.
func (w *worker) send(method string, path, hdr, body []byte) (int, error) {
	status, resp, err := w.conn.do(w.ctx, method, path, hdr, body, w.resp[:0])
	w.resp = resp
	return status, err
}

// readAll appends r's content to buf, growing it as needed; unlike
// io.ReadAll it reuses the worker's buffer from answer to answer.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// finish records a request's latency and status; it reports whether
// there is an answer to check. transfers is how many transfers the
// request carried.
func (w *worker) finish(o op, start time.Time, status int, err error, transfers int) bool {
	now := time.Now()
	if err != nil && w.ctx.Err() != nil {
		return false // interrupted: neither a result nor an error
	}
	if !w.measured {
		return err == nil
	}
	w.last = now
	if w.hist[o] == nil {
		w.hist[o] = new(histogram.Histogram)
		w.statuses[o] = make([]int64, maxStatus)
	}
	w.hist[o].RecordDuration(now.Sub(start))
	w.opRequests[o]++
	w.requests.Add(1)
	if err != nil {
		w.transportFailures[o]++
		w.transferTransport += int64(transfers)
		w.transfers += int64(transfers)
		w.fail(transportError(err))
		return false
	}
	w.statuses[o][min(max(status, 0), maxStatus-1)]++
	return true
}

// fail counts an error of type kind.
func (w *worker) fail(kind string) {
	if !w.measured {
		return
	}
	w.errs[kind]++
	w.failures.Add(1)
}

// failAnswer counts a refusal by its problem type and status.
func (w *worker) failAnswer(what string, status int) {
	if !w.measured {
		return
	}
	if name, ok := problemName(w.resp); ok {
		w.fail(string(name) + " (" + strconv.Itoa(status) + ")")
	} else {
		w.fail(what + ": status " + strconv.Itoa(status))
	}
}

// transferOutcome counts one transfer's answer: a 2xx must carry state
// COMMITTED, since bench payees are in notify mode.
func (w *worker) transferOutcome(status int, state, problem []byte) {
	if !w.measured {
		return
	}
	w.transfers++
	w.transferStatuses[min(max(status, 0), maxStatus-1)]++
	switch {
	case status/100 == 2 && string(state) == "COMMITTED":
		w.committed.Add(1)
	case status/100 == 2 && state == nil:
		w.fail("bad answer: transfer without state")
	case status/100 == 2:
		w.fail("transfer state " + string(state))
	case problem != nil:
		w.fail(string(problem) + " (" + strconv.Itoa(status) + ")")
	default:
		w.fail("transfer: status " + strconv.Itoa(status))
	}
}

// payee picks an alias of another participant than the worker's.
func (w *worker) payee() *alias {
	ps := w.r.f.parties
	o := (w.payer + 1 + randN(len(ps)-1)) % len(ps)
	as := ps[o].aliases
	return &w.r.f.aliases[as[randN(len(as))]]
}

// appendAmount appends a random amount from 0.01 to 100.00 yuan, made
// from integer fen.
func appendAmount(b []byte, fen int64) []byte {
	b = strconv.AppendInt(b, fen/100, 10)
	c := fen % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

func randAmount() int64 { return int64(1 + randN(10000)) }

// randN is math/rand/v2's IntN: its global source is per-thread in the
// runtime, so workers draw without contention.
func randN(n int) int { return mrand.IntN(n) }

// appendTransfer appends a transfer's JSON, the fields in wire.NewTransfer's
// order; ids, aliases and amounts never need escaping.
func (w *worker) appendTransfer(b []byte, payee *alias, fen int64, quoteID []byte) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, w.idPrefix...)
	w.seq++
	b = strconv.AppendUint(b, w.seq, 10)
	b = append(b, `","payee":{"type":"MSISDN","value":"`...)
	b = payee.appendValue(b)
	b = append(b, `"},"amount":"`...)
	b = appendAmount(b, fen)
	b = append(b, `","currency":"`+currency+`"`...)
	if quoteID != nil {
		b = append(b, `,"quoteId":"`...)
		b = append(b, quoteID...)
		b = append(b, '"')
	}
	if lo, hi := w.accounts[0], w.accounts[1]; hi > lo {
		b = append(b, `,"payerAccount":"u-`...)
		b = strconv.AppendInt(b, int64(lo+randN(hi-lo)), 10)
		b = append(b, `","authentication":{"factors":["pin","device"]}`...)
	}
	return append(b, '}')
}

// usersOf returns the range of participant p's users among n users
// dealt to parties participants in turn; empty when n is zero.
func usersOf(n, p, parties int) [2]int {
	if n <= 0 {
		return [2]int{}
	}
	share := max(n/parties, 1)
	return [2]int{p * share, (p + 1) * share}
}

// transfer sends one transfer, with a quote's id when given.
func (w *worker) transfer(quote *quoted) {
	if !w.begin() {
		return
	}
	var b []byte
	if quote != nil {
		b = w.appendTransfer(w.body[:0], quote.payee, quote.fen, w.quoteID)
	} else {
		b = w.appendTransfer(w.body[:0], w.payee(), randAmount(), nil)
	}
	w.body = b
	start := time.Now()
	status, err := w.send("POST", pathTransfers, w.hdrPost, b)
	if w.books != nil && quote != nil {
		w.tally(int(quote.payee.owner), status, err, idOf(b))
	}
	if !w.finish(opTransfer, start, status, err, 1) || !w.measured {
		return
	}
	if status/100 == 2 {
		state, _ := topString(w.resp, "state")
		w.transferOutcome(status, state, nil)
	} else {
		name, _ := problemName(w.resp)
		w.transferOutcome(status, nil, name)
	}
}

// batch sends BatchSize transfers in one request.
func (w *worker) batch() {
	if !w.begin() {
		return
	}
	n := w.r.cfg.BatchSize
	b := append(w.body[:0], `{"transfers":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = w.appendTransfer(b, w.payee(), randAmount(), nil)
	}
	b = append(b, "]}"...)
	w.body = b
	start := time.Now()
	status, err := w.send("POST", pathBatch, w.hdrPost, b)
	if !w.finish(opBatch, start, status, err, n) || !w.measured {
		return
	}
	if status != http.StatusOK {
		// The whole batch was refused: one error, n transfers with its status.
		w.transfers += int64(n)
		w.transferStatuses[min(max(status, 0), maxStatus-1)] += int64(n)
		w.failAnswer("batch", status)
		return
	}
	got, ok := scanBatch(w.resp, func(it itemResult) { w.transferOutcome(it.status, it.state, it.problem) })
	switch {
	case !ok:
		w.fail("bad answer: malformed batch result")
	case got != n:
		w.fail("bad answer: batch result count differs")
	}
}

// lookup resolves a random alias and checks that it names its owner.
func (w *worker) lookup() {
	if !w.begin() {
		return
	}
	as := w.r.f.aliases
	a := &as[randN(len(as))]
	w.path = a.appendValue(append(w.path[:0], "/v1/parties/MSISDN/"...))
	start := time.Now()
	status, err := w.send("GET", w.path, w.hdrGet, nil)
	if !w.finish(opLookup, start, status, err, 0) || !w.measured {
		return
	}
	if status != http.StatusOK {
		w.failAnswer("lookup", status)
		return
	}
	if p, ok := topString(w.resp, "participant"); !ok || string(p) != w.r.f.parties[a.owner].id {
		w.fail("lookup: wrong or no participant")
	}
}

// quoted is a quote to pay.
type quoted struct {
	payee *alias
	fen   int64
}

// quoted asks for a quote, then pays with it: two requests.
func (w *worker) quoted() {
	if !w.begin() {
		return
	}
	q := quoted{payee: w.payee(), fen: randAmount()}
	b := append(w.body[:0], `{"payee":{"type":"MSISDN","value":"`...)
	b = q.payee.appendValue(b)
	b = append(b, `"},"amount":"`...)
	b = appendAmount(b, q.fen)
	b = append(b, `","currency":"`+currency+`"}`...)
	w.body = b
	start := time.Now()
	status, err := w.send("POST", pathQuotes, w.hdrPost, b)
	if !w.finish(opQuote, start, status, err, 0) {
		return
	}
	if status != http.StatusCreated {
		w.failAnswer("quote", status)
		return
	}
	id, ok := topString(w.resp, "id")
	if !ok || len(id) == 0 {
		w.fail("bad answer: quote without id")
		return
	}
	w.quoteID = append(w.quoteID[:0], id...)
	w.transfer(&q)
}

// transportError names a failed request's error without the addresses
// and ports that would make every occurrence a type of its own.
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "transport: timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "transport: connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "transport: connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "transport: no free local port"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "transport: connection closed by the server"
	}
	s := err.Error()
	if i := bytes.LastIndex([]byte(s), []byte(": ")); i >= 0 {
		s = s[i+2:]
	}
	return "transport: " + s
}

// sortedKeys returns m's keys, largest count first.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
