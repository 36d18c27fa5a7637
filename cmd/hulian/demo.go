package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/risk/rules"
	"github.com/hulian/hulian/internal/sim"
	"github.com/hulian/hulian/internal/telemetry"
)

// demo starts a switch on a fresh embedded data directory, connects
// simulated wallets and a bank to it over real HTTP, drives payment
// traffic, shows progress every second, and ends with a summary whose
// checks prove that the books balance. It fails (exit code 1) when a
// check fails.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	a, err := startDemoSwitch(ctx, opts, stderr)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := a.Close(cctx); err != nil {
			fmt.Fprintln(stderr, "hulian: closing the switch:", err)
		}
	}()
	printDemoBanner(stdout, a, opts.dir)
	sc, err := sim.NewScenario(a.URL(), a.AdminToken, sim.ScenarioConfig{
		Users: opts.users, Concurrency: opts.concurrency, Duration: opts.duration, Log: prefixWriter{stdout, "  "},
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer sc.Close(context.Background())
	fmt.Fprintf(stdout, "Setting up participants and %d users:\n", opts.users)
	if err := sc.Setup(ctx); err != nil {
		if ctx.Err() != nil {
			return errors.New("demo: interrupted during setup")
		}
		return fmt.Errorf("demo: setup: %w", err)
	}
	if err := demoRules(ctx, a); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	stopWallet, err := demoWallet(ctx, stdout, sc, opts.walletAddr)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer stopWallet()
	run, err := driveDemoTraffic(ctx, stdout, sc, opts)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	err = finishDemo(ctx, stdout, sc, run)
	printRisk(ctx, stdout, a)
	if err != nil || ctx.Err() != nil {
		return err
	}
	if err := demoReconcile(ctx, stdout, a, sc, run.started); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := demoFSPIOP(ctx, stdout, a, 20); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := demoExperiences(ctx, stdout, a, opts.dir); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := demoCrossBorder(ctx, stdout, a, run.started); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := demoConnector(ctx, stdout, a, opts.dir, 10); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if opts.stay {
		demoStay(ctx, stdout)
	}
	return nil
}

// demoRules are risk rules the demo saves, as an operator would: one
// that the simulated wallets always satisfy (they authenticate with two
// factors), and one that only watches (a shadow rule).
func demoRules(ctx context.Context, a *app.App) error {
	for _, r := range []rules.Rule{
		{ID: "sca-required", Expression: "amount > 2000000 && size(factors) < 2", Action: rules.ActionDecline, Reason: "sca-required",
			Mode: rules.ModeEnforce, Description: "above 20,000.00, two authentication factors"},
		{ID: "busy-payer", Expression: `payerAccount != "" && payerCount(duration("1m")) >= 100`, Action: rules.ActionReview,
			Reason: "velocity", Mode: rules.ModeShadow, Description: "a user paying a hundredth time within a minute"},
	} {
		if _, _, err := a.Risk.PutRule(ctx, r); err != nil {
			return fmt.Errorf("risk rule %s: %w", r.ID, err)
		}
	}
	return nil
}

// printRisk prints what risk control saw: its alerts by rule.
func printRisk(ctx context.Context, w io.Writer, a *app.App) {
	byRule := map[string]int{}
	var since int64
	for {
		as, err := a.Risk.Alerts(ctx, risk.AlertQuery{Since: since, Limit: risk.AlertsMax})
		if err != nil || len(as) == 0 {
			break
		}
		for _, al := range as {
			name := al.Rule
			if name == "" {
				name = "anomaly model"
			}
			byRule[name]++
		}
		since = as[len(as)-1].ID
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(byRule)) {
		parts = append(parts, fmt.Sprintf("%s %d", name, byRule[name]))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "\nRisk control alerts (GET /v1/risk/alerts): %s\n", strings.Join(parts, ", "))
}

// demoOptions are the demo's flags.
type demoOptions struct {
	duration    time.Duration
	dir         string
	concurrency int
	addr        string
	users       int
	// logFormat and logLevel say how the switch logs on stderr.
	logFormat, logLevel string
	// walletAddr is the demo wallet's listen address; stay keeps
	// everything up after the demo, until Ctrl-C.
	walletAddr string
	stay       bool
}

func parseDemoFlags(args []string, stderr io.Writer) (demoOptions, error) {
	var o demoOptions
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long to drive traffic (0: until Ctrl-C)")
	fs.StringVar(&o.dir, "data", "", "data directory of the switch, new or empty (default: a new hulian-demo-* directory in the temp dir)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "payments in flight at once")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen address of the switch's API (port 0 picks a free one)")
	fs.IntVar(&o.users, "users", 3000, "simulated end users over all participants")
	fs.StringVar(&o.logFormat, "log-format", "text", "the switch's log format on stderr: text or json")
	fs.StringVar(&o.logLevel, "log-level", "warn", "least level the switch logs: debug, info (one line per request), warn or error")
	fs.StringVar(&o.walletAddr, "wallet-addr", "127.0.0.1:0", "listen address of the demo wallet's page, a simulated user's (port 0 picks a free one)")
	fs.BoolVar(&o.stay, "stay", false, "after the demo, keep the switch and the demo wallet up until Ctrl-C")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("demo: unexpected arguments %v", fs.Args())
	}
	if o.duration < 0 || o.concurrency < 1 || o.users < 1 {
		return o, errors.New("demo: --duration must not be negative, --concurrency and --users must be positive")
	}
	if _, err := telemetry.NewLogger(io.Discard, o.logFormat, o.logLevel); err != nil {
		return o, fmt.Errorf("demo: %w", err)
	}
	var err error
	o.dir, err = demoDataDir(o.dir)
	return o, err
}

