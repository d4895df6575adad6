package backends

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PrometheusConfig describes the Prometheus to start.
type PrometheusConfig struct {
	// ScrapeTargets are host:port targets of one scrape job, JobName
	// ("agent-orchestrator" when empty), scraped every second.
	ScrapeTargets []string
	JobName       string
	// OTLPReceiver enables the OTLP receiver at /api/v1/otlp/v1/metrics.
	OTLPReceiver bool
	// ConfigYAML, when set, replaces the generated configuration file. Its
	// SelfAddress placeholder becomes Prometheus's own host:port (for a
	// job scraping Prometheus itself).
	ConfigYAML string
	// Files are extra files (name → content) written next to the
	// configuration, such as rule files it names.
	Files map[string]string
	// NoExemplarStorage leaves --enable-feature=exemplar-storage off.
	NoExemplarStorage bool
	// RemoteWriteReceiver accepts remote_write at /api/v1/write, as a
	// stand-in for a long-term store (Mimir, Thanos Receive, Cortex).
	RemoteWriteReceiver bool
	// DataDir, when set, is the TSDB folder (for data backfilled into it
	// beforehand); by default a fresh one.
	DataDir string
}

// SelfAddress, in PrometheusConfig.ConfigYAML, stands for the started
// Prometheus's own host:port.
const SelfAddress = "$PROMETHEUS_SELF_ADDRESS"

// Prometheus is a running Prometheus server.
type Prometheus struct {
	*Process
	// URL is its base URL, http://127.0.0.1:PORT.
	URL string
	// Dir holds its configuration and data.
	Dir string
}

// StartPrometheus starts Prometheus on a free port and waits until it is
// ready.
func StartPrometheus(t testing.TB, cfg PrometheusConfig) *Prometheus {
	t.Helper()
	dir := t.TempDir()
	conf := cfg.ConfigYAML
	if conf == "" {
		job := cfg.JobName
		if job == "" {
			job = "agent-orchestrator"
		}
		var b strings.Builder
		b.WriteString("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
		if len(cfg.ScrapeTargets) > 0 {
			fmt.Fprintf(&b, "scrape_configs:\n  - job_name: %s\n    static_configs:\n      - targets: [%s]\n",
				job, strings.Join(quoteAll(cfg.ScrapeTargets), ", "))
		}
		conf = b.String()
	}
	for name, content := range cfg.Files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	confPath := filepath.Join(dir, "prometheus.yml")
	data := cfg.DataDir
	if data == "" {
		data = filepath.Join(dir, "data")
	}
	var prom *Prometheus
	startRetrying(t, "prometheus", func() (*Process, error) {
		port := FreePort(t)
		self := "127.0.0.1:" + strconv.Itoa(port)
		if err := os.WriteFile(confPath, []byte(strings.ReplaceAll(conf, SelfAddress, self)), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{
			"--config.file=" + confPath,
			"--storage.tsdb.path=" + data,
			"--web.listen-address=127.0.0.1:" + strconv.Itoa(port),
			"--log.level=info",
		}
		if !cfg.NoExemplarStorage {
			args = append(args, "--enable-feature=exemplar-storage")
		}
		if cfg.OTLPReceiver {
			args = append(args, "--web.enable-otlp-receiver")
		}
		if cfg.RemoteWriteReceiver {
			args = append(args, "--web.enable-remote-write-receiver")
		}
		p := Start(t, "prometheus", dir, Bin(t, "prometheus"), nil, args...)
		prom = &Prometheus{Process: p, URL: fmt.Sprintf("http://127.0.0.1:%d", port), Dir: dir}
		return p, p.waitReady(prom.URL+"/-/ready", 30*time.Second)
	})
	return prom
}

func quoteAll(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = strconv.Quote(s)
	}
	return out
}

// apiResponse is the envelope of Prometheus's HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// API calls GET /api/v1/<path> with the query parameters and decodes data
// into out.
func (p *Prometheus) API(ctx context.Context, path string, params url.Values, out any) error {
	u := p.URL + "/api/v1/" + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	status, body, err := httpGet(ctx, u)
	if err != nil {
		return err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("GET %s: %d %s", u, status, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", u, r.ErrorType, r.Error)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// Sample is one element of an instant vector.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// Float returns the sample's value.
func (s Sample) Float() float64 {
	str, _ := s.Value[1].(string)
	f, _ := strconv.ParseFloat(str, 64)
	return f
}

// Query runs an instant query and returns its vector.
func (p *Prometheus) Query(ctx context.Context, promql string) ([]Sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.API(ctx, "query", url.Values{"query": {promql}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q returned a %s, not a vector", promql, data.ResultType)
	}
	var out []Sample
	return out, json.Unmarshal(data.Result, &out)
}

// Exemplar is one exemplar returned by /api/v1/query_exemplars.
type Exemplar struct {
	SeriesLabels map[string]string
	Labels       map[string]string
	Value        float64
}

// QueryExemplars returns the exemplars of the series a query selects over the
// last hour.
func (p *Prometheus) QueryExemplars(ctx context.Context, promql string) ([]Exemplar, error) {
	now := time.Now()
	var data []struct {
		SeriesLabels map[string]string `json:"seriesLabels"`
		Exemplars    []struct {
			Labels map[string]string `json:"labels"`
			Value  string            `json:"value"`
		} `json:"exemplars"`
	}
	err := p.API(ctx, "query_exemplars", url.Values{
		"query": {promql},
		"start": {strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)},
		"end":   {strconv.FormatInt(now.Add(time.Minute).Unix(), 10)},
	}, &data)
	if err != nil {
		return nil, err
	}
	var out []Exemplar
	for _, s := range data {
		for _, e := range s.Exemplars {
			v, _ := strconv.ParseFloat(e.Value, 64)
			out = append(out, Exemplar{SeriesLabels: s.SeriesLabels, Labels: e.Labels, Value: v})
		}
	}
	return out, nil
}

// Series returns the label sets of every series matching the selector.
func (p *Prometheus) Series(ctx context.Context, match string) ([]map[string]string, error) {
	var out []map[string]string
	return out, p.API(ctx, "series", url.Values{"match[]": {match}}, &out)
}
