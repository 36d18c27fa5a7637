package console

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hulian/hulian/internal/audit"
	"github.com/hulian/hulian/internal/ledger"
	"github.com/hulian/hulian/internal/liquidity"
	"github.com/hulian/hulian/internal/metrics"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/participant"
)

// Live are what the dashboard reads in process rather than through the
// API: the payment counters (the metrics), every account's position
// (the ledger's state in memory), the audit log's progress and the
// liquidity thresholds. They are read at most once a tick however many
// watch (board), and only for the roles that see the whole scheme; a
// participant's users see their own positions through the API. A nil
// source is left out.
type Live struct {
	Stats        Stats
	Ledger       Ledger
	Participants Roster
	Audit        AuditLog
	Liquidity    Thresholds
}

// Stats reads the payment counters: the metrics.
type Stats interface {
	Snapshot() metrics.Snapshot
}

// Ledger reads every account's position: the journal.
type Ledger interface {
	Accounts(ctx context.Context) ([]ledger.Account, error)
}

// Roster lists the participants: the registry.
type Roster interface {
	List() []participant.Participant
}

// AuditLog tells the audit log's progress and its verifier key.
type AuditLog interface {
	Status() audit.Status
	VerifierKey() string
}

// Thresholds tells the liquidity thresholds and how many alerts were
// raised: the liquidity monitor.
type Thresholds interface {
	Raised() int64
	Get(p participant.Participant, c money.Currency) (liquidity.Threshold, bool)
}

// Bounds of the dashboard's reads.
const (
	// tick is how often the dashboard is updated, and how often at most
	// the scheme's numbers are read, however many watch.
	tick = time.Second
	// rateWindow is the span the rates and the latency are taken over.
	rateWindow = 5 * time.Second
	// positionsTop is how many positions the dashboard shows: the most
	// used of their net debit caps.
	positionsTop = 10
	// streamsMax bounds the live streams open at once, and
	// streamsPerUser those of one user (all its sessions), so that one
	// user, a participant's viewer say, cannot take every stream and
	// leave the operator's dashboard without one; a few tabs each.
	streamsMax     = 200
	streamsPerUser = 8
)

// sample is the counters at one moment.
type sample struct {
	at time.Time // monotonic: rates are taken over real time
	s  metrics.Snapshot
}

// board is what the dashboard's watchers share: samples of the counters
// for the rates, the scheme's view, and each scope's dashboard, each
// computed at most once a tick.
type board struct {
	mu      sync.Mutex
	samples []sample // oldest first, spanning a little more than rateWindow
	scheme  *schemeView

	// views are the dashboards last read, by scope (Console.view).
	viewsMu sync.Mutex
	views   map[string]*dashView
}

func newBoard() *board { return &board{views: map[string]*dashView{}} }

// schemeView is the scheme-wide part of the dashboard, read in process.
type schemeView struct {
	at         time.Time // monotonic, when it was computed
	Throughput *throughput
	Positions  []position
	// Ranked is how many positions were ranked for Positions; Err says
	// why none could be.
	Ranked          int
	PositionsErr    string
	LiquidityAlerts int64
	HasLiquidity    bool
	Audit           *auditView
}

// throughput is the payments' rates over the last seconds.
type throughput struct {
	// Seconds is the span the rates are over.
	Seconds float64
	// Decided is payments decided (any state, or refused) a second;
	// Committed those committed.
	Decided, Committed float64
	// Success is the share of decided payments committed, and HasSuccess
	// whether any was decided.
	Success    float64
	HasSuccess bool
	// P50 and P99 are POST /v1/transfers' answer time quantiles in
	// seconds, from its histogram's buckets; HasLatency whether any
	// payment was answered in the span. Over10s means the quantile is
	// past the last bucket.
	P50, P99   float64
	HasLatency bool
	// Refusals are the refusals a second, by reason, most first.
	Refusals []reasonRate
	// CommittedTotal and RefusedTotal count since the switch started.
	CommittedTotal, RefusedTotal uint64
}

// reasonRate is one refusal reason's rate.
type reasonRate struct {
	Reason string
	Rate   float64
	// Share is its part of the payments decided in the span.
	Share float64
	Total uint64
}

