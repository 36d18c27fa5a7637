package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hulian/hulian/internal/metrics"
)

// openMetrics makes the switch's metrics, before the parts that feed
// them. They are always collected (it costs no measurable throughput,
// BENCHMARKS.md); they are served only on Config.MetricsAddr.
func (a *App) openMetrics(context.Context) error {
	a.Metrics = metrics.New(a.cfg.Log)
	return nil
}

// watchMetrics adds the gauges read at scrape time, once their sources
// exist.
func (a *App) watchMetrics(context.Context) error {
	return a.Metrics.Watch(metrics.Sources{Ledger: a.Journal, Participants: a.Participants, Settlement: a.Settlement,
		Audit: a.Audit, Directory: a.Directory, Callbacks: a.Deliverer, Liquidity: a.Liquidity, Now: a.cfg.Now})
}

// serveMetrics serves GET /metrics on Config.MetricsAddr, a listener of
// its own, so that the metrics are never exposed with the API; nothing
// if it is empty. It stops with the switch.
func (a *App) serveMetrics() error {
	if a.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen %s (metrics): %w", a.cfg.MetricsAddr, err)
	}
	a.metricsLn = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 16 << 10}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.cfg.Log.Error("metrics http server", "err", err)
		}
	}()
	a.life.onStop("metrics http server", func(ctx context.Context) error {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		<-done
		return nil
	})
	a.cfg.Log.Info("metrics listening", "url", a.MetricsURL())
	return nil
}

// MetricsURL is the URL of the metrics once Serve returned, "" when they
// are not served.
func (a *App) MetricsURL() string {
	if a.metricsLn == nil {
		return ""
	}
	return "http://" + a.metricsLn.Addr().String() + "/metrics"
}
