#!/usr/bin/env bash
# Generates prometheus.yml (and, for several API hosts,
# targets/agent-orchestrator.json) in this folder from .env, as the
# observability guide's Step 2 describes:
#
#   cp .env.example .env && ./configure.sh
#   ./configure.sh --print-settings [ENV_FILE]   # validate, print KEY=VALUE, write nothing
#
# CONFIGURE_OUT_DIR, if set, is where the files go instead of this folder.
# The .env file is read as data, never executed, in the one syntax that
# docker compose, otelobs doctor and run-local.sh (through --print-settings)
# read the same way (.env.example's header); a line outside it is an error
# naming its file:line and variable. Every value is validated; a bad one is
# an error that names its variable. Running it again with the same .env gives
# the same files. Runs on bash 3.2 (macOS) and later.
set -euo pipefail
# One byte a character: the syntax allows printable ASCII only.
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
print=
if [[ ${1:-} == --print-settings ]]; then
  print=1
  shift
fi
env_file=${1:-$here/.env}
# Where the files go (run-local.sh writes a loopback variant elsewhere).
out=${CONFIGURE_OUT_DIR:-$here}
if [[ ! -f $env_file ]]; then
  echo "configure.sh: $env_file not found; create it with: cp $here/.env.example $here/.env" >&2
  exit 1
fi

# Every setting, with its default (the values of .env.example).
# STACK_BIND_ADDRESS is no longer a setting: it is read only to refuse a
# value other than loopback (see below).
defaults=(
  API_HOST=localhost API_PORT=8000 API_METRICS=pull PROMETHEUS_PORT=9090 PROMETHEUS_SCRAPE_INTERVAL=15s
  GRAFANA_PORT=3001 GRAFANA_ADMIN_USER=admin GRAFANA_ADMIN_PASSWORD=admin
  ALERTMANAGER_HOST=alertmanager:9093 ALERTMANAGER_PORT=9093
  PROMETHEUS_HOST=prometheus:9090 COLLECTOR_HOST=otel-collector:8888
  PROMETHEUS_EXTERNAL_URL= ALERTMANAGER_EXTERNAL_URL= COLLECTOR_MEMORY_LIMIT=512m
  JAEGER_UI_PORT=16686 OTLP_GRPC_PORT=4317 OTLP_HTTP_PORT=4318
  COLLECTOR_HEALTH_PORT=13133 COLLECTOR_METRICS_PORT=8888 JAEGER_OTLP_GRPC_PORT=14317
  GRAFANA_BIND_ADDRESS=127.0.0.1 PROMETHEUS_BIND_ADDRESS=127.0.0.1 ALERTMANAGER_BIND_ADDRESS=127.0.0.1
  JAEGER_BIND_ADDRESS=127.0.0.1 COLLECTOR_BIND_ADDRESS=127.0.0.1
  PROMETHEUS_RETENTION_TIME=15d PROMETHEUS_RETENTION_SIZE=10GB
  REMOTE_WRITE_URL= REMOTE_WRITE_TENANT= REMOTE_WRITE_USERNAME=
  REMOTE_WRITE_PASSWORD_FILE= REMOTE_WRITE_BEARER_TOKEN_FILE=
  STACK_BIND_ADDRESS=
)
# bash 3.2 has no associative arrays: cfg is an indexed array, and each
# setting's name is a variable holding its index, so that ${cfg[API_HOST]}
# is the setting API_HOST. A name read from .env is used as an index only
# once it is known to be one of these.
names=() cfg=()
for kv in "${defaults[@]}"; do
  printf -v "${kv%%=*}" '%d' "${#names[@]}"
  names+=("${kv%%=*}")
  cfg+=("${kv#*=}")
done
errors=()
notes=()