// startDemoSwitch opens and starts the switch. By default it logs
// warnings and errors only: the demo's own output is the show.
func startDemoSwitch(ctx context.Context, opts demoOptions, stderr io.Writer) (*app.App, error) {
	log, err := telemetry.NewLogger(stderr, opts.logFormat, opts.logLevel)
	if err != nil {
		return nil, err
	}
	// The simulated wallets listen on loopback. They also pay aliases
	// that are not registered, on purpose and far more often than real
	// users mistype: a lookup budget of ten times the default keeps the
	// directory's anti-scraping limits from refusing the show's traffic.
	a, err := app.Open(ctx, app.Config{DataDir: opts.dir, Addr: opts.addr, AdminToken: os.Getenv("HULIAN_ADMIN_TOKEN"), Out: io.Discard, Log: log,
		Callback: callback.Config{AllowPrivate: true}, LookupRate: 10000, LookupBurst: 20000, FSPIOPAddr: "127.0.0.1:0",
		MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	if err := a.Serve(ctx); err != nil {
		a.Close(context.Background())
		return nil, err
	}
	return a, nil
}

func printDemoBanner(w io.Writer, a *app.App, dir string) {
	fmt.Fprintf(w, "Hulian demo: the switch is up\n")
	fmt.Fprintf(w, "  API             %s/v1/\n", a.URL())
	fmt.Fprintf(w, "  OpenAPI         %s/openapi.json\n", a.URL())
	fmt.Fprintf(w, "  Mojaloop FSPIOP %s/ (parties, quotes, transfers)\n", a.FSPIOPURL())
	fmt.Fprintf(w, "  metrics         %s (Prometheus)\n", a.MetricsURL())
	fmt.Fprintf(w, "  console         none yet: use the API with the operator token\n")
	fmt.Fprintf(w, "  operator token  %s\n", a.AdminToken)
	fmt.Fprintf(w, "  data            %s\n", dir)
	fmt.Fprintf(w, "  try             curl -s -H 'Authorization: Bearer %s' %s/v1/participants\n\n", a.AdminToken, a.URL())
}

// demoRun is how the traffic went.
type demoRun struct {
	started     time.Time
	elapsed     time.Duration
	interrupted bool
	// settling is the settlement started halfway, if it had not reported
	// when the traffic stopped.
	settling <-chan settleResult
	duration time.Duration
}

// driveDemoTraffic runs the scenario's traffic with live progress.
// Halfway through, the operator closes the settlement window and the
// settlement bank settles it, while payments go on into the next one.
func driveDemoTraffic(ctx context.Context, stdout io.Writer, sc *sim.Scenario, opts demoOptions) (demoRun, error) {
	until := "until Ctrl-C"
	if opts.duration > 0 {
		until = "for " + opts.duration.String() + " (Ctrl-C stops earlier)"
	}
	fmt.Fprintf(stdout, "\nDriving traffic %s with %d payments in flight:\n", until, opts.concurrency)
	started := time.Now()
	run := demoRun{duration: opts.duration, started: started}
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	live := newProgress(stdout, sc)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	half := opts.duration / 2
	if opts.duration == 0 {
		half = 30 * time.Second
	}
	midway := time.After(half)
	settled := make(chan settleResult, 1)
	ctxDone := ctx.Done()
	for {
		select {
		case err := <-done:
			if err != nil {
				return run, err
			}
			run.elapsed = time.Since(started)
			live.final(context.WithoutCancel(ctx))
			if midway == nil {
				run.settling = settled
			}
			return run, nil
		case <-ctxDone:
			run.interrupted, ctxDone = true, nil
			live.note("interrupted: finishing the payments in flight")
		case <-midway:
			midway = nil
			go func() {
				st, err := sc.Settle(context.WithoutCancel(ctx))
				settled <- settleResult{st, err}
			}()
		case r := <-settled:
			settled = nil
			live.note(settlementLine(r))
			if r.err != nil {
				return run, fmt.Errorf("settlement: %w", r.err)
			}
		case <-tick.C:
			live.refresh(ctx)
		}
	}
}

// finishDemo settles the last window, reconciles every participant's
// books with the switch, and prints the summary and the checks.
func finishDemo(ctx context.Context, stdout io.Writer, sc *sim.Scenario, run demoRun) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if run.settling != nil {
		// A settlement still running when traffic stopped, if it is done.
		select {
		case r := <-run.settling:
			fmt.Fprintln(stdout, "  "+settlementLine(r))
			if r.err != nil {
				return fmt.Errorf("demo: settlement: %w", r.err)
			}
		default:
		}
	}
	fmt.Fprintf(stdout, "\nTraffic stopped; closing and settling the last settlement window…\n")
	last, err := sc.Settle(cctx)
	if err != nil {
		return fmt.Errorf("demo: settlement: %w", err)
	}
	fmt.Fprintln(stdout, "  "+settlementLine(settleResult{last, nil}))
	fmt.Fprintf(stdout, "Reconciling every participant's books with the switch…\n")
	rep, err := sc.Check(cctx)
	if err != nil {
		return fmt.Errorf("demo: checks: %w", err)
	}
	why := "duration reached"
	switch {
	case run.interrupted:
		why = "interrupted"
	case run.duration == 0 || run.elapsed < run.duration-time.Second:
		why = "payment limit reached"
	}
	printSummary(stdout, sc, rep, run.elapsed, why)
	printSettlementReport(stdout, last)
	if !rep.OK() {
		return fmt.Errorf("demo: %d of %d checks failed", len(rep.Failed()), len(rep.Checks))
	}
	fmt.Fprintln(stdout, "\nAll checks passed: the ledger balances and every participant's books agree with the switch.")
	return nil
}

// demoDataDir returns the data directory: the one given, if it is new or
// empty (the demo creates its participants from scratch), or a new
// temporary one.
func demoDataDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "hulian-demo-*")
		if err != nil {
			return "", fmt.Errorf("demo: data directory: %w", err)
		}
		return d, nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return dir, nil
	case err != nil:
		return "", fmt.Errorf("demo: data directory: %w", err)
	case len(entries) > 0:
		return "", fmt.Errorf("demo: data directory %s is not empty: the demo needs a fresh one", dir)
	}
	return dir, nil
}

