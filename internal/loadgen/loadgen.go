// Package loadgen is Hulian's load generator (hulian bench): it sets up
// its own participants and aliases on a switch, drives payment traffic
// at it over HTTP/1.1 keep-alive connections from many workers, checks
// every answer, and reports throughput, latency percentiles and errors
// by type.
//
// The generator usually shares the machine, often the process, with the
// switch it measures, so its own cost per request is part of what it
// measures: request bodies are built by appending to pre-built JSON
// fragments, answers are scanned for the few members that matter rather
// than decoded, latencies go to per-worker histograms merged at the end
// (no lock or shared cache line on the hot path), and the process's CPU
// time per request is reported.
package loadgen

import (
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strconv"
	"time"

	"github.com/hulian/hulian/internal/wire"
)

// Mode is what traffic a run sends.
type Mode string

// The modes.
const (
	// Single sends one transfer per request (POST /v1/transfers).
	Single Mode = "single"
	// Batch sends BatchSize transfers per request (POST /v1/transfers:batch).
	Batch Mode = "batch"
	// Lookup resolves random registered aliases (GET /v1/parties/{type}/{value}).
	Lookup Mode = "lookup"
	// Mix sends 70 % single transfers, 25 % lookups and 5 % quote-then-
	// transfer pairs, roughly what a wallet's traffic looks like.
	Mix Mode = "mix"
	// Quoted sends every payment as a quote then a transfer naming it
	// (what Mix does 5 % of the time): the domestic baseline of
	// CrossBorder, whose payments always need a quote.
	Quoted Mode = "quoted"
	// CrossBorder pays HKD aliases from the CNY participants through an
	// FX provider the run sets up: every payment is an FX quote (SEND or
	// RECEIVE at random) then a transfer naming it, with a purpose and a
	// payerAccount (see crossborder.go).
	CrossBorder Mode = "crossborder"
)

// Modes lists the modes, for flag help and validation.
var Modes = []Mode{Single, Batch, Lookup, Mix, Quoted, CrossBorder}

// Config is one run.
type Config struct {
	// Target is the switch's base URL (see CheckTarget).
	Target *url.URL
	// Token is the operator's bearer token: the run creates participants
	// and funds them.
	Token string
	Mode  Mode
	// Concurrency is the number of workers, each with at most one request
	// in flight.
	Concurrency int
	// Duration bounds the measured phase; Requests bounds the number of
	// measured requests; the run stops at whichever comes first. Zero
	// means no bound, but one of them must be set: a load test that
	// never ends is a mistake.
	Duration time.Duration
	Requests int64
	// Warmup runs the same traffic for this long before measuring, so
	// that connections, caches and the Go runtime have settled.
	Warmup time.Duration
	// BatchSize is the number of transfers per batch request (1-1000).
	BatchSize int
	// Aliases is how many phone-number aliases the run registers, and
	// Participants over how many participants they are spread (≥ 2:
	// transfers go between different participants).
	Aliases      int
	Participants int
	// PayerAccounts, if not zero, makes each transfer name one of that
	// many paying users as its payerAccount (each user belongs to one
	// participant: the users are split over them), and the factors the
	// wallet authenticated them with, as wallets do for risk control.
	PayerAccounts int
	// RiskRules are saved on the switch before the traffic (PUT
	// /v1/risk/rules/{id}, the operator's token), to measure screening.
	RiskRules []wire.RiskRule
	// SetFees sets the README's example fee schedule for CNY, so that
	// transfers carry a fee as in production. Only for a switch the run
	// started: another switch's fees are its operator's business.
	SetFees bool
	// Fleet, when set, is a file that keeps the participants and aliases
	// a run set up, for later runs against the same switch to reuse
	// instead of setting up their own (see fleet.go).
	Fleet string
	// Timeout bounds each request (default 30 s).
	Timeout time.Duration
	// Progress receives the progress display (nil: none); Terminal makes
	// it redraw one line in place instead of printing a line at times.
	Progress io.Writer
	Terminal bool
	// The rest is only recorded in the result.
	Command []string
	// Switch describes the switch measured ("in-process, embedded
	// store", "external", …); InProcess says it runs in this process, so
	// that the CPU figures are read as the sum of both.
	Switch    string
	InProcess bool
}