# The .env syntax (.env.example's header), which docker compose reads the
# same way: blank lines, # comments, KEY=VALUE with the value unquoted (up to
# a " #" comment, blanks at its ends dropped) or whole in '…' or "…"
# (followed by nothing but blanks and a # comment); a value is printable
# ASCII, spaces and tabs, without $ or \ (compose substitutes or unescapes
# them), and an unquoted one without quotes or #. otelobs doctor's
# ReadEnvFile (internal/doctor/env.go) is the same reader, with the same
# messages.
bom=$'\xef\xbb\xbf'
skip_re='^[[:blank:]]*(#|$)'
export_re='^[[:blank:]]*export[[:blank:]]+([A-Z_][A-Z0-9_]*)='
kv_re='^[[:blank:]]*([A-Z_][A-Z0-9_]*)=(.*)$'
after_re='^[[:blank:]]*(#.*)?$'
chars_re='^[[:print:][:blank:]]*$'
# env_value KEY VALUE QUOTED: the value's error, if any, on stdout.
env_value() {
  case $2 in
    *\\*) echo "$1: \\ in the value: docker compose reads escapes there, the other readers do not; choose a value without \\" ;;
    *\$*) echo "$1: \$ in the value: docker compose substitutes variables there, the other readers do not; choose a value without \$" ;;
    *)
      if [[ ! $2 =~ $chars_re ]]; then
        echo "$1: a character other than printable ASCII, space or tab in the value"
      elif [[ -z $3 && $2 == *[\"\']* ]]; then
        echo "$1: a quote inside an unquoted value: quote the whole value, \"...\" or '...'"
      elif [[ -z $3 && $2 == *#* ]]; then
        echo "$1: # inside an unquoted value: quote the value ('a#b'), and start a comment with a space (KEY=value # comment)"
      fi
      ;;
  esac
}
# env_line LINE N: sets key and value, or err; key is empty for a blank or
# comment line.
env_line() {
  local line=$1 rest q body
  key= value= err=
  if [[ $2 == 1 && $line == "$bom"* ]]; then
    err="a byte order mark: save the file as UTF-8 without BOM"
    return
  fi
  [[ $line =~ $skip_re ]] && return
  if [[ $line =~ $export_re ]]; then
    err="${BASH_REMATCH[1]}: no \"export \": the file holds KEY=VALUE lines and is not run"
    return
  fi
  if [[ ! $line =~ $kv_re ]]; then
    err="not KEY=VALUE: a name in capitals, = and the value, or a # comment"
    return
  fi
  key=${BASH_REMATCH[1]} rest=${BASH_REMATCH[2]}
  rest=${rest#"${rest%%[![:blank:]]*}"}
  q=${rest:0:1}
  if [[ $q == \" || $q == \' ]]; then
    body=${rest:1}
    if [[ $body != *"$q"* ]]; then
      err="$key: no closing $q quote (a value ends on its line)"
      return
    fi
    value=${body%%"$q"*}
    err=$(env_value "$key" "$value" quoted)
    if [[ -z $err && ! ${body#*"$q"} =~ $after_re ]]; then
      err="$key: text after the closing quote: only a # comment may follow"
    fi
  else
    value=${rest%%" #"*}
    value=${value%"${value##*[![:blank:]]}"}
    err=$(env_value "$key" "$value" "")
  fi
}
n=0
while IFS= read -r line || [[ -n $line ]]; do
  n=$((n + 1))
  env_line "${line%$'\r'}" "$n"
  if [[ -n $err ]]; then
    errors+=("$env_file:$n: $err")
    continue
  fi
  [[ -n $key ]] || continue
  case " ${names[*]} " in
    *" $key "*) cfg[$key]=$value ;;
    *) errors+=("$env_file:$n: unknown variable $key (known: ${names[*]})") ;;
  esac
done <"$env_file"

host_re='^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$'
port_re='^[0-9]{1,5}$'
port_ok() { [[ $1 =~ $port_re ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
for v in API_PORT PROMETHEUS_PORT GRAFANA_PORT ALERTMANAGER_PORT JAEGER_UI_PORT OTLP_GRPC_PORT OTLP_HTTP_PORT \
  COLLECTOR_HEALTH_PORT COLLECTOR_METRICS_PORT JAEGER_OTLP_GRPC_PORT; do
  port_ok "${cfg[$v]}" || errors+=("$v=${cfg[$v]}: want a TCP port from 1 to 65535")
done
interval_re='^[1-9][0-9]*(ms|s|m|h)$'
case ${cfg[API_METRICS]} in
  pull | push) ;;
  *) errors+=("API_METRICS=${cfg[API_METRICS]}: want pull (Prometheus scrapes the API's /metrics) or push (the API sends OTLP to the Collector)") ;;
esac
if [[ ! ${cfg[PROMETHEUS_SCRAPE_INTERVAL]} =~ $interval_re ]]; then
  errors+=("PROMETHEUS_SCRAPE_INTERVAL=${cfg[PROMETHEUS_SCRAPE_INTERVAL]}: want a duration such as 15s, 5s or 1m")
fi
targets=()
hosts=()
IFS=',' read -ra hosts <<<"${cfg[API_HOST]}"
target_re='^(\[[^]]*\]|[^:]+):([0-9]+)$'
for h in ${hosts[@]+"${hosts[@]}"}; do
  h=${h#"${h%%[![:space:]]*}"}
  h=${h%"${h##*[![:space:]]}"}
  port=${cfg[API_PORT]}
  if [[ $h =~ $target_re ]]; then h=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}; fi
  if [[ -z $h || ! $h =~ $host_re ]]; then
    errors+=("API_HOST=${cfg[API_HOST]}: \"$h\" is not a host name or IP address (a comma-separated list is allowed)")
    continue
  fi
  port_ok "$port" || errors+=("API_HOST=${cfg[API_HOST]}: port $port of $h is not a TCP port")
  targets+=("$h:$port")
done
[[ ${#targets[@]} -gt 0 ]] || errors+=("API_HOST is empty")
retention_time_re='^[1-9][0-9]*(h|d|w|y)$'
retention_size_re='^[1-9][0-9]*(MB|GB|TB)$'
[[ ${cfg[PROMETHEUS_RETENTION_TIME]} =~ $retention_time_re ]] ||
  errors+=("PROMETHEUS_RETENTION_TIME=${cfg[PROMETHEUS_RETENTION_TIME]}: want a duration such as 15d, 4w or 1y")
[[ ${cfg[PROMETHEUS_RETENTION_SIZE]} =~ $retention_size_re ]] ||
  errors+=("PROMETHEUS_RETENTION_SIZE=${cfg[PROMETHEUS_RETENTION_SIZE]}: want a size such as 10GB or 500MB")
# The published ports (docker-compose.yml): each service on its own
# *_BIND_ADDRESS, loopback unless .env opens it; Grafana beyond loopback
# only with a real password.
ipv4_re='^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$'
loopback_re='^127\.'
for v in GRAFANA_BIND_ADDRESS PROMETHEUS_BIND_ADDRESS ALERTMANAGER_BIND_ADDRESS JAEGER_BIND_ADDRESS COLLECTOR_BIND_ADDRESS; do
  bind=${cfg[$v]}
  if [[ ! $bind =~ $ipv4_re ]]; then
    errors+=("$v=$bind: want an IPv4 address: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one interface's address")
    continue
  fi
  [[ $bind =~ $loopback_re ]] && continue
  case $v in
    GRAFANA_BIND_ADDRESS)
      if [[ ${cfg[GRAFANA_ADMIN_PASSWORD]} == admin || ${#cfg[GRAFANA_ADMIN_PASSWORD]} -lt 8 ]]; then
        errors+=("GRAFANA_ADMIN_PASSWORD: with GRAFANA_BIND_ADDRESS=$bind Grafana is open to the network; set a password of 8 or more characters, not admin")
      fi
      ;;
    PROMETHEUS_BIND_ADDRESS) notes+=("$v=$bind opens Prometheus to the network without authentication: anyone reaching it can query every series, write through its OTLP receiver and stop it (--web.enable-lifecycle)") ;;
    ALERTMANAGER_BIND_ADDRESS) notes+=("$v=$bind opens Alertmanager to the network without authentication: anyone reaching it can silence alerts") ;;
    JAEGER_BIND_ADDRESS) notes+=("$v=$bind opens Jaeger to the network without authentication: anyone reaching it can read every trace") ;;
    COLLECTOR_BIND_ADDRESS) notes+=("$v=$bind opens the Collector to the network without authentication: anyone reaching it can send telemetry (OTLP)") ;;
  esac
done
# STACK_BIND_ADDRESS published every service at once; a .env that still
# opens it is refused rather than read as Grafana's address or ignored.
stack=${cfg[STACK_BIND_ADDRESS]}
if [[ -n $stack && ! $stack =~ $loopback_re ]]; then
  errors+=("STACK_BIND_ADDRESS=$stack: no longer read: it published every service; set GRAFANA_BIND_ADDRESS=$stack to reach Grafana, and PROMETHEUS_BIND_ADDRESS, ALERTMANAGER_BIND_ADDRESS, JAEGER_BIND_ADDRESS or COLLECTOR_BIND_ADDRESS only for a service you mean to open (docs/security.md), then remove STACK_BIND_ADDRESS")
elif [[ -n $stack ]]; then
  notes+=("STACK_BIND_ADDRESS is no longer read (every service is on loopback unless its own *_BIND_ADDRESS says otherwise): remove it")
fi
# Long-term storage (docs/scaling.md): remote_write to Mimir, Thanos, Cortex
# or another Prometheus, on when REMOTE_WRITE_URL is set. Secret files are
# paths as Prometheus sees them, relative to prometheus.yml's folder.
rw_url=${cfg[REMOTE_WRITE_URL]}
url_re='^https?://[^/@[:space:]"\\]+(/[^[:space:]"\\]*)?$'
if [[ -n $rw_url && ! $rw_url =~ $url_re ]]; then
  errors+=("REMOTE_WRITE_URL: want an http:// or https:// URL without credentials (use REMOTE_WRITE_USERNAME/_PASSWORD_FILE), e.g. http://mimir:9009/api/v1/push")
fi
for v in REMOTE_WRITE_TENANT REMOTE_WRITE_USERNAME REMOTE_WRITE_PASSWORD_FILE REMOTE_WRITE_BEARER_TOKEN_FILE; do
  [[ -z ${cfg[$v]} || -n $rw_url ]] || errors+=("$v is set but REMOTE_WRITE_URL is empty")
done
tenant_re='^[A-Za-z0-9!._*()-]{1,150}$'
[[ -z ${cfg[REMOTE_WRITE_TENANT]} || ${cfg[REMOTE_WRITE_TENANT]} =~ $tenant_re ]] ||
  errors+=("REMOTE_WRITE_TENANT=${cfg[REMOTE_WRITE_TENANT]}: want letters, digits and !-_.*() (a Mimir/Cortex tenant id)")
user_re='^[^[:space:]:"\\]+$'
[[ -z ${cfg[REMOTE_WRITE_USERNAME]} || ${cfg[REMOTE_WRITE_USERNAME]} =~ $user_re ]] ||
  errors+=("REMOTE_WRITE_USERNAME=${cfg[REMOTE_WRITE_USERNAME]}: no spaces, colons, quotes or backslashes")
file_re='^[A-Za-z0-9_./-]+$'
for v in REMOTE_WRITE_PASSWORD_FILE REMOTE_WRITE_BEARER_TOKEN_FILE; do
  [[ -z ${cfg[$v]} || ${cfg[$v]} =~ $file_re ]] ||
    errors+=("$v=${cfg[$v]}: want a file path (letters, digits, _ . / -), e.g. secrets/remote_write_password")
done
if [[ -n ${cfg[REMOTE_WRITE_USERNAME]} && -z ${cfg[REMOTE_WRITE_PASSWORD_FILE]} ]] ||
  [[ -z ${cfg[REMOTE_WRITE_USERNAME]} && -n ${cfg[REMOTE_WRITE_PASSWORD_FILE]} ]]; then
  errors+=("REMOTE_WRITE_USERNAME and REMOTE_WRITE_PASSWORD_FILE go together (basic auth): set both or neither")
fi
if [[ -n ${cfg[REMOTE_WRITE_PASSWORD_FILE]} && -n ${cfg[REMOTE_WRITE_BEARER_TOKEN_FILE]} ]]; then
  errors+=("REMOTE_WRITE_PASSWORD_FILE and REMOTE_WRITE_BEARER_TOKEN_FILE: choose one way to authenticate")
fi
# The stack's own services as Prometheus reaches them, for alerting and for
# the scrape jobs that watch the stack itself: host or host:port; a host alone
# takes its *_PORT (run-local.sh: 127.0.0.1 and .env's ports). In Docker the
# port is the one the container listens on (.env.example's), whatever port
# is published. Each address goes to addr_<NAME> (no associative arrays on
# bash 3.2).
for v in PROMETHEUS_HOST:PROMETHEUS_PORT ALERTMANAGER_HOST:ALERTMANAGER_PORT COLLECTOR_HOST:COLLECTOR_METRICS_PORT; do
  hv=${v%%:*} h=${cfg[${v%%:*}]} port=${cfg[${v#*:}]}
  if [[ $h =~ $target_re ]]; then h=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}; fi
  if [[ ! $h =~ $host_re ]] || ! port_ok "$port"; then
    errors+=("$hv=${cfg[$hv]}: want a host name or IP address, or host:port")
    continue
  fi
  printf -v "addr_$hv" '%s' "$h:$port"
done
# Links in alert notifications (Prometheus's generatorURL, Alertmanager's
# silences) start with these; docker-compose.yml defaults them to
# http://localhost:<published port>.
for v in PROMETHEUS_EXTERNAL_URL ALERTMANAGER_EXTERNAL_URL; do
  [[ -z ${cfg[$v]} || ${cfg[$v]} =~ $url_re ]] ||
    errors+=("$v=${cfg[$v]}: want an http:// or https:// URL people open, e.g. https://prometheus.example.com")
done
for v in PROMETHEUS ALERTMANAGER; do
  bind=${cfg[${v}_BIND_ADDRESS]}
  if [[ $bind =~ $ipv4_re && ! $bind =~ $loopback_re && -z ${cfg[${v}_EXTERNAL_URL]} ]]; then
    notes+=("with ${v}_BIND_ADDRESS=$bind, set ${v}_EXTERNAL_URL to the address people open, or the links in alert notifications point at localhost.")
  fi
done
memory_re='^[1-9][0-9]*[mg]$'
[[ ${cfg[COLLECTOR_MEMORY_LIMIT]} =~ $memory_re ]] ||
  errors+=("COLLECTOR_MEMORY_LIMIT=${cfg[COLLECTOR_MEMORY_LIMIT]}: want a size such as 512m or 2g (the Collector container's memory limit)")
# docker-compose.yml mounts the remote_write secret file alone into
# Prometheus: it must be a file in secrets/, and should exist (a bind mount of
# a missing file creates a directory in its place).
secret_re='^secrets/[A-Za-z0-9_-][A-Za-z0-9_.-]*$'
for v in REMOTE_WRITE_PASSWORD_FILE REMOTE_WRITE_BEARER_TOKEN_FILE; do
  f=${cfg[$v]}
  [[ -n $f ]] || continue
  if [[ ! $f =~ $secret_re ]]; then
    errors+=("$v=$f: want a file in secrets/, e.g. secrets/remote_write_password")
  elif [[ ! -f $here/$f ]]; then
    notes+=("$v=$f: $here/$f does not exist yet; create it before the stack starts")
  fi
done
local_re='(^|,)[[:space:]]*(localhost|127\.[0-9.]+)([:,]|$)'
if [[ ${cfg[API_METRICS]} == pull && ${cfg[API_HOST]} =~ $local_re ]]; then
  notes+=("API_HOST=${cfg[API_HOST]} is the Prometheus container itself when it runs in Docker; use host.docker.internal (Docker Desktop), 172.17.0.1 (Linux bridge, with the server on ORCH_ADDR=172.17.0.1:8000) or the VM's IP, unless Prometheus runs on the host.")
fi
if ((${#errors[@]} > 0)); then
  printf 'configure.sh: %s\n' ${errors[@]+"${errors[@]}"} >&2
  exit 1
fi
# --print-settings: the settings as read, for run-local.sh; the notes are
# about the Docker stack, and nothing is written.
if [[ -n $print ]]; then
  for kv in "${defaults[@]}"; do
    [[ ${kv%%=*} == STACK_BIND_ADDRESS ]] || printf '%s=%s\n' "${kv%%=*}" "${cfg[${kv%%=*}]}"
  done
  exit 0
fi
((${#notes[@]} == 0)) || printf 'configure.sh: note: %s\n' ${notes[@]+"${notes[@]}"} >&2

interval=${cfg[PROMETHEUS_SCRAPE_INTERVAL]}
{
  echo "# Generated by configure.sh from .env: edit .env and run ./configure.sh again."
  echo "global:"
  echo "  scrape_interval: $interval"
  echo "  evaluation_interval: $interval"
  echo "rule_files:"
  echo "  - alerts.yml"
  echo "alerting:"
  echo "  alertmanagers:"
  echo "    - static_configs:"
  echo "        - targets: [\"$addr_ALERTMANAGER_HOST\"]"
  echo "scrape_configs:"
  if [[ ${cfg[API_METRICS]} == pull ]]; then
    echo "  - job_name: agent-orchestrator"
    echo "    # OpenMetrics first: the only text format that carries exemplars."
    echo "    scrape_protocols: [OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText1.0.0, PrometheusText0.0.4]"
    if ((${#targets[@]} == 1)); then
      echo "    static_configs:"
      echo "      - targets: [\"${targets[0]}\"]"
    else
      echo "    file_sd_configs:"
      echo "      - files: [targets/*.json]"
    fi
  else
    echo "  # API_METRICS=push: the API sends its metrics through the Collector, so"
    echo "  # no job scrapes it (a scrape would fail, and TargetDown would fire)."
  fi
  # The stack watching itself: alert on up == 0 of these jobs, and on the
  # Collector's otelcol_exporter_send_failed_* series.
  for job in prometheus:PROMETHEUS_HOST otel-collector:COLLECTOR_HOST alertmanager:ALERTMANAGER_HOST; do
    a=addr_${job#*:}
    echo "  - job_name: ${job%%:*}"
    echo "    static_configs:"
    echo "      - targets: [\"${!a}\"]"
  done
  if [[ -n $rw_url ]]; then
    echo "remote_write:"
    echo "  - url: \"$rw_url\""
    echo "    # Exemplars too, so traces stay one click away in long-term storage."
    echo "    send_exemplars: true"
    if [[ -n ${cfg[REMOTE_WRITE_TENANT]} ]]; then
      echo "    headers:"
      echo "      X-Scope-OrgID: \"${cfg[REMOTE_WRITE_TENANT]}\""
    fi
    if [[ -n ${cfg[REMOTE_WRITE_USERNAME]} ]]; then
      echo "    basic_auth:"
      echo "      username: \"${cfg[REMOTE_WRITE_USERNAME]}\""
      echo "      password_file: \"${cfg[REMOTE_WRITE_PASSWORD_FILE]}\""
    fi
    if [[ -n ${cfg[REMOTE_WRITE_BEARER_TOKEN_FILE]} ]]; then
      echo "    authorization:"
      echo "      credentials_file: \"${cfg[REMOTE_WRITE_BEARER_TOKEN_FILE]}\""
    fi
  fi
} >"$out/prometheus.yml.tmp"
# In place, not by a rename: docker-compose.yml mounts prometheus.yml alone,
# and such a mount keeps showing the file it was made on, so that a renamed
# new file would reach Prometheus only on a restart, not on a reload.
cat "$out/prometheus.yml.tmp" >"$out/prometheus.yml"
rm -f "$out/prometheus.yml.tmp"
# Several API hosts: their list, in targets/ (docker-compose.yml mounts that
# folder, so that Prometheus sees a new list without a restart). Before
# targets/, the list was targets.json beside prometheus.yml.
mkdir -p "$out/targets"
rm -f "$out/targets.json"
if [[ ${cfg[API_METRICS]} == pull ]] && ((${#targets[@]} > 1)); then
  {
    printf '[{"targets": ['
    sep=""
    for t in "${targets[@]}"; do printf '%s"%s"' "$sep" "$t"; sep=", "; done
    printf '], "labels": {"service": "agent-orchestrator"}}]\n'
  } >"$out/targets/agent-orchestrator.json.tmp"
  mv "$out/targets/agent-orchestrator.json.tmp" "$out/targets/agent-orchestrator.json"
else
  rm -f "$out/targets/agent-orchestrator.json"
fi
if [[ ${cfg[API_METRICS]} == pull ]]; then
  echo "configure.sh: wrote $out/prometheus.yml: scraping ${targets[*]} every $interval${rw_url:+, remote_write to $rw_url}"
else
  echo "configure.sh: wrote $out/prometheus.yml: the API pushes (API_METRICS=push); scraping the stack every $interval${rw_url:+, remote_write to $rw_url}"
fi
