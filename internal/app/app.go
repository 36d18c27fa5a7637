// Package app wires the switch together: storage, the ledger's journal,
// the registries, the payment flow, callbacks and the HTTP API, built
// from one Config. The binary's subcommands and the end-to-end tests
// build the switch through it, so that tests run exactly what ships.
//
// Its parts start as a group and stop in reverse order (lifecycle.go):
// the HTTP server first, then the background workers, each waited for,
// and only then the journal and the stores they write to.
package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/console"
	"github.com/hulian/hulian/internal/console/users"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/dispute"
	"github.com/hulian/hulian/internal/fspiop"
	"github.com/hulian/hulian/internal/fspiop/jws"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/iso20022"
	"github.com/hulian/hulian/internal/journal"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/lookups"
	"github.com/hulian/hulian/internal/mandate"
	"github.com/hulian/hulian/internal/metrics"
	"github.com/hulian/hulian/internal/notice"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/portability"
	"github.com/hulian/hulian/internal/qr"
	"github.com/hulian/hulian/internal/quote"
	"github.com/hulian/hulian/internal/recon"
	"github.com/hulian/hulian/internal/risk"
	"github.com/hulian/hulian/internal/rtp"
	"github.com/hulian/hulian/internal/seal"
	"github.com/hulian/hulian/internal/settlement"
	"github.com/hulian/hulian/internal/sqldb"
	"github.com/hulian/hulian/internal/store"
	"github.com/hulian/hulian/internal/store/postgres"
	"github.com/hulian/hulian/internal/transfer"
)

// App is a running switch.
type App struct {
	cfg          Config
	Journal      *journal.Journal
	DB           *sqldb.DB
	Participants *participant.Registry
	Directory    *directory.Directory
	// SchemeRoutes route alias prefixes to links to other schemes.
	SchemeRoutes *directory.SchemeRoutes
	Claims       *portability.Service
	Fees         *quote.Fees
	Transfers    *transfer.Service
	Risk         *risk.Engine
	Deliverer    *callback.Deliverer
	Settlement   *settlement.Service
	Liquidity    *liquidity.Monitor
	// Notices is the outbox of callbacks other than transfers and
	// liquidity alerts.
	Notices *notice.Outbox
	// Requests keeps requests to pay.
	Requests *rtp.Service
	// QR keeps merchants' QR codes.
	QR *qr.Service
	// Mandates keeps mandates and executes the scheduled ones.
	Mandates *mandate.Service
	// Disputes keeps payers' disputes of payments.
	Disputes *dispute.Service
	// FX keeps the FX providers' rate sheets.
	FX *fx.Book
	// fxQuota counts FX payments against the annual FX quota; nil
	// without one.
	fxQuota *fx.Usage
	Audit   *audit.Log
	API     *api.Server
	// FSPIOP is the Mojaloop FSPIOP front end, nil unless configured.
	FSPIOP *fspiop.Server
	// AdminToken is the operator's token when this process knows it: it
	// was given, or generated at this start.
	AdminToken string
	// Seal is the data key that seals secrets and end users' data at
	// rest.
	Seal *seal.Key
	// Metrics are the switch's Prometheus metrics (metrics.go).
	Metrics *metrics.Metrics
	// ConsoleUsers are the console's users, their sessions and the
	// trail of their actions.
	ConsoleUsers *users.Store
	// Console is the web console, served at /console/ by the API's
	// listener.
	Console *console.Console

	ledgerStore journal.Store
	// node is set when the app is one role of a cluster node (node.go),
	// which owns the ledger's store and journal.
	node *nodeLedger
	// forwardKey is a cluster node's key of attested client
	// certificates (forwardcert.go).
	forwardKey []byte
	authn      *auth.Authenticator
	life       lifecycle
	listener   net.Listener
	fspiopLn   net.Listener
	metricsLn  net.Listener
	// confirm asks confirm-mode payees: native ones by callback, FSPIOP
	// ones over FSPIOP once the front end exists.
	confirm *confirmers
	ready   atomic.Bool
	// routesLoaded says the directory's routes of phone numbers are
	// loaded (or failed to, lookups then going to the database).
	routesLoaded atomic.Bool
	// durable hears of durable batches: the liquidity monitor and the
	// audit log, built after the journal that calls it.
	durable atomic.Pointer[func([]*ledger.Committed)]
}

