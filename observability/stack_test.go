//go:build e2e

package observability

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/internal/contract"
	"github.com/agentorchestrator/observability/internal/doctor"
)

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(backends.Bin(t, bin), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestAlertRules: the rules load, and their unit tests (each alert firing
// under its condition, silent otherwise, at its threshold and `for`) pass.
func TestAlertRules(t *testing.T) {
	run(t, "promtool", "check", "rules", "alerts.yml")
	out := run(t, "promtool", "test", "rules", "alerts_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

// knownSeries returns the series names the SDK produces: the contract
// tests' pull golden.
func knownSeries(t *testing.T) map[string]bool {
	t.Helper()
	golden, err := os.ReadFile(backends.RepoPath("internal", "contract", "testdata", "pull-series.golden"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"ALERTS": true}
	for line := range strings.SplitSeq(string(golden), "\n") {
		name, _, _ := strings.Cut(line, "{")
		known[name] = true
	}
	for name := range stackSeries(t) {
		known[name] = true
	}
	return known
}

// stackSeries reads testdata/stack-series.txt: the series the rules read
// that come from elsewhere than the SDK, name → source.
func stackSeries(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stack-series.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if name, source, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(name, "#") {
			out[name] = source
		}
	}
	return out
}

var seriesName = regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9_]*_[A-Za-z0-9_]+|ALERTS)\b\s*(\{|\[|>|\)|$)`)

// checkSeriesNames fails the test for each series name in expr that the SDK
// does not produce, and returns how many names it checked.
func checkSeriesNames(t *testing.T, known map[string]bool, where, expr string) int {
	t.Helper()
	n := 0
	for _, id := range seriesName.FindAllStringSubmatch(expr, -1) {
		switch id[1] {
		case "histogram_quantile", "otel_metric_overflow", "worker_profile", "error_type", "rule_group", "service_instance_id":
			continue
		}
		n++
		if !known[id[1]] {
			t.Errorf("%s: %q uses %s, which the SDK does not produce", where, expr, id[1])
		}
	}
	return n
}

// TestAlertRulesNameKnownSeries: every series an alert queries is one the
// SDK produces, so a renamed instrument cannot silently disable an alert.
func TestAlertRulesNameKnownSeries(t *testing.T) {
	known := knownSeries(t)
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, m := range regexp.MustCompile(`(?m)^\s+expr: (.*)$`).FindAllStringSubmatch(string(rules), -1) {
		e := m[1]
		if strings.HasPrefix(e, "|") || strings.HasPrefix(e, ">") {
			t.Errorf("keep alert expressions on one line, so that this test reads them: %q", e)
			continue
		}
		found += checkSeriesNames(t, known, "alerts.yml", e)
	}
	if found < 10 {
		t.Errorf("found only %d series names in the alert expressions", found)
	}
}

// TestCollectorConfigValidates: the shipped Collector configuration is valid
// for the Collector the project builds.
func TestCollectorConfigValidates(t *testing.T) {
	run(t, "otelcol", "validate", "--config=file:"+backends.RepoPath("collector", "otel-collector.yaml"))
}

// configure runs configure.sh on env (the .env content) in a copy of this
// folder and returns the folder, its output and whether it succeeded.
func configure(t *testing.T, env string) (dir, out string, ok bool) {
	t.Helper()
	dir, out, err := backends.Configure(t, env)
	return dir, out, err == nil
}

func TestConfigureGeneratesValidConfig(t *testing.T) {
	example, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	dir, out, ok := configure(t, string(example))
	if !ok {
		t.Fatalf("configure.sh on .env.example failed:\n%s", out)
	}
	run(t, "promtool", "check", "config", filepath.Join(dir, "prometheus.yml"))
	first, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
	// The shipped prometheus.yml is what .env.example generates.
	shipped, _ := os.ReadFile("prometheus.yml")
	if string(first) != string(shipped) {
		t.Errorf("observability/prometheus.yml is not what configure.sh makes of .env.example:\n%s", first)
	}
	for _, want := range []string{`targets: ["localhost:8000"]`, "scrape_interval: 15s", "OpenMetricsText1.0.0", "alerts.yml"} {
		if !strings.Contains(string(first), want) {
			t.Errorf("prometheus.yml lacks %q", want)
		}
	}
	// The stack's own jobs, at the compose services' in-container ports.
	for job, target := range map[string]string{"prometheus": "prometheus:9090", "otel-collector": "otel-collector:8888", "alertmanager": "alertmanager:9093"} {
		if got := scrapeTargets(t, string(first))[job]; got != target {
			t.Errorf("job %s scrapes %q, want %q", job, got, target)
		}
	}
	// Idempotent, and in place: docker-compose.yml mounts the file alone,
	// and such a mount would not show a file renamed over it.
	before, err := os.Stat(filepath.Join(dir, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("bash", filepath.Join(dir, "configure.sh")).CombinedOutput(); err != nil {
		t.Fatalf("second run: %v\n%s", err, b)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml")); string(again) != string(first) {
		t.Error("a second run changed prometheus.yml")
	}
	if after, err := os.Stat(filepath.Join(dir, "prometheus.yml")); err != nil || !os.SameFile(before, after) {
		t.Errorf("a second run replaced prometheus.yml by another file (%v), instead of rewriting it", err)
	}
}

// scrapeTargets returns each scrape job of a generated prometheus.yml with
// its static target (one each; "" for a job without one).
func scrapeTargets(t *testing.T, conf string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  - job_name: (\S+)\n((?:    .*\n)*)`).FindAllStringSubmatch(conf, -1) {
		target := ""
		if tm := regexp.MustCompile(`targets: \["([^"]*)"\]`).FindStringSubmatch(m[2]); tm != nil {
			target = tm[1]
		}
		out[m[1]] = target
	}
	if len(out) == 0 {
		t.Fatalf("no scrape jobs in:\n%s", conf)
	}
	return out
}

// TestConfigureStackTargets: the stack's own services as Prometheus reaches
// them (the alerting target and the jobs prometheus, otel-collector and
// alertmanager) are *_HOST with its own port, or with the *_PORT of .env when
// it has none (run-local.sh, an older .env).
func TestConfigureStackTargets(t *testing.T) {
	for _, c := range []struct {
		name, env string
		want      map[string]string // job → target; "alerting" for Alertmanager
	}{
		{"compose, ports moved", "PROMETHEUS_PORT=19090\nALERTMANAGER_PORT=19093\nCOLLECTOR_METRICS_PORT=18888\n",
			map[string]string{"prometheus": "prometheus:9090", "otel-collector": "otel-collector:8888", "alertmanager": "alertmanager:9093", "alerting": "alertmanager:9093"}},
		{"hosts alone take .env's ports", "PROMETHEUS_HOST=127.0.0.1\nCOLLECTOR_HOST=127.0.0.1\nALERTMANAGER_HOST=127.0.0.1\n" +
			"PROMETHEUS_PORT=19090\nALERTMANAGER_PORT=19093\nCOLLECTOR_METRICS_PORT=18888\n",
			map[string]string{"prometheus": "127.0.0.1:19090", "otel-collector": "127.0.0.1:18888", "alertmanager": "127.0.0.1:19093", "alerting": "127.0.0.1:19093"}},
		{"host:port", "PROMETHEUS_HOST=[::1]:9091\nCOLLECTOR_HOST=gw.example:9888\nALERTMANAGER_HOST=am.example:443\n",
			map[string]string{"prometheus": "[::1]:9091", "otel-collector": "gw.example:9888", "alertmanager": "am.example:443", "alerting": "am.example:443"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, out, ok := configure(t, c.env)
			if !ok {
				t.Fatalf("configure.sh: %s", out)
			}
			run(t, "promtool", "check", "config", filepath.Join(dir, "prometheus.yml"))
			conf, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
			got := scrapeTargets(t, string(conf))
			if m := regexp.MustCompile(`(?s)alertmanagers:.*?targets: \["([^"]*)"\]`).FindSubmatch(conf); m != nil {
				got["alerting"] = string(m[1])
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q\n%s", k, got[k], v, conf)
				}
			}
		})
	}
	// Open to a network without external URLs: alert links would point at
	// localhost, and configure.sh says so.
	_, out, ok := configure(t, "PROMETHEUS_BIND_ADDRESS=0.0.0.0\nALERTMANAGER_BIND_ADDRESS=0.0.0.0\n")
	if !ok || !strings.Contains(out, "PROMETHEUS_EXTERNAL_URL") || !strings.Contains(out, "ALERTMANAGER_EXTERNAL_URL") {
		t.Errorf("PROMETHEUS_BIND_ADDRESS and ALERTMANAGER_BIND_ADDRESS=0.0.0.0 without external URLs: ok=%v, no note naming PROMETHEUS_EXTERNAL_URL:\n%s", ok, out)
	}
	if _, out, ok := configure(t, "PROMETHEUS_BIND_ADDRESS=0.0.0.0\nALERTMANAGER_BIND_ADDRESS=0.0.0.0\n"+
		"PROMETHEUS_EXTERNAL_URL=https://prom.example\nALERTMANAGER_EXTERNAL_URL=https://am.example/alerts\n"); !ok || strings.Contains(out, "EXTERNAL_URL") {
		t.Errorf("with both external URLs: ok=%v, output %s", ok, out)
	}
}