// position is a participant's position in one currency against its net
// debit cap.
type position struct {
	Participant, Name string
	Currency          string
	Balance, Reserved money.Amount
	Cap, Available    money.Amount
	// Used is the share of the cap drawn (reservations included), 0
	// when nothing is drawn; 1 or more when all of it.
	Used float64
	// Threshold is its liquidity alert's threshold, if one is set, and
	// Below whether its available balance is below it.
	Threshold    money.Amount
	HasThreshold bool
	Below        bool
}

// auditView is the audit log's progress.
type auditView struct {
	TreeSize, CheckpointSize int64
	SignedAt                 time.Time
	Witnesses                []witnessView
}

// witnessView is a witness's last co-signature.
type witnessView struct {
	Name string
	// Size is the largest tree size it co-signed, 0 for none seen; Lag
	// the leaves between it and the newest checkpoint.
	Size, Lag int64
}

// scheme returns the scheme's view, computed anew if the last is a tick
// old.
func (c *Console) scheme(ctx context.Context) *schemeView {
	b := c.board
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.scheme != nil && now.Sub(b.scheme.at) < tick-50*time.Millisecond {
		return b.scheme
	}
	v := &schemeView{at: now}
	l := &c.Live
	if l.Stats != nil {
		v.Throughput = b.throughput(sample{at: now, s: l.Stats.Snapshot()})
	}
	if l.Ledger != nil && l.Participants != nil {
		ps, n, err := rankPositions(ctx, l.Ledger, l.Participants, positionsTop)
		if err != nil {
			c.Log.ErrorContext(ctx, "console: dashboard positions", "err", err)
			v.PositionsErr = "error.internal"
		}
		v.Positions, v.Ranked = ps, n
	}
	if l.Liquidity != nil {
		v.HasLiquidity, v.LiquidityAlerts = true, l.Liquidity.Raised()
		if l.Participants != nil {
			for i := range v.Positions {
				thresholdOf(l.Liquidity, l.Participants, &v.Positions[i])
			}
		}
	}
	if l.Audit != nil {
		v.Audit = auditOf(l.Audit)
	}
	b.scheme = v
	return v
}

// thresholdOf fills p's liquidity threshold, if its participant has one.
func thresholdOf(t Thresholds, r Roster, p *position) {
	pa, ok := participantOf(r, p.Participant)
	if !ok {
		return
	}
	c, err := money.ParseCurrency(p.Currency)
	if err != nil {
		return
	}
	if th, ok := t.Get(pa, c); ok && th.Threshold > 0 {
		p.Threshold, p.HasThreshold, p.Below = th.Threshold, true, th.Below
	}
}

// participantOf finds a participant by id in the roster: the registry
// also answers Get, which the roster's interface does not promise.
func participantOf(r Roster, id string) (participant.Participant, bool) {
	if g, ok := r.(interface {
		Get(string) (participant.Participant, bool)
	}); ok {
		return g.Get(id)
	}
	for _, p := range r.List() {
		if p.ID == id {
			return p, true
		}
	}
	return participant.Participant{}, false
}

// throughput adds s to the samples and takes the rates between it and
// the oldest sample at most rateWindow older: nil until there are two.
func (b *board) throughput(s sample) *throughput {
	b.samples = append(b.samples, s)
	// Keep the newest sample at least rateWindow old, and those after.
	for len(b.samples) > 2 && s.at.Sub(b.samples[1].at) >= rateWindow {
		b.samples = b.samples[1:]
	}
	t := &throughput{CommittedTotal: s.s.Transfers["COMMITTED"]}
	for _, n := range s.s.Refusals {
		t.RefusedTotal += n
	}
	if len(b.samples) < 2 {
		return t
	}
	old := b.samples[0]
	secs := s.at.Sub(old.at).Seconds()
	if secs <= 0 {
		return t
	}
	t.Seconds = secs
	var decided, committed uint64
	for state, n := range s.s.Transfers {
		d := n - min(old.s.Transfers[state], n)
		decided += d
		if state == "COMMITTED" {
			committed = d
		}
	}
	var refused uint64
	for reason, n := range s.s.Refusals {
		d := n - min(old.s.Refusals[reason], n)
		refused += d
		if d > 0 {
			t.Refusals = append(t.Refusals, reasonRate{Reason: reason, Rate: float64(d) / secs, Total: n})
		}
	}
	decided += refused
	t.Decided, t.Committed = float64(decided)/secs, float64(committed)/secs
	if decided > 0 {
		t.Success, t.HasSuccess = float64(committed)/float64(decided), true
		for i := range t.Refusals {
			t.Refusals[i].Share = t.Refusals[i].Rate * secs / float64(decided)
		}
	}
	slices.SortFunc(t.Refusals, func(a, b reasonRate) int {
		return cmp.Or(cmp.Compare(b.Rate, a.Rate), cmp.Compare(a.Reason, b.Reason))
	})
	h := delta(s.s.Latency, old.s.Latency)
	if n := h.Counts[len(h.Counts)-1]; n > 0 {
		t.HasLatency = true
		t.P50, t.P99 = quantile(h, 0.5), quantile(h, 0.99)
	}
	return t
}

