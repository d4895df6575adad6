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
#   observability/run-local.sh settings # the settings up uses, as KEY=VALUE
#
# The settings are .env's as configure.sh reads and validates them (one
# reading for every tool; `settings` prints them, GRAFANA_ADMIN_PASSWORD
# included, as docker compose config would): ports (PROMETHEUS_PORT,
# ALERTMANAGER_PORT, JAEGER_UI_PORT, OTLP_GRPC_PORT, OTLP_HTTP_PORT,
# COLLECTOR_HEALTH_PORT, COLLECTOR_METRICS_PORT, JAEGER_OTLP_GRPC_PORT,
# GRAFANA_PORT for the view), retention, scrape interval, API_HOST and
# REMOTE_WRITE_*. Prometheus runs on this machine, so an API_HOST that is
# how a container reaches it (host.docker.internal, 172.17.0.1, …) is
# scraped at 127.0.0.1, as it says; the *_BIND_ADDRESS settings are for
# Docker and not used here. State and logs go to .local/, readable by you
# only. Each process runs in its own process group (setsid where there is
# one, else job control: macOS has none) and outlives this script; its pid
# and start time are recorded, so that down and status leave alone a process
# that took an old pid over (after a reboot). Runs on bash 3.2 (macOS) and
# later, with BSD or GNU tools.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${OTELOBS_BACKENDS_DIR:-$HOME/.cache/otelobs/backends}/bin
state=${RUN_LOCAL_DIR:-$here/.local}
env_file=${ENV_FILE:-$here/.env}
[[ -f $env_file ]] || env_file=$here/.env.example

# How a container reaches the host: on the host, that is 127.0.0.1.
docker_host_re='^(host\.docker\.internal|gateway\.docker\.internal|host\.containers\.internal|172\.17\.0\.1)(:[0-9]+)?$'
settings=
# load: the settings, as configure.sh reads .env, with run-local's own:
# Alertmanager on loopback, and API_HOST as Prometheus on this machine
# reaches it.
load() {
  local all line api h mapped= sep= moved= hosts=()
  all=$(bash "$here/configure.sh" --print-settings "$env_file") || exit 1
  api=$(get API_HOST "$all")
  IFS=, read -ra hosts <<<"$api"
  for h in ${hosts[@]+"${hosts[@]}"}; do
    h=${h#"${h%%[![:space:]]*}"}
    h=${h%"${h##*[![:space:]]}"}
    if [[ $h =~ $docker_host_re ]]; then
      h=127.0.0.1${BASH_REMATCH[2]} moved=1
    fi
    mapped=$mapped$sep$h sep=,
  done
  if [[ -n $moved ]]; then
    echo "run-local.sh: API_HOST=$api is how a container reaches this machine, and Prometheus runs on it here: scraping API_HOST=$mapped instead" >&2
  fi
  settings=
  while IFS= read -r line; do
    case $line in
      API_HOST=*) [[ -z $moved ]] || line=API_HOST=$mapped ;;
      # The stack's own services, on loopback with .env's ports (a host
      # alone takes its *_PORT), for alerting and the self-scrape jobs.
      ALERTMANAGER_HOST=*) line=ALERTMANAGER_HOST=127.0.0.1 ;;
      PROMETHEUS_HOST=*) line=PROMETHEUS_HOST=127.0.0.1 ;;
      COLLECTOR_HOST=*) line=COLLECTOR_HOST=127.0.0.1 ;;
    esac
    settings=$settings$line$'\n'
  done <<<"$all"
}

get() { # KEY [SETTINGS]: the value of KEY in SETTINGS (default: the loaded ones)
  local line
  while IFS= read -r line; do
    case $line in "$1="*)
      printf '%s\n' "${line#*=}"
      return
      ;;
    esac
  done <<<"${2-$settings}"
}

val() { get "$1"; }

# write_env FILE: the settings as a .env file, each value quoted (the
# syntax has no value with both kinds of quote), readable by you only.
write_env() {
  local line key value
  (
    umask 077
    while IFS= read -r line; do
      [[ -n $line ]] || continue
      key=${line%%=*} value=${line#*=}
      case $value in
        *\'*) printf '%s="%s"\n' "$key" "$value" ;;
        *) printf "%s='%s'\n" "$key" "$value" ;;
      esac
    done <<<"$settings" >"$1.tmp"
  )
  chmod 600 "$1.tmp"
  mv "$1.tmp" "$1"
}

