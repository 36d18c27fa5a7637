package connector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The connector's Prometheus metrics live in a registry of the
// connector's own, never the process-wide default one: a process (a
// test, a demo) may run several connectors. Every label takes its values
// from a small fixed set, resolved when the connector opens, so that
// every series is there from the first scrape, at zero, and nothing a
// caller sends can make the metrics grow. docs/connector.md lists them.

// Label values shared by several metrics.
const (
	resultOK           = "ok"
	resultDuplicate    = "duplicate"
	resultBadSignature = "bad_signature"
	resultMalformed    = "malformed"
	resultBusy         = "busy"
	resultError        = "error"
	resultTimeout      = "timeout"
	resultUnreachable  = "unreachable"
	result4xx          = "4xx"
	result429          = "429"
	result5xx          = "5xx"
	resultOtherStatus  = "other_status"
	eventUnknown       = "unknown"
	eventOther         = "other"
	eventProbe         = "probe"
	eventNotice        = "notice"
	resultRefused      = "refused"
	resultPending      = "pending"
)

// apiCalls are the backend API's calls on requests to pay and mandates,
// counted by hulian_connector_api_calls_total.
var apiCalls = []string{"request_create", "request_accept", "request_decline", "request_get", "mandate_action", "mandate_get"}

// The answers to confirm requests, counted by hulian_connector_confirms_total.
const (
	confirmAccepted = "accepted" // the backend accepted
	confirmRejected = "rejected" // the backend rejected, with its reason
	confirmLate     = "late"     // the backend did not answer within ConfirmTimeout: rejected
	confirmFailed   = "failed"   // the backend unreachable, busy, without a decision, or not ours: rejected
)

// The calls the connector makes to the switch, by the route they take;
// "other" for any route not in the table (there should be none).
var switchRoutes = []struct{ method, pattern, call string }{
	{http.MethodGet, "participants/*", "participant"},
	{http.MethodPatch, "participants/*", "participant_update"},
	{http.MethodGet, "parties/*/*", "lookup"},
	{http.MethodPost, "parties", "alias_register"},
	{http.MethodDelete, "parties/*/*", "alias_delete"},
	{http.MethodPost, "quotes", "quote"},
	{http.MethodPost, "transfers", "transfer"},
	{http.MethodGet, "transfers/*", "transfer_status"},
	{http.MethodPost, "payment-requests", "request_create"},
	{http.MethodGet, "payment-requests/*", "request_status"},
	{http.MethodPost, "payment-requests/*/accept", "request_accept"},
	{http.MethodPost, "payment-requests/*/decline", "request_decline"},
	{http.MethodGet, "mandates/*", "mandate_status"},
	{http.MethodPost, "mandates/*/*", "mandate_action"},
}

// latencyBuckets span a local backend's milliseconds to a payment that
// waits its whole PaymentWait (30 s by default) for a slow payee.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// metrics are one connector's metrics.
type metrics struct {
	reg *prometheus.Registry

	payments        *prometheus.CounterVec
	paymentDuration *prometheus.HistogramVec
	postponed       prometheus.Counter
	callbacks       *prometheus.CounterVec
	incoming        *prometheus.CounterVec
	confirms        *prometheus.CounterVec
	backendCalls    *prometheus.CounterVec
	backendDuration *prometheus.HistogramVec
	notices         *prometheus.CounterVec
	apiCalls        *prometheus.CounterVec
	switchCalls     *prometheus.CounterVec
	switchDuration  *prometheus.HistogramVec

	// switchBase is the switch URL's path, which prefixes every route.
	switchBase string
}