// delta is the histogram of the observations between old and h.
func delta(h, old metrics.Histogram) metrics.Histogram {
	d := metrics.Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts))}
	for i, n := range h.Counts {
		var o uint64
		if i < len(old.Counts) {
			o = old.Counts[i]
		}
		d.Counts[i] = n - min(o, n)
	}
	return d
}

// quantile estimates the q-quantile of a histogram of cumulative
// counts, as Prometheus's histogram_quantile does: linearly within the
// bucket it falls in (from 0 for the first). Past the last bound it is
// the last bound.
func quantile(h metrics.Histogram, q float64) float64 {
	total := h.Counts[len(h.Counts)-1]
	if total == 0 || len(h.Bounds) == 0 {
		return 0
	}
	rank := q * float64(total)
	for i, bound := range h.Bounds {
		if float64(h.Counts[i]) < rank {
			continue
		}
		lo, below := 0.0, uint64(0)
		if i > 0 {
			lo, below = h.Bounds[i-1], h.Counts[i-1]
		}
		in := h.Counts[i] - below
		if in == 0 {
			return bound
		}
		return lo + (bound-lo)*(rank-float64(below))/float64(in)
	}
	return h.Bounds[len(h.Bounds)-1]
}

// rankPositions returns the top positions of every participant's
// settlement accounts by the share of their net debit cap drawn, most
// first (then the least available), and how many were ranked. One read
// of the accounts in memory; no ledger events are read.
func rankPositions(ctx context.Context, l Ledger, r Roster, top int) ([]position, int, error) {
	accounts, err := l.Accounts(ctx)
	if err != nil {
		return nil, 0, err
	}
	byID := make(map[ledger.AccountID]*ledger.Account, len(accounts))
	for i := range accounts {
		byID[accounts[i].ID] = &accounts[i]
	}
	var all []position
	for _, p := range r.List() {
		for _, cur := range p.Currencies {
			a := byID[p.Account(cur)]
			if a == nil {
				continue // not opened yet
			}
			all = append(all, positionOf(p.ID, p.Name, cur.String(), a.Balance, a.Reserved, a.Floor))
		}
	}
	n := len(all)
	slices.SortFunc(all, byUse)
	return all[:min(top, n)], n, nil
}

// positionOf is a position from its balance, reservations and cap.
func positionOf(id, name, cur string, balance, reserved, cap money.Amount) position {
	p := position{Participant: id, Name: name, Currency: cur, Balance: balance, Reserved: reserved, Cap: cap}
	p.Available = (&ledger.Account{Balance: balance, Reserved: reserved, Floor: cap}).Available()
	// Drawn is what lies below zero, reservations included; the share
	// is a float for display and ranking only, never money.
	drawn, err := money.Sub(reserved, balance)
	switch {
	case err != nil:
		p.Used = 1
	case drawn <= 0:
	case cap > 0:
		p.Used = float64(drawn) / float64(cap)
	default:
		p.Used = 1
	}
	return p
}

// byUse orders positions most used first, then the least available,
// then by participant and currency.
func byUse(a, b position) int {
	return cmp.Or(cmp.Compare(b.Used, a.Used), cmp.Compare(a.Available, b.Available),
		cmp.Compare(a.Participant, b.Participant), cmp.Compare(a.Currency, b.Currency))
}
