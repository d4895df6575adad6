package doctor

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Defaults are the stack's settings when observability/.env does not set
// them (the values of .env.example).
var Defaults = map[string]string{
	"API_HOST": "localhost", "API_PORT": "8000",
	"PROMETHEUS_PORT": "9090", "GRAFANA_PORT": "3001",
	"GRAFANA_ADMIN_USER": "admin", "GRAFANA_ADMIN_PASSWORD": "admin",
	"JAEGER_UI_PORT": "16686", "COLLECTOR_HEALTH_PORT": "13133", "COLLECTOR_METRICS_PORT": "8888",
	"STACK_BIND_ADDRESS": "127.0.0.1",
}

var (
	envLine = regexp.MustCompile(`^\s*([A-Z_][A-Z0-9_]*)=(.*)$`)
	quoted  = regexp.MustCompile(`^(?:"([^"]*)"|'([^']*)')\s*(?:#.*)?$`)
	comment = regexp.MustCompile(`(?:^|\s+)#.*$`)
)

// ReadEnvFile reads a .env file the way observability/configure.sh and
// docker compose do: KEY=VALUE lines and # comments; a quoted value is kept
// whole (a # in it included), an unquoted one ends at a " #" comment. It is
// data, never executed.
func ReadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
			continue
		}
		m := envLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: not KEY=VALUE: %s", path, n, line)
		}
		v := strings.TrimLeft(m[2], " \t")
		if q := quoted.FindStringSubmatch(v); q != nil {
			v = q[1] + q[2]
		} else {
			v = strings.TrimSpace(comment.ReplaceAllString(v, ""))
		}
		out[m[1]] = v
	}
	return out, sc.Err()
}

// ConfigFromEnv builds the configuration from .env settings (missing ones
// take Defaults), for a doctor running on the stack's host. dir is the
// folder of the .env file (observability/), where the Grafana provisioning
// lives.
func ConfigFromEnv(env map[string]string, dir string) (Config, error) {
	get := func(k string) string {
		if v, ok := env[k]; ok && v != "" {
			return v
		}
		return Defaults[k]
	}
	var errs []string
	port := func(k string) string {
		v := get(k)
		if p, err := strconv.Atoi(v); err != nil || p < 1 || p > 65535 {
			errs = append(errs, fmt.Sprintf("%s=%s: want a TCP port from 1 to 65535", k, v))
		}
		return v
	}
	// The app: the first API_HOST, as this machine reaches it.
	first, _, _ := strings.Cut(get("API_HOST"), ",")
	host, appPort := strings.TrimSpace(first), port("API_PORT")
	if h, p, err := net.SplitHostPort(host); err == nil {
		host, appPort = h, p
	}
	host = strings.Trim(host, "[]")
	switch host {
	case "host.docker.internal", "0.0.0.0", "":
		host = "localhost"
	}
	// The stack's ports are published on STACK_BIND_ADDRESS: loopback and
	// 0.0.0.0 are reached at localhost, one interface at its address.
	stack := "localhost"
	if b := net.ParseIP(get("STACK_BIND_ADDRESS")); b != nil && !b.IsLoopback() && !b.IsUnspecified() {
		stack = b.String()
	}
	at := func(k string) string { return "http://" + net.JoinHostPort(stack, port(k)) }
	c := Config{
		AppURL:              "http://" + net.JoinHostPort(host, appPort),
		PrometheusURL:       at("PROMETHEUS_PORT"),
		JaegerURL:           at("JAEGER_UI_PORT"),
		GrafanaURL:          at("GRAFANA_PORT"),
		GrafanaUser:         get("GRAFANA_ADMIN_USER"),
		GrafanaPassword:     get("GRAFANA_ADMIN_PASSWORD"),
		DatasourcesDir:      filepath.Join(dir, "grafana", "provisioning", "datasources"),
		CollectorHealthURL:  at("COLLECTOR_HEALTH_PORT") + "/",
		CollectorMetricsURL: at("COLLECTOR_METRICS_PORT") + "/metrics",
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return c, nil
}