// prefixWriter indents every line written to it (the scenario's setup log).
type prefixWriter struct {
	w      io.Writer
	prefix string
}

// Write indents b's lines; it is called once per log line.
func (p prefixWriter) Write(b []byte) (int, error) {
	s := strings.TrimSuffix(string(b), "\n")
	s = p.prefix + strings.ReplaceAll(s, "\n", "\n"+p.prefix) + "\n"
	if _, err := io.WriteString(p.w, s); err != nil {
		return 0, err
	}
	return len(b), nil
}

// progress shows the traffic live: on a terminal it redraws a block of
// lines in place; elsewhere (a pipe, a file, a test) it prints one line
// per refresh.
type progress struct {
	w        io.Writer
	sc       *sim.Scenario
	terminal bool
	lines    int // lines of the block drawn last (terminal)
	prev     sim.StatsSnapshot
	prevAt   time.Time
}

func newProgress(w io.Writer, sc *sim.Scenario) *progress {
	return &progress{w: w, sc: sc, terminal: demoIsTerminal(w), prev: sc.Stats().Snapshot(), prevAt: time.Now()}
}

// demoIsTerminal reports whether w is a terminal that understands ANSI
// cursor movement.
func demoIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// note prints a message between refreshes.
func (p *progress) note(msg string) {
	fmt.Fprintln(p.w, "  "+msg)
	p.lines = 0
}