func TestConfigureSeveralHosts(t *testing.T) {
	dir, out, ok := configure(t, "API_HOST=10.0.0.5, orchestrator-2:8001,[::1]\nAPI_PORT=8000\nPROMETHEUS_SCRAPE_INTERVAL=5s # faster\n")
	if !ok {
		t.Fatalf("configure.sh failed:\n%s", out)
	}
	run(t, "promtool", "check", "config", filepath.Join(dir, "prometheus.yml"))
	list := filepath.Join(dir, "targets", "agent-orchestrator.json")
	b, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	var sd []struct{ Targets []string }
	if err := json.Unmarshal(b, &sd); err != nil || len(sd) != 1 ||
		strings.Join(sd[0].Targets, " ") != "10.0.0.5:8000 orchestrator-2:8001 [::1]:8000" {
		t.Fatalf("targets/agent-orchestrator.json = %s (%v)", b, err)
	}
	// Back to one host, in the same folder: the list goes away, and so does
	// the targets.json an older configure.sh wrote.
	if err := os.WriteFile(filepath.Join(dir, "targets.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("API_HOST=192.168.1.100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", filepath.Join(dir, "configure.sh")).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, f := range []string{list, filepath.Join(dir, "targets.json")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s is still there with one API host", f)
		}
	}
	// remote_write, with each way to authenticate, is valid for promtool.
	for _, auth := range []string{
		"REMOTE_WRITE_USERNAME=orchestrator\nREMOTE_WRITE_PASSWORD_FILE=secrets/remote_write_password\n",
		"REMOTE_WRITE_BEARER_TOKEN_FILE=secrets/remote_write_token\n",
	} {
		dir, out, ok := configure(t, "API_HOST=vm\nREMOTE_WRITE_URL=https://mimir.example:9009/api/v1/push\nREMOTE_WRITE_TENANT=team-a\n"+auth)
		if !ok {
			t.Fatalf("%s", out)
		}
		if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"remote_write_password", "remote_write_token"} {
			if err := os.WriteFile(filepath.Join(dir, "secrets", f), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		run(t, "promtool", "check", "config", filepath.Join(dir, "prometheus.yml"))
		conf, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
		if !strings.Contains(string(conf), "send_exemplars: true") || !strings.Contains(string(conf), `X-Scope-OrgID: "team-a"`) {
			t.Errorf("remote_write without exemplars or tenant:\n%s", conf)
		}
	}
}

