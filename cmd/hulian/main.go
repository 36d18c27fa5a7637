// Command hulian is the Hulian interoperability switch: one binary that
// serves the API, runs a demo with simulated wallets and banks, and
// load-tests a switch.
//
//	hulian serve [--data DIR] [--store postgres://…] [--addr HOST:PORT] [--tls-cert F --tls-key F]
//	hulian demo  [--duration 30s]
//	hulian bench [--target URL] [--mode single|batch|lookup|mix] …
//	hulian witness --switch URL --switch-key VERIFIER --key FILE --state FILE [--once]
//	hulian verify --data DIR [--store postgres://…] [--key VERIFIER] | --switch URL --token KEY
//	hulian backup --data DIR --out FILE
//	hulian restore --in FILE --data NEWDIR [--store postgres://…]
//	hulian connector --switch URL --key FILE --callback-secret FILE --backend URL --listen HOST:PORT --data DIR
//	hulian conformance --switch URL --participant ID --key FILE [--callback-secret FILE] [--junit FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/hulian/hulian/internal/app"
	"github.com/hulian/hulian/internal/telemetry"
)

// commands are the subcommands; each parses its own flags.
var commands = map[string]struct {
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	usage string
}{
	"serve":       {serve, "run the switch's HTTP API"},
	"demo":        {demo, "run the switch with simulated wallets and a bank, and show it working"},
	"bench":       {bench, "load-test a switch (one it starts, or a running one)"},
	"witness":     {witness, "witness a switch's audit log: check, co-sign, detect forks and rollbacks"},
	"verify":      {verify, "verify the audit log: offline against the stored ledger, or online your transfers' proofs"},
	"risk-eval":   {riskEval, "measure the anomaly model's precision and recall on labelled simulated payments"},
	"backup":      {backup, "back up a data directory, while the switch serves"},
	"restore":     {restore, "restore a backup into a new data directory"},
	"connector":   {connector, "run beside a participant's core system: a simple synchronous API to the switch"},
	"conformance": {conformance, "check a participant's implementation against the scheme's rules"},
}

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// goMemoryLimit bounds the memory Go manages. The process's budget is
// 1 GiB resident; what Go does not manage, SQLite's page caches (eight
// connections of 8 MiB) and its allocator, sits outside this limit. With
// GOGC at 400 the heap grows to this limit under load whatever is live,
// so the limit, not the live heap, sets the peak: it leaves the rest of
// the budget as headroom, and needs the live heap at 10 M transfers and
// 10 M aliases well below it (BENCHMARKS.md) so that collections stay
// rare.
const goMemoryLimit = 768 << 20

