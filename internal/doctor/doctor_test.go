package doctor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/agentorchestrator/observability/internal/view"
)

func TestReadEnvFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	content := "# comment\n\nAPI_HOST=10.0.0.5,vm2 # the VM\nAPI_PORT='8001'\r\nGRAFANA_ADMIN_PASSWORD=\"s3cret pw\"\n  GRAFANA_ADMIN_USER=  \"it's me\"\t# quoted\nREMOTE_WRITE_URL=a=b"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := ReadEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"API_HOST": "10.0.0.5,vm2", "API_PORT": "8001", "GRAFANA_ADMIN_PASSWORD": "s3cret pw",
		"GRAFANA_ADMIN_USER": "it's me", "REMOTE_WRITE_URL": "a=b"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	// Each error names the file:line and the variable; the readers'
	// agreement with configure.sh and compose is observability's
	// TestEnvFileSyntax.
	for line, want := range map[string]string{
		"$(reboot)":                       ".env:2: not KEY=VALUE",
		"GRAFANA_ADMIN_PASSWORD=pa$word":  ".env:2: GRAFANA_ADMIN_PASSWORD: $ in the value",
		"GRAFANA_ADMIN_PASSWORD='pa$wd'":  ".env:2: GRAFANA_ADMIN_PASSWORD: $ in the value",
		`GRAFANA_ADMIN_PASSWORD="a\"b"`:   `.env:2: GRAFANA_ADMIN_PASSWORD: \ in the value`,
		"GRAFANA_ADMIN_PASSWORD=a#b":      ".env:2: GRAFANA_ADMIN_PASSWORD: # inside an unquoted value",
		"GRAFANA_ADMIN_PASSWORD=it's":     ".env:2: GRAFANA_ADMIN_PASSWORD: a quote inside an unquoted value",
		`GRAFANA_ADMIN_PASSWORD="a" b`:    ".env:2: GRAFANA_ADMIN_PASSWORD: text after the closing quote",
		`GRAFANA_ADMIN_PASSWORD="a`:       `.env:2: GRAFANA_ADMIN_PASSWORD: no closing " quote`,
		"GRAFANA_ADMIN_PASSWORD=p\xe4ss":  ".env:2: GRAFANA_ADMIN_PASSWORD: a character other than printable ASCII",
		"export GRAFANA_ADMIN_PASSWORD=x": `.env:2: GRAFANA_ADMIN_PASSWORD: no "export "`,
	} {
		if err := os.WriteFile(path, []byte("API_HOST=x\n"+line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadEnvFile(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", line, err, want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, tt := range []struct {
		env     map[string]string
		app     string
		wantErr string
	}{
		{nil, "http://localhost:8000", ""},
		{map[string]string{"API_HOST": "host.docker.internal", "API_PORT": "9000"}, "http://localhost:9000", ""},
		{map[string]string{"API_HOST": "10.0.0.5:8001, vm2"}, "http://10.0.0.5:8001", ""},
		{map[string]string{"API_HOST": "[::1]:8002"}, "http://[::1]:8002", ""},
		{map[string]string{"API_PORT": "80a"}, "", "API_PORT=80a"},
		{map[string]string{"PROMETHEUS_BIND_ADDRESS": "10.0.0.5"}, "http://localhost:8000", ""},
		{map[string]string{"STACK_BIND_ADDRESS": "127.0.0.1"}, "http://localhost:8000", ""},
		{map[string]string{"STACK_BIND_ADDRESS": "0.0.0.0"}, "", "STACK_BIND_ADDRESS=0.0.0.0: no longer read: it published every service; set GRAFANA_BIND_ADDRESS=0.0.0.0"},
		{map[string]string{"PROMETHEUS_PORT": "70000", "COLLECTOR_HEALTH_PORT": "0"}, "", "PROMETHEUS_PORT=70000: want a TCP port from 1 to 65535; COLLECTOR_HEALTH_PORT=0"},
	} {
		c, err := ConfigFromEnv(tt.env, "observability")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: error %v, want one naming %q", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || c.AppURL != tt.app {
			t.Errorf("%v: app %q (%v), want %q", tt.env, c.AppURL, err, tt.app)
		}
	}
	// Each service at its own address: one interface's, or localhost for
	// loopback and every interface; the others stay on localhost.
	c, _ := ConfigFromEnv(map[string]string{"PROMETHEUS_BIND_ADDRESS": "10.0.0.5", "COLLECTOR_BIND_ADDRESS": "10.0.0.6",
		"GRAFANA_BIND_ADDRESS": "0.0.0.0"}, "o")
	if c.PrometheusURL != "http://10.0.0.5:9090" || c.CollectorHealthURL != "http://10.0.0.6:13133/" ||
		c.CollectorMetricsURL != "http://10.0.0.6:8888/metrics" || c.GrafanaURL != "http://localhost:3001" ||
		c.JaegerURL != "http://localhost:16686" {
		t.Errorf("one interface each: %+v", c)
	}
	c, _ = ConfigFromEnv(map[string]string{"JAEGER_BIND_ADDRESS": "192.168.1.9"}, "o")
	if c.JaegerURL != "http://192.168.1.9:16686" || c.PrometheusURL != "http://localhost:9090" {
		t.Errorf("Jaeger on one interface: %+v", c)
	}
	c, _ = ConfigFromEnv(nil, "observability")
	if c.PrometheusURL != "http://localhost:9090" || c.CollectorMetricsURL != "http://localhost:8888/metrics" ||
		c.DatasourcesDir != filepath.Join("observability", "grafana", "provisioning", "datasources") {
		t.Errorf("defaults: %+v", c)
	}
}

// TestDiagnoseDown covers the errors that need no connection to tell.
func TestDiagnoseDown(t *testing.T) {
	for _, tt := range []struct{ err, want string }{
		{`Get "http://api:8000/metrics": dial tcp: lookup api on 127.0.0.11:53: no such host`, "cannot resolve api"},
		{`Get "http://192.0.2.1:8000/metrics": context deadline exceeded`, "a firewall drops port 8000"},
		{`Get "http://192.0.2.1:8000/metrics": dial tcp 192.0.2.1:8000: i/o timeout`, "sudo ufw allow 8000"},
		{`Get "http://192.0.2.1:8000/metrics": dial tcp 192.0.2.1:8000: connect: no route to host`, "a wrong IP?"},
		{"server returned HTTP status 404 Not Found", "mount tel.MetricsHandler()"},
		{"server returned HTTP status 500 Internal Server Error", "answered with an error"},
	} {
		if got := diagnoseDown("http://"+hostOf(tt.err)+"/metrics", tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q in it", tt.err, got, tt.want)
		}
	}
}

func hostOf(err string) string {
	if strings.Contains(err, "api:8000") {
		return "api:8000"
	}
	return "192.0.2.1:8000"
}

func TestExemplarLabelNames(t *testing.T) {
	body := `# TYPE m histogram
m_bucket{le="1"} 3 # {trace_id="abc",span_id="def"} 0.5 1.7e9
m_bucket{le="2"} 4 # {traceID="abc"} 1.5
m_count 4
`
	got := exemplarLabelNames(body)
	if got["trace_id"] != 1 || got["span_id"] != 1 || got["traceID"] != 1 || len(got) != 3 {
		t.Errorf("got %v", got)
	}
	names := sampleNames(body)
	if !names["m_bucket"] || !names["m_count"] || len(names) != 2 {
		t.Errorf("sample names %v", names)
	}
}

func TestReportOutput(t *testing.T) {
	r := Report{Mode: ModePull, Checks: []Check{
		{Step: 1, ID: "a", Status: Pass, Summary: "fine"},
		{Step: 2, ID: "b", Status: Fail, Summary: "broken", Fix: "do this\nthen that"},
		{Step: 3, ID: "c", Status: Skip, Summary: "not checked"},
	}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "otelobs doctor: pull mode\n1 ✓ fine\n2 ✗ broken\n    fix: do this\n      then that\n3 - not checked\n1 passed, 1 failed, 1 skipped\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Checks) != 3 || back.Checks[1].Fix != "do this\nthen that" {
		t.Errorf("json round trip: %v %+v", err, back)
	}
	if f := r.Failed(); len(f) != 1 || f[0].ID != "b" {
		t.Errorf("Failed = %+v", f)
	}
}

// TestJudgePipeline: the Collector's exporters are judged on what changed
// between two samples, not on counters from long ago.
func TestJudgePipeline(t *testing.T) {
	for _, tt := range []struct {
		name          string
		before, after counts
		accepted      float64
		mode          Mode
		want          Status
		says          string
	}{
		{"healthy", counts{sent: 10}, counts{sent: 20}, 30, ModePush, Pass, "otlp sent 20"},
		{"idle", counts{sent: 10}, counts{sent: 10}, 30, ModePull, Pass, "otlp sent 10"},
		{"failing now", counts{sent: 10, failed: 1}, counts{sent: 10, failed: 5}, 30, ModePush, Fail, "4 items failed in the last 2s"},
		{"failed long ago", counts{sent: 10, failed: 5}, counts{sent: 20, failed: 5}, 30, ModePush, Pass, "5 failed earlier, none now"},
		{"never sent", counts{failed: 5}, counts{failed: 5}, 30, ModePush, Fail, "has sent nothing and failed 5"},
		{"stuck", counts{sent: 3, queued: 2}, counts{sent: 3, queued: 3}, 30, ModePush, Fail, "stuck: 3 batches queued"},
		{"nothing received", counts{}, counts{}, 0, ModePush, Fail, "received nothing"},
	} {
		d := &doctor{mode: tt.mode}
		d.judgePipeline(map[string]counts{"otlp": tt.before}, map[string]counts{"otlp": tt.after}, tt.accepted)
		c := d.checks[0]
		if c.Status != tt.want || !strings.Contains(c.Summary, tt.says) {
			t.Errorf("%s: %s %q, want %s saying %q", tt.name, c.Status, c.Summary, tt.want, tt.says)
		}
	}
}

// TestViewOnGrafanaPort: a real otelobs view on Grafana's port is checked
// against the Prometheus and Jaeger doctor was given: the same pass
// (localhost and 127.0.0.1 alike), others fail with the fix.
func TestViewOnGrafanaPort(t *testing.T) {
	v, err := view.New(view.Config{PrometheusURL: "http://127.0.0.1:9", JaegerURL: "http://127.0.0.1:7",
		Dashboard: filepath.Join("..", "..", "observability", "grafana", "dashboards", "agent-orchestrator-overview.json")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v)
	defer srv.Close()
	for _, tc := range []struct {
		prom, jaeger string
		want         Status
		words        string
	}{
		{"http://localhost:9", "http://localhost:7", Pass, "draws the dashboard from http://127.0.0.1:9"},
		{"http://localhost:9090", "http://localhost:7", Fail, "Prometheus http://127.0.0.1:9 (doctor checked http://localhost:9090)"},
	} {
		r := Run(t.Context(), Config{AppURL: "http://127.0.0.1:1", PrometheusURL: tc.prom, JaegerURL: tc.jaeger,
			GrafanaURL: srv.URL, Timeout: time.Second})
		c, ok := r.Find("grafana.view")
		if !ok || c.Status != tc.want || !strings.Contains(c.Summary, tc.words) {
			t.Errorf("prometheus %s: %+v, want %s with %q", tc.prom, c, tc.want, tc.words)
		}
		if _, skipped := r.Find("grafana.api"); skipped {
			t.Errorf("the view was reported as a Grafana that does not answer")
		}
	}
}

// TestFileSettings: the receivers' *_file settings are read from the parsed
// alertmanager.yml, in block and flow style, quoted or not; a commented-out
// one is not a setting.
func TestFileSettings(t *testing.T) {
	conf := `receivers:
  - name: slack
    slack_configs:
      - api_url_file: "/etc/alertmanager/secrets/slack_webhook_url"
        # url_file: /etc/alertmanager/secrets/old
  - name: hook
    webhook_configs: [{url_file: '/etc/alertmanager/secrets/webhook_url', send_resolved: true}]
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(conf), &doc); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(fileSettings(&doc))
	want := "[[api_url_file /etc/alertmanager/secrets/slack_webhook_url] [url_file /etc/alertmanager/secrets/webhook_url]]"
	if got != want {
		t.Errorf("fileSettings = %s, want %s", got, want)
	}
}