func TestConfigureRejectsBadValues(t *testing.T) {
	for env, want := range map[string]string{
		"API_PORT=80a0\n":                       "API_PORT",
		"API_PORT=70000\n":                      "API_PORT",
		"PROMETHEUS_PORT=0\n":                   "PROMETHEUS_PORT",
		"GRAFANA_PORT=-1\n":                     "GRAFANA_PORT",
		"PROMETHEUS_SCRAPE_INTERVAL=fast\n":     "PROMETHEUS_SCRAPE_INTERVAL",
		"PROMETHEUS_SCRAPE_INTERVAL=0s\n":       "PROMETHEUS_SCRAPE_INTERVAL",
		`API_HOST=local"host` + "\n":            "API_HOST",
		"API_HOST=a b\n":                        "API_HOST",
		"API_HOST=,\n":                          "API_HOST",
		"API_HOST=vm:99999\n":                   "API_HOST",
		"ALERTMANAGER_HOST=$(reboot)\n":         "ALERTMANAGER_HOST",
		"API_HOSTS=vm\n":                        "unknown variable API_HOSTS",
		"this is not a setting\n":               "not KEY=VALUE",
		"GRAFANA_ADMIN_PASSWORD=pa$word\n":      ".env:1: GRAFANA_ADMIN_PASSWORD: $ in the value",
		"GRAFANA_BIND_ADDRESS=localhost\n":      "GRAFANA_BIND_ADDRESS=localhost: want an IPv4 address",
		"GRAFANA_BIND_ADDRESS=0.0.0.0\n":        "GRAFANA_ADMIN_PASSWORD: with GRAFANA_BIND_ADDRESS=0.0.0.0 Grafana is open",
		"PROMETHEUS_BIND_ADDRESS=::\n":          "PROMETHEUS_BIND_ADDRESS=::: want an IPv4 address",
		"ALERTMANAGER_BIND_ADDRESS=300.1.1.1\n": "ALERTMANAGER_BIND_ADDRESS=300.1.1.1: want an IPv4 address",
		"JAEGER_BIND_ADDRESS=\n":                "JAEGER_BIND_ADDRESS=: want an IPv4 address",
		"COLLECTOR_BIND_ADDRESS=0.0.0.0/0\n":    "COLLECTOR_BIND_ADDRESS=0.0.0.0/0: want an IPv4 address",
		"GRAFANA_BIND_ADDRESS=10.0.0.5\nGRAFANA_ADMIN_PASSWORD=short\n": "GRAFANA_ADMIN_PASSWORD",
		// An old .env that opened every service is refused, even with a
		// real password, and the error names the variables to use.
		"STACK_BIND_ADDRESS=0.0.0.0\nGRAFANA_ADMIN_PASSWORD=correct-horse\n":                   "STACK_BIND_ADDRESS=0.0.0.0: no longer read: it published every service; set GRAFANA_BIND_ADDRESS=0.0.0.0 to reach Grafana, and PROMETHEUS_BIND_ADDRESS",
		"STACK_BIND_ADDRESS=10.0.0.5\n":                                                        "set GRAFANA_BIND_ADDRESS=10.0.0.5",
		"REMOTE_WRITE_URL=https://bob:pw@mimir/api/v1/push\n":                                  "without credentials",
		"PROMETHEUS_RETENTION_TIME=15x\n":                                                      "PROMETHEUS_RETENTION_TIME",
		"PROMETHEUS_RETENTION_SIZE=10G\n":                                                      "PROMETHEUS_RETENTION_SIZE",
		"REMOTE_WRITE_URL=ftp://mimir\n":                                                       "REMOTE_WRITE_URL",
		`REMOTE_WRITE_URL=http://m"x` + "\n":                                                   "REMOTE_WRITE_URL",
		"REMOTE_WRITE_TENANT=team-a\n":                                                         "REMOTE_WRITE_TENANT is set but REMOTE_WRITE_URL is empty",
		"REMOTE_WRITE_URL=http://m\nREMOTE_WRITE_TENANT=a b\n":                                 "REMOTE_WRITE_TENANT",
		"REMOTE_WRITE_URL=http://m\nREMOTE_WRITE_USERNAME=bob\n":                               "set both or neither",
		"REMOTE_WRITE_URL=http://m\nREMOTE_WRITE_PASSWORD_FILE=$(id)\n":                        "REMOTE_WRITE_PASSWORD_FILE",
		"REMOTE_WRITE_URL=http://m\nREMOTE_WRITE_USERNAME=b:b\nREMOTE_WRITE_PASSWORD_FILE=p\n": "REMOTE_WRITE_USERNAME",
		"REMOTE_WRITE_URL=http://m\nREMOTE_WRITE_USERNAME=b\nREMOTE_WRITE_PASSWORD_FILE=p\nREMOTE_WRITE_BEARER_TOKEN_FILE=t\n": "choose one",
		"PROMETHEUS_HOST=a b\n":                                                                               "PROMETHEUS_HOST",
		"COLLECTOR_HOST=otel-collector:99999\n":                                                               "COLLECTOR_HOST",
		"ALERTMANAGER_HOST=alertmanager:\n":                                                                   "ALERTMANAGER_HOST",
		"PROMETHEUS_EXTERNAL_URL=ftp://prom\n":                                                                "PROMETHEUS_EXTERNAL_URL",
		"ALERTMANAGER_EXTERNAL_URL=localhost:9093\n":                                                          "ALERTMANAGER_EXTERNAL_URL",
		"COLLECTOR_MEMORY_LIMIT=512\n":                                                                        "COLLECTOR_MEMORY_LIMIT",
		"REMOTE_WRITE_URL=http://m\nREMOTE_WRITE_BEARER_TOKEN_FILE=../.env\n":                                 "want a file in secrets/",
		"REMOTE_WRITE_URL=http://m\nREMOTE_WRITE_BEARER_TOKEN_FILE=secrets/../.env\n":                         "want a file in secrets/",
		"REMOTE_WRITE_URL=http://m\nREMOTE_WRITE_USERNAME=b\nREMOTE_WRITE_PASSWORD_FILE=/etc/prometheus/pw\n": "want a file in secrets/",
	} {
		dir, out, ok := configure(t, env)
		if ok || !strings.Contains(out, want) {
			t.Errorf("%q: ok=%v, output %q; want an error naming %s", env, ok, out, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "prometheus.yml")); err == nil {
			t.Errorf("%q: prometheus.yml written despite the error", env)
		}
	}
	if _, out, ok := configure(t, ""); !ok {
		t.Errorf("an empty .env (all defaults) failed: %s", out)
	}
}

