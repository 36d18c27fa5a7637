package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	connect "github.com/hulian/hulian/internal/connector"
)

// connector runs a participant's connector (docs/connector.md) until
// ctx ends (SIGINT, SIGTERM): it stops taking requests, leaves the
// payments in flight PENDING in its record for the next start, and
// closes the record.
func connector(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("connector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var def connect.Config
	def.EnsureDefaults()
	var cfg connect.Config
	var keyFile, secretFile, tokenFile, backendSecretFile, backendTokenFile, logFormat, logLevel string
	fs.StringVar(&cfg.SwitchURL, "switch", "", "the switch's API base URL (https://switch.example)")
	fs.StringVar(&keyFile, "key", "", "file with the participant's API key, as onboarding gave it")
	fs.StringVar(&secretFile, "callback-secret", "", "file with the participant's callback secret (one per line during a rotation: the first signs answers)")
	fs.StringVar(&cfg.BackendURL, "backend", "", "the participant's core system: the connector POSTs {backend}/incoming")
	fs.StringVar(&backendSecretFile, "backend-secret", "", "file with a secret that signs each POST {backend}/incoming (Hulian-Signature, as the switch signs callbacks; one per line during a rotation) (default: unsigned)")
	fs.StringVar(&backendTokenFile, "backend-token", "", "file with a token sent with each POST {backend}/incoming as Authorization: Bearer, for a backend behind an API gateway (default: none)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8700", "listen address: the switch's callbacks (/hulian/callbacks) and, without --api-listen, the backend API")
	fs.StringVar(&cfg.DataDir, "data", "", "data directory of the connector's record (connector.db)")
	fs.StringVar(&cfg.CallbackURL, "callback-url", "", "the URL the switch must call back, when a proxy stands in front (default http://<listen>/hulian/callbacks)")
	fs.StringVar(&cfg.APIListen, "api-listen", "", "serve the backend API on this address instead, apart from the callbacks (keep it private)")
	fs.StringVar(&tokenFile, "api-token", "", "file with a token the backend must send as Authorization: Bearer, to the API and GET /metrics (default: none; keep the API private)")
	fs.StringVar(&cfg.Participant, "participant", "", "the participant's id (default: the one the API key names)")
	fs.StringVar(&cfg.Acceptance, "acceptance", "", "set the acceptance mode at start: notify or confirm (default: leave it)")
	fs.DurationVar(&cfg.ConfirmTimeout, "confirm-timeout", def.ConfirmTimeout, "how long a confirm request waits for the backend before the connector rejects the transfer (keep it below the switch's)")
	fs.DurationVar(&cfg.PaymentWait, "payment-wait", def.PaymentWait, "how long POST /payments waits for a final state before it answers PENDING")
	fs.IntVar(&cfg.OutboxMax, "outbox-max", def.OutboxMax, "incoming transfers waiting for the backend, beyond which the switch is told to hold them")
	fs.StringVar(&logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&logLevel, "log-level", "info", "least level logged: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("connector: unexpected arguments %v", fs.Args())
	}
	var missing []string
	for name, v := range map[string]string{"--switch": cfg.SwitchURL, "--key": keyFile, "--callback-secret": secretFile,
		"--backend": cfg.BackendURL, "--data": cfg.DataDir} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("connector: %s required", strings.Join(missing, ", "))
	}
	var err error
	if cfg.APIKey, err = readSecret(keyFile, stderr); err != nil {
		return fmt.Errorf("connector: --key: %w", err)
	}
	secrets, err := readSecret(secretFile, stderr)
	if err != nil {
		return fmt.Errorf("connector: --callback-secret: %w", err)
	}
	cfg.CallbackSecrets = strings.Fields(secrets)
	if tokenFile != "" {
		if cfg.APIToken, err = readSecret(tokenFile, stderr); err != nil {
			return fmt.Errorf("connector: --api-token: %w", err)
		}
	}
	if backendSecretFile != "" {
		s, err := readSecret(backendSecretFile, stderr)
		if err != nil {
			return fmt.Errorf("connector: --backend-secret: %w", err)
		}
		cfg.BackendSecrets = strings.Fields(s)
	}
	if backendTokenFile != "" {
		if cfg.BackendToken, err = readSecret(backendTokenFile, stderr); err != nil {
			return fmt.Errorf("connector: --backend-token: %w", err)
		}
	}
	if cfg.Log, err = newConnectorLog(stderr, logFormat, logLevel); err != nil {
		return fmt.Errorf("connector: %w", err)
	}
	c, err := connect.Open(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Hulian connector of %s\n", c.Participant())
	fmt.Fprintf(stdout, "  switch     %s (its callbacks come to %s)\n", cfg.SwitchURL, c.CallbackURL())
	fmt.Fprintf(stdout, "  API        %s (/payments, /aliases, /requests, /mandates, GET /status, GET /metrics)\n", c.URL())
	var auth []string
	if len(cfg.BackendSecrets) > 0 {
		auth = append(auth, "signed")
	}
	if cfg.BackendToken != "" {
		auth = append(auth, "Bearer token")
	}
	backend := strings.TrimRight(cfg.BackendURL, "/") + "/incoming"
	if len(auth) > 0 {
		backend += " (" + strings.Join(auth, ", ") + ")"
	}
	fmt.Fprintf(stdout, "  backend    %s\n", backend)
	fmt.Fprintf(stdout, "  data       %s\n", cfg.DataDir)
	<-ctx.Done()
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return c.Close(sctx)
}

// readSecret reads a credential file: its content without surrounding
// white space, which must not be empty. It warns on w of a file others
// may read: it holds a secret.
func readSecret(file string, w io.Writer) (string, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(w, "hulian: warning: %s is readable by others (mode %v): chmod 600 it\n", file, fi.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New(file + " is empty")
	}
	return s, nil
}

// newConnectorLog returns the connector's logger on w.
func newConnectorLog(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