// final refreshes once more when the last refresh is not too recent to
// give a meaningful rate.
func (p *progress) final(ctx context.Context) {
	if time.Since(p.prevAt) >= 500*time.Millisecond {
		p.refresh(ctx)
	}
}

// refresh shows the figures since the last refresh: transfers per
// second, latency of that interval, totals, and the participants'
// balances as the switch reports them.
func (p *progress) refresh(ctx context.Context) {
	now := time.Now()
	st := p.sc.Stats().Snapshot()
	dt := now.Sub(p.prevAt).Seconds()
	rate := 0.0
	if dt > 0 {
		rate = float64(st.Transfers-p.prev.Transfers) / dt
	}
	window := st.Latency.Sub(p.prev.Latency)
	p.prev, p.prevAt = st, now
	lat := "p50 –  p99 –"
	if window.Count() > 0 {
		lat = fmt.Sprintf("p50 %s  p99 %s", ms(window.QuantileDuration(0.5)), ms(window.QuantileDuration(0.99)))
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	positions, err := p.sc.Positions(pctx)
	cancel()

	head := fmt.Sprintf("%5.0fs  %s transfers/s  committed %s  refused %s  %s",
		st.Elapsed.Seconds(), sim.GroupDigits(fmt.Sprintf("%.0f", rate)), count(st.Committed), count(st.Refused), lat)
	if !p.terminal {
		var b strings.Builder
		b.WriteString("  " + head)
		if err == nil {
			b.WriteString("  |")
			for _, pos := range positions {
				fmt.Fprintf(&b, " %s %s", pos.Participant, sim.Grouped(pos.Balance, pos.Currency))
				if pos.Currency.String() != p.sc.Config().Currency {
					b.WriteString(" " + pos.Currency.String()) // the FX provider's second side, the wallet abroad
				}
			}
		}
		fmt.Fprintln(p.w, b.String())
		return
	}
	var lines []string
	lines = append(lines, head)
	lines = append(lines, "       refused by reason: "+reasons(st.Reasons))
	if err != nil {
		lines = append(lines, "       balances: "+err.Error())
	}
	for _, pos := range positions {
		lines = append(lines, fmt.Sprintf("       %-14s %-6s %-7s balance %18s %s   available %18s",
			pos.Participant, pos.Kind, pos.Acceptance, sim.Grouped(pos.Balance, pos.Currency), pos.Currency,
			sim.Grouped(pos.Available, pos.Currency)))
	}
	var b strings.Builder
	if p.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dF\x1b[J", p.lines) // back to the block's first line, clear below
	}
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	io.WriteString(p.w, b.String())
	p.lines = len(lines)
}

// ms formats a latency in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func count(n int64) string { return sim.GroupDigits(fmt.Sprint(n)) }

// reasons lists refusal reasons, most frequent first.
func reasons(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var xs []kv
	for k, v := range m {
		xs = append(xs, kv{k, v})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].v > xs[j].v || xs[i].v == xs[j].v && xs[i].k < xs[j].k })
	if len(xs) == 0 {
		return "none"
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.k + " " + count(x.v)
	}
	return strings.Join(parts, " · ")
}

