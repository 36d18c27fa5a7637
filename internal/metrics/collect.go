package metrics

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/directory"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
	"github.com/hulian/hulian/internal/settlement"
)

// Ledger reads every account's durable state: the journal.
type Ledger interface {
	Accounts(ctx context.Context) ([]ledger.Account, error)
}

// Participants lists the participants: the registry.
type Participants interface {
	List() []participant.Participant
}

// Settlement tells each currency's open window.
type Settlement interface {
	OpenWindows(ctx context.Context) ([]settlement.Window, error)
}

// Audit tells the audit log's progress.
type Audit interface {
	Status() audit.Status
}

// Directory counts aliases and lookups.
type Directory interface {
	Aliases(ctx context.Context) (int64, error)
	Lookups() directory.LookupCounts
}

// Callbacks tells each participant's callback queue: the deliverer.
type Callbacks interface {
	QueueDepths(ctx context.Context, limit int) (map[string]int, error)
}

// Liquidity counts the liquidity alerts raised: the monitor.
type Liquidity interface {
	Raised() int64
}

// Sources are what the gauges are read from at scrape time; a nil source
// is left out. Now is the switch's clock (time.Now if nil).
type Sources struct {
	Ledger       Ledger
	Participants Participants
	Settlement   Settlement
	Audit        Audit
	Directory    Directory
	Callbacks    Callbacks
	Liquidity    Liquidity
	Now          func() time.Time
}

// Bounds on what one scrape reads.
const (
	// scrapeTimeout bounds the reads of one scrape.
	scrapeTimeout = 10 * time.Second
	// queueDepthMax bounds the events counted per participant and
	// currency in a callback queue: past it, the queue is "at least".
	queueDepthMax = 10_000
	// aliasesEvery is how often the aliases are counted again: a count
	// reads an index of the whole directory.
	aliasesEvery = time.Minute
)

// Watch registers the gauges read from s at each scrape.
func (m *Metrics) Watch(s Sources) error {
	if s.Now == nil {
		s.Now = time.Now
	}
	return m.reg.Register(&collector{s: s})
}

// The descriptions of the gauges read at scrape time.
var (
	descAvailable = prometheus.NewDesc("hulian_participant_available",
		"What a participant may still send: balance - reserved + net debit cap, in major units (for display only).",
		[]string{"participant", "currency"}, nil)
	descPosition = prometheus.NewDesc("hulian_participant_position",
		"A participant's balance at the switch: credits minus debits of posted transfers, negative when it draws on its net debit cap, in major units (for display only).",
		[]string{"participant", "currency"}, nil)
	descCap = prometheus.NewDesc("hulian_participant_net_debit_cap",
		"How far below zero a participant's balance may go (0: prefunded), in major units (for display only).",
		[]string{"participant", "currency"}, nil)
	descReserved = prometheus.NewDesc("hulian_participant_reserved",
		"What a participant's reservations (two-phase payments, holds) keep aside, in major units (for display only).",
		[]string{"participant", "currency"}, nil)
	descWindowOpen = prometheus.NewDesc("hulian_settlement_window_open_seconds",
		"How long the currency's open settlement window has been open.", []string{"currency"}, nil)
	descTreeSize = prometheus.NewDesc("hulian_audit_tree_size",
		"Leaves of the audit log's Merkle tree: the ledger events hashed.", nil, nil)
	descCheckpointSize = prometheus.NewDesc("hulian_audit_checkpoint_size",
		"Tree size of the newest signed audit checkpoint.", nil, nil)
	descCheckpointAge = prometheus.NewDesc("hulian_audit_checkpoint_age_seconds",
		"Time since the newest audit checkpoint was signed (or found current at start). It grows while the ledger is idle; compare the checkpoint's size with the tree's.", nil, nil)
	descWitnessLag = prometheus.NewDesc("hulian_audit_witness_lag",
		"Leaves between the newest signed checkpoint and the largest one the witness co-signed.", []string{"witness"}, nil)
	descAliases = prometheus.NewDesc("hulian_directory_aliases",
		"Aliases registered in the directory (counted at most once a minute).", nil, nil)
	descLookups = prometheus.NewDesc("hulian_directory_lookups_total",
		"Alias lookups the directory answered, by result: found, not_found, or error.", []string{"result"}, nil)
	descQueueDepth = prometheus.NewDesc("hulian_callback_queue_depth",
		"Ledger events on a participant's accounts that callback delivery has not passed yet (its payments waiting to be called back, and the events between them), counted up to 10000 per currency.",
		[]string{"participant"}, nil)
	descLiquidityAlerts = prometheus.NewDesc("hulian_liquidity_alerts_total",
		"Liquidity alerts (low and restored) recorded since the switch started.", nil, nil)
)

// collector reads the gauges at scrape time.
type collector struct {
	s Sources

	mu        sync.Mutex // guards the aliases' count
	aliases   int64
	aliasesAt time.Time
}