// newMetrics makes c's metrics, registered with the gauges read at
// scrape time (the outbox, the payments pending) and the Go and process
// collectors.
func newMetrics(c *Connector) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.payments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_connector_payments_total",
		Help: "Outbound payments that reached a final state: committed, aborted (the payee rejected it or did not answer) or refused (by the switch, before any money moved). Each payment is counted once; those not final yet are hulian_connector_payments_pending.",
	}, []string{"state"})
	m.paymentDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hulian_connector_payment_duration_seconds",
		Help:    "Time from a payment's being stored (POST /payments) to its final state, by that state; a payment left pending counts until it was finished.",
		Buckets: latencyBuckets,
	}, []string{"state"})
	m.postponed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hulian_connector_payments_postponed_total",
		Help: "Times a payment's attempt ended without a final state (the switch unreachable, a payee still deciding): the backend was answered PENDING, or the background loop tries again later.",
	})
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_connector_callbacks_total",
		Help: "Requests on the callback URL, by event (transfers.committed, transfer.confirm, notice for those of requests to pay and mandates, other; probe for the conformance probe; unknown when unverified or unreadable) and result: ok, duplicate (a redelivery that changed nothing), bad_signature (refused 401), malformed (refused 400 or 413), busy (outbox full: 503, the switch keeps it), error (500).",
	}, []string{"event", "result"})
	m.incoming = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_connector_incoming_transfers_total",
		Help: "Committed transfers to the participant in the switch's notifications, by result: booked (new, queued for the backend), duplicate (booked before: a redelivery), skipped (not to this participant, or not committed; logged).",
	}, []string{"result"})
	m.confirms = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_connector_confirms_total",
		Help: "Confirm requests decided, by answer: accepted, rejected (by the backend), late (the backend did not answer within the confirm timeout: rejected), failed (the backend unreachable, busy or without a decision, or the transfer not ours: rejected). A question asked again is answered as recorded and counted in hulian_connector_callbacks_total as a duplicate.",
	}, []string{"answer"})
	m.backendCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_connector_backend_calls_total",
		Help: "Calls of POST {backend}/incoming, by event (committed, confirm, and the notices' events) and result: ok (2xx), 4xx, 5xx, other_status, timeout, unreachable. A committed transfer is sent again until ok.",
	}, []string{"event", "result"})
	m.backendDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hulian_connector_backend_call_duration_seconds",
		Help:    "Time one call of POST {backend}/incoming took, until its answer was read or it failed, by event.",
		Buckets: latencyBuckets,
	}, []string{"event"})
	m.notices = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_connector_notices_total",
		Help: "Callbacks of requests to pay and mandates, by the event the backend is told (request, request-paid, request-declined, request-expired, mandate-proposed, mandate-changed, mandate-due, mandate-executed, mandate-failed) and result: booked (queued for the backend), duplicate (a redelivery).",
	}, []string{"event", "result"})
	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_connector_api_calls_total",
		Help: "Calls of the backend API on requests to pay and mandates, by call (request_create, request_accept, request_decline, request_get, mandate_action, mandate_get) and result: ok, refused (by the switch), pending (no final answer yet), error (the switch unreachable, or the record failed).",
	}, []string{"call", "result"})
	m.switchCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hulian_connector_switch_calls_total",
		Help: "Requests to the switch's API, by call (participant, participant_update, lookup, quote, transfer, transfer_status, alias_register, alias_delete, request_create, request_status, request_accept, request_decline, mandate_status, mandate_action) and result: ok (2xx), 4xx (a refusal), 429, 5xx, other_status, timeout, unreachable. All but ok and 4xx are retried.",
	}, []string{"call", "result"})
	m.switchDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hulian_connector_switch_call_duration_seconds",
		Help:    "Time from a request to the switch to its answer's headers, or its failure, by call.",
		Buckets: latencyBuckets,
	}, []string{"call"})

	for _, s := range []string{"committed", "aborted", "refused"} {
		m.payments.WithLabelValues(s)
		m.paymentDuration.WithLabelValues(s)
	}
	for _, e := range []string{"transfers.committed", "transfer.confirm", eventNotice, eventOther, eventProbe, eventUnknown} {
		results := []string{resultOK, resultDuplicate, resultMalformed, resultBusy, resultError}
		switch e {
		case eventUnknown:
			results = []string{resultBadSignature, resultMalformed}
		case eventProbe:
			results = []string{resultOK, resultBadSignature}
		}
		for _, r := range results {
			m.callbacks.WithLabelValues(e, r)
		}
	}
	for _, r := range []string{"booked", resultDuplicate, "skipped"} {
		m.incoming.WithLabelValues(r)
	}
	for _, e := range noticeNames {
		for _, r := range []string{"booked", resultDuplicate} {
			m.notices.WithLabelValues(e, r)
		}
	}
	for _, c := range apiCalls {
		for _, r := range []string{resultOK, resultRefused, resultPending, resultError} {
			m.apiCalls.WithLabelValues(c, r)
		}
	}
	for _, a := range []string{confirmAccepted, confirmRejected, confirmLate, confirmFailed} {
		m.confirms.WithLabelValues(a)
	}
	for _, e := range append([]string{"committed", "confirm"}, noticeNames...) {
		m.backendDuration.WithLabelValues(e)
		for _, r := range []string{resultOK, result4xx, result5xx, resultOtherStatus, resultTimeout, resultUnreachable} {
			m.backendCalls.WithLabelValues(e, r)
		}
	}
	for _, sr := range append(switchRoutes, struct{ method, pattern, call string }{call: eventOther}) {
		m.switchDuration.WithLabelValues(sr.call)
		for _, r := range []string{resultOK, result4xx, result429, result5xx, resultOtherStatus, resultTimeout, resultUnreachable} {
			m.switchCalls.WithLabelValues(sr.call, r)
		}
	}

	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hulian_connector_outbox_depth",
		Help: "Items booked and not yet taken by the backend (2xx to POST /incoming): incoming transfers and notices.",
	}, func() float64 { return float64(c.depth.Load()) })
	m.reg.MustRegister(m.payments, m.paymentDuration, m.postponed, m.callbacks, m.incoming, m.confirms, m.backendCalls,
		m.backendDuration, m.notices, m.apiCalls, m.switchCalls, m.switchDuration, depth, recordCollector{c},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the metrics in the Prometheus text format (or what the
// scraper negotiates). A gauge whose read fails is logged and left out;
// the rest are served.
func (m *metrics) handler(c *Connector) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slogPrinter{c},
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            m.reg,
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
}

// slogPrinter is promhttp's error log over the connector's.
type slogPrinter struct{ c *Connector }

func (p slogPrinter) Println(v ...any) { p.c.log.Error("metrics: scrape", "err", fmt.Sprint(v...)) }

var (
	descPending = prometheus.NewDesc("hulian_connector_payments_pending",
		"Outbound payments PENDING in the record now: being driven, or waiting for the background loop.", nil, nil)
	descOldest = prometheus.NewDesc("hulian_connector_outbox_oldest_age_seconds",
		"Age of the oldest item (incoming transfer or notice) the backend has not taken yet, since it was booked; 0 when the outbox is empty.", nil, nil)
)

// recordCollector reads the gauges that the record answers, at scrape
// time: two indexed queries.
type recordCollector struct{ c *Connector }

func (r recordCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPending
	ch <- descOldest
}

func (r recordCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var pending int64
	if err := r.c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM payments WHERE state = 'PENDING'").Scan(&pending); err != nil {
		ch <- prometheus.NewInvalidMetric(descPending, fmt.Errorf("pending payments: %w", err))
	} else {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(pending))
	}
	var oldest *int64
	if err := r.c.db.QueryRowContext(ctx, `SELECT MIN(COALESCE(i.received_at, n.received_at)) FROM outbox o
		LEFT JOIN inbound i ON o.kind = 'transfer' AND i.seq = o.ref LEFT JOIN notices n ON o.kind = 'notice' AND n.seq = o.ref`).Scan(&oldest); err != nil {
		ch <- prometheus.NewInvalidMetric(descOldest, fmt.Errorf("the outbox's oldest: %w", err))
		return
	}
	age := 0.0
	if oldest != nil {
		age = max(r.c.cfg.Now().Sub(time.UnixMilli(*oldest)).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age)
}

