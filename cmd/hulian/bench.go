package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/loadgen"
)

// bench load-tests a switch: one it starts in this process on a fresh
// data directory (or a PostgreSQL database), or a running one given by
// --target. It prints progress on stderr and the result on stdout, and
// writes the result as JSON with --out. It fails (exit status 1) if any
// request or transfer went wrong, so that CI can run it as a check.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		target      = fs.String("target", "", "base URL of a running switch (default: start one in this process)")
		token       = fs.String("token", "", "operator token of the --target switch (default: $HULIAN_ADMIN_TOKEN)")
		allowRemote = fs.Bool("allow-remote", false, "allow a --target that is not on this machine (loopback)")
		store       = fs.String("store", "", "for the switch bench starts: PostgreSQL DSN (postgres://…) instead of the embedded store")
		rateLimit   = fs.Float64("rate-limit", 1e9, "for the switch bench starts: requests per second per participant")
		fees        = fs.Bool("fees", true, "for the switch bench starts: set a CNY fee schedule, so that transfers carry a fee")
		fspTarget   = fs.String("fspiop-target", "", "with --target and --mode fspiop: base URL of the switch's FSPIOP front end (--fspiop-addr)")
		mode        = fs.String("mode", "single", "traffic: single, batch, lookup, mix (70% transfers, 25% lookups, 5% quote+transfer), "+
			"quoted (every payment a quote then a transfer), crossborder (every payment an FX quote then a transfer, CNY to HKD "+
			"through an FX provider bench sets up), or fspiop (Mojaloop P2P payments, lookup + quote + transfer, between simulated DFSPs in this process)")
		concurrency = fs.Int("concurrency", 64, "workers, each with one request in flight")
		duration    = fs.Duration("duration", 10*time.Second, "how long to measure (0: until --requests)")
		requests    = fs.Int64("requests", 0, "stop after this many measured requests (0: until --duration)")
		warmup      = fs.Duration("warmup", time.Second, "traffic before measuring, not counted")
		batchSize   = fs.Int("batch-size", 1000, "transfers per request in batch mode (1-1000)")
		payerAccts  = fs.Int("payer-accounts", 100_000, "each transfer names one of this many paying users (payerAccount) and its authentication factors, for risk control (0: neither)")
		riskRules   = fs.String("risk-rules", "", "save the risk rules of this JSON file (an array of {id, expression, action, reason, mode}, e.g. bench/risk/rules.json) before the traffic")
		aliases     = fs.Int("aliases", 10000, "phone-number aliases to register and pay to or look up")
		parts       = fs.Int("participants", 4, "participants to spread aliases and payers over (2-26)")
		timeout     = fs.Duration("timeout", 30*time.Second, "bound on each request")
		out         = fs.String("out", "", "write the result as JSON to this file")
		fleet       = fs.String("fleet", "", "with --target: reuse the participants and aliases saved in this file, or set up and save them there")
		wrkDir      = fs.String("wrk-export", "", "with --target and --fleet: write the fleet's participants and aliases for bench/wrk's Lua scripts to this directory, and send no traffic")
		wrkAliases  = fs.Int("wrk-aliases", 1_000_000, "with --wrk-export: at most this many aliases, drawn at random")
		cpuprofile  = fs.String("cpuprofile", "", "write a CPU profile of this process (generator, and the switch it starts) to this file")
		memprofile  = fs.String("memprofile", "", "write an allocation profile of this process to this file at the end")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hulian bench [flags]\n\nLoad-tests a switch and reports throughput, latency percentiles and errors.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %v", fs.Args())
	}
	cfg := loadgen.Config{
		Mode: loadgen.Mode(*mode), Concurrency: *concurrency, Duration: *duration, Requests: *requests,
		Warmup: *warmup, BatchSize: *batchSize, Aliases: *aliases, Participants: *parts, Timeout: *timeout,
		Progress: stderr, Terminal: isTerminal(stderr), Command: append([]string{"hulian", "bench"}, args...),
		Fleet: *fleet, PayerAccounts: *payerAccts,
	}
	if *riskRules != "" {
		b, err := os.ReadFile(*riskRules)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := json.Unmarshal(b, &cfg.RiskRules); err != nil {
			return fmt.Errorf("bench: %s: %w", *riskRules, err)
		}
	}
	if *fleet != "" && *target == "" {
		return errors.New("bench: --fleet is for a --target switch: the switch bench starts is new every time")
	}
	if err := checkPaymentModeFlags(fs, cfg.Mode); err != nil {
		return err
	}
	if *wrkDir != "" {
		if *fleet == "" || *target == "" {
			return errors.New("bench: --wrk-export needs --target and the --fleet set up on it")
		}
		u, err := loadgen.CheckTarget(*target, *allowRemote)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := loadgen.ExportWrk(*fleet, u.String(), *wrkDir, *wrkAliases); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s/parties.txt and %s/aliases.txt\n", *wrkDir, *wrkDir)
		return nil
	}
	if cfg.Duration == 0 && cfg.Requests == 0 {
		return errors.New("bench: the run must be bounded: give --duration or --requests")
	}
	fspiop := cfg.Mode == loadgen.FSPIOP
	switch {
	case fspiop && *fleet != "":
		return errors.New("bench: --fleet is not for --mode fspiop: its DFSPs live in this process and end with it")
	case fspiop && *target != "" && *fspTarget == "":
		return errors.New("bench: --mode fspiop with --target needs --fspiop-target, the switch's FSPIOP front end")
	case *fspTarget != "" && (!fspiop || *target == ""):
		return errors.New("bench: --fspiop-target goes with --target and --mode fspiop")
	}
	var fsp *url.URL
	if *target != "" {
		if *store != "" {
			return errors.New("bench: --store is for the switch bench starts, not for a --target")
		}
		u, err := loadgen.CheckTarget(*target, *allowRemote)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.Target, cfg.Token, cfg.Switch = u, *token, "external"
		if fspiop {
			if fsp, err = loadgen.CheckTarget(*fspTarget, *allowRemote); err != nil {
				return fmt.Errorf("bench: --fspiop-target: %w", err)
			}
		}
		if cfg.Token == "" {
			cfg.Token = os.Getenv("HULIAN_ADMIN_TOKEN")
		}
		if cfg.Token == "" {
			return errors.New("bench: the --target switch's operator token is needed: --token or HULIAN_ADMIN_TOKEN")
		}
	} else {
		u, stop, err := startSwitch(ctx, &cfg, *store, *rateLimit, fspiop)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer stop()
		// FSPIOP payments are held to the DFSPs' books, which know no fee.
		cfg.SetFees = *fees && !fspiop
		fsp = u
	}
	stopProfiles, err := startProfiles(*cpuprofile, *memprofile)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var res *loadgen.Result
	if fspiop {
		res, err = loadgen.RunFSPIOP(ctx, cfg, fsp)
	} else {
		res, err = loadgen.Run(ctx, cfg)
	}
	stopProfiles(stderr)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	res.WriteText(stdout)
	switch cfg.Mode {
	case loadgen.FSPIOP:
		fmt.Fprintln(stdout, "  (mode fspiop: a request is a whole payment, lookup, quote and transfer with their callbacks;\n"+
			"   the operations are its phases, each from its request to its callback)")
	case loadgen.Quoted, loadgen.CrossBorder:
		fmt.Fprintf(stdout, "  (mode %s: a payment is two requests, a quote then a transfer naming it; transfers/s are payments/s)\n", cfg.Mode)
	}
	if *out != "" {
		b, err := res.JSON()
		if err != nil {
			return fmt.Errorf("bench: result: %w", err)
		}
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	switch {
	case res.Interrupted:
		return errors.New("bench: interrupted")
	case res.ErrorCount > 0:
		return fmt.Errorf("bench: %d errors", res.ErrorCount)
	}
	return nil
}