// TestConfigureBindAddresses: each service's bind address is accepted on
// its own, Grafana's beyond loopback with a real password; opening one of
// the services without authentication says what that exposes; a loopback
// STACK_BIND_ADDRESS (an old .env) is accepted, with a note to remove it.
// None of them changes prometheus.yml.
func TestConfigureBindAddresses(t *testing.T) {
	_, _, ok := configure(t, "")
	if !ok {
		t.Fatal("configure.sh on an empty .env failed")
	}
	for env, note := range map[string]string{
		"GRAFANA_BIND_ADDRESS=0.0.0.0\nGRAFANA_ADMIN_PASSWORD=correct-horse\n": "",
		"GRAFANA_BIND_ADDRESS=127.0.0.2\n":                                     "",
		"PROMETHEUS_BIND_ADDRESS=0.0.0.0\n":                                    "opens Prometheus to the network without authentication: anyone reaching it can query every series, write through its OTLP receiver and stop it (--web.enable-lifecycle)",
		"ALERTMANAGER_BIND_ADDRESS=10.0.0.5\n":                                 "opens Alertmanager to the network without authentication: anyone reaching it can silence alerts",
		"JAEGER_BIND_ADDRESS=10.0.0.5\n":                                       "opens Jaeger to the network",
		"COLLECTOR_BIND_ADDRESS=0.0.0.0\n":                                     "opens the Collector to the network",
		"STACK_BIND_ADDRESS=127.0.0.1\n":                                       "STACK_BIND_ADDRESS is no longer read",
	} {
		dir, out, ok := configure(t, "API_HOST=10.0.0.9\n"+env)
		if !ok {
			t.Errorf("%q refused: %s", env, out)
			continue
		}
		switch {
		case note == "" && strings.Contains(out, "without authentication"):
			t.Errorf("%q: a note about a service it does not open: %q", env, out)
		case note != "" && (!strings.Contains(out, "configure.sh: note: ") || !strings.Contains(out, note)):
			t.Errorf("%q: output %q, want a note with %q", env, out, note)
		}
		got, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
		base, _, _ := configure(t, "API_HOST=10.0.0.9\n")
		want, _ := os.ReadFile(filepath.Join(base, "prometheus.yml"))
		if len(got) == 0 || string(got) != string(want) {
			t.Errorf("%q changed prometheus.yml:\n%s", env, got)
		}
	}
}

