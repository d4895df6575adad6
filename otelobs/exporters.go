package otelobs

// Exporter selection is written here rather than delegated to
// go.opentelemetry.io/contrib/exporters/autoexport because autoexport
//   - accepts one exporter name per variable, not the comma lists the
//     specification allows (contrib issue #4471), so prometheus,otlp fails;
//   - serves its Prometheus reader on a server of its own, at a fixed path,
//     and without OpenMetrics negotiation, so no exemplar reaches Prometheus on
//     a normal scrape and the endpoint cannot share the application's port.
// The exporters themselves are the upstream OTel Go ones, which still read
// their own endpoint, header, TLS, timeout and compression variables.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/promexpo"
)

// newSpanExporters builds one exporter per name in OTEL_TRACES_EXPORTER. On
// error it still returns the exporters it built, for the caller to shut down.
func newSpanExporters(ctx context.Context, cfg config, s settings) ([]sdktrace.SpanExporter, error) {
	var out []sdktrace.SpanExporter
	for _, name := range s.tracesExporters {
		var (
			e   sdktrace.SpanExporter
			err error
		)
		switch name {
		case exporterOTLP:
			e, err = newOTLPSpanExporter(ctx, cfg, s)
		case exporterConsole:
			e, err = stdouttrace.New(stdouttrace.WithWriter(cfg.consoleWriter))
		}
		if err != nil {
			return out, fmt.Errorf("otelobs: create %s trace exporter: %w", name, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// newMetricReaders builds one reader per name in OTEL_METRICS_EXPORTER. The
// Prometheus reader's registry is returned so that the handler can serve it.
// On error, the readers built so far are shut down.
func newMetricReaders(ctx context.Context, cfg config, s settings, dropped *dropCounts) (readers []sdkmetric.Reader, promGatherer prometheus.Gatherer, err error) {
	defer func() {
		if err != nil {
			for _, r := range readers {
				err = errors.Join(err, r.Shutdown(context.WithoutCancel(ctx)))
			}
			readers = nil
		}
	}()
	periodic := []sdkmetric.PeriodicReaderOption{
		sdkmetric.WithInterval(s.exportInterval),
		sdkmetric.WithTimeout(s.exportTimeout),
	}
	for _, name := range s.metricsExporters {
		switch name {
		case exporterPrometheus:
			exp, reg, err := PrometheusReader()
			if err != nil {
				return readers, nil, err
			}
			readers = append(readers, exp)
			promGatherer = reg
		case exporterOTLP:
			exp, err := newOTLPMetricExporter(ctx, cfg, s)
			if err != nil {
				return readers, nil, fmt.Errorf("otelobs: create otlp metric exporter: %w", err)
			}
			dropped.used[signalMetrics] = true
			readers = append(readers, sdkmetric.NewPeriodicReader(countingMetricExporter{exp, dropped}, periodic...))
		case exporterConsole:
			exp, err := stdoutmetric.New(stdoutmetric.WithWriter(cfg.consoleWriter))
			if err != nil {
				return readers, nil, fmt.Errorf("otelobs: create console metric exporter: %w", err)
			}
			readers = append(readers, sdkmetric.NewPeriodicReader(exp, periodic...))
		}
	}
	return readers, promGatherer, nil
}

// endpointSet reports whether an endpoint variable applies to the signal.
func endpointSet(lookup lookupFunc, signal string) bool {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_" + signal + "_ENDPOINT", envOTLPEndpoint} {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// otlpEndpoint resolves the endpoint the OTLP exporter of a signal ("TRACES"
// or "METRICS") will use, the way the exporters do, for the start-up log.
func otlpEndpoint(lookup lookupFunc, signal, protocol string) string {
	return redactURL(rawOTLPEndpoint(lookup, signal, protocol))
}

// userinfo matches the user info of a URL that may not parse.
var userinfo = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)?[^/@]*@`)

// redactURL hides the password of a URL with user info, for logs and
// errors; a URL that does not parse loses all of its user info.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil && u.Host != "" {
		return u.Redacted()
	}
	return userinfo.ReplaceAllString(s, "${1}xxxxx@")
}

func rawOTLPEndpoint(lookup lookupFunc, signal, protocol string) string {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	if v := get("OTEL_EXPORTER_OTLP_" + signal + "_ENDPOINT"); v != "" {
		return v
	}
	base := get(envOTLPEndpoint)
	if protocol == protocolGRPC {
		if base == "" {
			return "http://localhost:4317"
		}
		return base
	}
	if base == "" {
		base = "http://localhost:4318"
	}
	return strings.TrimSuffix(base, "/") + "/v1/" + strings.ToLower(signal)
}

// PrometheusReader returns a metric reader that exports to Prometheus as
// Setup's pull path does, for an SDK set up by hand, and the gatherer to
// serve with PrometheusHandler. Series names are pinned to the
// UnderscoreEscapingWithSuffixes translation (the same names as through
// the Collector and Prometheus's OTLP receiver), and the otel_scope_*
// labels are left out (the OTLP path does not add them either, and they
// double a scrape's size). Gathered as a prometheus.Gatherer, it renders
// through the OTel Prometheus exporter; served by PrometheusHandler, the
// text formats are written directly, with the same bytes, at less than
// client_golang's cost (docs/benchmarks.md).
func PrometheusReader() (sdkmetric.Reader, prometheus.Gatherer, error) {
	src := promexpo.New()
	return src.Reader(), src, nil
}