// Open opens storage, recovers the ledger and builds the switch from
// cfg, after EnsureDefaults and Validate. It does not listen yet: Serve
// does. On error, what it opened is closed.
func Open(ctx context.Context, cfg Config) (*App, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NodeID != "" {
		return nil, errors.New("a cluster node (NodeID) is started with OpenNode")
	}
	a := &App{cfg: cfg}
	if err := a.open(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// open builds the app from its Config, which is valid and complete. On
// error, what it opened is closed.
func (a *App) open(ctx context.Context) (err error) {
	if err := os.MkdirAll(a.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	defer func() {
		if err != nil {
			a.life.stop(context.Background())
		}
	}()
	for _, step := range []func(context.Context) error{
		a.openTracing, a.openMetrics, a.openStorage, a.openLedger, a.openRegistries, a.openDirectory, a.buildFlow, a.buildAPI,
		a.watchMetrics,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// openStorage opens the ledger's store and the app database: the
// embedded engine and SQLite in the data directory, or PostgreSQL.
func (a *App) openStorage(ctx context.Context) error {
	cfg := &a.cfg
	if cfg.Store == "" {
		l, err := store.Open(cfg.DataDir, store.Options{})
		if err != nil {
			return err
		}
		a.ledgerStore = l
		a.life.closer("ledger store", l.Close)
		if a.DB, err = sqldb.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "hulian.db")); err != nil {
			return err
		}
	} else if a.node != nil {
		a.ledgerStore = a.node.store
		var err error
		if a.DB, err = sqldb.OpenPostgres(ctx, cfg.Store); err != nil {
			return err
		}
	} else {
		pg, err := postgres.Open(ctx, cfg.Store)
		if err != nil {
			return err
		}
		a.ledgerStore = pg
		a.life.closer("ledger store", pg.Close)
		if a.DB, err = sqldb.OpenPostgres(ctx, cfg.Store); err != nil {
			return err
		}
	}
	a.life.closer("app database", a.DB.Close)
	return a.openDataKey(ctx)
}

// openDataKey loads the data key: --data-key's file, or DIR/data.key,
// generated at first start. A missing key file is generated only for a
// database that holds no participant yet: over existing data a fresh key
// would be the wrong one, and a restored key file could no longer be told
// from it.
func (a *App) openDataKey(ctx context.Context) error {
	cfg := &a.cfg
	keyFile := cfg.DataKey
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "data.key")
	}
	create := false
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) && cfg.DataKey == "" {
		var n int
		if err := a.DB.QueryRowContext(ctx, `SELECT count(*) FROM participants`).Scan(&n); err != nil {
			return fmt.Errorf("data key: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("data key %s is missing, and the database holds %d participants whose secrets it sealed: restore the key file, or give it with --data-key", keyFile, n)
		}
		create = true
	}
	var err error
	a.Seal, err = seal.Load(keyFile, create)
	return err
}

// openFXQuota loads the annual FX quota's count, if there is a quota,
// before the journal opens: it is saved at Close after the journal has
// closed (closers run in reverse), so that the save holds every durable
// event; Open replays the journal's tail after the save into it.
func (a *App) openFXQuota(ctx context.Context) error {
	cfg := &a.cfg
	if cfg.FXAnnualQuota.IsZero() || a.following() {
		// A follower takes no payments: the leader counts them.
		return nil
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	u := fx.NewUsage(cfg.FXAnnualQuota, loc, transfer.QuotaOf)
	if err := u.Load(ctx, a.DB, cfg.Now()); err != nil {
		return fmt.Errorf("fx quota: %w", err)
	}
	a.fxQuota = u
	a.life.closer("fx quota", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return u.Save(ctx, a.DB, cfg.Now())
	})
	return nil
}

// openLedger recovers the journal from the store and opens the audit
// log that tails it.
func (a *App) openLedger(ctx context.Context) error {
	cfg := &a.cfg
	start := time.Now()
	// Parts built later hear of durable batches through a.durable.
	onDurable := func(b []*ledger.Committed) {
		if f := a.durable.Load(); f != nil {
			(*f)(b)
		}
	}
	if err := a.openFXQuota(ctx); err != nil {
		return err
	}
	var err error
	if a.node != nil {
		// The node's journal outlives this app: it calls the hook of the
		// app that serves now.
		a.Journal = a.node.journal
		a.node.hook.Store(&onDurable)
		var obs journal.Observer = a.Metrics
		a.node.observer.Store(&obs)
		a.life.closer("audit log", func() error {
			a.node.hook.Store(nil)
			a.node.observer.CompareAndSwap(&obs, nil)
			if a.Audit != nil {
				return a.Audit.Close()
			}
			return nil
		})
	} else {
		// On PostgreSQL a clean close saves the ledger's snapshot, which
		// the next start loads instead of replaying every batch.
		onSnapshot := func(seq uint64, took time.Duration, err error) {
			if err != nil {
				cfg.Log.Warn("ledger snapshot not saved: the next start replays every batch", "batch", seq, "took", took.Round(time.Millisecond), "err", err)
				return
			}
			cfg.Log.Info("ledger snapshot saved", "batch", seq, "took", took.Round(time.Millisecond))
		}
		if a.Journal, err = journal.Open(ctx, a.ledgerStore, journal.Options{Now: cfg.Now, OnDurable: onDurable, Observer: a.Metrics,
			OnSnapshot: onSnapshot}); err != nil {
			return err
		}
		// The audit log closes after the journal, so that it hashes the last
		// durable events, and before the store, which it reads.
		a.life.closer("journal and audit log", func() error {
			err := a.Journal.Close()
			if a.Audit != nil {
				err = errors.Join(err, a.Audit.Close())
			}
			return err
		})
	}
	rec := a.Journal.Recovery()
	cfg.Log.Info("ledger recovered", "batches", a.Journal.Seq(), "snapshot", rec.Snapshot, "replayed", rec.Replayed,
		"took", time.Since(start).Round(time.Millisecond))
	if rec.SnapshotIgnored != nil {
		cfg.Log.Warn("ledger snapshot ignored: every batch replayed", "err", rec.SnapshotIgnored)
	}
	keyFile := cfg.AuditKey
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "audit.key")
	}
	akey, err := audit.LoadKey(keyFile, "", cfg.AuditKey == "")
	if err != nil {
		return err
	}
	start = time.Now()
	aopts := audit.Options{Dir: filepath.Join(cfg.DataDir, "audit"), Key: akey, Now: cfg.Now, Log: cfg.Log,
		Reinit: cfg.AuditReinit && !a.following(), Submit: a.Journal.Submit, Watermark: auditWatermark{db: a.DB, now: cfg.Now},
		Follow: a.following()}
	if a.node != nil && !a.following() {
		// The followers import what the leader signs (node.go).
		aopts.OnSigned = a.publishCheckpoint
		aopts.OnWitness, aopts.OnCosigned = a.publishWitness, a.publishCosignature
		aopts.Watermark = auditWatermark{db: a.DB, now: cfg.Now, published: true}
	}
	a.Audit, err = audit.Open(ctx, a.Journal, aopts)
	if errors.Is(err, audit.ErrHistoryLost) || errors.Is(err, audit.ErrKeyChanged) {
		return fmt.Errorf("%w; restore the audit directory (or use the key that signed it), or start with --audit-reinit to begin a new audit history, recorded in the log", err)
	}
	if err != nil {
		return err
	}
	if err := a.sameKey(ctx, "audit", []byte(a.Audit.VerifierKey())); err != nil {
		return err
	}
	if r, ok := a.Audit.Reinitialised(); ok {
		// Loud on purpose: a new audit history is what an attacker who
		// rewrote the ledger would want, so everyone must see it.
		cfg.Log.Error("AUDIT LOG RE-INITIALISED: a new audit history begins; verifiers must re-pin it", "reason", r.Reason,
			"previous_origin", r.Previous, "origin", r.Origin, "tree_size", r.Size, "kept_aside", r.Archived)
		fmt.Fprintf(cfg.Out, "AUDIT LOG RE-INITIALISED (%s): previous origin %q, new origin %q, %d ledger events before the mark; old history kept in %v\n",
			r.Reason, r.Previous, r.Origin, r.Size, r.Archived)
	}
	if aopts.OnSigned != nil && a.Audit.Latest().Size > 0 {
		// Published again: a crash may have come between signing and
		// publishing.
		a.publishCheckpoint(a.Audit.Latest().Size, a.Audit.Checkpoint())
	}
	wake := func([]*ledger.Committed) { a.Audit.Wake() }
	a.durable.Store(&wake)
	cfg.Log.Info("audit log ready", "leaves", a.Audit.Size(), "origin", a.Audit.Origin(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// openRegistries loads the participants and the fee schedules.
func (a *App) openRegistries(ctx context.Context) error {
	var err error
	if a.Participants, err = participant.Load(ctx, a.DB, a.Journal, a.cfg.Now, participant.Options{Seal: a.Seal,
		CheckCallbackURL: func(u string) error { return callback.CheckURL(u, a.cfg.Callback.AllowPrivate) },
		CheckJWSKey: func(pem string) error {
			_, err := jws.ParsePublicKey([]byte(pem))
			return err
		}}); err != nil {
		return err
	}
	a.Fees, err = quote.LoadFees(ctx, a.DB, a.cfg.Now)
	return err
}

// openDirectory opens the alias directory. Its cache keeps the hot
// payees of transfers in memory; the rest are one database lookup away.
// Lookups by phone number are answered from routes of all of them held
// in memory (~21 bytes each), loaded in the background.
func (a *App) openDirectory(ctx context.Context) error {
	log := a.cfg.Log
	a.SchemeRoutes = &directory.SchemeRoutes{DB: a.DB, Ledger: a.Journal, Links: a.Participants, Now: a.cfg.Now}
	if err := a.SchemeRoutes.Load(ctx); err != nil {
		return err
	}
	dopts := directory.Options{CacheEntries: a.cfg.DirectoryCache, Routes: true, SchemeRoutes: a.SchemeRoutes,
		RoutesLoaded: func(n int, took time.Duration, err error) {
			a.routesLoaded.Store(true)
			if err != nil {
				log.Error("directory routes not loaded; lookups go to the database", "read", n, "err", err)
				return
			}
			log.Info("directory routes loaded", "aliases", n, "took", took.Round(time.Millisecond))
		},
		Seal: a.Seal, MaxAliasesPerAccount: a.cfg.MaxAliasesPerAccount,
		Resealed: func(n int, took time.Duration, err error) {
			if err != nil {
				log.Error("directory: sealing aliases stored in plain text stopped; it resumes at the next start", "sealed", n, "err", err)
			} else if n > 0 {
				log.Info("directory: aliases stored in plain text sealed", "aliases", n, "took", took.Round(time.Millisecond))
			}
		}}
	if a.following() {
		// A follower's lookups read the database, which the leader
		// writes: its cache keeps an answer a second at most (without
		// one, each lookup was a query: 19,000/s against the leader's
		// 61,000/s, BENCHMARKS.md), routes in memory would go stale, and
		// the leader alone re-seals.
		dopts.CacheMaxAge, dopts.Now = followerLookupMaxAge, a.cfg.Now
		dopts.Routes, dopts.KeepPlain = false, true
		a.routesLoaded.Store(true)
	}
	a.Directory = directory.New(a.DB, dopts)
	a.life.closer("directory", a.Directory.Close)
	return nil
}

// buildFlow builds the payment flow, callback delivery, settlement and
// the liquidity monitor.
func (a *App) buildFlow(ctx context.Context) error {
	cfg := &a.cfg
	key, err := secretFile(filepath.Join(cfg.DataDir, "quote.key"))
	if err != nil {
		return err
	}
	if err := a.sameKey(ctx, "quote", key); err != nil {
		return err
	}
	signer, err := quote.NewSigner(key)
	if err != nil {
		return err
	}
	client := callback.NewClient(api.Callbacks{}, cfg.Now, cfg.Callback.AllowPrivate)
	client.Tracer = cfg.TracerProvider
	client.Formats = map[string]callback.Format{
		participant.FormatISO20022: iso20022.Callbacks{Alerts: api.Callbacks{}, Now: cfg.Now},
	}
	a.confirm = &confirmers{native: client}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	if a.Risk, err = risk.Open(ctx, a.DB, a.Journal, risk.Config{Location: loc, MaxWindow: cfg.RiskMaxWindow,
		FraudMarkTTL: time.Duration(cfg.FraudMarkDays) * 24 * time.Hour, ReviewTimeout: cfg.ReviewTimeout}, cfg.Now); err != nil {
		return err
	}
	a.life.closer("risk control", a.Risk.Close)
	a.FX = &fx.Book{DB: a.DB, Ledger: a.Journal, Participants: a.Participants, Now: cfg.Now}
	if err := a.FX.Load(ctx); err != nil {
		return err
	}
	deps := transfer.Deps{
		Journal: a.Journal, Participants: a.Participants, Directory: a.Directory, Fees: a.Fees, Signer: signer,
		Confirmer: a.confirm, Screener: a.Risk, Learner: a.Risk, Seal: a.Seal, Rates: a.FX, Now: cfg.Now, Outcomes: a.Metrics,
		// Providers that quote live answer within the confirm timeout.
		LiveRates: &callback.LiveQuoter{Client: client, Format: api.Callbacks{}, Providers: a.Participants,
			Timeout: cfg.ConfirmTimeout, Log: cfg.Log},
	}
	if a.fxQuota != nil {
		deps.Quota = a.fxQuota
	}
	if a.Transfers, err = transfer.New(cfg.transferConfig(), deps); err != nil {
		return err
	}
	a.Risk.Bind(a.Transfers)
	if a.Settlement, err = settlement.Load(ctx, settlement.Deps{Journal: a.Journal, Participants: a.Participants, DB: a.DB, Now: cfg.Now}); err != nil {
		return err
	}
	if a.Liquidity, err = liquidity.Load(ctx, liquidity.Deps{Accounts: a.Journal, Participants: a.Participants, DB: a.DB,
		Log: cfg.Log, Now: cfg.Now}); err != nil {
		return err
	}
	a.Notices = &notice.Outbox{DB: a.DB, Now: cfg.Now}
	if a.Mandates, err = mandate.NewService(mandate.Config{Location: loc, Notice: cfg.MandateNotice, Retries: cfg.MandateRetries,
		Region: cfg.Region}); err != nil {
		return err
	}
	a.Mandates.DB, a.Mandates.Ledger, a.Mandates.Payments, a.Mandates.Directory = a.DB, a.Journal, a.Transfers, localDirectory{a.Directory}
	a.Mandates.Participants, a.Mandates.Notices, a.Mandates.Now, a.Mandates.Screener = a.Participants, a.Notices, cfg.Now, a.Risk
	a.Mandates.RenderMandate, a.Mandates.RenderExecution = api.Callbacks{}.Mandate, api.Callbacks{}.MandateExecution
	dcfg := dispute.Config{DisputeDays: cfg.DisputeDays, ResponseDays: cfg.DisputeResponseDays}
	dcfg.EnsureDefaults()
	if a.Disputes, err = dispute.New(dcfg, dispute.Deps{DB: a.DB, Ledger: a.Journal, Transfers: a.Transfers,
		Participants: a.Participants, Notices: a.Notices, Fraud: a.Risk, Render: api.Callbacks{}.Dispute, Now: cfg.Now}); err != nil {
		return err
	}
	a.QR = &qr.Service{DB: a.DB, Directory: localDirectory{a.Directory}, Payments: a.Transfers, GUID: cfg.QRGUID, Now: cfg.Now}
	a.Requests = &rtp.Service{DB: a.DB, Ledger: a.Journal, Payments: a.Transfers, Directory: localDirectory{a.Directory},
		Participants: a.Participants, Notices: a.Notices, Render: api.Callbacks{}.PaymentRequest, Screener: a.Risk, Region: cfg.Region,
		Now: cfg.Now}
	if a.Deliverer, err = callback.NewDeliverer(cfg.Callback, callback.Deps{Source: source{a.Journal, a.Transfers},
		Alerts: a.Liquidity, Notices: a.Notices, Participants: a.Participants, DB: a.DB, Client: client, Observer: a.Metrics}); err != nil {
		return err
	}
	if a.Claims, err = portability.New(portability.Config{Timeout: cfg.ClaimTimeout}, portability.Deps{
		DB: a.DB, Directory: localDirectory{a.Directory}, Participants: a.Participants, Sender: client, Render: api.Callbacks{}.PartyClaim,
		Seal: a.Seal, Log: cfg.Log, Now: cfg.Now,
	}); err != nil {
		return err
	}
	// The deliverer reads the flow and the monitor, which wake it: set
	// once it exists, before anything runs.
	a.Transfers.Notifier = a.Deliverer
	a.Liquidity.Notifier = a.Deliverer
	a.Notices.Waker = a.Deliverer
	durable := func(b []*ledger.Committed) {
		a.Liquidity.Durable(b)
		if a.fxQuota != nil {
			a.fxQuota.Durable(b)
		}
		a.Audit.Wake()
	}
	a.durable.Store(&durable)
	if a.fxQuota != nil {
		// What became durable since the last save, and while the hook
		// was not set yet.
		if err := a.fxQuota.Replay(ctx, a.Journal.Scan); err != nil {
			return fmt.Errorf("fx quota: %w", err)
		}
	}
	return nil
}

// localDirectory is the directory without its scheme routes: requests to
// pay, mandates, merchant QR codes and portability claims concern the
// aliases registered here; an alias of another scheme is unknown to them,
// rather than the scheme link's.
type localDirectory struct{ *directory.Directory }

// Lookup finds an alias registered here.
func (d localDirectory) Lookup(ctx context.Context, t directory.Type, value string) (directory.Party, error) {
	return d.LookupLocal(ctx, t, value)
}

// source is what callback delivery reads: the journal's account events
// and the payments the transfer flow finds in them.
type source struct {
	*journal.Journal
	*transfer.Service
}

// buildAPI builds authentication and the HTTP API.
func (a *App) buildAPI(context.Context) error {
	hash, err := a.adminToken()
	if err != nil {
		return err
	}
	var regulator [sha256.Size]byte
	if a.cfg.RegulatorToken != "" {
		regulator = sha256.Sum256([]byte(a.cfg.RegulatorToken))
	}
	authn, err := auth.NewAuthenticator(hash, regulator, a.Participants)
	a.authn = authn
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(a.cfg.Timezone)
	if err != nil {
		return err
	}
	if a.ConsoleUsers, err = users.Open(users.Options{DB: a.DB, Seal: a.Seal, Participants: a.Participants, Ledger: a.Journal,
		Now: a.cfg.Now}); err != nil {
		return err
	}
	var fwdCert func(*http.Request) ([]byte, bool)
	if a.node != nil {
		a.forwardKey = a.Seal.Derive(forwardedCertLabel)
		fwdCert = forwardedCert(a.forwardKey, a.cfg.Now)
	}
	a.API, err = api.New(a.cfg.apiConfig(), api.Deps{
		Auth: authn, Participants: a.Participants, Directory: a.Directory, Claims: a.Claims, Transfers: a.Transfers, Fees: a.Fees,
		Settlement: a.Settlement, Liquidity: a.Liquidity, Audit: a.Audit, Ready: a.readiness, Log: a.cfg.Log, Now: a.cfg.Now,
		OperatorAlerts: &lookups.Alerts{DB: a.DB}, Risk: a.Risk, Tracer: a.cfg.TracerProvider, Observer: a.Metrics,
		ISO20022: &iso20022.Gateway{Payments: a.Transfers, Now: a.cfg.Now},
		Recon:    &recon.Service{DB: a.DB, Transfers: a.Transfers, Now: a.cfg.Now}, Location: loc,
		Requests: a.Requests, QR: a.QR, Mandates: a.Mandates, Disputes: a.Disputes, FX: a.FX,
		SchemeRoutes: a.SchemeRoutes, Console: a.ConsoleUsers, Cluster: a.clusterStatus(), ForwardedCert: fwdCert,
	})
	if err != nil {
		return err
	}
	if a.Console, err = console.New(console.Deps{Users: a.ConsoleUsers, API: a.API, Participants: a.Participants, Log: a.cfg.Log,
		Now: a.cfg.Now, Live: console.Live{Stats: a.Metrics, Ledger: a.Journal, Participants: a.Participants, Audit: a.Audit,
			Liquidity: a.Liquidity}}); err != nil {
		return err
	}
	a.API.Mount(console.Prefix, a.Console)
	if a.cfg.FSPIOPAddr == "" {
		return nil
	}
	return a.buildFSPIOP(authn)
}

// buildFSPIOP builds the FSPIOP front end. Its ILP secret is derived
// from the data key, so that a payment prepared before a restart is
// fulfilled after it.
func (a *App) buildFSPIOP(authn *auth.Authenticator) error {
	var signer *jws.Signer
	if a.cfg.FSPIOPJWSKey != "" {
		pem, err := os.ReadFile(a.cfg.FSPIOPJWSKey)
		if err != nil {
			return fmt.Errorf("fspiop JWS key: %w", err)
		}
		if signer, err = jws.NewSigner(pem); err != nil {
			return fmt.Errorf("fspiop JWS key %s: %w", a.cfg.FSPIOPJWSKey, err)
		}
	}
	// A scheme link's look-up is bounded like a confirm-mode payee's
	// answer: a payer waits for it.
	cfg := fspiop.Config{Secret: a.Seal.Derive("fspiop ilp secret"), Region: a.cfg.Region, LookupTimeout: a.cfg.ConfirmTimeout}
	cfg.EnsureDefaults()
	var err error
	a.FSPIOP, err = fspiop.New(cfg, fspiop.Deps{Auth: authn, Participants: a.Participants, Directory: a.Directory,
		Transfers: a.Transfers, Fees: a.Fees, DB: a.DB, Signer: signer, Rate: a.API, Lookups: a.API.Lookups(),
		Observer: a.Metrics, Tracer: a.cfg.TracerProvider, Log: a.cfg.Log, Now: a.cfg.Now})
	a.confirm.fspiop = a.FSPIOP
	if err == nil {
		// Aliases routed to other schemes are asked there over FSPIOP.
		a.SchemeRoutes.SetFar(a.FSPIOP)
	}
	return err
}

// confirmers asks a confirm-mode payee: an FSPIOP participant over
// FSPIOP, any other by callback.
type confirmers struct {
	native transfer.Confirmer
	fspiop *fspiop.Server
}

// Confirm asks payee whether it accepts t.
func (c *confirmers) Confirm(ctx context.Context, payee participant.Participant, t transfer.Transfer) (bool, string, error) {
	if payee.FSPIOP != nil && c.fspiop != nil {
		return c.fspiop.Confirm(ctx, payee, t)
	}
	return c.native.Confirm(ctx, payee, t)
}

// Serve starts the background workers and the HTTP API; it returns once
// listening. URL tells where.
func (a *App) Serve(ctx context.Context) error {
	if err := a.serveMetrics(); err != nil {
		return err
	}
	ln, err := a.listen()
	if err != nil {
		return err
	}
	a.startWorkers()
	a.serveHTTP(ln)
	if a.FSPIOP != nil {
		if err := a.serveFSPIOP(); err != nil {
			return err
		}
	}
	a.ready.Store(true)
	a.cfg.Log.Info("listening", "url", a.URL())
	return nil
}

// startWorkers starts the background workers: the leader's, or a
// single switch's.
func (a *App) startWorkers() {
	a.life.goRun("callback delivery", a.Deliverer.Run)
	a.life.goRun("liquidity monitor", a.Liquidity.Run)
	a.life.goRun("portability claims", a.Claims.Run)
	a.life.goRun("risk control", a.runRisk)
	a.life.goRun("payment requests", a.runRequests)
	a.life.goRun("mandates", a.runMandates)
	a.life.goRun("housekeeping", a.runHousekeeping)
	if a.fxQuota != nil {
		a.life.goRun("fx quota", a.runFXQuota)
	}
	if cutoff, daily, _ := a.cfg.cutoff(); a.cfg.SettlementInterval > 0 || daily {
		if !daily {
			cutoff = -1
		}
		a.life.goRun("settlement scheduler", func(ctx context.Context) {
			a.Settlement.Schedule(ctx, a.cfg.SettlementInterval, cutoff, func(err error) {
				a.cfg.Log.Error("scheduled settlement close", "err", err)
			})
		})
	}
}

// runFXQuota saves the annual FX quota's count every minute, so that a
// restart replays little of the journal.
func (a *App) runFXQuota(ctx context.Context) {
	every(ctx, time.Minute, func(ctx context.Context) {
		if err := a.fxQuota.Save(ctx, a.DB, a.cfg.Now()); err != nil && ctx.Err() == nil {
			a.cfg.Log.Error("fx quota: save", "err", err)
		}
	})
}

// runRequests expires the payment requests past their expiry, and
// settles those whose payment outlived a crash, every 10 seconds.
func (a *App) runRequests(ctx context.Context) {
	every(ctx, 10*time.Second, func(ctx context.Context) {
		for {
			n, err := a.Requests.Sweep(ctx, 1000)
			if err != nil && ctx.Err() == nil {
				a.cfg.Log.Error("payment requests: sweep", "err", err)
			}
			if err != nil || n < 1000 {
				break
			}
		}
	})
}

// runHousekeeping deletes, every hour, what is kept only for a while:
// notices past their retention, dynamic QR codes long expired, lapsed
// FX rate sheets.
func (a *App) runHousekeeping(ctx context.Context) {
	every(ctx, time.Hour, func(ctx context.Context) {
		now := time.Now()
		if a.cfg.Now != nil {
			now = a.cfg.Now()
		}
		if _, err := a.Notices.Prune(ctx, now); err != nil && ctx.Err() == nil {
			a.cfg.Log.Error("housekeeping", "err", err)
		}
		if _, err := a.QR.Prune(ctx, now); err != nil && ctx.Err() == nil {
			a.cfg.Log.Error("housekeeping", "err", err)
		}
		if _, err := a.FX.Prune(ctx, now); err != nil && ctx.Err() == nil {
			a.cfg.Log.Error("housekeeping", "err", err)
		}
	})
}

// runMandates expires mandates, sends the notices of scheduled
// executions and makes those due, and does what time asks of disputes
// (decisions past their deadline, holds to renew or top up), every 10
// seconds (once at start, so that a switch that restarts on the day
// executes what is due).
func (a *App) runMandates(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		for _, sw := range []struct {
			name  string
			sweep func(context.Context, int) (int, error)
		}{{"mandates", a.Mandates.Sweep}, {"disputes", a.Disputes.Sweep}} {
			for {
				n, err := sw.sweep(ctx, 1000)
				if err != nil && ctx.Err() == nil {
					a.cfg.Log.Error(sw.name+": sweep", "err", err)
				}
				if err != nil || n < 1000 {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runRisk refills risk control's windows from the ledger, then, until ctx
// ends, closes the alerts of holds that expired (every minute), forgets
// expired fraud marks and logs dropped model alerts (every hour).
func (a *App) runRisk(ctx context.Context) {
	start := time.Now()
	n, err := a.Risk.Rebuild(ctx, a.Transfers.Committed)
	if err != nil && ctx.Err() == nil {
		a.cfg.Log.Error("risk control: rebuild the velocity windows", "err", err)
	} else {
		a.cfg.Log.Info("risk control: velocity windows rebuilt", "payments", n, "took", time.Since(start).String())
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var dropped int64
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := a.Risk.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.cfg.Log.Error("risk control: close the alerts of expired holds", "err", err)
		}
		if n%60 == 0 {
			a.Risk.Prune()
			if d := a.Risk.DroppedAlerts(); d > dropped {
				a.cfg.Log.Warn("risk control: the anomaly model's alerts came faster than they could be written; some were dropped",
					"dropped", d-dropped, "since start", d)
				dropped = d
			}
		}
	}
}

// listen opens the API's listener, with TLS if configured.
func (a *App) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", a.cfg.Addr, err)
	}
	if a.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(a.cfg.TLSCert, a.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("TLS: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if a.cfg.ClientCA != "" {
			pool, err := caPool(a.cfg.ClientCA)
			if err != nil {
				ln.Close()
				return nil, err
			}
			// Verified when given: the certificate is checked against the
			// CA here, and the API requires it of the participants bound to
			// one (clientCertSha256). The operator and participants not
			// bound authenticate with their tokens alone.
			tc.ClientAuth, tc.ClientCAs = tls.VerifyClientCertIfGiven, pool
		}
		ln = tls.NewListener(ln, tc)
	}
	a.listener = ln
	return ln, nil
}

// caPool reads the PEM certificates in file.
func caPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("client CA %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// serveHTTP serves the API on ln until the lifecycle stops it: then it
// stops taking requests and lets those in flight finish — a payment
// waiting for a confirm-mode payee included, which is why the grace is
// the confirm timeout and a few seconds more — closes connections still
// open after that, and waits for every handler to return, so that none
// still uses what stops after the server.
func (a *App) serveHTTP(ln net.Listener) {
	srv := &http.Server{
		Handler:           a.API,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	// The console's live streams end when the server shuts down, rather
	// than hold the shutdown until its deadline.
	srv.RegisterOnShutdown(a.Console.Close)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.cfg.Log.Error("http server", "err", err)
		}
	}()
	a.life.onStop("http server", func(ctx context.Context) error {
		a.ready.Store(false)
		sctx, cancel := context.WithTimeout(ctx, a.cfg.ConfirmTimeout+3*time.Second)
		defer cancel()
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(sctx) }()
		// Shutdown also waits for connections that were opened but sent
		// nothing yet; once no request is being handled, nobody waits
		// for an answer, and those are closed at once.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case err := <-shut:
				if err != nil {
					srv.Close()
				}
				break wait
			case <-tick.C:
				if a.API.InFlight() == 0 {
					srv.Close()
					<-shut
					break wait
				}
			}
		}
		<-done
		return a.API.Drain(ctx)
	})
}

