package loadgen

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/fspiop/msg"
	"github.com/hulian/hulian/internal/histogram"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/sim/dfsp"
	"github.com/hulian/hulian/internal/wire"
)

// FSPIOP is RunFSPIOP's mode: end-to-end Mojaloop P2P payments between
// simulated DFSPs, each a lookup, a quote and a transfer with all their
// callbacks.
const FSPIOP Mode = "fspiop"

// FSPIOPAliasesMax bounds Config.Aliases in FSPIOP mode: every alias is
// also a party in its DFSP's book, in this process.
const FSPIOPAliasesMax = 1_000_000

// payersMax bounds the parties of a DFSP that pay.
const payersMax = 1000

// The phases of an FSPIOP payment, as dfsp.PayResult names them and
// Result.Operations reports them.
const (
	phaseLookup   = "lookup"
	phaseQuote    = "quote"
	phaseTransfer = "transfer"
)

// RunFSPIOP sets up cfg.Participants simulated DFSPs (internal/sim/dfsp)
// on loopback listeners of this process, registers them with the switch
// as FSPIOP participants through its native operator API at cfg.Target,
// funds them, and registers cfg.Aliases MSISDN parties among them over
// FSPIOP; then cfg.Concurrency workers each make one payment after
// another, from a random DFSP to a party of another, against the
// switch's FSPIOP front end at fsp. A payment counts when it ends
// COMMITTED.
//
// The Result reads in payments: Requests and Transfers are the payments
// measured, Committed those committed, Latency is a whole payment's,
// and Operations breaks it down by phase (lookup, quote, transfer), with
// each phase's outcomes as its statuses ("ok", or an FSPIOP error code).
// At the end the DFSPs' books are held to the switch's accounts: what
// each paid minus what it received must be its deposit minus its
// balance, with nothing left reserved; a difference is an error. The
// switch must charge no fee in CNY for that to hold (the switch bench
// starts has none; cfg.SetFees is ignored). cfg.RiskRules are saved as
// in Run; cfg.PayerAccounts is ignored: a payment is from one of the
// first thousand parties of a DFSP, to any party of another.
//
// The DFSPs listen on 127.0.0.1, so fsp must be a loopback address. The
// DFSPs, their listeners and connections are closed before it returns.
func RunFSPIOP(ctx context.Context, cfg Config, fsp *url.URL) (*Result, error) {
	if err := checkFSPIOP(&cfg, fsp); err != nil {
		return nil, err
	}
	g := newGen(cfg)
	defer g.tr.CloseIdleConnections()
	p := newProgress(&cfg)
	setupStart := time.Now()
	p.say("setting up %d simulated DFSPs and %d aliases on %s (FSPIOP at %s)", cfg.Participants, cfg.Aliases, g.base, fsp)
	sims, err := g.setupFSPIOP(ctx, fsp)
	if sims != nil {
		defer sims.close()
	}
	if err != nil {
		return nil, err
	}
	for _, rule := range cfg.RiskRules {
		if err := g.call(ctx, "PUT", "/v1/risk/rules/"+url.PathEscape(rule.ID), "Bearer "+cfg.Token, rule, nil); err != nil {
			return nil, fmt.Errorf("risk rule %s: %w", rule.ID, err)
		}
	}
	setup := time.Since(setupStart)
	if sims.dropped > 0 {
		p.say("%d of %d aliases were refused (first: %s); using %d", sims.dropped, cfg.Aliases, sims.firstDrop, sims.aliases)
	}
	p.say("set up in %.1fs (participants bench-%s-*)", setup.Seconds(), sims.runID)
	r := &fspRunner{cfg: &g.cfg, net: sims, fsp: fsp}
	res := r.run(ctx, p)
	res.SetupSeconds = round(setup.Seconds(), 3)
	res.Aliases = sims.aliases
	r.checkBooks(ctx, g, res, p)
	return res, nil
}

// checkFSPIOP validates cfg for RunFSPIOP: the bounds common to every
// mode are Config.check's, under a mode it knows.
func checkFSPIOP(cfg *Config, fsp *url.URL) error {
	c := *cfg
	c.Mode = Single
	if err := c.check(); err != nil {
		return err
	}
	switch {
	case fsp == nil:
		return fmt.Errorf("no FSPIOP target")
	case !IsLoopbackHost(fsp.Hostname()):
		return fmt.Errorf("FSPIOP target %s: the simulated DFSPs listen on 127.0.0.1, so the switch must run on this machine", fsp)
	case cfg.Aliases > FSPIOPAliasesMax:
		return fmt.Errorf("--aliases must be at most %d in mode %s", FSPIOPAliasesMax, FSPIOP)
	}
	cfg.Mode, cfg.Timeout = FSPIOP, c.Timeout
	return nil
}