func TestAlertmanagerConfig(t *testing.T) {
	out := run(t, "amtool", "check-config", "alertmanager.yml")
	if !strings.Contains(out, "SUCCESS") || !strings.Contains(out, "2 receivers") {
		t.Fatalf("amtool check-config:\n%s", out)
	}
	b, _ := os.ReadFile("alertmanager.yml")
	if regexp.MustCompile(`hooks\.slack\.com|api_url:\s`).Match(b) {
		t.Error("alertmanager.yml holds a webhook URL; it must come from a file")
	}
}

// runLocal is run-local.sh, started on free ports by startRunLocal.
type runLocal struct {
	state, envFile string
	ports          map[string]int
	up             string // up's output
	script         func(arg string) (string, error)
}

// startRunLocal writes settings and free ports to a .env and runs
// run-local.sh up with env added to the environment; down when the test
// ends.
func startRunLocal(t *testing.T, settings string, env ...string) *runLocal {
	t.Helper()
	dir := t.TempDir()
	r := &runLocal{state: filepath.Join(dir, "run"), envFile: filepath.Join(dir, "test.env")}
	r.script = func(arg string) (string, error) {
		cmd := exec.Command("bash", "run-local.sh", arg)
		cmd.Env = append(append(os.Environ(), "ENV_FILE="+r.envFile, "RUN_LOCAL_DIR="+r.state,
			"OTELOBS_BACKENDS_DIR="+filepath.Dir(filepath.Dir(backends.Bin(t, "prometheus")))), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { _, _ = r.script("down") })
	// Free ports, written to the .env; up again on new ones (three times
	// at most) if a port was taken meanwhile by a parallel test package.
	for attempt := 1; ; attempt++ {
		r.ports = map[string]int{}
		var b strings.Builder
		// A short scrape interval, so that the stack's own jobs are up soon.
		b.WriteString("PROMETHEUS_SCRAPE_INTERVAL=2s\n")
		b.WriteString(settings)
		for _, k := range []string{"PROMETHEUS_PORT", "ALERTMANAGER_PORT", "JAEGER_UI_PORT", "OTLP_GRPC_PORT", "OTLP_HTTP_PORT",
			"COLLECTOR_HEALTH_PORT", "COLLECTOR_METRICS_PORT", "JAEGER_OTLP_GRPC_PORT", "GRAFANA_PORT"} {
			r.ports[k] = backends.FreePort(t)
			fmt.Fprintf(&b, "%s=%d\n", k, r.ports[k])
		}
		if err := os.WriteFile(r.envFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := r.script("up")
		if err == nil && strings.Contains(out, "up on 127.0.0.1") {
			r.up = out
			return r
		}
		if attempt == 3 || !strings.Contains(out, "address already in use") {
			t.Fatalf("up: %v\n%s", err, out)
		}
		t.Logf("up, attempt %d, lost a port: %s", attempt, out)
	}
}

// check: every port answers, status shows five processes running, each
// the leader of its own process group (so that a terminal's signals and the
// script's end leave it be), a second up is refused, and down stops them
// all.
func (r *runLocal) check(t *testing.T) {
	t.Helper()
	for _, url := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/-/ready", r.ports["PROMETHEUS_PORT"]),
		fmt.Sprintf("http://127.0.0.1:%d/-/ready", r.ports["ALERTMANAGER_PORT"]),
		fmt.Sprintf("http://127.0.0.1:%d/api/services", r.ports["JAEGER_UI_PORT"]),
		fmt.Sprintf("http://127.0.0.1:%d/api/v1/rules", r.ports["PROMETHEUS_PORT"]),
		fmt.Sprintf("http://127.0.0.1:%d/", r.ports["COLLECTOR_HEALTH_PORT"]),
		fmt.Sprintf("http://127.0.0.1:%d/metrics", r.ports["COLLECTOR_METRICS_PORT"]),
		fmt.Sprintf("http://127.0.0.1:%d/api/view", r.ports["GRAFANA_PORT"]),
		fmt.Sprintf("http://localhost:%d/", r.ports["GRAFANA_PORT"]),
	} {
		resp, err := http.Get(url)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", url, err, resp)
			continue
		}
		resp.Body.Close()
	}
	if out, _ := r.script("status"); strings.Count(out, "running") != 5 {
		logs, _ := exec.Command("sh", "-c", "tail -n 15 "+r.state+"/*.log").CombinedOutput()
		t.Errorf("status:\n%s\nlogs:\n%s", out, logs)
	}
	pids, err := os.ReadFile(filepath.Join(r.state, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(pids)), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Errorf("pids: %q has no start time", line)
			continue
		}
		pid, _ := strconv.Atoi(f[1])
		if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
			t.Errorf("%s (pid %d) is in process group %d (%v), not its own", f[0], pid, pgid, err)
		}
	}
	if out, err := r.script("up"); err == nil {
		t.Errorf("a second up succeeded:\n%s", out)
	}
	if out, err := r.script("down"); err != nil || !strings.Contains(out, "stopped") {
		t.Fatalf("down: %v\n%s", err, out)
	}
	for k, p := range r.ports {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			c.Close()
			t.Errorf("%s %d still accepts connections after down", k, p)
		}
	}
}

