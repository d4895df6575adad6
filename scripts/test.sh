#!/usr/bin/env bash
# The project's test command (README, and .ci/run). On a fresh machine it first
# builds the pinned backends and tools (~18 min cold, 0 s when installed), then:
#   gofmt, go vet and staticcheck over every package (e2e files included), and
#   every test, unit and end-to-end against real Prometheus, Collector and
#   Jaeger processes on 127.0.0.1, with the race detector.
# Extra arguments go to `go test` (for example -run TestE2EPull -v).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export OTELOBS_BACKENDS_DIR=${OTELOBS_BACKENDS_DIR:-$HOME/.cache/otelobs/backends}
bash scripts/install-backends.sh
tools=$OTELOBS_BACKENDS_DIR/bin

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== go vet"
go vet -tags e2e ./...

echo "== staticcheck"
"$tools/staticcheck" -tags e2e ./...

echo "== the pull-only build (-tags otelobs_nootlp)"
go vet -tags otelobs_nootlp ./otelobs/
go test -race -tags otelobs_nootlp -count=1 -run 'TestNoOTLPBuild' ./otelobs/

echo "== go test -race (unit + e2e)"
go test -race -tags e2e -count=1 -timeout 20m "$@" ./...