// checkPaymentModeFlags refuses, in the modes whose every payment is a
// quote then a transfer, the flags that mean nothing there: a batch size
// (no batches are sent), and for crossborder a fleet file (which keeps
// no FX provider, HKD wallet or +852 aliases) and the wrk export built
// on it.
func checkPaymentModeFlags(fs *flag.FlagSet, mode loadgen.Mode) error {
	if mode != loadgen.Quoted && mode != loadgen.CrossBorder {
		return nil
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch {
		case err != nil:
		case f.Name == "batch-size":
			err = fmt.Errorf("bench: --batch-size is for --mode batch, not %s: each payment is one quote and one transfer", mode)
		case mode == loadgen.CrossBorder && (f.Name == "fleet" || f.Name == "wrk-export"):
			err = fmt.Errorf("bench: --%s is not for --mode crossborder: a fleet file keeps no FX provider, HKD wallet or +852 aliases", f.Name)
		}
	})
	return err
}

// startSwitch starts a switch in this process on a fresh temporary data
// directory, with a random operator token and a rate limit that does not
// throttle the bench, and points cfg at it. With fspiop it also serves
// the FSPIOP front end, whose URL it returns, and lets the switch reach
// participants on loopback (the simulated DFSPs). stop closes it and
// removes the directory.
func startSwitch(ctx context.Context, cfg *loadgen.Config, store string, rateLimit float64, fspiop bool) (fsp *url.URL, stop func(), err error) {
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, nil, err
	}
	token := "bench." + hex.EncodeToString(raw[:])
	dir, err := os.MkdirTemp("", "hulian-bench-")
	if err != nil {
		return nil, nil, err
	}
	// The burst matches the rate so that a high limit is not undone by
	// the default burst (5000). Lookups have a budget of their own, as
	// high (a lookup that finds nothing costs 20 tokens).
	burst := int(min(rateLimit, 1e9))
	ac := app.Config{DataDir: dir, Store: store, Addr: "127.0.0.1:0", AdminToken: token,
		RateLimit: rateLimit, RateBurst: burst, LookupRate: rateLimit, LookupBurst: max(burst, 20)}
	if fspiop {
		ac.FSPIOPAddr = "127.0.0.1:0"
		ac.Callback = callback.Config{AllowPrivate: true}
	}
	a, err := app.Open(ctx, ac)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		a.Close(sctx)
		os.RemoveAll(dir)
	}
	if err := a.Serve(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	if cfg.Target, err = loadgen.CheckTarget(a.URL(), false); err != nil {
		stop()
		return nil, nil, err
	}
	if fspiop {
		if fsp, err = loadgen.CheckTarget(a.FSPIOPURL(), false); err != nil {
			stop()
			return nil, nil, err
		}
	}
	cfg.Token, cfg.InProcess = token, true
	cfg.Switch = "in-process, embedded store"
	if store != "" {
		cfg.Switch = "in-process, PostgreSQL " + redactDSN(store)
	}
	return fsp, stop, nil
}

// redactDSN drops the password and the parameters (which may hold one)
// from a DSN, for the record.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(DSN)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// isTerminal reports whether w is a terminal, where progress redraws
// one line in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
