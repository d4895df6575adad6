#!/usr/bin/env bash
# The observability stack without Docker: Prometheus, Alertmanager, the
# OpenTelemetry Collector and Jaeger from the installed binaries
# (scripts/install-backends.sh), with this folder's configuration files, and
# `otelobs view` (built from this module with go) drawing the dashboard on
# GRAFANA_PORT, all listening on 127.0.0.1 only. For machines where Docker
# networking is the problem (the guide's most common issue): the API on the
# host is then simply 127.0.0.1:API_PORT. Grafana itself is not included (no
# Go binary of it is built here); the view reads the same dashboard JSON.
#
#   observability/run-local.sh up       # start; prints the addresses
#   observability/run-local.sh status
#   observability/run-local.sh down     # stop, and wait until they are gone
#
# Ports come from .env (PROMETHEUS_PORT, ALERTMANAGER_PORT, JAEGER_UI_PORT,
# OTLP_GRPC_PORT, OTLP_HTTP_PORT, COLLECTOR_HEALTH_PORT,
# COLLECTOR_METRICS_PORT, JAEGER_OTLP_GRPC_PORT, GRAFANA_PORT for the view);
# state and logs go to .local/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${OTELOBS_BACKENDS_DIR:-$HOME/.cache/otelobs/backends}/bin
state=${RUN_LOCAL_DIR:-$here/.local}
env_file=${ENV_FILE:-$here/.env}
[[ -f $env_file ]] || env_file=$here/.env.example

val() { # KEY DEFAULT: a value of the env file (ports and sizes: no spaces, quotes or #)
  local v
  v=$(sed -nE "s/^[[:space:]]*$1=([^#]*).*/\1/p" "$env_file" | tail -n 1 | tr -d '[:space:]"'"'")
  echo "${v:-$2}"
}

