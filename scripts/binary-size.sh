#!/usr/bin/env bash
# Builds, stripped, the programs of docs/benchmarks.md's "Binary size" table
# (Setup with and without the OTLP exporters, and the SDK by hand with pull
# only) and prints their sizes in bytes. Nothing is kept in the repository.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=$(mktemp -d "$PWD/.sizecheck.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/setup" "$dir/pull"
cat > "$dir/setup/main.go" <<'GO'
package main

import (
	"context"
	"net/http"

	"github.com/agentorchestrator/observability/otelobs"
	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
)

func main() {
	tel, _ := otelobs.Setup(context.Background())
	_, _ = gitmetrics.New()
	_ = http.ListenAndServe("127.0.0.1:0", tel.MetricsHandler())
}
GO
cat > "$dir/pull/main.go" <<'GO'
package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
)

func main() {
	reg := prometheus.NewRegistry()
	exp, _ := otelprom.New(otelprom.WithRegisterer(reg))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	_, _ = gitmetrics.New(gitmetrics.WithMeterProvider(mp), gitmetrics.WithTracerProvider(sdktrace.NewTracerProvider()))
	_ = http.ListenAndServe("127.0.0.1:0", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}
GO
build() { go build -trimpath -ldflags="-s -w" "$@"; }
rel=./${dir#"$PWD/"}
build -o "$dir/a" "$rel/setup";                       echo "Setup:                      $(stat -c %s "$dir/a")"
build -tags otelobs_nootlp -o "$dir/b" "$rel/setup";  echo "Setup, -tags otelobs_nootlp: $(stat -c %s "$dir/b")"
build -o "$dir/c" "$rel/pull";                        echo "SDK by hand, pull only:     $(stat -c %s "$dir/c")"
