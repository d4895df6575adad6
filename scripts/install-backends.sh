#!/usr/bin/env bash
# Installs the real backends the end-to-end tests run, natively, pinned:
#   Prometheus 3.16.0 + promtool, Alertmanager 0.35.0 + amtool, Jaeger v2.13.0,
#   and an OpenTelemetry Collector built by the Collector Builder from
#   collector/builder-config.yaml; the Go tools the test command runs
#   (staticcheck, benchstat); and Debian's chromium for the browser tests.
#
# Everything is built from source through the Go module proxy (no prebuilt
# downloads). Binaries go to $OTELOBS_BACKENDS_DIR (default
# $HOME/.cache/otelobs/backends), outside the clone so that later clones on the
# same machine reuse them; .tools in the repo is a git-ignored link to it.
#
# Idempotent: each binary has a stamp file recording what it was built from;
# a binary whose stamp matches is not rebuilt. A cold run takes ~18 min on
# 2 cores and needs ~10 GB of free disk for the Go caches; a warm one, 0 s.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${OTELOBS_BACKENDS_DIR:-$HOME/.cache/otelobs/backends}
BIN=$DEST/bin

PROMETHEUS_MODULE_VERSION=v0.316.0   # Prometheus 3.16.0
ALERTMANAGER_VERSION=v0.35.0
JAEGER_MODULE_VERSION=v1.76.0        # Jaeger v2.13.0
BUILDER_VERSION=v0.165.0             # Collector Builder (ocb)
STATICCHECK_VERSION=v0.8.2           # honnef.co/go/tools
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da  # golang.org/x/perf

mkdir -p "$BIN"
ln -sfn "$DEST" "$ROOT/.tools"

# One installer at a time per destination.
exec 9>"$DEST/.lock"
if command -v flock >/dev/null; then flock 9; fi

log() { printf '[install-backends] %s\n' "$*" >&2; }

# fresh NAME STAMP: true when $BIN/NAME exists and was built from STAMP.
fresh() {
  [[ -x "$BIN/$1" && -f "$BIN/$1.stamp" && "$(cat "$BIN/$1.stamp")" == "$2" ]]
}

stamp() { printf '%s' "$2" >"$BIN/$1.stamp"; }

# Backends are built outside the project's module: their dependency graphs
# (Jaeger pins an older Collector) must not meet ours under MVS.
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0

install_go() { # NAME STAMP PACKAGE@VERSION [TAGS]
  local name=$1 st=$2 pkg=$3 tags=${4:-}
  if fresh "$name" "$st"; then return; fi
  log "building $name ($pkg)"
  local t0=$SECONDS
  GOBIN="$BIN" go install ${tags:+-tags "$tags"} -ldflags='-s -w' "$pkg"
  stamp "$name" "$st"
  log "$name built in $((SECONDS - t0)) s"
}

# Prometheus without service discovery plugins: static and file SD remain,
# which is all the tests and the local stack use; it halves the build.
install_go prometheus "prometheus $PROMETHEUS_MODULE_VERSION" \
  "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_MODULE_VERSION" remove_all_sd
install_go promtool "promtool $PROMETHEUS_MODULE_VERSION" \
  "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" remove_all_sd
# Alertmanager embeds its web UI from ui/app/dist, which its module does not
# ship (it is an npm build). Build from a writable copy of the module with a
# placeholder page there; the HTTP API, which is all the tests use, is intact.
if ! fresh alertmanager "alertmanager $ALERTMANAGER_VERSION"; then
  log "building alertmanager ($ALERTMANAGER_VERSION)"
  t0=$SECONDS
  work=$DEST/build/alertmanager
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && go mod init otelobs.local/amfetch >/dev/null 2>&1 &&
    go mod download "github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION")
  src=$(cd "$work" && go mod download -json "github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
  for d in elm mantine; do
    mkdir -p "$work/src/ui/app/dist/$d"
    echo '<!doctype html><title>Alertmanager</title><p>Web UI not built; the API is at /api/v2/.' \
      >"$work/src/ui/app/dist/$d/index.html"
  done
  (cd "$work/src" && go build -ldflags='-s -w' -o "$BIN/alertmanager" ./cmd/alertmanager)
  stamp alertmanager "alertmanager $ALERTMANAGER_VERSION"
  log "alertmanager built in $((SECONDS - t0)) s"
fi
install_go amtool "amtool $ALERTMANAGER_VERSION" \
  "github.com/prometheus/alertmanager/cmd/amtool@$ALERTMANAGER_VERSION"

# Collector: the builder generates a module from the manifest and compiles it.
manifest=$ROOT/collector/builder-config.yaml
col_stamp="otelcol $BUILDER_VERSION $(sha256sum "$manifest" | cut -c1-16)"
if ! fresh otelcol "$col_stamp"; then
  install_go builder "builder $BUILDER_VERSION" "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
  log "building otelcol from $manifest"
  t0=$SECONDS
  work=$DEST/build/otelcol
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && "$BIN/builder" --config "$manifest" --ldflags='-s -w' >build.log 2>&1) || {
    tail -n 50 "$work/build.log" >&2; exit 1; }
  install -m 0755 "$work/_build/otelcol-otelobs" "$BIN/otelcol"
  stamp otelcol "$col_stamp"
  log "otelcol built in $((SECONDS - t0)) s"
fi

# Jaeger: `go install` refuses its module (replace directives), so build it
# as a tool dependency of a scratch module.
if ! fresh jaeger "jaeger $JAEGER_MODULE_VERSION"; then
  log "building jaeger ($JAEGER_MODULE_VERSION)"
  t0=$SECONDS
  work=$DEST/build/jaeger
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && go mod init otelobs.local/jaegerbuild >/dev/null 2>&1 &&
    go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_MODULE_VERSION" &&
    go build -ldflags='-s -w' -o "$BIN/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger)
  stamp jaeger "jaeger $JAEGER_MODULE_VERSION"
  log "jaeger built in $((SECONDS - t0)) s"
fi

install_go staticcheck "staticcheck $STATICCHECK_VERSION" "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
install_go benchstat "benchstat $BENCHSTAT_VERSION" "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"

# Chromium, for the view's browser tests: Debian's package (its version is
# the Debian release's; apt cannot pin an older one once the archive moves
# on), with DejaVu fonts so that pages render alike on every machine.
# Installed once; a later run only checks it is there.
if ! command -v chromium >/dev/null || ! dpkg -s fonts-dejavu-core >/dev/null 2>&1; then
  log "installing chromium and fonts-dejavu-core (Debian packages)"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null ||
    { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
fi
log "chromium: $(chromium --version 2>/dev/null || echo missing)"

rm -rf "$DEST/build"
log "backends ready in $BIN"