// callback counts a request on the callback URL.
func (m *metrics) callback(event, result string) {
	switch event {
	case "transfers.committed", "transfer.confirm", eventProbe, eventUnknown:
	default:
		if _, ok := noticeEvents[event]; ok {
			event = eventNotice
		} else {
			event = eventOther
		}
	}
	m.callbacks.WithLabelValues(event, result).Inc()
}

// finished counts a payment that became final in state (COMMITTED,
// ABORTED, REFUSED), stored at created.
func (m *metrics) finished(state string, created, now time.Time) {
	s := strings.ToLower(state)
	m.payments.WithLabelValues(s).Inc()
	m.paymentDuration.WithLabelValues(s).Observe(max(now.Sub(created).Seconds(), 0))
}

// backendCall counts a call of the backend's /incoming for event that
// took took, answered status (0: none) or failed with err.
func (m *metrics) backendCall(event string, status int, err error, took time.Duration) {
	r, ok := callResult(status, err)
	if !ok {
		return
	}
	if r == result429 {
		r = result4xx
	}
	m.backendCalls.WithLabelValues(event, r).Inc()
	m.backendDuration.WithLabelValues(event).Observe(took.Seconds())
}

// callResult names the result of an HTTP call answered status, or that
// failed with err; false for a call cancelled by the connector itself
// (it is stopping, or the backend's request went away), which says
// nothing of the other side.
func callResult(status int, err error) (string, bool) {
	var ne net.Error
	switch {
	case err == nil && status/100 == 2:
		return resultOK, true
	case err == nil && status == http.StatusTooManyRequests:
		return result429, true
	case err == nil && status/100 == 4:
		return result4xx, true
	case err == nil && status/100 == 5:
		return result5xx, true
	case err == nil:
		return resultOtherStatus, true
	case errors.Is(err, context.Canceled):
		return "", false
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return resultTimeout, true
	}
	return resultUnreachable, true
}

// switchCall names the call a request to the switch makes, from its
// method and its path under the switch's base URL.
func (m *metrics) switchCall(method, path string) string {
	rest, ok := strings.CutPrefix(path, m.switchBase+"/v1/")
	if !ok {
		return eventOther
	}
	segs := strings.Split(rest, "/")
next:
	for _, r := range switchRoutes {
		pat := strings.Split(r.pattern, "/")
		if r.method != method || len(pat) != len(segs) {
			continue
		}
		for i, p := range pat {
			if segs[i] == "" || p != "*" && p != segs[i] {
				continue next
			}
		}
		return r.call
	}
	return eventOther
}

// switchTransport counts the requests to the switch that pass through
// it, by call and result, and times them to their answer's headers.
type switchTransport struct {
	base http.RoundTripper
	m    *metrics
}

func (t switchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if r, ok := callResult(status, err); ok {
		call := t.m.switchCall(req.Method, req.URL.EscapedPath())
		t.m.switchCalls.WithLabelValues(call, r).Inc()
		t.m.switchDuration.WithLabelValues(call).Observe(time.Since(start).Seconds())
	}
	return resp, err
}
