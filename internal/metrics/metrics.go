// Package metrics owns the switch's Prometheus metrics: a registry of its
// own (never the process-wide default one), the counters and histograms
// that the API, the payment flow, the journal and callback delivery feed
// through their observer hooks, and the gauges read at scrape time from
// the ledger's accounts, settlement, the audit log, the directory and
// delivery's queues (collect.go). Handler serves them in the Prometheus
// text format.
//
// The hooks run on the hot path of every request and payment, so each
// one finds its metric in a copy-on-write cache of label children,
// resolved once per label set: counting allocates nothing and takes no
// lock. Label values come from fixed sets — route templates, the fault
// codes of refusals, currencies, participants — and each cache is bounded
// besides, so that no client can make the metrics grow.
//
// Money metrics are counts of minor units, and gauges of major units as
// floats for display only: nothing here feeds back into the money path.
package metrics

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hulian/hulian/internal/fault"
	"github.com/hulian/hulian/internal/money"
	"github.com/hulian/hulian/internal/transfer"
)

// Bounds on the label sets the hooks meet; beyond them, the values are
// counted under "other".
const (
	routesMax     = 1024 // (route, method, status) triples
	reasonsMax    = 128  // refusal codes
	currenciesMax = 64
)

// other is the label value of whatever lies beyond a bound.
const other = "other"

// Metrics is the switch's metrics. It implements api.RequestObserver,
// transfer.Outcomes, journal.Observer and callback.Observer; Watch adds
// the gauges read at scrape time.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	routes       cache[routeKey, *routeMetrics]

	transfers  *prometheus.CounterVec
	amounts    *prometheus.CounterVec
	refusals   *prometheus.CounterVec
	currencies cache[money.Currency, *currencyMetrics]
	reasons    cache[string, prometheus.Counter]

	batchSize      prometheus.Histogram
	commitDuration prometheus.Histogram
	events         prometheus.Counter

	delivered        prometheus.Counter
	deliveryFailed   prometheus.Counter
	deliveryDuration prometheus.Histogram
}

// New returns the metrics, registered in a new registry with the Go and
// process collectors; log receives the errors of scrapes (nil: none).
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_http_requests_total",
		Help: "API requests answered, by route template (\"unmatched\" when no route matched), method and status code.",
	}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hulian_http_request_duration_seconds",
		Help:    "Time from a request's arrival to its answer, by route template and method.",
		Buckets: latencyBuckets,
	}, []string{"route", "method"})
	m.transfers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_transfers_total",
		Help: "Payments by currency and the state a call left them in: created COMMITTED, RESERVED (prepared), HELD (for review) or ABORTED, and reservations decided COMMITTED or ABORTED. Retries are not counted; refusals are in hulian_refusals_total.",
	}, []string{"currency", "state"})
	m.amounts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_transfer_amount_total",
		Help: "Sum of the amounts of payments committed, in minor units of the payer's currency.",
	}, []string{"currency"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_refusals_total",
		Help: "Payments refused, by reason: the fault code that names the problem type of the answer (insufficient-funds, unknown-party, ...).",
	}, []string{"reason"})
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hulian_ledger_batch_size",
		Help:    "Commands per batch the ledger's writer applied.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 … 16384, past ledger.BatchMax
	})
	m.commitDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hulian_journal_commit_duration_seconds",
		Help:    "Time the store took to make one group commit of the journal durable.",
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1},
	})
	m.events = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hulian_ledger_events_total",
		Help: "Ledger events made durable since the switch started.",
	})
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_callback_deliveries_total",
		Help: "Callbacks sent to participants by delivery (transfers committed, liquidity alerts, notices), by result: ok (taken) or failed (refused, unreachable or too slow; retried).",
	}, []string{"result"})
	m.delivered, m.deliveryFailed = deliveries.WithLabelValues("ok"), deliveries.WithLabelValues("failed")
	m.deliveryDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hulian_callback_delivery_duration_seconds",
		Help:    "Time one callback delivery took, until the participant's answer or the failure.",
		Buckets: latencyBuckets,
	})
	m.routes.init(routesMax, func() *routeMetrics {
		return &routeMetrics{requests: m.httpRequests.WithLabelValues(other, other, other), duration: m.httpDuration.WithLabelValues(other, other)}
	})
	m.currencies.init(currenciesMax, func() *currencyMetrics { return m.currencyMetricsOf(other) })
	m.reasons.init(reasonsMax, func() prometheus.Counter { return m.refusals.WithLabelValues(other) })
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.transfers, m.amounts, m.refusals, m.batchSize, m.commitDuration,
		m.events, deliveries, m.deliveryDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// latencyBuckets suit a switch that answers in about a millisecond and
// waits seconds at most (a confirm-mode payee).
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Registry returns the registry, for tests that gather from it and for
// collectors of other parts.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format (or what the
// scraper negotiates). A source that fails at scrape time is logged and
// left out; the rest are served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slogPrinter{m.log},
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            m.reg,
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
}

// slogPrinter is promhttp's error log over slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics: scrape", "err", fmt.Sprint(v...)) }