// Result is a run's outcome. Latencies are per request, in milliseconds.
type Result struct {
	Command      []string `json:"command"`
	Mode         Mode     `json:"mode"`
	Target       string   `json:"target"`
	Switch       string   `json:"switch"`
	Concurrency  int      `json:"concurrency"`
	BatchSize    int      `json:"batchSize,omitzero"`
	Participants int      `json:"participants"`
	Aliases      int      `json:"aliases"`
	// Duration and RequestLimit are the bounds asked for (zero: none).
	Duration     string  `json:"duration"`
	RequestLimit int64   `json:"requestLimit"`
	Warmup       string  `json:"warmup"`
	Machine      Machine `json:"machine"`
	// Start is when measuring began; Elapsed runs until the last
	// measured answer.
	Start          time.Time `json:"start"`
	ElapsedSeconds float64   `json:"elapsedSeconds"`
	SetupSeconds   float64   `json:"setupSeconds"`
	// Interrupted is set when the run was stopped early (a signal).
	Interrupted bool `json:"interrupted,omitzero"`
	// Requests counts measured requests that got an answer or failed in
	// transport; Transfers counts the transfers in them (one per single
	// transfer, BatchSize per batch) that got an answer of any kind;
	// Committed those answered 2xx with state COMMITTED.
	Requests  int64 `json:"requests"`
	Transfers int64 `json:"transfers"`
	Committed int64 `json:"committed"`
	// Throughputs: requests, and committed transfers, per second.
	RequestsPerSecond  float64 `json:"requestsPerSecond"`
	TransfersPerSecond float64 `json:"transfersPerSecond"`
	Latency            Latency `json:"latencyMs"`
	// Operations breaks requests down by endpoint.
	Operations map[string]Operation `json:"operations"`
	// TransferStatuses counts transfers by the status of their answer (a
	// batch entry's own status); "transport" for those whose request got
	// no answer.
	TransferStatuses map[string]int64 `json:"transferStatuses,omitempty"`
	// Errors counts everything unexpected by type: problem type and
	// status ("insufficient-funds (422)"), transport errors
	// ("transport: …"), wrong answers ("transfer state RESERVED"). A
	// failed batch entry counts once.
	Errors     map[string]int64 `json:"errors"`
	ErrorCount int64            `json:"errorCount"`
	CPU        CPU              `json:"cpu"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
}

// Operation is one endpoint's share of a run.
type Operation struct {
	Requests int64            `json:"requests"`
	Statuses map[string]int64 `json:"statuses"`
	Latency  Latency          `json:"latencyMs"`
}

// Machine describes where the run ran.
type Machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"numCPU"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"goVersion"`
}

// CPU is the CPU time used during the measured phase. ProcessSeconds
// and what follows from it are this process's: when the switch runs in
// the same process the sum of both, against an external switch the
// generator's own cost. The Switch fields are an external switch's on
// the same machine, and MachineIdle the machine's.
type CPU struct {
	ProcessSeconds    float64 `json:"processSeconds"`
	MicrosPerRequest  float64 `json:"microsPerRequest"`
	MicrosPerTransfer float64 `json:"microsPerTransfer,omitzero"`
	// Utilisation is ProcessSeconds over elapsed time and NumCPU: the
	// share of the machine the process used.
	Utilisation      float64 `json:"utilisation"`
	IncludesSwitch   bool    `json:"includesSwitch"`
	GCCycles         uint32  `json:"gcCycles"`
	AllocatedMB      float64 `json:"allocatedMB"`
	AllocsPerRequest float64 `json:"allocsPerRequest"`
	// The switch's CPU, when it runs on this machine in another process:
	// the one process listening on the target's port (Linux only).
	// SwitchCommand is its command name, to tell a proxy from the switch.
	SwitchPID              int     `json:"switchPID,omitzero"`
	SwitchCommand          string  `json:"switchCommand,omitzero"`
	SwitchSeconds          float64 `json:"switchSeconds,omitzero"`
	SwitchMicrosPerRequest float64 `json:"switchMicrosPerRequest,omitzero"`
	// SwitchUtilisation is over all of the machine's CPUs.
	SwitchUtilisation float64 `json:"switchUtilisation,omitzero"`
	// MachineIdle is the share of the CPU time of the machine bench runs
	// on that nothing used during the measured phase (Linux only; absent
	// when not measured).
	MachineIdle *float64 `json:"machineIdle,omitzero"`
}

// targetPort is the port of the switch's URL, or its scheme's default.
func targetPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

func machine() Machine {
	return Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
}

// check validates c and fills in defaults.
func (c *Config) check() error {
	switch {
	case c.Target == nil:
		return fmt.Errorf("no target")
	case c.Token == "":
		return fmt.Errorf("no operator token (--token or HULIAN_ADMIN_TOKEN)")
	case c.Concurrency < 1 || c.Concurrency > 100000:
		return fmt.Errorf("--concurrency must be 1 to 100000")
	case c.Duration < 0 || c.Requests < 0 || c.Warmup < 0:
		return fmt.Errorf("--duration, --requests and --warmup must not be negative")
	case c.Duration == 0 && c.Requests == 0:
		return fmt.Errorf("the run must be bounded: give --duration or --requests")
	case c.Participants < 2 || c.Participants > 26:
		return fmt.Errorf("--participants must be 2 to 26")
	case c.Aliases < c.Participants || c.Aliases > 10_000_000:
		return fmt.Errorf("--aliases must be %d (one per participant) to 10000000", c.Participants)
	}
	switch c.Mode {
	case Single, Lookup, Mix, Quoted:
	case CrossBorder:
		switch {
		case c.Fleet != "":
			return fmt.Errorf("--fleet is not for --mode %s: a fleet file keeps no FX provider, HKD wallet or +852 aliases", CrossBorder)
		case c.PayerAccounts < 1:
			return fmt.Errorf("--mode %s needs --payer-accounts of at least 1: every FX payment names its paying user", CrossBorder)
		}
	case Batch:
		if c.BatchSize < 1 || c.BatchSize > 1000 {
			return fmt.Errorf("--batch-size must be 1 to 1000")
		}
	default:
		return fmt.Errorf("--mode must be one of %v", Modes)
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return nil
}
