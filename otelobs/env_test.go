package otelobs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func mapLookup(m map[string]string) lookupFunc {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestLoadSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, err := loadSettings(mapLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.disabled {
		t.Error("disabled by default")
	}
	if !slices.Equal(s.metricsExporters, []string{"prometheus"}) {
		t.Errorf("metrics exporters = %v, want [prometheus]", s.metricsExporters)
	}
	if s.tracesExporters != nil {
		t.Errorf("traces exporters = %v, want none without an endpoint", s.tracesExporters)
	}
	if s.metricsProtocol != "http/protobuf" || s.tracesProtocol != "http/protobuf" {
		t.Errorf("protocols = %q, %q", s.metricsProtocol, s.tracesProtocol)
	}
	if s.exportInterval != 15*time.Second || s.exportTimeout != 30*time.Second {
		t.Errorf("interval, timeout = %v, %v", s.exportInterval, s.exportTimeout)
	}
	if s.exemplarFilterName != "trace_based" || s.samplerName != "parentbased_always_on" {
		t.Errorf("exemplar filter %q, sampler %q", s.exemplarFilterName, s.samplerName)
	}
	if !slices.Equal(s.propagatorNames, []string{"tracecontext", "baggage"}) {
		t.Errorf("propagators = %v", s.propagatorNames)
	}
	if s.prometheusListen || s.prometheusHost != "localhost" || s.prometheusPort != 9464 {
		t.Errorf("prometheus listener = %v %s:%d", s.prometheusListen, s.prometheusHost, s.prometheusPort)
	}
	if s.cardinalityLimitSet || s.logLevel != slog.LevelInfo || s.logOff {
		t.Errorf("cardinality %v, log level %v off %v", s.cardinalityLimitSet, s.logLevel, s.logOff)
	}
}

// TestLoadSettingsValues covers every variable Setup interprets, with each
// accepted value.
func TestLoadSettingsValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, s settings)
	}{
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "TRUE"}, func(t *testing.T, s settings) {
			if !s.disabled {
				t.Error("not disabled")
			}
		}},
		{"sdk enabled", map[string]string{"OTEL_SDK_DISABLED": "false"}, func(t *testing.T, s settings) {
			if s.disabled {
				t.Error("disabled")
			}
		}},
		{"empty value is unset", map[string]string{"OTEL_METRICS_EXPORTER": "  "}, func(t *testing.T, s settings) {
			if !slices.Equal(s.metricsExporters, []string{"prometheus"}) {
				t.Errorf("got %v", s.metricsExporters)
			}
		}},
		{"metrics list", map[string]string{"OTEL_METRICS_EXPORTER": "Prometheus, otlp,console,otlp"}, func(t *testing.T, s settings) {
			if !slices.Equal(s.metricsExporters, []string{"prometheus", "otlp", "console"}) {
				t.Errorf("got %v", s.metricsExporters)
			}
		}},
		{"metrics none", map[string]string{"OTEL_METRICS_EXPORTER": "none"}, func(t *testing.T, s settings) {
			if s.metricsExporters != nil {
				t.Errorf("got %v", s.metricsExporters)
			}
		}},
		{"traces list", map[string]string{"OTEL_TRACES_EXPORTER": "otlp,console"}, func(t *testing.T, s settings) {
			if !slices.Equal(s.tracesExporters, []string{"otlp", "console"}) {
				t.Errorf("got %v", s.tracesExporters)
			}
		}},
		{"traces default with endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, func(t *testing.T, s settings) {
			if !slices.Equal(s.tracesExporters, []string{"otlp"}) {
				t.Errorf("got %v", s.tracesExporters)
			}
		}},
		{"traces default with traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, func(t *testing.T, s settings) {
			if !slices.Equal(s.tracesExporters, []string{"otlp"}) {
				t.Errorf("got %v", s.tracesExporters)
			}
		}},
		{"traces none wins over endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, func(t *testing.T, s settings) {
			if s.tracesExporters != nil {
				t.Errorf("got %v", s.tracesExporters)
			}
		}},
		{"protocol grpc", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, func(t *testing.T, s settings) {
			if s.metricsProtocol != "grpc" || s.tracesProtocol != "grpc" {
				t.Errorf("got %q %q", s.metricsProtocol, s.tracesProtocol)
			}
		}},
		{"per-signal protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, func(t *testing.T, s settings) {
			if s.metricsProtocol != "http/protobuf" || s.tracesProtocol != "grpc" {
				t.Errorf("got %q %q", s.metricsProtocol, s.tracesProtocol)
			}
		}},
		{"interval and timeout", map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "500", "OTEL_METRIC_EXPORT_TIMEOUT": "250"}, func(t *testing.T, s settings) {
			if s.exportInterval != 500*time.Millisecond || s.exportTimeout != 250*time.Millisecond {
				t.Errorf("got %v %v", s.exportInterval, s.exportTimeout)
			}
		}},
		{"exemplar always_on", map[string]string{"OTEL_METRICS_EXEMPLAR_FILTER": "always_on"}, func(t *testing.T, s settings) {
			if s.exemplarFilterName != "always_on" {
				t.Errorf("got %q", s.exemplarFilterName)
			}
		}},
		{"exemplar always_off", map[string]string{"OTEL_METRICS_EXEMPLAR_FILTER": "ALWAYS_OFF"}, func(t *testing.T, s settings) {
			if s.exemplarFilterName != "always_off" {
				t.Errorf("got %q", s.exemplarFilterName)
			}
		}},
		{"sampler ratio", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, func(t *testing.T, s settings) {
			if s.samplerName != "parentbased_traceidratio(0.25)" {
				t.Errorf("got %q", s.samplerName)
			}
		}},
		{"sampler ratio default arg", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio"}, func(t *testing.T, s settings) {
			if s.samplerName != "traceidratio(1)" {
				t.Errorf("got %q", s.samplerName)
			}
		}},
		{"sampler arg ignored for always_on", map[string]string{"OTEL_TRACES_SAMPLER": "always_on", "OTEL_TRACES_SAMPLER_ARG": "nonsense"}, func(t *testing.T, s settings) {
			if s.samplerName != "always_on" {
				t.Errorf("got %q", s.samplerName)
			}
		}},
		{"propagators", map[string]string{"OTEL_PROPAGATORS": "b3, tracecontext"}, func(t *testing.T, s settings) {
			if !slices.Equal(s.propagatorNames, []string{"b3", "tracecontext"}) {
				t.Errorf("got %v", s.propagatorNames)
			}
			if f := s.propagator.Fields(); !slices.Contains(f, "traceparent") || !slices.Contains(f, "b3") {
				t.Errorf("fields = %v", f)
			}
		}},
		{"propagators none", map[string]string{"OTEL_PROPAGATORS": "none"}, func(t *testing.T, s settings) {
			if len(s.propagator.Fields()) != 0 {
				t.Errorf("fields = %v", s.propagator.Fields())
			}
		}},
		{"prometheus port only", map[string]string{"OTEL_EXPORTER_PROMETHEUS_PORT": "0"}, func(t *testing.T, s settings) {
			if !s.prometheusListen || s.prometheusHost != "localhost" || s.prometheusPort != 0 {
				t.Errorf("got %v %s:%d", s.prometheusListen, s.prometheusHost, s.prometheusPort)
			}
		}},
		{"prometheus host only", map[string]string{"OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0"}, func(t *testing.T, s settings) {
			if !s.prometheusListen || s.prometheusHost != "0.0.0.0" || s.prometheusPort != 9464 {
				t.Errorf("got %v %s:%d", s.prometheusListen, s.prometheusHost, s.prometheusPort)
			}
		}},
		{"cardinality", map[string]string{"OTELOBS_CARDINALITY_LIMIT": "500"}, func(t *testing.T, s settings) {
			if !s.cardinalityLimitSet || s.cardinalityLimit != 500 {
				t.Errorf("got %v %d", s.cardinalityLimitSet, s.cardinalityLimit)
			}
		}},
		{"log debug", map[string]string{"OTEL_LOG_LEVEL": "debug"}, func(t *testing.T, s settings) {
			if s.logLevel != slog.LevelDebug {
				t.Errorf("got %v", s.logLevel)
			}
		}},
		{"log none", map[string]string{"OTEL_LOG_LEVEL": "none"}, func(t *testing.T, s settings) {
			if !s.logOff {
				t.Error("not off")
			}
		}},
		{"pass-through values accepted", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":                              "https://collector.example:4317",
			"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT":                      "http://127.0.0.1:4318/v1/metrics",
			"OTEL_EXPORTER_OTLP_HEADERS":                               "api-key=abc%20def,x-tenant=1",
			"OTEL_EXPORTER_OTLP_TIMEOUT":                               "0",
			"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION":                    "gzip",
			"OTEL_EXPORTER_OTLP_INSECURE":                              "true",
			"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE":        "delta",
			"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "base2_exponential_bucket_histogram",
			"OTEL_BSP_MAX_QUEUE_SIZE":                                  "4096",
		}, func(t *testing.T, s settings) {}},
		{"no limit", map[string]string{"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "-1", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "-1"}, func(t *testing.T, s settings) {}},
		{"bsp zeros the SDK accepts", map[string]string{"OTEL_BSP_EXPORT_TIMEOUT": "0", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "0"}, func(t *testing.T, s settings) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := loadSettings(mapLookup(tt.env))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			tt.check(t, s)
		})
	}
}