// serveFSPIOP serves the FSPIOP front end on its own listener, and runs
// its sender and sweeper, until the lifecycle stops them.
func (a *App) serveFSPIOP() error {
	ln, err := net.Listen("tcp", a.cfg.FSPIOPAddr)
	if err != nil {
		return fmt.Errorf("listen %s (fspiop): %w", a.cfg.FSPIOPAddr, err)
	}
	a.fspiopLn = ln
	srv := newFSPIOPServer(a.FSPIOP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.cfg.Log.Error("fspiop http server", "err", err)
		}
	}()
	a.runFSPIOP(func(ctx context.Context) {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	})
	a.cfg.Log.Info("fspiop listening", "url", a.FSPIOPURL())
	return nil
}

// newFSPIOPServer is the FSPIOP front end's HTTP server: headers of up
// to 64 KiB, for the JWS signature's.
func newFSPIOPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
}

// runFSPIOP runs the FSPIOP front end's sender and sweeper until the
// lifecycle stops them, after stopping what takes its requests (a
// listener of its own, or nothing: a cluster node's listener outlives
// its apps).
func (a *App) runFSPIOP(stopServing func(ctx context.Context)) {
	a.life.goRun("fspiop delivery", a.FSPIOP.Run)
	a.life.onStop("fspiop http server", func(ctx context.Context) error {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		stopServing(sctx)
		return a.FSPIOP.Drain(sctx)
	})
}

// FSPIOPURL is the FSPIOP front end's base URL once Serve returned, ""
// when it is not served.
func (a *App) FSPIOPURL() string {
	if a.fspiopLn == nil {
		return ""
	}
	return "http://" + a.fspiopLn.Addr().String()
}

// URL is the API's base URL once Serve returned.
func (a *App) URL() string {
	if a.listener == nil {
		return ""
	}
	scheme := "http"
	if a.cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + a.listener.Addr().String()
}

// Close stops the switch: the HTTP API (letting requests in flight
// finish), then the background workers, waiting for each, then the
// journal, the audit log and the stores.
func (a *App) Close(ctx context.Context) error {
	a.ready.Store(false)
	return a.life.stop(ctx)
}
