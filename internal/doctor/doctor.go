// Package doctor checks the chain from an app's measurements to the trace
// behind them, link by link: the app's /metrics and its exemplars,
// Prometheus (exemplar storage, the scrape target, query_exemplars), the
// trace store, Grafana's exemplar link, the Collector's pipeline and the
// alerting chain (rules, Alertmanager, notifications, receivers). Every
// failed check says what to change. It backs `otelobs doctor`.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Mode is how metrics leave the app.
type Mode string

// The modes. ModeAuto decides from the app: a /metrics that answers means
// pull; a /metrics that says OTEL_METRICS_EXPORTER has no prometheus means
// push.
const (
	ModeAuto Mode = "auto"
	ModePull Mode = "pull"
	ModePush Mode = "push"
)

// Config says where each part of the stack is. Empty URLs are not checked
// (their checks are skipped, saying so).
type Config struct {
	// AppURL is the app's base URL (its /metrics is AppURL+"/metrics").
	AppURL string
	// PrometheusURL, JaegerURL and GrafanaURL are base URLs.
	PrometheusURL string
	JaegerURL     string
	GrafanaURL    string
	// GrafanaUser and GrafanaPassword authenticate to Grafana's API.
	GrafanaUser, GrafanaPassword string
	// DatasourcesDir holds Grafana's data source provisioning files, read
	// when Grafana's API does not answer.
	DatasourcesDir string
	// CollectorHealthURL is the Collector's health check;
	// CollectorMetricsURL its own /metrics.
	CollectorHealthURL  string
	CollectorMetricsURL string
	// AlertmanagerURL is Alertmanager's base URL, as this machine reaches
	// it.
	AlertmanagerURL string
	// AlertmanagerConfig is the alertmanager.yml whose receivers' secret
	// files (under /etc/alertmanager/secrets/ in the container) are checked
	// in SecretsDir (observability/secrets/).
	AlertmanagerConfig, SecretsDir string
	// Job is the Prometheus scrape job of the app ("agent-orchestrator").
	Job string
	// Mode is pull, push or auto (the default).
	Mode Mode
	// Timeout bounds each HTTP request (5 s when zero).
	Timeout time.Duration
	// CheckEnv also checks the OTEL_* variables of this process's
	// environment, the shell that starts the app, as otelobs.Setup reads
	// them.
	CheckEnv bool
}

// Status is the outcome of a check.
type Status string

// The outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Check is one line of the report.
type Check struct {
	// Step is the link of the chain, 1 to 7: app, Prometheus, exemplars,
	// trace store, Grafana, Collector, alerting.
	Step int `json:"step"`
	// ID names the check, e.g. "prometheus.target".
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Summary is what was found.
	Summary string `json:"summary"`
	// Fix is what to change, for a failed check.
	Fix string `json:"fix,omitempty"`
}

// Report is the result of Run.
type Report struct {
	// Mode is the mode checked (auto resolved to pull or push when the app
	// told).
	Mode   Mode    `json:"mode"`
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Failed returns the failed checks.
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Find returns the first check with the id, and whether there is one.
func (r Report) Find(id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// WriteText writes the report for people: one line per check with ✓, ✗ or
// -, and the fix under each ✗.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "otelobs doctor: %s mode\n", r.Mode)
	var pass, fail, skip int
	for _, c := range r.Checks {
		mark := "✓"
		switch c.Status {
		case Fail:
			mark = "✗"
			fail++
		case Skip:
			mark = "-"
			skip++
		default:
			pass++
		}
		fmt.Fprintf(&b, "%d %s %s\n", c.Step, mark, c.Summary)
		if c.Fix != "" {
			for i, line := range strings.Split(c.Fix, "\n") {
				prefix := "      "
				if i == 0 {
					prefix = "    fix: "
				}
				fmt.Fprintf(&b, "%s%s\n", prefix, line)
			}
		}
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", pass, fail, skip)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Run checks the stack that cfg describes, in the chain's order. It never
// returns an error: what it cannot reach is a failed or skipped check.
func Run(ctx context.Context, cfg Config) Report {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Job == "" {
		cfg.Job = "agent-orchestrator"
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeAuto
	}
	d := &doctor{cfg: cfg, mode: cfg.Mode, client: &http.Client{Timeout: cfg.Timeout}}
	if cfg.CheckEnv {
		d.checkEnv()
	}
	d.checkApp(ctx)
	d.checkPrometheus(ctx)
	d.checkExemplars(ctx)
	d.checkTrace(ctx)
	d.checkGrafana(ctx)
	d.checkCollector(ctx)
	d.checkAlerting(ctx)
	r := Report{Mode: d.mode, OK: true, Checks: d.checks}
	if r.Mode == ModeAuto {
		r.Mode = "unknown"
	}
	r.OK = len(r.Failed()) == 0
	return r
}

// doctor carries what the checks learn for the later ones.
type doctor struct {
	cfg    Config
	client *http.Client
	mode   Mode
	checks []Check

	// From the app.
	appUp            bool
	appOpenMetrics   bool
	appExemplars     int
	appExemplarLabel string // the trace id label the app's exemplars carry
	// From Prometheus.
	promUp          bool
	exemplarStorage bool
	scrapeTextFirst bool
	targetDown      bool
	// From query_exemplars, newest first.
	traceIDs []string
}

func (d *doctor) add(step int, id string, s Status, summary, fix string) {
	d.checks = append(d.checks, Check{Step: step, ID: id, Status: s, Summary: summary, Fix: fix})
}

// get fetches url with the headers (name, value pairs) and returns the
// response's status, content type and body (at most 32 MiB).
func (d *doctor) get(ctx context.Context, url string, headers ...string) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", nil, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, err
}

// probe GETs url and says whether it answered 200; if not, what it got
// instead, for a check's summary.
func (d *doctor) probe(ctx context.Context, url string) (bool, string) {
	code, _, body, err := d.get(ctx, url)
	switch {
	case err != nil:
		return false, shortErr(err)
	case code != 200:
		return false, fmt.Sprintf("HTTP %d %s", code, firstLine(body))
	}
	return true, ""
}

// promAPI fetches url and decodes Prometheus's {"status","data"} envelope
// into out.
func (d *doctor) promAPI(ctx context.Context, path string, out any) error {
	code, _, body, err := d.get(ctx, strings.TrimSuffix(d.cfg.PrometheusURL, "/")+path)
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("GET %s: %d, not JSON: %.200s", path, code, body)
	}
	if env.Status != "success" {
		return fmt.Errorf("GET %s: %d %s", path, code, env.Error)
	}
	return json.Unmarshal(env.Data, out)
}
