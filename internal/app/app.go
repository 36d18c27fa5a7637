// Package app wires the switch together: storage, the ledger's journal,
// the registries, the payment flow, callbacks and the HTTP API. The
// binary's subcommands and the end-to-end tests build the switch through
// it, so that tests run exactly what ships.
package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/atomicfile"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/transfer"
)

// Config is what the switch is started with.
type Config struct {
	// DataDir holds the embedded store and the switch's secrets (operator
	// token hash, quote key); it is created if missing.
	DataDir string
	// Store is empty for the embedded engine, or a PostgreSQL DSN
	// (postgres://…) for the ledger and the app database.
	Store string
	// Addr is the listen address, e.g. 127.0.0.1:8080 (":0" picks a port).
	Addr string
	// TLSCert and TLSKey, when both set, make the API serve HTTPS.
	TLSCert, TLSKey string
	// AdminToken is the operator's bearer token (HULIAN_ADMIN_TOKEN). If
	// empty, the token is the one stored in DataDir, or a new one is
	// generated, stored (as a hash) and printed once to Out.
	AdminToken string
	// Region is the default region for national phone numbers.
	Region string
	// RateLimit and RateBurst bound each participant's requests per
	// second (zero: the API's defaults).
	RateLimit float64
	RateBurst int
	// ConfirmTimeout bounds a confirm-mode payee's answer.
	ConfirmTimeout time.Duration
	// SettlementInterval, if not zero, closes every currency's open
	// settlement window that often; with SettlementDaily, they also close
	// every day at SettlementCutoff after midnight UTC.
	SettlementInterval time.Duration
	SettlementDaily    bool
	SettlementCutoff   time.Duration
	// AuditKey is the file holding the audit log's checkpoint signing key
	// (a note signer key); empty: audit.key in DataDir, generated at
	// first start.
	AuditKey string
	// RegulatorToken, if set, is a read-only bearer token
	// (HULIAN_REGULATOR_TOKEN): it reads what the operator reads, the
	// audit log's leaves included, and may post witness co-signatures.
	RegulatorToken string
	Log            *slog.Logger
	Out            io.Writer
	Now            func() time.Time
}

// App is a running switch.
type App struct {
	Config
	Journal      *journal.Journal
	DB           *sqldb.DB
	Participants *participant.Registry
	Directory    *directory.Directory
	Fees         *quote.Fees
	Transfers    *transfer.Service
	Deliverer    *callback.Deliverer
	Settlement   *settlement.Service
	Liquidity    *liquidity.Monitor
	Audit        *audit.Log
	API          *api.Server
	// AdminToken is the operator's token when this process knows it: it
	// was given, or generated at this start.
	AdminToken string

	ledgerStore journal.Store
	server      *http.Server
	listener    net.Listener
	ready       atomic.Bool
	cancel      context.CancelFunc
}

