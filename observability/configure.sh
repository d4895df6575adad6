#!/usr/bin/env bash
# Generates prometheus.yml (and, for several API hosts, targets.json) in this
# folder from .env, as the observability guide's Step 2 describes:
#
#   cp .env.example .env && ./configure.sh
#
# CONFIGURE_OUT_DIR, if set, is where the files go instead of this folder.
# The .env file is read as data (KEY=VALUE lines), never executed. Every value
# is validated; a bad one is an error that names its variable. Running it
# again with the same .env gives the same files.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
env_file=${1:-$here/.env}
# Where the files go (run-local.sh writes a loopback variant elsewhere).
out=${CONFIGURE_OUT_DIR:-$here}
if [[ ! -f $env_file ]]; then
  echo "configure.sh: $env_file not found; create it with: cp $here/.env.example $here/.env" >&2
  exit 1
fi

declare -A cfg=(
  [API_HOST]=localhost [API_PORT]=8000 [PROMETHEUS_PORT]=9090 [PROMETHEUS_SCRAPE_INTERVAL]=15s
  [GRAFANA_PORT]=3001 [GRAFANA_ADMIN_USER]=admin [GRAFANA_ADMIN_PASSWORD]=admin
  [ALERTMANAGER_HOST]=alertmanager [ALERTMANAGER_PORT]=9093
  [JAEGER_UI_PORT]=16686 [OTLP_GRPC_PORT]=4317 [OTLP_HTTP_PORT]=4318
  [COLLECTOR_HEALTH_PORT]=13133 [COLLECTOR_METRICS_PORT]=8888 [JAEGER_OTLP_GRPC_PORT]=14317
  [STACK_BIND_ADDRESS]=127.0.0.1 [PROMETHEUS_RETENTION_TIME]=15d [PROMETHEUS_RETENTION_SIZE]=10GB
  [REMOTE_WRITE_URL]= [REMOTE_WRITE_TENANT]= [REMOTE_WRITE_USERNAME]=
  [REMOTE_WRITE_PASSWORD_FILE]= [REMOTE_WRITE_BEARER_TOKEN_FILE]=
)
errors=()
n=0
dq_re='^"([^"]*)"[[:space:]]*(#.*)?$'
sq_re="^'([^']*)'[[:space:]]*(#.*)?$"
while IFS= read -r line || [[ -n $line ]]; do
  n=$((n + 1))
  line=${line%%$'\r'}
  [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
  if [[ ! $line =~ ^[[:space:]]*([A-Z_][A-Z0-9_]*)=(.*)$ ]]; then
    errors+=("$env_file:$n: not KEY=VALUE: $line")
    continue
  fi
  key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
  # As docker compose reads .env: a quoted value is kept whole (a # in it
  # included); an unquoted one ends at a " #" comment.
  value=$(sed -E 's/^[[:space:]]+//' <<<"$value")
  if [[ $value =~ $dq_re || $value =~ $sq_re ]]; then
    value=${BASH_REMATCH[1]}
  else
    value=$(sed -E 's/(^|[[:space:]]+)#.*$//; s/[[:space:]]+$//' <<<"$value")
  fi
  if [[ -z ${cfg[$key]+set} ]]; then
    errors+=("$env_file:$n: unknown variable $key (known: ${!cfg[*]})")
    continue
  fi
  cfg[$key]=$value
done <"$env_file"

host_re='^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$'
port_ok() { [[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
for v in API_PORT PROMETHEUS_PORT GRAFANA_PORT ALERTMANAGER_PORT JAEGER_UI_PORT OTLP_GRPC_PORT OTLP_HTTP_PORT \
  COLLECTOR_HEALTH_PORT COLLECTOR_METRICS_PORT JAEGER_OTLP_GRPC_PORT; do
  port_ok "${cfg[$v]}" || errors+=("$v=${cfg[$v]}: want a TCP port from 1 to 65535")
done
if [[ ! ${cfg[PROMETHEUS_SCRAPE_INTERVAL]} =~ ^[1-9][0-9]*(ms|s|m|h)$ ]]; then
  errors+=("PROMETHEUS_SCRAPE_INTERVAL=${cfg[PROMETHEUS_SCRAPE_INTERVAL]}: want a duration such as 15s, 5s or 1m")
fi
[[ ${cfg[ALERTMANAGER_HOST]} =~ $host_re ]] ||
  errors+=("ALERTMANAGER_HOST=${cfg[ALERTMANAGER_HOST]}: want a host name or IP address")
targets=()
IFS=',' read -ra hosts <<<"${cfg[API_HOST]}"
for h in "${hosts[@]}"; do
  h=$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$h")
  port=${cfg[API_PORT]}
  if [[ $h =~ ^(\[[^]]*\]|[^:]+):([0-9]+)$ ]]; then h=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}; fi
  if [[ -z $h || ! $h =~ $host_re ]]; then
    errors+=("API_HOST=${cfg[API_HOST]}: \"$h\" is not a host name or IP address (a comma-separated list is allowed)")
    continue
  fi
  port_ok "$port" || errors+=("API_HOST=${cfg[API_HOST]}: port $port of $h is not a TCP port")
  targets+=("$h:$port")
done
[[ ${#targets[@]} -gt 0 ]] || errors+=("API_HOST is empty")
[[ ${cfg[PROMETHEUS_RETENTION_TIME]} =~ ^[1-9][0-9]*(h|d|w|y)$ ]] ||
  errors+=("PROMETHEUS_RETENTION_TIME=${cfg[PROMETHEUS_RETENTION_TIME]}: want a duration such as 15d, 4w or 1y")
[[ ${cfg[PROMETHEUS_RETENTION_SIZE]} =~ ^[1-9][0-9]*(MB|GB|TB)$ ]] ||
  errors+=("PROMETHEUS_RETENTION_SIZE=${cfg[PROMETHEUS_RETENTION_SIZE]}: want a size such as 10GB or 500MB")
# The published ports: loopback, or a network with a real Grafana password.
bind=${cfg[STACK_BIND_ADDRESS]}
ipv4_re='^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$'
if [[ ! $bind =~ $ipv4_re ]]; then
  errors+=("STACK_BIND_ADDRESS=$bind: want an IPv4 address: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one interface's address")
elif [[ ! $bind =~ ^127\. ]]; then
  if [[ ${cfg[GRAFANA_ADMIN_PASSWORD]} == admin || ${#cfg[GRAFANA_ADMIN_PASSWORD]} -lt 8 ]]; then
    errors+=("GRAFANA_ADMIN_PASSWORD: with STACK_BIND_ADDRESS=$bind Grafana is open to the network; set a password of 8 or more characters, not admin")
  fi
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
for v in REMOTE_WRITE_PASSWORD_FILE REMOTE_WRITE_BEARER_TOKEN_FILE; do
  [[ -z ${cfg[$v]} || ${cfg[$v]} =~ ^[A-Za-z0-9_./-]+$ ]] ||
    errors+=("$v=${cfg[$v]}: want a file path (letters, digits, _ . / -), e.g. secrets/remote_write_password")
done
if [[ -n ${cfg[REMOTE_WRITE_USERNAME]} && -z ${cfg[REMOTE_WRITE_PASSWORD_FILE]} ]] ||
  [[ -z ${cfg[REMOTE_WRITE_USERNAME]} && -n ${cfg[REMOTE_WRITE_PASSWORD_FILE]} ]]; then
  errors+=("REMOTE_WRITE_USERNAME and REMOTE_WRITE_PASSWORD_FILE go together (basic auth): set both or neither")
fi
if [[ -n ${cfg[REMOTE_WRITE_PASSWORD_FILE]} && -n ${cfg[REMOTE_WRITE_BEARER_TOKEN_FILE]} ]]; then
  errors+=("REMOTE_WRITE_PASSWORD_FILE and REMOTE_WRITE_BEARER_TOKEN_FILE: choose one way to authenticate")
fi
if [[ ${cfg[API_HOST]} =~ (^|,)[[:space:]]*(localhost|127\.[0-9.]+)([:,]|$) ]]; then
  echo "configure.sh: note: API_HOST=${cfg[API_HOST]} is the Prometheus container itself when it runs in Docker;" \
    "use host.docker.internal (Docker Desktop), 172.17.0.1 (Linux bridge, with the server on ORCH_ADDR=172.17.0.1:8000) or the VM's IP," \
    "unless Prometheus runs on the host." >&2
fi
if ((${#errors[@]} > 0)); then
  printf 'configure.sh: %s\n' "${errors[@]}" >&2
  exit 1
fi

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
  echo "        - targets: [\"${cfg[ALERTMANAGER_HOST]}:${cfg[ALERTMANAGER_PORT]}\"]"
  echo "scrape_configs:"
  echo "  - job_name: agent-orchestrator"
  echo "    # OpenMetrics first: the only text format that carries exemplars."
  echo "    scrape_protocols: [OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText1.0.0, PrometheusText0.0.4]"
  if ((${#targets[@]} == 1)); then
    echo "    static_configs:"
    echo "      - targets: [\"${targets[0]}\"]"
  else
    echo "    file_sd_configs:"
    echo "      - files: [targets.json]"
  fi
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
mv "$out/prometheus.yml.tmp" "$out/prometheus.yml"
if ((${#targets[@]} > 1)); then
  {
    printf '[{"targets": ['
    sep=""
    for t in "${targets[@]}"; do printf '%s"%s"' "$sep" "$t"; sep=", "; done
    printf '], "labels": {"service": "agent-orchestrator"}}]\n'
  } >"$out/targets.json.tmp"
  mv "$out/targets.json.tmp" "$out/targets.json"
else
  rm -f "$out/targets.json"
fi
echo "configure.sh: wrote $out/prometheus.yml: scraping ${targets[*]} every $interval${rw_url:+, remote_write to $rw_url}"
