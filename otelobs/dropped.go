package otelobs

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// DroppedMetricName is the counter of telemetry that never reached its
// exporter's endpoint, by signal ("traces", "metrics") and reason:
//
//	reason         signal   what was lost
//	buffer_full    traces   the oldest held spans, past WithSpanBuffer's bound during an outage
//	rejected       both     what the endpoint refused for good (a 4xx, a partial success)
//	shutdown       traces   spans still held when Shutdown gave up
//	export_failed  metrics  the data points of an export that failed; with
//	                        cumulative temporality (the default) the next
//	                        export carries the totals, so only the samples of
//	                        the outage are missing
//
// Prometheus names it otelobs_telemetry_dropped_total. Its series exist at 0
// from the start, so increase() sees the first loss.
const DroppedMetricName = "otelobs.telemetry.dropped"

type dropSignal int

const (
	signalTraces dropSignal = iota
	signalMetrics
	numSignals
)

type dropReason int

const (
	reasonBufferFull dropReason = iota
	reasonRejected
	reasonShutdown
	reasonExportFailed
	numReasons
)

var (
	signalNames = [numSignals]string{"traces", "metrics"}
	reasonNames = [numReasons]string{"buffer_full", "rejected", "shutdown", "export_failed"}
	// reasonsOf are the reasons each signal can report.
	reasonsOf = [numSignals][]dropReason{
		signalTraces:  {reasonBufferFull, reasonRejected, reasonShutdown},
		signalMetrics: {reasonRejected, reasonExportFailed},
	}
)

// dropCounts counts lost items; a nil *dropCounts counts nothing.
type dropCounts struct {
	n    [numSignals][numReasons]atomic.Int64
	used [numSignals]bool // signals with an exporter to count for
}

func (d *dropCounts) add(sig dropSignal, r dropReason, n int) {
	if d != nil && n > 0 {
		d.n[sig][r].Add(int64(n))
	}
}

// register reports the counts through m as an observable counter, whose
// series for the used signals exist at 0 from the start.
func (d *dropCounts) register(m metric.Meter) error {
	type series struct {
		sig  dropSignal
		r    dropReason
		opts metric.ObserveOption
	}
	var all []series
	for sig, used := range d.used {
		if !used {
			continue
		}
		for _, r := range reasonsOf[sig] {
			set := attribute.NewSet(attribute.String("signal", signalNames[sig]), attribute.String("reason", reasonNames[r]))
			all = append(all, series{dropSignal(sig), r, metric.WithAttributeSet(set)})
		}
	}
	if len(all) == 0 {
		return nil
	}
	_, err := m.Int64ObservableCounter(DroppedMetricName, metric.WithUnit("{item}"),
		metric.WithDescription("Telemetry that did not reach its exporter's endpoint, by signal and reason."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for _, s := range all {
				o.Observe(d.n[s.sig][s.r].Load(), s.opts)
			}
			return nil
		}))
	return err
}

type exportOutcome int

const (
	exportDelivered exportOutcome = iota
	exportRetry                   // a later attempt may succeed
	exportRejected                // refused for good
)

// partialSuccess matches the OTLP exporters' partial-success error (their
// type is internal, so its text is what can be read): the request was
// accepted, but the receiver rejected some of its items.
var partialSuccess = regexp.MustCompile(`(?s)OTLP partial success: .*\((\d+) (?:spans|metric data points) rejected\)`)

// classifyExport says what became of an export of n items that returned err,
// and how many of them were refused for good.
func classifyExport(err error, n int) (exportOutcome, int) {
	if err == nil {
		return exportDelivered, 0
	}
	if m := partialSuccess.FindStringSubmatch(err.Error()); m != nil {
		k, _ := strconv.Atoi(m[1])
		return exportDelivered, min(k, n)
	}
	if retryable(err) {
		return exportRetry, 0
	}
	return exportRejected, n
}

// retryable reports whether a later attempt of the same export may succeed:
// the endpoint could not be reached or did not answer in time, or said to
// come back (the OTLP specification's retryable gRPC codes and HTTP 429,
// 502, 503, 504).
func retryable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ue *url.Error // what the HTTP exporters return for a failed request
	if errors.As(err, &ue) {
		return transient(ue.Err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return transient(err)
	}
	if retry, isGRPC := grpcRetryable(err); isGRPC {
		return retry
	}
	// The HTTP exporters' answer to 429 and 502-504 once their own retries
	// are spent; the type is internal to them, the text is stable.
	return strings.Contains(err.Error(), "retry-able request failure")
}

// transient reports whether a request's transport error may pass on a
// later attempt: the endpoint is not listening, went away, is not in DNS
// yet, or did not answer in time. A TLS verification failure, a wrong
// scheme or an HTTP answer to an HTTPS request will not.
func transient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, io.EOF, io.ErrUnexpectedEOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

// countingMetricExporter counts the data points of the exports that fail.
// The periodic reader only hands the error to otel.Handle, and with the
// default cumulative temporality the next export carries the totals, so
// nothing is held: the count says how much of the outage's detail is gone.
type countingMetricExporter struct {
	sdkmetric.Exporter
	dropped *dropCounts
}

// Export exports and counts what failed.
func (e countingMetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	err := e.Exporter.Export(ctx, rm)
	if err == nil {
		return nil
	}
	n := dataPoints(rm)
	switch out, rejected := classifyExport(err, n); out {
	case exportRetry:
		e.dropped.add(signalMetrics, reasonExportFailed, n)
	default:
		e.dropped.add(signalMetrics, reasonRejected, rejected)
	}
	return err
}

// dataPoints counts the data points of rm.
func dataPoints(rm *metricdata.ResourceMetrics) int {
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				n += len(d.DataPoints)
			case metricdata.Gauge[float64]:
				n += len(d.DataPoints)
			case metricdata.Sum[int64]:
				n += len(d.DataPoints)
			case metricdata.Sum[float64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[int64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[float64]:
				n += len(d.DataPoints)
			case metricdata.ExponentialHistogram[int64]:
				n += len(d.DataPoints)
			case metricdata.ExponentialHistogram[float64]:
				n += len(d.DataPoints)
			case metricdata.Summary:
				n += len(d.DataPoints)
			}
		}
	}
	return n
}
