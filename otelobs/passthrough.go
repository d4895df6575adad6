package otelobs

import (
	"time"

	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// validatePassThrough checks the variables that the OTLP exporters and the SDK
// read themselves, for the exporters in use. Those would otherwise log a bad
// value at export time and silently fall back to a default.
func validatePassThrough(r *envReader, otlpMetrics, otlpTraces, traces bool) {
	r.readBy = "the OTLP exporter"
	defer func() { r.readBy = "" }()
	for _, sig := range []struct {
		prefix string
		used   bool
	}{{"", otlpMetrics || otlpTraces}, {"TRACES_", otlpTraces}, {"METRICS_", otlpMetrics}} {
		r.unused(!sig.used, func() { validateOTLP(r, "OTEL_EXPORTER_OTLP_"+sig.prefix) })
	}
	r.unused(!otlpMetrics, func() {
		r.oneOf(envTemporality, "cumulative", "cumulative", "delta", "lowmemory")
		r.oneOf(envHistogramAgg, "explicit_bucket_histogram", "explicit_bucket_histogram", "base2_exponential_bucket_histogram")
	})
	// The batch span processor's settings: a delay of 0 makes it spin, a
	// queue of 0 drops nearly every span. A timeout of 0 is the SDK's "no
	// timeout", a batch size of 0 exports spans one at a time.
	// Setup undoes a bad one (bspDefaults): the SDK would use 0.
	r.readBy = ""
	r.unused(!traces, func() {
		for _, name := range []string{"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE"} {
			r.sdkInt(name, 1, "a positive integer (milliseconds for the delay)")
		}
		for _, name := range []string{"OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"} {
			r.sdkInt(name, 0, "a non-negative integer (milliseconds for the timeout, 0: none)")
		}
	})
	// Span limits (spans are made with or without an exporter): a negative
	// value is the SDK's "no limit"; it ignores what it cannot parse.
	r.readBy = "the SDK"
	for _, name := range []string{
		"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
		"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
		"OTEL_SPAN_EVENT_COUNT_LIMIT", "OTEL_SPAN_LINK_COUNT_LIMIT",
		"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
	} {
		r.sdkInt(name, math.MinInt, "an integer (0, 1, 2, …; -1 for no limit)")
	}
}

// validateOTLP checks one level (generic, or one signal's) of the OTLP
// exporters' variables.
func validateOTLP(r *envReader, prefix string) {
	if v, ok := r.get(prefix + "ENDPOINT"); ok {
		u, err := url.Parse(v)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			r.fail(prefix+"ENDPOINT", redactURL(v), "not an http or https URL with a host",
				"a URL such as http://localhost:4317 (grpc) or http://localhost:4318 (http/protobuf)")
		case u.User != nil:
			// The exporters keep only the host of the URL: the
			// credentials would be dropped without a word.
			r.fail(prefix+"ENDPOINT", redactURL(v), "the OTLP exporters do not send credentials in the URL",
				"the URL without user:password@, and "+prefix+"HEADERS=Authorization=Basic%20<base64 of user:password>")
		}
	}
	r.bool(prefix+"INSECURE", false)
	r.millis(prefix+"TIMEOUT", 0, true)
	// The exporters compare the compression case-sensitively.
	if v, ok := r.get(prefix + "COMPRESSION"); ok && v != "gzip" && v != "none" {
		r.fail(prefix+"COMPRESSION", v, "unknown value (lower case only)", "gzip, none")
	}
	if v, ok := r.get(prefix + "HEADERS"); ok {
		validateHeaders(r, prefix+"HEADERS", v)
	}
	if v, ok := r.get(prefix + "CERTIFICATE"); ok {
		b, err := os.ReadFile(v)
		if err == nil && !x509.NewCertPool().AppendCertsFromPEM(b) {
			err = errors.New("no PEM certificate in it")
		}
		if err != nil {
			r.fail(prefix+"CERTIFICATE", v, "cannot use the file: "+err.Error(), "the path of a PEM file of CA certificates")
		}
	}
	validateClientPair(r, prefix)
}