// simNet is a run's simulated DFSPs.
type simNet struct {
	runID   string
	nodes   []*node
	tr      *http.Transport // the DFSPs' client to the switch
	aliases int             // registered, over all nodes
	// dropped counts the aliases the switch refused to register, and
	// firstDrop says why the first was.
	dropped   int
	firstDrop string
}

// node is one simulated DFSP and its HTTP server.
type node struct {
	d       *dfsp.DFSP
	id      string
	srv     *http.Server
	served  chan struct{} // closed when srv.Serve returned
	parties []string      // MSISDNs of its registered parties, without '+'
}

// close closes the DFSPs (waiting for the work they do), their servers,
// and their connections.
func (n *simNet) close() {
	for _, x := range n.nodes {
		if x.d != nil {
			x.d.Close()
		}
		x.srv.Close()
		<-x.served
	}
	n.tr.CloseIdleConnections()
}

// setupFSPIOP starts the DFSPs, makes them FSPIOP participants with
// funds, and registers their parties. The simNet is returned, to be
// closed, also with an error.
func (g *gen) setupFSPIOP(ctx context.Context, fsp *url.URL) (*simNet, error) {
	cfg := &g.cfg
	n := &simNet{runID: randomTag(), tr: &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		// A worker's payment has one request of its payer and at most
		// one callback of its payee in flight; enough idle connections
		// for both keep the DFSPs from dialling during the run.
		MaxIdleConns:          2*cfg.Concurrency + 64,
		MaxIdleConnsPerHost:   2*cfg.Concurrency + 64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		DisableCompression:    true,
	}}
	client := &http.Client{Transport: n.tr, Timeout: cfg.Timeout}
	op := "Bearer " + cfg.Token
	for i := range cfg.Participants {
		id := "bench-" + n.runID + "-" + string(rune('a'+i))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return n, err
		}
		x := &node{id: id, served: make(chan struct{}),
			srv: &http.Server{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}}
		n.nodes = append(n.nodes, x)
		// Served from the start, so that close has a server to close;
		// the switch sends nothing before the DFSP exists.
		var h atomic.Pointer[dfsp.DFSP]
		x.srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d := h.Load(); d != nil {
				d.ServeHTTP(w, r)
				return
			}
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		})
		go func() { defer close(x.served); x.srv.Serve(ln) }()

		var p wire.Participant
		err = g.call(ctx, "POST", "/v1/participants", op, wire.NewParticipant{
			ID: id, Name: "Bench DFSP " + strconv.Itoa(i+1), Kind: "wallet", Currencies: []string{currency},
			FSPIOP: &wire.FSPIOP{Endpoint: "http://" + ln.Addr().String()},
		}, &p)
		if err != nil {
			return n, fmt.Errorf("create participant %s: %w", id, err)
		}
		if p.APIKey == "" {
			return n, fmt.Errorf("create participant %s: no apiKey in the answer", id)
		}
		err = g.call(ctx, "POST", "/v1/participants/"+id+"/funds", op, wire.Funds{
			Currency: currency, Amount: prefund, Direction: "deposit"}, nil)
		if err != nil {
			return n, fmt.Errorf("fund participant %s: %w", id, err)
		}
		secret := make([]byte, 32)
		rand.Read(secret)
		d, err := dfsp.New(dfsp.Config{ID: id, SwitchURL: fsp.String(), APIKey: p.APIKey, ILPSecret: secret,
			Currency: currency, Timeout: cfg.Timeout, Client: client})
		if err != nil {
			return n, fmt.Errorf("DFSP %s: %w", id, err)
		}
		x.d = d
		h.Store(d)
	}
	return n, n.register(ctx, cfg.Aliases)
}