// Describe sends every description.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAvailable, descPosition, descCap, descReserved, descWindowOpen, descTreeSize,
		descCheckpointSize, descCheckpointAge, descWitnessLag, descAliases, descLookups, descQueueDepth, descLiquidityAlerts} {
		ch <- d
	}
}

// Collect reads each source; one that fails is reported to the handler
// as an invalid metric and the others are still served.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	now := c.s.Now()
	if c.s.Ledger != nil && c.s.Participants != nil {
		if err := c.participants(ctx, ch); err != nil {
			ch <- prometheus.NewInvalidMetric(descAvailable, err)
		}
	}
	if c.s.Settlement != nil {
		ws, err := c.s.Settlement.OpenWindows(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descWindowOpen, err)
		}
		for _, w := range ws {
			ch <- prometheus.MustNewConstMetric(descWindowOpen, prometheus.GaugeValue, max(now.Sub(w.OpenedAt).Seconds(), 0), w.Currency.String())
		}
	}
	if c.s.Audit != nil {
		st := c.s.Audit.Status()
		ch <- prometheus.MustNewConstMetric(descTreeSize, prometheus.GaugeValue, float64(st.Size))
		ch <- prometheus.MustNewConstMetric(descCheckpointSize, prometheus.GaugeValue, float64(st.Checkpoint.Size))
		ch <- prometheus.MustNewConstMetric(descCheckpointAge, prometheus.GaugeValue, max(now.Sub(st.SignedAt).Seconds(), 0))
		for _, w := range st.Witnessed {
			ch <- prometheus.MustNewConstMetric(descWitnessLag, prometheus.GaugeValue, float64(max(st.Checkpoint.Size-w.Size, 0)), w.Name)
		}
	}
	if c.s.Directory != nil {
		l := c.s.Directory.Lookups()
		for _, r := range []struct {
			result string
			n      uint64
		}{{"found", l.Found}, {"not_found", l.NotFound}, {"error", l.Failed}} {
			ch <- prometheus.MustNewConstMetric(descLookups, prometheus.CounterValue, float64(r.n), r.result)
		}
		if n, err := c.aliasCount(ctx, now); err != nil {
			ch <- prometheus.NewInvalidMetric(descAliases, err)
		} else {
			ch <- prometheus.MustNewConstMetric(descAliases, prometheus.GaugeValue, float64(n))
		}
	}
	if c.s.Callbacks != nil {
		depths, err := c.s.Callbacks.QueueDepths(ctx, queueDepthMax)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descQueueDepth, err)
		}
		for p, n := range depths {
			ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(n), p)
		}
	}
	if c.s.Liquidity != nil {
		ch <- prometheus.MustNewConstMetric(descLiquidityAlerts, prometheus.CounterValue, float64(c.s.Liquidity.Raised()))
	}
}

// participants sends each participant's gauges per currency, from one
// read of every account.
func (c *collector) participants(ctx context.Context, ch chan<- prometheus.Metric) error {
	accounts, err := c.s.Ledger.Accounts(ctx)
	if err != nil {
		return fmt.Errorf("participant gauges: %w", err)
	}
	byID := make(map[ledger.AccountID]*ledger.Account, len(accounts))
	for i := range accounts {
		byID[accounts[i].ID] = &accounts[i]
	}
	for _, p := range c.s.Participants.List() {
		for _, cur := range p.Currencies {
			a := byID[p.Account(cur)]
			if a == nil {
				continue // not opened yet
			}
			code := cur.String()
			ch <- prometheus.MustNewConstMetric(descAvailable, prometheus.GaugeValue, major(a.Available(), cur), p.ID, code)
			ch <- prometheus.MustNewConstMetric(descPosition, prometheus.GaugeValue, major(a.Balance, cur), p.ID, code)
			ch <- prometheus.MustNewConstMetric(descCap, prometheus.GaugeValue, major(a.Floor, cur), p.ID, code)
			ch <- prometheus.MustNewConstMetric(descReserved, prometheus.GaugeValue, major(a.Reserved, cur), p.ID, code)
		}
	}
	return nil
}

// aliasCount returns the aliases' count, counted again if the last count
// is older than aliasesEvery.
func (c *collector) aliasCount(ctx context.Context, now time.Time) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.aliasesAt.IsZero() && now.Sub(c.aliasesAt) < aliasesEvery && now.Sub(c.aliasesAt) >= 0 {
		return c.aliases, nil
	}
	n, err := c.s.Directory.Aliases(ctx)
	if err != nil {
		return 0, err
	}
	c.aliases, c.aliasesAt = n, now
	return n, nil
}

// major converts minor units to major units for display: a float, which
// is why these gauges are never read back into anything.
func major(a money.Amount, c money.Currency) float64 {
	return float64(a) / math.Pow10(c.Exponent())
}
