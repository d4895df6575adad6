package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/agentorchestrator/observability/internal/contract"
)

// openMetricsAccept is the Accept header Prometheus 3 sends (without the
// protobuf format): OpenMetrics first.
const openMetricsAccept = "application/openmetrics-text;version=1.0.0;escaping=underscores,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=1.0.0;escaping=underscores;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"

// optionalSeries appear only after an event a healthy run may not have.
var optionalSeries = map[string]string{
	"llm_rate_limit_events_total": "appears at the first rate-limited LLM call",
}

// exemplarLabels finds the label set of each exemplar of an OpenMetrics
// exposition: `name{…} value # {trace_id="…",span_id="…"} value ts`.
var exemplarLabels = regexp.MustCompile(`(?m) # \{([^}]*)\}`)

// checkApp is step 1: the app's /metrics, its exemplars and the contract
// series.
func (d *doctor) checkApp(ctx context.Context) {
	if d.cfg.AppURL == "" {
		d.add(1, "app.metrics", Skip, "app: no URL given (API_HOST/API_PORT or -app)", "")
		return
	}
	url := strings.TrimSuffix(d.cfg.AppURL, "/") + "/metrics"
	code, ctype, body, err := d.get(ctx, url, "Accept", openMetricsAccept)
	switch {
	case err != nil:
		d.add(1, "app.metrics", Fail, fmt.Sprintf("app: GET %s: %s", url, shortErr(err)), appDownFix(err))
		return
	case code == 404 && strings.Contains(string(body), "OTEL_METRICS_EXPORTER"):
		if d.mode == ModePull {
			d.add(1, "app.metrics", Fail, fmt.Sprintf("app: %s answers 404: %s", url, firstLine(body)),
				"the app pushes instead of serving /metrics: unset OTEL_METRICS_EXPORTER (prometheus is the default) or include prometheus in it")
			return
		}
		d.mode = ModePush
		d.appUp = true
		d.add(1, "app.metrics", Skip, fmt.Sprintf("app: %s is off (OTEL_METRICS_EXPORTER has no prometheus): push mode, checked in Prometheus", url), "")
		return
	case code != 200:
		d.add(1, "app.metrics", Fail, fmt.Sprintf("app: GET %s: HTTP %d: %s", url, code, firstLine(body)),
			"mount the telemetry's handler on the app's mux: mux.Handle(\"GET /metrics\", tel.MetricsHandler())")
		return
	}
	d.appUp = true
	if d.mode == ModeAuto {
		d.mode = ModePull
	}
	samples := sampleNames(string(body))
	d.add(1, "app.metrics", Pass, fmt.Sprintf("app: %s answers (%s, %d sample names)", url, mediaType(ctype), len(samples)), "")

	// Exemplars travel only in OpenMetrics.
	d.appOpenMetrics = strings.HasPrefix(ctype, "application/openmetrics-text")
	switch labels := exemplarLabelNames(string(body)); {
	case !d.appOpenMetrics:
		d.add(1, "app.exemplars", Fail,
			fmt.Sprintf("app: /metrics answered %s to an OpenMetrics request: its exemplars never reach Prometheus", mediaType(ctype)),
			"serve the metrics with otelobs's tel.MetricsHandler(), or with promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})")
	case len(labels) == 0:
		d.add(1, "app.exemplars", Fail, "app: OpenMetrics, but no exemplars yet",
			"exemplars come from measurements made inside a sampled span: run a task (POST /runs) first;\n"+
				"keep OTEL_TRACES_SAMPLER sampling (not always_off) and OTEL_METRICS_EXEMPLAR_FILTER=trace_based or always_on")
	default:
		d.appExemplars = labels["trace_id"]
		d.appExemplarLabel = "trace_id"
		if d.appExemplars == 0 {
			for name := range labels {
				if strings.EqualFold(strings.ReplaceAll(name, "_", ""), "traceid") {
					d.appExemplarLabel = name
				}
			}
			d.add(1, "app.exemplars", Fail,
				fmt.Sprintf("app: exemplars carry %s, not trace_id (labels: %s)", d.appExemplarLabel, strings.Join(sortedKeys(labels), ", ")),
				"the OpenTelemetry SDK writes trace_id; an exemplar label named otherwise does not match Grafana's link (exemplarTraceIdDestinations name: trace_id)")
			return
		}
		d.add(1, "app.exemplars", Pass, fmt.Sprintf("app: %d exemplars with trace_id", d.appExemplars), "")
	}
	d.checkContract(1, func(name string) bool { return samples[name] }, "the app's /metrics")
}

// checkContract reports the contract series that have is missing.
func (d *doctor) checkContract(step int, has func(string) bool, where string) {
	var missing, optional []string
	for _, s := range contract.Contract {
		name := s.Name
		if s.Histogram {
			name += "_bucket"
		}
		if has(name) {
			continue
		}
		if why, ok := optionalSeries[s.Name]; ok {
			optional = append(optional, s.Name+" ("+why+")")
			continue
		}
		missing = append(missing, s.Name)
	}
	n := len(contract.Contract)
	if len(missing) > 0 {
		d.add(step, "contract.series", Fail,
			fmt.Sprintf("contract series: %d of %d missing from %s: %s", len(missing), n, where, strings.Join(missing, ", ")),
			"series appear at first use: run a task (curl -X POST http://<api>/runs …, see the README);\n"+
				"still missing after a run: the app does not record them with otelobs's gitmetrics, taskmetrics and llmmetrics")
		return
	}
	summary := fmt.Sprintf("contract series: %d of %d in %s", n-len(optional), n, where)
	if len(optional) > 0 {
		summary += "; not yet: " + strings.Join(optional, ", ")
	}
	d.add(step, "contract.series", Pass, summary, "")
}

// appDownFix explains an app that does not answer.
func appDownFix(err error) string {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "nothing listens there: start the API (go run ./examples/server listens on ORCH_ADDR, 127.0.0.1:8000 by default),\n" +
			"or set API_HOST/API_PORT in observability/.env (or -app) to where it runs"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "the host name does not resolve here: doctor runs on the host, so use an address this machine reaches (-app http://localhost:8000)"
	}
	return "no answer: check the address and any firewall between here and the app"
}

// sampleNames returns the sample names of an exposition (either format).
func sampleNames(body string) map[string]bool {
	out := map[string]bool{}
	for line := range strings.Lines(body) {
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end <= 0 {
			continue
		}
		out[line[:end]] = true
	}
	return out
}

// exemplarLabelNames counts, per label name, the exemplars that carry it.
func exemplarLabelNames(body string) map[string]int {
	out := map[string]int{}
	for _, m := range exemplarLabels.FindAllStringSubmatch(body, -1) {
		for pair := range strings.SplitSeq(m[1], ",") {
			if name, _, ok := strings.Cut(pair, "="); ok {
				out[strings.TrimSpace(name)]++
			}
		}
	}
	return out
}

func mediaType(ctype string) string {
	mt, _, _ := strings.Cut(ctype, ";")
	if mt == "" {
		return "no content type"
	}
	return mt
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// shortErr drops the "Get "url": " prefix net/http puts on errors.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\": "); i >= 0 && strings.HasPrefix(s, "Get \"") {
		return s[i+3:]
	}
	return s
}