# started PID: when the process started (Linux: clock ticks after boot, from
# /proc; elsewhere ps's lstart), empty if there is none.
started() {
  local stat
  if [[ -r /proc/self/stat ]]; then
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    # The fields after the command name (which may hold spaces and
    # parentheses): state is the 3rd of the line, starttime the 22nd.
    set -f
    set -- ${stat##*") "}
    set +f
    echo "${20-}"
  else
    echo $(ps -o lstart= -p "$1" 2>/dev/null)
  fi
}

# ours PID STARTED: PID is still the process up started.
ours() { [[ -n ${2-} && $(started "$1") == "$2" ]]; }

up() {
  load
  local name pid since
  if [[ -f $state/pids ]]; then
    while read -r name pid since; do
      if ours "$pid" "$since"; then
        echo "run-local.sh: already up (see $state/pids); run-local.sh down first" >&2
        exit 1
      fi
      if [[ -z ${since-} && -n $(started "$pid") ]]; then
        echo "run-local.sh: $name: pid $pid was recorded without its start time (by an older run-local.sh) and is running:" \
          "if it is $name, stop it (kill $pid); then remove $state/pids" >&2
        exit 1
      fi
    done <"$state/pids"
    echo "run-local.sh: none of the processes in $state/pids is still the one up started (a reboot?): starting afresh"
    rm -f "$state/pids"
  fi
  for b in prometheus alertmanager otelcol jaeger; do
    [[ -x $bin/$b ]] || { echo "run-local.sh: $bin/$b is missing: run scripts/install-backends.sh" >&2; exit 1; }
  done
  # The state (settings, logs, data) is yours only.
  (umask 077 && mkdir -p "$state/prometheus-data" "$state/alertmanager-data")
  chmod 700 "$state"
  local prom am ui grpc http health colmetrics jotlp viewport
  prom=$(val PROMETHEUS_PORT) am=$(val ALERTMANAGER_PORT) ui=$(val JAEGER_UI_PORT)
  grpc=$(val OTLP_GRPC_PORT) http=$(val OTLP_HTTP_PORT)
  health=$(val COLLECTOR_HEALTH_PORT) colmetrics=$(val COLLECTOR_METRICS_PORT)
  jotlp=$(val JAEGER_OTLP_GRPC_PORT) viewport=$(val GRAFANA_PORT)
  # The view, built from this checkout (a second or two once Go's cache is warm).
  (cd "$root" && go build -o "$state/otelobs" ./cmd/otelobs) ||
    { echo "run-local.sh: could not build the view (go build ./cmd/otelobs)" >&2; exit 1; }
  # Prometheus's configuration, and the view's settings, from the settings
  # read above (Alertmanager on loopback, API_HOST as this machine reaches
  # it); configure.sh's notes are about Docker.
  write_env "$state/env"
  if ! CONFIGURE_OUT_DIR=$state bash "$here/configure.sh" "$state/env" >/dev/null 2>"$state/configure.log"; then
    cat "$state/configure.log" >&2
    exit 1
  fi
  cp "$here/alerts.yml" "$state/alerts.yml"
  # Secret files named in prometheus.yml (remote_write) are relative to it.
  ln -sfn "$here/secrets" "$state/secrets"
  # Alertmanager's secrets: the user's, if any.
  sed "s#/etc/alertmanager/secrets#$here/secrets#g" "$here/alertmanager.yml" >"$state/alertmanager.yml"
  : >"$state/pids"
  start() { # NAME ENV… -- COMMAND…: in its own process group, outliving this script
    local name=$1 envs=()
    shift
    while [[ $1 != -- ]]; do
      envs+=("$1")
      shift
    done
    shift
    if command -v setsid >/dev/null 2>&1; then
      env ${envs[@]+"${envs[@]}"} setsid "$@" >"$state/$name.log" 2>&1 </dev/null &
    else
      # No setsid (macOS): job control gives the job a process group of its own.
      set -m
      env ${envs[@]+"${envs[@]}"} "$@" >"$state/$name.log" 2>&1 </dev/null &
      set +m
    fi
    # The start time is the fork's: the same once env and setsid have
    # exec'd the program.
    echo "$name $! $(started $!)" >>"$state/pids"
  }
  # Jaeger with the shipped jaeger.yaml, its Badger storage in the state
  # folder (traces outlive a down and up); its OTLP/gRPC receiver (fed by
  # the Collector) moves off the Collector's ports, its query gRPC API and
  # health check, unused here, take any free port.
  start jaeger JAEGER_OTLP_GRPC_ENDPOINT="127.0.0.1:$jotlp" JAEGER_QUERY_HTTP_ENDPOINT="127.0.0.1:$ui" \
    JAEGER_QUERY_GRPC_ENDPOINT=127.0.0.1:0 JAEGER_HEALTH_ENDPOINT=127.0.0.1:0 JAEGER_BADGER_DIR="$state/jaeger-data" \
    -- "$bin/jaeger" --config="file:$here/jaeger.yaml"
  # Links in alert notifications: .env's external URLs, else this machine.
  local prom_url am_url
  prom_url=$(val PROMETHEUS_EXTERNAL_URL) am_url=$(val ALERTMANAGER_EXTERNAL_URL)
  start prometheus -- "$bin/prometheus" --config.file="$state/prometheus.yml" \
    --storage.tsdb.path="$state/prometheus-data" --web.listen-address="127.0.0.1:$prom" \
    --enable-feature=exemplar-storage --web.enable-otlp-receiver --web.enable-lifecycle \
    --web.external-url="${prom_url:-http://localhost:$prom}" --web.route-prefix=/ \
    --storage.tsdb.retention.time="$(val PROMETHEUS_RETENTION_TIME)" --storage.tsdb.retention.size="$(val PROMETHEUS_RETENTION_SIZE)"
  start alertmanager -- "$bin/alertmanager" --config.file="$state/alertmanager.yml" \
    --storage.path="$state/alertmanager-data" --web.listen-address="127.0.0.1:$am" --cluster.listen-address= \
    --web.external-url="${am_url:-http://localhost:$am}" --web.route-prefix=/
  start otelcol OTELCOL_OTLP_GRPC_ENDPOINT="127.0.0.1:$grpc" OTELCOL_OTLP_HTTP_ENDPOINT="127.0.0.1:$http" \
    OTELCOL_HEALTH_ENDPOINT="127.0.0.1:$health" OTELCOL_METRICS_HOST=127.0.0.1 OTELCOL_METRICS_PORT="$colmetrics" \
    PROMETHEUS_OTLP_ENDPOINT="http://127.0.0.1:$prom/api/v1/otlp" JAEGER_OTLP_ENDPOINT="127.0.0.1:$jotlp" \
    -- "$bin/otelcol" --config="file:$root/collector/otel-collector.yaml"
  start view -- "$state/otelobs" view -env "$state/env" -listen "127.0.0.1:$viewport" \
    -prometheus "http://127.0.0.1:$prom" -jaeger "http://127.0.0.1:$ui" -min-step "$(val PROMETHEUS_SCRAPE_INTERVAL)" \
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
  while read -r name pid since; do
    if ! ours "$pid" "$since"; then
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

# down: TERM to each recorded process that is still the one up started,
# KILL after 10 s; a pid another process has taken over is left alone.
down() {
  [[ -f $state/pids ]] || { echo "run-local.sh: not running"; return 0; }
  local name pid since
  while read -r name pid since; do
    if ours "$pid" "$since"; then
      kill -TERM "$pid" 2>/dev/null || true
    elif [[ -z $(started "$pid") ]]; then
      continue
    elif [[ -z ${since-} ]]; then
      echo "run-local.sh: $name: pid $pid was recorded without its start time (by an older run-local.sh), so it may be" \
        "another process now: left alone; if it is $name, stop it (kill $pid)"
    else
      echo "run-local.sh: $name: pid $pid is another process now, not the one up started: left alone"
    fi
  done <"$state/pids"
  while read -r name pid since; do
    for _ in $(seq 100); do
      ours "$pid" "$since" || continue 2
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done <"$state/pids"
  rm -f "$state/pids"
  echo "run-local.sh: stopped"
}

status() {
  [[ -f $state/pids ]] || { echo "run-local.sh: not running"; return 0; }
  local name pid since
  while read -r name pid since; do
    if ours "$pid" "$since"; then
      echo "$name: running (pid $pid)"
    elif [[ -z $(started "$pid") ]]; then
      echo "$name: stopped"
    elif [[ -z ${since-} ]]; then
      echo "$name: unknown (pid $pid is running, recorded without its start time by an older run-local.sh)"
    else
      echo "$name: stopped (pid $pid is another process now)"
    fi
  done <"$state/pids"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  settings)
    load
    printf '%s' "$settings"
    ;;
  *) echo "usage: $0 up|down|status|settings" >&2; exit 2 ;;
esac