// TestLoadSettingsBadValues: every bad value is an *EnvError naming the
// variable, the value and what is accepted.
func TestLoadSettingsBadValues(t *testing.T) {
	t.Parallel()
	pem := filepath.Join(t.TempDir(), "missing.pem")
	notPEM := filepath.Join(t.TempDir(), "truncated.pem")
	if err := os.WriteFile(notPEM, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		variable string
		wantText []string
	}{
		{"disabled not bool", map[string]string{"OTEL_SDK_DISABLED": "yes"}, "OTEL_SDK_DISABLED", []string{`"yes"`, "true, false"}},
		{"config file", map[string]string{"OTEL_CONFIG_FILE": "/etc/otel.yaml"}, "OTEL_CONFIG_FILE", []string{"otelconf"}},
		{"unknown metrics exporter", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus,foo"}, "OTEL_METRICS_EXPORTER", []string{`"foo"`, "prometheus, otlp, console, none"}},
		{"logging renamed", map[string]string{"OTEL_METRICS_EXPORTER": "logging"}, "OTEL_METRICS_EXPORTER", []string{"console"}},
		{"none combined", map[string]string{"OTEL_METRICS_EXPORTER": "none,otlp"}, "OTEL_METRICS_EXPORTER", []string{"cannot be combined"}},
		{"empty list element", map[string]string{"OTEL_METRICS_EXPORTER": "otlp,,prometheus"}, "OTEL_METRICS_EXPORTER", []string{"empty element"}},
		{"prometheus traces", map[string]string{"OTEL_TRACES_EXPORTER": "prometheus"}, "OTEL_TRACES_EXPORTER", []string{"otlp, console, none"}},
		{"zipkin traces", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER", []string{"zipkin exporter"}},
		{"protocol json", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL", []string{"grpc, http/protobuf"}},
		{"protocol unknown", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "udp"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", []string{"grpc, http/protobuf"}},
		{"metrics protocol unknown", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "thrift"}, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", []string{"grpc, http/protobuf"}},
		{"interval text", map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "15s"}, "OTEL_METRIC_EXPORT_INTERVAL", []string{"milliseconds"}},
		{"interval zero", map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "0"}, "OTEL_METRIC_EXPORT_INTERVAL", []string{"positive"}},
		{"timeout negative", map[string]string{"OTEL_METRIC_EXPORT_TIMEOUT": "-5"}, "OTEL_METRIC_EXPORT_TIMEOUT", []string{"milliseconds"}},
		{"exemplar filter", map[string]string{"OTEL_METRICS_EXEMPLAR_FILTER": "sometimes"}, "OTEL_METRICS_EXEMPLAR_FILTER", []string{"trace_based, always_on, always_off"}},
		{"sampler unknown", map[string]string{"OTEL_TRACES_SAMPLER": "random"}, "OTEL_TRACES_SAMPLER", []string{"parentbased_always_on"}},
		{"sampler jaeger remote", map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"}, "OTEL_TRACES_SAMPLER", []string{"not implemented"}},
		{"sampler arg range", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG", []string{"0 to 1"}},
		{"sampler arg text", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, "OTEL_TRACES_SAMPLER_ARG", []string{"0 to 1"}},
		{"propagator unknown", map[string]string{"OTEL_PROPAGATORS": "tracecontext,w3c"}, "OTEL_PROPAGATORS", []string{"w3c", "b3multi"}},
		{"prometheus port text", map[string]string{"OTEL_EXPORTER_PROMETHEUS_PORT": "http"}, "OTEL_EXPORTER_PROMETHEUS_PORT", []string{"65535"}},
		{"prometheus port range", map[string]string{"OTEL_EXPORTER_PROMETHEUS_PORT": "70000"}, "OTEL_EXPORTER_PROMETHEUS_PORT", []string{"65535"}},
		{"log level", map[string]string{"OTEL_LOG_LEVEL": "verbose"}, "OTEL_LOG_LEVEL", []string{"debug, info, warn, error, none"}},
		{"cardinality", map[string]string{"OTELOBS_CARDINALITY_LIMIT": "-1"}, "OTELOBS_CARDINALITY_LIMIT", []string{"non-negative"}},
		{"endpoint no scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT", []string{"http://localhost:4317"}},
		{"endpoint with credentials", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://bob:secret@c:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT",
			[]string{"do not send credentials", "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic%20", "bob:xxxxx@c:4318"}},
		{"unparsable endpoint with credentials", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://bob:secret%zz@c:4318"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
			[]string{"not an http or https URL", "http://xxxxx@c:4318"}},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://x"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", []string{"URL"}},
		{"metrics endpoint", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://"}, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", []string{"URL"}},
		{"insecure", map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "1"}, "OTEL_EXPORTER_OTLP_INSECURE", []string{"true, false"}},
		{"traces insecure", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_INSECURE": "yes"}, "OTEL_EXPORTER_OTLP_TRACES_INSECURE", []string{"true, false"}},
		{"timeout", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT", []string{"milliseconds"}},
		{"metrics timeout", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "-1"}, "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", []string{"milliseconds"}},
		{"compression", map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "OTEL_EXPORTER_OTLP_COMPRESSION", []string{"gzip, none"}},
		{"compression upper case", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "GZIP"}, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", []string{"lower case"}},
		{"sampler arg NaN", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "NaN"}, "OTEL_TRACES_SAMPLER_ARG", []string{"0 to 1"}},
		{"propagators empty element", map[string]string{"OTEL_PROPAGATORS": ","}, "OTEL_PROPAGATORS", []string{"empty element"}},
		{"header name", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "bad key=secret"}, "OTEL_EXPORTER_OTLP_HEADERS", []string{"element 1"}},
		{"header secret with a comma", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer secret,secret2"}, "OTEL_EXPORTER_OTLP_HEADERS", []string{"element 2"}},
		{"headers", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=secret,broken"}, "OTEL_EXPORTER_OTLP_HEADERS", []string{"key=value"}},
		{"traces headers", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "=secret"}, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", []string{"key=value"}},
		{"certificate missing", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": pem}, "OTEL_EXPORTER_OTLP_CERTIFICATE", []string{"PEM"}},
		{"certificate not PEM", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": notPEM}, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", []string{"no PEM certificate"}},
		{"client key without certificate", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY": pem}, "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", []string{"set without OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE"}},
		{"signal certificate with generic key", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": pem, "OTEL_EXPORTER_OTLP_CLIENT_KEY": pem},
			"OTEL_EXPORTER_OTLP_CLIENT_KEY", []string{"ignore half a pair", "same level"}},
		{"header bad escape", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=50%off"}, "OTEL_EXPORTER_OTLP_HEADERS", []string{"element 1 (api-key)", "bad %-escape", "%25"}},
		{"client certificate without key", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": pem}, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", []string{"set without"}},
		{"client pair unusable", map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": notPEM, "OTEL_EXPORTER_OTLP_CLIENT_KEY": notPEM}, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", []string{"PEM files"}},
		{"temporality", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "monotonic"}, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", []string{"cumulative, delta, lowmemory"}},
		{"histogram aggregation", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "native"}, "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", []string{"base2_exponential_bucket_histogram"}},
		{"bsp queue", map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "lots"}, "OTEL_BSP_MAX_QUEUE_SIZE", []string{"not an integer", "positive"}},
		{"bsp queue zero", map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "0"}, "OTEL_BSP_MAX_QUEUE_SIZE", []string{"out of range", "positive"}},
		{"bsp delay zero", map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "0"}, "OTEL_BSP_SCHEDULE_DELAY", []string{"out of range", "milliseconds"}},
		{"bsp spaces", map[string]string{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": " 512"}, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", []string{"does not trim"}},
		{"bsp timeout negative", map[string]string{"OTEL_BSP_EXPORT_TIMEOUT": "-1"}, "OTEL_BSP_EXPORT_TIMEOUT", []string{"out of range", "0: none"}},
		{"span limit text", map[string]string{"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "many"}, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", []string{"-1 for no limit"}},
		{"span limit spaces", map[string]string{"OTEL_SPAN_EVENT_COUNT_LIMIT": "128 "}, "OTEL_SPAN_EVENT_COUNT_LIMIT", []string{"does not trim"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// With both signals on OTLP, every exporter variable is read.
			env := map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_TRACES_EXPORTER": "otlp"}
			maps.Copy(env, tt.env)
			_, err := loadSettings(mapLookup(env))
			if err == nil {
				t.Fatal("no error")
			}
			var envErr *EnvError
			if !errors.As(err, &envErr) {
				t.Fatalf("error %v is not an *EnvError", err)
			}
			if envErr.Var != tt.variable {
				t.Errorf("Var = %q, want %q", envErr.Var, tt.variable)
			}
			msg := err.Error()
			for _, want := range append([]string{tt.variable, "accepted:"}, tt.wantText...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("error %q leaks a header value", msg)
			}
		})
	}
}

func TestLoadSettingsReportsAllErrors(t *testing.T) {
	t.Parallel()
	_, err := loadSettings(mapLookup(map[string]string{
		"OTEL_METRICS_EXPORTER": "prom",
		"OTEL_TRACES_SAMPLER":   "sometimes",
		"OTEL_PROPAGATORS":      "w3c",
	}))
	for _, v := range []string{"OTEL_METRICS_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_PROPAGATORS"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("error %v does not name %s", err, v)
		}
	}
}

func TestLoadSettingsCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "otelobs test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSettings(mapLookup(map[string]string{
		"OTEL_EXPORTER_OTLP_CERTIFICATE":        certPath,
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": certPath,
		"OTEL_EXPORTER_OTLP_CLIENT_KEY":         keyPath,
	})); err != nil {
		t.Fatal(err)
	}
	// A pair per signal, beside a generic one.
	if _, err := loadSettings(mapLookup(map[string]string{
		"OTEL_METRICS_EXPORTER":                         "otlp",
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE":         certPath,
		"OTEL_EXPORTER_OTLP_CLIENT_KEY":                 keyPath,
		"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY":         keyPath,
		"OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE": certPath,
	})); err != nil {
		t.Fatal(err)
	}
	// The signal's key with the generic certificate is no pair: the
	// exporters would send no certificate (the mTLS e2e test shows it).
	_, err = loadSettings(mapLookup(map[string]string{
		"OTEL_TRACES_EXPORTER":                  "otlp",
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": certPath,
		"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY":  keyPath,
	}))
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY") {
		t.Errorf("mixed levels = %v, want an error", err)
	}
}