// tuneGC trades memory the switch does not need for CPU it does: the
// garbage collector runs when the heap has grown by 400% rather than
// 100%, but never lets it pass goMemoryLimit, where it collects as often
// as it must. The ledger's large index is free of pointers, so
// collections stay cheap. It also runs Go with two scheduler slots per
// CPU: the journal's fdatasync and SQLite's fsync block the thread they
// run on, and with one slot per CPU a core sat idle behind each (on two
// cores: single transfers +20 %, FSPIOP payments +70 %, batches −10 %;
// BENCHMARKS.md, seventh session). GOGC, GOMEMLIMIT and GOMAXPROCS, when
// set, win.
func tuneGC() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(goMemoryLimit)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hulian: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintln(stderr, "hulian:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hulian <command> [flags]\n\ncommands:")
	for _, name := range []string{"serve", "demo", "bench", "witness", "verify", "backup", "restore", "risk-eval", "connector", "conformance"} {
		if c, ok := commands[name]; ok {
			fmt.Fprintf(w, "  %-11s %s\n", name, c.usage)
		}
	}
	fmt.Fprintln(w, "\nRun 'hulian <command> -h' for its flags.")
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Flags default to the configuration's defaults, stated in app.Config.
	var def app.Config
	def.EnsureDefaults()
	cfg := app.Config{Out: stdout}
	fs.StringVar(&cfg.DataDir, "data", def.DataDir, "data directory: embedded store and secrets")
	fs.StringVar(&cfg.Store, "store", "", "PostgreSQL DSN (postgres://…) instead of the embedded store")
	fs.StringVar(&cfg.Addr, "addr", def.Addr, "listen address")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&cfg.ClientCA, "client-ca", "", "with TLS: PEM file of the CAs of participants' client certificates (verified; required of participants bound to one)")
	fs.StringVar(&cfg.DataKey, "data-key", "", "file with the 32-byte data key that seals secrets and end users' data at rest (default: DIR/data.key, generated)")
	fs.StringVar(&cfg.Region, "region", def.Region, "default region for national phone numbers")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", def.RateLimit, "requests per second per participant")
	fs.IntVar(&cfg.RateBurst, "rate-burst", def.RateBurst, "burst of requests per participant")
	fs.Float64Var(&cfg.LookupRate, "lookup-rate", def.LookupRate, "lookup tokens per second per participant, apart from its request rate")
	fs.IntVar(&cfg.LookupBurst, "lookup-burst", def.LookupBurst, "lookup tokens a participant may hold")
	fs.IntVar(&cfg.LookupMissCost, "lookup-miss-cost", def.LookupMissCost, "lookup tokens a lookup that finds nothing costs (a found one costs 1)")
	fs.IntVar(&cfg.LookupUserRate, "lookup-user-rate", def.LookupUserRate, "lookups that find nothing per minute per end user named in Hulian-End-User")
	fs.Float64Var(&cfg.LookupMissAlert, "lookup-miss-alert", def.LookupMissAlert, "not-found ratio of a participant's lookups that raises an operator alert")
	fs.DurationVar(&cfg.ConfirmTimeout, "confirm-timeout", def.ConfirmTimeout, "how long a confirm-mode payee may take to answer")
	fs.DurationVar(&cfg.ReviewTimeout, "review-timeout", def.ReviewTimeout, "how long a payment held by risk control waits for the operator's decision before it aborts")
	fs.StringVar(&cfg.Timezone, "timezone", def.Timezone, "the scheme's time zone, in which risk rules see the hour")
	fs.IntVar(&cfg.FraudMarkDays, "fraud-mark-days", def.FraudMarkDays, "days an open fraud report counts in its payee alias's fraud marks")
	fs.DurationVar(&cfg.RiskMaxWindow, "risk-max-window", def.RiskMaxWindow, "the longest velocity window risk rules may ask for")
	fs.Var(&cfg.FXAnnualQuota, "fx-annual-quota", "each payer account's annual FX quota in a reference currency, e.g. 50000USD (default none)")
	fs.DurationVar(&cfg.MandateNotice, "mandate-notice", 24*time.Hour, "how long before a scheduled mandate execution the payer's participant is told (mandate.execution-due)")
	fs.IntVar(&cfg.MandateRetries, "mandate-retries", 3, "how many times a scheduled mandate execution short of funds is tried again, a day apart (-1: none)")
	fs.IntVar(&cfg.DisputeDays, "dispute-days", 80, "how many days after a payment its payer's participant may dispute it")
	fs.IntVar(&cfg.DisputeResponseDays, "dispute-response-days", 7, "how many days a disputed payee has to answer before the dispute is accepted")
	fs.StringVar(&cfg.QRGUID, "qr-guid", "cn.hulian", "the scheme's globally unique id in its merchant QR codes (EMV template 26, sub-object 00)")
	fs.StringVar(&cfg.FSPIOPAddr, "fspiop-addr", "", "serve Mojaloop's FSPIOP API (1.1 and 1.0) on this address (e.g. 127.0.0.1:4000); empty: not served")
	fs.StringVar(&cfg.FSPIOPJWSKey, "fspiop-jws-key", "", "PEM private key (RSA or EC P-256) that signs the switch's own FSPIOP requests and callbacks (FSPIOP-Signature)")
	fs.IntVar(&cfg.MaxAliasesPerAccount, "max-aliases-per-account", def.MaxAliasesPerAccount, "aliases one participant may register for one account of its end users")
	fs.DurationVar(&cfg.ClaimTimeout, "claim-timeout", def.ClaimTimeout, "how long an alias's owner has to answer a portability claim before the alias moves")
	fs.DurationVar(&cfg.SettlementInterval, "settlement-interval", 0, "close the settlement windows this often (0: only at the cut-off)")
	// A running switch settles daily unless told not to; the library's
	// zero value, for tests and tools, schedules nothing.
	fs.StringVar(&cfg.SettlementCutoff, "settlement-cutoff", "00:00", `daily settlement cut-off, HH:MM UTC ("none": no daily close)`)
	fs.StringVar(&cfg.AuditKey, "audit-key", "", "file with the audit log's checkpoint signing key (default: DIR/audit.key, generated)")
	fs.BoolVar(&cfg.AuditReinit, "audit-reinit", false, "start although the audit log's checkpoints are lost or its signing key changed: begin a new audit history, recorded as a leaf")
	fs.BoolVar(&cfg.Callback.AllowPrivate, "callback-allow-private", false, "allow callback URLs on loopback and private addresses, and plain http (development and tests only)")
	logFormat := fs.String("log-format", "json", "log format on stderr: json (one object a line) or text")
	logLevel := fs.String("log-level", "info", "least level logged: debug, info (one line per request), warn or error")
	fs.StringVar(&cfg.NodeID, "node-id", "", "with a PostgreSQL --store: run as this node of a cluster sharing the database — one node leads (a lease row), the others follow, answer reads and forward writes to it; empty: a single switch")
	fs.StringVar(&cfg.AdvertiseAddr, "advertise-addr", "", "with --node-id: host:port where the other nodes reach this one (default: --addr when it names a host)")
	fs.StringVar(&cfg.ClusterCA, "cluster-ca", "", "with --node-id and TLS: PEM file of the CAs of the nodes' server certificates, which a follower verifies when it forwards to the leader (default: the system's roots)")
	fs.DurationVar(&cfg.LeaseRenew, "lease-renew", time.Second, "with --node-id: how often the leader renews its lease")
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", 5*time.Second, "with --node-id: how long the lease lasts unrenewed; a follower takes over once it has lapsed")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics (GET /metrics) on this address, a listener of its own (e.g. 127.0.0.1:9464); empty: not served")
	fs.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", "", "export traces over OTLP/HTTP to this collector URL (http://host:4318; /v1/traces unless a path is given); empty: no tracing")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the switch to this file until it stops (for performance work)")
	memprofile := fs.String("memprofile", "", "write an allocation profile of the switch to this file when it stops (for performance work)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected arguments %v", fs.Args())
	}
	if cfg.SettlementCutoff == "" {
		// In Config, empty is no daily close; on the command line it
		// must be said: none.
		return fmt.Errorf(`serve: --settlement-cutoff "": want HH:MM (UTC) or none`)
	}
	cfg.AdminToken = os.Getenv("HULIAN_ADMIN_TOKEN")
	cfg.RegulatorToken = os.Getenv("HULIAN_REGULATOR_TOKEN")
	log, err := telemetry.NewLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	cfg.Log = log
	stopProfiles, err := startProfiles(*cpuprofile, *memprofile)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer stopProfiles(stderr)
	if cfg.NodeID != "" {
		return serveNode(ctx, cfg, stdout)
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	if err := a.Serve(ctx); err != nil {
		a.Close(context.Background())
		return err
	}
	fmt.Fprintf(stdout, "Hulian is listening on %s (data in %s)\n", a.URL(), cfg.DataDir)
	fmt.Fprintf(stdout, "Console at %s/console/ (its users are created with POST /v1/console/users and the operator token)\n", a.URL())
	if u := a.MetricsURL(); u != "" {
		fmt.Fprintf(stdout, "Prometheus metrics at %s\n", u)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return a.Close(sctx)
}

// startProfiles starts a CPU profile into cpu and arranges an allocation
// profile into mem (either may be empty); stop ends them, reporting
// failures to w.
func startProfiles(cpu, mem string) (stop func(w io.Writer), err error) {
	var cpuFile *os.File
	if cpu != "" {
		if cpuFile, err = os.Create(cpu); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpuFile); err != nil {
			cpuFile.Close()
			return nil, err
		}
	}
	return func(w io.Writer) {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil {
				fmt.Fprintln(w, "cpu profile:", err)
			}
		}
		if mem != "" {
			f, err := os.Create(mem)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				fmt.Fprintln(w, "allocation profile:", err)
			}
		}
	}, nil
}

// serveNode runs the switch as one node of a cluster until ctx ends.
func serveNode(ctx context.Context, cfg app.Config, stdout io.Writer) error {
	n, err := app.OpenNode(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Hulian node %s is listening on %s (advertised as %s); it follows until it holds the lease\n", cfg.NodeID, n.URL(), cfg.AdvertiseAddr)
	if u := n.FSPIOPURL(); u != "" {
		fmt.Fprintf(stdout, "FSPIOP on %s (forwarded to the leader while this node follows)\n", u)
	}
	select {
	case <-ctx.Done():
	case <-n.Done():
		n.Close(context.Background())
		return n.Err()
	}
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.Close(sctx)
}
