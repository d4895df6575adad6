package doctor

import (
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
	"JAEGER_UI_PORT": "16686", "COLLECTOR_HEALTH_PORT": "13133", "COLLECTOR_METRICS_PORT": "8888", "ALERTMANAGER_PORT": "9093",
	"GRAFANA_BIND_ADDRESS": "127.0.0.1", "PROMETHEUS_BIND_ADDRESS": "127.0.0.1",
	"ALERTMANAGER_BIND_ADDRESS": "127.0.0.1", "JAEGER_BIND_ADDRESS": "127.0.0.1",
	"COLLECTOR_BIND_ADDRESS": "127.0.0.1",
}

var (
	envSkip   = regexp.MustCompile(`^[ \t]*(#|$)`)
	envExport = regexp.MustCompile(`^[ \t]*export[ \t]+([A-Z_][A-Z0-9_]*)=`)
	envLine   = regexp.MustCompile(`^[ \t]*([A-Z_][A-Z0-9_]*)=(.*)$`)
	envAfter  = regexp.MustCompile(`^[ \t]*(#.*)?$`)
)

// ReadEnvFile reads a .env file in the one syntax that docker compose,
// observability/configure.sh (and run-local.sh through it) and this package
// read the same way (observability/.env.example's header): blank lines, #
// comments and KEY=VALUE lines, a value unquoted (up to a " #" comment,
// blanks at its ends dropped) or whole in '…' or "…" (then only blanks and a
// # comment); a value is printable ASCII, spaces and tabs, without $ or \,
// and an unquoted one without quotes or #. A line may end in CR LF. Any
// other line is an error naming the file:line and the variable, in
// configure.sh's words. The file is data, never executed.
func ReadEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		key, value, err := envFileLine(strings.TrimSuffix(line, "\r"), i == 0)
		if err != "" {
			return nil, fmt.Errorf("%s:%d: %s", path, i+1, err)
		}
		if key != "" {
			out[key] = value
		}
	}
	return out, nil
}

// envFileLine reads one line (without its line end): the key and value of
// a KEY=VALUE line, no key for a blank or comment line, or what is wrong.
func envFileLine(line string, first bool) (key, value, bad string) {
	if first && strings.HasPrefix(line, "\uFEFF") {
		return "", "", "a byte order mark: save the file as UTF-8 without BOM"
	}
	if envSkip.MatchString(line) {
		return "", "", ""
	}
	if m := envExport.FindStringSubmatch(line); m != nil {
		return "", "", m[1] + `: no "export ": the file holds KEY=VALUE lines and is not run`
	}
	m := envLine.FindStringSubmatch(line)
	if m == nil {
		return "", "", "not KEY=VALUE: a name in capitals, = and the value, or a # comment"
	}
	key, rest := m[1], strings.TrimLeft(m[2], " \t")
	if rest != "" && (rest[0] == '"' || rest[0] == '\'') {
		q := rest[:1]
		value, after, closed := strings.Cut(rest[1:], q)
		if !closed {
			return "", "", key + ": no closing " + q + " quote (a value ends on its line)"
		}
		if bad := envValue(key, value, true); bad != "" {
			return "", "", bad
		}
		if !envAfter.MatchString(after) {
			return "", "", key + ": text after the closing quote: only a # comment may follow"
		}
		return key, value, ""
	}
	value, _, _ = strings.Cut(rest, " #")
	value = strings.TrimRight(value, " \t")
	if bad := envValue(key, value, false); bad != "" {
		return "", "", bad
	}
	return key, value, ""
}

// envValue says what is wrong with a value, in configure.sh's order and
// words, or "".
func envValue(key, value string, quoted bool) string {
	switch {
	case strings.Contains(value, `\`):
		return key + `: \ in the value: docker compose reads escapes there, the other readers do not; choose a value without \`
	case strings.Contains(value, "$"):
		return key + ": $ in the value: docker compose substitutes variables there, the other readers do not; choose a value without $"
	case strings.IndexFunc(value, func(r rune) bool { return r != '\t' && (r < 0x20 || r > 0x7e) }) >= 0:
		return key + ": a character other than printable ASCII, space or tab in the value"
	case !quoted && strings.ContainsAny(value, `"'`):
		return key + `: a quote inside an unquoted value: quote the whole value, "..." or '...'`
	case !quoted && strings.Contains(value, "#"):
		return key + ": # inside an unquoted value: quote the value ('a#b'), and start a comment with a space (KEY=value # comment)"
	}
	return ""
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
	// Each service is published on its own *_BIND_ADDRESS: loopback and
	// 0.0.0.0 are reached at localhost, one interface at its address.
	at := func(bind, k string) string {
		host := "localhost"
		if b := net.ParseIP(get(bind)); b != nil && !b.IsLoopback() && !b.IsUnspecified() {
			host = b.String()
		}
		return "http://" + net.JoinHostPort(host, port(k))
	}
	// STACK_BIND_ADDRESS published every service at once; configure.sh
	// refuses a .env that still opens it, and so does doctor.
	if v := env["STACK_BIND_ADDRESS"]; v != "" && !strings.HasPrefix(v, "127.") {
		errs = append(errs, stackBindRemoved(v))
	}
	c := Config{
		AppURL:              "http://" + net.JoinHostPort(host, appPort),
		PrometheusURL:       at("PROMETHEUS_BIND_ADDRESS", "PROMETHEUS_PORT"),
		JaegerURL:           at("JAEGER_BIND_ADDRESS", "JAEGER_UI_PORT"),
		GrafanaURL:          at("GRAFANA_BIND_ADDRESS", "GRAFANA_PORT"),
		GrafanaUser:         get("GRAFANA_ADMIN_USER"),
		GrafanaPassword:     get("GRAFANA_ADMIN_PASSWORD"),
		DatasourcesDir:      filepath.Join(dir, "grafana", "provisioning", "datasources"),
		CollectorHealthURL:  at("COLLECTOR_BIND_ADDRESS", "COLLECTOR_HEALTH_PORT") + "/",
		CollectorMetricsURL: at("COLLECTOR_BIND_ADDRESS", "COLLECTOR_METRICS_PORT") + "/metrics",
		AlertmanagerURL:     at("ALERTMANAGER_BIND_ADDRESS", "ALERTMANAGER_PORT"),
		AlertmanagerConfig:  filepath.Join(dir, "alertmanager.yml"),
		SecretsDir:          filepath.Join(dir, "secrets"),
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return c, nil
}

// stackBindRemoved is the error for a .env whose STACK_BIND_ADDRESS, which
// published every service at once, is not loopback: configure.sh's words,
// naming the variables that replace it.
func stackBindRemoved(value string) string {
	return "STACK_BIND_ADDRESS=" + value + ": no longer read: it published every service; set GRAFANA_BIND_ADDRESS=" + value +
		" to reach Grafana, and PROMETHEUS_BIND_ADDRESS, ALERTMANAGER_BIND_ADDRESS, JAEGER_BIND_ADDRESS or COLLECTOR_BIND_ADDRESS" +
		" only for a service you mean to open (docs/security.md), then remove STACK_BIND_ADDRESS"
}