// validateHeaders checks a key=value list; the values may hold secrets, so
// an error says where, never what.
func validateHeaders(r *envReader, name, v string) {
	const accepted = "comma-separated key=value pairs, values URL-encoded"
	for i, kv := range strings.Split(v, ",") {
		k, val, found := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		reason := ""
		switch {
		case !found:
			reason = fmt.Sprintf("element %d is not key=value", i+1)
		case !validHeaderKey(k):
			reason = fmt.Sprintf("element %d does not start with a valid header name", i+1)
		default:
			if _, err := url.PathUnescape(strings.TrimSpace(val)); err != nil {
				reason = fmt.Sprintf("the value of element %d (%s) has a bad %%-escape: write %%25 for a literal %%", i+1, k)
			}
		}
		if reason != "" {
			r.errs = append(r.errs, &EnvError{Var: name, Value: "<redacted>", Reason: reason, Accepted: accepted})
			return
		}
	}
}

// validateClientPair checks one level's client certificate and key. The
// exporters take the pair from one level only (both per signal, else both
// generic) and ignore half a pair, so a per-signal certificate with the
// generic key would send no certificate at all.
func validateClientPair(r *envReader, prefix string) {
	certVar, keyVar := prefix+"CLIENT_CERTIFICATE", prefix+"CLIENT_KEY"
	const accepted = "a client certificate and its key at the same level (both OTEL_EXPORTER_OTLP_CLIENT_*, or both OTEL_EXPORTER_OTLP_<SIGNAL>_CLIENT_*), or neither"
	cert, certOK := r.get(certVar)
	key, keyOK := r.get(keyVar)
	switch {
	case certOK && !keyOK:
		r.fail(certVar, cert, "set without "+keyVar+" (the exporters ignore half a pair)", accepted)
	case keyOK && !certOK:
		r.fail(keyVar, key, "set without "+certVar+" (the exporters ignore half a pair)", accepted)
	case certOK:
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			r.fail(certVar, cert, "cannot use it with "+keyVar+": "+err.Error(),
				"PEM files of a client certificate and its private key")
		}
	}
}

// sdkInt checks a variable the SDK reads itself, as it reads it: the raw
// value through strconv.Atoi, with no trimming (the SDK ignores " 512"
// silently and uses its default), at least min.
func (r *envReader) sdkInt(name string, min int, accepted string) {
	v, ok := r.lookup(name)
	if !ok || v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil && strings.TrimSpace(v) != v:
		r.fail(name, v, "has spaces, which the SDK does not trim: it would ignore the value", accepted)
	case err != nil:
		r.fail(name, v, "not an integer", accepted)
	case n < min:
		r.fail(name, v, "out of range", accepted)
	}
}

// validHeaderKey reports whether k is an HTTP header name (RFC 9110 token),
// as the OTLP exporters require.
func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// bspDefaults returns the batch span processor options that put back the
// SDK's default for each OTEL_BSP_* variable found bad.
func bspDefaults(errs []error) []sdktrace.BatchSpanProcessorOption {
	var out []sdktrace.BatchSpanProcessorOption
	for _, err := range errs {
		var e *EnvError
		if !errors.As(err, &e) {
			continue
		}
		switch e.Var {
		case "OTEL_BSP_SCHEDULE_DELAY":
			out = append(out, sdktrace.WithBatchTimeout(sdktrace.DefaultScheduleDelay*time.Millisecond))
		case "OTEL_BSP_EXPORT_TIMEOUT":
			out = append(out, sdktrace.WithExportTimeout(sdktrace.DefaultExportTimeout*time.Millisecond))
		case "OTEL_BSP_MAX_QUEUE_SIZE":
			out = append(out, sdktrace.WithMaxQueueSize(sdktrace.DefaultMaxQueueSize))
		case "OTEL_BSP_MAX_EXPORT_BATCH_SIZE":
			out = append(out, sdktrace.WithMaxExportBatchSize(sdktrace.DefaultMaxExportBatchSize))
		}
	}
	return out
}

// bspBatchSize is the largest batch the batch span processor hands over:
// OTEL_BSP_MAX_EXPORT_BATCH_SIZE, at most the queue size, as the SDK reads
// them (their defaults when unset or bad, as bspDefaults puts back).
func bspBatchSize(lookup lookupFunc, errs []error) int {
	read := func(name string, def int) int {
		for _, err := range errs {
			if e, ok := err.(*EnvError); ok && e.Var == name {
				return def
			}
		}
		if v, ok := lookup(name); ok && v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return n
			}
		}
		return def
	}
	return min(read("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", sdktrace.DefaultMaxExportBatchSize),
		read("OTEL_BSP_MAX_QUEUE_SIZE", sdktrace.DefaultMaxQueueSize))
}
