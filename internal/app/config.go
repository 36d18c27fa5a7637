package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/hulian/hulian/internal/api"
	"github.com/hulian/hulian/internal/callback"
	"github.com/hulian/hulian/internal/cluster"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/fx"
	"github.com/hulian/hulian/internal/mandate"
	"github.com/hulian/hulian/internal/portability"
	"github.com/hulian/hulian/internal/qr"
	"github.com/hulian/hulian/internal/telemetry"
	"github.com/hulian/hulian/internal/transfer"
)

// Config is everything the switch is started with: the binary's flags
// and environment turn into it, and nothing else reads them. Zero fields
// take the defaults EnsureDefaults states, each once, here or in the
// component that owns the setting; Validate refuses what is invalid with
// a message that names the setting, rather than replacing it.
type Config struct {
	// DataDir holds the embedded store and the switch's secrets (operator
	// token hash, quote key, audit key); created if missing
	// ("hulian-data").
	DataDir string
	// Store is empty for the embedded engine, or a PostgreSQL DSN
	// (postgres://…) for the ledger and the app database.
	Store string
	// Addr is the listen address ("127.0.0.1:8080"; ":0" picks a port).
	Addr string
	// NodeID, with a PostgreSQL Store, makes the switch one node of a
	// cluster sharing the database (OpenNode): one node leads, the
	// others follow. Empty: a single switch, which holds the database
	// alone.
	NodeID string
	// AdvertiseAddr is where the other nodes reach this one (host:port):
	// followers forward writes to the leader's. Default: Addr, when it
	// names a host.
	AdvertiseAddr string
	// LeaseRenew is how often the leader renews its lease (default 1 s);
	// LeaseTTL how long the lease lasts unrenewed (default 5 s), which
	// bounds the time without a leader when one dies.
	LeaseRenew, LeaseTTL time.Duration
	// TLSCert and TLSKey, when both set, make the API serve HTTPS.
	TLSCert, TLSKey string
	// ClientCA, with TLS, is a PEM file of the CAs whose client
	// certificates the switch verifies; a participant bound to a
	// certificate (clientCertSha256) must present it.
	ClientCA string
	// ClusterCA, for a cluster node with TLS, is a PEM file of the CAs
	// that the nodes' server certificates are verified against when a
	// follower forwards to the leader (default: the system's roots).
	ClusterCA string
	// AdminToken is the operator's bearer token (HULIAN_ADMIN_TOKEN). If
	// empty, the token is the one stored in DataDir, or a new one is
	// generated, stored (as a hash) and printed once to Out.
	AdminToken string
	// RegulatorToken, if set, is a read-only bearer token
	// (HULIAN_REGULATOR_TOKEN): it reads what the operator reads, the
	// audit log's leaves included, and may post witness co-signatures.
	RegulatorToken string
	// AuditKey is the file holding the audit log's checkpoint signing key
	// (a note signer key); empty: audit.key in DataDir, generated at
	// first start.
	AuditKey string
	// AuditReinit lets the switch start when its audit log lost its
	// checkpoints while the ledger holds events, or its signing key
	// changed: it records the re-initialisation as a leaf (a mark of
	// purpose audit-reinit) and logs it loudly. Without it, such a start
	// is refused.
	AuditReinit bool
	// DataKey is the file holding the data key that seals secrets and
	// end users' data at rest (32 bytes, mode 0600); empty: data.key in
	// DataDir, generated at first start.
	DataKey string
	// Region is the default region for national phone numbers, for the
	// payment flow and the API alike ("CN").
	Region string
	// RateLimit and RateBurst bound each participant's requests per
	// second (the API's defaults).
	RateLimit float64
	RateBurst int
	// LookupRate, LookupBurst, LookupMissCost, LookupUserRate and
	// LookupMissAlert bound each participant's lookups of aliases, apart
	// from its request rate (the API's defaults; see api.Config).
	LookupRate      float64
	LookupBurst     int
	LookupMissCost  int
	LookupUserRate  int
	LookupMissAlert float64
	// ConfirmTimeout bounds a confirm-mode payee's answer (the payment
	// flow's default).
	ConfirmTimeout time.Duration
	// QuoteTTL is how long a quote is valid (the payment flow's default).
	QuoteTTL time.Duration
	// ReviewTimeout is how long a payment held by risk control waits for
	// the operator's decision before it aborts (24 h).
	ReviewTimeout time.Duration
	// Timezone is the scheme's time zone, in which risk rules see the
	// hour ("Asia/Shanghai").
	Timezone string
	// FraudMarkDays is how many days an open fraud report counts in its
	// payee alias's fraud marks (90).
	FraudMarkDays int
	// RiskMaxWindow bounds the velocity windows of risk rules (24 h).
	RiskMaxWindow time.Duration
	// FXAnnualQuota is each payer account's annual FX quota, in a
	// reference currency ("50000USD"); zero: none.
	FXAnnualQuota fx.Quota
	// QRGUID is the scheme's globally unique id in its merchant QR codes
	// (template 26, sub-object 00): "cn.hulian" unless set.
	QRGUID string
	// FSPIOPAddr, if set, is where the Mojaloop FSPIOP front end listens
	// ("127.0.0.1:4000"; ":0" picks a port); empty: not served.
	FSPIOPAddr string
	// FSPIOPJWSKey, if set, is a PEM private key file (RSA or EC P-256)
	// with which the switch signs its own FSPIOP requests and callbacks.
	FSPIOPJWSKey string
	// Callback tunes callback delivery.
	Callback callback.Config
	// DirectoryCache is how many aliases the directory keeps in memory
	// besides its routes of phone numbers (directory.DefaultCacheEntries).
	DirectoryCache int
	// MaxAliasesPerAccount bounds the aliases of one (participant,
	// account) (directory.DefaultMaxAliasesPerAccount).
	MaxAliasesPerAccount int
	// MandateNotice is how long before a scheduled mandate execution the
	// payer's participant is told (24 h unless set); MandateRetries how
	// many times one short of funds is tried again, a day apart (3 unless
	// set; -1 for none).
	MandateNotice  time.Duration
	MandateRetries int
	// DisputeDays is how long after a payment its payer may dispute it
	// (80 unless set); DisputeResponseDays how long the payee has to
	// answer (7 unless set).
	DisputeDays, DisputeResponseDays int
	// ClaimTimeout is how long an alias's owner has to answer a
	// portability claim before the alias moves (7 days).
	ClaimTimeout time.Duration
	// SettlementInterval, if not zero, closes every currency's open
	// settlement window that often.
	SettlementInterval time.Duration
	// SettlementCutoff, "HH:MM" (UTC), also closes them every day at
	// that time; empty or "none": no daily close.
	SettlementCutoff string
	// OTLPEndpoint, if set, is where the switch exports its traces over
	// OTLP/HTTP ("http://collector:4318"; /v1/traces unless a path is
	// given); empty: nothing is traced. TracerProvider, if set, is used
	// instead (tests record spans with it).
	OTLPEndpoint   string
	TracerProvider trace.TracerProvider
	// MetricsAddr, if set, is where GET /metrics serves the Prometheus
	// metrics, on a listener of its own ("127.0.0.1:9090"; ":0" picks a
	// port); empty: not served (they are collected all the same).
	MetricsAddr string
	// Log receives the switch's structured logs (default: discarded),
	// Out what it prints for a person (the generated operator token;
	// default: discarded), and Now is its clock (time.Now).
	Log *slog.Logger
	Out io.Writer
	Now func() time.Time
}