// Open opens storage, recovers the ledger and builds the switch. It does
// not listen yet: Serve does.
func Open(ctx context.Context, cfg Config) (a *App, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "hulian-data"
	}
	if cfg.Region == "" {
		cfg.Region = "CN"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	a = &App{Config: cfg}
	// self, because returning nil, err sets a to nil before this runs.
	self := a
	defer func() {
		if err != nil {
			self.closeStores()
		}
	}()
	start := time.Now()
	if cfg.Store == "" {
		l, err := store.Open(cfg.DataDir, store.Options{})
		if err != nil {
			return nil, err
		}
		a.ledgerStore = l
		if a.DB, err = sqldb.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "hulian.db")); err != nil {
			return nil, err
		}
	} else {
		if !strings.HasPrefix(cfg.Store, "postgres://") && !strings.HasPrefix(cfg.Store, "postgresql://") {
			return nil, fmt.Errorf("--store must be a postgres:// DSN, or empty for the embedded store")
		}
		pg, err := postgres.Open(ctx, cfg.Store)
		if err != nil {
			return nil, err
		}
		a.ledgerStore = pg
		if a.DB, err = sqldb.OpenPostgres(ctx, cfg.Store); err != nil {
			return nil, err
		}
	}
	// The liquidity monitor and the audit log hear of durable batches;
	// they are built after the journal, which they read, so the hook
	// finds them through pointers. Waking the audit log is a
	// non-blocking send: it reads the events itself.
	var monitor atomic.Pointer[liquidity.Monitor]
	var auditLog atomic.Pointer[audit.Log]
	onDurable := func(b []*ledger.Committed) {
		if m := monitor.Load(); m != nil {
			m.Durable(b)
		}
		if l := auditLog.Load(); l != nil {
			l.Wake()
		}
	}
	if a.Journal, err = journal.Open(ctx, a.ledgerStore, journal.Options{Now: cfg.Now, OnDurable: onDurable}); err != nil {
		return nil, err
	}
	cfg.Log.Info("ledger recovered", "batches", a.Journal.Seq(), "took", time.Since(start).Round(time.Millisecond))
	keyFile := cfg.AuditKey
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "audit.key")
	}
	akey, err := audit.LoadKey(keyFile, "", cfg.AuditKey == "")
	if err != nil {
		return nil, err
	}
	start = time.Now()
	if a.Audit, err = audit.Open(ctx, a.Journal, audit.Options{Dir: filepath.Join(cfg.DataDir, "audit"), Key: akey, Now: cfg.Now, Log: cfg.Log}); err != nil {
		return nil, err
	}
	auditLog.Store(a.Audit)
	cfg.Log.Info("audit log ready", "leaves", a.Audit.Size(), "origin", a.Audit.Origin(), "took", time.Since(start).Round(time.Millisecond))
	if a.Participants, err = participant.Load(ctx, a.DB, a.Journal, cfg.Now); err != nil {
		return nil, err
	}
	if a.Fees, err = quote.LoadFees(ctx, a.DB, cfg.Now); err != nil {
		return nil, err
	}
	key, err := secretFile(filepath.Join(cfg.DataDir, "quote.key"))
	if err != nil {
		return nil, err
	}
	signer, err := quote.NewSigner(key)
	if err != nil {
		return nil, err
	}
	// 256 Ki cached aliases (~65 MB): the hot payees of transfers stay in
	// memory, the rest are one SQLite lookup away. Lookups by phone
	// number are answered from routes of all of them held in memory
	// (~21 bytes each), loaded in the background.
	log := cfg.Log
	a.Directory = directory.New(a.DB, directory.Options{CacheEntries: 1 << 18, Routes: true,
		RoutesLoaded: func(n int, took time.Duration, err error) {
			if err != nil {
				log.Error("directory routes not loaded; lookups go to the database", "read", n, "err", err)
				return
			}
			log.Info("directory routes loaded", "aliases", n, "took", took.Round(time.Millisecond))
		}})
	client := callback.NewClient(cfg.Now)
	a.Transfers = transfer.NewService(a.Journal, a.Participants, a.Directory, a.Fees, signer, client, nil,
		transfer.Options{Now: cfg.Now, Region: cfg.Region, ConfirmTimeout: cfg.ConfirmTimeout})
	a.Deliverer = callback.NewDeliverer(source{a.Journal, a.Transfers}, a.Participants, a.DB, client, callback.Options{})
	a.Transfers.SetNotifier(a.Deliverer)
	if a.Settlement, err = settlement.Load(ctx, a.Journal, a.Participants, a.DB, cfg.Now); err != nil {
		return nil, err
	}
	if a.Liquidity, err = liquidity.Load(ctx, a.Journal, a.Participants, a.DB, client, cfg.Log, cfg.Now); err != nil {
		return nil, err
	}
	monitor.Store(a.Liquidity)
	hash, err := a.adminToken()
	if err != nil {
		return nil, err
	}
	var regulator [sha256.Size]byte
	if cfg.RegulatorToken != "" {
		regulator = sha256.Sum256([]byte(cfg.RegulatorToken))
		if regulator == hash {
			return nil, errors.New("the regulator token must differ from the operator token")
		}
	}
	a.API = api.New(api.Config{
		Participants: a.Participants, Directory: a.Directory, Transfers: a.Transfers, Fees: a.Fees, Settlement: a.Settlement, Liquidity: a.Liquidity,
		Audit: a.Audit, AdminTokenHash: hash, RegulatorTokenHash: regulator, Region: cfg.Region, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst,
		Ready: a.ready.Load, Log: cfg.Log, Now: cfg.Now,
	})
	return a, nil
}

