package loadgen

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// JSON returns the result as indented JSON, for --out.
func (r *Result) JSON() ([]byte, error) {
	b, err := json.Marshal(r, json.Deterministic(true), jsontext.WithIndent("  "))
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteText writes the result for people.
func (r *Result) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	bounds := []string{}
	if r.Duration != "0s" {
		bounds = append(bounds, r.Duration)
	}
	if r.RequestLimit > 0 {
		bounds = append(bounds, thousands(r.RequestLimit)+" requests")
	}
	mode := string(r.Mode)
	if r.BatchSize > 0 {
		mode += fmt.Sprintf(" (%d per request)", r.BatchSize)
	}
	p("hulian bench: mode %s, concurrency %d, %s, warmup %s", mode, r.Concurrency, strings.Join(bounds, " or "), r.Warmup)
	p("  switch      %s at %s", r.Switch, r.Target)
	p("  machine     %s/%s, %d CPUs, %s; %d participants, %s aliases", r.Machine.GOOS, r.Machine.GOARCH,
		r.Machine.NumCPU, r.Machine.GoVersion, r.Participants, thousands(int64(r.Aliases)))
	if r.Interrupted {
		p("  INTERRUPTED: the figures cover the run until the signal")
	}
	p("  requests    %s in %.2f s: %s requests/s", thousands(r.Requests), r.ElapsedSeconds, thousands(int64(r.RequestsPerSecond)))
	if r.Transfers > 0 {
		p("  transfers   %s, %s committed: %s transfers/s", thousands(r.Transfers), thousands(r.Committed),
			thousands(int64(r.TransfersPerSecond)))
	}
	p("  latency     %s", r.Latency)
	if len(r.Operations) > 1 {
		for _, name := range opNames {
			if o, ok := r.Operations[name]; ok {
				p("    %-9s %s requests, %s", name, thousands(o.Requests), o.Latency)
			}
		}
	}
	if len(r.TransferStatuses) > 0 {
		var parts []string
		for _, k := range sortedKeys(r.TransferStatuses) {
			parts = append(parts, k+": "+thousands(r.TransferStatuses[k]))
		}
		p("  outcomes    %s", strings.Join(parts, ", "))
	}
	if r.ErrorCount == 0 {
		p("  errors      none")
	} else {
		p("  errors      %s", thousands(r.ErrorCount))
		for _, k := range sortedKeys(r.Errors) {
			p("    %10s  %s", thousands(r.Errors[k]), k)
		}
		if r.Errors["rate-limited (429)"] > 0 {
			p("  (the switch's per-participant rate limit throttled the run: start it with a higher --rate-limit and\n" +
				"   --rate-burst, or spread the load over more --participants)")
		}
	}
	if c := r.CPU; c.ProcessSeconds > 0 {
		who := "the generator alone"
		if c.IncludesSwitch {
			who = "generator and switch together"
		}
		perTransfer := ""
		if r.Mode == Batch && c.MicrosPerTransfer > 0 {
			perTransfer = fmt.Sprintf(", %.2f µs/transfer", c.MicrosPerTransfer)
		}
		p("  CPU         %.1f µs/request%s (%s; %.0f%% of %d CPUs); %d GCs, %.1f allocs/request",
			c.MicrosPerRequest, perTransfer, who, c.Utilisation*100, r.Machine.NumCPU, c.GCCycles, c.AllocsPerRequest)
	}
	if c := r.CPU; c.SwitchPID != 0 {
		p("  switch CPU  %.1f µs/request (process %d, %q; %.0f%% of the machine)",
			c.SwitchMicrosPerRequest, c.SwitchPID, c.SwitchCommand, c.SwitchUtilisation*100)
	}
	if c := r.CPU; c.MachineIdle != nil {
		p("  idle        %.0f%% of this machine's CPU time went unused", *c.MachineIdle*100)
	}
}

// String formats a latency distribution.
func (l Latency) String() string {
	f := func(ms float64) string {
		switch {
		case ms >= 100:
			return fmt.Sprintf("%.0fms", ms)
		case ms >= 10:
			return fmt.Sprintf("%.1fms", ms)
		default:
			return fmt.Sprintf("%.2fms", ms)
		}
	}
	return "p50 " + f(l.P50) + "  p90 " + f(l.P90) + "  p99 " + f(l.P99) + "  p99.9 " + f(l.P999) + "  max " + f(l.Max)
}
