package doctor

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// collectorSample matches the Collector's own counters of what its
// exporters sent and failed, queued, and what its receivers accepted (the
// _total suffix depends on the Collector's version).
var collectorSample = regexp.MustCompile(`(?m)^otelcol_(exporter_sent|exporter_send_failed|exporter_queue_size|receiver_accepted)(?:_(metric_points|spans|log_records))?(?:_total)?\{([^}]*)\} ([-+0-9.eE]+|NaN)`)

var exporterLabel = regexp.MustCompile(`(?:exporter|receiver)="([^"]*)"`)

// checkCollector is step 6: in push mode (or whenever one answers), the
// Collector is healthy and its exporters send without failing.
func (d *doctor) checkCollector(ctx context.Context) {
	if d.cfg.CollectorHealthURL == "" {
		d.add(6, "collector.health", Skip, "Collector: no health URL given (COLLECTOR_HEALTH_PORT or -collector-health)", "")
		return
	}
	if ok, what := d.probe(ctx, d.cfg.CollectorHealthURL); !ok {
		if d.mode == ModePull {
			d.add(6, "collector.health", Skip, fmt.Sprintf("Collector: not running (%s); pull mode does not need it", what), "")
			return
		}
		d.add(6, "collector.health", Fail, fmt.Sprintf("Collector: %s: %s; the app's OTLP exports are lost", d.cfg.CollectorHealthURL, what),
			"start the Collector (docker-compose --env-file observability/.env up -d otel-collector, or observability/run-local.sh up);\n"+
				"if it runs elsewhere, point OTEL_EXPORTER_OTLP_ENDPOINT at it and pass -collector-health")
		return
	}
	d.add(6, "collector.health", Pass, "Collector: healthy at "+d.cfg.CollectorHealthURL, "")

	if d.cfg.CollectorMetricsURL == "" {
		d.add(6, "collector.pipeline", Skip, "Collector: no metrics URL given (COLLECTOR_METRICS_PORT or -collector-metrics)", "")
		return
	}
	// Two samples a moment apart: the counters are cumulative, so a failure
	// long past must not fail the check, and a queue that does not move
	// shows a stuck exporter.
	before, _, err := d.collectorCounts(ctx)
	if err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(collectorWindow):
			var after map[string]counts
			var accepted float64
			if after, accepted, err = d.collectorCounts(ctx); err == nil {
				d.judgePipeline(before, after, accepted)
				return
			}
		}
	}
	d.add(6, "collector.pipeline", Fail, fmt.Sprintf("Collector: its own metrics do not answer at %s: %v", d.cfg.CollectorMetricsURL, err),
		"turn them on: service.telemetry.metrics with a prometheus pull reader (collector/otel-collector.yaml has it on OTELCOL_METRICS_PORT, 8888)")
}

// counts are one exporter's items sent and failed, and its queue.
type counts struct{ sent, failed, queued float64 }

// collectorWindow is the time between the two samples of the Collector's
// metrics.
const collectorWindow = 2 * time.Second

// collectorCounts reads the Collector's own metrics: per exporter, and what
// the receivers accepted.
func (d *doctor) collectorCounts(ctx context.Context) (map[string]counts, float64, error) {
	code, _, body, err := d.get(ctx, d.cfg.CollectorMetricsURL)
	if err != nil {
		return nil, 0, fmt.Errorf("%s", shortErr(err))
	}
	if code != 200 {
		return nil, 0, fmt.Errorf("HTTP %d", code)
	}
	exporters := map[string]counts{}
	var accepted float64
	for _, m := range collectorSample.FindAllStringSubmatch(string(body), -1) {
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			continue
		}
		if m[1] == "receiver_accepted" {
			accepted += v
			continue
		}
		name := ""
		if l := exporterLabel.FindStringSubmatch(m[3]); l != nil {
			name = l[1]
		}
		c := exporters[name]
		switch m[1] {
		case "exporter_sent":
			c.sent += v
		case "exporter_send_failed":
			c.failed += v
		case "exporter_queue_size":
			c.queued += v
		}
		exporters[name] = c
	}
	return exporters, accepted, nil
}

// judgePipeline reports the exporters from two samples of their counters.
func (d *doctor) judgePipeline(before, after map[string]counts, accepted float64) {
	var bad, good []string
	for _, name := range slices.Sorted(maps.Keys(after)) {
		a, b := after[name], before[name]
		switch {
		case a.failed > b.failed:
			bad = append(bad, fmt.Sprintf("%s is failing: %.0f items failed in the last %v (sent %.0f in all)", name, a.failed-b.failed, collectorWindow, a.sent))
		case a.failed > 0 && a.sent == 0:
			bad = append(bad, fmt.Sprintf("%s has sent nothing and failed %.0f items", name, a.failed))
		case a.queued > 0 && b.queued > 0 && a.sent == b.sent:
			bad = append(bad, fmt.Sprintf("%s is stuck: %.0f batches queued and none sent in %v", name, a.queued, collectorWindow))
		case a.failed > 0:
			good = append(good, fmt.Sprintf("%s sent %.0f (%.0f failed earlier, none now)", name, a.sent, a.failed))
		default:
			good = append(good, fmt.Sprintf("%s sent %.0f", name, a.sent))
		}
	}
	switch {
	case len(bad) > 0:
		d.add(6, "collector.pipeline", Fail, "Collector: "+strings.Join(bad, "; "),
			"an exporter cannot reach its backend: check PROMETHEUS_OTLP_ENDPOINT (Prometheus with --web.enable-otlp-receiver)\n"+
				"and JAEGER_OTLP_ENDPOINT in the Collector's environment, and the Collector's log")
	case accepted == 0 && d.mode == ModePush:
		d.add(6, "collector.pipeline", Fail, "Collector: it has received nothing from the app",
			"point the app's OTEL_EXPORTER_OTLP_ENDPOINT at this Collector (http://<host>:4318), with OTEL_METRICS_EXPORTER=otlp")
	case len(after) == 0:
		d.add(6, "collector.pipeline", Fail, "Collector: its metrics show no exporter", "run the shipped collector/otel-collector.yaml")
	default:
		d.add(6, "collector.pipeline", Pass, fmt.Sprintf("Collector: received %.0f items; %s; no failures now", accepted, strings.Join(good, ", ")), "")
	}
}