// source is what callback delivery reads: the journal's account events
// and the payments the transfer flow finds in them.
type source struct {
	*journal.Journal
	*transfer.Service
}

// secretFile returns the 32-byte secret in path, creating it if missing.
func secretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s: %d bytes, want 32", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, atomicfile.Write(path, b, 0o600)
}

// adminToken works out the operator token's hash: from the configured
// token, or the hash stored in the data directory, or a new token,
// printed once.
func (a *App) adminToken() ([sha256.Size]byte, error) {
	var hash [sha256.Size]byte
	if a.Config.AdminToken != "" {
		a.AdminToken = a.Config.AdminToken
		return sha256.Sum256([]byte(a.AdminToken)), nil
	}
	path := filepath.Join(a.DataDir, "admin-token.sha256")
	b, err := os.ReadFile(path)
	if err == nil {
		h, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(h) != sha256.Size {
			return hash, fmt.Errorf("%s: not a SHA-256 in hex", path)
		}
		copy(hash[:], h)
		return hash, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return hash, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return hash, err
	}
	a.AdminToken = "op." + base64.RawURLEncoding.EncodeToString(raw[:])
	hash = sha256.Sum256([]byte(a.AdminToken))
	if err := atomicfile.Write(path, []byte(hex.EncodeToString(hash[:])+"\n"), 0o600); err != nil {
		return hash, err
	}
	fmt.Fprintf(a.Out, "Operator token (shown once; only its hash is kept in %s):\n  %s\n", path, a.AdminToken)
	return hash, nil
}

// Serve starts the HTTP API and the callback deliveries; it returns once
// listening. URL tells where.
func (a *App) Serve(ctx context.Context) error {
	addr := a.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	a.server = &http.Server{
		Handler:           a.API,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	if a.TLSCert != "" || a.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(a.TLSCert, a.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS: %w", err)
		}
		a.server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, a.server.TLSConfig)
	}
	a.listener = ln
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.Deliverer.Start(dctx)
	go a.Liquidity.Run(dctx)
	cutoff := a.SettlementCutoff
	if !a.SettlementDaily {
		cutoff = -1
	}
	if a.SettlementInterval > 0 || cutoff >= 0 {
		go a.Settlement.Schedule(dctx, a.SettlementInterval, cutoff, func(err error) {
			a.Log.Error("scheduled settlement close", "err", err)
		})
	}
	go func() {
		if err := a.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("http server", "err", err)
		}
	}()
	a.ready.Store(true)
	a.Log.Info("listening", "url", a.URL())
	return nil
}

// URL is the API's base URL once Serve returned.
func (a *App) URL() string {
	if a.listener == nil {
		return ""
	}
	scheme := "http"
	if a.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + a.listener.Addr().String()
}

// Close stops taking requests, lets those in flight finish, stops the
// deliveries and closes the ledger and the databases.
func (a *App) Close(ctx context.Context) error {
	a.ready.Store(false)
	var errs []error
	if a.server != nil {
		// Let requests in flight finish, but do not wait for idle or
		// silent connections longer than a few seconds.
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if err := a.server.Shutdown(sctx); err != nil {
			a.server.Close()
		}
		cancel()
	}
	if a.Deliverer != nil {
		a.Deliverer.Stop()
	}
	if a.cancel != nil {
		a.cancel()
	}
	errs = append(errs, a.closeStores())
	return errors.Join(errs...)
}

func (a *App) closeStores() error {
	var errs []error
	if a.Journal != nil {
		errs = append(errs, a.Journal.Close())
	}
	// After the journal, so that it hashes the last durable events, and
	// before the store, which it reads.
	if a.Audit != nil {
		errs = append(errs, a.Audit.Close())
	}
	if a.ledgerStore != nil {
		errs = append(errs, a.ledgerStore.Close())
	}
	if a.Directory != nil {
		errs = append(errs, a.Directory.Close())
	}
	if a.DB != nil {
		errs = append(errs, a.DB.Close())
	}
	return errors.Join(errs...)
}