// register registers aliases MSISDNs over FSPIOP, dealt to the DFSPs in
// turn, each DFSP's in bulk requests (dfsp.RegisterBulk), all DFSPs at
// once. A party the switch refuses is dropped from the run.
//
// The numbers are +86 13x xxxx xxxx written as FSPIOP writes them,
// without '+': "8613", then a random tag, then the alias's index, nine
// digits in all, so that a run against a switch that earlier runs used
// does not collide with them (unless the tags do).
func (n *simNet) register(ctx context.Context, aliases int) error {
	width := len(strconv.Itoa(aliases - 1)) // digits of the index: at most 6 (FSPIOPAliasesMax)
	tagMax := 1
	for range 9 - width {
		tagMax *= 10
	}
	tag := randN(tagMax)
	ids := make([][]dfsp.PartyID, len(n.nodes))
	for i := range aliases {
		num := fmt.Sprintf("8613%0*d%0*d", 9-width, tag, width, i)
		o := i % len(n.nodes)
		ids[o] = append(ids[o], dfsp.PartyID{Type: msg.MSISDN, ID: num})
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for o, x := range n.nodes {
		wg.Go(func() {
			res, err := x.d.RegisterBulk(ctx, ids[o])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("register %s's parties: %w", x.id, err))
				return
			}
			for j, r := range res {
				if e := r.ErrorInformation; e != nil {
					if n.dropped == 0 {
						n.firstDrop = e.ErrorCode + " " + e.ErrorDescription
					}
					n.dropped++
					continue
				}
				num := ids[o][j].ID
				x.d.AddParty(msg.MSISDN, num, names[randN(len(names))])
				x.parties = append(x.parties, num)
				n.aliases++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	for _, x := range n.nodes {
		if len(x.parties) == 0 {
			return fmt.Errorf("DFSP %s has no party left to be paid at (%d refused, first: %s)", x.id, n.dropped, n.firstDrop)
		}
	}
	return nil
}

// fspRunner is an FSPIOP run's load phase.
type fspRunner struct {
	cfg *Config
	net *simNet
	fsp *url.URL

	measuring atomic.Bool
	stopped   atomic.Bool
	tickets   atomic.Int64
	payers    []*payer
	// display is what the progress display reads: a runner whose
	// workers are the payers' counters.
	display *runner
}

// payer is one worker: one payment at a time, its own figures.
type payer struct {
	r   *fspRunner
	ctx context.Context
	// ctr holds the counters the progress display reads.
	ctr      *worker
	measured bool // the current payment counts

	last      time.Time
	total     histogram.Histogram
	phases    [3]histogram.Histogram // lookup, quote, transfer
	reached   [3]int64
	outcomes  [3]map[string]int64
	payments  int64
	committed int64
	states    map[string]int64
	errs      map[string]int64
	// all counts every payment committed, warm-up included, for the
	// books; unknown are the payments whose outcome the payer did not
	// learn, to be asked for before the books are compared.
	all     int64
	unknown []unknownPayment
}

// unknownPayment is a prepare that got no final answer.
type unknownPayment struct {
	node *node
	id   string
}

var phaseNames = [3]string{phaseLookup, phaseQuote, phaseTransfer}

func (r *fspRunner) run(ctx context.Context, p *progress) *Result {
	sys := &systemSampler{}
	if !r.cfg.InProcess {
		sys = newSystemSampler(r.fsp.Hostname(), targetPort(r.fsp))
	}
	r.display = &runner{cfg: r.cfg}
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		w := &payer{r: r, ctx: ctx, ctr: &worker{}, states: map[string]int64{}, errs: map[string]int64{}}
		for i := range w.outcomes {
			w.outcomes[i] = map[string]int64{}
		}
		r.payers = append(r.payers, w)
		r.display.workers = append(r.display.workers, w.ctr)
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
	runtime.GC()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, sys0 := cpuTime(), sys.sample()
	start := time.Now()
	r.measuring.Store(true)
	p.phase("bench", start, r.cfg.Duration, r.cfg.Requests)
	stopProgress := p.start(r.display)
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
			c.MicrosPerTransfer = c.MicrosPerRequest
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

// loop pays until a bound is reached or the run is interrupted.
func (w *payer) loop() {
	for w.begin() {
		w.pay()
	}
}

// begin decides whether the next payment may start and whether it
// counts.
func (w *payer) begin() bool {
	r := w.r
	if r.stopped.Load() || w.ctx.Err() != nil {
		return false
	}
	w.measured = r.measuring.Load()
	if w.measured && r.cfg.Requests > 0 && r.tickets.Add(1) > r.cfg.Requests {
		r.stopped.Store(true)
		return false
	}
	return true
}

// pay makes one payment from a random party of a random DFSP to a
// random party of another, of 0.01 to 100.00 yuan, and records its
// outcome.
func (w *payer) pay() {
	nodes := w.r.net.nodes
	from := randN(len(nodes))
	to := nodes[(from+1+randN(len(nodes)-1))%len(nodes)]
	start := time.Now()
	// The simulator finds a payer by a scan of its party book: paying
	// from the first payersMax parties bounds its cost.
	payers := nodes[from].parties[:min(len(nodes[from].parties), payersMax)]
	res, err := nodes[from].d.Pay(w.ctx, dfsp.PayRequest{IDType: msg.MSISDN, ID: to.parties[randN(len(to.parties))],
		Amount: msg.FormatAmount(randAmount(), 2), From: payers[randN(len(payers))]})
	// Timed here: PayResult.Timings.Total is not set on every path.
	took := time.Since(start)
	committed := err == nil && res.State == msg.StateCommitted
	if committed {
		w.all++
	}
	if err != nil && res.Phase == phaseTransfer && res.State == "" && res.TransferID != "" {
		// Prepared, but no final answer: the switch may have committed.
		w.unknown = append(w.unknown, unknownPayment{nodes[from], res.TransferID})
	}
	if err != nil && w.ctx.Err() != nil {
		return // interrupted: neither a result nor an error
	}
	if !w.measured {
		return
	}
	w.last = start.Add(took)
	w.total.RecordDuration(took)
	w.payments++
	w.ctr.requests.Add(1)
	end := 2 // the phase the payment ended in
	switch res.Phase {
	case phaseLookup:
		end = 0
	case phaseQuote:
		end = 1
	}
	for i, d := range [3]time.Duration{res.Timings.Lookup, res.Timings.Quote, res.Timings.Transfer} {
		if i > end {
			break
		}
		w.phases[i].RecordDuration(d)
		w.reached[i]++
		switch {
		case i < end || committed:
			w.outcomes[i]["ok"]++
		case err == nil:
			w.outcomes[i]["state "+res.State]++
		case res.Error != nil:
			w.outcomes[i][res.Error.ErrorCode]++
		default:
			w.outcomes[i][outcomeOf(err)]++
		}
	}
	state := res.State
	if state == "" {
		state = "none"
	}
	w.states[state]++
	if committed {
		w.committed++
		w.ctr.committed.Add(1)
		return
	}
	w.fail(paymentError(res, err))
}

// fail counts an error of type kind.
func (w *payer) fail(kind string) {
	w.errs[kind]++
	w.ctr.failures.Add(1)
}

// outcomeOf names a phase's failure without an error callback, for its
// outcome counts.
func outcomeOf(err error) string {
	var se *dfsp.StatusError
	switch {
	case errors.Is(err, dfsp.ErrTimeout):
		return "timeout"
	case errors.As(err, &se):
		return strconv.Itoa(se.Status)
	case errors.Is(err, dfsp.ErrSend):
		return "transport"
	}
	return "error"
}

// paymentError names what went wrong with a payment, by phase and kind,
// without the ids that would make every occurrence a type of its own.
func paymentError(res dfsp.PayResult, err error) string {
	phase := res.Phase
	if phase == "" {
		phase = "payment"
	}
	if err == nil {
		return phase + ": state " + res.State
	}
	if e := res.Error; e != nil {
		d := e.ErrorDescription
		if len(d) > 100 {
			d = d[:100]
		}
		return phase + ": " + e.ErrorCode + " " + d
	}
	var se *dfsp.StatusError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s: answered %d, %s", phase, se.Status, se.Info.ErrorCode)
	}
	for _, s := range []error{dfsp.ErrTimeout, dfsp.ErrFulfilment, dfsp.ErrMismatch, dfsp.ErrCheck, dfsp.ErrNoParty, dfsp.ErrClosed} {
		if errors.Is(err, s) {
			return phase + ": " + s.Error()
		}
	}
	if errors.Is(err, dfsp.ErrSend) {
		return phase + ": " + transportError(err)
	}
	return phase + ": " + transportError(err)[len("transport: "):]
}

// merge adds up the payers' figures.
func (r *fspRunner) merge(start time.Time) *Result {
	cfg := r.cfg
	res := &Result{
		Command: cfg.Command, Mode: FSPIOP, Target: r.fsp.String(), Switch: cfg.Switch,
		Concurrency: cfg.Concurrency, Participants: len(r.net.nodes),
		Duration: cfg.Duration.String(), RequestLimit: cfg.Requests, Warmup: cfg.Warmup.String(),
		Machine: machine(), Start: start.UTC(),
		Operations: map[string]Operation{}, TransferStatuses: map[string]int64{}, Errors: map[string]int64{},
	}
	all := new(histogram.Histogram)
	var phases [3]histogram.Histogram
	var reached [3]int64
	outcomes := [3]map[string]int64{{}, {}, {}}
	end := start
	for _, w := range r.payers {
		if w.last.After(end) {
			end = w.last
		}
		all.Merge(&w.total)
		res.Requests += w.payments
		res.Committed += w.committed
		for i := range phases {
			phases[i].Merge(&w.phases[i])
			reached[i] += w.reached[i]
			for k, v := range w.outcomes[i] {
				outcomes[i][k] += v
			}
		}
		for k, v := range w.states {
			res.TransferStatuses[k] += v
		}
		for k, v := range w.errs {
			res.Errors[k] += v
			res.ErrorCount += v
		}
	}
	res.Transfers = res.Requests
	for i, name := range phaseNames {
		if reached[i] > 0 {
			res.Operations[name] = Operation{Requests: reached[i], Statuses: outcomes[i], Latency: latencyOf(&phases[i])}
		}
	}
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

// checkBooks holds every DFSP's books to the switch's account of it,
// and counts what does not match in res.Errors: what it paid minus what
// it received must be its deposit minus its balance, nothing may stay
// reserved, payers and payees must count as many payments as the
// workers saw committed, and the DFSPs must have found nothing wrong in
// what the switch sent them. Payments whose outcome a payer did not
// learn are asked for first (GET /transfers). An interrupted run is not
// checked.
func (r *fspRunner) checkBooks(ctx context.Context, g *gen, res *Result, p *progress) {
	if ctx.Err() != nil {
		p.say("interrupted: the books were not checked")
		return
	}
	var books int64 // errors found in the books
	bad := func(kind string) {
		res.Errors[kind]++
		res.ErrorCount++
		books++
	}
	var committed int64
	var unknown []unknownPayment
	for _, w := range r.payers {
		committed += w.all
		unknown = append(unknown, w.unknown...)
	}
	if len(unknown) > 0 {
		// GetTransfer books the outcome it finds; all are asked at once,
		// 64 at a time, within one timeout.
		p.say("asking the switch for the outcome of %d payments", len(unknown))
		qctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for _, u := range unknown {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				u.node.d.GetTransfer(qctx, u.id)
			})
		}
		wg.Wait()
		cancel()
	}
	c := money.MustCurrency(currency)
	deposit, err := money.ParseDecimal(prefund, c.Exponent())
	if err != nil {
		panic(err) // a constant
	}
	var paidCount, receivedCount int
	var problems []error
	for _, x := range r.net.nodes {
		b := x.d.Books()
		paidCount += b.PaidCount
		receivedCount += b.ReceivedCount
		problems = append(problems, x.d.Problems()...)
		if b.Pending > 0 {
			bad(fmt.Sprintf("books: %s has %d payments of unknown outcome", x.id, b.Pending))
		}
		var acc wire.Accounts
		if err := g.call(ctx, "GET", "/v1/participants/"+x.id+"/accounts", "Bearer "+r.cfg.Token, nil, &acc); err != nil {
			bad("books: " + x.id + "'s accounts: " + err.Error())
			continue
		}
		var a *wire.Account
		for i := range acc.Accounts {
			if acc.Accounts[i].Currency == currency {
				a = &acc.Accounts[i]
			}
		}
		if a == nil {
			bad("books: " + x.id + " has no " + currency + " account")
			continue
		}
		balance, err1 := money.ParseDecimal(a.Balance, c.Exponent())
		reserved, err2 := money.ParseDecimal(a.Reserved, c.Exponent())
		if err := errors.Join(err1, err2); err != nil {
			bad("books: " + x.id + "'s account: " + err.Error())
			continue
		}
		paid := b.Paid[currency] - b.Received[currency]
		if paid != deposit-balance {
			bad(fmt.Sprintf("books: %s paid %s net, its deposit minus its balance is %s: a difference of %s", x.id,
				money.FormatDecimal(paid, c.Exponent()), money.FormatDecimal(deposit-balance, c.Exponent()),
				money.FormatDecimal(deposit-balance-paid, c.Exponent())))
		}
		if reserved != 0 {
			bad(fmt.Sprintf("books: %s has %s reserved at the end", x.id, a.Reserved))
		}
	}
	// The payments asked for may have committed too.
	if paid := int64(paidCount); paid != int64(receivedCount) || paid < committed || paid > committed+int64(len(unknown)) {
		bad(fmt.Sprintf("books: %d payments committed, the payers booked %d and the payees %d", committed, paidCount, receivedCount))
	}
	if len(problems) > 0 {
		res.Errors["dfsp: what the switch sent was wrong (first: "+problems[0].Error()+")"] += int64(len(problems))
		res.ErrorCount += int64(len(problems))
	}
	if books == 0 {
		p.say("books: the %d DFSPs' books match the switch's accounts (%d payments committed)", len(r.net.nodes), committed)
	}
}