up() {
  for b in prometheus alertmanager otelcol jaeger; do
    [[ -x $bin/$b ]] || { echo "run-local.sh: $bin/$b is missing: run scripts/install-backends.sh" >&2; exit 1; }
  done
  if [[ -f $state/pids ]]; then
    echo "run-local.sh: already up (see $state/pids); run-local.sh down first" >&2
    exit 1
  fi
  mkdir -p "$state/prometheus-data" "$state/alertmanager-data"
  local prom=$(val PROMETHEUS_PORT 9090) am=$(val ALERTMANAGER_PORT 9093) ui=$(val JAEGER_UI_PORT 16686)
  local grpc=$(val OTLP_GRPC_PORT 4317) http=$(val OTLP_HTTP_PORT 4318)
  local health=$(val COLLECTOR_HEALTH_PORT 13133) colmetrics=$(val COLLECTOR_METRICS_PORT 8888)
  local jotlp=$(val JAEGER_OTLP_GRPC_PORT 14317) viewport=$(val GRAFANA_PORT 3001)
  # The view, built from this checkout (a second or two once Go's cache is warm).
  (cd "$root" && go build -o "$state/otelobs" ./cmd/otelobs) ||
    { echo "run-local.sh: could not build the view (go build ./cmd/otelobs)" >&2; exit 1; }
  # Prometheus's configuration, from the same .env, with Alertmanager on loopback.
  # run-local binds loopback only and runs no Grafana, whatever the .env
  # says for Docker.
  { cat "$env_file"; echo; echo "ALERTMANAGER_HOST=127.0.0.1"; echo "STACK_BIND_ADDRESS=127.0.0.1"; } >"$state/env"
  # The stack's own scrape jobs, on loopback with .env's ports.
  printf '%s\n' PROMETHEUS_HOST=127.0.0.1 COLLECTOR_HOST=127.0.0.1 >>"$state/env"
  CONFIGURE_OUT_DIR=$state bash "$here/configure.sh" "$state/env" >/dev/null
  cp "$here/alerts.yml" "$state/alerts.yml"
  # Secret files named in prometheus.yml (remote_write) are relative to it.
  ln -sfn "$here/secrets" "$state/secrets"
  # Alertmanager's secrets: the user's, if any.
  sed "s#/etc/alertmanager/secrets#$here/secrets#g" "$here/alertmanager.yml" >"$state/alertmanager.yml"
  : >"$state/pids"
  start() { # NAME ENV… -- COMMAND…
    local name=$1; shift
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" setsid "$@" >"$state/$name.log" 2>&1 </dev/null &
    echo "$name $!" >>"$state/pids"
  }
  # Jaeger with the shipped jaeger.yaml, its Badger storage in the state
  # folder (traces outlive a down and up); its OTLP/gRPC receiver (fed by
  # the Collector) moves off the Collector's ports, its query gRPC API and
  # health check, unused here, take any free port.
  start jaeger JAEGER_OTLP_GRPC_ENDPOINT="127.0.0.1:$jotlp" JAEGER_QUERY_HTTP_ENDPOINT="127.0.0.1:$ui" \
    JAEGER_QUERY_GRPC_ENDPOINT=127.0.0.1:0 JAEGER_HEALTH_ENDPOINT=127.0.0.1:0 JAEGER_BADGER_DIR="$state/jaeger-data" \
    -- "$bin/jaeger" --config="file:$here/jaeger.yaml"
  start prometheus -- "$bin/prometheus" --config.file="$state/prometheus.yml" \
    --storage.tsdb.path="$state/prometheus-data" --web.listen-address="127.0.0.1:$prom" \
    --enable-feature=exemplar-storage --web.enable-otlp-receiver --web.enable-lifecycle \
    --web.external-url="$(val PROMETHEUS_EXTERNAL_URL "http://localhost:$prom")" --web.route-prefix=/ \
    --storage.tsdb.retention.time="$(val PROMETHEUS_RETENTION_TIME 15d)" --storage.tsdb.retention.size="$(val PROMETHEUS_RETENTION_SIZE 10GB)"
  start alertmanager -- "$bin/alertmanager" --config.file="$state/alertmanager.yml" \
    --storage.path="$state/alertmanager-data" --web.listen-address="127.0.0.1:$am" --cluster.listen-address= \
    --web.external-url="$(val ALERTMANAGER_EXTERNAL_URL "http://localhost:$am")" --web.route-prefix=/
  start otelcol OTELCOL_OTLP_GRPC_ENDPOINT="127.0.0.1:$grpc" OTELCOL_OTLP_HTTP_ENDPOINT="127.0.0.1:$http" \
    OTELCOL_HEALTH_ENDPOINT="127.0.0.1:$health" OTELCOL_METRICS_HOST=127.0.0.1 OTELCOL_METRICS_PORT="$colmetrics" \
    PROMETHEUS_OTLP_ENDPOINT="http://127.0.0.1:$prom/api/v1/otlp" JAEGER_OTLP_ENDPOINT="127.0.0.1:$jotlp" \
    -- "$bin/otelcol" --config="file:$root/collector/otel-collector.yaml"
  start view -- "$state/otelobs" view -env "$state/env" -listen "127.0.0.1:$viewport" \
    -prometheus "http://127.0.0.1:$prom" -jaeger "http://127.0.0.1:$ui" -min-step "$(val PROMETHEUS_SCRAPE_INTERVAL 15s)" \
    -dashboard "$here/grafana/dashboards/agent-orchestrator-overview.json" -datasources "$here/grafana/provisioning/datasources"
  # Ready?
  local url
  for url in "http://127.0.0.1:$prom/-/ready" "http://127.0.0.1:$am/-/ready" "http://127.0.0.1:$ui/api/services" \
    "http://127.0.0.1:$health/" "http://127.0.0.1:$colmetrics/metrics" "http://127.0.0.1:$viewport/api/view"; do
    # Up to 60 s: a busy machine can take long to start five processes.
    for _ in $(seq 300); do
      curl -fsS -o /dev/null "$url" 2>/dev/null && continue 2
      sleep 0.2
    done
    echo "run-local.sh: not ready: $url (logs in $state)" >&2
    tail -n 5 "$state"/*.log >&2 || true
    down
    exit 1
  done
  # A process that lost its port exits, while the port may still answer
  # for another program: every process must still be running.
  local name pid
  while read -r name pid; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run-local.sh: $name exited during start-up (logs in $state)" >&2
      tail -n 5 "$state/$name.log" >&2 || true
      down
      exit 1
    fi
  done <"$state/pids"
  echo "run-local.sh: up on 127.0.0.1: Prometheus :$prom, Alertmanager :$am, Jaeger UI/API :$ui," \
    "OTLP :$grpc (gRPC) and :$http (HTTP), Collector health :$health and metrics :$colmetrics." \
    "Dashboard and traces: http://localhost:$viewport (otelobs view). Logs in $state. Stop with: $0 down"
}

down() {
  [[ -f $state/pids ]] || { echo "run-local.sh: not running"; return 0; }
  local name pid
  while read -r name pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done <"$state/pids"
  while read -r name pid; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || continue 2; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done <"$state/pids"
  rm -f "$state/pids"
  echo "run-local.sh: stopped"
}

status() {
  [[ -f $state/pids ]] || { echo "run-local.sh: not running"; return 0; }
  local name pid
  while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then echo "$name: running (pid $pid)"; else echo "$name: stopped"; fi
  done <"$state/pids"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