// TestLoadSettingsSkipsUnusedExporters: the variables of an exporter that is
// not selected are read by nothing, and a bad value there is no problem.
func TestLoadSettingsSkipsUnusedExporters(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"OTEL_EXPORTER_OTLP_HEADERS":                        "broken",
		"OTEL_EXPORTER_OTLP_PROTOCOL":                       "udp",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "monotonic",
		"OTEL_METRIC_EXPORT_INTERVAL":                       "fast",
		"OTEL_BSP_MAX_QUEUE_SIZE":                           "0",
	}
	env := map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_TRACES_EXPORTER": "none"}
	maps.Copy(env, bad)
	if _, err := loadSettings(mapLookup(env)); err != nil {
		t.Errorf("no OTLP exporter: %v", err)
	}
	env["OTEL_TRACES_EXPORTER"] = "otlp"
	_, err := loadSettings(mapLookup(env))
	for _, v := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_BSP_MAX_QUEUE_SIZE"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("traces on OTLP: %v does not name %s", err, v)
		}
	}
	for _, v := range []string{"TEMPORALITY", "OTEL_METRIC_EXPORT_INTERVAL"} {
		if err != nil && strings.Contains(err.Error(), v) {
			t.Errorf("traces on OTLP: %v names the metrics' %s", err, v)
		}
	}
}

func TestOTLPEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env              map[string]string
		signal, protocol string
		want             string
	}{
		{nil, "TRACES", "http/protobuf", "http://localhost:4318/v1/traces"},
		{nil, "METRICS", "grpc", "http://localhost:4317"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, "METRICS", "http/protobuf", "http://c:4318/v1/metrics"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, "TRACES", "grpc", "http://c:4317"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:1/x"}, "TRACES", "http/protobuf", "http://t:1/x"},
		// For logs: a password in the URL is hidden.
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://user:hunter2@c:4318"}, "METRICS", "http/protobuf", "https://user:xxxxx@c:4318/v1/metrics"},
	}
	for in, want := range map[string]string{
		"https://u:p@c:4318":   "https://u:xxxxx@c:4318",
		"http://u:p%zz@c:4318": "http://xxxxx@c:4318",
		"u:p@c:4318":           "xxxxx@c:4318",
		"http://c:4318/a@b":    "http://c:4318/a@b",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tt := range tests {
		if got := otlpEndpoint(mapLookup(tt.env), tt.signal, tt.protocol); got != tt.want {
			t.Errorf("otlpEndpoint(%v, %s, %s) = %q, want %q", tt.env, tt.signal, tt.protocol, got, tt.want)
		}
	}
}

// TestSummaryHidesSecrets: the start-up summary, which apps log, shows no
// header value.
func TestSummaryHidesSecrets(t *testing.T) {
	t.Parallel()
	tel, err := Setup(t.Context(), withLookupEnv(mapLookup(map[string]string{
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
		"OTEL_EXPORTER_OTLP_HEADERS":  "Authorization=Bearer%20sekrit-token",
	})), WithoutGlobals(), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = tel.Shutdown(ctx)
	}()
	s := fmt.Sprintf("%s %+v", tel.Summary(), tel.Summary())
	if strings.Contains(s, "sekrit") {
		t.Errorf("the summary shows a secret: %s", s)
	}
	if !strings.Contains(s, "127.0.0.1:1") {
		t.Errorf("the summary lacks the endpoint: %s", s)
	}
}