// TestRunLocal: run-local.sh brings the stack up on loopback (the same
// configuration files, the installed binaries) and down again cleanly. An
// API_HOST for Docker (host.docker.internal) is scraped at 127.0.0.1, as
// up says, since Prometheus runs on the host; the state folder and its copy
// of the settings (the Grafana password among them) are private.
func TestRunLocal(t *testing.T) {
	r := startRunLocal(t, "API_HOST=host.docker.internal\nGRAFANA_ADMIN_PASSWORD='not for others'\n")
	if !strings.Contains(r.up, "API_HOST=host.docker.internal is how a container reaches this machine") ||
		!strings.Contains(r.up, "scraping API_HOST=127.0.0.1 instead") {
		t.Errorf("up did not say it scrapes 127.0.0.1 for host.docker.internal:\n%s", r.up)
	}
	conf, _ := os.ReadFile(filepath.Join(r.state, "prometheus.yml"))
	if !strings.Contains(string(conf), `targets: ["127.0.0.1:8000"]`) {
		t.Errorf("run-local's prometheus.yml does not scrape 127.0.0.1:8000:\n%s", conf)
	}
	for path, want := range map[string]os.FileMode{r.state: 0o700, filepath.Join(r.state, "env"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(r.state, "env")); !strings.Contains(string(b), "GRAFANA_ADMIN_PASSWORD='not for others'") {
		t.Errorf("run-local's env does not hold the settings as read:\n%s", b)
	}
	t.Run("doctor in push mode", func(t *testing.T) { doctorOnRunLocal(t, r.envFile, r.ports) })
	t.Run("the stack watches itself", func(t *testing.T) { stackWatchesItself(t, r.state, r.ports) })
	r.check(t)
}

// TestRunLocalWithoutSetsid: on a machine without setsid (macOS), up
// starts every process in its own process group all the same, and down
// stops them.
func TestRunLocalWithoutSetsid(t *testing.T) {
	bin := t.TempDir()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() == "setsid" {
				continue
			}
			if _, err := os.Lstat(filepath.Join(bin, e.Name())); err == nil {
				continue // the first in PATH wins
			}
			if err := os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(bin, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := exec.Command("env", "PATH="+bin, "bash", "-c", "command -v setsid").CombinedOutput(); err == nil {
		t.Fatalf("setsid is still found: %s", out)
	}
	startRunLocal(t, "API_HOST=127.0.0.1\n", "PATH="+bin).check(t)
}

// TestScalingDocConfigs: every Prometheus configuration in docs/scaling.md
// (a yaml block whose first line names prometheus.yml) is valid for
// promtool, with the shipped alerts.yml beside it.
func TestScalingDocConfigs(t *testing.T) {
	doc, err := os.ReadFile(backends.RepoPath("docs", "scaling.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(# prometheus\\.yml[^\n]*\n.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d Prometheus configurations in docs/scaling.md, want at least 3", len(blocks))
	}
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o644); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "prometheus.yml")
		if err := os.WriteFile(conf, b[1], 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(backends.Bin(t, "promtool"), "check", "config", conf).CombinedOutput(); err != nil {
			t.Errorf("docs/scaling.md configuration %d: %v\n%s\n%s", i+1, err, out, b[1])
		}
	}
}

// TestScalingDocRemoteWrite: the remote_write block docs/scaling.md shows
// is what configure.sh writes for the settings the page gives.
func TestScalingDocRemoteWrite(t *testing.T) {
	doc, err := os.ReadFile(backends.RepoPath("docs", "scaling.md"))
	if err != nil {
		t.Fatal(err)
	}
	settings := regexp.MustCompile("(?s)```bash\n(REMOTE_WRITE_URL=.*?)```").FindSubmatch(doc)
	shown := regexp.MustCompile("(?s)```yaml\n# prometheus\\.yml as configure\\.sh writes it[^\n]*\n.*?\n(remote_write:\n.*?)```").FindSubmatch(doc)
	if settings == nil || shown == nil {
		t.Fatal("docs/scaling.md: no REMOTE_WRITE_* settings block or no remote_write block found")
	}
	dir, out, ok := configure(t, "API_HOST=orchestrator\n"+string(settings[1]))
	if !ok {
		t.Fatalf("configure.sh on the page's settings: %s", out)
	}
	conf, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
	_, written, found := strings.Cut(string(conf), "remote_write:\n")
	if !found || "remote_write:\n"+written != string(shown[1]) {
		t.Errorf("configure.sh writes:\nremote_write:\n%s\ndocs/scaling.md shows:\n%s", written, shown[1])
	}
}