// printSummary prints the totals, the net positions and the checks.
func printSummary(w io.Writer, sc *sim.Scenario, rep *sim.Report, elapsed time.Duration, why string) {
	st := sc.Stats().Snapshot()
	secs := max(elapsed.Seconds(), 0.001)
	fmt.Fprintf(w, "\nSummary\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  traffic\t%.1f s (%s)\n", elapsed.Seconds(), why)
	var vol string
	if c, err := money.ParseCurrency(sc.Config().Currency); err == nil {
		// Every payment's amount is in the payers' currency, cross-border
		// ones' too (what they sent).
		vol = fmt.Sprintf(" for %s %s", c, sim.Grouped(money.Amount(st.Volume), c))
	}
	fmt.Fprintf(tw, "  transfers\t%s answered by the switch, %s/s; %s committed%s, %s refused or aborted\n",
		count(st.Transfers), sim.GroupDigits(fmt.Sprintf("%.0f", float64(st.Transfers)/secs)), count(st.Committed), vol, count(st.Refused))
	fmt.Fprintf(tw, "  not paid, by reason\t%s\n", reasons(st.Reasons))
	fmt.Fprintf(tw, "  lookups\t%s (%s of unknown aliases); %s quotes; %s payout batches\n",
		count(st.Lookups), count(st.Misses), count(st.Quotes), count(st.Batches))
	fmt.Fprintf(tw, "  experiences\tQR static %s · QR dynamic %s · bills sent %s, paid %s, declined %s · refunds %s\n",
		count(st.Experiences[sim.XPQRStatic]), count(st.Experiences[sim.XPQRDynamic]), count(st.Experiences[sim.XPBillSent]),
		count(st.Experiences[sim.XPBillPaid]), count(st.Experiences[sim.XPBillDecline]), count(st.Experiences[sim.XPRefund]))
	fmt.Fprintf(tw, "  \tmandates approved %s, pulled %s, run by the switch %s · disputes accepted %s, rejected %s\n",
		count(st.Experiences[sim.XPMandateApproved]), count(st.Experiences[sim.XPMandatePulled]),
		count(st.Experiences[sim.XPMandateScheduled]), count(st.Experiences[sim.XPDisputeAccepted]),
		count(st.Experiences[sim.XPDisputeRejected]))
	if xb := st.CrossBorder; xb.Attempts > 0 {
		sheet, n, _ := sc.Sheet()
		fmt.Fprintf(tw, "  cross-border\t%s paid CNY → HKD (SEND %s · RECEIVE %s): CNY %s converted, HKD %s delivered; %s not paid; rate sheets published %d (the last at %s)\n",
			count(xb.Paid), count(xb.Send), count(xb.Receive), sim.Grouped(money.Amount(xb.Source), xpCNY),
			sim.Grouped(money.Amount(xb.Target), xbHKD), count(xb.Refused), n, sheet.Rate)
	}
	fmt.Fprintf(tw, "  latency\tp50 %s · p90 %s · p99 %s · max %s (single transfers over HTTP, retries included)\n",
		ms(st.Latency.QuantileDuration(0.5)), ms(st.Latency.QuantileDuration(0.9)), ms(st.Latency.QuantileDuration(0.99)),
		ms(time.Duration(st.Latency.Max())))
	var dupes int64
	for _, l := range rep.Participants {
		dupes += int64(l.Books.Duplicates)
	}
	fmt.Fprintf(tw, "  notifications\tevery committed transfer credited by its payee (checked %.1f s after the traffic stopped); %s redeliveries ignored\n", rep.Drained.Seconds(), count(dupes))
	tw.Flush()

	fmt.Fprintf(w, "\nNet positions at the switch (balance = deposits − withdrawals − sent − fees + received + settled; fees include FX providers' fees paid, received the FX fees earned)\n")
	row := "  %-15s %-6s %-7s %16s %13s %16s %11s %16s %15s %16s  %s\n"
	fmt.Fprintf(w, strings.TrimSuffix(row, "  %s\n")+"\n", "participant", "kind", "mode", "deposits", "withdrawals", "sent", "fees", "received", "settled", "balance")
	for _, l := range rep.Participants {
		c, b := l.Currency, l.Books
		fmt.Fprintf(w, row, l.ID, l.Kind, l.Acceptance, sim.Grouped(b.Deposits, c), sim.Grouped(b.Withdrawals, c),
			sim.Grouped(l.SwitchSent, c), sim.Grouped(l.SwitchFees+l.SwitchFXFees, c), sim.Grouped(l.SwitchReceived+l.SwitchFXFeesEarned, c),
			sim.Grouped(b.SettledIn-b.SettledOut, c), sim.Grouped(l.Position.Balance, c), c)
	}
	for _, z := range rep.ZeroSums {
		fmt.Fprintf(w, row, "hub fee revenue", "", "", "", "", "", "", sim.Grouped(z.Fees, z.Currency),
			sim.Grouped(-z.HubPaidOut, z.Currency), sim.Grouped(z.HubFeeRevenue, z.Currency), z.Currency)
	}

	fmt.Fprintf(w, "\nChecks\n")
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "  %s\n", c)
	}
}

