package main

// The shutdown, in the order that keeps the final run states visible:
//
//  1. At the first SIGINT or SIGTERM, POST /runs answers 503 and /healthz
//     503 at once, so that load balancers and clients go elsewhere; GET
//     /runs, GET /runs/{id} and /metrics go on.
//  2. Running runs get ORCH_SHUTDOWN_GRACE to finish; what has not finished
//     then is cancelled and ends canceled, recorded in agentorch_runs_total
//     like any other final state.
//  3. Pull mode (OTEL_METRICS_EXPORTER includes prometheus): /metrics stays
//     served until one scrape that began after the final states were
//     recorded has been answered, for at most ORCH_SHUTDOWN_SCRAPE_WAIT.
//     Prometheus scrapes on its own schedule, so only a wait as long as its
//     scrape interval guarantees that scrape; the default is short to fit
//     the default stop timeouts (Docker's 10 s, Kubernetes' 30 s), and the
//     README says how to raise it. Push mode needs no wait: the final OTLP
//     export of step 5 carries the final states.
//  4. The listener closes (requests in flight get closeTimeout).
//  5. Telemetry is flushed and shut down, within flushTimeout.
//
// A second signal at any step closes the listener, cancels what still runs,
// waits for it at most abortWait, and returns errSecondSignal without
// flushing telemetry.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
)

// The fixed parts of the shutdown.
const (
	// closeTimeout bounds the wait for requests in flight when the listener
	// closes.
	closeTimeout = 500 * time.Millisecond
	// flushTimeout bounds the final telemetry export.
	flushTimeout = 1500 * time.Millisecond
	// abortWait bounds the wait for cancelled runs after a second signal.
	abortWait = time.Second
)

// errSecondSignal is returned when a second signal cut the shutdown short.
var errSecondSignal = errors.New("second signal: exited without waiting for the runs; telemetry not flushed")

// scrapeWatch tells when /metrics has been served after the final run
// states were recorded.
type scrapeWatch struct {
	final   atomic.Bool
	once    sync.Once
	scraped chan struct{}
}

func newScrapeWatch() *scrapeWatch { return &scrapeWatch{scraped: make(chan struct{})} }

// wrap counts the scrapes h answers that began after markFinal.
func (s *scrapeWatch) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after := s.final.Load()
		h.ServeHTTP(w, r)
		if after {
			s.once.Do(func() { close(s.scraped) })
		}
	})
}

// markFinal notes that every run's final state is recorded.
func (s *scrapeWatch) markFinal() { s.final.Store(true) }

// shutdown runs steps 1 to 4 of the shutdown (the deferred flush is step 5).
func (a *app) shutdown(srv *http.Server, c config, sigs <-chan os.Signal) error {
	start := time.Now()
	a.orch.StopAccepting()
	slog.Info("server: shutting down: POST /runs and /healthz answer 503; running tasks get the grace period",
		"grace", c.grace, "scrape_wait", c.scrapeWait)

	gctx, cancelRuns := context.WithTimeout(context.Background(), c.grace)
	defer cancelRuns()
	drained := make(chan error, 1)
	go func() { drained <- a.orch.Shutdown(gctx) }()
	select {
	case err := <-drained:
		if err != nil {
			slog.Warn("server: " + err.Error())
		}
	case sig := <-sigs:
		return a.abort(srv, sig, cancelRuns, drained)
	}
	a.scrapes.markFinal()
	attrs := []any{"after", time.Since(start).Round(time.Millisecond)}
	fin := a.orch.Finished()
	for _, st := range []orchestrator.State{orchestrator.StateCompleted, orchestrator.StateFailed,
		orchestrator.StateBudgetExceeded, orchestrator.StateCanceled} {
		attrs = append(attrs, string(st), fin[st])
	}
	slog.Info("server: final run states recorded", attrs...)

	if slices.Contains(a.tel.Summary().MetricsExporters, "prometheus") && c.scrapeWait > 0 {
		t := time.NewTimer(c.scrapeWait)
		select {
		case <-a.scrapes.scraped:
			slog.Info("server: /metrics scraped with the final states")
		case <-t.C:
			slog.Warn("server: no scrape of /metrics within ORCH_SHUTDOWN_SCRAPE_WAIT; the last one may lack the final states",
				"scrape_wait", c.scrapeWait)
		case sig := <-sigs:
			t.Stop()
			return a.abort(srv, sig, cancelRuns, nil)
		}
		t.Stop()
	}

	hctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := srv.Shutdown(hctx); err != nil {
		return errors.Join(err, srv.Close())
	}
	return nil
}

// abort ends a shutdown cut short by a second signal: it closes the
// listener, cancels the runs and waits at most abortWait for them (drained,
// when not nil, says when they are done).
func (a *app) abort(srv *http.Server, sig os.Signal, cancelRuns context.CancelFunc, drained <-chan error) error {
	slog.Warn("server: " + sig.String() + " again: exiting now")
	cancelRuns()
	err := srv.Close()
	if drained != nil {
		select {
		case <-drained:
		case <-time.After(abortWait):
		}
	}
	return errors.Join(errSecondSignal, err)
}

// flush shuts telemetry down within flushTimeout, unless a signal comes
// first.
func (a *app) flush(sigs <-chan os.Signal) error {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.tel.Shutdown(ctx) }()
	select {
	case err := <-done:
		return err
	case <-sigs:
		return errSecondSignal
	}
}