// doctorOnRunLocal: an app pushing OTLP to run-local's Collector reaches
// Prometheus and Jaeger through it, and doctor, reading the same .env,
// finds push mode and passes every check.
func doctorOnRunLocal(t *testing.T, envFile string, ports map[string]int) {
	tel := backends.SetupTelemetry(t, map[string]string{
		"OTEL_SERVICE_NAME":           "run-local-test",
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", ports["OTLP_HTTP_PORT"]),
		"OTEL_METRIC_EXPORT_INTERVAL": "500",
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())
	app := httptest.NewServer(mux)
	defer app.Close()
	in, err := contract.NewInstruments(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	traceID := contract.Run(t.Context(), in, otel.Tracer("run-local-test"), 1)
	if err := tel.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	prom := &backends.Prometheus{URL: fmt.Sprintf("http://127.0.0.1:%d", ports["PROMETHEUS_PORT"])}
	prom.WaitForExemplar(t, "git_merge_duration_seconds_bucket", traceID)
	(&backends.Jaeger{QueryURL: fmt.Sprintf("http://127.0.0.1:%d", ports["JAEGER_UI_PORT"])}).WaitForTrace(t, traceID)

	env, err := doctor.ReadEnvFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := doctor.ConfigFromEnv(env, ".")
	if err != nil {
		t.Fatal(err)
	}
	cfg.AppURL = app.URL
	// run-local has no Grafana: the view answers on its port, and the
	// provisioning files are read.
	r := doctor.Run(t.Context(), cfg)
	var b strings.Builder
	_ = r.WriteText(&b)
	if !r.OK || r.Mode != doctor.ModePush {
		t.Errorf("doctor on run-local: ok %v, mode %s:\n%s", r.OK, r.Mode, b.String())
	}
	if c, ok := r.Find("grafana.view"); !ok || c.Status != doctor.Pass {
		t.Errorf("doctor did not find the view on GRAFANA_PORT: %+v\n%s", c, b.String())
	}
}

// stackWatchesItself: after a push run through run-local's Collector,
// Prometheus scrapes itself, the Collector and Alertmanager (up == 1 for
// the jobs prometheus, otel-collector and alertmanager, which alerts can
// use), has the Collector's counts of what it accepted and sent, and links
// alerts to the external URLs.
func stackWatchesItself(t *testing.T, state string, ports map[string]int) {
	prom := &backends.Prometheus{URL: fmt.Sprintf("http://127.0.0.1:%d", ports["PROMETHEUS_PORT"])}
	backends.Eventually(t, 60*time.Second, "up == 1 for the stack's own jobs", func(ctx context.Context) error {
		got, err := prom.Query(ctx, `up{job=~"prometheus|otel-collector|alertmanager"} == 1`)
		if err != nil {
			return err
		}
		up := map[string]string{}
		for _, s := range got {
			up[s.Metric["job"]] = s.Metric["instance"]
		}
		want := map[string]string{
			"prometheus":     fmt.Sprintf("127.0.0.1:%d", ports["PROMETHEUS_PORT"]),
			"otel-collector": fmt.Sprintf("127.0.0.1:%d", ports["COLLECTOR_METRICS_PORT"]),
			"alertmanager":   fmt.Sprintf("127.0.0.1:%d", ports["ALERTMANAGER_PORT"]),
		}
		if !maps.Equal(up, want) {
			return fmt.Errorf("up == 1 for %v, want %v", up, want)
		}
		return nil
	})
	// (otelcol_exporter_send_failed_* appears with the first failure.)
	sel := `{__name__=~"otelcol_exporter_sent_.*|otelcol_receiver_accepted_.*", job="otel-collector"}`
	backends.Eventually(t, 60*time.Second, sel, func(ctx context.Context) error {
		series, err := prom.Series(ctx, sel)
		if err != nil || len(series) == 0 {
			return fmt.Errorf("no series %s (%v)", sel, err)
		}
		return nil
	})
	var flags map[string]string
	if err := prom.API(t.Context(), "status/flags", nil, &flags); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("http://localhost:%d", ports["PROMETHEUS_PORT"]); flags["web.external-url"] != want || flags["web.route-prefix"] != "/" {
		t.Errorf("Prometheus runs with --web.external-url=%q --web.route-prefix=%q, want %q and /", flags["web.external-url"], flags["web.route-prefix"], want)
	}
	// Alertmanager shows its external URL in no API: its command line.
	pids, err := os.ReadFile(filepath.Join(state, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^alertmanager (\d+)( \d+)?$`).FindSubmatch(pids)
	if m == nil {
		t.Fatalf("no alertmanager in %s:\n%s", filepath.Join(state, "pids"), pids)
	}
	cmdline, err := os.ReadFile("/proc/" + string(m[1]) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(string(cmdline), "\x00")
	if want := fmt.Sprintf("--web.external-url=http://localhost:%d", ports["ALERTMANAGER_PORT"]); !slices.Contains(args, want) || !slices.Contains(args, "--web.route-prefix=/") {
		t.Errorf("Alertmanager runs without %s and --web.route-prefix=/: %q", want, args)
	}
}

// jaegerEnv points the shipped jaeger.yaml at free 127.0.0.1 ports and at a
// Badger folder, as run-local.sh does.
func jaegerEnv(t *testing.T, badger string) (env []string, queryURL, otlp string) {
	t.Helper()
	query, grpc := backends.FreePort(t), backends.FreePort(t)
	return []string{
		fmt.Sprintf("JAEGER_OTLP_GRPC_ENDPOINT=127.0.0.1:%d", grpc), fmt.Sprintf("JAEGER_QUERY_HTTP_ENDPOINT=127.0.0.1:%d", query),
		fmt.Sprintf("JAEGER_QUERY_GRPC_ENDPOINT=127.0.0.1:%d", backends.FreePort(t)),
		fmt.Sprintf("JAEGER_HEALTH_ENDPOINT=127.0.0.1:%d", backends.FreePort(t)), "JAEGER_BADGER_DIR=" + badger,
	}, fmt.Sprintf("http://127.0.0.1:%d", query), fmt.Sprintf("127.0.0.1:%d", grpc)
}

// startShippedJaeger starts Jaeger with observability/jaeger.yaml and waits
// until its query API answers.
func startShippedJaeger(t *testing.T, bin, badger string) (*backends.Process, *backends.Jaeger, string) {
	t.Helper()
	env, queryURL, otlp := jaegerEnv(t, badger)
	p := backends.Start(t, "jaeger", t.TempDir(), bin, env, "--config=file:"+backends.RepoPath("observability", "jaeger.yaml"))
	backends.Eventually(t, 60*time.Second, "Jaeger's query API", func(ctx context.Context) error {
		if p.Exited() {
			t.Fatalf("jaeger exited:\n%s", p.Log())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, queryURL+"/api/services", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	return p, &backends.Jaeger{QueryURL: queryURL}, otlp
}

// TestJaegerConfigValidates: the shipped jaeger.yaml is valid for Jaeger.
func TestJaegerConfigValidates(t *testing.T) {
	run(t, "jaeger", "validate", "--config=file:"+backends.RepoPath("observability", "jaeger.yaml"))
}

// TestJaegerKeepsTracesAcrossRestart: with the shipped jaeger.yaml, a trace
// sent over OTLP/gRPC (as the Collector sends) is still returned after
// Jaeger stops and starts again on the same Badger folder, so that an
// exemplar older than the restart still opens its trace.
func TestJaegerKeepsTracesAcrossRestart(t *testing.T) {
	badger := filepath.Join(t.TempDir(), "jaeger")
	bin := backends.Bin(t, "jaeger") // before SetupTelemetry clears OTEL*, OTELOBS_BACKENDS_DIR included
	p, j, otlp := startShippedJaeger(t, bin, badger)
	tel := backends.SetupTelemetry(t, map[string]string{
		"OTEL_SERVICE_NAME":           "jaeger-restart-test",
		"OTEL_METRICS_EXPORTER":       "none",
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + otlp,
	})
	ctx, span := otel.Tracer("jaeger-restart-test").Start(t.Context(), "before-restart")
	traceID := span.SpanContext().TraceID().String()
	_, child := otel.Tracer("jaeger-restart-test").Start(ctx, "child")
	child.End()
	span.End()
	if err := tel.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	j.WaitForTrace(t, traceID, "before-restart", "child")
	p.Stop()
	if _, err := os.Stat(filepath.Join(badger, "values")); err != nil {
		t.Fatalf("no Badger values folder in %s: %v", badger, err)
	}
	_, j2, _ := startShippedJaeger(t, bin, badger)
	spans, err := j2.TraceSpans(t.Context(), traceID)
	if err != nil || !slices.Contains(spans, "before-restart") || !slices.Contains(spans, "child") {
		t.Fatalf("after the restart, trace %s has spans %v (%v), want before-restart and child", traceID, spans, err)
	}
}

// TestConfigureAPIMetricsPush: with API_METRICS=push no job scrapes the API
// (its scrape would fail and TargetDown would fire for an API that is
// fine), the stack's own jobs stay, and the file is valid; a value other
// than pull or push is refused, naming both.
func TestConfigureAPIMetricsPush(t *testing.T) {
	dir, out, ok := configure(t, "API_METRICS=push\nAPI_HOST=10.0.0.5,10.0.0.6\n")
	if !ok {
		t.Fatalf("configure.sh: %s", out)
	}
	run(t, "promtool", "check", "config", filepath.Join(dir, "prometheus.yml"))
	conf, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
	jobs := scrapeTargets(t, string(conf))
	if _, ok := jobs["agent-orchestrator"]; ok {
		t.Errorf("API_METRICS=push still scrapes the API:\n%s", conf)
	}
	for _, j := range []string{"prometheus", "otel-collector", "alertmanager"} {
		if _, ok := jobs[j]; !ok {
			t.Errorf("API_METRICS=push dropped the %s job:\n%s", j, conf)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "targets", "agent-orchestrator.json")); err == nil {
		t.Error("API_METRICS=push wrote the API's targets file")
	}
	if !strings.Contains(out, "API_METRICS=push") {
		t.Errorf("output does not say the API pushes: %s", out)
	}
	if _, out, ok := configure(t, "API_METRICS=both\n"); ok || !strings.Contains(out, "API_METRICS=both: want pull") || !strings.Contains(out, "or push") {
		t.Errorf("API_METRICS=both: ok=%v\n%s", ok, out)
	}
}