// routeKey is what an answered request is counted by.
type routeKey struct {
	route, method string
	status        int
}

// routeMetrics are one label set's children.
type routeMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// Request counts an answered request; it implements api.RequestObserver.
func (m *Metrics) Request(route, method string, status int, took time.Duration, _ int64) {
	k := routeKey{route, knownMethod(method), status}
	r, ok := m.routes.get(k)
	if !ok {
		r = m.routes.add(k, m.routeMetrics)
	}
	r.requests.Inc()
	r.duration.Observe(took.Seconds())
}

// routeMetrics resolves the children of k, whose route the API writes as
// its route table does ("POST /v1/transfers"): the method is a label of
// its own, so the route label is the path template.
func (m *Metrics) routeMetrics(k routeKey) *routeMetrics {
	route := k.route
	if route == "" {
		route = "unmatched"
	} else if method, path, ok := strings.Cut(route, " "); ok && method == k.method {
		route = path
	}
	code := strconv.Itoa(k.status)
	if k.status < 100 || k.status > 599 {
		code = other
	}
	return &routeMetrics{requests: m.httpRequests.WithLabelValues(route, k.method, code),
		duration: m.httpDuration.WithLabelValues(route, k.method)}
}

// knownMethod returns method if it is a standard one, else "other": an
// unmatched request's method is whatever the client sent.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return other
}

// currencyMetrics are one currency's transfer counters, by state.
type currencyMetrics struct {
	committed, reserved, held, aborted prometheus.Counter
	amount                             prometheus.Counter
}

// Outcome counts a payment's outcome; it implements transfer.Outcomes.
func (m *Metrics) Outcome(o *transfer.Outcome) {
	if o.Err != nil {
		code := fault.CodeOf(o.Err)
		r, ok := m.reasons.get(code)
		if !ok {
			r = m.reasons.add(code, func(code string) prometheus.Counter { return m.refusals.WithLabelValues(code) })
		}
		r.Inc()
		return
	}
	t := &o.Transfer
	c, ok := m.currencies.get(t.Currency)
	if !ok {
		c = m.currencies.add(t.Currency, m.currencyMetrics)
	}
	switch t.State {
	case transfer.Committed:
		c.committed.Inc()
		c.amount.Add(float64(t.Amount))
	case transfer.Reserved:
		c.reserved.Inc()
	case transfer.Held:
		c.held.Inc()
	case transfer.Aborted:
		c.aborted.Inc()
	}
}

func (m *Metrics) currencyMetrics(c money.Currency) *currencyMetrics {
	if !c.Valid() {
		return m.currencyMetricsOf(other)
	}
	return m.currencyMetricsOf(c.String())
}

func (m *Metrics) currencyMetricsOf(code string) *currencyMetrics {
	return &currencyMetrics{
		committed: m.transfers.WithLabelValues(code, string(transfer.Committed)),
		reserved:  m.transfers.WithLabelValues(code, string(transfer.Reserved)),
		held:      m.transfers.WithLabelValues(code, string(transfer.Held)),
		aborted:   m.transfers.WithLabelValues(code, string(transfer.Aborted)),
		amount:    m.amounts.WithLabelValues(code),
	}
}

// Applied observes a batch the ledger's writer applied; it implements
// journal.Observer.
func (m *Metrics) Applied(commands int) { m.batchSize.Observe(float64(commands)) }

// Committed observes a group commit; it implements journal.Observer.
func (m *Metrics) Committed(events int, took time.Duration) {
	m.events.Add(float64(events))
	m.commitDuration.Observe(took.Seconds())
}

// Delivery observes a callback delivery; it implements
// callback.Observer.
func (m *Metrics) Delivery(ok bool, took time.Duration) {
	if ok {
		m.delivered.Inc()
	} else {
		m.deliveryFailed.Inc()
	}
	m.deliveryDuration.Observe(took.Seconds())
}

// cache maps label values to their resolved children: read without a
// lock from an immutable map, which add replaces with a grown copy. The
// label sets are few and fixed, so copies stop once all were seen; past
// max keys, add returns the children of "other" and keeps nothing.
type cache[K comparable, V any] struct {
	m        atomic.Pointer[map[K]V]
	mu       sync.Mutex // serialises add
	max      int
	overflow func() V
	over     V
	overOnce sync.Once
}

func (c *cache[K, V]) init(max int, overflow func() V) {
	c.m.Store(&map[K]V{})
	c.max, c.overflow = max, overflow
}

func (c *cache[K, V]) get(k K) (V, bool) {
	v, ok := (*c.m.Load())[k]
	return v, ok
}

// add returns k's children, resolved by build if k is new.
func (c *cache[K, V]) add(k K, build func(K) V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if v, ok := old[k]; ok {
		return v
	}
	if len(old) >= c.max {
		c.overOnce.Do(func() { c.over = c.overflow() })
		return c.over
	}
	v := build(k)
	grown := make(map[K]V, len(old)+1)
	maps.Copy(grown, old)
	grown[k] = v
	c.m.Store(&grown)
	return v
}