// settleResult is the outcome of a settlement cycle run in the background.
type settleResult struct {
	st  sim.Settlement
	err error
}

func settlementLine(r settleResult) string {
	if r.err != nil {
		return "settlement failed: " + r.err.Error()
	}
	rep := r.st.Report
	n := int64(0)
	if rep.Transfers != nil {
		n = *rep.Transfers
	}
	line := fmt.Sprintf("settlement window %s closed (%d payments, %s %s, hub fees %s): %s; %s opened at once",
		rep.Window.ID, n, rep.Volume, rep.Window.Currency, rep.HubFees, rep.Window.State, rep.Window.Next)
	if len(r.st.Outstanding) > 0 {
		line += fmt.Sprintf("; outstanding: %v", r.st.Outstanding)
	}
	for _, o := range r.st.Others {
		line += "\n  " + settlementLine(settleResult{o, nil})
	}
	return line
}

// printSettlementReport prints the last window's settlement report: each
// participant's multilateral net position and the instruction that
// settled it; then the same cycle's windows of the other currencies.
func printSettlementReport(w io.Writer, st sim.Settlement) {
	defer func() {
		for _, o := range st.Others {
			printSettlementReport(w, o)
		}
	}()
	rep := st.Report
	fmt.Fprintf(w, "\nSettlement report %s (%s), %s → %s, state %s\n", rep.Window.ID, rep.Window.Currency,
		rep.Window.OpenedAt.Format("15:04:05.000"), rep.Window.ClosedAt.Format("15:04:05.000"), rep.Window.State)
	fmt.Fprintf(w, "  %-16s %16s %16s %12s %16s   %s\n", "participant", "sent", "received", "fees", "net", "instruction")
	ins := map[string]string{}
	for _, in := range rep.Instructions {
		done := "outstanding"
		if in.Confirmed {
			done = "settled"
		}
		ins[in.Participant] = fmt.Sprintf("%s %s (%s)", in.Direction, in.Amount, done)
	}
	for _, p := range rep.Positions {
		fmt.Fprintf(w, "  %-16s %16s %16s %12s %16s   %s\n", p.Participant, p.Sent, p.Received, p.Fees, p.Net, ins[p.Participant])
	}
	fmt.Fprintf(w, "  the nets sum to zero with the hub's fees (%s); the settlement bank moved them all\n", rep.HubFees)
}
