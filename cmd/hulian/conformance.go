package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hulian/hulian/internal/atomicfile"
	suite "github.com/hulian/hulian/internal/conformance"
)

// errConformance means a case failed: the participant breaks a rule.
var errConformance = errors.New("the participant does not conform")

// conformance runs the conformance suite against a participant's own
// implementation (docs/conformance.md): one progress line per case on
// stdout, a JUnit report with --junit, and an error — a non-zero exit —
// when a case fails.
func conformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg suite.Config
	fs.StringVar(&cfg.Switch, "switch", "", "the switch's URL")
	fs.StringVar(&cfg.Participant, "participant", "", "the participant's id at the switch")
	keyFile := fs.String("key", "", "file holding the participant's API key")
	secretFile := fs.String("callback-secret", "", "file holding the participant's callback secret (without it the callback cases are skipped)")
	junit := fs.String("junit", "", "write a JUnit XML report to this file")
	fs.DurationVar(&cfg.ConfirmDeadline, "confirm-deadline", suite.DefaultConfirmDeadline, "the switch's confirm timeout (its --confirm-timeout)")
	fs.DurationVar(&cfg.Timeout, "timeout", suite.DefaultTimeout, "bound on every other request")
	fs.StringVar(&cfg.PayeeAccount, "payee-account", suite.DefaultPayeeAccount, "payee account the synthetic transfers name")
	fs.StringVar(&cfg.ForeignAlias, "foreign-alias", "", "TYPE/VALUE of an alias another participant holds (default: a payee of the participant's own payments)")
	fs.StringVar(&cfg.Phone, "phone", "", "E.164 number the alias cases register and delete (default: random, +61 491 57x xxx)")
	list := fs.Bool("list", false, "list the cases and the rules they check, and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hulian conformance --switch URL --participant ID --key FILE [--callback-secret FILE] [--junit FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		for _, c := range suite.Cases() {
			fmt.Fprintf(stdout, "%-38s %s\n", c.Name, c.Rule)
		}
		return nil
	}
	if cfg.Switch == "" || cfg.Participant == "" || *keyFile == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("conformance: --switch, --participant and --key are required")
	}
	var err error
	if cfg.APIKey, err = readSecret(*keyFile, stderr); err != nil {
		return fmt.Errorf("conformance: --key: %w", err)
	}
	if *secretFile != "" {
		if cfg.CallbackSecret, err = readSecret(*secretFile, stderr); err != nil {
			return fmt.Errorf("conformance: --callback-secret: %w", err)
		}
	}
	cfg.Progress = stdout
	fmt.Fprintf(stdout, "hulian conformance: participant %s at %s\n", cfg.Participant, cfg.Switch)
	rep, err := suite.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped in %v\n", rep.Count(suite.Pass), rep.Count(suite.Fail),
		rep.Count(suite.Skip), rep.Took.Round(1e6))
	if *junit != "" {
		var b bytes.Buffer
		if err := rep.WriteJUnit(&b); err != nil {
			return fmt.Errorf("conformance: %w", err)
		}
		if err := atomicfile.Write(*junit, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("conformance: --junit: %w", err)
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("conformance: interrupted: %w", ctx.Err())
	}
	if n := rep.Count(suite.Fail); n > 0 {
		return fmt.Errorf("conformance: %w: %d of %d cases failed", errConformance, n, len(rep.Results))
	}
	return nil
}