// TokenMin is the fewest characters an operator or regulator token
// given to the switch may have: a short token can be guessed.
const TokenMin = 32

// EnsureDefaults fills the fields left zero with their defaults.
func (c *Config) EnsureDefaults() {
	if c.DataDir == "" {
		c.DataDir = "hulian-data"
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DirectoryCache == 0 {
		c.DirectoryCache = directory.DefaultCacheEntries
	}
	if c.MaxAliasesPerAccount == 0 {
		c.MaxAliasesPerAccount = directory.DefaultMaxAliasesPerAccount
	}
	if c.ClaimTimeout == 0 {
		pc := portability.Config{}
		pc.EnsureDefaults()
		c.ClaimTimeout = pc.Timeout
	}
	tc := c.transferConfig()
	tc.EnsureDefaults()
	c.Region, c.ConfirmTimeout, c.QuoteTTL, c.ReviewTimeout = tc.Region, tc.ConfirmTimeout, tc.QuoteTTL, tc.ReviewTimeout
	if c.MandateNotice == 0 {
		c.MandateNotice = mandate.DefaultNotice
	}
	switch c.MandateRetries {
	case 0:
		c.MandateRetries = mandate.DefaultRetries
	case -1:
		c.MandateRetries = 0
	}
	if c.QRGUID == "" {
		c.QRGUID = qr.DefaultGUID
	}
	if c.Timezone == "" {
		c.Timezone = "Asia/Shanghai"
	}
	if c.FraudMarkDays == 0 {
		c.FraudMarkDays = 90
	}
	if c.NodeID != "" {
		if c.LeaseRenew == 0 {
			c.LeaseRenew = cluster.DefaultRenew
		}
		if c.LeaseTTL == 0 {
			c.LeaseTTL = cluster.DefaultTTL
		}
		if host, _, err := net.SplitHostPort(c.Addr); c.AdvertiseAddr == "" && err == nil && host != "" && !net.ParseIP(host).IsUnspecified() {
			c.AdvertiseAddr = c.Addr
		}
	}
	if c.RiskMaxWindow == 0 {
		c.RiskMaxWindow = 24 * time.Hour
	}
	ac := c.apiConfig()
	ac.EnsureDefaults()
	c.RateLimit, c.RateBurst = ac.RateLimit, ac.RateBurst
	c.LookupRate, c.LookupBurst, c.LookupMissCost, c.LookupUserRate, c.LookupMissAlert =
		ac.LookupRate, ac.LookupBurst, ac.LookupMissCost, ac.LookupUserRate, ac.LookupMissAlert
	c.Callback.EnsureDefaults()
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler) // nothing formatted for nothing
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	var errs []error
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		errs = append(errs, errors.New("store must be a postgres:// DSN, or empty for the embedded store"))
	}
	if c.NodeID != "" {
		if c.Store == "" {
			errs = append(errs, errors.New("a cluster node (--node-id) needs a PostgreSQL store (--store postgres://…): the embedded engine is single-node"))
		}
		if err := (cluster.Config{Node: c.NodeID, Addr: c.AdvertiseAddr, Renew: c.LeaseRenew, TTL: c.LeaseTTL}).Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("TLS needs both a certificate and a key file"))
	}
	if c.ClientCA != "" && c.TLSCert == "" {
		errs = append(errs, errors.New("client certificates (--client-ca) need TLS (--tls-cert and --tls-key)"))
	}
	if c.ClusterCA != "" && (c.TLSCert == "" || c.NodeID == "") {
		errs = append(errs, errors.New("the nodes' CA (--cluster-ca) is for a cluster node (--node-id) with TLS (--tls-cert and --tls-key)"))
	}
	for _, t := range []struct{ name, token string }{{"operator token (HULIAN_ADMIN_TOKEN)", c.AdminToken},
		{"regulator token (HULIAN_REGULATOR_TOKEN)", c.RegulatorToken}} {
		if t.token != "" && len(t.token) < TokenMin {
			errs = append(errs, fmt.Errorf("the %s has %d characters: at least %d are needed, e.g. 32 random bytes in base64", t.name, len(t.token), TokenMin))
		}
	}
	if c.RegulatorToken != "" && c.RegulatorToken == c.AdminToken {
		errs = append(errs, errors.New("the regulator token must differ from the operator token"))
	}
	if c.DirectoryCache < 0 {
		errs = append(errs, fmt.Errorf("directory cache %d: must not be negative", c.DirectoryCache))
	}
	if c.MaxAliasesPerAccount < 1 {
		errs = append(errs, fmt.Errorf("max aliases per account %d: must be at least 1", c.MaxAliasesPerAccount))
	}
	if c.ClaimTimeout <= 0 {
		errs = append(errs, fmt.Errorf("claim timeout %v: must be positive", c.ClaimTimeout))
	}
	if c.SettlementInterval < 0 {
		errs = append(errs, fmt.Errorf("settlement interval %v: must not be negative", c.SettlementInterval))
	}
	if _, _, err := c.cutoff(); err != nil {
		errs = append(errs, err)
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("metrics address %q: want HOST:PORT", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr && port != "0" {
			errs = append(errs, errors.New("the metrics address must differ from the API's: metrics are never served with the API"))
		}
	}
	if c.OTLPEndpoint != "" {
		if _, err := telemetry.ParseEndpoint(c.OTLPEndpoint); err != nil {
			errs = append(errs, err)
		}
	}
	if g := c.QRGUID; len(g) > 32 || strings.Trim(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" {
		errs = append(errs, fmt.Errorf("QR GUID %.40q: at most 32 of letters, digits and . - _", g))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("time zone %q: %w", c.Timezone, err))
	}
	if c.FraudMarkDays < 1 || c.FraudMarkDays > 3650 {
		errs = append(errs, fmt.Errorf("fraud mark days %d: must be 1 to 3650", c.FraudMarkDays))
	}
	if c.RiskMaxWindow < time.Minute || c.RiskMaxWindow > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("risk max window %v: must be between 1m and 168h", c.RiskMaxWindow))
	}
	tc, ac := c.transferConfig(), c.apiConfig()
	errs = append(errs, tc.Validate(), ac.Validate(), c.Callback.Validate())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	return nil
}

// cutoff returns the daily settlement cut-off as a duration after
// midnight UTC, and whether there is one.
func (c *Config) cutoff() (time.Duration, bool, error) {
	if c.SettlementCutoff == "" || c.SettlementCutoff == "none" {
		return 0, false, nil
	}
	t, err := time.Parse("15:04", c.SettlementCutoff)
	if err != nil {
		return 0, false, fmt.Errorf("settlement cut-off %q: want HH:MM (UTC) or none", c.SettlementCutoff)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true, nil
}

func (c *Config) transferConfig() transfer.Config {
	return transfer.Config{Region: c.Region, ConfirmTimeout: c.ConfirmTimeout, QuoteTTL: c.QuoteTTL, ReviewTimeout: c.ReviewTimeout,
		FXQuota: c.FXAnnualQuota}
}

func (c *Config) apiConfig() api.Config {
	return api.Config{Region: c.Region, RateLimit: c.RateLimit, RateBurst: c.RateBurst,
		LookupRate: c.LookupRate, LookupBurst: c.LookupBurst, LookupMissCost: c.LookupMissCost,
		LookupUserRate: c.LookupUserRate, LookupMissAlert: c.LookupMissAlert}
}
